#!/bin/sh
# SPDX-License-Identifier: MIT
# HCI-SCENARIO: GATT app on one adapter; AcquireWrite/AcquireNotify from the other
#
# Runs inside the VM (see vm-run.sh). Proves the D-Bus mechanisms bleota's
# data path relies on, with BlueZ's own tools:
#
#   peripheral: a bluetoothctl session registers a GATT application
#     (GattManager1.RegisterApplication) with one service and one
#     characteristic flagged write-without-response,notify; bluetoothctl's
#     app exposes WriteAcquired/NotifyAcquired, so bluetoothd hands it
#     incoming writes through an AcquireWrite socket;
#   central: D-Bus discovery and Connect, then a second bluetoothctl
#     session calls GattCharacteristic1.AcquireWrite on the remote
#     characteristic, writes 4 bytes into the fd, releases it, and calls
#     AcquireNotify.
#
# Checks: AcquireWrite returns an fd and the MTU, the bytes go over the air
# as an ATT Write Command and arrive unchanged in the peripheral app's
# AcquireWrite socket, and AcquireNotify succeeds with the peripheral app
# getting its own AcquireNotify call.
set -eu
. "$(dirname "$0")/guest-lib.sh"

SVC=0000feed-0000-1000-8000-00805f9b34fb
CHR=0000beef-0000-1000-8000-00805f9b34fb

hci_stack_up
hci_roles
hci_power_on "$HCI_C" "$HCI_P"

# Peripheral GATT application (bluetoothctl's gatt menu prompts for the
# service type and the initial value).
hci_btctl_start periph
hci_btctl periph "select $HCI_P_ADDR"
hci_btctl periph "gatt.register-service $SVC"
hci_btctl_expect periph 'Primary (yes/no)' 20
hci_btctl periph yes
hci_btctl periph "gatt.register-characteristic $CHR write-without-response,notify"
hci_btctl_expect periph 'Enter value' 20
hci_btctl periph 0x00
hci_btctl periph gatt.register-application
hci_btctl_expect periph 'Application registered' 30

hci_advertise "$HCI_P"
hci_discover
hci_connect
hci_gatt_db >"$HCI_OUT/gatt-db.txt"
cat "$HCI_OUT/gatt-db.txt"
chr=$(awk -v u="$CHR" '$2 == u { print $1 }' "$HCI_OUT/gatt-db.txt" | head -n 1)
[ -n "$chr" ] || hci_fail "characteristic $CHR not discovered"
log "remote characteristic $chr, flags $(bluez_get "$chr" org.bluez.GattCharacteristic1 Flags)"

# Central: bluetoothctl needs its own "connect" to pick the device as its
# default (the link already exists, so this returns at once).
hci_btctl_start central
hci_btctl central "select $HCI_C_ADDR"
hci_btctl central "connect $HCI_P_ADDR"
hci_btctl_expect central 'Connection successful' 30
hci_btctl central "gatt.select-attribute $chr"
hci_btctl central gatt.acquire-write
hci_btctl_expect central 'AcquireWrite success: fd [0-9]* MTU [0-9]*' 30
log "$(grep -a -o 'AcquireWrite success: fd [0-9]* MTU [0-9]*' "$HCI_OUT/btctl-central.log")"
hci_btctl central 'gatt.write "0xb1 0xe0 0x7a 0x01"'
hci_btctl_expect central 'Attempting to write fd' 20
hci_btctl_expect periph 'AcquireWrite: .* link LE' 30
hci_btctl_expect periph 'b1 e0 7a 01' 30
grep -a -q 'ATT: Write Command (0x52)' "$HCI_OUT/btmon.log" ||
	hci_fail "no ATT Write Command in the btmon trace"
log "4 bytes arrived in the peripheral app's AcquireWrite socket (ATT Write Command)"
hci_btctl central gatt.release-write
hci_btctl_expect central 'WriteAcquired: no' 20

hci_btctl central gatt.acquire-notify
hci_btctl_expect central 'AcquireNotify success: fd [0-9]* MTU [0-9]*' 30
hci_btctl_expect periph 'AcquireNotify: .* link LE' 30
log "$(grep -a -o 'AcquireNotify success: fd [0-9]* MTU [0-9]*' "$HCI_OUT/btctl-central.log")"
hci_btctl central gatt.release-notify

hci_disconnect
hci_pass
