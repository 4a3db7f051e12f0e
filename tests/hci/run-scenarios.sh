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
	if "$here/vm-run.sh" "$s"; then
		res=PASS
	else
		res="FAIL($?)"
		failed="$failed $name"
	fi
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
