#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make size: the device side (protocol/ without the sender, and ota_engine/
# without its Linux flash file and crypto backend, when present) compiled
# for Cortex-M4 at -Os with Debian's arm-none-eabi-gcc. Prints
#  1. .text/.data/.bss summed over the objects (everything compiled in);
#  2. the same for a receiver linked with --gc-sections from
#     tests/size/rx_entry.c (what a firmware that only receives pulls in,
#     newlib-nano's memcpy/memset included, no startup code);
#  3. sizeof the receiver context (and the engine's, when visible).
# Targets: receiver alone (issue 6) <= 12 KiB .text, <= 6 KiB RAM;
# receiver + engine + adapter, crypto not counted (issue 12) <= 14 KiB
# .text, <= 6 KiB RAM (static plus contexts). Nothing is executed.
set -eu

O=${O:-build}
CROSS=${CROSS:-arm-none-eabi-}
CC="${CROSS}gcc"
out="$O/size"
# OTA_CRC32_SMALL: common/crc32.c uses its 64-byte nibble table instead of
# the 8 KiB slicing-by-8 tables of the host build (common/crc32.h).
flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -Os -std=c11 \
-ffunction-sections -fdata-sections -fno-common -I. -Wall -Wextra \
-DOTA_CRC32_SMALL"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "size: $CC not installed (apt-get install gcc-arm-none-eabi)" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out"

srcs=$(ls common/*.c protocol/*.c | grep -v '^protocol/sender\.c$' |
	tr '\n' ' ')
if [ -d ota_engine ]; then
	srcs="$srcs $(ls ota_engine/*.c 2>/dev/null |
		grep -v -E '/(flash_file|crypto_mbedtls)\.c$|_text\.c$|_linux\.c$|_posix\.c$' |
		tr '\n' ' ' || true)"
fi
objs=""
for s in $srcs; do
	o="$out/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
	# shellcheck disable=SC2086
	$CC $flags -c -o "$o" "$s"
	objs="$objs $o"
done

echo "Device side for Cortex-M4 (-Os, $($CC -dumpversion), thumb):" \
	"$(echo $srcs | wc -w) files"
echo "  sources: $srcs"
echo
echo "1. objects, all functions:"
# shellcheck disable=SC2086
${CROSS}size -t $objs | sed 's/^/   /'
# shellcheck disable=SC2086
set -- $(${CROSS}size -t $objs | tail -1)
obj_text=$1 obj_data=$2 obj_bss=$3
nvs_objs=$(ls "$out"/ota_engine_nvs.o "$out"/ota_engine_nvs_write.o \
	2>/dev/null || true)
if [ -n "$nvs_objs" ]; then
	# shellcheck disable=SC2046,SC2086
	set -- $(${CROSS}size -t $nvs_objs | tail -1)
	echo "   of which ota_engine/nvs.c + nvs_write.c (NVS version tag; in 2b/2c, not in 2):" \
		".text $1 .data $2 .bss $3"
fi

# shellcheck disable=SC2086
$CC $flags -c -o "$out/rx_entry.o" tests/size/rx_entry.c
# shellcheck disable=SC2086
$CC $flags -nostartfiles --specs=nano.specs --specs=nosys.specs \
	-Wl,--gc-sections -Wl,-e,bleota_size_entry -o "$out/rx.elf" \
	"$out/rx_entry.o" $objs
set -- $(${CROSS}size "$out/rx.elf" | tail -1)
rx_text=$1 rx_data=$2 rx_bss=$3
ctx=$(printf '%d' "0x$(${CROSS}nm -S "$out/rx.elf" |
	awk '$4 == "bleota_size_ota_rx" { print $2 }')")
echo
echo "2. receiver linked with --gc-sections (libc helpers included):"
echo "   .text $rx_text  .data $rx_data  .bss $rx_bss" \
	"(.bss: one struct ota_rx and one 510-byte value buffer)"
if [ -f ota_engine/engine.h ]; then
	# shellcheck disable=SC2086
	$CC $flags -c -o "$out/device_entry.o" tests/size/device_entry.c
	# shellcheck disable=SC2086
	$CC $flags -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-Wl,--gc-sections -Wl,-e,bleota_size_device -o "$out/dev.elf" \
		"$out/device_entry.o" $objs
	set -- $(${CROSS}size "$out/dev.elf" | tail -1)
	dev_text=$1 dev_data=$2 dev_bss=$3
	echo
	echo "2b. receiver + OTA engine + engine_sink linked (crypto and the"
	echo "    flash driver are the platform's, not counted; libc helpers are):"
	echo "   .text $dev_text  .data $dev_data  .bss $dev_bss" \
		"(.bss: struct ota_rx, struct ota_engine, struct engine_sink," \
		"one value buffer)"
	if ${CROSS}nm "$out/dev.elf" | grep -q -E ' [Tt] _?(v?sn?printf|_svfprintf_r|_vfprintf_r)$'; then
		echo "   stdio: printf family linked in"
	else
		echo "   stdio: none (no printf family linked)"
	fi
	if ${CROSS}nm "$out/dev.elf" | grep -q -E ' [Tt] _?(malloc|_malloc_r)$'; then
		echo "   heap: malloc linked in"
	else
		echo "   heap: none (no malloc linked)"
	fi
fi
if [ -f examples/baremetal-cortex-m4/main.c ]; then
	# the porting guide's example firmware (docs/porting.md): its own
	# flash driver, BLE mailbox, clock and crypto stand-ins, linked with
	# the real receiver and engine, entry main
	# shellcheck disable=SC2086
	$CC $flags -c -o "$out/example_main.o" examples/baremetal-cortex-m4/main.c
	# shellcheck disable=SC2086
	$CC $flags -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-Wl,--gc-sections -Wl,-e,main -o "$out/example.elf" \
		"$out/example_main.o" $objs
	set -- $(${CROSS}size "$out/example.elf" | tail -1)
	echo
	echo "2c. examples/baremetal-cortex-m4 (docs/porting.md) links:"
	echo "   .text $1  .data $2  .bss $3 (its flash driver, BLE mailbox" \
		"and crypto stand-ins included)"
fi
echo
echo "3. contexts:"
echo "   sizeof(struct ota_rx) = $ctx"
if [ -f ota_engine/engine.h ]; then
	printf '#include "ota_engine/engine.h"\nstruct ota_engine bleota_size_engine;\n' \
		>"$out/engine_ctx.c"
	# shellcheck disable=SC2086
	if $CC $flags -c -o "$out/engine_ctx.o" "$out/engine_ctx.c" 2>/dev/null; then
		e=$(printf '%d' "0x$(${CROSS}nm -S "$out/engine_ctx.o" |
			awk '$4 == "bleota_size_engine" { print $2 }')")
		echo "   sizeof(struct ota_engine) = $e"
	else
		echo "   sizeof(struct ota_engine): not visible (opaque in engine.h)"
	fi
else
	echo "   struct ota_engine: ota_engine/ not on this branch"
fi
echo
ram=$((rx_data + rx_bss))
echo "Receiver: .text $rx_text B (objects $obj_text B) vs <= 12288 B:" \
	"$([ "$rx_text" -le 12288 ] && echo met || echo 'NOT met');" \
	"RAM .data+.bss $ram B vs <= 6144 B:" \
	"$([ "$ram" -le 6144 ] && echo met || echo 'NOT met')"
echo "(objects: .data $obj_data B, .bss $obj_bss B)"
if [ -n "${dev_text:-}" ]; then
	dram=$((dev_data + dev_bss))
	echo "Receiver + engine: .text $dev_text B vs <= 14336 B:" \
		"$([ "$dev_text" -le 14336 ] && echo met || echo 'NOT met');" \
		"RAM $dram B vs <= 6144 B:" \
		"$([ "$dram" -le 6144 ] && echo met || echo 'NOT met')"
fi
if [ -f ota_engine/delta.c ]; then
	# the delta decoder alone (issue 13): its two objects and its context
	# shellcheck disable=SC2086
	set -- $(${CROSS}size -t "$out/ota_engine_delta.o" \
		"$out/ota_engine_heatshrink.o" | tail -1)
	printf '#include "ota_engine/delta.h"\nstruct ota_delta bleota_size_delta;\n' \
		>"$out/delta_ctx.c"
	# shellcheck disable=SC2086
	$CC $flags -c -o "$out/delta_ctx.o" "$out/delta_ctx.c"
	d=$(printf '%d' "0x$(${CROSS}nm -S "$out/delta_ctx.o" |
		awk '$4 == "bleota_size_delta" { print $2 }')")
	win=$(printf '#include "ota_engine/heatshrink.h"\nOTA_HS_MAX_WINDOW_SZ2\n' |
		$CC -E -P -I. - | tail -1)
	echo "Delta decoder (delta.c + heatshrink.c): .text $1 B vs <= 4096 B:" \
		"$([ "$1" -le 4096 ] && echo met || echo 'NOT met');" \
		"sizeof(struct ota_delta) $d B = window $((1 << win)) +" \
		"$((d - (1 << win))) B vs <= 2048 B beyond the window:" \
		"$([ $((d - (1 << win))) -le 2048 ] && echo met || echo 'NOT met')"
fi
