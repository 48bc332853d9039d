// pl.mjs: run a process under the power-loss shim (tests/fault/powerloss.c,
// built as $SQLWIRE_BUILD/fault/libpowerloss.so) from the fault tests.
//
// plEnv({ dir, seed, torn, after }) is the environment to add: files under
// `dir` are tracked; the stash for replaced/unlinked files is `dir`.plstash
// (removed by plCleanup). The shim is built without sanitizers: an ASan
// build of the program is told not to insist on its runtime coming first.
// plLost(exit) says whether a process ended by the simulated power loss
// (exit status 99, the shim's). A seed is printed in every failure message
// so a round can be replayed with SQLWIRE_PL_SEED (up to thread timing).
import fs from "node:fs";
import path from "node:path";
import { ROOT, BUILD } from "../interop/lib/sqld.mjs";

export const SHIM = path.resolve(ROOT, BUILD, "fault/libpowerloss.so");
export const PL_EXIT = 99;

export function plEnv({ dir, seed, torn = false, after = null }) {
	const asan = process.env.ASAN_OPTIONS || "";
	const env = {
		LD_PRELOAD: SHIM,
		SQLWIRE_PL_DIR: dir,
		SQLWIRE_PL_SEED: String(seed),
		SQLWIRE_PL_TORN: torn ? "1" : "0",
		ASAN_OPTIONS: `${asan}${asan ? ":" : ""}verify_asan_link_order=0`,
	};
	if (after != null) env.SQLWIRE_PL_AFTER = String(after);
	return env;
}

export function plCleanup(dir) {
	fs.rmSync(`${dir}.plstash`, { recursive: true, force: true });
}

export function plLost(exit) {
	return exit.code === PL_EXIT && exit.signal == null;
}

export function randomSeed() {
	return 1 + Math.floor(Math.random() * 2 ** 31);
}
