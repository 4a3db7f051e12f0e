/* SPDX-License-Identifier: MIT */
/*
 * App image verifier: valid images for several chips and layouts, every
 * corruption the builder can make (each mapped to its specific error),
 * chip/revision/size rules, chunking invariance, describe() text.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ota_engine/image.h"
#include "tests/harness/esp_image_build.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static int verify_chunked(const uint8_t *img, size_t len,
			  const struct ota_image_cfg *cfg, size_t chunk,
			  struct ota_image_verify *v)
{
	size_t off = 0;
	int rc = 0;

	ota_image_verify_init(v, cfg);
	while (off < len && !rc) {
		size_t n = len - off < chunk ? len - off : chunk;

		rc = ota_image_verify_update(v, img + off, n);
		off += n;
	}
	if (rc)
		return rc;
	return ota_image_verify_final(v);
}

static void test_valid_chips(void **state)
{
	static const uint16_t chip_ids[] = {
		OTA_CHIP_ESP32,   OTA_CHIP_ESP32S2, OTA_CHIP_ESP32C3,
		OTA_CHIP_ESP32S3, OTA_CHIP_ESP32C2, OTA_CHIP_ESP32C6,
		OTA_CHIP_ESP32H2, OTA_CHIP_ESP32P4, OTA_CHIP_ESP32C5,
	};
	static struct ota_image_verify v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(chip_ids); i++) {
		struct esp_image_spec sp = { .chip_id = chip_ids[i],
					     .version = "2.1.0",
					     .project = "demo",
					     .secure_version = 3,
					     .max_rev_full = 0xffff };
		struct ota_image_cfg cfg = { .chip_id = chip_ids[i] };
		size_t len;
		uint8_t *img = esp_image_build(&sp, &len);

		if (verify_chunked(img, len, &cfg, len, &v))
			fail_msg("chip %u: %s", chip_ids[i],
				 ota_image_strerror(v.err));
		assert_int_equal(v.info.image_len, len);
		assert_int_equal(v.info.chip_id, chip_ids[i]);
		assert_true(v.info.has_desc);
		assert_string_equal(v.info.desc.version, "2.1.0");
		assert_string_equal(v.info.desc.project, "demo");
		assert_int_equal(v.info.desc.secure_version, 3);
		assert_true(v.info.has_hash);
		assert_memory_equal(v.info.sha_calc, img + len - 32, 32);
		free(img);
	}
}

static void test_layouts(void **state)
{
	static struct ota_image_verify v;
	struct esp_image_spec specs[] = {
		{ .chip_id = OTA_CHIP_ESP32C3, .no_hash = true },
		{ .chip_id = OTA_CHIP_ESP32C6, .mmu_page_log2 = 14 },
		{ .chip_id = OTA_CHIP_ESP32C3, .pad_to = 0x30000 },
		{ .chip_id = OTA_CHIP_ESP32S3,
		  .nseg = 6,
		  .seg = { { ESP_SEG_DROM, 0x3000 },
			   { ESP_SEG_DRAM, 0x400 },
			   { ESP_SEG_IRAM, 0x1234 },
			   { ESP_SEG_IROM, 0x9000 },
			   { ESP_SEG_IRAM, 0x10 },
			   { ESP_SEG_IROM, 0x100 } } },
		{ .chip_id = OTA_CHIP_ESP32,
		  .nseg = 1,
		  .seg = { { ESP_SEG_DROM, 0x100 } } },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(specs); i++) {
		struct ota_image_cfg cfg = { .chip_id = specs[i].chip_id };
		size_t len;
		uint8_t *img = esp_image_build(&specs[i], &len);

		if (verify_chunked(img, len, &cfg, 4096, &v))
			fail_msg("spec %zu: %s", i, ota_image_strerror(v.err));
		if (specs[i].pad_to)
			assert_true(v.info.image_len < len);
		if (specs[i].no_hash)
			assert_false(v.info.has_hash);
		free(img);
	}
}

static void test_corruptions(void **state)
{
	static const struct {
		enum esp_corruption c;
		enum ota_image_err err;
	} cases[] = {
		{ ESP_CORRUPT_MAGIC, OTA_IMAGE_ERR_MAGIC },
		{ ESP_CORRUPT_SEG_COUNT, OTA_IMAGE_ERR_SEG_COUNT },
		{ ESP_CORRUPT_SEG_COUNT_ZERO, OTA_IMAGE_ERR_SEG_COUNT },
		{ ESP_CORRUPT_HASH_FLAG, OTA_IMAGE_ERR_HASH_FLAG },
		{ ESP_CORRUPT_SEG_LEN_ODD, OTA_IMAGE_ERR_SEG_LEN },
		{ ESP_CORRUPT_SEG_LEN_HUGE, OTA_IMAGE_ERR_SEG_LEN },
		{ ESP_CORRUPT_SEG0_SHORT, OTA_IMAGE_ERR_SEG0_SHORT },
		{ ESP_CORRUPT_APP_DESC, OTA_IMAGE_ERR_APP_DESC },
		{ ESP_CORRUPT_MMU_ALIGN, OTA_IMAGE_ERR_MMU_ALIGN },
		{ ESP_CORRUPT_CHECKSUM, OTA_IMAGE_ERR_CHECKSUM },
		{ ESP_CORRUPT_DATA_BYTE, OTA_IMAGE_ERR_CHECKSUM },
		{ ESP_CORRUPT_SHA, OTA_IMAGE_ERR_SHA256 },
		{ ESP_CORRUPT_TRUNCATE, OTA_IMAGE_ERR_TRUNCATED },
		{ ESP_CORRUPT_TRUNCATE_HDR, OTA_IMAGE_ERR_TRUNCATED },
	};
	static const size_t chunks[] = { 1, 7, 256, 4096, 1 << 20 };
	static struct ota_image_verify v;
	uint32_t err_off = 0;
	size_t i, k;

	(void)state;
	assert_int_equal(ARRAY_SIZE(cases), ESP_CORRUPT_COUNT - 1);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
					     .corrupt = cases[i].c };
		struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ESP32C3 };
		size_t len;
		uint8_t *img = esp_image_build(&sp, &len);

		for (k = 0; k < ARRAY_SIZE(chunks); k++) {
			int rc = verify_chunked(img, len, &cfg, chunks[k], &v);

			if (rc != -EILSEQ || v.err != cases[i].err)
				fail_msg("%s chunk %zu: rc %d err %s",
					 esp_corruption_name(cases[i].c),
					 chunks[k], rc,
					 ota_image_strerror(v.err));
			if (!k)
				err_off = v.err_off;
			else if (v.err_off != err_off)
				fail_msg("%s chunk %zu: error at %u, not %u",
					 esp_corruption_name(cases[i].c),
					 chunks[k], v.err_off, err_off);
		}
		free(img);
	}
}

/*
 * Segment 0 mapped off its MMU page: known only once the app desc is in
 * (its mmu_page_size), and reported at the end of the app desc whatever
 * the chunking (found by tests/fuzz/fuzz_image.c: the offset used to be
 * where the last chunk began).
 */
static void test_seg0_mmu_align_offset(void **state)
{
	static const size_t chunks[] = { 1, 7, 100, 130, 200, 256, 4096 };
	static struct ota_image_verify v;
	struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
				     .mmu_page_log2 = 12 };
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ESP32C3 };
	uint32_t want =
		OTA_IMAGE_HDR_LEN + OTA_IMAGE_SEG_HDR_LEN + OTA_APP_DESC_LEN;
	size_t len, k;
	uint8_t *img = esp_image_build(&sp, &len);

	(void)state;
	/* segment 0's load address, 4 bytes on: data no longer congruent */
	img[OTA_IMAGE_HDR_LEN] += 4;
	for (k = 0; k < ARRAY_SIZE(chunks); k++) {
		int rc = verify_chunked(img, len, &cfg, chunks[k], &v);

		assert_int_equal(rc, -EILSEQ);
		assert_int_equal(v.err, OTA_IMAGE_ERR_MMU_ALIGN);
		if (v.err_off != want)
			fail_msg("chunk %zu: error at %u, not %u", chunks[k],
				 v.err_off, want);
	}
	free(img);
}

static void test_chip_rules(void **state)
{
	static const struct {
		const char *name;
		uint16_t img_chip, min_rev, max_rev;
		uint16_t dev_chip, dev_rev;
		uint32_t max_len;
		enum ota_image_err err;
	} cases[] = {
		{ "same-chip", 5, 0, 0xffff, 5, 3, 0, OTA_IMAGE_OK },
		{ "wrong-chip", 9, 0, 0xffff, 5, 3, 0, OTA_IMAGE_ERR_CHIP },
		{ "any-chip", 9, 0, 0xffff, OTA_CHIP_ANY, 0, 0, OTA_IMAGE_OK },
		{ "rev-too-low", 5, 101, 0xffff, 5, 100, 0,
		  OTA_IMAGE_ERR_CHIP_REV },
		{ "rev-at-min", 5, 101, 0xffff, 5, 101, 0, OTA_IMAGE_OK },
		{ "rev-too-high", 5, 0, 199, 5, 200, 0,
		  OTA_IMAGE_ERR_CHIP_REV },
		{ "max-0-unset", 5, 0, 0, 5, 300, 0, OTA_IMAGE_OK },
		{ "too-big", 5, 0, 0xffff, 5, 0, 0x8000,
		  OTA_IMAGE_ERR_TOO_BIG },
	};
	static struct ota_image_verify v;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct esp_image_spec sp = { .chip_id = cases[i].img_chip,
					     .min_rev_full = cases[i].min_rev,
					     .max_rev_full = cases[i].max_rev };
		struct ota_image_cfg cfg = { .chip_id = cases[i].dev_chip,
					     .chip_rev = cases[i].dev_rev,
					     .max_len = cases[i].max_len };
		size_t len;
		uint8_t *img = esp_image_build(&sp, &len);

		verify_chunked(img, len, &cfg, 1000, &v);
		if (v.err != cases[i].err)
			fail_msg("%s: %s", cases[i].name,
				 ota_image_strerror(v.err));
		free(img);
	}
}

static void test_describe(void **state)
{
	static struct ota_image_verify v;
	struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
				     .corrupt = ESP_CORRUPT_CHECKSUM };
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ESP32S3 };
	char buf[200];
	size_t len;
	uint8_t *img = esp_image_build(&sp, &len);

	(void)state;
	cfg.chip_id = OTA_CHIP_ESP32C3;
	verify_chunked(img, len, &cfg, len, &v);
	ota_image_describe(&v, buf, sizeof(buf));
	assert_non_null(strstr(buf, "image checksum mismatch (stored 0x"));
	assert_non_null(strstr(buf, ", computed 0x"));
	free(img);

	sp.corrupt = ESP_CORRUPT_NONE;
	img = esp_image_build(&sp, &len);
	cfg.chip_id = OTA_CHIP_ESP32S3;
	verify_chunked(img, len, &cfg, len, &v);
	ota_image_describe(&v, buf, sizeof(buf));
	assert_string_equal(buf, "image is for esp32c3 (chip id 5) but the "
				 "device is esp32s3 (chip id 9)");
	free(img);
}

static void test_sticky_and_trailing(void **state)
{
	static struct ota_image_verify v;
	struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
				     .corrupt = ESP_CORRUPT_MAGIC };
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ESP32C3 };
	const uint8_t ff[16] = { 0xff };
	size_t len;
	uint8_t *img = esp_image_build(&sp, &len);

	(void)state;
	ota_image_verify_init(&v, &cfg);
	assert_int_equal(ota_image_verify_update(&v, img, 64), -EILSEQ);
	assert_int_equal(ota_image_verify_update(&v, img + 64, 64), -EILSEQ);
	assert_int_equal(ota_image_verify_final(&v), -EILSEQ);
	assert_int_equal(v.err, OTA_IMAGE_ERR_MAGIC);
	free(img);

	sp.corrupt = ESP_CORRUPT_NONE;
	img = esp_image_build(&sp, &len);
	ota_image_verify_init(&v, &cfg);
	assert_int_equal(ota_image_verify_update(&v, img, len), 0);
	assert_true(ota_image_verify_complete(&v));
	assert_int_equal(ota_image_verify_update(&v, ff, sizeof(ff)), 0);
	assert_int_equal(ota_image_verify_final(&v), 0);
	free(img);
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Property: flipping random bytes never crashes the verifier (ASan watches
 * in make check), and whatever it still accepts carries a consistent
 * appended hash; flips in covered bytes are always caught.
 */
static void test_random_mutations(void **state)
{
	static struct ota_image_verify v;
	struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
				     .mmu_page_log2 = 12 };
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ESP32C3 };
	uint32_t seed = 12345;
	unsigned int i, accepted = 0;
	size_t len;
	uint8_t *img = esp_image_build(&sp, &len);
	uint8_t *mut = malloc(len);

	(void)state;
	for (i = 0; i < 3000; i++) {
		size_t pos = xorshift(&seed) % len;
		uint8_t flip = (uint8_t)(xorshift(&seed) | 1);
		size_t chunk = 1 + xorshift(&seed) % 600;

		memcpy(mut, img, len);
		mut[pos] ^= flip;
		if (verify_chunked(mut, len, &cfg, chunk, &v) == 0) {
			accepted++;
			/* only bytes outside the hashed image may change */
			assert_true(pos >= v.info.image_len);
		}
	}
	/* the builder's image has no trailing bytes: nothing is accepted */
	assert_int_equal(accepted, 0);
	free(mut);
	free(img);
}

/*
 * Stock ESP-IDF v5.2 hello_world for C2/C6/H2 (2 MB flash): segments on
 * 32 KiB pages, app desc mmu_page_size 0. The bootloader then uses its
 * CONFIG_MMU_PAGE_SIZE, which the build derives from the flash size in the
 * image header; a 4 MB image on 32 KiB pages is still refused.
 */
static void test_mmu_page_default(void **state)
{
	static const uint16_t chips[] = { OTA_CHIP_ESP32C2, OTA_CHIP_ESP32C6,
					  OTA_CHIP_ESP32H2 };
	static const struct {
		uint8_t align_log2, flash_code;
		enum ota_image_err want;
	} rows[] = {
		{ 15, 1 + 1, OTA_IMAGE_OK },            /* 2 MB: 32 KiB */
		{ 14, 0 + 1, OTA_IMAGE_OK },            /* 1 MB: 16 KiB */
		{ 16, 2 + 1, OTA_IMAGE_OK },            /* 4 MB: 64 KiB */
		{ 15, 2 + 1, OTA_IMAGE_ERR_MMU_ALIGN }, /* 4 MB needs 64 KiB */
		{ 14, 1 + 1, OTA_IMAGE_ERR_MMU_ALIGN }, /* 2 MB needs 32 KiB */
	};
	static struct ota_image_verify v;
	size_t c, r;

	(void)state;
	for (c = 0; c < ARRAY_SIZE(chips); c++) {
		for (r = 0; r < ARRAY_SIZE(rows); r++) {
			struct esp_image_spec sp = {
				.chip_id = chips[c],
				.align_log2 = rows[r].align_log2,
				.flash_code = rows[r].flash_code,
				.nseg = 3,
				.seg = { { ESP_SEG_DROM, 0x1000 },
					 { ESP_SEG_IRAM, 0x800 },
					 { ESP_SEG_IROM, 0x2000 } },
			};
			struct ota_image_cfg cfg = { .chip_id = chips[c] };
			size_t len;
			uint8_t *img = esp_image_build(&sp, &len);

			verify_chunked(img, len, &cfg, 4096, &v);
			if (v.err != rows[r].want)
				fail_msg("%s, row %zu: %s",
					 ota_image_chip_name(chips[c]), r,
					 ota_image_strerror(v.err));
			free(img);
		}
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/image/valid/chips", test_valid_chips, NULL, NULL, NULL },
		{ "/image/valid/layouts", test_layouts, NULL, NULL, NULL },
		{ "/image/invalid/corruptions", test_corruptions, NULL, NULL,
		  NULL },
		{ "/image/invalid/seg0-mmu-align-offset",
		  test_seg0_mmu_align_offset, NULL, NULL, NULL },
		{ "/image/valid/mmu-page-default", test_mmu_page_default, NULL,
		  NULL, NULL },
		{ "/image/chip-rev-size", test_chip_rules, NULL, NULL, NULL },
		{ "/image/describe", test_describe, NULL, NULL, NULL },
		{ "/image/sticky-trailing", test_sticky_and_trailing, NULL,
		  NULL, NULL },
		{ "/image/property/random-mutations", test_random_mutations,
		  NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("image", tests, NULL, NULL);
}
