// GET /dump (dump.h): an SQL text dump of the namespace's database, made on
// a worker from one read transaction and streamed in chunks. The test
// restores a dump into a fresh sqld (a Hrana `sequence`) and compares the
// schema and every value with its type.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { useSqld, mkTempDir, rmDir } from "./lib/raw.mjs";
import { useAdmin, createNs, nsHdr, sql, pipe } from "./lib/ns.mjs";

const SETUP = [
	"CREATE TABLE kinds(id INTEGER PRIMARY KEY, i, r, t, b, n)",
	"INSERT INTO kinds VALUES (1, 9223372036854775807, 0.1, 'it''s \"quoted\"', x'00ff10', NULL)",
	"INSERT INTO kinds VALUES (2, -9223372036854775808, 1e308, 'line1\nline2\ttab', x'', NULL)",
	"INSERT INTO kinds VALUES (3, 0, -2.5e-300, 'ünïcødé 🍐', randomblob(40), NULL)",
	"INSERT INTO kinds VALUES (4, 42, 3.0, '', zeroblob(3), 1)",
	"INSERT INTO kinds VALUES (5, 1, 9e999, char(97,0,98), NULL, NULL)",
	"CREATE TABLE \"odd \"\"name\"\"\"(a TEXT, b REAL)",
	"INSERT INTO \"odd \"\"name\"\"\" VALUES ('x', 1.5)",
	"CREATE TABLE seq(id INTEGER PRIMARY KEY AUTOINCREMENT, v)",
	"INSERT INTO seq(v) VALUES ('a'), ('b'), ('c')",
	"DELETE FROM seq WHERE id = 3",
	"CREATE INDEX kinds_t ON kinds(t)",
	"CREATE VIEW v AS SELECT id, t FROM kinds",
	"CREATE TRIGGER trg AFTER INSERT ON seq BEGIN UPDATE kinds SET n = n + 1 WHERE id = 4; END",
	"CREATE TABLE wr(k TEXT PRIMARY KEY, v) WITHOUT ROWID",
	"INSERT INTO wr VALUES ('k1', 1), ('k2', 2)",
];

async function everything(srv, h) {
	const tables = [["sqlite_schema"], ["kinds"], ['"odd ""name"""'], ["seq"], ["sqlite_sequence"], ["wr"]];
	const out = {};
	for (const [t] of tables) {
		const order = t === "sqlite_schema" ? "ORDER BY name" : t === "wr" || t === "sqlite_sequence" ? "ORDER BY 1" : "ORDER BY rowid";
		const cols = t === "sqlite_schema" ? "type, name, tbl_name, sql" : "*";
		const [r] = await sql(srv, h, `SELECT ${cols}, ${t === "sqlite_schema" ? "typeof(sql)" : "1"} FROM ${t} ${order}`);
		assert.equal(r.type, "ok", JSON.stringify(r));
		out[t] = r.response.result.rows;
	}
	const [types] = await sql(srv, h, "SELECT typeof(i), typeof(r), typeof(t), typeof(b), typeof(n) FROM kinds ORDER BY id");
	out.types = types.response.result.rows;
	return out;
}

async function getDump(srv, h = {}) {
	const r = await fetch(srv.url + "/dump", { headers: h });
	assert.equal(r.status, 200);
	assert.match(r.headers.get("content-type"), /^text\/plain/);
	return { text: await r.text(), headers: r.headers };
}

test("a dump restored into a fresh server gives the same schema and values (types included)", async (t) => {
	const src = await useSqld(t);
	const res = await sql(src, {}, ...SETUP);
	for (const r of res) assert.equal(r.type, "ok", JSON.stringify(r));
	const { text, headers } = await getDump(src);
	assert.equal(headers.get("transfer-encoding"), "chunked");
	assert.ok(text.startsWith("PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"), text.slice(0, 100));
	assert.ok(text.endsWith("COMMIT;\n"));
	assert.match(text, /^DELETE FROM sqlite_sequence;$/m);
	assert.match(text, /^INSERT INTO "kinds" VALUES\(5,1,1e999,CAST\(X'610062' AS TEXT\),NULL,NULL\);$/m);
	const dst = await useSqld(t);
	const [seq] = (await pipe(dst, [{ type: "sequence", sql: text }, { type: "close" }])).json.results;
	assert.equal(seq.type, "ok", JSON.stringify(seq));
	assert.deepEqual(await everything(dst, {}), await everything(src, {}));
	// the trigger came along and works
	await sql(dst, {}, "INSERT INTO seq(v) VALUES ('d')");
	const [n] = await sql(dst, {}, "SELECT n, (SELECT max(id) FROM seq) FROM kinds WHERE id = 4");
	assert.deepEqual(n.response.result.rows, [[{ type: "integer", value: "2" }, { type: "integer", value: "4" }]], "AUTOINCREMENT continues after 3");
	// the sqlite3 shell reads it too, to the same quoted values
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	const file = path.join(dir, "restored.db");
	execFileSync("sqlite3", [file], { input: text, stdio: ["pipe", "pipe", "pipe"] });
	const q = "SELECT quote(i), quote(r), quote(t), quote(b), quote(n) FROM kinds ORDER BY id";
	const shell = execFileSync("sqlite3", ["-separator", "|", file, q], { encoding: "utf8" }).replace(/\n$/, "");
	const [orig] = await sql(src, {}, q);
	assert.equal(shell, orig.response.result.rows.map((r) => r.map((v) => v.value).join("|")).join("\n"));
	assert.ok(fs.statSync(file).size > 0);
});

test("a large dump comes in many chunks and restores whole; an empty database dumps to an empty transaction", async (t) => {
	const src = await useSqld(t);
	const empty = await getDump(src);
	assert.equal(empty.text, "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\nCOMMIT;\n");
	await sql(src, {}, "CREATE TABLE big(id INTEGER PRIMARY KEY, s TEXT)",
		`WITH RECURSIVE n(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM n WHERE value < 5000) INSERT INTO big SELECT value, printf('%.*c', 200, 'x') || value FROM n`);
	const { text } = await getDump(src);
	assert.ok(text.length > 1_000_000, `dump of ${text.length} bytes`);
	const dst = await useSqld(t);
	const [seq] = (await pipe(dst, [{ type: "sequence", sql: text }, { type: "close" }])).json.results;
	assert.equal(seq.type, "ok", JSON.stringify(seq).slice(0, 300));
	const [a] = await sql(src, {}, "SELECT count(*), sum(length(s)), sum(id) FROM big");
	const [b] = await sql(dst, {}, "SELECT count(*), sum(length(s)), sum(id) FROM big");
	assert.deepEqual(b.response.result.rows, a.response.result.rows);
});

test("/dump serves the namespace of the request", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "d1");
	await sql(srv, nsHdr("d1"), "CREATE TABLE only_in_d1(x)", "INSERT INTO only_in_d1 VALUES (1)");
	const d1 = await getDump(srv, nsHdr("d1"));
	assert.match(d1.text, /CREATE TABLE only_in_d1/);
	const def = await getDump(srv, nsHdr("default"));
	assert.doesNotMatch(def.text, /only_in_d1/);
});

test("a client that goes away mid-dump does not disturb the server", async (t) => {
	const srv = await useSqld(t);
	await sql(srv, {}, "CREATE TABLE big(s)", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO big SELECT randomblob(1000) FROM n");
	const ctl = new AbortController();
	const r = await fetch(srv.url + "/dump", { signal: ctl.signal });
	const reader = r.body.getReader();
	await reader.read();
	ctl.abort();
	await reader.read().catch(() => {});
	// still serving, and writes are not blocked by the abandoned read transaction
	const [w] = await sql(srv, {}, "INSERT INTO big VALUES (1)");
	assert.equal(w.type, "ok");
	const again = await getDump(srv);
	assert.ok(again.text.endsWith("COMMIT;\n"));
});
