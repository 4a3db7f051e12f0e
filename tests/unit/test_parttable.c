/* SPDX-License-Identifier: MIT */
/*
 * Partition table: binary verification as the bootloader does it (valid,
 * every rejection), the engine layout, and the gen_esp32part-style CSV
 * parser/writer (auto offsets, suffixes, alignment/overlap errors naming the
 * line, bin -> csv -> bin round trip).
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

#include "host/partcsv.h"
#include "ota_engine/parttable.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CHIP_4M       0x400000u

static void build(const char *csv, uint8_t bin[OTA_PARTTABLE_MAX_LEN], bool md5)
{
	static struct ota_partcsv t;
	char err[256] = "";

	if (ota_partcsv_parse(csv, OTA_PARTTABLE_OFFSET, 0, &t, err,
			      sizeof(err)))
		fail_msg("csv: %s", err);
	assert_int_equal(ota_partcsv_to_bin(&t, md5, bin), 0);
}

static void test_two_ota_builtin(void **state)
{
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	struct ota_layout l;
	enum ota_parttable_err e;

	(void)state;
	build(ota_partcsv_two_ota, bin, true);
	assert_int_equal(ota_parttable_parse(bin, sizeof(bin), CHIP_4M, &l, &e),
			 0);
	assert_int_equal(e, OTA_PARTTABLE_OK);
	assert_int_equal(l.ota_count, 2);
	assert_int_equal(l.ota_off[0], 0x10000);
	assert_int_equal(l.ota_off[1], 0x110000);
	assert_int_equal(l.ota_size[1], 0x100000);
	assert_true(l.has_otadata);
	assert_int_equal(l.otadata_off, 0xd000);
	assert_false(l.has_factory);
	assert_true(l.has_journal);
	assert_int_equal(l.journal_off, 0x210000);
	assert_int_equal(l.journal_size, 0x4000);
	/* the nvs partition, where the version tag lives */
	assert_true(l.has_nvs);
	assert_int_equal(l.nvs_off, 0x9000);
	assert_int_equal(l.nvs_size, 0x4000);
}

/* Two data/nvs partitions: the first one holds the tag; none: no tag. */
static void test_nvs_first(void **state)
{
	static const char two_nvs[] =
		"nvs,      data, nvs,   0x9000,  0x4000,\n"
		"otadata,  data, ota,   0xd000,  0x2000,\n"
		"ota_0,    app,  ota_0, 0x10000, 1M,\n"
		"nvs_keys, data, nvs,   0x110000, 0x3000,\n";
	static const char no_nvs[] = "otadata,  data, ota,   0xd000,  0x2000,\n"
				     "ota_0,    app,  ota_0, 0x10000, 1M,\n";
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	struct ota_layout l;

	(void)state;
	build(two_nvs, bin, true);
	assert_int_equal(
		ota_parttable_parse(bin, sizeof(bin), CHIP_4M, &l, NULL), 0);
	assert_true(l.has_nvs);
	assert_int_equal(l.nvs_off, 0x9000);
	assert_int_equal(l.nvs_size, 0x4000);
	build(no_nvs, bin, true);
	assert_int_equal(
		ota_parttable_parse(bin, sizeof(bin), CHIP_4M, &l, NULL), 0);
	assert_false(l.has_nvs);
}

/* partitions_two_ota.csv from ESP-IDF, offsets left to the tool */
static const char idf_two_ota[] =
	"# Name,   Type, SubType, Offset,   Size, Flags\n"
	"nvs,      data, nvs,     ,        0x4000,\n"
	"otadata,  data, ota,     ,        0x2000,\n"
	"phy_init, data, phy,     ,        0x1000,\n"
	"factory,  app,  factory, ,        1M,\n"
	"ota_0,    app,  ota_0,   ,        1M,\n"
	"ota_1,    app,  ota_1,   ,        1M,\n";

static void test_csv_auto_offsets(void **state)
{
	static const uint32_t want_off[] = { 0x9000,  0xd000,   0xf000,
					     0x10000, 0x110000, 0x210000 };
	static struct ota_partcsv t;
	char err[256];
	size_t i;

	(void)state;
	assert_int_equal(ota_partcsv_parse(idf_two_ota, OTA_PARTTABLE_OFFSET,
					   CHIP_4M, &t, err, sizeof(err)),
			 0);
	assert_int_equal(t.count, 6);
	for (i = 0; i < ARRAY_SIZE(want_off); i++)
		assert_int_equal(t.part[i].offset, want_off[i]);
	assert_int_equal(t.part[3].size, 0x100000);
	assert_int_equal(t.part[4].subtype, 0x10);
	assert_int_equal(t.part[5].subtype, 0x11);
	assert_string_equal(t.part[2].label, "phy_init");
}

static void test_csv_numbers(void **state)
{
	static struct ota_partcsv t;
	char err[256];

	(void)state;
	setenv("BLEOTA_TEST_SZ", "0x10K", 1);
	assert_int_equal(
		ota_partcsv_parse("a, data, nvs, 0x9000, 16k\n"
				  "b, data, 0x99, , $BLEOTA_TEST_SZ, readonly\n"
				  "c, app, ota_0, , -0x200000\n"
				  "d, data, , 2M, 4096, encrypted:readonly\n"
				  "e, 0x40, 0x01, , 8K\n",
				  OTA_PARTTABLE_OFFSET, CHIP_4M, &t, err,
				  sizeof(err)),
		0);
	assert_int_equal(t.part[0].size, 0x4000);
	assert_int_equal(t.part[1].offset, 0xd000);
	assert_int_equal(t.part[1].size, 0x4000);
	assert_int_equal(t.part[1].subtype, 0x99);
	assert_int_equal(t.part[1].flags, OTA_PART_FLAG_READONLY);
	assert_int_equal(t.part[2].offset, 0x20000);
	assert_int_equal(t.part[2].size, 0x200000 - 0x20000);
	assert_int_equal(t.part[3].offset, 0x200000);
	assert_int_equal(t.part[3].subtype, 0x06);
	assert_int_equal(t.part[3].flags, 3);
	assert_int_equal(t.part[4].type, 0x40);
	assert_int_equal(t.part[4].offset, 0x201000);
}

static void test_csv_errors(void **state)
{
	static const struct {
		const char *name;
		const char *csv;
		const char *msg; /* substring of the error */
	} cases[] = {
		{ "unaligned-app", "\n\na, app, ota_0, 0x11000, 64K\n",
		  "line 3: offset 0x11000 is not aligned" },
		{ "unaligned-data", "a, data, nvs, 0x9100, 16K\n",
		  "line 1: offset 0x9100 is not aligned" },
		{ "overlap",
		  "a, data, nvs, 0x9000, 0x4000\nb, data, phy, 0xa000, "
		  "0x1000\n",
		  "line 2: 'b' overlaps 'a' (line 1)" },
		{ "below-table", "a, data, nvs, 0x8000, 0x4000\n",
		  "line 1: 'a' at 0x8000 is below the end" },
		{ "dup-name",
		  "a, data, nvs, , 0x4000\na, data, phy, , 0x1000\n",
		  "line 2: duplicate name 'a' (first on line 1)" },
		{ "otadata-size", "o, data, ota, , 0x3000\n",
		  "line 1: otadata must be exactly 0x2000" },
		{ "two-otadata", "o, data, ota, , 8K\np, data, ota, , 8K\n",
		  "line 2: more than one data/ota" },
		{ "otadata-ro", "o, data, ota, , 8K, readonly\n",
		  "line 1: otadata and coredump cannot be readonly" },
		{ "small-nvs", "n, data, nvs, , 0x2000\n",
		  "line 1: NVS smaller than 0x3000 must be readonly" },
		{ "app-size", "a, app, factory, , 0x10800\n",
		  "line 1: app size 0x10800 is not a multiple of 0x1000" },
		{ "bad-type", "a, blob, nvs, , 4K\n", "line 1: unknown type" },
		{ "bad-subtype", "a, app, ota_16, , 64K\n",
		  "line 1: unknown subtype 'ota_16'" },
		{ "no-app-subtype", "a, app, , , 64K\n",
		  "line 1: unknown subtype" },
		{ "bad-size", "a, data, nvs, , 12Q\n",
		  "line 1: bad or missing size" },
		{ "no-size", "a, data, nvs, 0x9000\n",
		  "line 1: bad or missing size" },
		{ "bad-flag", "a, data, nvs, , 16K, secret\n",
		  "line 1: unknown flag" },
		{ "long-name", "abcdefghijklmnopq, data, nvs, , 16K\n",
		  "line 1: name 'abcdefghijklmnopq' is longer than 16" },
		{ "unknown-var", "a, data, nvs, , $BLEOTA_NO_SUCH_VAR\n",
		  "line 1: unknown variable $BLEOTA_NO_SUCH_VAR" },
		{ "beyond-flash", "a, app, factory, , 4M\n",
		  "line 1: 'a' ends at 0x410000, beyond the 0x400000-byte "
		  "flash" },
		{ "empty", "# nothing\n\n", "no partitions" },
		{ "too-many-fields", "a, data, nvs, , 16K, , x\n",
		  "line 1: too many fields" },
		{ "tee-otadata-size", "t, data, tee_ota, , 0x3000\n",
		  "line 1: tee_ota must be exactly 0x2000" },
		{ "two-tee-otadata",
		  "t, data, tee_ota, , 8K\nu, data, tee_ota, , 8K\n",
		  "line 2: more than one data/tee_ota" },
	};
	static struct ota_partcsv t;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		char err[256] = "";

		if (ota_partcsv_parse(cases[i].csv, OTA_PARTTABLE_OFFSET,
				      CHIP_4M, &t, err, sizeof(err)) != -EINVAL)
			fail_msg("%s: accepted", cases[i].name);
		if (!strstr(err, cases[i].msg))
			fail_msg("%s: got '%s', want '%s'", cases[i].name, err,
				 cases[i].msg);
	}
}

static void test_md5_entry_layout(void **state)
{
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	unsigned int i;

	(void)state;
	build(idf_two_ota, bin, true);
	/* 6 entries, MD5 entry at index 6, end marker, 0xFF to 0xC00 */
	assert_int_equal(bin[6 * 32], 0xeb);
	assert_int_equal(bin[6 * 32 + 1], 0xeb);
	for (i = 2; i < 16; i++)
		assert_int_equal(bin[6 * 32 + i], 0xff);
	for (i = 7 * 32; i < OTA_PARTTABLE_MAX_LEN; i++)
		assert_int_equal(bin[i], 0xff);
	assert_int_equal(bin[0], 0xaa);
	assert_int_equal(bin[1], 0x50);
}

enum mutation {
	MUT_NONE,
	MUT_BAD_MAGIC,
	MUT_MD5_BYTE,
	MUT_MD5_DUP,
	MUT_NO_END,
	MUT_EMPTY,
	MUT_RANGE,
	MUT_NO_MD5,
	MUT_LABEL16,
};

static void test_binary_vectors(void **state)
{
	static const struct {
		const char *name;
		const char *csv;
		enum mutation mut;
		uint32_t chip;
		int rc;
		enum ota_parttable_err err;
	} cases[] = {
		{ "/valid/idf-two-ota", idf_two_ota, MUT_NONE, CHIP_4M, 0,
		  OTA_PARTTABLE_OK },
		{ "/valid/no-md5", idf_two_ota, MUT_NO_MD5, CHIP_4M, 0,
		  OTA_PARTTABLE_OK },
		{ "/valid/label-16-bytes", idf_two_ota, MUT_LABEL16, CHIP_4M, 0,
		  OTA_PARTTABLE_OK },
		{ "/invalid/bad-magic", idf_two_ota, MUT_BAD_MAGIC, CHIP_4M,
		  -EILSEQ, OTA_PARTTABLE_ERR_MAGIC },
		{ "/invalid/md5-mismatch", idf_two_ota, MUT_MD5_BYTE, CHIP_4M,
		  -EILSEQ, OTA_PARTTABLE_ERR_MD5 },
		{ "/invalid/md5-twice", idf_two_ota, MUT_MD5_DUP, CHIP_4M,
		  -EILSEQ, OTA_PARTTABLE_ERR_MD5_DUP },
		{ "/invalid/no-end", idf_two_ota, MUT_NO_END, CHIP_4M, -EILSEQ,
		  OTA_PARTTABLE_ERR_NO_END },
		{ "/invalid/empty", idf_two_ota, MUT_EMPTY, CHIP_4M, -EILSEQ,
		  OTA_PARTTABLE_ERR_EMPTY },
		{ "/invalid/beyond-chip", idf_two_ota, MUT_NONE, 0x200000,
		  -EILSEQ, OTA_PARTTABLE_ERR_RANGE },
		{ "/invalid/ota-gap",
		  "a, app, ota_0, , 64K\nb, app, ota_2, , 64K\n", MUT_NONE,
		  CHIP_4M, -EILSEQ, OTA_PARTTABLE_ERR_OTA_GAP },
		{ "/invalid/ota-dup",
		  "a, app, ota_0, , 64K\nb, app, 0x10, , 64K\n", MUT_NONE,
		  CHIP_4M, -EILSEQ, OTA_PARTTABLE_ERR_DUP },
		{ "/invalid/ota-starts-at-1", "a, app, ota_1, , 64K\n",
		  MUT_NONE, CHIP_4M, -EILSEQ, OTA_PARTTABLE_ERR_OTA_GAP },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		uint8_t bin[OTA_PARTTABLE_MAX_LEN];
		struct ota_layout l;
		enum ota_parttable_err e = OTA_PARTTABLE_OK;
		int rc;

		build(cases[i].csv, bin, cases[i].mut != MUT_NO_MD5);
		switch (cases[i].mut) {
		case MUT_NONE:
		case MUT_NO_MD5:
			break;
		case MUT_BAD_MAGIC:
			bin[2 * 32] = 0xab;
			break;
		case MUT_MD5_BYTE:
			bin[6 * 32 + 20] ^= 1;
			break;
		case MUT_MD5_DUP:
			memcpy(bin + 7 * 32, bin + 6 * 32, 32);
			break;
		case MUT_NO_END:
			for (size_t k = 7; k < OTA_PARTTABLE_MAX_ENTRIES; k++)
				memcpy(bin + k * 32, bin, 32);
			break;
		case MUT_EMPTY:
			memset(bin, 0xff, sizeof(bin));
			break;
		case MUT_RANGE:
			break;
		case MUT_LABEL16:
			/* rebuild entry 0 with a 16-byte label, no MD5 check */
			memcpy(bin + 12, "abcdefghijklmnop", 16);
			memset(bin + 6 * 32, 0xff, 32);
			break;
		}
		rc = ota_parttable_parse(bin, sizeof(bin), cases[i].chip, &l,
					 &e);
		if (rc != cases[i].rc || e != cases[i].err)
			fail_msg("%s: rc %d err %d (%s)", cases[i].name, rc, e,
				 ota_parttable_strerror(e));
	}
}

static void test_label16_decode(void **state)
{
	uint8_t raw[32];
	struct ota_part p = { .type = 1,
			      .subtype = 2,
			      .offset = 0x9000,
			      .size = 0x6000,
			      .label = "abcdefghijklmnop" };
	struct ota_part q;

	(void)state;
	ota_part_encode(&p, raw);
	assert_int_equal(ota_part_decode(raw, &q), 0);
	assert_string_equal(q.label, "abcdefghijklmnop");
	assert_int_equal(q.offset, 0x9000);
	raw[0] = 0;
	assert_int_equal(ota_part_decode(raw, &q), -EILSEQ);
}

static void test_bin_csv_roundtrip(void **state)
{
	static struct ota_partcsv a, b;
	uint8_t bin1[OTA_PARTTABLE_MAX_LEN], bin2[OTA_PARTTABLE_MAX_LEN];
	char err[256], *text = NULL;
	size_t textlen = 0;
	FILE *fp;

	(void)state;
	build(idf_two_ota, bin1, true);
	assert_int_equal(
		ota_partcsv_from_bin(bin1, sizeof(bin1), &a, err, sizeof(err)),
		0);
	fp = open_memstream(&text, &textlen);
	assert_non_null(fp);
	assert_int_equal(ota_partcsv_write(&a, fp), 0);
	fclose(fp);
	assert_non_null(strstr(text, "factory,app,factory,0x10000,1M,\n"));
	assert_non_null(strstr(text, "nvs,data,nvs,0x9000,16K,\n"));
	assert_int_equal(ota_partcsv_parse(text, OTA_PARTTABLE_OFFSET, CHIP_4M,
					   &b, err, sizeof(err)),
			 0);
	assert_int_equal(ota_partcsv_to_bin(&b, true, bin2), 0);
	assert_memory_equal(bin1, bin2, sizeof(bin1));
	free(text);

	bin1[0] = 0x12;
	assert_int_equal(
		ota_partcsv_from_bin(bin1, sizeof(bin1), &a, err, sizeof(err)),
		-EILSEQ);
	assert_non_null(strstr(err, "bad magic"));
}

/* Random byte flips: never a crash, and an accepted table still parses. */
static void test_random_mutations(void **state)
{
	uint8_t bin[OTA_PARTTABLE_MAX_LEN], mut[OTA_PARTTABLE_MAX_LEN];
	static struct ota_partcsv t;
	uint32_t seed = 777;
	unsigned int i, k;
	char err[256];

	(void)state;
	build(idf_two_ota, bin, true);
	for (i = 0; i < 3000; i++) {
		struct ota_layout l;
		enum ota_parttable_err e;

		memcpy(mut, bin, sizeof(mut));
		for (k = 0; k < 1 + i % 4; k++) {
			seed ^= seed << 13;
			seed ^= seed >> 17;
			seed ^= seed << 5;
			mut[seed % (8 * 32)] ^= (uint8_t)(seed >> 24 | 1);
		}
		if (ota_parttable_parse(mut, sizeof(mut), CHIP_4M, &l, &e))
			continue;
		assert_int_equal(ota_partcsv_from_bin(mut, sizeof(mut), &t, err,
						      sizeof(err)),
				 0);
		assert_true(l.ota_count <= OTA_PART_MAX_OTA);
	}
}

/*
 * 95 partitions and the end marker fill the 0xC00 bytes exactly: a valid
 * table for the bootloader and gen_esp32part --disable-md5sum; with the MD5
 * row only 94 fit.
 */
static void test_95_entries(void **state)
{
	static struct ota_partcsv t, back;
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	struct ota_layout l;
	char *csv = malloc(95 * 40), err[256];
	size_t o = 0;
	unsigned int i;

	(void)state;
	assert_non_null(csv);
	for (i = 0; i < 95; i++)
		o += (size_t)sprintf(csv + o, "p%u, data, nvs, , 0x3000\n", i);
	assert_int_equal(ota_partcsv_parse(csv, OTA_PARTTABLE_OFFSET, CHIP_4M,
					   &t, err, sizeof(err)),
			 0);
	assert_int_equal(t.count, 95);
	assert_int_equal(ota_partcsv_to_bin(&t, true, bin), -EMSGSIZE);
	assert_int_equal(ota_partcsv_to_bin(&t, false, bin), 0);
	assert_int_equal(
		ota_parttable_parse(bin, sizeof(bin), CHIP_4M, &l, NULL), 0);
	assert_int_equal(
		ota_partcsv_from_bin(bin, sizeof(bin), &back, err, sizeof(err)),
		0);
	assert_int_equal(back.count, 95);
	strcpy(csv + o, "p95, data, nvs, , 0x3000\n");
	assert_int_equal(ota_partcsv_parse(csv, OTA_PARTTABLE_OFFSET, CHIP_4M,
					   &t, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "too many partitions (max 95)"));
	free(csv);
}

/*
 * An entry of type or subtype 0xff (ESP-IDF's "any") is a partition, not
 * the MD5 row: bin2csv neither drops it nor writes a CSV that csv2bin
 * refuses. Whatever from_bin accepts parses back.
 */
static void test_reserved_ff(void **state)
{
	static struct ota_partcsv t;
	static const struct {
		uint8_t type, subtype;
		const char *what;
	} rows[] = {
		{ 0xff, 0x00, "type 0xff is reserved" },
		{ 0x01, 0xff, "subtype 0xff is reserved" },
		{ 0xff, 0xff, "type 0xff is reserved" },
	};
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct ota_part p = { .type = rows[i].type,
				      .subtype = rows[i].subtype,
				      .offset = 0x9000,
				      .size = 0x1000,
				      .label = "weird" };
		struct ota_part q = { .type = 0,
				      .subtype = 0x10,
				      .offset = 0x10000,
				      .size = 0x10000,
				      .label = "ota_0" };

		memset(bin, 0xff, sizeof(bin));
		ota_part_encode(&q, bin);
		ota_part_encode(&p, bin + OTA_PART_ENTRY_LEN);
		err[0] = '\0';
		if (ota_partcsv_from_bin(bin, sizeof(bin), &t, err,
					 sizeof(err)) != -EINVAL ||
		    !strstr(err, rows[i].what))
			fail_msg("row %zu: count %u, '%s'", i, t.count, err);
		assert_non_null(strstr(err, "entry 1 ('weird')"));
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/parttable/layout/two-ota-builtin", test_two_ota_builtin,
		  NULL, NULL, NULL },
		{ "/parttable/layout/nvs-first", test_nvs_first, NULL, NULL,
		  NULL },
		{ "/parttable/csv/auto-offsets", test_csv_auto_offsets, NULL,
		  NULL, NULL },
		{ "/parttable/csv/numbers-vars-flags", test_csv_numbers, NULL,
		  NULL, NULL },
		{ "/parttable/csv/errors", test_csv_errors, NULL, NULL, NULL },
		{ "/parttable/bin/md5-entry", test_md5_entry_layout, NULL, NULL,
		  NULL },
		{ "/parttable/bin/vectors", test_binary_vectors, NULL, NULL,
		  NULL },
		{ "/parttable/entry/label-16", test_label16_decode, NULL, NULL,
		  NULL },
		{ "/parttable/csv/95-entries", test_95_entries, NULL, NULL,
		  NULL },
		{ "/parttable/csv/reserved-ff", test_reserved_ff, NULL, NULL,
		  NULL },
		{ "/parttable/csv/bin-roundtrip", test_bin_csv_roundtrip, NULL,
		  NULL, NULL },
		{ "/parttable/property/random-mutations", test_random_mutations,
		  NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("parttable", tests, NULL, NULL);
}
