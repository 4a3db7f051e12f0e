/* SPDX-License-Identifier: MIT */
/*
 * What the NVS reader (nvs.c) and writer (nvs_write.c) share: the page
 * layout constants, entry and page state values, flash access through the
 * partition's vtable, the CRCs, and the lookups the writer reuses. Not
 * installed; device code only (libc, no malloc, no I/O of its own).
 */
#ifndef BLEOTA_OTA_ENGINE_NVS_PRIV_H
#define BLEOTA_OTA_ENGINE_NVS_PRIV_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crc32.h"
#include "ota_engine/nvs.h"

#define HDR_SIZE      32u
#define BITMAP_OFF    32u
#define ENTRIES_OFF   64u
#define NVS_VERSION   0xFEu
#define NS_ANY        0xFFu
#define CHUNK_ANY     0xFFu
#define STATE_EMPTY   0xFFFFFFFFu
#define STATE_ACTIVE  0xFFFFFFFEu
#define STATE_FULL    0xFFFFFFFCu
#define STATE_FREEING 0xFFFFFFF8u

/* 2-bit entry states in the bitmap */
#define ES_EMPTY   3u
#define ES_WRITTEN 2u
#define ES_ILLEGAL 1u
#define ES_ERASED  0u

_Static_assert(ENTRIES_OFF + OTA_NVS_ENTRY_COUNT * OTA_NVS_ENTRY_SIZE ==
		       OTA_NVS_PAGE_SIZE,
	       "126 entries fill a page");
_Static_assert(OTA_NVS_STR_MAX ==
		       (OTA_NVS_ENTRY_COUNT - 1) * OTA_NVS_ENTRY_SIZE,
	       "a string fills at most one page");

static inline uint32_t page_addr(const struct ota_nvs_part *p, uint32_t page)
{
	return p->off + page * OTA_NVS_PAGE_SIZE;
}

static inline uint32_t entry_addr(const struct ota_nvs_part *p, uint32_t page,
				  unsigned int i)
{
	return page_addr(p, page) + ENTRIES_OFF + i * OTA_NVS_ENTRY_SIZE;
}

static inline int rd(const struct ota_nvs_part *p, uint32_t addr, void *dst,
		     size_t len)
{
	return p->flash->read(p->flash_ctx, addr, dst, len) ? -EIO : 0;
}

static inline int wr(const struct ota_nvs_part *p, uint32_t addr,
		     const void *src, size_t len)
{
	return p->flash->write(p->flash_ctx, addr, src, len) ? -EIO : 0;
}

static inline bool all_ff(const uint8_t *b, size_t n)
{
	while (n--)
		if (*b++ != 0xff)
			return false;
	return true;
}

static inline unsigned int ent_state(const uint8_t *bitmap, unsigned int i)
{
	return (bitmap[i / 4] >> (2 * (i % 4))) & 3u;
}

static inline uint32_t header_crc(const uint8_t *h)
{
	return ota_crc32(UINT32_MAX, h + 4, 24);
}

static inline uint32_t entry_crc(const uint8_t *e)
{
	return ota_crc32(ota_crc32(UINT32_MAX, e, 4), e + 8, 24);
}

/** Is @s a valid namespace or key name (1..OTA_NVS_KEY_MAX bytes)? */
bool nvs_name_ok(const char *s);

/** (seq, page, entry) order: true when @a was written after @b. */
bool nvs_newer(const struct ota_nvs_rec *a, const struct ota_nvs_rec *b);

/**
 * Namespace table lookup, by @name or by @index (name NULL); the oldest
 * entry wins, as in ESP-IDF. Fills *@out. 0, -ENOENT, or a walk error.
 */
int nvs_find_ns(const struct ota_nvs_part *p, const char *name, uint8_t index,
		struct ota_nvs_rec *out);

/**
 * The next trusted item @key of namespace @ns in the walk @it, any type.
 * 0, -ENOENT at the end of the walk, or a walk error.
 */
int nvs_next_match(struct ota_nvs_iter *it, uint8_t ns, const char *key,
		   struct ota_nvs_rec *r);

/**
 * The newest trusted SZ item @key in namespace @ns_index into *@out;
 * *@count gets the number of copies, *@other_type whether the key also
 * holds another type. 0, -ENOENT, or a walk error.
 */
int nvs_find_str(const struct ota_nvs_part *p, uint8_t ns_index,
		 const char *key, struct ota_nvs_rec *out, unsigned int *count,
		 bool *other_type);

#endif /* BLEOTA_OTA_ENGINE_NVS_PRIV_H */
