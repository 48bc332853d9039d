#!/usr/bin/env bash
# Installs whatever sqlwire needs that this Debian 12 machine lacks. Safe to
# run again: it only calls apt-get / npm when something is missing.
set -euo pipefail
need=()
pkgs=(build-essential pkg-config libsqlite3-dev libwebsockets-dev libjansson-dev
      libprotobuf-c-dev protobuf-c-compiler libssl-dev sqlite3 clang libclang-rt-14-dev
      nodejs npm postgresql-15 libpq-dev valgrind)
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || need+=("$p")
done
# nodejs may come from elsewhere than Debian (a preinstalled node); accept it
if command -v node >/dev/null && command -v npm >/dev/null; then
	need=("${need[@]/nodejs/}"); need=("${need[@]/npm/}")
fi
clean=()
for p in "${need[@]}"; do [ -n "$p" ] && clean+=("$p"); done
if [ ${#clean[@]} -gt 0 ]; then
	echo "deps: installing ${clean[*]}"
	SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${clean[@]}"
fi
# npm packages for the interop tests, exactly as the lockfile pins them
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -f "$here/tests/interop/package-lock.json" ] && [ ! -d "$here/tests/interop/node_modules" ]; then
	(cd "$here/tests/interop" && npm ci --no-audit --no-fund --loglevel=error)
fi
