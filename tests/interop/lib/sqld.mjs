// sqld.mjs: start and stop the REAL sqld binary for the node test suites
// (tests/integ and tests/interop both import this file).
//
// startSqld(opts) spawns `$SQLWIRE_ROOT/$SQLWIRE_BUILD/sqld` on an ephemeral
// loopback port with its database in a fresh temp dir, waits for the one line
// `sqld listening on http://127.0.0.1:PORT` on stdout and resolves to
//   { url, wsUrl, port, dir, dbPath, proc, stop(), kill(), output() }.
// stop() sends SIGTERM, waits for the exit (SIGKILL after a grace period) and
// resolves to { code, signal }; it removes the temp dir unless the caller
// passed its own `dir` or asked for { keepDir: true }.
// Every server still running when the node process exits is SIGKILLed, so a
// crashing test never leaves a stray sqld behind.
//
// useSqld(t, opts) is the per-test form: it registers t.after(stop).
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import { rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = process.env.SQLWIRE_ROOT || path.resolve(here, "../../..");
export const BUILD = process.env.SQLWIRE_BUILD || "build/release";
export const SQLD = path.resolve(ROOT, BUILD, "sqld");

const live = new Set();
process.on("exit", () => {
	for (const p of live) {
		try { p.kill("SIGKILL"); } catch { /* already gone */ }
	}
});

export async function sqldExists() {
	try {
		await fs.access(SQLD, fs.constants.X_OK);
		return true;
	} catch {
		return false;
	}
}

/**
 * @param {object} [opts]
 * @param {string} [opts.dir]        reuse this directory (data.sqld inside it); not removed by stop()
 * @param {boolean} [opts.keepDir]   do not remove the temp dir on stop()
 * @param {string} [opts.selfUrl]    --http-self-url
 * @param {number} [opts.maxResponseSize]           --max-response-size
 * @param {number} [opts.maxConcurrentConnections]  --max-concurrent-connections
 * @param {number} [opts.maxConcurrentRequests]     --max-concurrent-requests
 * @param {string[]} [opts.args]     extra arguments
 * @param {object} [opts.env]        extra environment variables for sqld
 * @param {number} [opts.startTimeoutMs]
 * @param {string[]} [opts.prefix]   run sqld under this command (e.g. valgrind and its flags)
 */
export async function startSqld(opts = {}) {
	if (!(await sqldExists())) {
		throw new Error(`sqld binary not found or not executable at ${SQLD} (run \`make\` first)`);
	}
	const ownDir = !opts.dir;
	const dir = opts.dir ?? (await fs.mkdtemp(path.join(os.tmpdir(), "sqlwire-test-")));
	const dbPath = path.join(dir, "data.sqld");
	const args = ["--db-path", dbPath, "--http-listen-addr", "127.0.0.1:0"];
	if (opts.selfUrl !== undefined) args.push("--http-self-url", opts.selfUrl);
	if (opts.maxResponseSize !== undefined) args.push("--max-response-size", String(opts.maxResponseSize));
	if (opts.maxConcurrentConnections !== undefined)
		args.push("--max-concurrent-connections", String(opts.maxConcurrentConnections));
	if (opts.maxConcurrentRequests !== undefined)
		args.push("--max-concurrent-requests", String(opts.maxConcurrentRequests));
	if (opts.args) args.push(...opts.args);

	const [cmd, ...cmdArgs] = opts.prefix ? [...opts.prefix, SQLD, ...args] : [SQLD, ...args];
	const env = opts.env ? { ...process.env, ...opts.env } : undefined;
	const proc = spawn(cmd, cmdArgs, { cwd: dir, stdio: ["ignore", "pipe", "pipe"], env });
	live.add(proc);
	let out = "";
	let err = "";
	let scheme = "http";
	proc.stderr.setEncoding("utf8");
	proc.stderr.on("data", (d) => {
		err += d;
		if (err.length > 200_000) err = err.slice(-100_000);
	});
	proc.stdout.setEncoding("utf8");
	const exited = new Promise((resolve) => {
		proc.on("exit", (code, signal) => {
			live.delete(proc);
			resolve({ code, signal });
		});
	});

	const port = await new Promise((resolve, reject) => {
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`sqld did not print its listening line within ${opts.startTimeoutMs ?? 10000} ms; stderr:\n${err}`));
		}, opts.startTimeoutMs ?? 10000);
		const onData = (d) => {
			out += d;
			const m = /sqld listening on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(out);
			if (m) {
				cleanup();
				scheme = m[1];
				resolve(Number(m[2]));
			}
		};
		const onExit = (code, signal) => {
			cleanup();
			reject(new Error(`sqld exited before listening (code ${code}, signal ${signal}); stderr:\n${err}`));
		};
		const onError = (e) => {
			cleanup();
			reject(e);
		};
		function cleanup() {
			clearTimeout(timer);
			proc.stdout.off("data", onData);
			proc.off("exit", onExit);
			proc.off("error", onError);
			// keep draining stdout so the child never blocks on a full pipe
			proc.stdout.on("data", (d) => {
				out += d;
				if (out.length > 200_000) out = out.slice(-100_000);
			});
		}
		proc.stdout.on("data", onData);
		proc.on("exit", onExit);
		proc.on("error", onError);
	}).catch(async (e) => {
		try { proc.kill("SIGKILL"); } catch { /* gone */ }
		await exited;
		if (ownDir && !opts.keepDir) await fs.rm(dir, { recursive: true, force: true });
		throw e;
	});

	let stopped;
	let killed = false;
	const srv = {
		url: `${scheme}://127.0.0.1:${port}`,
		wsUrl: `${scheme === "https" ? "wss" : "ws"}://127.0.0.1:${port}`,
		port,
		dir,
		dbPath,
		proc,
		exited,
		/** stdout and stderr seen so far (for failure messages) */
		output: () => ({ stdout: out, stderr: err }),
		/** SIGKILL on purpose (a later stop() then does not complain); no cleanup of the directory */
		kill: async () => {
			killed = true;
			if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
			return exited;
		},
		/**
		 * SIGTERM, wait up to graceMs, then SIGKILL. Resolves to { code, signal, forced }.
		 * Unless stopOpts.check === false it rejects when the exit was not clean:
		 * a non-zero status, a signal, a forced kill, or a sanitizer report on stderr
		 * (so `make asan` runs fail on leaks and UB in any test's server).
		 */
		stop: (stopOpts = {}) => {
			const p = stopInner(stopOpts);
			if (stopOpts.check === false || killed) return p;
			return p.then((res) => {
				const bad = sanitizerReport(err);
				if (res.forced) throw new Error(`sqld did not exit within the grace period after SIGTERM; stderr tail:\n${err.slice(-3000)}`);
				if (res.code !== 0 || res.signal !== null || bad)
					throw new Error(`sqld exited uncleanly (code ${res.code}, signal ${res.signal})${bad ? ": " + bad : ""}; stderr tail:\n${err.slice(-3000)}`);
				return res;
			});
		},
	};
	function stopInner(stopOpts) {
		if (!stopped) {
			stopped = (async () => {
				let forced = false;
				if (proc.exitCode === null && proc.signalCode === null) {
					proc.kill("SIGTERM");
					const t = setTimeout(() => {
						forced = true;
						try { proc.kill("SIGKILL"); } catch { /* gone */ }
					}, stopOpts.graceMs ?? 8000);
					await exited;
					clearTimeout(t);
				}
				const res = await exited;
				if (ownDir && !opts.keepDir && !stopOpts.keepDir) {
					await fs.rm(dir, { recursive: true, force: true });
				}
				return { ...res, forced };
			})();
		}
		return stopped;
	}
	return srv;
}

/** The first sanitizer report line in a sqld's stderr, or null. */
export function sanitizerReport(stderr) {
	const m = /^.*(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ThreadSanitizer).*$/m.exec(stderr);
	return m ? m[0] : null;
}

/** Start a sqld for one node:test test (or suite context) and stop it in t.after. */
export async function useSqld(t, opts = {}) {
	const srv = await startSqld(opts);
	t.after(() => srv.stop());
	return srv;
}

/** Remove a directory made with mkTempDir (sync, safe in after hooks). */
export function rmDir(dir) {
	rmSync(dir, { recursive: true, force: true });
}

export async function mkTempDir() {
	return fs.mkdtemp(path.join(os.tmpdir(), "sqlwire-test-"));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
