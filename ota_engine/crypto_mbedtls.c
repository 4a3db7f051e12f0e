/* SPDX-License-Identifier: MIT */
/*
 * mbedTLS backend of crypto.h. The opaque context storage holds the mbedTLS
 * context directly; the static asserts keep that honest. mbedTLS 2.28's
 * *_ret functions only fail on hardware-accelerated ports, never in the
 * software implementation, so their results are ignored.
 */
#include "ota_engine/crypto.h"

#include <mbedtls/md5.h>
#include <mbedtls/sha256.h>

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(struct ota_sha256),
	       "struct ota_sha256 too small for mbedtls_sha256_context");
_Static_assert(sizeof(mbedtls_md5_context) <= sizeof(struct ota_md5),
	       "struct ota_md5 too small for mbedtls_md5_context");

void ota_sha256_init(struct ota_sha256 *ctx)
{
	mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx->opaque;

	mbedtls_sha256_init(c);
	(void)mbedtls_sha256_starts_ret(c, 0);
}

void ota_sha256_update(struct ota_sha256 *ctx, const void *data, size_t len)
{
	(void)mbedtls_sha256_update_ret((mbedtls_sha256_context *)ctx->opaque,
					data, len);
}

void ota_sha256_final(struct ota_sha256 *ctx, uint8_t out[OTA_SHA256_LEN])
{
	mbedtls_sha256_context *c = (mbedtls_sha256_context *)ctx->opaque;

	(void)mbedtls_sha256_finish_ret(c, out);
	mbedtls_sha256_free(c);
}

void ota_md5_init(struct ota_md5 *ctx)
{
	mbedtls_md5_context *c = (mbedtls_md5_context *)ctx->opaque;

	mbedtls_md5_init(c);
	(void)mbedtls_md5_starts_ret(c);
}

void ota_md5_update(struct ota_md5 *ctx, const void *data, size_t len)
{
	(void)mbedtls_md5_update_ret((mbedtls_md5_context *)ctx->opaque, data,
				     len);
}

void ota_md5_final(struct ota_md5 *ctx, uint8_t out[OTA_MD5_LEN])
{
	mbedtls_md5_context *c = (mbedtls_md5_context *)ctx->opaque;

	(void)mbedtls_md5_finish_ret(c, out);
	mbedtls_md5_free(c);
}
