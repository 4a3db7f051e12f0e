/* SPDX-License-Identifier: MIT */
/*
 * CRC-32 (IEEE 802.3 / zlib: reflected polynomial 0xEDB88320, initial value
 * and final XOR 0xFFFFFFFF; check value of "123456789" is 0xCBF43926). It
 * protects each 4 KiB block of the framed image stream and the manifest.
 */
#ifndef BLEOTA_PROTOCOL_CRC32_H
#define BLEOTA_PROTOCOL_CRC32_H

#include <stddef.h>
#include <stdint.h>

/**
 * ota_crc32() - continue a CRC-32 over @len bytes.
 * @crc: 0 to start, or the result of a previous call to continue.
 *
 * Return: the CRC of everything fed so far.
 */
uint32_t ota_crc32(uint32_t crc, const void *data, size_t len);

#endif /* BLEOTA_PROTOCOL_CRC32_H */
