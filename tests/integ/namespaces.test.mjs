// Namespaces (PROTOCOL.md §6.3): each namespace is its own database and frame
// log; the namespace of a request comes from x-namespace-bin, x-namespace or
// the first label of the Host header; a missing one is 404 (HTTP and the
// WebSocket upgrade) or FAILED_PRECONDITION NAMESPACE_DOESNT_EXIST (gRPC).
// Streams, batons, WebSocket connections and replication sessions are bound
// to their namespace, and nothing of one namespace is visible from another.
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { RawWs, startSqld, useSqld, mkTempDir, rmDir } from "./lib/raw.mjs";
import { useAdmin, startAdmin, admin, createNs, nsHdr, pipe, sql, rowsOf } from "./lib/ns.mjs";
import { grpcCall, grpcStream, hello, msg, decodeFrames, decodeExecuteResults, GRPC } from "./lib/grpcweb.mjs";

const b64 = (s) => Buffer.from(s).toString("base64").replace(/=+$/, "");
const I = (n) => ({ type: "integer", value: String(n) });

/** A raw request with a chosen Host header (fetch does not let us set it). */
function rawPost(srv, p, body, headers) {
	return new Promise((resolve, reject) => {
		const data = JSON.stringify(body);
		const req = http.request({ host: "127.0.0.1", port: srv.port, method: "POST", path: p, headers: { "content-type": "application/json", "content-length": Buffer.byteLength(data), ...headers } }, (res) => {
			let text = "";
			res.setEncoding("utf8");
			res.on("data", (d) => (text += d));
			res.on("end", () => {
				let json;
				try { json = JSON.parse(text); } catch { json = undefined; }
				resolve({ status: res.statusCode, text, json });
			});
		});
		req.on("error", reject);
		req.end(data);
	});
}

test("namespaces disabled: every request is the default namespace whatever the headers say", async (t) => {
	const srv = await useSqld(t);
	await sql(srv, {}, "CREATE TABLE t(x)", "INSERT INTO t VALUES (1)");
	assert.deepEqual(await rowsOf(srv, nsHdr("other"), "SELECT x FROM t"), [[I(1)]]);
	assert.deepEqual(await rowsOf(srv, { "x-namespace-bin": b64("zzz") }, "SELECT x FROM t"), [[I(1)]]);
	const r = await rawPost(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "SELECT x FROM t" } }] }, { host: "foo.example.com" });
	assert.equal(r.status, 200);
	assert.equal(r.json.results[0].type, "ok");
	// the replication services ignore x-namespace-bin too (but it must decode)
	const h = await hello(srv, { ns: b64("anything") });
	assert.ok(h.logId);
	// no dbs/ directory is made
	assert.equal(fs.existsSync(path.join(srv.dbPath, "dbs")), false);
});

test("resolution order: x-namespace-bin, then x-namespace, then the Host label; isolation between namespaces", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	for (const n of ["alpha", "beta", "gamma"]) await createNs(srv, n);
	await sql(srv, nsHdr("alpha"), "CREATE TABLE t(v)", "INSERT INTO t VALUES ('alpha')");
	await sql(srv, { "x-namespace-bin": b64("beta") }, "CREATE TABLE t(v)", "INSERT INTO t VALUES ('beta')");
	await sql(srv, nsHdr("default"), "CREATE TABLE t(v)", "INSERT INTO t VALUES ('default')");
	const val = async (h) => (await rowsOf(srv, h, "SELECT v FROM t"))[0][0].value;
	assert.equal(await val(nsHdr("alpha")), "alpha");
	assert.equal(await val({ "x-namespace-bin": b64("beta") }), "beta");
	assert.equal(await val({ "x-namespace-bin": Buffer.from("beta").toString("base64") + "=".repeat(0) }), "beta");
	// x-namespace-bin wins over x-namespace
	assert.equal(await val({ "x-namespace-bin": b64("alpha"), "x-namespace": "beta" }), "alpha");
	// the Host label, when no header names one
	let r = await rawPost(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "SELECT v FROM t" } }] }, { host: "beta.db.example.com" });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.results[0].response.result.rows[0][0].value, "beta");
	r = await rawPost(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "SELECT v FROM t" } }] }, { host: "localhost:1234" });
	assert.equal(r.json.results[0].response.result.rows[0][0].value, "default", "a host without a dot is the default namespace");
	// gamma has no table t: nothing leaks across namespaces
	const [g] = await sql(srv, nsHdr("gamma"), "SELECT v FROM t");
	assert.equal(g.type, "error");
	assert.match(g.error.message, /no such table/);
	// fetch to 127.0.0.1 sends Host 127.0.0.1:port, whose first label is "127" (as libSQL)
	r = await pipe(srv, [{ type: "execute", stmt: { sql: "SELECT 1" } }]);
	assert.equal(r.status, 404);
	assert.match(r.json.error, /Namespace `127` doesn't exist/);
});

test("a missing namespace is 404 on every Hrana route, /dump and the WebSocket upgrade; an invalid name is 400", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	for (const p of ["/v2/pipeline", "/v3/pipeline", "/v3/cursor", "/v1/execute", "/v1/batch", "/"]) {
		const r = await rawPost(srv, p, { requests: [] }, nsHdr("nope"));
		assert.equal(r.status, 404, p);
		assert.equal(r.json.error, "Namespace `nope` doesn't exist", p);
	}
	const d = await fetch(srv.url + "/dump", { headers: nsHdr("nope") });
	assert.equal(d.status, 404);
	await assert.rejects(RawWs.open(srv, ["hrana3"], { headers: nsHdr("nope") }), (e) => e.status === 404 && /doesn't exist/.test(e.body));
	for (const bad of ["..", "a.b", "a/b", "%2e%2e"]) {
		const r = await rawPost(srv, "/v2/pipeline", { requests: [] }, { "x-namespace": bad });
		assert.equal(r.status, 400, bad);
	}
	const r = await rawPost(srv, "/v2/pipeline", { requests: [] }, { "x-namespace-bin": b64("../etc") });
	assert.equal(r.status, 400);
});

test("a baton is bound to its namespace: presenting it under another namespace is an invalid baton", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "a");
	await createNs(srv, "b");
	const r1 = await pipe(srv, [{ type: "execute", stmt: { sql: "CREATE TABLE secret(x)" } }, { type: "execute", stmt: { sql: "INSERT INTO secret VALUES (7)" } }], nsHdr("a"));
	assert.equal(r1.status, 200);
	const r2 = await pipe(srv, [{ type: "execute", stmt: { sql: "SELECT x FROM secret" } }], nsHdr("b"), r1.json.baton);
	assert.equal(r2.status, 400);
	assert.match(r2.text, /invalid baton/);
	// the baton still works in its own namespace
	const r3 = await pipe(srv, [{ type: "execute", stmt: { sql: "SELECT x FROM secret" } }, { type: "close" }], nsHdr("a"), r1.json.baton);
	assert.equal(r3.status, 200, r3.text);
	assert.deepEqual(r3.json.results[0].response.result.rows, [[I(7)]]);
});

test("a WebSocket connection is bound to the namespace of its upgrade request", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "ws1");
	await sql(srv, nsHdr("ws1"), "CREATE TABLE t(x)", "INSERT INTO t VALUES (11)");
	await sql(srv, nsHdr("default"), "CREATE TABLE t(x)", "INSERT INTO t VALUES (22)");
	for (const [h, want] of [[nsHdr("ws1"), "11"], [{ "x-namespace": "default" }, "22"]]) {
		const c = await RawWs.open(srv, ["hrana3"], { headers: h });
		t.after(() => c.terminate());
		await c.helloOk();
		await c.ok({ type: "open_stream", stream_id: 1 });
		const resp = await c.ok({ type: "execute", stream_id: 1, stmt: { sql: "SELECT x FROM t" } });
		assert.equal(resp.result.rows[0][0].value, want);
	}
});

test("--disable-default-namespace: no fallback to default (400), the default namespace does not exist until created", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces", "--disable-default-namespace"] });
	let r = await rawPost(srv, "/v2/pipeline", { requests: [] }, { host: "localhost" });
	assert.equal(r.status, 400, r.text);
	r = await rawPost(srv, "/v2/pipeline", { requests: [] }, nsHdr("default"));
	assert.equal(r.status, 404, r.text);
	await createNs(srv, "default");
	r = await rawPost(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }, nsHdr("default"));
	assert.equal(r.status, 200, r.text);
	await createNs(srv, "x");
	r = await rawPost(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }, { host: "x.example.com" });
	assert.equal(r.status, 200, r.text);
});

test("namespaces persist across restarts and are opened on first use; the default namespace keeps <db-path>/data", async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	let srv = await startAdmin({ dir, args: ["--enable-namespaces"] });
	await createNs(srv, "keep");
	await sql(srv, nsHdr("keep"), "CREATE TABLE t(x)", "INSERT INTO t VALUES (5)");
	await sql(srv, nsHdr("default"), "CREATE TABLE d(x)");
	await srv.stop();
	assert.ok(fs.existsSync(path.join(dir, "data.sqld", "data")), "default namespace at the old path");
	assert.ok(fs.existsSync(path.join(dir, "data.sqld", "dbs", "keep", "data")));
	assert.ok(fs.existsSync(path.join(dir, "data.sqld", "dbs", "keep", "wallog")));
	srv = await startAdmin({ dir, args: ["--enable-namespaces"] });
	t.after(() => srv.stop());
	assert.deepEqual(await rowsOf(srv, nsHdr("keep"), "SELECT x FROM t"), [[I(5)]]);
	assert.deepEqual(await rowsOf(srv, nsHdr("default"), "SELECT name FROM sqlite_schema"), [[{ type: "text", value: "d" }]]);
});

test("gRPC replication per namespace: x-namespace-bin picks the log; required when enabled; unknown is NAMESPACE_DOESNT_EXIST", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "r1");
	await sql(srv, nsHdr("r1"), "CREATE TABLE t(x)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)");
	const hDef = await hello(srv, { ns: b64("default") });
	const hR1 = await hello(srv, { ns: b64("r1") });
	assert.notEqual(hR1.logId, hDef.logId, "each namespace has its own log lineage");
	assert.notEqual(hR1.sessionToken.toString(), hDef.sessionToken.toString());
	assert.ok(Number(hR1.currentReplicationIndex) > Number(hDef.currentReplicationIndex ?? -1));
	// frames of r1 with r1's token
	const b = await grpcCall(srv, "/wal_log.ReplicationLog/BatchLogEntries", msg.logOffset(0), { ns: b64("r1"), token: hR1.sessionToken.toString() });
	assert.equal(b.status, GRPC.OK, b.message);
	assert.equal(decodeFrames(b.messages[0]).length, Number(hR1.currentReplicationIndex) + 1);
	// r1's token is not valid for the default namespace
	const x = await grpcCall(srv, "/wal_log.ReplicationLog/BatchLogEntries", msg.logOffset(0), { ns: b64("default"), token: hR1.sessionToken.toString() });
	assert.equal(x.status, GRPC.FAILED_PRECONDITION);
	assert.equal(x.message, "NO_HELLO");
	const missing = await grpcCall(srv, "/wal_log.ReplicationLog/Hello", msg.hello(1), { ns: null });
	assert.equal(missing.status, GRPC.INVALID_ARGUMENT);
	assert.equal(missing.message, "Missing x-namespace-bin metadata");
	const unknown = await grpcCall(srv, "/wal_log.ReplicationLog/Hello", msg.hello(1), { ns: b64("nope") });
	assert.equal(unknown.status, GRPC.FAILED_PRECONDITION);
	assert.equal(unknown.message, "NAMESPACE_DOESNT_EXIST");
	// Proxy.Execute writes into the namespace of the call, per-namespace client ids
	const e1 = await grpcCall(srv, "/proxy.Proxy/Execute", msg.program("c1", ["INSERT INTO t VALUES (3)"]), { ns: b64("r1") });
	assert.equal(e1.status, GRPC.OK, e1.message);
	const e2 = await grpcCall(srv, "/proxy.Proxy/Execute", msg.program("c1", ["SELECT * FROM t"]), { ns: b64("default") });
	assert.equal(e2.status, GRPC.OK);
	assert.ok(decodeExecuteResults(e2.messages[0]).results[0].error, "default has no table t");
	assert.deepEqual(await rowsOf(srv, nsHdr("r1"), "SELECT count(*) FROM t"), [[I(3)]]);
});

test("a LogEntries stream of one namespace is woken by that namespace's commits", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "s1");
	await sql(srv, nsHdr("s1"), "CREATE TABLE t(x)");
	const h = await hello(srv, { ns: b64("s1") });
	const next = Number(h.currentReplicationIndex) + 1;
	const st = grpcStream(srv, "/wal_log.ReplicationLog/LogEntries", msg.logOffset(next), { ns: b64("s1"), token: h.sessionToken.toString() });
	t.after(() => st.close());
	await st.headers;
	// a commit in another namespace wakes nothing here; one in s1 does
	await sql(srv, nsHdr("default"), "CREATE TABLE other(x)");
	await sql(srv, nsHdr("s1"), "INSERT INTO t VALUES (1)");
	const m = await st.next(10000);
	assert.ok(m.length > 0);
});
