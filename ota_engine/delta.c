/* SPDX-License-Identifier: MIT */
/*
 * detools sequential patch decoder. Theory of operation:
 *
 * A patch is [esp_delta_ota header] header-byte to-size body. The header
 * byte and to-size are plain; the body (dfpatch-size, then records of
 * diff-size diff-bytes extra-size extra-bytes adjustment) is one stream,
 * plain or heatshrink-compressed behind a parameter byte. All of it is
 * parsed one byte at a time by a state machine (d->phase), so a chunk may
 * end anywhere: inside the esp header, a varint, a record or a heatshrink
 * symbol.
 *
 * Body bytes are pulled one at a time (heatshrink: ota_hs_next()); each
 * diff or extra byte is one output byte. Output gathers in buf. For a diff
 * run, the base bytes under it are read into buf ahead of the diff bytes
 * (preload) and each diff byte is added in place, so one buffer serves
 * reads and writes. buf is written out when full, when the patch ends,
 * when a feed returns and at a pause, so the state between two feeds never
 * holds unwritten output: that is what makes a checkpoint small (cursors,
 * varint and heatshrink bit state, the window) and valid at any feed
 * return.
 *
 * Integers are detools' sign-magnitude varints: first byte bit 7 = more,
 * bit 6 = sign, bits 5..0 = magnitude bits 0..5; later bytes add 7 bits
 * each. At most 5 bytes and magnitudes below 2^31 are taken (detools' C
 * library stops at 2^27; its Python writes the fewest bytes).
 */
#include "ota_engine/delta.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "common/bytes.h"

enum {
	PH_START,     /* first byte: esp header (0x10) or detools header */
	PH_ESP,       /* inside the 64-byte esp_delta_ota header */
	PH_HEADER,    /* detools header byte after an esp header */
	PH_TO_SIZE,   /* plain varint */
	PH_HS_PARAM,  /* plain heatshrink parameter byte */
	PH_DFPATCH,   /* first body varint, must be 0 */
	PH_DIFF_SIZE, /* record: diff-size */
	PH_DIFF,      /* record: diff bytes */
	PH_EXTRA_SIZE,
	PH_EXTRA,
	PH_ADJUST,
	PH_DONE,
	PH_COUNT
};

#define VARINT_MAX 0x7fffffffu

static int fail(struct ota_delta *d, enum ota_delta_err err, int rc)
{
	if (!d->err) {
		d->err = err;
		d->rc = rc;
	}
	return d->rc;
}

static int io_fail(struct ota_delta *d, int rc)
{
	return fail(d, OTA_DELTA_ERR_IO, rc < 0 ? rc : -EIO);
}

void ota_delta_init(struct ota_delta *d, const struct ota_delta_cfg *cfg)
{
	/* buf and the heatshrink window need no clearing */
	memset(d, 0, offsetof(struct ota_delta, buf));
	d->cfg = *cfg;
	d->phase = PH_START;
}

static bool is_heatshrink(const struct ota_delta *d)
{
	return (d->hdr & 0x0f) == OTA_DELTA_COMP_HEATSHRINK;
}

static int flush(struct ota_delta *d)
{
	int rc;

	if (d->n && d->cfg.write) {
		rc = d->cfg.write(d->cfg.user, d->to_pos - d->n, d->buf, d->n);
		if (rc)
			return io_fail(d, rc);
	}
	d->n = 0;
	d->preload = 0;
	return 0;
}

static int header_byte(struct ota_delta *d, uint8_t b)
{
	unsigned int comp = b & 0x0f;

	d->hdr = b;
	if (b & 0x80)
		return fail(d, OTA_DELTA_ERR_HEADER, -EILSEQ);
	if (((b >> 4) & 7) != OTA_DELTA_TYPE_SEQUENTIAL)
		return fail(d, OTA_DELTA_ERR_TYPE, -ENOTSUP);
	if (comp != OTA_DELTA_COMP_NONE && comp != OTA_DELTA_COMP_HEATSHRINK)
		return fail(d, OTA_DELTA_ERR_COMPRESSION, -ENOTSUP);
	d->phase = PH_TO_SIZE;
	return 0;
}

static int hs_param(struct ota_delta *d, uint8_t b)
{
	int rc = ota_hs_init(&d->hs, (b >> 4) + 4u, (b & 0x0fu) + 3u);

	d->hs_param = b;
	if (rc == -ERANGE)
		return fail(d, OTA_DELTA_ERR_WINDOW, -ENOTSUP);
	if (rc)
		return fail(d, OTA_DELTA_ERR_HS_PARAMS, -EILSEQ);
	return 0;
}

/* Gather one varint byte. 1 when the integer is complete, 0 if not. */
static int varint(struct ota_delta *d, uint8_t b)
{
	uint32_t part;

	if (!d->vlen) {
		d->vneg = (b >> 6) & 1;
		d->vacc = b & 0x3f;
	} else {
		part = b & 0x7fu;
		if (d->vlen == OTA_DELTA_MAX_VARINT_BYTES - 1 &&
		    part > (VARINT_MAX >> 27))
			return fail(d, OTA_DELTA_ERR_VARINT, -EILSEQ);
		d->vacc |= part << (6 + 7 * (d->vlen - 1));
	}
	d->vlen++;
	if (!(b & 0x80))
		return 1;
	if (d->vlen == OTA_DELTA_MAX_VARINT_BYTES)
		return fail(d, OTA_DELTA_ERR_VARINT, -EILSEQ);
	return 0;
}

static int plain_byte(struct ota_delta *d, uint8_t b)
{
	static const uint8_t magic[4] = { 0x10, 0xde, 0xcd, 0xfc };
	int rc;

	switch (d->phase) {
	case PH_START:
		if (b == magic[0]) {
			d->esp = 1;
			d->esp_pos = 1;
			d->phase = PH_ESP;
			return 0;
		}
		return header_byte(d, b);
	case PH_ESP:
		if (d->esp_pos < 4 && b != magic[d->esp_pos]) {
			/* 0x10 as a detools header: in-place, none */
			d->hdr = magic[0];
			return fail(d, OTA_DELTA_ERR_TYPE, -ENOTSUP);
		}
		if (d->esp_pos >= 4 && d->esp_pos < 36)
			d->esp_hash[d->esp_pos - 4] = b;
		if (++d->esp_pos == OTA_DELTA_ESP_HDR_LEN)
			d->phase = PH_HEADER;
		return 0;
	case PH_HEADER:
		return header_byte(d, b);
	case PH_TO_SIZE:
		rc = varint(d, b);
		if (rc <= 0)
			return rc;
		d->vlen = 0;
		if (d->vneg && d->vacc)
			return fail(d, OTA_DELTA_ERR_NEGATIVE, -EILSEQ);
		d->to_size = d->vacc;
		if (d->cfg.max_size && d->to_size > d->cfg.max_size)
			return fail(d, OTA_DELTA_ERR_TOO_BIG, -ENOSPC);
		if (!d->to_size)
			d->phase = PH_DONE;
		else if (is_heatshrink(d))
			d->phase = PH_HS_PARAM;
		else
			d->phase = PH_DFPATCH;
		return 0;
	case PH_HS_PARAM:
		rc = hs_param(d, b);
		if (rc)
			return rc;
		d->phase = PH_DFPATCH;
		return 0;
	default:
		return fail(d, OTA_DELTA_ERR_IO, -EINVAL);
	}
}

/* A record's diff or extra size: checked against to-size and the base. */
static int record_size(struct ota_delta *d, bool diff)
{
	if (d->vneg && d->vacc)
		return fail(d, OTA_DELTA_ERR_NEGATIVE, -EILSEQ);
	if (d->vacc > d->to_size - d->to_pos)
		return fail(d, OTA_DELTA_ERR_PAST_END, -EILSEQ);
	d->left = d->vacc;
	if (diff) {
		d->diff_size = d->vacc;
		if (d->left && d->cfg.read_base &&
		    (d->from_pos < 0 ||
		     d->from_pos + d->left > (int64_t)d->cfg.base_size))
			return fail(d, OTA_DELTA_ERR_BASE_RANGE, -EILSEQ);
		d->phase = d->left ? PH_DIFF : PH_EXTRA_SIZE;
	} else {
		d->extra_size = d->vacc;
		d->phase = d->left ? PH_EXTRA : PH_ADJUST;
	}
	return 0;
}

static int end_record(struct ota_delta *d)
{
	int32_t adj = d->vneg ? -(int32_t)d->vacc : (int32_t)d->vacc;

	d->from_pos += adj;
	/* far outside any image: keeps from_pos + size from overflowing */
	if (d->from_pos < -(int64_t)VARINT_MAX ||
	    d->from_pos > (int64_t)UINT32_MAX)
		return fail(d, OTA_DELTA_ERR_BASE_RANGE, -EILSEQ);
	d->records++;
	if (d->cfg.on_record)
		d->cfg.on_record(d->cfg.user, d->diff_size, d->extra_size, adj);
	if (d->to_pos == d->to_size) {
		d->phase = PH_DONE;
		if (is_heatshrink(d) && d->hs.copy)
			return fail(d, OTA_DELTA_ERR_TRAILING, -EILSEQ);
		return flush(d);
	}
	d->phase = PH_DIFF_SIZE;
	return 0;
}

/* One output byte: a diff byte added to the base, or an extra byte. */
static int out_byte(struct ota_delta *d, uint8_t b, bool diff)
{
	int rc;

	if (diff) {
		if (!d->preload) {
			size_t cnt = OTA_DELTA_BUF - d->n;

			if (cnt > d->left)
				cnt = d->left;
			if (d->cfg.read_base) {
				rc = d->cfg.read_base(d->cfg.user,
						      (uint32_t)d->from_pos,
						      d->buf + d->n, cnt);
				if (rc)
					return io_fail(d, rc);
			} else {
				memset(d->buf + d->n, 0, cnt);
			}
			d->preload = (uint16_t)cnt;
		}
		d->buf[d->n] = (uint8_t)(d->buf[d->n] + b);
		d->preload--;
		d->from_pos++;
	} else {
		d->buf[d->n] = b;
	}
	d->n++;
	d->to_pos++;
	if (--d->left == 0)
		d->phase = diff ? PH_EXTRA_SIZE : PH_ADJUST;
	if (d->n == OTA_DELTA_BUF) {
		rc = flush(d);
		if (rc)
			return rc;
	}
	if (d->cfg.pause_every && d->to_pos % d->cfg.pause_every == 0)
		d->paused = true;
	return 0;
}

static int body_byte(struct ota_delta *d, uint8_t b)
{
	int rc;

	switch (d->phase) {
	case PH_DIFF:
		return out_byte(d, b, true);
	case PH_EXTRA:
		return out_byte(d, b, false);
	case PH_DFPATCH:
	case PH_DIFF_SIZE:
	case PH_EXTRA_SIZE:
	case PH_ADJUST:
		rc = varint(d, b);
		if (rc <= 0)
			return rc;
		d->vlen = 0;
		if (d->phase == PH_DFPATCH) {
			if (d->vacc)
				return fail(d, OTA_DELTA_ERR_DATA_FORMAT,
					    -ENOTSUP);
			d->phase = PH_DIFF_SIZE;
			return 0;
		}
		if (d->phase == PH_ADJUST)
			return end_record(d);
		return record_size(d, d->phase == PH_DIFF_SIZE);
	default:
		return fail(d, OTA_DELTA_ERR_TRAILING, -EILSEQ);
	}
}

int ota_delta_feed(struct ota_delta *d, const uint8_t *buf, size_t len,
		   size_t *out_used)
{
	const uint8_t *p = buf;
	size_t left = len;
	uint8_t b =
		0; /* set before use; LTO cannot see through ota_hs_next() */
	int rc = 0;

	*out_used = 0;
	if (d->err)
		return d->rc;
	d->paused = false;
	while (!d->paused) {
		if (d->phase == PH_DONE) {
			if (left)
				rc = fail(d, OTA_DELTA_ERR_TRAILING, -EILSEQ);
			break;
		}
		if (d->phase < PH_DFPATCH || !is_heatshrink(d)) {
			if (!left)
				break;
			b = *p++;
			left--;
			rc = d->phase < PH_DFPATCH ? plain_byte(d, b)
						   : body_byte(d, b);
		} else {
			if (!ota_hs_next(&d->hs, &p, &left, &b))
				break;
			rc = body_byte(d, b);
		}
		if (rc)
			break;
	}
	d->patch_pos += (uint32_t)(len - left);
	*out_used = len - left;
	if (!rc)
		rc = flush(d);
	return rc;
}

bool ota_delta_paused(const struct ota_delta *d)
{
	return d->paused;
}

bool ota_delta_complete(const struct ota_delta *d)
{
	return !d->err && d->phase == PH_DONE;
}

int ota_delta_finish(struct ota_delta *d)
{
	size_t used;

	/* a pause can leave decoded bytes (a back-reference) unread */
	while (!d->err && d->phase != PH_DONE) {
		ota_delta_feed(d, NULL, 0, &used);
		if (!d->paused)
			break;
	}
	if (d->err)
		return d->rc;
	if (d->phase == PH_DONE)
		return 0;
	if (d->phase >= PH_DFPATCH && is_heatshrink(d) &&
	    ota_hs_mid_symbol(&d->hs))
		return fail(d, OTA_DELTA_ERR_HS_TRUNCATED, -EILSEQ);
	return fail(d, OTA_DELTA_ERR_SHORT, -EILSEQ);
}

uint32_t ota_delta_to_size(const struct ota_delta *d)
{
	return d->to_size;
}

uint32_t ota_delta_to_pos(const struct ota_delta *d)
{
	return d->to_pos;
}

uint32_t ota_delta_patch_pos(const struct ota_delta *d)
{
	return d->patch_pos;
}

const uint8_t *ota_delta_esp_hash(const struct ota_delta *d)
{
	return d->esp && d->esp_pos == OTA_DELTA_ESP_HDR_LEN ? d->esp_hash
							     : NULL;
}

void ota_delta_get_info(const struct ota_delta *d, struct ota_delta_info *out)
{
	memset(out, 0, sizeof(*out));
	out->have_header =
		d->phase > PH_HEADER || (d->err >= OTA_DELTA_ERR_HEADER &&
					 d->err <= OTA_DELTA_ERR_COMPRESSION);
	if (out->have_header) {
		out->type = (d->hdr >> 4) & 7;
		out->compression = d->hdr & 0x0f;
	}
	out->have_size =
		d->phase > PH_TO_SIZE || (d->phase == PH_TO_SIZE && d->to_size);
	out->to_size = d->to_size;
	if (is_heatshrink(d) && ((d->phase > PH_HS_PARAM && d->to_size) ||
				 d->err == OTA_DELTA_ERR_WINDOW ||
				 d->err == OTA_DELTA_ERR_HS_PARAMS)) {
		out->window_sz2 = (uint8_t)((d->hs_param >> 4) + 4);
		out->lookahead_sz2 = (uint8_t)((d->hs_param & 0x0f) + 3);
	}
	out->records = d->records;
}

/* ---- checkpoint: the layout is docs/ota-engine.md §15.4 ---------------- */

static bool hs_active(const struct ota_delta *d)
{
	return d->phase >= PH_DFPATCH && is_heatshrink(d) && d->to_size;
}

static uint32_t window_bytes(const struct ota_delta *d)
{
	uint32_t win;

	if (!hs_active(d))
		return 0;
	win = 1u << d->hs.w;
	return d->hs.total < win ? d->hs.total : win;
}

size_t ota_delta_checkpoint_size(const struct ota_delta *d)
{
	return OTA_DELTA_CKPT_FIXED + window_bytes(d);
}

/* The fixed part (OTA_DELTA_CKPT_FIXED bytes) of a checkpoint. */
static void put_fixed(const struct ota_delta *d, uint8_t *buf)
{
	memset(buf, 0, OTA_DELTA_CKPT_FIXED);
	buf[0] = 1; /* format version */
	buf[1] = d->phase;
	buf[2] = d->hdr;
	buf[3] = d->hs_param;
	buf[4] = d->esp;
	buf[5] = d->vlen;
	buf[6] = d->vneg;
	buf[7] = d->esp_pos;
	ota_put_le32(buf + 8, d->vacc);
	ota_put_le32(buf + 12, d->to_size);
	ota_put_le32(buf + 16, d->to_pos);
	ota_put_le64(buf + 20, (uint64_t)d->from_pos);
	ota_put_le32(buf + 28, d->left);
	ota_put_le32(buf + 32, d->patch_pos);
	ota_put_le32(buf + 36, d->records);
	memcpy(buf + 40, d->esp_hash, 32);
	ota_put_le32(buf + 88, d->diff_size);
	ota_put_le32(buf + 92, d->extra_size);
	if (hs_active(d)) {
		buf[72] = d->hs.state;
		buf[73] = d->hs.cur;
		buf[74] = d->hs.cur_bits;
		buf[75] = d->hs.fbits;
		ota_put_le16(buf + 76, d->hs.facc);
		ota_put_le16(buf + 78, d->hs.index);
		ota_put_le16(buf + 80, d->hs.copy);
		ota_put_le32(buf + 84, d->hs.total);
	}
}

/*
 * The window bytes of a checkpoint, oldest first, as at most two runs of
 * the ring (@ring is the window, const or not): the run [@at[k], @at[k] +
 * @len[k]) of the ring is checkpoint bytes [@pos[k], ...) after the fixed
 * part. Returns the number of runs (0..2).
 */
static unsigned int window_runs(const struct ota_delta *d, uint32_t at[2],
				uint32_t len[2])
{
	uint32_t m = window_bytes(d), mask, first;

	if (!m)
		return 0;
	mask = (1u << d->hs.w) - 1;
	first = (d->hs.total - m) & mask;
	at[0] = first;
	len[0] = mask + 1 - first < m ? mask + 1 - first : m;
	at[1] = 0;
	len[1] = m - len[0];
	return len[1] ? 2 : 1;
}

int ota_delta_checkpoint(const struct ota_delta *d, uint8_t *buf, size_t cap,
			 size_t *out_len)
{
	size_t need = ota_delta_checkpoint_size(d);
	struct ota_delta_run run[2];
	unsigned int k;
	int rc;

	*out_len = 0;
	if (cap < need && !d->err)
		return -EMSGSIZE;
	rc = ota_delta_checkpoint_parts(d, buf, run);
	if (rc)
		return rc;
	buf += OTA_DELTA_CKPT_FIXED;
	for (k = 0; k < 2; buf += run[k].len, k++)
		if (run[k].len)
			memcpy(buf, run[k].ptr, run[k].len);
	*out_len = need;
	return 0;
}

int ota_delta_checkpoint_parts(const struct ota_delta *d,
			       uint8_t fixed[OTA_DELTA_CKPT_FIXED],
			       struct ota_delta_run run[2])
{
	uint32_t at[2], len[2];
	unsigned int k, runs;

	if (d->err)
		return d->rc;
	put_fixed(d, fixed);
	runs = window_runs(d, at, len);
	for (k = 0; k < 2; k++) {
		run[k].ptr = k < runs ? (uint8_t *)d->hs.window + at[k] : NULL;
		run[k].len = k < runs ? len[k] : 0;
	}
	return 0;
}

static bool varint_phase(unsigned int phase)
{
	return phase == PH_TO_SIZE || phase == PH_DFPATCH ||
	       phase == PH_DIFF_SIZE || phase == PH_EXTRA_SIZE ||
	       phase == PH_ADJUST;
}

/* The bit reader's fields agree with its state (heatshrink.c's enum). */
static bool hs_fields_ok(const struct ota_hs *h)
{
	static const uint8_t lo[4] = { 0, 1, 1, 0 };
	unsigned int hi[4] = { 0, 8, h->w, h->l - 1u };

	return h->state < 4 && h->cur_bits <= 8 && h->fbits >= lo[h->state] &&
	       h->fbits <= hi[h->state] && h->facc < (1u << h->fbits) &&
	       (!h->copy || h->state == 0);
}

/* The header fields of a checkpoint, checked like the patch bytes were. */
static int restore_header(struct ota_delta *d, const uint8_t *buf)
{
	d->phase = buf[1];
	d->esp = buf[4];
	d->esp_pos = buf[7];
	if (d->phase >= PH_COUNT || d->esp > 1 ||
	    d->esp_pos > OTA_DELTA_ESP_HDR_LEN || (d->esp_pos && !d->esp) ||
	    (d->esp && d->phase > PH_ESP &&
	     d->esp_pos != OTA_DELTA_ESP_HDR_LEN) ||
	    (d->phase == PH_ESP &&
	     (!d->esp_pos || d->esp_pos == OTA_DELTA_ESP_HDR_LEN)))
		return -EINVAL;
	if (d->phase > PH_HEADER) {
		if (header_byte(d, buf[2]))
			return -EINVAL;
		d->phase = buf[1];
	}
	return 0;
}

int ota_delta_restore_fixed(struct ota_delta *d,
			    const struct ota_delta_cfg *cfg, const uint8_t *buf,
			    size_t len, struct ota_delta_run run[2])
{
	uint32_t at[2], wlen[2], win;
	unsigned int k, runs;
	int rc;

	ota_delta_init(d, cfg);
	if (len < OTA_DELTA_CKPT_FIXED || buf[0] != 1)
		return -EINVAL;
	rc = restore_header(d, buf);
	d->vlen = buf[5];
	d->vneg = buf[6];
	d->vacc = ota_get_le32(buf + 8);
	d->to_size = ota_get_le32(buf + 12);
	d->to_pos = ota_get_le32(buf + 16);
	d->from_pos = (int64_t)ota_get_le64(buf + 20);
	d->left = ota_get_le32(buf + 28);
	d->patch_pos = ota_get_le32(buf + 32);
	d->records = ota_get_le32(buf + 36);
	memcpy(d->esp_hash, buf + 40, 32);
	d->diff_size = ota_get_le32(buf + 88);
	d->extra_size = ota_get_le32(buf + 92);
	if (rc || (d->vlen && !varint_phase(d->phase)) ||
	    (d->phase == PH_HS_PARAM && !is_heatshrink(d)) ||
	    d->vlen >= OTA_DELTA_MAX_VARINT_BYTES || d->vneg > 1 ||
	    d->vacc > VARINT_MAX || d->to_pos > d->to_size ||
	    d->left > d->to_size - d->to_pos ||
	    d->from_pos < -(int64_t)VARINT_MAX ||
	    d->from_pos > (int64_t)UINT32_MAX ||
	    ((d->phase == PH_DIFF || d->phase == PH_EXTRA) != (d->left != 0)) ||
	    (d->phase > PH_TO_SIZE && d->phase < PH_DONE && !d->to_size) ||
	    (d->phase == PH_DONE && d->to_pos != d->to_size) ||
	    (d->phase < PH_DFPATCH &&
	     (d->to_pos || d->from_pos || d->records || d->left)) ||
	    (d->phase <= PH_TO_SIZE && d->to_size))
		goto bad;
	/* a diff under way reads the base: inside it, as record_size() says */
	if (d->phase == PH_DIFF && cfg->read_base &&
	    (d->from_pos < 0 ||
	     d->from_pos + d->left > (int64_t)cfg->base_size))
		goto bad;
	if (d->phase > PH_TO_SIZE && cfg->max_size &&
	    d->to_size > cfg->max_size) {
		ota_delta_init(d, cfg);
		return -ENOSPC;
	}
	if (!hs_active(d)) {
		if (len != OTA_DELTA_CKPT_FIXED)
			goto bad;
		run[0].ptr = run[1].ptr = NULL;
		run[0].len = run[1].len = 0;
		return 0;
	}
	rc = ota_hs_init(&d->hs, (buf[3] >> 4) + 4u, (buf[3] & 0x0fu) + 3u);
	if (rc == -ERANGE) {
		ota_delta_init(d, cfg);
		return -ENOTSUP;
	}
	if (rc)
		goto bad;
	d->hs_param = buf[3];
	d->hs.state = buf[72];
	d->hs.cur = buf[73];
	d->hs.cur_bits = buf[74];
	d->hs.fbits = buf[75];
	d->hs.facc = ota_get_le16(buf + 76);
	d->hs.index = ota_get_le16(buf + 78);
	d->hs.copy = ota_get_le16(buf + 80);
	d->hs.total = ota_get_le32(buf + 84);
	win = 1u << d->hs.w;
	if (!hs_fields_ok(&d->hs) || d->hs.index >= win ||
	    d->hs.copy > (1u << d->hs.l))
		goto bad;
	if (len != OTA_DELTA_CKPT_FIXED + window_bytes(d))
		goto bad;
	runs = window_runs(d, at, wlen);
	for (k = 0; k < 2; k++) {
		run[k].ptr = k < runs ? d->hs.window + at[k] : NULL;
		run[k].len = k < runs ? wlen[k] : 0;
	}
	return 0;
bad:
	ota_delta_init(d, cfg);
	return -EINVAL;
}

int ota_delta_restore(struct ota_delta *d, const struct ota_delta_cfg *cfg,
		      const uint8_t *buf, size_t len)
{
	struct ota_delta_run run[2];
	unsigned int k;
	int rc = ota_delta_restore_fixed(d, cfg, buf, len, run);

	if (rc)
		return rc;
	buf += OTA_DELTA_CKPT_FIXED;
	for (k = 0; k < 2; buf += run[k].len, k++)
		if (run[k].len)
			memcpy(run[k].ptr, buf, run[k].len);
	return 0;
}
