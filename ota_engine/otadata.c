/* SPDX-License-Identifier: MIT */
/*
 * otadata rules, as components/bootloader_support and app_update implement
 * them (see docs/ota-engine.md for the diagrams).
 *
 * The CRC covers the 4-byte little-endian seq only, computed with the ROM's
 * esp_rom_crc32_le(UINT32_MAX, ...): reflected CRC-32 with an initial
 * register of 0 and a final xor, so seq 1 -> 0x4743989A (not zlib's value).
 *
 * Active-entry choice is the small table below, scanned in order. The order
 * matters only for the tie: IDF compares MAX(seq0, seq1) against seq0 first,
 * so equal sequence numbers (written by pre-v6 set_boot re-selecting the
 * active slot) resolve to sector 0.
 */
#include "ota_engine/otadata.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/crc32.h"

const char *ota_otadata_state_str(uint32_t state)
{
	switch (state) {
	case OTA_IMG_NEW:
		return "NEW";
	case OTA_IMG_PENDING_VERIFY:
		return "PENDING_VERIFY";
	case OTA_IMG_VALID:
		return "VALID";
	case OTA_IMG_INVALID:
		return "INVALID";
	case OTA_IMG_ABORTED:
		return "ABORTED";
	case OTA_IMG_UNDEFINED:
		return "UNDEFINED";
	default:
		return "UNKNOWN";
	}
}

uint32_t ota_otadata_crc(uint32_t seq)
{
	uint8_t le[4];

	ota_put_le32(le, seq);
	return ota_crc32(UINT32_MAX, le, sizeof(le));
}

void ota_otadata_decode(const uint8_t raw[OTA_OTADATA_ENTRY_LEN],
			struct ota_otadata_entry *e)
{
	e->seq = ota_get_le32(raw);
	memcpy(e->label, raw + 4, OTA_OTADATA_LABEL_LEN);
	e->state = ota_get_le32(raw + 24);
	e->crc = ota_get_le32(raw + 28);
}

void ota_otadata_encode(const struct ota_otadata_entry *e,
			uint8_t raw[OTA_OTADATA_ENTRY_LEN])
{
	ota_put_le32(raw, e->seq);
	memcpy(raw + 4, e->label, OTA_OTADATA_LABEL_LEN);
	ota_put_le32(raw + 24, e->state);
	ota_put_le32(raw + 28, e->crc);
}

void ota_otadata_make(struct ota_otadata_entry *e, uint32_t seq, uint32_t state)
{
	e->seq = seq;
	memset(e->label, 0xff, sizeof(e->label));
	e->state = state;
	e->crc = ota_otadata_crc(seq);
}

bool ota_otadata_entry_invalid(const struct ota_otadata_entry *e)
{
	return e->seq == OTA_OTADATA_SEQ_EMPTY || e->state == OTA_IMG_INVALID ||
	       e->state == OTA_IMG_ABORTED;
}

bool ota_otadata_entry_valid(const struct ota_otadata_entry *e)
{
	return !ota_otadata_entry_invalid(e) &&
	       e->crc == ota_otadata_crc(e->seq);
}

enum cmp {
	CMP_ANY,
	CMP_GE, /* seq0 >= seq1: tie goes to sector 0 */
	CMP_LT,
};

static const struct {
	bool valid0;
	bool valid1;
	enum cmp cmp;
	int active;
} select_table[] = {
	{ true, true, CMP_GE, 0 },     { true, true, CMP_LT, 1 },
	{ true, false, CMP_ANY, 0 },   { false, true, CMP_ANY, 1 },
	{ false, false, CMP_ANY, -1 },
};

int ota_otadata_active(const struct ota_otadata_entry e[OTA_OTADATA_SECTORS])
{
	bool v0 = ota_otadata_entry_valid(&e[0]);
	bool v1 = ota_otadata_entry_valid(&e[1]);
	size_t i;

	for (i = 0; i < sizeof(select_table) / sizeof(select_table[0]); i++) {
		if (select_table[i].valid0 != v0 ||
		    select_table[i].valid1 != v1)
			continue;
		switch (select_table[i].cmp) {
		case CMP_ANY:
			return select_table[i].active;
		case CMP_GE:
			if (e[0].seq >= e[1].seq)
				return select_table[i].active;
			break;
		case CMP_LT:
			if (e[0].seq < e[1].seq)
				return select_table[i].active;
			break;
		}
	}
	return -1;
}

unsigned int ota_otadata_slot(uint32_t seq, unsigned int count)
{
	return (seq - 1) % count;
}

int ota_otadata_plan_set_boot(const struct ota_otadata_entry e[2],
			      unsigned int count, unsigned int slot,
			      unsigned int *out_sector, uint32_t *out_seq,
			      bool *out_in_place)
{
	uint32_t seq, rem, add;
	int active;

	if (!count || slot >= count)
		return -EINVAL;
	active = ota_otadata_active(e);
	if (active < 0) {
		*out_sector = 0;
		*out_seq = slot + 1;
		*out_in_place = false;
		return 0;
	}
	if (ota_otadata_slot(e[active].seq, count) == slot) {
		*out_sector = (unsigned int)active;
		*out_seq = e[active].seq;
		*out_in_place = true;
		return 0;
	}
	/*
	 * The smallest seq >= active seq that maps to @slot, in 32 bits (a
	 * 64-bit division would pull libgcc's 700-byte helper into a
	 * Cortex-M build): active + the distance up to the next seq of
	 * @slot, refused where that reaches the erased value.
	 */
	seq = (slot + 1) % count;
	if (seq < e[active].seq) {
		rem = (e[active].seq - seq) % count;
		add = rem ? count - rem : 0;
		if (add >= OTA_OTADATA_SEQ_EMPTY - e[active].seq)
			return -EINVAL;
		seq = e[active].seq + add;
	}
	if (seq == 0)
		seq = count;
	if (seq >= OTA_OTADATA_SEQ_EMPTY)
		return -EINVAL;
	*out_sector = 1u - (unsigned int)active;
	*out_seq = seq;
	*out_in_place = false;
	return 0;
}

int ota_otadata_last_invalid(const struct ota_otadata_entry e[2])
{
	int best = -1;
	int i;

	for (i = 0; i < 2; i++) {
		if (e[i].seq == OTA_OTADATA_SEQ_EMPTY ||
		    e[i].crc != ota_otadata_crc(e[i].seq))
			continue;
		if (e[i].state != OTA_IMG_INVALID &&
		    e[i].state != OTA_IMG_ABORTED)
			continue;
		if (best < 0 || e[i].seq < e[best].seq)
			best = i;
	}
	return best;
}
