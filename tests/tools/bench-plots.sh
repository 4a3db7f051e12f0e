#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Draws make bench's pictures with gnuplot, as SVG, into OUT_DIR:
#   ci.svg         KiB/s against the connection interval: bleota, the link
#                  capacity and the anchor protocol models (bench_sweep ci)
#   loss.svg       bleota's KiB/s against datagram loss, mean and worst
#                  seed, beside the capacity (bench_sweep loss)
#   footprint.svg  .text and .data+.bss per device-side object for
#                  Cortex-M4 -Os, when `make size` has left its objects in
#                  BUILD/size/ (skipped, and said so, otherwise)
# The .dat tables sit beside the pictures. docs/performance.md shows the
# copies in docs/img/, made by `make bench-plots PLOTS=docs/img`.
#
# usage: bench-plots.sh BUILD OUT_DIR
set -eu

B=$1
OUT=$2
mkdir -p "$OUT"

"$B/tests/bench_sweep" ci "$OUT"
"$B/tests/bench_sweep" loss "$OUT"

ncol=$(sed -n 's/^# columns //p' "$OUT/ci.dat")
gnuplot <<GP
set terminal svg size 820,560 font "DejaVu Sans,12" background rgb "white"
set output "$OUT/ci.svg"
set title "1 MiB over the BLE link model (2M PHY, LL 251, MTU 247)"
set xlabel "connection interval (ms)"
set ylabel "image KiB/s"
set logscale x
set xrange [7:110]
set yrange [0:*]
set xtics (7.5, 10, 15, 20, 30, 50, 75, 100)
set key outside below center maxrows 4
set linetype 4 lc rgb "#2ca02c"
set linetype 5 lc rgb "#9467bd"
set linetype 6 lc rgb "#8c564b"
set linetype 7 lc rgb "#e377c2"
set linetype 8 lc rgb "#d62728"
set grid
set datafile commentschars "#"
set key autotitle columnheader
plot "$OUT/ci.dat" using 1:2 with lines dt 2 lw 2 lc rgb "#888888" title "link capacity", \
     "$OUT/ci.dat" using 1:3 with linespoints lw 3 pt 7 lc rgb "#1f77b4" title "bleota", \
     for [i=4:$ncol] "$OUT/ci.dat" using 1:i with linespoints lt i lw 1.5 pt i \
	title columnheader(i)
GP

gnuplot <<GP
set terminal svg size 820,480 font "DejaVu Sans,12" background rgb "white"
set output "$OUT/loss.svg"
set title "bleota under datagram loss (case a: 2M PHY, CI 15 ms, 1 MiB)"
set xlabel "datagrams lost on Data and Status (%)"
set ylabel "image KiB/s"
set yrange [0:*]
set key bottom left autotitle columnheader
set grid
plot "$OUT/loss.dat" using 1:2 with lines dt 2 lw 2 lc rgb "#888888" title "link capacity", \
     "$OUT/loss.dat" using 1:3 with linespoints lw 3 pt 7 lc rgb "#1f77b4" title "bleota, mean of 4 seeds", \
     "$OUT/loss.dat" using 1:4 with linespoints lw 1.5 pt 6 lc rgb "#d62728" title "bleota, worst seed"
GP

if ls "$B"/size/*.o >/dev/null 2>&1 && command -v arm-none-eabi-size >/dev/null; then
	# the device side's own objects only (not make size's stand-in
	# entries), named folder/module
	arm-none-eabi-size "$B"/size/protocol_*.o "$B"/size/ota_engine_*.o \
		"$B"/size/common_*.o 2>/dev/null | awk 'NR > 1 {
		n = $6; sub(".*/", "", n); sub("\\.o$", "", n);
		sub("^protocol_", "protocol/", n);
		sub("^ota_engine_", "engine/", n);
		sub("^common_", "common/", n);
		print n, $1, $2 + $3 }' | sort -k2 -n -r >"$OUT/footprint.dat"
	gnuplot <<GP
set terminal svg size 820,480 font "DejaVu Sans,12" background rgb "white"
set output "$OUT/footprint.svg"
set termoption noenhanced
set title "Device side for Cortex-M4 (-Os), per object, all functions"
set ylabel "bytes"
set style data histograms
set style histogram rowstacked
set style fill solid 0.8 border -1
set boxwidth 0.7
set xtics rotate by -45
set key top right
set grid ytics
plot "$OUT/footprint.dat" using 2:xtic(1) title ".text" lc rgb "#1f77b4", \
     "" using 3 title ".data + .bss" lc rgb "#ff7f0e"
GP
else
	echo "bench-plots: no Cortex-M4 objects in $B/size/ (run make size): footprint.svg not drawn"
fi
ls "$OUT"/*.svg
