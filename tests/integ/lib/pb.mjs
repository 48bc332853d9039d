// pb.mjs: a tiny protobuf writer/reader for the Hrana-over-protobuf tests
// (PROTOCOL.md §5), written by hand so the tests do not share code with the
// server's codec: messages are built from [fieldNumber, kind, value] triples
// and read back into { fieldNumber: [raw values] } maps.
import { WebSocket } from "./raw.mjs";

// ---- writing ----
function varint(out, v) {
	let x = BigInt.asUintN(64, BigInt(v));
	do {
		let b = Number(x & 0x7fn);
		x >>= 7n;
		if (x) b |= 0x80;
		out.push(b);
	} while (x);
}
const zigzag = (v) => {
	const x = BigInt(v);
	return BigInt.asUintN(64, (x << 1n) ^ (x >> 63n));
};

/** fields: [no, kind, value] with kind varint | sint | double | bytes | str | msg (value: fields). */
export function enc(fields) {
	const out = [];
	for (const [no, kind, value] of fields) {
		if (kind === "varint" || kind === "sint") {
			varint(out, (BigInt(no) << 3n) | 0n);
			varint(out, kind === "sint" ? zigzag(value) : value);
		} else if (kind === "double") {
			varint(out, (BigInt(no) << 3n) | 1n);
			const b = Buffer.alloc(8);
			b.writeDoubleLE(value);
			out.push(...b);
		} else {
			const body = kind === "msg" ? enc(value) : kind === "str" ? Buffer.from(value, "utf8") : Buffer.from(value);
			varint(out, (BigInt(no) << 3n) | 2n);
			varint(out, body.length);
			out.push(...body);
		}
	}
	return Buffer.from(out);
}

// ---- reading ----
function readVarint(buf, pos) {
	let x = 0n;
	let shift = 0n;
	for (;;) {
		if (pos.i >= buf.length) throw new Error("truncated varint");
		const b = buf[pos.i++];
		x |= BigInt(b & 0x7f) << shift;
		if (!(b & 0x80)) return x;
		shift += 7n;
	}
}

/** Parses one message into { no: [{ wt, v }] } (v: BigInt, or a Buffer for wire types 1, 2, 5). */
export function dec(buf) {
	const m = {};
	const pos = { i: 0 };
	while (pos.i < buf.length) {
		const key = readVarint(buf, pos);
		const no = Number(key >> 3n);
		const wt = Number(key & 7n);
		let v;
		if (wt === 0) v = readVarint(buf, pos);
		else if (wt === 1 || wt === 5) {
			const n = wt === 1 ? 8 : 4;
			v = buf.subarray(pos.i, pos.i + n);
			pos.i += n;
		} else if (wt === 2) {
			const n = Number(readVarint(buf, pos));
			if (pos.i + n > buf.length) throw new Error("length past the end");
			v = buf.subarray(pos.i, pos.i + n);
			pos.i += n;
		} else throw new Error(`wire type ${wt}`);
		(m[no] ??= []).push({ wt, v });
	}
	return m;
}
const last = (m, no) => (m[no] ? m[no][m[no].length - 1].v : undefined);
export const has = (m, no) => m[no] !== undefined;
export const u = (m, no) => (has(m, no) ? last(m, no) : 0n);
export const s64 = (m, no) => {
	const x = u(m, no);
	return (x >> 1n) ^ -(x & 1n);
};
export const str = (m, no) => (has(m, no) ? last(m, no).toString("utf8") : undefined);
export const sub = (m, no) => (has(m, no) ? dec(last(m, no)) : undefined);
export const subs = (m, no) => (m[no] ?? []).map((f) => dec(f.v));
export const bool = (m, no) => u(m, no) !== 0n;

// ---- Hrana structures (PROTOCOL.md §5 field numbers) ----
export const V = {
	null: [1, "msg", []],
	int: (n) => [2, "sint", n],
	float: (x) => [3, "double", x],
	text: (s) => [4, "str", s],
	blob: (b) => [5, "bytes", b],
};
/** A Stmt: sql, positional args (each a V.* field, or a list of Value
 * fields), extra fields appended as is. */
export const stmt = (sql, args = [], extra = []) => [
	[1, "str", sql],
	...args.map((a) => [3, "msg", Array.isArray(a[0]) ? a : [a]]),
	[5, "varint", 1],
	...extra,
];

/** Value message → { type, value } like the JSON form (integers as BigInt). */
export function value(m) {
	if (has(m, 2)) return { type: "integer", value: s64(m, 2) };
	if (has(m, 3)) return { type: "float", value: last(m, 3).readDoubleLE(0) };
	if (has(m, 4)) return { type: "text", value: str(m, 4) };
	if (has(m, 5)) return { type: "blob", value: Buffer.from(last(m, 5)) };
	return { type: "null" };
}
const col = (c) => ({ name: str(c, 1) ?? null, decltype: str(c, 2) ?? null });
export function stmtResult(m) {
	return {
		cols: subs(m, 1).map(col),
		rows: subs(m, 2).map((r) => subs(r, 1).map(value)),
		affected_row_count: u(m, 3),
		last_insert_rowid: has(m, 4) ? s64(m, 4) : null,
	};
}
export const error = (m) => ({ message: str(m, 1) ?? "", code: str(m, 2) ?? null });
export function cursorEntry(m) {
	if (has(m, 1)) {
		const b = sub(m, 1);
		return { type: "step_begin", step: Number(u(b, 1)), cols: subs(b, 2).map(col) };
	}
	if (has(m, 2)) {
		const e = sub(m, 2);
		return { type: "step_end", affected_row_count: u(e, 1), last_insert_rowid: has(e, 2) ? s64(e, 2) : null };
	}
	if (has(m, 3)) {
		const e = sub(m, 3);
		return { type: "step_error", step: Number(u(e, 1)), error: error(sub(e, 2)) };
	}
	if (has(m, 4)) return { type: "row", row: subs(sub(m, 4), 1).map(value) };
	if (has(m, 5)) return { type: "error", error: error(sub(m, 5)) };
	return { type: "unknown", fields: Object.keys(m) };
}

/** Splits a length-delimited stream into its messages (Buffers). */
export function splitDelimited(buf) {
	const out = [];
	const pos = { i: 0 };
	while (pos.i < buf.length) {
		const n = Number(readVarint(buf, pos));
		if (pos.i + n > buf.length) throw new Error("truncated item");
		out.push(buf.subarray(pos.i, pos.i + n));
		pos.i += n;
	}
	return out;
}

// ---- WebSocket with subprotocol hrana3-protobuf ----
// RequestMsg / ResponseOkMsg variant numbers
export const WS = { open_stream: 2, close_stream: 3, execute: 4, batch: 5, open_cursor: 6, close_cursor: 7, fetch_cursor: 8, sequence: 9, describe: 10, store_sql: 11, close_sql: 12, get_autocommit: 13 };

export class PbWs {
	static open(srv, protocols = ["hrana3-protobuf"]) {
		return new Promise((resolve, reject) => {
			const ws = new WebSocket(srv.wsUrl + "/", protocols);
			ws.once("open", () => resolve(new PbWs(ws)));
			ws.once("error", reject);
		});
	}
	constructor(ws) {
		this.ws = ws;
		this.protocol = ws.protocol;
		this.msgs = [];
		this.waiters = [];
		this.nextId = 1;
		ws.on("error", () => {});
		ws.on("message", (data, isBinary) => {
			const m = { isBinary, raw: Buffer.from(data) };
			try {
				const d = dec(m.raw);
				if (has(d, 1)) m.kind = "hello_ok";
				else if (has(d, 2)) Object.assign(m, { kind: "hello_error", error: error(sub(sub(d, 2), 1) ?? {}) });
				else if (has(d, 3)) {
					const ok = sub(d, 3);
					const t = Object.keys(ok).map(Number).find((k) => k >= 2 && k <= 13);
					Object.assign(m, { kind: "response_ok", requestId: Number(BigInt.asIntN(32, u(ok, 1))), respType: t, body: t ? sub(ok, t) : undefined });
				} else if (has(d, 4)) {
					const er = sub(d, 4);
					Object.assign(m, { kind: "response_error", requestId: Number(BigInt.asIntN(32, u(er, 1))), error: error(sub(er, 2) ?? {}) });
				}
			} catch (e) {
				m.kind = "undecodable";
				m.why = String(e);
			}
			this.msgs.push(m);
			for (const w of [...this.waiters])
				if (w.pred(m)) {
					this.waiters.splice(this.waiters.indexOf(w), 1);
					w.resolve(m);
				}
		});
		this.closed = new Promise((res) => ws.on("close", (code, reason) => res({ code, reason: reason.toString() })));
	}
	sendRaw(bytes) {
		this.ws.send(bytes, { binary: true });
	}
	hello(jwt) {
		this.sendRaw(enc([[1, "msg", jwt === undefined ? [] : [[1, "str", jwt]]]]));
	}
	/** Sends RequestMsg { request_id, <type>: fields }; returns the id. */
	sendReq(type, fields) {
		const id = this.nextId++;
		this.sendRaw(enc([[2, "msg", [[1, "varint", id], [WS[type], "msg", fields]]]]));
		return id;
	}
	waitFor(pred, ms = 10000) {
		const found = this.msgs.find(pred);
		if (found) return Promise.resolve(found);
		return new Promise((resolve, reject) => {
			const w = { pred, resolve };
			this.waiters.push(w);
			setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(this.msgs.map((m) => m.kind))}`)), ms).unref();
		});
	}
	async req(type, fields) {
		const id = this.sendReq(type, fields);
		return this.waitFor((m) => m.requestId === id);
	}
	terminate() {
		this.ws.terminate();
	}
}
