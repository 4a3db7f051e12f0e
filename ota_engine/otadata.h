/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF otadata: two 4 KiB sectors, each holding one 32-byte
 * esp_ota_select_entry_t at its start. Entry codec, the CRC variant, the
 * bootloader's validity and active-entry rules, seq -> slot, and the
 * esp_ota_set_boot_partition() sequence-number rule. Pure: no flash access.
 */
#ifndef BLEOTA_OTA_ENGINE_OTADATA_H
#define BLEOTA_OTA_ENGINE_OTADATA_H

#include <stdbool.h>
#include <stdint.h>

#define OTA_OTADATA_ENTRY_LEN 32u
#define OTA_OTADATA_LABEL_LEN 20u
#define OTA_OTADATA_SECTORS   2u
#define OTA_OTADATA_SEQ_EMPTY 0xFFFFFFFFu

/*
 * esp_ota_img_states_t. Kept as #defines because UNDEFINED (0xFFFFFFFF) is
 * not representable in a C enum.
 */
#define OTA_IMG_NEW            0x0u /* set by set_boot with rollback */
#define OTA_IMG_PENDING_VERIFY 0x1u /* first boot of a NEW image */
#define OTA_IMG_VALID          0x2u /* confirmed by the app */
#define OTA_IMG_INVALID        0x3u /* rejected by the app; never booted */
#define OTA_IMG_ABORTED        0x4u /* reset before confirming; never booted */
#define OTA_IMG_UNDEFINED      0xFFFFFFFFu /* set_boot without rollback */

struct ota_otadata_entry {
	uint32_t seq;
	uint8_t label[OTA_OTADATA_LABEL_LEN]; /* unused by IDF, normally 0xFF */
	uint32_t state;
	uint32_t crc;
};

/** "NEW", "PENDING_VERIFY", ..., "UNDEFINED", or "0x%x"-less "UNKNOWN". */
const char *ota_otadata_state_str(uint32_t state);

/** CRC of an entry: esp_rom_crc32_le(UINT32_MAX, &seq, 4). */
uint32_t ota_otadata_crc(uint32_t seq);

void ota_otadata_decode(const uint8_t raw[OTA_OTADATA_ENTRY_LEN],
			struct ota_otadata_entry *e);
void ota_otadata_encode(const struct ota_otadata_entry *e,
			uint8_t raw[OTA_OTADATA_ENTRY_LEN]);

/**
 * Fill @e as set_boot writes it: @seq, label 0xFF, @state, the CRC.
 */
void ota_otadata_make(struct ota_otadata_entry *e, uint32_t seq,
		      uint32_t state);

/**
 * The bootloader's invalid(): seq erased or state INVALID/ABORTED. Note that
 * it ignores the CRC (bootloader_common_ota_select_invalid()).
 */
bool ota_otadata_entry_invalid(const struct ota_otadata_entry *e);

/** !invalid() and the CRC matches (bootloader_common_ota_select_valid()). */
bool ota_otadata_entry_valid(const struct ota_otadata_entry *e);

/**
 * bootloader_common_get_active_otadata(): the index (0/1) of the valid entry
 * with the larger seq, sector 0 on a tie; -1 if neither is valid.
 */
int ota_otadata_active(const struct ota_otadata_entry e[OTA_OTADATA_SECTORS]);

/** Slot of a sequence number: (seq - 1) % @count. @count must be > 0. */
unsigned int ota_otadata_slot(uint32_t seq, unsigned int count);

/**
 * esp_rewrite_ota_data() (IDF v6 rule): where and with which seq to write
 * the entry that selects OTA slot @slot out of @count.
 * Fills *@out_sector and *@out_seq; *@out_in_place is true when the target
 * sector is the active one (re-selecting the active slot).
 * Returns 0 or -EINVAL (@count == 0, @slot >= @count, seq overflow).
 */
int ota_otadata_plan_set_boot(const struct ota_otadata_entry e[2],
			      unsigned int count, unsigned int slot,
			      unsigned int *out_sector, uint32_t *out_seq,
			      bool *out_in_place);

/**
 * esp_ota_get_last_invalid_partition() selection: among entries with a good
 * CRC and state INVALID or ABORTED, the index with the smaller seq; -1 if
 * none.
 */
int ota_otadata_last_invalid(const struct ota_otadata_entry e[2]);

#endif /* BLEOTA_OTA_ENGINE_OTADATA_H */
