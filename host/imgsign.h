/* SPDX-License-Identifier: MIT */
/*
 * Host-side Secure Boot v2 signing (bleota image sign / info / verify):
 * PEM keys through mbedTLS, the key material exactly as a signature block
 * stores it, block construction and whole-image signing. The device side
 * only parses and verifies (ota_engine/sigblock.h).
 */
#ifndef BLEOTA_HOST_IMGSIGN_H
#define BLEOTA_HOST_IMGSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "ota_engine/sigblock.h"

/**
 * Load a PEM (or DER) key: a private key if @path holds one, else a public
 * key. *@is_private (may be NULL) says which. Only RSA-3072 and ECDSA
 * P-256/P-384 keys are accepted. @pk must be mbedtls_pk_init()ed; the
 * caller frees it. Returns 0, -errno when @path cannot be opened (-ENOENT,
 * -EACCES, ...), -EBADMSG when it holds no PEM or DER key, -ENOTSUP for
 * another key type or size.
 */
/* What to tell a user whose key file holds no key (-EBADMSG). */
#define IMGSIGN_NOT_A_KEY                                             \
	"not a PEM or DER key (make one with 'openssl ecparam -name " \
	"prime256v1 -genkey -noout -out KEY.pem', or espsecure.py "   \
	"generate_signing_key)"

int imgsign_load_key(mbedtls_pk_context *pk, const char *path,
		     bool *is_private);

/** Scheme of a loaded key, or OTA_SIG_NONE for an unsupported key. */
enum ota_sig_scheme imgsign_key_scheme(const mbedtls_pk_context *pk);

/**
 * The key's digest as IDF computes it: SHA-256 of the block's key part
 * (RSA: N, e, R^-1, M'; ECDSA: curve_id, X, Y, little-endian).
 * Returns 0 or -ENOTSUP.
 */
int imgsign_key_digest(const mbedtls_pk_context *pk,
		       uint8_t out[OTA_SHA256_LEN]);

/**
 * Digest a signature of @scheme covers: SHA-256, or SHA-384 for P-384,
 * of @len bytes of @buf. Writes *@out_len bytes (32 or 48) to @out.
 */
void imgsign_digest(enum ota_sig_scheme scheme, const uint8_t *buf, size_t len,
		    uint8_t out[OTA_SIGBLOCK_DIGEST_MAX], size_t *out_len);

/**
 * Build one signature block over @digest (of the scheme's length) with the
 * private key @pk: layout, signature (RSA-PSS salt 32 / ECDSA), CRC, zero
 * padding. Returns 0, -ENOTSUP (not a private RSA-3072/P-256/P-384 key),
 * -EIO (mbedTLS failure).
 */
int imgsign_make_block(mbedtls_pk_context *pk, const uint8_t *digest,
		       uint8_t out[OTA_SIGBLOCK_LEN]);

/**
 * Sign the app image @img (@len bytes; anything after its image_len, such
 * as padding or an old signature sector, is dropped): pad with 0xFF to
 * ALIGN_UP(image_len, 4096), then append a 4 KiB signature sector with
 * one block per key (1..3 keys, all of one scheme). On success *@out is a
 * malloc'd buffer of *@out_len bytes (free() it). On failure writes a
 * one-line reason to @err and returns -EINVAL (not a valid image, too many
 * keys, mixed schemes), -ENOTSUP (key), -ENOMEM or -EIO.
 */
int imgsign_sign_image(const uint8_t *img, size_t len,
		       mbedtls_pk_context *const *keys, unsigned int nkeys,
		       uint8_t **out, size_t *out_len, char *err, size_t cap);

#endif /* BLEOTA_HOST_IMGSIGN_H */
