/* SPDX-License-Identifier: MIT */
/*
 * Test image builder: valid ESP-IDF app images in memory for a chosen chip,
 * version, project, secure_version, idf_ver and segment layout, plus every
 * kind of corruption the verifier must catch. Data bytes come from a seeded
 * PRNG, so two builds with the same spec are identical.
 */
#ifndef BLEOTA_TESTS_HARNESS_ESP_IMAGE_BUILD_H
#define BLEOTA_TESTS_HARNESS_ESP_IMAGE_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum esp_seg_kind {
	ESP_SEG_DROM, /* flash-mapped rodata; segment 0 holds the app desc */
	ESP_SEG_IROM, /* flash-mapped code */
	ESP_SEG_IRAM, /* loaded to RAM, not mapped */
	ESP_SEG_DRAM,
};

enum esp_corruption {
	ESP_CORRUPT_NONE,
	ESP_CORRUPT_MAGIC,     /* byte 0 */
	ESP_CORRUPT_SEG_COUNT, /* 17 segments claimed */
	ESP_CORRUPT_SEG_COUNT_ZERO,
	ESP_CORRUPT_HASH_FLAG,    /* hash_appended = 2 */
	ESP_CORRUPT_SEG_LEN_ODD,  /* segment 1 length not %4 */
	ESP_CORRUPT_SEG_LEN_HUGE, /* segment 1 length 16 MiB */
	ESP_CORRUPT_SEG0_SHORT,   /* segment 0 of 128 bytes */
	ESP_CORRUPT_APP_DESC,     /* app desc magic */
	ESP_CORRUPT_MMU_ALIGN,    /* IROM segment moved off its page */
	ESP_CORRUPT_CHECKSUM,     /* checksum byte (hash re-computed) */
	ESP_CORRUPT_DATA_BYTE,    /* one data byte flipped, nothing fixed */
	ESP_CORRUPT_SHA,          /* one byte of the appended digest */
	ESP_CORRUPT_TRUNCATE,     /* last 10 bytes cut */
	ESP_CORRUPT_TRUNCATE_HDR, /* only 12 bytes */
	ESP_CORRUPT_COUNT,
};

struct esp_image_spec {
	uint16_t chip_id;
	uint16_t min_rev_full;
	uint16_t max_rev_full; /* 0xFFFF = unset */
	const char *version;   /* default "1.0.0" */
	const char *project;   /* default "bleota-test" */
	const char *idf_ver;   /* default "v5.3-bleota" */
	const char *date;      /* default "Jan  1 2026" */
	const char *time;      /* default "00:00:00" */
	uint32_t secure_version;
	uint8_t mmu_page_log2; /* 0 = unknown (64 KiB used) */
	uint8_t align_log2;    /* page segments really follow; 0 = as above */
	uint8_t flash_code;    /* header flash size code + 1; 0 = 4MB */
	bool no_hash;          /* hash_appended = 0 */
	unsigned int nseg;     /* 0 = default layout DROM, IRAM, IROM */
	struct {
		enum esp_seg_kind kind;
		uint32_t len;
	} seg[12];
	uint32_t seed;
	uint32_t pad_to; /* append 0xFF up to this size (0 = none) */
	enum esp_corruption corrupt;
	uint32_t repeat; /* data repeats every N bytes (compressible); 0 = no */
};

/** Name of a corruption ("checksum"), for test messages and mkimage. */
const char *esp_corruption_name(enum esp_corruption c);

/**
 * Build an image. Returns a malloc'd buffer (free() it) and its length in
 * *@out_len, or NULL on a spec the builder cannot honour.
 */
uint8_t *esp_image_build(const struct esp_image_spec *spec, size_t *out_len);

#endif /* BLEOTA_TESTS_HARNESS_ESP_IMAGE_BUILD_H */
