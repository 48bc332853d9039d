// Prometheus GET /metrics (metrics.h): on the admin listener always, on the
// user port only with --enable-metrics-on-user-port. The counters move with
// the traffic: connections and streams open, requests by kind, the statement
// latency histogram, errors by code, commit position and frame-log size per
// namespace, checkpoints, bytes in and out. Also --log-format json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawWs, useSqld, startSqld } from "./lib/raw.mjs";
import { useAdmin, admin, createNs, nsHdr, sql, parseMetrics } from "./lib/ns.mjs";

async function scrape(srv) {
	const r = await admin(srv, "GET", "/metrics");
	assert.equal(r.status, 200);
	assert.match(r.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
	return parseMetrics(r.text);
}

test("/metrics is on the admin listener; on the user port only with --enable-metrics-on-user-port", async (t) => {
	const srv = await useAdmin(t);
	let r = await fetch(srv.url + "/metrics");
	assert.equal(r.status, 404);
	const m = await scrape(srv);
	assert.ok(m.has("sqld_connections_open"));
	const srv2 = await useSqld(t, { args: ["--enable-metrics-on-user-port"] });
	r = await fetch(srv2.url + "/metrics");
	assert.equal(r.status, 200);
	const text = await r.text();
	assert.match(text, /^# HELP sqld_connections_open /m);
	assert.match(text, /^# TYPE sqld_statement_duration_seconds histogram$/m);
});

test("counters follow the traffic: requests by kind, statements, errors by code, bytes, streams, connections", async (t) => {
	const srv = await useAdmin(t, { args: ["--enable-namespaces"] });
	await createNs(srv, "m");
	const m0 = await scrape(srv);
	await sql(srv, nsHdr("m"), "CREATE TABLE t(x UNIQUE)", "INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (1)", "SELECT nonsense FROM nowhere");
	const r = await fetch(srv.url + "/v1/execute", { method: "POST", headers: nsHdr("m"), body: JSON.stringify({ stmt: { sql: "SELECT 1" } }) });
	assert.equal(r.status, 200);
	const ws = await RawWs.open(srv, ["hrana3"], { headers: nsHdr("m") });
	t.after(() => ws.terminate());
	await ws.helloOk();
	await ws.ok({ type: "open_stream", stream_id: 1 });
	await ws.ok({ type: "execute", stream_id: 1, stmt: { sql: "INSERT INTO t VALUES (2)" } });
	const m1 = await scrape(srv);
	const d = (k) => (m1.get(k) ?? 0) - (m0.get(k) ?? 0);
	assert.equal(d('sqld_requests_total{kind="pipeline"}'), 1);
	assert.equal(d('sqld_requests_total{kind="v1_execute"}'), 1);
	assert.equal(d('sqld_requests_total{kind="ws_message"}'), 3, "hello, open_stream, execute");
	assert.equal(d("sqld_statement_duration_seconds_count"), 6);
	assert.equal(d('sqld_statement_duration_seconds_bucket{le="+Inf"}'), 6);
	assert.ok(m1.get("sqld_statement_duration_seconds_sum") > 0);
	assert.equal(d('sqld_errors_total{code="SQLITE_CONSTRAINT"}'), 1);
	assert.equal(d('sqld_errors_total{code="SQLITE_UNKNOWN"}') + d('sqld_errors_total{code="SQL_INPUT_ERROR"}'), 1);
	assert.ok(d("sqld_bytes_received_total") > 100);
	assert.ok(d("sqld_bytes_sent_total") > 100);
	assert.ok(m1.get("sqld_streams_open") >= 1, "the WebSocket stream is open");
	assert.ok(m1.get("sqld_connections_open") >= 1, "the WebSocket connection is open");
	ws.close();
	await ws.closed;
	// per-namespace gauges: the commit position is what stats says
	const st = await admin(srv, "GET", "/v1/namespaces/m/stats");
	assert.equal(m1.get('sqld_commit_position{namespace="m"}'), st.json.replication_index);
	assert.ok(m1.get('sqld_frame_log_bytes{namespace="m"}') > 0);
	assert.ok(m1.has('sqld_frame_log_bytes{namespace="default"}'));
	// a checkpoint is counted
	await admin(srv, "POST", "/v1/namespaces/m/checkpoint");
	const m2 = await scrape(srv);
	assert.ok(m2.get("sqld_checkpoints_total") > m1.get("sqld_checkpoints_total"));
	assert.ok(m2.get("sqld_checkpoint_duration_seconds_total") >= m1.get("sqld_checkpoint_duration_seconds_total"));
	assert.ok(m2.get('sqld_requests_total{kind="admin"}') > m1.get('sqld_requests_total{kind="admin"}'));
});

test("--log-format json: every stderr line is one JSON object with ts, level, msg", async (t) => {
	const srv = await startSqld({ args: ["--log-format", "json", "--log-level", "debug"] });
	await sql(srv, {}, "SELECT 1");
	await srv.stop();
	const lines = srv.output().stderr.split("\n").filter((l) => l);
	assert.ok(lines.length >= 3, srv.output().stderr);
	for (const l of lines) {
		const o = JSON.parse(l);
		assert.match(o.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
		assert.ok(["error", "warn", "info", "debug"].includes(o.level));
		assert.equal(typeof o.msg, "string");
	}
	assert.ok(lines.some((l) => JSON.parse(l).msg === "stopped"));
	const bad = await startSqld({ args: ["--log-format", "xml"] }).catch((e) => e);
	assert.ok(bad instanceof Error && /expected text or json/.test(bad.message));
});
