// POST /v3/cursor (NDJSON), the stateless /v1/execute and /v1/batch, and the
// legacy `POST /` query API (PROTOCOL.md §3.6, §4.1, §4.4, §4.5, §6.1).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSqld, pipeline, oneShot, okExec, assertStmtResultShape, post, I, T, exec, stmt, close } from "./lib/raw.mjs";

const SELF_URL = "http://sqld-self.invalid:4321";
let srv;
before(async () => {
	srv = await startSqld({ selfUrl: SELF_URL });
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "c") => `${p}_${process.pid}_${++tableNo}`;

async function cursor(body) {
	const resp = await fetch(srv.url + "/v3/cursor", {
		method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" },
	});
	const text = await resp.text();
	assert.equal(resp.status, 200, `cursor: HTTP ${resp.status} ${text}`);
	assert.ok(text.endsWith("\n"), "every NDJSON line ends with \\n");
	const lines = text.slice(0, -1).split("\n").map((l) => JSON.parse(l));
	return { head: lines[0], entries: lines.slice(1) };
}

test("POST /v3/cursor streams {baton, base_url} then step_begin/row/step_end/step_error entries", async () => {
	const t = table();
	const { head, entries } = await cursor({
		baton: null,
		batch: { steps: [
			/* 0 */ { stmt: stmt(`CREATE TABLE ${t} (a INTEGER, b TEXT)`) },
			/* 1 */ { stmt: stmt(`INSERT INTO ${t} VALUES (1, 'x'), (2, 'y')`) },
			/* 2 */ { stmt: stmt(`SELECT a, b FROM ${t} ORDER BY a`) },
			/* 3 */ { stmt: stmt("SELECT * FROM no_such_table_in_cursor") },
			/* 4 */ { condition: { type: "ok", step: 3 }, stmt: stmt("SELECT 4") },
			/* 5 */ { condition: { type: "error", step: 3 }, stmt: stmt("SELECT 5 AS five") },
		] },
	});
	assert.deepEqual(Object.keys(head).sort(), ["base_url", "baton"]);
	assert.equal(typeof head.baton, "string");
	assert.equal(head.base_url, SELF_URL);
	for (const e of entries) {
		assert.ok(["step_begin", "step_end", "step_error", "row", "error"].includes(e.type),
			`unexpected cursor entry ${JSON.stringify(e)} (no replication_index entry may be emitted)`);
	}
	const pick = (e) => {
		if (e.type === "step_end") return { type: e.type, affected_row_count: e.affected_row_count, last_insert_rowid: e.last_insert_rowid };
		if (e.type === "step_error") return { type: e.type, step: e.step, code: typeof e.error?.code, message: typeof e.error?.message };
		return e;
	};
	// step 3 fails at prepare time: a step_begin before its step_error is allowed but not required
	const got = entries.filter((e) => !(e.type === "step_begin" && e.step === 3)).map(pick);
	assert.deepEqual(got, [
		{ type: "step_begin", step: 0, cols: [] },
		{ type: "step_end", affected_row_count: 0, last_insert_rowid: null },
		{ type: "step_begin", step: 1, cols: [] },
		{ type: "step_end", affected_row_count: 2, last_insert_rowid: "2" },
		{ type: "step_begin", step: 2, cols: [{ name: "a", decltype: "INTEGER" }, { name: "b", decltype: "TEXT" }] },
		{ type: "row", row: [I(1), T("x")] },
		{ type: "row", row: [I(2), T("y")] },
		{ type: "step_end", affected_row_count: 0, last_insert_rowid: null },
		{ type: "step_error", step: 3, code: "string", message: "string" },
		{ type: "step_begin", step: 5, cols: [{ name: "five", decltype: null }] },
		{ type: "row", row: [I(5)] },
		{ type: "step_end", affected_row_count: 0, last_insert_rowid: null },
	]);
	// the stream goes on with the baton from the head line
	const r = await pipeline(srv, 3, { baton: head.baton, requests: [exec(`SELECT count(*) FROM ${t}`), close] });
	assert.deepEqual(okExec(r.json.results[0]).rows, [[I(2)]]);
	assert.equal(r.json.baton, null);
});

test("POST /v3/cursor continues a pipeline stream (sees its uncommitted writes) and hands the stream back", async () => {
	const t = table();
	const p1 = await pipeline(srv, 3, { requests: [exec(`CREATE TABLE ${t} (x)`), exec("BEGIN"), exec(`INSERT INTO ${t} VALUES (7)`)] });
	const { head, entries } = await cursor({ baton: p1.json.baton, batch: { steps: [{ stmt: stmt(`SELECT x FROM ${t}`) }] } });
	assert.equal(typeof head.baton, "string");
	assert.notEqual(head.baton, p1.json.baton);
	assert.deepEqual(entries.filter((e) => e.type === "row"), [{ type: "row", row: [I(7)] }]);
	const p2 = await pipeline(srv, 3, { baton: head.baton, requests: [{ type: "get_autocommit" }, exec("ROLLBACK"), close] });
	assert.deepEqual(p2.json.results[0].response, { type: "get_autocommit", is_autocommit: false });
	const [cnt] = await oneShot(srv, 3, [exec(`SELECT count(*) FROM ${t}`)]);
	assert.deepEqual(okExec(cnt).rows, [[I(0)]]);
	// the baton consumed by the cursor request cannot be used again
	const again = await pipeline(srv, 3, { baton: p1.json.baton, requests: [exec("SELECT 1")] }, { allowError: true });
	assert.equal(again.status, 400);
});

test("POST /v3/cursor streams a large result whole (20000 rows, ~2.5 MB)", async () => {
	const { head, entries } = await cursor({ baton: null, batch: { steps: [
		{ stmt: stmt("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) SELECT x, printf('%0100d', x) AS pad FROM c") },
	] } });
	const rows = entries.filter((e) => e.type === "row");
	assert.equal(rows.length, 20000);
	for (const i of [0, 1, 9999, 19999]) {
		assert.deepEqual(rows[i].row, [I(i + 1), T(String(i + 1).padStart(100, "0"))], `row ${i}`);
	}
	assert.equal(entries[0].type, "step_begin");
	assert.equal(entries.at(-1).type, "step_end");
	await pipeline(srv, 3, { baton: head.baton, requests: [close] });
});

test("POST /v3/cursor with a bad baton is HTTP 400", async () => {
	const resp = await fetch(srv.url + "/v3/cursor", {
		method: "POST", body: JSON.stringify({ baton: "nonsense", batch: { steps: [{ stmt: stmt("SELECT 1") }] } }),
	});
	assert.equal(resp.status, 400);
	await resp.text();
});

test("POST /v1/execute returns {result: StmtResult}; SQLite errors are HTTP 500 with a Hrana error body", async () => {
	const r = await post(srv, "/v1/execute", { stmt: { sql: "SELECT ? AS x, 'a' AS y", args: [I(41)] } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(Object.keys(r.json), ["result"]);
	assertStmtResultShape(r.json.result);
	assert.deepEqual(r.json.result.rows, [[I(41), T("a")]]);
	assert.deepEqual(r.json.result.cols.map((c) => c.name), ["x", "y"]);

	const t = table("v1");
	const c = await post(srv, "/v1/execute", { stmt: { sql: `CREATE TABLE ${t} (x PRIMARY KEY)` } });
	assert.equal(c.status, 200, c.text);
	const i1 = await post(srv, "/v1/execute", { stmt: { sql: `INSERT INTO ${t} VALUES (1)` } });
	assert.equal(i1.json.result.affected_row_count, 1);
	assert.equal(i1.json.result.last_insert_rowid, "1");
	const dup = await post(srv, "/v1/execute", { stmt: { sql: `INSERT INTO ${t} VALUES (1)` } });
	assert.equal(dup.status, 500, `constraint error on /v1/execute: HTTP ${dup.status} ${dup.text}`);
	assert.equal(dup.json?.code, "SQLITE_CONSTRAINT");
	assert.equal(typeof dup.json?.message, "string");
});

test("POST /v1/batch returns {result: BatchResult} with one entry per step", async () => {
	const r = await post(srv, "/v1/batch", { batch: { steps: [
		{ stmt: stmt("SELECT 1") },
		{ stmt: stmt("SELECT * FROM no_such_table_v1") },
		{ condition: { type: "ok", step: 1 }, stmt: stmt("SELECT 2") },
		{ condition: { type: "error", step: 1 }, stmt: stmt("SELECT 3") },
	] } });
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(Object.keys(r.json), ["result"]);
	const br = r.json.result;
	assert.equal(br.step_results.length, 4);
	assert.equal(br.step_errors.length, 4);
	assert.deepEqual(br.step_results[0].rows, [[I(1)]]);
	assert.equal(br.step_errors[0], null);
	assert.equal(br.step_results[1], null);
	assert.equal(typeof br.step_errors[1].message, "string");
	assert.equal(br.step_results[2], null);
	assert.equal(br.step_errors[2], null);
	assert.deepEqual(br.step_results[3].rows, [[I(3)]]);
});

test("legacy POST / runs statements with plain JSON values and positional/named params", async () => {
	const t = table("leg");
	const r = await post(srv, "/", { statements: [
		`CREATE TABLE ${t} (i INTEGER, r REAL, s TEXT, b BLOB, n)`,
		{ q: `INSERT INTO ${t} VALUES (?, ?, ?, ?, ?)`, params: [1, 2.5, "héllo 🌍", { base64: "AAEC" }, null] },
		{ q: `INSERT INTO ${t} VALUES (:i, :r, :s, :b, :n)`, params: { ":i": 2, r: 0.5, ":s": "x", b: { base64: "/w" }, n: null } },
		{ q: `INSERT INTO ${t} (i) VALUES (?)`, params: [true] },
		`SELECT i, r, s, b, n FROM ${t} ORDER BY rowid`,
	] });
	assert.equal(r.status, 200, r.text);
	assert.ok(Array.isArray(r.json), r.text);
	assert.equal(r.json.length, 5);
	for (let k = 0; k < 4; k++) {
		assert.ok(r.json[k].results, `statement ${k}: ${JSON.stringify(r.json[k])}`);
		assert.deepEqual(r.json[k].results.rows, []);
	}
	const res = r.json[4].results;
	assert.deepEqual(res.columns, ["i", "r", "s", "b", "n"]);
	assert.equal(res.rows.length, 3);
	const blob = (v) => Buffer.from(v.base64, "base64").toString("hex");
	assert.deepEqual(res.rows.map((row) => [row[0], row[1], row[2], row[3] && blob(row[3]), row[4]]), [
		[1, 2.5, "héllo 🌍", "000102", null],
		[2, 0.5, "x", "ff", null],
		[1, null, null, null, null],
	]);
	assert.deepEqual(Object.keys(res.rows[0][3]), ["base64"]);
});

test("legacy POST /: an error in the middle gives {error}, later statements null, earlier ones stay committed", async () => {
	const t = table("leg");
	await post(srv, "/", { statements: [`CREATE TABLE ${t} (i INTEGER)`] });
	const r = await post(srv, "/", { statements: [
		`INSERT INTO ${t} VALUES (10)`,
		"INSERT INTO no_such_legacy_table VALUES (1)",
		`INSERT INTO ${t} VALUES (11)`,
	] });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.length, 3);
	assert.ok(r.json[0].results);
	assert.deepEqual(Object.keys(r.json[1]), ["error"]);
	assert.equal(typeof r.json[1].error, "string");
	assert.equal(r.json[2], null);
	const s = await post(srv, "/", { statements: [`SELECT i FROM ${t} ORDER BY i`] });
	assert.deepEqual(s.json[0].results.rows, [[10]]);

	// an explicit transaction inside the request is rolled back on failure
	const tx = await post(srv, "/", { statements: ["BEGIN", `INSERT INTO ${t} VALUES (20)`, "INSERT INTO nope_nope VALUES (1)", "COMMIT"] });
	assert.equal(tx.status, 200, tx.text);
	assert.ok(tx.json[2].error);
	assert.equal(tx.json[3], null);
	const s2 = await post(srv, "/", { statements: [`SELECT count(*) FROM ${t} WHERE i = 20`] });
	assert.deepEqual(s2.json[0].results.rows, [[0]]);
	// and leaving a transaction open is refused
	const open = await post(srv, "/", { statements: ["BEGIN", `INSERT INTO ${t} VALUES (30)`] });
	assert.equal(open.status, 400, `open transaction in legacy API: ${open.status} ${open.text}`);
	const s3 = await post(srv, "/", { statements: [`SELECT count(*) FROM ${t} WHERE i = 30`] });
	assert.deepEqual(s3.json[0].results.rows, [[0]]);
});

test("legacy POST /: malformed JSON is 400 and the server keeps serving", async () => {
	const r = await post(srv, "/", '{"statements": [');
	assert.equal(r.status, 400);
	const ok = await post(srv, "/", { statements: ["SELECT 1 + 1"] });
	assert.deepEqual(ok.json[0].results.rows, [[2]]);
});
