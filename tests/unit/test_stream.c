/* SPDX-License-Identifier: MIT */
/*
 * protocol/stream: the framed stream's geometry, and the walker both the
 * sender and the receiver take chunks apart with, checked against a byte
 * by byte model of the stream for every range of small images.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/frame.h"
#include "protocol/stream.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static void test_stream_geometry(void **state)
{
	static const struct {
		uint32_t size;
		uint16_t chunk;
		uint32_t blocks, len, chunks;
	} cases[] = {
		{ 0, 16, 0, 0, 0 },
		{ 1, 16, 1, 5, 1 },
		{ 40, 16, 1, 44, 3 },
		{ 4095, 240, 1, 4099, 18 },
		{ 4096, 240, 1, 4100, 18 },
		{ 4097, 240, 2, 4105, 18 },
		{ 1048576, 243, 256, 1049600, 4320 },
		{ OTA_MAX_IMAGE, 16, 4096, 16793600, 1049600 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		assert_int_equal(ota_stream_blocks(cases[i].size),
				 cases[i].blocks);
		assert_int_equal(ota_stream_len(cases[i].size), cases[i].len);
		assert_int_equal(
			ota_stream_chunks(cases[i].size, cases[i].chunk),
			cases[i].chunks);
	}
	assert_int_equal(ota_frame_value_max(23), 20);
	assert_int_equal(ota_frame_value_max(247), 244);
	assert_int_equal(ota_frame_value_max(517), 510);
	assert_int_equal(ota_frame_value_max(22), 0);
}

/*
 * The model: stream byte i, walked one at a time, is image byte (block,
 * offset) or trailer byte (block, k).
 */
struct byte_model {
	uint32_t block;
	bool trailer;
	uint32_t pos; /* image offset or trailer index */
};

static void model(uint32_t image_size, struct byte_model *m, uint32_t slen)
{
	uint32_t i = 0, b, j;

	for (b = 0; i < slen; b++) {
		uint32_t blen = image_size - b * OTA_BLOCK_SIZE;

		if (blen > OTA_BLOCK_SIZE)
			blen = OTA_BLOCK_SIZE;
		for (j = 0; j < blen; j++, i++)
			m[i] = (struct byte_model){ b, false,
						    b * OTA_BLOCK_SIZE + j };
		for (j = 0; j < OTA_BLOCK_CRC_LEN; j++, i++)
			m[i] = (struct byte_model){ b, true, j };
	}
}

/* Every piece matches the model byte for byte and never spans a boundary. */
static void check_range(uint32_t image_size, const struct byte_model *m,
			uint32_t off, uint32_t len)
{
	struct ota_stream_walk w;
	struct ota_stream_piece p;
	uint32_t at = off, j;

	ota_stream_walk_init(&w, image_size, off, len);
	while (ota_stream_next(&w, &p)) {
		assert_true(p.len >= 1);
		assert_true(at + p.len <= off + len);
		for (j = 0; j < p.len; j++) {
			const struct byte_model *e = &m[at + j];

			assert_int_equal(e->block, p.block);
			assert_int_equal(e->trailer, p.trailer);
			assert_int_equal(e->pos, p.trailer ? p.crc_off + j
							   : p.image_off + j);
		}
		at += p.len;
	}
	assert_int_equal(at, off + len);
	assert_false(ota_stream_next(&w, &p)); /* stays consumed */
}

static void test_walk_matches_model(void **state)
{
	static const uint32_t sizes[] = { 1, 3, 4095, 4096, 4097, 8192, 8195 };
	static struct byte_model m[3 * OTA_BLOCK_STRIDE];
	static const uint32_t lens[] = { 1, 2, 5, 16, 240, 4100, 4101 };
	size_t s, l;
	uint32_t off, slen;

	(void)state;
	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		slen = ota_stream_len(sizes[s]);
		model(sizes[s], m, slen);
		for (l = 0; l < ARRAY_SIZE(lens); l++) {
			for (off = 0; off + lens[l] <= slen; off++)
				check_range(sizes[s], m, off, lens[l]);
		}
		check_range(sizes[s], m, 0, slen);
		check_range(sizes[s], m, slen, 0);
	}
}

/* Chunks as the protocol cuts them: seq * P, the last one shorter. */
static void test_walk_chunks(void **state)
{
	static struct byte_model m[3 * OTA_BLOCK_STRIDE];
	static const uint16_t chunks[] = { 16, 240, 243, 506 };
	uint32_t size = 2 * OTA_BLOCK_SIZE + 777, slen, seq, n;
	size_t c;

	(void)state;
	slen = ota_stream_len(size);
	model(size, m, slen);
	for (c = 0; c < ARRAY_SIZE(chunks); c++) {
		n = ota_stream_chunks(size, chunks[c]);
		for (seq = 0; seq < n; seq++) {
			uint32_t off = seq * chunks[c];
			uint32_t len =
				slen - off < chunks[c] ? slen - off : chunks[c];

			check_range(size, m, off, len);
		}
	}
}

static void test_block_chunks(void **state)
{
	(void)state;
	/* 5000 bytes: block 1 is 904 bytes at stream 4100..5007 */
	assert_int_equal(ota_stream_block_len(5000, 0), 4096);
	assert_int_equal(ota_stream_block_len(5000, 1), 904);
	assert_int_equal(ota_stream_block_first_chunk(0, 240), 0);
	assert_int_equal(ota_stream_block_last_chunk(5000, 0, 240), 17);
	assert_int_equal(ota_stream_block_first_chunk(1, 240), 17);
	assert_int_equal(ota_stream_block_last_chunk(5000, 1, 240), 20);
	assert_int_equal(ota_stream_chunks(5000, 240), 21);
}

/* Image bytes in a stream prefix: trailers never count. */
static void test_image_bytes(void **state)
{
	static const struct {
		uint32_t size;
		uint64_t stream;
		uint32_t image;
	} cases[] = {
		{ 5000, 0, 0 },        { 5000, 4095, 4095 },
		{ 5000, 4096, 4096 },  { 5000, 4098, 4096 },
		{ 5000, 4100, 4096 },  { 5000, 4101, 4097 },
		{ 5000, 5004, 5000 },  { 5000, 5008, 5000 },
		{ 5000, 99999, 5000 }, { 40, 44, 40 },
		{ 40, 42, 40 },        { 0, 10, 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		assert_int_equal(
			ota_stream_image_bytes(cases[i].size, cases[i].stream),
			cases[i].image);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/stream/geometry", test_stream_geometry, NULL, NULL, NULL },
		{ "/stream/walk/matches-model", test_walk_matches_model, NULL,
		  NULL, NULL },
		{ "/stream/walk/chunks", test_walk_chunks, NULL, NULL, NULL },
		{ "/stream/block-chunks", test_block_chunks, NULL, NULL, NULL },
		{ "/stream/image-bytes", test_image_bytes, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
