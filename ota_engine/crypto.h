/* SPDX-License-Identifier: MIT */
/*
 * Crypto interface of the engine: SHA-256 (image hash), SHA-384 (the digest
 * an ECDSA P-384 signature block signs), MD5 (partition table checksum) over
 * caller-provided contexts, and verification of Secure Boot v2 signatures
 * over the raw material of a signature block. One backend is linked in; on
 * Linux that is crypto_mbedtls.c. A port supplies its own (ROM SHA, ROM
 * ets_rsa_pss_verify / ets_ecdsa_verify, etc.) as long as its state fits
 * the opaque storage below.
 */
#ifndef BLEOTA_OTA_ENGINE_CRYPTO_H
#define BLEOTA_OTA_ENGINE_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define OTA_SHA256_LEN 32
#define OTA_MD5_LEN    16
#define OTA_SHA384_LEN 48

/* Signature material as a Secure Boot v2 block stores it (little-endian) */
#define OTA_RSA3072_LEN     384u /* modulus, R^-1 and signature */
#define OTA_RSA3072_KEY_LEN 776u /* N(384) | e(4) | R^-1(384) | M'(4) */
#define OTA_ECDSA_P256_LEN  32u  /* one coordinate, r or s */
#define OTA_ECDSA_P384_LEN  48u

/* Treat as opaque; sized for the host backends' contexts (build-checked). */
struct ota_sha256 {
	uint64_t opaque[16];
};

struct ota_md5 {
	uint64_t opaque[12];
};

struct ota_sha384 {
	uint64_t opaque[28];
};

/** Curves of ECDSA signature blocks (the block's curve_id byte). */
enum ota_ecdsa_curve {
	OTA_ECDSA_P256 = 2,
	OTA_ECDSA_P384 = 3,
};

/** Start a SHA-256 computation. Never fails. */
void ota_sha256_init(struct ota_sha256 *ctx);
/** Hash @len more bytes. */
void ota_sha256_update(struct ota_sha256 *ctx, const void *data, size_t len);
/** Write the digest to @out; the context must be re-initialised to reuse. */
void ota_sha256_final(struct ota_sha256 *ctx, uint8_t out[OTA_SHA256_LEN]);
/**
 * Copy a running computation (@dst need not be initialised). The engine
 * finishes a copy to read a prefix digest without hashing the bytes twice.
 */
void ota_sha256_clone(struct ota_sha256 *dst, const struct ota_sha256 *src);

/** Start an MD5 computation (partition table checksum only). */
void ota_md5_init(struct ota_md5 *ctx);
/** Hash @len more bytes. */
void ota_md5_update(struct ota_md5 *ctx, const void *data, size_t len);
/** Write the digest to @out; re-initialise to reuse. */
void ota_md5_final(struct ota_md5 *ctx, uint8_t out[OTA_MD5_LEN]);

/** Start a SHA-384 computation. Never fails. */
void ota_sha384_init(struct ota_sha384 *ctx);
/** Hash @len more bytes. */
void ota_sha384_update(struct ota_sha384 *ctx, const void *data, size_t len);
/** Write the digest to @out; re-initialise to reuse. */
void ota_sha384_final(struct ota_sha384 *ctx, uint8_t out[OTA_SHA384_LEN]);

/**
 * Verify an RSA-3072 RSASSA-PSS signature (SHA-256, MGF1-SHA-256, salt
 * length exactly 32, trailer 0xBC) over the prehashed @digest, as ESP-IDF
 * Secure Boot v2 does.
 * @key: the block's key material, OTA_RSA3072_KEY_LEN bytes: modulus N
 *       little-endian, e as u32 LE, R^-1 = 2^6144 mod N little-endian and
 *       M' = -N^-1 mod 2^32 as u32 LE. R^-1 and M' (which the ROM's
 *       Montgomery hardware uses) must be consistent with N.
 * @sig_le: the 384-byte signature, byte-reversed (little-endian).
 * All buffers are borrowed. Returns 0 if the signature verifies, -EBADMSG
 * if it does not, -EINVAL for malformed key material (N not 3072 bits,
 * even, R^-1 or M' inconsistent), -ENOMEM.
 */
int ota_crypto_verify_rsa3072_pss(const uint8_t *key,
				  const uint8_t digest[OTA_SHA256_LEN],
				  const uint8_t *sig_le);

/**
 * Verify an ECDSA signature over the prehashed @digest (@digest_len 32 for
 * P-256 with SHA-256, 48 for P-384 with SHA-384).
 * @xy_le: public point, X then Y, each coordinate little-endian
 *         (2 * 32 or 2 * 48 bytes); @rs_le: r then s, each little-endian.
 * Returns 0 if it verifies, -EBADMSG if not, -EINVAL (unknown curve, wrong
 * digest length, point not on the curve), -ENOMEM.
 */
int ota_crypto_verify_ecdsa(enum ota_ecdsa_curve curve, const uint8_t *xy_le,
			    const uint8_t *digest, size_t digest_len,
			    const uint8_t *rs_le);

#endif /* BLEOTA_OTA_ENGINE_CRYPTO_H */
