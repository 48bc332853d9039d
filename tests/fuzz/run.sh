#!/usr/bin/env bash
# tests/fuzz/run.sh SECONDS BIN...: runs each libFuzzer target BIN for SECONDS
# on a fresh temporary corpus seeded from tests/fuzz/corpus/<target>/ (when
# that folder exists), inputs up to 64 KiB. Prints one line per target; a
# crash, leak, UBSan report or timeout keeps its input under
# build/fuzz/artifacts/<target>/, prints the end of the log, and makes the
# script exit non-zero after all targets have run.
set -u
[ $# -ge 2 ] || { echo "usage: $0 SECONDS BIN..." >&2; exit 2; }
secs=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
status=0
for bin in "$@"; do
	name=$(basename "$bin")
	if [ ! -x "$bin" ]; then
		echo "fuzz $name: FAILED (no such executable: $bin)"
		status=1
		continue
	fi
	work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz.$name.XXXXXX")
	mkdir -p "$work/corpus"
	seeds="$root/tests/fuzz/corpus/$name"
	nseeds=0
	if [ -d "$seeds" ]; then
		cp "$seeds"/* "$work/corpus/" 2>/dev/null
		nseeds=$(ls "$work/corpus" | wc -l)
	fi
	art="$root/build/fuzz/artifacts/$name"
	mkdir -p "$art"
	"$bin" -max_len=65536 -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$art/" "$work/corpus" >"$work/log" 2>&1
	rc=$?
	runs=$(grep -E '^stat::number_of_executed_units:' "$work/log" | awk '{print $2}')
	cov=$(grep -E '^#[0-9]+' "$work/log" | tail -n1 | grep -oE 'cov: [0-9]+' | awk '{print $2}')
	if [ $rc -eq 0 ]; then
		echo "fuzz $name: ok, ${runs:-?} runs in ${secs}s, cov ${cov:-?}, $nseeds seeds"
	else
		echo "fuzz $name: FAILED (exit $rc) after ${runs:-?} runs; inputs kept in $art/"
		tail -n 40 "$work/log"
		status=1
	fi
	rm -rf "$work"
done
exit $status
