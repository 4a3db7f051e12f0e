/* SPDX-License-Identifier: MIT */
/*
 * The manifest (docs/protocol.md §5): what the image is, sent before BEGIN
 * in MANIFEST segments and covered by BEGIN's manifest CRC. TLVs (tlv.h);
 * IMAGE_SIZE and SHA256 are required, each type appears once, unknown
 * non-critical types are skipped and unknown critical ones (bit 7) refused.
 */
#ifndef BLEOTA_PROTOCOL_MANIFEST_H
#define BLEOTA_PROTOCOL_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OTA_MANIFEST_MAX 1536 /* room for one signature block */

/* Manifest TLV types. Bit 7 set = critical: unknown ones are refused. */
enum ota_tlv {
	OTA_TLV_IMAGE_SIZE = 0x01,     /* u32 */
	OTA_TLV_SHA256 = 0x02,         /* 32 bytes */
	OTA_TLV_VERSION = 0x03,        /* string, <= 32 */
	OTA_TLV_PROJECT = 0x04,        /* string, <= 32 */
	OTA_TLV_CHIP_ID = 0x05,        /* u16 */
	OTA_TLV_SECURE_VERSION = 0x06, /* u32 */
	OTA_TLV_TAG = 0x07,       /* string, 1..128: version tag to store */
	OTA_TLV_SIGNATURE = 0x90, /* critical: one Secure Boot v2 block */
};
#define OTA_TLV_CRITICAL  0x80
#define OTA_SIG_BLOCK_LEN 1216 /* ESP-IDF Secure Boot v2 signature block */
#define OTA_TAG_MAX       128  /* bytes of a TAG */

struct ota_manifest {
	uint32_t image_size;
	uint8_t sha256[32];
	char version[33];
	char project[33];
	uint16_t chip_id;
	uint32_t secure_version;
	bool has_chip_id;
	bool has_secure_version;
	/* a signature block, or NULL; decoded: points into the TLV bytes */
	const uint8_t *sig;
	uint16_t sig_len;
	/*
	 * The version tag (TAG, 1..128 bytes, no NUL), or NULL/0 for none.
	 * Not NUL-terminated: decoded, it points into the TLV bytes.
	 */
	const char *tag;
	uint16_t tag_len;
};

/**
 * ota_manifest_encode() - serialise @m as manifest TLVs.
 * Return: bytes written, or -EMSGSIZE / -EINVAL (string too long, a tag
 * over 128 bytes or with a NUL in it).
 */
int ota_manifest_encode(uint8_t *buf, size_t cap, const struct ota_manifest *m);

/**
 * ota_manifest_decode() - parse manifest TLVs into @out.
 * @bad_type: filled with the offending TLV type on failure.
 *
 * Return: 0; -EBADMSG if a TLV overruns, has the wrong length (a TAG of 0
 * or over 128 bytes, or with a NUL), repeats, or a required one
 * (IMAGE_SIZE, SHA256) is missing; -ENOTSUP for an unknown
 * critical TLV. Unknown non-critical TLVs are skipped.
 */
int ota_manifest_decode(const uint8_t *buf, size_t len,
			struct ota_manifest *out, uint8_t *bad_type);

#endif /* BLEOTA_PROTOCOL_MANIFEST_H */
