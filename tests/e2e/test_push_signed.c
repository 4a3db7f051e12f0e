/* SPDX-License-Identifier: MIT */
/*
 * Signed pushes end to end: keys generated at run time, images signed with
 * `bleota image sign`, a real bleota-peripheral started with
 * --trusted-key, and `bleota push` carrying one signature block in its
 * manifest (docs/protocol.md §5). After each push the flash file is read
 * back: a signed update installs the signed region plus a signature
 * sector holding the block the device accepted; every refusal leaves the
 * flash byte-for-byte unchanged.
 */
#define _GNU_SOURCE

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ota_engine/sigblock.h"
#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/sigkeys.h"
#include "tests/harness/tmpdir.h"

struct fx {
	struct e2e_image v1;
	struct e2e_image v2;
	char priv[2][512]; /* P-256 keys 0 and 1, private PEM */
	char pub[2][512];  /* their public halves */
	char flash[512];
	struct e2e_periph per;
	char out[65536];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char name[32];
	unsigned int k;

	if (!f)
		return -1;
	e2e_image(&f->v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 300000,
		  ESP_CORRUPT_NONE);
	for (k = 0; k < 2; k++) {
		snprintf(name, sizeof(name), "key%u.pem", k);
		tmpdir_path(f->priv[k], sizeof(f->priv[k]), name);
		sigkey_write_pem(sigkey_get(OTA_SIG_ECDSA_P256, k), f->priv[k],
				 true);
		snprintf(name, sizeof(name), "key%u.pub.pem", k);
		tmpdir_path(f->pub[k], sizeof(f->pub[k]), name);
		sigkey_write_pem(sigkey_get(OTA_SIG_ECDSA_P256, k), f->pub[k],
				 false);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->v1.data);
	free(f->v2.data);
	free(f);
	sigkey_free_all();
	return 0;
}

/* `bleota image sign` with @keys (a "--key A --key B" list) into @out. */
static void sign(struct fx *f, struct e2e_image *out, const char *name,
		 const char *keys)
{
	char log[4096];

	tmpdir_path(out->path, sizeof(out->path), name);
	assert_int_equal(e2e_bleota(log, sizeof(log), "image sign %s %s %s",
				    keys, f->v2.path, out->path),
			 0);
	out->data = e2e_read_all(out->path, &out->len);
	assert_int_equal(out->len % 4096, 0);
	assert_true(out->len > f->v2.len);
}

/* What the slot must hold after a signed push that carried block @blk of
 * @im: the signed region, then a sector with that block and 0xFF. */
static void expect_installed(const struct e2e_image *im, unsigned int blk,
			     struct e2e_image *want)
{
	size_t region = im->len - OTA_SIGBLOCK_SECTOR_LEN;

	want->len = im->len;
	want->data = malloc(want->len);
	assert_non_null(want->data);
	memcpy(want->data, im->data, region);
	memset(want->data + region, 0xff, OTA_SIGBLOCK_SECTOR_LEN);
	memcpy(want->data + region,
	       im->data + region + (size_t)blk * OTA_SIGBLOCK_LEN,
	       OTA_SIGBLOCK_LEN);
}

static void start_trusting(struct fx *f, const char *tag, unsigned int key,
			   const char *extra)
{
	char opts[1200];

	e2e_flash(f->flash, sizeof(f->flash), tag, &f->v1);
	snprintf(opts, sizeof(opts), "--trusted-key %s %s", f->pub[key], extra);
	e2e_periph_start(&f->per, f->flash, tag, opts);
}

/* The device lists its key; a signed image installs, boots, is confirmed. */
static void test_signed_push_confirm(void **state)
{
	struct fx *f = *state;
	struct e2e_image s, want;
	struct e2e_flash_view v;
	uint8_t kd[32];
	char keys[600], hex[65];
	unsigned int i;

	snprintf(keys, sizeof(keys), "--key %s", f->priv[0]);
	sign(f, &s, "v2-signed.bin", keys);
	start_trusting(f, "signed", 0, "");

	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	sigkey_digest(OTA_SIG_ECDSA_P256, 0, kd);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", kd[i]);
	assert_non_null(strstr(f->out, "signed images:   required"));
	assert_non_null(strstr(f->out, hex));

	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --confirm unix:%s %s", f->per.sock,
				    s.path),
			 0);
	assert_non_null(strstr(f->out, "verified by the device"));
	assert_non_null(strstr(f->out, "confirmed: ota_1 2.0.0 is VALID"));
	e2e_periph_stop(&f->per);
	e2e_view_flash(f->flash, s.len, &v);
	assert_int_equal(v.running_slot, 1);
	assert_int_equal(v.running_state, 2 /* VALID */);
	expect_installed(&s, 0, &want);
	/* one block in the file: the slot holds the file exactly */
	assert_memory_equal(want.data, s.data, s.len);
	e2e_assert_slot_holds(f->flash, 1, &want);
	e2e_assert_slot_holds(f->flash, 0, &f->v1);
	free(want.data);
	free(s.data);
}

/* Unsigned, or signed with a key the device does not trust: refused at
 * BEGIN with the specific reason, exit 4, the flash untouched. */
static void test_refusals_leave_flash_untouched(void **state)
{
	struct fx *f = *state;
	struct e2e_image s;
	uint8_t *before;
	size_t blen;
	char keys[600];

	snprintf(keys, sizeof(keys), "--key %s", f->priv[1]);
	sign(f, &s, "v2-key1.bin", keys);
	start_trusting(f, "refuse", 0, "");
	before = e2e_read_all(f->flash, &blen);

	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v2.path),
			 4);
	assert_non_null(strstr(f->out, "the device only accepts signed"));
	assert_non_null(strstr(f->out, "bleota image sign"));

	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, s.path),
			 4);
	assert_non_null(strstr(f->out, "key the device does not trust"));

	e2e_periph_stop(&f->per);
	e2e_assert_file_unchanged(f->flash, before, blen);
	free(s.data);
}

/* Two blocks (key 1 first): the device trusts key 0, the central reads
 * that from INFO and sends block 1; the slot's sector holds that block. */
static void test_picks_trusted_block(void **state)
{
	struct fx *f = *state;
	struct e2e_image s, want;
	char keys[1200];

	snprintf(keys, sizeof(keys), "--key %s --key %s", f->priv[1],
		 f->priv[0]);
	sign(f, &s, "v2-two.bin", keys);
	start_trusting(f, "pick", 0, "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push -vv unix:%s %s", f->per.sock, s.path),
			 0);
	assert_non_null(strstr(f->out, "sending signature block 1"));
	e2e_periph_stop(&f->per);
	expect_installed(&s, 1, &want);
	e2e_assert_slot_holds(f->flash, 1, &want);
	free(want.data);
	free(s.data);
}

/* A power cut mid-push: the restarted device accepts the same signed
 * BEGIN again and the push resumes instead of starting over. */
static void test_signed_resume_after_power_cut(void **state)
{
	struct fx *f = *state;
	struct e2e_image s, want;
	struct e2e_bg b;
	char keys[600], opts[700];

	snprintf(keys, sizeof(keys), "--key %s", f->priv[0]);
	sign(f, &s, "v2-resume.bin", keys);
	start_trusting(f, "sresume", 0, "--impair rate=200K");
	e2e_bg_push(&b, f->per.sock, s.path, "--retries 20");
	e2e_bg_wait_progress(&b, s.len / 2);
	e2e_periph_kill(&f->per);
	snprintf(opts, sizeof(opts), "--trusted-key %s --impair rate=200K",
		 f->pub[0]);
	e2e_periph_start(&f->per, f->flash, "sresume", opts);
	assert_int_equal(e2e_bg_finish(&b, f->out, sizeof(f->out)), 0);
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	assert_true(e2e_json_number(f->out, "held") > 0);
	e2e_periph_stop(&f->per);
	expect_installed(&s, 0, &want);
	e2e_assert_slot_holds(f->flash, 1, &want);
	free(want.data);
	free(s.data);
}

/* A file whose signature sector holds no valid block never leaves the
 * host. */
static void test_broken_signature_not_sent(void **state)
{
	struct fx *f = *state;
	struct e2e_image s;
	FILE *fp;
	char keys[600];

	snprintf(keys, sizeof(keys), "--key %s", f->priv[0]);
	sign(f, &s, "v2-broken.bin", keys);
	/* a flipped byte inside the block: its CRC no longer matches */
	s.data[s.len - OTA_SIGBLOCK_SECTOR_LEN + 100] ^= 0x01;
	fp = fopen(s.path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(s.data, 1, s.len, fp), s.len);
	fclose(fp);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push unix:/nonexistent/dev.sock %s",
				    s.path),
			 3);
	assert_non_null(strstr(f->out, "no valid block"));
	free(s.data);
}

#define T(name, fn)                        \
	{                                  \
		name, fn, NULL, NULL, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/push-signed/push-confirm", test_signed_push_confirm),
		T("/push-signed/refusals-leave-flash-untouched",
		  test_refusals_leave_flash_untouched),
		T("/push-signed/picks-trusted-block", test_picks_trusted_block),
		T("/push-signed/resume-after-power-cut",
		  test_signed_resume_after_power_cut),
		T("/push-signed/broken-signature-not-sent",
		  test_broken_signature_not_sent),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	e2e_init();
	rc = cmocka_run_group_tests_name("push-signed", tests, setup, teardown);
	tmpdir_cleanup();
	return rc;
}
