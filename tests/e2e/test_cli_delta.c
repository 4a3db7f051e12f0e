/* SPDX-License-Identifier: MIT */
/*
 * bleota image diff / patch / info PATCH, run as a program on two app
 * images built at test time (same code, another version string): the
 * round trip gives NEW back byte for byte, for heatshrink and none; info
 * prints the header, parameters and records; the esp_delta_ota header
 * carries BASE's validation hash and a patch for another base is refused;
 * existing files are never replaced without --force; a damaged patch
 * fails with its reason and leaves no output; exit codes 0, 1, 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

static uint8_t *app(const char *version, const char *name, char *path,
		    size_t cap, size_t *len)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = version,
				     .project = "deltatest",
				     .seed = 77 };
	uint8_t *img = esp_image_build(&sp, len);
	FILE *fp = fopen(tmpdir_path(path, cap, name), "wb");

	assert_non_null(img);
	assert_non_null(fp);
	assert_int_equal(fwrite(img, 1, *len, fp), *len);
	fclose(fp);
	return img;
}

static void assert_file_is(const char *path, const uint8_t *want, size_t len)
{
	size_t got;
	uint8_t *b = e2e_read_all(path, &got);

	assert_int_equal(got, len);
	assert_memory_equal(b, want, len);
	free(b);
}

static void test_round_trip(void **state)
{
	char out[8192], v1[512], v2[512], pt[512], pn[512], o1[512], o2[512];
	size_t l1, l2;
	uint8_t *i1 = app("1.0.0", "v1.bin", v1, sizeof(v1), &l1);
	uint8_t *i2 = app("1.0.1", "v2.bin", v2, sizeof(v2), &l2);

	(void)state;
	tmpdir_path(pt, sizeof(pt), "v1-v2.patch");
	tmpdir_path(pn, sizeof(pn), "v1-v2-none.patch");
	tmpdir_path(o1, sizeof(o1), "out1.bin");
	tmpdir_path(o2, sizeof(o2), "out2.bin");

	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image diff %s %s %s", v1, v2, pt),
		0);
	assert_non_null(strstr(out, "heatshrink window 8 lookahead 7"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image patch %s %s %s",
				    v1, pt, o1),
			 0);
	assert_file_is(o1, i2, l2);

	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --compression none %s %s %s",
				    v1, v2, pn),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image patch %s %s %s",
				    v1, pn, o2),
			 0);
	assert_file_is(o2, i2, l2);

	/* info: a patch is recognised (first byte), an app image is not */
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", pt), 0);
	assert_non_null(strstr(out, "type:              sequential"));
	assert_non_null(strstr(out, "compression:       heatshrink (window "
				    "8, lookahead 7)"));
	assert_non_null(strstr(out, "records:"));
	assert_non_null(strstr(out, "status:            well-formed"));
	{
		char want[64];

		snprintf(want, sizeof(want), "to-size:           %zu bytes",
			 l2);
		assert_non_null(strstr(out, want));
	}
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", pn), 0);
	assert_non_null(strstr(out, "compression:       none\n"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", v2), 0);
	assert_non_null(strstr(out, "deltatest"));
	assert_null(strstr(out, "to-size"));
	/* verify of a patch: no valid app image, and it says what it is */
	assert_int_equal(e2e_bleota(out, sizeof(out), "image verify %s", pt),
			 1);
	assert_non_null(strstr(out, "it is a delta patch: 'bleota image info"));
	assert_null(strstr(out, "is this the app .bin"));

	/* --window 10 --lookahead 5: parameters in info */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --force --window 10 "
				    "--lookahead 5 %s %s %s",
				    v1, v2, pt),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", pt), 0);
	assert_non_null(strstr(out, "(window 10, lookahead 5)"));
	free(i1);
	free(i2);
}

static void test_esp_header(void **state)
{
	char out[8192], v1[512], v2[512], v3[512], pt[512], o[512], hx[65];
	size_t l1, l2, l3, i;
	uint8_t *i1 = app("2.0.0", "e1.bin", v1, sizeof(v1), &l1);
	uint8_t *i2 = app("2.1.0", "e2.bin", v2, sizeof(v2), &l2);
	uint8_t *i3 = app("2.2.0", "e3.bin", v3, sizeof(v3), &l3);

	(void)state;
	tmpdir_path(pt, sizeof(pt), "esp.patch");
	tmpdir_path(o, sizeof(o), "esp-out.bin");
	/* the appended SHA-256 is the image's last 32 bytes */
	for (i = 0; i < 32; i++)
		sprintf(hx + 2 * i, "%02x", i1[l1 - 32 + i]);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --esp-header %s %s %s", v1, v2,
				    pt),
			 0);
	assert_non_null(strstr(out, hx));
	assert_non_null(strstr(out, "app image validation hash"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", pt), 0);
	assert_non_null(strstr(out, "esp_delta_ota:     64-byte header"));
	assert_non_null(strstr(out, hx));

	/* another base: refused before anything is written */
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image patch %s %s %s", v3, pt, o),
		1);
	assert_non_null(strstr(out, "made for another base"));
	assert_int_equal(access(o, F_OK), -1);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image patch %s %s %s", v1, pt, o),
		0);
	assert_file_is(o, i2, l2);

	/* warning: esp_delta_ota only takes W8 L7 */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --force --esp-header "
				    "--compression none %s %s %s",
				    v1, v2, pt),
			 0);
	assert_non_null(strstr(out, "esp_delta_ota only applies heatshrink"));
	free(i1);
	free(i2);
	free(i3);
}

static void test_refusals(void **state)
{
	char out[8192], v1[512], v2[512], v3[512], pt[512], bad[512], o[512];
	size_t l1, l2, l3, plen;
	uint8_t *i1 = app("3.0.0", "r1.bin", v1, sizeof(v1), &l1);
	uint8_t *i2 = app("3.0.1", "r2.bin", v2, sizeof(v2), &l2);
	uint8_t *p, *keep, *i3;
	FILE *fp;

	(void)state;
	tmpdir_path(pt, sizeof(pt), "r.patch");
	tmpdir_path(bad, sizeof(bad), "r-bad.patch");
	tmpdir_path(o, sizeof(o), "r-out.bin");
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image diff %s %s %s", v1, v2, pt),
		0);

	/* existing PATCH / OUT: not replaced without --force */
	keep = e2e_read_all(v2, &l2);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image diff %s %s %s", v1, v2, v2),
		1);
	assert_non_null(strstr(out, "exists; not replacing it (use --force)"));
	e2e_assert_file_unchanged(v2, keep, l2);
	keep = e2e_read_all(v1, &l1);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image patch %s %s %s",
				    v1, pt, v1),
			 1);
	e2e_assert_file_unchanged(v1, keep, l1);

	/* usage errors: 2 */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --compression lzma %s %s %s",
				    v1, v2, o),
			 2);
	assert_non_null(strstr(out, "use heatshrink or none"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --window 11 %s %s %s", v1, v2,
				    o),
			 2);
	assert_non_null(strstr(out, "the device decoder's largest"));
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image patch %s %s", v1, pt), 2);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image frobnicate %s", v1), 2);
	assert_non_null(strstr(out, "diff or patch"));

	/* a damaged patch: its reason, exit 1, no OUT */
	p = e2e_read_all(pt, &plen);
	fp = fopen(bad, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, plen / 2, fp), plen / 2);
	fclose(fp);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image patch %s %s %s",
				    v1, bad, o),
			 1);
	assert_non_null(
		strstr(out, "the patch file is incomplete, copy it again"));
	assert_int_equal(access(o, F_OK), -1);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", bad), 1);
	assert_non_null(strstr(out, "status:            INVALID"));
	/* a valid patch of a kind bleota does not take: lzma */
	fp = fopen(bad, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite("\x01\x9c\x2b\x5d\x00", 1, 5, fp), 5);
	fclose(fp);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", bad), 1);
	assert_non_null(strstr(out, "compression:       lzma"));
	assert_non_null(strstr(out, "status:            NOT SUPPORTED"));
	/* a text file is no patch of any kind: said so, not "type unknown" */
	fp = fopen(bad, "wb");
	assert_non_null(fp);
	fputs("{\"devices\": []}\n", fp);
	fclose(fp);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", bad), 1);
	assert_non_null(strstr(out, "neither an ESP app image"));
	assert_non_null(strstr(out, "nor a detools patch"));
	assert_null(strstr(out, "type:"));
	/* the wrong base for a plain patch: caught by a record bound or
	 * not at all (no hash): here the base is too short */
	fp = fopen(bad, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(i1, 1, 100, fp), 100);
	fclose(fp);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image patch %s %s %s",
				    bad, pt, o),
			 1);
	assert_non_null(strstr(out, "record reads outside the base at patch "
				    "byte"));
	assert_non_null(strstr(out, "is BASE the image the patch was made "
				    "from?"));
	assert_int_equal(access(o, F_OK), -1);
	/* another app image of the same size as BASE: every record applies,
	 * and what comes out starts like an app image but is no valid one
	 * (a header-less patch names no base): refused, no OUT */
	i3 = app("3.0.2", "r3.bin", v3, sizeof(v3), &l3);
	assert_int_equal(l3, l1);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image patch %s %s %s", v3, pt, o),
		1);
	assert_non_null(strstr(out, "gives no valid app image"));
	assert_non_null(strstr(out, "is BASE the image the patch was made "
				    "from?"));
	assert_non_null(strstr(out, "--esp-header"));
	assert_int_equal(access(o, F_OK), -1);
	/* any pair of files works: a patch from an app image to a file that
	 * does not start like one is applied as it is */
	fp = fopen(bad, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite("not an app image\n", 1, 17, fp), 17);
	fclose(fp);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image diff --force %s %s %s", v1, bad, pt),
			 0);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "image patch %s %s %s", v1, pt, o),
		0);
	assert_file_is(o, (const uint8_t *)"not an app image\n", 17);
	free(p);
	free(i1);
	free(i2);
	free(i3);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/cli/delta/round-trip", test_round_trip, NULL, NULL, NULL },
		{ "/cli/delta/esp-header", test_esp_header, NULL, NULL, NULL },
		{ "/cli/delta/refusals", test_refusals, NULL, NULL, NULL },
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("cli-delta", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
