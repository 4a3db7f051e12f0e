/* SPDX-License-Identifier: MIT */
/*
 * make bench-plots, the data: bleota and the anchor protocol models over
 * the BLE link model, swept along one axis at a time, written as
 * whitespace-separated tables for gnuplot (tests/tools/bench-plots.sh).
 *
 *   bench_sweep ci DIR     DIR/ci.dat: KiB/s against the connection
 *                          interval (2M PHY, LL 251, MTU 247, no packet
 *                          cap per event), bleota and every anchor
 *   bench_sweep loss DIR   DIR/loss.dat: bleota's KiB/s against the
 *                          datagram loss rate on Data and Status (mean
 *                          and worst of SWEEP_SEEDS seeds), beside the
 *                          loss-free capacity
 *
 * The anchors are modelled loss-free only (tests/harness/anchors.h says
 * why), so the loss sweep has bleota alone; the data file says so in its
 * header. Every figure is virtual time, identical on every run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "protocol/frame.h"
#include "tests/harness/anchors.h"
#include "tests/harness/linkmodel.h"
#include "tests/harness/lm_bleota.h"

#define IMAGE_LEN     (1024u * 1024u)
#define SWEEP_SEEDS   4
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct anchor_cfg anchors[] = {
	{ .kind = ANCHOR_ESP },
	{ .kind = ANCHOR_NORDIC, .prn = 0 },
	{ .kind = ANCHOR_NORDIC, .prn = 12 },
	{ .kind = ANCHOR_SMP, .depth = 6 },
	{ .kind = ANCHOR_SMP, .depth = 3, .smp_buf = 2475 },
};

static struct lmb_case base_case(uint32_t ci_us)
{
	struct lmb_case k = {
		.link = { .link = { LM_PHY_2M, 251, 247, false, ci_us, 0, 0 },
			  .impair_chans = (1u << OTA_CHAN_DATA) |
					  (1u << OTA_CHAN_STATUS) },
		.image_len = IMAGE_LEN,
		.image_seed = 42,
	};

	return k;
}

static double kib_s(uint64_t time_us)
{
	return time_us ? (double)IMAGE_LEN / 1024.0 / ((double)time_us / 1e6)
		       : 0;
}

static int sweep_ci(FILE *fp)
{
	static const uint32_t ci_ms10[] = { 75,  100, 150, 200, 300,
					    400, 500, 750, 1000 };
	char name[64];
	size_t i, j;

	fprintf(fp,
		"# KiB/s of a 1 MiB image over the link model: 2M PHY, "
		"LL 251, MTU 247, no packet cap\n# columns %zu\n",
		3 + ARRAY_SIZE(anchors));
	fprintf(fp, "ci_ms capacity bleota");
	for (j = 0; j < ARRAY_SIZE(anchors); j++) {
		anchor_name(&anchors[j], name, sizeof(name));
		fprintf(fp, " \"%s\"", name);
	}
	fprintf(fp, "\n");
	for (i = 0; i < ARRAY_SIZE(ci_ms10); i++) {
		struct lmb_case k = base_case(ci_ms10[i] * 100);
		struct lm_capacity cap;
		struct lmb_result r;

		if (lmb_run(&k, &r) || !r.ok || lm_capacity(&k.link.link, &cap))
			return -EIO;
		fprintf(fp, "%.1f %.1f %.1f", ci_ms10[i] / 10.0,
			lm_capacity_Bps(&cap) / 1024.0, kib_s(r.time_us));
		for (j = 0; j < ARRAY_SIZE(anchors); j++) {
			struct anchor_result ar;

			if (anchor_run(&anchors[j], &k.link, IMAGE_LEN, NULL, 0,
				       &ar))
				return -EIO;
			fprintf(fp, " %.1f", ar.ok ? kib_s(ar.time_us) : 0.0);
		}
		fprintf(fp, "\n");
	}
	return 0;
}

static int sweep_loss(FILE *fp)
{
	static const uint32_t loss_ppm[] = { 0,     2000,  5000,  10000, 20000,
					     30000, 50000, 75000, 100000 };
	struct lm_capacity cap;
	size_t i, s;

	fprintf(fp, "# bleota, KiB/s of a 1 MiB image, case (a) link (2M, CI "
		    "15 ms) with datagram loss on Data and Status;\n"
		    "# anchors are modelled loss-free only, so they are not "
		    "in this table\n"
		    "loss_pct capacity mean worst\n");
	for (i = 0; i < ARRAY_SIZE(loss_ppm); i++) {
		double sum = 0, worst = 0;
		unsigned int n = loss_ppm[i] ? SWEEP_SEEDS : 1;

		for (s = 0; s < n; s++) {
			struct lmb_case k = base_case(15000);
			struct lmb_result r;
			double v;

			k.link.drop_ppm = loss_ppm[i];
			k.link.seed = 1 + s;
			if (lmb_run(&k, &r) || !r.ok)
				return -EIO;
			v = kib_s(r.time_us);
			sum += v;
			if (s == 0 || v < worst)
				worst = v;
		}
		{
			struct lmb_case k = base_case(15000);

			if (lm_capacity(&k.link.link, &cap))
				return -EIO;
		}
		fprintf(fp, "%.1f %.1f %.1f %.1f\n", loss_ppm[i] / 10000.0,
			lm_capacity_Bps(&cap) / 1024.0, sum / n, worst);
	}
	return 0;
}

int main(int argc, char **argv)
{
	char path[4096];
	FILE *fp;
	int err;

	if (argc != 3 || (strcmp(argv[1], "ci") && strcmp(argv[1], "loss"))) {
		fprintf(stderr, "usage: bench_sweep ci|loss DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/%s.dat", argv[2], argv[1]);
	fp = fopen(path, "w");
	if (!fp) {
		fprintf(stderr, "bench_sweep: %s: %s\n", path, strerror(errno));
		return 1;
	}
	err = strcmp(argv[1], "ci") ? sweep_loss(fp) : sweep_ci(fp);
	if (fclose(fp) || err) {
		fprintf(stderr, "bench_sweep: %s: a run did not complete\n",
			path);
		return 1;
	}
	printf("bench_sweep: wrote %s\n", path);
	return 0;
}
