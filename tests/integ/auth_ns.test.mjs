// Authentication with namespaces (PROTOCOL.md §6.3, §7.2): a token's grant is
// for the namespace the request names. A token scoped by its `p` claim to
// namespace "alpha" reads and writes alpha and cannot reach "beta" by any
// path: Hrana over HTTP, the WebSocket hello, GET /dump, and the gRPC
// replication calls (which name their namespace with x-namespace-bin).
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawWs, mkTempDir, rmDir } from "./lib/raw.mjs";
import { useAdmin, createNs, nsHdr, pipe } from "./lib/ns.mjs";
import { grpcCall, msg, GRPC } from "./lib/grpcweb.mjs";
import { keypair, mint, writeFile } from "./lib/jwt.mjs";

const kp = keypair();
const b64 = (s) => Buffer.from(s).toString("base64");
const GRPC_PERMISSION_DENIED = 7;

test("a token for one namespace cannot read or write another", async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	const keyFile = await writeFile(dir, "key.pem", kp.pem);
	const srv = await useAdmin(t, { args: ["--enable-namespaces", "--auth-jwt-key-file", keyFile] });
	await createNs(srv, "alpha");
	await createNs(srv, "beta");
	const full = { authorization: `Bearer ${mint(kp, { a: "rw" })}` };
	for (const n of ["alpha", "beta"]) {
		const r = await pipe(srv, [{ type: "execute", stmt: { sql: "CREATE TABLE t(v)" } }, { type: "execute", stmt: { sql: `INSERT INTO t VALUES ('${n}')` } }, { type: "close" }], { ...nsHdr(n), ...full });
		assert.equal(r.status, 200, r.text);
		assert.equal(r.json.results[1].type, "ok", r.text);
	}
	const alphaOnly = mint(kp, { p: { rw: { ns: ["alpha"] } } });
	const auth = { authorization: `Bearer ${alphaOnly}` };
	const read = [{ type: "execute", stmt: { sql: "SELECT v FROM t" } }, { type: "close" }];

	// HTTP: alpha yes, beta no (and beta's data unchanged by a write attempt)
	let r = await pipe(srv, read, { ...nsHdr("alpha"), ...auth });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.results[0].response.result.rows[0][0].value, "alpha");
	r = await pipe(srv, read, { ...nsHdr("beta"), ...auth });
	assert.equal(r.status, 403, r.text);
	r = await pipe(srv, [{ type: "execute", stmt: { sql: "DELETE FROM t" } }], { ...nsHdr("beta"), ...auth });
	assert.equal(r.status, 403, r.text);
	r = await pipe(srv, read, { ...nsHdr("beta"), ...full });
	assert.equal(r.json.results[0].response.result.rows.length, 1, "beta untouched");

	// WebSocket: the hello is checked against the namespace of the upgrade
	for (const [n, want] of [["alpha", "hello_ok"], ["beta", "hello_error"]]) {
		const c = await RawWs.open(srv, ["hrana2"], { headers: nsHdr(n) });
		c.hello(alphaOnly);
		const h = await c.waitFor((m) => m.type === "hello_ok" || m.type === "hello_error", "hello answer");
		assert.equal(h.type, want, `${n}: ${JSON.stringify(h)}`);
		if (want === "hello_error") assert.equal(h.error.code, "FORBIDDEN");
		c.close();
	}

	// GET /dump needs a credential for the namespace too
	const dump = async (n, h) => (await fetch(srv.url + "/dump", { headers: { ...nsHdr(n), ...h } }));
	assert.equal((await dump("alpha", {})).status, 401);
	const okDump = await dump("alpha", auth);
	assert.equal(okDump.status, 200);
	assert.match(await okDump.text(), /INSERT INTO .*'alpha'/);
	assert.equal((await dump("beta", auth)).status, 403);

	// gRPC replication: x-namespace-bin names the namespace the grant must cover
	const g = async (n) => grpcCall(srv, "/wal_log.ReplicationLog/Hello", msg.hello(1), { ns: b64(n), headers: { "x-authorization": `Bearer ${alphaOnly}` } });
	const ga = await g("alpha");
	assert.equal(ga.status, GRPC.OK, ga.message);
	const gb = await g("beta");
	assert.equal(gb.status, GRPC_PERMISSION_DENIED, `beta: ${gb.status} ${gb.message}`);
});
