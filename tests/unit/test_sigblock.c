/* SPDX-License-Identifier: MIT */
/*
 * Secure Boot v2 signature blocks: parse vectors (valid for each scheme,
 * absent, bad magic, bad CRC, truncated at every length class, unknown
 * version / curve / sha_version), sector parsing with a broken middle
 * block, and verification for RSA-3072-PSS, ECDSA P-256 and P-384: valid,
 * flipped signature byte, wrong digest, wrong key, inconsistent R^-1/M'.
 * Keys are generated at run time (tests/harness/sigkeys.c).
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

#include "host/imgsign.h"
#include "ota_engine/sigblock.h"
#include "tests/harness/sigkeys.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const enum ota_sig_scheme schemes[] = {
	OTA_SIG_RSA3072,
	OTA_SIG_ECDSA_P256,
	OTA_SIG_ECDSA_P384,
};

/* A block over a digest of 0x5A bytes made with key @idx of @s. */
static void make(enum ota_sig_scheme s, unsigned int idx, uint8_t *b)
{
	uint8_t digest[OTA_SIGBLOCK_DIGEST_MAX];

	memset(digest, 0x5a, sizeof(digest));
	assert_int_equal(imgsign_make_block(sigkey_get(s, idx), digest, b), 0);
}

static void test_parse_valid(void **state)
{
	static const struct {
		enum ota_sig_scheme s;
		size_t key_off, key_len, digest_len, sig_len;
	} want[] = {
		{ OTA_SIG_RSA3072, 36, 776, 32, 384 },
		{ OTA_SIG_ECDSA_P256, 36, 65, 32, 64 },
		{ OTA_SIG_ECDSA_P384, 52, 97, 48, 96 },
	};
	uint8_t b[OTA_SIGBLOCK_LEN], kd[32];
	struct ota_sigblock p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		make(want[i].s, 0, b);
		assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
		assert_int_equal(p.err, OTA_SIGBLOCK_OK);
		assert_int_equal(p.scheme, want[i].s);
		assert_ptr_equal(p.key, b + want[i].key_off);
		assert_int_equal(p.key_len, want[i].key_len);
		assert_ptr_equal(p.digest, b + 4);
		assert_int_equal(p.digest_len, want[i].digest_len);
		assert_ptr_equal(p.sig, b + want[i].key_off + want[i].key_len);
		assert_int_equal(p.sig_len, want[i].sig_len);
		sigkey_digest(want[i].s, 0, kd);
		assert_memory_equal(p.key_digest, kd, 32);
		/* the layout ends before the CRC; the rest is zero padding */
		assert_true(want[i].key_off + want[i].key_len +
				    want[i].sig_len <=
			    OTA_SIGBLOCK_CRC_LEN);
		assert_int_equal(b[1200], 0);
		assert_int_equal(b[1215], 0);
		assert_int_equal(ota_sigblock_verify(&p), 0);
	}
}

static void test_parse_invalid(void **state)
{
	static const struct {
		const char *name;
		size_t off;
		uint8_t val;
		bool fix;
		enum ota_sigblock_err err;
	} cases[] = {
		{ "magic", 0, 0xE8, true, OTA_SIGBLOCK_ERR_MAGIC },
		{ "crc", 100, 0x01, false, OTA_SIGBLOCK_ERR_CRC },
		{ "crc-field", 1196, 0xff, false, OTA_SIGBLOCK_ERR_CRC },
		{ "version-4", 1, 0x04, true, OTA_SIGBLOCK_ERR_SCHEME },
		{ "version-1", 1, 0x02, true, OTA_SIGBLOCK_ERR_SCHEME },
		{ "curve-p192", 36, 0x01, true, OTA_SIGBLOCK_ERR_SCHEME },
		{ "sha-version-1-p256", 2, 0x01, true,
		  OTA_SIGBLOCK_ERR_SCHEME },
	};
	uint8_t b[OTA_SIGBLOCK_LEN];
	struct ota_sigblock p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		make(OTA_SIG_ECDSA_P256, 0, b);
		b[cases[i].off] ^= cases[i].val;
		/*
		 * sha_version 1 makes byte 52 (inside the P-256 key's X) the
		 * curve_id: if the random key has a 3 there, the block is a
		 * well-formed P-384 one (1 key in 256). Keep that byte off 3.
		 */
		if (cases[i].off == 2 && b[52] == 3)
			b[52] ^= 0x80;
		if (cases[i].fix)
			ota_sigblock_seal(b);
		if (ota_sigblock_parse(b, sizeof(b), &p) != -EILSEQ ||
		    p.err != cases[i].err)
			fail_msg("%s: err %d", cases[i].name, p.err);
		assert_int_equal(p.scheme, OTA_SIG_NONE);
		assert_int_equal(ota_sigblock_verify(&p), -EINVAL);
	}
	/* a P-384 block claiming SHA-256 */
	make(OTA_SIG_ECDSA_P384, 0, b);
	b[2] = 0;
	ota_sigblock_seal(b);
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), -EILSEQ);
	assert_int_equal(p.err, OTA_SIGBLOCK_ERR_SCHEME);
	/* erased */
	memset(b, 0xff, sizeof(b));
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), -EILSEQ);
	assert_int_equal(p.err, OTA_SIGBLOCK_ERR_ABSENT);
	assert_int_equal(ota_sigblock_parse(NULL, 0, &p), -EILSEQ);
	assert_int_equal(p.err, OTA_SIGBLOCK_ERR_ABSENT);
}

static void test_parse_truncated(void **state)
{
	uint8_t b[OTA_SIGBLOCK_LEN];
	struct ota_sigblock p;
	size_t len;

	(void)state;
	make(OTA_SIG_RSA3072, 0, b);
	for (len = 1; len < OTA_SIGBLOCK_LEN; len++) {
		if (ota_sigblock_parse(b, len, &p) != -EILSEQ ||
		    p.err != OTA_SIGBLOCK_ERR_TRUNCATED)
			fail_msg("length %zu accepted", len);
	}
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
}

static void test_parse_sector(void **state)
{
	uint8_t sec[OTA_SIGBLOCK_SECTOR_LEN];
	struct ota_sigblock p[OTA_SIGBLOCK_MAX];

	(void)state;
	memset(sec, 0xff, sizeof(sec));
	make(OTA_SIG_ECDSA_P256, 0, sec);
	make(OTA_SIG_ECDSA_P256, 1, sec + OTA_SIGBLOCK_LEN);
	make(OTA_SIG_ECDSA_P256, 0, sec + 2 * OTA_SIGBLOCK_LEN);
	assert_int_equal(ota_sigblock_parse_sector(sec, sizeof(sec), p), 3);
	/* a broken middle block does not hide the third (IDF looks at all) */
	sec[OTA_SIGBLOCK_LEN + 50] ^= 1;
	assert_int_equal(ota_sigblock_parse_sector(sec, sizeof(sec), p), 2);
	assert_int_equal(p[1].err, OTA_SIGBLOCK_ERR_CRC);
	assert_int_equal(p[2].err, OTA_SIGBLOCK_OK);
	assert_ptr_equal(p[2].raw, sec + 2 * OTA_SIGBLOCK_LEN);
	/* just the used blocks, as BEGIN carries them */
	assert_int_equal(ota_sigblock_parse_sector(sec, OTA_SIGBLOCK_LEN, p),
			 1);
	assert_int_equal(p[1].err, OTA_SIGBLOCK_ERR_ABSENT);
	assert_int_equal(p[2].err, OTA_SIGBLOCK_ERR_ABSENT);
	assert_int_equal(
		ota_sigblock_parse_sector(sec, OTA_SIGBLOCK_LEN + 10, p), 1);
	assert_int_equal(p[1].err, OTA_SIGBLOCK_ERR_TRUNCATED);
	/* one block slot beyond the sector end: only 3 are ever read */
	memset(sec, 0xff, sizeof(sec));
	assert_int_equal(ota_sigblock_parse_sector(sec, sizeof(sec), p), 0);
	assert_int_equal(p[0].err, OTA_SIGBLOCK_ERR_ABSENT);
}

static void test_verify(void **state)
{
	uint8_t b[OTA_SIGBLOCK_LEN], other[OTA_SIGBLOCK_LEN];
	struct ota_sigblock p;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(schemes); i++) {
		const char *name = ota_sig_scheme_name(schemes[i]);

		/* valid */
		make(schemes[i], 0, b);
		assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
		if (ota_sigblock_verify(&p))
			fail_msg("%s: valid block does not verify", name);

		/* flipped signature byte (CRC fixed so the block parses) */
		b[(size_t)(p.sig - b) + 7] ^= 0x40;
		ota_sigblock_seal(b);
		assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
		if (ota_sigblock_verify(&p) != -EBADMSG)
			fail_msg("%s: flipped signature accepted", name);

		/* a digest other than the signed one */
		make(schemes[i], 0, b);
		b[4] ^= 0x01;
		ota_sigblock_seal(b);
		assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
		if (ota_sigblock_verify(&p) != -EBADMSG)
			fail_msg("%s: wrong digest accepted", name);

		/* the key of another block (same scheme) */
		make(schemes[i], 0, b);
		make(schemes[i], 1, other);
		assert_int_equal(ota_sigblock_parse(other, sizeof(other), &p),
				 0);
		memcpy(b + (p.key - other), p.key, p.key_len);
		ota_sigblock_seal(b);
		assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
		if (ota_sigblock_verify(&p) == 0)
			fail_msg("%s: wrong key accepted", name);
	}
}

static void test_verify_rsa_montgomery(void **state)
{
	uint8_t b[OTA_SIGBLOCK_LEN];
	struct ota_sigblock p;

	(void)state;
	make(OTA_SIG_RSA3072, 0, b);
	b[424 + 10] ^= 1; /* R^-1 */
	ota_sigblock_seal(b);
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
	assert_int_equal(ota_sigblock_verify(&p), -EINVAL);
	make(OTA_SIG_RSA3072, 0, b);
	b[808] ^= 1; /* M' */
	ota_sigblock_seal(b);
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
	assert_int_equal(ota_sigblock_verify(&p), -EINVAL);
	make(OTA_SIG_RSA3072, 0, b);
	b[36] &= 0xfe; /* even modulus */
	ota_sigblock_seal(b);
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
	assert_int_equal(ota_sigblock_verify(&p), -EINVAL);
}

static void test_ecdsa_point_off_curve(void **state)
{
	uint8_t b[OTA_SIGBLOCK_LEN];
	struct ota_sigblock p;

	(void)state;
	make(OTA_SIG_ECDSA_P256, 0, b);
	b[37 + 40] ^= 0x10; /* Y */
	ota_sigblock_seal(b);
	assert_int_equal(ota_sigblock_parse(b, sizeof(b), &p), 0);
	assert_int_equal(ota_sigblock_verify(&p), -EINVAL);
}

static void test_sector_offset(void **state)
{
	(void)state;
	assert_int_equal(ota_sigblock_sector_offset(1), 4096);
	assert_int_equal(ota_sigblock_sector_offset(4096), 4096);
	assert_int_equal(ota_sigblock_sector_offset(4097), 8192);
}

static int group_teardown(void **state)
{
	(void)state;
	sigkey_free_all();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/sigblock/parse/valid", test_parse_valid, NULL, NULL, NULL },
		{ "/sigblock/parse/invalid", test_parse_invalid, NULL, NULL,
		  NULL },
		{ "/sigblock/parse/truncated", test_parse_truncated, NULL, NULL,
		  NULL },
		{ "/sigblock/parse/sector", test_parse_sector, NULL, NULL,
		  NULL },
		{ "/sigblock/verify/schemes", test_verify, NULL, NULL, NULL },
		{ "/sigblock/verify/rsa-montgomery", test_verify_rsa_montgomery,
		  NULL, NULL, NULL },
		{ "/sigblock/verify/ecdsa-off-curve",
		  test_ecdsa_point_off_curve, NULL, NULL, NULL },
		{ "/sigblock/sector-offset", test_sector_offset, NULL, NULL,
		  NULL },
	};

	return cmocka_run_group_tests_name("sigblock", tests, NULL,
					   group_teardown);
}
