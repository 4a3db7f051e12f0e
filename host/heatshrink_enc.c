/* SPDX-License-Identifier: MIT */
/*
 * heatshrink encoder. Greedy LZSS over hash chains: positions are chained
 * by their first two bytes; at each position the chain is walked back
 * while the distance fits the window (at most MAX_CHAIN candidates, and
 * stopping at a full-length match), and the longest match wins, nearest
 * first. A back-reference (1 + W + L bits) is used only when it is shorter
 * than the literals it replaces: length > (1 + W + L) / 8, the reference
 * encoder's break-even rule. Bits go out MSB first; the final byte is
 * padded with zero bits, which a decoder reads as an unfinished symbol.
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

uint8_t *heatshrink_enc_compress(const uint8_t *in, size_t len, unsigned int w,
				 unsigned int l, size_t *out_len)
{
	size_t win = (size_t)1 << w, maxlen = (size_t)1 << l;
	size_t min_len = (1 + w + l) / 8 + 1, i = 0, j;
	struct bitw bw = { 0 };
	int32_t *head = NULL, *prev = NULL;

	if (w < 4 || w > 15 || l < 3 || l >= w) {
		errno = EINVAL;
		return NULL;
	}
	/* worst case: 9 bits per byte, plus the padded byte */
	bw.buf = malloc(len + len / 8 + 2);
	head = malloc(65536 * sizeof(*head));
	prev = malloc((len ? len : 1) * sizeof(*prev));
	if (!bw.buf || !head || !prev) {
		free(bw.buf);
		free(head);
		free(prev);
		errno = ENOMEM;
		return NULL;
	}
	for (j = 0; j < 65536; j++)
		head[j] = -1;
	while (i < len) {
		size_t best = 0, best_dist = 0, lim = len - i, step;
		int32_t cand;
		unsigned int chain = 0;

		if (lim > maxlen)
			lim = maxlen;
		if (i + 1 < len)
			cand = head[key(in + i)];
		else
			cand = -1;
		while (cand >= 0 && i - (size_t)cand <= win &&
		       chain++ < MAX_CHAIN) {
			size_t k = 0;

			while (k < lim && in[(size_t)cand + k] == in[i + k])
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
			put_bits(&bw, 0x100u | in[i], 9);
			step = 1;
		}
		/* chain every position the symbol covered */
		for (j = i; j < i + step; j++) {
			if (j + 1 < len) {
				prev[j] = head[key(in + j)];
				head[key(in + j)] = (int32_t)j;
			}
		}
		i += step;
	}
	if (bw.nbits)
		put_bits(&bw, 0, 8 - bw.nbits);
	free(head);
	free(prev);
	*out_len = bw.len;
	return bw.buf;
}
