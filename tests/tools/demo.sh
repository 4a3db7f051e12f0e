#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make demo: a simulated ESP32-C3 with a v1 app on a 4 MiB flash (ESP-IDF
# two-OTA partition table), served by bleota-peripheral on a local socket
# with a link throttled to a BLE-like 150 KiB/s; bleota pushes a v2 app,
# reboots the device into it, shows it PENDING_VERIFY, confirms it, shows
# it VALID; then pushes v2.1.0, a small change, which goes as a delta
# against the image the device runs (bleota's image cache, kept under
# BUILD_DIR/demo), and stops the device.
#
# usage: demo.sh BUILD_DIR
# BLEOTA and BLEOTA_PERIPHERAL name the programs to run (default: the ones
# in BUILD_DIR; tests/tools/test-install.sh runs the installed ones).
set -eu

B=${1:-build}
BLEOTA=${BLEOTA:-$B/bleota}
BLEOTA_PERIPHERAL=${BLEOTA_PERIPHERAL:-$B/bleota-peripheral}
D=$B/demo
SOCK=$D/bleota.sock
rm -rf "$D"
mkdir -p "$D"
# the images push remembers for deltas: the demo's own, not ~/.cache
export BLEOTA_IMAGE_CACHE="$D/image-cache"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

step "two app images (ESP-IDF format, made by the test image builder)"
run "$B/tests/tools/mkimage" --project blinky --version 1.0.0 \
	--segments drom:60000,irom:150000,dram:4096 "$D/blinky-v1.bin"
run "$B/tests/tools/mkimage" --project blinky --version 2.0.0 \
	--segments drom:90000,irom:480000,dram:4096 "$D/blinky-v2.bin"
# 2.1.0: 2.0.0 with another version string, as a one-line change would be
run "$B/tests/tools/mkimage" --project blinky --version 2.1.0 \
	--segments drom:90000,irom:480000,dram:4096 "$D/blinky-v2.1.bin"
run "$BLEOTA" image info "$D/blinky-v2.bin"

step "a simulated device flash: two-OTA table, v1 in ota_0"
run "$BLEOTA" flash create "$D/device.flash" --size 4M --layout two-ota \
	--app "$D/blinky-v1.bin"

step "the device: bleota-peripheral on unix:$SOCK (150 KiB/s link)"
"$BLEOTA_PERIPHERAL" --flash "$D/device.flash" --listen "unix:$SOCK" \
	--impair rate=150K >"$D/peripheral.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
i=0
while [ ! -S "$SOCK" ]; do
	i=$((i + 1))
	if [ $i -gt 200 ] || ! kill -0 $PID 2>/dev/null; then
		cat "$D/peripheral.log" >&2
		echo "demo: bleota-peripheral did not start" >&2
		exit 1
	fi
	sleep 0.05
done
cat "$D/peripheral.log"

step "what the device runs"
run "$BLEOTA" info "unix:$SOCK"

step "push v2, verify on the device, commit, reboot into it"
start=$(date +%s.%N)
run "$BLEOTA" push --reboot "unix:$SOCK" "$D/blinky-v2.bin"
end=$(date +%s.%N)

step "after the reboot: v2 runs, waiting for confirmation"
run "$BLEOTA" status "unix:$SOCK"

step "confirm it"
run "$BLEOTA" confirm "unix:$SOCK"
run "$BLEOTA" status "unix:$SOCK"

step "push v2.1.0: only what changed goes (a delta against the running v2)"
dstart=$(date +%s.%N)
run "$BLEOTA" push --confirm "unix:$SOCK" "$D/blinky-v2.1.bin"
dend=$(date +%s.%N)

step "stop the device (SIGTERM)"
kill -TERM $PID
wait $PID
trap - EXIT
echo "--- device log"
cat "$D/peripheral.log"

# what the device's flash now says, read back, not assumed
state=$("$BLEOTA" flash info "$D/device.flash" | grep -i 'would boot' | head -1)
size=$(wc -c <"$D/blinky-v2.bin")
secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
dsecs=$(awk -v a="$dstart" -v b="$dend" 'BEGIN { printf "%.1f", b - a }')
echo
echo "demo: pushed blinky 2.0.0 ($size bytes) to a simulated ESP32-C3 over a" \
	"150 KiB/s link in $secs s, then 2.1.0 as a delta in $dsecs s; $state"
