// The user port's plain HTTP behaviour: fixed routes and 404s, CORS,
// keep-alive, chunked request bodies, body limits, malformed JSON, and
// RESPONSE_TOO_LARGE (PROTOCOL.md §1, §4.1, §4.5, §4.7, §6.2, §10, §12).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { startSqld, get, post, rawHttp, pipeline, oneShot, okExec, exec, close, I, RawWs } from "./lib/raw.mjs";

let srv;
before(async () => {
	srv = await startSqld();
});
after(() => srv?.stop());

test("GET /health is 200 with an empty body", async () => {
	const r = await get(srv, "/health");
	assert.equal(r.status, 200);
	assert.equal(r.text, "");
});

test("GET /version is 200 text starting with 'sqld '", async () => {
	const r = await get(srv, "/version");
	assert.equal(r.status, 200);
	assert.match(r.text, /^sqld \S+/);
});

test("GET /v2 and /v3 are the Hrana-over-HTTP version probes; GET /v1 answers too", async () => {
	for (const p of ["/v2", "/v3"]) {
		const r = await get(srv, p);
		assert.equal(r.status, 200, p);
		assert.equal(r.text, "Hello, this is HTTP API v2 (Hrana over HTTP)", p);
	}
	const v1 = await get(srv, "/v1");
	assert.equal(v1.status, 200);
	assert.equal(v1.text, "This is sqld HTTP API v1");
});

test("GET /v3-protobuf answers 200 and /v3-protobuf/pipeline is served (hrana-client v3 probes it)", async () => {
	const probe = await get(srv, "/v3-protobuf");
	assert.equal(probe.status, 200);
	assert.equal(probe.text, "Hello, this is HTTP API v2 (Hrana over HTTP)");
	// an empty protobuf message is a valid PipelineReqBody (no baton, no requests)
	const resp = await fetch(srv.url + "/v3-protobuf/pipeline", { method: "POST", body: new Uint8Array(0), headers: { "content-type": "application/x-protobuf" } });
	await resp.arrayBuffer();
	assert.equal(resp.status, 200);
	assert.equal(resp.headers.get("content-type"), "application/x-protobuf");
});

test("GET /info, /sync/0/0/0, unknown routes and a non-upgrade GET / are 404", async () => {
	for (const p of ["/info", "/sync/0/0/0", "/no/such/route", "/v9", "/", "/v2/pipelinex"]) {
		const r = await get(srv, p);
		assert.equal(r.status, 404, `GET ${p} -> ${r.status} ${r.text}`);
	}
	const r = await post(srv, "/v9/pipeline", { requests: [] });
	assert.equal(r.status, 404, `POST /v9/pipeline -> ${r.status}`);
});

test("CORS: preflight OPTIONS /v2/pipeline allows any origin, the method and the headers; responses carry Allow-Origin", async () => {
	const r = await rawHttp(srv, {
		method: "OPTIONS",
		path: "/v2/pipeline",
		headers: {
			Origin: "http://example.com",
			"Access-Control-Request-Method": "POST",
			"Access-Control-Request-Headers": "authorization, content-type, x-libsql-client-version",
		},
	});
	assert.ok(r.status === 200 || r.status === 204, `preflight status ${r.status}`);
	const ao = r.headers["access-control-allow-origin"];
	assert.ok(ao === "*" || ao === "http://example.com", `Access-Control-Allow-Origin: ${ao}`);
	const am = (r.headers["access-control-allow-methods"] ?? "").toUpperCase();
	assert.ok(am === "*" || am.includes("POST"), `Access-Control-Allow-Methods: ${am}`);
	const ah = (r.headers["access-control-allow-headers"] ?? "").toLowerCase();
	assert.ok(ah === "*" || (ah.includes("authorization") && ah.includes("content-type") && ah.includes("x-libsql-client-version")),
		`Access-Control-Allow-Headers: ${ah}`);

	const p = await rawHttp(srv, {
		method: "POST",
		path: "/v2/pipeline",
		headers: { Origin: "http://example.com", "content-type": "application/json" },
		body: JSON.stringify({ requests: [exec("SELECT 1"), close] }),
	});
	assert.equal(p.status, 200);
	const ao2 = p.headers["access-control-allow-origin"];
	assert.ok(ao2 === "*" || ao2 === "http://example.com", `Access-Control-Allow-Origin on POST: ${ao2}`);
});

test("HTTP/1.1 keep-alive: two requests on one connection", async () => {
	const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
	try {
		const body = JSON.stringify({ requests: [exec("SELECT 1"), close] });
		const opts = { method: "POST", path: "/v2/pipeline", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) }, body, agent };
		const a = await rawHttp(srv, opts);
		assert.equal(a.status, 200);
		const portA = a.socket.localPort;
		const b = await rawHttp(srv, opts);
		assert.equal(b.status, 200);
		assert.equal(b.reusedSocket, true, "the second request must reuse the kept-alive socket");
		assert.equal(b.socket.localPort, portA);
		const c = await rawHttp(srv, { method: "GET", path: "/health", agent });
		assert.equal(c.status, 200);
		assert.equal(c.reusedSocket, true);
		assert.deepEqual(JSON.parse(b.text).results[0].response.result.rows, [[I(1)]]);
	} finally {
		agent.destroy();
	}
});

test("a chunked request body (no content-length) written in pieces is read whole", async () => {
	const body = JSON.stringify({ requests: [exec("SELECT ? || ?", [{ type: "text", value: "chunk" }, { type: "text", value: "ed" }]), close] });
	const pieces = [body.slice(0, 5), body.slice(5, 30), body.slice(30, 31), body.slice(31)];
	const r = await rawHttp(srv, {
		method: "POST",
		path: "/v3/pipeline",
		headers: { "content-type": "application/json", "transfer-encoding": "chunked" },
		chunks: pieces,
		chunkDelayMs: 30,
	});
	assert.equal(r.status, 200, r.text);
	assert.deepEqual(JSON.parse(r.text).results[0].response.result.rows, [[{ type: "text", value: "chunked" }]]);
});

/** POST a body of `total` bytes, streaming it; stops writing once the response arrives. */
function postHuge(srv, path, total, chunked) {
	return new Promise((resolve, reject) => {
		let responded = false;
		const headers = { "content-type": "application/json" };
		if (chunked) headers["transfer-encoding"] = "chunked";
		else headers["content-length"] = String(total);
		const req = http.request({ host: "127.0.0.1", port: srv.port, method: "POST", path, headers, agent: false }, (res) => {
			responded = true;
			const parts = [];
			res.on("data", (d) => parts.push(d));
			res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
			res.on("error", () => resolve({ status: res.statusCode, text: Buffer.concat(parts).toString() }));
		});
		req.on("error", (e) => {
			if (!responded) reject(e);
		});
		const chunk = Buffer.alloc(1 << 20, 0x20); // spaces: valid JSON whitespace
		(async () => {
			let sent = 0;
			req.write('{"requests":[');
			sent += 13;
			while (!responded && sent + chunk.length < total && !req.destroyed) {
				if (!req.write(chunk)) await new Promise((r) => req.once("drain", r).once("close", r));
				sent += chunk.length;
			}
			if (!responded && !req.destroyed) req.end("]}");
		})().catch(() => {});
	});
}

test("a request body over the limit (default 32 MB) gets 413, with content-length and chunked; the server keeps serving", async () => {
	const withLength = await postHuge(srv, "/v2/pipeline", 40 * 1024 * 1024, false);
	assert.equal(withLength.status, 413, `content-length body: HTTP ${withLength.status}`);
	const chunked = await postHuge(srv, "/v2/pipeline", 40 * 1024 * 1024, true);
	assert.equal(chunked.status, 413, `chunked body: HTTP ${chunked.status}`);
	const [res] = await oneShot(srv, 2, [exec("SELECT 3")]);
	assert.deepEqual(okExec(res).rows, [[I(3)]]);
});

test("a 2 MB request body under the limit is accepted", async () => {
	const big = "x".repeat(2 * 1024 * 1024);
	const [res] = await oneShot(srv, 2, [exec("SELECT length(?)", [{ type: "text", value: big }])]);
	assert.deepEqual(okExec(res).rows, [[I(big.length)]]);
});

test("large responses arrive whole: 4 MB of text in one pipeline result", async () => {
	const [res] = await oneShot(srv, 2, [exec("SELECT hex(zeroblob(2000000)) AS h, 'end' AS e")]);
	const row = okExec(res).rows[0];
	assert.equal(row[0].value.length, 4000000);
	assert.ok(/^0+$/.test(row[0].value));
	assert.deepEqual(row[1], { type: "text", value: "end" });
});

test("--max-concurrent-requests: HTTP requests beyond the limit get 429 while others run", async (t) => {
	const s = await startSqld({ maxConcurrentRequests: 1 });
	t.after(() => s.stop());
	const slow = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000000) SELECT count(*) FROM c";
	const first = pipeline(s, 2, { requests: [exec(slow), close] }, { allowError: true });
	await new Promise((r) => setTimeout(r, 150));
	const second = await post(s, "/v2/pipeline", { requests: [exec("SELECT 1"), close] });
	const f = await first;
	assert.equal(f.status, 200, f.text.slice(0, 200));
	assert.deepEqual(okExec(f.json.results[0]).rows, [[I(3000000)]]);
	assert.equal(second.status, 429, `second request while one runs: HTTP ${second.status} ${second.text}`);
	assert.equal(typeof second.json?.error, "string", `429 body ${second.text}`);
	const third = await post(s, "/v2/pipeline", { requests: [exec("SELECT 1"), close] });
	assert.equal(third.status, 200, "served again once the first finished");
});

test("malformed JSON bodies get 400 and the server keeps serving", async () => {
	for (const body of ['{"requests": [', "not json", '{"requests": [{"type": "execute", "stmt": {"sql": 5}}]}', "\xff\xfe"]) {
		for (const path of ["/v2/pipeline", "/v3/pipeline", "/v3/cursor", "/v1/execute"]) {
			const r = await post(srv, path, body);
			assert.equal(r.status, 400, `${path} with ${JSON.stringify(body)} -> ${r.status}`);
		}
	}
	const [res] = await oneShot(srv, 3, [exec("SELECT 4")]);
	assert.deepEqual(okExec(res).rows, [[I(4)]]);
});

test("invalid UTF-8 inside a JSON string is rejected with 400", async () => {
	const body = Buffer.concat([Buffer.from('{"requests":[{"type":"execute","stmt":{"sql":"SELECT \''), Buffer.from([0xc3, 0x28]), Buffer.from('\'"}}]}')]);
	const resp = await fetch(srv.url + "/v2/pipeline", { method: "POST", body, headers: { "content-type": "application/json" } });
	await resp.text();
	assert.equal(resp.status, 400);
});

test("RESPONSE_TOO_LARGE with a small --max-response-size, over HTTP and WebSocket", async (t) => {
	const small = await startSqld({ maxResponseSize: 10000 });
	t.after(() => small.stop());
	const r = await pipeline(small, 2, { requests: [exec("SELECT hex(zeroblob(20000))"), exec("SELECT 1"), close] });
	assert.equal(r.json.results[0].type, "error", JSON.stringify(r.json.results[0]).slice(0, 200));
	assert.equal(r.json.results[0].error.code, "RESPONSE_TOO_LARGE");
	assert.deepEqual(okExec(r.json.results[1]).rows, [[I(1)]], "the stream survives RESPONSE_TOO_LARGE");
	// many small rows add up too
	const many = await pipeline(small, 3, { requests: [exec("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000) SELECT x FROM c"), close] });
	assert.equal(many.json.results[0].type, "error");
	assert.equal(many.json.results[0].error.code, "RESPONSE_TOO_LARGE");
	// a response well under the limit is fine
	const fine = await pipeline(small, 3, { requests: [exec("SELECT hex(zeroblob(1000))"), close] });
	assert.equal(okExec(fine.json.results[0]).rows[0][0].value.length, 2000);

	const ws = await RawWs.open(small, ["hrana3"]);
	t.after(() => ws.terminate());
	await ws.helloOk();
	await ws.ok({ type: "open_stream", stream_id: 1 });
	const e = await ws.req({ type: "execute", stream_id: 1, stmt: { sql: "SELECT hex(zeroblob(20000))" } });
	assert.equal(e.type, "response_error", JSON.stringify(e).slice(0, 200));
	assert.equal(e.error.code, "RESPONSE_TOO_LARGE");
	const ok = await ws.ok({ type: "execute", stream_id: 1, stmt: { sql: "SELECT 2" } });
	assert.deepEqual(ok.result.rows, [[I(2)]]);
});
