// Write-lock stealing (PROTOCOL.md §4.7): a transaction that holds the write
// lock for more than 5 s while another stream waits for it is rolled back;
// the waiter proceeds, and the holder's next request fails with
// TRANSACTION_TIMEOUT. One slow test (~5-7 s).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSqld, RawWs, stmt, I } from "./lib/raw.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

test("a write transaction holding the lock >5 s while another waits is rolled back with TRANSACTION_TIMEOUT", async (t) => {
	const holder = await RawWs.open(srv, ["hrana3"]);
	t.after(() => holder.terminate());
	const waiter = await RawWs.open(srv, ["hrana3"]);
	t.after(() => waiter.terminate());
	await holder.helloOk();
	await waiter.helloOk();
	const tbl = `tt_${process.pid}`;
	await holder.ok({ type: "open_stream", stream_id: 1 });
	await waiter.ok({ type: "open_stream", stream_id: 1 });
	await holder.ok({ type: "execute", stream_id: 1, stmt: stmt(`CREATE TABLE ${tbl} (who TEXT)`) });
	await holder.ok({ type: "execute", stream_id: 1, stmt: stmt("BEGIN IMMEDIATE") });
	await holder.ok({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${tbl} VALUES ('holder')`) });

	const t0 = Date.now();
	const w = await waiter.req({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${tbl} VALUES ('waiter')`) }, 20000);
	const waited = Date.now() - t0;
	assert.equal(w.type, "response_ok", `the waiter must get the lock once the holder is rolled back: ${JSON.stringify(w)}`);
	assert.ok(waited >= 4500, `the lock was taken after only ${waited} ms; the holder is entitled to 5 s`);
	assert.ok(waited < 12000, `the waiter waited ${waited} ms`);

	const h = await holder.req({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${tbl} VALUES ('holder again')`) });
	assert.equal(h.type, "response_error", `holder's next request: ${JSON.stringify(h)}`);
	assert.equal(h.error.code, "TRANSACTION_TIMEOUT");
	// the holder's stream is back in autocommit mode and usable
	const ac = await holder.ok({ type: "get_autocommit", stream_id: 1 });
	assert.equal(ac.is_autocommit, true);
	const rows = await holder.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT who FROM ${tbl} ORDER BY rowid`) });
	assert.deepEqual(rows.result.rows, [[{ type: "text", value: "waiter" }]], "the holder's insert was rolled back, the waiter's committed");
	const cnt = await waiter.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT count(*) FROM ${tbl}`) });
	assert.deepEqual(cnt.result.rows, [[I(1)]]);
});

test("a transaction holding the lock with nobody waiting is not timed out", async (t) => {
	const c = await RawWs.open(srv, ["hrana3"]);
	t.after(() => c.terminate());
	await c.helloOk();
	const tbl = `tn_${process.pid}`;
	await c.ok({ type: "open_stream", stream_id: 1 });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`CREATE TABLE ${tbl} (x)`) });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt("BEGIN IMMEDIATE") });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${tbl} VALUES (1)`) });
	await new Promise((r) => setTimeout(r, 5600));
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`INSERT INTO ${tbl} VALUES (2)`) });
	await c.ok({ type: "execute", stream_id: 1, stmt: stmt("COMMIT") });
	const r = await c.ok({ type: "execute", stream_id: 1, stmt: stmt(`SELECT count(*) FROM ${tbl}`) });
	assert.deepEqual(r.result.rows, [[I(2)]]);
});
