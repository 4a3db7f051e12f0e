#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Stage 2 of the HCI-emulation guest boot, run as PID 1 inside the host root
# (see initramfs-init.sh). Runs one scenario under a timeout, records its
# exit status in the results directory and on the console, then powers off.
#
# The host (vm-run.sh) leaves two files in the results directory:
#   run.env  shell assignments: HCI_OUT, HCI_BUILD, HCI_REPO, HCI_KDIR,
#            HCI_KVER, HCI_SCENARIO, HCI_GUEST_TIMEOUT, HCI_CPU
#   cmd      the scenario's path and arguments, one per line
#
# The exit status reaches the host twice, so either is enough: a "status"
# file in the results directory and an "HCI-RESULT rc=N" console line.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export LANG=C.UTF-8 HOME=/root TERM=dumb

finish() {
	echo "$1" >"$HCI_OUT/status"
	echo "HCI-RESULT rc=$1"
	sync
	# Under TCG the poweroff is quick; PID 1 exiting would panic instead.
	busybox poweroff -f
}

HCI_OUT=""
for a in $(cat /proc/cmdline); do
	case $a in
	hci_out=*) HCI_OUT=${a#hci_out=} ;;
	esac
done
if [ ! -r "$HCI_OUT/run.env" ]; then
	echo "HCI-INIT: error: $HCI_OUT/run.env missing"
	echo "HCI-RESULT rc=125"
	busybox poweroff -f
fi
. "$HCI_OUT/run.env"
export HCI_OUT HCI_BUILD HCI_REPO HCI_KDIR HCI_KVER HCI_SCENARIO \
	HCI_GUEST_TIMEOUT HCI_CPU

# Module autoload (e.g. the crypto algorithms AF_ALG asks for) goes through
# this helper, which knows where the unpacked kernel's modules are.
echo "$HCI_BUILD/modprobe-helper" >/proc/sys/kernel/modprobe

set --
while IFS= read -r line; do
	set -- "$@" "$line"
done <"$HCI_OUT/cmd"
[ $# -ge 1 ] || finish 125

echo "HCI-INIT: running $* (timeout ${HCI_GUEST_TIMEOUT}s)"
# Output goes to the console (serial log) and to scenario.log. The rc comes
# back through a file because a pipeline only reports tee's status.
cd /
{
	timeout -k 5 "$HCI_GUEST_TIMEOUT" "$@" 2>&1
	echo $? >"$HCI_OUT/.rc"
} </dev/null | tee "$HCI_OUT/scenario.log"
rc=$(cat "$HCI_OUT/.rc" 2>/dev/null || echo 125)
rm -f "$HCI_OUT/.rc"
[ "$rc" = 124 ] && echo "HCI-INIT: scenario timed out after ${HCI_GUEST_TIMEOUT}s"

dmesg >"$HCI_OUT/dmesg.log" 2>&1
finish "$rc"
