#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Runs each test binary given on the command line, shows its cmocka output,
# and prints one closing line "tests: N passed, N failed" summed over all of
# them. A binary that exits 77 counts as skipped (and is reported as such),
# never as passed. Exit status is 0 only if nothing failed.
set -u

passed=0
failed=0
skipped=0
bad_bins=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "$@"; do
	"$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	if [ "$rc" = 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP: $t"
		continue
	fi
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | awk '{s+=$1} END {print s+0}')
	passed=$((passed + p))
	failed=$((failed + f))
	if [ "$rc" != 0 ]; then
		bad_bins="$bad_bins $t"
		# a crash before cmocka's summary must still count as a failure
		[ "$f" = 0 ] && failed=$((failed + 1))
	fi
done

[ -n "$bad_bins" ] && echo "failing test programs:$bad_bins"
if [ "$skipped" -gt 0 ]; then
	echo "tests: $passed passed, $failed failed, $skipped skipped"
else
	echo "tests: $passed passed, $failed failed"
fi
[ "$failed" = 0 ] && [ -z "$bad_bins" ]
