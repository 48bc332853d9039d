// primary_lib.mjs: what the sqld fault tests share (crash.test.mjs: kill -9;
// powerloss.test.mjs: power loss): Hrana over HTTP, a write load that counts
// what was acknowledged, and the checks of a primary restarted after a fault.
import assert from "node:assert/strict";
import fs from "node:fs/promises";
import path from "node:path";
import { startSqld } from "../interop/lib/sqld.mjs";
import { hello, replicateTo } from "../interop/lib/replog.mjs";

export async function pipeline(url, requests) {
	const r = await fetch(`${url}/v2/pipeline`, { method: "POST", body: JSON.stringify({ requests }) });
	if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
	return r.json();
}

export async function query(url, sql) {
	const j = await pipeline(url, [{ type: "execute", stmt: { sql } }, { type: "close" }]);
	if (j.results[0].type !== "ok") throw new Error(JSON.stringify(j.results[0]));
	return j.results[0].response.result.rows;
}

/**
 * Writers inserting ids from firstId into t until stopped or the server is
 * gone; rowSize() picks each row's blob size. Returns { acked (the ids
 * acknowledged), stop() }.
 */
export function writeLoad(url, writers, firstId, rowSize = () => 300) {
	const acked = [];
	let stop = false, next = firstId;
	const loops = Array.from({ length: writers }, async () => {
		while (!stop) {
			const id = next++;
			try {
				const j = await pipeline(url, [
					{ type: "execute", stmt: { sql: `INSERT INTO t (id, v) VALUES (?, randomblob(${rowSize()}))`, args: [{ type: "integer", value: String(id) }] } },
					{ type: "close" },
				]);
				if (j.results[0].type === "ok") acked.push(id);
			} catch {
				return; // the server is gone
			}
		}
	});
	return { acked, stop: async () => { stop = true; await Promise.all(loops); } };
}

/**
 * Restarts sqld on dir after a fault and checks it: every id in allAcked is
 * present, integrity_check is ok, the log has a new log_id when newLog (a log
 * not closed cleanly must be rebuilt), a replica built from the log alone is
 * byte for byte the primary's file, and a clean restart keeps the lineage
 * and the position. `what` names the round in messages. Resolves to
 * { srv (running), logId }.
 */
export async function checkRestart({ dir, allAcked, prevLogId, newLog, what, name }) {
	let srv = await startSqld({ dir });
	const rows = await query(srv.url, "SELECT id FROM t ORDER BY id");
	const have = new Set(rows.map((r) => Number(r[0].value)));
	const missing = allAcked.filter((id) => !have.has(id));
	assert.deepEqual(missing, [], `${what}: acknowledged writes lost`);
	assert.deepEqual(await query(srv.url, "PRAGMA integrity_check"), [[{ type: "text", value: "ok" }]], what);

	const h = await hello(srv.url);
	if (newLog) assert.notEqual(h.logId, prevLogId, `${what}: a log that was not closed cleanly must be rebuilt under a new log_id`);

	// the log alone rebuilds the database, byte for byte
	const replica = path.join(dir, `replica-${name}.db`);
	const rep = await replicateTo(srv.url, replica);
	assert.equal(rep.last, h.currentIndex, `${what}: the log ends at the index Hello reports`);
	await srv.stop(); // clean: checkpoints the WAL into the file
	const [a, b] = await Promise.all([fs.readFile(path.join(dir, "data.sqld", "data")), fs.readFile(replica)]);
	assert.equal(b.length, a.length, `${what}: replica size`);
	assert.ok(a.equals(b), `${what}: the replica built from the log differs from the primary`);
	await fs.rm(replica);

	// a clean restart keeps the lineage and the position
	srv = await startSqld({ dir });
	const h2 = await hello(srv.url);
	assert.equal(h2.logId, h.logId, `${what}: a clean restart keeps the log_id`);
	assert.equal(h2.currentIndex, h.currentIndex, what);
	return { srv, logId: h.logId };
}
