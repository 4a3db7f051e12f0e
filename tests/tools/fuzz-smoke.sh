#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs every libFuzzer target built by `make fuzz` for FUZZ_SECONDS (60)
# seconds each, one after the other, on a copy of its seed corpus, and prints
# the executions per target and one closing line
# "fuzz: N targets, N executions, N failed". A crash, leak, sanitizer report,
# invariant failure or timeout fails the target; libFuzzer keeps the input in
# BUILD/crashes/<target>/ and the log in BUILD/logs/<target>.log. Exit status
# is 0 only if nothing failed.
#
# usage: fuzz-smoke.sh [BUILD]        (BUILD defaults to build-fuzz)
set -u

build=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
failed=0
total=0
count=0
bad=""

mkdir -p "$build/logs"
printf '%-20s %12s %10s  %s\n' target executions exec/s result
for bin in "$build"/fuzz/fuzz_*; do
	[ -x "$bin" ] || continue
	t=$(basename "$bin")
	work="$build/work/$t"
	crashes="$build/crashes/$t"
	log="$build/logs/$t.log"
	rm -rf "$work"
	mkdir -p "$work" "$crashes" "$build/corpus/$t"
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$crashes/" \
		"$work" "$build/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" |
		tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' \
		"$log" | tail -n 1)
	[ -n "$execs" ] || execs=0
	if [ "$rc" = 0 ]; then
		res=ok
	else
		res="FAILED (rc $rc; $(ls "$crashes" | tr '\n' ' '))"
		failed=$((failed + 1))
		bad="$bad $t"
	fi
	printf '%-20s %12s %10s  %s\n' "$t" "$execs" \
		"$((execs / (secs > 0 ? secs : 1)))" "$res"
	total=$((total + execs))
	count=$((count + 1))
done

if [ -n "$bad" ]; then
	echo "failing fuzz targets:$bad (inputs in $build/crashes/, logs in $build/logs/)"
	echo "reproduce: $build/fuzz/<target> $build/crashes/<target>/<file>"
fi
echo "fuzz: $count targets, $total executions, $failed failed"
[ "$failed" = 0 ] && [ "$count" -gt 0 ]
