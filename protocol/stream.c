/* SPDX-License-Identifier: MIT */
/*
 * Stream geometry (stream.h, where the walker is inline: it runs for
 * every chunk on both sides). Block b starts at stream offset
 * b * OTA_BLOCK_STRIDE whatever its length, because only the last block is
 * short; so the block of an offset is off / STRIDE and the position within
 * it off % STRIDE, with the data before the trailer.
 */
#include "protocol/stream.h"

uint32_t ota_stream_blocks(uint32_t image_size)
{
	return (image_size + OTA_BLOCK_SIZE - 1) / OTA_BLOCK_SIZE;
}

uint32_t ota_stream_len(uint32_t image_size)
{
	return image_size + OTA_BLOCK_CRC_LEN * ota_stream_blocks(image_size);
}

uint32_t ota_stream_chunks(uint32_t image_size, uint16_t chunk_size)
{
	uint32_t slen = ota_stream_len(image_size);

	if (chunk_size == 0)
		return 0;
	return (slen + chunk_size - 1) / chunk_size;
}

uint32_t ota_stream_image_bytes(uint32_t image_size, uint64_t stream_bytes)
{
	uint64_t slen = ota_stream_len(image_size), b, in_b, bytes;

	if (stream_bytes > slen)
		stream_bytes = slen;
	b = stream_bytes / OTA_BLOCK_STRIDE;
	in_b = stream_bytes % OTA_BLOCK_STRIDE;
	bytes = b * OTA_BLOCK_SIZE +
		(in_b < OTA_BLOCK_SIZE ? in_b : OTA_BLOCK_SIZE);
	return bytes > image_size ? image_size : (uint32_t)bytes;
}
