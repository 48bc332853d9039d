// @libsql/client against the real sqld, over http:// (Hrana 2 over HTTP) and
// ws:// (Hrana over WebSocket, subprotocols "hrana2, hrana1"): values, args,
// ResultSet, batch modes, interactive transactions, executeMultiple, errors,
// many concurrent clients.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, LibsqlError } from "@libsql/client";
import { startSqld } from "./lib/sqld.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "t") => `${p}_${process.pid}_${++tableNo}`;

for (const scheme of ["http", "ws"]) {
	describe(`@libsql/client over ${scheme}://`, () => {
		const clients = [];
		const open = (opts = {}) => {
			const c = createClient({ url: scheme === "http" ? srv.url : srv.wsUrl, ...opts });
			clients.push(c);
			return c;
		};
		after(() => {
			for (const c of clients) c.close();
		});

		test("protocol reported by the client", () => {
			assert.equal(open().protocol, scheme);
		});

		test("every value type round-trips, integers as bigint at the i64 extremes", async () => {
			const c = open({ intMode: "bigint" });
			const t = table();
			await c.execute(`CREATE TABLE ${t} (i INTEGER, f REAL, s TEXT, b BLOB, n)`);
			const text = "héllo wörld 🌍 ∑ \u0000 after NUL";
			const blob = new Uint8Array([0, 1, 2, 127, 128, 254, 255]);
			const rows = [
				[9223372036854775807n, 3.25, text, blob, null],
				[-9223372036854775808n, 0.30000000000000004, "", new Uint8Array([]), null],
				[0n, -1.5e300, "x", blob.buffer, null],
			];
			for (const r of rows) await c.execute({ sql: `INSERT INTO ${t} VALUES (?, ?, ?, ?, ?)`, args: r });
			const rs = await c.execute(`SELECT i, f, s, b, n, typeof(i), typeof(f), typeof(s), typeof(b), typeof(n) FROM ${t} ORDER BY rowid`);
			assert.equal(rs.rows.length, 3);
			const r0 = rs.rows[0];
			assert.equal(r0.i, 9223372036854775807n);
			assert.equal(r0.f, 3.25);
			assert.equal(r0.s, text);
			assert.ok(r0.b instanceof ArrayBuffer, "blobs come back as ArrayBuffer");
			assert.deepEqual(new Uint8Array(r0.b), blob);
			assert.equal(r0.n, null);
			assert.deepEqual(Array.prototype.slice.call(r0, 5), ["integer", "real", "text", "blob", "null"]);
			const r1 = rs.rows[1];
			assert.equal(r1.i, -9223372036854775808n);
			assert.equal(r1.f, 0.30000000000000004);
			assert.equal(r1.s, "");
			assert.equal(new Uint8Array(r1.b).length, 0);
			assert.equal(r1[8], "blob");
			const r2 = rs.rows[2];
			assert.equal(r2.i, 0n);
			assert.equal(r2.f, -1.5e300);
			assert.deepEqual(new Uint8Array(r2.b), blob);
		});

		test("intMode number rejects integers beyond 2^53, intMode string keeps them exact", async () => {
			const big = "9007199254740993";
			await assert.rejects(open().execute(`SELECT ${big}`), RangeError);
			const rs = await open({ intMode: "string" }).execute(`SELECT ${big} AS v, 42 AS w`);
			assert.equal(rs.rows[0].v, big);
			assert.equal(rs.rows[0].w, "42");
			const n = await open().execute("SELECT 9007199254740991 AS v");
			assert.equal(n.rows[0].v, 9007199254740991);
		});

		test("booleans and bigints bind as integers, JS numbers and Dates as floats", async () => {
			const c = open({ intMode: "bigint" });
			const d = new Date(1700000000123);
			const rs = await c.execute({
				sql: "SELECT ?, ?, ?, ?, typeof(?), typeof(?), typeof(?)",
				args: [true, false, d, 2n ** 62n, 1, 5n, d],
			});
			assert.deepEqual(Array.from(rs.rows[0]), [1n, 0n, 1700000000123, 2n ** 62n, "real", "integer", "real"]);
		});

		test("positional args: ? and ?NNN", async () => {
			const c = open();
			const a = await c.execute({ sql: "SELECT ? AS a, ? AS b", args: [1, "two"] });
			assert.deepEqual([a.rows[0].a, a.rows[0].b], [1, "two"]);
			const b = await c.execute({ sql: "SELECT ?2 AS a, ?1 AS b, ?2 + ?1 AS c", args: [10, 20] });
			assert.deepEqual(Array.from(b.rows[0]), [20, 10, 30]);
			const sh = await c.execute("SELECT ? + ?", [40, 2]);
			assert.equal(sh.rows[0][0], 42);
		});

		for (const p of [":", "@", "$"]) {
			test(`named args with the ${p} prefix, given with and without the prefix`, async () => {
				const c = open();
				const sql = `SELECT ${p}a AS a, ${p}b AS b, ${p}a + 1 AS c`;
				const bare = await c.execute({ sql, args: { a: 1, b: "bee" } });
				assert.deepEqual(Array.from(bare.rows[0]), [1, "bee", 2]);
				const full = await c.execute({ sql, args: { [`${p}a`]: 5, [`${p}b`]: null } });
				assert.deepEqual(Array.from(full.rows[0]), [5, null, 6]);
			});
		}

		test("ResultSet: columns, columnTypes, rowsAffected, lastInsertRowid, rows by name and index, toJSON", async () => {
			const c = open();
			const t = table();
			const create = await c.execute(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, data BLOB)`);
			assert.equal(create.rowsAffected, 0);
			assert.deepEqual(create.columns, []);
			const ins = await c.execute(`INSERT INTO ${t} (name, score) VALUES ('a', 1.5), ('b', 2.5), ('c', NULL)`);
			assert.equal(ins.rowsAffected, 3);
			assert.equal(ins.lastInsertRowid, 3n);
			assert.deepEqual(ins.rows, []);
			const sel = await c.execute(`SELECT id, name, score, data, score * 2 AS twice FROM ${t} ORDER BY id`);
			assert.deepEqual(sel.columns, ["id", "name", "score", "data", "twice"]);
			assert.deepEqual(sel.columnTypes, ["INTEGER", "TEXT", "REAL", "BLOB", ""]);
			assert.equal(sel.rowsAffected, 0, "rowsAffected is masked to 0 for a SELECT after an INSERT");
			assert.equal(sel.lastInsertRowid, undefined, "lastInsertRowid only for INSERT");
			assert.equal(sel.rows.length, 3);
			const row = sel.rows[1];
			assert.equal(row.length, 5);
			assert.equal(row.name, "b");
			assert.equal(row[1], "b");
			assert.equal(row.twice, 5);
			assert.equal(sel.rows[2].score, null);
			assert.deepEqual(sel.toJSON(), {
				columns: ["id", "name", "score", "data", "twice"],
				columnTypes: ["INTEGER", "TEXT", "REAL", "BLOB", ""],
				rows: [[1, "a", 1.5, null, 3], [2, "b", 2.5, null, 5], [3, "c", null, null, null]],
				rowsAffected: 0,
				lastInsertRowid: null,
			});
			const upd = await c.execute(`UPDATE ${t} SET score = 0 WHERE id >= 2`);
			assert.equal(upd.rowsAffected, 2);
			assert.equal(upd.lastInsertRowid, undefined);
			const del = await c.execute(`DELETE FROM ${t} WHERE id = 1`);
			assert.equal(del.rowsAffected, 1);
			const ret = await c.execute(`INSERT INTO ${t} (id, name) VALUES (100, 'r') RETURNING id, name`);
			assert.deepEqual(Array.from(ret.rows[0]), [100, "r"]);
			assert.equal(ret.rowsAffected, 1);
			assert.equal(ret.lastInsertRowid, 100n);
		});

		test('batch "write" commits all statements and returns one ResultSet each', async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x INTEGER)`);
			const rs = await c.batch([
				`INSERT INTO ${t} VALUES (1)`,
				{ sql: `INSERT INTO ${t} VALUES (?)`, args: [2] },
				{ sql: `INSERT INTO ${t} VALUES (:v)`, args: { v: 3 } },
				`SELECT sum(x) AS s FROM ${t}`,
			], "write");
			assert.equal(rs.length, 4);
			assert.equal(rs[0].rowsAffected, 1);
			assert.equal(rs[1].lastInsertRowid, 2n);
			assert.equal(rs[3].rows[0].s, 6);
			assert.equal(rs[3].rowsAffected, 0);
			const after = await open().execute(`SELECT count(*) AS n FROM ${t}`);
			assert.equal(after.rows[0].n, 3);
		});

		test("a failing step rolls back the whole batch", async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x INTEGER PRIMARY KEY)`);
			await c.execute(`INSERT INTO ${t} VALUES (1)`);
			for (const mode of ["write", "deferred"]) {
				const err = await c.batch([
					`INSERT INTO ${t} VALUES (10)`,
					`INSERT INTO ${t} VALUES (11)`,
					`INSERT INTO ${t} VALUES (1)`,
					`INSERT INTO ${t} VALUES (12)`,
				], mode).then(() => null, (e) => e);
				assert.ok(err instanceof LibsqlError, `${mode}: batch must reject, got ${err}`);
				assert.equal(err.code, "SQLITE_CONSTRAINT", `${mode}: ${err.message}`);
				const rs = await c.execute(`SELECT x FROM ${t} ORDER BY x`);
				assert.deepEqual(rs.rows.map((r) => r.x), [1], `${mode}: nothing of the failed batch may remain`);
			}
			// the connection is usable and not stuck in a transaction afterwards
			await c.batch([`INSERT INTO ${t} VALUES (2)`], "write");
			assert.equal((await c.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 2);
		});

		test('batch "read" and "deferred" modes', async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x)`);
			const w = await c.batch([`INSERT INTO ${t} VALUES (1)`, `INSERT INTO ${t} VALUES (2)`], "deferred");
			assert.equal(w.length, 2);
			const r = await c.batch([`SELECT count(*) AS n FROM ${t}`, `SELECT max(x) AS m FROM ${t}`], "read");
			assert.equal(r[0].rows[0].n, 2);
			assert.equal(r[1].rows[0].m, 2);
			const d = await c.batch([`SELECT 1 AS one`]);
			assert.equal(d[0].rows[0].one, 1);
		});

		test("migrate runs statements in a transaction", async () => {
			const c = open();
			const t = table();
			const rs = await c.migrate([`CREATE TABLE ${t} (a)`, { sql: `INSERT INTO ${t} VALUES (?)`, args: [7] }]);
			assert.equal(rs.length, 2);
			assert.equal((await c.execute(`SELECT a FROM ${t}`)).rows[0].a, 7);
		});

		test("interactive transaction: sees its own writes, others do not until commit", async () => {
			const c = open();
			const other = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x)`);
			const tx = await c.transaction("write");
			assert.equal(tx.closed, false);
			const ins = await tx.execute({ sql: `INSERT INTO ${t} VALUES (?)`, args: [1] });
			assert.equal(ins.rowsAffected, 1);
			assert.equal((await tx.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0].n, 1);
			assert.equal((await other.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0].n, 0, "uncommitted rows are invisible to others");
			const b = await tx.batch([`INSERT INTO ${t} VALUES (2)`, `SELECT count(*) AS n FROM ${t}`]);
			assert.equal(b[1].rows[0].n, 2);
			await tx.commit();
			assert.equal(tx.closed, true);
			assert.equal((await other.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0].n, 2);
			await assert.rejects(tx.execute("SELECT 1"), (e) => e instanceof LibsqlError && e.code === "TRANSACTION_CLOSED");
		});

		test("interactive transaction: rollback discards, use after close rejects", async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x)`);
			const tx = await c.transaction("write");
			await tx.execute(`INSERT INTO ${t} VALUES (1)`);
			await tx.executeMultiple(`INSERT INTO ${t} VALUES (2); INSERT INTO ${t} VALUES (3);`);
			assert.equal((await tx.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 3);
			await tx.rollback();
			assert.equal(tx.closed, true);
			assert.equal((await c.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 0);
			await assert.rejects(tx.execute("SELECT 1"), (e) => e instanceof LibsqlError && e.code === "TRANSACTION_CLOSED");
			await assert.rejects(tx.commit(), (e) => e instanceof LibsqlError && e.code === "TRANSACTION_CLOSED");

			const tx2 = await c.transaction("deferred");
			await tx2.execute(`INSERT INTO ${t} VALUES (9)`);
			tx2.close();
			assert.equal(tx2.closed, true);
			await assert.rejects(tx2.execute("SELECT 1"), (e) => e instanceof LibsqlError && e.code === "TRANSACTION_CLOSED");
			// the closed stream's transaction was rolled back and released the lock
			await c.execute(`INSERT INTO ${t} VALUES (10)`);
			assert.deepEqual((await c.execute(`SELECT x FROM ${t}`)).rows.map((r) => r.x), [10]);
		});

		test("a statement error inside a transaction does not end it", async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x PRIMARY KEY)`);
			const tx = await c.transaction("write");
			await tx.execute(`INSERT INTO ${t} VALUES (1)`);
			await assert.rejects(tx.execute(`INSERT INTO ${t} VALUES (1)`), (e) => e.code === "SQLITE_CONSTRAINT");
			await tx.execute(`INSERT INTO ${t} VALUES (2)`);
			await tx.commit();
			assert.equal((await c.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 2);
		});

		test('"read" transaction reads a stable snapshot', async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (x)`);
			await c.execute(`INSERT INTO ${t} VALUES (1)`);
			const tx = await c.transaction("read");
			assert.equal((await tx.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 1);
			await open().execute(`INSERT INTO ${t} VALUES (2)`);
			assert.equal((await tx.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 1, "snapshot isolation inside the read transaction");
			await tx.commit();
			assert.equal((await c.execute(`SELECT count(*) FROM ${t}`)).rows[0][0], 2);
		});

		test("executeMultiple runs a script; an error stops it and earlier statements stay", async () => {
			const c = open();
			const t = table();
			await c.executeMultiple(`
				CREATE TABLE ${t} (a INTEGER, b TEXT);
				INSERT INTO ${t} VALUES (1, 'one');
				-- a comment
				INSERT INTO ${t} VALUES (2, 'two; with a semicolon');
			`);
			const rs = await c.execute(`SELECT a, b FROM ${t} ORDER BY a`);
			assert.deepEqual(rs.rows.map((r) => [r.a, r.b]), [[1, "one"], [2, "two; with a semicolon"]]);
			await assert.rejects(
				c.executeMultiple(`INSERT INTO ${t} VALUES (3, 'x'); INSERT INTO no_such_table_em VALUES (1); INSERT INTO ${t} VALUES (4, 'y');`),
				(e) => e instanceof LibsqlError,
			);
			assert.deepEqual((await c.execute(`SELECT a FROM ${t} ORDER BY a`)).rows.map((r) => r.a), [1, 2, 3]);
		});

		test("constraint violations reject with code SQLITE_CONSTRAINT", async () => {
			const c = open();
			const t = table();
			await c.execute(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, u TEXT UNIQUE, nn TEXT NOT NULL, CHECK (length(nn) < 5))`);
			await c.execute(`INSERT INTO ${t} VALUES (1, 'a', 'x')`);
			const cases = [
				[`INSERT INTO ${t} VALUES (1, 'b', 'x')`, /UNIQUE constraint failed/],
				[`INSERT INTO ${t} VALUES (2, 'a', 'x')`, /UNIQUE constraint failed/],
				[`INSERT INTO ${t} VALUES (3, 'c', NULL)`, /NOT NULL constraint failed/],
				[`INSERT INTO ${t} VALUES (4, 'd', 'toolong')`, /CHECK constraint failed/],
			];
			for (const [sql, re] of cases) {
				const e = await c.execute(sql).then(() => null, (x) => x);
				assert.ok(e instanceof LibsqlError, `${sql}: ${e}`);
				assert.equal(e.code, "SQLITE_CONSTRAINT", `${sql}: ${e.message}`);
				assert.match(e.message, re);
			}
		});

		test("other errors are LibsqlErrors with a string code and the client stays usable", async () => {
			const c = open();
			const e1 = await c.execute("SELEC 1").then(() => null, (x) => x);
			assert.ok(e1 instanceof LibsqlError);
			assert.equal(typeof e1.code, "string");
			const e2 = await c.execute("SELECT * FROM no_such_table_xyz").then(() => null, (x) => x);
			assert.ok(e2 instanceof LibsqlError);
			assert.match(e2.message, /no such table/);
			const e3 = await c.execute("SELECT 1; SELECT 2").then(() => null, (x) => x);
			assert.ok(e3 instanceof LibsqlError);
			assert.equal(e3.code, "SQL_MANY_STATEMENTS");
			assert.equal((await c.execute("SELECT 5")).rows[0][0], 5);
			c.close();
			assert.equal(c.closed, true);
			await assert.rejects(c.execute("SELECT 1"), (e) => e instanceof LibsqlError);
		});

		test("20 concurrent clients x 50 inserts: every row is there", async () => {
			const t = table("conc");
			await open().execute(`CREATE TABLE ${t} (client INTEGER, i INTEGER, PRIMARY KEY (client, i))`);
			const N = 20, M = 50;
			await Promise.all(Array.from({ length: N }, async (_, k) => {
				const c = open();
				for (let i = 0; i < M; i++) await c.execute({ sql: `INSERT INTO ${t} VALUES (?, ?)`, args: [k, i] });
			}));
			const rs = await open().execute(`SELECT count(*) AS n, count(DISTINCT client) AS cl, sum(i) AS s FROM ${t}`);
			assert.equal(rs.rows[0].n, N * M);
			assert.equal(rs.rows[0].cl, N);
			assert.equal(rs.rows[0].s, N * ((M * (M - 1)) / 2));
		});

		test("concurrent transactions from several clients serialize without lost updates", async () => {
			const t = table("ctr");
			const c0 = open();
			await c0.execute(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, n INTEGER)`);
			await c0.execute(`INSERT INTO ${t} VALUES (1, 0)`);
			await Promise.all(Array.from({ length: 8 }, async () => {
				const c = open();
				for (let i = 0; i < 5; i++) {
					const tx = await c.transaction("write");
					const cur = (await tx.execute(`SELECT n FROM ${t} WHERE id = 1`)).rows[0].n;
					await tx.execute({ sql: `UPDATE ${t} SET n = ? WHERE id = 1`, args: [cur + 1] });
					await tx.commit();
				}
			}));
			assert.equal((await c0.execute(`SELECT n FROM ${t}`)).rows[0].n, 40);
		});
	});
}
