// A namespace's first open runs on a worker, never on the network thread
// (sqld/net_ns.c): while opens are held in flight (SQLWIRE_TEST_NS_OPEN_GATE
// names a file the opens wait for), other namespaces are served, and every
// kind of request that waits for an open carries on correctly once it is
// done: a Hrana HTTP pipeline (its body arrives meanwhile), a WebSocket whose
// hello and requests are pipelined before its session can open, GET /dump,
// a gRPC call, and connections that go away while they wait.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { RawWs, mkTempDir, rmDir, sleep, I } from "./lib/raw.mjs";
import { startAdmin, admin, createNs, nsHdr, pipe, sql, rowsOf } from "./lib/ns.mjs";
import { hello } from "./lib/grpcweb.mjs";

const b64 = (s) => Buffer.from(s).toString("base64").replace(/=+$/, "");

/** Tracks whether a promise has settled (without awaiting it). */
function tracked(p) {
	const t = { settled: false, p: null };
	t.p = p.then((v) => ((t.settled = true), v), (e) => ((t.settled = true), Promise.reject(e)));
	t.p.catch(() => {});
	return t;
}

test("first opens run on a worker: other namespaces are served meanwhile, and waiting requests carry on", async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	let srv = await startAdmin({ dir, args: ["--enable-namespaces"] });
	for (const n of ["a", "b", "c", "d"]) {
		await createNs(srv, n);
		await sql(srv, nsHdr(n), "CREATE TABLE t(v)", `INSERT INTO t VALUES ('${n}')`);
	}
	await sql(srv, nsHdr("default"), "CREATE TABLE t(v)", "INSERT INTO t VALUES ('default')");
	await srv.stop();

	// restarted: only the default namespace is open; the others open on use,
	// and every such open waits for the gate file
	const gate = path.join(dir, "gate");
	srv = await startAdmin({ dir, args: ["--enable-namespaces"], env: { SQLWIRE_TEST_NS_OPEN_GATE: gate } });
	t.after(() => srv.stop());

	const q = (n) => tracked(rowsOf(srv, nsHdr(n), "SELECT v FROM t"));
	const httpA1 = q("a");
	const httpA2 = q("a"); // a second request for the same namespace
	// a WebSocket on b sends hello and two requests before its session exists
	const ws = await RawWs.open(srv, ["hrana2"], { headers: nsHdr("b") });
	ws.hello();
	const sOpen = ws.sendReq({ type: "open_stream", stream_id: 1 });
	const sExec = ws.sendReq({ type: "execute", stream_id: 1, stmt: { sql: "SELECT v FROM t" } });
	const wsExec = tracked(ws.response(sExec, 30000));
	const dumpC = tracked(fetch(srv.url + "/dump", { headers: nsHdr("c") }).then(async (r) => ({ status: r.status, text: await r.text() })));
	const helloD = tracked(hello(srv, { ns: b64("d") }));
	// connections that go away while their namespace opens
	const gone = await RawWs.open(srv, ["hrana3"], { headers: nsHdr("a") });
	gone.hello();
	gone.terminate();
	const ac = new AbortController();
	const aborted = fetch(srv.url + "/v2/pipeline", {
		method: "POST",
		headers: { "content-type": "application/json", ...nsHdr("c") },
		body: JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }),
		signal: ac.signal,
	}).catch(() => "aborted");
	await sleep(100);
	ac.abort();
	assert.equal(await aborted, "aborted");

	// the network thread is free: the open namespace answers, a missing one
	// is refused, and none of the waiting requests could have finished
	assert.deepEqual(await rowsOf(srv, nsHdr("default"), "SELECT v FROM t"), [[{ type: "text", value: "default" }]]);
	const missing = await pipe(srv, [{ type: "execute", stmt: { sql: "SELECT 1" } }], nsHdr("nope"));
	assert.equal(missing.status, 404);
	assert.match(missing.json.error, /Namespace `nope` doesn't exist/);
	for (const [name, p] of Object.entries({ httpA1, httpA2, wsExec, dumpC, helloD }))
		assert.equal(p.settled, false, `${name} finished while its namespace's open was held`);
	assert.equal(fs.existsSync(gate), false);

	fs.writeFileSync(gate, "");
	assert.deepEqual(await httpA1.p, [[{ type: "text", value: "a" }]]);
	assert.deepEqual(await httpA2.p, [[{ type: "text", value: "a" }]]);
	const open = await ws.response(sOpen, 30000);
	assert.equal(open.type, "response_ok", JSON.stringify(open));
	const ex = await wsExec.p;
	assert.equal(ex.type, "response_ok", JSON.stringify(ex));
	assert.deepEqual(ex.response.result.rows, [[{ type: "text", value: "b" }]]);
	assert.ok(ws.messages.some((m) => m.type === "hello_ok"), "the pipelined hello was answered");
	// the kept messages were answered in the order they were sent
	const order = ws.messages.map((m) => m.type === "hello_ok" ? "hello" : m.request_id);
	assert.deepEqual(order, ["hello", sOpen, sExec]);
	ws.close();
	const d = await dumpC.p;
	assert.equal(d.status, 200);
	assert.match(d.text, /INSERT INTO "?t"? VALUES\('c'\)/);
	const h = await helloD.p;
	assert.ok(h.logId);
	// everything works on from here, on every namespace
	for (const n of ["a", "b", "c", "d"])
		assert.deepEqual(await rowsOf(srv, nsHdr(n), "SELECT count(*) FROM t"), [[I(1)]]);
	// every reference the waiting requests took was given back
	await srv.stop();
	assert.doesNotMatch(srv.output().stderr, /still has \d+ users/);
});

test("a fork's copy cannot be opened half-made: requests for the new namespace during the fork see 404, then the whole copy", async (t) => {
	const srv = await startAdmin({ args: ["--enable-namespaces"] });
	t.after(() => srv.stop());
	await createNs(srv, "src");
	// ~40 MB, so the copy takes a while
	await sql(srv, nsHdr("src"), "CREATE TABLE t(b)",
		"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) INSERT INTO t SELECT randomblob(1000000) FROM c");
	let forked = false;
	const fork = admin(srv, "POST", "/v1/namespaces/src/fork/dst").then((r) => ((forked = true), r));
	const seen = new Set();
	while (!forked) {
		const r = await pipe(srv, [{ type: "execute", stmt: { sql: "SELECT count(*) FROM t" } }, { type: "close" }], nsHdr("dst"));
		if (r.status === 404) {
			seen.add(404);
			continue;
		}
		// regression: the copy was made in place, and a request could open
		// (and list) the namespace while the copy was half written
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.results[0].type, "ok", JSON.stringify(r.json.results[0]));
		assert.deepEqual(r.json.results[0].response.result.rows, [[I(40)]]);
		seen.add(200);
	}
	const f = await fork;
	assert.equal(f.status, 200, f.text);
	assert.deepEqual(await rowsOf(srv, nsHdr("dst"), "SELECT count(*) FROM t"), [[I(40)]]);
	assert.deepEqual(await rowsOf(srv, nsHdr("dst"), "PRAGMA integrity_check"), [[{ type: "text", value: "ok" }]]);
});
