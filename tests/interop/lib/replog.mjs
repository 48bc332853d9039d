// replog.mjs: a minimal client of libSQL's ReplicationLog over gRPC-web, for
// tests: Hello and BatchLogEntries (PROTOCOL.md §8.2), the protobuf bytes
// written and read by hand, and applying frames to a plain database file
// (page at (page_no - 1) * 4096, truncate to size_after pages at a commit).
import fs from "node:fs/promises";

function varint(n) {
	const out = [];
	let v = BigInt(n);
	do {
		let b = Number(v & 0x7fn);
		v >>= 7n;
		if (v) b |= 0x80;
		out.push(b);
	} while (v);
	return out;
}

function readVarint(buf, pos) {
	let v = 0n, shift = 0n;
	for (;;) {
		const b = buf[pos++];
		v |= BigInt(b & 0x7f) << shift;
		if (!(b & 0x80)) return [v, pos];
		shift += 7n;
	}
}

/** Fields of one protobuf message: [{field, wire, value (BigInt) | bytes (Buffer)}]. */
export function pbFields(buf) {
	const out = [];
	let pos = 0;
	while (pos < buf.length) {
		let key;
		[key, pos] = readVarint(buf, pos);
		const field = Number(key >> 3n), wire = Number(key & 7n);
		if (wire === 0) {
			let v;
			[v, pos] = readVarint(buf, pos);
			out.push({ field, wire, value: v });
		} else if (wire === 2) {
			let len;
			[len, pos] = readVarint(buf, pos);
			out.push({ field, wire, bytes: buf.subarray(pos, pos + Number(len)) });
			pos += Number(len);
		} else if (wire === 1) {
			out.push({ field, wire, bytes: buf.subarray(pos, pos + 8) });
			pos += 8;
		} else if (wire === 5) {
			out.push({ field, wire, bytes: buf.subarray(pos, pos + 4) });
			pos += 4;
		} else {
			throw new Error(`unexpected wire type ${wire}`);
		}
	}
	return out;
}

/** One gRPC-web call: resolves to { messages: Buffer[], status, message }. */
export async function grpcCall(url, method, msg, headers = {}) {
	const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), Buffer.from(msg)]);
	body.writeUInt32BE(msg.length, 1);
	const resp = await fetch(`${url}/${method}`, {
		method: "POST",
		headers: { "content-type": "application/grpc-web", te: "trailers", ...headers },
		body,
	});
	const buf = Buffer.from(await resp.arrayBuffer());
	const messages = [];
	let status = resp.headers.get("grpc-status"), message = resp.headers.get("grpc-message");
	for (let pos = 0; pos + 5 <= buf.length;) {
		const flag = buf[pos], len = buf.readUInt32BE(pos + 1);
		const payload = buf.subarray(pos + 5, pos + 5 + len);
		pos += 5 + len;
		if (flag & 0x80) {
			for (const line of payload.toString("latin1").split(/\r?\n/)) {
				const i = line.indexOf(":");
				if (i < 0) continue;
				const k = line.slice(0, i).trim().toLowerCase(), v = line.slice(i + 1).trim();
				if (k === "grpc-status") status = v;
				if (k === "grpc-message") message = decodeURIComponent(v);
			}
		} else {
			messages.push(payload);
		}
	}
	return { messages, status: status === null ? null : Number(status), message };
}

/** Hello: { logId, sessionToken, currentIndex (BigInt or null) }. */
export async function hello(url) {
	const r = await grpcCall(url, "wal_log.ReplicationLog/Hello", [0x08, 0x01]);
	if (r.status !== 0) throw new Error(`Hello: grpc-status ${r.status} ${r.message}`);
	const f = pbFields(r.messages[0]);
	const str = (n) => f.find((x) => x.field === n)?.bytes.toString("utf8");
	const idx = f.find((x) => x.field === 5);
	return { logId: str(3), sessionToken: str(4), currentIndex: idx ? idx.value : null };
}

/** BatchLogEntries from next_offset: resolves to Buffer[] of 4120-byte frames. */
export async function batchLogEntries(url, token, nextOffset) {
	const msg = nextOffset ? [0x08, ...varint(nextOffset)] : [];
	const r = await grpcCall(url, "wal_log.ReplicationLog/BatchLogEntries", msg, { "x-session-token": token });
	if (r.status !== 0) throw Object.assign(new Error(`BatchLogEntries: grpc-status ${r.status} ${r.message}`), r);
	if (!r.messages.length) return [];
	return pbFields(r.messages[0])
		.filter((x) => x.field === 1)
		.map((fr) => pbFields(fr.bytes).find((x) => x.field === 1).bytes);
}

export function frameHeader(fr) {
	return {
		frameNo: fr.readBigUInt64LE(0),
		pageNo: fr.readUInt32LE(16),
		sizeAfter: fr.readUInt32LE(20),
	};
}

/** Pulls the whole log into a new database file at path; resolves to the
 * last frame_no applied (BigInt) or null. Every batch must end on a commit. */
export async function replicateTo(url, path) {
	const h = await hello(url);
	const fh = await fs.open(path, "w+");
	let next = 0n, last = null;
	try {
		for (;;) {
			const frames = await batchLogEntries(url, h.sessionToken, next);
			if (!frames.length) break;
			for (const fr of frames) {
				if (fr.length !== 4120) throw new Error(`frame of ${fr.length} bytes`);
				const hd = frameHeader(fr);
				if (hd.frameNo !== next) throw new Error(`frame ${hd.frameNo} where ${next} was due`);
				await fh.write(fr, 24, 4096, (hd.pageNo - 1) * 4096);
				if (hd.sizeAfter) await fh.truncate(hd.sizeAfter * 4096);
				last = hd.frameNo;
				next++;
			}
			if (!frameHeader(frames[frames.length - 1]).sizeAfter) throw new Error("a batch ended mid-transaction");
		}
	} finally {
		await fh.close();
	}
	return { last, logId: h.logId, currentIndex: h.currentIndex };
}
