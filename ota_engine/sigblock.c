/* SPDX-License-Identifier: MIT */
/*
 * Secure Boot v2 signature blocks (esp-idf-formats.md section 5).
 *
 * Block layouts, all 1216 bytes, CRC over [0, 1196) at 1196:
 *
 *   RSA-3072 (version 2)      ECDSA P-256 (3)         ECDSA P-384 (3)
 *   0    magic E7             0    magic E7           0    magic E7
 *   1    version 02           1    version 03         1    version 03
 *   4    SHA-256 (32)         2    sha_version 0      2    sha_version 1
 *   36   N LE (384)           4    SHA-256 (32)       4    SHA-384 (48)
 *   420  e u32 LE             36   curve_id 2         52   curve_id 3
 *   424  R^-1 LE (384)        37   X | Y LE (64)      53   X | Y LE (96)
 *   808  M' u32 LE            101  r | s LE (64)      149  r | s LE (96)
 *   812  signature LE (384)
 *
 * The key digest (what eFuse holds, or the running app's trust anchor) is
 * SHA-256 over the key part: [36, 812), [36, 101) or [52, 149); for ECDSA
 * that includes the curve_id byte. Parsing only validates structure; the
 * signature is checked by ota_sigblock_verify() through crypto.h.
 */
#include "ota_engine/sigblock.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/crc32.h"

#define RSA_DIGEST_OFF 4u
#define RSA_KEY_OFF    36u
#define RSA_SIG_OFF    812u
#define EC_SHA_VER_OFF 2u
#define EC_DIGEST_OFF  4u

_Static_assert(RSA_KEY_OFF + OTA_RSA3072_KEY_LEN == RSA_SIG_OFF,
	       "RSA key material ends where the signature starts");
_Static_assert(RSA_SIG_OFF + OTA_RSA3072_LEN == OTA_SIGBLOCK_CRC_LEN,
	       "RSA signature ends at the CRC");

const char *ota_sig_scheme_name(enum ota_sig_scheme s)
{
	switch (s) {
	case OTA_SIG_NONE:
		return "none";
	case OTA_SIG_RSA3072:
		return "RSA-3072";
	case OTA_SIG_ECDSA_P256:
		return "ECDSA-P256";
	case OTA_SIG_ECDSA_P384:
		return "ECDSA-P384";
	}
	return "unknown";
}

const char *ota_sigblock_strerror(enum ota_sigblock_err err)
{
	switch (err) {
	case OTA_SIGBLOCK_OK:
		return "valid";
	case OTA_SIGBLOCK_ERR_ABSENT:
		return "no block";
	case OTA_SIGBLOCK_ERR_TRUNCATED:
		return "truncated block";
	case OTA_SIGBLOCK_ERR_MAGIC:
		return "bad block magic";
	case OTA_SIGBLOCK_ERR_CRC:
		return "block CRC mismatch";
	case OTA_SIGBLOCK_ERR_SCHEME:
		return "unsupported signature scheme";
	}
	return "unknown";
}

static bool all_ff(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++ != 0xff)
			return false;
	return true;
}

/* Fills the scheme-dependent views; false for an unknown scheme. */
static bool layout(const uint8_t *raw, struct ota_sigblock *out)
{
	size_t n, off;

	if (raw[1] == OTA_SIGBLOCK_VERSION_RSA) {
		out->scheme = OTA_SIG_RSA3072;
		out->digest = raw + RSA_DIGEST_OFF;
		out->digest_len = OTA_SHA256_LEN;
		out->key = raw + RSA_KEY_OFF;
		out->key_len = OTA_RSA3072_KEY_LEN;
		out->sig = raw + RSA_SIG_OFF;
		out->sig_len = OTA_RSA3072_LEN;
		return true;
	}
	if (raw[1] != OTA_SIGBLOCK_VERSION_EC)
		return false;
	/* the curve_id follows the digest, whose size sha_version gives */
	if (raw[EC_SHA_VER_OFF] == 0 &&
	    raw[EC_DIGEST_OFF + OTA_SHA256_LEN] == OTA_ECDSA_P256) {
		out->scheme = OTA_SIG_ECDSA_P256;
		out->digest_len = OTA_SHA256_LEN;
		n = OTA_ECDSA_P256_LEN;
	} else if (raw[EC_SHA_VER_OFF] == 1 &&
		   raw[EC_DIGEST_OFF + OTA_SHA384_LEN] == OTA_ECDSA_P384) {
		out->scheme = OTA_SIG_ECDSA_P384;
		out->digest_len = OTA_SHA384_LEN;
		n = OTA_ECDSA_P384_LEN;
	} else {
		return false;
	}
	off = EC_DIGEST_OFF + out->digest_len;
	out->digest = raw + EC_DIGEST_OFF;
	out->key = raw + off; /* curve_id | X | Y */
	out->key_len = 1 + 2 * n;
	out->sig = raw + off + out->key_len;
	out->sig_len = 2 * n;
	return true;
}

void ota_sigblock_seal(uint8_t raw[OTA_SIGBLOCK_LEN])
{
	uint32_t crc = ota_crc32(0, raw, OTA_SIGBLOCK_CRC_LEN);

	raw[OTA_SIGBLOCK_CRC_LEN] = (uint8_t)crc;
	raw[OTA_SIGBLOCK_CRC_LEN + 1] = (uint8_t)(crc >> 8);
	raw[OTA_SIGBLOCK_CRC_LEN + 2] = (uint8_t)(crc >> 16);
	raw[OTA_SIGBLOCK_CRC_LEN + 3] = (uint8_t)(crc >> 24);
}

int ota_sigblock_parse(const uint8_t *raw, size_t len, struct ota_sigblock *out)
{
	struct ota_sha256 sha;

	memset(out, 0, sizeof(*out));
	if (!raw || len < OTA_SIGBLOCK_LEN) {
		out->err = raw && len && !all_ff(raw, len)
				   ? OTA_SIGBLOCK_ERR_TRUNCATED
				   : OTA_SIGBLOCK_ERR_ABSENT;
		return -EILSEQ;
	}
	out->raw = raw;
	if (all_ff(raw, OTA_SIGBLOCK_LEN))
		out->err = OTA_SIGBLOCK_ERR_ABSENT;
	else if (raw[0] != OTA_SIGBLOCK_MAGIC)
		out->err = OTA_SIGBLOCK_ERR_MAGIC;
	else if (ota_get_le32(raw + OTA_SIGBLOCK_CRC_LEN) !=
		 ota_crc32(0, raw, OTA_SIGBLOCK_CRC_LEN))
		out->err = OTA_SIGBLOCK_ERR_CRC;
	else if (!layout(raw, out))
		out->err = OTA_SIGBLOCK_ERR_SCHEME;
	if (out->err) {
		out->scheme = OTA_SIG_NONE;
		return -EILSEQ;
	}
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, out->key, out->key_len);
	ota_sha256_final(&sha, out->key_digest);
	return 0;
}

unsigned int
ota_sigblock_parse_sector(const uint8_t *sector, size_t len,
			  struct ota_sigblock out[OTA_SIGBLOCK_MAX])
{
	unsigned int i, valid = 0;

	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		size_t start = (size_t)i * OTA_SIGBLOCK_LEN;
		size_t n = len > start ? len - start : 0;

		if (!ota_sigblock_parse(n ? sector + start : NULL, n, &out[i]))
			valid++;
	}
	return valid;
}

int ota_sigblock_verify(const struct ota_sigblock *b)
{
	switch (b->scheme) {
	case OTA_SIG_RSA3072:
		return ota_crypto_verify_rsa3072_pss(b->key, b->digest, b->sig);
	case OTA_SIG_ECDSA_P256:
		return ota_crypto_verify_ecdsa(OTA_ECDSA_P256, b->key + 1,
					       b->digest, b->digest_len,
					       b->sig);
	case OTA_SIG_ECDSA_P384:
		return ota_crypto_verify_ecdsa(OTA_ECDSA_P384, b->key + 1,
					       b->digest, b->digest_len,
					       b->sig);
	case OTA_SIG_NONE:
		break;
	}
	return -EINVAL;
}
