/* SPDX-License-Identifier: MIT */
/*
 * heatshrink decoder. Theory of operation:
 *
 * The stream is a sequence of symbols, each read MSB first across byte
 * boundaries: a 1 tag and 8 literal bits, or a 0 tag, W index bits and L
 * count bits. Fields are gathered a few bits at a time into facc (at most
 * 15 bits wide), so an input byte can end anywhere inside a symbol and the
 * next call picks up where this one stopped. A back-reference turns into
 * a copy counter; each ota_hs_next() call then yields one copied byte, so
 * the caller can stop between any two output bytes.
 *
 * The window is a ring indexed by the output count modulo 2^W: byte k of
 * the output lives at window[k & mask]. That makes the state easy to
 * serialise (delta.c writes the last min(total, 2^W) bytes in order).
 *
 * The window starts zero-filled, and a distance larger than the output so
 * far reads those zeros: the reference encoder (and so detools) matches
 * against that initial window, e.g. a patch body's first run of zero diff
 * bytes is often a back-reference 130 bytes "before" the start.
 */
#include "ota_engine/heatshrink.h"

#include <errno.h>
#include <string.h>

enum {
	HS_TAG,
	HS_LITERAL,
	HS_INDEX,
	HS_COUNT,
};

int ota_hs_init(struct ota_hs *h, unsigned int w, unsigned int l)
{
	memset(h, 0, sizeof(*h));
	if (w < OTA_HS_MIN_WINDOW_SZ2 || l < OTA_HS_MIN_LOOKAHEAD_SZ2 ||
	    l >= w || w > 15)
		return -EINVAL;
	if (w > OTA_HS_MAX_WINDOW_SZ2)
		return -ERANGE;
	h->w = (uint8_t)w;
	h->l = (uint8_t)l;
	h->state = HS_TAG;
	return 0;
}

/*
 * Gather bits into facc until it holds @n of them. True when complete;
 * false when the input ran out first (all of it taken).
 */
static bool gather(struct ota_hs *h, unsigned int n, const uint8_t **in,
		   size_t *in_len)
{
	while (h->fbits < n) {
		unsigned int take, shift;

		if (!h->cur_bits) {
			if (!*in_len)
				return false;
			h->cur = **in;
			h->cur_bits = 8;
			(*in)++;
			(*in_len)--;
		}
		take = n - h->fbits;
		if (take > h->cur_bits)
			take = h->cur_bits;
		shift = h->cur_bits - take;
		h->facc = (uint16_t)((h->facc << take) |
				     ((h->cur >> shift) & ((1u << take) - 1)));
		h->cur_bits = (uint8_t)(h->cur_bits - take);
		h->fbits = (uint8_t)(h->fbits + take);
	}
	return true;
}

static uint8_t emit(struct ota_hs *h, uint8_t b)
{
	h->window[h->total & ((1u << h->w) - 1)] = b;
	h->total++;
	return b;
}

int ota_hs_next(struct ota_hs *h, const uint8_t **in, size_t *in_len,
		uint8_t *out)
{
	for (;;) {
		if (h->copy) {
			uint32_t mask = (1u << h->w) - 1;

			h->copy--;
			*out = emit(
				h, h->window[(h->total - h->index - 1) & mask]);
			return 1;
		}
		switch (h->state) {
		case HS_TAG:
			if (!gather(h, 1, in, in_len))
				return 0;
			h->state = h->facc ? HS_LITERAL : HS_INDEX;
			break;
		case HS_LITERAL:
			if (!gather(h, 9, in, in_len))
				return 0;
			*out = emit(h, (uint8_t)h->facc);
			h->facc = 0;
			h->fbits = 0;
			h->state = HS_TAG;
			return 1;
		case HS_INDEX:
			/* the tag bit (0) stays in facc: it adds nothing */
			if (!gather(h, 1u + h->w, in, in_len))
				return 0;
			h->index = h->facc;
			h->facc = 0;
			h->fbits = 0;
			h->state = HS_COUNT;
			break;
		case HS_COUNT:
			if (!gather(h, h->l, in, in_len))
				return 0;
			h->copy = (uint16_t)(h->facc + 1);
			h->facc = 0;
			h->fbits = 0;
			h->state = HS_TAG;
			break;
		default:
			return -EILSEQ;
		}
	}
}

bool ota_hs_mid_symbol(const struct ota_hs *h)
{
	unsigned int read;

	if (h->copy)
		return true;
	switch (h->state) {
	case HS_TAG:
		return false;
	case HS_LITERAL:
		read = h->fbits;
		break;
	case HS_INDEX:
		read = h->fbits;
		break;
	case HS_COUNT:
		read = 1u + h->w + h->fbits;
		break;
	default:
		return true;
	}
	return read >= 8;
}

unsigned int ota_hs_buffered_bits(const struct ota_hs *h)
{
	return h->cur_bits;
}
