/* SPDX-License-Identifier: MIT */
/*
 * bleota push choosing what to send, end to end: the real bleota-peripheral
 * and bleota programs over a UNIX socket, images built here (the test image
 * builder; a "repeat" image is compressible, random ones are not).
 *
 *  - a delta against --base FILE when it is the running image;
 *  - a delta against the image cache: a push stores what it delivered,
 *    the next push to that device finds it by the hash the device reports;
 *  - no base: a compressed full image when that is smaller, else plain;
 *  - --full: plain, even with a base;
 *  - the device reflashed behind a retrying push: BEGIN is refused with
 *    WRONG_BASE and the push falls back to a full image by itself;
 *  - a delta interrupted (client killed, device power cut) resumes;
 *  - a signed image goes as a delta of its signed region; the device
 *    checks the signature block on the rebuilt image.
 *
 * Every push ends with the slot holding the new image byte for byte, and
 * with --confirm, the device running it VALID after the reboot.
 */
#define _GNU_SOURCE
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
#include "tests/harness/sigkeys.h"
#include "tests/harness/tmpdir.h"

struct fx {
	struct e2e_image v1;  /* runs on the device at the start */
	struct e2e_image v2;  /* v1 with another version string */
	struct e2e_image v2b; /* v2 with another version string */
	struct e2e_image v3;  /* v1 grown by 200 KB of new code */
	struct e2e_image vz;  /* compressible */
	char flash[512];
	char cache[512];
	struct e2e_periph per;
	char out[65536];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	e2e_image(&f->v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v2b, "v2b.bin", "2.0.1", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v3, "v3.bin", "3.0.0", DEV_CHIP, 0, 300000,
		  ESP_CORRUPT_NONE);
	e2e_image_repeat(&f->vz, "vz.bin", "4.0.0", 300000, 200);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->v1.data);
	free(f->v2.data);
	free(f->v2b.data);
	free(f->v3.data);
	free(f->vz.data);
	free(f);
	sigkey_free_all();
	return 0;
}

/* A fresh device running v1, and an empty image cache named @tag. */
static void start(struct fx *f, const char *tag, const char *opts)
{
	char name[64];

	snprintf(name, sizeof(name), "%s.flash", tag);
	e2e_flash(f->flash, sizeof(f->flash), name, &f->v1);
	snprintf(name, sizeof(name), "%s.cache", tag);
	tmpdir_path(f->cache, sizeof(f->cache), name);
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out), "rm -rf '%s'", f->cache), 0);
	e2e_periph_start(&f->per, f->flash, tag, opts);
}

/* After the push: @im in @slot, running and VALID. */
static void assert_runs(struct fx *f, int slot, const struct e2e_image *im,
			const char *version)
{
	struct e2e_flash_view v;

	e2e_periph_stop(&f->per);
	e2e_view_flash(f->flash, im->len, &v);
	assert_int_equal(v.running_slot, slot);
	assert_int_equal(v.running_state, 2 /* VALID */);
	assert_string_equal(v.running_version, version);
	e2e_assert_slot_holds(f->flash, slot, im);
}

static void assert_plan(const char *out, const char *encoding)
{
	char want[64];

	snprintf(want, sizeof(want), "\"event\":\"plan\",\"encoding\":\"%s\"",
		 encoding);
	if (!strstr(out, want))
		fail_msg("no %s plan in:\n%s", encoding, out);
}

static void test_delta_from_base_file(void **state)
{
	struct fx *f = *state;
	unsigned long air;

	start(f, "dbase", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --confirm --image-cache %s "
				    "--base %s unix:%s %s",
				    f->cache, f->v1.path, f->per.sock,
				    f->v2.path),
			 0);
	assert_plan(f->out, "delta");
	assert_non_null(strstr(f->out, "\"base\":\"file\""));
	assert_non_null(strstr(f->out, "sending a delta"));
	assert_non_null(
		strstr(f->out, "against the running 1.0.0 from --base"));
	/* the progress line counts both */
	assert_non_null(strstr(f->out, "\"air\":"));
	air = e2e_json_number(f->out, "air_bytes");
	print_message("delta of a version bump: %lu bytes on the air for a "
		      "%zu-byte image\n",
		      air, f->v2.len);
	assert_true(air > 0 && air < f->v2.len / 50);
	assert_non_null(strstr(f->out, "\"encoding\":\"delta\",\"air_bytes\""));
	assert_non_null(strstr(f->out, "confirmed: ota_1 2.0.0 is VALID"));
	assert_runs(f, 1, &f->v2, "2.0.0");
}

/* The cache: filled by a successful push, found by the device's hash. */
static void test_delta_from_cache(void **state)
{
	struct fx *f = *state;
	char path[600];

	start(f, "dcache", "");
	/* v1 is not in the cache: random data does not compress: plain */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --confirm --image-cache %s "
				    "unix:%s %s",
				    f->cache, f->per.sock, f->v2.path),
			 0);
	assert_plan(f->out, "plain");
	assert_non_null(strstr(f->out, "it does not compress"));
	assert_non_null(strstr(f->out, "is not in the image cache; give it "
				       "with --base FILE"));
	/* the cache now holds v2 under its validation hash */
	snprintf(path, sizeof(path), "%s/%02x", f->cache,
		 f->v2.data[f->v2.len - 32]);
	assert_int_equal(e2e_sh(f->out, sizeof(f->out), "ls %s*.bin", path), 0);

	/* --no-image-cache: no lookup, says why */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --no-commit --no-image-cache "
				    "unix:%s %s",
				    f->per.sock, f->v2b.path),
			 0);
	assert_plan(f->out, "plain");
	assert_non_null(strstr(f->out, "the image cache is off"));

	/* now the device runs v2: the next push is a delta from the cache
	 * (resuming nothing: the --no-commit upload was of the same image,
	 * so --fresh) */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --fresh --confirm "
				    "--image-cache %s unix:%s %s",
				    f->cache, f->per.sock, f->v2b.path),
			 0);
	assert_plan(f->out, "delta");
	assert_non_null(strstr(f->out, "\"base\":\"cache\""));
	assert_non_null(strstr(f->out, "from the image cache"));
	assert_true(e2e_json_number(f->out, "air_bytes") < f->v2b.len / 50);
	assert_runs(f, 0, &f->v2b, "2.0.1");
}

/*
 * --base is another image but the cache holds the running one: the delta
 * comes from the cache, and the plan line says --base was not used (the
 * user named it and would otherwise think it was).
 */
static void test_delta_from_cache_not_base(void **state)
{
	struct fx *f = *state;
	const struct e2e_image *push[2] = { &f->v2, &f->v2b };
	char want[700], base[600];
	int i;

	start(f, "dcnb", "");
	/* v2 goes to the device and into the cache; then v2b, naming v1 */
	for (i = 0; i < 2; i++) {
		snprintf(base, sizeof(base), i ? "--base %s" : "", f->v1.path);
		assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
					    "push --json --confirm "
					    "--image-cache %s %s unix:%s %s",
					    f->cache, base, f->per.sock,
					    push[i]->path),
				 0);
	}
	assert_plan(f->out, "delta");
	assert_non_null(strstr(f->out, "\"base\":\"cache\""));
	snprintf(want, sizeof(want),
		 "against the running 2.0.0 from the image cache (--base %s "
		 "is not the running image), ",
		 f->v1.path);
	assert_non_null(strstr(f->out, want));
	assert_runs(f, 0, &f->v2b, "2.0.1");
	/* a directory: tmpdir_cleanup() removes only files */
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out), "rm -rf '%s'", f->cache), 0);
}

/* No base: compressed when smaller, plain when not; --full: plain. */
static void test_compressed_and_full(void **state)
{
	struct fx *f = *state;
	unsigned long air;

	start(f, "dz", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --confirm --image-cache %s "
				    "unix:%s %s",
				    f->cache, f->per.sock, f->vz.path),
			 0);
	assert_plan(f->out, "compressed");
	assert_non_null(strstr(f->out, "sending the image compressed"));
	air = e2e_json_number(f->out, "air_bytes");
	print_message("compressed: %lu bytes on the air for a %zu-byte "
		      "image\n",
		      air, f->vz.len);
	assert_true(air < f->vz.len / 2);
	assert_runs(f, 1, &f->vz, "4.0.0");

	/* --full wins over a matching --base */
	start(f, "dfull", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --confirm --full --base %s "
				    "--image-cache %s unix:%s %s",
				    f->v1.path, f->cache, f->per.sock,
				    f->v2.path),
			 0);
	assert_plan(f->out, "plain");
	assert_non_null(strstr(f->out, "(--full)"));
	assert_true(e2e_json_number(f->out, "air_bytes") == f->v2.len);
	assert_runs(f, 1, &f->v2, "2.0.0");
}

/* --base that is not the running image: said, and not used. */
static void test_base_mismatch(void **state)
{
	struct fx *f = *state;
	char junk[512];

	start(f, "dmis", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --no-commit --image-cache %s "
				    "--base %s unix:%s %s",
				    f->cache, f->v2.path, f->per.sock,
				    f->v2b.path),
			 0);
	assert_plan(f->out, "plain");
	assert_non_null(strstr(f->out, "is not the running image"));
	assert_non_null(strstr(f->out, "the device runs 1.0.0"));
	e2e_periph_stop(&f->per);
	/* not an image at all: refused before connecting */
	tmpdir_path(junk, sizeof(junk), "junk.bin");
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"head -c 4096 /dev/zero > '%s'", junk),
			 0);
	start(f, "dmis2", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --image-cache %s --base %s unix:%s "
				    "%s",
				    f->cache, junk, f->per.sock, f->v2b.path),
			 2);
	assert_non_null(strstr(f->out, "not an app image"));
	assert_non_null(strstr(f->out, "nothing was sent"));
	e2e_periph_stop(&f->per);
	assert_false(e2e_log_contains(&f->per, "client connected"));
}

/*
 * The device is reflashed (ota_0 now holds v2) while a delta against v1
 * is under way: the retrying push reconnects with its plan, the device
 * refuses BEGIN with WRONG_BASE before erasing anything, and the push
 * sends the full image instead.
 */
static void test_wrong_base_falls_back(void **state)
{
	struct fx *f = *state;
	char other[512];
	struct e2e_bg b;
	char opts[1200];

	start(f, "dwrong", "--impair rate=200K");
	/* the replacement flash, ready to be renamed into place */
	e2e_flash(other, sizeof(other), "dwrong-other.flash", &f->v2);
	snprintf(opts, sizeof(opts), "--retries 20 --image-cache %s --base %s",
		 f->cache, f->v1.path);
	e2e_bg_push(&b, f->per.sock, f->v3.path, opts);
	e2e_bg_wait_progress(&b, f->v3.len / 2);
	e2e_periph_kill(&f->per);
	assert_int_equal(rename(other, f->flash), 0);
	e2e_periph_start(&f->per, f->flash, "dwrong", "--impair rate=200K");
	assert_int_equal(e2e_bg_finish(&b, f->out, sizeof(f->out)), 0);
	assert_non_null(strstr(f->out, "\"event\":\"wrong_base\""));
	assert_non_null(strstr(f->out, "sending the full image instead"));
	assert_plan(f->out, "plain");
	assert_non_null(strstr(f->out, "\"event\":\"committed\""));
	e2e_periph_stop(&f->per);
	e2e_assert_slot_holds(f->flash, 1, &f->v3);
}

/* A delta cut by a killed client resumes in the next push. */
static void test_delta_resumes_after_client_kill(void **state)
{
	struct fx *f = *state;
	unsigned long held;
	struct e2e_bg b;
	char opts[1200];

	start(f, "dckill", "--impair rate=200K");
	snprintf(opts, sizeof(opts), "--image-cache %s --base %s", f->cache,
		 f->v1.path);
	e2e_bg_push(&b, f->per.sock, f->v3.path, opts);
	e2e_bg_wait_progress(&b, f->v3.len * 6 / 10);
	e2e_bg_kill(&b);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --confirm %s unix:%s %s", opts,
				    f->per.sock, f->v3.path),
			 0);
	assert_plan(f->out, "delta");
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	held = e2e_json_number(f->out, "held");
	print_message("delta resumed with %lu patch bytes held of %lu\n", held,
		      e2e_json_number(f->out, "air_bytes"));
	assert_true(held > 0);
	assert_runs(f, 1, &f->v3, "3.0.0");
}

/* A delta cut by a power cut: the push reconnects and resumes. */
static void test_delta_resumes_after_power_cut(void **state)
{
	struct fx *f = *state;
	struct e2e_bg b;
	char opts[1200];

	start(f, "dpkill", "--impair rate=200K");
	snprintf(opts, sizeof(opts),
		 "--retries 20 --confirm --image-cache %s --base %s", f->cache,
		 f->v1.path);
	e2e_bg_push(&b, f->per.sock, f->v3.path, opts);
	e2e_bg_wait_progress(&b, f->v3.len * 6 / 10);
	e2e_periph_kill(&f->per);
	e2e_periph_start(&f->per, f->flash, "dpkill", "--impair rate=200K");
	assert_int_equal(e2e_bg_finish(&b, f->out, sizeof(f->out)), 0);
	/* the plan line was read before the cut: the summary says it */
	assert_non_null(strstr(f->out, "\"encoding\":\"delta\",\"air_bytes\""));
	assert_non_null(strstr(f->out, "\"event\":\"reconnecting\""));
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	assert_true(e2e_json_number(f->out, "held") > 0);
	assert_runs(f, 1, &f->v3, "3.0.0");
}

static void test_signed_delta(void **state)
{
	struct fx *f = *state;
	char priv[512], pub[512], opts[1200];
	struct e2e_image s2;

	tmpdir_path(priv, sizeof(priv), "key.pem");
	tmpdir_path(pub, sizeof(pub), "key.pub.pem");
	sigkey_write_pem(sigkey_get(OTA_SIG_ECDSA_P256, 0), priv, true);
	sigkey_write_pem(sigkey_get(OTA_SIG_ECDSA_P256, 0), pub, false);
	tmpdir_path(s2.path, sizeof(s2.path), "v2-signed.bin");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "image sign --key %s %s %s", priv,
				    f->v2.path, s2.path),
			 0);
	s2.data = e2e_read_all(s2.path, &s2.len);
	snprintf(opts, sizeof(opts), "--trusted-key %s", pub);
	start(f, "dsig", opts);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --confirm --image-cache %s "
				    "--base %s unix:%s %s",
				    f->cache, f->v1.path, f->per.sock, s2.path),
			 0);
	assert_plan(f->out, "delta");
	assert_true(e2e_json_number(f->out, "air_bytes") < s2.len / 20);
	/* one block: the file's sector is what the device writes */
	assert_runs(f, 1, &s2, "2.0.0");
	free(s2.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delta_from_base_file),
		cmocka_unit_test(test_delta_from_cache),
		cmocka_unit_test(test_delta_from_cache_not_base),
		cmocka_unit_test(test_compressed_and_full),
		cmocka_unit_test(test_base_mismatch),
		cmocka_unit_test(test_wrong_base_falls_back),
		cmocka_unit_test(test_delta_resumes_after_client_kill),
		cmocka_unit_test(test_delta_resumes_after_power_cut),
		cmocka_unit_test(test_signed_delta),
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("push_delta", tests, setup, teardown);
	tmpdir_cleanup();
	return rc;
}
