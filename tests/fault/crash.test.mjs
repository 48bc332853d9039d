// Crash test (replication issue): under a steady write load sqld is killed
// with SIGKILL at random moments, many times. After each restart every
// acknowledged write is present, PRAGMA integrity_check is ok, the frame log
// agrees with the database (a replica rebuilt from the log alone is byte for
// byte the primary's file), and the log has a new log_id (it was rebuilt, so
// replicas start over). A clean stop and restart keeps the log_id instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { startSqld, mkTempDir, rmDir, sleep } from "../interop/lib/sqld.mjs";
import { hello, replicateTo } from "../interop/lib/replog.mjs";

const ROUNDS = Number(process.env.SQLWIRE_CRASH_ROUNDS || 20);

async function pipeline(url, requests) {
	const r = await fetch(`${url}/v2/pipeline`, { method: "POST", body: JSON.stringify({ requests }) });
	if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
	return r.json();
}

async function query(url, sql) {
	const j = await pipeline(url, [{ type: "execute", stmt: { sql } }, { type: "close" }]);
	if (j.results[0].type !== "ok") throw new Error(JSON.stringify(j.results[0]));
	return j.results[0].response.result.rows;
}

/** Writers inserting ids until stopped; resolves to the ids acknowledged. */
function writeLoad(url, writers, firstId) {
	const acked = [];
	let stop = false, next = firstId;
	const loops = Array.from({ length: writers }, async () => {
		while (!stop) {
			const id = next++;
			try {
				const j = await pipeline(url, [
					{ type: "execute", stmt: { sql: "INSERT INTO t (id, v) VALUES (?, randomblob(300))", args: [{ type: "integer", value: String(id) }] } },
					{ type: "close" },
				]);
				if (j.results[0].type === "ok") acked.push(id);
			} catch {
				return; // the server is gone
			}
		}
	});
	return { acked, stop: async () => { stop = true; await Promise.all(loops); }, done: Promise.all(loops) };
}

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

		srv = await startSqld({ dir });
		const rows = await query(srv.url, "SELECT id FROM t ORDER BY id");
		const have = new Set(rows.map((r) => Number(r[0].value)));
		const missing = allAcked.filter((id) => !have.has(id));
		assert.deepEqual(missing, [], `round ${round}: acknowledged writes lost after kill -9`);
		assert.deepEqual(await query(srv.url, "PRAGMA integrity_check"), [[{ type: "text", value: "ok" }]]);

		const h = await hello(srv.url);
		assert.notEqual(h.logId, prevLogId, `round ${round}: a log that was not closed cleanly must be rebuilt under a new log_id`);
		prevLogId = h.logId;

		// the log alone rebuilds the database, byte for byte
		const replica = path.join(dir, `replica-${round}.db`);
		const rep = await replicateTo(srv.url, replica);
		assert.equal(rep.last, h.currentIndex, `round ${round}: the log ends at the index Hello reports`);
		await srv.stop(); // clean: checkpoints the WAL into the file
		const [a, b] = await Promise.all([fs.readFile(path.join(dir, "data.sqld", "data")), fs.readFile(replica)]);
		assert.equal(b.length, a.length, `round ${round}: replica size`);
		assert.ok(a.equals(b), `round ${round}: the replica built from the log differs from the primary`);
		await fs.rm(replica);

		// a clean restart keeps the lineage and the position
		srv = await startSqld({ dir });
		const h2 = await hello(srv.url);
		assert.equal(h2.logId, h.logId, `round ${round}: a clean restart keeps the log_id`);
		assert.equal(h2.currentIndex, h.currentIndex);
	}
	await srv.stop();
});
