// Runs every program in examples/ against a fresh sqld and checks its output,
// so the tutorial cannot rot.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import path from "node:path";
import { startSqld, ROOT } from "./lib/sqld.mjs";

const run = promisify(execFile);

test("examples/quickstart.mjs over http:// and ws://", async (t) => {
	const srv = await startSqld();
	t.after(() => srv.stop());
	const script = path.join(ROOT, "examples/quickstart.mjs");
	const a = await run(process.execPath, [script, srv.url]);
	assert.equal(a.stdout, "1: hello from @libsql/client (edited)\n2: named arguments work too\n");
	const wsUrl = srv.url.replace(/^http/, "ws");
	const b = await run(process.execPath, [script, wsUrl]);
	assert.equal(b.stdout, "1: hello from @libsql/client (edited) (edited)\n2: named arguments work too\n3: hello from @libsql/client\n4: named arguments work too\n");
});

test("examples/hrana-over-http.sh", async (t) => {
	const srv = await startSqld();
	t.after(() => srv.stop());
	const { stdout } = await run("bash", [path.join(ROOT, "examples/hrana-over-http.sh"), srv.url]);
	const body = JSON.parse(stdout);
	assert.equal(body.baton, null);
	assert.equal(body.results.length, 4);
	assert.deepEqual(body.results[2].response.result.rows, [[{ type: "text", value: "answer" }, { type: "integer", value: "42" }]]);
});
