// The admin API on --admin-listen-addr (PROTOCOL.md §6.3): create, delete,
// fork, config, stats, checkpoint, /metrics; --admin-auth-key; name
// validation (no path traversal, no empty names); per-namespace config that
// sqld honours (block_reads, block_writes, max_db_size, txn_timeout_s).
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { RawWs, mkTempDir, rmDir } from "./lib/raw.mjs";
import { useAdmin, startAdmin, admin, createNs, nsHdr, sql, rowsOf } from "./lib/ns.mjs";

const I = (n) => ({ type: "integer", value: String(n) });

/** A request with a raw path (no URL normalisation of "..") on the admin port. */
function rawAdmin(srv, method, p) {
	return new Promise((resolve, reject) => {
		const s = net.connect(srv.admin.port, "127.0.0.1", () => s.end(`${method} ${p} HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\nconnection: close\r\n\r\n`));
		let out = "";
		s.setEncoding("utf8");
		s.on("data", (d) => (out += d));
		s.on("end", () => resolve(Number(/^HTTP\/1\.1 (\d+)/.exec(out)?.[1])));
		s.on("error", reject);
	});
}

test("the admin listener prints its address; create, duplicate create (409), delete, delete again (404)", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	assert.match(srv.output().stdout, /sqld admin listening on http:\/\/127\.0\.0\.1:\d+\n/);
	assert.notEqual(srv.admin.port, srv.port);
	await createNs(srv, "t1");
	let r = await admin(srv, "POST", "/v1/namespaces/t1/create", {});
	assert.equal(r.status, 409);
	assert.match(r.json.error, /already exists/);
	await sql(srv, nsHdr("t1"), "CREATE TABLE x(a)");
	const dir = path.join(srv.dbPath, "dbs", "t1");
	assert.ok(fs.existsSync(path.join(dir, "data")));
	r = await admin(srv, "DELETE", "/v1/namespaces/t1");
	assert.equal(r.status, 200, r.text);
	const [gone] = await Promise.all([fetch(srv.url + "/v2/pipeline", { method: "POST", headers: nsHdr("t1"), body: '{"requests":[]}' })]);
	assert.equal(gone.status, 404);
	assert.equal(fs.existsSync(dir), false, "the directory is removed once nobody uses the namespace");
	r = await admin(srv, "DELETE", "/v1/namespaces/t1");
	assert.equal(r.status, 404);
	// the name is free again, and the new namespace is empty
	await createNs(srv, "t1");
	assert.deepEqual(await rowsOf(srv, nsHdr("t1"), "SELECT count(*) FROM sqlite_schema"), [[I(0)]]);
	r = await admin(srv, "DELETE", "/v1/namespaces/default");
	assert.equal(r.status, 400, "the default namespace holds the others' directory");
});

test("names are validated: no path traversal, no empty names, no dots or slashes", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	for (const p of ["/v1/namespaces/../create", "/v1/namespaces/%2e%2e/create", "/v1/namespaces/a.b/create", "/v1/namespaces/" + "x".repeat(129) + "/create"]) {
		const st = await rawAdmin(srv, "POST", p);
		assert.ok(st === 400 || st === 404, `${p}: ${st}`);
	}
	assert.equal(await rawAdmin(srv, "POST", "/v1/namespaces//create"), 404);
	// (libwebsockets decodes %2f and merges "//" before we see the path, so
	// "/v1/namespaces/%2fetc/create" would name "etc": still inside dbs/)
	const r = await admin(srv, "POST", "/v1/namespaces/ok/fork/..");
	assert.ok(r.status === 400 || r.status === 404);
	// nothing was made outside dbs/, and dbs/ holds no stray entry
	assert.deepEqual(fs.readdirSync(path.join(srv.dbPath, "dbs")), []);
	assert.deepEqual(fs.readdirSync(srv.dbPath).sort(), ["data", "data-shm", "data-wal", "dbs", "wallog"].filter((f) => fs.existsSync(path.join(srv.dbPath, f))).sort());
	// the longest valid name works
	await createNs(srv, "y".repeat(128));
});

test("--admin-auth-key: Basic or Bearer with the exact key, else 401", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces", "--admin-auth-key", "s3cret"] });
	let r = await admin(srv, "POST", "/v1/namespaces/a/create", {});
	assert.equal(r.status, 401);
	r = await admin(srv, "POST", "/v1/namespaces/a/create", {}, { authorization: "Basic wrong" });
	assert.equal(r.status, 401);
	r = await admin(srv, "POST", "/v1/namespaces/a/create", {}, { authorization: "Basic s3cret2" });
	assert.equal(r.status, 401);
	r = await admin(srv, "GET", "/metrics", undefined, { authorization: "s3cret" });
	assert.equal(r.status, 401, "a scheme is required");
	r = await admin(srv, "POST", "/v1/namespaces/a/create", {}, { authorization: "Basic s3cret" });
	assert.equal(r.status, 200, r.text);
	r = await admin(srv, "GET", "/v1/namespaces/a/stats", undefined, { authorization: "bearer s3cret" });
	assert.equal(r.status, 200, r.text);
	r = await admin(srv, "GET", "/metrics", undefined, { authorization: "Bearer s3cret" });
	assert.equal(r.status, 200);
	// the key does not guard the user port
	const u = await fetch(srv.url + "/health");
	assert.equal(u.status, 200);
});

test("fork copies the database consistently; the two namespaces are independent afterwards", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "src");
	const values = Array.from({ length: 300 }, (_, i) => `(${i}, '${"v".repeat(i % 50)}')`).join(",");
	await sql(srv, nsHdr("src"), "CREATE TABLE t(id INTEGER PRIMARY KEY, s TEXT)", `INSERT INTO t VALUES ${values}`, "CREATE INDEX ts ON t(s)");
	let r = await admin(srv, "POST", "/v1/namespaces/src/fork/dst");
	assert.equal(r.status, 200, r.text);
	r = await admin(srv, "POST", "/v1/namespaces/src/fork/dst");
	assert.equal(r.status, 409);
	r = await admin(srv, "POST", "/v1/namespaces/nope/fork/dst2");
	assert.equal(r.status, 404);
	assert.deepEqual(await rowsOf(srv, nsHdr("dst"), "SELECT count(*), sum(id) FROM t"), [[I(300), I(44850)]]);
	assert.deepEqual(await rowsOf(srv, nsHdr("dst"), "SELECT name FROM sqlite_schema WHERE type = 'index'"), [[{ type: "text", value: "ts" }]]);
	await sql(srv, nsHdr("dst"), "DELETE FROM t WHERE id < 100");
	await sql(srv, nsHdr("src"), "INSERT INTO t VALUES (1000, 'x')");
	assert.deepEqual(await rowsOf(srv, nsHdr("src"), "SELECT count(*) FROM t"), [[I(301)]]);
	assert.deepEqual(await rowsOf(srv, nsHdr("dst"), "SELECT count(*) FROM t"), [[I(200)]]);
	const [s1, s2] = await Promise.all([admin(srv, "GET", "/v1/namespaces/src/stats"), admin(srv, "GET", "/v1/namespaces/dst/stats")]);
	assert.notEqual(s1.json.log_id, s2.json.log_id, "the fork's log starts a new lineage");
});

test("config: block_writes and block_reads are honoured, max_db_size stops growth, settings persist across restarts", async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	let srv = await startAdmin({ dir, args: ["--enable-namespaces"] });
	await createNs(srv, "c", { max_db_size: 1000000 });
	let r = await admin(srv, "GET", "/v1/namespaces/c/config");
	assert.equal(r.status, 200);
	assert.deepEqual(r.json, { block_reads: false, block_writes: false, block_reason: null, max_db_size: 1000000, txn_timeout_s: 0 });
	await sql(srv, nsHdr("c"), "CREATE TABLE t(x)", "INSERT INTO t VALUES (1)");
	// max_db_size: a write past it fails with SQLITE_FULL
	const [big] = await sql(srv, nsHdr("c"), "INSERT INTO t SELECT randomblob(4000) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400) SELECT i FROM n)");
	assert.equal(big.type, "error");
	assert.equal(big.error.code, "SQLITE_FULL");
	r = await admin(srv, "POST", "/v1/namespaces/c/config", { block_writes: true, block_reason: "maintenance" });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.block_writes, true);
	assert.equal(r.json.max_db_size, 1000000, "fields not given are kept");
	let [w, rd] = await sql(srv, nsHdr("c"), "INSERT INTO t VALUES (2)", "SELECT count(*) FROM t");
	assert.equal(w.type, "error");
	assert.equal(w.error.code, "SQLITE_AUTH");
	assert.equal(rd.type, "ok");
	assert.deepEqual(rd.response.result.rows, [[I(1)]]);
	r = await admin(srv, "POST", "/v1/namespaces/c/config", { block_writes: "yes" });
	assert.equal(r.status, 400);
	await srv.stop();
	srv = await startAdmin({ dir, args: ["--enable-namespaces"] });
	t.after(() => srv.stop());
	r = await admin(srv, "GET", "/v1/namespaces/c/config");
	assert.equal(r.json.block_writes, true);
	assert.equal(r.json.block_reason, "maintenance");
	[w] = await sql(srv, nsHdr("c"), "INSERT INTO t VALUES (2)");
	assert.equal(w.error.code, "SQLITE_AUTH", "still blocked after a restart: " + JSON.stringify(w));
	r = await admin(srv, "POST", "/v1/namespaces/c/config", { block_writes: false, block_reads: true });
	[rd] = await sql(srv, nsHdr("c"), "SELECT count(*) FROM t");
	assert.equal(rd.type, "error");
	assert.equal(rd.error.code, "SQLITE_AUTH");
	r = await admin(srv, "POST", "/v1/namespaces/c/config", { block_reads: false, max_db_size: 0 });
	[w] = await sql(srv, nsHdr("c"), "INSERT INTO t VALUES (2)");
	assert.equal(w.type, "ok");
	r = await admin(srv, "GET", "/v1/namespaces/missing/config");
	assert.equal(r.status, 404);
	r = await admin(srv, "POST", "/v1/namespaces/d/create", { dump_url: "http://example.com/x.sql" });
	assert.equal(r.status, 400, "dump_url is refused, not ignored");
});

test("stats follow the replication index; checkpoint empties the WAL", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "s");
	let r = await admin(srv, "GET", "/v1/namespaces/s/stats");
	assert.equal(r.status, 200);
	const before = r.json.replication_index;
	await sql(srv, nsHdr("s"), "CREATE TABLE t(x)", "INSERT INTO t VALUES (1)");
	r = await admin(srv, "GET", "/v1/namespaces/s/stats");
	assert.ok(r.json.replication_index > (before ?? -1));
	assert.ok(r.json.storage_bytes_used > 0);
	assert.ok(r.json.frame_log_bytes > 0);
	assert.equal(r.json.namespace, "s");
	assert.equal(r.json.query_count, 2);
	assert.equal(r.json.rows_written_count, 1);
	await sql(srv, nsHdr("s"), "SELECT x FROM t UNION ALL SELECT 2");
	r = await admin(srv, "GET", "/v1/namespaces/s/stats");
	assert.equal(r.json.query_count, 3);
	assert.equal(r.json.rows_read_count, 2);
	const wal = path.join(srv.dbPath, "dbs", "s", "data-wal");
	assert.ok(fs.statSync(wal).size > 0);
	r = await admin(srv, "POST", "/v1/namespaces/s/checkpoint");
	assert.equal(r.status, 200, r.text);
	assert.equal(fs.statSync(wal).size, 0, "TRUNCATE checkpoint");
	assert.deepEqual(await rowsOf(srv, nsHdr("s"), "SELECT x FROM t"), [[I(1)]]);
	r = await admin(srv, "POST", "/v1/namespaces/nope/checkpoint");
	assert.equal(r.status, 404);
	r = await admin(srv, "GET", "/v1/namespaces/s/unknown");
	assert.equal(r.status, 404);
});

test("with namespaces disabled the admin API serves the default namespace and refuses to create others", async (t) => {
	const srv = await useAdmin(t);
	let r = await admin(srv, "GET", "/v1/namespaces/default/stats");
	assert.equal(r.status, 200);
	r = await admin(srv, "POST", "/v1/namespaces/other/create", {});
	assert.equal(r.status, 400);
	r = await admin(srv, "GET", "/v1/namespaces/other/stats");
	assert.equal(r.status, 404);
});

test("deleting a namespace under an open stream: new requests get 404, the stream's next request fails, the files go when it closes", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "busy");
	const ws = await RawWs.open(srv, ["hrana3"], { headers: nsHdr("busy") });
	t.after(() => ws.terminate());
	await ws.helloOk();
	await ws.ok({ type: "open_stream", stream_id: 1 });
	await ws.ok({ type: "execute", stream_id: 1, stmt: { sql: "CREATE TABLE t(x)" } });
	let r = await admin(srv, "DELETE", "/v1/namespaces/busy");
	assert.equal(r.status, 200);
	const dir = path.join(srv.dbPath, "dbs", "busy");
	assert.ok(fs.existsSync(dir), "still held by the open connection");
	r = await admin(srv, "POST", "/v1/namespaces/busy/create", {});
	assert.equal(r.status, 409, "the name is taken until the old one is gone");
	const h = await fetch(srv.url + "/v2/pipeline", { method: "POST", headers: nsHdr("busy"), body: '{"requests":[]}' });
	assert.equal(h.status, 404);
	const resp = await ws.req({ type: "execute", stream_id: 1, stmt: { sql: "SELECT 1" } });
	assert.equal(resp.type, "response_error");
	assert.equal(resp.error.code, "NAMESPACE_DOESNT_EXIST");
	ws.close();
	await ws.closed;
	for (let i = 0; i < 100 && fs.existsSync(dir); i++) await new Promise((res) => setTimeout(res, 20));
	assert.equal(fs.existsSync(dir), false, "closing the connection let the namespace go");
	await createNs(srv, "busy");
	assert.deepEqual(await rowsOf(srv, nsHdr("busy"), "SELECT count(*) FROM sqlite_schema"), [[I(0)]]);
});

test("fork and dump during a stream of two-row transactions see whole transactions only", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "w");
	await sql(srv, nsHdr("w"), "CREATE TABLE pairs(tx INTEGER, side INTEGER, pad BLOB)");
	let stop = false, n = 0;
	const writer = (async () => {
		while (!stop) {
			const res = await sql(srv, nsHdr("w"), "BEGIN", `INSERT INTO pairs VALUES (${n}, 1, randomblob(3000))`, `INSERT INTO pairs VALUES (${n}, 2, randomblob(3000))`, "COMMIT");
			for (const r of res) assert.equal(r.type, "ok", JSON.stringify(r));
			n++;
		}
	})();
	while (n < 5) await new Promise((r) => setTimeout(r, 5));
	const forks = [];
	for (let i = 0; i < 3; i++) {
		const r = await admin(srv, "POST", `/v1/namespaces/w/fork/w${i}`);
		assert.equal(r.status, 200, r.text);
		forks.push(`w${i}`);
	}
	const dumpText = await (await fetch(srv.url + "/dump", { headers: nsHdr("w") })).text();
	stop = true;
	await writer;
	const counts = [];
	for (const f of forks) {
		const [[cnt, odd], [ok]] = [
			(await rowsOf(srv, nsHdr(f), "SELECT count(*), (SELECT count(*) FROM (SELECT tx FROM pairs GROUP BY tx HAVING count(*) != 2)) FROM pairs"))[0],
			(await rowsOf(srv, nsHdr(f), "PRAGMA integrity_check"))[0],
		];
		assert.equal(Number(cnt.value) % 2, 0, `${f}: whole transactions only`);
		assert.equal(odd.value, "0");
		assert.equal(ok.value, "ok");
		counts.push(Number(cnt.value));
	}
	assert.ok(counts.every((c, i) => i === 0 || c >= counts[i - 1]), "later forks see no less");
	assert.ok(dumpText.endsWith("COMMIT;\n"));
	const inserts = dumpText.split("\n").filter((l) => l.startsWith('INSERT INTO "pairs"')).length;
	assert.equal(inserts % 2, 0, "the dump holds whole transactions only");
	assert.ok(inserts >= counts[0], "the dump was taken after the forks");
});
