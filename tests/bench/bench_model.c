/* SPDX-License-Identifier: MIT */
/*
 * make bench, part 1: bleota over the BLE link model, side by side with
 * the anchor protocol models, for a 1 MiB image.
 *
 * Every figure is virtual time from tests/harness/linkmodel.c driving the
 * real protocol/ sender and receiver (tests/harness/lm_bleota.c), so the
 * output is identical on every machine and run. Cases with random loss
 * are the mean over BENCH_SEEDS seeds (the worst is shown too). Targets
 * are printed, never asserted: docs/performance.md explains each figure.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/frame.h"
#include "tests/harness/anchors.h"
#include "tests/harness/linkmodel.h"
#include "tests/harness/lm_bleota.h"
#include "tests/harness/lm_flash.h"

#define IMAGE_LEN     (1024u * 1024u)
#define BENCH_SEEDS   8
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Data and Status: the datagrams of a write without response or a
 * notification that an application can lose (Control is acknowledged) */
#define LOSSY_CHANS ((1u << OTA_CHAN_DATA) | (1u << OTA_CHAN_STATUS))

struct bcase {
	const char *id;
	const char *what;
	struct lmb_case k;
	bool seeded;  /* random loss: average over seeds */
	bool target;  /* counts for a target line */
	double ref_s; /* filled: loss-free time of the same link */
	/* results */
	double time_s, worst_s, kibs, cap_kibs, pct;
	unsigned int worst_seed; /* link seed of the slowest run */
	double resent;
	bool flash_bound;
	struct lmb_result r;
	bool ok;
};

static const struct lm_link L_A = { LM_PHY_2M, 251, 247, false, 15000, 0, 0 };
static const struct lm_link L_B = { LM_PHY_1M, 251, 247, false, 30000, 0, 0 };
static const struct lm_link L_C = { LM_PHY_2M, 251, 247, false, 15000, 0, 4 };
static const struct lm_link L_D = { LM_PHY_1M, 27, 23, false, 30000, 0, 6 };
static const struct lm_link L_CAL = {
	LM_PHY_2M, 251, 247, true, 15000, 2000, 0
};
static const struct lm_link L_P2 = { LM_PHY_2M, 251, 247, false, 50000, 0, 0 };

static double kib_s(uint64_t bytes, double s)
{
	return s > 0 ? (double)bytes / 1024.0 / s : 0;
}

static const char *phy_name(enum lm_phy p)
{
	switch (p) {
	case LM_PHY_1M:
		return "1M";
	case LM_PHY_2M:
		return "2M";
	case LM_PHY_CODED_S2:
		return "S2";
	case LM_PHY_CODED_S8:
		return "S8";
	}
	return "?";
}

static void link_str(char *buf, size_t len, const struct lm_link *l)
{
	char cap[16] = "no cap";

	if (l->max_pkts)
		snprintf(cap, sizeof(cap), "cap %u", l->max_pkts);
	snprintf(buf, len, "%s LL%u MTU%u CI%u %s%s%s", phy_name(l->phy),
		 l->ll_octets, l->att_mtu, l->ci_us / 1000, cap,
		 l->guard_us ? " g2ms" : "", l->encrypted ? " MIC" : "");
}

static double capacity_Bps(const struct lm_link *l)
{
	struct lm_capacity c;

	return lm_capacity(l, &c) ? 0 : lm_capacity_Bps(&c);
}

static int run_case(struct bcase *c)
{
	unsigned int n = c->seeded ? BENCH_SEEDS : 1, i;
	double sum = 0, worst = 0, resent = 0;
	double cap = capacity_Bps(&c->k.link.link);

	c->ok = true;
	for (i = 0; i < n; i++) {
		struct lmb_case k = c->k;
		double s;

		k.link.seed = c->k.link.seed + i;
		if (lmb_run(&k, &c->r))
			return -1;
		c->ok = c->ok && c->r.ok;
		s = (double)c->r.time_us / 1e6;
		sum += s;
		resent += (double)c->r.resent_bytes;
		if (s > worst) {
			worst = s;
			c->worst_seed = k.link.seed;
		}
	}
	c->time_s = sum / n;
	c->worst_s = worst;
	c->resent = resent / n;
	c->kibs = kib_s(IMAGE_LEN, c->time_s);
	if (c->k.flash) {
		double f = lm_flash_rate_Bps(c->k.flash, false);

		if (f < cap) {
			cap = f;
			c->flash_bound = true;
		}
	}
	c->cap_kibs = cap / 1024.0;
	c->pct = 100.0 * c->kibs / c->cap_kibs;
	return 0;
}

/* The most a transfer can reach on this link: DATA header and block CRC. */
static double frame_ceiling(const struct bcase *c)
{
	double value =
		(double)ota_frame_value_max((uint16_t)c->k.link.link.att_mtu);
	double chunk = c->r.chunk_size;

	return 100.0 * chunk / value * OTA_BLOCK_SIZE / OTA_BLOCK_STRIDE;
}

static void print_case(const struct bcase *c)
{
	char l[64], note[160];
	double ceil = frame_ceiling(c);

	link_str(l, sizeof(l), &c->k.link.link);
	if (c->flash_bound)
		snprintf(note, sizeof(note),
			 "flash: %.1f KiB/s serial erase+program", c->cap_kibs);
	else
		snprintf(note, sizeof(note), "link; framing ceiling %.1f %%",
			 ceil);
	printf("%-3s %-34s %8.2f %7.1f %7.1f %6.1f %% %9.0f  %s%s\n", c->id,
	       c->what, c->time_s, c->kibs, c->cap_kibs, c->pct, c->resent,
	       c->ok ? "" : "FAILED ", note);
	if (c->seeded)
		printf("    %-34s mean of %d seeds; worst (seed %u) %.2f s "
		       "%.1f KiB/s %.1f %%\n",
		       "", BENCH_SEEDS, c->worst_seed, c->worst_s,
		       kib_s(IMAGE_LEN, c->worst_s),
		       100.0 * kib_s(IMAGE_LEN, c->worst_s) / c->cap_kibs);
	(void)l;
}

static struct lmb_case base(const struct lm_link *l)
{
	struct lmb_case k = { .link = { .link = *l,
					.impair_chans = LOSSY_CHANS,
					.corrupt_chans = 1u << OTA_CHAN_DATA },
			      .image_len = IMAGE_LEN,
			      .image_seed = 42 };

	return k;
}

static struct bcase *by_id(struct bcase *cs, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strcmp(cs[i].id, id))
			return &cs[i];
	}
	abort();
}

/* loss-free time over lossy time, in per cent */
static double rel(const struct bcase *a, const struct bcase *c)
{
	return 100 * a->time_s / c->time_s;
}

/* loss-free time over the slowest seed's time, in per cent */
static double worst_rel(const struct bcase *a, const struct bcase *c)
{
	return 100 * a->time_s / c->worst_s;
}

static const char *verdict(bool ok)
{
	return ok ? "met" : "NOT met";
}

int main(void)
{
	struct bcase cs[24];
	size_t n = 0, i, j;
	struct bcase *a, *e, *f, *g;
	char lb[64];

	memset(cs, 0, sizeof(cs));
#define ADD(ID, WHAT, K, SEEDED)       \
	do {                           \
		cs[n].id = ID;         \
		cs[n].what = WHAT;     \
		cs[n].k = K;           \
		cs[n].seeded = SEEDED; \
		n++;                   \
	} while (0)

	ADD("a", "2M LL251 MTU247 CI15, no cap", base(&L_A), false);
	ADD("b", "1M LL251 MTU247 CI30", base(&L_B), false);
	ADD("c", "(a), 4 packets per event", base(&L_C), false);
	ADD("d", "1M LL27 MTU23 CI30, 6 per event", base(&L_D), false);
	ADD("e", "(a), 1 % datagram loss", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 10000;
	ADD("f", "(a), 5 % datagram loss", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 50000;
	ADD("g", "(a), disconnect at 50 %", base(&L_A), false);
	ADD("h", "(a), nRF52840 flash", base(&L_A), false);
	cs[n - 1].k.flash = &lm_flash_nrf52840;
	cs[n - 1].k.link.rx_buf_bytes = 16384;
	/* beyond the list */
	ADD("a2", "(a), calibrated: g 2 ms, MIC", base(&L_CAL), false);
	ADD("a3", "2M CI50 (BlueZ default max CI)", base(&L_P2), false);
	ADD("e1", "(a), 1 % LL packet errors", base(&L_A), true);
	cs[n - 1].k.link.per_ppm = 10000;
	ADD("e2", "(e), host queue <= 20 writes", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 10000;
	cs[n - 1].k.link.host_queue_max = 20;
	ADD("e3", "(e), sender rto 200 ms", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 10000;
	cs[n - 1].k.rto_ms = 200;
	ADD("f2", "(f), host queue <= 20 writes", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 50000;
	cs[n - 1].k.link.host_queue_max = 20;
	ADD("f3", "(f), sender rto 200 ms", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 50000;
	cs[n - 1].k.rto_ms = 200;
	ADD("f5", "(f), rto 200 ms, window 64 KiB", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 50000;
	cs[n - 1].k.rto_ms = 200;
	cs[n - 1].k.window_bytes = 65536;
	ADD("f4", "(f), 0.5 % corrupted writes too", base(&L_A), true);
	cs[n - 1].k.link.drop_ppm = 50000;
	cs[n - 1].k.link.corrupt_ppm = 5000;
	ADD("g2", "(g), host queue <= 20 writes", base(&L_A), false);
	cs[n - 1].k.link.host_queue_max = 20;
#undef ADD

	a = &cs[0];
	if (run_case(a))
		return 1;
	/* g: half way through the loss-free transfer */
	for (i = 0; i < n; i++) {
		if (!strcmp(cs[i].id, "g") || !strcmp(cs[i].id, "g2"))
			cs[i].k.link.disconnect_at_us = a->r.time_us / 2;
	}
	for (i = 1; i < n; i++) {
		if (run_case(&cs[i]))
			return 1;
	}
	e = by_id(cs, n, "e");
	f = by_id(cs, n, "f");
	g = by_id(cs, n, "g");

	printf("bleota over the BLE link model: 1 MiB image, real protocol/ "
	       "sender and receiver, virtual time\n");
	printf("(%% cap = image goodput / modelled capacity; capacity = ATT "
	       "value bytes the link carries, or the flash rate if lower)\n\n");
	printf("%-3s %-34s %8s %7s %7s %8s %9s  %s\n", "", "case", "time s",
	       "KiB/s", "cap", "% cap", "resent B", "limited by");
	for (i = 0; i < n; i++) {
		if (i == 8)
			printf("--- beyond the issue's list\n");
		print_case(&cs[i]);
	}

	/* anchors over the same model */
	{
		static const struct anchor_cfg an[] = {
			{ .kind = ANCHOR_ESP },
			{ .kind = ANCHOR_NORDIC, .prn = 0 },
			{ .kind = ANCHOR_NORDIC, .prn = 4 },
			{ .kind = ANCHOR_NORDIC, .prn = 12 },
			{ .kind = ANCHOR_SMP, .depth = 1 },
			{ .kind = ANCHOR_SMP, .depth = 3 },
			{ .kind = ANCHOR_SMP, .depth = 6 },
			{ .kind = ANCHOR_SMP, .depth = 1, .smp_buf = 2475 },
			{ .kind = ANCHOR_SMP, .depth = 3, .smp_buf = 2475 },
			{ .kind = ANCHOR_SMP, .depth = 6, .smp_buf = 2475 },
		};
		const struct bcase *cols[] = {
			by_id(cs, n, "a"), by_id(cs, n, "b"),
			by_id(cs, n, "c"), by_id(cs, n, "d"),
			by_id(cs, n, "h"), by_id(cs, n, "a3"),
		};
		double best_a = 0;
		char nm[64], best_nm[64] = "";

		printf("\nSame model, anchor protocol models (KiB/s, 1 MiB, "
		       "loss-free; docs/performance.md gives sources)\n");
		printf("%-42s", "");
		for (j = 0; j < ARRAY_SIZE(cols); j++)
			printf(" %7s", cols[j]->id);
		printf("\n%-42s", "bleota");
		for (j = 0; j < ARRAY_SIZE(cols); j++)
			printf(" %7.1f", cols[j]->kibs);
		printf("\n");
		for (i = 0; i < ARRAY_SIZE(an); i++) {
			anchor_name(&an[i], nm, sizeof(nm));
			printf("%-42s", nm);
			for (j = 0; j < ARRAY_SIZE(cols); j++) {
				struct anchor_result r;
				const struct lmb_case *k = &cols[j]->k;
				double v;

				anchor_run(&an[i], &k->link, IMAGE_LEN,
					   k->flash, k->link.rx_buf_bytes, &r);
				v = r.ok ? kib_s(IMAGE_LEN,
						 (double)r.time_us / 1e6)
					 : 0;
				if (r.ok)
					printf(" %7.1f", v);
				else /* e.g. SMP without reassembly at MTU 23 */
					printf(" %7s", "n/a");
				if (j == 0 && v > best_a) {
					best_a = v;
					strcpy(best_nm, nm);
				}
			}
			printf("\n");
		}
		printf("\nTargets (printed, not asserted)\n");
		for (i = 0; i < 4; i++) {
			link_str(lb, sizeof(lb), &cs[i].k.link.link);
			printf("  %s >= 95 %% of capacity: %5.1f %%  %s\n",
			       cs[i].id, cs[i].pct, verdict(cs[i].pct >= 95));
		}
		printf("  e >= 90 %% of loss-free: mean %5.1f %%  %s; worst "
		       "seed %.1f %%  %s  (e3, rto 200 ms: %.1f %%; e2, "
		       "bounded host queue: %.1f %%)\n",
		       rel(a, e), verdict(rel(a, e) >= 90), worst_rel(a, e),
		       verdict(worst_rel(a, e) >= 90),
		       rel(a, by_id(cs, n, "e3")), rel(a, by_id(cs, n, "e2")));
		printf("  f >= 80 %% of loss-free: mean %5.1f %%  %s; worst "
		       "seed %.1f %%  %s  (f3: %.1f %%, f5: %.1f %%, f2: %.1f "
		       "%%)\n",
		       rel(a, f), verdict(rel(a, f) >= 80), worst_rel(a, f),
		       verdict(worst_rel(a, f) >= 80),
		       rel(a, by_id(cs, n, "f3")), rel(a, by_id(cs, n, "f5")),
		       rel(a, by_id(cs, n, "f2")));
		printf("  every seeded row, worst seed against loss-free (a):");
		for (i = 0; i < n; i++) {
			if (cs[i].seeded)
				printf(" %s %.1f %%", cs[i].id,
				       worst_rel(a, &cs[i]));
		}
		printf("\n");
		printf("  g resends <= one window (%u x %u B = %u B): %.0f B "
		       "%s; %u connections, device held %u B at resume\n",
		       g->r.window_chunks, g->r.chunk_size,
		       g->r.window_chunks * g->r.chunk_size, g->resent,
		       verdict(g->resent <=
			       (double)g->r.window_chunks * g->r.chunk_size),
		       g->r.connections, g->r.held_at_resume);
		printf("  a >= 2x the best anchor model: %.1f / %.1f KiB/s = "
		       "%.2fx  %s  (best: %s)\n",
		       a->kibs, best_a, a->kibs / best_a,
		       verdict(a->kibs >= 2 * best_a), best_nm);
		printf("  h (flash-bound) >= 90 %% of min(link, flash): %.1f "
		       "%% "
		       " %s\n",
		       by_id(cs, n, "h")->pct,
		       verdict(by_id(cs, n, "h")->pct >= 90));
	}
	for (i = 0; i < n; i++) {
		if (!cs[i].ok) {
			printf("bench: case %s did not complete\n", cs[i].id);
			return 1;
		}
	}
	return 0;
}
