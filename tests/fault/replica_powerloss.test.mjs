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
// primary. SQLWIRE_REPLICA_POWERLOSS_ROUNDS sets the number of rounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { sleep } from "../interop/lib/sqld.mjs";
import {
	writer, primaryCount, spawnDriver, runDriver, checkReplica, noSanitizerReport, checkRounds, setup,
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
