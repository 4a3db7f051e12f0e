/* SPDX-License-Identifier: MIT */
/*
 * heatshrink encoder. Greedy LZSS over hash chains: positions are chained
 * by their first two bytes; at each position the chain is walked back
 * while the distance fits the window (at most MAX_CHAIN candidates, and
 * stopping at a full-length match), and the longest match wins, nearest
 * first. A back-reference (1 + W + L bits) is used only when it is shorter
 * than the literals it replaces: length > (1 + W + L) / 8, the reference
 * encoder's break-even rule. As in the reference encoder, the 2^W zero
 * bytes the decoder's window starts with count as history, so a leading
 * run of zeros is one back-reference. Bits go out MSB first; the final
 * byte is padded with zero bits, which a decoder reads as an unfinished
 * symbol.
 */
#include "host/heatshrink_enc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 128

struct bitw {
	uint8_t *buf;
	size_t len;
	uint8_t cur;
	unsigned int nbits; /* bits in cur */
};

static void put_bits(struct bitw *bw, uint32_t v, unsigned int n)
{
	while (n--) {
		bw->cur = (uint8_t)(bw->cur << 1 | ((v >> n) & 1));
		if (++bw->nbits == 8) {
			bw->buf[bw->len++] = bw->cur;
			bw->cur = 0;
			bw->nbits = 0;
		}
	}
}

static unsigned int key(const uint8_t *p)
{
	return (unsigned int)p[0] << 8 | p[1];
}

/* Chain position @j of @src under its first two bytes. */
static void chain(const uint8_t *src, size_t total, size_t j, int32_t *head,
		  int32_t *prev)
{
	if (j + 1 < total) {
		prev[j] = head[key(src + j)];
		head[key(src + j)] = (int32_t)j;
	}
}

uint8_t *heatshrink_enc_compress(const uint8_t *in, size_t len, unsigned int w,
				 unsigned int l, size_t *out_len)
{
	size_t win = (size_t)1 << w, maxlen = (size_t)1 << l;
	size_t min_len = (1 + w + l) / 8 + 1, total = win + len, i, j;
	struct bitw bw = { 0 };
	int32_t *head = NULL, *prev = NULL;
	uint8_t *src = NULL;

	if (w < 4 || w > 15 || l < 3 || l >= w) {
		errno = EINVAL;
		return NULL;
	}
	/* worst case: 9 bits per byte, plus the padded byte */
	bw.buf = malloc(len + len / 8 + 2);
	head = malloc(65536 * sizeof(*head));
	prev = malloc(total * sizeof(*prev));
	/* the decoder's window starts as 2^W zeros: matches may use them */
	src = calloc(1, total);
	if (!bw.buf || !head || !prev || !src) {
		free(bw.buf);
		free(head);
		free(prev);
		free(src);
		errno = ENOMEM;
		return NULL;
	}
	memcpy(src + win, in, len);
	for (j = 0; j < 65536; j++)
		head[j] = -1;
	for (j = 0; j < win; j++)
		chain(src, total, j, head, prev);
	for (i = win; i < total;) {
		size_t best = 0, best_dist = 0, lim = total - i, step;
		int32_t cand = i + 1 < total ? head[key(src + i)] : -1;
		unsigned int depth = 0;

		if (lim > maxlen)
			lim = maxlen;
		while (cand >= 0 && i - (size_t)cand <= win &&
		       depth++ < MAX_CHAIN) {
			size_t k = 0;

			while (k < lim && src[(size_t)cand + k] == src[i + k])
				k++;
			if (k > best) {
				best = k;
				best_dist = i - (size_t)cand;
				if (k == lim)
					break;
			}
			cand = prev[cand];
		}
		if (best >= min_len) {
			put_bits(&bw, 0, 1);
			put_bits(&bw, (uint32_t)(best_dist - 1), w);
			put_bits(&bw, (uint32_t)(best - 1), l);
			step = best;
		} else {
			put_bits(&bw, 0x100u | src[i], 9);
			step = 1;
		}
		for (j = i; j < i + step; j++)
			chain(src, total, j, head, prev);
		i += step;
	}
	if (bw.nbits)
		put_bits(&bw, 0, 8 - bw.nbits);
	free(head);
	free(prev);
	free(src);
	*out_len = bw.len;
	return bw.buf;
}
