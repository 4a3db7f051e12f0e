/* SPDX-License-Identifier: MIT */
/*
 * central/imgcache: where the cache is (option, environment, XDG, HOME,
 * "off"), a stored image is found by its validation hash and only by it,
 * a damaged file is never returned, and the size bound evicts the least
 * recently used images (a hit counts as a use).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "central/imgcache.h"
#include "host/delta_diff.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

static uint8_t *app(const char *version, uint32_t seed, size_t *len,
		    uint8_t sha[32])
{
	struct esp_image_spec sp = { .chip_id = 5,
				     .version = version,
				     .seed = seed };
	uint8_t *img = esp_image_build(&sp, len);
	bool is_app;

	assert_non_null(img);
	delta_esp_base_hash(img, *len, sha, &is_app);
	assert_true(is_app);
	return img;
}

static void clear_env(void)
{
	unsetenv("BLEOTA_IMAGE_CACHE");
	unsetenv("BLEOTA_IMAGE_CACHE_MAX");
	unsetenv("XDG_CACHE_HOME");
}

static void test_imgcache_where(void **state)
{
	static const struct {
		const char *opt, *env, *xdg, *home, *max;
		bool disable;
		bool off;
		const char *dir;
		uint64_t max_bytes;
		int ret;
	} cases[] = {
		{ NULL, NULL, "/x", "/h", NULL, false, false,
		  "/x/bleota/images", IMGCACHE_DEFAULT_MAX, 0 },
		{ NULL, NULL, NULL, "/h", NULL, false, false,
		  "/h/.cache/bleota/images", IMGCACHE_DEFAULT_MAX, 0 },
		/* XDG says a relative path is to be ignored */
		{ NULL, NULL, "rel", "/h", NULL, false, false,
		  "/h/.cache/bleota/images", IMGCACHE_DEFAULT_MAX, 0 },
		{ NULL, "/e", "/x", "/h", "1M", false, false, "/e", 1048576,
		  0 },
		{ "/o", "/e", "/x", "/h", NULL, false, false, "/o",
		  IMGCACHE_DEFAULT_MAX, 0 },
		{ NULL, "off", "/x", "/h", NULL, false, true, "", 0, 0 },
		{ "off", NULL, "/x", "/h", NULL, false, true, "", 0, 0 },
		{ "/o", NULL, "/x", "/h", NULL, true, true, "", 0, 0 },
		{ NULL, NULL, "/x", "/h", "0", false, true, "", 0, 0 },
		{ NULL, NULL, "/x", "/h", "lots", false, true, "", 0, -22 },
		{ NULL, NULL, NULL, NULL, NULL, false, true, "", 0, 0 },
	};
	char *home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct imgcache c;
		int r;

		clear_env();
		if (cases[i].env)
			setenv("BLEOTA_IMAGE_CACHE", cases[i].env, 1);
		if (cases[i].xdg)
			setenv("XDG_CACHE_HOME", cases[i].xdg, 1);
		if (cases[i].max)
			setenv("BLEOTA_IMAGE_CACHE_MAX", cases[i].max, 1);
		if (cases[i].home)
			setenv("HOME", cases[i].home, 1);
		else
			unsetenv("HOME");
		r = imgcache_open(&c, cases[i].opt, cases[i].disable);
		print_message("case %zu\n", i);
		assert_int_equal(r, cases[i].ret);
		assert_int_equal(c.off, cases[i].off);
		if (!cases[i].off) {
			assert_string_equal(c.dir, cases[i].dir);
			assert_true(c.max_bytes == cases[i].max_bytes);
		}
	}
	clear_env();
	if (home)
		setenv("HOME", home, 1);
	free(home);
}

static void open_at(struct imgcache *c, const char *name, const char *max)
{
	char dir[512];

	clear_env();
	if (max)
		setenv("BLEOTA_IMAGE_CACHE_MAX", max, 1);
	assert_int_equal(
		imgcache_open(c, tmpdir_path(dir, sizeof(dir), name), false),
		0);
	clear_env();
}

static void test_imgcache_store_and_find(void **state)
{
	struct imgcache c;
	uint8_t s1[32], s2[32], *a, *b, *got;
	size_t la, lb, lg;
	char path[1200];
	FILE *fp;

	(void)state;
	open_at(&c, "cache-find", NULL);
	a = app("1.0.0", 1, &la, s1);
	b = app("2.0.0", 2, &lb, s2);
	/* nothing yet: the directory does not even exist */
	assert_null(imgcache_get(&c, s1, &lg));
	assert_int_equal(imgcache_put(&c, a, la), 0);
	got = imgcache_get(&c, s1, &lg);
	assert_non_null(got);
	assert_int_equal(lg, la);
	assert_memory_equal(got, a, la);
	free(got);
	assert_null(imgcache_get(&c, s2, &lg));

	/* b's bytes under a's name: the hash does not match, never used */
	imgcache_path(&c, s1, path, sizeof(path));
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, lb, fp), lb);
	fclose(fp);
	assert_null(imgcache_get(&c, s1, &lg));
	/* a damaged byte: the same */
	assert_int_equal(imgcache_put(&c, a, la), 0);
	a[la / 2] ^= 1;
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(a, 1, la, fp), la);
	fclose(fp);
	assert_null(imgcache_get(&c, s1, &lg));

	/* not an app image: not stored */
	memset(b, 0x55, 64);
	assert_int_equal(imgcache_put(&c, b, lb), 0);
	free(a);
	free(b);
}

static void age(const struct imgcache *c, const uint8_t sha[32], time_t t)
{
	char path[1200];
	struct timespec ts[2] = { { t, 0 }, { t, 0 } };

	imgcache_path(c, sha, path, sizeof(path));
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

static bool cached(const struct imgcache *c, const uint8_t sha[32])
{
	char path[1200];

	imgcache_path(c, sha, path, sizeof(path));
	return access(path, F_OK) == 0;
}

/* Room for two images: the least recently used one goes. */
static void test_imgcache_evicts_least_recently_used(void **state)
{
	struct imgcache c;
	uint8_t s[4][32], *img[4], *got;
	size_t len[4], lg;
	char max[32];
	int i;

	(void)state;
	for (i = 0; i < 4; i++)
		img[i] = app(i ? "2.0.0" : "1.0.0", (uint32_t)i + 10, &len[i],
			     s[i]);
	snprintf(max, sizeof(max), "%zu", len[0] + len[1] + len[2] / 2);
	open_at(&c, "cache-lru", max);
	assert_int_equal(imgcache_put(&c, img[0], len[0]), 0);
	age(&c, s[0], 1000);
	assert_int_equal(imgcache_put(&c, img[1], len[1]), 0);
	age(&c, s[1], 2000);
	/* a hit makes 0 the most recent */
	got = imgcache_get(&c, s[0], &lg);
	assert_non_null(got);
	free(got);
	assert_int_equal(imgcache_put(&c, img[2], len[2]), 0);
	assert_true(cached(&c, s[0]));
	assert_false(cached(&c, s[1]));
	assert_true(cached(&c, s[2]));
	/* an image larger than the bound is not stored, nothing goes */
	open_at(&c, "cache-lru", "1K");
	assert_int_equal(imgcache_put(&c, img[3], len[3]), 0);
	assert_false(cached(&c, s[3]));
	assert_true(cached(&c, s[0]));
	for (i = 0; i < 4; i++)
		free(img[i]);
}

static void test_imgcache_off(void **state)
{
	struct imgcache c;
	uint8_t s[32], *a;
	size_t la, lg;

	(void)state;
	clear_env();
	assert_int_equal(imgcache_open(&c, NULL, true), 0);
	a = app("1.0.0", 1, &la, s);
	assert_int_equal(imgcache_put(&c, a, la), 0);
	assert_null(imgcache_get(&c, s, &lg));
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_imgcache_where),
		cmocka_unit_test(test_imgcache_store_and_find),
		cmocka_unit_test(test_imgcache_evicts_least_recently_used),
		cmocka_unit_test(test_imgcache_off),
	};
	int r = cmocka_run_group_tests_name("imgcache", tests, NULL, NULL);

	tmpdir_cleanup();
	return r;
}
