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

# bluetoothctl acts on its "default" controller, so let it choose the
# central and give the other adapter the peripheral role.
bt_shell bluetoothctl list >"$HCI_OUT/bluetoothctl-list.txt"
cat "$HCI_OUT/bluetoothctl-list.txt"
[ "$(grep -c '^Controller ' "$HCI_OUT/bluetoothctl-list.txt")" = 2 ] ||
	hci_fail "bluetoothctl does not list two controllers"
central_addr=$(sed -n 's/^Controller \([0-9A-F:]*\) .*\[default\].*/\1/p' \
	"$HCI_OUT/bluetoothctl-list.txt")
a0=$(hci_adapter_addr 0)
a1=$(hci_adapter_addr 1)
case $central_addr in
"$a0") c=0 p=1 periph_addr=$a1 ;;
"$a1") c=1 p=0 periph_addr=$a0 ;;
*) hci_fail "no default controller in bluetoothctl list" ;;
esac
log "central hci$c ($central_addr), peripheral hci$p ($periph_addr)"

for i in $c $p; do
	bluez_set "/org/bluez/hci$i" org.bluez.Adapter1 Powered true
	must_wait "[ \"\$(bluez_get /org/bluez/hci$i org.bluez.Adapter1 Powered)\" = true ]" \
		20 "hci$i powered"
done

# Advertising: bluetoothd exposes LE advertising only through
# RegisterAdvertisement (which needs an exported D-Bus object), so use the
# kernel's own advertising (mgmt Set Advertising) via btmgmt.
bluez_set "/org/bluez/hci$p" org.bluez.Adapter1 Discoverable true
bt_shell btmgmt --index "$p" connectable on
bt_shell btmgmt --index "$p" advertising on
bt_shell btmgmt --index "$p" info | tee "$HCI_OUT/peripheral-info.txt"
grep -q 'current settings:.* advertising' "$HCI_OUT/peripheral-info.txt" ||
	hci_fail "hci$p is not advertising"
periph_name=$(bluez_get "/org/bluez/hci$p" org.bluez.Adapter1 Name |
	tr -d "'")

# StartDiscovery lasts only while its D-Bus client stays connected, so
# keep bluetoothctl running in the background while we wait for Device1.
dev=$(hci_dev_path "$c" "$periph_addr")
log "discovering $periph_addr from hci$c"
HCI_RUN_TIMEOUT=60 bt_shell bluetoothctl --timeout 45 scan on \
	>"$HCI_OUT/bluetoothctl-scan.txt" 2>&1 &
scan_pid=$!
must_wait "bluez_get $dev org.bluez.Device1 Address | grep -q $periph_addr" 40 \
	"Device1 $dev from LE discovery"
log "found: $(bluez_get "$dev" org.bluez.Device1 Name) ($(bluez_get "$dev" org.bluez.Device1 AddressType))"
kill "$scan_pid" 2>/dev/null || true
wait "$scan_pid" 2>/dev/null || true

bluez_call "$dev" org.bluez.Device1.Connect
must_wait "[ \"\$(bluez_get $dev org.bluez.Device1 Connected)\" = true ]" 30 \
	"Connected = true"
must_wait "[ \"\$(bluez_get $dev org.bluez.Device1 ServicesResolved)\" = true ]" 30 \
	"ServicesResolved = true"

# The peer's GATT database as bluetoothd's client discovered it: one line
# per object, "PATH UUID".
gdbus introspect --system --dest org.bluez --object-path "$dev" \
	--recurse --only-properties |
	awk '/^ *node /{ node = $2 }
	     /readonly s UUID = /{ gsub(/[\047;]/, "", $5); print node, $5 }' \
	>"$HCI_OUT/gatt-db.txt"
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

bluez_call "$dev" org.bluez.Device1.Disconnect
must_wait "[ \"\$(bluez_get $dev org.bluez.Device1 Connected)\" = false ]" 20 \
	"Connected = false"

hci_pass
