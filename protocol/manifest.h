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
	OTA_TLV_TAG = 0x07,         /* string, 1..128: version tag to store */
	OTA_TLV_BASE_SHA256 = 0x08, /* 32 bytes: the patch's base image */
	OTA_TLV_PATCH_SIZE = 0x09,  /* u32: bytes of the patch stream */
	OTA_TLV_SIGNATURE = 0x90,   /* critical: one Secure Boot v2 block */
	OTA_TLV_ENCODING = 0x91,    /* critical u8, enum ota_encoding */
};

/*
 * What the data stream carries (OTA_TLV_ENCODING). PLAIN is the image
 * itself. DELTA is a detools sequential patch (compression none or
 * heatshrink, from-size 0 = a compressed full image) of PATCH_SIZE bytes
 * that rebuilds the image IMAGE_SIZE and SHA256 describe; blocks, chunk
 * offsets, CRCs, acks and credits all run over the patch bytes. BASE_SHA256
 * is the ESP-IDF validation hash (the appended SHA-256) of the image the
 * patch reads from; a device checks it against its running image.
 */
enum ota_encoding {
	OTA_ENCODING_PLAIN = 0,
	OTA_ENCODING_DELTA = 1,
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
	/* delta (docs/protocol.md §5): encoding, and with DELTA patch_size and
	 * (optional for a compressed full image) base_sha256 */
	uint8_t encoding; /* enum ota_encoding */
	bool has_base_sha256;
	uint8_t base_sha256[32];
	uint32_t patch_size;
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
 * (IMAGE_SIZE, SHA256) is missing, if ENCODING is DELTA without
 * PATCH_SIZE (or PATCH_SIZE is 0 or above OTA_MAX_IMAGE), or if PATCH_SIZE
 * or BASE_SHA256 comes without ENCODING DELTA; -ENOTSUP for an unknown
 * critical TLV or an ENCODING value this build does not know. Unknown
 * non-critical TLVs are skipped.
 */
int ota_manifest_decode(const uint8_t *buf, size_t len,
			struct ota_manifest *out, uint8_t *bad_type);

/**
 * ota_manifest_stream_size() - bytes of the data stream @m announces: the
 * patch size for ENCODING DELTA, the image size otherwise.
 */
uint32_t ota_manifest_stream_size(const struct ota_manifest *m);

#endif /* BLEOTA_PROTOCOL_MANIFEST_H */
