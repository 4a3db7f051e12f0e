/* SPDX-License-Identifier: MIT */
/*
 * common/bytes.h: each getter against fixed byte patterns, each putter
 * writes exactly its width (guard bytes stay), and put/get round trips
 * at every offset (no alignment assumption).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"

static const uint8_t pat[8] = {
	0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef
};

static void test_get(void **state)
{
	(void)state;
	assert_int_equal(ota_get_le16(pat), 0x2301);
	assert_int_equal(ota_get_le24(pat), 0x452301);
	assert_int_equal(ota_get_le32(pat), 0x67452301);
	assert_true(ota_get_le64(pat) == 0xefcdab8967452301ull);
	assert_int_equal(ota_get_be16(pat), 0x0123);
	assert_int_equal(ota_get_be32(pat), 0x01234567);
	assert_true(ota_get_be64(pat) == 0x0123456789abcdefull);
	/* top bits set: no sign extension through int promotion */
	assert_int_equal(ota_get_le16(pat + 6), 0xefcd);
	assert_int_equal(ota_get_be32(pat + 4), 0x89abcdef);
	assert_int_equal(ota_get_le32(pat + 4), 0xefcdab89);
}

/* Writes @width bytes of @expect at offset 3 of a 0x5a-filled buffer. */
static void check_put(const uint8_t *got, const uint8_t *expect, size_t width)
{
	size_t i;

	for (i = 0; i < 3; i++)
		assert_int_equal(got[i], 0x5a);
	assert_memory_equal(got + 3, expect, width);
	for (i = 3 + width; i < 16; i++)
		assert_int_equal(got[i], 0x5a);
}

/* Fill, write one value at offset 3, compare with @expect's first @width. */
#define PUT_AT_3(put, v, expect, width)      \
	do {                                 \
		memset(b, 0x5a, sizeof(b));  \
		put(b + 3, v);               \
		check_put(b, expect, width); \
	} while (0)

static void test_put(void **state)
{
	static const uint8_t be[8] = { 0x01, 0x23, 0x45, 0x67,
				       0x89, 0xab, 0xcd, 0xef };
	static const uint8_t le[8] = { 0xef, 0xcd, 0xab, 0x89,
				       0x67, 0x45, 0x23, 0x01 };
	uint8_t b[16];

	(void)state;
	PUT_AT_3(ota_put_le16, 0xcdef, le, 2);
	PUT_AT_3(ota_put_le24, 0xabcdef, le, 3);
	PUT_AT_3(ota_put_le32, 0x89abcdef, le, 4);
	PUT_AT_3(ota_put_le64, 0x0123456789abcdefull, le, 8);
	PUT_AT_3(ota_put_be16, 0x0123, be, 2);
	PUT_AT_3(ota_put_be32, 0x01234567, be, 4);
	PUT_AT_3(ota_put_be64, 0x0123456789abcdefull, be, 8);
}

static void test_roundtrip(void **state)
{
	static const uint64_t vals[] = { 0,          1,
					 0x80,       0xff,
					 0x8000,     0xffff,
					 0x800000,   0xffffffff,
					 0x80000000, 0x8000000000000000ull,
					 UINT64_MAX, 0x0123456789abcdefull };
	uint8_t b[16];
	size_t i, off;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v = vals[i];

		for (off = 0; off < 8; off++) {
			ota_put_le16(b + off, (uint16_t)v);
			assert_int_equal(ota_get_le16(b + off), (uint16_t)v);
			ota_put_le24(b + off, (uint32_t)v);
			assert_int_equal(ota_get_le24(b + off),
					 (uint32_t)v & 0xffffff);
			ota_put_le32(b + off, (uint32_t)v);
			assert_int_equal(ota_get_le32(b + off), (uint32_t)v);
			ota_put_le64(b + off, v);
			assert_true(ota_get_le64(b + off) == v);
			ota_put_be16(b + off, (uint16_t)v);
			assert_int_equal(ota_get_be16(b + off), (uint16_t)v);
			ota_put_be32(b + off, (uint32_t)v);
			assert_int_equal(ota_get_be32(b + off), (uint32_t)v);
			ota_put_be64(b + off, v);
			assert_true(ota_get_be64(b + off) == v);
		}
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/bytes/get", test_get, NULL, NULL, NULL },
		{ "/bytes/put/exact-width", test_put, NULL, NULL, NULL },
		{ "/bytes/roundtrip", test_roundtrip, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("bytes", tests, NULL, NULL);
}
