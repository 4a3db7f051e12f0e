/* SPDX-License-Identifier: MIT */
/*
 * Test keys: RSA-3072 (e = 65537) and ECDSA P-256 / P-384 generated with a
 * CTR-DRBG over the system entropy source. Keys live in a static cache
 * until sigkey_free_all().
 */
#include "tests/harness/sigkeys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/rsa.h>

#include "host/imgsign.h"

static mbedtls_pk_context keys[4][SIGKEY_PER_SCHEME];
static bool have[4][SIGKEY_PER_SCHEME];

static void die(const char *what)
{
	fprintf(stderr, "sigkeys: %s\n", what);
	abort();
}

mbedtls_pk_context *sigkey_get(enum ota_sig_scheme scheme, unsigned int idx)
{
	static const char pers[] = "bleota-test-keys";
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context *pk;
	int rc;

	if ((unsigned int)scheme >= 4 || scheme == OTA_SIG_NONE ||
	    idx >= SIGKEY_PER_SCHEME)
		die("bad key request");
	pk = &keys[scheme][idx];
	if (have[scheme][idx])
		return pk;
	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
				  (const unsigned char *)pers, sizeof(pers)))
		die("drbg seed");
	mbedtls_pk_init(pk);
	if (scheme == OTA_SIG_RSA3072) {
		rc = mbedtls_pk_setup(
			pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
		if (!rc)
			rc = mbedtls_rsa_gen_key(mbedtls_pk_rsa(*pk),
						 mbedtls_ctr_drbg_random, &drbg,
						 3072, 65537);
	} else {
		rc = mbedtls_pk_setup(
			pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
		if (!rc)
			rc = mbedtls_ecp_gen_key(
				scheme == OTA_SIG_ECDSA_P256
					? MBEDTLS_ECP_DP_SECP256R1
					: MBEDTLS_ECP_DP_SECP384R1,
				mbedtls_pk_ec(*pk), mbedtls_ctr_drbg_random,
				&drbg);
	}
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
	if (rc)
		die("key generation failed");
	have[scheme][idx] = true;
	return pk;
}

void sigkey_digest(enum ota_sig_scheme scheme, unsigned int idx,
		   uint8_t out[32])
{
	if (imgsign_key_digest(sigkey_get(scheme, idx), out))
		die("key digest");
}

void sigkey_write_pem(mbedtls_pk_context *pk, const char *path,
		      bool private_key)
{
	unsigned char buf[8192];
	FILE *fp;
	int rc = private_key
			 ? mbedtls_pk_write_key_pem(pk, buf, sizeof(buf))
			 : mbedtls_pk_write_pubkey_pem(pk, buf, sizeof(buf));

	if (rc)
		die("PEM export");
	fp = fopen(path, "w");
	if (!fp || fputs((const char *)buf, fp) < 0 || fclose(fp))
		die("cannot write the PEM file");
}

uint8_t *sigkey_sign_image(const uint8_t *img, size_t len,
			   enum ota_sig_scheme scheme, const unsigned int *idx,
			   unsigned int n, size_t *out_len)
{
	mbedtls_pk_context *k[OTA_SIGBLOCK_MAX];
	char err[200];
	uint8_t *out;
	unsigned int i;

	if (n > OTA_SIGBLOCK_MAX)
		die("too many keys");
	for (i = 0; i < n; i++)
		k[i] = sigkey_get(scheme, idx[i]);
	if (imgsign_sign_image(img, len, k, n, &out, out_len, err, sizeof(err)))
		die(err);
	return out;
}

void sigkey_free_all(void)
{
	unsigned int s, i;

	for (s = 0; s < 4; s++)
		for (i = 0; i < SIGKEY_PER_SCHEME; i++)
			if (have[s][i]) {
				mbedtls_pk_free(&keys[s][i]);
				have[s][i] = false;
			}
}
