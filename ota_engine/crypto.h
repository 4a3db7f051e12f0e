/* SPDX-License-Identifier: MIT */
/*
 * Crypto interface of the engine: SHA-256 (image hash) and MD5 (partition
 * table checksum) over caller-provided contexts. One backend is linked in;
 * on Linux that is crypto_mbedtls.c. A port supplies its own (ROM SHA, etc.)
 * as long as its state fits the opaque storage below.
 */
#ifndef BLEOTA_OTA_ENGINE_CRYPTO_H
#define BLEOTA_OTA_ENGINE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define OTA_SHA256_LEN 32
#define OTA_MD5_LEN    16

/* Treat as opaque; sized for mbedTLS 2.x contexts (checked at build time). */
struct ota_sha256 {
	uint64_t opaque[16];
};

struct ota_md5 {
	uint64_t opaque[12];
};

/** Start a SHA-256 computation. Never fails. */
void ota_sha256_init(struct ota_sha256 *ctx);
/** Hash @len more bytes. */
void ota_sha256_update(struct ota_sha256 *ctx, const void *data, size_t len);
/** Write the digest to @out; the context must be re-initialised to reuse. */
void ota_sha256_final(struct ota_sha256 *ctx, uint8_t out[OTA_SHA256_LEN]);

/** Start an MD5 computation (partition table checksum only). */
void ota_md5_init(struct ota_md5 *ctx);
/** Hash @len more bytes. */
void ota_md5_update(struct ota_md5 *ctx, const void *data, size_t len);
/** Write the digest to @out; re-initialise to reuse. */
void ota_md5_final(struct ota_md5 *ctx, uint8_t out[OTA_MD5_LEN]);

#endif /* BLEOTA_OTA_ENGINE_CRYPTO_H */
