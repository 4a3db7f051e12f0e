/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF NVS reader and string writer (ota_engine/nvs.c): the reference's
 * worked example (§4.7, the generator's page 0) as expected bytes both
 * ways, round trips, overwrites across pages up to -ENOSPC, corruption
 * skipped as ESP-IDF skips it, and a power cut (plain and torn) at every
 * flash operation of a tag write.
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

#include "central/nvs_print.h"
#include "common/bytes.h"
#include "common/crc32.h"
#include "ota_engine/flash_file.h"
#include "ota_engine/nvs.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DEV_SIZE      0x10000u
#define PART_OFF      0x9000u /* as in the two-ota layout */
#define PAGE          OTA_NVS_PAGE_SIZE

static const struct ota_flash_ops *ops = &ota_flash_file_ops;

struct fx {
	struct ota_flash_file *f;
	struct ota_nvs_part part;
};

static void fx_open(struct fx *x, unsigned int pages, unsigned int flags)
{
	char path[512];
	int err = 0;

	x->f = ota_flash_file_open(tmpdir_path(path, sizeof(path), "nvs.bin"),
				   flags ? DEV_SIZE : 0, flags, &err);
	assert_non_null(x->f);
	x->part = (struct ota_nvs_part){ .flash = ops,
					 .flash_ctx = x->f,
					 .off = PART_OFF,
					 .size = pages * PAGE };
}

static void fx_new(struct fx *x, unsigned int pages)
{
	fx_open(x, pages, OTA_FLASH_FILE_CREATE);
}

static void fx_reboot(struct fx *x)
{
	unsigned int pages = x->part.size / PAGE;

	ota_flash_file_close(x->f);
	fx_open(x, pages, 0);
}

static void fx_load(struct fx *x, unsigned int pages, const uint8_t *img)
{
	fx_new(x, pages);
	assert_int_equal(ops->write(x->f, PART_OFF, img, pages * PAGE), 0);
}

static void fx_save(struct fx *x, uint8_t *img)
{
	assert_int_equal(ops->read(x->f, PART_OFF, img, x->part.size), 0);
}

static uint64_t mutations(struct fx *x)
{
	return ota_flash_file_op_count(x->f, OTA_FLASH_OP_MUTATE);
}

/*
 * The reference's §4.7: the official generator's page 0 for namespace
 * "bleota", key "ssid" = "hello" (every CRC recomputed there by hand).
 */
static const uint8_t ref_page0[160] = {
	/* header: ACTIVE, seq 0, version 0xFE, CRC 0xB9BA2D84 */
	0xfe, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0x84, 0x2d, 0xba, 0xb9,
	/* bitmap: entries 0, 1, 2 WRITTEN */
	0xea, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	/* entry 0: namespace "bleota" = 1, CRC 0xD952DCD8 */
	0x00, 0x01, 0x01, 0xff, 0xd8, 0xdc, 0x52, 0xd9, 'b', 'l', 'e', 'o', 't',
	'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff,
	/* entry 1: SZ "ssid", span 2, size 6, data CRC 0x98D28762 */
	0x01, 0x21, 0x02, 0xff, 0x75, 0xa4, 0xed, 0xe7, 's', 's', 'i', 'd', 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x06, 0x00, 0xff, 0xff, 0x62, 0x87,
	0xd2, 0x98,
	/* entry 2: the data */
	'h', 'e', 'l', 'l', 'o', 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
};

static void load_ref(struct fx *x, unsigned int pages)
{
	static uint8_t img[3 * PAGE];

	memset(img, 0xff, sizeof(img));
	memcpy(img, ref_page0, sizeof(ref_page0));
	fx_load(x, pages, img);
}

/* ESP-IDF's CRC convention: esp_rom_crc32_le(0xFFFFFFFF, ...). */
static void test_crc_convention(void **state)
{
	(void)state;
	assert_int_equal(ota_crc32(UINT32_MAX, "123456789", 9), 0xD202D277);
	assert_int_equal(ota_crc32(UINT32_MAX, "", 0), 0xFFFFFFFF);
	/* the example's header CRC covers bytes 4..27 */
	assert_int_equal(ota_crc32(UINT32_MAX, ref_page0 + 4, 24),
			 ota_get_le32(ref_page0 + 28));
	/* an entry's covers bytes 0..3 and 8..31, chained */
	assert_int_equal(ota_crc32(ota_crc32(UINT32_MAX, ref_page0 + 64, 4),
				   ref_page0 + 72, 24),
			 ota_get_le32(ref_page0 + 68));
}

/* Writing the example's content on an erased partition gives its bytes. */
static void test_write_reference(void **state)
{
	uint8_t img[3 * PAGE], want[3 * PAGE];
	struct fx x;

	(void)state;
	fx_new(&x, 3);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "ssid", "hello"),
			 0);
	fx_save(&x, img);
	memset(want, 0xff, sizeof(want));
	memcpy(want, ref_page0, sizeof(ref_page0));
	assert_memory_equal(img, want, sizeof(want));
	ota_flash_file_close(x.f);
}

struct want_rec {
	enum ota_nvs_rec_kind kind;
	uint32_t page;
	int state_or_problem; /* PAGE: state, SKIP: problem */
	uint8_t entry, ns, type;
	const char *key;
};

static void expect_walk(struct fx *x, const struct want_rec *w, size_t n)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	size_t i;

	assert_int_equal(ota_nvs_iter_init(&it, &x->part), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(ota_nvs_iter_next(&it, &r), 0);
		if (r.kind != w[i].kind || r.page != w[i].page)
			fail_msg("record %zu: kind %d page %u", i, r.kind,
				 r.page);
		switch (r.kind) {
		case OTA_NVS_REC_PAGE:
			assert_int_equal(r.state, w[i].state_or_problem);
			break;
		case OTA_NVS_REC_SKIP:
			assert_int_equal(r.problem, w[i].state_or_problem);
			assert_int_equal(r.entry, w[i].entry);
			break;
		case OTA_NVS_REC_ITEM:
			assert_int_equal(r.entry, w[i].entry);
			assert_int_equal(r.ns_index, w[i].ns);
			assert_int_equal(r.type, w[i].type);
			assert_string_equal(r.key, w[i].key);
			break;
		}
	}
	assert_int_equal(ota_nvs_iter_next(&it, &r), -ENOENT);
}

#define P(pg, st)                                                      \
	{                                                              \
		OTA_NVS_REC_PAGE, pg, OTA_NVS_PAGE_##st, 0, 0, 0, NULL \
	}
#define I(pg, e, ns, ty, k)                                          \
	{                                                            \
		OTA_NVS_REC_ITEM, pg, 0, e, ns, OTA_NVS_TYPE_##ty, k \
	}
#define S(pg, e, pr)                                                      \
	{                                                                 \
		OTA_NVS_REC_SKIP, pg, OTA_NVS_PROBLEM_##pr, e, 0, 0, NULL \
	}

static void test_read_reference(void **state)
{
	static const struct want_rec w[] = {
		P(0, ACTIVE),
		I(0, 0, 0, U8, "bleota"),
		I(0, 1, 1, SZ, "ssid"),
		P(1, EMPTY),
		P(2, EMPTY),
	};
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	char buf[16], name[16];
	size_t len = 0;
	struct fx x;

	(void)state;
	load_ref(&x, 3);
	expect_walk(&x, w, ARRAY_SIZE(w));
	assert_int_equal(ota_nvs_get_str(&x.part, "bleota", "ssid", buf,
					 sizeof(buf), &len),
			 0);
	assert_string_equal(buf, "hello");
	assert_int_equal(len, 5);
	assert_int_equal(
		ota_nvs_get_str(&x.part, "bleota", "ssid", buf, 5, NULL),
		-EMSGSIZE);
	assert_int_equal(ota_nvs_get_str(&x.part, "bleota", "pass", buf,
					 sizeof(buf), NULL),
			 -ENOENT);
	assert_int_equal(ota_nvs_get_str(&x.part, "other", "ssid", buf,
					 sizeof(buf), NULL),
			 -ENOENT);
	assert_int_equal(ota_nvs_ns_name(&x.part, 1, name), 0);
	assert_string_equal(name, "bleota");
	assert_int_equal(ota_nvs_ns_name(&x.part, 2, name), -ENOENT);

	/* the item record carries what a listing prints */
	assert_int_equal(ota_nvs_iter_init(&it, &x.part), 0);
	assert_int_equal(ota_nvs_iter_next(&it, &r), 0);
	assert_int_equal(r.seq, 0);
	assert_int_equal(r.version, 0xfe);
	assert_int_equal(ota_nvs_iter_next(&it, &r), 0);
	assert_int_equal(r.data[0], 1);
	assert_int_equal(ota_nvs_read_data(&x.part, &r, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(ota_nvs_iter_next(&it, &r), 0);
	assert_int_equal(r.len, 6);
	assert_int_equal(r.span, 2);
	assert_int_equal(ota_nvs_read_data(&x.part, &r, buf, 5), -EMSGSIZE);
	assert_int_equal(ota_nvs_read_data(&x.part, &r, buf, sizeof(buf)), 6);
	assert_memory_equal(buf, "hello", 6);
	ota_flash_file_close(x.f);
}

static void test_erased_and_args(void **state)
{
	static const struct want_rec w[] = {
		P(0, EMPTY),
		P(1, EMPTY),
		P(2, EMPTY),
		P(3, EMPTY),
	};
	struct ota_nvs_part bad;
	struct ota_nvs_iter it;
	char buf[8], longv[OTA_NVS_STR_MAX + 1];
	struct fx x;

	(void)state;
	fx_new(&x, 4);
	expect_walk(&x, w, ARRAY_SIZE(w));
	assert_int_equal(ota_nvs_get_str(&x.part, "bleota", "fw_tag", buf,
					 sizeof(buf), NULL),
			 -ENOENT);
	bad = x.part;
	bad.off = PART_OFF + 1;
	assert_int_equal(ota_nvs_iter_init(&it, &bad), -EINVAL);
	assert_int_equal(ota_nvs_set_str(&bad, "a", "b", "c"), -EINVAL);
	bad = x.part;
	bad.size = 0;
	assert_int_equal(ota_nvs_iter_init(&it, &bad), -EINVAL);
	bad.size = 2 * PAGE; /* readable, too small to write */
	assert_int_equal(ota_nvs_iter_init(&it, &bad), 0);
	assert_int_equal(ota_nvs_set_str(&bad, "a", "b", "c"), -EINVAL);
	assert_int_equal(ota_nvs_set_str(&x.part, "", "b", "c"), -EINVAL);
	assert_int_equal(ota_nvs_set_str(&x.part, "a", "0123456789abcdef", "c"),
			 -EINVAL);
	assert_int_equal(ota_nvs_get_str(&x.part, "0123456789abcdef", "b", buf,
					 sizeof(buf), NULL),
			 -EINVAL);
	memset(longv, 'v', sizeof(longv));
	longv[OTA_NVS_STR_MAX - 1] = '\0'; /* 4000 bytes with the NUL: ok */
	assert_int_equal(ota_nvs_set_str(&x.part, "a", "b", longv), 0);
	longv[OTA_NVS_STR_MAX - 1] = 'v';
	longv[OTA_NVS_STR_MAX] = '\0';
	assert_int_equal(ota_nvs_set_str(&x.part, "a", "b", longv), -EINVAL);
	ota_flash_file_close(x.f);
}

static void fill(char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (char)(' ' + (seed * 7 + i * 13) % 95);
	buf[len] = '\0';
}

static void test_round_trip(void **state)
{
	static const struct {
		const char *ns, *key;
		size_t len;
	} cases[] = {
		{ "bleota", "fw_tag", 0 },
		{ "bleota", "other", 31 },
		{ "wifi", "ssid", 32 },
		{ "wifi", "pass", 33 },
		{ "a", "b", 1 },
		{ "bleota", "k15chars_______", 128 },
		{ "nvs.net80211", "sta.ssid", 63 },
		{ "big", "v", 3999 },
		{ "wifi", "k", 64 },
	};
	char val[OTA_NVS_STR_MAX], got[OTA_NVS_STR_MAX];
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	size_t i, len, items = 0, skips = 0;
	struct fx x;

	(void)state;
	fx_new(&x, 4);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fill(val, cases[i].len, (unsigned int)i);
		if (ota_nvs_set_str(&x.part, cases[i].ns, cases[i].key, val))
			fail_msg("set %s/%s", cases[i].ns, cases[i].key);
	}
	fx_reboot(&x);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		fill(val, cases[i].len, (unsigned int)i);
		if (ota_nvs_get_str(&x.part, cases[i].ns, cases[i].key, got,
				    sizeof(got), &len))
			fail_msg("get %s/%s", cases[i].ns, cases[i].key);
		assert_string_equal(got, val);
		assert_int_equal(len, cases[i].len);
	}
	/* 5 namespaces + 9 strings, nothing else, nothing skipped */
	assert_int_equal(ota_nvs_iter_init(&it, &x.part), 0);
	while (!ota_nvs_iter_next(&it, &r)) {
		items += r.kind == OTA_NVS_REC_ITEM;
		skips += r.kind == OTA_NVS_REC_SKIP;
	}
	assert_int_equal(items, 5 + ARRAY_SIZE(cases));
	assert_int_equal(skips, 0);
	ota_flash_file_close(x.f);
}

static unsigned int count_items(struct fx *x, const char *key,
				unsigned int *skips)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	unsigned int n = 0;

	*skips = 0;
	assert_int_equal(ota_nvs_iter_init(&it, &x->part), 0);
	while (!ota_nvs_iter_next(&it, &r)) {
		n += r.kind == OTA_NVS_REC_ITEM && !strcmp(r.key, key);
		*skips += r.kind == OTA_NVS_REC_SKIP;
	}
	return n;
}

static unsigned int free_pages(struct fx *x)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	unsigned int n = 0;

	assert_int_equal(ota_nvs_iter_init(&it, &x->part), 0);
	while (!ota_nvs_iter_next(&it, &r))
		n += r.kind == OTA_NVS_REC_PAGE &&
		     (r.state == OTA_NVS_PAGE_EMPTY ||
		      r.state == OTA_NVS_PAGE_CORRUPT);
	return n;
}

/*
 * Rewriting the tag far beyond what the pages hold: pages fill, the
 * fullest-of-erased page is reclaimed when only ESP-IDF's reserve page is
 * left, and at every step the tag reads back, once, with a free page kept.
 */
static void test_overwrite_many(void **state)
{
	static const struct {
		unsigned int pages;
		size_t len;
	} cases[] = {
		{ 3, 6 },
		{ 3, OTA_NVS_TAG_MAX },
		{ 4, OTA_NVS_TAG_MAX },
		{ 3, 1000 },
	};
	char tag[1001], got[1001];
	unsigned int n, skips;
	size_t k;
	struct fx x;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		fx_new(&x, cases[k].pages);
		for (n = 0; n < 600; n++) {
			fill(tag, cases[k].len, n);
			if (ota_nvs_set_str(&x.part, OTA_NVS_TAG_NAMESPACE,
					    OTA_NVS_TAG_KEY, tag))
				fail_msg("len %zu: update %u failed",
					 cases[k].len, n);
			assert_int_equal(ota_nvs_get_str(&x.part,
							 OTA_NVS_TAG_NAMESPACE,
							 OTA_NVS_TAG_KEY, got,
							 sizeof(got), NULL),
					 0);
			assert_string_equal(got, tag);
			assert_int_equal(
				count_items(&x, OTA_NVS_TAG_KEY, &skips), 1);
			assert_int_equal(skips, 0);
			assert_true(free_pages(&x) >= 1);
		}
		/* pages were reclaimed (erased) along the way */
		assert_true(ota_flash_file_op_count(x.f, OTA_FLASH_OP_ERASE) >
			    0);
		ota_flash_file_close(x.f);
	}
}

/* A partition full of live strings: -ENOSPC, and nothing changed. */
static void test_full_enospc(void **state)
{
	static uint8_t before[3 * PAGE], after[3 * PAGE];
	char key[16], val[101];
	unsigned int n;
	struct fx x;
	int err;

	(void)state;
	fx_new(&x, 3);
	for (n = 0;; n++) {
		snprintf(key, sizeof(key), "k%u", n);
		fill(val, 100, n);
		err = ota_nvs_set_str(&x.part, "bleota", key, val);
		if (err)
			break;
	}
	assert_int_equal(err, -ENOSPC);
	/* 1 namespace + 5 entries each: two usable pages, 25 + 25 */
	assert_int_equal(n, 50);
	fx_save(&x, before);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "k0", "x"),
			 -ENOSPC);
	assert_int_equal(ota_nvs_set_str(&x.part, "other", "k", "x"), -ENOSPC);
	fx_save(&x, after);
	assert_memory_equal(before, after, sizeof(before));
	/* the same value again needs no room */
	fill(val, 100, 0);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "k0", val), 0);
	fx_save(&x, after);
	assert_memory_equal(before, after, sizeof(before));
	ota_flash_file_close(x.f);
}

static void test_same_value_no_write(void **state)
{
	struct fx x;
	uint64_t ops_before;

	(void)state;
	fx_new(&x, 3);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "fw_tag", "v1"), 0);
	ops_before = mutations(&x);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "fw_tag", "v1"), 0);
	assert_int_equal(mutations(&x), ops_before);
	ota_flash_file_close(x.f);
}

/* ----- corruption ------------------------------------------------------- */

/* Give the 32-byte entry @e a correct CRC (bytes 0..3 and 8..31). */
static void seal_entry(uint8_t *e)
{
	ota_put_le32(e + 4, ota_crc32(ota_crc32(UINT32_MAX, e, 4), e + 8, 24));
}

/* Re-seal entry @i of page 0 (after editing it). */
static void reseal_entry(uint8_t *img, unsigned int i)
{
	seal_entry(img + 64 + 32 * i);
}

enum mutation {
	M_HEADER_CRC,
	M_PAGE_STATE,
	M_NEW_VERSION,
	M_ENTRY_CRC,
	M_DATA_CRC,
	M_DATA_UNMARKED,
	M_ILLEGAL_STATE,
	M_SPAN,
	M_UNKNOWN_TYPE,
	M_EMPTY_NOT_BLANK,
	M_V1_PAGE,
	M_GARBAGE_AFTER_END,
	M_ERASED_AFTER_END,
};

static void mutate(uint8_t *img, enum mutation m)
{
	switch (m) {
	case M_HEADER_CRC:
		img[29] ^= 0x01;
		break;
	case M_PAGE_STATE: /* CORRUPT (0xFFFFFFF0), never written by IDF */
		img[0] = 0xf0;
		break;
	case M_NEW_VERSION:
		img[8] = 0xfd;
		ota_put_le32(img + 28, ota_crc32(UINT32_MAX, img + 4, 24));
		break;
	case M_ENTRY_CRC:
		img[96 + 4] ^= 0x80;
		break;
	case M_DATA_CRC:
		img[128] = 'j';
		break;
	case M_DATA_UNMARKED: /* bitmap: entry 2 EMPTY, its bytes written */
		img[32] = 0xfa;
		break;
	case M_ILLEGAL_STATE: /* entry 0: 01 */
		img[32] = 0xe9;
		break;
	case M_SPAN:
		img[96 + 2] = 3;
		reseal_entry(img, 1);
		break;
	case M_UNKNOWN_TYPE:
		img[96 + 1] = 0x33;
		reseal_entry(img, 1);
		break;
	case M_EMPTY_NOT_BLANK:
		img[PAGE + 100] = 0x00;
		break;
	case M_GARBAGE_AFTER_END: /* entry 4, after the free entry 3 */
		img[64 + 4 * 32 + 7] = 0x00;
		break;
	case M_ERASED_AFTER_END: /* entry 4 ERASED, its bytes blank */
		img[33] = 0xfc;
		break;
	case M_V1_PAGE: /* version 1 pages are read too */
		img[8] = 0xff;
		ota_put_le32(img + 28, ota_crc32(UINT32_MAX, img + 4, 24));
		break;
	}
}

static void test_corrupt(void **state)
{
	static const struct {
		const char *name;
		enum mutation m;
		struct want_rec w[6];
		size_t n;
		int get; /* ota_nvs_get_str("bleota", "ssid") */
		int set; /* then ota_nvs_set_str() */
	} cases[] = {
		{ "header-crc",
		  M_HEADER_CRC,
		  { P(0, CORRUPT), P(1, EMPTY), P(2, EMPTY) },
		  3,
		  -ENOENT,
		  0 },
		{ "page-state",
		  M_PAGE_STATE,
		  { P(0, CORRUPT), P(1, EMPTY), P(2, EMPTY) },
		  3,
		  -ENOENT,
		  0 },
		{ "new-version",
		  M_NEW_VERSION,
		  { P(0, CORRUPT), P(1, EMPTY), P(2, EMPTY) },
		  3,
		  -ENOENT,
		  -EPROTO },
		{ "entry-crc",
		  M_ENTRY_CRC,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"), S(0, 1, ENTRY_CRC),
		    S(0, 2, ENTRY_CRC), P(1, EMPTY), P(2, EMPTY) },
		  6,
		  -ENOENT,
		  0 },
		{ "data-crc",
		  M_DATA_CRC,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"), S(0, 1, DATA_CRC),
		    P(1, EMPTY), P(2, EMPTY) },
		  5,
		  -ENOENT,
		  0 },
		{ "data-unmarked",
		  M_DATA_UNMARKED,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"), S(0, 1, INCOMPLETE),
		    S(0, 2, TORN), P(1, EMPTY), P(2, EMPTY) },
		  6,
		  -ENOENT,
		  0 },
		{ "illegal-state",
		  M_ILLEGAL_STATE,
		  { P(0, ACTIVE), S(0, 0, ENTRY_STATE), I(0, 1, 1, SZ, "ssid"),
		    P(1, EMPTY), P(2, EMPTY) },
		  5,
		  -ENOENT, /* the namespace entry is gone */
		  0 },
		{ "span",
		  M_SPAN,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"), S(0, 1, HEADER),
		    S(0, 2, ENTRY_CRC), P(1, EMPTY), P(2, EMPTY) },
		  6,
		  -ENOENT,
		  0 },
		{ "unknown-type",
		  M_UNKNOWN_TYPE,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"), S(0, 1, HEADER),
		    S(0, 2, ENTRY_CRC), P(1, EMPTY), P(2, EMPTY) },
		  6,
		  -ENOENT,
		  0 },
		{ "empty-not-blank",
		  M_EMPTY_NOT_BLANK,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"),
		    I(0, 1, 1, SZ, "ssid"), P(1, CORRUPT), P(2, EMPTY) },
		  5,
		  0,
		  0 },
		{ "garbage-after-end", /* not written over: a new page */
		  M_GARBAGE_AFTER_END,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"),
		    I(0, 1, 1, SZ, "ssid"), P(1, EMPTY), P(2, EMPTY) },
		  5,
		  0,
		  0 },
		{ "erased-after-end", /* not marked WRITTEN again: new page */
		  M_ERASED_AFTER_END,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"),
		    I(0, 1, 1, SZ, "ssid"), P(1, EMPTY), P(2, EMPTY) },
		  5,
		  0,
		  0 },
		{ "version-1",
		  M_V1_PAGE,
		  { P(0, ACTIVE), I(0, 0, 0, U8, "bleota"),
		    I(0, 1, 1, SZ, "ssid"), P(1, EMPTY), P(2, EMPTY) },
		  5,
		  0,
		  0 },
	};
	static uint8_t img[3 * PAGE];
	char buf[32];
	unsigned int skips;
	size_t i;
	struct fx x;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(img, 0xff, sizeof(img));
		memcpy(img, ref_page0, sizeof(ref_page0));
		mutate(img, cases[i].m);
		fx_load(&x, 3, img);
		print_message("%s\n", cases[i].name);
		expect_walk(&x, cases[i].w, cases[i].n);
		assert_int_equal(ota_nvs_get_str(&x.part, "bleota", "ssid", buf,
						 sizeof(buf), NULL),
				 cases[i].get);
		assert_int_equal(
			ota_nvs_set_str(&x.part, "bleota", "ssid", "world"),
			cases[i].set);
		if (!cases[i].set) {
			/* written, read back, and nothing left to skip */
			assert_int_equal(ota_nvs_get_str(&x.part, "bleota",
							 "ssid", buf,
							 sizeof(buf), NULL),
					 0);
			assert_string_equal(buf, "world");
			assert_int_equal(count_items(&x, "ssid", &skips), 1);
			assert_int_equal(skips, 0);
		}
		ota_flash_file_close(x.f);
	}
}

/* A string whose key holds another type is refused, as nvs_set_str does. */
static void test_other_type(void **state)
{
	static uint8_t img[3 * PAGE];
	struct fx x;

	(void)state;
	memset(img, 0xff, sizeof(img));
	memcpy(img, ref_page0, sizeof(ref_page0));
	/* entry 1 becomes a U8 "ssid" = 7, span 1; entry 2 becomes free */
	memset(img + 96 + 24, 0xff, 8);
	img[96 + 1] = OTA_NVS_TYPE_U8;
	img[96 + 2] = 1;
	img[96 + 24] = 7;
	reseal_entry(img, 1);
	memset(img + 128, 0xff, 32);
	img[32] = 0xfa;
	fx_load(&x, 3, img);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "ssid", "s"),
			 -EEXIST);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "other", "s"), 0);
	ota_flash_file_close(x.f);
}

/*
 * A page turned FULL must not bring back slots that were WRITTEN after its
 * active end (found by fuzz_nvs): in a FULL page ESP-IDF reads them all.
 */
static void test_full_page_sealed(void **state)
{
	static uint8_t img[3 * PAGE];
	static char big[OTA_NVS_STR_MAX];
	unsigned int skips;
	struct fx x;

	(void)state;
	memset(img, 0xff, sizeof(img));
	memcpy(img, ref_page0, sizeof(ref_page0));
	img[32 + 10 / 4] = 0xfb; /* entry 10 WRITTEN, its bytes blank */
	fx_load(&x, 3, img);
	fill(big, sizeof(big) - 1, 3); /* 4000 bytes: a page of its own */
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "big", big), 0);
	assert_int_equal(count_items(&x, "big", &skips), 1);
	assert_int_equal(skips, 0);
	ota_flash_file_close(x.f);
}

/* `bleota flash info`'s listing: every record, control bytes escaped. */
static void test_print(void **state)
{
	static const char *const want[] = {
		"nvs \"nvs\" (0x9000, 3 pages):\n"
		"  page 0 (0x9000): ACTIVE, seq 0, format v2\n"
		"    namespace bleota = 1\n"
		"    bleota:fw_tag  str  \"v1\\n\\x01\\\"\\\\\\xc3\\xa9\"\n"
		"    namespace wifi = 2\n"
		"    entry 4: skipped: entry CRC mismatch\n"
		"    entry 5: skipped: entry CRC mismatch\n"
		"    wifi:n  i16  -2\n"
		"  page 1 (0xa000): EMPTY\n"
		"  page 2 (0xb000): CORRUPT: page header CRC mismatch, "
		"skipped\n"
		"  firmware version tag (bleota:fw_tag): "
		"\"v1\\n\\x01\\\"\\\\\\xc3\\xa9\"\n",
	};
	uint8_t e[32], hdr[4] = { 0xfe, 0xff, 0xff, 0xff };
	char *text = NULL;
	size_t len = 0;
	struct fx x;
	FILE *fp;

	(void)state;
	fx_new(&x, 3);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "fw_tag",
					 "v1\n\x01\"\\\xc3\xa9"),
			 0);
	assert_int_equal(ota_nvs_set_str(&x.part, "wifi", "ssid", "home"), 0);
	/* break the "ssid" entry (4), add an I16 "n" = -2 at entry 6 */
	assert_int_equal(ops->write(x.f, PART_OFF + 64 + 4 * 32 + 4, "\x00", 1),
			 0);
	memset(e, 0xff, sizeof(e));
	e[0] = 2;
	e[1] = OTA_NVS_TYPE_I16;
	e[2] = 1;
	memset(e + 8, 0, 16);
	e[8] = 'n';
	ota_put_le16(e + 24, 0xfffe);
	seal_entry(e);
	assert_int_equal(ops->write(x.f, PART_OFF + 64 + 6 * 32, e, 32), 0);
	assert_int_equal(ops->write(x.f, PART_OFF + 33, "\xea", 1), 0);
	/* page 2: a header without a CRC */
	assert_int_equal(ops->write(x.f, PART_OFF + 2 * PAGE, hdr, 4), 0);

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	assert_int_equal(nvs_print(fp, &x.part, "nvs"), 0);
	fclose(fp);
	assert_string_equal(text, want[0]);
	free(text);
	ota_flash_file_close(x.f);
}

/*
 * A slot's tag key holds the image's SHA-256 in hex and the tag run
 * together ("...dd85e2.1.0"): the listing spells the two apart, and says
 * "no tag" for the digits alone; a value that is not hex digits first is
 * shown as it is.
 */
static void test_print_slot_tags(void **state)
{
	static const char hex[] = "7f0a2625ecfd9bd5bc974cce35b7b8da"
				  "1a24e6f49ee27f18c760914d504dd85e";
	char v[160], *text = NULL;
	size_t len = 0;
	struct fx x;
	FILE *fp;

	(void)state;
	fx_new(&x, 3);
	snprintf(v, sizeof(v), "%s2.1.0", hex);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "tag_ota_0", v), 0);
	assert_int_equal(ota_nvs_set_str(&x.part, "bleota", "tag_ota_1", hex),
			 0);
	assert_int_equal(
		ota_nvs_set_str(&x.part, "bleota", "tag_ota_2", "short\x1b"),
		0);
	assert_int_equal(ota_nvs_set_str(&x.part, "app", "tag_ota_3", v), 0);
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	assert_int_equal(nvs_print(fp, &x.part, "nvs"), 0);
	fclose(fp);
	assert_non_null(strstr(text, "    bleota:tag_ota_0  str  \""));
	assert_non_null(strstr(text, "dd85e2.1.0\"\n"
				     "      = tag \"2.1.0\" for the image with "
				     "SHA-256 7f0a2625ecfd9bd5...\n"));
	assert_non_null(strstr(text, "dd85e\"\n"
				     "      = no tag for the image with "
				     "SHA-256 7f0a2625ecfd9bd5...\n"));
	assert_non_null(strstr(text, "    bleota:tag_ota_2  str  "
				     "\"short\\x1b\"\n    namespace app"));
	/* only the bleota namespace's keys are the engine's */
	assert_non_null(strstr(text, "    app:tag_ota_3  str  \""));
	assert_null(strstr(strstr(text, "app:tag_ota_3"), "= tag"));
	free(text);
	ota_flash_file_close(x.f);
}

/* `bleota flash info FILE` lists the tag a device stored, escaped. */
static void test_flash_info(void **state)
{
	char path[512], out[8192];
	struct ota_flash_file *f;
	struct ota_nvs_part part;
	int err = 0;

	(void)state;
	e2e_init();
	tmpdir_path(path, sizeof(path), "info.bin");
	assert_int_equal(
		e2e_bleota(out, sizeof(out),
			   "flash create %s --size 4M --layout two-ota", path),
		0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "flash info %s", path),
			 0);
	assert_non_null(strstr(out, "nvs \"nvs\" (0x9000, 4 pages):\n"
				    "  page 0 (0x9000): EMPTY\n"));
	assert_non_null(
		strstr(out, "firmware version tag (bleota:fw_tag): none\n"));
	f = ota_flash_file_open(path, 0, 0, &err);
	assert_non_null(f);
	part = (struct ota_nvs_part){ ops, f, 0x9000, 0x4000 };
	assert_int_equal(ota_nvs_set_str(&part, OTA_NVS_TAG_NAMESPACE,
					 OTA_NVS_TAG_KEY, "v2.0\x1b[31m"),
			 0);
	ota_flash_file_close(f);
	assert_int_equal(e2e_bleota(out, sizeof(out), "flash info %s", path),
			 0);
	assert_non_null(strstr(out, "    bleota:fw_tag  str  "
				    "\"v2.0\\x1b[31m\"\n"));
	assert_non_null(strstr(out, "firmware version tag (bleota:fw_tag): "
				    "\"v2.0\\x1b[31m\"\n"));
	assert_null(strchr(out, '\x1b'));
}

/* ----- power cuts ------------------------------------------------------- */

struct cut_case {
	const char *name;
	unsigned int pages;
	unsigned int prefill; /* updates before the old tag */
	size_t len;           /* tag length */
	bool no_old;          /* erased partition: old = absent */
	bool tag_in_victim;   /* the reclaimed page holds the old tag */
	bool reclaims;        /* the update reclaims a page (erases one) */
};

static void set_n(struct fx *x, const char *key, unsigned int times)
{
	char v[OTA_NVS_TAG_MAX + 1];

	while (times--) {
		fill(v, OTA_NVS_TAG_MAX, times);
		assert_int_equal(ota_nvs_set_str(&x->part, "bleota", key, v),
				 0);
	}
}

/*
 * Page 0: the namespace, the tag and erased "pad"s; page 1: "pad2" and
 * the last "pad", full. The next tag needs a page, only the reserve is
 * free, and page 0 has the most to reclaim: the tag moves, then changes.
 */
static void setup_tag_in_victim(struct fx *x, char *old)
{
	fill(old, OTA_NVS_TAG_MAX, 1000);
	assert_int_equal(ota_nvs_set_str(&x->part, OTA_NVS_TAG_NAMESPACE,
					 OTA_NVS_TAG_KEY, old),
			 0);
	set_n(x, "pad", 20);
	set_n(x, "pad2", 1);
	set_n(x, "pad", 19);
	assert_int_equal(free_pages(x), 1);
}

static void make_base(const struct cut_case *c, uint8_t *img, char *old,
		      char *new_tag)
{
	struct fx x;
	unsigned int i;

	fx_new(&x, c->pages);
	if (c->tag_in_victim)
		setup_tag_in_victim(&x, old);
	for (i = 0; !c->no_old && !c->tag_in_victim && i <= c->prefill; i++) {
		fill(old, c->len, 1000 + i);
		assert_int_equal(ota_nvs_set_str(&x.part, OTA_NVS_TAG_NAMESPACE,
						 OTA_NVS_TAG_KEY, old),
				 0);
	}
	if (c->no_old)
		old[0] = '\0';
	fill(new_tag, c->len, 7);
	fx_save(&x, img);
	ota_flash_file_close(x.f);
}

static void test_power_cut(void **state)
{
	static const struct cut_case cases[] = {
		{ "erased", 3, 0, 20, true, false, false },
		{ "same-page", 3, 3, 40, false, false, false },
		{ "page-full", 3, 19, OTA_NVS_TAG_MAX, false, false, false },
		{ "second-page", 4, 25, OTA_NVS_TAG_MAX, false, false, false },
		{ "short", 3, 10, 6, false, false, false },
		{ "reclaim", 3, 40, OTA_NVS_TAG_MAX, false, false, true },
		{ "reclaim-moves-tag", 3, 0, OTA_NVS_TAG_MAX, false, true,
		  true },
	};
	static uint8_t img[4 * PAGE];
	char old[OTA_NVS_TAG_MAX + 1], new_tag[OTA_NVS_TAG_MAX + 1];
	char got[OTA_NVS_TAG_MAX + 1], next[16];
	unsigned int skips, cuts = 0, olds = 0, news = 0;
	uint64_t total, n;
	size_t i;
	int torn, err;
	struct fx x;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		make_base(&cases[i], img, old, new_tag);
		fx_load(&x, cases[i].pages, img);
		total = mutations(&x);
		assert_int_equal(ota_nvs_set_str(&x.part, OTA_NVS_TAG_NAMESPACE,
						 OTA_NVS_TAG_KEY, new_tag),
				 0);
		total = mutations(&x) - total;
		assert_int_equal(
			ota_flash_file_op_count(x.f, OTA_FLASH_OP_ERASE) > 0,
			cases[i].reclaims);
		ota_flash_file_close(x.f);
		for (torn = 0; torn < 2; torn++) {
			for (n = 0; n < total; n++) {
				fx_load(&x, cases[i].pages, img);
				ota_flash_file_cut_at(x.f, mutations(&x) + n,
						      OTA_FLASH_OP_MUTATE,
						      torn);
				err = ota_nvs_set_str(&x.part,
						      OTA_NVS_TAG_NAMESPACE,
						      OTA_NVS_TAG_KEY, new_tag);
				assert_int_equal(err, -EIO);
				fx_reboot(&x);
				err = ota_nvs_get_str(&x.part,
						      OTA_NVS_TAG_NAMESPACE,
						      OTA_NVS_TAG_KEY, got,
						      sizeof(got), NULL);
				if (err == -ENOENT && cases[i].no_old) {
					olds++;
				} else {
					if (err)
						fail_msg("%s cut %u%s: %d",
							 cases[i].name,
							 (unsigned int)n,
							 torn ? " torn" : "",
							 err);
					if (!strcmp(got, old)) {
						olds++;
					} else if (!strcmp(got, new_tag)) {
						news++;
					} else {
						fail_msg("%s cut %u%s: '%s'",
							 cases[i].name,
							 (unsigned int)n,
							 torn ? " torn" : "",
							 got);
					}
				}
				/* the next update succeeds and is clean */
				snprintf(next, sizeof(next), "after-%u",
					 (unsigned int)n);
				assert_int_equal(
					ota_nvs_set_str(&x.part,
							OTA_NVS_TAG_NAMESPACE,
							OTA_NVS_TAG_KEY, next),
					0);
				assert_int_equal(
					ota_nvs_get_str(&x.part,
							OTA_NVS_TAG_NAMESPACE,
							OTA_NVS_TAG_KEY, got,
							sizeof(got), NULL),
					0);
				assert_string_equal(got, next);
				assert_int_equal(count_items(&x,
							     OTA_NVS_TAG_KEY,
							     &skips),
						 1);
				if (skips)
					fail_msg("%s cut %u%s: %u skipped "
						 "entries left",
						 cases[i].name, (unsigned int)n,
						 torn ? " torn" : "", skips);
				ota_flash_file_close(x.f);
				cuts++;
			}
		}
	}
	print_message("power cuts: %u (old value %u, new value %u)\n", cuts,
		      olds, news);
	assert_true(olds > 0 && news > 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/nvs/crc/convention", test_crc_convention, NULL, NULL,
		  NULL },
		{ "/nvs/write/reference-example", test_write_reference, NULL,
		  NULL, NULL },
		{ "/nvs/read/reference-example", test_read_reference, NULL,
		  NULL, NULL },
		{ "/nvs/read/erased-and-args", test_erased_and_args, NULL, NULL,
		  NULL },
		{ "/nvs/write/round-trip", test_round_trip, NULL, NULL, NULL },
		{ "/nvs/write/overwrite-many", test_overwrite_many, NULL, NULL,
		  NULL },
		{ "/nvs/write/full-enospc", test_full_enospc, NULL, NULL,
		  NULL },
		{ "/nvs/write/same-value-no-write", test_same_value_no_write,
		  NULL, NULL, NULL },
		{ "/nvs/read/corrupt-skipped", test_corrupt, NULL, NULL, NULL },
		{ "/nvs/write/other-type", test_other_type, NULL, NULL, NULL },
		{ "/nvs/write/full-page-sealed", test_full_page_sealed, NULL,
		  NULL, NULL },
		{ "/nvs/print/listing", test_print, NULL, NULL, NULL },
		{ "/nvs/print/slot-tags", test_print_slot_tags, NULL, NULL,
		  NULL },
		{ "/nvs/print/flash-info", test_flash_info, NULL, NULL, NULL },
		{ "/nvs/write/power-cut", test_power_cut, NULL, NULL, NULL },
	};
	int rc = cmocka_run_group_tests_name("nvs", tests, NULL, NULL);

	tmpdir_cleanup();
	return rc;
}
