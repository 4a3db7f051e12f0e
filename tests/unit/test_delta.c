/* SPDX-License-Identifier: MIT */
/*
 * Delta patches: detools varint vectors, heatshrink round trips (host
 * encoder -> device decoder) over every window/lookahead pair up to the
 * build's maximum and several data shapes, the detools "foo" example's
 * record layout rebuilt with our own diff, every decoder error, chunking
 * invariance, the esp_delta_ota header, and checkpoint/restore at every
 * pause boundary (and every byte) giving byte-identical output.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/delta_diff.h"
#include "host/heatshrink_enc.h"
#include "ota_engine/delta.h"
#include "ota_engine/heatshrink.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = (uint8_t)rnd();
}

/* ---- a sink: base reads and output writes, checked for order --------- */

struct sink {
	const uint8_t *base;
	size_t blen;
	uint8_t *out;
	size_t len, cap;
	int fail_read, fail_write; /* returned by the callbacks when != 0 */
	uint32_t records;
	int32_t last_adjust;
	uint32_t rec_diff[8], rec_extra[8];
	int32_t rec_adj[8];
};

static int sink_read(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	struct sink *s = user;

	if (s->fail_read)
		return s->fail_read;
	assert_true((size_t)off + len <= s->blen);
	memcpy(buf, s->base + off, len);
	return 0;
}

static int sink_write(void *user, uint32_t off, const uint8_t *buf, size_t len)
{
	struct sink *s = user;

	if (s->fail_write)
		return s->fail_write;
	assert_int_equal(off, s->len); /* in order, nothing skipped */
	assert_true(len > 0 && len <= OTA_DELTA_BUF);
	assert_true(s->len + len <= s->cap);
	memcpy(s->out + s->len, buf, len);
	s->len += len;
	return 0;
}

static void sink_record(void *user, uint32_t diff, uint32_t extra,
			int32_t adjust)
{
	struct sink *s = user;

	if (s->records < ARRAY_SIZE(s->rec_diff)) {
		s->rec_diff[s->records] = diff;
		s->rec_extra[s->records] = extra;
		s->rec_adj[s->records] = adjust;
	}
	s->records++;
	s->last_adjust = adjust;
}

static void sink_init(struct sink *s, const uint8_t *base, size_t blen,
		      size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->blen = blen;
	s->cap = cap;
	s->out = malloc(cap ? cap : 1);
	assert_non_null(s->out);
}

static struct ota_delta_cfg sink_cfg(struct sink *s)
{
	return (struct ota_delta_cfg){ .read_base = sink_read,
				       .write = sink_write,
				       .on_record = sink_record,
				       .user = s,
				       .base_size = (uint32_t)s->blen };
}

static struct ota_delta dec;

/* Feed @p in chunks of @chunk (0 = random sizes); returns the final rc. */
static int run(struct ota_delta *d, const uint8_t *p, size_t plen, size_t chunk)
{
	size_t i = 0, used;
	int rc;

	while (i < plen) {
		size_t n = chunk ? chunk : 1 + rnd() % 300;

		if (n > plen - i)
			n = plen - i;
		rc = ota_delta_feed(d, p + i, n, &used);
		if (rc)
			return rc;
		assert_true(used == n || ota_delta_paused(d));
		i += used;
	}
	return ota_delta_finish(d);
}

/* Apply in one go with a fresh decoder; err out, rc returned. */
static int apply(const uint8_t *base, size_t blen, const uint8_t *p,
		 size_t plen, size_t chunk, struct sink *s,
		 enum ota_delta_err *err)
{
	struct ota_delta_cfg cfg;
	int rc;

	sink_init(s, base, blen, 1u << 22);
	cfg = sink_cfg(s);
	ota_delta_init(&dec, &cfg);
	rc = run(&dec, p, plen, chunk);
	*err = dec.err;
	return rc;
}

static uint8_t *mkpatch(const uint8_t *base, size_t blen, const uint8_t *nw,
			size_t nlen, unsigned int w, unsigned int l,
			size_t *plen)
{
	struct delta_diff_opts o = { .heatshrink = w != 0, .w = w, .l = l };
	uint8_t *p = delta_diff(base, blen, nw, nlen, &o, plen);

	assert_non_null(p);
	return p;
}

/* ---- test pairs ------------------------------------------------------ */

enum pair_kind {
	PAIR_EDITS,   /* a few bytes changed, a block inserted, one deleted */
	PAIR_SHIFTED, /* "code": 4-byte words in a region incremented */
	PAIR_UNRELATED,
	PAIR_ZEROS, /* new image mostly zeros (long runs) */
	PAIR_EMPTY_BASE,
	PAIR_COUNT
};

struct pair {
	uint8_t *base, *nw;
	size_t blen, nlen;
};

static void mkpair(struct pair *pr, enum pair_kind k, size_t size,
		   uint32_t seed)
{
	size_t i;

	rng_state = seed;
	pr->blen = k == PAIR_EMPTY_BASE ? 0 : size;
	pr->base = malloc(size + 1);
	pr->nw = malloc(size + 600);
	assert_non_null(pr->base);
	assert_non_null(pr->nw);
	fill_random(pr->base, size);
	switch (k) {
	case PAIR_EDITS:
		memcpy(pr->nw, pr->base, size / 2);
		fill_random(pr->nw + size / 2, 300); /* inserted */
		memcpy(pr->nw + size / 2 + 300, pr->base + size / 2 + 100,
		       size / 2 - 100); /* 100 deleted */
		pr->nlen = size + 200;
		for (i = 0; i < 10; i++)
			pr->nw[rnd() % pr->nlen] ^= 0x5a;
		break;
	case PAIR_SHIFTED:
		memcpy(pr->nw, pr->base, size);
		for (i = size / 4; i + 4 <= size; i += 16)
			pr->nw[i] = (uint8_t)(pr->nw[i] + 0x40);
		pr->nlen = size;
		break;
	case PAIR_UNRELATED:
		fill_random(pr->nw, size);
		pr->nlen = size;
		break;
	case PAIR_ZEROS:
		memset(pr->nw, 0, size);
		for (i = 0; i < size; i += 97)
			pr->nw[i] = (uint8_t)rnd();
		pr->nlen = size;
		break;
	case PAIR_EMPTY_BASE:
		fill_random(pr->nw, size);
		for (i = 0; i < size; i++)
			pr->nw[i] &= 0x0f; /* compressible */
		pr->nlen = size;
		break;
	case PAIR_COUNT:
		break;
	}
}

static void free_pair(struct pair *pr)
{
	free(pr->base);
	free(pr->nw);
}

/* ---- varints --------------------------------------------------------- */

static void test_varint_vectors(void **state)
{
	static const struct {
		int64_t v;
		uint8_t len;
		uint8_t b[3];
	} vec[] = {
		{ 2780, 2, { 0x9c, 0x2b } }, { 1642, 2, { 0xaa, 0x19 } },
		{ 20, 1, { 0x14 } },         { -24, 1, { 0x58 } },
		{ 63, 1, { 0x3f } },         { 64, 2, { 0x80, 0x01 } },
		{ 0, 1, { 0x00 } },          { -1, 1, { 0x41 } },
	};
	uint8_t out[10];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(vec); i++) {
		assert_int_equal(delta_varint_put(out, vec[i].v), vec[i].len);
		assert_memory_equal(out, vec[i].b, vec[i].len);
	}
	/* 2^31 - 1 takes 5 bytes */
	assert_int_equal(delta_varint_put(out, 0x7fffffff), 5);
}

/* The decoder reads the same vectors: to-size and a negative adjustment. */
static void test_varint_decode(void **state)
{
	/* to-size 2780; a one-byte image whose record adjusts by -24 */
	static const uint8_t p1[] = { 0x00, 0x9c, 0x2b };
	static const uint8_t p2[] = {
		0x00, 0x01, 0x00, 0x00, 0x01, 0x7a, 0x58
	};
	static const uint8_t max[] = { 0x00, 0xbf, 0xff, 0xff, 0xff, 0x0f };
	struct ota_delta_info in;
	struct sink s;
	enum ota_delta_err err;
	size_t used;

	(void)state;
	sink_init(&s, NULL, 0, 16);
	{
		struct ota_delta_cfg cfg = sink_cfg(&s);

		ota_delta_init(&dec, &cfg);
	}
	assert_int_equal(ota_delta_feed(&dec, p1, sizeof(p1), &used), 0);
	ota_delta_get_info(&dec, &in);
	assert_true(in.have_header);
	assert_true(in.have_size);
	assert_int_equal(in.to_size, 2780);
	free(s.out);

	assert_int_equal(apply(NULL, 0, p2, sizeof(p2), 1, &s, &err), 0);
	assert_int_equal(s.records, 1);
	assert_int_equal(s.last_adjust, -24);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.out[0], 0x7a);
	free(s.out);

	sink_init(&s, NULL, 0, 16);
	{
		struct ota_delta_cfg cfg = sink_cfg(&s);

		ota_delta_init(&dec, &cfg);
	}
	assert_int_equal(ota_delta_feed(&dec, max, sizeof(max), &used), 0);
	assert_int_equal(ota_delta_to_size(&dec), 0x7fffffff);
	free(s.out);
}

/* ---- heatshrink ------------------------------------------------------ */

static void hs_round_trip(const uint8_t *in, size_t len, unsigned int w,
			  unsigned int l, size_t chunk)
{
	static struct ota_hs h;
	size_t clen, got = 0, i = 0;
	uint8_t *c = heatshrink_enc_compress(in, len, w, l, &clen);
	uint8_t *out = malloc(len + 1), b;

	assert_non_null(c);
	assert_non_null(out);
	assert_int_equal(ota_hs_init(&h, w, l), 0);
	while (got < len) {
		const uint8_t *p = c + i;
		size_t n = clen - i < chunk ? clen - i : chunk, before = n;
		int rc;

		while (got < len && (rc = ota_hs_next(&h, &p, &n, &b)) == 1)
			out[got++] = b;
		i += before - n;
		if (got < len)
			assert_true(i < clen); /* never stuck with input left */
	}
	assert_memory_equal(out, in, len);
	/* all input taken, and what is left is padding */
	assert_int_equal(i, clen);
	assert_false(ota_hs_mid_symbol(&h));
	assert_true(ota_hs_buffered_bits(&h) < 8);
	free(out);
	free(c);
}

static void test_heatshrink_round_trip(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 17, 1000, 5000 };
	uint8_t *buf = malloc(5000);
	unsigned int w, l, shape;
	size_t i, k;

	(void)state;
	assert_non_null(buf);
	for (shape = 0; shape < 4; shape++) {
		rng_state = 7 + shape;
		for (i = 0; i < 5000; i++) {
			switch (shape) {
			case 0: /* random */
				buf[i] = (uint8_t)rnd();
				break;
			case 1: /* zeros */
				buf[i] = 0;
				break;
			case 2: /* text-like: repeated words */
				buf[i] = (uint8_t) "the quick brown fox "
					[(i * 7 + i / 50) % 20];
				break;
			default: /* runs of random length */
				buf[i] = i && rnd() % 8 ? buf[i - 1]
							: (uint8_t)rnd();
			}
		}
		for (w = OTA_HS_MIN_WINDOW_SZ2; w <= OTA_HS_MAX_WINDOW_SZ2; w++)
			for (l = OTA_HS_MIN_LOOKAHEAD_SZ2; l < w; l++)
				for (k = 0; k < ARRAY_SIZE(sizes); k++)
					hs_round_trip(buf, sizes[k], w, l,
						      k % 2 ? 1 : 4096);
	}
	free(buf);
}

static void test_heatshrink_params(void **state)
{
	static struct ota_hs h;
	size_t n;

	(void)state;
	assert_int_equal(ota_hs_init(&h, 8, 7), 0);
	assert_int_equal(ota_hs_init(&h, 3, 3), -EINVAL);
	assert_int_equal(ota_hs_init(&h, 8, 2), -EINVAL);
	assert_int_equal(ota_hs_init(&h, 8, 8), -EINVAL);
	assert_int_equal(ota_hs_init(&h, OTA_HS_MAX_WINDOW_SZ2 + 1, 4),
			 OTA_HS_MAX_WINDOW_SZ2 < 15 ? -ERANGE : -EINVAL);
	assert_null(
		heatshrink_enc_compress((const uint8_t *)"x", 1, 16, 4, &n));
	assert_int_equal(errno, EINVAL);
	assert_null(heatshrink_enc_compress((const uint8_t *)"x", 1, 8, 8, &n));
}

/* A back-reference into the zero-filled window before the first byte
 * (what the reference encoder emits for a leading run of zeros). */
static void test_heatshrink_initial_window(void **state)
{
	/* W=8 L=7: tag 0, index 0x81 (distance 130), count 127 (128 B) */
	static const uint8_t s[] = { 0x40, 0xff, 0x80 };
	static struct ota_hs h;
	const uint8_t *p = s;
	size_t n = sizeof(s), got = 0;
	uint8_t b;

	(void)state;
	assert_int_equal(ota_hs_init(&h, 8, 7), 0);
	while (ota_hs_next(&h, &p, &n, &b) == 1) {
		assert_int_equal(b, 0);
		got++;
	}
	assert_int_equal(got, 128);
}

/* The encoder uses that window too: 128 zeros are one 16-bit symbol. */
static void test_heatshrink_encode_initial_window(void **state)
{
	uint8_t zeros[128] = { 0 }, *c;
	size_t clen;

	(void)state;
	c = heatshrink_enc_compress(zeros, sizeof(zeros), 8, 7, &clen);
	assert_non_null(c);
	assert_int_equal(clen, 2);
	assert_int_equal(c[0] & 0x80, 0); /* a back-reference tag */
	free(c);
	hs_round_trip(zeros, sizeof(zeros), 8, 7, 1);
}

/* ---- the detools "foo" example's structure, rebuilt ------------------ */

/*
 * detools' tests/files/foo: 2780-byte old and new; none.patch is 00 9C 2B
 * 00 then records (1642, 20, +24) and (1110, 8, ...). A pair with the same
 * shape: new = old[0, 1642) + 20 new bytes + old[1666, 2776) + 8 new
 * bytes, with a few bytes changed inside the copied parts.
 */
static void test_foo_structure(void **state)
{
	uint8_t old[2780], nw[2780], *p;
	size_t plen, i;
	struct sink s;
	enum ota_delta_err err;

	(void)state;
	rng_state = 2780;
	fill_random(old, sizeof(old));
	memcpy(nw, old, 1642);
	/* the extra bytes differ from old under both alignments (+0, +4) */
	for (i = 0; i < 20; i++) {
		nw[1642 + i] = (uint8_t)(old[1642 + i] + 1);
		if (nw[1642 + i] == old[1646 + i])
			nw[1642 + i]++;
	}
	memcpy(nw + 1662, old + 1666, 1110);
	for (i = 0; i < 8; i++)
		nw[2772 + i] = (uint8_t)(old[(2776 + i) % 2780] ^ 0xff);
	for (i = 100; i < 1600; i += 300)
		nw[i] ^= 0x11; /* small changes: stay in the diff */
	nw[2000] ^= 0x22;

	p = mkpatch(old, sizeof(old), nw, sizeof(nw), 0, 0, &plen);
	/* header, to-size 2780, dfpatch 0, diff-size 1642 */
	assert_true(plen > 6);
	assert_memory_equal(p, "\x00\x9c\x2b\x00\xaa\x19", 6);
	assert_int_equal(apply(old, sizeof(old), p, plen, 0, &s, &err), 0);
	assert_memory_equal(s.out, nw, sizeof(nw));
	assert_int_equal(s.records, 2);
	assert_int_equal(s.rec_diff[0], 1642);
	assert_int_equal(s.rec_extra[0], 20);
	assert_int_equal(s.rec_adj[0], 24);
	assert_int_equal(s.rec_diff[1], 1110);
	assert_int_equal(s.rec_extra[1], 8);
	/* none: header, to-size, dfpatch, two records' sizes, 2752 diff and
	 * 28 extra bytes, the adjustments; nothing more */
	{
		uint8_t v[10];

		assert_int_equal(plen,
				 3 + 1 + (2 + 1 + 1) + (2 + 1) + 2780 +
					 delta_varint_put(v, s.rec_adj[1]));
	}
	free(s.out);
	free(p);

	/* heatshrink W8 L7: same records, header 04 9C 2B 44 */
	p = mkpatch(old, sizeof(old), nw, sizeof(nw), 8, 7, &plen);
	assert_memory_equal(p, "\x04\x9c\x2b\x44", 4);
	assert_true(plen < 400);
	assert_int_equal(apply(old, sizeof(old), p, plen, 1, &s, &err), 0);
	assert_memory_equal(s.out, nw, sizeof(nw));
	assert_int_equal(s.records, 2);
	free(s.out);
	free(p);

	/* W10 L5: parameter byte 0x62 */
	p = mkpatch(old, sizeof(old), nw, sizeof(nw), 10, 5, &plen);
	assert_memory_equal(p, "\x04\x9c\x2b\x62", 4);
	free(p);
}

static void test_empty_target(void **state)
{
	uint8_t old[10] = { 1 }, *p;
	size_t plen;
	struct sink s;
	enum ota_delta_err err;

	(void)state;
	p = mkpatch(old, sizeof(old), NULL, 0, 0, 0, &plen);
	assert_int_equal(plen, 2);
	assert_memory_equal(p, "\x00\x00", 2);
	free(p);
	p = mkpatch(old, sizeof(old), NULL, 0, 8, 7, &plen);
	assert_int_equal(plen, 2);
	assert_memory_equal(p, "\x04\x00", 2);
	assert_int_equal(apply(old, 10, p, plen, 1, &s, &err), 0);
	assert_int_equal(s.len, 0);
	free(s.out);
	free(p);
}

/* ---- round trips over the pair kinds, both compressions -------------- */

static const unsigned int params[][2] = {
	{ 0, 0 }, { 8, 7 }, { 10, 5 }, { 4, 3 }, { 9, 4 },
};

static void test_round_trip(void **state)
{
	unsigned int k, j;

	(void)state;
	for (k = 0; k < PAIR_COUNT; k++) {
		struct pair pr;

		mkpair(&pr, k, 20000, 100 + k);
		for (j = 0; j < ARRAY_SIZE(params); j++) {
			struct sink s;
			enum ota_delta_err err;
			size_t plen;
			uint8_t *p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen,
					     params[j][0], params[j][1], &plen);

			assert_int_equal(
				apply(pr.base, pr.blen, p, plen, 0, &s, &err),
				0);
			assert_int_equal(s.len, pr.nlen);
			assert_memory_equal(s.out, pr.nw, pr.nlen);
			/* similar images make small patches (L=4 at W=9
			 * needs 14 bits per 16 zero diff bytes) */
			if (params[j][0] >= 8 &&
			    (k == PAIR_EDITS || k == PAIR_SHIFTED))
				assert_true(plen < pr.nlen / 5);
			free(s.out);
			free(p);
		}
		free_pair(&pr);
	}
}

/* 1 byte at a time, 7 at a time, random sizes: the same output. */
static void test_chunking(void **state)
{
	static const size_t chunks[] = { 1, 7, 0, 128, 100000 };
	unsigned int k, j;
	size_t c;

	(void)state;
	for (k = 0; k < PAIR_COUNT; k++) {
		struct pair pr;

		mkpair(&pr, k, 6000, 200 + k);
		for (j = 0; j < ARRAY_SIZE(params); j++) {
			size_t plen;
			uint8_t *p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen,
					     params[j][0], params[j][1], &plen);

			for (c = 0; c < ARRAY_SIZE(chunks); c++) {
				struct sink s;
				enum ota_delta_err err;

				assert_int_equal(apply(pr.base, pr.blen, p,
						       plen, chunks[c], &s,
						       &err),
						 0);
				assert_int_equal(s.len, pr.nlen);
				assert_memory_equal(s.out, pr.nw, pr.nlen);
				assert_int_equal(ota_delta_patch_pos(&dec),
						 plen);
				free(s.out);
			}
			free(p);
		}
		free_pair(&pr);
	}
}

/* ---- errors ---------------------------------------------------------- */

struct err_case {
	const char *name;
	uint8_t p[24];
	size_t len;
	uint32_t base_size;
	uint32_t max_size;
	enum ota_delta_err err;
	int rc;
};

static const struct err_case err_cases[] = {
	{ "pad bit", { 0x80, 0x01 }, 2, 0, 0, OTA_DELTA_ERR_HEADER, -EILSEQ },
	{ "in-place", { 0x10, 0x01 }, 2, 0, 0, OTA_DELTA_ERR_TYPE, -ENOTSUP },
	{ "hdiffpatch", { 0x20, 0x01 }, 2, 0, 0, OTA_DELTA_ERR_TYPE, -ENOTSUP },
	{ "lzma",
	  { 0x01, 0x01 },
	  2,
	  0,
	  0,
	  OTA_DELTA_ERR_COMPRESSION,
	  -ENOTSUP },
	{ "crle",
	  { 0x02, 0x01 },
	  2,
	  0,
	  0,
	  OTA_DELTA_ERR_COMPRESSION,
	  -ENOTSUP },
	{ "hs lookahead >= window",
	  { 0x04, 0x01, 0x05 },
	  3,
	  0,
	  0,
	  OTA_DELTA_ERR_HS_PARAMS,
	  -EILSEQ },
	{ "hs window too large",
	  { 0x04, 0x01, (OTA_HS_MAX_WINDOW_SZ2 + 1 - 4) << 4 | 1 },
	  3,
	  0,
	  0,
	  OTA_HS_MAX_WINDOW_SZ2 < 15 ? OTA_DELTA_ERR_WINDOW
				     : OTA_DELTA_ERR_HS_PARAMS,
	  OTA_HS_MAX_WINDOW_SZ2 < 15 ? -ENOTSUP : -EILSEQ },
	{ "varint 5th byte too big",
	  { 0x00, 0xff, 0xff, 0xff, 0xff, 0x10 },
	  6,
	  0,
	  0,
	  OTA_DELTA_ERR_VARINT,
	  -EILSEQ },
	{ "varint 6 bytes",
	  { 0x00, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00 },
	  7,
	  0,
	  0,
	  OTA_DELTA_ERR_VARINT,
	  -EILSEQ },
	{ "negative to-size",
	  { 0x00, 0x41 },
	  2,
	  0,
	  0,
	  OTA_DELTA_ERR_NEGATIVE,
	  -EILSEQ },
	{ "negative extra-size",
	  { 0x00, 0x01, 0x00, 0x00, 0x41 },
	  5,
	  0,
	  0,
	  OTA_DELTA_ERR_NEGATIVE,
	  -EILSEQ },
	{ "dfpatch",
	  { 0x00, 0x01, 0x01 },
	  3,
	  0,
	  0,
	  OTA_DELTA_ERR_DATA_FORMAT,
	  -ENOTSUP },
	{ "to-size over the slot",
	  { 0x00, 0x05 },
	  2,
	  0,
	  4,
	  OTA_DELTA_ERR_TOO_BIG,
	  -ENOSPC },
	{ "diff past to-size",
	  { 0x00, 0x02, 0x00, 0x03 },
	  4,
	  8,
	  0,
	  OTA_DELTA_ERR_PAST_END,
	  -EILSEQ },
	{ "extra past to-size",
	  { 0x00, 0x02, 0x00, 0x01, 0x00, 0x02 },
	  6,
	  8,
	  0,
	  OTA_DELTA_ERR_PAST_END,
	  -EILSEQ },
	{ "diff past the base end",
	  { 0x00, 0x05, 0x00, 0x05 },
	  4,
	  4,
	  0,
	  OTA_DELTA_ERR_BASE_RANGE,
	  -EILSEQ },
	{ "diff before the base start",
	  /* record 1: extra 1, adjust -1; record 2: diff 1 at -1 */
	  { 0x00, 0x02, 0x00, 0x00, 0x01, 0xaa, 0x41, 0x01 },
	  8,
	  4,
	  0,
	  OTA_DELTA_ERR_BASE_RANGE,
	  -EILSEQ },
	{ "none: byte after the last record",
	  { 0x00, 0x01, 0x00, 0x00, 0x01, 0xaa, 0x00, 0x00 },
	  8,
	  0,
	  0,
	  OTA_DELTA_ERR_TRAILING,
	  -EILSEQ },
	{ "empty target: byte after to-size",
	  { 0x04, 0x00, 0x44 },
	  3,
	  0,
	  0,
	  OTA_DELTA_ERR_TRAILING,
	  -EILSEQ },
	{ "none: ends inside a record",
	  { 0x00, 0x02, 0x00, 0x00, 0x02, 0xaa },
	  6,
	  0,
	  0,
	  OTA_DELTA_ERR_SHORT,
	  -EILSEQ },
	{ "empty file", { 0 }, 0, 0, 0, OTA_DELTA_ERR_SHORT, -EILSEQ },
	{ "esp header cut",
	  { 0x10, 0xde, 0xcd },
	  3,
	  0,
	  0,
	  OTA_DELTA_ERR_SHORT,
	  -EILSEQ },
	/* W8 L7: literal 00 (9 bits), then a back-reference's tag and
	 * index (9 bits) and 6 count bits: 15 bits of a symbol */
	{ "hs ends inside a back-reference",
	  { 0x04, 0x01, 0x44, 0x80, 0x00, 0x00 },
	  6,
	  0,
	  0,
	  OTA_DELTA_ERR_HS_TRUNCATED,
	  -EILSEQ },
	/* literal 00 then 7 zero pad bits: a clean end, too early */
	{ "hs ends on a symbol boundary",
	  { 0x04, 0x01, 0x44, 0x80, 0x00 },
	  5,
	  0,
	  0,
	  OTA_DELTA_ERR_SHORT,
	  -EILSEQ },
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(err_cases); i++) {
		const struct err_case *c = &err_cases[i];
		uint8_t base[8] = { 0 };
		struct sink s;
		struct ota_delta_cfg cfg;
		size_t chunk;

		for (chunk = 1; chunk <= 64; chunk *= 64) {
			sink_init(&s, base, c->base_size, 64);
			cfg = sink_cfg(&s);
			cfg.max_size = c->max_size;
			ota_delta_init(&dec, &cfg);
			if (run(&dec, c->p, c->len, chunk) != c->rc ||
			    dec.err != c->err)
				fail_msg("%s (chunk %zu): rc %d err %d (%s)",
					 c->name, chunk, dec.rc, dec.err,
					 ota_delta_strerror(dec.err));
			/* sticky */
			assert_int_equal(ota_delta_finish(&dec), c->rc);
			assert_string_not_equal(ota_delta_strerror(c->err),
						"unknown");
			free(s.out);
		}
	}
}

/* Trailing bytes after a heatshrink patch; callback failures. */
static void test_errors_generated(void **state)
{
	struct pair pr;
	size_t plen, cut, hs_trunc = 0, shrt = 0;
	uint8_t *p, *q;
	struct sink s;
	enum ota_delta_err err;

	(void)state;
	mkpair(&pr, PAIR_EDITS, 3000, 5);
	p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen, 8, 7, &plen);
	q = malloc(plen + 1);
	assert_non_null(q);
	memcpy(q, p, plen);
	q[plen] = 0x00;
	assert_int_equal(apply(pr.base, pr.blen, q, plen + 1, 0, &s, &err),
			 -EILSEQ);
	assert_int_equal(err, OTA_DELTA_ERR_TRAILING);
	assert_int_equal(s.len, pr.nlen); /* the image itself was complete */
	free(s.out);

	/* every truncation fails, as "short" or "truncated", never ok */
	for (cut = 0; cut < plen; cut++) {
		assert_int_equal(apply(pr.base, pr.blen, p, cut, 0, &s, &err),
				 -EILSEQ);
		assert_true(err == OTA_DELTA_ERR_SHORT ||
			    err == OTA_DELTA_ERR_HS_TRUNCATED);
		hs_trunc += err == OTA_DELTA_ERR_HS_TRUNCATED;
		shrt += err == OTA_DELTA_ERR_SHORT;
		free(s.out);
	}
	assert_true(hs_trunc > 0 && shrt > 0);

	/* callback errors: passed through, or -EIO for a positive value */
	sink_init(&s, pr.base, pr.blen, 1u << 16);
	s.fail_read = -EFAULT;
	{
		struct ota_delta_cfg cfg = sink_cfg(&s);

		ota_delta_init(&dec, &cfg);
	}
	assert_int_equal(run(&dec, p, plen, 0), -EFAULT);
	assert_int_equal(dec.err, OTA_DELTA_ERR_IO);
	s.fail_read = 0;
	s.fail_write = 1;
	{
		struct ota_delta_cfg cfg = sink_cfg(&s);

		ota_delta_init(&dec, &cfg);
	}
	assert_int_equal(run(&dec, p, plen, 0), -EIO);
	assert_int_equal(dec.err, OTA_DELTA_ERR_IO);
	free(s.out);
	free(q);
	free(p);
	free_pair(&pr);
}

/* ---- esp_delta_ota header --------------------------------------------- */

static void test_esp_header(void **state)
{
	struct delta_diff_opts o = {
		.heatshrink = true, .w = 8, .l = 7, .esp_header = true
	};
	struct pair pr;
	size_t plen, used;
	uint8_t *p;
	struct sink s;
	enum ota_delta_err err;
	bool is_app;

	(void)state;
	mkpair(&pr, PAIR_EDITS, 4000, 9);
	delta_esp_base_hash(pr.base, pr.blen, o.esp_base_sha256, &is_app);
	assert_false(is_app); /* random bytes: SHA-256 of the whole file */
	p = delta_diff(pr.base, pr.blen, pr.nw, pr.nlen, &o, &plen);
	assert_non_null(p);
	assert_memory_equal(p, "\x10\xde\xcd\xfc", 4);
	assert_memory_equal(p + 4, o.esp_base_sha256, 32);
	for (used = 36; used < 64; used++)
		assert_int_equal(p[used], 0);
	assert_int_equal(p[64], 0x04);
	assert_int_equal(apply(pr.base, pr.blen, p, plen, 1, &s, &err), 0);
	assert_memory_equal(s.out, pr.nw, pr.nlen);
	assert_non_null(ota_delta_esp_hash(&dec));
	assert_memory_equal(ota_delta_esp_hash(&dec), o.esp_base_sha256, 32);
	free(s.out);

	/* the hash is available as soon as the 64 bytes are in */
	sink_init(&s, pr.base, pr.blen, 8);
	{
		struct ota_delta_cfg cfg = sink_cfg(&s);

		ota_delta_init(&dec, &cfg);
	}
	assert_int_equal(ota_delta_feed(&dec, p, 63, &used), 0);
	assert_null(ota_delta_esp_hash(&dec));
	assert_int_equal(ota_delta_feed(&dec, p + 63, 1, &used), 0);
	assert_non_null(ota_delta_esp_hash(&dec));
	free(s.out);

	/* a magic byte wrong: 0x10 read as a detools header (in-place) */
	p[2] ^= 1;
	assert_int_equal(apply(pr.base, pr.blen, p, plen, 0, &s, &err),
			 -ENOTSUP);
	assert_int_equal(err, OTA_DELTA_ERR_TYPE);
	free(s.out);
	free(p);
	free_pair(&pr);
}

/* ---- inspect mode (no base): statistics only -------------------------- */

static void test_inspect(void **state)
{
	struct pair pr;
	struct sink s, t;
	struct ota_delta_cfg cfg = { .on_record = sink_record, .user = &t };
	enum ota_delta_err err;
	struct ota_delta_info in;
	size_t plen;
	uint8_t *p;

	(void)state;
	mkpair(&pr, PAIR_SHIFTED, 8000, 11);
	p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen, 10, 5, &plen);
	assert_int_equal(apply(pr.base, pr.blen, p, plen, 0, &s, &err), 0);
	memset(&t, 0, sizeof(t));
	ota_delta_init(&dec, &cfg);
	assert_int_equal(run(&dec, p, plen, 0), 0);
	assert_int_equal(t.records, s.records);
	ota_delta_get_info(&dec, &in);
	assert_int_equal(in.type, 0);
	assert_int_equal(in.compression, 4);
	assert_int_equal(in.window_sz2, 10);
	assert_int_equal(in.lookahead_sz2, 5);
	assert_int_equal(in.to_size, pr.nlen);
	assert_int_equal(in.records, s.records);
	free(s.out);
	free(p);
	free_pair(&pr);
}

/* ---- checkpoint / restore --------------------------------------------- */

/*
 * Apply @p once with pauses every @block output bytes (and, if @every_feed,
 * a checkpoint after every 1-byte feed), keeping each checkpoint; then
 * restore each one into a fresh decoder whose output already holds the
 * bytes before it, feed the rest of the patch from its patch offset, and
 * require the same image.
 */
static void check_restores(const struct pair *pr, const uint8_t *p, size_t plen,
			   uint32_t block, bool every_feed)
{
	static uint8_t ck[OTA_DELTA_CKPT_MAX];
	struct sink s;
	struct ota_delta_cfg cfg;
	size_t i = 0, used, cklen, restores = 0;
	uint32_t expect_pos;

	sink_init(&s, pr->base, pr->blen, pr->nlen + 1);
	cfg = sink_cfg(&s);
	cfg.pause_every = block;
	ota_delta_init(&dec, &cfg);
	while (i <= plen) {
		bool take = every_feed || ota_delta_paused(&dec);

		if (take) {
			static struct ota_delta r;
			struct sink rs;
			struct ota_delta_cfg rcfg;
			size_t j;

			assert_int_equal(ota_delta_checkpoint(
						 &dec, ck, sizeof(ck), &cklen),
					 0);
			assert_int_equal(cklen,
					 ota_delta_checkpoint_size(&dec));
			assert_true(cklen <= OTA_DELTA_CKPT_MAX);
			if (ota_delta_paused(&dec))
				assert_int_equal(ota_delta_to_pos(&dec) % block,
						 0);
			/* the resumed side: flash holds the output so far */
			sink_init(&rs, pr->base, pr->blen, pr->nlen + 1);
			memcpy(rs.out, s.out, s.len);
			rs.len = s.len;
			rcfg = sink_cfg(&rs);
			rcfg.pause_every = block;
			assert_int_equal(
				ota_delta_restore(&r, &rcfg, ck, cklen), 0);
			expect_pos = ota_delta_to_pos(&dec);
			assert_int_equal(ota_delta_to_pos(&r), expect_pos);
			assert_int_equal(ota_delta_patch_pos(&r),
					 ota_delta_patch_pos(&dec));
			j = ota_delta_patch_pos(&r);
			assert_int_equal(run(&r, p + j, plen - j, 0), 0);
			assert_int_equal(rs.len, pr->nlen);
			assert_memory_equal(rs.out, pr->nw, pr->nlen);
			free(rs.out);
			restores++;
		}
		if (i == plen)
			break;
		assert_int_equal(ota_delta_feed(&dec, p + i,
						every_feed ? 1 : plen - i,
						&used),
				 0);
		i += used;
	}
	assert_int_equal(ota_delta_finish(&dec), 0);
	assert_memory_equal(s.out, pr->nw, pr->nlen);
	/* a pause at every block boundary the image crosses */
	if (!every_feed)
		assert_true(restores + 1 >= pr->nlen / block);
	free(s.out);
}

static void test_checkpoint_blocks(void **state)
{
	unsigned int k, j;

	(void)state;
	for (k = 0; k < PAIR_COUNT; k++) {
		struct pair pr;

		mkpair(&pr, k, 40000, 300 + k);
		for (j = 0; j < ARRAY_SIZE(params); j++) {
			size_t plen;
			uint8_t *p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen,
					     params[j][0], params[j][1], &plen);

			check_restores(&pr, p, plen, 4096, false);
			check_restores(&pr, p, plen, 1000, false);
			free(p);
		}
		free_pair(&pr);
	}
}

/* Small patches: a checkpoint after every single patch byte. */
static void test_checkpoint_every_byte(void **state)
{
	unsigned int k, j;

	(void)state;
	for (k = 0; k < PAIR_COUNT; k++) {
		struct pair pr;

		mkpair(&pr, k, 1000, 400 + k);
		for (j = 0; j < ARRAY_SIZE(params); j++) {
			size_t plen;
			uint8_t *p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen,
					     params[j][0], params[j][1], &plen);

			check_restores(&pr, p, plen, 512, true);
			free(p);
		}
		free_pair(&pr);
	}
}

/* Checkpoint fields are range-checked, not trusted. */
static void test_checkpoint_rejects(void **state)
{
	static uint8_t ck[OTA_DELTA_CKPT_MAX], bad[OTA_DELTA_CKPT_MAX];
	struct pair pr;
	struct sink s;
	struct ota_delta_cfg cfg;
	size_t plen, used, cklen;
	uint8_t *p;

	(void)state;
	mkpair(&pr, PAIR_EDITS, 5000, 13);
	p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen, 8, 7, &plen);
	sink_init(&s, pr.base, pr.blen, pr.nlen + 1);
	cfg = sink_cfg(&s);
	ota_delta_init(&dec, &cfg);
	assert_int_equal(ota_delta_feed(&dec, p, plen / 2, &used), 0);
	assert_int_equal(ota_delta_checkpoint(&dec, ck, 10, &cklen), -EMSGSIZE);
	assert_int_equal(ota_delta_checkpoint(&dec, ck, sizeof(ck), &cklen), 0);
	/* 96 fixed bytes + the full 256-byte window */
	assert_int_equal(cklen, OTA_DELTA_CKPT_FIXED + 256);
	assert_int_equal(ota_delta_restore(&dec, &cfg, ck, cklen), 0);

	memcpy(bad, ck, cklen);
	bad[0] = 2; /* version */
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	memcpy(bad, ck, cklen);
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen - 1),
			 -EINVAL);
	bad[16] = 0xff; /* to_pos > to_size */
	bad[17] = 0xff;
	bad[18] = 0xff;
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	memcpy(bad, ck, cklen);
	bad[1] = 0x7f; /* phase */
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	memcpy(bad, ck, cklen);
	bad[74] = 9; /* heatshrink bits left in the byte */
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	memcpy(bad, ck, cklen);
	bad[2] = 0x01; /* header byte: lzma */
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	memcpy(bad, ck, cklen);
	bad[3] = (OTA_HS_MAX_WINDOW_SZ2 + 1 - 4) << 4 | 1; /* window */
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen),
			 OTA_HS_MAX_WINDOW_SZ2 < 15 ? -ENOTSUP : -EINVAL);
	cfg.max_size = (uint32_t)pr.nlen - 1; /* a smaller slot */
	assert_int_equal(ota_delta_restore(&dec, &cfg, ck, cklen), -ENOSPC);
	free(s.out);
	free(p);

	/* inside a diff: its base bytes must lie inside the base */
	p = mkpatch(pr.base, pr.blen, pr.nw, pr.nlen, 0, 0, &plen);
	sink_init(&s, pr.base, pr.blen, pr.nlen + 1);
	cfg = sink_cfg(&s);
	cfg.pause_every = 1000;
	ota_delta_init(&dec, &cfg);
	assert_int_equal(ota_delta_feed(&dec, p, plen, &used), 0);
	assert_true(ota_delta_paused(&dec));
	assert_int_equal(ota_delta_checkpoint(&dec, ck, sizeof(ck), &cklen), 0);
	assert_int_equal(ota_delta_restore(&dec, &cfg, ck, cklen), 0);
	memcpy(bad, ck, cklen);
	bad[20] = (uint8_t)(pr.blen - 10); /* from_pos near the base end */
	bad[21] = (uint8_t)((pr.blen - 10) >> 8);
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	free(s.out);

	/* before the body: no output, no base cursor yet */
	ota_delta_init(&dec, &cfg);
	assert_int_equal(ota_delta_feed(&dec, p, 1, &used), 0);
	assert_int_equal(ota_delta_checkpoint(&dec, ck, sizeof(ck), &cklen), 0);
	assert_int_equal(ota_delta_restore(&dec, &cfg, ck, cklen), 0);
	memcpy(bad, ck, cklen);
	bad[36] = 1; /* records */
	assert_int_equal(ota_delta_restore(&dec, &cfg, bad, cklen), -EINVAL);
	free(p);
	free_pair(&pr);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/delta/varint/vectors", test_varint_vectors, NULL, NULL,
		  NULL },
		{ "/delta/varint/decode", test_varint_decode, NULL, NULL,
		  NULL },
		{ "/delta/heatshrink/round-trip", test_heatshrink_round_trip,
		  NULL, NULL, NULL },
		{ "/delta/heatshrink/params", test_heatshrink_params, NULL,
		  NULL, NULL },
		{ "/delta/heatshrink/initial-window",
		  test_heatshrink_initial_window, NULL, NULL, NULL },
		{ "/delta/heatshrink/encode-initial-window",
		  test_heatshrink_encode_initial_window, NULL, NULL, NULL },
		{ "/delta/detools/foo-structure", test_foo_structure, NULL,
		  NULL, NULL },
		{ "/delta/detools/empty-target", test_empty_target, NULL, NULL,
		  NULL },
		{ "/delta/apply/round-trip", test_round_trip, NULL, NULL,
		  NULL },
		{ "/delta/apply/chunking", test_chunking, NULL, NULL, NULL },
		{ "/delta/errors/table", test_errors, NULL, NULL, NULL },
		{ "/delta/errors/generated", test_errors_generated, NULL, NULL,
		  NULL },
		{ "/delta/esp-header", test_esp_header, NULL, NULL, NULL },
		{ "/delta/inspect", test_inspect, NULL, NULL, NULL },
		{ "/delta/checkpoint/blocks", test_checkpoint_blocks, NULL,
		  NULL, NULL },
		{ "/delta/checkpoint/every-byte", test_checkpoint_every_byte,
		  NULL, NULL, NULL },
		{ "/delta/checkpoint/rejects", test_checkpoint_rejects, NULL,
		  NULL, NULL },
	};

	return cmocka_run_group_tests_name("delta", tests, NULL, NULL);
}
