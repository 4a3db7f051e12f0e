#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make bench, delta part: a corpus of version pairs built here from real C
# code with Debian's arm-none-eabi-gcc for Cortex-M4 (-Os, thumb), each
# build linked as a firmware would be and wrapped as an ESP-IDF app image
# by tests/bench/bench_delta, which prints patch sizes, link-model times at
# case (a) and the anchors' rows. docs/performance.md §3.5.
#
# One firmware build is, in link order (no --gc-sections: nothing is
# stripped that the objects hold):
#  - the application: bleota's whole device side, the sources make size
#    compiles (common/, protocol/ without the sender, ota_engine/ without
#    the Linux flash file, the mbedTLS backend, the simulated bootloader
#    and the host's *_text.c words), entry tests/size/device_entry.c
#    (crypto stand-ins: empty);
#  - the C library a firmware of this kind calls: newlib (full, not nano)
#    and libm from Debian, the members for the symbols in $libsyms
#    (printf/scanf family with floats, strtod, malloc, time, math);
#  - read-only data: the CA certificates of the machine's ca-certificates
#    package as DER (the trust store a TLS-capable firmware carries; ESP-IDF
#    apps carry the same Mozilla list in esp_crt_bundle), the same in every
#    build, linked into .rodata after the code.
# Variants: v1; fix (one function: otadata.c's entry check gains a
# condition); nodelta (v1 without the delta-update feature,
# -DOTA_ENGINE_DELTA=0: the feature addition is nodelta -> v1); o2
# (protocol/receiver.c compiled -O2 instead of -Os). The pairs, with their
# version strings, are listed in tests/bench/bench_delta.c. Each variant is
# also linked without the certificates (code-only/), whose patch sizes are
# printed too: the certificates never change, so they dilute the shares.
#
# Then, under callgrind, the device's decoder applying each pair's patch:
# instructions inside ota_delta_feed/finish (with the base reads and
# output copies they make) per output byte, on this host's x86-64 -O2
# build. Figures are printed, never asserted.
#
# usage: bench-delta.sh BUILD-DIR
set -eu

O=$1
CROSS=${CROSS:-arm-none-eabi-}
CC="${CROSS}gcc"
out="$O/bench-delta"
flags="-mcpu=cortex-m4 -mthumb -mfloat-abi=soft -std=c11 \
-ffunction-sections -fdata-sections -fno-common -Wall -DOTA_CRC32_SMALL"
pattern='e->crc == ota_otadata_crc(e->seq);'
certs=${CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
libsyms="printf snprintf vsnprintf sscanf strtod strtof strtol strtoul atoi \
qsort bsearch malloc free calloc realloc mktime gmtime_r localtime_r strftime \
strstr strchr strncpy strcasecmp strtok_r rand srand sin cos tan atan2 sqrt \
exp log log10 pow fmod floor ceil round sinf cosf sqrtf expf logf powf atan2f"

if ! command -v "$CC" >/dev/null 2>&1; then
	echo "bench-delta: $CC not installed; skipped" >&2
	exit 0
fi
if [ ! -s "$certs" ]; then
	echo "bench-delta: $certs missing (apt-get install ca-certificates)" >&2
	exit 1
fi
rm -rf "$out"
mkdir -p "$out/fix/tests" "$out/certs" "$out/code-only"
cp -r common protocol ota_engine "$out/fix/"
cp -r tests/size "$out/fix/tests/"
if ! grep -qF "$pattern" "$out/fix/ota_engine/otadata.c"; then
	echo "bench-delta: otadata.c changed; the one-function edit no longer" \
		"applies (update $0)" >&2
	exit 1
fi
sed -i "s/e->crc == ota_otadata_crc(e->seq);/e->crc == ota_otadata_crc(e->seq) \&\& e->seq != 0x7fffffffu;/" \
	"$out/fix/ota_engine/otadata.c"

# the trust store: each PEM certificate decoded to DER, concatenated
awk -v d="$out/certs" '/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("%s/%04d.b64", d, n); next }
	/-----END CERTIFICATE-----/ { close(f); f = ""; next }
	f != "" { print > f }' "$certs"
for f in "$out"/certs/*.b64; do
	base64 -d "$f"
done >"$out/certs.der"
(cd "$out" && "${CROSS}objcopy" -I binary -O elf32-littlearm \
	--rename-section .data=.rodata.ca_certs,alloc,load,readonly,data,contents \
	certs.der certs.o)

srcs=$(ls common/*.c protocol/*.c ota_engine/*.c |
	grep -v -E '^protocol/sender\.c$|/(flash_file|crypto_mbedtls|boot_sim)\.c$|_text\.c$|_linux\.c$|_posix\.c$')
u=""
for s in $libsyms; do
	u="$u -Wl,-u,$s"
done

# build NAME TREE EXTRA-CFLAGS [FILE FILE-CFLAGS]
build() {
	name=$1 tree=$2 extra=$3 file=${4:-} fflags=${5:-}
	mkdir -p "$out/$name"
	objs=""
	for s in $srcs tests/size/device_entry.c; do
		o="$out/$name/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
		opt=-Os
		[ "$s" != "$file" ] || opt=$fflags
		# shellcheck disable=SC2086
		$CC $flags $opt $extra -I"$tree" -c -o "$o" "$tree/$s"
		objs="$objs $o"
	done
	# shellcheck disable=SC2086
	$CC $flags -nostartfiles --specs=nosys.specs \
		-Wl,-e,bleota_size_device $u \
		-o "$out/$name/fw.elf" $objs "$out/certs.o" -lm
	"${CROSS}objcopy" -O binary "$out/$name/fw.elf" "$out/$name.bin"
	# the same link without the certificates (code only)
	# shellcheck disable=SC2086
	$CC $flags -nostartfiles --specs=nosys.specs \
		-Wl,-e,bleota_size_device $u \
		-o "$out/$name/code.elf" $objs -lm
	"${CROSS}objcopy" -O binary "$out/$name/code.elf" \
		"$out/code-only/$name.bin"
}
build v1 . ""
build fix "$out/fix" ""
build nodelta . -DOTA_ENGINE_DELTA=0
build o2 . "" protocol/receiver.c -O2

# what v1 is made of: the application's objects (all linked), the CA
# certificates, and the rest of the image (newlib, libm, libgcc)
app=$("${CROSS}size" -t "$out"/v1/*.o | awk 'END { print $1 + $2 }')
all=$("${CROSS}size" "$out/v1/fw.elf" | awk 'END { print $1 + $2 }')
der=$(wc -c <"$out/certs.der")
echo "Corpus built with $($CC --version | head -1), newlib" \
	"$(dpkg-query -W -f='${Version}' libnewlib-arm-none-eabi 2>/dev/null ||
		echo '(version unknown)')," \
	"ca-certificates $(dpkg-query -W -f='${Version}' ca-certificates \
		2>/dev/null || echo '(version unknown)')"
echo "Firmware v1 ($(grep -c "BEGIN CERTIFICATE" "$certs") CA certificates):" \
	"application (bleota's device side) $app B, CA certificates (DER," \
	"read-only data) $der B, newlib + libm + libgcc $((all - app - der)) B"
"${CROSS}size" "$out"/*/fw.elf | sed "s|$out/||"
echo

"$O/tests/bench_delta" "$out"
echo
echo "The same pairs without the CA certificates (code and its data only):"
"$O/tests/bench_delta" --sizes "$out/code-only"

if ! command -v valgrind >/dev/null 2>&1; then
	echo "bench-delta: valgrind not installed; decoder cost skipped" >&2
	exit 0
fi
echo
echo "Device decoder cost (callgrind, x86-64 -O2 host build, instructions" \
	"inside ota_delta_feed/finish per output byte; W8 L7 patch)"
cg=$(mktemp -d)
trap 'rm -rf "$cg"' EXIT
k=0
while line=$("$O/tests/bench_delta" --name "$k" "$out" 2>/dev/null); do
	# bench_delta --apply fails if the decoder's output is not the new image
	if ! valgrind --tool=callgrind --callgrind-out-file="$cg/cg.$k" \
		--collect-atstart=no --toggle-collect='ota_delta_feed' \
		--toggle-collect='ota_delta_finish' \
		"$O/tests/bench_delta" --apply "$k" "$out" >/dev/null 2>&1; then
		echo "bench-delta: pair $k ($line): applying the patch failed or" \
			"did not give the new image" >&2
		exit 1
	fi
	ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$cg/cg.$k")
	[ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$cg/cg.$k")
	echo "$ir $line" >>"$cg/rows"
	k=$((k + 1))
done
awk '{
	ir = $1; b = $2; $1 = ""; $2 = ""; sub(/^ +/, "")
	v = ir / b; sum += v; n++
	if (v > worst) { worst = v; wname = $0 }
	printf "  %-40s %6.2f instr/byte (%d instr, %d B)\n", $0, v, ir, b }
	END { printf "  %-40s %6.2f instr/byte; worst %.2f (%s)\n",
		"mean over the pairs", sum / n, worst, wname }' "$cg/rows"
