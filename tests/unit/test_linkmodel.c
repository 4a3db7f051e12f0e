/* SPDX-License-Identifier: MIT */
/*
 * The BLE link model (tests/harness/linkmodel.c) against the reference
 * ble-link-capacity.md: air time per packet (section 1.1), capacity tables
 * 1a, 1c and 2 and the calibration points (1.2, 1.4), cell by cell, in
 * exact integer arithmetic; then the event simulator's packing, loss and
 * disconnect behaviour, deterministic per seed; and the anchor models
 * against the reference's closed-form formulas (section 3).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/harness/anchors.h"
#include "tests/harness/linkmodel.h"
#include "tests/harness/lm_bleota.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- section 1.1: air time ----------------------------------------------- */

static void test_packet_air_time(void **state)
{
	static const struct {
		enum lm_phy phy;
		uint32_t empty, d27, d251, d251_mic;
	} t[] = {
		{ LM_PHY_1M, 80, 296, 2088, 2120 },
		{ LM_PHY_2M, 44, 152, 1048, 1064 },
		{ LM_PHY_CODED_S2, 462, 894, 4478, 4542 },
		{ LM_PHY_CODED_S8, 720, 2448, 16784, 17040 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(lm_pkt_us(t[i].phy, 0, false), t[i].empty);
		/* an empty PDU carries no MIC */
		assert_int_equal(lm_pkt_us(t[i].phy, 0, true), t[i].empty);
		assert_int_equal(lm_pkt_us(t[i].phy, 27, false), t[i].d27);
		assert_int_equal(lm_pkt_us(t[i].phy, 251, false), t[i].d251);
		assert_int_equal(lm_pkt_us(t[i].phy, 251, true), t[i].d251_mic);
	}
	/* the default connMaxTxTime: 27 octets, 1M, with MIC */
	assert_int_equal(lm_pkt_us(LM_PHY_1M, 27, true), 328);
}

static void test_pair_time(void **state)
{
	static const struct {
		enum lm_phy phy;
		uint32_t p27, p27e, p251, p251e;
	} t[] = {
		{ LM_PHY_1M, 676, 708, 2468, 2500 },
		{ LM_PHY_2M, 496, 512, 1392, 1408 },
		{ LM_PHY_CODED_S8, 3468, 3724, 17804, 18060 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		assert_int_equal(lm_pair_us(t[i].phy, 27, 0, false), t[i].p27);
		assert_int_equal(lm_pair_us(t[i].phy, 27, 0, true), t[i].p27e);
		assert_int_equal(lm_pair_us(t[i].phy, 251, 0, false),
				 t[i].p251);
		assert_int_equal(lm_pair_us(t[i].phy, 251, 0, true),
				 t[i].p251e);
	}
}

/* ---- section 1.4: the tables --------------------------------------------- */

struct cell {
	int kbit;          /* kbit/s (1000 bit), rounded; -1 = n/a */
	int kib10;         /* KiB/s x 10, rounded */
	unsigned int pkts; /* packets in the first event; 0 = not given */
};

struct table_row {
	enum lm_phy phy;
	unsigned int ll, mtu, cap;
	uint32_t guard_us;
	bool mic;
	struct cell c[4];
};

static const uint32_t cis_us[4] = { 7500, 15000, 30000, 50000 };

/* Transcribed from ble-link-capacity.md section 1.4. */
#include "tests/unit/linkmodel_tables.inc"

/* n / d rounded half up, in integers */
static uint64_t div_round(uint64_t n, uint64_t d)
{
	return (2 * n + d) / (2 * d);
}

static unsigned int check_table(const char *name, const struct table_row *t,
				size_t rows)
{
	unsigned int cells = 0, bad = 0;
	size_t i, j;

	for (i = 0; i < rows; i++) {
		for (j = 0; j < 4; j++) {
			struct lm_link l = { .phy = t[i].phy,
					     .ll_octets = t[i].ll,
					     .att_mtu = t[i].mtu,
					     .encrypted = t[i].mic,
					     .ci_us = cis_us[j],
					     .guard_us = t[i].guard_us,
					     .max_pkts = t[i].cap };
			const struct cell *c = &t[i].c[j];
			struct lm_capacity cap;
			int rc = lm_capacity(&l, &cap);
			uint64_t kbit, kib10;

			cells++;
			if (c->kbit < 0) {
				if (rc != -EINVAL) {
					print_error(
						"%s row %zu CI %u: want n/a\n",
						name, i, cis_us[j]);
					bad++;
				}
				continue;
			}
			if (rc) {
				print_error("%s row %zu CI %u: n/a\n", name, i,
					    cis_us[j]);
				bad++;
				continue;
			}
			/* bytes/us -> kbit/s: x 8 x 10^6 / 10^3 */
			kbit = div_round(cap.bytes * 8000, cap.us);
			kib10 = div_round(cap.bytes * 10000000, cap.us * 1024);
			if (kbit != (uint64_t)c->kbit ||
			    kib10 != (uint64_t)c->kib10 ||
			    (c->pkts && cap.pkts_per_event != c->pkts)) {
				print_error(
					"%s row %zu (ll %u mtu %u cap %u) CI "
					"%u: got %llu / %llu.%llu (%u), "
					"want %d / %d.%d (%u)\n",
					name, i, t[i].ll, t[i].mtu, t[i].cap,
					cis_us[j], (unsigned long long)kbit,
					(unsigned long long)kib10 / 10,
					(unsigned long long)kib10 % 10,
					cap.pkts_per_event, c->kbit,
					c->kib10 / 10, c->kib10 % 10, c->pkts);
				bad++;
			}
		}
	}
	print_message("%s: %u cells, %u differ\n", name, cells, bad);
	return bad;
}

static void test_table_1a_ideal(void **state)
{
	(void)state;
	assert_int_equal(check_table("1a", table_1a, ARRAY_SIZE(table_1a)), 0);
}

static void test_table_1c_calibrated(void **state)
{
	(void)state;
	assert_int_equal(check_table("1c", table_1c, ARRAY_SIZE(table_1c)), 0);
}

static void test_table_2_capped(void **state)
{
	(void)state;
	assert_int_equal(check_table("2", table_2, ARRAY_SIZE(table_2)), 0);
}

/* Section 1.2: the Nordic calibration points, in bit/s exactly. */
static void test_calibration_points(void **state)
{
	static const struct {
		unsigned int mtu;
		bool mic;
		uint32_t ci_us;
		uint64_t bits_x10; /* bit/s x 10, rounded */
		unsigned int pkts;
	} t[] = {
		/* 2M, 251, g = 2 ms: S140 1327.5 / 1376.2 kbit/s */
		{ 247, true, 50000, 13273600, 34 },
		{ 247, true, 400000, 13761600, 282 },
		/* unencrypted MTU 498: 1415.583 kbit/s measured */
		{ 498, false, 400000, 14157000, 286 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(t); i++) {
		struct lm_link l = { .phy = LM_PHY_2M,
				     .ll_octets = 251,
				     .att_mtu = t[i].mtu,
				     .encrypted = t[i].mic,
				     .ci_us = t[i].ci_us,
				     .guard_us = 2000 };
		struct lm_capacity cap;

		assert_int_equal(lm_capacity(&l, &cap), 0);
		assert_int_equal(div_round(cap.bytes * 80000000, cap.us),
				 t[i].bits_x10);
		assert_int_equal(cap.pkts_per_event, t[i].pkts);
	}
}

/* ---- the event simulator ------------------------------------------------- */

/*
 * A test source (central) sends @total datagrams of @len bytes, one more
 * each time an echo arrives if @echo, else all at once; the sink
 * (peripheral) records arrival times and echoes a 1-byte value if @echo.
 */
struct probe {
	unsigned int total, len, queued, arrived, echoes;
	bool echo;
	bool want_echo; /* peripheral side: an echo is pending */
	uint64_t first_us, last_us, echo_us[4];
};

static int src_poll(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		    uint64_t now)
{
	struct probe *p = ctx;

	(void)now;
	if (p->queued == p->total || (p->echo && p->queued > p->echoes))
		return -1;
	assert_true(cap >= p->len);
	memset(buf, 0xa5, p->len);
	*chan = 1;
	p->queued++;
	return (int)p->len;
}

static void src_recv(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		     uint64_t now)
{
	struct probe *p = ctx;

	(void)chan;
	(void)buf;
	(void)len;
	if (p->echoes < 4)
		p->echo_us[p->echoes] = now;
	p->echoes++;
}

static uint64_t no_deadline(void *ctx)
{
	(void)ctx;
	return LM_NO_DEADLINE;
}

static void no_timeout(void *ctx, uint64_t now)
{
	(void)ctx;
	(void)now;
}

static bool src_done(void *ctx)
{
	struct probe *p = ctx;

	return p->arrived == p->total && (!p->echo || p->echoes == p->total);
}

static void snk_recv(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		     uint64_t now)
{
	struct probe *p = ctx;

	(void)chan;
	(void)buf;
	assert_int_equal(len, p->len);
	if (!p->arrived)
		p->first_us = now;
	p->last_us = now;
	p->arrived++;
	p->want_echo = p->echo;
}

static int snk_poll(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		    uint64_t now)
{
	struct probe *p = ctx;

	(void)cap;
	(void)now;
	if (!p->want_echo)
		return -1;
	p->want_echo = false;
	buf[0] = 0x40;
	*chan = 2;
	return 1;
}

static const struct lm_ep_ops src_ops = {
	.recv = src_recv,
	.poll = src_poll,
	.next_deadline = no_deadline,
	.on_timeout = no_timeout,
	.done = src_done,
};

static const struct lm_ep_ops snk_ops = {
	.recv = snk_recv,
	.poll = snk_poll,
	.next_deadline = no_deadline,
	.on_timeout = no_timeout,
};

static struct lm *probe_run(const struct lm_cfg *cfg, struct probe *p)
{
	struct lm *m = lm_new(cfg, &src_ops, p, &snk_ops, p);

	assert_int_equal(lm_run(m), LM_DONE);
	return m;
}

/* A saturated stream packs exactly as lm_capacity() says, pair by pair. */
static void test_event_packing(void **state)
{
	struct lm_cfg cfg = { .link = { LM_PHY_2M, 251, 247, false, 15000, 0,
					0 } };
	struct probe p = { .total = 100, .len = 244 };
	struct lm *m;

	(void)state;
	/* queued at t = 0 (event 0), on air from event 1: 10 per event */
	m = probe_run(&cfg, &p);
	assert_int_equal(p.first_us, 15000 + 1392);
	assert_int_equal(p.last_us, 10 * 15000 + 10 * 1392);
	assert_int_equal(lm_get_stats(m)->events, 10);
	assert_int_equal(lm_get_stats(m)->pairs, 100);
	lm_free(m);

	/* a cap of 4 packets per event */
	memset(&p, 0, sizeof(p));
	p.total = 100;
	p.len = 244;
	cfg.link.max_pkts = 4;
	m = probe_run(&cfg, &p);
	assert_int_equal(p.last_us, 25 * 15000 + 4 * 1392);
	lm_free(m);

	/* MTU 517 over LL 251: 251 + 251 + 19, 2 writes per 7.5 ms event */
	memset(&p, 0, sizeof(p));
	p.total = 10;
	p.len = 514;
	cfg.link = (struct lm_link){ LM_PHY_2M, 251, 517, false, 7500, 0, 0 };
	m = probe_run(&cfg, &p);
	assert_int_equal(p.last_us, 5 * 7500 + 2 * (2 * 1392 + 464));
	lm_free(m);
}

/* Data in event j, the answer in j + 1, the next data in j + 2 (r = 2). */
static void test_round_trip_events(void **state)
{
	struct lm_cfg cfg = { .link = { LM_PHY_1M, 251, 247, false, 30000, 0,
					0 } };
	struct probe p = { .total = 3, .len = 100, .echo = true };
	uint32_t data = lm_pair_us(LM_PHY_1M, 100 + 7, 0, false);
	uint32_t note = lm_pair_us(LM_PHY_1M, 0, 1 + 7, false);
	struct lm *m;

	(void)state;
	m = probe_run(&cfg, &p);
	assert_int_equal(p.first_us, 30000 + data);
	assert_int_equal(p.echo_us[0], 2 * 30000 + note);
	assert_int_equal(p.echo_us[1], 4 * 30000 + note);
	assert_int_equal(p.last_us, 5 * 30000 + data);
	lm_free(m);

	/* a peripheral that answers one event later: r = 3 */
	memset(&p, 0, sizeof(p));
	p.total = 2;
	p.len = 100;
	p.echo = true;
	cfg.ack_turnaround_ev = 2;
	m = probe_run(&cfg, &p);
	assert_int_equal(p.echo_us[0], 3 * 30000 + note);
	assert_int_equal(p.echo_us[1], 6 * 30000 + note);
	lm_free(m);
}

/* LL errors cost pairs, not data; the same seed gives the same run. */
static void test_packet_errors_deterministic(void **state)
{
	struct lm_cfg cfg = { .link = { LM_PHY_2M, 251, 247, false, 15000, 0,
					0 },
			      .per_ppm = 50000,
			      .seed = 7 };
	struct probe p = { .total = 1000, .len = 244 };
	struct probe q = p;
	struct lm_stats a, b;
	struct lm *m;

	(void)state;
	m = probe_run(&cfg, &p);
	a = *lm_get_stats(m);
	lm_free(m);
	m = probe_run(&cfg, &q);
	b = *lm_get_stats(m);
	lm_free(m);
	assert_int_equal(p.arrived, 1000);
	assert_true(a.failed_pairs > 0);
	assert_int_equal(a.pairs, 1000 + a.failed_pairs);
	assert_int_equal(a.failed_pairs, b.failed_pairs);
	assert_int_equal(p.last_us, q.last_us);
	/* slower than loss-free: 100 events of 10 */
	assert_true(p.last_us > 100 * 15000);
}

/* The real protocol over the model, small images (tests stay fast). */
static struct lmb_case small_case(void)
{
	struct lmb_case k = {
		.link = { .link = { LM_PHY_2M, 251, 247, false, 15000, 0, 0 } },
		.image_len = 200000,
		.image_seed = 3,
	};

	return k;
}

static void test_bleota_clean(void **state)
{
	struct lmb_case k = small_case();
	struct lmb_result r;
	struct lm_capacity cap;

	(void)state;
	assert_int_equal(lmb_run(&k, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.resent_bytes, 0);
	assert_int_equal(r.connections, 1);
	assert_int_equal(lm_capacity(&k.link.link, &cap), 0);
	/* never faster than the link allows */
	assert_true((double)k.image_len / r.time_us * 1e6 <
		    lm_capacity_Bps(&cap));
}

static void test_bleota_loss_deterministic(void **state)
{
	struct lmb_case k = small_case();
	struct lmb_result r1, r2, r3;

	(void)state;
	k.link.drop_ppm = 50000;
	k.link.corrupt_ppm = 5000;
	k.link.seed = 11;
	assert_int_equal(lmb_run(&k, &r1), 0);
	assert_int_equal(lmb_run(&k, &r2), 0);
	k.link.seed = 12;
	assert_int_equal(lmb_run(&k, &r3), 0);
	assert_true(r1.ok && r2.ok && r3.ok);
	assert_true(r1.resent_bytes > 0);
	assert_int_equal(r1.time_us, r2.time_us);
	assert_int_equal(r1.resent_bytes, r2.resent_bytes);
	assert_int_equal(r1.link.dropped, r2.link.dropped);
	assert_true(r1.link.dropped != r3.link.dropped ||
		    r1.time_us != r3.time_us);
}

static void test_bleota_disconnect_resumes(void **state)
{
	struct lmb_case k = small_case();
	struct lmb_result r;

	(void)state;
	k.link.disconnect_at_us = 600000;
	assert_int_equal(lmb_run(&k, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.connections, 2);
	assert_true(r.held_at_resume > 0);
	/* what was in flight or not yet verified: at most a window + a
	 * block */
	assert_true(r.resent_bytes <=
		    (uint64_t)r.window_chunks * r.chunk_size + 4100);
}

static void test_bleota_flash_bound(void **state)
{
	struct lmb_case k = small_case();
	struct lmb_result r;
	uint64_t sectors = (k.image_len + 4095) / 4096;

	(void)state;
	k.flash = &lm_flash_nrf52840;
	k.link.rx_buf_bytes = 16384;
	assert_int_equal(lmb_run(&k, &r), 0);
	assert_true(r.ok);
	/* every sector erased once and the image programmed once */
	assert_int_equal(r.flash_erase_us, sectors * 85000);
	assert_int_equal(r.flash_prog_us, (k.image_len + 3) / 4 * 41);
	assert_true(r.time_us > r.flash_erase_us + r.flash_prog_us);
	/*
	 * Flash-bound: the link waits on the flash (through the RX buffer's
	 * LL NAKs, or, with the sender's pacing, by sending no faster than
	 * the flash drains), within 10 % of the flash time.
	 */
	print_message("flash-bound: %llu us total, flash %llu us, %u NAKs\n",
		      (unsigned long long)r.time_us,
		      (unsigned long long)(r.flash_erase_us + r.flash_prog_us),
		      (unsigned int)r.link.naks);
	assert_true(r.time_us * 10 <=
		    (r.flash_erase_us + r.flash_prog_us) * 11);
}

/* ---- anchor models against the reference's formulas (section 3) --------- */

static const struct lm_cfg link_a = {
	.link = { LM_PHY_2M, 251, 247, false, 15000, 0, 0 },
};

/*
 * Section 3.3, PRN = N as block stop-and-wait: N writes take
 * m = ceil(N k / n) events and the next block starts r events after the
 * last one, so eta = N k / (n (m - 1 + r)). A bare stream of B blocks ends
 * ((B - 1)(m - 1 + r) + m) events after the first (event 1), the last
 * event carrying N k - (m - 1) n pairs.
 */
static void check_prn(unsigned int prn, unsigned int cap, unsigned int n,
		      unsigned int blocks)
{
	struct anchor_cfg a = { ANCHOR_NORDIC, prn, UINT32_MAX, 0, 0 };
	struct lm_cfg cfg = link_a;
	struct anchor_result r;
	unsigned int m = (prn + n - 1) / n, r_ev = 2;
	uint64_t want;
	struct lm_capacity c;

	cfg.link.max_pkts = cap;
	assert_int_equal(lm_capacity(&cfg.link, &c), 0);
	assert_int_equal(c.pkts_per_event, n);
	assert_int_equal(
		anchor_run(&a, &cfg, (size_t)blocks * prn * 244, NULL, 0, &r),
		0);
	assert_true(r.ok);
	want = ((uint64_t)(blocks - 1) * (m - 1 + r_ev) + m) * 15000 +
	       (uint64_t)(prn - (m - 1) * n) * 1392;
	assert_int_equal(r.time_us, want);
	/* and so the steady-state efficiency is the formula's, exactly:
	 * N writes per (m - 1 + r) events of n */
	print_message("PRN %u, n %u: eta = %u/%u\n", prn, n, prn,
		      n * (m - 1 + r_ev));
}

static void test_anchor_prn_formula(void **state)
{
	(void)state;
	check_prn(12, 0, 10, 40); /* n = 10: 40 % */
	check_prn(64, 0, 10, 10); /* 80 % */
	check_prn(12, 4, 4, 40);  /* phone-like cap 4: 75 % */
	/* N = 1 is stop-and-wait per write: S = P / (r CI) */
	check_prn(1, 0, 10, 100);
}

/* Section 3.2: MCUmgr window 1 with one write per request is per-chunk
 * stop-and-wait, S = P / (r CI): 2 events per request. */
static void test_anchor_smp_stop_and_wait(void **state)
{
	struct anchor_cfg a = { .kind = ANCHOR_SMP, .depth = 1 };
	struct anchor_result r;

	(void)state;
	assert_int_equal(anchor_run(&a, &link_a, 100000, NULL, 0, &r), 0);
	assert_true(r.ok);
	/* the first request starts at event 1, the last one's answer is
	 * on air 2 events after it */
	assert_int_equal((r.time_us / 15000 - 1) / 2 + 1, r.data_writes);
	/* pipelining 3 requests triples the rate (window < W* = 20) */
	a.depth = 3;
	assert_int_equal(anchor_run(&a, &link_a, 100000, NULL, 0, &r), 0);
	assert_true(r.ok);
	assert_int_equal((r.time_us / 15000 - 1) / 2 + 1,
			 (r.data_writes + 2) / 3);
}

/* ESP: each 4 KiB sector is 18 writes of 241 B (2 events at n = 10), its
 * ACK in the next event, the next sector one event later: 3 events per
 * sector, plus START and STOP round trips (section 3.4, O = r CI). */
static void test_anchor_esp_sector(void **state)
{
	struct anchor_cfg a = { .kind = ANCHOR_ESP };
	struct anchor_result r;

	(void)state;
	assert_int_equal(anchor_run(&a, &link_a, 64 * 4096, NULL, 0, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.data_writes, 64 * 18);
	assert_int_equal(r.time_us,
			 (3 * 64 + 4) * 15000 +
				 lm_pair_us(LM_PHY_2M, 0, 27, false));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/linkmodel/air-time", test_packet_air_time, NULL, NULL,
		  NULL },
		{ "/linkmodel/pair-time", test_pair_time, NULL, NULL, NULL },
		{ "/linkmodel/table-1a", test_table_1a_ideal, NULL, NULL,
		  NULL },
		{ "/linkmodel/table-1c", test_table_1c_calibrated, NULL, NULL,
		  NULL },
		{ "/linkmodel/table-2", test_table_2_capped, NULL, NULL, NULL },
		{ "/linkmodel/calibration", test_calibration_points, NULL, NULL,
		  NULL },
		{ "/linkmodel/event-packing", test_event_packing, NULL, NULL,
		  NULL },
		{ "/linkmodel/round-trip", test_round_trip_events, NULL, NULL,
		  NULL },
		{ "/linkmodel/packet-errors", test_packet_errors_deterministic,
		  NULL, NULL, NULL },
		{ "/linkmodel/bleota/clean", test_bleota_clean, NULL, NULL,
		  NULL },
		{ "/linkmodel/bleota/loss", test_bleota_loss_deterministic,
		  NULL, NULL, NULL },
		{ "/linkmodel/bleota/disconnect",
		  test_bleota_disconnect_resumes, NULL, NULL, NULL },
		{ "/linkmodel/bleota/flash", test_bleota_flash_bound, NULL,
		  NULL, NULL },
		{ "/linkmodel/anchor/prn", test_anchor_prn_formula, NULL, NULL,
		  NULL },
		{ "/linkmodel/anchor/smp", test_anchor_smp_stop_and_wait, NULL,
		  NULL, NULL },
		{ "/linkmodel/anchor/esp", test_anchor_esp_sector, NULL, NULL,
		  NULL },
	};

	return cmocka_run_group_tests_name("linkmodel", tests, NULL, NULL);
}
