// Hrana over WebSocket, raw (PROTOCOL.md §2, §3): subprotocol negotiation,
// hello, pipelining, every request type, version gating, protocol-error close
// codes, response errors, stored SQL limits, ping/pong.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { startSqld, RawWs, wsSession, I, T, N, stmt } from "./lib/raw.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "w") => `${p}_${process.pid}_${++tableNo}`;

async function expectUpgradeRefused(protocols) {
	try {
		const c = await RawWs.open(srv, protocols);
		c.terminate();
		assert.fail(`upgrade with ${JSON.stringify(protocols)} was accepted with subprotocol ${JSON.stringify(c.protocol)}`);
	} catch (e) {
		if (e.code === "ERR_ASSERTION") throw e;
		assert.equal(e.status, 400, `expected HTTP 400, got ${e.status ?? e.message}`);
		return e;
	}
}

async function expectClose(c, code, what) {
	const info = await c.waitClosed();
	if (Array.isArray(code)) assert.ok(code.includes(info.code), `${what}: close code ${info.code} (${info.reason}), want one of ${code}`);
	else assert.equal(info.code, code, `${what}: close code ${info.code} (${info.reason})`);
}
// An unknown "type" is a shape error: PROTOCOL.md §2.2 says 1008, while sqld's
// serde decoder reports it as invalid JSON (1007). Either is a protocol close.
const SHAPE_ERROR = [1007, 1008];

// sqld prefers hrana3-protobuf > hrana3 > hrana2 > hrana1 whatever the
// client's order. We use libwebsockets' negotiation, which takes the first
// subprotocol in the client's list that we support, and 4.1 has no way to
// override it: a known difference (README), invisible to real clients, which
// list the newest first (hrana-client: hrana3-protobuf, hrana3, hrana2, hrana1).
// The protobuf connection itself is tested in protobuf.test.mjs.
for (const [offer, want] of [
	[["hrana2", "hrana1"], "hrana2"],
	[["hrana1", "hrana3"], "hrana1"],
	[["hrana1", "hrana2"], "hrana1"],
	[["hrana3", "hrana2", "hrana1"], "hrana3"],
	[["hrana1"], "hrana1"],
	[["foo", "hrana2"], "hrana2"],
	[["hrana3", "hrana3-protobuf"], "hrana3"],
]) {
	test(`subprotocols: offer "${offer.join(", ")}" selects ${want}, echoed in Sec-WebSocket-Protocol`, async (t) => {
		const c = await RawWs.open(srv, offer);
		t.after(() => c.terminate());
		assert.equal(c.protocol, want);
		assert.equal(c.upgradeHeaders["sec-websocket-protocol"], want);
		await c.helloOk();
		// the negotiated version really is in force
		await c.ok({ type: "open_stream", stream_id: 1 });
		const id = c.sendReq({ type: "get_autocommit", stream_id: 1 });
		const m = await Promise.race([c.response(id).catch(() => null), c.closed]);
		if (want === "hrana3") assert.deepEqual(m.response, { type: "get_autocommit", is_autocommit: true });
		else assert.equal(m.code, 1008, `get_autocommit on ${want} must close with 1008, got ${JSON.stringify(m)}`);
	});
}

test("subprotocols: none offered means hrana1 semantics and no Sec-WebSocket-Protocol response header", async (t) => {
	const c = await RawWs.open(srv, undefined);
	t.after(() => c.terminate());
	assert.equal(c.protocol, "");
	assert.equal(c.upgradeHeaders["sec-websocket-protocol"], undefined);
	await c.helloOk();
	await c.ok({ type: "open_stream", stream_id: 1 });
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: stmt("SELECT 7") });
	assert.deepEqual(r.result.rows, [[I(7)]]);
	// sequence needs Hrana 2: a protocol error closes the socket with 1008
	c.sendReq({ type: "sequence", stream_id: 1, sql: "SELECT 1" });
	await expectClose(c, 1008, "sequence on hrana1");
});

test("subprotocols: only unknown ones get HTTP 400 listing the supported ones", async () => {
	const e = await expectUpgradeRefused(["foo", "bar"]);
	assert.match(e.body, /^Only these WebSocket subprotocols are supported: hrana3-protobuf hrana3 hrana2 hrana1$/);
});

test("hrana3: hello then every request type pipelined without waiting", async (t) => {
	const c = await RawWs.open(srv, ["hrana3"]);
	t.after(() => c.terminate());
	const w = table();
	c.hello();
	const ids = {};
	const send = (name, req) => {
		ids[name] = c.sendReq(req);
	};
	send("open", { type: "open_stream", stream_id: 1 });
	send("store", { type: "store_sql", sql_id: 7, sql: "SELECT ? AS v" });
	send("execStored", { type: "execute", stream_id: 1, stmt: { sql_id: 7, args: [I(5)] } });
	send("create", { type: "execute", stream_id: 1, stmt: stmt(`CREATE TABLE ${w} (x)`) });
	send("batch", { type: "batch", stream_id: 1, batch: { steps: [
		{ stmt: stmt(`INSERT INTO ${w} VALUES (1)`) },
		{ condition: { type: "ok", step: 0 }, stmt: stmt(`INSERT INTO ${w} VALUES (2)`) },
		{ condition: { type: "and", conds: [{ type: "ok", step: 0 }, { type: "ok", step: 1 }, { type: "is_autocommit" }] }, stmt: stmt(`SELECT count(*) FROM ${w}`) },
	] } });
	send("sequence", { type: "sequence", stream_id: 1, sql: `INSERT INTO ${w} VALUES (3); INSERT INTO ${w} VALUES (4);` });
	send("sequenceStored", { type: "store_sql", sql_id: 8, sql: `INSERT INTO ${w} VALUES (5)` });
	send("seq2", { type: "sequence", stream_id: 1, sql_id: 8 });
	send("describe", { type: "describe", stream_id: 1, sql: `SELECT x FROM ${w} WHERE x > ?` });
	send("autocommit", { type: "get_autocommit", stream_id: 1 });
	send("closeSql", { type: "close_sql", sql_id: 7 });
	send("closeSqlUnknown", { type: "close_sql", sql_id: 999 });
	send("openCursor", { type: "open_cursor", stream_id: 1, cursor_id: 1, batch: { steps: [{ stmt: stmt(`SELECT x FROM ${w} ORDER BY x`) }] } });
	send("fetch1", { type: "fetch_cursor", cursor_id: 1, max_count: 2 });
	send("fetch2", { type: "fetch_cursor", cursor_id: 1, max_count: 100 });
	send("closeCursor", { type: "close_cursor", cursor_id: 1 });
	send("after", { type: "execute", stream_id: 1, stmt: stmt(`SELECT sum(x) FROM ${w}`) });
	send("closeStream", { type: "close_stream", stream_id: 1 });

	const hello = await c.waitFor((m) => m.type === "hello_ok" || m.type === "hello_error", "hello_ok");
	assert.deepEqual(hello, { type: "hello_ok" });
	const r = {};
	for (const [name, id] of Object.entries(ids)) {
		const m = await c.response(id);
		assert.equal(m.type, "response_ok", `${name}: ${JSON.stringify(m)}`);
		assert.deepEqual(Object.keys(m).sort(), ["request_id", "response", "type"]);
		r[name] = m.response;
	}
	assert.deepEqual(r.open, { type: "open_stream" });
	assert.deepEqual(r.store, { type: "store_sql" });
	assert.equal(r.execStored.type, "execute");
	assert.deepEqual(r.execStored.result.cols, [{ name: "v", decltype: null }]);
	assert.deepEqual(r.execStored.result.rows, [[I(5)]]);
	assert.equal(r.execStored.result.affected_row_count, 0);
	assert.equal(r.execStored.result.last_insert_rowid, null);
	assert.equal(r.batch.type, "batch");
	assert.equal(r.batch.result.step_results.length, 3);
	assert.deepEqual(r.batch.result.step_errors, [null, null, null]);
	assert.equal(r.batch.result.step_results[0].affected_row_count, 1);
	assert.equal(r.batch.result.step_results[1].last_insert_rowid, "2");
	assert.deepEqual(r.batch.result.step_results[2].rows, [[I(2)]]);
	assert.deepEqual(r.sequence, { type: "sequence" });
	assert.deepEqual(r.seq2, { type: "sequence" });
	assert.deepEqual(r.describe, {
		type: "describe",
		result: { params: [{ name: null }], cols: [{ name: "x", decltype: null }], is_explain: false, is_readonly: true },
	});
	assert.deepEqual(r.autocommit, { type: "get_autocommit", is_autocommit: true });
	assert.deepEqual(r.closeSql, { type: "close_sql" });
	assert.deepEqual(r.closeSqlUnknown, { type: "close_sql" });
	assert.deepEqual(r.openCursor, { type: "open_cursor" });
	assert.deepEqual(r.fetch1, {
		type: "fetch_cursor",
		entries: [{ type: "step_begin", step: 0, cols: [{ name: "x", decltype: null }] }, { type: "row", row: [I(1)] }],
		done: false,
	});
	assert.equal(r.fetch2.type, "fetch_cursor");
	assert.equal(r.fetch2.done, true);
	const rest = r.fetch2.entries;
	assert.deepEqual(rest.slice(0, 4), [{ type: "row", row: [I(2)] }, { type: "row", row: [I(3)] }, { type: "row", row: [I(4)] }, { type: "row", row: [I(5)] }]);
	assert.equal(rest.length, 5);
	assert.equal(rest[4].type, "step_end");
	assert.equal(rest[4].affected_row_count, 0);
	assert.equal(rest[4].last_insert_rowid, null);
	assert.deepEqual(r.closeCursor, { type: "close_cursor" });
	assert.deepEqual(r.after.result.rows, [[I(15)]]);
	assert.deepEqual(r.closeStream, { type: "close_stream" });
	// after close_stream the id is free again
	await c.ok({ type: "open_stream", stream_id: 1 });
});

test("hrana3: cursors report step errors and whole-batch results; close_stream also closes the cursor", async (t) => {
	const c = await wsSession(t, srv, ["hrana3"]);
	await c.ok({ type: "open_stream", stream_id: 3 });
	await c.ok({ type: "open_cursor", stream_id: 3, cursor_id: 30, batch: { steps: [
		{ stmt: stmt("SELECT 1 AS a") },
		{ stmt: stmt("SELECT * FROM no_such_ws_table") },
		{ condition: { type: "ok", step: 1 }, stmt: stmt("SELECT 2") },
		{ condition: { type: "error", step: 1 }, stmt: stmt("SELECT 3 AS c") },
	] } });
	const entries = [];
	for (let i = 0; i < 20; i++) {
		const f = await c.ok({ type: "fetch_cursor", cursor_id: 30, max_count: 3 });
		assert.ok(f.entries.length <= 3, "at most max_count entries");
		entries.push(...f.entries);
		if (f.done) break;
	}
	const types = entries.filter((e) => !(e.type === "step_begin" && e.step === 1)).map((e) => e.type + (e.step !== undefined ? e.step : ""));
	assert.deepEqual(types, ["step_begin0", "row", "step_end", "step_error1", "step_begin3", "row", "step_end"]);
	assert.equal(typeof entries.find((e) => e.type === "step_error").error.message, "string");
	// a done cursor keeps answering done with no entries
	const again = await c.ok({ type: "fetch_cursor", cursor_id: 30, max_count: 10 });
	assert.deepEqual(again, { type: "fetch_cursor", entries: [], done: true });
	await c.ok({ type: "close_stream", stream_id: 3 });
	// the cursor went with the stream: the id can be used again on a new stream
	await c.ok({ type: "open_stream", stream_id: 4 });
	await c.ok({ type: "open_cursor", stream_id: 4, cursor_id: 30, batch: { steps: [{ stmt: stmt("SELECT 9") }] } });
	const f = await c.ok({ type: "fetch_cursor", cursor_id: 30, max_count: 10 });
	assert.deepEqual(f.entries[1], { type: "row", row: [I(9)] });
});

test("streams on one socket are separate connections: isolation, commit, close_stream rolls back", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	const w = table();
	await c.ok({ type: "open_stream", stream_id: 1 });
	await c.ok({ type: "open_stream", stream_id: 2 });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`CREATE TABLE ${w} (x)`) });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt("BEGIN") });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${w} VALUES (1)`) });
	const seen1 = await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT count(*) FROM ${w}`) });
	assert.deepEqual(seen1.result.rows, [[I(1)]]);
	const seen2 = await c.ok({ type: "execute", stream_id: 2, stmt: stmt(`SELECT count(*) FROM ${w}`) });
	assert.deepEqual(seen2.result.rows, [[I(0)]], "another stream must not see uncommitted rows");
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt("COMMIT") });
	const seen3 = await c.ok({ type: "execute", stream_id: 2, stmt: stmt(`SELECT count(*) FROM ${w}`) });
	assert.deepEqual(seen3.result.rows, [[I(1)]]);
	// an open transaction dies with its stream
	await c.ok({ type: "execute", stream_id: 2, stmt: stmt("BEGIN") });
	await c.ok({ type: "execute", stream_id: 2, stmt: stmt(`INSERT INTO ${w} VALUES (2)`) });
	await c.ok({ type: "close_stream", stream_id: 2 });
	const seen4 = await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT count(*) FROM ${w}`) });
	assert.deepEqual(seen4.result.rows, [[I(1)]]);
	// ... and with its socket
	const d = await wsSession(t, srv, ["hrana2"]);
	await d.ok({ type: "open_stream", stream_id: 1 });
	await d.ok({ type: "execute", stream_id: 1, stmt: stmt("BEGIN IMMEDIATE") });
	await d.ok({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${w} VALUES (3)`) });
	d.terminate();
	await d.closed;
	let rows;
	for (let i = 0; i < 50; i++) {
		// the write lock must come free once the server notices the dead socket
		const ins = await c.req({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${w} VALUES (4)`) });
		if (ins.type === "response_ok") break;
		await new Promise((r) => setTimeout(r, 100));
	}
	rows = (await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT x FROM ${w} ORDER BY x`) })).result.rows;
	assert.deepEqual(rows, [[I(1)], [I(4)]]);
});

test("values over WebSocket: i64 extremes, floats, unicode and NUL text, blobs, null", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	await c.ok({ type: "open_stream", stream_id: 1 });
	const vals = [I("9223372036854775807"), I("-9223372036854775808"), { type: "float", value: 0.30000000000000004 },
		T("ünï 🌍"), T("a\u0000b"), { type: "blob", base64: "AP8Q" }, N];
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: { sql: "SELECT ?, ?, ?, ?, ?, ?, ?", args: vals } });
	assert.deepEqual(r.result.rows, [vals]);
	const named = await c.ok({ type: "execute", stream_id: 1, stmt: { sql: "SELECT :a, @b, $c", named_args: [
		{ name: "a", value: I(1) }, { name: "@b", value: I(2) }, { name: "$c", value: I(3) },
	] } });
	assert.deepEqual(named.result.rows, [[I(1), I(2), I(3)]]);
});

test("hrana2: stored SQL, sequence, describe work; get_autocommit closes the socket with 1008", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	await c.ok({ type: "open_stream", stream_id: 1 });
	await c.ok({ type: "store_sql", sql_id: 1, sql: "SELECT 40 + ?" });
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: { sql_id: 1, args: [I(2)] } });
	assert.deepEqual(r.result.rows, [[I(42)]]);
	await c.ok({ type: "sequence", stream_id: 1, sql: "SELECT 1; SELECT 2" });
	const d = await c.ok({ type: "describe", stream_id: 1, sql: "SELECT 1" });
	assert.equal(d.result.is_readonly, true);
	c.sendReq({ type: "get_autocommit", stream_id: 1 });
	await expectClose(c, 1008, "get_autocommit on hrana2");
});

test("hrana2: open_cursor closes the socket with 1008", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	await c.ok({ type: "open_stream", stream_id: 1 });
	c.sendReq({ type: "open_cursor", stream_id: 1, cursor_id: 1, batch: { steps: [{ stmt: stmt("SELECT 1") }] } });
	await expectClose(c, 1008, "open_cursor on hrana2");
});

test("hrana2: is_autocommit batch condition closes the socket with 1008", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	await c.ok({ type: "open_stream", stream_id: 1 });
	c.sendReq({ type: "batch", stream_id: 1, batch: { steps: [{ condition: { type: "is_autocommit" }, stmt: stmt("SELECT 1") }] } });
	await expectClose(c, 1008, "is_autocommit on hrana2");
});

test("hrana1 (explicit): store_sql and describe are protocol errors", async (t) => {
	for (const req of [{ type: "store_sql", sql_id: 1, sql: "SELECT 1" }, { type: "describe", stream_id: 1, sql: "SELECT 1" }]) {
		const c = await wsSession(t, srv, ["hrana1"]);
		await c.ok({ type: "open_stream", stream_id: 1 });
		c.sendReq(req);
		await expectClose(c, 1008, `${req.type} on hrana1`);
	}
});

test("repeated hello: allowed on hrana2, a protocol error on hrana1", async (t) => {
	const c2 = await wsSession(t, srv, ["hrana2"]);
	c2.messages.length = 0;
	c2.hello();
	const again = await c2.waitFor((m) => m.type === "hello_ok" || m.type === "hello_error", "second hello_ok");
	assert.deepEqual(again, { type: "hello_ok" });
	await c2.ok({ type: "open_stream", stream_id: 1 });

	const c1 = await wsSession(t, srv, ["hrana1"]);
	c1.hello();
	await expectClose(c1, 1008, "second hello on hrana1");
});

test("protocol errors close the socket: request before hello, duplicate/unknown stream, bad sql ids (1008), unknown types", async (t) => {
	const c = await RawWs.open(srv, ["hrana2"]);
	t.after(() => c.terminate());
	c.sendReq({ type: "open_stream", stream_id: 1 });
	await expectClose(c, 1008, "request before hello");

	const cases = [
		["duplicate stream id", [{ type: "open_stream", stream_id: 1 }, { type: "open_stream", stream_id: 1 }]],
		["execute on unknown stream", [{ type: "execute", stream_id: 42, stmt: stmt("SELECT 1") }]],
		["close of unknown stream", [{ type: "close_stream", stream_id: 42 }]],
		["duplicate store_sql id", [{ type: "store_sql", sql_id: 3, sql: "SELECT 1" }, { type: "store_sql", sql_id: 3, sql: "SELECT 2" }]],
		["execute with unknown sql_id", [{ type: "open_stream", stream_id: 1 }, { type: "execute", stream_id: 1, stmt: { sql_id: 77 } }]],
		["execute with both sql and sql_id", [{ type: "store_sql", sql_id: 1, sql: "SELECT 1" }, { type: "open_stream", stream_id: 1 }, { type: "execute", stream_id: 1, stmt: { sql: "SELECT 1", sql_id: 1 } }]],
	];
	for (const [what, reqs] of cases) {
		const s = await wsSession(t, srv, ["hrana2"]);
		for (const r of reqs) s.sendReq(r);
		await expectClose(s, 1008, what);
	}
	const u = await wsSession(t, srv, ["hrana2"]);
	u.send({ type: "no_such_message" });
	await expectClose(u, SHAPE_ERROR, "unknown message type");
	const ur = await wsSession(t, srv, ["hrana2"]);
	ur.sendReq({ type: "no_such_request" });
	await expectClose(ur, SHAPE_ERROR, "unknown request type");

	const cur = await wsSession(t, srv, ["hrana3"]);
	await cur.ok({ type: "open_stream", stream_id: 1 });
	await cur.ok({ type: "open_cursor", stream_id: 1, cursor_id: 1, batch: { steps: [{ stmt: stmt("SELECT 1") }] } });
	cur.sendReq({ type: "open_cursor", stream_id: 1, cursor_id: 2, batch: { steps: [{ stmt: stmt("SELECT 1") }] } });
	await expectClose(cur, 1008, "second cursor on a stream");
});

test("invalid JSON closes with 1007, a binary frame on a JSON socket with 1003", async (t) => {
	const a = await wsSession(t, srv, ["hrana3"]);
	a.send("{not json");
	await expectClose(a, 1007, "invalid JSON");
	const b = await wsSession(t, srv, ["hrana3"]);
	b.ws.send(Buffer.from([0x0a, 0x02, 0x08, 0x01]), { binary: true });
	await expectClose(b, 1003, "binary frame");
	const c = await RawWs.open(srv, ["hrana2"]);
	t.after(() => c.terminate());
	c.send("[1, 2");
	await expectClose(c, 1007, "invalid JSON before hello");
});

test("statement errors are response_error with sqld codes and the stream stays usable", async (t) => {
	const c = await wsSession(t, srv, ["hrana3"]);
	const w = table();
	await c.ok({ type: "open_stream", stream_id: 1 });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`CREATE TABLE ${w} (x PRIMARY KEY)`) });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${w} VALUES (1)`) });
	const cases = [
		[stmt(`INSERT INTO ${w} VALUES (1)`), "SQLITE_CONSTRAINT"],
		[stmt("SELECT 1; SELECT 2"), "SQL_MANY_STATEMENTS"],
		[stmt(" "), "SQL_NO_STATEMENT"],
		[{ sql: "SELECT ?", args: [I(1), I(2)] }, "ARGS_INVALID"],
		[{ sql: "SELECT ?, :a", args: [I(1)], named_args: [{ name: "a", value: I(1) }] }, "ARGS_BOTH_POSITIONAL_AND_NAMED"],
	];
	for (const [s, code] of cases) {
		const m = await c.req({ type: "execute", stream_id: 1, stmt: s });
		assert.equal(m.type, "response_error", `${s.sql}: ${JSON.stringify(m)}`);
		assert.deepEqual(Object.keys(m).sort(), ["error", "request_id", "type"]);
		assert.equal(m.error.code, code, `${s.sql}: ${JSON.stringify(m.error)}`);
		assert.equal(typeof m.error.message, "string");
	}
	const seq = await c.req({ type: "sequence", stream_id: 1, sql: `INSERT INTO ${w} VALUES (5); INSERT INTO ${w} VALUES (1); INSERT INTO ${w} VALUES (6)` });
	assert.equal(seq.type, "response_error");
	assert.equal(seq.error.code, "SQLITE_CONSTRAINT");
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT x FROM ${w} ORDER BY x`) });
	assert.deepEqual(r.result.rows, [[I(1)], [I(5)]]);
});

test("SQL_STORE_TOO_MANY at the 151st stored SQL on one socket", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	const ids = [];
	for (let i = 0; i < 151; i++) ids.push(c.sendReq({ type: "store_sql", sql_id: i + 1000, sql: `SELECT ${i}` }));
	for (let i = 0; i < 150; i++) {
		const m = await c.response(ids[i]);
		assert.equal(m.type, "response_ok", `store ${i}: ${JSON.stringify(m)}`);
	}
	const last = await c.response(ids[150]);
	assert.equal(last.type, "response_error", JSON.stringify(last));
	assert.equal(last.error.code, "SQL_STORE_TOO_MANY");
	await c.ok({ type: "close_sql", sql_id: 1000 });
	await c.ok({ type: "store_sql", sql_id: 5000, sql: "SELECT 'again'" });
	await c.ok({ type: "open_stream", stream_id: 1 });
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: { sql_id: 5000 } });
	assert.deepEqual(r.result.rows, [[T("again")]]);
	const r2 = await c.ok({ type: "execute", stream_id: 1, stmt: { sql_id: 1149 } });
	assert.deepEqual(r2.result.rows, [[I(149)]]);
});

test("large messages both ways (3 MB argument echoed back) and request ids at the int32 extremes", async (t) => {
	const c = await wsSession(t, srv, ["hrana2"]);
	await c.ok({ type: "open_stream", stream_id: 1 });
	const big = "é".repeat(1_500_000); // 3 MB of UTF-8
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: { sql: "SELECT ?, length(?)", args: [T(big), T(big)] } });
	assert.equal(r.result.rows[0][0].value.length, big.length);
	assert.equal(r.result.rows[0][0].value, big);
	assert.deepEqual(r.result.rows[0][1], I(1_500_000));
	for (const id of [2147483647, -2147483648, 0]) {
		const m = await c.response(c.sendReq({ type: "execute", stream_id: 1, stmt: stmt("SELECT 1") }, id));
		assert.equal(m.request_id, id);
		assert.equal(m.type, "response_ok");
	}
});

test("ping is answered with pong carrying the same payload", async (t) => {
	const c = await wsSession(t, srv, ["hrana3"]);
	const pong = new Promise((resolve) => c.ws.once("pong", (data) => resolve(data.toString())));
	c.ws.ping(Buffer.from("sqlwire-ping"));
	assert.equal(await pong, "sqlwire-ping");
	await c.ok({ type: "open_stream", stream_id: 1 });
});

test("a client close gets a clean close handshake", async () => {
	const c = await RawWs.open(srv, ["hrana2"]);
	await c.helloOk();
	c.ws.close(1000, "bye");
	const info = await c.waitClosed();
	assert.equal(info.code, 1000);
});

test("STREAM_NOT_OPEN and CURSOR_NOT_OPEN after an open_stream that failed", async (t) => {
	// A dedicated server whose database directory is moved away, so that the
	// next connection cannot be opened and open_stream fails.
	const s = await startSqld();
	t.after(() => s.stop());
	const c = await RawWs.open(s, ["hrana3"]);
	t.after(() => c.terminate());
	await c.helloOk();
	await c.ok({ type: "open_stream", stream_id: 1 });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt("SELECT 1") });
	await fs.rename(s.dbPath, s.dbPath + ".moved");

	const open = await c.req({ type: "open_stream", stream_id: 2 });
	assert.equal(open.type, "response_error", `open_stream must fail when the database cannot be opened: ${JSON.stringify(open)}`);
	const ex = await c.req({ type: "execute", stream_id: 2, stmt: stmt("SELECT 1") });
	assert.equal(ex.type, "response_error", JSON.stringify(ex));
	assert.equal(ex.error.code, "STREAM_NOT_OPEN");
	const oc = await c.req({ type: "open_cursor", stream_id: 2, cursor_id: 9, batch: { steps: [{ stmt: stmt("SELECT 1") }] } });
	assert.equal(oc.type, "response_error");
	assert.equal(oc.error.code, "STREAM_NOT_OPEN");
	const fc = await c.req({ type: "fetch_cursor", cursor_id: 9, max_count: 10 });
	assert.equal(fc.type, "response_error", JSON.stringify(fc));
	assert.equal(fc.error.code, "CURSOR_NOT_OPEN");
	// the working stream is unaffected, and the failed one can still be closed
	const one = await c.ok({ type: "execute", stream_id: 1, stmt: stmt("SELECT 11") });
	assert.deepEqual(one.result.rows, [[I(11)]]);
	await c.ok({ type: "close_stream", stream_id: 2 });
});

test("--max-concurrent-connections counts open connections only: the limit refuses with 429 and frees up on close", async (t) => {
	const s = await startSqld({ maxConcurrentConnections: 5 });
	t.after(() => s.stop());
	const held = [];
	t.after(() => held.forEach((c) => c.terminate()));
	for (let i = 0; i < 5; i++) {
		const c = await RawWs.open(s, ["hrana2"]).catch((e) => e);
		if (c instanceof Error) assert.fail(`connection ${i + 1} of 5 was refused (HTTP ${c.status} ${c.body}) with only ${i} open`);
		held.push(c);
		await c.helloOk();
	}
	const refused = await RawWs.open(s, ["hrana2"]).then((c) => { held.push(c); return null; }, (e) => e);
	assert.ok(refused, "a 6th concurrent connection must be refused");
	assert.equal(refused.status, 429);
	for (const c of held.splice(0)) {
		c.ws.close(1000);
		await c.closed;
	}
	// Many short-lived connections in a row never add up to the limit.
	for (let i = 0; i < 40; i++) {
		let c;
		for (let attempt = 0; ; attempt++) {
			c = await RawWs.open(s, ["hrana2"]).catch((e) => e);
			if (!(c instanceof Error)) break;
			assert.ok(attempt < 20, `connection ${i} refused with HTTP ${c.status} ${c.body} although every earlier one was closed`);
			await new Promise((r) => setTimeout(r, 50));
		}
		await c.helloOk();
		c.ws.close(1000);
		await c.closed;
	}
	const h = await fetch(s.url + "/health");
	await h.text();
	assert.equal(h.status, 200, `HTTP after 45 closed WebSockets: ${h.status}`);
});
