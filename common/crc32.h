/* SPDX-License-Identifier: MIT */
/*
 * CRC-32, the one definition for the whole tree: IEEE 802.3 / zlib
 * (reflected polynomial 0xEDB88320, register preset to ~crc, result
 * inverted; the check value of "123456789" is 0xCBF43926). It protects
 * every 4 KiB block of the framed image stream and the manifest (protocol/),
 * and the journal, otadata and signature blocks (ota_engine/). ESP-IDF's
 * esp_rom_crc32_le(crc, buf, len) is the same function: otadata's
 * esp_rom_crc32_le(UINT32_MAX, &seq, 4) is ota_crc32(UINT32_MAX, &seq, 4).
 *
 * Two tables, one result, chosen at build time:
 *
 *  - default (host builds): slicing-by-8, eight 256-entry tables (8 KiB of
 *    const data), about eight times faster than a byte table on x86-64;
 *    the loopback benchmark and the sender checksum every block on the host.
 *  - OTA_CRC32_SMALL defined (device builds; tests/tools/size.sh passes
 *    -DOTA_CRC32_SMALL for the Cortex-M4 build): a 16-entry nibble table,
 *    64 bytes of flash, two lookups per byte. A device checks each 4 KiB
 *    block once, which costs far less than programming it into flash.
 *
 * ota_crc32_small() is the nibble walk in every build, so the host tests
 * can check that both tables give the same answers.
 */
#ifndef BLEOTA_COMMON_CRC32_H
#define BLEOTA_COMMON_CRC32_H

#include <stddef.h>
#include <stdint.h>

/**
 * ota_crc32() - continue a CRC-32 over @len bytes at @data.
 * @crc: 0 to start, or the result of the previous call to continue (feeding
 *	a buffer in pieces gives the CRC of the whole).
 *
 * Return: the CRC of everything fed so far.
 */
uint32_t ota_crc32(uint32_t crc, const void *data, size_t len);

/**
 * ota_crc32_small() - ota_crc32() computed with the 64-byte nibble table,
 * whatever the build (it is what ota_crc32() runs under OTA_CRC32_SMALL).
 */
uint32_t ota_crc32_small(uint32_t crc, const void *data, size_t len);

#endif /* BLEOTA_COMMON_CRC32_H */
