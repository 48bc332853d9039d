// Power-loss test of sqld (issue 3: "after kill -9 or power loss ... never
// trust an index that does not match the data"). Like crash.test.mjs, but
// sqld runs under the power-loss shim (tests/fault/powerloss.c, see pl.mjs):
// at a random moment of a steady write load the power fails, i.e. every file
// of the data directory rolls back to its last fsync and every directory
// change not followed by a directory fsync is undone (every other round
// also torn: sectors of un-synced writes survive at random). Then sqld
// restarts without the shim and, in every round: every write acknowledged
// before the loss is present, PRAGMA integrity_check is ok, the log was
// rebuilt under a new log_id, a replica built from the log alone is byte for
// byte the primary, and a clean restart keeps the lineage. Half the rounds
// run with a 1 MB / 1 s log bound and a 1 s checkpoint interval, so the power
// also fails inside compactions (snapshot tmp, renames, directory fsyncs)
// and checkpoints. Every third round the power fails a second time while
// the restarted sqld recovers (after a random number of file changes:
// rebuilding the log, or early in the next load). In some rounds sqld gets
// SIGTERM and the power fails during its clean shutdown or right after it
// exited (a clean-shutdown marker must never make a stale log trusted).
// SQLWIRE_POWERLOSS_ROUNDS
// sets the number of rounds.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import { startSqld, mkTempDir, rmDir, sleep } from "../interop/lib/sqld.mjs";
import { hello } from "../interop/lib/replog.mjs";
import { query, writeLoad, checkRestart } from "./primary_lib.mjs";
import { plEnv, plCleanup, plLost, randomSeed } from "./pl.mjs";

const ROUNDS = Number(process.env.SQLWIRE_POWERLOSS_ROUNDS || 12);
const COMPACT = ["--max-log-size", "1", "--max-log-duration", "1", "--checkpoint-interval-s", "1"];

/**
 * Starts sqld under the shim, writes until the power fails (the signal after
 * a random time, or the shim's change count, possibly during start-up),
 * adds the acknowledged ids to allAcked; resolves to { acked, line }.
 */
async function loseUnderLoad({ dir, args, env, nextId, what, allAcked, shutdown = null }) {
	if (shutdown === "exit") env = { ...env, SQLWIRE_PL_AT_EXIT: "1" };
	let srv;
	try {
		srv = await startSqld({ dir, args, env });
	} catch (e) { // the power failed before sqld was listening
		assert.match(e.message, /exited before listening \(code 99, signal null\)/, `${what}: ${e.message}`);
		return { acked: 0, line: /powerloss: power lost.*/.exec(e.message)?.[0] };
	}
	// some rows of several pages, so transactions span many frames
	const load = writeLoad(srv.url, 4, nextId, () => (Math.random() < 0.1 ? 20000 : 300));
	const compact = args.length > 0;
	await Promise.race([srv.exited, sleep((compact ? 600 : 150) + Math.floor(Math.random() * 900))]);
	if (shutdown) {
		// a clean stop; the power fails as it ends ("exit") or during it
		srv.proc.kill("SIGTERM");
		if (shutdown === "during") {
			await Promise.race([srv.exited, sleep(Math.floor(Math.random() * 8))]);
			srv.proc.kill("SIGUSR2");
		}
	} else {
		srv.proc.kill("SIGUSR2"); // the power fails (if it has not yet)
	}
	const exit = await srv.exited;
	await srv.kill(); // (already gone) no complaint from stop()
	await load.stop();
	const err = srv.output().stderr;
	const ok = plLost(exit) || (shutdown === "during" && exit.code === 0); // (the stop won the race)
	assert.ok(ok, `${what}: sqld ended by the simulated power loss, not ${JSON.stringify(exit)}:\n${err.slice(-2000)}`);
	const line = /powerloss: power lost.*/.exec(err)?.[0];
	if (process.env.SQLWIRE_FAULT_LOG) await fs.appendFile(process.env.SQLWIRE_FAULT_LOG, `${what}: ${line}\n`);
	allAcked.push(...load.acked);
	return { acked: load.acked.length, line };
}

test(`power loss under write load, ${ROUNDS} rounds (half with compaction): no acknowledged write lost, log rebuilt and consistent`, async (t) => {
	const dir = await mkTempDir();
	t.after(() => { rmDir(dir); plCleanup(dir); });
	let srv = await startSqld({ dir });
	await query(srv.url, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
	let prevLogId = (await hello(srv.url)).logId;
	await srv.stop();
	const allAcked = [];
	let nextId = 1;
	for (let round = 0; round < ROUNDS; round++) {
		const seed = randomSeed();
		const torn = round % 2 === 1;
		const compact = round % 4 >= 2;
		const args = compact ? COMPACT : [];
		let what = `round ${round} (seed ${seed}${torn ? ", torn" : ""}${compact ? ", compaction" : ""})`;
		const shutdown = round % 4 === 1 ? (round % 8 === 1 ? "exit" : "during") : null;
		if (shutdown) what += `, ${shutdown === "exit" ? "lost as sqld exits after SIGTERM" : "lost during a SIGTERM shutdown"}`;
		let lost = await loseUnderLoad({ dir, args, env: plEnv({ dir, seed, torn }), nextId, what, allAcked, shutdown });
		nextId += 1_000_000; // ids of the lost in-flight requests are never reused
		assert.ok(lost.acked > 0, `${what}: some writes were acknowledged before the power loss`);
		if (round % 3 === 2) {
			// the power fails again while sqld recovers (rebuilding its log
			// from the database) or soon after: after `after` changes
			const after = Math.floor(Math.random() * 80);
			const w = `${what}, again after ${after} changes at restart`;
			lost = await loseUnderLoad({ dir, args, env: plEnv({ dir, seed: seed + 1, torn: !torn, after }), nextId, what: w, allAcked });
			nextId += 1_000_000;
			what += `; again after ${after} changes at restart (${lost.line})`;
		}

		// restarted without the compaction bounds: the byte-for-byte check
		// below pulls the whole log with BatchLogEntries (no Snapshot)
		// (after a clean stop the log may be kept: the replica check then
		// proves it still matches the database)
		({ srv, logId: prevLogId } = await checkRestart({ dir, allAcked, prevLogId, newLog: !shutdown, what: `${what} (${lost.line})`, name: round }));
		await srv.stop();
	}
	t.diagnostic(`${allAcked.length} acknowledged writes checked`);
});
