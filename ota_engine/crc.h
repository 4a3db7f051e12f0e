/* SPDX-License-Identifier: MIT */
/*
 * The two CRC-32 flavours the engine needs. Both use the reflected
 * polynomial 0xEDB88320; they differ only in the initial register.
 */
#ifndef BLEOTA_OTA_ENGINE_CRC_H
#define BLEOTA_OTA_ENGINE_CRC_H

#include <stddef.h>
#include <stdint.h>

/**
 * ESP ROM esp_rom_crc32_le(@crc, buf, len): register = ~@crc, then the
 * reflected table walk, result inverted. Chain calls by passing the previous
 * result. esp_rom_crc32_le(0, ...) is zlib's CRC-32 (check 0xCBF43926);
 * otadata uses esp_rom_crc32_le(UINT32_MAX, &seq, 4).
 */
uint32_t ota_crc_rom_le(uint32_t crc, const void *buf, size_t len);

/**
 * IEEE/zlib CRC-32 (init 0xFFFFFFFF, final xor 0xFFFFFFFF), the per-block
 * check of the wire protocol. Chainable: start with 0.
 */
static inline uint32_t ota_crc_ieee(uint32_t crc, const void *buf, size_t len)
{
	return ota_crc_rom_le(crc, buf, len);
}

#endif /* BLEOTA_OTA_ENGINE_CRC_H */
