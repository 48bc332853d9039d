// Power-loss test of the embedded replica (issue 4: "the replica is never
// corrupt, whatever happens"; libclient apply/meta/sync). The syncing
// process (build/<v>/fault/replica_driver) runs under the power-loss shim
// (tests/fault/powerloss.c, see pl.mjs) with the replica's directory
// tracked, while a writer commits transactions on the primary; at a random
// moment of its syncing the power fails: every replica file rolls back to
// its last fsync, directory changes not followed by a directory fsync are
// undone (every other round torn: sectors of un-synced writes survive at
// random); every fourth round the power fails after a random number of file
// changes instead (often while the replica is created or settles). After
// each loss, without the shim (replica_lib.mjs's checks, as for kill -9):
// integrity_check is ok, the data is at a transaction boundary, the stored
// position is never ahead of the data and, resolved, names exactly the
// transaction the data holds (so the next sync neither skips nor re-applies
// anything), the replica never goes back past what an earlier process left
// on disk, and the next process resumes from there; a reader process runs
// alongside every third sync (it ends before the loss). At the end the replica converges to the
// primary. A second test does the same (fewer checks: no frame accounting)
// while the primary compacts every second, so the replica catches up through
// Snapshot, and is restarted with kill -9 every third round, so the replica
// starts over under a new log_id (emptying itself) as the power fails.
// SQLWIRE_REPLICA_POWERLOSS_ROUNDS sets the number of rounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { startSqld, mkTempDir, rmDir, sleep } from "../interop/lib/sqld.mjs";
import {
	pipeline, writer, primaryCount, spawnDriver, runDriver, checkReplica, noSanitizerReport, checkRounds, setup,
} from "./replica_lib.mjs";
import { plEnv, plCleanup, PL_EXIT, randomSeed } from "./pl.mjs";

const ROUNDS = Number(process.env.SQLWIRE_REPLICA_POWERLOSS_ROUNDS || 24);

test(`power loss of a syncing replica process, ${ROUNDS} rounds, then convergence`, async (t) => {
	const { dir, srv, db } = await setup(t);
	t.after(() => plCleanup(dir));
	const w = writer(srv.url);
	let prev = null, lost = 0;
	try {
		for (let round = 0; round < ROUNDS; round++) {
			const seed = randomSeed();
			const torn = round % 2 === 1;
			const after = round % 4 === 3 ? Math.floor(Math.random() * 300) : null;
			const what = `round ${round} (seed ${seed}${torn ? ", torn" : ""}${after != null ? `, after ${after} changes` : ""})`;
			await sleep(Math.floor(Math.random() * 300)); // a backlog to catch up on
			const d = spawnDriver(["sync", db, srv.url], plEnv({ dir, seed, torn, after }));
			await d.started;
			// a reader alongside the sync that catches up after the last loss
			// (it ends before this loss: no process outlives a power loss)
			const reader = round % 3 === 0 && after == null ? spawnDriver(["read", db, "300"]) : null;
			if (reader) {
				const rex = await reader.exited;
				noSanitizerReport(reader);
				const [r] = reader.lines();
				assert.ok(r, `${what}: the reader reported (${JSON.stringify(rex)}): ${reader.err()}`);
				assert.equal(r.bad, 0, `${what}: a reader saw part of a transaction: ${JSON.stringify(r)}`);
			}
			await Promise.race([d.exited, sleep(Math.floor(Math.random() * 250))]);
			if (d.p.exitCode === null && d.p.signalCode === null) d.p.kill("SIGUSR2"); // the power fails
			const ex = await d.exited;
			noSanitizerReport(d);
			assert.ok(ex.code === PL_EXIT && ex.sig == null,
				`${what}: the driver ended by the simulated power loss, not ${JSON.stringify(ex)}: ${d.err().slice(-2000)}`);
			lost++;
			const line = /powerloss: power lost.*/.exec(d.err())?.[0];
			if (process.env.SQLWIRE_FAULT_LOG) await fs.appendFile(process.env.SQLWIRE_FAULT_LOG, `${what}: ${line}\n`);
			const lines = d.lines();
			if (lines.length) checkRounds(lines, prev); // (none: lost before sync_open returned)
			try {
				const c = await checkReplica(db, w, prev);
				prev = c.frame ?? prev;
			} catch (e) {
				e.message = `${what} (${line}): ${e.message}`;
				throw e;
			}
		}
		assert.ok(prev != null && prev > 0, "the replica made progress");
	} finally {
		await w.stop();
	}
	// sync resumes (without the shim) and converges to the primary
	let once;
	for (let i = 0; i < 5; i++) {
		[once] = (await runDriver(["once", db, srv.url])).slice(1);
		assert.ok(once.error === undefined, JSON.stringify(once));
		if (once.applied === 0) break;
	}
	const [pc, pn] = await primaryCount(srv.url);
	const [c] = await runDriver(["check", db]);
	assert.equal(c.integrity, "ok");
	assert.deepEqual([c.count, c.n], [pc, pn], "the replica equals the primary once synced");
	assert.equal(lost, ROUNDS);
});

test("power loss of a syncing replica while the primary compacts (Snapshot) and restarts under new lineages", async (t) => {
	const dir = await mkTempDir();
	const pdir = await mkTempDir();
	// a 1 MB / 1 s log bound: a replica that fell behind catches up through Snapshot
	const args = ["--max-log-size", "1", "--max-log-duration", "1"];
	let srv = await startSqld({ dir: pdir, args });
	t.after(async () => { await srv.stop({ check: false }); rmDir(dir); rmDir(pdir); plCleanup(dir); });
	await pipeline(srv.url, [
		{ type: "execute", stmt: { sql: "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)" } },
		{ type: "execute", stmt: { sql: "CREATE TABLE c (n INTEGER)" } },
		{ type: "execute", stmt: { sql: "INSERT INTO c VALUES (0)" } },
		{ type: "close" },
	]);
	const db = path.join(dir, "replica.db");
	const rounds = Math.max(4, Math.floor(ROUNDS / 3));
	let firstId = 1, applied = 0;
	for (let round = 0; round < rounds; round++) {
		const seed = randomSeed();
		const what = `round ${round} (seed ${seed})`;
		if (round % 3 === 2) { // kill -9: sqld rebuilds its log under a new log_id
			await srv.kill();
			srv = await startSqld({ dir: pdir, args });
		}
		const w = writer(srv.url, { tolerant: true, firstId });
		firstId += 100000;
		await sleep(300 + Math.floor(Math.random() * 700)); // past a compaction or two
		const d = spawnDriver(["sync", db, srv.url], plEnv({ dir, seed, torn: round % 2 === 1 }));
		await d.started;
		// (a Snapshot of the whole database takes a while to come)
		await Promise.race([d.exited, sleep(100 + Math.floor(Math.random() * 1400))]);
		if (d.p.exitCode === null && d.p.signalCode === null) d.p.kill("SIGUSR2"); // the power fails
		const ex = await d.exited;
		await w.stop();
		applied += d.lines().slice(1).reduce((a, r) => a + (r.applied ?? 0), 0);
		noSanitizerReport(d);
		assert.ok(ex.code === PL_EXIT && ex.sig == null, `${what}: ended by the power loss, not ${JSON.stringify(ex)}: ${d.err().slice(-2000)}`);
		if (process.env.SQLWIRE_FAULT_LOG)
			await fs.appendFile(process.env.SQLWIRE_FAULT_LOG, `${what}: ${JSON.stringify(d.lines())} ${/powerloss: power lost.*/.exec(d.err())?.[0]}\n`);
		for (const r of d.lines().slice(1))
			assert.ok(r.error === undefined, `${what}: a sync failed: ${JSON.stringify(r)} ${d.err()}`);
		const [c] = await runDriver(["check", db]);
		assert.equal(c.integrity, "ok", `${what}: ${JSON.stringify(c)}`);
		if (c.count >= 0) assert.equal(c.count, c.n, `${what}: a transaction boundary: ${JSON.stringify(c)}`);
		if (c.raw != null) assert.ok(c.frame != null && c.raw <= c.frame, `${what}: position never ahead: ${JSON.stringify(c)}`);
	}
	assert.ok(applied > 0, "the replica applied frames between the losses");
	// sync resumes without the shim and converges
	for (let i = 0; i < 5; i++) {
		const [once] = (await runDriver(["once", db, srv.url])).slice(1);
		assert.ok(once.error === undefined, JSON.stringify(once));
		if (once.applied === 0) break;
	}
	const [pc, pn] = await primaryCount(srv.url);
	const [c] = await runDriver(["check", db]);
	assert.equal(c.integrity, "ok");
	assert.deepEqual([c.count, c.n], [pc, pn], "the replica equals the primary once synced");
});
