/* SPDX-License-Identifier: MIT */
/*
 * The words for an image verifier's verdict (one line with the numbers),
 * its error names and the chip names.
 * Host builds only (the peripheral's log, the CLI, the tools): device
 * firmware reports the error code and offsets and carries no text, so
 * make size leaves this file out, as it does flash_file.c.
 */
#include "ota_engine/image.h"

#include <inttypes.h>
#include <stdio.h>

static const struct {
	uint16_t id;
	const char *name;
} chip_names[] = {
	{ OTA_CHIP_ESP32, "esp32" },       { OTA_CHIP_ESP32S2, "esp32s2" },
	{ OTA_CHIP_ESP32C3, "esp32c3" },   { OTA_CHIP_ESP32S3, "esp32s3" },
	{ OTA_CHIP_ESP32C2, "esp32c2" },   { OTA_CHIP_ESP32C6, "esp32c6" },
	{ OTA_CHIP_ESP32H2, "esp32h2" },   { OTA_CHIP_ESP32P4, "esp32p4" },
	{ OTA_CHIP_ESP32C61, "esp32c61" }, { OTA_CHIP_ESP32C5, "esp32c5" },
};

const char *ota_image_chip_name(uint16_t chip_id)
{
	size_t i;

	for (i = 0; i < sizeof(chip_names) / sizeof(chip_names[0]); i++)
		if (chip_names[i].id == chip_id)
			return chip_names[i].name;
	return "unknown";
}

const char *ota_image_strerror(enum ota_image_err err)
{
	switch (err) {
	case OTA_IMAGE_OK:
		return "image valid";
	case OTA_IMAGE_ERR_TRUNCATED:
		return "image truncated";
	case OTA_IMAGE_ERR_MAGIC:
		return "bad image magic";
	case OTA_IMAGE_ERR_CHIP:
		return "image built for another chip";
	case OTA_IMAGE_ERR_CHIP_REV:
		return "chip revision outside the image's range";
	case OTA_IMAGE_ERR_SEG_COUNT:
		return "bad segment count";
	case OTA_IMAGE_ERR_HASH_FLAG:
		return "bad hash_appended flag";
	case OTA_IMAGE_ERR_SEG_LEN:
		return "bad segment length";
	case OTA_IMAGE_ERR_SEG0_SHORT:
		return "segment 0 too short for esp_app_desc_t";
	case OTA_IMAGE_ERR_APP_DESC:
		return "esp_app_desc_t missing";
	case OTA_IMAGE_ERR_MMU_ALIGN:
		return "segment not aligned to the MMU page";
	case OTA_IMAGE_ERR_CHECKSUM:
		return "image checksum mismatch";
	case OTA_IMAGE_ERR_SHA256:
		return "appended SHA-256 mismatch";
	case OTA_IMAGE_ERR_TOO_BIG:
		return "image larger than the partition";
	}
	return "unknown image error";
}

/* All of a digest: a shortened one can look equal when it is not. */
static void hex32(char *out, const uint8_t *b)
{
	static const char hexd[] = "0123456789abcdef";
	int i;

	for (i = 0; i < OTA_SHA256_LEN; i++) {
		out[2 * i] = hexd[b[i] >> 4];
		out[2 * i + 1] = hexd[b[i] & 0xf];
	}
	out[2 * OTA_SHA256_LEN] = '\0';
}

const char *ota_image_describe(const struct ota_image_verify *v, char *buf,
			       size_t cap)
{
	const struct ota_image_info *in = &v->info;
	const struct ota_image_seg *s = &in->seg[v->err_seg];
	char a[2 * OTA_SHA256_LEN + 1], b[2 * OTA_SHA256_LEN + 1];

	switch (v->err) {
	case OTA_IMAGE_OK:
		snprintf(buf, cap, "image valid");
		break;
	case OTA_IMAGE_ERR_TRUNCATED:
		/* what to do is the caller's advice, said once */
		snprintf(buf, cap, "image truncated at offset 0x%" PRIx32,
			 v->err_off);
		break;
	case OTA_IMAGE_ERR_MAGIC:
		snprintf(buf, cap,
			 "bad image magic 0x%02x (expected 0xe9): not an ESP "
			 "app image",
			 in->checksum_stored);
		break;
	case OTA_IMAGE_ERR_CHIP:
		snprintf(buf, cap,
			 "image is for %s (chip id %u) but the device is %s "
			 "(chip id %u)",
			 ota_image_chip_name(in->chip_id), in->chip_id,
			 ota_image_chip_name(v->cfg.chip_id), v->cfg.chip_id);
		break;
	case OTA_IMAGE_ERR_CHIP_REV:
		snprintf(buf, cap,
			 "image needs chip revision v%u.%u..v%u.%u, the chip "
			 "is v%u.%u",
			 in->min_chip_rev_full / 100,
			 in->min_chip_rev_full % 100,
			 in->max_chip_rev_full / 100,
			 in->max_chip_rev_full % 100, v->cfg.chip_rev / 100,
			 v->cfg.chip_rev % 100);
		break;
	case OTA_IMAGE_ERR_SEG_COUNT:
		snprintf(buf, cap, "image has %u segments (allowed 1..%u)",
			 in->seg_count, OTA_IMAGE_MAX_SEGMENTS);
		break;
	case OTA_IMAGE_ERR_HASH_FLAG:
		snprintf(buf, cap, "hash_appended is %u (must be 0 or 1)",
			 in->hash_appended);
		break;
	case OTA_IMAGE_ERR_SEG_LEN:
		snprintf(buf, cap,
			 "segment %" PRIu32 " length 0x%" PRIx32
			 " is invalid (must be a "
			 "multiple of 4 below 16 MiB)",
			 v->err_seg, s->len);
		break;
	case OTA_IMAGE_ERR_SEG0_SHORT:
		snprintf(buf, cap,
			 "segment 0 is %" PRIu32
			 " bytes, too short for esp_app_desc_t "
			 "(256)",
			 s->len);
		break;
	case OTA_IMAGE_ERR_APP_DESC:
		snprintf(buf, cap,
			 "no esp_app_desc_t at offset 0x20 (magic 0x%08" PRIx32
			 ", "
			 "expected 0xabcd5432)",
			 in->desc.magic);
		break;
	case OTA_IMAGE_ERR_MMU_ALIGN:
		snprintf(buf, cap,
			 "segment %" PRIu32 " (load 0x%08" PRIx32
			 ") at image offset 0x%" PRIx32 " is not "
			 "aligned to the 0x%" PRIx32 " MMU page",
			 v->err_seg, s->load_addr, s->data_off,
			 ota_image_mmu_page(v));
		break;
	case OTA_IMAGE_ERR_CHECKSUM:
		snprintf(buf, cap,
			 "image checksum mismatch (stored 0x%02x, computed "
			 "0x%02x)",
			 in->checksum_stored, in->checksum_calc);
		break;
	case OTA_IMAGE_ERR_SHA256:
		hex32(a, in->sha_stored);
		hex32(b, in->sha_calc);
		snprintf(buf, cap,
			 "appended SHA-256 mismatch (stored %s, computed %s)",
			 a, b);
		break;
	case OTA_IMAGE_ERR_TOO_BIG:
		snprintf(buf, cap,
			 "image does not fit the 0x%" PRIx32
			 "-byte partition (reached "
			 "offset 0x%" PRIx32 ")",
			 v->cfg.max_len, v->err_off);
		break;
	}
	return buf;
}
