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
import path from "node:path";
import { startSqld, mkTempDir, rmDir, sleep } from "../interop/lib/sqld.mjs";
import {
	pipeline, writer, primaryCount, spawnDriver, runDriver, checkReplica, noSanitizerReport, checkRounds, setup,
} from "./replica_lib.mjs";

const ROUNDS = Number(process.env.SQLWIRE_REPLICA_KILL_ROUNDS || 25);

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
