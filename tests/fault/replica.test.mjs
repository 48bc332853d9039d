// Fault tests of the embedded replica (libclient apply/meta/sync), driven
// through build/<v>/fault/replica_driver against the real sqld while a writer
// commits transactions on the primary (each inserts row k into t and bumps
// c.n, so count(t) == c.n holds at every transaction boundary; the writer
// records each k's replication_index).
//  - kill -9 of a syncing process at random moments, many rounds: after each,
//    integrity_check is ok, the data is at a transaction boundary, the stored
//    position is never ahead of the data and, once resolved, names exactly
//    the transaction the data holds; the next process starts from there and
//    downloads no frame twice (frames applied == end - start in every round);
//  - a second process reading while a sync runs never sees count(t) != c.n
//    and is never blocked for long;
//  - two processes syncing the same file, killed at random: same checks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { startSqld, mkTempDir, rmDir, sleep, ROOT, BUILD } from "../interop/lib/sqld.mjs";

const DRIVER = path.resolve(ROOT, BUILD, "fault/replica_driver");
const ROUNDS = Number(process.env.SQLWIRE_REPLICA_KILL_ROUNDS || 25);

async function pipeline(url, requests) {
	const r = await fetch(`${url}/v2/pipeline`, { method: "POST", body: JSON.stringify({ requests }) });
	if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
	return r.json();
}

function maxIndex(j) {
	let m = -1;
	for (const r of j.results) {
		if (r.type !== "ok") throw new Error(JSON.stringify(r));
		const ri = r.response?.result?.replication_index;
		if (ri != null) m = Math.max(m, Number(ri));
	}
	return m;
}

/** A writer committing one transaction after another; idx: k -> frame_no. */
function writer(url, { tolerant = false, firstId = 1 } = {}) {
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

async function primaryCount(url) {
	const j = await pipeline(url, [
		{ type: "execute", stmt: { sql: "SELECT (SELECT count(*) FROM t), (SELECT n FROM c)" } },
		{ type: "close" },
	]);
	const row = j.results[0].response.result.rows[0];
	return [Number(row[0].value), Number(row[1].value)];
}

async function frameOf(w, k) {
	for (let i = 0; i < 500 && !w.idx.has(k); i++) await sleep(10);
	assert.ok(w.idx.has(k), `no replication_index recorded for row ${k}`);
	return w.idx.get(k);
}

function spawnDriver(args) {
	const p = spawn(DRIVER, args, { stdio: ["ignore", "pipe", "pipe"] });
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

function runDriver(args) {
	return new Promise((res, rej) =>
		execFile(DRIVER, args, { timeout: 60000 }, (e, stdout, stderr) => {
			if (e) rej(new Error(`${e.message}\n${stderr}`));
			else res(stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l)));
		}));
}

async function checkReplica(db, w, prevFrame) {
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

function noSanitizerReport(d) {
	assert.ok(!/ERROR: (Address|Leak)Sanitizer|runtime error:/.test(d.err()), d.err());
}

function checkRounds(lines, expectStart) {
	assert.ok(lines.length >= 1, "the driver reported its start");
	assert.equal(lines[0].start, expectStart, `resumed from the stored position: ${JSON.stringify(lines[0])}`);
	for (const r of lines.slice(1)) {
		if (r.error !== undefined || r.end == null) continue;
		const expect = r.start == null ? r.end + 1 : r.end - r.start;
		assert.equal(r.applied, expect, `no frame downloaded twice: ${JSON.stringify(r)}`);
	}
}

async function setup(t) {
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

test(`kill -9 of a syncing process, ${ROUNDS} rounds, with a reader process alongside`, async (t) => {
	const { srv, db } = await setup(t);
	const w = writer(srv.url);
	try {
		let prev = null;
		let maxReadMs = 0, checks = 0;
		for (let round = 0; round < ROUNDS; round++) {
			await sleep(Math.floor(Math.random() * 300)); // a backlog to catch up on
			const d = spawnDriver(["sync", db, srv.url]);
			await d.started; // the replica exists; kill at a random moment of its syncing
			const reader = round % 3 === 0 ? spawnDriver(["read", db, "400"]) : null;
			await sleep(Math.floor(Math.random() * 250));
			d.p.kill("SIGKILL");
			await d.exited;
			noSanitizerReport(d);
			checkRounds(d.lines(), prev);
			if (reader) {
				await reader.exited;
				noSanitizerReport(reader);
				const [r] = reader.lines();
				assert.ok(r, `the reader reported: ${reader.err()}`);
				assert.equal(r.bad, 0, `a reader saw part of a transaction: ${JSON.stringify(r)}`);
				maxReadMs = Math.max(maxReadMs, r.max_ms);
				checks += r.checks;
			}
			const c = await checkReplica(db, w, prev);
			prev = c.frame;
		}
		assert.ok(prev != null && prev > 0, "the replica made progress");
		assert.ok(checks > 0, "the reader checked something");
		assert.ok(maxReadMs < 2000, `a reader was blocked for ${maxReadMs} ms`);
	} finally {
		await w.stop();
	}
});

test("two processes syncing one replica file, killed at random", async (t) => {
	const { srv, db } = await setup(t);
	const w = writer(srv.url);
	try {
		let prev = null;
		for (let round = 0; round < 8; round++) {
			const a = spawnDriver(["sync", db, srv.url]);
			const b = spawnDriver(["sync", db, srv.url]);
			await Promise.all([a.started, b.started]);
			await sleep(50 + Math.floor(Math.random() * 300));
			a.p.kill("SIGKILL");
			await sleep(Math.floor(Math.random() * 100));
			b.p.kill("SIGKILL");
			await Promise.all([a.exited, b.exited]);
			for (const d of [a, b]) noSanitizerReport(d);
			for (const d of [a, b])
				for (const r of d.lines().slice(1))
					assert.ok(r.error === undefined, `a sync failed: ${JSON.stringify(r)} ${d.err()}`);
			const c = await checkReplica(db, w, prev);
			prev = c.frame;
		}
		assert.ok(prev != null && prev > 0);
	} finally {
		await w.stop();
	}
});

test("primary killed (kill -9) mid-sync: the replica stays consistent, then follows the new lineage", async (t) => {
	const dir = await mkTempDir();
	const pdir = await mkTempDir();
	let srv = await startSqld({ dir: pdir });
	t.after(async () => { await srv.stop({ check: false }); await rmDir(dir); await rmDir(pdir); });
	await pipeline(srv.url, [
		{ type: "execute", stmt: { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)" } },
		{ type: "execute", stmt: { sql: "CREATE TABLE c (n INTEGER)" } },
		{ type: "execute", stmt: { sql: "INSERT INTO c VALUES (0)" } },
		{ type: "close" },
	]);
	const db = path.join(dir, "replica.db");
	let firstId = 1;
	for (let round = 0; round < 4; round++) {
		const w = writer(srv.url, { tolerant: true, firstId });
		const d = spawnDriver(["sync", db, srv.url]);
		await d.started;
		await sleep(100 + Math.floor(Math.random() * 300));
		await srv.kill(); // mid-transfer, mid-apply or idle: whatever it hits
		await w.stop();
		firstId += 100000;
		await sleep(100); // the driver meets the dead primary
		d.p.kill("SIGKILL");
		await d.exited;
		noSanitizerReport(d);
		const [c] = await runDriver(["check", db]);
		assert.equal(c.integrity, "ok", JSON.stringify(c));
		assert.equal(c.count, c.n, `a transaction boundary: ${JSON.stringify(c)}`);
		// back (an unclean stop: sqld rebuilds its log under a new log_id)
		srv = await startSqld({ dir: pdir });
		const [once] = (await runDriver(["once", db, srv.url])).slice(1);
		assert.ok(once.error === undefined, JSON.stringify(once));
		const [pc, pn] = await primaryCount(srv.url);
		const [c2] = await runDriver(["check", db]);
		assert.equal(c2.integrity, "ok");
		assert.deepEqual([c2.count, c2.n], [pc, pn], "the replica equals the primary after one sync");
	}
});
