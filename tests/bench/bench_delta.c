/* SPDX-License-Identifier: MIT */
/*
 * make bench, delta part (run by tests/tools/bench-delta.sh with two
 * Cortex-M4 builds of bleota's device side): each build is wrapped as an
 * ESP-IDF app image (esp32c3 header, DROM segment with esp_app_desc_t and
 * half the code, IROM segment with the rest, checksum, appended SHA-256),
 * and for three version pairs the patch size is printed as a share of the
 * new image, for heatshrink W8 L7 (esp_delta_ota's), W10 L5 and none,
 * next to heatshrink over the whole new image. Also the host-side speed
 * of the device decoder. Nothing is asserted.
 *
 * usage: bench_delta V1.bin V2.bin
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/bytes.h"
#include "host/delta_diff.h"
#include "host/fileutil.h"
#include "ota_engine/crypto.h"
#include "ota_engine/delta.h"

/* An app image around @code: returns it malloc'd, length in *out_len. */
static uint8_t *wrap(const uint8_t *code, size_t len, const char *version,
		     size_t *out_len)
{
	size_t half = len / 2, s0 = (256 + (len - half) + 3) & ~(size_t)3;
	size_t s1 = (half + 3) & ~(size_t)3, n = 24 + 8 + s0 + 8 + s1, i;
	uint8_t *img = calloc(1, n + 16 + 32), *p, x = 0xEF;
	struct ota_sha256 sha;

	if (!img)
		exit(1);
	img[0] = 0xE9;
	img[1] = 2;
	img[2] = 2;
	img[3] = 0x20;
	ota_put_le32(img + 4, 0x42000020);
	img[8] = 0xEE;
	img[12] = 5;    /* esp32c3 */
	img[17] = 0xff; /* max_chip_rev_full: any */
	img[18] = 0xff;
	img[23] = 1; /* hash appended */
	p = img + 24;
	ota_put_le32(p, 0x3C000020);
	ota_put_le32(p + 4, (uint32_t)s0);
	ota_put_le32(p + 8, 0xABCD5432); /* esp_app_desc_t */
	strncpy((char *)p + 8 + 16, version, 31);
	strncpy((char *)p + 8 + 48, "bleota-dev", 31);
	strncpy((char *)p + 8 + 112, "v5.3", 31);
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, code, len);
	ota_sha256_final(&sha, p + 8 + 144);
	memcpy(p + 8 + 256, code + half, len - half);
	p += 8 + s0;
	ota_put_le32(p, 0x42000020);
	ota_put_le32(p + 4, (uint32_t)s1);
	memcpy(p + 8, code, half);
	for (i = 24 + 8; i < 24 + 8 + s0; i++)
		x ^= img[i];
	for (i = 24 + 8 + s0 + 8; i < n; i++)
		x ^= img[i];
	n += 15 - n % 16;
	img[n++] = x;
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, img, n);
	ota_sha256_final(&sha, img + n);
	*out_len = n + 32;
	return img;
}

static size_t patch_len(const uint8_t *a, size_t alen, const uint8_t *b,
			size_t blen, unsigned int w, unsigned int l)
{
	struct delta_diff_opts o = { .heatshrink = w != 0, .w = w, .l = l };
	size_t plen;
	uint8_t *p = delta_diff(a, alen, b, blen, &o, &plen);

	if (!p)
		exit(1);
	free(p);
	return plen;
}

static double pct(size_t a, size_t b)
{
	return 100.0 * (double)a / (double)b;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rd(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	memcpy(buf, (const uint8_t *)user + off, len);
	return 0;
}

/* MB/s of output for applying @p to @base, decoder only (no write). */
static double apply_rate(const uint8_t *base, size_t blen, const uint8_t *p,
			 size_t plen, size_t out_len)
{
	static struct ota_delta d;
	struct ota_delta_cfg cfg = { .read_base = rd,
				     .user = (void *)base,
				     .base_size = (uint32_t)blen };
	double t0 = now_s(), t;
	size_t used;
	int i;

	for (i = 0; i < 20; i++) {
		ota_delta_init(&d, &cfg);
		if (ota_delta_feed(&d, p, plen, &used) || ota_delta_finish(&d))
			exit(1);
	}
	t = now_s() - t0;
	return 20.0 * (double)out_len / t / 1e6;
}

int main(int argc, char **argv)
{
	struct delta_diff_opts hs = { .heatshrink = true, .w = 8, .l = 7 };
	uint8_t *v1, *v2, *a, *b, *c, *p;
	size_t l1, l2, la, lb, lc, plen, k;
	const struct {
		const char *what;
		int to; /* 1: b, 2: c */
		int from_b;
	} pairs[] = {
		{ "version-string bump (1.0.0 -> 1.0.1)", 1, 0 },
		{ "one-function change", 2, 0 },
		{ "one-function change + version bump", 2, 1 },
	};

	if (argc != 3) {
		fprintf(stderr, "usage: bench_delta V1.bin V2.bin\n");
		return 2;
	}
	v1 = fileutil_read(argv[1], 1u << 24, &l1);
	v2 = v1 ? fileutil_read(argv[2], 1u << 24, &l2) : NULL;
	if (!v2)
		return 1;
	a = wrap(v1, l1, "1.0.0", &la);
	b = wrap(v1, l1, "1.0.1", &lb);
	c = wrap(v2, l2, "1.0.0", &lc);
	printf("Delta patches: bleota's device side for Cortex-M4 (-Os) as "
	       "ESP-IDF app images, %zu / %zu bytes\n",
	       la, lc);
	printf("%-38s %15s %15s %15s\n", "pair (base -> new)", "heatshrink 8/7",
	       "heatshrink 10/5", "none");
	for (k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		const uint8_t *from = pairs[k].from_b ? b : a;
		size_t flen = pairs[k].from_b ? lb : la;
		const uint8_t *to = pairs[k].to == 1 ? b : c;
		size_t tlen = pairs[k].to == 1 ? lb : lc;
		size_t h8 = patch_len(from, flen, to, tlen, 8, 7);
		size_t h10 = patch_len(from, flen, to, tlen, 10, 5);
		size_t none = patch_len(from, flen, to, tlen, 0, 0);

		printf("%-38s %7zu (%4.1f%%) %7zu (%4.1f%%) %7zu (%5.1f%%)\n",
		       pairs[k].what, h8, pct(h8, tlen), h10, pct(h10, tlen),
		       none, pct(none, tlen));
	}
	plen = patch_len((const uint8_t *)"", 0, c, lc, 8, 7);
	printf("%-38s %7zu (%4.1f%%)\n", "whole new image, heatshrink 8/7",
	       plen, pct(plen, lc));
	p = delta_diff(a, la, c, lc, &hs, &plen);
	if (!p)
		return 1;
	printf("device decoder on this host: %.0f MB/s of output "
	       "(one-function patch, heatshrink 8/7)\n",
	       apply_rate(a, la, p, plen, lc));
	free(p);
	free(a);
	free(b);
	free(c);
	free(v1);
	free(v2);
	return 0;
}
