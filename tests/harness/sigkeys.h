/* SPDX-License-Identifier: MIT */
/*
 * Signing keys for tests, generated at run time with mbedTLS (never
 * committed): one cached key per (scheme, index), so a test binary pays
 * for each RSA-3072 key generation once. PEM export for the CLI tests.
 */
#ifndef BLEOTA_TESTS_HARNESS_SIGKEYS_H
#define BLEOTA_TESTS_HARNESS_SIGKEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mbedtls/pk.h>

#include "ota_engine/sigblock.h"

#define SIGKEY_PER_SCHEME 2u

/** Key @idx (< SIGKEY_PER_SCHEME) of @scheme; generated on first use. */
mbedtls_pk_context *sigkey_get(enum ota_sig_scheme scheme, unsigned int idx);

/** Key digest of sigkey_get(@scheme, @idx), as IDF computes it. */
void sigkey_digest(enum ota_sig_scheme scheme, unsigned int idx,
		   uint8_t out[32]);

/** Write the key as PEM (private or public part) to @path. */
void sigkey_write_pem(mbedtls_pk_context *pk, const char *path,
		      bool private_key);

/**
 * Sign @img with sigkey_get(@scheme, idx[i]) for i < @n (imgsign). Returns
 * the malloc'd signed image (padded region + signature sector).
 */
uint8_t *sigkey_sign_image(const uint8_t *img, size_t len,
			   enum ota_sig_scheme scheme, const unsigned int *idx,
			   unsigned int n, size_t *out_len);

/** Free every cached key (end of a test binary). */
void sigkey_free_all(void);

#endif /* BLEOTA_TESTS_HARNESS_SIGKEYS_H */
