// Hrana 3 over protobuf against the real sqld, with raw bytes (PROTOCOL.md §5):
// WebSocket subprotocol hrana3-protobuf (binary frames; close 1007 for bytes
// that are not protobuf, 1003 for a text frame, 1008 for a message with no
// known variant), POST /v3-protobuf/pipeline (application/x-protobuf),
// POST /v3-protobuf/cursor (length-delimited, application/octet-stream),
// GET /v3-protobuf, HTTP 400 for a malformed body; unknown fields ignored.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSqld, get } from "./lib/raw.mjs";
import { enc, dec, sub, subs, str, u, bool, has, V, stmt, stmtResult, value, cursorEntry, error, splitDelimited, PbWs } from "./lib/pb.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

async function session(t) {
	const c = await PbWs.open(srv);
	t.after(() => c.terminate());
	assert.equal(c.protocol, "hrana3-protobuf");
	c.hello();
	const h = await c.waitFor((m) => m.kind === "hello_ok");
	assert.equal(h.isBinary, true, "server messages are binary frames");
	return c;
}

test("ws: hrana3-protobuf is chosen when offered first; hello, open_stream, execute with every value type", async (t) => {
	const c = await session(t);
	const o = await c.req("open_stream", [[1, "varint", 1]]);
	assert.equal(o.kind, "response_ok");
	assert.equal(o.respType, 2, "open_stream response");
	const r = await c.req("execute", [[1, "varint", 1], [2, "msg", stmt("SELECT ?, ?, ?, ?, ?, -7 AS neg", [V.int(-42n), V.float(2.5), V.text("h\u00e9\u0000llo"), V.blob([0, 1, 255]), V.null])]]);
	assert.equal(r.kind, "response_ok", JSON.stringify(r.error));
	assert.equal(r.respType, 4);
	const res = stmtResult(sub(r.body, 1));
	assert.equal(res.cols.length, 6);
	assert.equal(res.cols[5].name, "neg");
	assert.deepEqual(res.rows[0].slice(0, 3), [
		{ type: "integer", value: -42n },
		{ type: "float", value: 2.5 },
		{ type: "text", value: "h\u00e9\u0000llo" },
	]);
	assert.deepEqual(res.rows[0][3], { type: "blob", value: Buffer.from([0, 1, 255]) });
	assert.deepEqual(res.rows[0][4], { type: "null" });
	assert.deepEqual(res.rows[0][5], { type: "integer", value: -7n });
	// big integers survive zigzag both ways
	const big = await c.req("execute", [[1, "varint", 1], [2, "msg", stmt("SELECT ?", [V.int(-9223372036854775808n)])]]);
	assert.deepEqual(stmtResult(sub(big.body, 1)).rows[0][0], { type: "integer", value: -9223372036854775808n });
});

test("ws: writes report affected rows and last_insert_rowid; errors are response_error with codes", async (t) => {
	const c = await session(t);
	await c.req("open_stream", [[1, "varint", 7]]);
	await c.req("execute", [[1, "varint", 7], [2, "msg", stmt("CREATE TABLE pw (x PRIMARY KEY)")]]);
	const ins = await c.req("execute", [[1, "varint", 7], [2, "msg", stmt("INSERT INTO pw VALUES (10), (11)")]]);
	const r = stmtResult(sub(ins.body, 1));
	assert.equal(r.affected_row_count, 2n);
	assert.equal(r.last_insert_rowid, 2n);
	const dup = await c.req("execute", [[1, "varint", 7], [2, "msg", stmt("INSERT INTO pw VALUES (10)")]]);
	assert.equal(dup.kind, "response_error");
	assert.equal(dup.error.code, "SQLITE_CONSTRAINT");
	assert.match(dup.error.message, /UNIQUE/);
	const auto = await c.req("get_autocommit", [[1, "varint", 7]]);
	assert.equal(auto.respType, 13);
	assert.equal(bool(auto.body, 1), true);
});

test("ws: batch with conditions, named args, describe, stored SQL and sequence", async (t) => {
	const c = await session(t);
	await c.req("open_stream", [[1, "varint", 1]]);
	const step = (sql, cond, args = []) => [1, "msg", [...(cond ? [[1, "msg", cond]] : []), [2, "msg", stmt(sql, args)]]];
	const b = await c.req("batch", [[1, "varint", 1], [2, "msg", [
		step("SELECT 1"),
		step("SELECT nope"),
		step("SELECT 'ok0'", [[1, "varint", 0]]),
		step("SELECT 'err1'", [[2, "varint", 1]]),
		step("SELECT 'skipped'", [[3, "msg", [[1, "varint", 0]]]]),
		step("SELECT 'and'", [[4, "msg", [[1, "msg", [[1, "varint", 0]]], [1, "msg", [[6, "msg", []]]]]]]),
	]]]);
	assert.equal(b.respType, 5);
	const br = sub(b.body, 1);
	const results = new Map(subs(br, 1).map((e) => [Number(u(e, 1)), stmtResult(sub(e, 2))]));
	const errors = new Map(subs(br, 2).map((e) => [Number(u(e, 1)), error(sub(e, 2))]));
	assert.deepEqual([...results.keys()].sort(), [0, 2, 3, 5]);
	assert.deepEqual([...errors.keys()], [1]);
	assert.equal(typeof errors.get(1).code, "string");
	assert.match(errors.get(1).message, /nope/);
	assert.deepEqual(results.get(5).rows, [[{ type: "text", value: "and" }]]);

	const named = await c.req("execute", [[1, "varint", 1], [2, "msg", [[1, "str", "SELECT :a || $b"], [4, "msg", [[1, "str", ":a"], [2, "msg", [V.text("x")]]]], [4, "msg", [[1, "str", "b"], [2, "msg", [V.text("y")]]]]]]]);
	assert.deepEqual(stmtResult(sub(named.body, 1)).rows, [[{ type: "text", value: "xy" }]]);

	const d = await c.req("describe", [[1, "varint", 1], [2, "str", "SELECT :p AS a, ? AS b"]]);
	assert.equal(d.respType, 10);
	const dr = sub(d.body, 1);
	assert.deepEqual(subs(dr, 1).map((p) => str(p, 1) ?? null), [":p", null]);
	assert.deepEqual(subs(dr, 2).map((col) => str(col, 1)), ["a", "b"]);
	assert.equal(bool(dr, 4), true, "is_readonly");

	const st = await c.req("store_sql", [[1, "varint", 5], [2, "str", "SELECT 99"]]);
	assert.equal(st.respType, 11);
	const byId = await c.req("execute", [[1, "varint", 1], [2, "msg", [[2, "varint", 5], [5, "varint", 1]]]]);
	assert.deepEqual(stmtResult(sub(byId.body, 1)).rows, [[{ type: "integer", value: 99n }]]);
	assert.equal((await c.req("close_sql", [[1, "varint", 5]])).respType, 12);
	const seq = await c.req("sequence", [[1, "varint", 1], [2, "str", "CREATE TABLE pseq (x); INSERT INTO pseq VALUES (1);"]]);
	assert.equal(seq.respType, 9);
	assert.equal((await c.req("close_stream", [[1, "varint", 1]])).respType, 3);
});

test("ws: cursors stream step_begin / row / step_end / step_error entries", async (t) => {
	const c = await session(t);
	await c.req("open_stream", [[1, "varint", 1]]);
	const oc = await c.req("open_cursor", [[1, "varint", 1], [2, "varint", 3], [3, "msg", [
		[1, "msg", [[2, "msg", stmt("SELECT 1 AS a UNION ALL SELECT 2")]]],
		[1, "msg", [[2, "msg", stmt("SELECT nope")]]],
	]]]);
	assert.equal(oc.respType, 6);
	const entries = [];
	for (let i = 0; i < 10; i++) {
		const f = await c.req("fetch_cursor", [[1, "varint", 3], [2, "varint", 100]]);
		assert.equal(f.respType, 8);
		entries.push(...subs(f.body, 1).map(cursorEntry));
		if (bool(f.body, 2)) break;
	}
	assert.deepEqual(entries.map((e) => e.type), ["step_begin", "row", "row", "step_end", "step_error"]);
	assert.deepEqual(entries[0].cols, [{ name: "a", decltype: null }]);
	assert.deepEqual(entries[2].row, [{ type: "integer", value: 2n }]);
	assert.equal(entries[4].step, 1);
	assert.equal((await c.req("close_cursor", [[1, "varint", 3]])).respType, 7);
});

test("ws: unknown fields are ignored at every level", async (t) => {
	const c = await session(t);
	const junk = [[99, "str", "future"], [100, "varint", 5], [101, "double", 1.5]];
	c.sendRaw(enc([[2, "msg", [[1, "varint", 50], [2, "msg", [[1, "varint", 1], ...junk]], ...junk]], ...junk]));
	assert.equal((await c.waitFor((m) => m.requestId === 50)).kind, "response_ok");
	c.sendRaw(enc([[2, "msg", [[1, "varint", 51], [4, "msg", [[1, "varint", 1], [2, "msg", [...stmt("SELECT ?", [[[2, "sint", 3], ...junk]]), ...junk]], ...junk]]]]]));
	const r = await c.waitFor((m) => m.requestId === 51);
	assert.equal(r.kind, "response_ok");
	assert.deepEqual(stmtResult(sub(r.body, 1)).rows, [[{ type: "integer", value: 3n }]]);
});

for (const [what, bytes, code] of [
	["bytes that are not protobuf", Buffer.from([0x12, 0x7f, 0x01]), 1007],
	["a truncated varint", Buffer.from([0x08, 0xff]), 1007],
	["a text value that is not UTF-8", enc([[2, "msg", [[1, "varint", 1], [4, "msg", [[1, "varint", 1], [2, "msg", stmt("SELECT ?", [[4, "bytes", [0xc3, 0x28]]])]]]]]]), 1007],
	["a ClientMsg with no known variant", enc([[9, "msg", []]]), 1008],
	["a RequestMsg with no request", enc([[2, "msg", [[1, "varint", 1]]]]), 1008],
	["a Stmt with both sql and sql_id", enc([[2, "msg", [[1, "varint", 1], [4, "msg", [[1, "varint", 1], [2, "msg", [[1, "str", "SELECT 1"], [2, "varint", 1]]]]]]]]), 1008],
]) {
	test(`ws: ${what} closes the socket with ${code}`, async (t) => {
		const c = await session(t);
		await c.req("open_stream", [[1, "varint", 1]]);
		c.sendRaw(bytes);
		const info = await c.closed;
		assert.equal(info.code, code, `${info.code} ${info.reason}`);
	});
}

test("ws: a text frame on a protobuf connection closes with 1003", async (t) => {
	const c = await session(t);
	c.ws.send('{"type":"hello"}');
	assert.equal((await c.closed).code, 1003);
});

// ---- HTTP ----
async function postPb(path, fields) {
	const body = Buffer.isBuffer(fields) ? fields : enc(fields);
	const r = await fetch(srv.url + path, { method: "POST", body, headers: { "content-type": "application/x-protobuf" } });
	return { status: r.status, type: r.headers.get("content-type"), body: Buffer.from(await r.arrayBuffer()) };
}
const sreq = (no, fields) => [2, "msg", [[no, "msg", fields]]]; // PipelineReqBody.requests += StreamRequest{no: fields}

test("http: GET /v3-protobuf answers the probe with 200", async () => {
	const r = await get(srv, "/v3-protobuf");
	assert.equal(r.status, 200);
});

test("http: /v3-protobuf/pipeline runs requests in order, keeps the stream by baton, closes it", async () => {
	const r1 = await postPb("/v3-protobuf/pipeline", [
		sreq(2, [[1, "msg", stmt("CREATE TABLE ph (x)")]]),
		sreq(2, [[1, "msg", stmt("INSERT INTO ph VALUES (?), (?)", [V.int(1), V.int(2)])]]),
		sreq(2, [[1, "msg", stmt("SELECT nope")]]),
		sreq(8, []),
	]);
	assert.equal(r1.status, 200, r1.body.toString());
	assert.equal(r1.type, "application/x-protobuf");
	const p1 = dec(r1.body);
	const baton = str(p1, 1);
	assert.ok(baton, "a baton while the stream stays open");
	const res = subs(p1, 3);
	assert.equal(res.length, 4);
	assert.equal(stmtResult(sub(sub(sub(res[1], 1), 2), 1)).affected_row_count, 2n);
	assert.equal(has(res[2], 2), true, "the failing statement is an error result");
	assert.match(error(sub(res[2], 2)).message, /nope/);
	assert.equal(bool(sub(sub(res[3], 1), 8), 1), true, "get_autocommit");

	const r2 = await postPb("/v3-protobuf/pipeline", [[1, "str", baton], sreq(2, [[1, "msg", stmt("SELECT sum(x) FROM ph")]]), sreq(1, [])]);
	assert.equal(r2.status, 200);
	const p2 = dec(r2.body);
	assert.equal(has(p2, 1), false, "no baton once closed");
	const [exec, close] = subs(p2, 3);
	assert.deepEqual(stmtResult(sub(sub(sub(exec, 1), 2), 1)).rows, [[{ type: "integer", value: 3n }]]);
	assert.equal(has(sub(close, 1), 1), true, "close response");
	// the old baton is spent
	const r3 = await postPb("/v3-protobuf/pipeline", [[1, "str", baton], sreq(8, [])]);
	assert.equal(r3.status, 400);
});

test("http: an empty body is an empty pipeline; malformed bodies are HTTP 400", async () => {
	const e = await postPb("/v3-protobuf/pipeline", Buffer.alloc(0));
	assert.equal(e.status, 200);
	assert.equal(subs(dec(e.body), 3).length, 0);
	const garbage = [Buffer.from([0x12, 0x50]), Buffer.from([0xff]), Buffer.from([0x0b])];
	// a StreamRequest of unknown type; an execute whose Stmt has neither sql nor sql_id
	for (const bad of [...garbage, enc([sreq(20, [])]), enc([sreq(2, [[1, "msg", []]])])]) {
		const r = await postPb("/v3-protobuf/pipeline", bad);
		assert.equal(r.status, 400, `${bad.toString("hex")} -> ${r.status}`);
		assert.match(r.type, /text\/plain/);
	}
	// a batch step whose Stmt is empty; a BatchCond with no variant
	for (const bad of [...garbage, enc([[2, "msg", [[1, "msg", [[2, "msg", []]]]]]]), enc([[2, "msg", [[1, "msg", [[1, "msg", []], [2, "msg", stmt("SELECT 1")]]]]]])]) {
		const c = await postPb("/v3-protobuf/cursor", bad);
		assert.equal(c.status, 400, `cursor ${bad.toString("hex")} -> ${c.status}`);
	}
});

test("http: /v3-protobuf/cursor streams CursorRespBody then CursorEntry messages, length-delimited", async () => {
	const r = await postPb("/v3-protobuf/cursor", [[2, "msg", [
		[1, "msg", [[2, "msg", stmt("SELECT 'a' AS t UNION ALL SELECT 'b'")]]],
		[1, "msg", [[1, "msg", [[2, "varint", 0]]], [2, "msg", stmt("SELECT 'skipped'")]]],
		[1, "msg", [[2, "msg", stmt("SELECT nope")]]],
	]]]);
	assert.equal(r.status, 200);
	assert.equal(r.type, "application/octet-stream");
	const [head, ...items] = splitDelimited(r.body);
	const baton = str(dec(head), 1);
	assert.ok(baton);
	const entries = items.map((b) => cursorEntry(dec(b)));
	assert.deepEqual(entries.map((e) => e.type), ["step_begin", "row", "row", "step_end", "step_error"]);
	assert.deepEqual(entries[2].row, [{ type: "text", value: "b" }]);
	assert.equal(entries[4].step, 2);
	// the stream lives on under the cursor's baton
	const p = await postPb("/v3-protobuf/pipeline", [[1, "str", baton], sreq(2, [[1, "msg", stmt("SELECT 5")]]), sreq(1, [])]);
	assert.equal(p.status, 200);
	assert.deepEqual(value(subs(subs(sub(sub(sub(subs(dec(p.body), 3)[0], 1), 2), 1), 2)[0], 1)[0]), { type: "integer", value: 5n });
});

test("http: the JSON routes are unchanged beside the protobuf ones", async () => {
	const r = await fetch(srv.url + "/v3/pipeline", { method: "POST", body: JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }, { type: "close" }] }) });
	assert.equal(r.status, 200);
	assert.match(r.headers.get("content-type"), /application\/json/);
	assert.equal((await r.json()).results[0].response.result.rows[0][0].value, "1");
});

test("http: a cursor of many rows spans several chunks of the length-delimited stream", async () => {
	const n = 3000;
	const r = await postPb("/v3-protobuf/cursor", [[2, "msg", [
		[1, "msg", [[2, "msg", stmt(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT x, zeroblob(x % 7) AS z FROM c`)]]],
	]]]);
	assert.equal(r.status, 200);
	const [, ...items] = splitDelimited(r.body);
	const entries = items.map((b) => cursorEntry(dec(b)));
	assert.equal(entries.length, n + 2);
	assert.equal(entries[0].type, "step_begin");
	assert.equal(entries[n + 1].type, "step_end");
	for (let i = 1; i <= n; i++) {
		assert.equal(entries[i].row[0].value, BigInt(i));
		assert.equal(entries[i].row[1].value.length, i % 7);
	}
});

test("ws: hrana3-protobuf is chosen from any offer that lists it first", async (t) => {
	for (const offer of [["hrana3-protobuf", "hrana2"], ["hrana3-protobuf", "hrana3", "hrana2", "hrana1"]]) {
		const c = await PbWs.open(srv, offer);
		t.after(() => c.terminate());
		assert.equal(c.protocol.toLowerCase(), "hrana3-protobuf", offer.join(","));
		c.hello();
		await c.waitFor((m) => m.kind === "hello_ok");
	}
});

test("http: an expired stream's baton gets HTTP 400 with a protobuf Error STREAM_EXPIRED", async (t) => {
	const s2 = await startSqld({ args: ["--stream-idle-timeout-s", "1"] });
	t.after(() => s2.stop());
	const post = async (fields) => {
		const r = await fetch(s2.url + "/v3-protobuf/pipeline", { method: "POST", body: enc(fields) });
		return { status: r.status, type: r.headers.get("content-type"), body: Buffer.from(await r.arrayBuffer()) };
	};
	const r1 = await post([sreq(2, [[1, "msg", stmt("SELECT 1")]])]);
	assert.equal(r1.status, 200);
	const baton = str(dec(r1.body), 1);
	// idle well past the 1 s timeout (the server checks about once a second)
	await new Promise((res) => setTimeout(res, 3500));
	const r2 = await post([[1, "str", baton], sreq(8, [])]);
	assert.equal(r2.status, 400);
	assert.equal(r2.type, "application/x-protobuf");
	assert.deepEqual(error(dec(r2.body)), { message: "The stream has expired due to inactivity", code: "STREAM_EXPIRED" });
});
