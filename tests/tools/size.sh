#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make size: the device side (protocol/ without the sender, and ota_engine/
# without its Linux flash file, crypto backend and simulated bootloader,
# and no *_text.c host words) compiled for Cortex-M4 at -Os with Debian's
# arm-none-eabi-gcc. Prints
#  1. .text/.data/.bss summed over the objects (everything compiled in);
#  2. the same for a receiver linked with --gc-sections from
#     tests/size/rx_entry.c (what a firmware that only receives pulls in,
#     newlib-nano's memcpy/memset included, no startup code);
#  2b. receiver + engine + adapter linked from tests/size/device_entry.c,
#     with the linked bytes per object (from the link map) and, for
#     information, the same link with -flto;
#  2c. the bare-metal example firmware;
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

# *_text.c files hold the words a host prints (status names and hints,
# engine reason texts): a device sends codes and numbers, so they stay out
srcs=$(ls common/*.c protocol/*.c |
	grep -v -E '^protocol/sender\.c$|_text\.c$' | tr '\n' ' ')
if [ -d ota_engine ]; then
	srcs="$srcs $(ls ota_engine/*.c 2>/dev/null |
		grep -v -E '/(flash_file|crypto_mbedtls|boot_sim)\.c$|_text\.c$|_linux\.c$|_posix\.c$' |
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
if [ -f ota_engine/boot_sim.c ]; then
	# host builds only: the device's own bootloader replaces it
	# shellcheck disable=SC2086
	$CC $flags -c -o "$out/boot_sim.o" ota_engine/boot_sim.c
	set -- $(${CROSS}size "$out/boot_sim.o" | tail -1)
	echo "   not compiled in: ota_engine/boot_sim.c (the simulated bootloader," \
		"host builds only) .text $1"
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
		-Wl,--gc-sections -Wl,-e,bleota_size_device \
		-Wl,-Map="$out/dev.map" -o "$out/dev.elf" \
		"$out/device_entry.o" $objs
	set -- $(${CROSS}size "$out/dev.elf" | tail -1)
	dev_text=$1 dev_data=$2 dev_bss=$3
	echo
	echo "2b. receiver + OTA engine + engine_sink linked (crypto and the"
	echo "    flash driver are the platform's, not counted; libc helpers are):"
	echo "   .text $dev_text  .data $dev_data  .bss $dev_bss" \
		"(.bss: struct ota_rx, struct ota_engine, struct engine_sink," \
		"one value buffer)"
	# where the linked bytes are: the input sections kept in .text
	# (code, .rodata) per object, from the link map
	echo "   linked, per object (code + read-only data; the entry is"
	echo "   tests/size/device_entry.c, the calls firmware makes):"
	awk '/^Linker script and memory map/ { on = 1; next }
	on && /^ \.(text|rodata)/ {
		if (NF >= 4) { sz = $3; f = $4 } else { pend = 1; next }
		add(sz, f); next }
	on && pend { pend = 0; if (NF >= 3) add($2, $3); next }
	function add(sz, f) {
		n = split(f, a, "/"); f = a[n]
		sub(/^.*lib_a-/, "libc:", f); sub(/\.o\)?$/, "", f)
		sub(/^lib(gcc|c_nano)\.a\(/, "libgcc:", f)
		t[f] += hex(sz) }
	function hex(h,   i, v) {
		h = tolower(substr(h, 3)); v = 0
		for (i = 1; i <= length(h); i++)
			v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
		return v }
	END { for (f in t) if (t[f]) printf "%7d  %s\n", t[f], f }' \
		"$out/dev.map" | sort -rn | sed 's/^/   /'
	# The same link with link-time optimisation, for information: the
	# platform stand-ins (device_entry.o) stay a separate non-LTO object
	# so that their constant results cannot be folded into the engine.
	mkdir -p "$out/lto"
	lto_objs=""
	for s in $srcs; do
		o="$out/lto/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
		# shellcheck disable=SC2086
		$CC $flags -flto -c -o "$o" "$s"
		lto_objs="$lto_objs $o"
	done
	# shellcheck disable=SC2086
	$CC $flags -flto -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-Wl,--gc-sections -Wl,-e,bleota_size_device \
		-o "$out/dev_lto.elf" "$out/device_entry.o" $lto_objs
	set -- $(${CROSS}size "$out/dev_lto.elf" | tail -1)
	lto_text=$1
	echo "   with -flto as well (information; the target is judged" \
		"without): .text $lto_text  .data $2  .bss $3"
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
	"$([ "$rx_text" -le 12288 ] && echo met ||
		echo "NOT met ($((rx_text - 12288)) B over)");" \
	"RAM .data+.bss $ram B vs <= 6144 B:" \
	"$([ "$ram" -le 6144 ] && echo met || echo 'NOT met')"
echo "(objects: .data $obj_data B, .bss $obj_bss B)"
if [ -n "${dev_text:-}" ]; then
	dram=$((dev_data + dev_bss))
	echo "Receiver + engine: .text $dev_text B vs <= 14336 B:" \
		"$([ "$dev_text" -le 14336 ] && echo met ||
			echo "NOT met ($((dev_text - 14336)) B over)");" \
		"RAM $dram B vs <= 6144 B:" \
		"$([ "$dram" -le 6144 ] && echo met || echo 'NOT met')"
fi
if [ -n "${dev_text:-}" ] && grep -q OTA_ENGINE_DELTA ota_engine/engine.h; then
	# the same link without delta updates (-DOTA_ENGINE_DELTA=0)
	nd="$out/nodelta"
	mkdir -p "$nd"
	ndobjs=""
	for s in $srcs tests/size/device_entry.c; do
		o="$nd/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
		# shellcheck disable=SC2086
		$CC $flags -DOTA_ENGINE_DELTA=0 -c -o "$o" "$s"
		ndobjs="$ndobjs $o"
	done
	# shellcheck disable=SC2086
	$CC $flags -nostartfiles --specs=nano.specs --specs=nosys.specs \
		-Wl,--gc-sections -Wl,-e,bleota_size_device -o "$nd/dev.elf" \
		$ndobjs
	set -- $(${CROSS}size "$nd/dev.elf" | tail -1)
	echo "Receiver + engine without delta (-DOTA_ENGINE_DELTA=0):" \
		".text $1 B; RAM $(($2 + $3)) B vs <= 6144 B:" \
		"$([ $(($2 + $3)) -le 6144 ] && echo met || echo 'NOT met')"
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
	# RAM beyond the window: the rest of the context plus the objects'
	# own .data + .bss
	ram=$((d - (1 << win) + $2 + $3))
	echo "Delta decoder (delta.c + heatshrink.c): .text $1 B vs <= 4096 B:" \
		"$([ "$1" -le 4096 ] && echo met || echo 'NOT met');" \
		"RAM: sizeof(struct ota_delta) $d B = window $((1 << win)) +" \
		"$((d - (1 << win))) B, objects' .data + .bss $(($2 + $3)) B;" \
		"$ram B beyond the window vs <= 2048 B:" \
		"$([ "$ram" -le 2048 ] && echo met || echo 'NOT met')"
fi
