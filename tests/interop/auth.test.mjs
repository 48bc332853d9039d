// The real clients with authToken against a sqld that requires a JWT
// (PROTOCOL.md §7): @libsql/client over http:// and ws://, the Rust-based
// `libsql` remote client, and the `libsql` embedded replica (gRPC-web sync
// and Proxy writes with the token in x-authorization). Tokens are minted at
// test time with a fresh Ed25519 key pair.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import Database from "libsql";
import { createClient } from "@libsql/client";
import { startSqld, mkTempDir, rmDir } from "./lib/sqld.mjs";
import { keypair, mint, now, writeFile } from "../integ/lib/jwt.mjs";

const kp = keypair();
let srv, dir;
before(async () => {
	dir = await mkTempDir();
	srv = await startSqld({ args: ["--auth-jwt-key-file", await writeFile(dir, "key.pem", kp.pem)] });
	const c = createClient({ url: srv.url, authToken: mint(kp) });
	await c.execute("CREATE TABLE t (x INTEGER)");
	c.close();
});
after(async () => {
	await srv?.stop();
	if (dir) rmDir(dir);
});

const rwToken = () => mint(kp, { a: "rw", exp: now() + 600 });
const roToken = () => mint(kp, { a: "ro", exp: now() + 600 });

for (const scheme of ["http", "ws"]) {
	test(`@libsql/client over ${scheme}://: a rw token writes, a ro token reads only, no token is refused`, async (t) => {
		const url = scheme === "http" ? srv.url : srv.wsUrl;
		const rw = createClient({ url, authToken: rwToken() });
		const ro = createClient({ url, authToken: roToken() });
		const anon = createClient({ url });
		const wrongKey = createClient({ url, authToken: mint(keypair()) });
		t.after(() => {
			rw.close();
			ro.close();
			anon.close();
			wrongKey.close();
		});
		const n0 = Number((await rw.execute("SELECT count(*) AS n FROM t")).rows[0].n);
		await rw.execute({ sql: "INSERT INTO t VALUES (?)", args: [1] });
		await rw.batch(["INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)"], "write");
		assert.equal(Number((await ro.execute("SELECT count(*) AS n FROM t")).rows[0].n), n0 + 3);
		await assert.rejects(ro.execute("INSERT INTO t VALUES (4)"), (e) => {
			// HTTP: 403 {"error"} becomes a server error; WS: response_error FORBIDDEN
			assert.match(String(e.message) + String(e.code), /403|FORBIDDEN|forbidden/i, `${e.code}: ${e.message}`);
			return true;
		});
		await assert.rejects(ro.batch(["SELECT 1", "DELETE FROM t"], "write"));
		await assert.rejects(anon.execute("SELECT 1"), (e) => {
			assert.match(String(e.message) + String(e.code), /401|AUTH_HEADER_NOT_FOUND|authorization/i, `${e.code}: ${e.message}`);
			return true;
		});
		await assert.rejects(wrongKey.execute("SELECT 1"), (e) => {
			assert.match(String(e.message) + String(e.code), /401|AUTH_JWT_INVALID/i, `${e.code}: ${e.message}`);
			return true;
		});
		assert.equal(Number((await rw.execute("SELECT count(*) AS n FROM t")).rows[0].n), n0 + 3, "the refused writes changed nothing");
		// an interactive transaction with the ro token cannot take the write lock
		const tx = await ro.transaction("read");
		assert.ok((await tx.execute("SELECT count(*) AS n FROM t")).rows.length === 1);
		await tx.rollback();
		// (BEGIN IMMEDIATE goes out with the transaction's first statement)
		await assert.rejects((async () => {
			const wtx = await ro.transaction("write");
			try {
				await wtx.execute("SELECT 1");
			} finally {
				wtx.close();
			}
		})());
	});
}

test("libsql remote client (Rust, Hrana v3 with cursor) with authToken", async () => {
	const db = new Database(srv.url, { authToken: rwToken() });
	try {
		db.exec("INSERT INTO t VALUES (10)");
		assert.ok(db.prepare("SELECT count(*) FROM t").raw().all()[0][0] >= 1);
	} finally {
		db.close();
	}
	const ro = new Database(srv.url, { authToken: roToken() });
	try {
		assert.throws(() => ro.exec("INSERT INTO t VALUES (11)"));
		assert.ok(ro.prepare("SELECT count(*) FROM t").raw().all()[0][0] >= 1);
	} finally {
		ro.close();
	}
});

test("embedded replica (libsql, gRPC-web) with authToken: sync and forwarded writes; a ro token syncs but cannot write; no token cannot sync", async (t) => {
	const d = await mkTempDir();
	t.after(() => rmDir(d));
	const rep = new Database(path.join(d, "rw.db"), { syncUrl: srv.url, authToken: rwToken() });
	t.after(() => rep.close());
	rep.sync();
	const before_ = rep.prepare("SELECT count(*) FROM t").raw().all()[0][0];
	rep.exec("INSERT INTO t VALUES (20)");
	assert.equal(rep.prepare("SELECT count(*) FROM t").raw().all()[0][0], before_ + 1, "the write went through the primary");

	const ro = new Database(path.join(d, "ro.db"), { syncUrl: srv.url, authToken: roToken() });
	t.after(() => ro.close());
	ro.sync();
	assert.equal(ro.prepare("SELECT count(*) FROM t").raw().all()[0][0], before_ + 1, "a ro token syncs");
	assert.throws(() => ro.exec("INSERT INTO t VALUES (21)"), /denied|forbidden|permission/i);

	assert.throws(() => {
		const anon = new Database(path.join(d, "anon.db"), { syncUrl: srv.url });
		try {
			anon.sync();
		} finally {
			anon.close();
		}
	});
});
