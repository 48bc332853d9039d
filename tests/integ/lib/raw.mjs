// raw.mjs: raw-protocol helpers for tests/integ (fetch for HTTP, the `ws`
// package for WebSocket). `ws` is loaded from tests/interop/node_modules, the
// one place the suite installs npm packages (deploy/deps.sh runs npm ci there).
import assert from "node:assert/strict";
import http from "node:http";
import { createRequire } from "node:module";

const require = createRequire(new URL("../../interop/package.json", import.meta.url));
export const WebSocket = require("ws");

export { startSqld, useSqld, sleep, mkTempDir, rmDir, SQLD } from "../../interop/lib/sqld.mjs";

// ---- Hrana values (PROTOCOL.md §3.1) ----
export const I = (n) => ({ type: "integer", value: String(n) });
export const F = (x) => ({ type: "float", value: x });
export const T = (s) => ({ type: "text", value: s });
export const B = (b64) => ({ type: "blob", base64: b64 });
export const N = { type: "null" };

export const stmt = (sql, args, extra = {}) => ({ sql, ...(args ? { args } : {}), ...extra });
export const exec = (sql, args, extra) => ({ type: "execute", stmt: stmt(sql, args, extra) });
export const close = { type: "close" };

// ---- HTTP ----
/** fetch wrapper: resolves to { status, headers, text, json } (json undefined when not JSON). */
export async function request(srv, method, path, body, headers = {}) {
	const init = { method, headers: { ...headers } };
	if (body !== undefined) {
		init.body = typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body);
		if (!("content-type" in init.headers)) init.headers["content-type"] = "application/json";
	}
	const resp = await fetch(srv.url + path, init);
	const text = await resp.text();
	let json;
	try {
		json = JSON.parse(text);
	} catch {
		json = undefined;
	}
	return { status: resp.status, headers: resp.headers, text, json };
}

export const get = (srv, path, headers) => request(srv, "GET", path, undefined, headers);
export const post = (srv, path, body, headers) => request(srv, "POST", path, body, headers);

/** POST /v{version}/pipeline; asserts HTTP 200 unless opts.allowError. */
export async function pipeline(srv, version, body, opts = {}) {
	const r = await post(srv, `/v${version}/pipeline`, body);
	if (!opts.allowError) {
		assert.equal(r.status, 200, `pipeline /v${version} returned HTTP ${r.status}: ${r.text}`);
		assert.ok(r.json, `pipeline response is not JSON: ${r.text}`);
	}
	return r;
}

/** Run requests on a fresh stream and close it; return the results array (asserting each ok). */
export async function oneShot(srv, version, requests) {
	const r = await pipeline(srv, version, { baton: null, requests: [...requests, close] });
	assert.equal(r.json.results.length, requests.length + 1);
	assert.equal(r.json.baton, null);
	return r.json.results.slice(0, -1);
}

/** Unwrap an ok StreamResult of type execute into its StmtResult. */
export function okExec(res) {
	assert.equal(res.type, "ok", `expected ok, got ${JSON.stringify(res)}`);
	assert.equal(res.response.type, "execute");
	return res.response.result;
}

/** Assert a StmtResult has exactly the shape of PROTOCOL.md §3.3 (optional sqld extras allowed). */
export function assertStmtResultShape(r) {
	const required = ["cols", "rows", "affected_row_count", "last_insert_rowid"];
	const optional = ["replication_index", "rows_read", "rows_written", "query_duration_ms"];
	for (const k of required) assert.ok(k in r, `StmtResult lacks "${k}": ${JSON.stringify(r)}`);
	for (const k of Object.keys(r))
		assert.ok(required.includes(k) || optional.includes(k), `StmtResult has unexpected key "${k}"`);
	assert.ok(Array.isArray(r.cols) && Array.isArray(r.rows));
	assert.equal(typeof r.affected_row_count, "number");
	assert.ok(r.last_insert_rowid === null || typeof r.last_insert_rowid === "string",
		`last_insert_rowid must be string|null, got ${JSON.stringify(r.last_insert_rowid)}`);
	if (r.replication_index !== undefined && r.replication_index !== null)
		assert.equal(typeof r.replication_index, "string");
	for (const c of r.cols) {
		assert.ok(c.name === null || typeof c.name === "string");
		if ("decltype" in c) assert.ok(c.decltype === null || typeof c.decltype === "string");
	}
	for (const row of r.rows) assert.equal(row.length, r.cols.length);
}

/** Send a raw HTTP/1.1 request with node:http (for keep-alive, chunked bodies, odd methods). */
export function rawHttp(srv, { method = "GET", path = "/", headers = {}, body, agent, chunks, chunkDelayMs = 20 }) {
	return new Promise((resolve, reject) => {
		const req = http.request({ host: "127.0.0.1", port: srv.port, method, path, headers, agent }, (res) => {
			const parts = [];
			res.on("data", (d) => parts.push(d));
			res.on("end", () => {
				const text = Buffer.concat(parts).toString("utf8");
				resolve({ status: res.statusCode, headers: res.headers, text, reusedSocket: req.reusedSocket, socket: req.socket });
			});
			res.on("error", reject);
		});
		req.on("error", reject);
		if (chunks) {
			(async () => {
				for (const c of chunks) {
					req.write(c);
					await new Promise((r) => setTimeout(r, chunkDelayMs));
				}
				req.end();
			})().catch(reject);
		} else {
			req.end(body);
		}
	});
}

// ---- WebSocket ----
/**
 * A raw Hrana-over-WebSocket connection. Collects every server message; tests
 * wait for messages by predicate. `closed` resolves to { code, reason } when
 * the socket closes.
 */
export class RawWs {
	static open(srv, protocols, opts = {}) {
		return new Promise((resolve, reject) => {
			const wsOpts = opts.headers ? { headers: opts.headers } : undefined;
			const ws = protocols === undefined ? new WebSocket(srv.wsUrl + (opts.path ?? "/"), wsOpts) : new WebSocket(srv.wsUrl + (opts.path ?? "/"), protocols, wsOpts);
			let upgradeHeaders;
			ws.on("upgrade", (res) => {
				upgradeHeaders = res.headers;
			});
			ws.once("open", () => resolve(new RawWs(ws, upgradeHeaders)));
			ws.once("unexpected-response", (req, res) => {
				const parts = [];
				res.on("data", (d) => parts.push(d));
				res.on("end", () => {
					const e = new Error(`unexpected HTTP ${res.statusCode}`);
					e.status = res.statusCode;
					e.body = Buffer.concat(parts).toString("utf8");
					e.headers = res.headers;
					reject(e);
				});
				res.on("error", reject);
			});
			ws.once("error", reject);
		});
	}

	constructor(ws, upgradeHeaders) {
		this.ws = ws;
		this.upgradeHeaders = upgradeHeaders ?? {};
		this.protocol = ws.protocol;
		this.messages = [];
		this.waiters = [];
		this.nextId = 1;
		this.errors = [];
		ws.on("error", (e) => this.errors.push(e));
		ws.on("message", (data, isBinary) => {
			let msg;
			try {
				msg = JSON.parse(data.toString("utf8"));
			} catch {
				msg = { __unparsed: data.toString("utf8"), isBinary };
			}
			this.messages.push(msg);
			for (const w of [...this.waiters]) {
				if (w.pred(msg)) {
					this.waiters.splice(this.waiters.indexOf(w), 1);
					clearTimeout(w.timer);
					w.resolve(msg);
				}
			}
		});
		this.closed = new Promise((resolve) => {
			ws.on("close", (code, reason) => {
				const info = { code, reason: reason.toString("utf8") };
				this.closeInfo = info;
				for (const w of this.waiters.splice(0)) {
					clearTimeout(w.timer);
					w.reject(new Error(`socket closed (code ${code} ${info.reason}) while waiting for ${w.what}`));
				}
				resolve(info);
			});
		});
	}

	send(obj) {
		this.ws.send(typeof obj === "string" ? obj : JSON.stringify(obj));
	}

	hello(jwt) {
		this.send(jwt === undefined ? { type: "hello" } : { type: "hello", jwt });
	}

	/** Send a request; returns its request_id. */
	sendReq(request, requestId) {
		const id = requestId ?? this.nextId++;
		this.send({ type: "request", request_id: id, request });
		return id;
	}

	waitFor(pred, what = "a message", ms = 10000) {
		const found = this.messages.find(pred);
		if (found) return Promise.resolve(found);
		if (this.closeInfo) return Promise.reject(new Error(`socket already closed (code ${this.closeInfo.code}) while waiting for ${what}`));
		return new Promise((resolve, reject) => {
			const w = { pred, resolve, reject, what };
			w.timer = setTimeout(() => {
				this.waiters.splice(this.waiters.indexOf(w), 1);
				reject(new Error(`timed out after ${ms} ms waiting for ${what}; got so far: ${JSON.stringify(this.messages).slice(0, 2000)}`));
			}, ms);
			this.waiters.push(w);
		});
	}

	response(id, ms) {
		return this.waitFor((m) => m.request_id === id, `response to request ${id}`, ms);
	}

	/** Send a request and wait for its response message (response_ok or response_error). */
	async req(request, ms) {
		return this.response(this.sendReq(request), ms);
	}

	/** Send a request and assert response_ok; returns msg.response. */
	async ok(request, ms) {
		const m = await this.req(request, ms);
		assert.equal(m.type, "response_ok", `expected response_ok to ${JSON.stringify(request).slice(0, 300)}, got ${JSON.stringify(m)}`);
		assert.equal(m.response.type, request.type);
		return m.response;
	}

	async helloOk() {
		this.hello();
		const m = await this.waitFor((x) => x.type === "hello_ok" || x.type === "hello_error", "hello_ok");
		assert.equal(m.type, "hello_ok", JSON.stringify(m));
	}

	/** Wait for the socket to be closed by the server; resolves to { code, reason }. */
	async waitClosed(ms = 5000) {
		let timer;
		const t = new Promise((_, rej) => {
			timer = setTimeout(() => rej(new Error(`server did not close the socket within ${ms} ms; messages: ${JSON.stringify(this.messages).slice(0, 1000)}`)), ms);
		});
		try {
			return await Promise.race([this.closed, t]);
		} finally {
			clearTimeout(timer);
		}
	}

	close() {
		if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close(1000);
		else if (this.ws.readyState !== WebSocket.CLOSED) this.ws.terminate();
	}

	terminate() {
		this.ws.terminate();
	}
}

/** Open a WS and complete the hello; closes in t.after. */
export async function wsSession(t, srv, protocols = ["hrana3"]) {
	const c = await RawWs.open(srv, protocols);
	t.after(() => c.terminate());
	await c.helloOk();
	return c;
}
