// No leaks, whatever the leak checker: a release build runs sqld under
// valgrind (memcheck, definite and indirect leaks and invalid accesses are
// errors, exit 99); an ASan build has LeakSanitizer inside sqld already. The
// workload touches every kind of object sqld allocates: WebSocket sessions
// with streams, stored SQL and cursors, HTTP streams left open (so shutdown
// must roll them back and free them), cursors, stateless calls, errors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startSqld, BUILD } from "../interop/lib/sqld.mjs";
import { RawWs, post } from "./lib/raw.mjs";

const asan = /asan/.test(BUILD);
const prefix = asan ? undefined : ["valgrind", "-q", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"];

test(`sqld exits cleanly with no leaks (${asan ? "LeakSanitizer" : "valgrind"})`, async () => {
	const srv = await startSqld({ prefix, startTimeoutMs: 60000 });
	try {
		const ws = await RawWs.open(srv, ["hrana3"]);
		await ws.helloOk();
		await ws.ok({ type: "open_stream", stream_id: 1 });
		await ws.ok({ type: "store_sql", sql_id: 1, sql: "SELECT ?" });
		await ws.ok({ type: "execute", stream_id: 1, stmt: { sql: "CREATE TABLE t (x)" } });
		await ws.ok({ type: "execute", stream_id: 1, stmt: { sql: "BEGIN" } });
		await ws.ok({ type: "execute", stream_id: 1, stmt: { sql: "INSERT INTO t VALUES (1), (2), (3)" } });
		await ws.ok({ type: "open_cursor", stream_id: 1, cursor_id: 1, batch: { steps: [{ stmt: { sql: "SELECT * FROM t" } }] } });
		const f = await ws.ok({ type: "fetch_cursor", cursor_id: 1, max_count: 2 });
		assert.equal(f.entries.length, 2);
		await ws.ok({ type: "open_stream", stream_id: 2 });
		const e = await ws.req({ type: "execute", stream_id: 2, stmt: { sql: "SELECT nope" } });
		assert.equal(e.type, "response_error");
		// leave the socket open with a transaction and a cursor: shutdown must clean up
		const http = await post(srv, "/v3/pipeline", { requests: [
			{ type: "store_sql", sql_id: 1, sql: "SELECT 1" },
			{ type: "execute", stmt: { sql: "CREATE TABLE u (y)" } },
			{ type: "execute", stmt: { sql: "BEGIN" } },
			{ type: "execute", stmt: { sql_id: 1 } },
		] });
		assert.equal(http.status, 200);
		assert.equal(typeof http.json.baton, "string");
		const cur = await fetch(`${srv.url}/v3/cursor`, { method: "POST", body: JSON.stringify({ batch: { steps: [{ stmt: { sql: "SELECT 1" } }] } }) });
		assert.equal(cur.status, 200);
		await cur.text();
		const legacy = await post(srv, "/", { statements: ["SELECT 1", { q: "SELECT ?", params: [2] }] });
		assert.equal(legacy.status, 200);
		const v1 = await post(srv, "/v1/execute", { stmt: { sql: "SELECT zz" } });
		assert.equal(v1.status, 400);
		assert.equal(v1.json.code, "SQL_INPUT_ERROR");
	} finally {
		await srv.stop(); // rejects on a non-zero exit (valgrind: 99) or a sanitizer report
	}
});
