/* SPDX-License-Identifier: MIT */
/*
 * OTA engine on the simulated device: the happy path, every refusal of
 * begin/finish/commit/confirm/rollback with "nothing changed" checks, block
 * CRC handling, idempotent writes, resume after reboot (with re-check),
 * abort, the bootloader's NEW -> PENDING_VERIFY -> VALID / ABORTED and
 * INVALID paths, fallback over a corrupt slot, rollback disabled.
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
#include "ota_engine/flash_file.h"
#include "ota_engine/otadata.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	struct dev d;
	uint8_t *v1, *v2;
	size_t v1_len, v2_len;
};

static uint8_t *mk(const char *version, uint32_t secure_version, uint32_t seed,
		   enum esp_corruption c, size_t *len)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = version,
				     .project = "demo",
				     .secure_version = secure_version,
				     .seed = seed,
				     .corrupt = c };

	return esp_image_build(&sp, len);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->v1 = mk("1.0.0", 1, 11, ESP_CORRUPT_NONE, &fx->v1_len);
	fx->v2 = mk("2.0.0", 1, 22, ESP_CORRUPT_NONE, &fx->v2_len);
	dev_create(&fx->d, "engine.bin", NULL, fx->v1, fx->v1_len);
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

static void test_fresh_boot(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_info info;

	/* all-0xFF otadata, no factory: ota_0 boots and entry 0 is written */
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
	assert_int_equal(ota_engine_info(&fx->d.eng, &info), 0);
	assert_int_equal(info.slot_size, 0x100000);
	assert_int_equal(info.chip_id, DEV_CHIP);
	assert_string_equal(info.version, "1.0.0");
	assert_string_equal(info.project, "demo");
	assert_int_equal(info.secure_version, 1);
}

static void test_update_confirm(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_status st;

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	/* commit is idempotent */
	assert_int_equal(ota_engine_commit(&fx->d.eng), 0);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.session, OTA_ENGINE_SESSION_COMMITTED);
	assert_int_equal(st.boot_slot, 1);
	assert_int_equal(st.other_state, OTA_IMG_NEW);
	assert_string_equal(st.other_version, "2.0.0");
	assert_string_equal(st.other_project, "demo");
	{
		/* committed: the slot is not to be overwritten before reboot */
		struct ota_engine_manifest m;

		dev_manifest(fx->v1, fx->v1_len, &m);
		assert_int_equal(
			ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_FORCE),
			-EBUSY);
		assert_int_equal(ota_engine_last_reason(&fx->d.eng),
				 OTA_ENGINE_REASON_BUSY);
	}

	assert_int_equal(dev_power_on(&fx->d), 1);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_PENDING_VERIFY);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_VALID);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_VALID);

	/* begin erases the stale VALID entry of the slot it overwrites */
	{
		struct ota_engine_manifest m;
		size_t len;
		uint8_t *v3 = mk("3.0.0", 1, 33, ESP_CORRUPT_NONE, &len);

		assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
		assert_int_equal(st.other_slot, 0);
		assert_int_equal(st.other_state, OTA_IMG_VALID);
		dev_manifest(v3, len, &m);
		assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
		assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
		assert_int_equal(st.other_state, OTA_IMG_UNDEFINED);
		assert_int_equal(st.running_state, OTA_IMG_VALID);
		free(v3);
	}
}

static void test_reboot_without_confirm(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_status st;
	uint8_t sha[32];

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	/* crash before confirming: PENDING_VERIFY -> ABORTED -> old slot */
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_true(st.has_last_invalid);
	assert_int_equal(st.last_invalid_slot, 1);
	dev_sha256(fx->v2, fx->v2_len, sha);
	assert_memory_equal(st.last_invalid_sha256, sha, 32);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0); /* VALID already */
}

/* A cut inside the bootloader's NEW -> PENDING_VERIFY (after its intent
 * record, at every later op, plain and torn) must not cost the new image
 * its trial boot: the app never ran. */
static void test_cut_in_trial_transition(void **state)
{
	struct fx *fx = *state;
	uint8_t *golden;
	int op, torn, e = 0;
	FILE *fp;

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	dev_power_off(&fx->d);
	golden = dev_snapshot(&fx->d);
	/* ops of the transition: intent record, erase, write, done mark */
	for (op = 1; op < 4; op++) {
		for (torn = 0; torn < 2; torn++) {
			fp = fopen(fx->d.path, "wb");
			assert_non_null(fp);
			fwrite(golden, 1, DEV_FLASH_SIZE, fp);
			fclose(fp);
			fx->d.f = ota_flash_file_open(fx->d.path, 0, 0, &e);
			assert_non_null(fx->d.f);
			fx->d.cfg.flash_ctx = fx->d.f;
			ota_flash_file_cut_at(fx->d.f, (uint64_t)op,
					      OTA_FLASH_OP_MUTATE, torn);
			assert_int_equal(
				ota_engine_init(&fx->d.eng, &fx->d.cfg), 0);
			assert_int_equal(ota_engine_boot(&fx->d.eng), -EIO);
			assert_int_equal(dev_power_on(&fx->d), 1);
			dev_expect_running(&fx->d, 1, "2.0.0",
					   OTA_IMG_PENDING_VERIFY);
			dev_power_off(&fx->d);
		}
	}
	free(golden);
}

static void test_rollback(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_rollback(&fx->d.eng), -ENOENT);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_ROLLBACK_TARGET);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	assert_int_equal(ota_engine_rollback(&fx->d.eng), 0);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_INVALID);
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);

	/* the rejected image is refused again unless forced */
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -EPERM);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_SAME_AS_FAILED);
	/* ... even after another transfer erased its INVALID entry */
	{
		struct ota_engine_manifest m3;
		size_t len;
		uint8_t *v3 = mk("3.0.0", 1, 33, ESP_CORRUPT_NONE, &len);

		dev_manifest(v3, len, &m3);
		assert_int_equal(ota_engine_begin(&fx->d.eng, &m3, 0), 0);
		assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
		assert_int_equal(dev_power_on(&fx->d), 0);
		assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -EPERM);
		assert_int_equal(ota_engine_last_reason(&fx->d.eng),
				 OTA_ENGINE_REASON_SAME_AS_FAILED);
		free(v3);
	}
	assert_int_equal(
		dev_update(&fx->d, fx->v2, fx->v2_len, OTA_ENGINE_FORCE), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
}

static void test_rollback_disabled(void **state)
{
	struct fx *fx = *state;

	fx->d.cfg.rollback_disabled = true;
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_UNDEFINED);
	assert_int_equal(dev_power_on(&fx->d), 1);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), -EALREADY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NOTHING_PENDING);
}

struct snap {
	uint8_t *flash;
	struct ota_engine_status st;
};

static void snap_take(struct fx *fx, struct snap *s)
{
	s->flash = dev_snapshot(&fx->d);
	assert_int_equal(ota_engine_status(&fx->d.eng, &s->st), 0);
}

static void snap_same(struct fx *fx, struct snap *s, const char *name)
{
	uint8_t *now = dev_snapshot(&fx->d);
	struct ota_engine_status st;

	if (memcmp(now, s->flash, DEV_FLASH_SIZE))
		fail_msg("%s: flash changed", name);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	st.last_reason = s->st.last_reason;
	if (memcmp(&st, &s->st, sizeof(st)))
		fail_msg("%s: status changed", name);
	free(now);
	free(s->flash);
}

static void test_begin_refusals(void **state)
{
	enum mut {
		M_TOO_LARGE,
		M_ZERO,
		M_CHIP,
		M_DOWNGRADE_RUNNING,
		M_DOWNGRADE_EFUSE,
		M_SAME_RUNNING,
	};
	static const struct {
		const char *name;
		enum mut mut;
		int rc;
		enum ota_engine_reason reason;
	} cases[] = {
		{ "/begin/too-large", M_TOO_LARGE, -ENOSPC,
		  OTA_ENGINE_REASON_TOO_LARGE },
		{ "/begin/size-zero", M_ZERO, -EINVAL,
		  OTA_ENGINE_REASON_BAD_MANIFEST },
		{ "/begin/wrong-chip", M_CHIP, -ENOEXEC,
		  OTA_ENGINE_REASON_WRONG_CHIP },
		{ "/begin/downgrade-vs-running", M_DOWNGRADE_RUNNING, -EPERM,
		  OTA_ENGINE_REASON_DOWNGRADE },
		{ "/begin/downgrade-vs-efuse", M_DOWNGRADE_EFUSE, -EPERM,
		  OTA_ENGINE_REASON_DOWNGRADE },
		{ "/begin/same-as-running", M_SAME_RUNNING, -EALREADY,
		  OTA_ENGINE_REASON_SAME_AS_RUNNING },
	};
	struct fx *fx = *state;
	size_t i;

	assert_int_equal(dev_power_on(&fx->d), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ota_engine_manifest m;
		struct snap s;
		uint64_t ops;

		dev_manifest(fx->v2, fx->v2_len, &m);
		fx->d.eng.efuse_secure_version = 0;
		switch (cases[i].mut) {
		case M_TOO_LARGE:
			m.image_size = 0x100001;
			break;
		case M_ZERO:
			m.image_size = 0;
			break;
		case M_CHIP:
			m.chip_id = 9;
			break;
		case M_DOWNGRADE_RUNNING:
			m.secure_version = 0; /* running app has 1 */
			break;
		case M_DOWNGRADE_EFUSE:
			fx->d.eng.efuse_secure_version = 2;
			break;
		case M_SAME_RUNNING:
			dev_manifest(fx->v1, fx->v1_len, &m);
			break;
		}
		snap_take(fx, &s);
		ops = ota_flash_file_op_count(fx->d.f, OTA_FLASH_OP_MUTATE);
		if (ota_engine_begin(&fx->d.eng, &m, 0) != cases[i].rc ||
		    ota_engine_last_reason(&fx->d.eng) != cases[i].reason)
			fail_msg("%s: rc/reason %s (%s)", cases[i].name,
				 ota_engine_reason_name(
					 ota_engine_last_reason(&fx->d.eng)),
				 ota_engine_last_detail(&fx->d.eng));
		assert_int_equal(ops, ota_flash_file_op_count(
					      fx->d.f, OTA_FLASH_OP_MUTATE));
		assert_true(strlen(ota_engine_reason_str(cases[i].reason)) >
			    10);
		snap_same(fx, &s, cases[i].name);
	}
	fx->d.eng.efuse_secure_version = 0;
	/* FORCE reinstalls the running image */
	{
		struct ota_engine_manifest m;

		dev_manifest(fx->v1, fx->v1_len, &m);
		assert_int_equal(
			ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_FORCE), 0);
	}
}

static void test_begin_busy_unconfirmed(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m, m1;
	struct snap s;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m);
	dev_manifest(fx->v1, fx->v1_len, &m1);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	/* same manifest again: idempotent */
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	snap_take(fx, &s);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m1, OTA_ENGINE_FORCE),
			 -EBUSY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_BUSY);
	snap_same(fx, &s, "busy");
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	/* PENDING_VERIFY: no new update until confirmed */
	snap_take(fx, &s);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m1, 0), -EBUSY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_UNCONFIRMED);
	snap_same(fx, &s, "unconfirmed");
}

static void test_finish_refusals(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t *bad;
	size_t bad_len;

	assert_int_equal(dev_power_on(&fx->d), 0);

	/* HASH_MISMATCH: the manifest announces other bytes */
	dev_manifest(fx->v2, fx->v2_len, &m);
	m.sha256[0] ^= 1;
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 1000), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), -EILSEQ);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_HASH_MISMATCH);
	assert_int_equal(ota_engine_commit(&fx->d.eng), -EPROTO);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NOT_VERIFIED);

	/* MANIFEST_MISMATCH: version in the manifest differs */
	dev_manifest(fx->v2, fx->v2_len, &m);
	strcpy(m.version, "2.0.1");
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 4096),
			 -ENOEXEC); /* caught by the streaming check */
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_MANIFEST_MISMATCH);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 4096),
			 -ENOEXEC);
	assert_int_equal(ota_engine_finish(&fx->d.eng), -ENOEXEC);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_MANIFEST_MISMATCH);

	/* INCOMPLETE: a block never arrived; the session survives */
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(ota_engine_write(&fx->d.eng, 0, fx->v2, 4096), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), -EAGAIN);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_INCOMPLETE);
	/* all written, block 2 garbled and never verified: keep the rest */
	{
		uint8_t blk[4096];
		size_t off;

		for (off = 4096; off < fx->v2_len; off += 4096) {
			size_t n = fx->v2_len - off < 4096 ? fx->v2_len - off
							   : 4096;

			memcpy(blk, fx->v2 + off, n);
			if (off == 2 * 4096)
				blk[9] ^= 0x40;
			assert_int_equal(ota_engine_write(&fx->d.eng,
							  (uint32_t)off, blk,
							  n),
					 0);
		}
		assert_int_equal(
			ota_engine_block_verify(&fx->d.eng, 0,
						ota_crc32(0, fx->v2, 4096)),
			0);
		assert_int_equal(ota_engine_finish(&fx->d.eng), -EILSEQ);
		assert_int_equal(ota_engine_last_reason(&fx->d.eng),
				 OTA_ENGINE_REASON_HASH_MISMATCH);
		assert_true(ota_engine_block_is_verified(&fx->d.eng, 0));
		assert_false(ota_engine_block_is_verified(&fx->d.eng, 2));
	}
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 4096), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);

	/* BAD_IMAGE: right hash, broken checksum -> remembered as failed */
	bad = mk("3.0.0", 1, 33, ESP_CORRUPT_CHECKSUM, &bad_len);
	dev_manifest(bad, bad_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	/* the streaming check sees the checksum with the last block */
	assert_int_equal(dev_send_blocks(&fx->d, bad, bad_len, 4096), -ENOEXEC);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_BAD_IMAGE);
	assert_int_equal(ota_engine_finish(&fx->d.eng), -ENOEXEC);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_BAD_IMAGE);
	assert_non_null(strstr(ota_engine_last_detail(&fx->d.eng),
			       "image checksum mismatch (stored 0x"));
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -EPERM);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_SAME_AS_FAILED);
	free(bad);

	/* early BAD_IMAGE from the stream: bad magic in block 0 */
	bad = mk("3.0.1", 1, 34, ESP_CORRUPT_MAGIC, &bad_len);
	dev_manifest(bad, bad_len, &m);
	m.chip_id = DEV_CHIP;
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dev_send_blocks(&fx->d, bad, bad_len, 4096), -ENOEXEC);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_BAD_IMAGE);
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	free(bad);

	/* after all that, the old image still boots */
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
}

static void test_session_misuse(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t b[4] = { 0 };

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_write(&fx->d.eng, 0, b, 4), -EPROTO);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_SESSION);
	assert_int_equal(ota_engine_block_verify(&fx->d.eng, 0, 0), -EPROTO);
	assert_int_equal(ota_engine_finish(&fx->d.eng), -EPROTO);
	assert_int_equal(ota_engine_commit(&fx->d.eng), -EPROTO);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0); /* VALID */
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(ota_engine_write(&fx->d.eng, m.image_size - 2, b, 4),
			 -EINVAL);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_OUT_OF_RANGE);
	assert_int_equal(ota_engine_block_verify(&fx->d.eng, 1000, 0), -EINVAL);
}

static void test_block_crc_and_idempotence(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint8_t blk[4096];
	uint32_t crc1 = ota_crc32(0, fx->v2 + 4096, 4096);
	size_t off;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);

	/* corrupted in transit: CRC refuses, resend erases and heals */
	memcpy(blk, fx->v2 + 4096, sizeof(blk));
	blk[100] ^= 0x01;
	assert_int_equal(ota_engine_write(&fx->d.eng, 4096, blk, 4096), 0);
	assert_int_equal(ota_engine_block_verify(&fx->d.eng, 1, crc1), -EILSEQ);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_BLOCK_CRC);
	assert_false(ota_engine_block_is_verified(&fx->d.eng, 1));
	assert_int_equal(
		ota_engine_write(&fx->d.eng, 4096, fx->v2 + 4096, 4096), 0);
	assert_int_equal(ota_engine_block_verify(&fx->d.eng, 1, crc1), 0);
	assert_true(ota_engine_block_is_verified(&fx->d.eng, 1));

	/* duplicates and reordering: chunks back to front, each twice */
	for (off = 4096; off > 0; off -= 512) {
		assert_int_equal(ota_engine_write(&fx->d.eng,
						  (uint32_t)(off - 512),
						  fx->v2 + off - 512, 512),
				 0);
		assert_int_equal(ota_engine_write(&fx->d.eng,
						  (uint32_t)(off - 512),
						  fx->v2 + off - 512, 512),
				 0);
	}
	/* a conflicting rewrite of an unverified block restarts the block */
	memset(blk, 0x00, 16);
	assert_int_equal(ota_engine_write(&fx->d.eng, 0, blk, 16), 0);
	assert_int_equal(ota_engine_block_verify(&fx->d.eng, 0,
						 ota_crc32(0, fx->v2, 4096)),
			 -EILSEQ);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 777), 0);
	/* writes into verified blocks are skipped */
	assert_int_equal(ota_engine_write(&fx->d.eng, 0, blk, 16), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
	assert_int_equal(ota_engine_commit(&fx->d.eng), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
}

/*
 * Property: any chunking, order and duplication of the writes gives the
 * same verified image (seeded PRNG; blocks are verified once complete).
 */
static void test_chunking_invariance(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint32_t seed = 99, nb = (uint32_t)((fx->v2_len + 4095) / 4096);
	unsigned int round;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m);
	for (round = 0; round < 4; round++) {
		uint32_t b;

		assert_int_equal(
			ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_NO_RESUME),
			0);
		for (b = 0; b < nb; b++) {
			/* visit blocks in a scrambled order */
			uint32_t bb = (b * 7 + round) % nb;
			size_t start = (size_t)bb * 4096;
			size_t blen = fx->v2_len - start < 4096
					      ? fx->v2_len - start
					      : 4096;
			size_t off = 0;

			while (off < blen) {
				size_t n;

				seed ^= seed << 13;
				seed ^= seed >> 17;
				seed ^= seed << 5;
				n = 1 + seed % 1500;
				if (n > blen - off)
					n = blen - off;
				assert_int_equal(
					ota_engine_write(
						&fx->d.eng,
						(uint32_t)(start + off),
						fx->v2 + start + off, n),
					0);
				if (seed & 0x100) /* duplicate */
					assert_int_equal(
						ota_engine_write(
							&fx->d.eng,
							(uint32_t)(start + off),
							fx->v2 + start + off,
							n),
						0);
				off += n;
			}
			assert_int_equal(
				ota_engine_block_verify(
					&fx->d.eng, bb,
					ota_crc32(0, fx->v2 + start, blen)),
				0);
		}
		assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
		assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	}
}

static void test_resume_after_reboot(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	struct ota_engine_status st;
	uint32_t nb = (uint32_t)((fx->v2_len + 4095) / 4096), b, half = nb / 2;
	uint8_t junk[8] = { 0 };
	FILE *fp;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	for (b = 0; b < half; b++) {
		assert_int_equal(ota_engine_write(&fx->d.eng, b * 4096,
						  fx->v2 + b * 4096, 4096),
				 0);
		assert_int_equal(ota_engine_block_verify(
					 &fx->d.eng, b,
					 ota_crc32(0, fx->v2 + b * 4096, 4096)),
				 0);
	}
	/* half of the next block lands, then power goes */
	assert_int_equal(ota_engine_write(&fx->d.eng, half * 4096,
					  fx->v2 + half * 4096, 2048),
			 0);
	dev_power_off(&fx->d);

	/* meanwhile block 1 gets damaged in flash */
	fp = fopen(fx->d.path, "r+b");
	assert_non_null(fp);
	fseek(fp, 0x110000 + 4096 + 10, SEEK_SET);
	fwrite(junk, 1, sizeof(junk), fp);
	fclose(fp);

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	for (b = 0; b < nb; b++)
		assert_int_equal(ota_engine_block_is_verified(&fx->d.eng, b),
				 b < half && b != 1);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.bytes_verified, (half - 1) * 4096);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 4096), 0);
	if (ota_engine_finish(&fx->d.eng))
		fail_msg("finish: %s", ota_engine_last_detail(&fx->d.eng));
	assert_int_equal(ota_engine_commit(&fx->d.eng), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_PENDING_VERIFY);
}

static void test_no_resume_and_abort(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, 8192, 4096), 0);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_NO_RESUME),
			 0);
	assert_false(ota_engine_block_is_verified(&fx->d.eng, 0));
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, 8192, 4096), 0);
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	assert_false(ota_engine_block_is_verified(&fx->d.eng, 0));
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_false(ota_engine_block_is_verified(&fx->d.eng, 0));
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
}

/* Power off and overwrite 64 bytes inside ota_1's image with zeros. */
static void break_ota1(struct fx *fx)
{
	uint8_t junk[64] = { 0 };
	FILE *fp;

	dev_power_off(&fx->d);
	fp = fopen(fx->d.path, "r+b");
	assert_non_null(fp);
	fseek(fp, 0x110000 + 0x2000, SEEK_SET);
	fwrite(junk, 1, sizeof(junk), fp);
	fclose(fp);
}

static void test_fallback_over_corrupt_slot(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_status st;

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	break_ota1(fx);
	/* otadata says ota_1, its image is broken: ota_0 runs, otadata kept */
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.running_slot, 0);
	assert_int_equal(st.boot_slot, 1);
}

static void test_log_compaction(void **state)
{
	struct fx *fx = *state;
	int i;

	/* enough update cycles to fill and compact the log sectors twice */
	assert_int_equal(dev_power_on(&fx->d), 0);
	for (i = 0; i < 50; i++) {
		const uint8_t *img = i % 2 ? fx->v1 : fx->v2;
		size_t len = i % 2 ? fx->v1_len : fx->v2_len;

		if (dev_update(&fx->d, img, len, 0))
			fail_msg("cycle %d: %s (%s)", i,
				 ota_engine_reason_name(
					 ota_engine_last_reason(&fx->d.eng)),
				 ota_engine_last_detail(&fx->d.eng));
		assert_int_equal(dev_power_on(&fx->d), (i + 1) % 2);
		assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	}
	assert_true(fx->d.eng.jr.log_gen >= 2);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
}

static void test_no_journal_partition(void **state)
{
	static const char csv[] = "nvs, data, nvs, 0x9000, 0x4000\n"
				  "otadata, data, ota, 0xd000, 0x2000\n"
				  "factory, app, factory, 0x10000, 512K\n"
				  "ota_0, app, ota_0, , 512K\n"
				  "ota_1, app, ota_1, , 512K\n";
	struct fx *fx = *state;

	/* with a factory app: erased otadata boots factory */
	dev_create(&fx->d, "nojournal.bin", csv, fx->v1, fx->v1_len);
	assert_int_equal(dev_power_on(&fx->d), OTA_ENGINE_SLOT_FACTORY);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "2.0.0", OTA_IMG_VALID);
}

static void test_no_slot_no_bootable_no_table(void **state)
{
	static const char factory_only[] =
		"nvs, data, nvs, 0x9000, 0x4000\n"
		"factory, app, factory, 0x10000, 1M\n";
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	FILE *fp;

	/* no OTA slot at all: the factory app runs, updates are refused */
	dev_create(&fx->d, "factory-only.bin", factory_only, fx->v1,
		   fx->v1_len);
	assert_int_equal(dev_power_on(&fx->d), OTA_ENGINE_SLOT_FACTORY);
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -ENODEV);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_SLOT);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), -EALREADY);
	dev_power_off(&fx->d);

	/* nothing valid in any slot */
	dev_create(&fx->d, "empty.bin", NULL, NULL, 0);
	assert_int_equal(dev_power_on(&fx->d), -ENOENT);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_BOOTABLE);
	dev_power_off(&fx->d);

	/* a damaged partition table */
	fp = fopen(fx->d.path, "r+b");
	assert_non_null(fp);
	fseek(fp, 0x8000 + 40, SEEK_SET);
	fputc(0x12, fp);
	fclose(fp);
	assert_int_equal(dev_open(&fx->d), -ENODEV);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_SLOT);
	assert_int_equal(ota_engine_boot(&fx->d.eng), -ENODEV);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -ENODEV);
}

/*
 * Hash once: blocks verified in order (or any order) have been read from
 * flash, CRC-checked and hashed by the time finish runs, so finish reads
 * no image bytes again; a corrupted manifest hash is still caught.
 */
static void test_finish_hash_once(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	uint64_t reads;
	uint32_t b, nb = (uint32_t)((fx->v2_len + 4095) / 4096);

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	/* back to front: the stream catches up when block 0 arrives */
	for (b = nb; b-- > 0;) {
		size_t start = (size_t)b * 4096;
		size_t len =
			fx->v2_len - start < 4096 ? fx->v2_len - start : 4096;

		assert_int_equal(ota_engine_write(&fx->d.eng, (uint32_t)start,
						  fx->v2 + start, len),
				 0);
		assert_int_equal(ota_engine_block_verify(
					 &fx->d.eng, b,
					 ota_crc32(0, fx->v2 + start, len)),
				 0);
	}
	reads = ota_flash_file_op_count(fx->d.f, OTA_FLASH_OP_READ);
	assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
	assert_int_equal(ota_flash_file_op_count(fx->d.f, OTA_FLASH_OP_READ),
			 reads);
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);

	/* the running digest is the whole image's: a wrong one fails */
	m.sha256[0] ^= 1;
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_FORCE), 0);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 4096), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), -EILSEQ);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_HASH_MISMATCH);
}

/* OTA_ENGINE_RECEIVER: the receiver's BEGIN policy, now in the engine. */
static void test_begin_receiver_policy(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m1, m2;

	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_manifest(fx->v2, fx->v2_len, &m2);
	m1 = m2;
	m1.sha256[0] ^= 1; /* another image of the same size */
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m1, 0), 0);
	/* plain begin: BUSY; the receiver's: the old session ends */
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m2, 0), -EBUSY);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m2, OTA_ENGINE_RECEIVER),
			 0);
	assert_int_equal(dev_send_blocks(&fx->d, fx->v2, fx->v2_len, 4096), 0);
	assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
	assert_int_equal(ota_engine_commit(&fx->d.eng), 0);
	/* after commit: the same image again has nothing left to send */
	assert_false(ota_engine_block_is_verified(&fx->d.eng, 0));
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m2, OTA_ENGINE_RECEIVER),
			 0);
	assert_true(ota_engine_block_is_verified(&fx->d.eng, 0));
	assert_int_equal(ota_engine_finish(&fx->d.eng), 0);
	assert_int_equal(ota_engine_commit(&fx->d.eng), 0);
	/* another image waits for the reboot, and the words say so */
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m1, OTA_ENGINE_RECEIVER),
			 -EBUSY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_REBOOT_REQUIRED);
	assert_string_equal(ota_engine_last_detail(&fx->d.eng),
			    "2.0.0 is committed and waits for a reboot");
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m1, 0), -EBUSY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_BUSY);
}

/*
 * The device reports codes and numbers; every code has words on the host,
 * and a refusal logged by the adapter reads as before.
 */
static void test_note_words(void **state)
{
	struct ota_engine_note n, inner;
	char buf[240];
	unsigned int msg;

	(void)state;
	for (msg = 1; msg < OTA_ENGINE_MSG_COUNT; msg++) {
		memset(&n, 0, sizeof(n));
		n.msg = (uint8_t)msg;
		ota_engine_note_format(&n, buf, sizeof(buf));
		if (msg != OTA_ENGINE_MSG_IMAGE) /* words come with the ref */
			assert_true(strlen(buf) > 5);
		assert_null(strstr(buf, "message "));
		assert_null(strchr(buf, '%'));
	}
	memset(&inner, 0, sizeof(inner));
	inner.msg = OTA_ENGINE_MSG_TOO_LARGE;
	inner.reason = OTA_ENGINE_REASON_TOO_LARGE;
	inner.n[0] = 2000000;
	inner.n[1] = 1;
	inner.n[2] = 0x100000;
	inner.n[3] = 1;
	memset(&n, 0, sizeof(n));
	n.msg = OTA_ENGINE_MSG_REFUSED;
	n.n[0] = OTA_ENGINE_CALL_BEGIN;
	n.ref = &inner;
	assert_string_equal(ota_engine_note_format(&n, buf, sizeof(buf)),
			    "update refused: TOO_LARGE: image is 2000000 bytes "
			    "+ a 4 KiB signature sector, slot ota_1 holds "
			    "1048576");
	/* a short buffer is cut, never overrun */
	assert_string_equal(ota_engine_note_format(&n, buf, 7), "update");
	inner.msg = OTA_ENGINE_MSG_BLOCK_CRC;
	inner.n[0] = 3;
	inner.n[1] = 0xab;
	inner.n[2] = 0xdeadbeef;
	assert_string_equal(ota_engine_note_format(&inner, buf, sizeof(buf)),
			    "block 3: CRC 0x000000ab, expected 0xdeadbeef");
}

/* ---- the version tag (tag.c) ---- */

/* What runs, what INFO reports and what bleota:fw_tag holds agree. */
static void expect_tag(struct fx *fx, const char *tag)
{
	char run[OTA_ENGINE_TAG_MAX + 1], nvs[OTA_ENGINE_TAG_MAX + 1];
	int rc;

	assert_int_equal(ota_engine_running_tag(&fx->d.eng, run), 0);
	assert_string_equal(run, tag);
	rc = dev_fw_tag(&fx->d, nvs, sizeof(nvs));
	if (rc == -ENOENT && !tag[0])
		return; /* never stored, and none to store */
	assert_int_equal(rc, 0);
	assert_string_equal(nvs, tag);
}

/* Push @img tagged @tag, boot it (in @slot) and confirm it. */
static void installed(struct fx *fx, const uint8_t *img, size_t len,
		      const char *tag, unsigned int flags, int slot)
{
	fx->d.tag = tag;
	assert_int_equal(dev_update(&fx->d, img, len, flags), 0);
	assert_int_equal(dev_power_on(&fx->d), slot);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	expect_tag(fx, tag);
}

static void test_tag_update_confirm(void **state)
{
	struct fx *fx = *state;
	char nvs[OTA_ENGINE_TAG_MAX + 1];

	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_true(ota_engine_has_tags(&fx->d.eng));
	/* a flashed image has no tag, and nothing is written for it */
	expect_tag(fx, "");
	assert_int_equal(dev_fw_tag(&fx->d, nvs, sizeof(nvs)), -ENOENT);
	fx->d.tag = "v2.0.0+build.7";
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	/* committed, not running yet: still the old image's (none) */
	expect_tag(fx, "");
	assert_int_equal(dev_fw_tag(&fx->d, nvs, sizeof(nvs)), -ENOENT);
	assert_int_equal(dev_power_on(&fx->d), 1);
	expect_tag(fx, "v2.0.0+build.7");
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	expect_tag(fx, "v2.0.0+build.7");
	assert_int_equal(dev_power_on(&fx->d), 1);
	expect_tag(fx, "v2.0.0+build.7");
	/* a 128-character tag, back into ota_0 */
	{
		static char longest[OTA_ENGINE_TAG_MAX + 1];

		memset(longest, 'x', OTA_ENGINE_TAG_MAX);
		fx->d.tag = longest;
		assert_int_equal(dev_update(&fx->d, fx->v1, fx->v1_len, 0), 0);
		expect_tag(fx, "v2.0.0+build.7");
		assert_int_equal(dev_power_on(&fx->d), 0);
		assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
		expect_tag(fx, longest);
	}
}

/* Not confirmed, rolled back: the old image's tag comes back with it. */
static void test_tag_reverted(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	size_t len;
	uint8_t *v3 = mk("3.0.0", 1, 33, ESP_CORRUPT_NONE, &len);

	assert_int_equal(dev_power_on(&fx->d), 0);
	installed(fx, fx->v2, fx->v2_len, "two", 0, 1);

	/* reboot without confirm: ABORTED, ota_1 runs again */
	fx->d.tag = "three";
	assert_int_equal(dev_update(&fx->d, v3, len, 0), 0);
	expect_tag(fx, "two");
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "3.0.0", OTA_IMG_PENDING_VERIFY);
	expect_tag(fx, "three");
	assert_int_equal(dev_power_on(&fx->d), 1);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_VALID);
	expect_tag(fx, "two");

	/* rollback from the trial boot */
	assert_int_equal(dev_update(&fx->d, v3, len, OTA_ENGINE_FORCE), 0);
	assert_int_equal(dev_power_on(&fx->d), 0);
	expect_tag(fx, "three");
	assert_int_equal(ota_engine_rollback(&fx->d.eng), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	expect_tag(fx, "two");

	/* refused BEGINs and bad tags change nothing */
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -EALREADY);
	assert_int_equal(ota_engine_set_tag(&fx->d.eng, "x", 1), -EPROTO);
	dev_manifest(v3, len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, OTA_ENGINE_FORCE), 0);
	{
		char big[OTA_ENGINE_TAG_MAX + 1];

		memset(big, 'b', sizeof(big));
		assert_int_equal(
			ota_engine_set_tag(&fx->d.eng, big, sizeof(big)),
			-EINVAL);
		assert_int_equal(ota_engine_last_reason(&fx->d.eng),
				 OTA_ENGINE_REASON_BAD_MANIFEST);
		assert_int_equal(ota_engine_set_tag(&fx->d.eng, "a\0b", 3),
				 -EINVAL);
	}
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	expect_tag(fx, "two");
	free(v3);
}

/* An image pushed without a tag runs with none: the old tag is erased. */
static void test_tag_untagged_push(void **state)
{
	struct fx *fx = *state;
	char nvs[OTA_ENGINE_TAG_MAX + 1];

	assert_int_equal(dev_power_on(&fx->d), 0);
	installed(fx, fx->v2, fx->v2_len, "two", 0, 1);
	/* the same image (same SHA-256) once more, now without a tag */
	fx->d.tag = "";
	assert_int_equal(
		dev_update(&fx->d, fx->v2, fx->v2_len, OTA_ENGINE_FORCE), 0);
	assert_int_equal(dev_power_on(&fx->d), 0);
	expect_tag(fx, "");
	/* stored as an empty string: nvs_get_str() finds "", not NOT_FOUND */
	assert_int_equal(dev_fw_tag(&fx->d, nvs, sizeof(nvs)), 0);
	assert_string_equal(nvs, "");
}

/* Rollback disabled: the image is valid once it boots (UNDEFINED). */
static void test_tag_rollback_disabled(void **state)
{
	struct fx *fx = *state;

	fx->d.cfg.rollback_disabled = true;
	assert_int_equal(dev_power_on(&fx->d), 0);
	fx->d.tag = "two";
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	expect_tag(fx, "");
	assert_int_equal(dev_power_on(&fx->d), 1);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_UNDEFINED);
	expect_tag(fx, "two");
}

/*
 * The tag is bound to the image's SHA-256: a slot whose BEGIN stored a new
 * tag but which still holds an older image (here: booted by the
 * bootloader's walk because the selected slot is broken) reports no tag,
 * never the new one; with its COMMIT record the tag counts.
 */
static void test_tag_bound_to_image(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;
	size_t len;
	uint8_t *v3 = mk("3.0.0", 1, 33, ESP_CORRUPT_NONE, &len);

	/* ota_1 "two", then ota_0 "one", then ota_1 "two-b": all confirmed */
	assert_int_equal(dev_power_on(&fx->d), 0);
	installed(fx, fx->v2, fx->v2_len, "two", 0, 1);
	installed(fx, fx->v1, fx->v1_len, "one", 0, 0);
	installed(fx, fx->v2, fx->v2_len, "two-b", OTA_ENGINE_FORCE, 1);
	/* v3 begun for ota_0 with its tag, nothing written: v1 is there */
	dev_manifest(v3, len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), 0);
	assert_int_equal(ota_engine_set_tag(&fx->d.eng, "three", 5), 0);
	assert_int_equal(ota_engine_abort(&fx->d.eng), 0);
	expect_tag(fx, "two-b");
	break_ota1(fx);
	/* ota_1 is broken: the walk boots v1 in ota_0, which is not v3 */
	assert_int_equal(dev_power_on(&fx->d), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_UNDEFINED);
	expect_tag(fx, "");
	free(v3);
}

/* Without an nvs partition there are no tags, and a tag is dropped. */
static void test_tag_no_nvs(void **state)
{
	static const char csv[] = "otadata, data, ota, 0xd000, 0x2000\n"
				  "ota_0, app, ota_0, 0x10000, 1M\n"
				  "ota_1, app, ota_1, , 1M\n"
				  "otajournal, 0x40, 0x00, , 0x4000\n";
	struct fx *fx = *state;
	char run[OTA_ENGINE_TAG_MAX + 1];

	dev_create(&fx->d, "nonvs.bin", csv, fx->v1, fx->v1_len);
	assert_int_equal(dev_power_on(&fx->d), 0);
	assert_false(ota_engine_has_tags(&fx->d.eng));
	fx->d.tag = "two";
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(dev_power_on(&fx->d), 1);
	assert_int_equal(ota_engine_running_tag(&fx->d.eng, run), -ENODEV);
	assert_string_equal(run, "");
}

int main(void)
{
#define T(name, fn)                             \
	{                                       \
		name, fn, setup, teardown, NULL \
	}
	static const struct CMUnitTest tests[] = {
		T("/engine/boot/fresh", test_fresh_boot),
		T("/engine/update/confirm", test_update_confirm),
		T("/engine/boot/no-confirm-aborts",
		  test_reboot_without_confirm),
		T("/engine/boot/cut-in-trial-transition",
		  test_cut_in_trial_transition),
		T("/engine/rollback", test_rollback),
		T("/engine/rollback-disabled", test_rollback_disabled),
		T("/engine/begin/refusals", test_begin_refusals),
		T("/engine/begin/busy-unconfirmed",
		  test_begin_busy_unconfirmed),
		T("/engine/finish/refusals", test_finish_refusals),
		T("/engine/session/misuse", test_session_misuse),
		T("/engine/write/crc-idempotence",
		  test_block_crc_and_idempotence),
		T("/engine/write/chunking-invariance",
		  test_chunking_invariance),
		T("/engine/resume/after-reboot", test_resume_after_reboot),
		T("/engine/resume/no-resume-abort", test_no_resume_and_abort),
		T("/engine/boot/fallback-corrupt-slot",
		  test_fallback_over_corrupt_slot),
		T("/engine/journal/compaction", test_log_compaction),
		T("/engine/layout/factory-no-journal",
		  test_no_journal_partition),
		T("/engine/layout/no-slot-no-bootable-no-table",
		  test_no_slot_no_bootable_no_table),
		T("/engine/finish/hash-once", test_finish_hash_once),
		T("/engine/begin/receiver-policy", test_begin_receiver_policy),
		T("/engine/notes/words", test_note_words),
		T("/engine/tag/update-confirm", test_tag_update_confirm),
		T("/engine/tag/reverted", test_tag_reverted),
		T("/engine/tag/untagged-push", test_tag_untagged_push),
		T("/engine/tag/rollback-disabled", test_tag_rollback_disabled),
		T("/engine/tag/no-nvs", test_tag_no_nvs),
		T("/engine/tag/bound-to-image", test_tag_bound_to_image),
	};
	int rc = cmocka_run_group_tests_name("engine", tests, NULL, NULL);

	tmpdir_cleanup();
	return rc;
}
