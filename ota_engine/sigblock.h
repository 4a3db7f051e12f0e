/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF Secure Boot v2 signature sector: the 4 KiB sector placed at
 * ALIGN_UP(image_len, 4096) after a signed app, holding up to three
 * 1216-byte signature blocks (RSA-3072-PSS, ECDSA P-256 or P-384), the
 * rest 0xFF. Pure: parses caller buffers, no flash, no allocation; key
 * digests through crypto.h. Layout: docs/ota-engine.md, "Signatures".
 */
#ifndef BLEOTA_OTA_ENGINE_SIGBLOCK_H
#define BLEOTA_OTA_ENGINE_SIGBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/crypto.h"

#define OTA_SIGBLOCK_LEN         1216u
#define OTA_SIGBLOCK_CRC_LEN     1196u /* CRC covers [0, 1196) */
#define OTA_SIGBLOCK_MAX         3u
#define OTA_SIGBLOCK_SECTOR_LEN  4096u
#define OTA_SIGBLOCK_MAGIC       0xE7u
#define OTA_SIGBLOCK_VERSION_RSA 0x02u
#define OTA_SIGBLOCK_VERSION_EC  0x03u
#define OTA_SIGBLOCK_DIGEST_MAX  OTA_SHA384_LEN

_Static_assert(OTA_SIGBLOCK_MAX *OTA_SIGBLOCK_LEN <= OTA_SIGBLOCK_SECTOR_LEN,
	       "three signature blocks fit one sector");

enum ota_sig_scheme {
	OTA_SIG_NONE,
	OTA_SIG_RSA3072,    /* version 2 */
	OTA_SIG_ECDSA_P256, /* version 3, curve 2, SHA-256 */
	OTA_SIG_ECDSA_P384, /* version 3, curve 3, SHA-384 */
};

/** Why a block slot does not hold a usable block. */
enum ota_sigblock_err {
	OTA_SIGBLOCK_OK,
	OTA_SIGBLOCK_ERR_ABSENT,    /* slot erased (all 0xFF) or not present */
	OTA_SIGBLOCK_ERR_TRUNCATED, /* fewer than 1216 bytes given */
	OTA_SIGBLOCK_ERR_MAGIC,     /* byte 0 is not 0xE7 */
	OTA_SIGBLOCK_ERR_CRC,       /* CRC-32 of [0, 1196) mismatch */
	OTA_SIGBLOCK_ERR_SCHEME,    /* unknown version, curve or sha_version */
};

/**
 * One parsed block. The pointers alias the buffer given to the parser and
 * are valid as long as it is; key_digest is a copy.
 */
struct ota_sigblock {
	enum ota_sigblock_err err;
	enum ota_sig_scheme scheme;
	const uint8_t *raw;    /* the 1216 bytes */
	const uint8_t *digest; /* image digest the block signs */
	size_t digest_len;     /* 32 (SHA-256) or 48 (SHA-384, P-384) */
	const uint8_t *key;    /* public key material, as hashed for trust */
	size_t key_len;
	const uint8_t *sig; /* RSA: 384 bytes LE; ECDSA: r | s, each LE */
	size_t sig_len;
	uint8_t key_digest[OTA_SHA256_LEN]; /* what eFuse / trust compares */
};

/** Stable name of a scheme ("RSA-3072", "ECDSA-P256", ...). */
const char *ota_sig_scheme_name(enum ota_sig_scheme s);

/** Stable short description of @err. */
const char *ota_sigblock_strerror(enum ota_sigblock_err err);

/**
 * Parse and validate one block as ESP-IDF does: magic 0xE7, CRC-32 (zlib)
 * of bytes [0, 1196) stored LE at 1196, version 2 (RSA-3072) or 3 (ECDSA:
 * curve_id 2 with sha_version 0, or curve_id 3 with sha_version 1;
 * P-192 is refused). The zero padding and reserved bytes are not checked
 * (IDF does not either). On success fills @out (and the key digest:
 * SHA-256 of RSA bytes [36, 812), P-256 [36, 101), P-384 [52, 149)).
 * @raw is borrowed and aliased by @out. Returns 0, or -EILSEQ with
 * out->err saying why (TRUNCATED when @len < 1216, ABSENT when the block
 * is all 0xFF).
 */
int ota_sigblock_parse(const uint8_t *raw, size_t len,
		       struct ota_sigblock *out);

/**
 * Parse the blocks at the start of a signature sector: slot i is bytes
 * [i * 1216, (i + 1) * 1216) of @sector, for the slots @len covers (a
 * shorter @len, e.g. just the used blocks as BEGIN carries them, is fine;
 * slots beyond it are ABSENT). Fills all OTA_SIGBLOCK_MAX entries of @out.
 * Returns the number of valid blocks (0..3). Like IDF, a slot after an
 * invalid one is still looked at.
 */
unsigned int
ota_sigblock_parse_sector(const uint8_t *sector, size_t len,
			  struct ota_sigblock out[OTA_SIGBLOCK_MAX]);

/**
 * Verify @b's signature over @b->digest with the key in @b (the crypto
 * interface). It does not check that @b->digest is the image's digest, nor
 * whether the key is trusted: the caller does both.
 * Returns 0, -EBADMSG (does not verify), -EINVAL (malformed key / not a
 * valid block), -ENOMEM.
 */
int ota_sigblock_verify(const struct ota_sigblock *b);

/**
 * Store the block's CRC-32 (zlib, of bytes [0, 1196)) little-endian at
 * 1196, as espsecure does after filling in the rest: what the signer and
 * anything that edits a block (tests, fuzzing) call last.
 */
void ota_sigblock_seal(uint8_t raw[OTA_SIGBLOCK_LEN]);

/** Image region a signature sector follows: ALIGN_UP(@image_len, 4096). */
static inline uint32_t ota_sigblock_sector_offset(uint32_t image_len)
{
	return (image_len + OTA_SIGBLOCK_SECTOR_LEN - 1) &
	       ~(OTA_SIGBLOCK_SECTOR_LEN - 1);
}

#endif /* BLEOTA_OTA_ENGINE_SIGBLOCK_H */
