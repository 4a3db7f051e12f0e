#!/bin/sh
# SPDX-License-Identifier: MIT
# HCI-SCENARIO: bleota through bluetoothd: scan, push (AcquireWrite), reboot + confirm, resume, --no-acquire (WriteValue/StartNotify), a delta push, encrypted link
#
# Runs inside the VM (see vm-run.sh): the real kernel Bluetooth stack, two
# btvirt LE controllers and one bluetoothd. bleota-peripheral serves a
# simulated device on the peripheral controller as a GATT application;
# bleota on the central controller:
#
#   1. bleota scan finds it (discovery filtered on the bleota service);
#   2. bleota push --confirm moves a 256 KiB image through AcquireWrite /
#      AcquireNotify, the device reboots into it (PENDING_VERIFY) and the
#      push confirms it (VALID);
#   3. a push killed (SIGKILL) at about a third resumes in a new push;
#   4. bleota push --no-acquire completes through WriteValue / StartNotify
#      (and -v says so: the option was once silently ignored);
#   5. with the default encrypted characteristics: a push before pairing is
#      either refused with advice to pair, or bluetoothd pairs on demand
#      (Just Works); either way a push completes over the encrypted link;
#   6. info, status, rollback and reboot over BlueZ;
#   7. a delta: v6 is v2 with another version string; push --base v2.bin
#      sends a patch of a few hundred bytes, the device rebuilds v6 from
#      its running v2, boots and confirms it; then a compressed push: v7
#      (data that repeats) without a base goes as a heatshrink stream of
#      under half its size, and the device boots and confirms it.
#
# Prints the throughput of each path. Exit status 0 = PASS.
set -eu
. "$(dirname "$0")/guest-lib.sh"

W=/tmp/bleota
hci_bleota_build

# push LABEL ARGS...: bleota push --json, log in $HCI_OUT/LABEL.json
push() {
	_label=$1
	shift
	log "+ bleota push $*"
	timeout -k 2 300 "$B/bleota" push --json --adapter "hci$HCI_C" "$@" \
		>"$HCI_OUT/$_label.json" 2>"$HCI_OUT/$_label.err"
}

start_device() {
	hci_spawn periph "$B/bleota-peripheral" --flash "$W/dev.flash" \
		--adapter "hci$HCI_P" --name bleota-vm -v "$@"
	PERIPH_PID=$HCI_LAST_PID
	must_wait 'grep -q "advertising as" "$HCI_OUT/periph.log"' 30 \
		"bleota-peripheral registered and advertising"
}

stop_device() {
	kill -TERM "$PERIPH_PID"
	must_wait "! kill -0 $PERIPH_PID" 20 "bleota-peripheral to stop"
}

# One ATT bearer, no EATT: most OTA targets (ESP32 among them) have no
# EATT, and over EATT's credit-based channels bluetoothd 5.66 returns
# credits one at a time, which paces everything (docs/testing-hci.md).
mkdir -p "$W"
printf '[GATT]\nChannels=1\n' >"$W/main.conf"
HCI_BLUETOOTHD_ARGS="-f $W/main.conf"
hci_stack_up
hci_roles
hci_power_on "$HCI_C" "$HCI_P"

run "$B/tests/tools/mkimage" --project blinky --version 1.0.0 \
	--segments drom:30000,irom:60000,dram:4096 "$W/v1.bin"
# v4 goes through --no-acquire, the slowest path: a smaller image keeps
# the scenario inside the VM's time limit (datapath.sh compares speeds)
for v in 2 3 4 5; do
	irom=190000
	[ $v = 4 ] && irom=40000
	run "$B/tests/tools/mkimage" --project blinky --version "$v.0.0" \
		--seed "$v" --segments "drom:60000,irom:$irom,dram:4096" \
		"$W/v$v.bin"
done
# v6: v2 (seed 2) with only the version string changed, for the delta
run "$B/tests/tools/mkimage" --project blinky --version 6.0.0 --seed 2 \
	--segments "drom:60000,irom:190000,dram:4096" "$W/v6.bin"
size=$(wc -c <"$W/v2.bin")
size4=$(wc -c <"$W/v4.bin")
size6=$(wc -c <"$W/v6.bin")
# v7: compressible (its data repeats every 200 bytes), for the compressed push
run "$B/tests/tools/mkimage" --project blinky --version 7.0.0 --repeat 200 \
	--segments "drom:60000,irom:190000,dram:4096" "$W/v7.bin"
size7=$(wc -c <"$W/v7.bin")
run "$B/bleota" flash create "$W/dev.flash" --size 4M --layout two-ota \
	--app "$W/v1.bin"

# --- insecure device: the data paths ------------------------------------
start_device --insecure

log "1. scan"
run "$B/bleota" scan --adapter "hci$HCI_C" --timeout 8 >"$HCI_OUT/scan.txt"
cat "$HCI_OUT/scan.txt"
grep -qi "^$HCI_P_ADDR .*bleota-vm" "$HCI_OUT/scan.txt" ||
	hci_fail "bleota scan did not list $HCI_P_ADDR (bleota-vm)"

log "2. push --confirm through AcquireWrite"
push acquire --confirm "$HCI_P_ADDR" "$W/v2.bin" ||
	hci_fail "push through AcquireWrite failed: $(cat "$HCI_OUT/acquire.err")"
grep -q '"event":"verified"' "$HCI_OUT/acquire.json" || hci_fail "not verified"
grep -q '"event":"booted".*"state":"PENDING_VERIFY"' "$HCI_OUT/acquire.json" ||
	hci_fail "the device did not boot v2 PENDING_VERIFY"
grep -q '"event":"confirmed".*"state":"VALID"' "$HCI_OUT/acquire.json" ||
	hci_fail "v2 not confirmed"
grep -q 'acquired by bluetoothd' "$HCI_OUT/periph.log" ||
	hci_fail "bluetoothd never used AcquireWrite/AcquireNotify"
t_acq=$(bleota_done_field "$HCI_OUT/acquire.json" seconds)
log "AcquireWrite path: $size bytes in ${t_acq}s = $(bleota_kibps "$size" "$t_acq") KiB/s"

log "3. a push killed at a third resumes"
log "+ bleota push --json $HCI_P_ADDR v3.bin (to be killed)"
"$B/bleota" push --json --no-commit --adapter "hci$HCI_C" "$HCI_P_ADDR" \
	"$W/v3.bin" >"$HCI_OUT/killed.json" 2>"$HCI_OUT/killed.err" &
kpid=$!
third=$((size / 3))
must_wait "sed -n 's/.*\"event\":\"progress\",\"bytes\":\([0-9]*\).*/\1/p' \
	\"$HCI_OUT/killed.json\" | awk -v t=$third '\$1 >= t { f = 1 } END { exit !f }'" \
	120 "a third of v3 acknowledged"
kill -KILL $kpid
wait $kpid 2>/dev/null || true
must_wait 'grep -q "client disconnected\|unsubscribed\|disconnected" "$HCI_OUT/periph.log"' \
	20 "the device noticing the killed client"
push resume --no-commit "$HCI_P_ADDR" "$W/v3.bin" ||
	hci_fail "resumed push failed: $(cat "$HCI_OUT/resume.err")"
grep -q '"event":"resumed"' "$HCI_OUT/resume.json" ||
	hci_fail "the second push did not resume"
held=$(sed -n 's/.*"event":"resumed","held":\([0-9]*\).*/\1/p' \
	"$HCI_OUT/resume.json")
log "resumed with $held of $size bytes already on the device"
[ "$held" -ge $((third - 40000)) ] || hci_fail "resumed from only $held bytes"

log "4. push through WriteValue / StartNotify"
push writevalue --no-acquire -v --force "$HCI_P_ADDR" "$W/v4.bin" ||
	hci_fail "push through WriteValue failed: $(cat "$HCI_OUT/writevalue.err")"
grep -q "data through WriteValue" "$HCI_OUT/writevalue.err" &&
	grep -q "notifications through StartNotify" "$HCI_OUT/writevalue.err" ||
	hci_fail "push --no-acquire did not use WriteValue and StartNotify"
t_wv=$(bleota_done_field "$HCI_OUT/writevalue.json" seconds)
log "WriteValue path: $size4 bytes in ${t_wv}s = $(bleota_kibps "$size4" "$t_wv") KiB/s"

log "6. info, status, rollback, reboot over BlueZ"
run "$B/bleota" info --adapter "hci$HCI_C" "$HCI_P_ADDR" >"$HCI_OUT/info.txt"
grep -q "running:.*blinky 2.0.0 (ota_1)" "$HCI_OUT/info.txt" ||
	hci_fail "info: $(cat "$HCI_OUT/info.txt")"
run "$B/bleota" reboot --adapter "hci$HCI_C" "$HCI_P_ADDR"
must_wait 'grep -q "running ota_0: blinky 4.0.0, state PENDING_VERIFY" "$HCI_OUT/periph.log"' \
	20 "the device running v4 after the reboot"
run "$B/bleota" rollback --adapter "hci$HCI_C" "$HCI_P_ADDR"
run "$B/bleota" reboot --adapter "hci$HCI_C" "$HCI_P_ADDR"
must_wait 'grep -c "running ota_1: blinky 2.0.0" "$HCI_OUT/periph.log" | grep -q "^2$"' \
	20 "the rollback to v2"
run "$B/bleota" status --adapter "hci$HCI_C" "$HCI_P_ADDR" >"$HCI_OUT/status.txt"
grep -q "running:.*ota_1 2.0.0, VALID" "$HCI_OUT/status.txt" ||
	hci_fail "status after rollback: $(cat "$HCI_OUT/status.txt")"

log "7. a delta push: v6 against the running v2"
push delta --confirm --no-image-cache --base "$W/v2.bin" "$HCI_P_ADDR" \
	"$W/v6.bin" || hci_fail "delta push failed: $(cat "$HCI_OUT/delta.err")"
grep -q '"event":"plan","encoding":"delta"' "$HCI_OUT/delta.json" ||
	hci_fail "push did not send a delta: $(grep '"plan"' "$HCI_OUT/delta.json")"
grep -q '"event":"confirmed".*"state":"VALID"' "$HCI_OUT/delta.json" ||
	hci_fail "v6 not confirmed"
air=$(bleota_done_field "$HCI_OUT/delta.json" air_bytes)
[ "$air" -lt $((size6 / 20)) ] || hci_fail "the delta sent $air bytes"
t_delta=$(bleota_done_field "$HCI_OUT/delta.json" seconds)
log "delta path: $air bytes on the air for a $size6-byte image in" \
	"${t_delta}s = $(bleota_kibps "$size6" "$t_delta") KiB/s effective"

log "7b. a compressed push: v7 with no base"
push compressed --confirm --no-image-cache "$HCI_P_ADDR" "$W/v7.bin" ||
	hci_fail "compressed push failed: $(cat "$HCI_OUT/compressed.err")"
grep -q '"event":"plan","encoding":"compressed"' "$HCI_OUT/compressed.json" ||
	hci_fail "push did not compress: $(grep '"plan"' "$HCI_OUT/compressed.json")"
grep -q '"event":"confirmed".*"state":"VALID"' "$HCI_OUT/compressed.json" ||
	hci_fail "v7 not confirmed"
airz=$(bleota_done_field "$HCI_OUT/compressed.json" air_bytes)
[ "$airz" -lt $((size7 / 2)) ] || hci_fail "the compressed push sent $airz bytes"
t_z=$(bleota_done_field "$HCI_OUT/compressed.json" seconds)
log "compressed path: $airz bytes on the air for a $size7-byte image in" \
	"${t_z}s = $(bleota_kibps "$size7" "$t_z") KiB/s effective"
stop_device

# --- encrypted device (the default) ---------------------------------------
log "5. encrypted characteristics (the default)"
start_device
hci_agent_start
if push unpaired --no-commit --force "$HCI_P_ADDR" "$W/v5.bin"; then
	# BlueZ raised the security itself (Just Works pairing on the
	# Insufficient Encryption error): then the link must be paired
	log "push succeeded: bluetoothd paired on demand"
	must_wait "bluez_prop_is $HCI_DEV org.bluez.Device1 Paired true" 5 \
		"Paired = true after the on-demand pairing"
	cp "$HCI_OUT/unpaired.json" "$HCI_OUT/paired.json"
else
	cat "$HCI_OUT/unpaired.json" "$HCI_OUT/unpaired.err"
	grep -qi "pair" "$HCI_OUT/unpaired.json" "$HCI_OUT/unpaired.err" ||
		hci_fail "the refusal does not say to pair"
	bluez_call "$HCI_DEV" org.bluez.Device1.Connect >/dev/null 2>&1 || true
	must_wait "bluez_prop_is $HCI_DEV org.bluez.Device1 Connected true" 20 \
		"reconnected for pairing"
	hci_pair
	push paired --no-commit --force "$HCI_P_ADDR" "$W/v5.bin" ||
		hci_fail "push over the encrypted link failed: $(cat "$HCI_OUT/paired.err")"
fi
hcitool con | tee "$HCI_OUT/hcitool-con-enc.txt" || true
t_enc=$(bleota_done_field "$HCI_OUT/paired.json" seconds)
log "encrypted AcquireWrite path: $size bytes in ${t_enc}s = $(bleota_kibps "$size" "$t_enc") KiB/s"
stop_device

log "throughput: AcquireWrite $(bleota_kibps "$size" "$t_acq") KiB/s," \
	"encrypted $(bleota_kibps "$size" "$t_enc") KiB/s ($size-byte image)," \
	"WriteValue/StartNotify $(bleota_kibps "$size4" "$t_wv") KiB/s" \
	"($size4-byte image), delta $(bleota_kibps "$size6" "$t_delta") KiB/s" \
	"effective ($air bytes on the air), compressed" \
	"$(bleota_kibps "$size7" "$t_z") KiB/s effective ($airz bytes)"
hci_pass
