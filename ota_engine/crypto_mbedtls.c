/* SPDX-License-Identifier: MIT */
/*
 * mbedTLS backend of crypto.h, except SHA-256, which comes from Nettle: the
 * one hash every image byte goes through, on the host (the manifest) and on
 * the simulated device (FINISH's digest). Debian 12's mbedTLS 2.28 hashes in
 * portable C (~170 MB/s on an x86-64 server core); Nettle picks the CPU's
 * SHA extensions at run time (x86 SHA-NI: ~670 MB/s for 240-byte updates,
 * docs/performance.md section 3.3). A device supplies its own (ESP32's SHA
 * accelerator). The opaque context storage holds the library's context
 * directly; the static asserts keep that honest. mbedTLS 2.28's
 * *_ret functions only fail on hardware-accelerated ports, never in the
 * software implementation, so their results are ignored.
 *
 * Signature verification. Secure Boot v2 blocks store every big number
 * little-endian (the ROM's layout); mbedTLS reads big-endian, so each
 * number is byte-reversed into a local buffer before import. RSA-PSS is
 * checked with the salt length fixed at 32, as espsecure signs and IDF
 * verifies. The ROM's Montgomery constants R^-1 and M' are recomputed from
 * N and compared, since a block whose constants disagree with N would not
 * verify on a chip even if the plain RSA check passed. mbedTLS allocates
 * its bignums on the heap here: this host backend of the crypto interface
 * is the one part of ota_engine/ allowed to (make size leaves it out; a
 * device supplies its ROM or hardware routines instead).
 */
#include "ota_engine/crypto.h"

#include <errno.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md5.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha512.h>
#include <nettle/sha2.h>

#include "common/bytes.h"

_Static_assert(sizeof(struct sha256_ctx) <= sizeof(struct ota_sha256),
	       "struct ota_sha256 too small for Nettle's sha256_ctx");
_Static_assert(sizeof(mbedtls_md5_context) <= sizeof(struct ota_md5),
	       "struct ota_md5 too small for mbedtls_md5_context");
_Static_assert(sizeof(mbedtls_sha512_context) <= sizeof(struct ota_sha384),
	       "struct ota_sha384 too small for mbedtls_sha512_context");

void ota_sha256_init(struct ota_sha256 *ctx)
{
	sha256_init((struct sha256_ctx *)ctx->opaque);
}

void ota_sha256_update(struct ota_sha256 *ctx, const void *data, size_t len)
{
	sha256_update((struct sha256_ctx *)ctx->opaque, len, data);
}

void ota_sha256_final(struct ota_sha256 *ctx, uint8_t out[OTA_SHA256_LEN])
{
	sha256_digest((struct sha256_ctx *)ctx->opaque, OTA_SHA256_LEN, out);
}

void ota_sha256_clone(struct ota_sha256 *dst, const struct ota_sha256 *src)
{
	*dst = *src; /* Nettle's context holds no pointers */
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

void ota_sha384_init(struct ota_sha384 *ctx)
{
	mbedtls_sha512_context *c = (mbedtls_sha512_context *)ctx->opaque;

	mbedtls_sha512_init(c);
	(void)mbedtls_sha512_starts_ret(c, 1);
}

void ota_sha384_update(struct ota_sha384 *ctx, const void *data, size_t len)
{
	(void)mbedtls_sha512_update_ret((mbedtls_sha512_context *)ctx->opaque,
					data, len);
}

void ota_sha384_final(struct ota_sha384 *ctx, uint8_t out[OTA_SHA384_LEN])
{
	mbedtls_sha512_context *c = (mbedtls_sha512_context *)ctx->opaque;
	uint8_t full[64];

	/* SHA-384 output is written into a 64-byte buffer by mbedTLS 2.x */
	(void)mbedtls_sha512_finish_ret(c, full);
	memcpy(out, full, OTA_SHA384_LEN);
	mbedtls_sha512_free(c);
}

static void reverse(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = src[len - 1 - i];
}

/* -N^-1 mod 2^32 by Newton's iteration (each step doubles the bits). */
static uint32_t mont_m_prime(uint32_t n0)
{
	uint32_t inv = n0;
	int i;

	for (i = 0; i < 5; i++)
		inv *= 2u - n0 * inv;
	return (uint32_t)(0u - inv);
}

/* R^-1 = 2^(2 * 3072) mod N and M' must be what the ROM would derive. */
static int check_montgomery(const mbedtls_mpi *n, const uint8_t *key)
{
	uint8_t be[OTA_RSA3072_LEN], le[OTA_RSA3072_LEN];
	mbedtls_mpi r;
	int err = -EINVAL;

	mbedtls_mpi_init(&r);
	if (mbedtls_mpi_lset(&r, 1) ||
	    mbedtls_mpi_shift_l(&r, 2 * 8 * OTA_RSA3072_LEN) ||
	    mbedtls_mpi_mod_mpi(&r, &r, n) ||
	    mbedtls_mpi_write_binary(&r, be, sizeof(be))) {
		err = -ENOMEM;
		goto out;
	}
	reverse(le, be, sizeof(le));
	if (memcmp(le, key + OTA_RSA3072_LEN + 4, OTA_RSA3072_LEN))
		goto out;
	if (ota_get_le32(key + 2 * OTA_RSA3072_LEN + 4) !=
	    mont_m_prime(ota_get_le32(key)))
		goto out;
	err = 0;
out:
	mbedtls_mpi_free(&r);
	return err;
}

int ota_crypto_verify_rsa3072_pss(const uint8_t *key,
				  const uint8_t digest[OTA_SHA256_LEN],
				  const uint8_t *sig_le)
{
	uint8_t n_be[OTA_RSA3072_LEN], sig_be[OTA_RSA3072_LEN], e_be[4];
	mbedtls_rsa_context rsa;
	int err;

	reverse(n_be, key, OTA_RSA3072_LEN);
	reverse(e_be, key + OTA_RSA3072_LEN, 4);
	reverse(sig_be, sig_le, OTA_RSA3072_LEN);
	/* an even modulus has no Montgomery form: not a key */
	if (!(key[0] & 1) || !(n_be[0] & 0x80))
		return -EINVAL;
	mbedtls_rsa_init(&rsa, MBEDTLS_RSA_PKCS_V21, MBEDTLS_MD_SHA256);
	if (mbedtls_rsa_import_raw(&rsa, n_be, sizeof(n_be), NULL, 0, NULL, 0,
				   NULL, 0, e_be, sizeof(e_be)) ||
	    mbedtls_rsa_complete(&rsa) || mbedtls_rsa_check_pubkey(&rsa)) {
		err = -EINVAL;
		goto out;
	}
	err = check_montgomery(&rsa.N, key);
	if (err)
		goto out;
	if (mbedtls_rsa_rsassa_pss_verify_ext(
		    &rsa, NULL, NULL, MBEDTLS_RSA_PUBLIC, MBEDTLS_MD_SHA256,
		    OTA_SHA256_LEN, digest, MBEDTLS_MD_SHA256, OTA_SHA256_LEN,
		    sig_be))
		err = -EBADMSG;
out:
	mbedtls_rsa_free(&rsa);
	return err;
}

int ota_crypto_verify_ecdsa(enum ota_ecdsa_curve curve, const uint8_t *xy_le,
			    const uint8_t *digest, size_t digest_len,
			    const uint8_t *rs_le)
{
	uint8_t pt[1 + 2 * OTA_ECDSA_P384_LEN], be[OTA_ECDSA_P384_LEN];
	mbedtls_ecp_group_id gid;
	mbedtls_ecp_group grp;
	mbedtls_ecp_point q;
	mbedtls_mpi r, s;
	size_t n;
	int err = -EINVAL;

	switch (curve) {
	case OTA_ECDSA_P256:
		gid = MBEDTLS_ECP_DP_SECP256R1;
		n = OTA_ECDSA_P256_LEN;
		break;
	case OTA_ECDSA_P384:
		gid = MBEDTLS_ECP_DP_SECP384R1;
		n = OTA_ECDSA_P384_LEN;
		break;
	default:
		return -EINVAL;
	}
	/* the hash matches the curve: SHA-256 for P-256, SHA-384 for P-384 */
	if (digest_len != n)
		return -EINVAL;
	mbedtls_ecp_group_init(&grp);
	mbedtls_ecp_point_init(&q);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	/* uncompressed SEC1 point: 0x04 | X big-endian | Y big-endian */
	pt[0] = 0x04;
	reverse(pt + 1, xy_le, n);
	reverse(pt + 1 + n, xy_le + n, n);
	if (mbedtls_ecp_group_load(&grp, gid) ||
	    mbedtls_ecp_point_read_binary(&grp, &q, pt, 1 + 2 * n) ||
	    mbedtls_ecp_check_pubkey(&grp, &q))
		goto out;
	reverse(be, rs_le, n);
	if (mbedtls_mpi_read_binary(&r, be, n)) {
		err = -ENOMEM;
		goto out;
	}
	reverse(be, rs_le + n, n);
	if (mbedtls_mpi_read_binary(&s, be, n)) {
		err = -ENOMEM;
		goto out;
	}
	err = mbedtls_ecdsa_verify(&grp, digest, digest_len, &q, &r, &s)
		      ? -EBADMSG
		      : 0;
out:
	mbedtls_mpi_free(&s);
	mbedtls_mpi_free(&r);
	mbedtls_ecp_point_free(&q);
	mbedtls_ecp_group_free(&grp);
	return err;
}
