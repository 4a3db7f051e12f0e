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
# How many btvirt controllers hci_stack_up creates (hci0 .. hciN-1); a
# scenario sets it before hci_stack_up (serve.sh uses 3).
HCI_CONTROLLERS=${HCI_CONTROLLERS:-2}
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

# Sets HCI_T to the time since boot in hundredths of a second, without
# forking (every process start is slow in the guest).
hci_tick() {
	read -r _up _idle </proc/uptime
	HCI_T=${_up%.*}${_up#*.}
	while :; do
		case $HCI_T in
		0?*) HCI_T=${HCI_T#0} ;;
		*) break ;;
		esac
	done
}

# wait_for CONDITION TIMEOUT [DESCRIPTION]
#   Evaluates the shell command CONDITION every 0.2 s until it succeeds
#   (returns 0) or TIMEOUT (whole) seconds have passed (returns 1, logs
#   what was awaited). CONDITION's output is discarded.
wait_for() {
	_cond=$1
	_desc=${3:-$1}
	hci_tick
	_end=$((HCI_T + $2 * 100))
	while :; do
		if eval "$_cond" >/dev/null 2>&1; then
			return 0
		fi
		hci_tick
		if [ "$HCI_T" -ge "$_end" ]; then
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

# hci_spawn NAME COMMAND...: starts a background daemon, logging to
# $HCI_OUT/NAME.log; its pid goes to HCI_LAST_PID and to the list that
# hci_cleanup stops.
hci_spawn() {
	_name=$1
	shift
	log "starting $_name: $*"
	"$@" </dev/null >>"$HCI_OUT/$_name.log" 2>&1 &
	HCI_LAST_PID=$!
	HCI_PIDS="$HCI_LAST_PID $HCI_PIDS"
}

hci_modprobe() {
	modprobe -d "$HCI_KDIR" -S "$HCI_KVER" -a "$@"
}

# Loads the crypto modules, then the Bluetooth stack.
#  - btvirt's emulated controllers open AF_ALG sockets (hash: cmac(aes),
#    skcipher: ecb(aes)); the recipe found that loading these on demand
#    could outlast the kernel's 2 s HCI_Reset timeout.
#  - bluetooth.ko needs ecdh-nist-p256 for LE Secure Connections. Its
#    self-test generates a key with the default RNG ("stdrng": drbg, which
#    in turn needs ctr(aes), hmac(sha*), jitterentropy ...), all loaded on
#    demand through the kernel's module autoload. That is why guest-init.sh
#    points /proc/sys/kernel/modprobe at build/hci/modprobe-helper: with a
#    broken autoload the self-test fails ("ecdh-nist-p256: test failed on
#    vector 2, err=-14"), every controller logs "Unable to create ECDH
#    crypto context", the kernel registers no SMP at all, and Device1.Pair
#    then "succeeds" at once with no pairing and no encryption.
#    hci_check_smp warns about it.
hci_modules() {
	[ -x "$(cat /proc/sys/kernel/modprobe)" ] ||
		hci_fail "kernel module autoload helper missing: $(cat /proc/sys/kernel/modprobe)"
	hci_modprobe virtio_rng algif_hash algif_skcipher aes_generic ecb cmac \
		ccm ecdh_generic bluetooth hci_vhci ||
		hci_fail "modprobe of the crypto/Bluetooth modules failed"
	[ -c /dev/vhci ] || hci_fail "/dev/vhci missing after loading hci_vhci"
}

# Warns (once the controllers exist) when the kernel could not set up LE
# Secure Connections; scenarios that pair fail later on the link check.
hci_check_smp() {
	if dmesg | grep -q -e 'Unable to create ECDH crypto context' \
		-e 'self-tests for ecdh.* failed'; then
		log "WARNING: kernel ECDH unavailable: no LE pairing/encryption:"
		dmesg | grep -e ECDH -e 'alg:.*ecdh' | head -n 4
		return 1
	fi
	return 0
}

# btmon captures every HCI packet (all controllers, mgmt too): decoded in
# btmon.log, raw in btmon.snoop. (Decoding the snoop file afterwards with
# Debian's btmon -r crashed on these captures, so keep the live text.)
hci_start_btmon() {
	if command -v btmon >/dev/null 2>&1; then
		# Line-buffered, so a scenario can grep btmon.log while it runs
		# and the log is complete even if the VM is killed.
		hci_spawn btmon stdbuf -oL btmon -w "$HCI_OUT/btmon.snoop"
		HCI_BTMON_PID=$HCI_LAST_PID
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

# HCI_BTVIRT_PRELOAD=build/hci/vhci-handles.so runs btvirt with that shim:
# needed when one controller holds several LE connections at once (5.66's
# emulator then gives the two ends of a link different handles; see
# tests/hci/vhci-handles.c).
#
# hci_start_btvirt [BTVIRT-ARGS]: default $HCI_CONTROLLERS LE-only
# controllers (hci0 = 00:AA:01:00:00:00, hci1 = 00:AA:01:01:00:01,
# hci2 = 00:AA:01:02:00:02, ...).
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
	[ $# -gt 0 ] || set -- "-l$HCI_CONTROLLERS" -L
	_n=$(echo " $* " | sed -n 's/.* -l\([0-9][0-9]*\) .*/\1/p')
	_n=${_n:-1}
	for _try in 1 2 3 4 5; do
		_fails=$(hci_reset_failures)
		if [ -n "${HCI_BTVIRT_PRELOAD:-}" ]; then
			hci_spawn btvirt env LD_PRELOAD="$HCI_BTVIRT_PRELOAD" \
				btvirt "$@"
		else
			hci_spawn btvirt btvirt "$@"
		fi
		_btvirt=$HCI_LAST_PID
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
		kill -TERM "$_btvirt"
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

# True when bluetoothd exposes all $HCI_CONTROLLERS adapters.
hci_adapters_on_dbus() {
	_i=0
	while [ "$_i" -lt "$HCI_CONTROLLERS" ]; do
		hci_adapter_on_dbus "$_i" || return 1
		_i=$((_i + 1))
	done
}

# hci_start_bluetoothd [BLUETOOTHD-ARGS]: starts bluetoothd (debug log in
# bluetoothd.log) and waits until every adapter is on D-Bus. Start it only
# after all controllers exist: an earlier start once made btvirt crash.
# shellcheck disable=SC2120 # scenarios may pass bluetoothd options
hci_start_bluetoothd() {
	hci_spawn bluetoothd "$HCI_BLUETOOTHD" -n -d "$@"
	must_wait hci_adapters_on_dbus 60 \
		"bluetoothd to list hci0..hci$((HCI_CONTROLLERS - 1)) on D-Bus"
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
	hci_check_smp || true
	# shellcheck disable=SC2086 # word splitting wanted: options
	hci_start_bluetoothd ${HCI_BLUETOOTHD_ARGS:-}
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

# bluez_prop_is PATH INTERFACE PROPERTY VALUE: true when the property's
# GVariant text equals VALUE (for wait_for conditions).
bluez_prop_is() {
	[ "$(bluez_get "$1" "$2" "$3")" = "$4" ]
}

# --- LE building blocks -----------------------------------------------------

# hci_roles: picks the central and the peripheral adapter and sets
#   HCI_C, HCI_C_ADDR    central adapter index and address
#   HCI_P, HCI_P_ADDR    peripheral adapter index and address
#   HCI_DEV              D-Bus path of the peripheral as seen by the central
# bluetoothctl's commands act on its "default" controller, so that one
# becomes the central.
hci_roles() {
	bt_shell bluetoothctl list >"$HCI_OUT/bluetoothctl-list.txt"
	cat "$HCI_OUT/bluetoothctl-list.txt"
	[ "$(grep -c '^Controller ' "$HCI_OUT/bluetoothctl-list.txt")" = 2 ] ||
		hci_fail "bluetoothctl does not list two controllers"
	_def=$(sed -n 's/^Controller \([0-9A-F:]*\) .*\[default\].*/\1/p' \
		"$HCI_OUT/bluetoothctl-list.txt")
	_a0=$(hci_adapter_addr 0)
	_a1=$(hci_adapter_addr 1)
	case $_def in
	"$_a0") HCI_C=0 HCI_P=1 HCI_C_ADDR=$_a0 HCI_P_ADDR=$_a1 ;;
	"$_a1") HCI_C=1 HCI_P=0 HCI_C_ADDR=$_a1 HCI_P_ADDR=$_a0 ;;
	*) hci_fail "no default controller in bluetoothctl list" ;;
	esac
	HCI_DEV=$(hci_dev_path "$HCI_C" "$HCI_P_ADDR")
	log "central hci$HCI_C ($HCI_C_ADDR), peripheral hci$HCI_P ($HCI_P_ADDR)"
}

# hci_power_on N...: Adapter1.Powered = true, waited for.
hci_power_on() {
	for _i in "$@"; do
		bluez_set "/org/bluez/hci$_i" org.bluez.Adapter1 Powered true
		must_wait "bluez_prop_is /org/bluez/hci$_i org.bluez.Adapter1 Powered true" \
			20 "hci$_i powered"
	done
}

# hci_advertise N: adapter N advertises, connectable and discoverable.
# bluetoothd offers LE advertising only through RegisterAdvertisement
# (which needs an exported D-Bus object), so this uses the kernel's own
# advertising (mgmt Set Advertising) through btmgmt. A scenario whose
# peripheral program registers its own advertisement does not need this.
hci_advertise() {
	bluez_set "/org/bluez/hci$1" org.bluez.Adapter1 Discoverable true
	bt_shell btmgmt --index "$1" connectable on
	bt_shell btmgmt --index "$1" advertising on
	bt_shell btmgmt --index "$1" info | tee "$HCI_OUT/hci$1-info.txt"
	grep -q 'current settings:.* advertising' "$HCI_OUT/hci$1-info.txt" ||
		hci_fail "hci$1 is not advertising"
}

# hci_discover [TIMEOUT]: LE discovery on the central (bluetoothctl scan =
# Adapter1.StartDiscovery) until bluetoothd has a Device1 for the
# peripheral. StartDiscovery lasts only while its D-Bus client is
# connected, so bluetoothctl runs in the background meanwhile.
hci_discover() {
	log "discovering $HCI_P_ADDR from hci$HCI_C"
	HCI_RUN_TIMEOUT=$((${1:-40} + 15)) bt_shell bluetoothctl \
		--timeout "$((${1:-40} + 5))" scan on \
		>"$HCI_OUT/bluetoothctl-scan.txt" 2>&1 &
	_scan=$!
	must_wait "bluez_get $HCI_DEV org.bluez.Device1 Address | grep -q $HCI_P_ADDR" \
		"${1:-40}" "Device1 $HCI_DEV from LE discovery"
	log "found $(bluez_get "$HCI_DEV" org.bluez.Device1 AddressType) address, name $(bluez_get "$HCI_DEV" org.bluez.Device1 Name)"
	kill "$_scan" 2>/dev/null || true
	wait "$_scan" 2>/dev/null || true
}

# hci_connect: Device1.Connect from the central, then waits until
# bluetoothd has resolved the peer's GATT services.
hci_connect() {
	bluez_call "$HCI_DEV" org.bluez.Device1.Connect
	must_wait "bluez_prop_is $HCI_DEV org.bluez.Device1 Connected true" 30 \
		"Connected = true"
	must_wait "bluez_prop_is $HCI_DEV org.bluez.Device1 ServicesResolved true" \
		30 "ServicesResolved = true"
}

hci_disconnect() {
	bluez_call "$HCI_DEV" org.bluez.Device1.Disconnect
	must_wait "bluez_prop_is $HCI_DEV org.bluez.Device1 Connected false" 20 \
		"Connected = false"
}

# hci_gatt_db [PATH]: the peer's GATT objects as the central's bluetoothd
# discovered them, one "OBJECT-PATH UUID" line each.
hci_gatt_db() {
	gdbus introspect --system --dest org.bluez --object-path "${1:-$HCI_DEV}" \
		--recurse --only-properties |
		awk '/^ *node /{ node = $2 }
		     /readonly s UUID = /{ gsub(/[\047;]/, "", $5); print node, $5 }'
}

# --- pairing ---------------------------------------------------------------

# --- interactive bluetoothctl sessions ------------------------------------

# hci_btctl_start NAME [BLUETOOTHCTL-ARGS...]: starts an interactive
# bluetoothctl on a pseudo-terminal whose input is the FIFO
# /run/btctl-NAME.in (held open read-write on a spare fd, so it never sees
# EOF); its transcript goes to $HCI_OUT/btctl-NAME.log. Waits until it is
# connected to bluetoothd. At most three sessions (fds 7, 8, 9).
HCI_BTCTL_FD=7
hci_btctl_start() {
	_name=$1
	shift
	[ "$HCI_BTCTL_FD" -le 9 ] || hci_fail "too many bluetoothctl sessions"
	mkfifo "/run/btctl-$_name.in"
	eval "exec $HCI_BTCTL_FD<>/run/btctl-$_name.in"
	HCI_BTCTL_FD=$((HCI_BTCTL_FD + 1))
	log "starting bluetoothctl session $_name: bluetoothctl $*"
	script -qfc "bluetoothctl $*" /dev/null \
		<"/run/btctl-$_name.in" >"$HCI_OUT/btctl-$_name.log" 2>&1 &
	HCI_PIDS="$! $HCI_PIDS"
	# The prompt reads "[bluetooth]#" once bluetoothd is reached.
	must_wait "grep -q '\\[bluetooth\\]' $HCI_OUT/btctl-$_name.log" 30 \
		"bluetoothctl session $_name connected to bluetoothd"
}

# hci_btctl NAME LINE: types LINE into session NAME.
hci_btctl() {
	log "btctl $1> $2"
	printf '%s\n' "$2" >"/run/btctl-$1.in"
}

# hci_btctl_expect NAME REGEX TIMEOUT: waits until session NAME's
# transcript matches the grep REGEX.
hci_btctl_expect() {
	must_wait "grep -q -e '$2' $HCI_OUT/btctl-$1.log" "$3" \
		"bluetoothctl $1: $2"
}

# --- pairing ---------------------------------------------------------------

# hci_agent_start: registers a default pairing agent that accepts every
# request. Linux >= 5.19 asks user space to confirm even Just Works
# pairing (mgmt User Confirmation Request, hint 1), on both sides, and
# bluetoothd refuses it without an agent ("No agent available for request
# type 2"); with an agent, the initiating side is auto-accepted and the
# responding side's agent gets RequestAuthorization. The agent is an
# interactive bluetoothctl session ("agent"); a watcher answers "yes" to
# each "(yes/no)" prompt. Transcript: btctl-agent.log.
hci_agent_start() {
	hci_btctl_start agent --agent NoInputNoOutput
	hci_btctl_expect agent "Agent registered" 20
	hci_btctl agent default-agent
	hci_btctl_expect agent "Default agent request successful" 20
	(
		_done=0
		while :; do
			_n=$(grep -o '(yes/no)' "$HCI_OUT/btctl-agent.log" | wc -l)
			if [ "$_n" -gt "$_done" ]; then
				echo yes >/run/btctl-agent.in
				_done=$((_done + 1))
			fi
			sleep 0.2
		done
	) </dev/null >/dev/null 2>&1 &
	HCI_PIDS="$! $HCI_PIDS"
}

# hci_pair: Device1.Pair from the central (agent needed, see above), then
# checks that the link is encrypted (hcitool con) and prints the stored
# key type (bluetoothd's info file: Authenticated=2 or 3 = LE Secure
# Connections P-256 key, 0 or 1 = legacy).
hci_pair() {
	for _i in "$HCI_C" "$HCI_P"; do
		bluez_set "/org/bluez/hci$_i" org.bluez.Adapter1 Pairable true
	done
	bluez_call "$HCI_DEV" org.bluez.Device1.Pair
	must_wait "bluez_prop_is $HCI_DEV org.bluez.Device1 Paired true" 20 \
		"Paired = true"
	hcitool con | tee "$HCI_OUT/hcitool-con.txt"
	grep -q ENCRYPT "$HCI_OUT/hcitool-con.txt" || hci_fail "link not encrypted"
	# An LE SC key is stored as [PeripheralLongTermKey], a legacy one as
	# [LongTermKey] (plus [PeripheralLongTermKey] for the other role).
	HCI_LTK_TYPE=$(sed -n '/LongTermKey\]$/,/^$/s/^Authenticated=//p' \
		/var/lib/bluetooth/"$HCI_C_ADDR"/"$HCI_P_ADDR"/info | head -n 1)
	log "paired; long term key Authenticated=$HCI_LTK_TYPE"
}

# --- cleanup ----------------------------------------------------------------

# --- bleota ----------------------------------------------------------------

# hci_bleota_build: sets B to the build directory with bleota and
# bleota-peripheral ($BLEOTA_BUILD_DIR under the repository, default
# build), or fails the scenario.
hci_bleota_build() {
	B=$(cd "$(dirname "$0")/../.." && pwd)/${BLEOTA_BUILD_DIR:-build}
	[ -x "$B/bleota" ] && [ -x "$B/bleota-peripheral" ] ||
		hci_fail "bleota binaries missing in $B (run make first)"
}

# bleota_done_field FILE FIELD: FIELD of the last "done" event in a
# `bleota push --json` log.
bleota_done_field() {
	sed -n 's/.*"event":"done".*"'"$2"'":\([0-9.]*\).*/\1/p' "$1" |
		tail -n 1
}

# bleota_kibps BYTES SECONDS: KiB/s with one decimal.
bleota_kibps() {
	awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / 1024 / s }'
}

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
