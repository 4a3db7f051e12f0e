/* SPDX-License-Identifier: MIT */
/*
 * Byte-order helpers: the one definition of "read/write an n-bit integer
 * stored little- or big-endian at p" for every on-wire and on-flash format
 * (protocol PDUs, ESP-IDF images, otadata, partition tables, signature
 * blocks, the engine journal).
 *
 * Byte-wise on purpose: no alignment or host-endianness assumption, so they
 * are correct on any MCU, and GCC/Clang fold them into a single (possibly
 * byte-swapped) load or store where the target allows it. Header only,
 * libc core headers only (make check-layering).
 *
 * Every helper reads or writes exactly 2, 3, 4 or 8 bytes at @p; the caller
 * guarantees the room.
 */
#ifndef BLEOTA_COMMON_BYTES_H
#define BLEOTA_COMMON_BYTES_H

#include <stdint.h>

static inline uint16_t ota_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static inline uint32_t ota_get_le24(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16);
}

static inline uint32_t ota_get_le32(const uint8_t *p)
{
	return ota_get_le24(p) | ((uint32_t)p[3] << 24);
}

static inline uint64_t ota_get_le64(const uint8_t *p)
{
	return (uint64_t)ota_get_le32(p) |
	       ((uint64_t)ota_get_le32(p + 4) << 32);
}

static inline uint16_t ota_get_be16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t ota_get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

static inline uint64_t ota_get_be64(const uint8_t *p)
{
	return ((uint64_t)ota_get_be32(p) << 32) |
	       (uint64_t)ota_get_be32(p + 4);
}

static inline void ota_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void ota_put_le24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
}

static inline void ota_put_le32(uint8_t *p, uint32_t v)
{
	ota_put_le24(p, v);
	p[3] = (uint8_t)(v >> 24);
}

static inline void ota_put_le64(uint8_t *p, uint64_t v)
{
	ota_put_le32(p, (uint32_t)v);
	ota_put_le32(p + 4, (uint32_t)(v >> 32));
}

static inline void ota_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void ota_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void ota_put_be64(uint8_t *p, uint64_t v)
{
	ota_put_be32(p, (uint32_t)(v >> 32));
	ota_put_be32(p + 4, (uint32_t)v);
}

#endif /* BLEOTA_COMMON_BYTES_H */
