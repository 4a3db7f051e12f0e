# SPDX-License-Identifier: MIT
#
# Helpers for HCI-emulation guest scenarios (sourced, POSIX sh). A scenario
# runs inside the VM as root, with the host's root filesystem read-only,
# private tmpfs on /tmp, /run and /var/lib/bluetooth, and $HCI_OUT shared
# read-write with the host (it becomes build/hci/logs/<scenario>/).
#
# Typical use:
#
#   . "$(dirname "$0")/guest-lib.sh"
#   hci_stack_up                 # modules, btmon, dbus, btvirt, bluetoothd
#   wait_for 'some_check' 20 "what we wait for"
#   ...
#   hci_pass                     # or hci_fail "reason"
#
# Every wait polls a condition with a deadline; nothing relies on a fixed
# sleep, because under TCG on a busy host the same step can take 5x longer
# from one run to the next.

: "${HCI_OUT:?guest-lib.sh runs inside the VM (HCI_OUT unset)}"
: "${HCI_KDIR:?}" "${HCI_KVER:?}"

HCI_BLUETOOTHD=${HCI_BLUETOOTHD:-/usr/libexec/bluetooth/bluetoothd}
HCI_PIDS=""

# Seconds since boot with one decimal (busybox and dash have no $SECONDS).
hci_now() {
	cut -d' ' -f1 /proc/uptime
}

log() {
	printf '[%7s] %s\n' "$(hci_now)" "$*"
}

hci_fail() {
	log "FAIL: $*"
	exit 1
}

hci_pass() {
	log "PASS: ${HCI_SCENARIO:-scenario}"
	exit 0
}

# wait_for CONDITION TIMEOUT [DESCRIPTION]
#   Evaluates the shell command CONDITION every 0.2 s until it succeeds
#   (returns 0) or TIMEOUT seconds have passed (returns 1, logs what was
#   awaited). CONDITION's output is discarded.
wait_for() {
	_cond=$1
	_desc=${3:-$1}
	_end=$(awk -v n="$(hci_now)" -v t="$2" 'BEGIN { printf "%d", (n + t) * 10 }')
	while :; do
		if eval "$_cond" >/dev/null 2>&1; then
			return 0
		fi
		_t=$(awk -v n="$(hci_now)" 'BEGIN { printf "%d", n * 10 }')
		if [ "$_t" -ge "$_end" ]; then
			log "timeout after ${2}s waiting for: $_desc"
			return 1
		fi
		sleep 0.2
	done
}

# must_wait CONDITION TIMEOUT [DESCRIPTION]: wait_for, failing the scenario.
must_wait() {
	wait_for "$@" || hci_fail "${3:-$1}"
}

# Runs a command with its output in the scenario log; fails the scenario
# if it fails. Bounded: a BlueZ tool that hangs is killed after 30 s.
run() {
	log "+ $*" >&2
	timeout -k 2 "${HCI_RUN_TIMEOUT:-30}" "$@" </dev/null ||
		hci_fail "command failed ($?): $*"
}

# bt_shell TOOL [ARGS...]: runs a BlueZ bt_shell tool (btmgmt, bluetoothctl)
# and prints its output. These tools print nothing at all when stdin is not
# a terminal, so run them on a pseudo-terminal (script(1)); carriage
# returns are stripped. Arguments must not contain single quotes.
bt_shell() {
	_cmd=""
	for _a in "$@"; do
		_cmd="$_cmd '$_a'"
	done
	_tmp=$(mktemp)
	timeout -k 2 "${HCI_RUN_TIMEOUT:-30}" script -qec "$_cmd" /dev/null \
		</dev/null >"$_tmp" 2>&1
	_st=$?
	tr -d '\r' <"$_tmp"
	rm -f "$_tmp"
	return $_st
}

# Starts a background daemon, logging to $HCI_OUT/NAME.log, and remembers
# its pid for hci_cleanup.
hci_spawn() {
	_name=$1
	shift
	log "starting $_name: $*"
	"$@" </dev/null >>"$HCI_OUT/$_name.log" 2>&1 &
	HCI_PIDS="$! $HCI_PIDS"
	eval "HCI_PID_$_name=\$!"
}

hci_modprobe() {
	modprobe -d "$HCI_KDIR" -S "$HCI_KVER" -a "$@"
}

# Loads the Bluetooth stack and, first, the crypto modules: btvirt's
# emulated controllers open AF_ALG sockets (cmac, ecb(aes), ecdh). If they
# are loaded on demand instead, the autoload can outlast the kernel's 2 s
# HCI_Reset timeout and the first controller stays down ("Opcode 0x0c03
# failed: -110").
hci_modules() {
	hci_modprobe virtio_rng algif_hash algif_skcipher aes_generic ecb cmac \
		ecdh_generic ccm bluetooth hci_vhci ||
		hci_fail "modprobe of the crypto/Bluetooth modules failed"
	[ -c /dev/vhci ] || hci_fail "/dev/vhci missing after loading hci_vhci"
}

# btmon captures every HCI packet (all controllers, mgmt too) in btsnoop
# format; vm-run.sh decodes it to btmon.txt on the host.
hci_start_btmon() {
	if command -v btmon >/dev/null 2>&1; then
		hci_spawn btmon btmon -w "$HCI_OUT/btmon.snoop"
		HCI_BTMON_PID=$HCI_PID_btmon
	fi
}

hci_start_dbus() {
	mkdir -p /run/dbus
	hci_spawn dbus dbus-daemon --system --nofork --nopidfile
	must_wait '[ -S /run/dbus/system_bus_socket ]' 20 "system D-Bus socket"
}

# Number of controllers whose kernel setup got as far as reading their
# address (a controller whose HCI_Reset failed keeps 00:00:00:00:00:00 and
# never gets a mgmt index). hciconfig, not btmgmt: the bt_shell tools print
# nothing when stdin is not a terminal.
hci_ready_count() {
	hciconfig 2>/dev/null | grep 'BD Address:' |
		grep -vc 'BD Address: 00:00:00:00:00:00'
}

# Number of "HCI_Reset timed out" lines in the kernel log so far.
hci_reset_failures() {
	dmesg | grep -c 'Opcode 0x0c03 failed' || true
}

# hci_start_btvirt [BTVIRT-ARGS]: default two LE-only controllers
# (hci0 = 00:AA:01:00:00:00, hci1 = 00:AA:01:01:00:01).
#
# btvirt 5.66 races with the kernel: when it creates a controller it
# writes the vhci "create" request and reads 4 bytes as the reply, but the
# kernel queues the new controller's HCI_Reset (also 4 bytes) at the same
# moment, from a work queue. If the Reset comes first, btvirt swallows it,
# the Reset times out ("hci0: Opcode 0x0c03 failed: -110") and that
# controller never gets a mgmt index. (BlueZ 5.70 fixed this; syzkaller
# hit the same race.) Under TCG this happens to the first controller in
# most runs, so check the controllers and start btvirt again if needed:
# later attempts, with everything cached, nearly always win the race.
hci_start_btvirt() {
	[ $# -gt 0 ] || set -- -l2 -L
	_n=$(echo " $* " | sed -n 's/.* -l\([0-9][0-9]*\) .*/\1/p')
	_n=${_n:-1}
	for _try in 1 2 3 4 5; do
		_fails=$(hci_reset_failures)
		hci_spawn btvirt btvirt "$@"
		must_wait "[ \$(ls /sys/class/bluetooth | grep -c '^hci') -ge $_n ]" \
			30 "$_n controllers created by btvirt"
		# Either all controllers get an address, or the kernel logs a
		# failed Reset (2 s after it sent it).
		wait_for "[ \$(hci_ready_count) -ge $_n ] ||
			[ \$(hci_reset_failures) -gt $_fails ]" 20 \
			"$_n controllers initialised by the kernel" || true
		if [ "$(hci_ready_count)" -ge "$_n" ]; then
			log "btvirt: $_n controllers up (attempt $_try)"
			return 0
		fi
		log "btvirt: controller setup failed (attempt $_try), restarting it"
		kill -TERM "$HCI_PID_btvirt"
		must_wait '! ls /sys/class/bluetooth | grep -q ^hci' 20 \
			"controllers of the failed btvirt to disappear"
	done
	hci_fail "btvirt controllers did not come up in 5 attempts"
}

# True when bluetoothd exposes adapter N (0, 1, ...) as org.bluez.Adapter1.
hci_adapter_on_dbus() {
	gdbus introspect --system --dest org.bluez \
		--object-path "/org/bluez/hci$1" --only-properties 2>/dev/null |
		grep -q 'interface org.bluez.Adapter1'
}

# hci_start_bluetoothd [BLUETOOTHD-ARGS]: starts bluetoothd (debug log in
# bluetoothd.log) and waits until both adapters are on D-Bus. Start it only
# after both controllers exist: an earlier start once made btvirt crash.
hci_start_bluetoothd() {
	hci_spawn bluetoothd "$HCI_BLUETOOTHD" -n -d "$@"
	must_wait 'hci_adapter_on_dbus 0 && hci_adapter_on_dbus 1' 60 \
		"bluetoothd to list hci0 and hci1 on D-Bus"
}

# The usual sequence; scenarios that need something special call the
# pieces themselves.
hci_stack_up() {
	trap hci_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	log "kernel $(uname -r), scenario ${HCI_SCENARIO:-?}"
	hci_modules
	hci_start_btmon
	hci_start_dbus
	hci_start_btvirt
	hci_start_bluetoothd
}

# --- D-Bus helpers (org.bluez through gdbus) -------------------------------

# bluez_get PATH INTERFACE PROPERTY: prints the property as a GVariant text
# (e.g. "true", "'00:AA:01:00:00:00'", "uint16 517").
bluez_get() {
	gdbus call --system --dest org.bluez --object-path "$1" \
		--method org.freedesktop.DBus.Properties.Get "$2" "$3" 2>/dev/null |
		sed -e 's/^(<\(.*\)>,)$/\1/'
}

# bluez_set PATH INTERFACE PROPERTY GVARIANT
bluez_set() {
	run gdbus call --system --dest org.bluez --object-path "$1" \
		--method org.freedesktop.DBus.Properties.Set "$2" "$3" "<$4>"
}

# bluez_call PATH INTERFACE.METHOD [GVARIANT-ARGS...]
bluez_call() {
	_p=$1
	_m=$2
	shift 2
	run gdbus call --system --dest org.bluez --object-path "$_p" \
		--method "$_m" "$@"
}

# Address of adapter N, bare (00:AA:...).
hci_adapter_addr() {
	bluez_get "/org/bluez/hci$1" org.bluez.Adapter1 Address | tr -d "'"
}

# D-Bus object path of device ADDR seen from adapter N.
hci_dev_path() {
	echo "/org/bluez/hci$1/dev_$(echo "$2" | tr : _)"
}

# --- cleanup ----------------------------------------------------------------

# Stops every daemon started with hci_spawn (newest first) so their logs
# are complete, btmon last so it records the teardown. Bounded: anything
# still alive after 3 s is killed. Runs under the scenario's set -e, so
# every command that may fail (kill of a process already gone) is guarded.
hci_cleanup() {
	_rc=$?
	trap - EXIT
	for _p in $HCI_PIDS; do
		[ "$_p" = "${HCI_BTMON_PID:-}" ] && continue
		kill -TERM "$_p" 2>/dev/null || true
	done
	wait_for 'hci_all_gone "${HCI_BTMON_PID:-}"' 3 "daemons to exit" || true
	if [ -n "${HCI_BTMON_PID:-}" ]; then
		kill -INT "$HCI_BTMON_PID" 2>/dev/null || true
	fi
	wait_for 'hci_all_gone' 3 "btmon to exit" || true
	for _p in $HCI_PIDS; do
		kill -KILL "$_p" 2>/dev/null || true
	done
	exit "$_rc"
}

# True when process PID has exited. A dead child that was not reaped yet
# is a zombie, which kill -0 still reports as alive, so read its state.
hci_gone() {
	[ -r "/proc/$1/stat" ] || return 0
	[ "$(sed -e 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null)" = Z ]
}

# hci_all_gone [EXCEPT-PID]
hci_all_gone() {
	for _p in $HCI_PIDS; do
		[ "$_p" = "${1:-}" ] && continue
		hci_gone "$_p" || return 1
	done
	return 0
}
