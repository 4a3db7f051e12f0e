#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make bench, delta part: realistic version pairs built here. bleota's own
# device side (common/, protocol/ receiver, ota_engine/, linked as make size links
# it) is compiled for Cortex-M4 with Debian's arm-none-eabi-gcc three times:
# v1 as it is, v2 with one function changed (otadata.c's entry check gains
# a condition, so the code after it moves), and v1 again to be stamped with
# another version string. tests/bench/bench_delta wraps each as an ESP-IDF
# app image and prints patch sizes and the link-model times at case (a).
# Then, under callgrind, the device's decoder applying each pair's patch:
# instructions inside ota_delta_feed/finish (with the base reads and
# output copies they make) per output byte, on this host's x86-64 -O2
# build (a Cortex-M4 runs a comparable count of simpler instructions).
# Figures are printed, never asserted.
#
# usage: bench-delta.sh BUILD-DIR
set -eu

O=$1
CROSS=${CROSS:-arm-none-eabi-}
CC="${CROSS}gcc"
out="$O/bench-delta"
flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -std=c11 \
-ffunction-sections -fdata-sections -fno-common -Wall -DOTA_CRC32_SMALL"
pattern='e->crc == ota_otadata_crc(e->seq);'

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "bench-delta: $CC not installed; skipped" >&2
	exit 0
fi
rm -rf "$out"
for d in v1 v2; do
	mkdir -p "$out/$d/tests"
	cp -r common protocol ota_engine "$out/$d/"
	cp -r tests/size "$out/$d/tests/"
done
if ! grep -qF "$pattern" "$out/v2/ota_engine/otadata.c"; then
	echo "bench-delta: otadata.c changed; the one-function edit no longer" \
		"applies (update $0)" >&2
	exit 1
fi
sed -i "s/e->crc == ota_otadata_crc(e->seq);/e->crc == ota_otadata_crc(e->seq) \&\& e->seq != 0x7fffffffu;/" \
	"$out/v2/ota_engine/otadata.c"

for d in v1 v2; do
	objs=""
	for s in $(cd "$out/$d" && ls common/*.c protocol/*.c ota_engine/*.c |
		grep -v -E '^protocol/sender\.c$|/(flash_file|crypto_mbedtls)\.c$'); do
		o="$out/$d/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
		# shellcheck disable=SC2086
		$CC $flags -I"$out/$d" -c -o "$o" "$out/$d/$s"
		objs="$objs $o"
	done
	# shellcheck disable=SC2086
	$CC $flags -I"$out/$d" -c -o "$out/$d/entry.o" \
		"$out/$d/tests/size/device_entry.c"
	# shellcheck disable=SC2086
	$CC $flags -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-Wl,--gc-sections -Wl,-e,bleota_size_device \
		-o "$out/$d/fw.elf" "$out/$d/entry.o" $objs
	"${CROSS}objcopy" -O binary "$out/$d/fw.elf" "$out/$d.bin"
done
"$O/tests/bench_delta" "$out/v1.bin" "$out/v2.bin"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "bench-delta: valgrind not installed; decoder cost skipped" >&2
	exit 0
fi
echo
echo "Device decoder cost (callgrind, x86-64 -O2 host build, instructions" \
	"inside ota_delta_feed/finish per output byte; W8 L7 patch)"
cg=$(mktemp -d)
trap 'rm -rf "$cg"' EXIT
for k in 0 1 2; do
	line=$(valgrind --tool=callgrind --callgrind-out-file="$cg/cg.$k" \
		--collect-atstart=no --toggle-collect='ota_delta_feed' \
		--toggle-collect='ota_delta_finish' \
		"$O/tests/bench_delta" --apply "$k" "$out/v1.bin" "$out/v2.bin" \
		2>/dev/null)
	ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg/cg.$k")
	[ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$cg/cg.$k")
	echo "$ir $line"
done | awk '{
	ir = $1; b = $2; $1 = ""; $2 = ""; sub(/^ +/, "")
	v = ir / b; sum += v; n++
	if (v > worst) { worst = v; wname = $0 }
	printf "  %-40s %6.2f instr/byte (%d instr, %d B)\n", $0, v, ir, b }
	END { printf "  %-40s %6.2f instr/byte; worst %.2f (%s)\n",
		"mean over the pairs", sum / n, worst, wname }'
