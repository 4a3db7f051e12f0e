/* SPDX-License-Identifier: MIT */
/*
 * central/push_delta: what push sends, table-driven over what the device
 * reports (caps, running image hash) and what the host has (--base, the
 * cache, --full, a signed file, a compressible image): the kind, the
 * reason in the one-line message, the manifest fields, and for a patch,
 * that it rebuilds the image and that the progress map runs from 0 to the
 * image size without going back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "central/push_delta.h"
#include "central/report.h"
#include "host/delta_diff.h"
#include "ota_engine/delta.h"
#include "protocol/info.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

struct img {
	uint8_t *data;
	size_t len;
	uint8_t sha[32];
};

static void build(struct img *im, const char *version, uint32_t irom,
		  uint32_t repeat)
{
	struct esp_image_spec sp = {
		.chip_id = 5, .version = version, .seed = 3, .repeat = repeat
	};
	bool is_app;

	sp.nseg = 2;
	sp.seg[0].kind = ESP_SEG_DROM;
	sp.seg[0].len = 20000;
	sp.seg[1].kind = ESP_SEG_IROM;
	sp.seg[1].len = irom;
	im->data = esp_image_build(&sp, &im->len);
	assert_non_null(im->data);
	delta_esp_base_hash(im->data, im->len, im->sha, &is_app);
	assert_true(is_app);
}

enum base_src {
	B_NONE,
	B_FILE,
	B_FILE_OTHER,
	B_CACHE
};

static int rd(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	memcpy(buf, (const uint8_t *)user + off, len);
	return 0;
}

/* Apply @plan's patch to @base (NULL: empty) and compare with @want. */
static void assert_rebuilds(const struct push_plan *plan,
			    const struct img *base, const struct img *want)
{
	static struct ota_delta d;
	struct ota_delta_cfg cfg = {
		.read_base = rd,
		.user = base ? base->data : (uint8_t *)"",
		.base_size = base ? (uint32_t)base->len : 0,
	};
	size_t used, i;
	uint32_t prev = 0;

	ota_delta_init(&d, &cfg);
	assert_int_equal(
		ota_delta_feed(&d, plan->stream, plan->stream_len, &used), 0);
	assert_int_equal(ota_delta_finish(&d), 0);
	assert_int_equal(ota_delta_to_pos(&d), want->len);
	/* progress: monotonic, 0 at 0, the image at the end */
	assert_int_equal(push_delta_image_bytes(plan, 0), 0);
	for (i = 0; i <= plan->stream_len; i += 97) {
		uint32_t v = push_delta_image_bytes(plan, (uint32_t)i);

		assert_true(v >= prev);
		assert_true(v <= want->len);
		prev = v;
	}
	assert_int_equal(push_delta_image_bytes(plan, plan->stream_len),
			 want->len);
}

static void test_push_delta_plan(void **state)
{
	struct img v1, v2, big, z;
	char cache_dir[512], base_file[512], other_file[512];
	FILE *fp;
	static const struct {
		const char *name;
		uint32_t caps;
		bool has_sha;
		enum base_src base;
		bool cache_has_v1;
		bool full, no_base, compressible, big;
		enum push_kind kind;
		const char *why;
	} cases[] = {
		{ .name = "/plan/no-cap",
		  .caps = OTA_CAP_RESUME,
		  .has_sha = true,
		  .base = B_FILE,
		  .kind = PUSH_PLAIN,
		  .why = "the device does not take patches (no delta "
			 "capability); --base is not used" },
		{ .name = "/plan/full",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE,
		  .cache_has_v1 = true,
		  .full = true,
		  .kind = PUSH_PLAIN,
		  .why = "(--full)" },
		{ .name = "/plan/base-file",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE,
		  .kind = PUSH_DELTA,
		  .why = "against the running 1.0.0 from --base" },
		{ .name = "/plan/cache",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .cache_has_v1 = true,
		  .kind = PUSH_DELTA,
		  .why = "against the running 1.0.0 from the image cache" },
		{ .name = "/plan/base-other-then-cache",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE_OTHER,
		  .cache_has_v1 = true,
		  .kind = PUSH_DELTA,
		  .why = "from the image cache" },
		{ .name = "/plan/base-other",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE_OTHER,
		  .kind = PUSH_PLAIN,
		  .why = "is not the running image (hash " },
		{ .name = "/plan/not-cached",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .kind = PUSH_PLAIN,
		  .why = "it does not compress (no delta: the running image "
			 "(1.0.0, hash " },
		{ .name = "/plan/no-hash",
		  .caps = OTA_CAP_DELTA,
		  .base = B_FILE,
		  .cache_has_v1 = true,
		  .kind = PUSH_PLAIN,
		  .why = "does not report its running image's hash" },
		{ .name = "/plan/wrong-base",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE,
		  .cache_has_v1 = true,
		  .no_base = true,
		  .compressible = true,
		  .kind = PUSH_COMPRESSED,
		  .why = "sending the image compressed: " },
		{ .name = "/plan/compressed",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .compressible = true,
		  .kind = PUSH_COMPRESSED,
		  .why = "% of " },
		{ .name = "/plan/compressible-but-base",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE,
		  .compressible = true,
		  .kind = PUSH_DELTA,
		  .why = "sending a delta: " },
		{ .name = "/plan/big-delta",
		  .caps = OTA_CAP_DELTA,
		  .has_sha = true,
		  .base = B_FILE,
		  .big = true,
		  .kind = PUSH_DELTA,
		  .why = "patch (heatshrink) against" },
	};
	size_t i;

	(void)state;
	report_init(true);
	build(&v1, "1.0.0", 40000, 0);
	build(&v2, "2.0.0", 40000, 0);
	build(&big, "3.0.0", 120000, 0);
	build(&z, "4.0.0", 60000, 200);
	tmpdir_path(base_file, sizeof(base_file), "base.bin");
	tmpdir_path(other_file, sizeof(other_file), "other.bin");
	tmpdir_path(cache_dir, sizeof(cache_dir), "plan-cache");
	fp = fopen(base_file, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(v1.data, 1, v1.len, fp), v1.len);
	fclose(fp);
	fp = fopen(other_file, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(v2.data, 1, v2.len, fp), v2.len);
	fclose(fp);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct push_delta_opts o = { .full = cases[i].full,
					     .no_base = cases[i].no_base };
		struct dev_info info = { .caps = cases[i].caps,
					 .has_run_sha256 = cases[i].has_sha };
		const struct img *to = cases[i].compressible ? &z
				       : cases[i].big        ? &big
							     : &v2;
		struct push_plan plan;
		struct ota_manifest m = { 0 };
		char dir[600];

		print_message("%s\n", cases[i].name);
		snprintf(dir, sizeof(dir), "%s/%zu", cache_dir, i);
		assert_int_equal(imgcache_open(&o.cache, dir, false), 0);
		if (cases[i].cache_has_v1)
			assert_int_equal(
				imgcache_put(&o.cache, v1.data, v1.len), 0);
		if (cases[i].base == B_FILE)
			o.base_file = base_file;
		else if (cases[i].base == B_FILE_OTHER)
			o.base_file = other_file;
		assert_int_equal(push_delta_load_base(&o), 0);
		snprintf(info.version, sizeof(info.version), "1.0.0");
		memcpy(info.run_sha256, v1.sha, 32);

		assert_int_equal(
			push_delta_plan(&o, to->data, to->len, &info, &plan),
			0);
		if (!strstr(plan.why, cases[i].why))
			fail_msg("%s: \"%s\" not in \"%s\"", cases[i].name,
				 cases[i].why, plan.why);
		assert_int_equal(plan.kind, cases[i].kind);
		assert_int_equal(plan.image_len, to->len);
		push_delta_manifest(&plan, &m);
		if (plan.kind == PUSH_PLAIN) {
			assert_ptr_equal(plan.stream, to->data);
			assert_int_equal(plan.stream_len, to->len);
			assert_int_equal(m.encoding, OTA_ENCODING_PLAIN);
			assert_int_equal(m.patch_size, 0);
			assert_false(m.has_base_sha256);
			assert_int_equal(push_delta_image_bytes(&plan, 1000),
					 1000);
		} else {
			assert_true(plan.stream_len < to->len);
			assert_int_equal(m.encoding, OTA_ENCODING_DELTA);
			assert_int_equal(m.patch_size, plan.stream_len);
			assert_int_equal(m.has_base_sha256,
					 plan.kind == PUSH_DELTA);
			if (plan.kind == PUSH_DELTA)
				assert_memory_equal(m.base_sha256, v1.sha, 32);
			assert_rebuilds(&plan,
					plan.kind == PUSH_DELTA ? &v1 : NULL,
					to);
		}
		push_plan_free(&plan);
		push_delta_opts_free(&o);
	}
	free(v1.data);
	free(v2.data);
	free(big.data);
	free(z.data);
}

/* --base that is not an app image: refused before connecting. */
static void test_push_delta_bad_base(void **state)
{
	struct push_delta_opts o = { 0 };
	char path[512];
	FILE *fp;

	(void)state;
	report_init(true);
	tmpdir_path(path, sizeof(path), "junk.bin");
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs("not an image", fp);
	fclose(fp);
	o.base_file = path;
	assert_int_equal(push_delta_load_base(&o), 2);
	assert_null(o.base);
	tmpdir_path(path, sizeof(path), "missing.bin");
	o.base_file = path;
	assert_int_equal(push_delta_load_base(&o), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_delta_plan),
		cmocka_unit_test(test_push_delta_bad_base),
	};
	int r = cmocka_run_group_tests_name("push_plan", tests, NULL, NULL);

	tmpdir_cleanup();
	return r;
}
