#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Device-side CPU cost per payload byte: runs bench_rxcost under callgrind,
# collecting only inside the receiver's entry points (and what they call),
# and divides the instruction count by the image size.
#
# usage: bench-rxcost.sh BENCH_RXCOST_BINARY
set -eu

bin=$1
if ! command -v valgrind >/dev/null 2>&1; then
	echo "rxcost: valgrind not installed, skipped"
	exit 0
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "Receiver CPU cost (callgrind, x86-64 -O2 host build, instructions" \
	"inside ota_rx_feed/poll/on_timeout)"
for sink in null mem; do
	bytes=$(valgrind --tool=callgrind --callgrind-out-file="$out/cg.$sink" \
		--collect-atstart=no --toggle-collect='ota_rx_feed' \
		--toggle-collect='ota_rx_poll' \
		--toggle-collect='ota_rx_on_timeout' \
		"$bin" "$sink" 2>/dev/null | awk '{print $1}')
	ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$out/cg.$sink")
	[ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out/cg.$sink")
	case $sink in
	null) what="receiver alone (null sink: no flash I/O, CRC or SHA-256)" ;;
	mem) what="+ copy to RAM and block CRC-32 read-back (mem_sink)" ;;
	esac
	awk -v ir="$ir" -v b="$bytes" -v w="$what" 'BEGIN {
		printf "  %-58s %6.2f instr/byte (%d instr, %d B)\n", w, ir / b, ir, b }'
done
