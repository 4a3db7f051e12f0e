/* SPDX-License-Identifier: MIT */
/*
 * bsdiff-style patch generation (Colin Percival's matching scheme, as
 * detools uses it), written for bleota. Theory of operation:
 *
 * A suffix array of the base (libdivsufsort) finds, for each new-image
 * position, the longest exact match anywhere in the base. Exact matches
 * alone make poor patches for code, where a small change shifts addresses
 * and so perturbs many bytes a little. So the scan moves forward until the
 * exact match at hand beats, by more than 8 bytes, what simply continuing
 * the previous alignment (base offset = new offset + lastoffset) would
 * give; only then does it cut a record. Each record covers the stretch
 * since the previous cut:
 *
 *   diff  - the previous alignment extended forward while at least half
 *           the bytes agree; stored as (new - base) mod 256, mostly zeros
 *           that the compressor squeezes;
 *   extra - the part no alignment covers, stored raw;
 *   adjustment - the jump of the base cursor to the new alignment, which
 *           is itself extended backward from the new match the same way.
 *
 * Where the forward and backward extensions overlap, the split point that
 * matches the most bytes wins. The body (dfpatch-size 0, then the records)
 * is compressed as one stream.
 */
#include "host/delta_diff.h"

#include <divsufsort.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "host/heatshrink_enc.h"
#include "ota_engine/crypto.h"
#include "ota_engine/delta.h"
#include "ota_engine/image.h"

struct growbuf {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

static void gb_put(struct growbuf *g, const void *p, size_t n)
{
	if (g->oom)
		return;
	if (g->len + n > g->cap) {
		size_t cap = g->cap ? g->cap : 4096;
		uint8_t *nb;

		while (cap < g->len + n)
			cap *= 2;
		nb = realloc(g->buf, cap);
		if (!nb) {
			g->oom = true;
			return;
		}
		g->buf = nb;
		g->cap = cap;
	}
	memcpy(g->buf + g->len, p, n);
	g->len += n;
}

size_t delta_varint_put(uint8_t *out, int64_t v)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	size_t n = 0;

	out[n] = (uint8_t)((mag & 0x3f) | (v < 0 ? 0x40 : 0));
	mag >>= 6;
	while (mag) {
		out[n++] |= 0x80;
		out[n] = (uint8_t)(mag & 0x7f);
		mag >>= 7;
	}
	return n + 1;
}

static void gb_varint(struct growbuf *g, int64_t v)
{
	uint8_t tmp[10];

	gb_put(g, tmp, delta_varint_put(tmp, v));
}

/* Longest common prefix of two byte strings. */
static size_t common(const uint8_t *a, size_t alen, const uint8_t *b,
		     size_t blen)
{
	size_t i = 0, n = alen < blen ? alen : blen;

	while (i < n && a[i] == b[i])
		i++;
	return i;
}

/*
 * The longest match of @pat in the base: binary search over the sorted
 * suffixes narrows to two neighbours, one of which shares the longest
 * prefix with @pat.
 */
static size_t longest_match(const saidx_t *sa, const uint8_t *old, size_t olen,
			    const uint8_t *pat, size_t plen, size_t *pos)
{
	size_t lo = 0, hi = olen - 1, a, b;

	if (!olen) {
		*pos = 0;
		return 0;
	}
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2, s = (size_t)sa[mid];
		size_t n = olen - s < plen ? olen - s : plen;

		if (memcmp(old + s, pat, n) < 0)
			lo = mid;
		else
			hi = mid;
	}
	a = common(old + sa[lo], olen - (size_t)sa[lo], pat, plen);
	b = common(old + sa[hi], olen - (size_t)sa[hi], pat, plen);
	if (a >= b) {
		*pos = (size_t)sa[lo];
		return a;
	}
	*pos = (size_t)sa[hi];
	return b;
}

struct scan {
	const uint8_t *old, *nw;
	size_t olen, nlen;
	struct growbuf *body;
};

/*
 * One record covering new[lastscan, scan - lenb) against the alignment at
 * lastpos; the next alignment starts at (scan - lenb, pos - lenb).
 */
static void emit(struct scan *s, size_t lastscan, size_t lastpos, size_t scan,
		 size_t pos, size_t *out_lenb)
{
	const uint8_t *old = s->old, *nw = s->nw;
	ptrdiff_t score = 0, best = 0;
	size_t i, lenf = 0, lenb = 0, extra;
	uint8_t chunk[256];

	for (i = 0; lastscan + i < scan && lastpos + i < s->olen;) {
		if (old[lastpos + i] == nw[lastscan + i])
			score++;
		i++;
		if (score * 2 - (ptrdiff_t)i > best * 2 - (ptrdiff_t)lenf) {
			best = score;
			lenf = i;
		}
	}
	if (scan < s->nlen) {
		score = 0;
		best = 0;
		for (i = 1; scan >= lastscan + i && pos >= i; i++) {
			if (old[pos - i] == nw[scan - i])
				score++;
			if (score * 2 - (ptrdiff_t)i >
			    best * 2 - (ptrdiff_t)lenb) {
				best = score;
				lenb = i;
			}
		}
	}
	if (lastscan + lenf > scan - lenb) {
		size_t overlap = lastscan + lenf - (scan - lenb), lens = 0;

		score = 0;
		best = 0;
		for (i = 0; i < overlap; i++) {
			if (nw[lastscan + lenf - overlap + i] ==
			    old[lastpos + lenf - overlap + i])
				score++;
			if (nw[scan - lenb + i] == old[pos - lenb + i])
				score--;
			if (score > best) {
				best = score;
				lens = i + 1;
			}
		}
		lenf = lenf + lens - overlap;
		lenb -= lens;
	}
	extra = (scan - lenb) - (lastscan + lenf);
	gb_varint(s->body, (int64_t)lenf);
	for (i = 0; i < lenf; i++) {
		chunk[i % sizeof(chunk)] =
			(uint8_t)(nw[lastscan + i] - old[lastpos + i]);
		if (i % sizeof(chunk) == sizeof(chunk) - 1 || i + 1 == lenf)
			gb_put(s->body, chunk, i % sizeof(chunk) + 1);
	}
	gb_varint(s->body, (int64_t)extra);
	gb_put(s->body, nw + lastscan + lenf, extra);
	gb_varint(s->body, (int64_t)(pos - lenb) - (int64_t)(lastpos + lenf));
	*out_lenb = lenb;
}

static void make_body(struct scan *s, const saidx_t *sa)
{
	const uint8_t *old = s->old, *nw = s->nw;
	size_t scan = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0, lenb;
	ptrdiff_t lastoffset = 0;

	gb_varint(s->body, 0); /* dfpatch-size: no data format */
	while (scan < s->nlen) {
		ptrdiff_t oldscore = 0, slen;
		size_t scsc;

		scan += len;
		for (scsc = scan; scan < s->nlen; scan++) {
			len = longest_match(sa, old, s->olen, nw + scan,
					    s->nlen - scan, &pos);
			for (; scsc < scan + len; scsc++) {
				ptrdiff_t o = (ptrdiff_t)scsc + lastoffset;

				if (o >= 0 && (size_t)o < s->olen &&
				    old[o] == nw[scsc])
					oldscore++;
			}
			slen = (ptrdiff_t)len;
			if ((slen == oldscore && len) || slen > oldscore + 8)
				break;
			{
				ptrdiff_t o = (ptrdiff_t)scan + lastoffset;

				if (o >= 0 && (size_t)o < s->olen &&
				    old[o] == nw[scan])
					oldscore--;
			}
		}
		if ((ptrdiff_t)len != oldscore || scan == s->nlen) {
			emit(s, lastscan, lastpos, scan, pos, &lenb);
			lastscan = scan - lenb;
			lastpos = pos - lenb;
			lastoffset = (ptrdiff_t)pos - (ptrdiff_t)scan;
		}
	}
}

uint8_t *delta_diff(const uint8_t *base, size_t blen, const uint8_t *new_img,
		    size_t nlen, const struct delta_diff_opts *o,
		    size_t *out_len)
{
	struct growbuf body = { 0 }, out = { 0 };
	struct scan s = { base, new_img, blen, nlen, &body };
	saidx_t *sa = NULL;
	uint8_t hdr[4];

	if (blen >= 0x7fffffff || nlen >= 0x7fffffff ||
	    (o->heatshrink && (o->w < 4 || o->w > OTA_HS_MAX_WINDOW_SZ2 ||
			       o->l < 3 || o->l >= o->w))) {
		errno = EINVAL;
		return NULL;
	}
	if (o->esp_header) {
		uint8_t esp[OTA_DELTA_ESP_HDR_LEN] = { 0x10, 0xde, 0xcd, 0xfc };

		memcpy(esp + 4, o->esp_base_sha256, 32);
		gb_put(&out, esp, sizeof(esp));
	}
	hdr[0] = (uint8_t)(OTA_DELTA_TYPE_SEQUENTIAL << 4 |
			   (o->heatshrink ? OTA_DELTA_COMP_HEATSHRINK
					  : OTA_DELTA_COMP_NONE));
	gb_put(&out, hdr, 1);
	gb_varint(&out, (int64_t)nlen);
	if (nlen) {
		if (blen) {
			sa = malloc(blen * sizeof(*sa));
			if (!sa || divsufsort(base, sa, (saidx_t)blen)) {
				free(sa);
				free(out.buf);
				errno = ENOMEM;
				return NULL;
			}
		}
		make_body(&s, sa);
		free(sa);
		if (o->heatshrink && !body.oom) {
			size_t clen;
			uint8_t *c = heatshrink_enc_compress(body.buf, body.len,
							     o->w, o->l, &clen);

			if (!c) {
				body.oom = true;
			} else {
				hdr[0] =
					(uint8_t)((o->w - 4) << 4 | (o->l - 3));
				gb_put(&out, hdr, 1);
				gb_put(&out, c, clen);
				free(c);
			}
		} else {
			gb_put(&out, body.buf, body.len);
		}
	}
	free(body.buf);
	if (body.oom || out.oom) {
		free(out.buf);
		errno = ENOMEM;
		return NULL;
	}
	*out_len = out.len;
	return out.buf;
}

void delta_esp_base_hash(const uint8_t *base, size_t blen, uint8_t out[32],
			 bool *is_app)
{
	static struct ota_image_verify v;
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ANY };
	struct ota_sha256 sha;

	ota_image_verify_init(&v, &cfg);
	ota_image_verify_update(&v, base, blen);
	*is_app = !ota_image_verify_final(&v) && v.info.has_hash;
	if (*is_app) {
		memcpy(out, v.info.sha_stored, 32);
		return;
	}
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, base, blen);
	ota_sha256_final(&sha, out);
}
