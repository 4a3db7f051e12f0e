/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF app image (esp_image_header_t, segments, XOR checksum, appended
 * SHA-256, esp_app_desc_t): a streaming verifier that makes the decisions of
 * esp_image_verify() while the bytes arrive, in any chunking. Pure: bytes in,
 * result out; SHA-256 through crypto.h.
 */
#ifndef BLEOTA_OTA_ENGINE_IMAGE_H
#define BLEOTA_OTA_ENGINE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/crypto.h"

#define OTA_IMAGE_MAGIC            0xE9u
#define OTA_IMAGE_HDR_LEN          24u
#define OTA_IMAGE_SEG_HDR_LEN      8u
#define OTA_IMAGE_MAX_SEGMENTS     16u
#define OTA_IMAGE_MAX_SEG_LEN      0x1000000u /* 16 MiB, exclusive */
#define OTA_IMAGE_MAX_LEN          0x1000000u
#define OTA_IMAGE_CHECKSUM_SEED    0xEFu
#define OTA_APP_DESC_MAGIC         0xABCD5432u
#define OTA_APP_DESC_OFFSET        0x20u
#define OTA_APP_DESC_LEN           256u
#define OTA_IMAGE_MMU_PAGE_DEFAULT 0x10000u
#define OTA_CHIP_ANY               0xFFFFu /* cfg.chip_id: accept every chip */

/* esp_chip_id_t values */
#define OTA_CHIP_ESP32    0u
#define OTA_CHIP_ESP32S2  2u
#define OTA_CHIP_ESP32C3  5u
#define OTA_CHIP_ESP32S3  9u
#define OTA_CHIP_ESP32C2  12u
#define OTA_CHIP_ESP32C6  13u
#define OTA_CHIP_ESP32H2  16u
#define OTA_CHIP_ESP32P4  18u
#define OTA_CHIP_ESP32C61 20u
#define OTA_CHIP_ESP32C5  23u

/** Why an image was rejected; stable names for logs and the CLI. */
enum ota_image_err {
	OTA_IMAGE_OK,
	OTA_IMAGE_ERR_TRUNCATED,  /* data ended inside the image */
	OTA_IMAGE_ERR_MAGIC,      /* first byte is not 0xE9 */
	OTA_IMAGE_ERR_CHIP,       /* built for another chip */
	OTA_IMAGE_ERR_CHIP_REV,   /* chip revision outside min..max */
	OTA_IMAGE_ERR_SEG_COUNT,  /* 0 or more than 16 segments */
	OTA_IMAGE_ERR_HASH_FLAG,  /* hash_appended is not 0 or 1 */
	OTA_IMAGE_ERR_SEG_LEN,    /* segment length not %4 or >= 16 MiB */
	OTA_IMAGE_ERR_SEG0_SHORT, /* segment 0 cannot hold esp_app_desc_t */
	OTA_IMAGE_ERR_APP_DESC,   /* esp_app_desc_t magic missing */
	OTA_IMAGE_ERR_MMU_ALIGN,  /* mapped segment not MMU-page aligned */
	OTA_IMAGE_ERR_CHECKSUM,   /* XOR checksum byte mismatch */
	OTA_IMAGE_ERR_SHA256,     /* appended SHA-256 mismatch */
	OTA_IMAGE_ERR_TOO_BIG,    /* does not fit the partition */
};

struct ota_app_desc {
	uint32_t magic;
	uint32_t secure_version;
	char version[33];
	char project[33];
	char time[17];
	char date[17];
	char idf_ver[33];
	uint8_t app_elf_sha256[32];
	uint16_t min_efuse_blk_rev_full;
	uint16_t max_efuse_blk_rev_full;
	uint8_t mmu_page_size; /* log2, 0 = unknown */
	uint8_t spi_flash_mode;
	/* raw 32-byte NUL-padded fields, as the manifest carries them */
	uint8_t version_raw[32];
	uint8_t project_raw[32];
};

struct ota_image_seg {
	uint32_t load_addr;
	uint32_t len;
	uint32_t data_off; /* image offset of the first data byte */
};

struct ota_image_info {
	uint8_t spi_mode;
	uint8_t spi_speed;
	uint8_t spi_size;
	uint32_t entry_addr;
	uint16_t chip_id;
	uint8_t min_chip_rev;
	uint16_t min_chip_rev_full;
	uint16_t max_chip_rev_full;
	uint8_t hash_appended;
	unsigned int seg_count;
	struct ota_image_seg seg[OTA_IMAGE_MAX_SEGMENTS];
	bool has_desc;
	struct ota_app_desc desc;
	uint8_t checksum_stored;
	uint8_t checksum_calc;
	bool has_hash;
	uint8_t sha_stored[OTA_SHA256_LEN];
	uint8_t sha_calc[OTA_SHA256_LEN];
	uint32_t image_len; /* valid once complete */
};

struct ota_image_cfg {
	uint16_t chip_id;  /* expected chip, OTA_CHIP_ANY to accept all */
	uint16_t chip_rev; /* this chip's revision, major * 100 + minor */
	uint32_t max_len;  /* partition size; 0 = 16 MiB */
	/*
	 * Hash every byte fed (trailing padding, the appended hash and bytes
	 * after a format error included), not only the part the appended
	 * SHA-256 covers; the appended-hash check then reads a copy. ota_image_verify_digest()
	 * gives the digest of everything fed so far: one pass over the image
	 * serves both the format check and the whole-file digest.
	 */
	bool hash_all;
};

/* Treat as opaque; placed by the caller (about 1 KiB). */
struct ota_image_verify {
	struct ota_image_cfg cfg;
	struct ota_image_info info;
	struct ota_sha256 sha;
	uint32_t pos;
	unsigned int phase;
	unsigned int seg_idx;
	uint32_t seg_left;
	uint32_t need;
	uint8_t xor_acc;
	uint8_t buf[OTA_APP_DESC_LEN];
	uint32_t buf_len;
	enum ota_image_err err;
	uint32_t err_off;
	uint32_t err_seg;
	const uint8_t *hash_from; /* hash_all: first byte not hashed yet */
};

/** Human name of a chip id ("esp32c3"), or "unknown" (image_text.c: host
 * builds only). */
const char *ota_image_chip_name(uint16_t chip_id);

/**
 * The MMU page mapped segments align to: the app desc's mmu_page_size when
 * set; else what the ESP-IDF bootloader built with the app uses: 64 KiB,
 * except on the chips whose page is configurable (C2, C6, H2, C61), where
 * the build derives it from the flash size in the image header (16 KiB for
 * 1 MB, 32 KiB for 2 MB, 64 KiB above).
 */
uint32_t ota_image_mmu_page(const struct ota_image_verify *v);

/** Stable short description of @err (image_text.c: host builds only). */
const char *ota_image_strerror(enum ota_image_err err);

/** Start verifying a new image with @cfg (copied). */
void ota_image_verify_init(struct ota_image_verify *v,
			   const struct ota_image_cfg *cfg);

/**
 * Feed the next @len bytes of the image. Bytes after the end of the image
 * (trailing padding) are accepted and ignored. Returns 0, or -EILSEQ once an
 * error is found (sticky: later calls return it again, v->err says why).
 */
int ota_image_verify_update(struct ota_image_verify *v, const void *data,
			    size_t len);

/**
 * ota_image_verify_digest() - SHA-256 of every byte fed so far; only
 * meaningful with cfg.hash_all and before a failure. Leaves @v running.
 */
void ota_image_verify_digest(const struct ota_image_verify *v,
			     uint8_t out[OTA_SHA256_LEN]);

/** True once the image end (checksum and hash) has been consumed. */
bool ota_image_verify_complete(const struct ota_image_verify *v);

/**
 * Finish: 0 if a complete, valid image was fed; -EILSEQ otherwise
 * (TRUNCATED if it ended early). v->info holds what was parsed either way.
 */
int ota_image_verify_final(struct ota_image_verify *v);

/**
 * Write one line saying exactly what is wrong, with the numbers
 * ("image checksum mismatch (stored 0x3a, computed 0x5c)"). Returns @buf.
 * Host builds only (image_text.c; device firmware carries no words).
 */
const char *ota_image_describe(const struct ota_image_verify *v, char *buf,
			       size_t cap);

/** Parse a raw 256-byte esp_app_desc_t. -EILSEQ if the magic is wrong. */
int ota_app_desc_parse(const uint8_t raw[OTA_APP_DESC_LEN],
		       struct ota_app_desc *out);

#endif /* BLEOTA_OTA_ENGINE_IMAGE_H */
