// libsqlwire's threads under ThreadSanitizer: $SQLWIRE_BUILD/tests/cl_integ_tsan
// (tests/integ/client/cl_integ.c with every libclient and proto source built
// with -fsanitize=thread) runs its replica section against a real sqld:
// four threads sharing one replica connection (writes on the primary,
// read-your-writes reads on the local file), the follow thread applying
// frames while the connection reads, the interval sync thread, sync_until.
// Any data race or lock-order report fails the test.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startSqld, ROOT, BUILD } from "../interop/lib/sqld.mjs";

test("replica threads, follow and interval sync: no ThreadSanitizer report", async (t) => {
	const s = await startSqld();
	t.after(() => s.stop());
	const d = await fs.mkdtemp(path.join(os.tmpdir(), "sqlwire-tsan-"));
	t.after(() => fs.rm(d, { recursive: true, force: true }));
	const exe = path.resolve(ROOT, BUILD, "tests/cl_integ_tsan");
	const env = { ...process.env, TSAN_OPTIONS: "halt_on_error=1:exitcode=66:second_deadlock_stack=1" };
	delete env.ASAN_OPTIONS;
	const r = await new Promise((resolve) => {
		execFile(exe, ["replica", path.join(d, "r.db"), s.url], { env, timeout: 300_000, maxBuffer: 16 << 20 },
			(err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
	});
	assert.doesNotMatch(r.stderr, /ThreadSanitizer/, r.stderr);
	assert.match(r.stdout, /\d+ passed, 0 failed/, r.stdout + r.stderr);
	assert.equal(r.code, 0, r.stderr);
});
