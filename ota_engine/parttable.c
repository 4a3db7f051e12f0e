/* SPDX-License-Identifier: MIT */
/*
 * Partition table verification, modelled on the ESP-IDF bootloader.
 *
 * esp_partition_table_verify() walks up to 96 32-byte slots: a partition
 * entry (magic AA 50) must lie inside the chip; an MD5 entry (EB EB + 14 x FF
 * + digest) must match the MD5 of every preceding byte and may appear once;
 * an entry with magic FFFF, type FF and subtype FF ends the table and is only
 * valid after at least one partition; anything else is invalid. The iterator
 * below makes the same decisions one entry at a time, so the engine can
 * verify straight from flash with a 32-byte buffer.
 *
 * The layout then mirrors bootloader_utility_load_partition_table(): app
 * partitions with subtype 0x10..0x1F fill ota[subtype & 0xF] and the bootloader
 * counts them, so seq -> slot only works for gap-free ota_0..ota_{n-1}. We
 * reject gaps and duplicates instead of booting into a hole.
 */
#include "ota_engine/parttable.h"

#include "common/bytes.h"
#include "ota_engine/util.h"

#include <errno.h>
#include <string.h>

const char *ota_parttable_strerror(enum ota_parttable_err err)
{
	switch (err) {
	case OTA_PARTTABLE_OK:
		return "partition table valid";
	case OTA_PARTTABLE_ERR_MAGIC:
		return "partition entry with bad magic";
	case OTA_PARTTABLE_ERR_RANGE:
		return "partition extends beyond the flash size";
	case OTA_PARTTABLE_ERR_MD5:
		return "partition table MD5 mismatch";
	case OTA_PARTTABLE_ERR_MD5_DUP:
		return "partition table has a second MD5 entry";
	case OTA_PARTTABLE_ERR_NO_END:
		return "partition table has no end marker";
	case OTA_PARTTABLE_ERR_EMPTY:
		return "partition table is empty";
	case OTA_PARTTABLE_ERR_OTA_GAP:
		return "OTA app partitions are not consecutive from ota_0";
	case OTA_PARTTABLE_ERR_DUP:
		return "duplicate ota_N, otadata or journal partition";
	case OTA_PARTTABLE_ERR_OTADATA_SIZE:
		return "otadata partition is not 0x2000 bytes";
	}
	return "unknown partition table error";
}

int ota_part_decode(const uint8_t raw[OTA_PART_ENTRY_LEN], struct ota_part *out)
{
	if (raw[0] != (OTA_PART_MAGIC & 0xff) || raw[1] != OTA_PART_MAGIC >> 8)
		return -EILSEQ;
	out->type = raw[2];
	out->subtype = raw[3];
	out->offset = ota_get_le32(raw + 4);
	out->size = ota_get_le32(raw + 8);
	/* a 16-character label fills the field with no terminator */
	memcpy(out->label, raw + 12, OTA_PART_LABEL_LEN);
	out->label[OTA_PART_LABEL_LEN] = '\0';
	out->flags = ota_get_le32(raw + 28);
	return 0;
}

void ota_part_encode(const struct ota_part *p, uint8_t raw[OTA_PART_ENTRY_LEN])
{
	size_t n = ota_strnlen(p->label, OTA_PART_LABEL_LEN);

	raw[0] = OTA_PART_MAGIC & 0xff;
	raw[1] = OTA_PART_MAGIC >> 8;
	raw[2] = p->type;
	raw[3] = p->subtype;
	ota_put_le32(raw + 4, p->offset);
	ota_put_le32(raw + 8, p->size);
	memset(raw + 12, 0, OTA_PART_LABEL_LEN);
	memcpy(raw + 12, p->label, n);
	ota_put_le32(raw + 28, p->flags);
}

void ota_parttable_iter_init(struct ota_parttable_iter *it, uint32_t chip_size)
{
	memset(it, 0, sizeof(*it));
	it->chip_size = chip_size;
	ota_md5_init(&it->md5);
}

static int iter_fail(struct ota_parttable_iter *it, enum ota_parttable_err err)
{
	uint8_t scratch[OTA_MD5_LEN];

	it->err = err;
	it->err_index = it->index;
	ota_md5_final(&it->md5, scratch);
	return -EILSEQ;
}

int ota_parttable_iter_feed(struct ota_parttable_iter *it,
			    const uint8_t raw[OTA_PART_ENTRY_LEN],
			    struct ota_part *out)
{
	static const uint8_t md5_fill[14] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	};
	uint8_t digest[OTA_MD5_LEN];

	if (it->index >= OTA_PARTTABLE_MAX_ENTRIES)
		return iter_fail(it, OTA_PARTTABLE_ERR_NO_END);
	if (ota_part_decode(raw, out) == 0) {
		if (out->offset > it->chip_size ||
		    out->size > it->chip_size - out->offset)
			return iter_fail(it, OTA_PARTTABLE_ERR_RANGE);
		ota_md5_update(&it->md5, raw, OTA_PART_ENTRY_LEN);
		it->num_parts++;
		it->index++;
		return 1;
	}
	if (raw[0] == 0xeb && raw[1] == 0xeb &&
	    !memcmp(raw + 2, md5_fill, sizeof(md5_fill))) {
		if (it->md5_seen)
			return iter_fail(it, OTA_PARTTABLE_ERR_MD5_DUP);
		it->md5_seen = true;
		ota_md5_final(&it->md5, digest);
		if (memcmp(digest, raw + 16, OTA_MD5_LEN))
			return iter_fail(it, OTA_PARTTABLE_ERR_MD5);
		/* entries after the MD5 are not covered by it */
		ota_md5_init(&it->md5);
		memset(out, 0, sizeof(*out));
		out->type = 0xff;
		it->index++;
		return 1;
	}
	if (raw[0] == 0xff && raw[1] == 0xff && raw[2] == 0xff &&
	    raw[3] == 0xff) {
		if (!it->num_parts)
			return iter_fail(it, OTA_PARTTABLE_ERR_EMPTY);
		ota_md5_final(&it->md5, digest);
		return 0;
	}
	return iter_fail(it, OTA_PARTTABLE_ERR_MAGIC);
}

void ota_layout_init(struct ota_layout *l)
{
	memset(l, 0, sizeof(*l));
}

static int layout_err(enum ota_parttable_err *err, enum ota_parttable_err e)
{
	if (err)
		*err = e;
	return -EILSEQ;
}

int ota_layout_add(struct ota_layout *l, const struct ota_part *p,
		   enum ota_parttable_err *err)
{
	if (p->type == OTA_PART_TYPE_APP) {
		if ((p->subtype & ~OTA_PART_SUBTYPE_APP_OTA_MASK) ==
		    OTA_PART_SUBTYPE_APP_OTA_0) {
			unsigned int n =
				p->subtype & OTA_PART_SUBTYPE_APP_OTA_MASK;

			if (l->ota_seen & (1u << n))
				return layout_err(err, OTA_PARTTABLE_ERR_DUP);
			l->ota_seen |= (uint16_t)(1u << n);
			l->ota_off[n] = p->offset;
			l->ota_size[n] = p->size;
			l->ota_count++;
		} else if (p->subtype == OTA_PART_SUBTYPE_APP_FACTORY) {
			l->has_factory = true;
			l->factory_off = p->offset;
			l->factory_size = p->size;
		} else if (p->subtype == OTA_PART_SUBTYPE_APP_TEST) {
			l->has_test = true;
			l->test_off = p->offset;
			l->test_size = p->size;
		}
	} else if (p->type == OTA_PART_TYPE_DATA &&
		   p->subtype == OTA_PART_SUBTYPE_DATA_OTA) {
		if (l->has_otadata)
			return layout_err(err, OTA_PARTTABLE_ERR_DUP);
		if (p->size != OTA_OTADATA_PART_SIZE)
			return layout_err(err, OTA_PARTTABLE_ERR_OTADATA_SIZE);
		l->has_otadata = true;
		l->otadata_off = p->offset;
	} else if (p->type == OTA_PART_TYPE_BLEOTA &&
		   p->subtype == OTA_PART_SUBTYPE_BLEOTA_JOURNAL) {
		if (l->has_journal)
			return layout_err(err, OTA_PARTTABLE_ERR_DUP);
		l->has_journal = true;
		l->journal_off = p->offset;
		l->journal_size = p->size;
	} else if (p->type == OTA_PART_TYPE_DATA &&
		   p->subtype == OTA_PART_SUBTYPE_DATA_NVS && !l->has_nvs) {
		l->has_nvs = true;
		l->nvs_off = p->offset;
		l->nvs_size = p->size;
	}
	return 0;
}

int ota_layout_finish(struct ota_layout *l, enum ota_parttable_err *err)
{
	if (l->ota_seen != (uint16_t)((1u << l->ota_count) - 1))
		return layout_err(err, OTA_PARTTABLE_ERR_OTA_GAP);
	return 0;
}

int ota_parttable_parse(const uint8_t *buf, size_t len, uint32_t chip_size,
			struct ota_layout *out, enum ota_parttable_err *err)
{
	struct ota_parttable_iter it;
	struct ota_part p;
	enum ota_parttable_err e = OTA_PARTTABLE_OK;
	size_t off;
	int rc;

	ota_parttable_iter_init(&it, chip_size);
	ota_layout_init(out);
	for (off = 0;; off += OTA_PART_ENTRY_LEN) {
		if (off + OTA_PART_ENTRY_LEN > len ||
		    off >= OTA_PARTTABLE_MAX_LEN) {
			iter_fail(&it, OTA_PARTTABLE_ERR_NO_END);
			e = it.err;
			goto fail;
		}
		rc = ota_parttable_iter_feed(&it, buf + off, &p);
		if (rc < 0) {
			e = it.err;
			goto fail;
		}
		if (rc == 0)
			break;
		if (p.type != 0xff && ota_layout_add(out, &p, &e))
			goto fail;
	}
	if (ota_layout_finish(out, &e))
		goto fail;
	if (err)
		*err = OTA_PARTTABLE_OK;
	return 0;
fail:
	if (err)
		*err = e;
	return -EILSEQ;
}
