// ns.mjs: helpers for the namespace, admin, metrics and dump tests: start a
// sqld with the admin listener (its port is read from the second stdout line,
// "sqld admin listening on http://127.0.0.1:PORT"), call the admin API, and
// talk Hrana over HTTP to a chosen namespace.
import assert from "node:assert/strict";
import { startSqld, sleep } from "../../interop/lib/sqld.mjs";

/** startSqld with --admin-listen-addr 127.0.0.1:0 (+ opts.args); srv.admin = { url, port }. */
export async function startAdmin(opts = {}) {
	const srv = await startSqld({ ...opts, args: ["--admin-listen-addr", "127.0.0.1:0", ...(opts.args ?? [])] });
	for (let i = 0; i < 200; i++) {
		const m = /sqld admin listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(srv.output().stdout);
		if (m) {
			srv.admin = { url: `http://127.0.0.1:${m[1]}`, port: Number(m[1]) };
			return srv;
		}
		await sleep(10);
	}
	await srv.stop({ check: false });
	throw new Error("no admin listening line on stdout");
}

export async function useAdmin(t, opts = {}) {
	const srv = await startAdmin(opts);
	t.after(() => srv.stop());
	return srv;
}

/** An admin request; resolves to { status, text, json }. */
export async function admin(srv, method, path, body, headers = {}) {
	const init = { method, headers: { ...headers } };
	if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
	const r = await fetch(srv.admin.url + path, init);
	const text = await r.text();
	let json;
	try { json = JSON.parse(text); } catch { json = undefined; }
	return { status: r.status, text, json, headers: r.headers };
}

export async function createNs(srv, name, body) {
	const r = await admin(srv, "POST", `/v1/namespaces/${name}/create`, body ?? {});
	assert.equal(r.status, 200, `create ${name}: ${r.status} ${r.text}`);
}

/** Headers naming a namespace with x-namespace. */
export const nsHdr = (name) => ({ "x-namespace": name });

/** POST /v2/pipeline with extra headers; { status, json, text }. */
export async function pipe(srv, requests, headers = {}, baton = null) {
	const r = await fetch(srv.url + "/v2/pipeline", {
		method: "POST",
		headers: { "content-type": "application/json", ...headers },
		body: JSON.stringify({ baton, requests }),
	});
	const text = await r.text();
	let json;
	try { json = JSON.parse(text); } catch { json = undefined; }
	return { status: r.status, json, text };
}

/** Runs SQL statements on a fresh stream of the namespace (headers), closing it; returns the results. */
export async function sql(srv, headers, ...stmts) {
	const r = await pipe(srv, [...stmts.map((s) => ({ type: "execute", stmt: typeof s === "string" ? { sql: s } : s })), { type: "close" }], headers);
	assert.equal(r.status, 200, r.text);
	return r.json.results.slice(0, -1);
}

/** The rows of one query (values as Hrana JSON values), asserting success. */
export async function rowsOf(srv, headers, q) {
	const [res] = await sql(srv, headers, q);
	assert.equal(res.type, "ok", JSON.stringify(res));
	return res.response.result.rows;
}

/** Parses a Prometheus text exposition into Map("name{labels}" -> number). */
export function parseMetrics(text) {
	const m = new Map();
	for (const line of text.split("\n")) {
		if (!line || line.startsWith("#")) continue;
		const sp = line.lastIndexOf(" ");
		m.set(line.slice(0, sp), Number(line.slice(sp + 1)));
	}
	return m;
}
