/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: otadata decoding and slot selection (ota_engine/
 * otadata.h), as the bootloader and the engine read the two sectors.
 * Input: two 32-byte entries, then slot count (1) and target slot (1).
 *
 * Beyond "no crash": encode(decode(x)) == x for each entry; the active
 * entry is valid and holds the larger seq; ota_otadata_last_invalid() picks
 * a CRC-good INVALID/ABORTED entry; and the set_boot plan, once written as
 * planned, makes the bootloader's rule select exactly the requested slot.
 * Seeds: the otadata vectors of the unit tests (empty, one, both sectors).
 */
#include <string.h>

#include "ota_engine/otadata.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_otadata_entry e[2];
	uint8_t raw[OTA_OTADATA_ENTRY_LEN];
	unsigned int i, count, slot, sector;
	uint32_t seq;
	bool in_place;
	int a, li;

	if (size < 2 * OTA_OTADATA_ENTRY_LEN + 2)
		return 0;
	for (i = 0; i < 2; i++) {
		ota_otadata_decode(data + 32 * i, &e[i]);
		ota_otadata_encode(&e[i], raw);
		FUZZ_CHECK(!memcmp(raw, data + 32 * i, sizeof(raw)));
		FUZZ_CHECK(ota_otadata_state_str(e[i].state) != NULL);
		if (ota_otadata_entry_valid(&e[i]))
			FUZZ_CHECK(!ota_otadata_entry_invalid(&e[i]));
	}
	a = ota_otadata_active(e);
	FUZZ_CHECK(a >= -1 && a <= 1);
	if (a >= 0) {
		FUZZ_CHECK(ota_otadata_entry_valid(&e[a]));
		if (ota_otadata_entry_valid(&e[1 - a]))
			FUZZ_CHECK(e[a].seq >= e[1 - a].seq);
	}
	li = ota_otadata_last_invalid(e);
	if (li >= 0) {
		FUZZ_CHECK(li <= 1 && e[li].crc == ota_otadata_crc(e[li].seq));
		FUZZ_CHECK(e[li].state == OTA_IMG_INVALID ||
			   e[li].state == OTA_IMG_ABORTED);
	}

	count = 1 + data[64] % 16;
	slot = data[65] % (count + 1);
	if (ota_otadata_plan_set_boot(e, count, slot, &sector, &seq,
				      &in_place)) {
		FUZZ_CHECK(slot >= count || a >= 0);
		return 0;
	}
	FUZZ_CHECK(slot < count && sector <= 1);
	FUZZ_CHECK(in_place == (a >= 0 && sector == (unsigned int)a));
	ota_otadata_make(&e[sector], seq, OTA_IMG_NEW);
	FUZZ_CHECK(ota_otadata_active(e) == (int)sector);
	FUZZ_CHECK(ota_otadata_slot(seq, count) == slot);
	return 0;
}
