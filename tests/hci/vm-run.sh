#!/bin/sh
# SPDX-License-Identifier: MIT
#
# usage: vm-run.sh GUEST_SCRIPT [ARGS...]
#
# Boots the HCI-emulation VM (qemu TCG, Debian kernel from setup.sh, host /
# read-only over virtio-9p) and runs GUEST_SCRIPT ARGS inside it as root,
# chrooted into the host root. Exits with the guest script's exit status,
# or 125 when the VM did not report one (boot failure, timeout, crash).
#
# Everything the run produced is kept in build/hci/logs/<scenario>/, where
# <scenario> is the script's name without .sh:
#   console.log      serial console (kernel + stage-2 init + scenario)
#   scenario.log     the scenario's own output
#   bluetoothd.log   bluetoothd -n -d
#   btvirt.log, dbus.log
#   btmon.log        decoded HCI/mgmt/ATT/SMP trace (btmon's own output)
#   btmon.snoop      the same capture in btsnoop format (Wireshark)
#   dmesg.log        guest kernel log
#   qemu.log         qemu's own stderr
#   status           the scenario's exit status, written by the guest
# That directory is the guest's $HCI_OUT (a second, writable 9p share), so
# a scenario can leave any other file there.
#
# Environment:
#   HCI_TIMEOUT   overall limit in seconds, boot to power-off (default: the
#                 scenario's "# HCI-TIMEOUT: N" line, else 300); qemu is
#                 killed when it is reached
#   HCI_CPU       qemu -cpu model (default max)
#   HCI_MACHINE   qemu machine type (default q35)
#   HCI_SMP       guest CPUs (default 1: the build machines are shared)
#   HCI_MEM       guest memory in MiB (default 1024)
#   HCI_APPEND    extra kernel command line
#   HCI_QUIET=1   do not stream the console while the VM runs
#   HCI_BUILD     build directory (default <repo>/build/hci)
#   HCI_LOCK      lock file that keeps VMs one at a time on the machine
#                 (default /tmp/bleota-hci-vm.lock)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${HCI_BUILD:-$root/build/hci}

say() { printf 'hci-vm: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 125; }

[ $# -ge 1 ] || die "usage: vm-run.sh GUEST_SCRIPT [ARGS...]"
script=$(realpath "$1")
shift
[ -f "$script" ] && [ -x "$script" ] || die "$script is not an executable file"
# The guest mounts private tmpfs on these, hiding the host's files; the
# repository (and the build tree in it) is shared separately and mounted
# back at its own path, so a checkout in /tmp works (CI may clone there).
case $script in
"$root"/*) ;;
/tmp/* | /run/* | /var/tmp/* | /var/lib/bluetooth/* | /proc/* | /sys/* | /dev/*)
	die "$script lives where the guest mounts its own filesystems; put it in the repo" ;;
esac
case ${HCI_BUILD:-} in
"$root"/* | "") ;;
/tmp/* | /run/* | /var/tmp/*)
	die "HCI_BUILD=$HCI_BUILD is hidden in the guest; use a directory in the repo" ;;
esac
[ -s "$build/env" ] && [ -s "$build/initrd.gz" ] ||
	die "the VM is not set up: run tests/hci/setup.sh (or make test-hci)"
. "$build/env"
kernel=$HCI_KDIR/boot/vmlinuz-$HCI_KVER
[ -f "$kernel" ] || die "$kernel missing: run tests/hci/setup.sh"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing: run tests/hci/setup.sh"

name=$(basename "$script" .sh)
logs=$build/logs/$name
# Paths go on the kernel command line and into qemu options.
case $build$script in
*[[:space:],\']*) die "paths with spaces, commas or quotes are not supported: $build $script" ;;
esac

# A scenario may ask for more time with a "# HCI-TIMEOUT: SECONDS" line
# near its top (serve.sh: two devices updated through one emulated radio).
want=$(sed -n '1,10s/^# HCI-TIMEOUT: *\([0-9][0-9]*\).*/\1/p' "$script")
timeout=${HCI_TIMEOUT:-${want:-300}}
# The guest stops the scenario itself a bit earlier, so that a hung
# scenario still leaves complete logs and a status; qemu's kill is the
# backstop for a hung boot or kernel.
guest_timeout=$((timeout > 90 ? timeout - 45 : timeout * 2 / 3))

# One VM at a time on a machine (TCG is CPU-bound, and the builders share
# their cores), across checkouts: wait for a running one rather than
# slowing both down. Falls back to a per-build-directory lock if the
# shared lock file belongs to another user.
mkdir -p "$build/logs"
lock=${HCI_LOCK:-/tmp/bleota-hci-vm.lock}
if { exec 9>>"$lock"; } 2>/dev/null; then
	chmod 0666 "$lock" 2>/dev/null || true
else
	exec 9>>"$build/vm.lock"
fi
if ! flock -n 9; then
	say "another HCI VM is running; waiting for it (up to ${timeout}s)"
	flock -w "$timeout" 9 || die "gave up waiting for the other VM"
fi

rm -rf "$logs"
mkdir -p "$logs"
cat >"$logs/run.env" <<EOF
HCI_OUT='$logs'
HCI_BUILD='$build'
HCI_REPO='$root'
HCI_KDIR='$HCI_KDIR'
HCI_KVER='$HCI_KVER'
HCI_SCENARIO='$name'
HCI_GUEST_TIMEOUT='$guest_timeout'
HCI_CPU='${HCI_CPU:-max}'
EOF
for a in "$script" "$@"; do
	printf '%s\n' "$a"
done >"$logs/cmd"

say "scenario $name: booting $HCI_KVER (timeout ${timeout}s, logs in $logs)"
start=$(date +%s)

set +e
timeout -k 10 "$timeout" qemu-system-x86_64 \
	-nodefaults -no-user-config -display none -no-reboot \
	-machine "${HCI_MACHINE:-q35},accel=tcg" -cpu "${HCI_CPU:-max}" \
	-smp "${HCI_SMP:-1}" -m "${HCI_MEM:-1024}" \
	-kernel "$kernel" -initrd "$build/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1 random.trust_cpu=on hci_out=$logs hci_repo=$root hci_init=$here/guest-init.sh ${HCI_APPEND:-}" \
	-serial "file:$logs/console.log" \
	-device virtio-rng-pci \
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev "local,id=hcirepo,path=$root,security_model=none,readonly=on,multidevs=remap" \
	-device virtio-9p-pci,fsdev=hcirepo,mount_tag=hcirepo \
	-fsdev "local,id=hciout,path=$logs,security_model=none,multidevs=remap" \
	-device virtio-9p-pci,fsdev=hciout,mount_tag=hciout \
	</dev/null >"$logs/qemu.log" 2>&1 &
qpid=$!
if [ "${HCI_QUIET:-0}" != 1 ]; then
	# Stream the console so CI logs show progress; ends with qemu.
	while [ ! -e "$logs/console.log" ] && kill -0 "$qpid" 2>/dev/null; do
		sleep 0.2
	done
	tail -n +1 -f --pid="$qpid" "$logs/console.log" 2>/dev/null |
		sed -u 's/^/  | /' &
	tpid=$!
fi
wait "$qpid"
qrc=$?
[ -n "${tpid:-}" ] && wait "$tpid"
set -e
secs=$(($(date +%s) - start))

# The guest's own report wins; the console marker is the fallback.
rc=""
if [ -s "$logs/status" ]; then
	rc=$(cat "$logs/status")
elif [ -f "$logs/console.log" ]; then
	rc=$(sed -n 's/^HCI-RESULT rc=\([0-9]*\).*/\1/p' "$logs/console.log" |
		tail -n 1)
fi

why=""
case $qrc in
0) ;;
124 | 137) why="VM timed out after ${timeout}s; qemu was killed" ;;
*) why="qemu exited with status $qrc (see qemu.log)" ;;
esac
if [ -z "$rc" ]; then
	why="${why:+$why; }the guest reported no result"
	rc=125
fi

if [ "$rc" = 0 ] && [ -z "$why" ]; then
	say "scenario $name: PASS in ${secs}s"
	exit 0
fi

say "scenario $name: FAIL (rc=$rc) after ${secs}s${why:+: $why}"
if [ "${HCI_QUIET:-0}" = 1 ] && [ -f "$logs/console.log" ]; then
	say "last lines of the console:"
	tail -n 40 "$logs/console.log" | sed 's/^/  | /' >&2
fi
say "logs:"
for f in "$logs"/*; do
	case $f in */run.env | */cmd) continue ;; esac
	printf '  %s\n' "$f" >&2
done
[ "$rc" = 0 ] && rc=125
exit "$rc"
