// The `libsql` npm package (libsql-js, the Rust libsql crate inside) in remote
// mode: `new Database("http://127.0.0.1:PORT")` speaks Hrana 3 over HTTP with
// POST /v3/pipeline (get_autocommit appended to every pipeline) and
// POST /v3/cursor for queries (PROTOCOL.md §4.2, §4.4, §10).
// Its API is synchronous (it blocks the event loop while it waits for sqld,
// which runs in its own process).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import Database from "libsql";
import { startSqld } from "./lib/sqld.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "l") => `${p}_${process.pid}_${++tableNo}`;

/** First column of the first row (libsql-js applies pluck() only to all()). */
const scalar = (db, sql, ...args) => db.prepare(sql).raw().get(...args)[0];

function open(t) {
	const db = new Database(srv.url);
	t.after(() => {
		try { db.close(); } catch { /* already closed */ }
	});
	return db;
}

test("remote Database: exec, prepare + run/get/all, value types", (t) => {
	const db = open(t);
	assert.equal(db.memory, false);
	const tb = table();
	db.exec(`CREATE TABLE ${tb} (id INTEGER PRIMARY KEY, name TEXT, score REAL, data BLOB)`);
	const ins = db.prepare(`INSERT INTO ${tb} (name, score, data) VALUES (?, ?, ?)`);
	const info = ins.run("alice 🌍", 1.5, Buffer.from([1, 2, 3, 255]));
	assert.equal(info.changes, 1);
	assert.equal(Number(info.lastInsertRowid), 1);
	const info2 = ins.run(["bob", 2.25, null]);
	assert.equal(info2.changes, 1);
	assert.equal(Number(info2.lastInsertRowid), 2);

	const row = db.prepare(`SELECT id, name, score, data FROM ${tb} WHERE id = ?`).get(1);
	assert.equal(row.id, 1);
	assert.equal(row.name, "alice 🌍");
	assert.equal(row.score, 1.5);
	assert.deepEqual([...new Uint8Array(row.data)], [1, 2, 3, 255]);
	const rows = db.prepare(`SELECT id, name, data FROM ${tb} ORDER BY id`).all();
	assert.equal(rows.length, 2);
	assert.deepEqual(rows.map((r) => [r.id, r.name]), [[1, "alice 🌍"], [2, "bob"]]);
	assert.equal(rows[1].data, null);
	assert.equal(db.prepare(`SELECT * FROM ${tb} WHERE id = 42`).get(), undefined);

	// (libsql-js 0.5.29 in remote mode sends neither args nor named_args for an
	// object of named parameters, so named binding is covered by the other clients.)
	const pos = db.prepare("SELECT ?1 + ?2 AS s, ?2 AS b").get(1, 2);
	assert.equal(pos.s, 3);
	assert.equal(pos.b, 2);

	const raw = db.prepare(`SELECT id, name FROM ${tb} ORDER BY id`).raw().all();
	assert.deepEqual(raw, [[1, "alice 🌍"], [2, "bob"]]);
	assert.deepEqual(db.prepare(`SELECT id FROM ${tb} ORDER BY id`).pluck().all(), [1, 2]);
	assert.equal(scalar(db, `SELECT count(*) FROM ${tb}`), 2);
	const big = db.prepare("SELECT 9223372036854775807 AS v, -9223372036854775808 AS w").safeIntegers(true).get();
	assert.equal(big.v, 9223372036854775807n);

	const upd = db.prepare(`UPDATE ${tb} SET score = score * 2`).run();
	assert.equal(upd.changes, 2);
	const many = db.prepare(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2500) SELECT x, 'row ' || x AS label FROM c`).all();
	assert.equal(many.length, 2500, "a cursor with thousands of rows arrives whole");
	assert.equal(many[2499].label, "row 2500");
	const iter = [...db.prepare(`SELECT id FROM ${tb} ORDER BY id`).iterate()].map((r) => r.id);
	assert.deepEqual(iter, [1, 2]);
});

test("remote Database: exec of a multi-statement script", (t) => {
	const db = open(t);
	const tb = table();
	db.exec(`CREATE TABLE ${tb} (x INTEGER); INSERT INTO ${tb} VALUES (1); INSERT INTO ${tb} VALUES (2);`);
	assert.equal(scalar(db, `SELECT sum(x) FROM ${tb}`), 3);
});

test("remote Database: transactions commit, roll back on throw, and inTransaction tracks get_autocommit", (t) => {
	// Statements are prepared inside the transaction: libsql-js 0.5.29 runs a
	// statement prepared before BEGIN on a stream of its own (and closes it),
	// which is the client's doing, not the server's.
	const db = open(t);
	const tb = table();
	db.exec(`CREATE TABLE ${tb} (x INTEGER PRIMARY KEY)`);
	const insertMany = db.transaction((xs) => {
		const ins = db.prepare(`INSERT INTO ${tb} VALUES (?)`);
		for (const x of xs) ins.run(x);
		return xs.length;
	});
	assert.equal(insertMany([1, 2, 3]), 3);
	assert.equal(scalar(db, `SELECT count(*) FROM ${tb}`), 3);

	const failing = db.transaction(() => {
		const ins = db.prepare(`INSERT INTO ${tb} VALUES (?)`);
		ins.run(10);
		ins.run(11);
		assert.equal(db.inTransaction, true);
		throw new Error("boom");
	});
	assert.throws(() => failing(), /boom/);
	assert.equal(db.inTransaction, false);
	assert.equal(scalar(db, `SELECT count(*) FROM ${tb} WHERE x >= 10`), 0, "rolled back");

	const other = open(t);
	db.exec("BEGIN");
	assert.equal(db.inTransaction, true);
	db.prepare(`INSERT INTO ${tb} VALUES (?)`).run(20);
	assert.equal(scalar(db, `SELECT count(*) FROM ${tb} WHERE x = 20`), 1, "the transaction sees its own write");
	assert.equal(scalar(other, `SELECT count(*) FROM ${tb} WHERE x = 20`), 0, "another connection does not");
	db.exec("COMMIT");
	assert.equal(db.inTransaction, false);
	assert.equal(scalar(other, `SELECT count(*) FROM ${tb} WHERE x = 20`), 1);

	db.exec("BEGIN IMMEDIATE");
	db.prepare(`INSERT INTO ${tb} VALUES (?)`).run(30);
	db.exec("ROLLBACK");
	assert.equal(db.inTransaction, false);
	assert.equal(scalar(other, `SELECT count(*) FROM ${tb} WHERE x = 30`), 0);
});

test("remote Database: errors carry the server's SQLite codes", (t) => {
	const db = open(t);
	const tb = table();
	db.exec(`CREATE TABLE ${tb} (x INTEGER PRIMARY KEY, y TEXT NOT NULL)`);
	db.prepare(`INSERT INTO ${tb} VALUES (1, 'a')`).run();
	const dup = (() => {
		try {
			db.prepare(`INSERT INTO ${tb} VALUES (1, 'b')`).run();
			return null;
		} catch (e) {
			return e;
		}
	})();
	assert.ok(dup, "a duplicate primary key must throw");
	// libsql-js 0.5.29 leaves err.code empty for remote errors and carries the
	// server's Hrana error (message and code) in the message text
	assert.match(dup.message, /UNIQUE constraint failed/);
	assert.match(dup.message, /code: "SQLITE_CONSTRAINT"/, dup.message);
	const nn = (() => {
		try {
			db.prepare(`INSERT INTO ${tb} VALUES (2, NULL)`).run();
			return null;
		} catch (e) {
			return e;
		}
	})();
	assert.ok(nn);
	assert.match(nn.message, /NOT NULL constraint failed/);
	assert.match(nn.message, /code: "SQLITE_CONSTRAINT"/);
	assert.throws(() => db.prepare("SELECT * FROM no_such_table_remote").all(), /no such table/);
	// the connection still works
	assert.equal(scalar(db, `SELECT count(*) FROM ${tb}`), 1);
});
