/* SPDX-License-Identifier: MIT */
/*
 * The engine's delta sessions (ota_engine/session_delta.c): a patch
 * against the running image rebuilds the new one in the update slot and
 * boots; both compressions and a compressed full image; the base check
 * before anything is written; each kind of bad patch refused with its own
 * reason and the running slot untouched; a corrupted block taking decoding
 * back to a checkpoint; resume after a reboot from the journal, resending
 * less than one window.
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

#include "common/crc32.h"
#include "host/delta_diff.h"
#include "ota_engine/otadata.h"
#include "tests/harness/delta_push.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"

#define SLOT0 0x10000u
#define SLOT1 0x110000u

struct fx {
	struct dev d;
	uint8_t *v1, *v2;
	size_t v1_len, v2_len;
	uint8_t run_sha[32]; /* ota_0's first v1_len bytes at start */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->v1 = dev_image("1.0.0", 1, 11, &fx->v1_len);
	fx->v2 = dev_image("2.0.0", 1, 22, &fx->v2_len);
	dev_create(&fx->d, "delta.bin", NULL, fx->v1, fx->v1_len);
	dev_sha256(fx->v1, fx->v1_len, fx->run_sha);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->d.f)
		dev_power_off(&fx->d);
	free(fx->v1);
	free(fx->v2);
	free(fx);
	return 0;
}

/* The running slot still holds v1, byte for byte. */
static void running_untouched(struct fx *fx)
{
	uint8_t sha[32];

	dev_slot_sha256(&fx->d, 0, fx->v1_len, sha);
	assert_memory_equal(sha, fx->run_sha, 32);
}

static void expect_reason(struct fx *fx, int rc, int want_rc,
			  enum ota_engine_reason want)
{
	if (rc != want_rc || ota_engine_last_reason(&fx->d.eng) != want)
		fail_msg("rc %d reason %s (%s), expected %d %s", rc,
			 ota_engine_reason_name(
				 ota_engine_last_reason(&fx->d.eng)),
			 ota_engine_last_detail(&fx->d.eng), want_rc,
			 ota_engine_reason_name(want));
}

/* finish + commit + reboot: v2 runs from ota_1. */
static void finish_and_boot(struct fx *fx)
{
	struct ota_engine_status st;

	if (ota_engine_finish(&fx->d.eng))
		fail_msg("finish: %s", ota_engine_last_detail(&fx->d.eng));
	assert_int_equal(ota_engine_commit(&fx->d.eng), 0);
	running_untouched(fx);
	assert_int_equal(dev_power_on(&fx->d), 1);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_string_equal(st.running_version, "2.0.0");
}

/* Whole blocks [@from, @to) of @p, each checked. */
static void send_whole_blocks(struct fx *fx, const uint8_t *p, uint32_t from,
			      uint32_t to)
{
	uint32_t b;

	for (b = from; b < to; b++) {
		assert_int_equal(ota_engine_write(&fx->d.eng, b * 4096,
						  p + b * 4096, 4096),
				 0);
		assert_int_equal(ota_engine_block_verify(
					 &fx->d.eng, b,
					 ota_crc32(0, p + b * 4096, 4096)),
				 0);
	}
}

static void delta_update(struct fx *fx, const uint8_t *base, bool hs,
			 size_t chunk)
{
	struct ota_engine_manifest m;
	uint8_t *p;
	size_t plen;

	p = dp_patch(base, base ? fx->v1_len : 0, fx->v2, fx->v2_len, hs,
		     &plen);
	assert_non_null(p);
	assert_true(plen > 4096); /* several blocks */
	dp_manifest(base, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	if (dp_send(&fx->d, p, plen, chunk))
		fail_msg("send: %s", ota_engine_last_detail(&fx->d.eng));
	finish_and_boot(fx);
	free(p);
}

static void test_update_heatshrink(void **state)
{
	struct fx *fx = *state;

	delta_update(fx, fx->v1, true, 244);
}

static void test_update_none(void **state)
{
	struct fx *fx = *state;

	delta_update(fx, fx->v1, false, 1000);
}

/* from-size 0: a compressed full image, no BASE_SHA256, no base reads */
static void test_update_compressed_full(void **state)
{
	struct fx *fx = *state;

	delta_update(fx, NULL, true, 509);
}

/* INFO's RUN_SHA256: the running image's appended hash (the last 32 B). */
static void test_running_hash(void **state)
{
	struct fx *fx = *state;
	uint8_t sha[32];
	bool is_app;

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_running_hash(&fx->d.eng, sha), 0);
	assert_memory_equal(sha, fx->v1 + fx->v1_len - 32, 32);
	delta_esp_base_hash(fx->v1, fx->v1_len, sha, &is_app);
	assert_true(is_app);
	assert_memory_equal(sha, fx->v1 + fx->v1_len - 32, 32);
}

/* Another base: refused at begin, before any flash change. */
static void test_wrong_base(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t *before, *after;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, 5000, &m);
	m.base_sha256[3] ^= 1;
	before = dev_snapshot(&fx->d);
	expect_reason(fx, ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_FORCE),
		      -EXDEV, OTA_ENGINE_REASON_WRONG_BASE);
	after = dev_snapshot(&fx->d);
	assert_memory_equal(before, after, DEV_FLASH_SIZE);
	free(before);
	free(after);
}

/* The esp_delta_ota header names another base than the manifest. */
static void test_esp_header_other_base(void **state)
{
	struct fx *fx = *state;
	struct delta_diff_opts o = {
		.heatshrink = true, .w = 8, .l = 7, .esp_header = true
	};
	struct ota_engine_manifest m;
	uint8_t *p;
	size_t plen;

	memset(o.esp_base_sha256, 0x5a, 32);
	p = delta_diff(fx->v1, fx->v1_len, fx->v2, fx->v2_len, &o, &plen);
	assert_non_null(p);
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	expect_reason(fx, dp_send(&fx->d, p, plen, 4096), -EXDEV,
		      OTA_ENGINE_REASON_WRONG_BASE);
	running_untouched(fx);
	free(p);
}

/*
 * Bad patches, each refused with its own reason; the running slot never
 * changes and the session ends.
 */
static void test_bad_patches(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t *p, *other;
	size_t plen, olen;
	uint8_t hdr[16];
	int rc;

	p = dp_patch(fx->v1, fx->v1_len, fx->v2, fx->v2_len, true, &plen);
	assert_non_null(p);
	assert_int_equal(dev_power_on(&fx->d), 0);

	/* not a patch: header pad bit */
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	memcpy(hdr, p, sizeof(hdr));
	hdr[0] |= 0x80;
	expect_reason(fx, ota_engine_write(&fx->d.eng, 0, hdr, sizeof(hdr)),
		      -EBADMSG, OTA_ENGINE_REASON_BAD_PATCH);
	assert_int_equal(ota_engine_last_note(&fx->d.eng)->n[0],
			 OTA_DELTA_ERR_HEADER);
	expect_reason(fx, ota_engine_write(&fx->d.eng, 16, p + 16, 16), -EPROTO,
		      OTA_ENGINE_REASON_NO_SESSION);

	/* truncated heatshrink stream: the manifest says 3/4 of it */
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen * 3 / 4, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dp_send(&fx->d, p, plen * 3 / 4, 512), 0);
	rc = ota_engine_finish(&fx->d.eng);
	expect_reason(fx, rc, -EBADMSG, OTA_ENGINE_REASON_BAD_PATCH);
	assert_int_equal(ota_engine_last_note(&fx->d.eng)->n[0],
			 OTA_DELTA_ERR_SHORT);

	/* a patch for a smaller image than the manifest says */
	other = dp_patch(fx->v1, fx->v1_len, fx->v2, fx->v2_len - 16, true,
			 &olen);
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, olen, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	expect_reason(fx, dp_send(&fx->d, other, olen, 4096), -ENOEXEC,
		      OTA_ENGINE_REASON_MANIFEST_MISMATCH);
	free(other);

	/* output that hashes differently: the new image with one byte off */
	fx->v2[fx->v2_len / 2] ^= 0x40;
	other = dp_patch(fx->v1, fx->v1_len, fx->v2, fx->v2_len, true, &olen);
	fx->v2[fx->v2_len / 2] ^= 0x40;
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, olen, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dp_send(&fx->d, other, olen, 4096), 0);
	expect_reason(fx, ota_engine_finish(&fx->d.eng), -EILSEQ,
		      OTA_ENGINE_REASON_HASH_MISMATCH);
	free(other);

	/* a compressed full image that reads a base after all */
	dp_manifest(NULL, 0, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	expect_reason(fx, dp_send(&fx->d, p, plen, 4096), -EBADMSG,
		      OTA_ENGINE_REASON_BAD_PATCH);
	assert_int_equal(ota_engine_last_note(&fx->d.eng)->n[0],
			 OTA_DELTA_ERR_BASE_RANGE);
	running_untouched(fx);

	/* out of order: the decoder takes the next byte only */
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	expect_reason(fx, ota_engine_write(&fx->d.eng, 100, p + 100, 10),
		      -EINVAL, OTA_ENGINE_REASON_OUT_OF_RANGE);
	/* and not into block 1 before block 0 checked out */
	assert_int_equal(ota_engine_write(&fx->d.eng, 0, p, 4096), 0);
	expect_reason(fx, ota_engine_write(&fx->d.eng, 4096, p + 4096, 10),
		      -EINVAL, OTA_ENGINE_REASON_OUT_OF_RANGE);
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	running_untouched(fx);
	free(p);
}

/*
 * A block corrupted in transit: its CRC fails and decoding goes back to a
 * checkpoint at or before it; resending from there completes the image.
 */
static void test_corrupt_block_rewinds(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t *p, *bad;
	size_t plen;
	uint32_t restart;

	p = dp_patch(fx->v1, fx->v1_len, fx->v2, fx->v2_len, false, &plen);
	assert_true(plen > 3 * 4096);
	bad = malloc(plen);
	memcpy(bad, p, plen);
	bad[2 * 4096 + 700] ^= 0x10;
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	send_whole_blocks(fx, p, 0, 2);
	assert_int_equal(ota_engine_write(&fx->d.eng, 8192, bad + 8192, 4096),
			 0);
	expect_reason(fx,
		      ota_engine_block_verify(&fx->d.eng, 2,
					      ota_crc32(0, p + 8192, 4096)),
		      -EILSEQ, OTA_ENGINE_REASON_BLOCK_CRC);
	restart = dp_restart_offset(&fx->d, plen);
	assert_true(restart <= 8192);
	assert_true(restart >= 4096); /* not from the start */
	assert_false(ota_engine_block_is_verified(&fx->d.eng, 2));
	if (dp_send(&fx->d, p, plen, 300))
		fail_msg("send: %s", ota_engine_last_detail(&fx->d.eng));
	finish_and_boot(fx);
	free(bad);
	free(p);
}

/*
 * Power goes in the middle of a block; after the reboot the same BEGIN
 * resumes from the journal's checkpoint: decoding restarts at most a few
 * blocks back (well inside one 32 KiB window), and the image completes.
 */
static void test_resume_after_reboot(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t *p;
	size_t plen;
	uint32_t b, nb, fed, restart;

	p = dp_patch(fx->v1, fx->v1_len, fx->v2, fx->v2_len, true, &plen);
	nb = (uint32_t)((plen + 4095) / 4096);
	assert_true(nb >= 4);
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	b = nb - 2;
	send_whole_blocks(fx, p, 0, b);
	fed = b * 4096 + 2000;
	assert_int_equal(
		ota_engine_write(&fx->d.eng, b * 4096, p + b * 4096, 2000), 0);
	dev_power_off(&fx->d);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	restart = dp_restart_offset(&fx->d, plen);
	assert_true(restart > 0);
	assert_true(fed - restart <= 32768);
	if (dp_send(&fx->d, p, plen, 244))
		fail_msg("send: %s", ota_engine_last_detail(&fx->d.eng));
	finish_and_boot(fx);
	free(p);
}

/* The same BEGIN without a reboot (a disconnect) resumes in RAM. */
static void test_resume_after_disconnect(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t *p;
	size_t plen;

	p = dp_patch(fx->v1, fx->v1_len, fx->v2, fx->v2_len, true, &plen);
	dp_manifest(fx->v1, fx->v1_len, fx->v2, fx->v2_len, plen, &m);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	send_whole_blocks(fx, p, 0, 1);
	/* at a block boundary: nothing to take back */
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dp_restart_offset(&fx->d, plen), 4096);
	/* in the middle of a block: back to a checkpoint */
	assert_int_equal(ota_engine_write(&fx->d.eng, 4096, p + 4096, 1000), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_true(dp_restart_offset(&fx->d, plen) <= 4096);
	if (dp_send(&fx->d, p, plen, 244))
		fail_msg("send: %s", ota_engine_last_detail(&fx->d.eng));
	finish_and_boot(fx);
	free(p);
}

/* The decoder's state in parts equals the whole checkpoint. */
static void test_checkpoint_parts(void **state)
{
	struct fx *fx = *state;
	static struct ota_delta d, r;
	struct ota_delta_cfg cfg = { .max_size = 0x100000 };
	uint8_t whole[OTA_DELTA_CKPT_MAX], fixed[OTA_DELTA_CKPT_FIXED];
	uint8_t again[OTA_DELTA_CKPT_MAX];
	struct ota_delta_run run[2];
	size_t plen, used, n, n2;
	uint8_t *p;

	p = dp_patch(NULL, 0, fx->v2, fx->v2_len, true, &plen);
	ota_delta_init(&d, &cfg);
	/* far enough that the 256-byte window has wrapped */
	assert_int_equal(ota_delta_feed(&d, p, 3001, &used), 0);
	assert_int_equal(ota_delta_checkpoint(&d, whole, sizeof(whole), &n), 0);
	assert_int_equal(ota_delta_checkpoint_parts(&d, fixed, run), 0);
	assert_memory_equal(whole, fixed, sizeof(fixed));
	assert_int_equal(sizeof(fixed) + run[0].len + run[1].len, n);
	assert_memory_equal(whole + sizeof(fixed), run[0].ptr, run[0].len);
	assert_memory_equal(whole + sizeof(fixed) + run[0].len, run[1].ptr,
			    run[1].len);
	/* restored in parts, it checkpoints to the same bytes */
	assert_int_equal(ota_delta_restore_fixed(&r, &cfg, whole, n, run), 0);
	memcpy(run[0].ptr, whole + sizeof(fixed), run[0].len);
	memcpy(run[1].ptr, whole + sizeof(fixed) + run[0].len, run[1].len);
	assert_int_equal(ota_delta_checkpoint(&r, again, sizeof(again), &n2),
			 0);
	assert_int_equal(n2, n);
	assert_memory_equal(again, whole, n);
	free(p);
}

#define T(name, fn)                             \
	{                                       \
		name, fn, setup, teardown, NULL \
	}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		T("/engine/delta/update/heatshrink", test_update_heatshrink),
		T("/engine/delta/update/none", test_update_none),
		T("/engine/delta/update/compressed-full",
		  test_update_compressed_full),
		T("/engine/delta/running-hash", test_running_hash),
		T("/engine/delta/refuse/wrong-base", test_wrong_base),
		T("/engine/delta/refuse/esp-header-base",
		  test_esp_header_other_base),
		T("/engine/delta/refuse/bad-patches", test_bad_patches),
		T("/engine/delta/corrupt-block-rewinds",
		  test_corrupt_block_rewinds),
		T("/engine/delta/resume/reboot", test_resume_after_reboot),
		T("/engine/delta/resume/disconnect",
		  test_resume_after_disconnect),
		T("/engine/delta/checkpoint-parts", test_checkpoint_parts),
	};

	return cmocka_run_group_tests_name("engine_delta", tests, NULL, NULL);
}
