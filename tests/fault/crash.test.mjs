// Crash test (replication issue): under a steady write load sqld is killed
// with SIGKILL at random moments, many times. After each restart every
// acknowledged write is present, PRAGMA integrity_check is ok, the frame log
// agrees with the database (a replica rebuilt from the log alone is byte for
// byte the primary's file), and the log has a new log_id (it was rebuilt, so
// replicas start over). A clean stop and restart keeps the log_id instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { startSqld, mkTempDir, rmDir, sleep } from "../interop/lib/sqld.mjs";
import { hello } from "../interop/lib/replog.mjs";
import { query, writeLoad, checkRestart } from "./primary_lib.mjs";

const ROUNDS = Number(process.env.SQLWIRE_CRASH_ROUNDS || 20);

test(`kill -9 under write load, ${ROUNDS} times: no acknowledged write lost, log rebuilt and consistent`, async (t) => {
	const dir = await mkTempDir();
	t.after(() => rmDir(dir));
	let srv = await startSqld({ dir });
	await query(srv.url, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
	const allAcked = [];
	let prevLogId = (await hello(srv.url)).logId;
	let nextId = 1;
	for (let round = 0; round < ROUNDS; round++) {
		const load = writeLoad(srv.url, 4, nextId);
		await sleep(150 + Math.floor(Math.random() * 500));
		await srv.kill();
		await load.stop();
		nextId += 1_000_000; // ids of the lost in-flight requests are never reused
		allAcked.push(...load.acked);
		assert.ok(load.acked.length > 0, `round ${round}: some writes were acknowledged before the kill`);

		({ srv, logId: prevLogId } = await checkRestart({ dir, allAcked, prevLogId, newLog: true, what: `round ${round} (kill -9)`, name: round }));
	}
	await srv.stop();
});
