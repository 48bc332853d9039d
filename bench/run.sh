#!/usr/bin/env bash
# `make bench`: builds the bench client, starts sqld and a throwaway
# PostgreSQL 15 cluster on loopback, runs the benchmarks (bench/main.c) and
# tears everything down again, whatever happens (trap on EXIT).
#
# Environment:
#   SQLWIRE_BUILD   build directory holding sqld (default build/release)
#   BENCH_TMP       where the temp dirs go (default ${TMPDIR:-/tmp}); the sqld
#                   database, the in-process SQLite file and the PostgreSQL
#                   cluster all live under one directory, so on one disk
#   BENCH_ARGS      extra flags for sqlwire-bench run (e.g. "--rounds 3 --tput-ms 2000")
#   BENCH_REPL_ARGS extra flags for sqlwire-bench-repl run, sections 4-6 (e.g. "--only 56 --sync-mb 64")
#   BENCH_CLIENT_ARGS extra flags for the libsqlwire remote bench (e.g. "--rounds 4")
#   PG_BIN          PostgreSQL binaries (default /usr/lib/postgresql/15/bin)
#   BENCH_NICE      e.g. -10 (root only): run sqld, PostgreSQL and the client at
#                   that nice level, so other people's jobs on a shared machine
#                   disturb the figures less (all measured processes alike)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
build=${SQLWIRE_BUILD:-build/release}
sqld="$here/$build/sqld"
[ -x "$sqld" ] || { echo "bench: $sqld not built (run make)" >&2; exit 1; }
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
[ -x "$PG_BIN/initdb" ] || { echo "bench: no PostgreSQL 15 in $PG_BIN (run make deps)" >&2; exit 1; }

# ---- build the client ----
bin="$here/$build/bench/sqlwire-bench"
mkdir -p "$(dirname "$bin")"
pq_cflags=$(pkg-config --cflags libpq 2>/dev/null || echo "-I$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)")
# shellcheck disable=SC2086 # pq_cflags is a list of flags
cc -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -std=c11 -D_GNU_SOURCE $pq_cflags -o "$bin" bench/*.c \
	-lpq -lsqlite3 -lcrypto -lpthread

# ---- sections 4-6 (replication lag, initial sync, capture overhead): a second
# client, bench/repl/*.c, linked against sqld's own libraries for section 6 ----
bin_repl="$here/$build/bench/sqlwire-bench-repl"
for lib in libsqld.a libproto.a; do
	[ -f "$here/$build/$lib" ] || { echo "bench: $build/$lib not built (run make)" >&2; exit 1; }
done
# shellcheck disable=SC2046 # pkg-config prints lists of flags
cc -O2 -g -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -std=c11 -D_GNU_SOURCE \
	-Ibench -Iproto -Isqld -I"$build/gen" -o "$bin_repl" bench/repl/*.c bench/util.c bench/ws.c \
	-Wl,--start-group "$here/$build/libsqld.a" "$here/$build/libproto.a" -Wl,--end-group \
	$(pkg-config --libs sqlite3 libwebsockets jansson libprotobuf-c openssl) -lcrypto -lpthread -lm

# ---- section 7: libsqlwire (remote round trip vs PostgreSQL, replica point
# read vs plain sqlite3, follow-mode lag and sync throughput vs a file copy) ----
make --no-print-directory -s VARIANT="$(basename "$build")" "$build/bench/client_remote" \
	"$build/bench/sqlwire-bench-client-replica" "$build/bench/client_sync"

nice_cmd=()
[ -n "${BENCH_NICE:-}" ] && nice_cmd=(nice -n "$BENCH_NICE")

# ---- temp dirs, and a trap that always cleans up ----
tmp=$(mktemp -d "${BENCH_TMP:-${TMPDIR:-/tmp}}/sqlwire-bench.XXXXXX")
sqld_pid=""
bench_pid=""
one_pid=""
pg_up=0
as_pg=()
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || { echo "bench: running as root but there is no postgres user" >&2; exit 1; }
	as_pg=(runuser -u postgres --)
fi
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$bench_pid" ] && kill -0 "$bench_pid" 2>/dev/null; then
		kill -TERM "$bench_pid" 2>/dev/null || true
		wait "$bench_pid" 2>/dev/null || true
	fi
	if [ -n "$sqld_pid" ] && kill -0 "$sqld_pid" 2>/dev/null; then
		kill -TERM "$sqld_pid" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$sqld_pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$sqld_pid" 2>/dev/null || true
		wait "$sqld_pid" 2>/dev/null || true
	fi
	if [ -n "$one_pid" ]; then
		kill -KILL "$one_pid" 2>/dev/null || true
		wait "$one_pid" 2>/dev/null || true
	fi
	if [ "$pg_up" = 1 ]; then
		"${as_pg[@]}" "$PG_BIN/pg_ctl" stop -D "$tmp/pg/data" -m immediate -w >/dev/null 2>&1 || true
	fi
	if [ "$rc" != 0 ]; then
		for f in "$tmp/sqld.err" "$tmp/pg/log"; do
			[ -s "$f" ] && { echo "---- tail of ${f#"$tmp"/}" >&2; tail -n 20 "$f" >&2; }
		done
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 711 "$tmp"

# ---- sqld ----
"${nice_cmd[@]}" "$sqld" --db-path "$tmp/sqld" --http-listen-addr 127.0.0.1:0 >"$tmp/sqld.out" 2>"$tmp/sqld.err" &
sqld_pid=$!
sqld_port=""
for _ in $(seq 100); do
	sqld_port=$(sed -n 's|^sqld listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$tmp/sqld.out")
	[ -n "$sqld_port" ] && break
	kill -0 "$sqld_pid" 2>/dev/null || { echo "bench: sqld exited" >&2; exit 1; }
	sleep 0.1
done
[ -n "$sqld_port" ] || { echo "bench: sqld did not say where it listens" >&2; exit 1; }

# ---- PostgreSQL: a throwaway cluster, loopback only, fsync settings at defaults ----
mkdir -p "$tmp/pg"
[ ${#as_pg[@]} -gt 0 ] && chown postgres: "$tmp/pg"
# --no-sync only skips initdb's own flush of the new cluster; the server
# keeps fsync=on, synchronous_commit=on, wal_sync_method at its default.
"${as_pg[@]}" "$PG_BIN/initdb" -D "$tmp/pg/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
	>"$tmp/pg/initdb.log" 2>&1 || { cat "$tmp/pg/initdb.log" >&2; exit 1; }
pg_port=""
pg_ok=0
pg_up=1 # from here on the trap stops the cluster, even if a start half-failed
for _ in 1 2 3; do
	pg_port=$("$bin" freeport) # a race with other programs is possible; then retry
	if "${nice_cmd[@]}" "${as_pg[@]}" "$PG_BIN/pg_ctl" start -D "$tmp/pg/data" -w -t 30 -l "$tmp/pg/log" \
		-o "-c listen_addresses=127.0.0.1 -p $pg_port -c unix_socket_directories=$tmp/pg" >/dev/null; then
		pg_ok=1
		break
	fi
done
[ "$pg_ok" = 1 ] || { echo "bench: PostgreSQL did not start" >&2; exit 1; }

# ---- the benchmarks ----
pg_pid=$(head -n 1 "$tmp/pg/data/postmaster.pid")
# in the background so that a TERM to this script is handled at once (bash
# defers traps while a foreground child runs); the trap stops the client too
# shellcheck disable=SC2086
"${nice_cmd[@]}" "$bin" run --sqld-port "$sqld_port" --pg-port "$pg_port" --dir "$tmp" \
	--sqld-pid "$sqld_pid" --pg-pid "$pg_pid" ${BENCH_ARGS:-} &
bench_pid=$!
wait "$bench_pid"

# ---- sections 4-6: they start their own sqld processes (children of the
# client, which die with it) under $tmp; section 6 runs in the client ----
# shellcheck disable=SC2086
"${nice_cmd[@]}" "$bin_repl" run --sqld-bin "$sqld" --dir "$tmp" ${BENCH_REPL_ARGS:-} &
bench_pid=$!
wait "$bench_pid"

# ---- section 7: libsqlwire ----
echo
echo "== 7. libsqlwire =="
# shellcheck disable=SC2086
"${nice_cmd[@]}" "$here/$build/bench/client_remote" --sqld-port "$sqld_port" --pg-port "$pg_port" ${BENCH_CLIENT_ARGS:-} &
bench_pid=$!
wait "$bench_pid"
"${nice_cmd[@]}" "$here/$build/bench/sqlwire-bench-client-replica" --sqld-port "$sqld_port" --dir "$tmp" &
bench_pid=$!
wait "$bench_pid"
SQLWIRE_BUILD="$build" "${nice_cmd[@]}" "$here/$build/bench/client_sync" &
bench_pid=$!
wait "$bench_pid"

# ---- section 8: one CPU. sqld's idle worker polls briefly for the next
# job; a client or the network thread that the scheduler puts on the
# poller's CPU must not wait out the poll. The same point read, sqld and
# its client confined to one CPU (a second sqld under taskset) vs both free
# (the sqld above), rounds alternating ----
echo
echo "== 8. One CPU =="
if command -v taskset >/dev/null; then
	mkdir -p "$tmp/one"
	taskset -c 0 "${nice_cmd[@]}" "$sqld" --db-path "$tmp/one/sqld" --http-listen-addr 127.0.0.1:0 \
		>"$tmp/one/sqld.out" 2>"$tmp/one/sqld.err" &
	one_pid=$!
	one_port=""
	for _ in $(seq 100); do
		one_port=$(sed -n 's|^sqld listening on http://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$tmp/one/sqld.out")
		[ -n "$one_port" ] && break
		sleep 0.1
	done
	[ -n "$one_port" ] || { echo "bench: the one-CPU sqld did not start" >&2; exit 1; }
	p50() { sed -n 's/.* p50 \([0-9.]*\) us.*/\1/p'; }
	echo "   (sqld WS hrana2 point read, 1 client, 3 rounds x 2 s per target)"
	printf '  %-28s %10s %10s\n' "round" "free p50" "1-CPU p50"
	ratios=""
	for r in 1 2 3; do
		free=$("${nice_cmd[@]}" "$bin" load --kind ws-read --sqld-port "$sqld_port" --clients 1 --seconds 2 | p50)
		one=$(taskset -c 0 "${nice_cmd[@]}" "$bin" load --kind ws-read --sqld-port "$one_port" --clients 1 --seconds 2 | p50)
		printf '  %-28s %10s %10s\n' "$r" "$free us" "$one us"
		ratios="$ratios $(awk -v a="$one" -v b="$free" 'BEGIN { printf "%.3f", a / b }')"
	done
	kill "$one_pid" 2>/dev/null || true
	wait "$one_pid" 2>/dev/null || true
	one_pid=""
	med=$(printf '%s\n' $ratios | sort -n | sed -n 2p)
	verdict=$(awk -v m="$med" 'BEGIN { print (m <= 1.25 ? "MET" : "MISSED") }')
	echo "  1-CPU / free p50 (median)    ${med}x (rounds:$ratios)   target <= 1.25x  $verdict"
else
	echo "  skipped: no taskset on this machine"
fi
