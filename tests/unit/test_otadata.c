/* SPDX-License-Identifier: MIT */
/*
 * otadata: CRC variant vectors, byte layout, validity, active-entry
 * selection (table), seq -> slot, the set_boot sequence rule and the
 * worked example from the reference, last-invalid choice.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ota_engine/otadata.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define E             OTA_OTADATA_SEQ_EMPTY

static void test_crc_vectors(void **state)
{
	static const uint32_t want[] = { 0x4743989A, 0x55F63774, 0xED4A5011,
					 0x709D68A8, 0xC8210FCD, 0xDA94A023 };
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(want); i++)
		assert_int_equal(ota_otadata_crc((uint32_t)i + 1), want[i]);
}

static void test_layout(void **state)
{
	struct ota_otadata_entry e, d;
	uint8_t raw[32];
	static const uint8_t want[32] = {
		0x02, 0,    0,    0, /* seq 2 */
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0x01, 0,    0,    0, /* PENDING_VERIFY */
		0x74, 0x37, 0xf6, 0x55,          /* CRC 0x55F63774 */
	};

	(void)state;
	ota_otadata_make(&e, 2, OTA_IMG_PENDING_VERIFY);
	ota_otadata_encode(&e, raw);
	assert_memory_equal(raw, want, sizeof(want));
	ota_otadata_decode(raw, &d);
	assert_int_equal(d.seq, 2);
	assert_int_equal(d.state, OTA_IMG_PENDING_VERIFY);
	assert_int_equal(d.crc, 0x55F63774);
	assert_string_equal(ota_otadata_state_str(OTA_IMG_ABORTED), "ABORTED");
	assert_string_equal(ota_otadata_state_str(OTA_IMG_UNDEFINED),
			    "UNDEFINED");
	assert_string_equal(ota_otadata_state_str(9), "UNKNOWN");
}

struct ent {
	uint32_t seq;
	uint32_t state;
	bool bad_crc;
};

static void mk(struct ota_otadata_entry *e, const struct ent *s)
{
	ota_otadata_make(e, s->seq, s->state);
	if (s->bad_crc)
		e->crc ^= 1;
	if (s->seq == E)
		e->crc = 0xffffffff;
}

static void test_active_table(void **state)
{
	static const struct {
		const char *name;
		struct ent e0, e1;
		int active;
		bool invalid0, invalid1;
	} cases[] = {
		{ "both-erased",
		  { E, OTA_IMG_UNDEFINED, false },
		  { E, OTA_IMG_UNDEFINED, false },
		  -1,
		  true,
		  true },
		{ "only-0",
		  { 1, OTA_IMG_VALID, false },
		  { E, OTA_IMG_UNDEFINED, false },
		  0,
		  false,
		  true },
		{ "only-1",
		  { E, OTA_IMG_UNDEFINED, false },
		  { 2, OTA_IMG_NEW, false },
		  1,
		  true,
		  false },
		{ "higher-1",
		  { 1, OTA_IMG_VALID, false },
		  { 2, OTA_IMG_UNDEFINED, false },
		  1,
		  false,
		  false },
		{ "higher-0",
		  { 3, OTA_IMG_PENDING_VERIFY, false },
		  { 2, OTA_IMG_VALID, false },
		  0,
		  false,
		  false },
		{ "tie-sector-0",
		  { 5, OTA_IMG_VALID, false },
		  { 5, OTA_IMG_VALID, false },
		  0,
		  false,
		  false },
		{ "bad-crc-ignored",
		  { 1, OTA_IMG_VALID, false },
		  { 2, OTA_IMG_VALID, true },
		  0,
		  false,
		  false },
		{ "aborted-ignored",
		  { 1, OTA_IMG_VALID, false },
		  { 2, OTA_IMG_ABORTED, false },
		  0,
		  false,
		  true },
		{ "invalid-ignored",
		  { 3, OTA_IMG_INVALID, false },
		  { 2, OTA_IMG_VALID, false },
		  1,
		  true,
		  false },
		{ "both-bad",
		  { 3, OTA_IMG_INVALID, false },
		  { 2, OTA_IMG_ABORTED, false },
		  -1,
		  true,
		  true },
		{ "both-bad-crc",
		  { 1, OTA_IMG_VALID, true },
		  { 2, OTA_IMG_VALID, true },
		  -1,
		  false,
		  false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ota_otadata_entry e[2];

		mk(&e[0], &cases[i].e0);
		mk(&e[1], &cases[i].e1);
		if (ota_otadata_active(e) != cases[i].active)
			fail_msg("%s: active %d", cases[i].name,
				 ota_otadata_active(e));
		if (ota_otadata_entry_invalid(&e[0]) != cases[i].invalid0 ||
		    ota_otadata_entry_invalid(&e[1]) != cases[i].invalid1)
			fail_msg("%s: invalid()", cases[i].name);
	}
}

static void test_seq_to_slot(void **state)
{
	(void)state;
	assert_int_equal(ota_otadata_slot(1, 2), 0);
	assert_int_equal(ota_otadata_slot(2, 2), 1);
	assert_int_equal(ota_otadata_slot(3, 2), 0);
	assert_int_equal(ota_otadata_slot(7, 3), 0);
	assert_int_equal(ota_otadata_slot(9, 3), 2);
	assert_int_equal(ota_otadata_slot(1, 1), 0);
}

static void test_plan_set_boot(void **state)
{
	static const struct {
		const char *name;
		struct ent e0, e1;
		unsigned int count, slot;
		int rc;
		unsigned int sector;
		uint32_t seq;
		bool in_place;
	} cases[] = {
		/* the reference's worked example: factory + ota_0 + ota_1 */
		{ "first-ota",
		  { E, 0, false },
		  { E, 0, false },
		  2,
		  0,
		  0,
		  0,
		  1,
		  false },
		{ "second-ota",
		  { 1, OTA_IMG_VALID, false },
		  { E, 0, false },
		  2,
		  1,
		  0,
		  1,
		  2,
		  false },
		{ "third-ota",
		  { 1, OTA_IMG_VALID, false },
		  { 2, OTA_IMG_VALID, false },
		  2,
		  0,
		  0,
		  0,
		  3,
		  false },
		{ "first-to-slot-1",
		  { E, 0, false },
		  { E, 0, false },
		  2,
		  1,
		  0,
		  0,
		  2,
		  false },
		{ "reselect-active-v6",
		  { 3, OTA_IMG_VALID, false },
		  { 2, OTA_IMG_VALID, false },
		  2,
		  0,
		  0,
		  0,
		  3,
		  true },
		{ "three-slots",
		  { 4, OTA_IMG_VALID, false },
		  { 3, OTA_IMG_VALID, false },
		  3,
		  1,
		  0,
		  1,
		  5,
		  false },
		{ "three-slots-wrap",
		  { 4, OTA_IMG_VALID, false },
		  { 3, OTA_IMG_VALID, false },
		  3,
		  2,
		  0,
		  1,
		  6,
		  false },
		{ "active-invalid-other",
		  { 3, OTA_IMG_ABORTED, false },
		  { 2, OTA_IMG_VALID, false },
		  2,
		  0,
		  0,
		  0,
		  3,
		  false },
		/* the top of the sequence space, in 32-bit arithmetic */
		{ "near-max-seq-fits",
		  { 0xFFFFFFFDu, OTA_IMG_VALID, false },
		  { E, 0, false },
		  2,
		  1,
		  0,
		  1,
		  0xFFFFFFFEu,
		  false },
		{ "seq-space-exhausted",
		  { 0xFFFFFFFEu, OTA_IMG_VALID, false },
		  { E, 0, false },
		  2,
		  0,
		  -EINVAL,
		  0,
		  0,
		  false },
		{ "slot-out-of-range",
		  { E, 0, false },
		  { E, 0, false },
		  2,
		  2,
		  -EINVAL,
		  0,
		  0,
		  false },
		{ "no-slots",
		  { E, 0, false },
		  { E, 0, false },
		  0,
		  0,
		  -EINVAL,
		  0,
		  0,
		  false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ota_otadata_entry e[2];
		unsigned int sector = 99;
		uint32_t seq = 0;
		bool in_place = false;
		int rc;

		mk(&e[0], &cases[i].e0);
		mk(&e[1], &cases[i].e1);
		rc = ota_otadata_plan_set_boot(e, cases[i].count, cases[i].slot,
					       &sector, &seq, &in_place);
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d", cases[i].name, rc);
		if (rc)
			continue;
		if (sector != cases[i].sector || seq != cases[i].seq ||
		    in_place != cases[i].in_place)
			fail_msg("%s: sector %u seq %u in_place %d",
				 cases[i].name, sector, seq, in_place);
	}
}

static void test_last_invalid(void **state)
{
	struct ota_otadata_entry e[2];
	const struct ent a = { 3, OTA_IMG_INVALID, false };
	const struct ent b = { 2, OTA_IMG_ABORTED, false };
	const struct ent c = { 2, OTA_IMG_ABORTED, true };
	const struct ent v = { 2, OTA_IMG_VALID, false };

	(void)state;
	mk(&e[0], &a);
	mk(&e[1], &b);
	assert_int_equal(ota_otadata_last_invalid(e), 1);
	mk(&e[1], &c);
	assert_int_equal(ota_otadata_last_invalid(e), 0);
	mk(&e[0], &v);
	assert_int_equal(ota_otadata_last_invalid(e), -1);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/otadata/crc/vectors", test_crc_vectors, NULL, NULL, NULL },
		{ "/otadata/entry/layout", test_layout, NULL, NULL, NULL },
		{ "/otadata/select/table", test_active_table, NULL, NULL,
		  NULL },
		{ "/otadata/seq-to-slot", test_seq_to_slot, NULL, NULL, NULL },
		{ "/otadata/set-boot/plan", test_plan_set_boot, NULL, NULL,
		  NULL },
		{ "/otadata/last-invalid", test_last_invalid, NULL, NULL,
		  NULL },
	};

	return cmocka_run_group_tests_name("otadata", tests, NULL, NULL);
}
