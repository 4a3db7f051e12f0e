#!/bin/sh
# SPDX-License-Identifier: MIT
# HCI-SCENARIO: bluetoothd restarted under a running bleota-peripheral: it registers again and a push completes; the GAP name follows --name
#
# Runs inside the VM (see vm-run.sh). One bluetoothd serves both virtual
# controllers; bleota-peripheral (insecure) runs on one, bleota on the
# other:
#
#   1. a push completes, and the central's bluetoothd, which has read the
#      peripheral's GAP Device Name over ATT, shows it as Device1.Name:
#      it must be the peripheral's --name (not "BlueZ 5.66");
#   2. bluetoothd is stopped (SIGTERM): the peripheral logs that it went
#      away and keeps running;
#   3. bluetoothd is started again: its adapters appear on D-Bus only after
#      it owns its name, and the peripheral must register its application
#      and advertisement again on the new bluetoothd;
#   4. a push through the new bluetoothd completes.
#
# Exit status 0 = PASS.
set -eu
. "$(dirname "$0")/guest-lib.sh"

W=/tmp/bleota
hci_bleota_build

# push LABEL ARGS...: bleota push --json -v, logs in $HCI_OUT/LABEL.*
push() {
	_label=$1
	shift
	log "+ bleota push $*"
	timeout -k 2 300 "$B/bleota" push --json -v --adapter "hci$HCI_C" "$@" \
		>"$HCI_OUT/$_label.json" 2>"$HCI_OUT/$_label.err" ||
		hci_fail "push ($_label) failed: $(cat "$HCI_OUT/$_label.err")"
	grep -q '"event":"verified"' "$HCI_OUT/$_label.json" ||
		hci_fail "push ($_label): not verified"
}

mkdir -p "$W"
printf '[GATT]\nChannels=1\n' >"$W/main.conf"
HCI_BLUETOOTHD_ARGS="-f $W/main.conf"
hci_stack_up
BTD_PID=$HCI_LAST_PID
hci_roles
hci_power_on "$HCI_C" "$HCI_P"

for v in 1 2 3; do
	run "$B/tests/tools/mkimage" --project blinky --version "$v.0.0" \
		--seed "$v" --segments drom:20000,irom:40000,dram:4096 \
		"$W/v$v.bin"
done
run "$B/bleota" flash create "$W/dev.flash" --size 4M --layout two-ota \
	--app "$W/v1.bin"

hci_spawn periph "$B/bleota-peripheral" --flash "$W/dev.flash" \
	--adapter "hci$HCI_P" --name bleota-vm --insecure -v
PERIPH_PID=$HCI_LAST_PID
must_wait 'grep -q "advertising as" "$HCI_OUT/periph.log"' 30 \
	"bleota-peripheral registered and advertising"

log "1. a push, and the GAP name"
push before --no-commit "$HCI_P_ADDR" "$W/v2.bin"
alias=$(bluez_get "/org/bluez/hci$HCI_P" org.bluez.Adapter1 Alias)
log "peripheral adapter Alias: $alias"
[ "$alias" = "'bleota-vm'" ] || hci_fail "Adapter1.Alias is $alias"
name=$(bluez_get "$HCI_DEV" org.bluez.Device1 Name)
log "central's Device1.Name of the peripheral: $name"
[ "$name" = "'bleota-vm'" ] ||
	hci_fail "the GAP Device Name is $name, not the --name bleota-vm"

log "2. bluetoothd stops"
kill -TERM "$BTD_PID"
must_wait "! kill -0 $BTD_PID" 20 "bluetoothd to exit"
must_wait 'grep -q "bluetoothd went away" "$HCI_OUT/periph.log"' 20 \
	"the peripheral noticing bluetoothd went away"
kill -0 "$PERIPH_PID" || hci_fail "bleota-peripheral exited"

log "3. bluetoothd starts again"
# shellcheck disable=SC2086 # word splitting wanted: options
hci_start_bluetoothd $HCI_BLUETOOTHD_ARGS
must_wait '[ "$(grep -c "advertising as" "$HCI_OUT/periph.log")" -ge 2 ]' 30 \
	"bleota-peripheral registered and advertising on the new bluetoothd"
grep -q "refused the GATT application\|cannot power" "$HCI_OUT/periph.log" &&
	hci_fail "the peripheral logged a failed registration"
hci_power_on "$HCI_C"

log "4. a push through the new bluetoothd"
push after --no-commit "$HCI_P_ADDR" "$W/v3.bin"
hci_pass
