// grpcweb.mjs: the replication services (PROTOCOL.md §8.2) spoken by hand for
// tests/integ/repl*.test.mjs and tests/interop/replica*.test.mjs: a minimal
// protobuf writer/reader (varints and length-delimited fields only), bincode
// values, gRPC-web framing, and calls over node:http (keep-alive agents,
// chunked request bodies, streamed responses).
import http from "node:http";

// ---- protobuf ----
export function varint(v) {
	let n = BigInt.asUintN(64, BigInt(v));
	const out = [];
	do {
		let b = Number(n & 0x7fn);
		n >>= 7n;
		if (n) b |= 0x80;
		out.push(b);
	} while (n);
	return out;
}
const bytesOf = (d) => (typeof d === "string" ? [...Buffer.from(d, "utf8")] : [...d]);
export const pb = {
	varint: (field, v) => [...varint(field << 3), ...varint(v)],
	bytes: (field, d) => {
		const b = bytesOf(d);
		return [...varint((field << 3) | 2), ...varint(b.length), ...b];
	},
};

/** Decodes one message into Map(field -> [values]); varints as BigInt, length-delimited as Buffer. */
export function pbDecode(buf) {
	const m = new Map();
	let i = 0;
	const rd = () => {
		let v = 0n, s = 0n;
		for (;;) {
			if (i >= buf.length) throw new Error("truncated varint");
			const b = buf[i++];
			v |= BigInt(b & 0x7f) << s;
			s += 7n;
			if (!(b & 0x80)) return v;
		}
	};
	while (i < buf.length) {
		const key = Number(rd());
		const f = key >> 3, wt = key & 7;
		let val;
		if (wt === 0) val = rd();
		else if (wt === 2) {
			const n = Number(rd());
			if (i + n > buf.length) throw new Error("truncated field");
			val = buf.subarray(i, i + n);
			i += n;
		} else if (wt === 1) (val = buf.subarray(i, i + 8)), (i += 8);
		else if (wt === 5) (val = buf.subarray(i, i + 4)), (i += 4);
		else throw new Error(`wire type ${wt}`);
		if (!m.has(f)) m.set(f, []);
		m.get(f).push(val);
	}
	return m;
}
const one = (m, f) => (m.has(f) ? m.get(f).at(-1) : undefined);
const all = (m, f) => m.get(f) ?? [];
const str = (m, f) => (m.has(f) ? one(m, f).toString("utf8") : "");
const i64 = (v) => (v === undefined ? undefined : BigInt.asIntN(64, v));

// ---- bincode values (PROTOCOL.md §8.2) ----
export function bincode(v) {
	const b = [];
	const u32 = (n) => { const x = Buffer.alloc(4); x.writeUInt32LE(n); b.push(...x); };
	const u64 = (n) => { const x = Buffer.alloc(8); x.writeBigUInt64LE(BigInt(n)); b.push(...x); };
	if (v === null) u32(0);
	else if (typeof v === "bigint" || Number.isInteger(v)) {
		u32(1);
		const x = Buffer.alloc(8);
		x.writeBigInt64LE(BigInt(v));
		b.push(...x);
	} else if (typeof v === "number") {
		u32(2);
		const x = Buffer.alloc(8);
		x.writeDoubleLE(v);
		b.push(...x);
	} else if (typeof v === "string") {
		const s = Buffer.from(v, "utf8");
		u32(3), u64(s.length), b.push(...s);
	} else {
		u32(4), u64(v.length), b.push(...v);
	}
	return b;
}
export function unbincode(buf) {
	const tag = buf.readUInt32LE(0);
	switch (tag) {
	case 0: return null;
	case 1: return buf.readBigInt64LE(4);
	case 2: return buf.readDoubleLE(4);
	case 3: return buf.subarray(12, 12 + Number(buf.readBigUInt64LE(4))).toString("utf8");
	case 4: return Buffer.from(buf.subarray(12, 12 + Number(buf.readBigUInt64LE(4))));
	default: throw new Error(`bincode tag ${tag}`);
	}
}

// ---- request messages ----
export const msg = {
	hello: (version = 1) => (version === undefined ? [] : pb.varint(1, version)),
	logOffset: (next = 0, flavor) => [...(next ? pb.varint(1, next) : []), ...(flavor !== undefined ? pb.varint(2, flavor) : [])],
	/** Query{stmt, positional | named, skip_rows} */
	query: (sql, args = [], { skipRows = false, named } = {}) => [
		...pb.bytes(1, sql),
		...(named
			? pb.bytes(3, [...Object.keys(named).flatMap((k) => pb.bytes(1, k)), ...Object.values(named).flatMap((v) => pb.bytes(2, pb.bytes(1, bincode(v))))])
			: pb.bytes(2, args.flatMap((a) => pb.bytes(1, pb.bytes(1, bincode(a)))))),
		...(skipRows ? pb.varint(4, 1) : []),
	],
	/** Step{cond?, query}: sql is a string or a prebuilt query */
	step: (sql, args, cond) => [...(cond ? pb.bytes(1, cond) : []), ...pb.bytes(2, typeof sql === "string" ? msg.query(sql, args) : sql)],
	program: (clientId, steps) => [...pb.bytes(1, clientId), ...pb.bytes(2, steps.flatMap((s) => pb.bytes(1, typeof s === "string" ? msg.step(s) : s)))],
	condOk: (i) => pb.bytes(1, i ? pb.varint(1, i) : []),
	condErr: (i) => pb.bytes(2, i ? pb.varint(1, i) : []),
	condNot: (c) => pb.bytes(3, pb.bytes(1, c)),
	condAutocommit: () => pb.bytes(6, []),
	describe: (clientId, sql) => [...pb.bytes(1, clientId), ...pb.bytes(2, sql)],
	disconnect: (clientId) => pb.bytes(1, clientId),
};

// ---- response messages ----
export function decodeHello(buf) {
	const m = pbDecode(buf);
	return {
		generationId: str(m, 1),
		generationStartIndex: one(m, 2) ?? 0n,
		logId: str(m, 3),
		sessionToken: str(m, 4),
		currentReplicationIndex: one(m, 5),
		hasConfig: m.has(6),
	};
}
/** Frames -> [Buffer data] */
export const decodeFrames = (buf) => all(pbDecode(buf), 1).map((f) => one(pbDecode(f), 1) ?? Buffer.alloc(0));
/** Frame -> Buffer data */
export const decodeFrame = (buf) => one(pbDecode(buf), 1) ?? Buffer.alloc(0);
/** The 24-byte little-endian header of a libSQL frame (PROTOCOL.md §8.1). */
export function frameHdr(data) {
	return {
		frameNo: Number(data.readBigUInt64LE(0)),
		checksum: data.readBigUInt64LE(8),
		pageNo: data.readUInt32LE(16),
		sizeAfter: data.readUInt32LE(20),
		page: data.subarray(24),
	};
}
function decodeError(b) {
	const e = pbDecode(b);
	return { code: Number(one(e, 1) ?? 0n), message: str(e, 2), extendedCode: Number(i64(one(e, 3)) ?? 0n) };
}
const decodeCols = (list) => list.map((c) => {
	const m = pbDecode(c);
	return { name: str(m, 1), decltype: m.has(3) ? str(m, 3) : null };
});
export function decodeExecuteResults(buf) {
	const m = pbDecode(buf);
	const results = all(m, 1).map((q) => {
		const qm = pbDecode(q);
		if (qm.has(1)) return { error: decodeError(one(qm, 1)) };
		const r = pbDecode(one(qm, 2) ?? Buffer.alloc(0));
		return {
			rows: {
				cols: decodeCols(all(r, 1)),
				rows: all(r, 2).map((row) => all(pbDecode(row), 1).map((v) => unbincode(one(pbDecode(v), 1)))),
				affectedRowCount: Number(one(r, 3) ?? 0n),
				lastInsertRowid: i64(one(r, 4)),
			},
		};
	});
	return { results, state: Number(one(m, 2) ?? 0n), currentFrameNo: one(m, 3) };
}
export function decodeDescribe(buf) {
	const m = pbDecode(buf);
	if (m.has(1)) return { error: decodeError(one(m, 1)) };
	const d = pbDecode(one(m, 2) ?? Buffer.alloc(0));
	return { cols: decodeCols(all(d, 1)), paramNames: all(d, 2).map((b) => b.toString("utf8")), paramCount: Number(one(d, 3) ?? 0n) };
}
export const STATE = { INIT: 0, INVALID: 1, TXN: 2 };
export const ERR = { SQL_ERROR: 0, TX_BUSY: 1, TX_TIMEOUT: 2, INTERNAL: 3 };
export const GRPC = { OK: 0, INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, UNAVAILABLE: 14 };

// ---- gRPC-web framing ----
export function grpcFrame(bytes, flag = 0) {
	const b = Buffer.alloc(5 + bytes.length);
	b[0] = flag;
	b.writeUInt32BE(bytes.length, 1);
	Buffer.from(bytes).copy(b, 5);
	return b;
}

/** Incremental parser of a response body: data frames and the trailer frame. */
export class GrpcBody {
	constructor() {
		this.buf = Buffer.alloc(0);
		this.messages = [];
		this.trailers = null;
	}
	/** Feeds bytes; returns the data messages completed by them. */
	push(chunk) {
		this.buf = Buffer.concat([this.buf, chunk]);
		const out = [];
		while (this.buf.length >= 5) {
			const len = this.buf.readUInt32BE(1);
			if (this.buf.length < 5 + len) break;
			const flag = this.buf[0], payload = this.buf.subarray(5, 5 + len);
			this.buf = this.buf.subarray(5 + len);
			if (this.trailers) throw new Error("a frame after the trailers");
			if (flag === 0x80) this.trailers = parseTrailers(payload.toString("latin1"));
			else if (flag === 0) out.push(Buffer.from(payload)), this.messages.push(Buffer.from(payload));
			else throw new Error(`frame flag ${flag}`);
		}
		return out;
	}
}
export function parseTrailers(text) {
	const t = {};
	for (const line of text.split(/\r?\n/)) {
		const k = line.indexOf(":");
		if (k > 0) t[line.slice(0, k).trim().toLowerCase()] = line.slice(k + 1).trim();
	}
	return { status: t["grpc-status"] === undefined ? undefined : Number(t["grpc-status"]), message: decodeURIComponent(t["grpc-message"] ?? ""), raw: t };
}

export const keepAlive = () => new http.Agent({ keepAlive: true, maxSockets: 1 });

/**
 * One gRPC-web call. opts: token (x-session-token), ns (x-namespace-bin, default
 * "MTI3" as the real client sends for 127.0.0.1; null: none), headers, agent,
 * chunked (send the body in two pieces with transfer-encoding chunked),
 * body (raw request bytes instead of one framed message).
 * Resolves to { httpStatus, headers, body, messages, status, message, reusedSocket }.
 */
export function grpcCall(srv, path, bytes, opts = {}) {
	const body = opts.body ?? grpcFrame(bytes ?? []);
	const headers = { "content-type": "application/grpc-web", te: "trailers", "x-libsql-client-version": "libsql-rpc-test", ...(opts.headers ?? {}) };
	if (opts.ns !== null) headers["x-namespace-bin"] = opts.ns ?? "MTI3";
	if (opts.token) headers["x-session-token"] = opts.token;
	if (!opts.chunked) headers["content-length"] = String(body.length);
	return new Promise((resolve, reject) => {
		const req = http.request({ host: "127.0.0.1", port: srv.port, method: "POST", path, headers, agent: opts.agent ?? false }, (res) => {
			const parts = [];
			res.on("data", (d) => parts.push(d));
			res.on("end", () => {
				const all = Buffer.concat(parts);
				const g = new GrpcBody();
				let parseError;
				try {
					g.push(all);
				} catch (e) {
					parseError = e;
				}
				// trailers-only responses may carry the status as HTTP headers
				const st = g.trailers?.status ?? (res.headers["grpc-status"] !== undefined ? Number(res.headers["grpc-status"]) : undefined);
				resolve({
					httpStatus: res.statusCode, headers: res.headers, body: all, messages: g.messages, leftover: g.buf.length,
					status: st, message: g.trailers?.message ?? decodeURIComponent(res.headers["grpc-message"] ?? ""),
					parseError, reusedSocket: req.reusedSocket,
				});
			});
			res.on("error", reject);
		});
		req.on("error", reject);
		if (opts.chunked) {
			const cut = Math.max(1, Math.floor(body.length / 2));
			req.write(body.subarray(0, cut));
			setTimeout(() => req.end(body.subarray(cut)), 10);
		} else {
			req.end(body);
		}
	});
}

/** Hello; returns the decoded HelloResponse (asserting grpc-status 0). */
export async function hello(srv, opts = {}) {
	const r = await grpcCall(srv, "/wal_log.ReplicationLog/Hello", msg.hello(1), opts);
	if (r.status !== 0 || r.messages.length !== 1) throw new Error(`Hello failed: ${r.status} ${r.message}`);
	return decodeHello(r.messages[0]);
}

/**
 * A streaming call (LogEntries, Snapshot). Returns { headers (promise), next(timeoutMs)
 * (resolves to the next data message), done (promise of { status, message } once the
 * body ends), close() }.
 */
export function grpcStream(srv, path, bytes, opts = {}) {
	const body = grpcFrame(bytes);
	const headers = { "content-type": "application/grpc-web", te: "trailers", "x-namespace-bin": opts.ns ?? "MTI3", "content-length": String(body.length) };
	if (opts.token) headers["x-session-token"] = opts.token;
	const g = new GrpcBody();
	const queue = [];
	const waiters = [];
	let resolveHeaders, rejectHeaders, resolveDone;
	const headersP = new Promise((a, b) => ((resolveHeaders = a), (rejectHeaders = b)));
	headersP.catch(() => {}); // closing a stream before its head arrives is not a failure by itself
	const done = new Promise((a) => (resolveDone = a));
	const req = http.request({ host: "127.0.0.1", port: srv.port, method: "POST", path, headers, agent: false }, (res) => {
		resolveHeaders({ statusCode: res.statusCode, headers: res.headers });
		res.on("data", (d) => {
			for (const m of g.push(d)) {
				const w = waiters.shift();
				if (w) clearTimeout(w.timer), w.resolve(m);
				else queue.push(m);
			}
		});
		res.on("end", () => {
			for (const w of waiters.splice(0)) clearTimeout(w.timer), w.reject(new Error(`stream ended: ${JSON.stringify(g.trailers)}`));
			resolveDone({ status: g.trailers?.status, message: g.trailers?.message, complete: true });
		});
		res.on("error", () => resolveDone({ status: g.trailers?.status, complete: false }));
		res.on("close", () => resolveDone({ status: g.trailers?.status, message: g.trailers?.message, complete: !!g.trailers }));
	});
	req.on("error", (e) => {
		rejectHeaders(e);
		resolveDone({ error: e, complete: false });
	});
	req.end(body);
	return {
		headers: headersP,
		done,
		body: g,
		next(timeoutMs = 5000) {
			if (queue.length) return Promise.resolve(queue.shift());
			return new Promise((resolve, reject) => {
				const w = { resolve, reject };
				w.timer = setTimeout(() => {
					waiters.splice(waiters.indexOf(w), 1);
					reject(new Error(`no message within ${timeoutMs} ms`));
				}, timeoutMs);
				waiters.push(w);
			});
		},
		pending: () => queue.length,
		close: () => req.destroy(),
	};
}
