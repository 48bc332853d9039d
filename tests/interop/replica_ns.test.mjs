// Embedded replicas of the real `libsql` package against a namespace other
// than "default" (PROTOCOL.md §6.3, REPLICA_TRAFFIC.md): the client sends
// x-namespace-bin = the first label of the syncUrl host, so with
// --enable-namespaces a syncUrl of http://127.0.0.1:PORT replicates the
// namespace "127" and http://localhost:PORT the namespace "default". Two
// replicas of one server then follow two different databases, and writes
// through each replica (Proxy.Execute) land in its own namespace.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import Database from "libsql";
import { mkTempDir, rmDir } from "./lib/sqld.mjs";
import { startAdmin, admin, nsHdr, sql, rowsOf } from "../integ/lib/ns.mjs";

const rows = (db, q) => db.prepare(q).raw().all();

test("embedded replicas follow the namespace named by their syncUrl host, isolated from each other", async (t) => {
	const srv = await startAdmin({ args: ["--enable-namespaces"] });
	const dir = await mkTempDir();
	const open = [];
	t.after(async () => {
		for (const d of open) {
			try { d.close(); } catch { /* closed */ }
		}
		await srv.stop();
		rmDir(dir);
	});
	const r = await admin(srv, "POST", "/v1/namespaces/127/create", {});
	assert.equal(r.status, 200, r.text);
	await sql(srv, nsHdr("127"), "CREATE TABLE items(name TEXT)", "INSERT INTO items VALUES ('in 127')");
	await sql(srv, nsHdr("default"), "CREATE TABLE items(name TEXT)", "INSERT INTO items VALUES ('in default')", "INSERT INTO items VALUES ('also default')");

	const a = new Database(path.join(dir, "a.db"), { syncUrl: `http://127.0.0.1:${srv.port}` });
	const b = new Database(path.join(dir, "b.db"), { syncUrl: `http://localhost:${srv.port}` });
	open.push(a, b);
	a.sync();
	b.sync();
	assert.deepEqual(rows(a, "SELECT name FROM items"), [["in 127"]]);
	assert.deepEqual(rows(b, "SELECT name FROM items ORDER BY rowid"), [["in default"], ["also default"]]);

	// a write through replica a goes to namespace 127 only
	a.exec("INSERT INTO items VALUES ('written via replica a')");
	assert.deepEqual(rows(a, "SELECT name FROM items ORDER BY rowid"), [["in 127"], ["written via replica a"]]);
	assert.deepEqual(await rowsOf(srv, nsHdr("127"), "SELECT count(*) FROM items"), [[{ type: "integer", value: "2" }]]);
	assert.deepEqual(await rowsOf(srv, nsHdr("default"), "SELECT count(*) FROM items"), [[{ type: "integer", value: "2" }]]);
	b.sync();
	assert.deepEqual(rows(b, "SELECT name FROM items ORDER BY rowid"), [["in default"], ["also default"]]);

	// new commits in 127 reach replica a with its next sync
	await sql(srv, nsHdr("127"), "INSERT INTO items VALUES ('later')");
	a.sync();
	assert.deepEqual(rows(a, "SELECT count(*) FROM items"), [[3]]);
});

test("a replica of a namespace that does not exist fails to sync", async (t) => {
	const srv = await startAdmin({ args: ["--enable-namespaces"] });
	const dir = await mkTempDir();
	let db;
	t.after(async () => {
		try { db?.close(); } catch { /* closed */ }
		await srv.stop();
		rmDir(dir);
	});
	// no namespace "127" here
	db = new Database(path.join(dir, "x.db"), { syncUrl: `http://127.0.0.1:${srv.port}` });
	assert.throws(() => db.sync(), /NAMESPACE_DOESNT_EXIST|namespace/i);
});
