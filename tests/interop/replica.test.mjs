// Embedded replicas of the real npm clients against sqld (PROTOCOL.md §8.4,
// REPLICA_TRAFFIC.md): `libsql` (libsql-js 0.5.29, Rust crate 0.9.30) with
// `new Database(localPath, { syncUrl })`, and `@libsql/client` with a `file:`
// URL and `syncUrl`. They probe GET /info (404), then speak gRPC-web:
// Hello + BatchLogEntries (+ Snapshot after compaction) to sync, and
// Proxy.Execute / Proxy.Describe for writes, followed by a sync
// (read-your-writes).
//
// Client quirk worth knowing (libsql-js 0.5.29): a statement read with
// `.get()` is not reset, so the replica connection keeps its read snapshot
// and later reads do not see synced frames. The tests read with `.all()`.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import Database from "libsql";
import { createClient } from "@libsql/client";
import { startSqld, mkTempDir, rmDir, sleep } from "./lib/sqld.mjs";
import { hello, grpcCall, msg } from "../integ/lib/grpcweb.mjs";

const PAGE = 4096;

async function setup(t, opts = {}) {
	const srv = await startSqld(opts);
	const dir = await mkTempDir();
	const primary = createClient({ url: srv.url });
	const open = [];
	t.after(async () => {
		for (const d of open) {
			try { d.close(); } catch { /* closed */ }
		}
		primary.close();
		await srv.stop();
		rmDir(dir);
	});
	const replica = (name = "replica.db", url = srv.url) => {
		const db = new Database(path.join(dir, name), { syncUrl: url });
		open.push(db);
		return db;
	};
	return { srv, dir, primary, replica, open };
}

const rows = (db, sql, ...args) => db.prepare(sql).raw().all(...args);
const index = async (srv) => Number((await hello(srv)).currentReplicationIndex);

test("a fresh replica of a primary with data: sync brings it all; frame_no = Hello's current_replication_index", async (t) => {
	const { srv, primary, replica } = await setup(t);
	await primary.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, qty REAL, data BLOB)");
	await primary.batch([
		{ sql: "INSERT INTO items (name, qty, data) VALUES (?, ?, ?)", args: ["apple", 1.5, new Uint8Array([1, 2, 3])] },
		{ sql: "INSERT INTO items (name, qty, data) VALUES (?, ?, ?)", args: ["pear 🍐", 2, null] },
	], "write");
	const db = replica();
	assert.throws(() => rows(db, "SELECT * FROM items"), /no such table/, "nothing is fetched before sync()");
	const idx = await index(srv);
	const r1 = db.sync();
	assert.equal(r1.frame_no, idx, "the replica stands where Hello said the primary is");
	assert.equal(r1.frames_synced, idx + 1, "every frame from 0");
	assert.deepEqual(rows(db, "SELECT id, name, qty FROM items ORDER BY id"), [[1, "apple", 1.5], [2, "pear 🍐", 2]]);
	assert.deepEqual([...rows(db, "SELECT data FROM items WHERE id = 1")[0][0]], [1, 2, 3]);
	assert.deepEqual(db.sync(), { frames_synced: 0, frame_no: idx }, "caught up: nothing to sync");
	// more writes on the primary arrive with the next sync, and only they
	await primary.execute("UPDATE items SET qty = qty * 10");
	await primary.execute({ sql: "INSERT INTO items (name) VALUES (?)", args: ["plum"] });
	const idx2 = await index(srv);
	const r2 = db.sync();
	assert.equal(r2.frame_no, idx2);
	assert.equal(r2.frames_synced, idx2 - idx);
	assert.deepEqual(rows(db, "SELECT name, qty FROM items ORDER BY id"), [["apple", 15], ["pear 🍐", 20], ["plum", null]]);
});

test("writes through the replica go to the primary (Proxy.Execute) and are read back at once; constraint errors carry the extended codes", async (t) => {
	const { srv, primary, replica } = await setup(t);
	const db = replica();
	db.exec("CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT UNIQUE)");
	assert.deepEqual(rows(db, "SELECT count(*) FROM kv"), [[0]], "the forwarded CREATE is visible locally (read-your-writes)");
	const info = db.prepare("INSERT INTO kv (k, v) VALUES (?, ?)").run(1, "one");
	assert.equal(info.changes, 1);
	assert.equal(Number(info.lastInsertRowid), 1);
	assert.deepEqual(rows(db, "SELECT k, v FROM kv"), [[1, "one"]], "read-your-writes without calling sync()");
	assert.deepEqual((await primary.execute("SELECT v FROM kv")).rows.map((r) => r.v), ["one"], "the write is on the primary");
	assert.equal(db.sync().frame_no, await index(srv), "the replica is at the primary's last commit");
	// an interactive transaction on the replica is a transaction on the primary
	db.exec("BEGIN");
	db.exec("INSERT INTO kv VALUES (2, 'two')");
	db.prepare("INSERT INTO kv VALUES (?, ?)").run(3, "three");
	assert.deepEqual((await primary.execute("SELECT count(*) AS n FROM kv")).rows[0].n, 1, "not committed yet");
	db.exec("COMMIT");
	assert.deepEqual(rows(db, "SELECT k FROM kv ORDER BY k"), [[1], [2], [3]]);
	const tx = db.transaction((a, b) => {
		db.prepare("INSERT INTO kv VALUES (?, ?)").run(a, `v${a}`);
		db.prepare("INSERT INTO kv VALUES (?, ?)").run(b, `v${b}`);
	});
	tx(4, 5);
	assert.deepEqual(rows(db, "SELECT k FROM kv ORDER BY k"), [[1], [2], [3], [4], [5]]);
	// constraint errors come back with SQLite's extended codes
	assert.throws(() => db.prepare("INSERT INTO kv VALUES (?, ?)").run(1, "uno"), (e) => {
		assert.match(e.message, /1555/, "SQLITE_CONSTRAINT_PRIMARYKEY");
		assert.match(e.message, /UNIQUE constraint failed: kv\.k/);
		return true;
	});
	assert.throws(() => db.exec("INSERT INTO kv VALUES (9, 'one')"), (e) => {
		assert.match(e.message, /2067/, "SQLITE_CONSTRAINT_UNIQUE");
		return true;
	});
	// a failed transaction leaves nothing behind
	assert.throws(() => tx(6, 1), /1555/);
	assert.deepEqual(rows(db, "SELECT count(*) FROM kv"), [[5]]);
	assert.deepEqual((await primary.execute("SELECT count(*) AS n FROM kv")).rows[0].n, 5);
	// the replica is still usable for reads and writes
	db.exec("INSERT INTO kv VALUES (6, 'six')");
	assert.deepEqual(rows(db, "SELECT v FROM kv WHERE k = 6"), [["six"]]);
});

test("@libsql/client with a file: URL and syncUrl: sync, local reads, forwarded writes, batches, transactions, errors", async (t) => {
	const { srv, dir, primary } = await setup(t);
	await primary.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)");
	await primary.execute("INSERT INTO notes (body) VALUES ('from the primary')");
	const c = createClient({ url: "file:" + path.join(dir, "client.db"), syncUrl: srv.url });
	t.after(() => c.close());
	const s = await c.sync();
	assert.equal(s.frame_no, await index(srv));
	assert.deepEqual((await c.execute("SELECT body FROM notes")).rows.map((r) => r.body), ["from the primary"]);
	const ins = await c.execute({ sql: "INSERT INTO notes (body) VALUES (?)", args: ["from the replica"] });
	assert.equal(ins.rowsAffected, 1);
	assert.equal(ins.lastInsertRowid, 2n);
	assert.deepEqual((await c.execute("SELECT body FROM notes ORDER BY id")).rows.map((r) => r.body), ["from the primary", "from the replica"]);
	const b = await c.batch([
		{ sql: "INSERT INTO notes (body) VALUES (?)", args: ["batch 1"] },
		{ sql: "INSERT INTO notes (body) VALUES (?)", args: ["batch 2"] },
	], "write");
	assert.equal(b.length, 2);
	const tx = await c.transaction("write");
	await tx.execute("INSERT INTO notes (body) VALUES ('in a transaction')");
	await tx.commit();
	assert.equal((await c.execute("SELECT count(*) AS n FROM notes")).rows[0].n, 5);
	await assert.rejects(c.execute("INSERT INTO notes (id, body) VALUES (1, 'dup')"), /1555/);
	await assert.rejects(c.execute("INSERT INTO notes (body) VALUES (NULL)"), /1299/, "SQLITE_CONSTRAINT_NOTNULL");
	await assert.rejects(c.batch(["INSERT INTO notes (body) VALUES ('x')", "INSERT INTO notes (id, body) VALUES (1, 'dup')"], "write"), /1555/);
	assert.equal((await primary.execute("SELECT count(*) AS n FROM notes")).rows[0].n, 5, "the failed batch was rolled back");
	assert.equal((await c.sync()).frame_no, await index(srv));
});

/** Compares two database files page by page; returns the count. */
function assertSamePages(a, b, what) {
	assert.equal(b.length, a.length, `${what}: file sizes differ (${a.length} vs ${b.length})`);
	assert.equal(a.length % PAGE, 0);
	for (let p = 0; p < a.length / PAGE; p++) {
		const x = a.subarray(p * PAGE, (p + 1) * PAGE), y = b.subarray(p * PAGE, (p + 1) * PAGE);
		if (Buffer.compare(x, y)) {
			let i = 0;
			while (x[i] === y[i]) i++;
			assert.fail(`${what}: page ${p + 1} differs first at byte ${i}`);
		}
	}
	return a.length / PAGE;
}

test("the replica's database pages are byte-identical to the primary's at the same frame number", async () => {
	const srv = await startSqld({ keepDir: true });
	const dir = await mkTempDir();
	try {
		const primary = createClient({ url: srv.url });
		await primary.execute("CREATE TABLE a (id INTEGER PRIMARY KEY, s TEXT, b BLOB)");
		await primary.execute("CREATE INDEX a_s ON a (s)");
		for (let i = 0; i < 5; i++)
			await primary.execute({ sql: "INSERT INTO a (s, b) SELECT hex(randomblob(40)), randomblob(?) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)", args: [1000 * (i + 1)] });
		await primary.execute("DELETE FROM a WHERE id % 4 = 0");
		await primary.execute("CREATE TABLE c (x)");
		await primary.execute("DROP TABLE c"); // freelist pages
		const db = new Database(path.join(dir, "r.db"), { syncUrl: srv.url });
		db.exec("INSERT INTO a (s) VALUES ('via the replica')");
		const at = db.sync().frame_no;
		assert.equal(at, await index(srv));
		const expect = rows(db, "SELECT id, s, hex(b) FROM a ORDER BY id");
		db.close();
		primary.close();
		// a clean stop checkpoints the primary (TRUNCATE): its file is the database at frame `at`
		await srv.stop({ keepDir: true });
		const pfile = fs.readFileSync(path.join(srv.dbPath, "data"));
		// bring the replica's WAL into its file with plain SQLite
		const plain = new Database(path.join(dir, "r.db"));
		assert.deepEqual(plain.prepare("PRAGMA integrity_check").raw().all(), [["ok"]]);
		assert.deepEqual(plain.prepare("SELECT id, s, hex(b) FROM a ORDER BY id").raw().all(), expect);
		plain.prepare("PRAGMA wal_checkpoint(TRUNCATE)").raw().all();
		plain.close();
		const rfile = fs.readFileSync(path.join(dir, "r.db"));
		const pages = assertSamePages(pfile, rfile, "replica vs primary");
		assert.ok(pages > 10, `${pages} pages compared`);
	} finally {
		rmDir(srv.dir);
		rmDir(dir);
	}
});

test("after compaction a replica that fell behind and a fresh one sync through NEED_SNAPSHOT + Snapshot", async (t) => {
	const { srv, dir, primary, replica } = await setup(t, { args: ["--max-log-size", "1"] });
	await primary.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, b BLOB)");
	await primary.execute("INSERT INTO big (b) VALUES (randomblob(3000))");
	const old = replica("old.db");
	const at = old.sync().frame_no;
	assert.deepEqual(rows(old, "SELECT count(*) FROM big"), [[1]]);
	for (let i = 0; i < 3; i++) await primary.execute("INSERT INTO big (b) VALUES (randomblob(700000))"); // > 1 MB of log: compaction
	await primary.execute("UPDATE big SET b = x'00' WHERE id = 1");
	const sum = "SELECT count(*), sum(length(b)), hex(min(b)) FROM big";
	const want = (await primary.execute(sum)).rows.map((r) => Object.values(r));
	// wait for the compaction to have taken the old replica's next frame out of the log
	const h0 = await hello(srv);
	let need = false;
	for (let i = 0; i < 100 && !need; i++) {
		const r = await grpcCall(srv, "/wal_log.ReplicationLog/BatchLogEntries", msg.logOffset(at + 1), { token: h0.sessionToken });
		need = r.message === "NEED_SNAPSHOT";
		if (!need) await sleep(50);
	}
	assert.ok(need, "the old replica's position is below the log: it needs the snapshot");
	const idx = await index(srv);
	const r1 = old.sync();
	assert.equal(r1.frame_no, idx);
	assert.deepEqual(rows(old, sum), want);
	const fresh = replica("fresh.db");
	assert.equal(fresh.sync().frame_no, idx);
	assert.deepEqual(rows(fresh, sum), want);
	// and both continue with the log after the snapshot
	await primary.execute("INSERT INTO big (b) VALUES (x'0102')");
	const idx2 = await index(srv);
	for (const db of [old, fresh]) {
		const r = db.sync();
		assert.equal(r.frame_no, idx2);
		assert.deepEqual(rows(db, "SELECT count(*) FROM big"), [[5]]);
	}
	const plain = new Database(path.join(dir, "fresh.db"));
	assert.deepEqual(plain.prepare("PRAGMA integrity_check").raw().all(), [["ok"]]);
	plain.close();
});

test("primary restarts: a clean one keeps the lineage (the replica goes on incrementally); after kill -9 the replica starts over and matches", async () => {
	const pdir = await mkTempDir();
	const rdir = await mkTempDir();
	let srv = await startSqld({ dir: pdir });
	try {
		let primary = createClient({ url: srv.url });
		await primary.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, v TEXT)");
		await primary.execute("INSERT INTO r (v) VALUES ('before restart')");
		let db = new Database(path.join(rdir, "r.db"), { syncUrl: srv.url });
		const first = db.sync();
		db.close();
		primary.close();
		await srv.stop();
		srv = await startSqld({ dir: pdir }); // a new port: reopen the replica with the new syncUrl
		primary = createClient({ url: srv.url });
		await primary.execute("INSERT INTO r (v) VALUES ('after a clean restart')");
		db = new Database(path.join(rdir, "r.db"), { syncUrl: srv.url });
		const second = db.sync();
		assert.equal(second.frame_no, await index(srv));
		assert.equal(second.frames_synced, second.frame_no - first.frame_no, "only the new frames");
		assert.deepEqual(rows(db, "SELECT v FROM r ORDER BY id"), [["before restart"], ["after a clean restart"]]);
		db.close();
		primary.close();
		// kill -9: sqld cannot trust its log and makes a new lineage from the database
		const oldLog = (await hello(srv)).logId;
		await srv.kill();
		srv = await startSqld({ dir: pdir });
		primary = createClient({ url: srv.url });
		assert.notEqual((await hello(srv)).logId, oldLog, "a new log_id");
		await primary.execute("INSERT INTO r (v) VALUES ('after kill -9')");
		db = new Database(path.join(rdir, "r.db"), { syncUrl: srv.url });
		const third = db.sync();
		assert.equal(third.frame_no, await index(srv));
		assert.deepEqual(rows(db, "SELECT v FROM r ORDER BY id"), [["before restart"], ["after a clean restart"], ["after kill -9"]]);
		db.close();
		primary.close();
	} finally {
		await srv.stop();
		rmDir(pdir);
		rmDir(rdir);
	}
});

test("two replicas: what one writes, the other sees after sync", async (t) => {
	const { replica } = await setup(t);
	const a = replica("a.db"), b = replica("b.db");
	a.exec("CREATE TABLE shared (x)");
	a.exec("INSERT INTO shared VALUES (1)");
	b.sync();
	assert.deepEqual(rows(b, "SELECT x FROM shared"), [[1]]);
	b.exec("INSERT INTO shared VALUES (2)");
	a.sync();
	assert.deepEqual(rows(a, "SELECT x FROM shared ORDER BY x"), [[1], [2]]);
	const s = b.prepare("SELECT x FROM shared WHERE x > ?");
	assert.deepEqual(s.raw().all(1), [[2]], "a statement prepared on the replica runs locally with parameters");
});
