/* SPDX-License-Identifier: MIT */
/*
 * common/crc32: published check values, a bit-by-bit reference over every
 * length and alignment, every entry of the slicing-by-8 tables, chunking
 * invariance, and the host's fast table against the device's small one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32.h"
#include "tests/harness/link.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef uint32_t crc_fn(uint32_t crc, const void *data, size_t len);

/* Both builds' walks: the host one (fast tables) and the device one. */
static crc_fn *const impls[] = { ota_crc32, ota_crc32_small };

/* The definition: one bit at a time, no table. */
static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, size_t n)
{
	int k;

	crc = ~crc;
	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void test_vectors(void **state)
{
	static const struct {
		const char *in;
		uint32_t crc;
	} v[] = {
		{ "", 0x00000000 },
		{ "a", 0xe8b7be43 },
		{ "abc", 0x352441c2 },
		{ "123456789", 0xcbf43926 },
		{ "The quick brown fox jumps over the lazy dog", 0x414fa339 },
	};
	/* esp_rom_crc32_le(UINT32_MAX, &seq, 4): ESP-IDF otadata entries */
	static const struct {
		uint32_t seq;
		uint32_t crc;
	} otadata[] = {
		{ 1, 0x4743989a },
		{ 2, 0x55f63774 },
		{ 6, 0xda94a023 },
	};
	size_t i, f;

	(void)state;
	for (f = 0; f < ARRAY_SIZE(impls); f++) {
		for (i = 0; i < ARRAY_SIZE(v); i++)
			assert_int_equal(impls[f](0, v[i].in, strlen(v[i].in)),
					 v[i].crc);
		for (i = 0; i < ARRAY_SIZE(otadata); i++) {
			uint8_t le[4] = { (uint8_t)otadata[i].seq, 0, 0, 0 };

			assert_int_equal(impls[f](UINT32_MAX, le, 4),
					 otadata[i].crc);
		}
	}
}

/* Every length 0..80 at every start offset 0..7, then long lengths. */
static void test_bitwise_reference(void **state)
{
	static uint8_t buf[4096 + 8];
	size_t off, n, f;

	(void)state;
	test_fill_random(buf, sizeof(buf), 7);
	for (f = 0; f < ARRAY_SIZE(impls); f++) {
		for (off = 0; off < 8; off++)
			for (n = 0; n <= 80; n++)
				assert_int_equal(
					impls[f](0, buf + off, n),
					crc32_bitwise(0, buf + off, n));
		for (n = 81; n <= 4096; n += 97)
			assert_int_equal(impls[f](0x12345678, buf + 3, n),
					 crc32_bitwise(0x12345678, buf + 3, n));
	}
}

/*
 * With the register at zero (crc argument ~0) and one non-zero byte v at
 * position k of an 8-byte group, the slicing step reads exactly one entry,
 * T[7-k][v], and zeros elsewhere: 8 x 256 inputs visit every entry.
 */
static void test_every_table_entry(void **state)
{
	uint8_t group[8];
	unsigned int k, v;

	(void)state;
	for (k = 0; k < 8; k++) {
		for (v = 0; v < 256; v++) {
			memset(group, 0, sizeof(group));
			group[k] = (uint8_t)v;
			assert_int_equal(ota_crc32(UINT32_MAX, group, 8),
					 crc32_bitwise(UINT32_MAX, group, 8));
		}
	}
}

/* Feeding a stream block in any pieces gives the CRC of the whole. */
static void test_chunking(void **state)
{
	static uint8_t buf[4100];
	static const size_t pieces[] = { 1, 3, 7, 8, 9, 64, 243, 1000, 4096 };
	size_t f, i, cut, pos;
	uint32_t whole, crc;

	(void)state;
	test_fill_random(buf, sizeof(buf), 11);
	whole = crc32_bitwise(0, buf, sizeof(buf));
	for (f = 0; f < ARRAY_SIZE(impls); f++) {
		for (cut = 0; cut <= sizeof(buf); cut += 41)
			assert_int_equal(impls[f](impls[f](0, buf, cut),
						  buf + cut, sizeof(buf) - cut),
					 whole);
		for (i = 0; i < ARRAY_SIZE(pieces); i++) {
			crc = 0;
			for (pos = 0; pos < sizeof(buf); pos += pieces[i]) {
				size_t n = sizeof(buf) - pos < pieces[i]
						   ? sizeof(buf) - pos
						   : pieces[i];

				crc = impls[f](crc, buf + pos, n);
			}
			assert_int_equal(crc, whole);
		}
	}
}

/* The host build's fast walk and the device build's small one agree. */
static void test_fast_equals_small(void **state)
{
	static uint8_t buf[8192];
	uint64_t seed;
	size_t n;

	(void)state;
	for (seed = 1; seed <= 64; seed++) {
		test_fill_random(buf, sizeof(buf), seed);
		n = (size_t)(seed * 127) % sizeof(buf);
		assert_int_equal(
			ota_crc32((uint32_t)seed, buf + seed % 8, n),
			ota_crc32_small((uint32_t)seed, buf + seed % 8, n));
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/crc32/vectors", test_vectors, NULL, NULL, NULL },
		{ "/crc32/bitwise-reference", test_bitwise_reference, NULL,
		  NULL, NULL },
		{ "/crc32/every-table-entry", test_every_table_entry, NULL,
		  NULL, NULL },
		{ "/crc32/chunking", test_chunking, NULL, NULL, NULL },
		{ "/crc32/fast-equals-small", test_fast_equals_small, NULL,
		  NULL, NULL },
	};

	return cmocka_run_group_tests_name("crc32", tests, NULL, NULL);
}
