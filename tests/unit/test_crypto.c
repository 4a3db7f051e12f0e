/* SPDX-License-Identifier: MIT */
/*
 * ota_engine/crypto.h, the host backend's SHA-256: the FIPS 180-2 example
 * digests, the same digest whatever the update sizes (every size the
 * receiver and the engine feed, 1 to a 4 KiB block), a clone that goes on
 * independently of its source (FINISH's digest of the signed region), and
 * a context that starts again after its final digest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ota_engine/crypto.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void unhex(const char *hex, uint8_t out[OTA_SHA256_LEN])
{
	unsigned int i, b;

	for (i = 0; i < OTA_SHA256_LEN; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

static void digest(const void *p, size_t n, uint8_t out[OTA_SHA256_LEN])
{
	struct ota_sha256 c;

	ota_sha256_init(&c);
	ota_sha256_update(&c, p, n);
	ota_sha256_final(&c, out);
}

/* FIPS 180-2 appendix B and the empty message. */
static void test_sha256_vectors(void **state)
{
	static const struct {
		const char *in;
		const char *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb924"
		      "27ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223"
			 "b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039"
		  "a33ce45964ff2167f6ecedd419db06c1" },
	};
	uint8_t want[OTA_SHA256_LEN], got[OTA_SHA256_LEN];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		unhex(v[i].hex, want);
		digest(v[i].in, strlen(v[i].in), got);
		assert_memory_equal(got, want, OTA_SHA256_LEN);
	}
}

/* One million 'a' (FIPS 180-2 B.3), fed in 244-byte values. */
static void test_sha256_million(void **state)
{
	uint8_t want[OTA_SHA256_LEN], got[OTA_SHA256_LEN], a[244];
	struct ota_sha256 c;
	size_t left = 1000000;

	(void)state;
	unhex("cdc76e5c9914fb9281a1c7e284d73e67"
	      "f1809a48a497200e046d39ccc7112cd0",
	      want);
	memset(a, 'a', sizeof(a));
	ota_sha256_init(&c);
	while (left) {
		size_t n = left < sizeof(a) ? left : sizeof(a);

		ota_sha256_update(&c, a, n);
		left -= n;
	}
	ota_sha256_final(&c, got);
	assert_memory_equal(got, want, OTA_SHA256_LEN);
}

static uint8_t *pattern(size_t n)
{
	uint8_t *p = malloc(n);
	size_t i;

	assert_non_null(p);
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 131 + (i >> 8));
	return p;
}

/* Any split of the input gives the one-shot digest. */
static void test_sha256_pieces(void **state)
{
	static const size_t sizes[] = { 1, 3, 63, 64, 65, 240, 244, 256, 4096 };
	const size_t len = 3 * 4096 + 17;
	uint8_t *p = pattern(len), want[OTA_SHA256_LEN], got[OTA_SHA256_LEN];
	size_t i, pos;

	(void)state;
	digest(p, len, want);
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		struct ota_sha256 c;

		ota_sha256_init(&c);
		for (pos = 0; pos < len; pos += sizes[i])
			ota_sha256_update(&c, p + pos,
					  len - pos < sizes[i] ? len - pos
							       : sizes[i]);
		ota_sha256_final(&c, got);
		assert_memory_equal(got, want, OTA_SHA256_LEN);
	}
	free(p);
}

/* A clone's digest is the prefix's; the source goes on unchanged. */
static void test_sha256_clone(void **state)
{
	const size_t len = 10000, cut = 4097;
	uint8_t *p = pattern(len), want[OTA_SHA256_LEN], got[OTA_SHA256_LEN];
	struct ota_sha256 c, copy;

	(void)state;
	ota_sha256_init(&c);
	ota_sha256_update(&c, p, cut);
	ota_sha256_clone(&copy, &c);
	ota_sha256_update(&copy, "x", 1); /* must not reach the source */
	ota_sha256_final(&copy, got);
	ota_sha256_update(&c, p + cut, len - cut);
	ota_sha256_final(&c, got);
	digest(p, len, want);
	assert_memory_equal(got, want, OTA_SHA256_LEN);

	ota_sha256_init(&c);
	ota_sha256_update(&c, p, cut);
	ota_sha256_clone(&copy, &c);
	ota_sha256_final(&copy, got);
	digest(p, cut, want);
	assert_memory_equal(got, want, OTA_SHA256_LEN);
	free(p);
}

/* init after final starts a new digest. */
static void test_sha256_reuse(void **state)
{
	uint8_t want[OTA_SHA256_LEN], got[OTA_SHA256_LEN];
	struct ota_sha256 c;

	(void)state;
	unhex("ba7816bf8f01cfea414140de5dae2223"
	      "b00361a396177a9cb410ff61f20015ad",
	      want);
	ota_sha256_init(&c);
	ota_sha256_update(&c, "something else", 14);
	ota_sha256_final(&c, got);
	ota_sha256_init(&c);
	ota_sha256_update(&c, "abc", 3);
	ota_sha256_final(&c, got);
	assert_memory_equal(got, want, OTA_SHA256_LEN);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/crypto/sha256/vectors", test_sha256_vectors, NULL, NULL,
		  NULL },
		{ "/crypto/sha256/million", test_sha256_million, NULL, NULL,
		  NULL },
		{ "/crypto/sha256/pieces", test_sha256_pieces, NULL, NULL,
		  NULL },
		{ "/crypto/sha256/clone", test_sha256_clone, NULL, NULL, NULL },
		{ "/crypto/sha256/reuse", test_sha256_reuse, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("crypto", tests, NULL, NULL);
}
