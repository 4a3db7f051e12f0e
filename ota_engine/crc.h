/* SPDX-License-Identifier: MIT */
/*
 * Transitional: the engine's CRC-32 is common/crc32.h now (one definition
 * for protocol/ and ota_engine/). These two names remain only for the
 * callers not yet moved over (engine.c, tests/harness/device.c,
 * test_engine.c, test_flash_file.c); new code uses ota_crc32() directly.
 */
#ifndef BLEOTA_OTA_ENGINE_CRC_H
#define BLEOTA_OTA_ENGINE_CRC_H

#include <stddef.h>
#include <stdint.h>

#include "common/crc32.h"

/** esp_rom_crc32_le(@crc, buf, len), which is ota_crc32(). */
static inline uint32_t ota_crc_rom_le(uint32_t crc, const void *buf, size_t len)
{
	return ota_crc32(crc, buf, len);
}

/** IEEE/zlib CRC-32, chainable from 0: ota_crc32(). */
static inline uint32_t ota_crc_ieee(uint32_t crc, const void *buf, size_t len)
{
	return ota_crc32(crc, buf, len);
}

#endif /* BLEOTA_OTA_ENGINE_CRC_H */
