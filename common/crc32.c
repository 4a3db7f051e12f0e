/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 (see crc32.h for the parameters and the table choice).
 *
 * The nibble walk folds the register four bits at a time through a 16-entry
 * table: two lookups per byte, 64 bytes of table. Slicing-by-8 XORs eight
 * input bytes into the register and its successor word, then looks each of
 * the eight bytes up in the table for its distance from the end of the
 * group, so one iteration retires eight bytes with eight independent loads;
 * the tail (< 8 bytes) goes byte by byte through T[0]. Input words are read
 * with ota_get_le32(): no alignment or host byte-order assumption.
 */
#include "common/crc32.h"

#include "common/bytes.h"

static const uint32_t nibble_table[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t ota_crc32_small(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ nibble_table[crc & 0x0f];
		crc = (crc >> 4) ^ nibble_table[crc & 0x0f];
	}
	return ~crc;
}

#ifdef OTA_CRC32_SMALL

uint32_t ota_crc32(uint32_t crc, const void *data, size_t len)
{
	return ota_crc32_small(crc, data, len);
}

#else /* !OTA_CRC32_SMALL */

#include "common/crc32_table.inc"

uint32_t ota_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint32_t(*t)[256] = crc32_tables;
	const uint8_t *p = data;
	uint32_t hi;

	crc = ~crc;
	for (; len >= 8; len -= 8, p += 8) {
		crc ^= ota_get_le32(p);
		hi = ota_get_le32(p + 4);
		crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^
		      t[5][(crc >> 16) & 0xff] ^ t[4][crc >> 24] ^
		      t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^
		      t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
	}
	while (len--)
		crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#endif /* OTA_CRC32_SMALL */
