#!/bin/sh
# SPDX-License-Identifier: MIT
# HCI-SCENARIO: bleota's BlueZ data paths compared: WriteValue vs AcquireWrite, AcquireNotify vs StartNotify
#
# Runs inside the VM (see vm-run.sh). One insecure bleota-peripheral; two
# images of the same size are pushed in turn (--no-commit, so each push
# replaces the other image and moves every byte: nothing is resumed)
# through each central data path, the paths taking turns for ROUNDS rounds
# so that a slow moment of the shared build machine does not land on one
# path only. Arguments: ROUNDS and the images' IROM segment size in bytes;
# `make test-hci` runs 1 round of small images (checks only), the figures
# in docs/testing-hci.md come from
# `tests/hci/vm-run.sh tests/hci/datapath.sh 3 190000` (254 KiB images):
#
#   acquire     (the default)  Data: AcquireWrite, notifications: AcquireNotify
#   writevalue  --write-value  Data: WriteValue,   notifications: AcquireNotify
#   noacquire   --no-acquire   Data: WriteValue,   notifications: StartNotify
#
# Each push must complete, and -v must name the path it used (a path
# option that is silently ignored fails here). Prints each push's
# throughput and the median per path; asserts nothing about speed.
# Exit status 0 = PASS.
set -eu
. "$(dirname "$0")/guest-lib.sh"

W=/tmp/bleota
ROUNDS=${1:-1}
IROM=${2:-40000}
hci_bleota_build

mkdir -p "$W"
printf '[GATT]\nChannels=1\n' >"$W/main.conf"
HCI_BLUETOOTHD_ARGS="-f $W/main.conf"
hci_stack_up
hci_roles
hci_power_on "$HCI_C" "$HCI_P"

run "$B/tests/tools/mkimage" --project blinky --version 1.0.0 \
	--segments drom:30000,irom:60000,dram:4096 "$W/v1.bin"
for v in 2 3; do
	run "$B/tests/tools/mkimage" --project blinky --version "$v.0.0" \
		--seed "$v" --segments "drom:60000,irom:$IROM,dram:4096" \
		"$W/v$v.bin"
done
size=$(wc -c <"$W/v2.bin")
[ "$(wc -c <"$W/v3.bin")" = "$size" ] || hci_fail "images differ in size"
run "$B/bleota" flash create "$W/dev.flash" --size 4M --layout two-ota \
	--app "$W/v1.bin"

hci_spawn periph "$B/bleota-peripheral" --flash "$W/dev.flash" \
	--adapter "hci$HCI_P" --name bleota-vm --insecure -v
must_wait 'grep -q "advertising as" "$HCI_OUT/periph.log"' 30 \
	"bleota-peripheral registered and advertising"

# a first, small push connects and caches the GATT database (not
# measured) and leaves v1 in the update slot, so v2 then starts from 0
log "+ warm-up push"
timeout -k 2 300 "$B/bleota" push --json --no-commit --force \
	--adapter "hci$HCI_C" "$HCI_P_ADDR" "$W/v1.bin" \
	>"$HCI_OUT/warmup.json" 2>"$HCI_OUT/warmup.err" ||
	hci_fail "warm-up push failed: $(cat "$HCI_OUT/warmup.err")"

# path LABEL EXPECT OPTIONS...: one push of the image not on the device,
# its rate appended to LABEL.rates
img=2
path() {
	_label=$1 _expect=$2
	shift 2
	log "+ bleota push -v --no-commit $* v$img.bin ($_label)"
	timeout -k 2 300 "$B/bleota" push --json -v --no-commit \
		--adapter "hci$HCI_C" "$@" "$HCI_P_ADDR" "$W/v$img.bin" \
		>"$HCI_OUT/$_label.json" 2>"$HCI_OUT/$_label.err" ||
		hci_fail "push ($_label) failed: $(cat "$HCI_OUT/$_label.err")"
	grep -q "$_expect" "$HCI_OUT/$_label.err" ||
		hci_fail "push ($_label) did not say '$_expect'"
	grep -q '"resumed_from":0,' "$HCI_OUT/$_label.json" ||
		hci_fail "push ($_label) resumed: it did not move the whole image"
	img=$((5 - img))
	_t=$(bleota_done_field "$HCI_OUT/$_label.json" seconds)
	_r=$(bleota_kibps "$size" "$_t")
	log "$_label: $size bytes in ${_t}s = $_r KiB/s"
	echo "$_r" >>"$HCI_OUT/$_label.rates"
}

i=0
while [ $i -lt "$ROUNDS" ]; do
	path acquire "data through AcquireWrite"
	path writevalue "data through WriteValue" --write-value
	path noacquire "data through WriteValue" --no-acquire
	i=$((i + 1))
done
grep -q 'notifications through StartNotify' "$HCI_OUT/noacquire.err" ||
	hci_fail "--no-acquire did not use StartNotify"

median() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
log "median KiB/s over $ROUNDS rounds ($size-byte image):" \
	"acquire $(median "$HCI_OUT/acquire.rates")," \
	"writevalue $(median "$HCI_OUT/writevalue.rates")," \
	"noacquire $(median "$HCI_OUT/noacquire.rates")"
log "acquire:   $(tr '\n' ' ' <"$HCI_OUT/acquire.rates")"
log "writevalue: $(tr '\n' ' ' <"$HCI_OUT/writevalue.rates")"
log "noacquire: $(tr '\n' ' ' <"$HCI_OUT/noacquire.rates")"
hci_pass
