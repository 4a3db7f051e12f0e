#!/bin/sh
# SPDX-License-Identifier: MIT
# HCI-SCENARIO: BlueZ tools only: adapters, LE advertise/discover, connect, GATT
#
# HCI-emulation smoke scenario (runs inside the VM, see vm-run.sh): proves
# the kernel Bluetooth stack, btvirt and bluetoothd work together, using
# only BlueZ's own tools and D-Bus calls on org.bluez:
#
#   1. bluetoothd lists both virtual controllers (D-Bus and bluetoothctl);
#   2. both are powered on over D-Bus;
#   3. the peripheral adapter advertises, connectable and discoverable;
#   4. the central adapter finds it with an LE discovery (bluetoothctl
#      scan = Adapter1.StartDiscovery), and bluetoothd creates Device1;
#   5. Device1.Connect, ServicesResolved, the peer's GATT and Device
#      Information services appear as GattService1 objects, Device1.Name
#      is the peer's name, and a GattCharacteristic1.ReadValue (PnP ID)
#      returns its 7 bytes over ATT;
#   6. Device1.Disconnect.
#
# Exit status 0 = PASS.
set -eu
. "$(dirname "$0")/guest-lib.sh"

hci_stack_up
hci_roles
hci_power_on "$HCI_C" "$HCI_P"
hci_advertise "$HCI_P"
periph_name=$(bluez_get "/org/bluez/hci$HCI_P" org.bluez.Adapter1 Name |
	tr -d "'")
hci_discover
dev=$HCI_DEV
hci_connect

hci_gatt_db >"$HCI_OUT/gatt-db.txt"
cat "$HCI_OUT/gatt-db.txt"
grep -q ' 00001801-0000-1000-8000-00805f9b34fb$' "$HCI_OUT/gatt-db.txt" ||
	hci_fail "GATT service (0x1801) not discovered"
grep -q ' 0000180a-0000-1000-8000-00805f9b34fb$' "$HCI_OUT/gatt-db.txt" ||
	hci_fail "Device Information service (0x180a) not discovered"

# bluetoothd keeps the GAP service (0x1800) to itself: it reads the peer's
# Device Name over ATT and shows it as Device1.Name.
name=$(bluez_get "$dev" org.bluez.Device1 Name | tr -d "'")
[ "$name" = "$periph_name" ] ||
	hci_fail "Device1.Name is '$name', expected '$periph_name'"

# One ATT read through the D-Bus client: PnP ID (0x2a50) is 7 bytes.
pnp_chr=$(awk '$2 == "00002a50-0000-1000-8000-00805f9b34fb" { print $1 }' \
	"$HCI_OUT/gatt-db.txt" | head -n 1)
[ -n "$pnp_chr" ] || hci_fail "PnP ID characteristic (0x2a50) not found"
value=$(bluez_call "$pnp_chr" org.bluez.GattCharacteristic1.ReadValue '{}')
log "PnP ID read over ATT: $value"
[ "$(echo "$value" | grep -o '0x[0-9a-f][0-9a-f]' | wc -l)" = 7 ] ||
	hci_fail "PnP ID read returned '$value', expected 7 bytes"

hci_disconnect

hci_pass
