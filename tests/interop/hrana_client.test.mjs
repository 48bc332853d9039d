// @libsql/hrana-client used directly against the real sqld, over every
// encoding it can speak: WebSocket hrana2 (JSON), hrana3 (JSON) and
// hrana3-protobuf, HTTP /v2 (JSON), /v3 (JSON) and /v3-protobuf. The same
// cases run on each: streams, queries, batches with conditions, describe,
// stored SQL, sequence, getAutocommit and cursors where the version has them.
//
// How each variant is reached, and proved to be in use:
//   ws v2            openWs(url, _, 2) offers hrana2, hrana1
//   ws v3 json       a WsClient over a socket offering only "hrana3"
//   ws v3 protobuf   openWs(url, _, 3) offers hrana3-protobuf first; the
//                    socket's negotiated subprotocol must be hrana3-protobuf
//   http v2          openHttp(url, .., 2)
//   http v3 -> v2    openHttp(.., 3) with a fetch that answers the client's
//                    GET /v3-protobuf probe with 404: hrana-client then falls
//                    back to /v2 JSON (it has no /v3 JSON mode; the raw
//                    integration tests cover /v3 JSON)
//   http v3 protobuf openHttp(.., 3): probes GET /v3-protobuf (200) and then
//                    posts protobuf; a recording fetch proves every pipeline
//                    and cursor request went to /v3-protobuf/ with protobuf
//                    bodies and got application/x-protobuf or octet-stream.
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as hrana from "@libsql/hrana-client";
import { startSqld } from "./lib/sqld.mjs";

const { BatchCond } = hrana;

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

let tableNo = 0;
const table = (p = "h") => `${p}_${process.pid}_${++tableNo}`;

/** A fetch that records (path, request content-type, response content-type)
 * and, with hideProtobuf, answers the /v3-protobuf probe with 404. */
function recordingFetch(log, hideProtobuf) {
	return async (req) => {
		const path = new URL(req.url).pathname;
		if (hideProtobuf && path === "/v3-protobuf") return new Response("no", { status: 404 });
		const resp = await fetch(req);
		log.push({ path, method: req.method, reqType: req.headers.get("content-type"), respType: resp.headers.get("content-type") });
		return resp;
	};
}

const VARIANTS = [
	{ name: "ws v2 (hrana2, JSON)", kind: "ws", version: 2, encoding: "json" },
	{ name: "ws v3 (hrana3, JSON)", kind: "ws", version: 3, encoding: "json", offer: ["hrana3"] },
	{ name: "ws v3 (hrana3-protobuf)", kind: "ws", version: 3, encoding: "protobuf" },
	{ name: "http v2 (JSON)", kind: "http", version: 2, encoding: "json" },
	{ name: "http v3 without the protobuf probe (falls back to /v2, JSON)", kind: "http", version: 3, expect: 2, encoding: "json" },
	{ name: "http v3 (/v3-protobuf)", kind: "http", version: 3, encoding: "protobuf" },
];

for (const variant of VARIANTS) {
	const { kind, encoding } = variant;
	const requested = variant.version;
	const expected = variant.expect ?? requested;
	describe(`hrana-client ${variant.name}`, () => {
		let client;
		let version;
		let socket;
		const httpLog = [];
		before(async () => {
			if (kind === "ws" && variant.offer) {
				socket = new hrana.WebSocket(srv.wsUrl, variant.offer);
				client = new hrana.WsClient(socket, undefined);
			} else if (kind === "ws") {
				client = hrana.openWs(srv.wsUrl, undefined, requested);
			} else {
				const f = recordingFetch(httpLog, encoding === "json");
				client = hrana.openHttp(srv.url, undefined, f, undefined, requested);
			}
			version = await client.getVersion();
		});
		after(() => client?.close());
		const sqlOwner = (stream) => (kind === "ws" ? client : stream);

		test("negotiated protocol version and encoding", async () => {
			assert.equal(version, expected);
			if (kind === "ws" && variant.offer) {
				assert.equal(socket.protocol, variant.offer[0]);
			} else if (kind === "ws") {
				// the client's socket is private: negotiate again the same way
				// and look at what sqld chose for the offer openWs makes
				const offer = requested === 3 ? ["hrana3-protobuf", "hrana3", "hrana2", "hrana1"] : ["hrana2", "hrana1"];
				const ws = new hrana.WebSocket(srv.wsUrl, offer);
				await new Promise((res, rej) => { ws.onopen = res; ws.onerror = rej; });
				assert.equal(ws.protocol, requested === 3 ? "hrana3-protobuf" : "hrana2");
				ws.close();
			}
		});

		test("query, queryRow, queryValue, run; intMode bigint; stream isolation", async (t) => {
			const s = client.openStream();
			t.after(() => s.close());
			const tb = table();
			const c = await s.run(`CREATE TABLE ${tb} (id INTEGER PRIMARY KEY, v TEXT)`);
			assert.equal(c.affectedRowCount, 0);
			const ins = await s.run([`INSERT INTO ${tb} (v) VALUES (?), (?)`, ["a", "b"]]);
			assert.equal(ins.affectedRowCount, 2);
			assert.equal(ins.lastInsertRowid, 2n);
			const q = await s.query(`SELECT id, v FROM ${tb} ORDER BY id`);
			assert.deepEqual(q.columnNames, ["id", "v"]);
			assert.deepEqual(q.columnDecltypes, version >= 2 ? ["INTEGER", "TEXT"] : [undefined, undefined]);
			assert.equal(q.rows.length, 2);
			assert.equal(q.rows[1].v, "b");
			assert.equal(q.rows[0][0], 1);
			assert.equal(q.affectedRowCount, 0);
			const row = await s.queryRow([`SELECT v FROM ${tb} WHERE id = :id`, { id: 2 }]);
			assert.equal(row.row.v, "b");
			const none = await s.queryRow(`SELECT v FROM ${tb} WHERE id = 99`);
			assert.equal(none.row, undefined);
			const val = await s.queryValue(new hrana.Stmt(`SELECT count(*) FROM ${tb} WHERE v = $v`).bindName("v", "a"));
			assert.equal(val.value, 1);
			s.intMode = "bigint";
			const big = await s.queryValue("SELECT 9223372036854775807");
			assert.equal(big.value, 9223372036854775807n);
			const blob = await s.queryValue(["SELECT ?", [new Uint8Array([1, 2, 3, 255])]]);
			assert.deepEqual(new Uint8Array(blob.value), new Uint8Array([1, 2, 3, 255]));

			// a transaction on one stream is invisible to another until COMMIT
			await s.run("BEGIN");
			await s.run(`INSERT INTO ${tb} (v) VALUES ('c')`);
			const s2 = client.openStream();
			t.after(() => s2.close());
			assert.equal((await s2.queryValue(`SELECT count(*) FROM ${tb}`)).value, 2);
			await s.run("COMMIT");
			assert.equal((await s2.queryValue(`SELECT count(*) FROM ${tb}`)).value, 3);
		});

		test("errors are ResponseErrors with sqld codes; the stream survives", async (t) => {
			const s = client.openStream();
			t.after(() => s.close());
			const tb = table();
			await s.run(`CREATE TABLE ${tb} (x PRIMARY KEY)`);
			await s.run(`INSERT INTO ${tb} VALUES (1)`);
			await assert.rejects(s.run(`INSERT INTO ${tb} VALUES (1)`), (e) => e instanceof hrana.ResponseError && e.code === "SQLITE_CONSTRAINT");
			await assert.rejects(s.query("SELECT * FROM no_such_table_hc"), (e) => e instanceof hrana.ResponseError && typeof e.code === "string");
			await assert.rejects(s.query("SELECT 1; SELECT 2"), (e) => e instanceof hrana.ResponseError && e.code === "SQL_MANY_STATEMENTS");
			assert.equal((await s.queryValue("SELECT 3")).value, 3);
		});

		for (const useCursor of [false, true]) {
			test(`batch with ok/error/not/and/or conditions${useCursor ? " through a cursor" : ""}`, async (t) => {
				const s = client.openStream();
				t.after(() => s.close());
				if (useCursor && version < 3) {
					// cursors need Hrana 3: the client refuses them up front
					const b = s.batch(true);
					b.step().run("SELECT 1");
					await assert.rejects(b.execute(), hrana.ProtocolVersionError);
					return;
				}
				const tb = table();
				await s.run(`CREATE TABLE ${tb} (x INTEGER)`);
				const batch = s.batch(useCursor);
				const s0 = batch.step();
				const p0 = s0.run(`INSERT INTO ${tb} VALUES (1)`);
				const s1 = batch.step().condition(BatchCond.ok(s0));
				const p1 = s1.queryValue(`SELECT count(*) FROM ${tb}`);
				const s2 = batch.step().condition(BatchCond.error(s0));
				const p2 = s2.run(`INSERT INTO ${tb} VALUES (99)`);
				const s3 = batch.step();
				const p3 = s3.run("INSERT INTO no_such_table_batch VALUES (1)");
				p3.catch(() => {});
				const s4 = batch.step().condition(BatchCond.and(batch, [BatchCond.ok(s1), BatchCond.error(s3)]));
				const p4 = s4.queryRow("SELECT 'and' AS w");
				const s5 = batch.step().condition(BatchCond.or(batch, [BatchCond.ok(s3), BatchCond.not(BatchCond.ok(s0))]));
				const p5 = s5.run(`INSERT INTO ${tb} VALUES (98)`);
				const s6 = batch.step().condition(BatchCond.not(BatchCond.ok(s2)));
				const p6 = s6.query(`SELECT x FROM ${tb} ORDER BY x`);
				let p7;
				if (version >= 3) {
					const s7 = batch.step().condition(BatchCond.isAutocommit(batch));
					p7 = s7.queryValue("SELECT 'autocommit'");
				}
				await batch.execute();
				assert.equal((await p0).affectedRowCount, 1);
				assert.equal((await p1).value, 1);
				assert.equal(await p2, undefined, "skipped step resolves to undefined");
				await assert.rejects(p3, hrana.ResponseError);
				assert.equal((await p4).row.w, "and");
				assert.equal(await p5, undefined);
				assert.deepEqual((await p6).rows.map((r) => r.x), [1]);
				if (p7) assert.equal((await p7).value, "autocommit");
			});
		}

		test("describe", async (t) => {
			const s = client.openStream();
			t.after(() => s.close());
			const d = await s.describe("SELECT :a AS a, ? AS b, 1 AS c");
			assert.deepEqual(d.paramNames, [":a", undefined]);
			assert.deepEqual(d.columns.map((c) => c.name), ["a", "b", "c"]);
			assert.equal(d.isExplain, false);
			assert.equal(d.isReadonly, true);
			const tb = table();
			await s.run(`CREATE TABLE ${tb} (k INTEGER, v TEXT)`);
			const d2 = await s.describe(`SELECT k, v FROM ${tb}`);
			assert.deepEqual(d2.columns, [{ name: "k", decltype: "INTEGER" }, { name: "v", decltype: "TEXT" }]);
			const d3 = await s.describe(`DELETE FROM ${tb} WHERE k = @k`);
			assert.deepEqual(d3.paramNames, ["@k"]);
			assert.equal(d3.isReadonly, false);
			const d4 = await s.describe("EXPLAIN QUERY PLAN SELECT 1");
			assert.equal(d4.isExplain, true);
		});

		test("storeSql: stored SQL is used by id in queries, batches and sequence, then closed", async (t) => {
			const s = client.openStream();
			t.after(() => s.close());
			const tb = table();
			const owner = sqlOwner(s);
			const create = owner.storeSql(`CREATE TABLE ${tb} (x INTEGER)`);
			const ins = owner.storeSql(`INSERT INTO ${tb} VALUES (?)`);
			const sum = owner.storeSql(`SELECT sum(x) FROM ${tb}`);
			await s.sequence(create);
			await s.run([ins, [40]]);
			const b = s.batch();
			b.step().run([ins, [2]]);
			const total = b.step().queryValue(sum);
			await b.execute();
			assert.equal((await total).value, 42);
			const d = await s.describe(sum);
			assert.equal(d.isReadonly, true);
			ins.close();
			assert.equal(ins.closed, true);
			assert.equal((await s.queryValue(sum)).value, 42, "other stored SQL survives a close");
			// many stored statements in a row (the client recycles ids)
			for (let i = 0; i < 60; i++) {
				const q = owner.storeSql(`SELECT ${i} + 1`);
				assert.equal((await s.queryValue(q)).value, i + 1);
				q.close();
			}
			sum.close();
			create.close();
		});

		test("sequence runs several statements; an error rejects it", async (t) => {
			const s = client.openStream();
			t.after(() => s.close());
			const tb = table();
			await s.sequence(`CREATE TABLE ${tb} (x); INSERT INTO ${tb} VALUES (1); INSERT INTO ${tb} VALUES (2);`);
			assert.equal((await s.queryValue(`SELECT count(*) FROM ${tb}`)).value, 2);
			await assert.rejects(s.sequence(`INSERT INTO ${tb} VALUES (3); SELECT * FROM nope_seq; INSERT INTO ${tb} VALUES (4)`), hrana.ResponseError);
			assert.equal((await s.queryValue(`SELECT count(*) FROM ${tb}`)).value, 3);
		});

		test("getAutocommit follows BEGIN/ROLLBACK (Hrana 3)", async (t) => {
			const s = client.openStream();
			t.after(() => s.close());
			if (version < 3) {
				await assert.rejects(async () => s.getAutocommit(), hrana.ProtocolVersionError);
				return;
			}
			assert.equal(await s.getAutocommit(), true);
			await s.run("BEGIN");
			assert.equal(await s.getAutocommit(), false);
			await s.run("ROLLBACK");
			assert.equal(await s.getAutocommit(), true);
		});

		test("closeGracefully lets queued work finish; a closed stream rejects new work", async () => {
			const s = client.openStream();
			const p = s.queryValue("SELECT 'last'");
			s.closeGracefully();
			assert.equal((await p).value, "last");
			assert.equal(s.closed, true);
			await assert.rejects(async () => s.queryValue("SELECT 1"), hrana.ClosedError);
		});

		if (kind === "http") {
			test("every pipeline and cursor request used this encoding (runs last)", () => {
				// every pipeline / cursor request of this variant went where its
				// encoding says, with that encoding's content types
				const posts = httpLog.filter((r) => r.method === "POST");
				assert.ok(posts.length > 10, `only ${posts.length} requests recorded`);
				for (const r of posts) {
					if (encoding === "protobuf") {
						assert.match(r.path, /^\/v3-protobuf\/(pipeline|cursor)$/);
						assert.equal(r.reqType, "application/x-protobuf");
						assert.match(r.respType, r.path.endsWith("cursor") ? /^application\/octet-stream/ : /^application\/x-protobuf/);
					} else {
						assert.match(r.path, new RegExp(`^/v${expected}/(pipeline|cursor)$`));
						assert.match(r.respType, r.path.endsWith("cursor") ? /^text\/plain/ : /^application\/json/);
					}
				}
				if (expected === 3) assert.ok(posts.some((r) => r.path.endsWith("/cursor")), "no cursor request was made");
			});
		}
	});
}
