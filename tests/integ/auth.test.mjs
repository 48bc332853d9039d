// Authentication and permissions on every entry point (PROTOCOL.md §7):
// a matrix of entry points x credentials against a sqld started with a
// freshly generated Ed25519 public key, then the key forms (several PEM
// keys, raw base64url inline), Basic auth, open access, and ATTACH.
//
// Outcomes are normalised to "ok", "401" (authentication failed: HTTP 401,
// WS hello_error AUTH_*, gRPC UNAUTHENTICATED) and "403" (authenticated, not
// allowed: HTTP 403, WS hello_error / response_error FORBIDDEN, gRPC
// PERMISSION_DENIED).
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { startSqld, RawWs, WebSocket, mkTempDir, rmDir, post } from "./lib/raw.mjs";
import { grpcCall, msg, decodeHello, decodeExecuteResults } from "./lib/grpcweb.mjs";
import { keypair, mint, flipSig, now, writeFile } from "./lib/jwt.mjs";

const kp = keypair();
const other = keypair();
const T = "auth_t";

let srv, dir;
before(async () => {
	dir = await mkTempDir();
	const keyFile = await writeFile(dir, "key.pem", kp.pem);
	srv = await startSqld({ args: ["--auth-jwt-key-file", keyFile] });
	const r = await post(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: `CREATE TABLE ${T}(x)` } }, { type: "close" }] },
		{ authorization: `Bearer ${mint(kp)}` });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.results[0].type, "ok", r.text);
});
after(async () => {
	await srv?.stop();
	if (dir) rmDir(dir);
});

// ---- credentials ----
const rw = () => `Bearer ${mint(kp, { a: "rw" })}`;
const CREDS = {
	none: { cred: null, want: "401", code: "AUTH_HEADER_NOT_FOUND" },
	malformed: { cred: "Bearer not-a-jwt", want: "401", code: "AUTH_JWT_INVALID" },
	badSignature: { cred: `Bearer ${flipSig(mint(kp))}`, want: "401", code: "AUTH_JWT_INVALID" },
	wrongKey: { cred: `Bearer ${mint(other)}`, want: "401", code: "AUTH_JWT_INVALID" },
	expired: { cred: `Bearer ${mint(kp, { exp: now() - 3600 })}`, want: "401", code: "AUTH_JWT_EXPIRED" },
	algNone: { cred: `Bearer ${mint(kp, {}, { alg: "none" })}`, want: "401", code: "AUTH_JWT_INVALID" },
	algHS256: { cred: `Bearer ${mint(kp, {}, { alg: "HS256" })}`, want: "401", code: "AUTH_JWT_INVALID" },
	readOnly: { cred: `Bearer ${mint(kp, { a: "ro", exp: now() + 3600 })}`, want: "ro" },
	readWrite: { cred: `Bearer ${mint(kp, { a: "rw", exp: now() + 3600 })}`, want: "rw" },
	otherNamespace: { cred: `Bearer ${mint(kp, { p: { rw: { ns: ["other"] } } })}`, want: "403", code: "FORBIDDEN" },
};
const jwtOf = (cred) => (cred ? cred.replace(/^Bearer /, "") : undefined);
const hdr = (cred) => (cred ? { authorization: cred } : {});

const READ = `SELECT count(*) FROM ${T}`;
const WRITE = `INSERT INTO ${T} VALUES (1)`;

function httpOutcome(r, okCheck) {
	if (r.status === 401 || r.status === 403) {
		assert.ok(r.json && typeof r.json.error === "string", `HTTP ${r.status} body is {"error": ...}: ${r.text}`);
		return String(r.status);
	}
	assert.equal(r.status, 200, `HTTP ${r.status}: ${r.text}`);
	okCheck(r);
	return "ok";
}

async function wsOutcome(cred, sql, { rehello }) {
	const c = await RawWs.open(srv, ["hrana2"]);
	try {
		if (rehello) {
			c.hello(jwtOf(rw()));
			await c.waitFor((m) => m.type === "hello_ok", "first hello_ok");
			c.messages.length = 0;
		}
		c.hello(jwtOf(cred));
		const h = await c.waitFor((m) => m.type === "hello_ok" || m.type === "hello_error", "hello answer");
		if (h.type === "hello_error") {
			await c.waitClosed();
			return { outcome: h.error.code === "FORBIDDEN" ? "403" : "401", code: h.error.code };
		}
		await c.ok({ type: "open_stream", stream_id: 1 });
		const m = await c.req({ type: "execute", stream_id: 1, stmt: { sql, want_rows: true } });
		if (m.type === "response_error") {
			assert.equal(m.error.code, "FORBIDDEN", JSON.stringify(m));
			// a forbidden statement is an answer, not a dropped socket
			const again = await c.req({ type: "execute", stream_id: 1, stmt: { sql: READ, want_rows: true } });
			assert.equal(again.type, "response_ok", `the socket still serves after a forbidden statement: ${JSON.stringify(again)}`);
			return { outcome: "403", code: m.error.code };
		}
		assert.equal(m.type, "response_ok", JSON.stringify(m));
		return { outcome: "ok" };
	} finally {
		c.terminate();
	}
}

let clientNo = 0;
function grpcOutcome(r) {
	if (r.status === 16) return "401";
	if (r.status === 7) return "403";
	assert.equal(r.status, 0, `grpc-status ${r.status} ${r.message}`);
	return "ok";
}

// Each entry point: run(cred, write) resolves to "ok" | "401" | "403" (or { outcome, code }).
const ENTRY = {
	"HTTP v2 pipeline": async (cred, sql) =>
		httpOutcome(await post(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql } }, { type: "close" }] }, hdr(cred)),
			(r) => assert.equal(r.json.results[0].type, "ok", r.text)),
	"HTTP v3 pipeline (x-authorization)": async (cred, sql) =>
		httpOutcome(await post(srv, "/v3/pipeline", { requests: [{ type: "execute", stmt: { sql } }, { type: "get_autocommit" }, { type: "close" }] },
			cred ? { "x-authorization": cred } : {}), (r) => assert.equal(r.json.results[0].type, "ok", r.text)),
	"HTTP v3 cursor": async (cred, sql) =>
		httpOutcome(await post(srv, "/v3/cursor", { baton: null, batch: { steps: [{ stmt: { sql } }] } }, hdr(cred)), (r) => {
			const lines = r.text.trim().split("\n").map((l) => JSON.parse(l));
			assert.ok(lines.some((e) => e.type === "step_end"), r.text);
		}),
	"WS hello": async (cred, sql) => wsOutcome(cred, sql, { rehello: false }),
	"WS re-hello": async (cred, sql) => wsOutcome(cred, sql, { rehello: true }),
	"/v1/execute": async (cred, sql) => httpOutcome(await post(srv, "/v1/execute", { stmt: { sql } }, hdr(cred)), (r) => assert.ok(r.json.result, r.text)),
	"/v1/batch": async (cred, sql) =>
		httpOutcome(await post(srv, "/v1/batch", { batch: { steps: [{ stmt: { sql } }] } }, hdr(cred)),
			(r) => assert.ok(r.json.result.step_results[0], r.text)),
	"legacy POST /": async (cred, sql) =>
		httpOutcome(await post(srv, "/", { statements: [sql] }, hdr(cred)), (r) => assert.ok(r.json[0].results, r.text)),
	"gRPC Hello": async (cred) =>
		grpcOutcome(await grpcCall(srv, "/wal_log.ReplicationLog/Hello", msg.hello(1), { headers: cred ? { "x-authorization": cred } : {} })),
	"gRPC BatchLogEntries": async (cred) => {
		const h = await grpcCall(srv, "/wal_log.ReplicationLog/Hello", msg.hello(1), { headers: { "x-authorization": rw() } });
		const token = decodeHello(h.messages[0]).sessionToken;
		return grpcOutcome(await grpcCall(srv, "/wal_log.ReplicationLog/BatchLogEntries", msg.logOffset(0), { token, headers: cred ? { "x-authorization": cred } : {} }));
	},
	"gRPC Proxy Execute": async (cred, sql) => {
		const r = await grpcCall(srv, "/proxy.Proxy/Execute", msg.program(`00000000-0000-4000-8000-${String(++clientNo).padStart(12, "0")}`, [sql]),
			{ headers: cred ? { authorization: cred } : {} });
		const o = grpcOutcome(r);
		if (o === "ok") assert.ok(!decodeExecuteResults(r.messages[0]).results[0].error, "the step ran");
		return o;
	},
};
const READ_ONLY_ENTRIES = new Set(["gRPC Hello", "gRPC BatchLogEntries"]);

async function count() {
	const r = await post(srv, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: READ } }, { type: "close" }] }, { authorization: rw() });
	return Number(r.json.results[0].response.result.rows[0][0].value);
}

describe("entry point x credential", () => {
	for (const [entry, run] of Object.entries(ENTRY)) {
		for (const [name, c] of Object.entries(CREDS)) {
			test(`${entry}: ${name}`, async () => {
				const norm = (x) => (typeof x === "string" ? { outcome: x } : x);
				const before_ = await count();
				const read = norm(await run(c.cred, READ));
				if (c.want === "ro" || c.want === "rw") {
					assert.equal(read.outcome, "ok", `a ${c.want} credential reads`);
				} else {
					assert.equal(read.outcome, c.want, `${name} on ${entry}`);
					if (read.code) assert.equal(read.code, c.code);
				}
				if (READ_ONLY_ENTRIES.has(entry)) return;
				const write = norm(await run(c.cred, WRITE));
				const after_ = await count();
				if (c.want === "rw") {
					assert.equal(write.outcome, "ok", "a rw credential writes");
					assert.equal(after_, before_ + 1, "the write happened");
				} else {
					assert.equal(write.outcome, c.want === "ro" ? "403" : c.want, `${name} writing on ${entry}`);
					assert.equal(after_, before_, "nothing was written");
				}
			});
		}
	}
});

describe("read-only tokens by other paths", () => {
	const ro = CREDS.readOnly.cred;
	const pipe = (requests, cred = ro, path = "/v3/pipeline") => post(srv, path, { requests: [...requests, { type: "close" }] }, hdr(cred));
	const ex = (sql) => ({ type: "execute", stmt: { sql } });

	test("BEGIN IMMEDIATE / EXCLUSIVE, DDL, writing PRAGMA, sequence, batch steps are refused", async () => {
		const before_ = await count();
		for (const sql of ["BEGIN IMMEDIATE", "BEGIN EXCLUSIVE", `CREATE TABLE ro_x(y)`, `DROP TABLE ${T}`, "PRAGMA user_version = 7",
			`UPDATE ${T} SET x = 2`, `DELETE FROM ${T}`, `WITH c AS (SELECT 1) INSERT INTO ${T} SELECT * FROM c`, `REPLACE INTO ${T} VALUES (9)`]) {
			const r = await pipe([ex(sql)]);
			assert.equal(r.status, 403, `${sql}: ${r.status} ${r.text}`);
		}
		assert.equal((await pipe([{ type: "sequence", sql: `SELECT 1; INSERT INTO ${T} VALUES (5)` }])).status, 403);
		assert.equal((await pipe([{ type: "batch", batch: { steps: [{ stmt: { sql: "SELECT 1" } }, { stmt: { sql: WRITE } }] } }])).status, 403);
		assert.equal(await count(), before_);
	});

	test("reads, deferred transactions, describe and savepoints are allowed", async () => {
		const r = await pipe([ex("BEGIN"), ex(READ), ex("SAVEPOINT s"), ex("RELEASE s"), ex("COMMIT"),
			{ type: "describe", sql: WRITE }, { type: "get_autocommit" }]);
		assert.equal(r.status, 200, r.text);
		for (const res of r.json.results) assert.equal(res.type, "ok", r.text);
	});

	test("a stream opened read-write then used with a read-only token cannot write", async () => {
		const r1 = await post(srv, "/v2/pipeline", { requests: [ex(READ)] }, hdr(rw()));
		assert.equal(r1.status, 200);
		const r2 = await post(srv, "/v2/pipeline", { baton: r1.json.baton, requests: [ex(WRITE)] }, hdr(ro));
		assert.equal(r2.status, 403, r2.text);
	});

	test("WS: a batch with a write step gets response_error FORBIDDEN", async () => {
		const c = await RawWs.open(srv, ["hrana3"]);
		try {
			c.hello(jwtOf(ro));
			await c.ok({ type: "open_stream", stream_id: 1 });
			const m = await c.req({ type: "batch", stream_id: 1, batch: { steps: [{ stmt: { sql: READ } }, { stmt: { sql: WRITE } }] } });
			assert.equal(m.type, "response_error");
			assert.equal(m.error.code, "FORBIDDEN");
			// re-hello with a rw token on the same socket: now allowed
			c.hello(jwtOf(rw()));
			const w = await c.req({ type: "execute", stream_id: 1, stmt: { sql: WRITE } });
			assert.equal(w.type, "response_ok", JSON.stringify(w));
		} finally {
			c.terminate();
		}
	});

	test("WS cursor: a write step under a read-only token is a FORBIDDEN step_error, the read steps run", async () => {
		const before_ = await count();
		const c = await RawWs.open(srv, ["hrana3"]);
		try {
			c.hello(jwtOf(ro));
			await c.ok({ type: "open_stream", stream_id: 1 });
			await c.ok({ type: "open_cursor", stream_id: 1, cursor_id: 7, batch: { steps: [{ stmt: { sql: READ } }, { stmt: { sql: WRITE } }] } });
			const f = await c.ok({ type: "fetch_cursor", cursor_id: 7, max_count: 100 });
			assert.ok(f.entries.some((e) => e.type === "step_end"), JSON.stringify(f));
			const err = f.entries.find((e) => e.type === "step_error");
			assert.equal(err?.step, 1, JSON.stringify(f));
			assert.equal(err.error.code, "FORBIDDEN");
			await c.ok({ type: "close_cursor", cursor_id: 7 });
		} finally {
			c.terminate();
		}
		assert.equal(await count(), before_);
	});

	test("gRPC Proxy: a read-only write is PERMISSION_DENIED, and a transaction cannot be opened for writing", async () => {
		for (const sql of [WRITE, "BEGIN IMMEDIATE"]) {
			const r = await grpcCall(srv, "/proxy.Proxy/Execute", msg.program("00000000-0000-4000-8000-00000000ffff", [sql]), { headers: { "x-authorization": ro } });
			assert.equal(r.status, 7, `${sql}: ${r.status} ${r.message}`);
		}
	});

	test("ATTACH needs the attach permission (roa), ro and rw are refused", async () => {
		const att = ex("ATTACH ':memory:' AS aux");
		for (const [claims, want] of [[{ a: "ro" }, 403], [{ a: "rw" }, 403], [{ p: { ro: { ns: ["default"] } } }, 403]]) {
			const r = await pipe([att], `Bearer ${mint(kp, claims)}`);
			assert.equal(r.status, want, `${JSON.stringify(claims)}: ${r.text}`);
		}
		for (const claims of [{ a: "roa" }, { p: { rwa: { ns: ["default"] } } }]) {
			const r = await pipe([att, ex("DETACH aux")], `Bearer ${mint(kp, claims)}`);
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.results[0].type, "ok", `${JSON.stringify(claims)}: ${r.text}`);
		}
	});

	test("p claims: ro on this namespace reads only, rw writes, unknown kinds ignored", async () => {
		const pro = `Bearer ${mint(kp, { p: { ro: { ns: ["default"] }, rw: { ns: ["other"] } } })}`;
		assert.equal((await pipe([ex(READ)], pro)).status, 200);
		assert.equal((await pipe([ex(WRITE)], pro)).status, 403);
		const prw = `Bearer ${mint(kp, { p: { rw: { ns: ["default"] }, zzz: 1 } })}`;
		assert.equal((await pipe([ex(WRITE)], prw)).status, 200);
		const legacyOther = `Bearer ${mint(kp, { id: "other" })}`;
		assert.equal((await pipe([ex(READ)], legacyOther)).status, 403);
		const legacyHere = `Bearer ${mint(kp, { id: "default", a: "ro" })}`;
		assert.equal((await pipe([ex(READ)], legacyHere)).status, 200);
	});

	test("exp within the leeway is accepted; RS256, a crit header and a bad scheme are refused", async () => {
		assert.equal((await pipe([ex(READ)], `Bearer ${mint(kp, { exp: now() - 5 })}`)).status, 200);
		for (const cred of [`Bearer ${mint(kp, {}, { alg: "RS256" })}`, `Bearer ${mint(kp, {}, { header: { alg: "EdDSA", crit: ["x"] } })}`,
			"Digest abc", "Bearer", `Basic dXNlcjpwYXNz`]) {
			const r = await pipe([ex(READ)], cred);
			assert.equal(r.status, 401, `${cred.slice(0, 40)}: ${r.text}`);
			assert.match(r.json.error, /^Unauthorized: /);
		}
	});

	test("probes and health stay open", async () => {
		for (const p of ["/health", "/v2", "/v3", "/version"]) {
			const r = await fetch(srv.url + p);
			assert.equal(r.status, 200, p);
		}
	});
});

describe("key forms and strategies", () => {
	test("several PEM keys in one file: a token of either verifies", async (t) => {
		const d = await mkTempDir();
		t.after(() => rmDir(d));
		const f = await writeFile(d, "keys.pem", other.pem + kp.pem);
		const s = await startSqld({ args: ["--auth-jwt-key-file", f] });
		t.after(() => s.stop());
		for (const k of [kp, other]) {
			const r = await post(s, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "SELECT 1" } }] }, { authorization: `Bearer ${mint(k)}` });
			assert.equal(r.status, 200, r.text);
		}
		const third = keypair();
		const r = await post(s, "/v2/pipeline", { requests: [] }, { authorization: `Bearer ${mint(third)}` });
		assert.equal(r.status, 401);
	});

	test("raw base64url key inline through SQLD_AUTH_JWT_KEY", async (t) => {
		const s = await startSqld({ env: { SQLD_AUTH_JWT_KEY: kp.raw } });
		t.after(() => s.stop());
		assert.equal((await post(s, "/v2/pipeline", { requests: [] }, { authorization: `Bearer ${mint(kp)}` })).status, 200);
		assert.equal((await post(s, "/v2/pipeline", { requests: [] }, { authorization: `Bearer ${mint(other)}` })).status, 401);
		assert.equal((await post(s, "/v2/pipeline", { requests: [] })).status, 401);
	});

	test("a private key or garbage as the key is refused at start", async (t) => {
		const d = await mkTempDir();
		t.after(() => rmDir(d));
		const priv = await writeFile(d, "priv.pem", kp.privateKey.export({ type: "pkcs8", format: "pem" }));
		await assert.rejects(startSqld({ args: ["--auth-jwt-key-file", priv] }), /private key/);
		await assert.rejects(startSqld({ env: { SQLD_AUTH_JWT_KEY: "not a key" } }), /JWT key/);
	});

	test("Basic auth: --http-auth basic:<cred>", async (t) => {
		const cred = Buffer.from("alice:s3cret").toString("base64");
		const s = await startSqld({ args: ["--http-auth", `basic:${cred}`] });
		t.after(() => s.stop());
		const body = { requests: [{ type: "execute", stmt: { sql: "CREATE TABLE IF NOT EXISTS b(x)" } }, { type: "close" }] };
		assert.equal((await post(s, "/v2/pipeline", body, { authorization: `Basic ${cred}` })).status, 200);
		assert.equal((await post(s, "/v2/pipeline", body, { authorization: `basic ${cred.replace(/=+$/, "")}` })).status, 200);
		const bad = await post(s, "/v2/pipeline", body, { authorization: `Basic ${Buffer.from("alice:nope").toString("base64")}` });
		assert.equal(bad.status, 401);
		assert.match(bad.json.error, /Basic/);
		assert.equal((await post(s, "/v2/pipeline", body, { authorization: `Bearer ${mint(kp)}` })).status, 401);
		assert.equal((await post(s, "/v2/pipeline", body)).status, 401);
		// WebSocket: a hello without jwt falls back to the upgrade's Authorization header
		const c = await RawWs.open(s, ["hrana2"]);
		t.after(() => c.terminate());
		c.hello();
		const h = await c.waitFor((m) => m.type === "hello_ok" || m.type === "hello_error");
		assert.equal(h.type, "hello_error");
		assert.equal(h.error.code, "AUTH_HEADER_NOT_FOUND");
		// ... and with the upgrade request's Authorization: Basic, the hello is accepted
		const ws = new WebSocket(s.wsUrl, ["hrana2"], { headers: { authorization: `Basic ${cred}` } });
		await new Promise((res, rej) => (ws.once("open", res), ws.once("error", rej)));
		const c2 = new RawWs(ws);
		t.after(() => c2.terminate());
		c2.hello();
		await c2.waitFor((m) => m.type === "hello_ok", "hello_ok with the upgrade's Basic credentials");
		await c2.ok({ type: "open_stream", stream_id: 1 });
		await c2.ok({ type: "execute", stream_id: 1, stmt: { sql: "INSERT INTO b VALUES (1)" } });
		// a jwt in the hello is checked as a Bearer token, not replaced by the header
		const ws3 = new WebSocket(s.wsUrl, ["hrana2"], { headers: { authorization: `Basic ${cred}` } });
		await new Promise((res, rej) => (ws3.once("open", res), ws3.once("error", rej)));
		const c3 = new RawWs(ws3);
		t.after(() => c3.terminate());
		c3.hello(mint(kp));
		const h3 = await c3.waitFor((m) => m.type === "hello_ok" || m.type === "hello_error");
		assert.equal(h3.type, "hello_error");
		assert.equal(h3.error.code, "AUTH_JWT_NOT_ALLOWED");
	});

	test("open access: no key configured, any credential (even `Bearer `) is fine", async (t) => {
		const s = await startSqld();
		t.after(() => s.stop());
		for (const h of [{}, { authorization: "Bearer " }, { authorization: "Bearer garbage" }, { authorization: `Bearer ${mint(kp, { a: "ro" })}` }]) {
			const r = await post(s, "/v2/pipeline", { requests: [{ type: "execute", stmt: { sql: "CREATE TABLE IF NOT EXISTS o(x)" } }, { type: "close" }] }, h);
			assert.equal(r.status, 200, r.text);
			assert.equal(r.json.results[0].type, "ok", `${JSON.stringify(h)}: ${r.text}`);
		}
		const c = await RawWs.open(s, ["hrana2"]);
		t.after(() => c.terminate());
		c.hello("whatever");
		await c.waitFor((m) => m.type === "hello_ok");
	});
});
