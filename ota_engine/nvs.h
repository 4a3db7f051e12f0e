/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF NVS partition (components/nvs_flash, format version 2): a reader
 * that walks every page and entry and reports what it cannot trust, a
 * string lookup, and a writer for one string value, power-cut safe in the
 * order ESP-IDF itself writes. This is where the device keeps the firmware
 * version tag (namespace "bleota", key "fw_tag", docs/ota-engine.md §16),
 * so firmware on a real ESP32 reads it with nvs_get_str().
 *
 * Portable: libc only, no malloc, storage only through struct
 * ota_flash_ops. Fixed RAM, no static data: the caller places struct
 * ota_nvs_iter (64 bytes on Cortex-M4) and struct ota_nvs_rec (48 bytes);
 * the deepest call chains take about 410 bytes of stack for a lookup and
 * 950 for a write (a reclaim), plus the flash driver's (arm-none-eabi-gcc
 * -Os, -fcallgraph-info=su). A 4 KiB page is never buffered: 32 to 64
 * bytes at a time.
 */
#ifndef BLEOTA_OTA_ENGINE_NVS_H
#define BLEOTA_OTA_ENGINE_NVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/flash.h"

#define OTA_NVS_PAGE_SIZE   4096u
#define OTA_NVS_ENTRY_SIZE  32u
#define OTA_NVS_ENTRY_COUNT 126u  /* per page, after header and bitmap */
#define OTA_NVS_KEY_MAX     15u   /* characters of a key or namespace */
#define OTA_NVS_STR_MAX     4000u /* bytes of a string value, NUL included */
#define OTA_NVS_MIN_PAGES   3u    /* ESP-IDF's minimum writable partition */

/* Where the engine keeps the firmware version tag (Viam's 128-char limit) */
#define OTA_NVS_TAG_NAMESPACE "bleota"
#define OTA_NVS_TAG_KEY       "fw_tag"
#define OTA_NVS_TAG_MAX       128u

/* Item type codes (nvs.h / nvs_handle.hpp) */
#define OTA_NVS_TYPE_U8        0x01u
#define OTA_NVS_TYPE_U16       0x02u
#define OTA_NVS_TYPE_U32       0x04u
#define OTA_NVS_TYPE_U64       0x08u
#define OTA_NVS_TYPE_I8        0x11u
#define OTA_NVS_TYPE_I16       0x12u
#define OTA_NVS_TYPE_I32       0x14u
#define OTA_NVS_TYPE_I64       0x18u
#define OTA_NVS_TYPE_SZ        0x21u
#define OTA_NVS_TYPE_FLOAT     0x24u
#define OTA_NVS_TYPE_DOUBLE    0x28u
#define OTA_NVS_TYPE_BLOB      0x41u
#define OTA_NVS_TYPE_BLOB_DATA 0x42u
#define OTA_NVS_TYPE_BLOB_IDX  0x48u

/** A partition: @size bytes at absolute flash offset @off. */
struct ota_nvs_part {
	const struct ota_flash_ops *flash;
	void *flash_ctx;
	uint32_t off;  /* multiple of OTA_NVS_PAGE_SIZE */
	uint32_t size; /* multiple of OTA_NVS_PAGE_SIZE, not 0 */
};

/** A page as ESP-IDF classifies it on load. */
enum ota_nvs_page_state {
	OTA_NVS_PAGE_EMPTY,   /* all 0xFF: free */
	OTA_NVS_PAGE_ACTIVE,  /* accepting entries */
	OTA_NVS_PAGE_FULL,    /* no new entries */
	OTA_NVS_PAGE_FREEING, /* being reclaimed; entries still valid */
	OTA_NVS_PAGE_CORRUPT, /* untrusted: ESP-IDF erases it when needed */
};

/** What the reader could not trust, and why. */
enum ota_nvs_problem {
	OTA_NVS_PROBLEM_NONE,
	OTA_NVS_PROBLEM_HEADER_CRC,  /* page header CRC mismatch */
	OTA_NVS_PROBLEM_PAGE_STATE,  /* unknown page state word */
	OTA_NVS_PROBLEM_NOT_BLANK,   /* EMPTY page with data in it */
	OTA_NVS_PROBLEM_NEW_VERSION, /* format newer than 2: ESP-IDF refuses */
	OTA_NVS_PROBLEM_ENTRY_CRC,   /* entry header CRC mismatch */
	OTA_NVS_PROBLEM_ENTRY_STATE, /* illegal bitmap state 01 */
	OTA_NVS_PROBLEM_HEADER,      /* bad type, span or size */
	OTA_NVS_PROBLEM_INCOMPLETE,  /* data entries not all WRITTEN */
	OTA_NVS_PROBLEM_DATA_CRC,    /* data bytes do not match their CRC */
	OTA_NVS_PROBLEM_TORN,        /* unrecorded write after the active end */
};

enum ota_nvs_rec_kind {
	OTA_NVS_REC_PAGE, /* a page header: state, seq, version, problem */
	OTA_NVS_REC_ITEM, /* a trusted item */
	OTA_NVS_REC_SKIP, /* an entry skipped, with the problem */
};

/** One record of a walk. Fields not listed for a kind are zero. */
struct ota_nvs_rec {
	enum ota_nvs_rec_kind kind;
	uint32_t page; /* physical page index in the partition (all kinds) */
	uint32_t seq;  /* page sequence number (PAGE unless EMPTY/CORRUPT) */
	enum ota_nvs_page_state state; /* PAGE */
	uint8_t version;               /* PAGE: 0xFE = v2, 0xFF = v1 */
	enum ota_nvs_problem problem;  /* PAGE (CORRUPT, NEW_VERSION), SKIP */
	uint8_t entry;                 /* ITEM, SKIP: entry index 0..125 */
	/* ITEM only: */
	uint8_t ns_index; /* 0 = the namespace table */
	uint8_t type;     /* OTA_NVS_TYPE_* */
	uint8_t span;
	uint8_t chunk_index;
	char key[OTA_NVS_KEY_MAX + 1]; /* NUL-terminated */
	uint8_t data[8]; /* entry bytes 24..31: primitive value, LE */
	uint32_t len;    /* SZ/BLOB/BLOB_DATA: data bytes (CRC checked) */
};

/** Walk state; caller-allocated, treat as opaque. */
struct ota_nvs_iter {
	struct ota_nvs_part part;
	uint32_t page; /* current physical page */
	uint32_t seq;  /* its sequence number */
	uint8_t bitmap[OTA_NVS_ENTRY_SIZE];
	uint8_t state;     /* enum ota_nvs_page_state of the current page */
	uint8_t entry;     /* next entry to look at */
	uint8_t end;       /* entries at or after this are not items */
	uint8_t torn_end;  /* ACTIVE: [end, torn_end) are torn entries */
	bool page_started; /* the PAGE record of @page was returned */
};

/** "EMPTY", "ACTIVE", "FULL", "FREEING", "CORRUPT". */
const char *ota_nvs_page_state_str(enum ota_nvs_page_state s);

/** A short lower-case reason ("entry CRC mismatch", ...); "" for NONE. */
const char *ota_nvs_problem_str(enum ota_nvs_problem p);

/** "u8", "str", "blob_data", ...; "?" for an unknown code. */
const char *ota_nvs_type_str(uint8_t type);

/**
 * ota_nvs_iter_init() - start a walk over @part in physical page order.
 * Return: 0, or -EINVAL for an offset or size that is not a whole number
 * of pages (or 0), or a NULL flash.
 */
int ota_nvs_iter_init(struct ota_nvs_iter *it, const struct ota_nvs_part *part);

/**
 * ota_nvs_iter_next() - the next record: for each page one PAGE record,
 * then (for ACTIVE, FULL and FREEING pages) its items and skipped entries
 * in entry order. Items are what ESP-IDF's loader keeps: the entry CRC, the
 * type/span/size consistency, every data entry WRITTEN and the data CRC
 * are checked; in an ACTIVE page nothing after the first free entry counts.
 * Erased entries produce no record. Duplicates are all listed.
 * Return: 0 with *@out filled, -ENOENT after the last record, -EIO.
 */
int ota_nvs_iter_next(struct ota_nvs_iter *it, struct ota_nvs_rec *out);

/**
 * ota_nvs_read_data() - copy the data of an SZ/BLOB/BLOB_DATA item record
 * @rec (from a walk of @part) to @buf.
 * Return: the byte count (rec->len), -EINVAL for another type, -EMSGSIZE
 * when @cap < rec->len, -EIO.
 */
int ota_nvs_read_data(const struct ota_nvs_part *part,
		      const struct ota_nvs_rec *rec, void *buf, size_t cap);

/**
 * ota_nvs_ns_name() - the name of namespace @index (1..254) as stored in
 * the namespace table, into @name (16 bytes, NUL-terminated).
 * Return: 0, -ENOENT, -EIO.
 */
int ota_nvs_ns_name(const struct ota_nvs_part *part, uint8_t index,
		    char name[OTA_NVS_KEY_MAX + 1]);

/**
 * ota_nvs_get_str() - the string stored under @ns / @key, as nvs_get_str()
 * returns it after ESP-IDF's load-time repairs: when an interrupted update
 * left two copies, the newer one (higher page sequence, then later entry).
 * @buf: receives the string and its NUL; *@out_len (may be NULL) its
 * strlen.
 * Return: 0; -ENOENT (no such namespace or string); -EMSGSIZE when the
 * string and its NUL do not fit in @cap; -EINVAL for a bad name; -EIO.
 */
int ota_nvs_get_str(const struct ota_nvs_part *part, const char *ns,
		    const char *key, char *buf, size_t cap, size_t *out_len);

/**
 * ota_nvs_set_str() - store @value under @ns / @key as nvs_set_str() does:
 * create the namespace if missing (lowest free index), append the new item
 * on the active page (or on a fresh page, initialising an erased
 * partition as ESP-IDF does), then mark older copies erased. Writing the
 * value already stored does nothing (no flash write), as in ESP-IDF.
 *
 * Power loss at any flash operation leaves either the old or the new value
 * readable by this reader and by ESP-IDF's nvs_get_str(); the next call
 * succeeds (docs/ota-engine.md §16 argues it step by step).
 *
 * Must not run while ESP-IDF's NVS has the partition open (its RAM state
 * would go stale): on a real ESP32 use nvs_set_str() there instead.
 *
 * When only the page ESP-IDF keeps free is left, the page with the most
 * erased entries is reclaimed first (FREEING, copy, erase), as ESP-IDF
 * does. Before writing it does what nvs_flash_init() would: finish an
 * interrupted reclaim, and mark torn, corrupt and incomplete entries
 * ERASED; that may happen even when it then fails.
 *
 * Return: 0; -EINVAL (name empty or longer than 15, value of
 * OTA_NVS_STR_MAX bytes or more with its NUL, partition under 3 pages,
 * write_align not dividing 4); -EEXIST (the key holds another type);
 * -ENOSPC (the live items leave no room even after a reclaim, or no
 * namespace index is left; the flash is unchanged); -EPROTO (a page has a
 * newer format version, or two pages are FREEING); -EIO.
 */
int ota_nvs_set_str(const struct ota_nvs_part *part, const char *ns,
		    const char *key, const char *value);

#endif /* BLEOTA_OTA_ENGINE_NVS_H */
