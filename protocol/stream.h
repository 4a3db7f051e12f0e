/* SPDX-License-Identifier: MIT */
/*
 * The framed image stream (docs/protocol.md §2): block b is OTA_BLOCK_SIZE
 * image bytes (the last block may be shorter) followed by the CRC-32 of
 * those bytes, little-endian, so block b occupies stream bytes
 * [b * OTA_BLOCK_STRIDE, b * OTA_BLOCK_STRIDE + len(b) + 4). DATA chunk seq
 * carries stream bytes [seq * P, seq * P + P) for the chunk size P fixed at
 * BEGIN; a chunk may straddle a block's data, its trailer and the next
 * block.
 *
 * This is the one definition of that layout: the sender fills chunks and
 * the receiver takes them apart with the same walker, and both use the
 * same geometry helpers.
 */
#ifndef BLEOTA_PROTOCOL_STREAM_H
#define BLEOTA_PROTOCOL_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/frame.h"

#define OTA_MAX_IMAGE     (16u * 1024 * 1024)
#define OTA_BLOCK_SIZE    4096u
#define OTA_BLOCK_CRC_LEN 4u
#define OTA_BLOCK_STRIDE  (OTA_BLOCK_SIZE + OTA_BLOCK_CRC_LEN)
#define OTA_MAX_BLOCKS    (OTA_MAX_IMAGE / OTA_BLOCK_SIZE)

_Static_assert((uint64_t)(OTA_MAX_IMAGE / OTA_BLOCK_SIZE) * OTA_BLOCK_STRIDE /
			       (OTA_MIN_VALUE - OTA_DATA_HDR_LEN) <
		       OTA_MAX_SEQ,
	       "24-bit seq covers the largest image at the smallest MTU");

/** ota_stream_blocks() - blocks in an image of @image_size bytes. */
uint32_t ota_stream_blocks(uint32_t image_size);
/** ota_stream_len() - stream bytes: the image plus one trailer per block. */
uint32_t ota_stream_len(uint32_t image_size);
/** ota_stream_chunks() - DATA chunks of @chunk_size; 0 if @chunk_size is 0. */
uint32_t ota_stream_chunks(uint32_t image_size, uint16_t chunk_size);

/** ota_stream_block_len() - image bytes in block @b (@b below the count). */
static inline uint32_t ota_stream_block_len(uint32_t image_size, uint32_t b)
{
	uint32_t left = image_size - b * OTA_BLOCK_SIZE;

	return left < OTA_BLOCK_SIZE ? left : OTA_BLOCK_SIZE;
}

/**
 * ota_stream_image_bytes() - image bytes within the first @stream_bytes
 * bytes of the stream (the CRC trailers they contain do not count).
 */
uint32_t ota_stream_image_bytes(uint32_t image_size, uint64_t stream_bytes);

/* One piece of a stream range: image bytes of one block, or trailer bytes. */
struct ota_stream_piece {
	uint32_t block;
	uint32_t len;       /* bytes in the piece, at least 1 */
	bool trailer;       /* false: image bytes; true: CRC trailer bytes */
	uint32_t image_off; /* image bytes: image offset of the first one */
	uint8_t crc_off;    /* trailer bytes: index (0..3) of the first one */
};

/* Cursor over a stream range; fields are private to ota_stream_next(). */
struct ota_stream_walk {
	uint32_t image_size;
	uint32_t off;
	uint32_t end;
};

/**
 * ota_stream_walk_init() - walk stream bytes [@off, @off + @len) of an
 * image of @image_size bytes; the range must lie within the stream.
 */
static inline void ota_stream_walk_init(struct ota_stream_walk *w,
					uint32_t image_size, uint32_t off,
					uint32_t len)
{
	w->image_size = image_size;
	w->off = off;
	w->end = off + len;
}

/**
 * ota_stream_next() - the next piece of the range into @p, in stream order.
 * A piece never spans two blocks, nor a block's data and its trailer, so
 * consecutive pieces' lengths add up to the range.
 *
 * Return: true with @p filled, false once the range is consumed.
 */
static inline bool ota_stream_next(struct ota_stream_walk *w,
				   struct ota_stream_piece *p)
{
	uint32_t left = w->end - w->off, b, in_b, blen, n;

	if (w->off >= w->end)
		return false;
	b = w->off / OTA_BLOCK_STRIDE;
	in_b = w->off % OTA_BLOCK_STRIDE;
	blen = ota_stream_block_len(w->image_size, b);
	p->block = b;
	if (in_b < blen) {
		n = blen - in_b;
		p->trailer = false;
		p->image_off = b * OTA_BLOCK_SIZE + in_b;
		p->crc_off = 0;
	} else {
		n = OTA_BLOCK_CRC_LEN - (in_b - blen);
		p->trailer = true;
		p->image_off = 0;
		p->crc_off = (uint8_t)(in_b - blen);
	}
	p->len = n < left ? n : left;
	w->off += p->len;
	return true;
}

/** ota_stream_block_first_chunk() - the chunk holding block @b's first byte. */
static inline uint32_t ota_stream_block_first_chunk(uint32_t b, uint16_t chunk)
{
	return b * OTA_BLOCK_STRIDE / chunk;
}

/** ota_stream_block_last_chunk() - the chunk holding block @b's last
 * trailer byte. */
static inline uint32_t ota_stream_block_last_chunk(uint32_t image_size,
						   uint32_t b, uint16_t chunk)
{
	return (b * OTA_BLOCK_STRIDE + ota_stream_block_len(image_size, b) +
		OTA_BLOCK_CRC_LEN - 1) /
	       chunk;
}

#endif /* BLEOTA_PROTOCOL_STREAM_H */
