#!/bin/sh
# SPDX-License-Identifier: MIT
# HCI-SCENARIO: LE Secure Connections pairing (Just Works) and an encrypted link
#
# Runs inside the VM (see vm-run.sh). After the smoke steps up to a
# connection, a default agent is registered (bluetoothctl, auto-accepting)
# and the central calls Device1.Pair. Checks: Paired = true, both ends of
# the link report AUTH ENCRYPT, the stored long term key is an LE Secure
# Connections P-256 key (Authenticated=2), and an ATT read still works on
# the encrypted link. Also reports any crypto self-test failure in the
# guest kernel log (the ecdh-nist-p256 failure seen in earlier runs).
#
# usage (guest): pair.sh [legacy]
#   legacy: switch LE Secure Connections off on both controllers first
#   (btmgmt sc off) and expect a legacy (Authenticated=0) key instead.
set -eu
. "$(dirname "$0")/guest-lib.sh"

hci_stack_up
if dmesg | grep -i 'alg:.*\(fail\|ecdh\)'; then
	log "note: crypto self-test messages above"
fi
hci_agent_start
hci_roles
hci_power_on "$HCI_C" "$HCI_P"
mode=${1:-sc}
if [ "$mode" = legacy ]; then
	for i in "$HCI_C" "$HCI_P"; do
		bt_shell btmgmt --index "$i" sc off
	done
fi
hci_advertise "$HCI_P"
hci_discover
hci_connect
hci_pair

case $mode:$HCI_LTK_TYPE in
sc:2 | sc:3) log "LE Secure Connections key (P-256)" ;;
legacy:0 | legacy:1) log "legacy pairing key" ;;
*) hci_fail "mode $mode but long term key Authenticated='$HCI_LTK_TYPE'" ;;
esac

pnp_chr=$(hci_gatt_db | awk '$2 == "00002a50-0000-1000-8000-00805f9b34fb" { print $1 }' |
	head -n 1)
[ -n "$pnp_chr" ] || hci_fail "PnP ID characteristic (0x2a50) not found"
value=$(bluez_call "$pnp_chr" org.bluez.GattCharacteristic1.ReadValue '{}')
log "PnP ID read over the encrypted link: $value"

hci_disconnect
hci_pass
