/* SPDX-License-Identifier: MIT */
/*
 * The local cache of images bleota push has delivered, so a later push can
 * send a delta against what the device runs. One file per image, named by
 * its ESP-IDF validation hash (the appended SHA-256, what a device reports
 * as INFO RUN_SHA256): DIR/<64 hex digits>.bin. A lookup re-hashes the
 * file, so a damaged or foreign file is never used as a base. The cache
 * is bounded in bytes: after a store, the least recently used images
 * (file mtime, refreshed on every hit) go until the total fits.
 *
 * Where: --image-cache DIR, else $BLEOTA_IMAGE_CACHE, else
 * $XDG_CACHE_HOME/bleota/images, else ~/.cache/bleota/images. "off" (or
 * --no-image-cache) disables it. Bound: $BLEOTA_IMAGE_CACHE_MAX ("64M",
 * "512K", bytes; default 64 MiB; 0 disables).
 */
#ifndef BLEOTA_CENTRAL_IMGCACHE_H
#define BLEOTA_CENTRAL_IMGCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMGCACHE_DEFAULT_MAX (64ull * 1024 * 1024)

struct imgcache {
	bool off;
	char dir[1024];
	uint64_t max_bytes;
};

/**
 * imgcache_open() - resolve where the cache is (see the file comment).
 * @dir: --image-cache DIR, or NULL; @disable: --no-image-cache.
 * Nothing is created yet. Return: 0; -EINVAL for a bad
 * BLEOTA_IMAGE_CACHE_MAX (then @c is off).
 */
int imgcache_open(struct imgcache *c, const char *dir, bool disable);

/**
 * imgcache_get() - the cached image whose validation hash is @sha, malloc'd,
 * its length in *@len; NULL if the cache is off, has no such file, or the
 * file does not hash to @sha. A hit refreshes the file's mtime.
 */
uint8_t *imgcache_get(const struct imgcache *c, const uint8_t sha[32],
		      size_t *len);

/**
 * imgcache_put() - store @img (an app image, signed or not) under its
 * validation hash, atomically (temporary file, then rename), then evict
 * the least recently used images until the cache fits its bound. An image
 * larger than the bound is not stored.
 * Return: 0 (also when off or too large); -errno on a file error.
 */
int imgcache_put(const struct imgcache *c, const uint8_t *img, size_t len);

/** imgcache_path() - the file an image with hash @sha would have. */
void imgcache_path(const struct imgcache *c, const uint8_t sha[32], char *out,
		   size_t cap);

#endif /* BLEOTA_CENTRAL_IMGCACHE_H */
