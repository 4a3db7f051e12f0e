/* SPDX-License-Identifier: MIT */
/*
 * gen_esp32part-compatible partition table CSV: parse (auto offsets, K/M
 * suffixes, $VARS, alignment and overlap rules), build the 0xC00-byte binary
 * (with MD5 entry), read a binary back and write it as CSV. Host side only.
 */
#ifndef BLEOTA_HOST_PARTCSV_H
#define BLEOTA_HOST_PARTCSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ota_engine/parttable.h"

/* 95 partitions and the end marker fill 0xC00 bytes; with the MD5 row, 94 */
#define OTA_PARTCSV_MAX               (OTA_PARTTABLE_MAX_ENTRIES - 1)
#define OTA_PART_SUBTYPE_DATA_TEE_OTA 0x90u

struct ota_partcsv {
	struct ota_part part[OTA_PARTCSV_MAX];
	unsigned int
		line[OTA_PARTCSV_MAX]; /* CSV line of each entry, 0 if none */
	unsigned int count;
};

/**
 * Parse CSV @text. @table_offset is usually OTA_PARTTABLE_OFFSET;
 * @flash_size 0 skips the "fits the flash" check. On error returns -EINVAL
 * and writes "LINE: what is wrong" (or a table-wide message) to @err.
 */
int ota_partcsv_parse(const char *text, uint32_t table_offset,
		      uint32_t flash_size, struct ota_partcsv *out, char *err,
		      size_t errcap);

/**
 * Build the table binary: entries, MD5 entry when @md5, 0xFF padding to
 * OTA_PARTTABLE_MAX_LEN. Returns 0 or -EMSGSIZE.
 */
int ota_partcsv_to_bin(const struct ota_partcsv *t, bool md5,
		       uint8_t out[OTA_PARTTABLE_MAX_LEN]);

/**
 * Read a binary table (verified like the bootloader does). Returns 0 or
 * -EILSEQ with a message in @err.
 */
int ota_partcsv_from_bin(const uint8_t *buf, size_t len,
			 struct ota_partcsv *out, char *err, size_t errcap);

/** Write @t as gen_esp32part-style CSV. Returns 0 or -EIO. */
int ota_partcsv_write(const struct ota_partcsv *t, FILE *fp);

/** The built-in two-OTA layout used by `bleota flash create --layout`. */
extern const char ota_partcsv_two_ota[];

#endif /* BLEOTA_HOST_PARTCSV_H */
