// replica_lib.mjs: what the embedded-replica fault tests share
// (replica.test.mjs: kill -9; replica_powerloss.test.mjs: power loss):
// build/<v>/fault/replica_driver (spawnDriver, runDriver), a writer on the
// primary committing transactions that insert row k into t and bump c.n
// (count(t) == c.n at every transaction boundary; idx: k -> frame_no), and
// the checks of a replica after a fault (checkReplica, checkRounds).
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { startSqld, mkTempDir, rmDir, sleep, ROOT, BUILD } from "../interop/lib/sqld.mjs";

export const DRIVER = path.resolve(ROOT, BUILD, "fault/replica_driver");

export { pipeline } from "./primary_lib.mjs";
import { pipeline } from "./primary_lib.mjs";

export function maxIndex(j) {
	let m = -1;
	for (const r of j.results) {
		if (r.type !== "ok") throw new Error(JSON.stringify(r));
		const ri = r.response?.result?.replication_index;
		if (ri != null) m = Math.max(m, Number(ri));
	}
	return m;
}

/** A writer committing one transaction after another; idx: k -> frame_no. */
export function writer(url, { tolerant = false, firstId = 1 } = {}) {
	const idx = new Map();
	let stop = false, k = firstId;
	const w = { tolerant, failed: false };
	const done = (async () => {
		while (!stop) {
			if (w.tolerant && w.failed) return;
			// mostly small transactions, some of hundreds of pages (so a
			// kill often lands inside an apply), a few of more than 256
			// pages (streamed into the -wal as they arrive: a kill lands
			// between frames written unpublished)
			const r = Math.random();
			const size = r < 0.7 ? 100 + Math.floor(Math.random() * 12000)
				: r < 0.92 ? 50000 + Math.floor(Math.random() * 600000)
				: 1100000 + Math.floor(Math.random() * 900000);
			let j;
			try {
				j = await pipeline(url, [
				{ type: "execute", stmt: { sql: "BEGIN" } },
				{ type: "execute", stmt: { sql: `INSERT INTO t (id, v) VALUES (${k}, randomblob(${size}))` } },
				{ type: "execute", stmt: { sql: "UPDATE c SET n = n + 1" } },
				{ type: "execute", stmt: { sql: "COMMIT" } },
				{ type: "close" },
				]);
			} catch (e) {
				if (!w.tolerant) throw e;
				w.failed = true; // the primary is gone (on purpose)
				return;
			}
			idx.set(k, maxIndex(j));
			k++;
			await sleep(Math.random() < 0.2 ? 5 : 0);
		}
	})();
	return { idx, stop: async () => { stop = true; await done; } };
}

export async function primaryCount(url) {
	const j = await pipeline(url, [
		{ type: "execute", stmt: { sql: "SELECT (SELECT count(*) FROM t), (SELECT n FROM c)" } },
		{ type: "close" },
	]);
	const row = j.results[0].response.result.rows[0];
	return [Number(row[0].value), Number(row[1].value)];
}

export async function frameOf(w, k) {
	for (let i = 0; i < 500 && !w.idx.has(k); i++) await sleep(10);
	assert.ok(w.idx.has(k), `no replication_index recorded for row ${k}`);
	return w.idx.get(k);
}

export function spawnDriver(args, env = null) {
	const p = spawn(DRIVER, args, { stdio: ["ignore", "pipe", "pipe"], env: env ? { ...process.env, ...env } : undefined });
	let out = "", err = "";
	p.stdout.setEncoding("utf8");
	p.stdout.on("data", (d) => (out += d));
	p.stderr.on("data", (d) => (err += d));
	const exited = new Promise((res) => p.on("exit", (code, sig) => res({ code, sig })));
	// resolves once the first whole line is out (or the process ended)
	const started = new Promise((res) => {
		p.stdout.on("data", () => { if (out.includes("\n")) res(); });
		p.on("exit", res);
	});
	return { p, exited, started, lines: () => out.split("\n").filter(Boolean).map((l) => JSON.parse(l)), err: () => err };
}

export function runDriver(args) {
	return new Promise((res, rej) =>
		execFile(DRIVER, args, { timeout: 60000 }, (e, stdout, stderr) => {
			if (e) rej(new Error(`${e.message}\n${stderr}`));
			else res(stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)));
		}));
}

export async function checkReplica(db, w, prevFrame) {
	const [c] = await runDriver(["check", db]);
	if (process.env.SQLWIRE_FAULT_LOG) await fs.appendFile(process.env.SQLWIRE_FAULT_LOG, JSON.stringify(c) + "\n");
	assert.equal(c.integrity, "ok", JSON.stringify(c));
	if (c.count >= 0) assert.equal(c.count, c.n, `a transaction boundary: ${JSON.stringify(c)}`);
	if (c.max_id != null) {
		const f = await frameOf(w, c.max_id);
		assert.equal(c.frame, f, `resolved position = the data's frame: ${JSON.stringify(c)}`);
	}
	if (c.raw != null) assert.ok(c.frame != null && c.raw <= c.frame, `position never ahead: ${JSON.stringify(c)}`);
	if (prevFrame != null) assert.ok(c.frame >= prevFrame, "the replica never goes back");
	return c;
}

export function noSanitizerReport(d) {
	assert.ok(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(d.err()), d.err());
}

export function checkRounds(lines, expectStart) {
	assert.ok(lines.length >= 1, "the driver reported its start");
	assert.equal(lines[0].start, expectStart, `resumed from the stored position: ${JSON.stringify(lines[0])}`);
	for (const r of lines.slice(1)) {
		if (r.error !== undefined || r.end == null) continue;
		const expect = r.start == null ? r.end + 1 : r.end - r.start;
		assert.equal(r.applied, expect, `no frame downloaded twice: ${JSON.stringify(r)}`);
	}
}

export async function setup(t) {
	const dir = await mkTempDir();
	// no compaction: a replica catching up through a Snapshot applies fewer
	// frames than its span, and checkRounds counts frames exactly (the
	// writer produces more than the default 200 MB of log on a fast machine)
	const srv = await startSqld({ args: ["--max-log-size", "100000"] });
	t.after(async () => { await srv.stop(); await rmDir(dir); });
	await pipeline(srv.url, [
		{ type: "execute", stmt: { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)" } },
		{ type: "execute", stmt: { sql: "CREATE TABLE c (n INTEGER)" } },
		{ type: "execute", stmt: { sql: "INSERT INTO c VALUES (0)" } },
		{ type: "close" },
	]);
	return { dir, srv, db: path.join(dir, "replica.db") };
}
