/* SPDX-License-Identifier: MIT */
/*
 * ESP-IDF NVS writer (docs/ota-engine.md §16.3; the reader and the format
 * summary are in nvs.c, the shared layout constants and flash helpers in
 * nvs_priv.h).
 *
 * Writing one string (ota_nvs_set_str) follows Storage::writeItem():
 *   1. scan: namespace index, current page (highest sequence), free pages;
 *   2. repair as ESP-IDF's loader would (an interrupted reclaim finished;
 *      torn, corrupt and incomplete entries marked ERASED) so that both
 *      agree on every page and on where the active page ends;
 *   3. namespace entry if missing; then the SZ header entry, its bitmap
 *      bits, the full data entries, their bits, the tail entry, its bits;
 *   4. older copies marked ERASED, data entries first, header last.
 * A page that cannot take an item is marked FULL and a free page gets a
 * header with the next sequence number while another free page remains
 * (ESP-IDF fails init without one). When only that reserve is left, the
 * page with the most entries not WRITTEN is reclaimed as
 * PageManager::requestNewPage() does: marked FREEING, its items copied to
 * the reserve, erased. An interrupted reclaim is finished first, as
 * PageManager::load() does. Nothing is planned that cannot finish: a write
 * that cannot fit returns -ENOSPC before touching the flash.
 */
#include "ota_engine/nvs.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "ota_engine/nvs_priv.h"
#include "ota_engine/util.h"

/* What the writer learns from one walk. */
struct scan {
	uint32_t npages;
	uint32_t cur; /* page with the highest sequence (if have_cur) */
	uint32_t cur_seq;
	bool have_cur;
	bool cur_active;
	uint8_t cur_end;  /* ACTIVE current page: first EMPTY entry */
	uint8_t cur_torn; /* ... and the end of the torn run after it */
	uint32_t free_pages;
	uint32_t free_page; /* first blank page, else first corrupt one */
	bool free_blank;
	bool refuse;           /* a page with a newer version: -EPROTO */
	unsigned int nfreeing; /* FREEING pages (an interrupted reclaim) */
	uint32_t freeing;      /* the last one found */
	unsigned int
		max_unused;  /* over ACTIVE/FULL pages: entries not WRITTEN */
	uint8_t ns_used[32]; /* bit per namespace index */
	bool have_ns;
	uint8_t ns_index;
};

/* Entries of a page not WRITTEN: what reclaiming it would free. */
static unsigned int unused(const uint8_t *bitmap)
{
	unsigned int i, n = 0;

	for (i = 0; i < OTA_NVS_ENTRY_COUNT; i++)
		n += ent_state(bitmap, i) != ES_WRITTEN;
	return n;
}

static int scan(const struct ota_nvs_part *p, const char *ns, struct scan *s)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r, ns_rec = { .kind = OTA_NVS_REC_ITEM };
	int err;

	memset(s, 0, sizeof(*s));
	s->npages = p->size / OTA_NVS_PAGE_SIZE;
	err = ota_nvs_iter_init(&it, p);
	if (err)
		return err;
	while (!(err = ota_nvs_iter_next(&it, &r))) {
		if (r.kind == OTA_NVS_REC_ITEM && r.ns_index == 0 &&
		    r.type == OTA_NVS_TYPE_U8) {
			s->ns_used[r.data[0] / 8] |=
				(uint8_t)(1u << (r.data[0] % 8));
			if (!strncmp(r.key, ns, sizeof(r.key)) &&
			    r.data[0] != 0 && r.data[0] != NS_ANY &&
			    (!s->have_ns || nvs_newer(&ns_rec, &r))) {
				ns_rec = r;
				s->have_ns = true;
				s->ns_index = r.data[0];
			}
		}
		if (r.kind != OTA_NVS_REC_PAGE)
			continue;
		switch (r.state) {
		case OTA_NVS_PAGE_EMPTY:
		case OTA_NVS_PAGE_CORRUPT:
			if (r.problem == OTA_NVS_PROBLEM_NEW_VERSION) {
				s->refuse = true;
				break;
			}
			if (!s->free_pages ||
			    (!s->free_blank && r.state == OTA_NVS_PAGE_EMPTY)) {
				s->free_page = r.page;
				s->free_blank = r.state == OTA_NVS_PAGE_EMPTY;
			}
			s->free_pages++;
			break;
		case OTA_NVS_PAGE_FREEING:
			s->nfreeing++;
			s->freeing = r.page;
			/* fall through */
		case OTA_NVS_PAGE_ACTIVE:
		case OTA_NVS_PAGE_FULL:
			if (r.state != OTA_NVS_PAGE_FREEING &&
			    unused(it.bitmap) > s->max_unused)
				s->max_unused = unused(it.bitmap);
			if (s->have_cur && r.seq < s->cur_seq)
				break;
			s->have_cur = true;
			s->cur = r.page;
			s->cur_seq = r.seq;
			s->cur_active = r.state == OTA_NVS_PAGE_ACTIVE;
			s->cur_end = it.end;
			s->cur_torn = it.torn_end;
			break;
		}
	}
	return err == -ENOENT ? 0 : err;
}

/* Set entries [@first, @last) of @page to @st, last bitmap word first. */
static int set_states(const struct ota_nvs_part *p, uint32_t page,
		      unsigned int first, unsigned int last, unsigned int st)
{
	uint8_t w[4];
	uint32_t addr;
	unsigned int word, i;
	int err;

	while (last > first) {
		word = (last - 1) / 16;
		addr = page_addr(p, page) + BITMAP_OFF + word * 4;
		err = rd(p, addr, w, sizeof(w));
		if (err)
			return err;
		/* only ever clears bits: 11 -> 10 -> 00 */
		for (i = last - 1;; i--) {
			w[(i % 16) / 4] &=
				(uint8_t) ~((~st & 3u) << (2 * (i % 4)));
			if (i == first || i == word * 16)
				break;
		}
		err = wr(p, addr, w, sizeof(w));
		if (err)
			return err;
		last = i;
	}
	return 0;
}

/*
 * Make the bitmaps agree with what ESP-IDF's loader makes of them, as
 * nvs_flash_init() would: torn entries after the end of the current ACTIVE
 * page, entries with a bad CRC, header or state, and items with missing
 * data or a bad data CRC are marked ERASED (the span only for a sound
 * header, as Page::eraseEntryAndSpan() does). *@next_free gets the current
 * page's next free entry, past anything erased there.
 */
static int repair(const struct ota_nvs_part *p, const struct scan *s,
		  unsigned int *next_free)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	unsigned int next = s->cur_active ? s->cur_torn : 0, n;
	int err;

	if (s->cur_active && s->cur_torn > s->cur_end) {
		err = set_states(p, s->cur, s->cur_end, s->cur_torn, ES_ERASED);
		if (err)
			return err;
	}
	err = ota_nvs_iter_init(&it, p);
	if (err)
		return err;
	while (!(err = ota_nvs_iter_next(&it, &r))) {
		if (r.kind != OTA_NVS_REC_SKIP)
			continue;
		n = r.problem == OTA_NVS_PROBLEM_INCOMPLETE ||
				    r.problem == OTA_NVS_PROBLEM_DATA_CRC
			    ? r.span
			    : 1;
		err = set_states(p, r.page, r.entry, r.entry + n, ES_ERASED);
		if (err)
			return err;
		if (s->cur_active && r.page == s->cur && r.entry + n > next)
			next = r.entry + n;
	}
	if (err != -ENOENT)
		return err;
	*next_free = next;
	return 0;
}

/*
 * Mark the current ACTIVE page FULL. In a FULL page every WRITTEN slot
 * counts, so bits set after the active end @next (never an item here) are
 * ERASED first: nothing comes back to life.
 */
static int seal_current(const struct ota_nvs_part *p, struct scan *s,
			unsigned int next)
{
	uint8_t bitmap[OTA_NVS_ENTRY_SIZE], w[4];
	unsigned int i;
	int err;

	err = rd(p, page_addr(p, s->cur) + BITMAP_OFF, bitmap, sizeof(bitmap));
	for (i = next; !err && i < OTA_NVS_ENTRY_COUNT; i++)
		if (ent_state(bitmap, i) == ES_WRITTEN ||
		    ent_state(bitmap, i) == ES_ILLEGAL)
			err = set_states(p, s->cur, i, i + 1, ES_ERASED);
	if (err)
		return err;
	ota_put_le32(w, STATE_FULL);
	err = wr(p, page_addr(p, s->cur), w, sizeof(w));
	s->cur_active = false;
	return err;
}

/*
 * Give the chosen free page (erased first unless blank) an ACTIVE header
 * with the next sequence number; it becomes the current page.
 */
static int open_page(const struct ota_nvs_part *p, struct scan *s)
{
	uint8_t h[HDR_SIZE];
	uint32_t seq = s->have_cur ? s->cur_seq + 1 : 0;
	int err;

	if (!s->free_pages)
		return -ENOSPC;
	if (!s->free_blank &&
	    p->flash->erase(p->flash_ctx, page_addr(p, s->free_page),
			    OTA_NVS_PAGE_SIZE))
		return -EIO;
	memset(h, 0xff, sizeof(h));
	ota_put_le32(h, STATE_ACTIVE);
	ota_put_le32(h + 4, seq);
	h[8] = NVS_VERSION;
	ota_put_le32(h + 28, header_crc(h));
	err = wr(p, page_addr(p, s->free_page), h, sizeof(h));
	if (err)
		return err;
	s->have_cur = true;
	s->cur = s->free_page;
	s->cur_seq = seq;
	s->cur_active = true;
	s->free_pages--;
	return 0;
}

/* A fresh ACTIVE page with the next sequence number. */
static int new_page(const struct ota_nvs_part *p, struct scan *s,
		    unsigned int next)
{
	int err = s->have_cur && s->cur_active ? seal_current(p, s, next) : 0;

	return err ? err : open_page(p, s);
}

/* Page::writeEntry(): the entry bytes, then its bitmap bits */
static int put_entry(const struct ota_nvs_part *p, uint32_t page,
		     unsigned int i, const uint8_t *e)
{
	int err = wr(p, entry_addr(p, page, i), e, OTA_NVS_ENTRY_SIZE);

	return err ? err : set_states(p, page, i, i + 1, ES_WRITTEN);
}

static void make_header(uint8_t *e, uint8_t ns, uint8_t type, uint8_t span,
			const char *key)
{
	memset(e, 0xff, OTA_NVS_ENTRY_SIZE);
	e[0] = ns;
	e[1] = type;
	e[2] = span;
	e[3] = CHUNK_ANY;
	memset(e + 8, 0, OTA_NVS_KEY_MAX + 1);
	memcpy(e + 8, key, strlen(key));
}

/* Page::writeItem() for an SZ value of @size bytes (NUL included). */
static int put_str(const struct ota_nvs_part *p, uint32_t page, unsigned int i,
		   uint8_t ns, const char *key, const char *value, size_t size)
{
	uint8_t e[OTA_NVS_ENTRY_SIZE];
	size_t full = size / OTA_NVS_ENTRY_SIZE * OTA_NVS_ENTRY_SIZE;
	unsigned int nfull = (unsigned int)(full / OTA_NVS_ENTRY_SIZE);
	int err;

	make_header(e, ns, OTA_NVS_TYPE_SZ,
		    (uint8_t)(1 + (size + OTA_NVS_ENTRY_SIZE - 1) /
					  OTA_NVS_ENTRY_SIZE),
		    key);
	ota_put_le16(e + 24, (uint16_t)size);
	ota_put_le16(e + 26, 0xffff);
	ota_put_le32(e + 28, ota_crc32(UINT32_MAX, value, size));
	ota_put_le32(e + 4, entry_crc(e));
	err = put_entry(p, page, i, e);
	if (err)
		return err;
	if (full) {
		err = wr(p, entry_addr(p, page, i + 1), value, full);
		if (!err)
			err = set_states(p, page, i + 1, i + 1 + nfull,
					 ES_WRITTEN);
		if (err)
			return err;
	}
	if (size > full) {
		memset(e, 0xff, sizeof(e));
		memcpy(e, value + full, size - full);
		err = put_entry(p, page, i + 1 + nfull, e);
	}
	return err;
}

/* Mark every trusted copy of @key except the one at @keep_page/@keep. */
static int erase_others(const struct ota_nvs_part *p, uint8_t ns,
			const char *key, uint32_t keep_page, unsigned int keep)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	int err;

	err = ota_nvs_iter_init(&it, p);
	if (err)
		return err;
	while (!(err = nvs_next_match(&it, ns, key, &r))) {
		if (r.type != OTA_NVS_TYPE_SZ ||
		    (r.page == keep_page && r.entry == keep))
			continue;
		err = set_states(p, r.page, r.entry, r.entry + r.span,
				 ES_ERASED);
		if (err)
			return err;
	}
	return err == -ENOENT ? 0 : err;
}

/* Does the newest copy @r hold exactly @value (@size bytes)? */
static int same_value(const struct ota_nvs_part *p, const struct ota_nvs_rec *r,
		      const char *value, size_t size, bool *same)
{
	uint8_t d[OTA_NVS_ENTRY_SIZE];
	size_t off, n;

	*same = r->len == size;
	for (off = 0; *same && off < size; off += n) {
		n = size - off < sizeof(d) ? size - off : sizeof(d);
		if (rd(p, entry_addr(p, r->page, r->entry + 1u) + off, d, n))
			return -EIO;
		*same = !memcmp(d, value + off, n);
	}
	return 0;
}

/*
 * Page::copyItems() then erase: copy the trusted items of @from to the
 * current (fresh) page entry by entry, each entry then its bitmap bits,
 * and erase @from. Until the erase, @from keeps every item, so a cut
 * anywhere leaves the old values readable.
 */
static int move_items(const struct ota_nvs_part *p, const struct scan *s,
		      uint32_t from)
{
	uint8_t e[OTA_NVS_ENTRY_SIZE];
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	unsigned int next = 0, k;
	int err;

	err = ota_nvs_iter_init(&it, p);
	if (err)
		return err;
	it.page = from;
	while (!(err = ota_nvs_iter_next(&it, &r)) && r.page == from) {
		if (r.kind != OTA_NVS_REC_ITEM)
			continue;
		for (k = 0; k < r.span && !err; k++, next++) {
			err = rd(p, entry_addr(p, from, r.entry + k), e,
				 sizeof(e));
			if (!err)
				err = put_entry(p, s->cur, next, e);
		}
		if (err)
			return err;
	}
	if (err && err != -ENOENT)
		return err;
	return p->flash->erase(p->flash_ctx, page_addr(p, from),
			       OTA_NVS_PAGE_SIZE)
		       ? -EIO
		       : 0;
}

/*
 * PageManager::requestNewPage() with one free page left: mark the current
 * page FULL, mark the FULL page with the most entries not WRITTEN FREEING,
 * move its items to the free page, erase it. The reserve page is free
 * again afterwards. The caller rescans.
 */
static int reclaim(const struct ota_nvs_part *p, struct scan *s,
		   unsigned int next)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	unsigned int best = 0;
	uint32_t victim = 0, page;
	uint8_t w[4];
	int err;

	if (s->cur_active) {
		err = seal_current(p, s, next);
		if (err)
			return err;
	}
	for (page = 0; page < s->npages; page++) {
		err = ota_nvs_iter_init(&it, p);
		if (err)
			return err;
		it.page = page;
		err = ota_nvs_iter_next(&it, &r);
		if (err)
			return err;
		if (r.state == OTA_NVS_PAGE_FULL && unused(it.bitmap) > best) {
			best = unused(it.bitmap);
			victim = page;
		}
	}
	if (!best)
		return -ENOSPC;
	ota_put_le32(w, STATE_FREEING);
	err = wr(p, page_addr(p, victim), w, sizeof(w));
	if (!err)
		err = open_page(p, s);
	return err ? err : move_items(p, s, victim);
}

/*
 * PageManager::load() after a cut during a reclaim: the newest page, if it
 * is ACTIVE, is the partial copy and is erased; then the FREEING page's
 * items are moved to a free page and it is erased. The caller rescans.
 */
static int finish_reclaim(const struct ota_nvs_part *p, struct scan *s)
{
	int err;

	if (s->nfreeing > 1)
		return -EPROTO;
	if (s->cur_active && s->cur != s->freeing)
		return p->flash->erase(p->flash_ctx, page_addr(p, s->cur),
				       OTA_NVS_PAGE_SIZE)
			       ? -EIO
			       : 0;
	err = open_page(p, s);
	return err ? err : move_items(p, s, s->freeing);
}

/*
 * Scan, finish an interrupted reclaim, repair: *@next gets the current
 * ACTIVE page's free entry.
 */
static int scan_repair(const struct ota_nvs_part *p, const char *ns,
		       struct scan *s, unsigned int *next)
{
	unsigned int round;
	int err;

	*next = 0;
	for (round = 0;; round++) {
		err = scan(p, ns, s);
		if (err)
			return err;
		if (s->refuse)
			return -EPROTO;
		if (!s->nfreeing)
			break;
		/* at most: erase the partial copy, then move */
		if (round == 2)
			return -EIO;
		err = finish_reclaim(p, s);
		if (err)
			return err;
	}
	return repair(p, s, next);
}

/*
 * Can @n entries from @next go on the current page? It must be ACTIVE and
 * the entries blank and EMPTY: ESP-IDF assumes the rest of an active page
 * is, but a write over anything else would program garbage, so such a
 * page is treated as full instead.
 */
static int room_ok(const struct ota_nvs_part *p, const struct scan *s,
		   unsigned int next, unsigned int n, bool *ok)
{
	uint8_t e[OTA_NVS_ENTRY_SIZE], bitmap[OTA_NVS_ENTRY_SIZE];
	unsigned int i;

	*ok = s->cur_active && next + n <= OTA_NVS_ENTRY_COUNT;
	if (*ok &&
	    rd(p, page_addr(p, s->cur) + BITMAP_OFF, bitmap, sizeof(bitmap)))
		return -EIO;
	for (i = next; *ok && i < next + n; i++) {
		if (rd(p, entry_addr(p, s->cur, i), e, sizeof(e)))
			return -EIO;
		*ok = all_ff(e, sizeof(e)) && ent_state(bitmap, i) == ES_EMPTY;
	}
	return 0;
}

/*
 * Could @n entries go on a fresh page, without taking ESP-IDF's reserve
 * page? Either a second free page, or a page reclaim that frees enough
 * (@extra entries more, when something is written on the current page
 * before). Decided before any write, so that -ENOSPC changes nothing.
 */
static bool page_possible(const struct scan *s, unsigned int n,
			  unsigned int extra)
{
	if (n > OTA_NVS_ENTRY_COUNT)
		return false;
	return s->free_pages >= 2 ||
	       (s->free_pages == 1 && s->max_unused >= n + extra);
}

/* Room for @n entries at *@next: the current page, a new or reclaimed one. */
static int make_room(const struct ota_nvs_part *p, const char *ns,
		     struct scan *s, unsigned int *next, unsigned int n)
{
	bool ok;
	int err = room_ok(p, s, *next, n, &ok);

	if (err || ok)
		return err;
	if (s->free_pages >= 2) {
		err = new_page(p, s, *next);
		*next = 0;
		return err;
	}
	err = reclaim(p, s, *next);
	if (!err)
		err = scan_repair(p, ns, s, next);
	if (!err)
		err = room_ok(p, s, *next, n, &ok);
	return err ? err : ok ? 0 : -ENOSPC;
}

/* A namespace entry for @ns, planned so that the string still fits. */
static int add_ns(const struct ota_nvs_part *p, const char *ns,
		  unsigned int span, struct scan *s, unsigned int next)
{
	uint8_t e[OTA_NVS_ENTRY_SIZE];
	unsigned int idx;
	bool here, str_here, possible, together;
	int err;

	for (idx = 1; idx < NS_ANY; idx++)
		if (!(s->ns_used[idx / 8] & (1u << (idx % 8))))
			break;
	if (idx == NS_ANY)
		return -ENOSPC;
	err = room_ok(p, s, next, 1, &here);
	if (!err)
		err = room_ok(p, s, next, 1 + span, &str_here);
	if (err)
		return err;
	/* the namespace goes where the string will fit too, if one page can */
	together = 1 + span <= OTA_NVS_ENTRY_COUNT;
	if (here)
		possible = str_here || page_possible(s, span, 1);
	else if (together)
		possible = page_possible(s, 1 + span, 0);
	else
		possible = s->free_pages >= 3;
	if (!possible)
		return -ENOSPC;
	err = make_room(p, ns, s, &next, here || !together ? 1 : 1 + span);
	if (err)
		return err;
	make_header(e, 0, OTA_NVS_TYPE_U8, 1, ns);
	e[24] = (uint8_t)idx;
	ota_put_le32(e + 4, entry_crc(e));
	return put_entry(p, s->cur, next, e);
}

int ota_nvs_set_str(const struct ota_nvs_part *part, const char *ns,
		    const char *key, const char *value)
{
	struct scan s;
	struct ota_nvs_rec r;
	unsigned int next, span, count;
	size_t size;
	bool other, same, fits;
	int err;

	if (!part->flash || !nvs_name_ok(ns) || !nvs_name_ok(key) || !value ||
	    !part->flash->write_align || 4 % part->flash->write_align ||
	    !part->flash->erase_size ||
	    OTA_NVS_PAGE_SIZE % part->flash->erase_size ||
	    part->size < OTA_NVS_MIN_PAGES * OTA_NVS_PAGE_SIZE ||
	    part->off % OTA_NVS_PAGE_SIZE || part->size % OTA_NVS_PAGE_SIZE)
		return -EINVAL;
	size = ota_strnlen(value, OTA_NVS_STR_MAX) + 1;
	if (size > OTA_NVS_STR_MAX)
		return -EINVAL;
	span = 1 + (unsigned int)((size + OTA_NVS_ENTRY_SIZE - 1) /
				  OTA_NVS_ENTRY_SIZE);
	err = scan_repair(part, ns, &s, &next);
	if (err)
		return err;
	if (!s.have_ns) {
		err = add_ns(part, ns, span, &s, next);
		if (!err)
			err = scan_repair(part, ns, &s, &next);
		if (err)
			return err;
		if (!s.have_ns)
			return -EIO; /* written but not read back */
	}

	err = nvs_find_str(part, s.ns_index, key, &r, &count, &other);
	if (err && err != -ENOENT)
		return err;
	if (other)
		return -EEXIST;
	if (!err) {
		err = same_value(part, &r, value, size, &same);
		if (err)
			return err;
		/* nothing to write; finish an interrupted update, if any */
		if (same)
			return count > 1 ? erase_others(part, s.ns_index, key,
							r.page, r.entry)
					 : 0;
	}
	err = room_ok(part, &s, next, span, &fits);
	if (err)
		return err;
	if (!fits && !page_possible(&s, span, 0))
		return -ENOSPC;
	err = make_room(part, ns, &s, &next, span);
	if (err)
		return err;
	err = put_str(part, s.cur, next, s.ns_index, key, value, size);
	if (err)
		return err;
	return erase_others(part, s.ns_index, key, s.cur, next);
}
