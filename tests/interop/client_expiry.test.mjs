// @libsql/client over HTTP: an interactive transaction left idle for more than
// 10 s loses its stream (PROTOCOL.md §4.3). The client must get an error
// (STREAM_EXPIRED) and the uncommitted data must be gone. The one slow
// interop test (~13 s).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createClient, LibsqlError } from "@libsql/client";
import { startSqld, sleep } from "./lib/sqld.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

test("an HTTP transaction idle for >10 s fails with STREAM_EXPIRED and its writes are rolled back", async (t) => {
	const c = createClient({ url: srv.url });
	t.after(() => c.close());
	const t1 = `cx_${process.pid}`;
	await c.execute(`CREATE TABLE ${t1} (x)`);
	const tx = await c.transaction("write");
	await tx.execute(`INSERT INTO ${t1} VALUES (1)`);
	assert.equal((await tx.execute(`SELECT count(*) FROM ${t1}`)).rows[0][0], 1);
	await sleep(13000); // expiry is due after 10 s, +1 s rounding, +1 s sweep
	const err = await tx.execute(`INSERT INTO ${t1} VALUES (2)`).then(() => null, (e) => e);
	assert.ok(err instanceof LibsqlError, `using the expired transaction must fail, got ${err}`);
	assert.equal(err.code, "STREAM_EXPIRED", `error: ${err.code} ${err.message}`);
	await assert.rejects(tx.commit());
	tx.close();
	const other = createClient({ url: srv.url });
	t.after(() => other.close());
	assert.equal((await other.execute(`SELECT count(*) FROM ${t1}`)).rows[0][0], 0, "the uncommitted row is gone");
	// the write lock is free again
	const ins = await other.execute(`INSERT INTO ${t1} VALUES (3)`);
	assert.equal(ins.rowsAffected, 1);
	assert.equal((await c.execute(`SELECT count(*) FROM ${t1}`)).rows[0][0], 1);
});
