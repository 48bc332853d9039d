// Hrana-over-HTTP stream expiry (PROTOCOL.md §4.3): a stream idle for more
// than 10 s is closed, its transaction rolled back, and its baton then gets
// HTTP 400 with a JSON Error body {message, code: "STREAM_EXPIRED"}.
// The one slow raw-HTTP test (~14 s); it runs alongside the other files.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSqld, pipeline, oneShot, okExec, exec, I, sleep } from "./lib/raw.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

test("an HTTP stream idle for >10 s expires: STREAM_EXPIRED 400 JSON, its transaction is rolled back, a fresh stream is kept alive by use", async () => {
	const t = `exp_${process.pid}`;
	await oneShot(srv, 2, [exec(`CREATE TABLE ${t} (x)`)]);
	const r1 = await pipeline(srv, 2, { requests: [exec("BEGIN IMMEDIATE"), exec(`INSERT INTO ${t} VALUES (1)`)] });
	okExec(r1.json.results[1]);
	const idleBaton = r1.json.baton;

	// A second stream used every 2.5 s must not expire. The idle stream is left
	// alone for 13 s: expiry is due after 10 s (sqld rounds up to whole seconds
	// and sweeps about once a second), so this leaves ~2 s of slack.
	const idleSince = Date.now();
	let keepBaton = (await pipeline(srv, 3, { requests: [exec("SELECT 1")] })).json.baton;
	while (Date.now() - idleSince < 13000) {
		await sleep(Math.min(2500, Math.max(0, 13000 - (Date.now() - idleSince))));
		const k = await pipeline(srv, 3, { baton: keepBaton, requests: [exec("SELECT 2")] });
		assert.deepEqual(okExec(k.json.results[0]).rows, [[I(2)]], "a stream used every 2.5 s stays alive");
		keepBaton = k.json.baton;
	}

	const r2 = await pipeline(srv, 2, { baton: idleBaton, requests: [exec(`SELECT count(*) FROM ${t}`)] }, { allowError: true });
	assert.equal(r2.status, 400, `expired stream: HTTP ${r2.status} ${r2.text}`);
	assert.equal(r2.headers.get("content-type"), "application/json",
		"exactly application/json, or hrana-client-ts will not read the error code");
	assert.deepEqual(r2.json, { message: "The stream has expired due to inactivity", code: "STREAM_EXPIRED" });

	// the uncommitted insert is gone and the write lock was released
	const [cnt, ins] = await oneShot(srv, 2, [exec(`SELECT count(*) FROM ${t}`), exec(`INSERT INTO ${t} VALUES (2)`)]);
	assert.deepEqual(okExec(cnt).rows, [[I(0)]]);
	assert.equal(okExec(ins).affected_row_count, 1);
	// asking again still says expired (remembered for 300 s)
	const r3 = await pipeline(srv, 2, { baton: idleBaton, requests: [] }, { allowError: true });
	assert.equal(r3.status, 400);
	assert.equal(r3.json?.code, "STREAM_EXPIRED");
	await pipeline(srv, 3, { baton: keepBaton, requests: [{ type: "close" }] });
});
