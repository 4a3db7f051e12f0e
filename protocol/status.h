/* SPDX-License-Identifier: MIT */
/*
 * bleota wire status codes.
 *
 * One table, shared by the device and the host: the byte that travels in
 * every response and EVENT, a stable name, what it means, and what a user
 * should do about it. docs/protocol.md renders the same table.
 *
 * The words (ota_status_name/str/hint/is_known) are defined in
 * status_text.c, which host builds link and device firmware leaves out:
 * a device sends the byte and its detail number, the host formats them.
 * ota_status_from_errno() (status.c) is the device-side part.
 */
#ifndef BLEOTA_PROTOCOL_STATUS_H
#define BLEOTA_PROTOCOL_STATUS_H

#include <stdint.h>

/*
 * Wire values are stable: never renumber, only add. The "detail" column
 * says what the 32-bit detail field of an error response carries.
 */
enum ota_status {
	OTA_STATUS_OK = 0x00,
	OTA_STATUS_BAD_PDU = 0x01,        /* detail: 0 */
	OTA_STATUS_UNSUPPORTED = 0x02,    /* detail: offending opcode/type */
	OTA_STATUS_BAD_STATE = 0x03,      /* detail: receiver state */
	OTA_STATUS_BUSY = 0x04,           /* detail: 0 */
	OTA_STATUS_BAD_OFFSET = 0x05,     /* detail: expected offset */
	OTA_STATUS_BAD_CHUNK_SIZE = 0x06, /* detail: largest chunk accepted */
	OTA_STATUS_BAD_MANIFEST = 0x07,   /* detail: offending TLV type */
	OTA_STATUS_TOO_LARGE = 0x10,      /* detail: slot capacity, bytes */
	OTA_STATUS_WRONG_CHIP = 0x11,     /* detail: device chip id */
	OTA_STATUS_DOWNGRADE = 0x12,      /* detail: minimum secure_version */
	OTA_STATUS_SAME_AS_FAILED = 0x13,
	OTA_STATUS_SAME_AS_RUNNING = 0x14,
	OTA_STATUS_SIGNATURE_REQUIRED = 0x15,
	OTA_STATUS_BAD_SIGNATURE = 0x16,
	OTA_STATUS_UNTRUSTED_KEY = 0x17,
	OTA_STATUS_WRONG_BASE = 0x18, /* detail: 0 */
	OTA_STATUS_INCOMPLETE = 0x20, /* detail: first missing chunk */
	OTA_STATUS_HASH_MISMATCH = 0x21,
	OTA_STATUS_BAD_IMAGE = 0x22, /* detail: device reason code */
	OTA_STATUS_MANIFEST_MISMATCH = 0x23,
	OTA_STATUS_BLOCK_RETRIES = 0x24, /* detail: block index */
	OTA_STATUS_BAD_PATCH = 0x25,     /* detail: decoder reason code */
	OTA_STATUS_FLASH_ERROR = 0x30,   /* detail: image offset */
	OTA_STATUS_NOT_VERIFIED = 0x31,
	OTA_STATUS_NOTHING_PENDING = 0x32,
	OTA_STATUS_NO_ROLLBACK_TARGET = 0x33,
	OTA_STATUS_PENDING_CONFIRM = 0x34,
	OTA_STATUS_NO_SLOT = 0x35,
	OTA_STATUS_REBOOT_REQUIRED = 0x36,
	OTA_STATUS_TIMEOUT = 0x40, /* detail: idle time, ms */
	OTA_STATUS_ABORTED = 0x41,
	OTA_STATUS_INTERNAL = 0x7f,
};

/* status_text.c (host builds only) */

/**
 * ota_status_name() - stable upper-case name of a wire status.
 * @st: any byte; unknown values give "UNKNOWN".
 *
 * Return: a static string such as "TOO_LARGE".
 */
const char *ota_status_name(uint8_t st);

/**
 * ota_status_str() - one-line meaning of a status, lower case, no period.
 * @st: any byte; unknown values give a generic text.
 *
 * Return: a static string such as "image is larger than the update slot".
 */
const char *ota_status_str(uint8_t st);

/**
 * ota_status_hint() - what the user should do next.
 * @st: any byte.
 *
 * Return: a static string, or "" for OTA_STATUS_OK.
 */
const char *ota_status_hint(uint8_t st);

/**
 * ota_status_is_known() - whether @st is a value this build defines.
 */
int ota_status_is_known(uint8_t st);

/* status.c (device and host) */

/**
 * ota_status_from_errno() - map a negative errno from a device-side call
 * onto the closest wire status (see STYLE errno table).
 * @err: 0 or a negative errno.
 *
 * Return: OTA_STATUS_OK for 0, OTA_STATUS_INTERNAL for unmapped values.
 */
enum ota_status ota_status_from_errno(int err);

#endif /* BLEOTA_PROTOCOL_STATUS_H */
