/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF partition table (binary, at 0x8000): entry codec, a streaming
 * verifier that accepts exactly what the bootloader's
 * esp_partition_table_verify() accepts, and the slot layout the engine and
 * the simulated bootloader work from. Pure: buffers in, no flash access.
 */
#ifndef BLEOTA_OTA_ENGINE_PARTTABLE_H
#define BLEOTA_OTA_ENGINE_PARTTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/crypto.h"

#define OTA_PARTTABLE_OFFSET      0x8000u
#define OTA_PARTTABLE_SECTOR      0x1000u
#define OTA_PARTTABLE_MAX_LEN     0xC00u
#define OTA_PART_ENTRY_LEN        32u
#define OTA_PARTTABLE_MAX_ENTRIES (OTA_PARTTABLE_MAX_LEN / OTA_PART_ENTRY_LEN)
#define OTA_PART_LABEL_LEN        16u
#define OTA_PART_MAX_OTA          16u
#define OTA_PART_MAGIC            0x50AAu
#define OTA_PART_MD5_MAGIC        0xEBEBu

#define OTA_PART_TYPE_APP               0x00u
#define OTA_PART_TYPE_DATA              0x01u
/*
 * bleota's own resume journal: a custom partition type (0x40..0xFE are free
 * for applications); the ESP-IDF bootloader ignores it.
 */
#define OTA_PART_TYPE_BLEOTA            0x40u
#define OTA_PART_SUBTYPE_BLEOTA_JOURNAL 0x00u

#define OTA_PART_SUBTYPE_APP_FACTORY  0x00u
#define OTA_PART_SUBTYPE_APP_OTA_0    0x10u
#define OTA_PART_SUBTYPE_APP_OTA_MASK 0x0Fu
#define OTA_PART_SUBTYPE_APP_TEST     0x20u
#define OTA_PART_SUBTYPE_DATA_OTA     0x00u
#define OTA_PART_SUBTYPE_DATA_PHY     0x01u
#define OTA_PART_SUBTYPE_DATA_NVS     0x02u
#define OTA_OTADATA_PART_SIZE         0x2000u

#define OTA_PART_FLAG_ENCRYPTED 0x1u
#define OTA_PART_FLAG_READONLY  0x2u

/** One decoded 32-byte esp_partition_info_t. */
struct ota_part {
	uint8_t type;
	uint8_t subtype;
	uint32_t offset;
	uint32_t size;
	char label[OTA_PART_LABEL_LEN + 1]; /* always NUL-terminated here */
	uint32_t flags;
};

/** Why a binary table was rejected. */
enum ota_parttable_err {
	OTA_PARTTABLE_OK,
	OTA_PARTTABLE_ERR_MAGIC,   /* entry with an unknown magic */
	OTA_PARTTABLE_ERR_RANGE,   /* partition beyond the chip size */
	OTA_PARTTABLE_ERR_MD5,     /* MD5 entry does not match */
	OTA_PARTTABLE_ERR_MD5_DUP, /* a second MD5 entry */
	OTA_PARTTABLE_ERR_NO_END,  /* no end marker within 0xC00 bytes */
	OTA_PARTTABLE_ERR_EMPTY,   /* end marker before any partition */
	OTA_PARTTABLE_ERR_OTA_GAP, /* OTA slots are not ota_0..ota_{n-1} */
	OTA_PARTTABLE_ERR_DUP,     /* duplicate ota_N, otadata or journal */
	OTA_PARTTABLE_ERR_OTADATA_SIZE, /* otadata is not 0x2000 bytes */
};

/** Stable description of @err ("partition table MD5 mismatch"). */
const char *ota_parttable_strerror(enum ota_parttable_err err);

/**
 * Decode one entry. Returns 0 for a partition, -EILSEQ for anything else
 * (MD5 entry, end marker, garbage); @out is filled only on success.
 */
int ota_part_decode(const uint8_t raw[OTA_PART_ENTRY_LEN],
		    struct ota_part *out);

/** Encode @p as a 32-byte entry; the label is truncated to 16 bytes. */
void ota_part_encode(const struct ota_part *p, uint8_t raw[OTA_PART_ENTRY_LEN]);

/* Streaming verifier: feed 32-byte entries in table order. */
struct ota_parttable_iter {
	struct ota_md5 md5;
	uint32_t chip_size;
	unsigned int index;
	unsigned int num_parts;
	bool md5_seen;
	enum ota_parttable_err err;
	unsigned int err_index;
};

/** Start verifying a table for a flash of @chip_size bytes. */
void ota_parttable_iter_init(struct ota_parttable_iter *it, uint32_t chip_size);

/**
 * Feed the next entry. Returns 1 with *@out filled for a partition, 1 with
 * out->type = 0xFF for the MD5 entry (skip it), 0 at a valid end marker, or
 * -EILSEQ with it->err and it->err_index set. After a non-positive return
 * the iterator must be re-initialised.
 */
int ota_parttable_iter_feed(struct ota_parttable_iter *it,
			    const uint8_t raw[OTA_PART_ENTRY_LEN],
			    struct ota_part *out);

/** What the bootloader and the engine need from the table. */
struct ota_layout {
	uint32_t ota_off[OTA_PART_MAX_OTA];
	uint32_t ota_size[OTA_PART_MAX_OTA];
	unsigned int ota_count;
	uint16_t ota_seen; /* bit N: ota_N present */
	bool has_otadata, has_factory, has_test, has_journal;
	uint32_t otadata_off, factory_off, factory_size, test_off, test_size;
	uint32_t journal_off, journal_size;
	bool has_nvs; /* the first data/nvs partition (the version tag) */
	uint32_t nvs_off, nvs_size;
};

/** Empty layout. */
void ota_layout_init(struct ota_layout *l);

/**
 * Account one partition (as the bootloader does: app ota_N by subtype & 0xF,
 * one data/ota; the first data/nvs, as nvs_flash_init() takes the one
 * labelled "nvs", which is first in ESP-IDF's layouts). Returns 0 or -EILSEQ with *@err (DUP, OTADATA_SIZE).
 */
int ota_layout_add(struct ota_layout *l, const struct ota_part *p,
		   enum ota_parttable_err *err);

/** Check the OTA slots are consecutive from ota_0. 0 or -EILSEQ (OTA_GAP). */
int ota_layout_finish(struct ota_layout *l, enum ota_parttable_err *err);

/**
 * Verify a whole binary table in @buf (at least @len >= 0xC00 bytes is not
 * required: running off the end is NO_END) and fill @out.
 * Returns 0 or -EILSEQ with *@err set (may be NULL).
 */
int ota_parttable_parse(const uint8_t *buf, size_t len, uint32_t chip_size,
			struct ota_layout *out, enum ota_parttable_err *err);

#endif /* BLEOTA_OTA_ENGINE_PARTTABLE_H */
