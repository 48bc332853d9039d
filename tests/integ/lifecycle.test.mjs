// sqld as a process: graceful SIGTERM with work in flight, restart on the
// same --db-path, batons dying with the process, and the command line
// (--bogus-flag, --help, --version).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startSqld, mkTempDir, rmDir, pipeline, oneShot, okExec, exec, I, RawWs, stmt, SQLD } from "./lib/raw.mjs";

test("SIGTERM with an open transaction exits 0; after a restart on the same db-path committed data is there, uncommitted is not", async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	const a = await startSqld({ dir });
	t.after(() => a.stop());
	await oneShot(a, 2, [exec("CREATE TABLE life (x)"), exec("INSERT INTO life VALUES (1)")]);
	// an open HTTP stream with uncommitted work
	const p = await pipeline(a, 2, { requests: [exec("BEGIN"), exec("INSERT INTO life VALUES (2)")] });
	okExec(p.json.results[1]);
	// an open WebSocket stream with uncommitted work too
	const ws = await RawWs.open(a, ["hrana2"]);
	t.after(() => ws.terminate());
	await ws.helloOk();
	await ws.ok({ type: "open_stream", stream_id: 1 });
	await ws.ok({ type: "execute", stream_id: 1, stmt: stmt("BEGIN") });
	await ws.ok({ type: "execute", stream_id: 1, stmt: stmt("SELECT count(*) FROM life") });

	const t0 = Date.now();
	const st = await a.stop();
	assert.equal(st.forced, false, `sqld did not exit within the grace period after SIGTERM (${Date.now() - t0} ms)`);
	assert.equal(st.signal, null, `sqld died of signal ${st.signal}`);
	assert.equal(st.code, 0, `exit code after SIGTERM: ${st.code}; stderr:\n${a.output().stderr}`);
	const closeInfo = await ws.waitClosed(3000).catch((e) => e);
	assert.ok(!(closeInfo instanceof Error), "the WebSocket is closed when sqld stops");

	const b = await startSqld({ dir });
	t.after(() => b.stop());
	const [res] = await oneShot(b, 3, [exec("SELECT x FROM life ORDER BY x")]);
	assert.deepEqual(okExec(res).rows, [[I(1)]]);
	// batons do not survive a restart
	const old = await pipeline(b, 2, { baton: p.json.baton, requests: [exec("SELECT 1")] }, { allowError: true });
	assert.equal(old.status, 400, `a baton from the previous process: HTTP ${old.status} ${old.text}`);
	assert.match(old.text, /invalid baton/i);
	const st2 = await b.stop();
	assert.equal(st2.code, 0);
});

test("SIGKILL then restart: committed data survives", async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	const a = await startSqld({ dir });
	t.after(() => a.stop());
	await oneShot(a, 2, [exec("CREATE TABLE k (x)"), exec("INSERT INTO k VALUES (1), (2), (3)")]);
	await a.kill();
	const b = await startSqld({ dir });
	t.after(() => b.stop());
	const [res] = await oneShot(b, 2, [exec("SELECT sum(x) FROM k")]);
	assert.deepEqual(okExec(res).rows, [[I(6)]]);
});

function run(args) {
	return spawnSync(SQLD, args, { encoding: "utf8", timeout: 10000 });
}

test("sqld --bogus-flag exits 2 with exactly one line on stderr", () => {
	const r = run(["--bogus-flag"]);
	assert.equal(r.error, undefined, String(r.error));
	assert.equal(r.status, 2, `exit status ${r.status} signal ${r.signal}`);
	const lines = r.stderr.split("\n").filter((l) => l.length > 0);
	assert.equal(lines.length, 1, `stderr: ${JSON.stringify(r.stderr)}`);
	assert.ok(r.stderr.endsWith("\n"));
	assert.match(lines[0], /bogus-flag/);
});

test("sqld with a flag missing its value exits 2", () => {
	const r = run(["--db-path"]);
	assert.equal(r.status, 2, `exit status ${r.status}; stderr ${r.stderr}`);
	const lines = r.stderr.split("\n").filter((l) => l.length > 0);
	assert.equal(lines.length, 1, `stderr: ${JSON.stringify(r.stderr)}`);
});

test("sqld --help exits 0 and documents the flags", () => {
	const r = run(["--help"]);
	assert.equal(r.status, 0, `exit status ${r.status}; stderr ${r.stderr}`);
	const out = r.stdout + r.stderr;
	for (const f of ["--db-path", "--http-listen-addr", "--http-self-url", "--max-response-size"])
		assert.ok(out.includes(f), `--help does not mention ${f}`);
});

test("sqld --version exits 0 and prints a version line", () => {
	const r = run(["--version"]);
	assert.equal(r.status, 0, `exit status ${r.status}; stderr ${r.stderr}`);
	assert.match(r.stdout, /sqld \S+/);
});
