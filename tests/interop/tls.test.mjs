// TLS on the user port: sqld started with --https-cert-file/--https-key-file
// serves https:// and wss:// (the startup line says https://). A throwaway CA
// and server certificate are made at test time with the openssl CLI; the
// real @libsql/client runs in a child node process that trusts that CA
// through NODE_EXTRA_CA_CERTS (read only at process start). TLS 1.1 is
// refused by the server (TLS 1.2 minimum), plain HTTP on the port too.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, execFile } from "node:child_process";
import fs from "node:fs/promises";
import https from "node:https";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { startSqld, mkTempDir, rmDir } from "./lib/sqld.mjs";
import { keypair, mint, writeFile } from "../integ/lib/jwt.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
let dir, srv, ca;
const kp = keypair();

function openssl(args, cwd) {
	execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

before(async () => {
	dir = await mkTempDir();
	// CA, then a server certificate for 127.0.0.1 / localhost signed by it
	openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
		"-days", "1", "-subj", "/CN=sqlwire test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], dir);
	openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key", "-out", "server.csr",
		"-subj", "/CN=127.0.0.1"], dir);
	await fs.writeFile(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
	openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem",
		"-days", "1", "-extfile", "ext.cnf"], dir);
	ca = await fs.readFile(path.join(dir, "ca.pem"));
	const keyFile = await writeFile(dir, "jwt.pem", kp.pem);
	srv = await startSqld({
		args: ["--https-cert-file", path.join(dir, "server.pem"), "--https-key-file", path.join(dir, "server.key"), "--auth-jwt-key-file", keyFile],
	});
});
after(async () => {
	await srv?.stop();
	if (dir) rmDir(dir);
});

test("the startup line and URLs say https:// and wss://", () => {
	assert.match(srv.url, /^https:\/\/127\.0\.0\.1:\d+$/);
	assert.match(srv.wsUrl, /^wss:\/\//);
});

function httpsGet(p, opts = {}) {
	return new Promise((resolve, reject) => {
		const req = https.request({ host: "127.0.0.1", port: srv.port, path: p, method: "GET", ca, ...opts }, (res) => {
			const parts = [];
			const protocol = res.socket.getProtocol();
			res.on("data", (d) => parts.push(d));
			res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(parts).toString(), protocol }));
		});
		req.on("error", reject);
		req.end();
	});
}

test("https GET with the CA trusted; an untrusting client fails the handshake", async () => {
	const r = await httpsGet("/version");
	assert.equal(r.status, 200);
	assert.match(r.body, /^sqld /);
	assert.match(r.protocol, /^TLSv1\.[23]$/);
	await assert.rejects(httpsGet("/version", { ca: undefined }), /self[- ]signed|unable to (get|verify)/i);
});

test("TLS 1.1 is refused by the server, TLS 1.2 and 1.3 are accepted", async () => {
	const hs = (minVersion, maxVersion) => new Promise((resolve, reject) => {
		// SECLEVEL=0 lets this client offer TLS 1.1 at all: the refusal must come from sqld
		const s = tls.connect({ host: "127.0.0.1", port: srv.port, ca, minVersion, maxVersion, ciphers: "DEFAULT@SECLEVEL=0", servername: "localhost" }, () => {
			const v = s.getProtocol();
			s.end();
			resolve(v);
		});
		s.on("error", reject);
	});
	assert.equal(await hs("TLSv1.2", "TLSv1.2"), "TLSv1.2");
	assert.equal(await hs("TLSv1.3", "TLSv1.3"), "TLSv1.3");
	await assert.rejects(hs("TLSv1.1", "TLSv1.1"), (e) => {
		// the server's alert, not a client-side "no protocols available"
		assert.match(`${e.code} ${e.message}`, /ALERT_PROTOCOL_VERSION|alert protocol version/i, `${e.code} ${e.message}`);
		return true;
	});
});

test("plain HTTP on the TLS port gets no HTTP answer", async () => {
	const answer = await new Promise((resolve) => {
		const s = net.connect(srv.port, "127.0.0.1", () => s.write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
		let got = "";
		s.on("data", (d) => (got += d.toString("latin1")));
		s.on("close", () => resolve(got));
		s.on("error", () => resolve(got));
		setTimeout(() => s.destroy(), 3000);
	});
	assert.ok(!answer.startsWith("HTTP/1.1 200"), `plain HTTP was served: ${JSON.stringify(answer.slice(0, 60))}`);
});

test("@libsql/client over https:// and wss:// with an authToken (child process trusting the CA)", async () => {
	const token = mint(kp);
	const script = `
		import { createClient } from "@libsql/client";
		const out = {};
		for (const url of [process.env.HTTPS_URL, process.env.WSS_URL]) {
			const c = createClient({ url, authToken: process.env.TOKEN });
			await c.execute("CREATE TABLE IF NOT EXISTS tls_t (x)");
			await c.execute({ sql: "INSERT INTO tls_t VALUES (?)", args: [url] });
			out[url.split(":")[0]] = (await c.execute("SELECT count(*) AS n FROM tls_t")).rows[0].n;
			const anon = createClient({ url });
			try { await anon.execute("SELECT 1"); out.anon = "accepted"; } catch (e) { out.anon = e.code; }
			anon.close();
			c.close();
		}
		console.log(JSON.stringify(out));
	`;
	const stdout = await new Promise((resolve, reject) => {
		execFile(process.execPath, ["--input-type=module", "-e", script], {
			cwd: here,
			env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(dir, "ca.pem"), HTTPS_URL: srv.url, WSS_URL: srv.wsUrl, TOKEN: token },
			timeout: 30000,
		}, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)));
	});
	const out = JSON.parse(stdout.trim().split("\n").at(-1));
	assert.equal(Number(out.https), 1, stdout);
	assert.equal(Number(out.wss), 2, stdout);
	assert.notEqual(out.anon, "accepted", "no token is refused over TLS too");
});

test("a certificate without its key, or an unreadable certificate, stops sqld at start", async () => {
	await assert.rejects(startSqld({ args: ["--https-cert-file", path.join(dir, "server.pem")] }), /go together/);
	await assert.rejects(startSqld({ args: ["--https-cert-file", path.join(dir, "nope.pem"), "--https-key-file", path.join(dir, "server.key")] }),
		/TLS certificate/);
	// the CA's key does not match the server certificate
	await assert.rejects(startSqld({ args: ["--https-cert-file", path.join(dir, "server.pem"), "--https-key-file", path.join(dir, "ca.key")] }),
		/TLS certificate/);
});
