// libsqlwire's C API against the real sqld: tests/integ/client/cl_integ.c
// (built by make as $SQLWIRE_BUILD/tests/cl_integ) runs every API function on
// a REMOTE connection (ws:// and http://), on an embedded REPLICA (routing,
// read-your-writes, transactions on the primary, sync) and on the replica
// with its primary down; the C examples of examples/c run against a fresh
// sqld; `make install` and pkg-config build the unchanged sqlite3 program.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { startSqld, ROOT, BUILD } from "../interop/lib/sqld.mjs";
import { keypair, mint, writeFile } from "./lib/jwt.mjs";

const run = promisify(execFile);
const bin = (p) => path.resolve(ROOT, BUILD, p);
const ASAN = /asan/.test(BUILD);

async function tmpdir(t) {
	const d = await fs.mkdtemp(path.join(os.tmpdir(), "sqlwire-client-"));
	t.after(() => fs.rm(d, { recursive: true, force: true }));
	return d;
}

async function sqld(t) {
	const s = await startSqld();
	t.after(() => s.stop());
	return s;
}

/** Runs a program; resolves to { code, stdout, stderr } whatever the exit status. */
async function sh(file, args, opts = {}) {
	try {
		const r = await run(file, args, { timeout: 120_000, maxBuffer: 16 << 20, ...opts });
		return { code: 0, stdout: r.stdout, stderr: r.stderr };
	} catch (e) {
		if (e.code === undefined || typeof e.code === "string") throw e;
		return { code: e.code, stdout: e.stdout, stderr: e.stderr };
	}
}

/** A cl_integ run must exit 0 and report N passed, 0 failed with N > 0. */
async function integ(args) {
	const r = await sh(bin("tests/cl_integ"), args);
	const m = /(\d+) passed, (\d+) failed/.exec(r.stdout);
	assert.ok(m, `no summary from cl_integ ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
	assert.equal(Number(m[2]), 0, `cl_integ ${args.join(" ")} failures:\n${r.stderr}`);
	assert.ok(Number(m[1]) > 0);
	assert.equal(r.code, 0, r.stderr);
	return r;
}

test("remote over WebSocket: every API function", async (t) => {
	const s = await sqld(t);
	await integ(["remote", s.wsUrl]);
});

test("remote over HTTP: every API function", async (t) => {
	const s = await sqld(t);
	await integ(["remote", s.url]);
});

test("auth tokens: remote (ws, http) and replica against a JWT-protected sqld", async (t) => {
	const d = await tmpdir(t);
	const kp = keypair();
	const keyFile = await writeFile(d, "key.pem", kp.pem);
	const s = await startSqld({ args: ["--auth-jwt-key-file", keyFile] });
	t.after(() => s.stop());
	await integ(["auth", path.join(d, "replica.db"), s.wsUrl, mint(kp, { a: "rw" }), mint(kp, { a: "ro" })]);
});

test("embedded replica: routing, read-your-writes, transactions, sync; then offline", async (t) => {
	const s = await sqld(t);
	const d = await tmpdir(t);
	const rep = path.join(d, "replica.db");
	await integ(["replica", rep, s.url]);
	await s.stop();
	const r = await integ(["offline", rep, s.url]);
	assert.match(r.stderr, /offline sync error \(expected\): sync: .*(refused|connect)/i);
});

test("embedded replica: read-your-writes when the primary dies after a write fails the next read once", async (t) => {
	const s = await startSqld();
	t.after(() => s.stop({ check: false })); // cl_integ SIGKILLs it on purpose
	const d = await tmpdir(t);
	const r = await integ(["ryw_down", path.join(d, "replica.db"), s.url, String(s.proc.pid)]);
	assert.match(r.stderr, /ryw with the primary down \(expected\): read-your-writes/);
});

test("examples: remote_query over ws:// and http://", async (t) => {
	const s = await sqld(t);
	for (const u of [s.wsUrl, s.url]) {
		const r = await sh(bin("examples/remote_query"), [u]);
		assert.equal(r.code, 0, r.stderr);
		assert.match(r.stdout, /in transaction: autocommit=0 last_insert_rowid=\d+/);
		assert.match(r.stdout, /name apple 1\.25\nname pear 2\.50\nname plum 3\.75\n/);
	}
});

test("examples: replica with sync and read-your-writes", async (t) => {
	const s = await sqld(t);
	const d = await tmpdir(t);
	const rep = path.join(d, "app.db");
	for (const expect of ["0 -> 1", "1 -> 2"]) {
		const r = await sh(bin("examples/replica"), [rep, s.url]);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.match(r.stdout, /synced: frame_no=\d+ frames_applied=\d+/);
		assert.ok(r.stdout.includes(`local count: ${expect}`), r.stdout);
		assert.match(r.stdout, /read-your-writes: ok/);
	}
});

const COMPAT_OUT = /^changes=1\nduplicate: rc=19 extended=(1555|2067) msg=UNIQUE constraint failed: kv\.k\nk=visits v=(\d+) t=integer\n$/;

async function compatRuns(t, exe, env) {
	const s = await sqld(t);
	const d = await tmpdir(t);
	const opts = env ? { env: { ...process.env, ...env } } : {};
	// local file: plain SQLite behaviour (SQLite says 1555 for a text primary key)
	const local = path.join(d, "local.db");
	let r = await sh(exe, [local], opts);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, COMPAT_OUT);
	assert.match(r.stdout, /extended=1555/);
	r = await sh(exe, [local], opts);
	assert.match(r.stdout, /v=2 /);
	// embedded replica, configured by URI parameters only
	const uri = `file:${path.join(d, "rep.db")}?sync_url=${encodeURIComponent(s.url)}&sync_interval_ms=200`;
	for (const v of ["1", "2"]) {
		r = await sh(exe, [uri], opts);
		assert.equal(r.code, 0, r.stdout + r.stderr);
		assert.match(r.stdout, COMPAT_OUT);
		assert.ok(r.stdout.includes(`v=${v} `), r.stdout);
	}
	// remote by URL: the same database the replica wrote to
	r = await sh(exe, [s.wsUrl], opts);
	assert.equal(r.code, 0, r.stderr);
	assert.match(r.stdout, COMPAT_OUT);
	assert.ok(r.stdout.includes("v=3 "), r.stdout);
}

test("examples: an unchanged sqlite3 program built against the compat header (local, replica by URI, remote)", async (t) => {
	await compatRuns(t, bin("examples/compat_sqlite3"));
});

test("make install + pkg-config sqlwire-sqlite3 builds and runs the unchanged sqlite3 program", async (t) => {
	const d = await tmpdir(t);
	const prefix = path.join(d, "prefix");
	const variant = path.basename(BUILD);
	let r = await sh("make", ["-s", "-C", ROOT, `VARIANT=${variant}`, "install", `PREFIX=${prefix}`]);
	assert.equal(r.code, 0, r.stdout + r.stderr);
	for (const f of ["include/sqlwire.h", "include/sqlwire_sqlite3.h", "include/sqlwire-compat/sqlite3.h",
		"lib/libsqlwire.a", "lib/libsqlwire.so", "lib/libsqlwire.so.0", "lib/pkgconfig/sqlwire.pc",
		"lib/pkgconfig/sqlwire-sqlite3.pc"]) {
		await fs.access(path.join(prefix, f));
	}
	const env = { ...process.env, PKG_CONFIG_PATH: path.join(prefix, "lib/pkgconfig") };
	r = await sh("pkg-config", ["--cflags", "--libs", "sqlwire-sqlite3"], { env });
	assert.equal(r.code, 0, r.stderr);
	const flags = r.stdout.trim().split(/\s+/);
	assert.ok(flags[0] === `-I${prefix}/include/sqlwire-compat`, r.stdout); // the compat directory first
	const san = ASAN ? ["-fsanitize=address,undefined"] : [];
	// the unchanged sqlite3 program
	const exe = path.join(d, "compat");
	r = await sh("cc", ["-std=c11", "-Wall", "-Werror", ...san, "-o", exe,
		path.join(ROOT, "examples/c/compat_sqlite3.c"), ...flags]);
	assert.equal(r.code, 0, r.stderr);
	// it links libsqlwire, not libsqlite3
	r = await sh("ldd", [exe], { env: { ...env, LD_LIBRARY_PATH: path.join(prefix, "lib") } });
	assert.match(r.stdout, /libsqlwire\.so\.0 => .*prefix\/lib\/libsqlwire\.so\.0/);
	await compatRuns(t, exe, { LD_LIBRARY_PATH: path.join(prefix, "lib") });
	// and the native module
	r = await sh("pkg-config", ["--cflags", "--libs", "sqlwire"], { env });
	const exe2 = path.join(d, "remote_query");
	r = await sh("cc", ["-std=c11", "-Wall", "-Werror", ...san, "-o", exe2,
		path.join(ROOT, "examples/c/remote_query.c"), ...r.stdout.trim().split(/\s+/)]);
	assert.equal(r.code, 0, r.stderr);
});
