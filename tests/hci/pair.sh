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
# HCI_PAIR_EXPECT_SC=0 accepts a legacy key (for experiments with
# "btmgmt sc off").
set -eu
. "$(dirname "$0")/guest-lib.sh"

hci_stack_up
if dmesg | grep -i 'alg:.*\(fail\|ecdh\)'; then
	log "note: crypto self-test messages above"
fi
hci_agent_start
hci_roles
hci_power_on "$HCI_C" "$HCI_P"
hci_advertise "$HCI_P"
hci_discover
hci_connect
hci_pair

case $HCI_LTK_TYPE in
2 | 3) log "LE Secure Connections key (P-256)" ;;
0 | 1)
	[ "${HCI_PAIR_EXPECT_SC:-1}" = 0 ] ||
		hci_fail "legacy pairing key (Authenticated=$HCI_LTK_TYPE), expected LE SC"
	log "legacy pairing key" ;;
*) hci_fail "no long term key stored (Authenticated='$HCI_LTK_TYPE')" ;;
esac

pnp_chr=$(hci_gatt_db | awk '$2 == "00002a50-0000-1000-8000-00805f9b34fb" { print $1 }' |
	head -n 1)
[ -n "$pnp_chr" ] || hci_fail "PnP ID characteristic (0x2a50) not found"
value=$(bluez_call "$pnp_chr" org.bluez.GattCharacteristic1.ReadValue '{}')
log "PnP ID read over the encrypted link: $value"

hci_disconnect
hci_pass
