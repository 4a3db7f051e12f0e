/* SPDX-License-Identifier: MIT */
/*
 * Signed images and anti-rollback on the simulated device: every
 * pre-flight refusal (SIGNATURE_REQUIRED, BAD_SIGNATURE, UNTRUSTED_KEY,
 * BAD_MANIFEST, TOO_LARGE with the sector) with no flash operation; full
 * signed updates for RSA-3072, P-256 and P-384 in both layouts (sector from
 * BEGIN, sector inside the image); the FINISH digest and sector checks;
 * ESP-IDF's signed-apps-without-secure-boot trust (running app's block 0);
 * the persisted eFuse counter: raised by confirm only, survives reboots,
 * refuses at pre-flight, makes the bootloader skip older images, survives
 * a torn record and journal compaction.
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

#include "ota_engine/journal.h"
#include "ota_engine/otadata.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/sigkeys.h"
#include "tests/harness/tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SECTOR        OTA_SIGBLOCK_SECTOR_LEN
#define OTA1_OFF      0x110000u

/* A signed file: region (app + 0xFF to 4 KiB) then the sector. */
struct signed_img {
	uint8_t *buf;
	size_t len;    /* region + 4096 */
	size_t region; /* the signed bytes */
};

static void sign(struct signed_img *s, const char *version, uint32_t secver,
		 uint32_t seed, enum ota_sig_scheme scheme,
		 const unsigned int *idx, unsigned int n)
{
	size_t len;
	uint8_t *img = dev_image(version, secver, seed, &len);

	s->buf = sigkey_sign_image(img, len, scheme, idx, n, &s->len);
	s->region = s->len - SECTOR;
	free(img);
}

static void trust(struct dev *d, enum ota_sig_scheme scheme, unsigned int idx)
{
	sigkey_digest(scheme, idx,
		      d->cfg.trusted_key_digest[d->cfg.trusted_key_count++]);
}

/* begin_signed in the default layout with the used blocks as BEGIN's sig */
static int begin_default(struct dev *d, const struct signed_img *s,
			 size_t sig_len)
{
	struct ota_engine_manifest m;

	dev_manifest(s->buf, s->region, &m);
	return ota_engine_begin_signed(&d->eng, &m, s->buf + s->region, sig_len,
				       0);
}

static int update_default(struct dev *d, const struct signed_img *s)
{
	int rc = begin_default(d, s, OTA_SIGBLOCK_LEN);

	if (!rc)
		rc = dev_send_blocks(d, s->buf, s->region, 1000);
	if (!rc)
		rc = ota_engine_finish(&d->eng);
	if (!rc)
		rc = ota_engine_commit(&d->eng);
	return rc;
}

static void expect_reason(struct dev *d, int rc, int want_rc,
			  enum ota_engine_reason want, const char *name)
{
	if (rc != want_rc || ota_engine_last_reason(&d->eng) != want)
		fail_msg(
			"%s: rc %d reason %s (%s)", name, rc,
			ota_engine_reason_name(ota_engine_last_reason(&d->eng)),
			ota_engine_last_detail(&d->eng));
}

static void test_preflight_refusals(void **state)
{
	enum mut {
		M_UNSIGNED,
		M_UNTRUSTED,
		M_FLIPPED_SIG,
		M_OTHER_IMAGE,
		M_BAD_CRC,
		M_SHORT_SIG,
		M_UNPADDED,
		M_TOO_LARGE,
	};
	static const struct {
		const char *name;
		enum mut mut;
		int rc;
		enum ota_engine_reason reason;
	} cases[] = {
		{ "unsigned", M_UNSIGNED, -EACCES,
		  OTA_ENGINE_REASON_SIGNATURE_REQUIRED },
		{ "untrusted", M_UNTRUSTED, -EACCES,
		  OTA_ENGINE_REASON_UNTRUSTED_KEY },
		{ "flipped-signature", M_FLIPPED_SIG, -EBADMSG,
		  OTA_ENGINE_REASON_BAD_SIGNATURE },
		{ "signs-other-image", M_OTHER_IMAGE, -EBADMSG,
		  OTA_ENGINE_REASON_BAD_SIGNATURE },
		{ "block-crc", M_BAD_CRC, -EBADMSG,
		  OTA_ENGINE_REASON_BAD_SIGNATURE },
		{ "short-sig", M_SHORT_SIG, -EINVAL,
		  OTA_ENGINE_REASON_BAD_MANIFEST },
		{ "unpadded", M_UNPADDED, -EINVAL,
		  OTA_ENGINE_REASON_BAD_MANIFEST },
		{ "too-large-with-sector", M_TOO_LARGE, -ENOSPC,
		  OTA_ENGINE_REASON_TOO_LARGE },
	};
	static const unsigned int k0[] = { 0 };
	struct signed_img good, other, ec;
	uint8_t sig[OTA_SIGBLOCK_LEN];
	size_t v1_len, i;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	struct dev d;

	(void)state;
	sign(&good, "2.0.0", 1, 22, OTA_SIG_RSA3072, k0, 1);
	sign(&other, "3.0.0", 1, 33, OTA_SIG_RSA3072, k0, 1);
	sign(&ec, "2.0.0", 1, 22, OTA_SIG_ECDSA_P256, k0, 1);
	dev_create(&d, "signed-refuse.bin", NULL, v1, v1_len);
	trust(&d, OTA_SIG_RSA3072, 0);
	assert_int_equal(dev_power_on(&d), 0);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct ota_engine_manifest m;
		const uint8_t *sp = sig;
		size_t sig_len = sizeof(sig);
		uint8_t *before;
		uint64_t ops;
		int rc;

		dev_manifest(good.buf, good.region, &m);
		memcpy(sig, good.buf + good.region, sizeof(sig));
		switch (cases[i].mut) {
		case M_UNSIGNED:
			sp = NULL;
			sig_len = 0;
			break;
		case M_UNTRUSTED:
			memcpy(sig, ec.buf + ec.region, sizeof(sig));
			break;
		case M_FLIPPED_SIG:
			sig[900] ^= 0x80;
			ota_sigblock_seal(sig);
			break;
		case M_OTHER_IMAGE:
			memcpy(sig, other.buf + other.region, sizeof(sig));
			break;
		case M_BAD_CRC:
			sig[500] ^= 1;
			break;
		case M_SHORT_SIG:
			sig_len = 100;
			break;
		case M_UNPADDED:
			m.image_size -= 4;
			break;
		case M_TOO_LARGE:
			m.image_size = 0x100000; /* fits, the sector does not */
			break;
		}
		before = dev_snapshot(&d);
		ops = ota_flash_file_op_count(d.f, OTA_FLASH_OP_MUTATE);
		rc = ota_engine_begin_signed(&d.eng, &m, sp, sig_len, 0);
		expect_reason(&d, rc, cases[i].rc, cases[i].reason,
			      cases[i].name);
		/* nothing was written: no op, identical flash, no session */
		assert_int_equal(
			ops, ota_flash_file_op_count(d.f, OTA_FLASH_OP_MUTATE));
		{
			uint8_t *after = dev_snapshot(&d);

			if (memcmp(before, after, DEV_FLASH_SIZE))
				fail_msg("%s: flash changed", cases[i].name);
			free(after);
		}
		free(before);
		assert_false(ota_engine_block_is_verified(&d.eng, 0));
		assert_true(strlen(ota_engine_reason_str(cases[i].reason)) >
			    10);
	}
	/* ota_engine_begin() is an unsigned begin */
	{
		struct ota_engine_manifest m;

		dev_manifest(good.buf, good.region, &m);
		expect_reason(&d, ota_engine_begin(&d.eng, &m, 0), -EACCES,
			      OTA_ENGINE_REASON_SIGNATURE_REQUIRED, "begin");
	}
	/* and the good one passes */
	assert_int_equal(begin_default(&d, &good, OTA_SIGBLOCK_LEN), 0);
	dev_power_off(&d);
	free(v1);
	free(good.buf);
	free(other.buf);
	free(ec.buf);
}

static void test_update_schemes(void **state)
{
	static const enum ota_sig_scheme schemes[] = {
		OTA_SIG_RSA3072,
		OTA_SIG_ECDSA_P256,
		OTA_SIG_ECDSA_P384,
	};
	static const unsigned int k10[] = { 1, 0 };
	size_t v1_len, i;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);

	(void)state;
	for (i = 0; i < ARRAY_SIZE(schemes); i++) {
		struct signed_img s;
		struct ota_engine_status st;
		uint8_t *flash;
		struct dev d;

		/* two blocks; only the second key is trusted */
		sign(&s, "2.0.0", 1, 22, schemes[i], k10, 2);
		dev_create(&d, "signed-update.bin", NULL, v1, v1_len);
		trust(&d, schemes[i], 0);
		assert_int_equal(dev_power_on(&d), 0);
		/* with the first block only: refused */
		expect_reason(&d, begin_default(&d, &s, OTA_SIGBLOCK_LEN),
			      -EACCES, OTA_ENGINE_REASON_UNTRUSTED_KEY,
			      ota_sig_scheme_name(schemes[i]));
		assert_int_equal(begin_default(&d, &s, 2 * OTA_SIGBLOCK_LEN),
				 0);
		assert_int_equal(dev_send_blocks(&d, s.buf, s.region, 1000), 0);
		assert_int_equal(ota_engine_finish(&d.eng), 0);
		assert_int_equal(ota_engine_commit(&d.eng), 0);
		/* the slot holds the signed file as espsecure wrote it */
		dev_power_off(&d);
		flash = dev_snapshot(&d);
		assert_memory_equal(flash + OTA1_OFF, s.buf,
				    s.region + 2 * OTA_SIGBLOCK_LEN);
		free(flash);
		assert_int_equal(dev_power_on(&d), 1);
		assert_int_equal(ota_engine_confirm(&d.eng), 0);
		assert_int_equal(ota_engine_status(&d.eng, &st), 0);
		assert_string_equal(st.running_version, "2.0.0");
		dev_power_off(&d);
		free(s.buf);
	}
	free(v1);
}

static void test_sig_in_image(void **state)
{
	static const unsigned int k0[] = { 0 }, k1[] = { 1 };
	struct signed_img s, s1;
	struct ota_engine_manifest m;
	size_t v1_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	struct dev d;

	(void)state;
	sign(&s, "2.0.0", 1, 22, OTA_SIG_ECDSA_P256, k0, 1);
	sign(&s1, "2.0.0", 1, 22, OTA_SIG_ECDSA_P256, k1, 1);
	dev_create(&d, "signed-in-image.bin", NULL, v1, v1_len);
	trust(&d, OTA_SIG_ECDSA_P256, 0);
	trust(&d, OTA_SIG_ECDSA_P256, 1);
	assert_int_equal(dev_power_on(&d), 0);

	/* the whole file is the image; BEGIN's sector must be the one in it */
	dev_manifest(s.buf, s.len, &m);
	assert_int_equal(ota_engine_begin_signed(&d.eng, &m, s1.buf + s1.region,
						 SECTOR,
						 OTA_ENGINE_SIG_IN_IMAGE),
			 0);
	assert_int_equal(dev_send_blocks(&d, s.buf, s.len, 4096), 0);
	expect_reason(&d, ota_engine_finish(&d.eng), -EBADMSG,
		      OTA_ENGINE_REASON_BAD_SIGNATURE, "other sector");
	assert_int_equal(ota_engine_commit(&d.eng), -EPROTO);

	assert_int_equal(ota_engine_begin_signed(&d.eng, &m, s.buf + s.region,
						 SECTOR,
						 OTA_ENGINE_SIG_IN_IMAGE),
			 0);
	assert_int_equal(dev_send_blocks(&d, s.buf, s.len, 4096), 0);
	assert_int_equal(ota_engine_finish(&d.eng), 0);
	assert_int_equal(ota_engine_commit(&d.eng), 0);
	assert_int_equal(dev_power_on(&d), 1);
	dev_power_off(&d);
	free(s.buf);
	free(s1.buf);
	free(v1);
}

/*
 * SIG_IN_IMAGE with P-384: the signed region ends 4 KiB before the image,
 * so its SHA-384 is taken at that boundary while the stream goes on.
 */
static void test_sig_in_image_p384(void **state)
{
	static const unsigned int k0[] = { 0 };
	struct signed_img s, other;
	struct ota_engine_manifest m;
	size_t v1_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	struct dev d;

	(void)state;
	sign(&s, "2.0.0", 1, 22, OTA_SIG_ECDSA_P384, k0, 1);
	sign(&other, "2.0.0", 1, 23, OTA_SIG_ECDSA_P384, k0, 1);
	dev_create(&d, "signed-in-image-384.bin", NULL, v1, v1_len);
	trust(&d, OTA_SIG_ECDSA_P384, 0);
	assert_int_equal(dev_power_on(&d), 0);
	dev_manifest(s.buf, s.len, &m);
	/* a valid block over other bytes: only the region's SHA-384 tells */
	assert_int_equal(
		ota_engine_begin_signed(&d.eng, &m, other.buf + other.region,
					SECTOR, OTA_ENGINE_SIG_IN_IMAGE),
		0);
	assert_int_equal(dev_send_blocks(&d, s.buf, s.len, 4096), 0);
	expect_reason(&d, ota_engine_finish(&d.eng), -EBADMSG,
		      OTA_ENGINE_REASON_BAD_SIGNATURE, "p384 other digest");
	assert_non_null(strstr(ota_engine_last_detail(&d.eng),
			       "signed bytes do not hash"));
	assert_int_equal(ota_engine_begin_signed(&d.eng, &m, s.buf + s.region,
						 SECTOR,
						 OTA_ENGINE_SIG_IN_IMAGE),
			 0);
	assert_int_equal(dev_send_blocks(&d, s.buf, s.len, 4096), 0);
	assert_int_equal(ota_engine_finish(&d.eng), 0);
	assert_int_equal(ota_engine_commit(&d.eng), 0);
	assert_int_equal(dev_power_on(&d), 1);
	dev_power_off(&d);
	free(s.buf);
	free(other.buf);
	free(v1);
}

/* P-384 signs a SHA-384 that only FINISH can compare. */
static void test_finish_digest(void **state)
{
	static const unsigned int k0[] = { 0 };
	struct signed_img s, other;
	struct ota_engine_manifest m;
	struct ota_engine_status st;
	size_t v1_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	struct dev d;

	(void)state;
	sign(&s, "2.0.0", 1, 22, OTA_SIG_ECDSA_P384, k0, 1);
	sign(&other, "2.0.0", 1, 23, OTA_SIG_ECDSA_P384, k0, 1);
	dev_create(&d, "signed-finish.bin", NULL, v1, v1_len);
	trust(&d, OTA_SIG_ECDSA_P384, 0);
	assert_int_equal(dev_power_on(&d), 0);
	dev_manifest(s.buf, s.region, &m);
	assert_int_equal(ota_engine_begin_signed(&d.eng, &m,
						 other.buf + other.region,
						 OTA_SIGBLOCK_LEN, 0),
			 0);
	assert_int_equal(dev_send_blocks(&d, s.buf, s.region, 4096), 0);
	expect_reason(&d, ota_engine_finish(&d.eng), -EBADMSG,
		      OTA_ENGINE_REASON_BAD_SIGNATURE, "finish");
	assert_int_equal(ota_engine_status(&d.eng, &st), 0);
	assert_int_equal(st.session, OTA_ENGINE_SESSION_IDLE);
	assert_false(st.has_last_invalid); /* not remembered as failed */
	/* the right signature for the same bytes is accepted */
	assert_int_equal(update_default(&d, &s), 0);
	dev_power_off(&d);
	free(s.buf);
	free(other.buf);
	free(v1);
}

static void test_running_app_key(void **state)
{
	static const unsigned int k0[] = { 0 }, k1[] = { 1 }, k10[] = { 1, 0 };
	struct signed_img v1, v2, v2_other, v2_two, v3;
	struct dev d;
	size_t len;
	uint8_t *plain;

	(void)state;
	sign(&v1, "1.0.0", 1, 11, OTA_SIG_RSA3072, k0, 1);
	sign(&v2, "2.0.0", 1, 22, OTA_SIG_RSA3072, k0, 1);
	sign(&v2_other, "2.0.0", 1, 22, OTA_SIG_RSA3072, k1, 1);
	sign(&v2_two, "2.0.0", 1, 22, OTA_SIG_RSA3072, k10, 2);
	sign(&v3, "3.0.0", 1, 33, OTA_SIG_RSA3072, k0, 1);

	/* the running app's block 0 key is the only trusted one */
	dev_create(&d, "signed-running.bin", NULL, v1.buf, v1.len);
	d.cfg.trust_running_app_key = true;
	assert_int_equal(dev_power_on(&d), 0);
	expect_reason(&d, begin_default(&d, &v2_other, OTA_SIGBLOCK_LEN),
		      -EACCES, OTA_ENGINE_REASON_UNTRUSTED_KEY, "other key");
	/* only block 0 of the new image counts */
	expect_reason(&d, begin_default(&d, &v2_two, 2 * OTA_SIGBLOCK_LEN),
		      -EACCES, OTA_ENGINE_REASON_UNTRUSTED_KEY, "block 1");
	assert_int_equal(update_default(&d, &v2), 0);
	/* the chain goes on: v2's sector was written by the engine */
	assert_int_equal(dev_power_on(&d), 1);
	assert_int_equal(ota_engine_confirm(&d.eng), 0);
	assert_int_equal(update_default(&d, &v3), 0);
	dev_power_off(&d);

	/* an unsigned running app trusts nothing */
	plain = dev_image("1.0.0", 1, 11, &len);
	dev_create(&d, "signed-running2.bin", NULL, plain, len);
	d.cfg.trust_running_app_key = true;
	assert_int_equal(dev_power_on(&d), 0);
	expect_reason(&d, begin_default(&d, &v2, OTA_SIGBLOCK_LEN), -EACCES,
		      OTA_ENGINE_REASON_UNTRUSTED_KEY, "unsigned running");
	assert_non_null(strstr(ota_engine_last_detail(&d.eng), "trusts no"));
	dev_power_off(&d);
	free(plain);
	free(v1.buf);
	free(v2.buf);
	free(v2_other.buf);
	free(v2_two.buf);
	free(v3.buf);
}

/* No key configured: unsigned is fine, a signature sent must verify. */
static void test_optional(void **state)
{
	static const unsigned int k1[] = { 1 };
	struct signed_img s;
	size_t v1_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	uint8_t sig[OTA_SIGBLOCK_LEN];
	struct ota_engine_manifest m;
	struct dev d;

	(void)state;
	sign(&s, "2.0.0", 1, 22, OTA_SIG_ECDSA_P256, k1, 1);
	dev_create(&d, "signed-optional.bin", NULL, v1, v1_len);
	assert_int_equal(dev_power_on(&d), 0);
	memcpy(sig, s.buf + s.region, sizeof(sig));
	sig[150] ^= 1;
	ota_sigblock_seal(sig);
	dev_manifest(s.buf, s.region, &m);
	expect_reason(&d,
		      ota_engine_begin_signed(&d.eng, &m, sig, sizeof(sig), 0),
		      -EBADMSG, OTA_ENGINE_REASON_BAD_SIGNATURE, "optional");
	assert_int_equal(update_default(&d, &s), 0);
	dev_power_off(&d);
	free(s.buf);
	free(v1);
}

/*
 * A cut anywhere in the BEGIN that writes the signature sector (erase,
 * program, journal): the old image runs, BEGIN again rewrites the sector
 * and the update completes; finish writes nothing (it reads the sector
 * back), so a cut there cannot tear it.
 */
static void test_begin_sector_powercut(void **state)
{
	static const unsigned int k0[] = { 0 };
	struct signed_img s;
	size_t v1_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	uint64_t ops = 0, cut;
	int torn;

	(void)state;
	sign(&s, "2.0.0", 1, 22, OTA_SIG_ECDSA_P256, k0, 1);
	for (torn = 0; torn < 2; torn++) {
		for (cut = 0; cut == 0 || cut < ops; cut++) {
			struct dev d;
			uint64_t base;
			uint8_t *flash;

			dev_create(&d, "signed-cut.bin", NULL, v1, v1_len);
			trust(&d, OTA_SIG_ECDSA_P256, 0);
			assert_int_equal(dev_power_on(&d), 0);
			base = ota_flash_file_op_count(d.f,
						       OTA_FLASH_OP_MUTATE);
			if (!ops) {
				/* how many mutating ops BEGIN makes */
				assert_int_equal(
					begin_default(&d, &s, OTA_SIGBLOCK_LEN),
					0);
				ops = ota_flash_file_op_count(
					      d.f, OTA_FLASH_OP_MUTATE) -
				      base;
				assert_true(ops >= 2); /* erase + program */
				base = ota_flash_file_op_count(
					d.f, OTA_FLASH_OP_MUTATE);
				assert_int_equal(dev_send_blocks(&d, s.buf,
								 s.region,
								 4096),
						 0);
				/* finish only reads the sector back */
				assert_int_equal(ota_engine_finish(&d.eng), 0);
				dev_power_off(&d);
				free(dev_snapshot(&d));
				continue;
			}
			ota_flash_file_cut_at(d.f, base + cut,
					      OTA_FLASH_OP_MUTATE, torn);
			assert_int_not_equal(
				begin_default(&d, &s, OTA_SIGBLOCK_LEN), 0);
			/* reboot: the old image runs; begin again, finish */
			assert_int_equal(dev_power_on(&d), 0);
			assert_int_equal(
				begin_default(&d, &s, OTA_SIGBLOCK_LEN), 0);
			assert_int_equal(
				dev_send_blocks(&d, s.buf, s.region, 4096), 0);
			assert_int_equal(ota_engine_finish(&d.eng), 0);
			assert_int_equal(ota_engine_commit(&d.eng), 0);
			dev_power_off(&d);
			flash = dev_snapshot(&d);
			assert_memory_equal(flash + OTA1_OFF, s.buf,
					    s.region + OTA_SIGBLOCK_LEN);
			free(flash);
			assert_int_equal(dev_power_on(&d), 1);
			dev_power_off(&d);
		}
	}
	free(s.buf);
	free(v1);
}

static uint32_t efuse(struct dev *d)
{
	struct ota_engine_status st;

	assert_int_equal(ota_engine_status(&d->eng, &st), 0);
	return st.efuse_secure_version;
}

static void test_antirollback(void **state)
{
	size_t v1_len, v2_len, v3_len, old_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	uint8_t *v2 = dev_image("2.0.0", 3, 22, &v2_len);
	uint8_t *v3 = dev_image("3.0.0", 4, 33, &v3_len);
	uint8_t *old = dev_image("1.5.0", 2, 15, &old_len);
	struct ota_engine_manifest m;
	struct dev d;

	(void)state;
	dev_create(&d, "antirollback.bin", NULL, v1, v1_len);
	/* first boot: initial contents, entry VALID: counter = 1 */
	assert_int_equal(dev_power_on(&d), 0);
	assert_int_equal(efuse(&d), 1);

	/* neither commit nor the trial boot raises it; an abort neither */
	assert_int_equal(dev_update(&d, v2, v2_len, 0), 0);
	assert_int_equal(efuse(&d), 1);
	assert_int_equal(dev_power_on(&d), 1);
	assert_int_equal(efuse(&d), 1);
	assert_int_equal(dev_power_on(&d), 0); /* unconfirmed: ABORTED */
	assert_int_equal(efuse(&d), 1);

	/* confirm raises it, and it survives reboots */
	assert_int_equal(dev_update(&d, v2, v2_len, OTA_ENGINE_FORCE), 0);
	assert_int_equal(dev_power_on(&d), 1);
	assert_int_equal(ota_engine_confirm(&d.eng), 0);
	assert_int_equal(efuse(&d), 3);
	dev_power_off(&d);
	assert_int_equal(dev_power_on(&d), 1);
	assert_int_equal(efuse(&d), 3);
	assert_int_equal(d.cfg.secure_version, 0);

	/* pre-flight: below the counter is a DOWNGRADE, nothing written */
	dev_manifest(old, old_len, &m);
	{
		uint64_t ops =
			ota_flash_file_op_count(d.f, OTA_FLASH_OP_MUTATE);

		expect_reason(&d, ota_engine_begin(&d.eng, &m, 0), -EPERM,
			      OTA_ENGINE_REASON_DOWNGRADE, "downgrade");
		assert_int_equal(
			ops, ota_flash_file_op_count(d.f, OTA_FLASH_OP_MUTATE));
	}
	/* rollback to v1 (secure_version 1) is impossible now */
	expect_reason(&d, ota_engine_rollback(&d.eng), -ENOENT,
		      OTA_ENGINE_REASON_NO_ROLLBACK_TARGET, "rollback");

	/* bootloader: v2 broken -> the walk would run v1, but it is too old */
	{
		FILE *fp = fopen(d.path, "r+b");
		uint8_t byte;

		dev_power_off(&d);
		assert_non_null(fp);
		assert_int_equal(fseek(fp, OTA1_OFF + 0x200, SEEK_SET), 0);
		assert_int_equal(fread(&byte, 1, 1, fp), 1);
		byte ^= 0xff;
		assert_int_equal(fseek(fp, OTA1_OFF + 0x200, SEEK_SET), 0);
		assert_int_equal(fwrite(&byte, 1, 1, fp), 1);
		fclose(fp);
		expect_reason(&d, dev_power_on(&d), -ENOENT,
			      OTA_ENGINE_REASON_NO_BOOTABLE, "skip");
		/* without the counter the same flash boots v1 */
		d.cfg.secure_version = 0;
		{
			struct ota_flash_file *f;
			int e = 0;

			/* a fresh journal-less view: erase the journal */
			dev_power_off(&d); /* one writer at a time */
			f = ota_flash_file_open(d.path, 0, 0, &e);
			assert_non_null(f);
			assert_int_equal(
				ota_flash_file_ops.erase(f, 0x210000, 0x4000),
				0);
			ota_flash_file_close(f);
		}
		assert_int_equal(dev_power_on(&d), 0);
		dev_power_off(&d);
	}
	free(v1);
	free(v2);
	free(v3);
	free(old);
}

/* A torn counter record: the next boot of the VALID image raises it. */
static void test_antirollback_powercut(void **state)
{
	size_t v1_len, v2_len;
	uint8_t *v1 = dev_image("1.0.0", 1, 11, &v1_len);
	uint8_t *v2 = dev_image("2.0.0", 5, 22, &v2_len);
	struct dev d;
	uint64_t base;

	(void)state;
	dev_create(&d, "antirollback-cut.bin", NULL, v1, v1_len);
	assert_int_equal(dev_power_on(&d), 0);
	assert_int_equal(dev_update(&d, v2, v2_len, 0), 0);
	assert_int_equal(dev_power_on(&d), 1);
	/* confirm: intent, erase, write, done mark, then the counter */
	base = ota_flash_file_op_count(d.f, OTA_FLASH_OP_MUTATE);
	ota_flash_file_cut_at(d.f, base + 4, OTA_FLASH_OP_MUTATE, true);
	assert_int_equal(ota_engine_confirm(&d.eng), -EIO);
	assert_true(ota_flash_file_is_dead(d.f));
	assert_int_equal(dev_open(&d), 0);
	assert_int_equal(efuse(&d), 1); /* the torn record does not count */
	assert_int_equal(ota_engine_boot(&d.eng), 1);
	assert_int_equal(efuse(&d), 5); /* VALID booted: raised */
	dev_power_off(&d);
	assert_int_equal(dev_open(&d), 0);
	assert_int_equal(efuse(&d), 5);
	dev_power_off(&d);
	free(v1);
	free(v2);
}

/* Compaction carries the counter into the new log sector. */
static void test_antirollback_compaction(void **state)
{
	static const uint8_t payload[32] = { 0 };
	struct ota_flash_file *f;
	struct ota_journal j;
	struct ota_journal_rec r;
	char path[512];
	int e = 0, i;

	(void)state;
	f = ota_flash_file_open(tmpdir_path(path, sizeof(path), "jr.bin"),
				0x4000, OTA_FLASH_FILE_CREATE, &e);
	assert_non_null(f);
	assert_int_equal(
		ota_journal_init(&j, &ota_flash_file_ops, f, 0, 0x4000), 0);
	assert_int_equal(ota_journal_append(&j, OTA_JOURNAL_REC_EFUSE, 0, 0, 7,
					    payload, NULL),
			 0);
	for (i = 0; i < 3 * (int)OTA_JOURNAL_LOG_RECS; i++)
		assert_int_equal(ota_journal_append(&j, OTA_JOURNAL_REC_FAILED,
						    0, 0, (uint32_t)i, payload,
						    NULL),
				 0);
	assert_true(j.log_gen >= 2);
	assert_int_equal(
		ota_journal_init(&j, &ota_flash_file_ops, f, 0, 0x4000), 0);
	assert_int_equal(
		ota_journal_find_last(&j, OTA_JOURNAL_REC_EFUSE, -1, &r), 1);
	assert_int_equal(r.val, 7);
	ota_flash_file_close(f);
}

static int group_teardown(void **state)
{
	(void)state;
	sigkey_free_all();
	tmpdir_cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/signed/preflight-refusals", test_preflight_refusals, NULL,
		  NULL, NULL },
		{ "/signed/update-rsa-p256-p384", test_update_schemes, NULL,
		  NULL, NULL },
		{ "/signed/sig-in-image", test_sig_in_image, NULL, NULL, NULL },
		{ "/signed/sig-in-image-p384", test_sig_in_image_p384, NULL,
		  NULL, NULL },
		{ "/signed/finish-digest", test_finish_digest, NULL, NULL,
		  NULL },
		{ "/signed/running-app-key", test_running_app_key, NULL, NULL,
		  NULL },
		{ "/signed/optional", test_optional, NULL, NULL, NULL },
		{ "/signed/begin-sector-powercut", test_begin_sector_powercut,
		  NULL, NULL, NULL },
		{ "/antirollback/confirm-reopen-preflight-boot",
		  test_antirollback, NULL, NULL, NULL },
		{ "/antirollback/torn-record", test_antirollback_powercut, NULL,
		  NULL, NULL },
		{ "/antirollback/compaction", test_antirollback_compaction,
		  NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("signed", tests, NULL,
					   group_teardown);
}
