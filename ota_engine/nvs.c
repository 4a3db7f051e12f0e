/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF NVS, format version 2 (docs/ota-engine.md §16 has the byte
 * layout and the power-cut argument; the facts come from ESP-IDF's
 * nvs_page.cpp, nvs_pagemanager.cpp and nvs_storage.cpp, read, not copied).
 *
 * Reading. A page is 4 KiB: a 32-byte header (state word outside the
 * header CRC), a 2-bit-per-entry state bitmap, 126 entries of 32 bytes.
 * Each page is classified as ESP-IDF's Page::load() does; in ACTIVE pages
 * the first EMPTY bitmap slot ends the page, and written-but-unrecorded
 * entries from there on are torn writes. An item is trusted when its
 * header CRC, type/span/size, bitmap span and data CRC all hold; anything
 * else becomes a SKIP record, so a caller sees what was left out and why.
 * The walk keeps one page's bitmap in RAM and reads 32 bytes at a time.
 *
 * This file is the reader: page classification, the entry walk
 * (ota_nvs_iter_*), namespace and string lookups. The writer
 * (ota_nvs_set_str: scan, repairs, reclaim) is nvs_write.c; what both
 * share is nvs_priv.h.
 */
#include "ota_engine/nvs.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "ota_engine/nvs_priv.h"
#include "ota_engine/util.h"

const char *ota_nvs_page_state_str(enum ota_nvs_page_state s)
{
	switch (s) {
	case OTA_NVS_PAGE_EMPTY:
		return "EMPTY";
	case OTA_NVS_PAGE_ACTIVE:
		return "ACTIVE";
	case OTA_NVS_PAGE_FULL:
		return "FULL";
	case OTA_NVS_PAGE_FREEING:
		return "FREEING";
	case OTA_NVS_PAGE_CORRUPT:
		return "CORRUPT";
	}
	return "?";
}

const char *ota_nvs_problem_str(enum ota_nvs_problem p)
{
	switch (p) {
	case OTA_NVS_PROBLEM_NONE:
		return "";
	case OTA_NVS_PROBLEM_HEADER_CRC:
		return "page header CRC mismatch";
	case OTA_NVS_PROBLEM_PAGE_STATE:
		return "unknown page state";
	case OTA_NVS_PROBLEM_NOT_BLANK:
		return "uninitialised page is not blank";
	case OTA_NVS_PROBLEM_NEW_VERSION:
		return "newer NVS format version";
	case OTA_NVS_PROBLEM_ENTRY_CRC:
		return "entry CRC mismatch";
	case OTA_NVS_PROBLEM_ENTRY_STATE:
		return "illegal entry state";
	case OTA_NVS_PROBLEM_HEADER:
		return "inconsistent type, span or size";
	case OTA_NVS_PROBLEM_INCOMPLETE:
		return "incomplete (data entries not written)";
	case OTA_NVS_PROBLEM_DATA_CRC:
		return "data CRC mismatch";
	case OTA_NVS_PROBLEM_TORN:
		return "torn write after the end of the active page";
	}
	return "?";
}

const char *ota_nvs_type_str(uint8_t type)
{
	static const struct {
		uint8_t code;
		const char *name;
	} names[] = {
		{ OTA_NVS_TYPE_U8, "u8" },
		{ OTA_NVS_TYPE_U16, "u16" },
		{ OTA_NVS_TYPE_U32, "u32" },
		{ OTA_NVS_TYPE_U64, "u64" },
		{ OTA_NVS_TYPE_I8, "i8" },
		{ OTA_NVS_TYPE_I16, "i16" },
		{ OTA_NVS_TYPE_I32, "i32" },
		{ OTA_NVS_TYPE_I64, "i64" },
		{ OTA_NVS_TYPE_SZ, "str" },
		{ OTA_NVS_TYPE_FLOAT, "float" },
		{ OTA_NVS_TYPE_DOUBLE, "double" },
		{ OTA_NVS_TYPE_BLOB, "blob" },
		{ OTA_NVS_TYPE_BLOB_DATA, "blob_data" },
		{ OTA_NVS_TYPE_BLOB_IDX, "blob_index" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == type)
			return names[i].name;
	return "?";
}

static bool is_var_len(uint8_t type)
{
	return type == OTA_NVS_TYPE_SZ || type == OTA_NVS_TYPE_BLOB ||
	       type == OTA_NVS_TYPE_BLOB_DATA;
}

/* Item::checkHeaderConsistency(): known type, span and size agree, fits */
static bool header_consistent(const uint8_t *e, unsigned int i)
{
	unsigned int span = e[2];
	uint32_t size;

	switch (e[1]) {
	case OTA_NVS_TYPE_U8:
	case OTA_NVS_TYPE_U16:
	case OTA_NVS_TYPE_U32:
	case OTA_NVS_TYPE_U64:
	case OTA_NVS_TYPE_I8:
	case OTA_NVS_TYPE_I16:
	case OTA_NVS_TYPE_I32:
	case OTA_NVS_TYPE_I64:
	case OTA_NVS_TYPE_FLOAT:
	case OTA_NVS_TYPE_DOUBLE:
	case OTA_NVS_TYPE_BLOB_IDX:
		return span == 1;
	case OTA_NVS_TYPE_BLOB_DATA:
		if (e[3] == CHUNK_ANY)
			return false;
		/* fall through */
	case OTA_NVS_TYPE_SZ:
	case OTA_NVS_TYPE_BLOB:
		size = ota_get_le16(e + 24);
		return size <= (OTA_NVS_ENTRY_COUNT - i - 1) *
				       OTA_NVS_ENTRY_SIZE &&
		       span == 1 + (size + OTA_NVS_ENTRY_SIZE - 1) /
					       OTA_NVS_ENTRY_SIZE;
	default:
		return false;
	}
}

/* ----- page loading ------------------------------------------------------ */

/*
 * Page::load(): classify the page; for ACTIVE/FULL/FREEING read the bitmap
 * and, for ACTIVE, find where ESP-IDF considers the page to end.
 */
static int load_page(struct ota_nvs_iter *it, struct ota_nvs_rec *rec)
{
	const struct ota_nvs_part *p = &it->part;
	uint8_t buf[64];
	uint32_t state, off;
	unsigned int i;
	int err;

	memset(rec, 0, sizeof(*rec));
	rec->kind = OTA_NVS_REC_PAGE;
	rec->page = it->page;
	it->entry = 0;
	it->end = 0;
	it->torn_end = 0;
	it->seq = 0;
	err = rd(p, page_addr(p, it->page), buf, HDR_SIZE);
	if (err)
		return err;
	state = ota_get_le32(buf);
	rec->version = buf[8];
	if (state == STATE_EMPTY) {
		rec->state = OTA_NVS_PAGE_EMPTY;
		for (off = 0; off < OTA_NVS_PAGE_SIZE; off += sizeof(buf)) {
			err = rd(p, page_addr(p, it->page) + off, buf,
				 sizeof(buf));
			if (err)
				return err;
			if (!all_ff(buf, sizeof(buf))) {
				rec->state = OTA_NVS_PAGE_CORRUPT;
				rec->problem = OTA_NVS_PROBLEM_NOT_BLANK;
				break;
			}
		}
	} else if (ota_get_le32(buf + 28) != header_crc(buf)) {
		rec->state = OTA_NVS_PAGE_CORRUPT;
		rec->problem = OTA_NVS_PROBLEM_HEADER_CRC;
	} else if (buf[8] < NVS_VERSION) {
		rec->state = OTA_NVS_PAGE_CORRUPT;
		rec->problem = OTA_NVS_PROBLEM_NEW_VERSION;
	} else if (state == STATE_ACTIVE || state == STATE_FULL ||
		   state == STATE_FREEING) {
		rec->state = state == STATE_ACTIVE ? OTA_NVS_PAGE_ACTIVE
			     : state == STATE_FULL ? OTA_NVS_PAGE_FULL
						   : OTA_NVS_PAGE_FREEING;
		rec->seq = ota_get_le32(buf + 4);
	} else {
		rec->state = OTA_NVS_PAGE_CORRUPT;
		rec->problem = OTA_NVS_PROBLEM_PAGE_STATE;
	}
	it->state = (uint8_t)rec->state;
	it->seq = rec->seq;
	if (rec->state != OTA_NVS_PAGE_ACTIVE &&
	    rec->state != OTA_NVS_PAGE_FULL &&
	    rec->state != OTA_NVS_PAGE_FREEING)
		return 0;
	err = rd(p, page_addr(p, it->page) + BITMAP_OFF, it->bitmap,
		 sizeof(it->bitmap));
	if (err)
		return err;
	it->end = OTA_NVS_ENTRY_COUNT;
	it->torn_end = OTA_NVS_ENTRY_COUNT;
	if (rec->state != OTA_NVS_PAGE_ACTIVE)
		return 0;
	for (i = 0; i < OTA_NVS_ENTRY_COUNT; i++)
		if (ent_state(it->bitmap, i) == ES_EMPTY)
			break;
	it->end = (uint8_t)i;
	/*
	 * ESP-IDF checks the first word of each entry from there on; any
	 * byte is checked here, which also catches a write that left the
	 * first word blank. Both mark the run ERASED before writing after it.
	 */
	for (; i < OTA_NVS_ENTRY_COUNT; i++) {
		err = rd(p, entry_addr(p, it->page, i), buf,
			 OTA_NVS_ENTRY_SIZE);
		if (err)
			return err;
		if (all_ff(buf, OTA_NVS_ENTRY_SIZE))
			break;
	}
	it->torn_end = (uint8_t)i;
	return 0;
}

/*
 * Check the item whose header is entry @i (bitmap WRITTEN) of the current
 * page: fills @rec as ITEM or SKIP and returns how many entries it covers.
 */
static int check_item(struct ota_nvs_iter *it, unsigned int i,
		      struct ota_nvs_rec *rec, unsigned int *adv)
{
	const struct ota_nvs_part *p = &it->part;
	uint8_t e[OTA_NVS_ENTRY_SIZE], d[OTA_NVS_ENTRY_SIZE];
	uint32_t left, crc = UINT32_MAX;
	unsigned int j, n;
	int err;

	*adv = 1;
	rec->kind = OTA_NVS_REC_SKIP;
	err = rd(p, entry_addr(p, it->page, i), e, sizeof(e));
	if (err)
		return err;
	if (ota_get_le32(e + 4) != entry_crc(e)) {
		rec->problem = OTA_NVS_PROBLEM_ENTRY_CRC;
		return 0;
	}
	if (!header_consistent(e, i)) {
		rec->problem = OTA_NVS_PROBLEM_HEADER;
		return 0;
	}
	rec->ns_index = e[0];
	rec->type = e[1];
	rec->span = e[2];
	rec->chunk_index = e[3];
	memcpy(rec->key, e + 8, OTA_NVS_KEY_MAX);
	rec->key[OTA_NVS_KEY_MAX] = '\0';
	memcpy(rec->data, e + 24, sizeof(rec->data));
	*adv = e[2];
	if (is_var_len(e[1])) {
		rec->len = ota_get_le16(e + 24);
		for (j = i + 1; j < i + e[2]; j++) {
			if (j >= it->end ||
			    ent_state(it->bitmap, j) != ES_WRITTEN) {
				rec->problem = OTA_NVS_PROBLEM_INCOMPLETE;
				return 0;
			}
		}
		for (j = i + 1, left = rec->len; left; j++, left -= n) {
			n = left < OTA_NVS_ENTRY_SIZE ? left
						      : OTA_NVS_ENTRY_SIZE;
			err = rd(p, entry_addr(p, it->page, j), d, n);
			if (err)
				return err;
			crc = ota_crc32(crc, d, n);
		}
		if (crc != ota_get_le32(e + 28)) {
			rec->problem = OTA_NVS_PROBLEM_DATA_CRC;
			return 0;
		}
	}
	rec->kind = OTA_NVS_REC_ITEM;
	return 0;
}

int ota_nvs_iter_init(struct ota_nvs_iter *it, const struct ota_nvs_part *part)
{
	if (!part->flash || !part->size || part->off % OTA_NVS_PAGE_SIZE ||
	    part->size % OTA_NVS_PAGE_SIZE)
		return -EINVAL;
	memset(it, 0, sizeof(*it));
	it->part = *part;
	return 0;
}

int ota_nvs_iter_next(struct ota_nvs_iter *it, struct ota_nvs_rec *out)
{
	uint32_t npages = it->part.size / OTA_NVS_PAGE_SIZE;
	unsigned int i, adv;
	int err;

	while (it->page < npages) {
		if (!it->page_started) {
			err = load_page(it, out);
			if (err)
				return err;
			it->page_started = true;
			return 0;
		}
		while (it->entry < it->torn_end) {
			i = it->entry;
			memset(out, 0, sizeof(*out));
			out->page = it->page;
			out->seq = it->seq;
			out->state = (enum ota_nvs_page_state)it->state;
			out->entry = (uint8_t)i;
			out->kind = OTA_NVS_REC_SKIP;
			if (i >= it->end) {
				out->problem = OTA_NVS_PROBLEM_TORN;
				it->entry++;
				return 0;
			}
			switch (ent_state(it->bitmap, i)) {
			case ES_WRITTEN:
				err = check_item(it, i, out, &adv);
				if (err)
					return err;
				/* an incomplete item may cover torn entries */
				if (i + adv > it->end && it->end < it->torn_end)
					adv = it->end - i;
				it->entry = (uint8_t)(i + adv);
				return 0;
			case ES_ILLEGAL:
				out->problem = OTA_NVS_PROBLEM_ENTRY_STATE;
				it->entry++;
				return 0;
			default:
				it->entry++;
				break;
			}
		}
		it->page++;
		it->page_started = false;
	}
	return -ENOENT;
}

int ota_nvs_read_data(const struct ota_nvs_part *part,
		      const struct ota_nvs_rec *rec, void *buf, size_t cap)
{
	uint32_t addr;

	if (rec->kind != OTA_NVS_REC_ITEM || !is_var_len(rec->type))
		return -EINVAL;
	if (cap < rec->len)
		return -EMSGSIZE;
	addr = entry_addr(part, rec->page, rec->entry + 1u);
	return rec->len && rd(part, addr, buf, rec->len) ? -EIO : (int)rec->len;
}

/* ----- lookups ---------------------------------------------------------- */

bool nvs_name_ok(const char *s)
{
	size_t n = s ? ota_strnlen(s, OTA_NVS_KEY_MAX + 1) : 0;

	return n >= 1 && n <= OTA_NVS_KEY_MAX;
}

/* (seq, page, entry) order: a later write compares greater */
bool nvs_newer(const struct ota_nvs_rec *a, const struct ota_nvs_rec *b)
{
	if (a->seq != b->seq)
		return a->seq > b->seq;
	if (a->page != b->page)
		return a->page > b->page;
	return a->entry > b->entry;
}

/*
 * Namespace table lookup, by @name or by @index (name NULL). As ESP-IDF
 * loads namespaces oldest page first and takes the first match, the oldest
 * entry wins. Fills *@out with its record.
 */
int nvs_find_ns(const struct ota_nvs_part *p, const char *name, uint8_t index,
		struct ota_nvs_rec *out)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	bool found = false;
	int err;

	err = ota_nvs_iter_init(&it, p);
	if (err)
		return err;
	while (!(err = ota_nvs_iter_next(&it, &r))) {
		if (r.kind != OTA_NVS_REC_ITEM || r.ns_index != 0 ||
		    r.type != OTA_NVS_TYPE_U8 || r.data[0] == 0 ||
		    r.data[0] == NS_ANY)
			continue;
		if (name ? strncmp(r.key, name, sizeof(r.key))
			 : r.data[0] != index)
			continue;
		if (!found || nvs_newer(out, &r)) {
			*out = r;
			found = true;
		}
	}
	if (err != -ENOENT)
		return err;
	return found ? 0 : -ENOENT;
}

int ota_nvs_ns_name(const struct ota_nvs_part *part, uint8_t index,
		    char name[OTA_NVS_KEY_MAX + 1])
{
	struct ota_nvs_rec r;
	int err = nvs_find_ns(part, NULL, index, &r);

	if (!err)
		memcpy(name, r.key, OTA_NVS_KEY_MAX + 1);
	return err;
}

/* The next trusted item @key of namespace @ns in the walk @it, any type. */
int nvs_next_match(struct ota_nvs_iter *it, uint8_t ns, const char *key,
		   struct ota_nvs_rec *r)
{
	int err;

	while (!(err = ota_nvs_iter_next(it, r)))
		if (r->kind == OTA_NVS_REC_ITEM && r->ns_index == ns &&
		    !strncmp(r->key, key, sizeof(r->key)))
			return 0;
	return err;
}

/*
 * The newest trusted SZ item @key in namespace @ns_index; *@count gets the
 * number of copies, *@other_type whether the key holds another type.
 */
int nvs_find_str(const struct ota_nvs_part *p, uint8_t ns_index,
		 const char *key, struct ota_nvs_rec *out, unsigned int *count,
		 bool *other_type)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	int err;

	*count = 0;
	*other_type = false;
	err = ota_nvs_iter_init(&it, p);
	if (err)
		return err;
	while (!(err = nvs_next_match(&it, ns_index, key, &r))) {
		if (r.type != OTA_NVS_TYPE_SZ) {
			*other_type = true;
			continue;
		}
		if (!*count || nvs_newer(&r, out))
			*out = r;
		(*count)++;
	}
	if (err != -ENOENT)
		return err;
	return *count ? 0 : -ENOENT;
}

int ota_nvs_get_str(const struct ota_nvs_part *part, const char *ns,
		    const char *key, char *buf, size_t cap, size_t *out_len)
{
	struct ota_nvs_rec r;
	unsigned int count;
	bool other;
	int err;

	if (!nvs_name_ok(ns) || !nvs_name_ok(key))
		return -EINVAL;
	err = nvs_find_ns(part, ns, 0, &r);
	if (err)
		return err;
	err = nvs_find_str(part, r.data[0], key, &r, &count, &other);
	if (err)
		return err;
	if (!r.len)
		return -EILSEQ; /* not even a NUL: not what nvs_set_str writes */
	err = ota_nvs_read_data(part, &r, buf, cap);
	if (err < 0)
		return err;
	if (buf[r.len - 1] != '\0')
		return -EILSEQ;
	if (out_len)
		*out_len = ota_strnlen(buf, r.len);
	return 0;
}
