/* SPDX-License-Identifier: MIT */
/*
 * Secure Boot v2 signing with mbedTLS, following espsecure's output byte
 * for byte in layout: the signed region is the image padded with 0xFF to a
 * 4 KiB boundary; its digest (SHA-256, or SHA-384 for P-384) is signed as
 * a prehashed message; RSA uses PSS with MGF1-SHA-256 and a 32-byte salt.
 * Every number goes into the block little-endian (mbedTLS writes
 * big-endian, so each is reversed). Randomness (PSS salt, ECDSA nonce)
 * comes from a CTR-DRBG seeded by the system entropy source.
 */
#include "host/imgsign.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/entropy.h>
#include <mbedtls/rsa.h>

#include "ota_engine/image.h"

/* Writes @x as exactly @len little-endian bytes. */
static int mpi_le(const mbedtls_mpi *x, uint8_t *out, size_t len)
{
	uint8_t be[OTA_RSA3072_LEN];
	size_t i;

	if (len > sizeof(be) || mbedtls_mpi_write_binary(x, be, len))
		return -EIO;
	for (i = 0; i < len; i++)
		out[i] = be[len - 1 - i];
	return 0;
}

enum ota_sig_scheme imgsign_key_scheme(const mbedtls_pk_context *pk)
{
	mbedtls_pk_type_t t = mbedtls_pk_get_type(pk);
	mbedtls_ecp_group_id gid;

	if (t == MBEDTLS_PK_RSA)
		return mbedtls_pk_get_bitlen(pk) == 8 * OTA_RSA3072_LEN
			       ? OTA_SIG_RSA3072
			       : OTA_SIG_NONE;
	if (t != MBEDTLS_PK_ECKEY && t != MBEDTLS_PK_ECDSA)
		return OTA_SIG_NONE;
	gid = mbedtls_pk_ec(*pk)->grp.id;
	if (gid == MBEDTLS_ECP_DP_SECP256R1)
		return OTA_SIG_ECDSA_P256;
	if (gid == MBEDTLS_ECP_DP_SECP384R1)
		return OTA_SIG_ECDSA_P384;
	return OTA_SIG_NONE;
}

int imgsign_load_key(mbedtls_pk_context *pk, const char *path, bool *is_private)
{
	bool priv = true;
	FILE *fp = fopen(path, "rb");

	/* mbedtls says only "cannot parse": tell a missing file apart */
	if (!fp)
		return -errno;
	fclose(fp);
	if (mbedtls_pk_parse_keyfile(pk, path, NULL)) {
		mbedtls_pk_free(pk);
		mbedtls_pk_init(pk);
		priv = false;
		if (mbedtls_pk_parse_public_keyfile(pk, path))
			return -EBADMSG;
	}
	if (is_private)
		*is_private = priv;
	return imgsign_key_scheme(pk) == OTA_SIG_NONE ? -ENOTSUP : 0;
}

/* RSA: N | e | R^-1 | M'; ECDSA: curve_id | X | Y; returns the length. */
static int key_material(const mbedtls_pk_context *pk, uint8_t *out,
			size_t *out_len)
{
	enum ota_sig_scheme scheme = imgsign_key_scheme(pk);
	size_t n = scheme == OTA_SIG_ECDSA_P384 ? OTA_ECDSA_P384_LEN
						: OTA_ECDSA_P256_LEN;
	int err = 0;

	if (scheme == OTA_SIG_RSA3072) {
		const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
		mbedtls_mpi r, m, w;

		mbedtls_mpi_init(&r);
		mbedtls_mpi_init(&m);
		mbedtls_mpi_init(&w);
		/* R^-1 = 2^6144 mod N; M' = -N^-1 mod 2^32 */
		if (mbedtls_mpi_lset(&r, 1) ||
		    mbedtls_mpi_shift_l(&r, 2 * 8 * OTA_RSA3072_LEN) ||
		    mbedtls_mpi_mod_mpi(&r, &r, &rsa->N) ||
		    mbedtls_mpi_lset(&w, 1) || mbedtls_mpi_shift_l(&w, 32) ||
		    mbedtls_mpi_inv_mod(&m, &rsa->N, &w) ||
		    mbedtls_mpi_sub_mpi(&m, &w, &m) ||
		    mpi_le(&rsa->N, out, OTA_RSA3072_LEN) ||
		    mpi_le(&rsa->E, out + OTA_RSA3072_LEN, 4) ||
		    mpi_le(&r, out + OTA_RSA3072_LEN + 4, OTA_RSA3072_LEN) ||
		    mpi_le(&m, out + 2 * OTA_RSA3072_LEN + 4, 4))
			err = -EIO;
		mbedtls_mpi_free(&w);
		mbedtls_mpi_free(&m);
		mbedtls_mpi_free(&r);
		*out_len = OTA_RSA3072_KEY_LEN;
		return err;
	}
	if (scheme == OTA_SIG_NONE)
		return -ENOTSUP;
	out[0] = scheme == OTA_SIG_ECDSA_P384 ? OTA_ECDSA_P384 : OTA_ECDSA_P256;
	if (mpi_le(&mbedtls_pk_ec(*pk)->Q.X, out + 1, n) ||
	    mpi_le(&mbedtls_pk_ec(*pk)->Q.Y, out + 1 + n, n))
		return -EIO;
	*out_len = 1 + 2 * n;
	return 0;
}

int imgsign_key_digest(const mbedtls_pk_context *pk,
		       uint8_t out[OTA_SHA256_LEN])
{
	uint8_t key[OTA_RSA3072_KEY_LEN];
	struct ota_sha256 sha;
	size_t len;
	int err = key_material(pk, key, &len);

	if (err)
		return err;
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, key, len);
	ota_sha256_final(&sha, out);
	return 0;
}

void imgsign_digest(enum ota_sig_scheme scheme, const uint8_t *buf, size_t len,
		    uint8_t out[OTA_SIGBLOCK_DIGEST_MAX], size_t *out_len)
{
	if (scheme == OTA_SIG_ECDSA_P384) {
		struct ota_sha384 s;

		ota_sha384_init(&s);
		ota_sha384_update(&s, buf, len);
		ota_sha384_final(&s, out);
		*out_len = OTA_SHA384_LEN;
	} else {
		struct ota_sha256 s;

		ota_sha256_init(&s);
		ota_sha256_update(&s, buf, len);
		ota_sha256_final(&s, out);
		*out_len = OTA_SHA256_LEN;
	}
}

int imgsign_make_block(mbedtls_pk_context *pk, const uint8_t *digest,
		       uint8_t out[OTA_SIGBLOCK_LEN])
{
	static const char pers[] = "bleota-imgsign";
	enum ota_sig_scheme scheme = imgsign_key_scheme(pk);
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	size_t klen = 0, dlen, n, off;
	int err = -EIO;

	if (scheme == OTA_SIG_NONE)
		return -ENOTSUP;
	memset(out, 0, OTA_SIGBLOCK_LEN);
	out[0] = OTA_SIGBLOCK_MAGIC;
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
				  (const unsigned char *)pers, sizeof(pers)))
		goto out;
	if (scheme == OTA_SIG_RSA3072) {
		mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
		uint8_t sig[OTA_RSA3072_LEN];
		size_t i;

		out[1] = OTA_SIGBLOCK_VERSION_RSA;
		memcpy(out + 4, digest, OTA_SHA256_LEN);
		if (key_material(pk, out + 36, &klen))
			goto out;
		if (mbedtls_rsa_check_privkey(rsa)) {
			err = -ENOTSUP;
			goto out;
		}
		mbedtls_rsa_set_padding(rsa, MBEDTLS_RSA_PKCS_V21,
					MBEDTLS_MD_SHA256);
		if (mbedtls_rsa_rsassa_pss_sign_ext(
			    rsa, mbedtls_ctr_drbg_random, &drbg,
			    MBEDTLS_MD_SHA256, OTA_SHA256_LEN, digest,
			    OTA_SHA256_LEN, sig))
			goto out;
		for (i = 0; i < sizeof(sig); i++)
			out[36 + OTA_RSA3072_KEY_LEN + i] =
				sig[sizeof(sig) - 1 - i];
	} else {
		mbedtls_ecp_keypair *ec = mbedtls_pk_ec(*pk);
		mbedtls_mpi r, s;

		if (mbedtls_ecp_check_privkey(&ec->grp, &ec->d)) {
			err = -ENOTSUP;
			goto out;
		}

		dlen = scheme == OTA_SIG_ECDSA_P384 ? OTA_SHA384_LEN
						    : OTA_SHA256_LEN;
		n = dlen; /* coordinate size equals the hash size here */
		out[1] = OTA_SIGBLOCK_VERSION_EC;
		out[2] = scheme == OTA_SIG_ECDSA_P384 ? 1 : 0;
		memcpy(out + 4, digest, dlen);
		off = 4 + dlen;
		if (key_material(pk, out + off, &klen))
			goto out;
		mbedtls_mpi_init(&r);
		mbedtls_mpi_init(&s);
		if (mbedtls_ecdsa_sign(&ec->grp, &r, &s, &ec->d, digest, dlen,
				       mbedtls_ctr_drbg_random, &drbg) ||
		    mpi_le(&r, out + off + klen, n) ||
		    mpi_le(&s, out + off + klen + n, n)) {
			mbedtls_mpi_free(&s);
			mbedtls_mpi_free(&r);
			goto out;
		}
		mbedtls_mpi_free(&s);
		mbedtls_mpi_free(&r);
	}
	ota_sigblock_seal(out);
	err = 0;
out:
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	return err;
}

int imgsign_sign_image(const uint8_t *img, size_t len,
		       mbedtls_pk_context *const *keys, unsigned int nkeys,
		       uint8_t **out, size_t *out_len, char *err, size_t cap)
{
	static struct ota_image_verify v;
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ANY };
	uint8_t digest[OTA_SIGBLOCK_DIGEST_MAX];
	enum ota_sig_scheme scheme;
	char text[160];
	size_t region, dlen;
	unsigned int i;
	uint8_t *buf;
	int rc;

	if (!nkeys || nkeys > OTA_SIGBLOCK_MAX) {
		snprintf(err, cap, "give 1 to %u keys", OTA_SIGBLOCK_MAX);
		return -EINVAL;
	}
	scheme = imgsign_key_scheme(keys[0]);
	for (i = 0; i < nkeys; i++) {
		if (imgsign_key_scheme(keys[i]) != scheme) {
			snprintf(err, cap,
				 "all keys of one image must use the same "
				 "scheme (%s and %s given)",
				 ota_sig_scheme_name(scheme),
				 ota_sig_scheme_name(
					 imgsign_key_scheme(keys[i])));
			return -EINVAL;
		}
	}
	ota_image_verify_init(&v, &cfg);
	if (ota_image_verify_update(&v, img, len) ||
	    ota_image_verify_final(&v)) {
		snprintf(err, cap, "not a valid app image: %s",
			 ota_image_describe(&v, text, sizeof(text)));
		return -EINVAL;
	}
	region = ota_sigblock_sector_offset(v.info.image_len);
	buf = malloc(region + OTA_SIGBLOCK_SECTOR_LEN);
	if (!buf) {
		snprintf(err, cap, "out of memory");
		return -ENOMEM;
	}
	memset(buf, 0xff, region + OTA_SIGBLOCK_SECTOR_LEN);
	memcpy(buf, img, v.info.image_len);
	imgsign_digest(scheme, buf, region, digest, &dlen);
	for (i = 0; i < nkeys; i++) {
		rc = imgsign_make_block(keys[i], digest,
					buf + region + i * OTA_SIGBLOCK_LEN);
		if (rc) {
			snprintf(err, cap, "key %u: %s", i + 1,
				 rc == -ENOTSUP ? "not a private key of a "
						  "supported type"
						: "signing failed");
			free(buf);
			return rc;
		}
	}
	*out = buf;
	*out_len = region + OTA_SIGBLOCK_SECTOR_LEN;
	return 0;
}
