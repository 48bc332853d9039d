// The replication services over gRPC-web on the user port (PROTOCOL.md §8.2,
// §8.4, §12 items 9-11; REPLICA_TRAFFIC.md), spoken by hand: Hello,
// BatchLogEntries, LogEntries, Snapshot, Proxy.Execute/Describe/Disconnect,
// session tokens, error statuses, malformed bodies, keep-alive and chunked
// request bodies. Frames are produced by the primary's capture (cap/rlog) from
// ordinary Hrana writes.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startSqld, oneShot, exec, okExec, sleep, mkTempDir, rmDir } from "./lib/raw.mjs";
import {
	grpcCall, grpcStream, grpcFrame, hello, decodeHello, msg, pb, varint, decodeFrames, decodeFrame, frameHdr, decodeExecuteResults,
	decodeDescribe, STATE, ERR, GRPC, keepAlive,
} from "./lib/grpcweb.mjs";

const LOG = "/wal_log.ReplicationLog/";
const PROXY = "/proxy.Proxy/";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FRAME_SIZE = 4120;

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "r") => `${p}_${++tableNo}`;

/** One Hrana write; returns the replication_index sqld reports after it. */
async function write(s, sql, args) {
	const [res] = await oneShot(s, 2, [exec(sql, args)]);
	const r = okExec(res);
	assert.ok(r.replication_index !== undefined && r.replication_index !== null, `no replication_index in ${JSON.stringify(r)}`);
	return Number(r.replication_index);
}
async function scalar(s, sql) {
	const [res] = await oneShot(s, 2, [exec(sql)]);
	const v = okExec(res).rows[0][0];
	return v.type === "integer" ? Number(v.value) : v.value;
}

/** BatchLogEntries(next) with the current token; asserts OK and returns parsed frames. */
async function batch(s, next, token, opts = {}) {
	const r = await grpcCall(s, LOG + "BatchLogEntries", msg.logOffset(next), { token, ...opts });
	assert.equal(r.status, GRPC.OK, `BatchLogEntries(${next}): ${r.status} ${r.message}`);
	assert.equal(r.messages.length, 1, "one Frames message");
	return decodeFrames(r.messages[0]).map((d) => {
		assert.equal(d.length, FRAME_SIZE, "every frame is 4120 bytes");
		return frameHdr(d);
	});
}

/** Everything from `from` to the end of the log, batch after batch. */
async function drain(s, from, token) {
	const out = [];
	for (;;) {
		const fr = await batch(s, from, token);
		if (!fr.length) return out;
		out.push(...fr);
		from = fr.at(-1).frameNo + 1;
	}
}

function assertConsecutive(frames, from) {
	frames.forEach((f, i) => {
		assert.equal(f.frameNo, from + i, `frame ${i} has frame_no ${f.frameNo}, expected ${from + i}`);
		assert.ok(f.pageNo >= 1, "page_no >= 1");
	});
}

const execute = async (s, clientId, steps, opts) => {
	const r = await grpcCall(s, PROXY + "Execute", msg.program(clientId, steps), opts);
	assert.equal(r.status, GRPC.OK, `Execute: ${r.status} ${r.message}`);
	return decodeExecuteResults(r.messages[0]);
};
const rowsOf = (res) => {
	assert.ok(res.rows, `expected rows, got ${JSON.stringify(res, (k, v) => (typeof v === "bigint" ? String(v) : v))}`);
	return res.rows;
};

test("Hello: UUIDs, generation_start_index 0, config, current_replication_index = the last commit", async () => {
	const t = table();
	const idx = await write(srv, `CREATE TABLE ${t} (x)`);
	const h = await hello(srv);
	assert.match(h.generationId, UUID);
	assert.match(h.logId, UUID);
	assert.match(h.sessionToken, UUID);
	assert.equal(h.generationStartIndex, 0n);
	assert.ok(h.hasConfig, "a DatabaseConfig is sent");
	assert.equal(h.currentReplicationIndex, BigInt(idx), "Hello reports the commit Hrana just made (read-your-writes)");
	const idx2 = await write(srv, `INSERT INTO ${t} VALUES (1)`);
	assert.ok(idx2 > idx);
	const h2 = await hello(srv);
	assert.equal(h2.currentReplicationIndex, BigInt(idx2));
	assert.equal(h2.sessionToken, h.sessionToken, "the token is stable within a process and lineage");
	assert.equal(h2.logId, h.logId);
	assert.equal(h2.generationId, h.generationId);
	// no handshake_version and an extra session token are fine too
	const r = await grpcCall(srv, LOG + "Hello", msg.hello(undefined), { token: "whatever" });
	assert.equal(r.status, GRPC.OK);
	assert.equal(r.httpStatus, 200);
	assert.match(r.headers["content-type"], /^application\/grpc-web/);
});

test("BatchLogEntries: consecutive frames from 0 ending on a commit with size_after = page count; empty when caught up", async () => {
	const t = table();
	await write(srv, `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT)`);
	await write(srv, `INSERT INTO ${t} (v) SELECT hex(randomblob(300)) FROM generate_series(1, 40)`).catch(async () => {
		// generate_series is not in every SQLite build: a recursive CTE instead
		await write(srv, `WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 40) INSERT INTO ${t} (v) SELECT hex(randomblob(300)) FROM c`);
	});
	const last = await write(srv, `UPDATE ${t} SET v = 'x' WHERE id = 1`);
	const pages = await scalar(srv, "PRAGMA page_count");
	const h = await hello(srv);
	assert.equal(h.currentReplicationIndex, BigInt(last));
	const frames = await drain(srv, 0, h.sessionToken);
	assertConsecutive(frames, 0);
	const end = frames.at(-1);
	assert.equal(end.frameNo, last, "the log ends at the last commit");
	assert.notEqual(end.sizeAfter, 0, "the last frame is a commit frame");
	assert.equal(end.sizeAfter, pages, "size_after of the last commit = the database's page count");
	// transactions: every frame after a commit frame starts a transaction
	const starts = [0, ...frames.filter((f) => f.sizeAfter).map((f) => f.frameNo + 1).slice(0, -1)];
	const mid = starts[Math.floor(starts.length / 2)];
	const tail = await batch(srv, mid, h.sessionToken);
	assert.equal(tail[0].frameNo, mid, "a batch can start at any transaction");
	assert.equal(tail.at(-1).frameNo, last);
	assert.deepEqual((await batch(srv, last + 1, h.sessionToken)).length, 0, "caught up: zero frames");
	assert.deepEqual((await batch(srv, last + 1000, h.sessionToken)).length, 0, "ahead: zero frames");
	// the page images are the database's: page 1 starts with the SQLite header
	const p1 = frames.filter((f) => f.pageNo === 1).at(-1);
	assert.equal(p1.page.subarray(0, 16).toString("latin1"), "SQLite format 3\0");
	assert.equal(p1.page.readUInt16BE(16), 4096, "page size 4096");
});

test("BatchLogEntries: at most ~1024 frames per answer, extended to the next commit; a huge transaction comes whole", async (t) => {
	const s = await startSqld();
	t.after(() => s.stop());
	await write(s, "CREATE TABLE big (b BLOB)");
	for (let i = 0; i < 5; i++) await write(s, "INSERT INTO big VALUES (randomblob(1200000))"); // ~300 pages each
	const h = await hello(s);
	const total = Number(h.currentReplicationIndex) + 1;
	assert.ok(total > 1400, `expected > 1400 frames, got ${total}`);
	const first = await batch(s, 0, h.sessionToken);
	assert.ok(first.length >= 1024, `a full batch has at least 1024 frames (got ${first.length})`);
	assert.ok(first.length < total, "but not the whole log");
	assert.notEqual(first.at(-1).sizeAfter, 0, "a batch never ends mid-transaction");
	assert.equal(first.filter((f) => f.sizeAfter).length >= 1, true);
	assertConsecutive(first, 0);
	const rest = await drain(s, first.at(-1).frameNo + 1, h.sessionToken);
	assertConsecutive([...first, ...rest], 0);
	assert.equal(first.length + rest.length, total);
	// one transaction of ~1500 pages is never split
	const before = Number(h.currentReplicationIndex);
	const idx = await write(s, "INSERT INTO big VALUES (randomblob(6000000))");
	const h2 = await hello(s);
	const huge = await batch(s, before + 1, h2.sessionToken);
	assert.equal(huge.length, idx - before, "the whole transaction in one answer");
	assert.ok(huge.length > 1024);
	assert.equal(huge.filter((f) => f.sizeAfter).length, 1, "exactly one commit frame, the last");
	assert.notEqual(huge.at(-1).sizeAfter, 0);
});

test("NO_HELLO without or with a wrong x-session-token (ReplicationLog only; Proxy does not need one)", async () => {
	const h = await hello(srv);
	for (const [name, body] of [["BatchLogEntries", msg.logOffset(0)], ["LogEntries", msg.logOffset(0)], ["Snapshot", msg.logOffset(0)]]) {
		for (const token of [undefined, "00000000-0000-4000-8000-000000000000", h.sessionToken.toUpperCase(), ""]) {
			const r = await grpcCall(srv, LOG + name, body, { token });
			assert.equal(r.httpStatus, 200);
			assert.equal(r.status, GRPC.FAILED_PRECONDITION, `${name} with token ${token}: ${r.status} ${r.message}`);
			assert.equal(r.message, "NO_HELLO");
			assert.equal(r.messages.length, 0, "no data with an error");
		}
	}
	const ok = await execute(srv, "no-token-client", ["SELECT 1"]);
	assert.deepEqual(rowsOf(ok.results[0]).rows, [[1n]]);
});

test("wal_flavor Libsql is refused, Sqlite is fine", async () => {
	const h = await hello(srv);
	for (const name of ["BatchLogEntries", "LogEntries", "Snapshot"]) {
		const r = await grpcCall(srv, LOG + name, msg.logOffset(0, 1), { token: h.sessionToken });
		assert.equal(r.status, GRPC.INVALID_ARGUMENT, name);
		assert.equal(r.message, "libsql wal not supported");
	}
	const r = await grpcCall(srv, LOG + "BatchLogEntries", msg.logOffset(0, 0), { token: h.sessionToken });
	assert.equal(r.status, GRPC.OK);
});

test("malformed requests get INVALID_ARGUMENT (or UNIMPLEMENTED / RESOURCE_EXHAUSTED), never a crash; the server keeps serving", async () => {
	const h = await hello(srv);
	const tok = h.sessionToken;
	const cases = [
		["empty body", LOG + "Hello", Buffer.alloc(0), GRPC.INVALID_ARGUMENT],
		["truncated frame", LOG + "Hello", Buffer.from([0, 0, 0, 0, 10, 8, 1]), GRPC.INVALID_ARGUMENT],
		["half a header", LOG + "Hello", Buffer.from([0, 0, 0]), GRPC.INVALID_ARGUMENT],
		["absurd length", LOG + "BatchLogEntries", Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 8, 1]), GRPC.INVALID_ARGUMENT],
		["compressed flag", LOG + "Hello", Buffer.from([1, 0, 0, 0, 2, 8, 1]), GRPC.INVALID_ARGUMENT],
		["unknown flag bits", LOG + "Hello", Buffer.from([0x42, 0, 0, 0, 2, 8, 1]), GRPC.INVALID_ARGUMENT],
		["two messages", LOG + "Hello", Buffer.concat([grpcFrame(msg.hello()), grpcFrame(msg.hello())]), GRPC.INVALID_ARGUMENT],
		["bytes after the trailers", LOG + "Hello", Buffer.concat([grpcFrame(msg.hello()), grpcFrame([], 0x80), Buffer.from([0])]), GRPC.INVALID_ARGUMENT],
		["truncated varint", LOG + "BatchLogEntries", grpcFrame([0x08, 0xff]), GRPC.INVALID_ARGUMENT],
		["wire type 7", LOG + "BatchLogEntries", grpcFrame([0x0f, 0x01]), GRPC.INVALID_ARGUMENT],
		["field longer than the message", PROXY + "Execute", grpcFrame([0x12, 0x40, 0x0a]), GRPC.INVALID_ARGUMENT],
		["a step without a query", PROXY + "Execute", grpcFrame([...pb.bytes(1, "c1"), ...pb.bytes(2, pb.bytes(1, []))]), GRPC.INVALID_ARGUMENT],
		["a cond on a later step", PROXY + "Execute", grpcFrame(msg.program("c1", [msg.step("SELECT 1", [], msg.condOk(1)), "SELECT 2"])), GRPC.INVALID_ARGUMENT],
		["a value that is not bincode", PROXY + "Execute", grpcFrame(msg.program("c1", [msg.step([...pb.bytes(1, "SELECT ?"), ...pb.bytes(2, pb.bytes(1, pb.bytes(1, [9, 0, 0, 0])))])])), GRPC.INVALID_ARGUMENT],
		["no client_id", PROXY + "Execute", grpcFrame(msg.program("", ["SELECT 1"])), GRPC.INVALID_ARGUMENT],
		["unknown ReplicationLog method", LOG + "Nope", grpcFrame([]), GRPC.UNIMPLEMENTED],
		["unknown Proxy method", PROXY + "Frobnicate", grpcFrame([]), GRPC.UNIMPLEMENTED],
		["StreamExec", PROXY + "StreamExec", grpcFrame([]), GRPC.UNIMPLEMENTED],
	];
	for (const [name, path, body, status] of cases) {
		for (const chunked of [false, true]) {
			const r = await grpcCall(srv, path, undefined, { body, token: tok, chunked });
			assert.equal(r.httpStatus, 200, `${name}: HTTP ${r.httpStatus}`);
			assert.match(r.headers["content-type"], /^application\/grpc-web/, name);
			assert.equal(r.status, status, `${name}${chunked ? " (chunked)" : ""}: ${r.status} ${r.message}`);
			assert.equal(r.messages.length, 0, name);
			assert.ok(r.message.length > 0, `${name}: a grpc-message says why`);
		}
	}
	// x-namespace-bin must be base64 (any namespace is accepted for now)
	for (const ns of ["ZGVmYXVsdA", "ZGVmYXVsdA==", "MTI3", "Zm9v-_8"]) assert.equal((await grpcCall(srv, LOG + "Hello", msg.hello(), { ns })).status, GRPC.OK, ns);
	for (const ns of ["not base64!", "A", "ab=c"]) {
		const r = await grpcCall(srv, LOG + "Hello", msg.hello(), { ns });
		assert.equal(r.status, GRPC.INVALID_ARGUMENT, ns);
	}
	// a Proxy message above its 8 MiB limit, really that large
	const sql = Buffer.from(`SELECT '${"x".repeat(9 << 20)}'`);
	const wrap = (field, inner) => Buffer.concat([Buffer.from(varint((field << 3) | 2)), Buffer.from(varint(inner.length)), inner]);
	const huge = Buffer.concat([wrap(1, Buffer.from("c1")), wrap(2, wrap(1, wrap(2, wrap(1, sql))))]);
	const r = await grpcCall(srv, PROXY + "Execute", undefined, { body: grpcFrame(huge) });
	assert.equal(r.status, GRPC.RESOURCE_EXHAUSTED, `${r.status} ${r.message}`);
	// still serving
	const h2 = await hello(srv);
	assert.equal(h2.sessionToken, tok);
	assert.equal(srv.proc.exitCode, null);
});

test("keep-alive: calls share one connection; chunked request bodies are read whole", async () => {
	const agent = keepAlive();
	try {
		const a = await grpcCall(srv, LOG + "Hello", msg.hello(), { agent });
		const b = await grpcCall(srv, LOG + "Hello", msg.hello(), { agent });
		assert.equal(a.status, GRPC.OK);
		assert.equal(b.status, GRPC.OK);
		assert.equal(b.reusedSocket, true, "the second call reused the connection");
		const tok = decodeHello(a.messages[0]).sessionToken;
		const c = await grpcCall(srv, LOG + "BatchLogEntries", msg.logOffset(0), { agent, token: tok });
		assert.equal(c.reusedSocket, true);
		assert.equal(c.status, GRPC.OK);
		// what the real client sends: transfer-encoding chunked. libwebsockets
		// 4.1 cannot find the next request after a chunked body, so sqld
		// answers with `connection: close` and the next call connects anew
		// (see net_must_close in sqld/net_out.c).
		for (let i = 0; i < 3; i++) {
			const d = await grpcCall(srv, LOG + "Hello", msg.hello(), { agent, chunked: true });
			assert.equal(d.status, GRPC.OK, `chunked call ${i}`);
			assert.equal(d.headers.connection, "close");
			const e = await grpcCall(srv, PROXY + "Execute", msg.program("chunky", ["SELECT 40 + 2"]), { agent, chunked: true });
			assert.equal(e.status, GRPC.OK);
			assert.deepEqual(rowsOf(decodeExecuteResults(e.messages[0]).results[0]).rows, [[42n]]);
		}
	} finally {
		agent.destroy();
	}
});

test("Proxy.Execute: writes, rows, parameters, state INIT/TXN across calls, isolation, current_frame_no (read-your-writes)", async () => {
	const t = table("px");
	const A = "6e0c1c55-1111-4000-8000-00000000000a", B = "6e0c1c55-1111-4000-8000-00000000000b";
	const before = await hello(srv);
	let r = await execute(srv, A, [`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT UNIQUE, r REAL, b BLOB)`]);
	assert.equal(r.results.length, 1);
	rowsOf(r.results[0]);
	assert.equal(r.state, STATE.INIT);
	assert.ok(r.currentFrameNo > before.currentReplicationIndex, "the write moved the log");
	const h = await hello(srv);
	assert.equal(h.currentReplicationIndex, r.currentFrameNo, "Hello after the write reports its frame_no");
	const fr = await batch(srv, Number(before.currentReplicationIndex) + 1, h.sessionToken);
	assert.equal(BigInt(fr.at(-1).frameNo), r.currentFrameNo, "the write's frames are in the log at once");

	r = await execute(srv, A, [msg.step(`INSERT INTO ${t} VALUES (?, ?, ?, ?)`, [1, "one", 1.5, Buffer.from([0, 1, 255])])]);
	assert.equal(rowsOf(r.results[0]).affectedRowCount, 1);
	assert.equal(r.results[0].rows.lastInsertRowid, 1n);
	r = await execute(srv, A, [`SELECT id, v, r, b, NULL AS n FROM ${t}`]);
	const rows = rowsOf(r.results[0]);
	assert.deepEqual(rows.cols, [
		{ name: "id", decltype: "INTEGER" }, { name: "v", decltype: "TEXT" }, { name: "r", decltype: "REAL" },
		{ name: "b", decltype: "BLOB" }, { name: "n", decltype: null },
	]);
	assert.deepEqual(rows.rows, [[1n, "one", 1.5, Buffer.from([0, 1, 255]), null]]);
	assert.equal(rows.affectedRowCount, 0);
	// named parameters, with and without their prefix
	r = await execute(srv, A, [msg.step(msg.query("SELECT :a + :b, @c", [], { named: { ":a": 1, b: 2, c: "c" } }))]);
	assert.deepEqual(rowsOf(r.results[0]).rows, [[3n, "c"]]);
	// skip_rows
	r = await execute(srv, A, [msg.step(msg.query(`SELECT * FROM ${t}`, [], { skipRows: true }))]);
	assert.deepEqual(rowsOf(r.results[0]).rows, []);

	// an interactive transaction spans calls; B does not see it until COMMIT
	r = await execute(srv, A, ["BEGIN"]);
	assert.equal(r.state, STATE.TXN);
	r = await execute(srv, A, [msg.step(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, [2, "two"])]);
	assert.equal(r.state, STATE.TXN);
	const mid = await execute(srv, B, [`SELECT count(*) FROM ${t}`]);
	assert.deepEqual(rowsOf(mid.results[0]).rows, [[1n]], "B does not see A's open transaction");
	assert.equal(mid.state, STATE.INIT);
	r = await execute(srv, A, ["COMMIT"]);
	assert.equal(r.state, STATE.INIT);
	const after2 = await execute(srv, B, [`SELECT count(*) FROM ${t}`]);
	assert.deepEqual(rowsOf(after2.results[0]).rows, [[2n]]);
	assert.equal(await scalar(srv, `SELECT count(*) FROM ${t}`), 2, "Hrana sees it too");
	// a whole transaction in one program, as the client wraps batches
	r = await execute(srv, A, ["BEGIN TRANSACTION", msg.step(`INSERT INTO ${t} (id, v) VALUES (3, 'three')`, [], msg.condOk(0)),
		msg.step("COMMIT", [], msg.condOk(1)), msg.step("ROLLBACK", [], msg.condNot(msg.condOk(2)))]);
	assert.equal(r.results.length, 4);
	assert.equal(r.state, STATE.INIT);
	assert.deepEqual(r.results[3].rows?.cols ?? [], [], "the skipped ROLLBACK is an empty ResultRows");
	assert.equal(await scalar(srv, `SELECT count(*) FROM ${t}`), 3);
	// 20 calls of one client at once still run one at a time
	await execute(srv, A, ["BEGIN"]);
	const many = await Promise.all(Array.from({ length: 20 }, (_, i) => execute(srv, A, [msg.step(`INSERT INTO ${t} (id, v) VALUES (?, ?)`, [100 + i, `v${i}`])])));
	for (const m of many) {
		assert.equal(m.state, STATE.TXN);
		assert.equal(rowsOf(m.results[0]).affectedRowCount, 1);
	}
	assert.equal((await execute(srv, A, ["COMMIT"])).state, STATE.INIT);
	assert.equal(await scalar(srv, `SELECT count(*) FROM ${t}`), 23);
});

test("Proxy.Execute errors: codes and SQLite extended codes (1555 PRIMARY KEY, 2067 UNIQUE), conds, argument errors", async () => {
	const t = table("pe");
	const A = "c0ffee00-2222-4000-8000-000000000001";
	await execute(srv, A, [`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT UNIQUE)`, `INSERT INTO ${t} VALUES (1, 'one')`]);
	let r = await execute(srv, A, [`INSERT INTO ${t} VALUES (1, 'uno')`]);
	assert.deepEqual({ ...r.results[0].error, message: undefined }, { code: ERR.INTERNAL, extendedCode: 1555, message: undefined });
	assert.match(r.results[0].error.message, /UNIQUE constraint failed: .*\.id/);
	assert.equal(r.state, STATE.INIT);
	r = await execute(srv, A, [`INSERT INTO ${t} VALUES (2, 'one')`]);
	assert.equal(r.results[0].error.code, ERR.INTERNAL);
	assert.equal(r.results[0].error.extendedCode, 2067);
	r = await execute(srv, A, [`INSERT INTO ${t} VALUES (NULL, NULL, NULL)`]);
	assert.equal(r.results[0].error.code, ERR.INTERNAL);
	assert.equal(r.results[0].error.extendedCode, 1, "a prepare error carries SQLITE_ERROR");
	r = await execute(srv, A, [msg.step(`INSERT INTO ${t} VALUES (?, ?)`, [5])]);
	assert.equal(r.results[0].error.code, ERR.SQL_ERROR, "argument errors are SQL_ERROR");
	// conds: step 1 runs only if step 0 succeeded, step 2 only if it failed
	r = await execute(srv, A, [`INSERT INTO ${t} VALUES (1, 'dup')`, msg.step(`INSERT INTO ${t} VALUES (9, 'nine')`, [], msg.condOk(0)),
		msg.step("SELECT 42", [], msg.condErr(0)), msg.step("SELECT 43", [], msg.condAutocommit())]);
	assert.equal(r.results[0].error.extendedCode, 1555);
	assert.deepEqual(r.results[1], { rows: { cols: [], rows: [], affectedRowCount: 0, lastInsertRowid: undefined } }, "skipped: empty ResultRows");
	assert.deepEqual(r.results[2].rows.rows, [[42n]]);
	assert.deepEqual(r.results[3].rows.rows, [[43n]]);
	assert.equal(await scalar(srv, `SELECT count(*) FROM ${t} WHERE id = 9`), 0);
	// an error inside a transaction keeps the transaction
	r = await execute(srv, A, ["BEGIN", `INSERT INTO ${t} VALUES (1, 'dup')`]);
	assert.equal(r.results[1].error.extendedCode, 1555);
	assert.equal(r.state, STATE.TXN);
	assert.equal((await execute(srv, A, ["ROLLBACK"])).state, STATE.INIT);
	// more than one statement in a step is an error of that step
	r = await execute(srv, A, ["SELECT 1; SELECT 2"]);
	assert.ok(r.results[0].error, "two statements in one Query");
	// an empty program
	r = await execute(srv, A, []);
	assert.deepEqual(r.results, []);
	assert.equal(r.state, STATE.INIT);
});

test("Proxy.Describe and Proxy.Disconnect (which rolls the client's transaction back)", async () => {
	const t = table("pd");
	const A = "dddddddd-3333-4000-8000-000000000001";
	await execute(srv, A, [`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, v TEXT)`]);
	let r = await grpcCall(srv, PROXY + "Describe", msg.describe(A, `SELECT id, v, 1 AS one FROM ${t} WHERE id = :id AND v = ? AND id > ?5`));
	assert.equal(r.status, GRPC.OK);
	const d = decodeDescribe(r.messages[0]);
	assert.deepEqual(d.cols, [{ name: "id", decltype: "INTEGER" }, { name: "v", decltype: "TEXT" }, { name: "one", decltype: null }]);
	assert.deepEqual(d.paramNames, [":id", "?5"], "only named parameters have names");
	assert.equal(d.paramCount, 5);
	r = await grpcCall(srv, PROXY + "Describe", msg.describe(A, "SELEC nope"));
	assert.equal(r.status, GRPC.OK);
	const de = decodeDescribe(r.messages[0]);
	assert.equal(de.error.code, ERR.INTERNAL);
	assert.match(de.error.message, /syntax error/);
	// Disconnect rolls back what the client left open
	const C = "dddddddd-3333-4000-8000-00000000000c";
	r = await grpcCall(srv, PROXY + "Execute", msg.program(C, ["BEGIN", `INSERT INTO ${t} VALUES (7, 'seven')`]));
	assert.equal(decodeExecuteResults(r.messages[0]).state, STATE.TXN);
	r = await grpcCall(srv, PROXY + "Disconnect", msg.disconnect(C));
	assert.equal(r.status, GRPC.OK);
	assert.equal(r.messages.length, 1);
	assert.equal(r.messages[0].length, 0, "Ack is an empty message");
	assert.equal(await scalar(srv, `SELECT count(*) FROM ${t}`), 0, "the open transaction was rolled back");
	// the client id can be used again, on a fresh connection
	const again = await execute(srv, C, [`SELECT count(*) FROM ${t}`]);
	assert.equal(again.state, STATE.INIT);
	// Disconnect of a client that never was
	r = await grpcCall(srv, PROXY + "Disconnect", msg.disconnect("never-seen"));
	assert.equal(r.status, GRPC.OK);
	assert.equal(r.messages.length, 1);
});

test("LogEntries: the stream opens at once and delivers commits made after it opened", async () => {
	const t = table("le");
	await write(srv, `CREATE TABLE ${t} (x)`);
	const h = await hello(srv);
	const from = Number(h.currentReplicationIndex) + 1;
	const s = grpcStream(srv, LOG + "LogEntries", msg.logOffset(from), { token: h.sessionToken });
	try {
		const head = await Promise.race([s.headers, sleep(3000).then(() => null)]);
		assert.ok(head, "response headers arrive before any frame");
		assert.equal(head.statusCode, 200);
		assert.match(head.headers["content-type"], /^application\/grpc-web/);
		await sleep(300);
		assert.equal(s.pending(), 0, "nothing to send while caught up");
		const collect = async (until) => {
			const got = [];
			for (;;) {
				const f = frameHdr(decodeFrame(await s.next(5000)));
				got.push(f);
				if (f.sizeAfter && f.frameNo >= until) return got;
			}
		};
		const idx1 = await write(srv, `INSERT INTO ${t} VALUES (1)`);
		const got1 = await collect(idx1);
		assertConsecutive(got1, from);
		assert.equal(got1.at(-1).frameNo, idx1);
		const idx2 = await write(srv, `INSERT INTO ${t} VALUES (randomblob(20000))`);
		const got2 = await collect(idx2);
		assertConsecutive(got2, idx1 + 1);
		assert.equal(got2.at(-1).sizeAfter, await scalar(srv, "PRAGMA page_count"));
		// Proxy writes show up as well
		const px = await execute(srv, "le-client", [`INSERT INTO ${t} VALUES (3)`]);
		const got3 = await collect(Number(px.currentFrameNo));
		assert.equal(BigInt(got3.at(-1).frameNo), px.currentFrameNo);
	} finally {
		s.close();
	}
	// a stream from the start replays the backlog at once
	const h2 = await hello(srv);
	const s2 = grpcStream(srv, LOG + "LogEntries", msg.logOffset(0), { token: h2.sessionToken });
	try {
		const frames = [];
		while (frames.length === 0 || frames.at(-1).frameNo < Number(h2.currentReplicationIndex))
			frames.push(frameHdr(decodeFrame(await s2.next(5000))));
		assertConsecutive(frames, 0);
	} finally {
		s2.close();
	}
	assert.equal((await hello(srv)).logId, h.logId, "still serving after streams went away");
});

test("LogEntries streams end with OK trailers when the server shuts down; the exit is clean", async () => {
	const s = await startSqld();
	let stopped = false;
	try {
		const h = await hello(s);
		const streams = [0, 1, 2].map(() => grpcStream(s, LOG + "LogEntries", msg.logOffset(Number(h.currentReplicationIndex) + 1), { token: h.sessionToken }));
		for (const st of streams) assert.equal((await st.headers).statusCode, 200);
		await sleep(200);
		const t0 = Date.now();
		await s.stop();
		stopped = true;
		assert.ok(Date.now() - t0 < 5000, "waiting streams do not hold the shutdown");
		for (const st of streams) {
			const d = await st.done;
			assert.equal(d.status, GRPC.OK, `trailers at shutdown: ${JSON.stringify(d)}`);
			assert.equal(d.complete, true);
		}
	} finally {
		if (!stopped) await s.stop();
	}
});

test("NEED_SNAPSHOT after compaction, then Snapshot (highest frame first, last frame commits) and BatchLogEntries after it", async (t) => {
	const s = await startSqld({ args: ["--max-log-size", "1"] });
	t.after(() => s.stop());
	await write(s, "CREATE TABLE snap (id INTEGER PRIMARY KEY, b BLOB)");
	await write(s, "INSERT INTO snap (b) VALUES (randomblob(100000))");
	await write(s, "UPDATE snap SET b = randomblob(100000) WHERE id = 1"); // pages written twice
	const idx = await write(s, "INSERT INTO snap (b) VALUES (randomblob(1500000))"); // past 1 MB: compaction
	const pages = await scalar(s, "PRAGMA page_count");
	let h, r;
	for (let i = 0; i < 100; i++) {
		h = await hello(s);
		r = await grpcCall(s, LOG + "BatchLogEntries", msg.logOffset(0), { token: h.sessionToken });
		// compaction runs in the background: until it is done the answer is
		// the log itself, sent in pieces. Compaction between two pieces must
		// not cut it short (the answer pins its log file): every answer is
		// whole, OK or NEED_SNAPSHOT (regression: one used to end without
		// its promised length, status undefined)
		assert.ok(r.status === GRPC.OK || r.status === GRPC.FAILED_PRECONDITION, `a whole answer: ${JSON.stringify([r.status, r.message])}`);
		if (r.status !== GRPC.OK) break;
		await sleep(50);
	}
	assert.equal(r.status, GRPC.FAILED_PRECONDITION, `expected NEED_SNAPSHOT, got ${r.status} ${r.message}`);
	assert.equal(r.message, "NEED_SNAPSHOT");
	const st = grpcStream(s, LOG + "Snapshot", msg.logOffset(0), { token: h.sessionToken });
	const done = await st.done;
	assert.equal(done.status, GRPC.OK, JSON.stringify(done));
	const frames = st.body.messages.map((m) => frameHdr(decodeFrame(m)));
	assert.ok(frames.length >= pages, `${frames.length} frames for ${pages} pages`);
	assert.equal(frames[0].frameNo, idx, "the first frame is the snapshot's end, the replica's new position");
	for (let i = 1; i < frames.length; i++) assert.ok(frames[i].frameNo < frames[i - 1].frameNo, "strictly descending frame_no");
	assert.deepEqual(frames.slice(0, -1).filter((f) => f.sizeAfter), [], "only the last frame commits");
	assert.equal(frames.at(-1).sizeAfter, pages, "the last frame carries the database size");
	assert.deepEqual([...new Set(frames.map((f) => f.pageNo))].sort((a, b) => a - b), Array.from({ length: pages }, (_, i) => i + 1),
		"each page once, every page of the database");
	// the log continues after the snapshot
	const next = await write(s, "INSERT INTO snap (b) VALUES (x'01')");
	const after = await batch(s, idx + 1, h.sessionToken);
	assert.equal(after[0].frameNo, idx + 1);
	assert.equal(after.at(-1).frameNo, next);
	// a snapshot from the middle of its range has the frames >= that offset
	const part = grpcStream(s, LOG + "Snapshot", msg.logOffset(idx - 2), { token: h.sessionToken });
	assert.equal((await part.done).status, GRPC.OK);
	const pf = part.body.messages.map((m) => frameHdr(decodeFrame(m)));
	assert.ok(pf.every((f) => f.frameNo >= idx - 2) && pf.length >= 1);
	assert.notEqual(pf.at(-1).sizeAfter, 0);
	// past the snapshot: none
	const none = await grpcCall(s, LOG + "Snapshot", msg.logOffset(next + 10), { token: h.sessionToken });
	assert.equal(none.status, GRPC.UNAVAILABLE);
	assert.equal(none.message, "snapshot not found");
});

test("Snapshot without compaction: UNAVAILABLE snapshot not found", async () => {
	const h = await hello(srv);
	const r = await grpcCall(srv, LOG + "Snapshot", msg.logOffset(0), { token: h.sessionToken });
	assert.equal(r.status, GRPC.UNAVAILABLE);
	assert.equal(r.message, "snapshot not found");
});

test("a restart keeps log_id (clean shutdown) but changes the session token and generation", async () => {
	const dir = await mkTempDir();
	try {
		const s1 = await startSqld({ dir });
		await write(s1, "CREATE TABLE k (x)");
		const h1 = await hello(s1);
		await s1.stop();
		const s2 = await startSqld({ dir });
		try {
			const h2 = await hello(s2);
			assert.equal(h2.logId, h1.logId, "the lineage survives a clean restart");
			assert.equal(h2.currentReplicationIndex, h1.currentReplicationIndex);
			assert.notEqual(h2.sessionToken, h1.sessionToken, "a new process, a new session token");
			assert.notEqual(h2.generationId, h1.generationId);
			const r = await grpcCall(s2, LOG + "BatchLogEntries", msg.logOffset(0), { token: h1.sessionToken });
			assert.equal(r.status, GRPC.FAILED_PRECONDITION);
			assert.equal(r.message, "NO_HELLO");
		} finally {
			await s2.stop();
		}
	} finally {
		rmDir(dir);
	}
});

test("calls abandoned by their clients (queued or running Proxy calls, streams mid-way) leave the server consistent", async (t) => {
	const s = await startSqld();
	t.after(() => s.stop());
	const slow = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 2000000) SELECT count(*) FROM c";
	// five calls of one client: one runs, four wait behind it; all are abandoned
	const gone = Array.from({ length: 5 }, () => grpcStream(s, PROXY + "Execute", msg.program("gone", [slow])));
	await sleep(50);
	for (const g of gone) g.close();
	const r = await execute(s, "gone", ["SELECT 7"]);
	assert.deepEqual(rowsOf(r.results[0]).rows, [[7n]], "the client id keeps working after its abandoned calls");
	// a LogEntries stream with a backlog of several chunks, dropped after the first frame
	await write(s, "CREATE TABLE backlog (b BLOB)");
	await write(s, "INSERT INTO backlog VALUES (randomblob(4000000))");
	const h = await hello(s);
	const le = grpcStream(s, LOG + "LogEntries", msg.logOffset(0), { token: h.sessionToken });
	await le.next(5000);
	le.close();
	// a BatchLogEntries answer of ~1000 frames, dropped before it is read
	const b = grpcStream(s, LOG + "BatchLogEntries", msg.logOffset(0), { token: h.sessionToken });
	await b.headers;
	b.close();
	await sleep(100);
	const again = await batch(s, 0, h.sessionToken);
	assert.ok(again.length > 900);
	assert.equal((await hello(s)).sessionToken, h.sessionToken);
});

test("shutdown rolls back open Proxy transactions and interrupts a Proxy statement that runs past the bound", async () => {
	const dir = await mkTempDir();
	try {
		const s = await startSqld({ dir, args: ["--shutdown-timeout-s", "1"] });
		await execute(s, "t1", ["CREATE TABLE sd (x)"]);
		const r = await execute(s, "t1", ["BEGIN", "INSERT INTO sd VALUES (1)"]);
		assert.equal(r.state, STATE.TXN);
		const forever = grpcStream(s, PROXY + "Execute", msg.program("t2", ["WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c"]));
		await sleep(200); // it runs (its answer never comes: the statement does not end)
		const t0 = Date.now();
		await s.stop();
		assert.ok(Date.now() - t0 < 6000, `stopped in ${Date.now() - t0} ms`);
		await forever.done;
		const s2 = await startSqld({ dir });
		try {
			assert.equal(await scalar(s2, "SELECT count(*) FROM sd"), 0, "the open transaction was rolled back");
		} finally {
			await s2.stop();
		}
	} finally {
		rmDir(dir);
	}
});
