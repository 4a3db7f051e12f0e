/* SPDX-License-Identifier: MIT */
/*
 * Bitwise CRC-32 (reflected, 0xEDB88320). A 1 KiB table would be faster but
 * costs RAM or flash on the device; the engine only checksums 4 KiB blocks
 * and 4-byte otadata sequence numbers, so a nibble table is the compromise.
 */
#include "ota_engine/crc.h"

static const uint32_t nibble_table[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4,
	0x4db26158, 0x5005713c, 0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t ota_crc_rom_le(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		crc = (crc >> 4) ^ nibble_table[crc & 0xf];
		crc = (crc >> 4) ^ nibble_table[crc & 0xf];
	}
	return ~crc;
}
