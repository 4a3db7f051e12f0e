/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the binary partition table verifier
 * (ota_parttable_parse) and the entry codec, as the bootloader and the
 * engine read a table from flash. Input: a chip-size selector (1), then the
 * table bytes.
 *
 * Beyond "no crash": an entry that decodes, encoded and decoded again, gives
 * the same partition; a table the verifier accepts has its OTA slots
 * ota_0..ota_{n-1}, each inside the chip; the CLI's reader
 * (ota_partcsv_from_bin) accepts it too unless it has more partitions than
 * the CLI holds, and the table rebuilt from what it read (ota_partcsv_to_bin,
 * with MD5) verifies to the same layout. Seeds: the two-OTA layout and the
 * unit-test tables.
 */
#include <string.h>

#include "host/partcsv.h"
#include "ota_engine/parttable.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void entries(const uint8_t *buf, size_t len)
{
	struct ota_part p, q;
	uint8_t raw[OTA_PART_ENTRY_LEN];
	size_t off;

	for (off = 0; off + OTA_PART_ENTRY_LEN <= len; off += 32) {
		if (ota_part_decode(buf + off, &p))
			continue;
		ota_part_encode(&p, raw);
		FUZZ_CHECK(!ota_part_decode(raw, &q));
		FUZZ_CHECK(p.type == q.type && p.subtype == q.subtype);
		FUZZ_CHECK(p.offset == q.offset && p.size == q.size);
		FUZZ_CHECK(p.flags == q.flags && !strcmp(p.label, q.label));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ota_partcsv t;
	static uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	struct ota_layout l, l2;
	enum ota_parttable_err e;
	uint32_t chip;
	unsigned int i;
	char err[160];
	uint8_t sel;

	if (!size)
		return 0;
	sel = data[0];
	chip = sel >= 0xf0 ? UINT32_MAX : 1u << (20 + sel % 5);
	data++;
	size--;
	entries(data, size);
	if (ota_parttable_parse(data, size, chip, &l, &e)) {
		FUZZ_CHECK(e != OTA_PARTTABLE_OK);
		FUZZ_CHECK(ota_parttable_strerror(e) != NULL);
		return 0;
	}
	FUZZ_CHECK(l.ota_count <= OTA_PART_MAX_OTA);
	FUZZ_CHECK(l.ota_seen == (1u << l.ota_count) - 1);
	for (i = 0; i < l.ota_count; i++)
		FUZZ_CHECK(l.ota_off[i] <= chip &&
			   l.ota_size[i] <= chip - l.ota_off[i]);

	/*
	 * A table the bootloader accepts converts to CSV unless it holds more
	 * partitions than the CLI does (OTA_PARTCSV_MAX), or an entry of type
	 * or subtype 0xff (ESP_PARTITION_*_ANY), which no CSV can express:
	 * those are refused, cleanly and saying so.
	 */
	if (ota_partcsv_from_bin(data, size, &t, err, sizeof(err))) {
		FUZZ_CHECK(t.count == OTA_PARTCSV_MAX ||
			   strstr(err, "0xff is reserved"));
		return 0;
	}
	/*
	 * Entries of type 0xFF are skipped like the MD5 entry (the iterator
	 * reports both as type 0xFF); a table of nothing else rebuilds empty.
	 */
	if (!t.count)
		return 0;
	if (ota_partcsv_to_bin(&t, true, bin))
		return 0; /* no room for the MD5 entry */
	FUZZ_CHECK(!ota_parttable_parse(bin, sizeof(bin), chip, &l2, &e));
	FUZZ_CHECK(!memcmp(&l, &l2, sizeof(l)));
	return 0;
}
