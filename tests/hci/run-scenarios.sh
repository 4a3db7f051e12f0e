#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: run-scenarios.sh [SCENARIO.sh...]
#
# `make test-hci`: prepares the VM (setup.sh) and runs each HCI-emulation
# scenario in its own VM, one after the other; by default every
# tests/hci/scenario-*.sh, so a new scenario only needs a new file. Prints
# the wall time of each step and exits non-zero if any scenario failed.
set -eu

here=$(cd "$(dirname "$0")" && pwd)

now() { date +%s; }

if [ $# -eq 0 ]; then
	set -- "$here"/scenario-*.sh
	[ -e "$1" ] || { echo "test-hci: no tests/hci/scenario-*.sh" >&2; exit 1; }
fi

t0=$(now)
"$here/setup.sh"
t_setup=$(($(now) - t0))
echo "test-hci: setup ${t_setup}s"

failed=""
summary=""
for s in "$@"; do
	name=$(basename "$s" .sh)
	name=${name#scenario-}
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
