/* SPDX-License-Identifier: MIT */
/*
 * The INFO and STATUS attributes (docs/protocol.md §6): what a device says
 * about itself and its update session, as TLVs (tlv.h), served by READ and
 * by the Info characteristic. The device encodes and the central decodes
 * the same structs here, so the two sides cannot drift apart.
 *
 * Decoding is strict where a wrong value means corruption and lenient where
 * a newer device may say more: an entry that overruns the buffer, an
 * integer of the wrong width, a repeated type or a TRUSTED_KEYS value that
 * is not a whole number of digests is -EBADMSG; unknown types are skipped,
 * strings longer than their field are cut to it (they are only shown), and
 * digests beyond OTA_INFO_MAX_KEYS are ignored.
 */
#ifndef BLEOTA_PROTOCOL_INFO_H
#define BLEOTA_PROTOCOL_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* INFO attribute TLV types (device description). */
enum ota_info_tlv {
	OTA_INFO_PROTO_VERSION = 0x01, /* u8 */
	OTA_INFO_MAX_VALUE = 0x02,     /* u16: longest value accepted */
	OTA_INFO_WINDOW = 0x03,        /* u32: credit window, bytes */
	OTA_INFO_SLOT_SIZE = 0x04,     /* u32: capacity of the update slot */
	OTA_INFO_CHIP_ID = 0x05,       /* u16 */
	OTA_INFO_RUN_VERSION = 0x06,   /* string */
	OTA_INFO_RUN_PROJECT = 0x07,   /* string */
	OTA_INFO_RUN_SECVER = 0x08,    /* u32 */
	OTA_INFO_RUN_SLOT = 0x09,      /* u8 */
	OTA_INFO_CAPS = 0x0a,          /* u32, OTA_CAP_* */
	OTA_INFO_TRUSTED_KEYS = 0x0b,  /* n x 32: SHA-256 of trusted keys */
	OTA_INFO_RUN_TAG = 0x0c,       /* string <= 128: running image's tag */
};
#define OTA_INFO_MAX_KEYS 3 /* trusted key digests INFO can list */
#define OTA_CAP_RESUME    0x01
#define OTA_CAP_ROLLBACK  0x02
#define OTA_CAP_SIGNED    0x04
#define OTA_CAP_TAG       0x10 /* stores the manifest's TAG (RUN_TAG) */
#define OTA_INFO_TAG_MAX  128  /* characters of a version tag */
/*
 * Longest INFO or STATUS attribute a device sends (INFO with three key
 * digests and a 128-character tag is 334 bytes; room is left for a few
 * more fields). READ buffers on both sides are this size.
 */
#define OTA_ATTR_MAX_LEN  384

/* STATUS attribute TLV types (session and boot state). */
enum ota_status_tlv {
	OTA_ST_RX_STATE = 0x01,    /* u8, enum ota_rx_state */
	OTA_ST_IMAGE_SIZE = 0x02,  /* u32, current session */
	OTA_ST_HELD = 0x03,        /* u32, verified bytes held */
	OTA_ST_SHA256 = 0x04,      /* 32 bytes, current session */
	OTA_ST_RUN_SLOT = 0x05,    /* u8 */
	OTA_ST_RUN_STATE = 0x06,   /* u32, ESP-IDF ota_state */
	OTA_ST_RUN_VERSION = 0x07, /* string */
	OTA_ST_OTHER_STATE = 0x08, /* u32 */
	OTA_ST_LAST_STATUS = 0x09, /* u8: last session outcome */
	OTA_ST_LAST_DETAIL = 0x0a, /* string: what happened at last boot */
	OTA_ST_RUN_TAG = 0x0b,     /* string <= 128: running image's tag */
};

/* What the device reports about itself (INFO attribute). */
struct ota_dev_info {
	uint32_t slot_size;
	uint16_t chip_id;
	char run_version[33];
	char run_project[33];
	uint32_t run_secure_version;
	uint8_t run_slot;
	uint32_t caps; /* OTA_CAP_* */
	/* digests of the signing keys the device trusts (INFO 0x0b) */
	uint8_t trusted_keys[OTA_INFO_MAX_KEYS][32];
	uint8_t n_trusted_keys;
	/* the running image's version tag (INFO 0x0c); "" none or unknown */
	char run_tag[OTA_INFO_TAG_MAX + 1];
};

/* Boot state (STATUS attribute); session fields are the receiver's own. */
struct ota_dev_status {
	uint8_t run_slot;
	uint32_t run_state;   /* ESP-IDF ota_img_states, 0xffffffff undefined */
	uint32_t other_state; /* the other OTA slot's entry state */
	char run_version[33];
	char last_boot[64]; /* e.g. "rolled back: new image not confirmed" */
	char run_tag[OTA_INFO_TAG_MAX + 1]; /* as ota_dev_info's */
};

/* The INFO attribute: the sink's description plus the link's limits. */
struct ota_info_attr {
	uint8_t proto_version;
	uint16_t max_value;      /* longest value the device accepts */
	uint32_t window;         /* credit budget, bytes */
	struct ota_dev_info dev; /* run_slot 0xff: none; caps as sent */
};

/* The STATUS attribute: the receiver's session plus the sink's boot state. */
struct ota_status_attr {
	uint8_t rx_state;    /* enum ota_rx_state */
	uint8_t last_status; /* how the last session ended, enum ota_status */
	bool has_session;    /* image_size, held and sha256 are present */
	uint32_t image_size;
	uint32_t held;
	uint8_t sha256[32];
	struct ota_dev_status dev; /* run_slot 0xff: none */
};

/**
 * ota_info_encode() - @a as INFO TLVs into @buf, in the order of §6.1
 * (TRUSTED_KEYS only when there are any, RUN_TAG only when not empty). Strings end at their NUL or at
 * their field's end.
 *
 * Return: the length, or -EMSGSIZE if @cap is too small.
 */
int ota_info_encode(uint8_t *buf, size_t cap, const struct ota_info_attr *a);

/**
 * ota_info_decode() - INFO TLVs into @a (zeroed first; dev.run_slot is 0xff
 * unless RUN_SLOT is present).
 *
 * Return: 0, or -EBADMSG as the file comment says (@a then holds the
 * entries before the bad one).
 */
int ota_info_decode(const uint8_t *buf, size_t len, struct ota_info_attr *a);

/**
 * ota_status_attr_encode() - @a as STATUS TLVs, in the order of §6.2: the
 * session entries only with has_session, LAST_DETAIL and RUN_TAG only when
 * non-empty.
 *
 * Return: the length, or -EMSGSIZE if @cap is too small.
 */
int ota_status_attr_encode(uint8_t *buf, size_t cap,
			   const struct ota_status_attr *a);

/**
 * ota_status_attr_decode() - STATUS TLVs into @a (zeroed first;
 * dev.run_slot is 0xff unless RUN_SLOT is present; has_session is set by
 * IMAGE_SIZE).
 *
 * Return: 0, or -EBADMSG as for ota_info_decode().
 */
int ota_status_attr_decode(const uint8_t *buf, size_t len,
			   struct ota_status_attr *a);

#endif /* BLEOTA_PROTOCOL_INFO_H */
