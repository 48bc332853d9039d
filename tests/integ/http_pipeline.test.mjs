// Hrana over HTTP, raw: exact JSON shapes of /v2/pipeline and /v3/pipeline,
// batons, batch conditions, stored SQL (PROTOCOL.md §3, §4.1-4.3, §4.5-4.6).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
	startSqld, pipeline, oneShot, okExec, assertStmtResultShape, post,
	I, F, T, B, N, exec, stmt, close,
} from "./lib/raw.mjs";

const SELF_URL = "http://sqld-self.invalid:4321";
let srv;
before(async () => {
	srv = await startSqld({ selfUrl: SELF_URL });
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "t") => `${p}_${process.pid}_${++tableNo}`;

for (const v of [2, 3]) {
	test(`/v${v}/pipeline: one-shot execute has the exact response shape`, async () => {
		const r = await pipeline(srv, v, { requests: [exec("SELECT 1 AS one, 'x' AS two"), close] });
		assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
		assert.deepEqual(Object.keys(r.json).sort(), ["base_url", "baton", "results"]);
		assert.equal(r.json.baton, null, "baton must be null after close");
		assert.equal(r.json.base_url, SELF_URL, "base_url must echo --http-self-url");
		assert.equal(r.json.results.length, 2);
		assert.deepEqual(Object.keys(r.json.results[0]).sort(), ["response", "type"]);
		const res = okExec(r.json.results[0]);
		assertStmtResultShape(res);
		assert.deepEqual(res.cols, [{ name: "one", decltype: null }, { name: "two", decltype: null }]);
		assert.deepEqual(res.rows, [[I(1), T("x")]]);
		assert.equal(res.affected_row_count, 0);
		assert.equal(res.last_insert_rowid, null);
		assert.deepEqual(r.json.results[1], { type: "ok", response: { type: "close" } });
	});

	test(`/v${v}/pipeline: value encoding round-trips (integers as strings, floats, text, blobs without padding, null)`, async () => {
		const [res] = await oneShot(srv, v, [
			exec("SELECT ? AS a, ? AS b, ? AS c, ? AS d, ? AS e, ? AS f, ? AS g, ? AS h, ? AS i, ? AS j, ? AS k", [
				I("9223372036854775807"), I("-9223372036854775808"), F(3.5), F(0.1), F(1e300),
				T("héllo wörld 🌍"), T("nul\u0000inside"), B("AAECAwQ="), B("AAECAwQ"), N, F(0.30000000000000004),
			]),
		]);
		const r = okExec(res);
		assertStmtResultShape(r);
		assert.deepEqual(r.rows[0], [
			I("9223372036854775807"), I("-9223372036854775808"), F(3.5), F(0.1), F(1e300),
			T("héllo wörld 🌍"), T("nul\u0000inside"), B("AAECAwQ"), B("AAECAwQ"), N, F(0.30000000000000004),
		]);
		// typeof on the server side: the values were bound with the right SQLite types
		const [res2] = await oneShot(srv, v, [
			exec("SELECT typeof(?), typeof(?), typeof(?), typeof(?), typeof(?), length(?), hex(?)", [
				I(1), F(1.5), T("x"), B("AAE"), N, B("AAECAwQ="), B("/+8"),
			]),
		]);
		assert.deepEqual(okExec(res2).rows[0], [T("integer"), T("real"), T("text"), T("blob"), T("null"), I(5), T("FFEF")]);
	});

	test(`/v${v}/pipeline: SQL literals of every type are encoded exactly`, async () => {
		const [res] = await oneShot(srv, v, [
			exec("SELECT 42, -7, 2.5, 'abc', x'00ff10', NULL, 9223372036854775807, 1e308, x''"),
		]);
		assert.deepEqual(okExec(res).rows[0], [
			I(42), I(-7), F(2.5), T("abc"), B("AP8Q"), N, I("9223372036854775807"), F(1e308), B(""),
		]);
	});

	test(`/v${v}/pipeline: an integer given as a JSON number is a protocol error (HTTP 400)`, async () => {
		const r = await pipeline(srv, v, {
			requests: [{ type: "execute", stmt: { sql: "SELECT ?", args: [{ type: "integer", value: 42 }] } }, close],
		}, { allowError: true });
		assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
	});

	test(`/v${v}/pipeline: affected_row_count and last_insert_rowid follow the statement kind`, async () => {
		const t = table();
		const results = await oneShot(srv, v, [
			exec(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT, score REAL)`),
			exec(`INSERT INTO ${t} (name, score) VALUES ('a', 1.5), ('b', 2.5)`),
			exec(`SELECT id, name, score FROM ${t} ORDER BY id`),
			exec(`UPDATE ${t} SET score = score + 1`),
			exec(`DELETE FROM ${t} WHERE id = 1`),
			exec(`INSERT INTO ${t} (id, name) VALUES (?, ?)`, [I(1000), T("c")]),
			exec(`SELECT count(*) FROM ${t}`),
		]);
		const [create, ins, sel, upd, del, ins2, cnt] = results.map(okExec);
		assert.equal(create.affected_row_count, 0);
		assert.equal(create.last_insert_rowid, null);
		assert.deepEqual(create.cols, []);
		assert.equal(ins.affected_row_count, 2);
		assert.equal(ins.last_insert_rowid, "2");
		assert.deepEqual(ins.rows, []);
		// SQLite's changes() still says 2 here: sqld masks it to 0 for a SELECT
		assert.equal(sel.affected_row_count, 0);
		assert.equal(sel.last_insert_rowid, null, "last_insert_rowid only for INSERT");
		assert.deepEqual(sel.cols, [
			{ name: "id", decltype: "INTEGER" }, { name: "name", decltype: "TEXT" }, { name: "score", decltype: "REAL" },
		]);
		assert.deepEqual(sel.rows, [[I(1), T("a"), F(1.5)], [I(2), T("b"), F(2.5)]]);
		assert.equal(upd.affected_row_count, 2);
		assert.equal(upd.last_insert_rowid, null);
		assert.equal(del.affected_row_count, 1);
		assert.equal(del.last_insert_rowid, null);
		assert.equal(ins2.affected_row_count, 1);
		assert.equal(ins2.last_insert_rowid, "1000");
		assert.deepEqual(cnt.rows, [[I(2)]]);
		assert.equal(cnt.affected_row_count, 0);
	});

	test(`/v${v}/pipeline: want_rows:false returns columns but no rows`, async () => {
		const [res] = await oneShot(srv, v, [
			{ type: "execute", stmt: { sql: "SELECT 1 AS a UNION ALL SELECT 2", want_rows: false } },
		]);
		const r = okExec(res);
		assert.deepEqual(r.cols, [{ name: "a", decltype: null }]);
		assert.deepEqual(r.rows, []);
	});

	test(`/v${v}/pipeline: positional, ?NNN and named arguments with : @ $ prefixes bind like sqld`, async () => {
		const results = await oneShot(srv, v, [
			exec("SELECT ?, ?", [I(1), T("two")]),
			exec("SELECT ?2, ?1", [I(10), I(20)]),
			{ type: "execute", stmt: { sql: "SELECT :a, @b, $c", named_args: [
				{ name: ":a", value: I(1) }, { name: "@b", value: T("b") }, { name: "$c", value: F(0.5) },
			] } },
			// names without their prefix char are found too
			{ type: "execute", stmt: { sql: "SELECT :a, @b, $c", named_args: [
				{ name: "a", value: I(7) }, { name: "b", value: T("bb") }, { name: "c", value: N },
			] } },
			{ type: "execute", stmt: { sql: "SELECT :x + :x", named_args: [{ name: "x", value: I(21) }] } },
		]);
		const [p, nnn, named, bare, twice] = results.map(okExec);
		assert.deepEqual(p.rows, [[I(1), T("two")]]);
		assert.deepEqual(nnn.rows, [[I(20), I(10)]]);
		assert.deepEqual(named.rows, [[I(1), T("b"), F(0.5)]]);
		assert.deepEqual(bare.rows, [[I(7), T("bb"), N]]);
		assert.deepEqual(twice.rows, [[I(42)]]);
	});

	test(`/v${v}/pipeline: statement errors are results with sqld's codes and the pipeline goes on`, async () => {
		const t = table("u");
		const r = await pipeline(srv, v, {
			requests: [
				exec(`CREATE TABLE ${t} (x INTEGER PRIMARY KEY)`),
				exec(`INSERT INTO ${t} VALUES (1)`),
				exec(`INSERT INTO ${t} VALUES (1)`),
				exec("SELECT 1; SELECT 2"),
				exec(""),
				exec("SELECT ?", [I(1), I(2)]),
				exec("SELECT :a", undefined),
				{ type: "execute", stmt: { sql: "SELECT ?, :a", args: [I(1)], named_args: [{ name: "a", value: I(2) }] } },
				exec("SELEKT 1"),
				exec("SELECT 1;"),
				exec(`SELECT count(*) FROM ${t}`),
				close,
			],
		});
		const res = r.json.results;
		assert.equal(res.length, 12);
		okExec(res[0]);
		okExec(res[1]);
		const err = (i) => {
			assert.equal(res[i].type, "error", `request ${i} should fail: ${JSON.stringify(res[i])}`);
			assert.deepEqual(Object.keys(res[i]).sort(), ["error", "type"]);
			assert.equal(typeof res[i].error.message, "string");
			assert.ok(res[i].error.message.length > 0);
			assert.equal(typeof res[i].error.code, "string");
			return res[i].error;
		};
		const c = err(2);
		assert.equal(c.code, "SQLITE_CONSTRAINT");
		assert.match(c.message, new RegExp(`UNIQUE constraint failed: ${t}\\.x`));
		assert.equal(err(3).code, "SQL_MANY_STATEMENTS");
		assert.equal(err(4).code, "SQL_NO_STATEMENT");
		assert.equal(err(5).code, "ARGS_INVALID");
		assert.equal(err(6).code, "ARGS_INVALID");
		assert.equal(err(7).code, "ARGS_BOTH_POSITIONAL_AND_NAMED");
		err(8); // syntax error: any code, but an error result
		assert.deepEqual(okExec(res[9]).rows, [[I(1)]], "a trailing ';' is still one statement");
		assert.deepEqual(okExec(res[10]).rows, [[I(1)]]);
		assert.deepEqual(res[11], { type: "ok", response: { type: "close" } });
		assert.equal(r.json.baton, null);
	});

	test(`/v${v}/pipeline: batch has one step_results/step_errors entry per step and evaluates ok/error/not/and/or`, async () => {
		const ok = (step) => ({ type: "ok", step });
		const er = (step) => ({ type: "error", step });
		const not = (cond) => ({ type: "not", cond });
		const and = (...conds) => ({ type: "and", conds });
		const or = (...conds) => ({ type: "or", conds });
		const steps = [
			/* 0 */ { stmt: stmt("SELECT 0") },
			/* 1 */ { stmt: stmt("SELECT * FROM no_such_table_at_all") },
			/* 2 */ { condition: ok(0), stmt: stmt("SELECT 2") },
			/* 3 */ { condition: ok(1), stmt: stmt("SELECT 3") },
			/* 4 */ { condition: er(1), stmt: stmt("SELECT 4") },
			/* 5 */ { condition: er(0), stmt: stmt("SELECT 5") },
			/* 6 */ { condition: not(ok(1)), stmt: stmt("SELECT 6") },
			/* 7 */ { condition: and(ok(0), er(1)), stmt: stmt("SELECT 7") },
			/* 8 */ { condition: and(ok(0), ok(1)), stmt: stmt("SELECT 8") },
			/* 9 */ { condition: or(ok(1), ok(0)), stmt: stmt("SELECT 9") },
			/* 10 */ { condition: or(ok(1), er(0)), stmt: stmt("SELECT 10") },
			/* 11: a skipped step is neither ok nor error */
			/* 11 */ { condition: ok(3), stmt: stmt("SELECT 11") },
			/* 12 */ { condition: er(3), stmt: stmt("SELECT 12") },
			/* 13 */ { condition: not(er(3)), stmt: stmt("SELECT 13") },
			/* 14 */ { condition: and(), stmt: stmt("SELECT 14") },
			/* 15 */ { condition: or(), stmt: stmt("SELECT 15") },
			/* 16 */ { condition: null, stmt: stmt("SELECT 16") },
		];
		const r = await pipeline(srv, v, { requests: [{ type: "batch", batch: { steps } }, close] });
		const res = r.json.results[0];
		assert.equal(res.type, "ok", JSON.stringify(res));
		assert.equal(res.response.type, "batch");
		const br = res.response.result;
		for (const k of Object.keys(br))
			assert.ok(["step_results", "step_errors", "replication_index"].includes(k), `unexpected BatchResult key ${k}`);
		assert.equal(br.step_results.length, steps.length);
		assert.equal(br.step_errors.length, steps.length);
		const ran = [0, 2, 4, 6, 7, 9, 13, 14, 16];
		for (let i = 0; i < steps.length; i++) {
			if (i === 1) {
				assert.equal(br.step_results[1], null);
				assert.equal(typeof br.step_errors[1].message, "string");
				assert.equal(typeof br.step_errors[1].code, "string");
			} else if (ran.includes(i)) {
				assert.equal(br.step_errors[i], null, `step ${i} error`);
				assertStmtResultShape(br.step_results[i]);
				assert.deepEqual(br.step_results[i].rows, [[I(i)]], `step ${i} result`);
			} else {
				assert.equal(br.step_results[i], null, `step ${i} should be skipped`);
				assert.equal(br.step_errors[i], null, `step ${i} should be skipped`);
			}
		}
	});

	test(`/v${v}/pipeline: a batch condition referencing the current or a later step is a protocol error (HTTP 400)`, async () => {
		const r = await pipeline(srv, v, {
			requests: [{ type: "batch", batch: { steps: [
				{ stmt: stmt("SELECT 0") },
				{ condition: { type: "ok", step: 1 }, stmt: stmt("SELECT 1") },
			] } }, close],
		}, { allowError: true });
		assert.equal(r.status, 400, `got ${r.status}: ${r.text}`);
	});

	test(`/v${v}/pipeline: batons change on every request, the stream keeps its connection, old and garbage batons get 400`, async () => {
		const t = table();
		const r1 = await pipeline(srv, v, { baton: null, requests: [exec(`CREATE TABLE ${t} (x)`), exec("BEGIN"), exec(`INSERT INTO ${t} VALUES (1)`)] });
		const b1 = r1.json.baton;
		assert.equal(typeof b1, "string");
		assert.ok(b1.length > 0);
		assert.equal(r1.json.base_url, SELF_URL);
		for (const res of r1.json.results) okExec(res);

		// the open transaction lives on the stream's own connection
		const r2 = await pipeline(srv, v, { baton: b1, requests: [exec(`SELECT count(*) FROM ${t}`)] });
		const b2 = r2.json.baton;
		assert.equal(typeof b2, "string");
		assert.notEqual(b2, b1, "every response must carry a new baton");
		assert.deepEqual(okExec(r2.json.results[0]).rows, [[I(1)]]);
		// another stream does not see the uncommitted row
		const [other] = await oneShot(srv, v, [exec(`SELECT count(*) FROM ${t}`)]);
		assert.deepEqual(okExec(other).rows, [[I(0)]]);

		// reusing an old baton
		const reuse = await pipeline(srv, v, { baton: b1, requests: [exec("SELECT 1")] }, { allowError: true });
		assert.equal(reuse.status, 400, `reused baton: HTTP ${reuse.status} ${reuse.text}`);
		assert.match(reuse.headers.get("content-type") ?? "", /^text\/plain/);
		assert.match(reuse.text, /Received a baton that has already been used/);

		// garbage
		const tampered = b2.slice(0, 10) + (b2[10] === "A" ? "B" : "A") + b2.slice(11);
		for (const bad of ["garbage", "AAAA", tampered, ""]) {
			const g = await pipeline(srv, v, { baton: bad, requests: [exec("SELECT 1")] }, { allowError: true });
			assert.equal(g.status, 400, `baton ${JSON.stringify(bad)}: HTTP ${g.status} ${g.text}`);
			if (bad !== "") assert.match(g.text, /invalid baton/i);
		}
	});

	test(`/v${v}/pipeline: commit on the stream, close returns a null baton, the closed stream's baton is refused`, async () => {
		const t = table();
		const r1 = await pipeline(srv, v, { requests: [exec(`CREATE TABLE ${t} (x)`), exec("BEGIN"), exec(`INSERT INTO ${t} VALUES (1)`)] });
		const r2 = await pipeline(srv, v, { baton: r1.json.baton, requests: [exec("COMMIT"), close] });
		okExec(r2.json.results[0]);
		assert.equal(r2.json.baton, null);
		assert.equal(r2.json.base_url, SELF_URL);
		const [cnt] = await oneShot(srv, v, [exec(`SELECT count(*) FROM ${t}`)]);
		assert.deepEqual(okExec(cnt).rows, [[I(1)]]);
		const after = await pipeline(srv, v, { baton: r1.json.baton, requests: [exec("SELECT 1")] }, { allowError: true });
		assert.equal(after.status, 400);
	});

	test(`/v${v}/pipeline: close with an open transaction rolls it back and frees the write lock`, async () => {
		const t = table();
		await oneShot(srv, v, [exec(`CREATE TABLE ${t} (x)`)]);
		const r1 = await pipeline(srv, v, { requests: [exec("BEGIN IMMEDIATE"), exec(`INSERT INTO ${t} VALUES (1)`)] });
		okExec(r1.json.results[1]);
		const r2 = await pipeline(srv, v, { baton: r1.json.baton, requests: [exec(`INSERT INTO ${t} VALUES (2)`), close] });
		okExec(r2.json.results[0]);
		assert.equal(r2.json.baton, null);
		const t0 = Date.now();
		const [ins, cnt] = await oneShot(srv, v, [exec(`INSERT INTO ${t} VALUES (3)`), exec(`SELECT x FROM ${t}`)]);
		assert.equal(okExec(ins).affected_row_count, 1);
		assert.ok(Date.now() - t0 < 2000, "the write lock must be free right after close");
		assert.deepEqual(okExec(cnt).rows, [[I(3)]]);
	});

	test(`/v${v}/pipeline: two concurrent requests with the same baton: exactly one is served, the other gets 400`, async () => {
		const r1 = await pipeline(srv, v, { requests: [exec("SELECT 1")] });
		const slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c";
		const [a, b] = await Promise.all([
			pipeline(srv, v, { baton: r1.json.baton, requests: [exec(slow)] }, { allowError: true }),
			pipeline(srv, v, { baton: r1.json.baton, requests: [exec(slow)] }, { allowError: true }),
		]);
		const statuses = [a.status, b.status].sort();
		assert.deepEqual(statuses, [200, 400], `statuses ${a.status} ${b.status}: ${a.text.slice(0, 200)} / ${b.text.slice(0, 200)}`);
		const ok = a.status === 200 ? a : b;
		assert.deepEqual(okExec(ok.json.results[0]).rows, [[I(2000000)]]);
		await pipeline(srv, v, { baton: ok.json.baton, requests: [close] });
	});

	test(`/v${v}/pipeline: a stream left open with a transaction is independent of new streams`, async () => {
		// An empty pipeline is legal and keeps the stream open.
		const r = await pipeline(srv, v, { baton: null, requests: [] });
		assert.deepEqual(r.json.results, []);
		assert.equal(typeof r.json.baton, "string");
		const r2 = await pipeline(srv, v, { baton: r.json.baton, requests: [close] });
		assert.equal(r2.json.baton, null);
	});

	test(`/v${v}/pipeline: sequence and describe`, async () => {
		const t = table();
		const r = await pipeline(srv, v, {
			requests: [
				{ type: "sequence", sql: `CREATE TABLE ${t} (a INTEGER, b TEXT); INSERT INTO ${t} VALUES (1, 'x'); INSERT INTO ${t} VALUES (2, 'y');` },
				exec(`SELECT count(*) FROM ${t}`),
				{ type: "sequence", sql: `INSERT INTO ${t} VALUES (3, 'z'); INSERT INTO nope VALUES (1); INSERT INTO ${t} VALUES (4, 'w')` },
				exec(`SELECT count(*) FROM ${t}`),
				{ type: "describe", sql: `SELECT a, b, :p AS p FROM ${t} WHERE a > ? AND b = @q` },
				{ type: "describe", sql: `INSERT INTO ${t} VALUES (?1, $two)` },
				{ type: "describe", sql: "EXPLAIN SELECT 1" },
				close,
			],
		});
		const res = r.json.results;
		assert.deepEqual(res[0], { type: "ok", response: { type: "sequence" } });
		assert.deepEqual(okExec(res[1]).rows, [[I(2)]]);
		assert.equal(res[2].type, "error", "a failing statement fails the sequence");
		assert.equal(typeof res[2].error.code, "string");
		assert.deepEqual(okExec(res[3]).rows, [[I(3)]], "statements before the failure stay, after it do not run");
		assert.equal(res[4].type, "ok");
		assert.deepEqual(res[4].response, {
			type: "describe",
			result: {
				params: [{ name: ":p" }, { name: null }, { name: "@q" }],
				cols: [{ name: "a", decltype: "INTEGER" }, { name: "b", decltype: "TEXT" }, { name: "p", decltype: null }],
				is_explain: false,
				is_readonly: true,
			},
		});
		assert.deepEqual(res[5].response.result, {
			params: [{ name: "?1" }, { name: "$two" }], cols: [], is_explain: false, is_readonly: false,
		});
		assert.equal(res[6].response.result.is_explain, true);
		assert.equal(res[6].response.result.is_readonly, true);
	});

	test(`/v${v}/pipeline: store_sql, sql_id in execute/batch/sequence/describe, close_sql`, async () => {
		const t = table();
		const r = await pipeline(srv, v, {
			requests: [
				{ type: "store_sql", sql_id: 1, sql: `CREATE TABLE ${t} (x)` },
				{ type: "store_sql", sql_id: 2, sql: `INSERT INTO ${t} VALUES (?)` },
				{ type: "store_sql", sql_id: -7, sql: `SELECT sum(x) FROM ${t}` },
				{ type: "sequence", sql_id: 1 },
				{ type: "execute", stmt: { sql_id: 2, args: [I(40)] } },
				{ type: "batch", batch: { steps: [{ stmt: { sql_id: 2, args: [I(2)] } }, { stmt: { sql_id: -7 } }] } },
				{ type: "describe", sql_id: -7 },
				{ type: "close_sql", sql_id: 2 },
				{ type: "close_sql", sql_id: 12345 },
			],
		});
		const res = r.json.results;
		assert.deepEqual(res[0], { type: "ok", response: { type: "store_sql" } });
		assert.deepEqual(res[1], { type: "ok", response: { type: "store_sql" } });
		assert.deepEqual(res[2], { type: "ok", response: { type: "store_sql" } });
		assert.deepEqual(res[3], { type: "ok", response: { type: "sequence" } });
		assert.equal(okExec(res[4]).affected_row_count, 1);
		assert.deepEqual(res[5].response.result.step_results[1].rows, [[I(42)]]);
		assert.equal(res[6].response.result.is_readonly, true);
		assert.deepEqual(res[7], { type: "ok", response: { type: "close_sql" } });
		assert.deepEqual(res[8], { type: "ok", response: { type: "close_sql" } }, "closing an unknown sql_id is not an error");

		// stored SQL is scoped to the stream: still there on the next request of the same stream
		const r2 = await pipeline(srv, v, { baton: r.json.baton, requests: [{ type: "execute", stmt: { sql_id: -7 } }] });
		assert.deepEqual(okExec(r2.json.results[0]).rows, [[I(42)]]);
		// ... and a closed id is gone
		const r3 = await pipeline(srv, v, { baton: r2.json.baton, requests: [{ type: "execute", stmt: { sql_id: 2, args: [I(1)] } }] }, { allowError: true });
		assert.ok(r3.status === 400 || r3.json?.results?.[0]?.type === "error",
			`using a closed sql_id must fail, got HTTP ${r3.status} ${r3.text}`);
		// ... and another stream does not know the ids
		const r4 = await pipeline(srv, v, { requests: [{ type: "execute", stmt: { sql_id: -7 } }, close] }, { allowError: true });
		assert.ok(r4.status === 400 || r4.json?.results?.[0]?.type === "error",
			`sql ids are per stream, got HTTP ${r4.status} ${r4.text}`);
		if (r3.status === 200) await pipeline(srv, v, { baton: r3.json.baton, requests: [close] });
	});

	test(`/v${v}/pipeline: both sql and sql_id, or neither, is a protocol error`, async () => {
		const both = await pipeline(srv, v, { requests: [
			{ type: "store_sql", sql_id: 1, sql: "SELECT 1" },
			{ type: "execute", stmt: { sql: "SELECT 1", sql_id: 1 } }, close,
		] }, { allowError: true });
		assert.equal(both.status, 400, `both: ${both.status} ${both.text}`);
		const none = await pipeline(srv, v, { requests: [{ type: "execute", stmt: { args: [] } }, close] }, { allowError: true });
		assert.equal(none.status, 400, `none: ${none.status} ${none.text}`);
	});

	test(`/v${v}/pipeline: SQL_STORE_TOO_MANY at the 51st stored SQL and SQL_STORE_TOO_LARGE over 5 KB`, async () => {
		const requests = [];
		for (let i = 0; i < 51; i++) requests.push({ type: "store_sql", sql_id: i, sql: `SELECT ${i}` });
		requests.push({ type: "execute", stmt: { sql_id: 49 } });
		requests.push({ type: "close_sql", sql_id: 0 });
		requests.push({ type: "store_sql", sql_id: 100, sql: "SELECT 100" });
		requests.push(close);
		const r = await pipeline(srv, v, { requests });
		const res = r.json.results;
		for (let i = 0; i < 50; i++) assert.deepEqual(res[i], { type: "ok", response: { type: "store_sql" } }, `store ${i}`);
		assert.equal(res[50].type, "error", `51st store_sql must fail: ${JSON.stringify(res[50])}`);
		assert.equal(res[50].error.code, "SQL_STORE_TOO_MANY");
		assert.deepEqual(okExec(res[51]).rows, [[I(49)]]);
		assert.equal(res[52].type, "ok");
		assert.deepEqual(res[53], { type: "ok", response: { type: "store_sql" } }, "after close_sql there is room again");
		// over 5 KB is too large; 4 KB is fine
		const sizes = await pipeline(srv, v, { requests: [
			{ type: "store_sql", sql_id: 200, sql: "SELECT 1 -- " + "x".repeat(6000) },
			{ type: "store_sql", sql_id: 1, sql: "SELECT 7 -- " + "y".repeat(4000) },
			{ type: "execute", stmt: { sql_id: 1 } },
			{ type: "execute", stmt: { sql_id: 200 } },
		] });
		const big = sizes.json.results[0];
		assert.equal(big.type, "error", `store of 6 KB must fail: ${JSON.stringify(big).slice(0, 300)}`);
		assert.equal(big.error.code, "SQL_STORE_TOO_LARGE");
		assert.deepEqual(sizes.json.results[1], { type: "ok", response: { type: "store_sql" } });
		assert.deepEqual(okExec(sizes.json.results[2]).rows, [[I(7)]]);
		if (sizes.json.results[3]) assert.equal(sizes.json.results[3].type, "error", "the refused text was not stored");
		await pipeline(srv, v, { baton: sizes.json.baton, requests: [close] }, { allowError: true });
	});
}

test("/v3/pipeline: get_autocommit follows BEGIN/COMMIT on the stream", async () => {
	const r = await pipeline(srv, 3, { requests: [
		{ type: "get_autocommit" }, exec("BEGIN"), { type: "get_autocommit" }, exec("COMMIT"), { type: "get_autocommit" }, close,
	] });
	const res = r.json.results;
	assert.deepEqual(res[0], { type: "ok", response: { type: "get_autocommit", is_autocommit: true } });
	assert.deepEqual(res[2], { type: "ok", response: { type: "get_autocommit", is_autocommit: false } });
	assert.deepEqual(res[4], { type: "ok", response: { type: "get_autocommit", is_autocommit: true } });
});

test("/v3/pipeline: is_autocommit batch condition (the @libsql/client v3 transaction pattern)", async () => {
	const t = table();
	const isAc = { type: "is_autocommit" };
	const r = await pipeline(srv, 3, { requests: [
		exec(`CREATE TABLE ${t} (x)`),
		{ type: "batch", batch: { steps: [
			/* 0 */ { condition: isAc, stmt: stmt("SELECT 0") },
			/* 1 */ { stmt: stmt("BEGIN IMMEDIATE") },
			/* 2 */ { condition: { type: "and", conds: [{ type: "ok", step: 1 }, { type: "not", cond: isAc }] }, stmt: stmt(`INSERT INTO ${t} VALUES (1)`) },
			/* 3 */ { condition: isAc, stmt: stmt("SELECT 3") },
			/* 4 */ { condition: { type: "and", conds: [{ type: "ok", step: 2 }, { type: "not", cond: isAc }] }, stmt: stmt("COMMIT") },
			/* 5 */ { condition: { type: "not", cond: { type: "ok", step: 4 } }, stmt: stmt("ROLLBACK") },
			/* 6 */ { condition: isAc, stmt: stmt(`SELECT count(*) FROM ${t}`) },
		] } },
		close,
	] });
	const br = r.json.results[1].response.result;
	const ran = (i) => br.step_results[i] !== null && br.step_errors[i] === null;
	const skipped = (i) => br.step_results[i] === null && br.step_errors[i] === null;
	assert.ok(ran(0), "is_autocommit true before BEGIN");
	assert.ok(ran(1) && ran(2));
	assert.ok(skipped(3), "is_autocommit false inside the transaction");
	assert.ok(ran(4), "COMMIT ran");
	assert.ok(skipped(5), "ROLLBACK skipped");
	assert.deepEqual(br.step_results[6].rows, [[I(1)]]);
});

test("/v2/pipeline rejects Hrana 3 features: get_autocommit and is_autocommit give HTTP 400", async () => {
	const a = await pipeline(srv, 2, { requests: [{ type: "get_autocommit" }, close] }, { allowError: true });
	assert.equal(a.status, 400, `get_autocommit on v2: ${a.status} ${a.text}`);
	assert.match(a.headers.get("content-type") ?? "", /^text\/plain/);
	const b = await pipeline(srv, 2, { requests: [{ type: "batch", batch: { steps: [
		{ condition: { type: "is_autocommit" }, stmt: stmt("SELECT 1") },
	] } }, close] }, { allowError: true });
	assert.equal(b.status, 400, `is_autocommit on v2: ${b.status} ${b.text}`);
});

test("pipeline: unknown request type and wrong body shapes are HTTP 400; the server keeps serving", async () => {
	const u = await pipeline(srv, 3, { requests: [{ type: "frobnicate" }] }, { allowError: true });
	assert.equal(u.status, 400);
	const noReq = await post(srv, "/v2/pipeline", { baton: null });
	assert.equal(noReq.status, 400);
	const notObj = await post(srv, "/v2/pipeline", "[1,2,3]");
	assert.equal(notObj.status, 400);
	const [res] = await oneShot(srv, 2, [exec("SELECT 5")]);
	assert.deepEqual(okExec(res).rows, [[I(5)]]);
});

test("pipeline: a request's headers like x-libsql-client-version, x-turso-encryption-key and odd content-types are tolerated", async () => {
	const body = JSON.stringify({ requests: [exec("SELECT 6"), close] });
	for (const ct of ["application/json", "text/plain", "application/octet-stream", undefined]) {
		const headers = { "x-libsql-client-version": "libsql-remote-0.9.30", "x-turso-encryption-key": "abc" };
		if (ct) headers["content-type"] = ct;
		const resp = await fetch(srv.url + "/v3/pipeline", { method: "POST", body, headers });
		assert.equal(resp.status, 200, `content-type ${ct}`);
		const j = await resp.json();
		assert.deepEqual(okExec(j.results[0]).rows, [[I(6)]]);
	}
});
