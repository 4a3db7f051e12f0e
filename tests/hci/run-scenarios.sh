#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: run-scenarios.sh [SCENARIO.sh...]
#
# `make test-hci`: prepares the VM (setup.sh) and runs each HCI-emulation
# scenario in its own VM, one after the other. By default the scenarios
# are the tests/hci/*.sh files carrying a "# HCI-SCENARIO: <summary>" line
# near the top, so a new scenario (e.g. push.sh) only needs that line.
# Prints the wall time of each step; exits non-zero if any scenario failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

now() { date +%s; }

if [ $# -eq 0 ]; then
	# smoke.sh first: if the basic stack is broken, that is the failure
	# to read first.
	# shellcheck disable=SC2046
	set -- $(grep -l '^# HCI-SCENARIO:' "$here"/*.sh |
		awk '/\/smoke\.sh$/ { print; next } { rest = rest $0 "\n" }
		     END { printf "%s", rest }')
	[ $# -gt 0 ] || { echo "test-hci: no HCI-SCENARIO in tests/hci" >&2; exit 1; }
fi

# HCI_RETRIES=N: run a failed scenario again up to N times (CI uses 1:
# an emulated controller under TCG can still time out once); a pass on a
# retry is reported as such, with the failed run's logs kept.
retries=${HCI_RETRIES:-0}
logs=${HCI_BUILD:-$(cd "$here/../.." && pwd)/build/hci}/logs
t0=$(now)
"$here/setup.sh"
t_setup=$(($(now) - t0))
echo "test-hci: setup ${t_setup}s"

failed=""
summary=""
for s in "$@"; do
	name=$(basename "$s" .sh)
	echo "test-hci: $name: $(sed -n 's/^# HCI-SCENARIO: *//p' "$s")"
	t=$(now)
	try=0
	while :; do
		rc=0
		"$here/vm-run.sh" "$s" || rc=$?
		if [ "$rc" -eq 0 ]; then
			res=PASS
			[ "$try" -eq 0 ] || res="PASS on retry $try (failed run's logs in $logs/$name.try$try)"
			break
		fi
		res="FAIL($rc)"
		try=$((try + 1))
		if [ "$try" -gt "$retries" ]; then
			failed="$failed $name"
			break
		fi
		echo "test-hci: $name: $res, retry $try of $retries" >&2
		rm -rf "$logs/$name.try$try"
		mv "$logs/$name" "$logs/$name.try$try"
	done
	summary="$summary  $name: $res in $(($(now) - t))s
"
done

echo "test-hci: results (logs in build/hci/logs/<scenario>/):"
printf '%s' "$summary"
echo "test-hci: total wall time $(($(now) - t0))s (setup ${t_setup}s)"
if [ -n "$failed" ]; then
	echo "test-hci: FAILED:$failed" >&2
	exit 1
fi
