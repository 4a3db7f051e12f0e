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
 * Then what the bytes saved are worth on the air: each pair's W8 L7 patch
 * and the full image pushed over the BLE link model at bench_model.c's
 * case (a) (lmb_run(): the real sender and receiver, virtual time, so the
 * same on every machine), the effective throughput in new-image KiB/s, and
 * the anchor protocol models (anchor_run()) moving the same new image over
 * the same link; mean and worst over the pairs. The decoder's CPU time is
 * not in the model (it is far below the link's time: see the callgrind
 * line bench-delta.sh prints from `bench_delta --apply K`).
 *
 * usage: bench_delta V1.bin V2.bin
 *        bench_delta --apply K V1.bin V2.bin   apply pair K's patch only
 *                                              (for callgrind); prints the
 *                                              output bytes
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
#include "tests/harness/anchors.h"
#include "tests/harness/lm_bleota.h"

/* bench_model.c's case (a): 2M PHY, LL 251, MTU 247, CI 15 ms, no cap */
static const struct lm_link CASE_A = {
	LM_PHY_2M, 251, 247, false, 15000, 0, 0
};

#define NPAIRS 3
static const struct {
	const char *what;
	int to; /* 1: b, 2: c */
	int from_b;
} pairs[NPAIRS] = {
	{ "version-string bump (1.0.0 -> 1.0.1)", 1, 0 },
	{ "one-function change", 2, 0 },
	{ "one-function change + version bump", 2, 1 },
};

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

struct apply_ctx {
	const uint8_t *base;
	uint8_t *out;
};

static int ctx_rd(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	memcpy(buf, ((struct apply_ctx *)user)->base + off, len);
	return 0;
}

static int ctx_wr(void *user, uint32_t off, const uint8_t *buf, size_t len)
{
	memcpy(((struct apply_ctx *)user)->out + off, buf, len);
	return 0;
}

/*
 * --apply: the device's work for one pair, once: the decoder reads the
 * base and writes the new image to RAM (a flash driver's buffer), fed
 * 244 bytes at a time (one DATA chunk at MTU 247). What callgrind counts
 * inside ota_delta_feed/finish is the decoder with its callbacks' copies.
 * Returns 0 if the output is @want.
 */
static int apply_once(const uint8_t *base, size_t blen, const uint8_t *p,
		      size_t plen, const uint8_t *want, size_t out_len)
{
	static struct ota_delta d;
	struct apply_ctx ctx = { .base = base, .out = malloc(out_len) };
	struct ota_delta_cfg cfg = { .read_base = ctx_rd,
				     .write = ctx_wr,
				     .user = &ctx,
				     .base_size = (uint32_t)blen,
				     .max_size = (uint32_t)out_len };
	size_t off = 0, used, n;
	int r = 0;

	if (!ctx.out)
		return -1;
	ota_delta_init(&d, &cfg);
	while (off < plen && !r) {
		n = plen - off < 244 ? plen - off : 244;
		r = ota_delta_feed(&d, p + off, n, &used);
		off += used;
	}
	if (!r)
		r = ota_delta_finish(&d);
	if (!r && memcmp(ctx.out, want, out_len))
		r = -1;
	free(ctx.out);
	return r;
}

/* lmb_run() at case (a) for @len bytes on the air: seconds. */
static double link_time_a(size_t len)
{
	struct lmb_case k = { .link = { .link = CASE_A },
			      .image_len = len,
			      .image_seed = 42 };
	struct lmb_result r;

	if (lmb_run(&k, &r) || !r.ok)
		exit(1);
	return (double)r.time_us / 1e6;
}

static double kib_s(size_t bytes, double s)
{
	return s > 0 ? (double)bytes / 1024.0 / s : 0;
}

/*
 * Each pair's W8 L7 patch against its full new image over the link model
 * at case (a), mean and worst over the pairs, then the anchors moving the
 * same new image over the same link.
 */
static void link_table(const uint8_t *a, size_t la, const uint8_t *b, size_t lb,
		       const uint8_t *c, size_t lc)
{
	static const struct anchor_cfg an[] = {
		{ .kind = ANCHOR_ESP },
		{ .kind = ANCHOR_NORDIC, .prn = 0 },
		{ .kind = ANCHOR_NORDIC, .prn = 12 },
		{ .kind = ANCHOR_SMP, .depth = 1 },
		{ .kind = ANCHOR_SMP, .depth = 6, .smp_buf = 2475 },
	};
	struct lm_cfg link = { .link = CASE_A };
	double full_s[NPAIRS], delta_s[NPAIRS], eff[NPAIRS], best = 0;
	double sum_x = 0, worst_x = 1e30, sum_e = 0, worst_e = 1e30;
	size_t plen[NPAIRS], tlen[NPAIRS], k, worst_k = 0;
	char nm[64];

	printf("\nOn the air: BLE link model, bench_model.c's case (a) (2M "
	       "PHY, LL 251, MTU 247, CI 15 ms),\nreal sender and receiver, "
	       "virtual time; W8 L7 patch against the full new image\n");
	printf("%-38s %9s %8s %8s %8s %14s\n", "pair", "patch B", "full s",
	       "delta s", "speedup", "eff. KiB/s");
	for (k = 0; k < NPAIRS; k++) {
		const uint8_t *from = pairs[k].from_b ? b : a;
		size_t flen = pairs[k].from_b ? lb : la;
		const uint8_t *to = pairs[k].to == 1 ? b : c;
		double x;

		tlen[k] = pairs[k].to == 1 ? lb : lc;
		plen[k] = patch_len(from, flen, to, tlen[k], 8, 7);
		full_s[k] = link_time_a(tlen[k]);
		delta_s[k] = link_time_a(plen[k]);
		eff[k] = kib_s(tlen[k], delta_s[k]);
		x = full_s[k] / delta_s[k];
		printf("%-38s %9zu %8.3f %8.3f %7.1fx %14.1f\n", pairs[k].what,
		       plen[k], full_s[k], delta_s[k], x, eff[k]);
		sum_x += x;
		sum_e += eff[k];
		if (x < worst_x) {
			worst_x = x;
			worst_k = k;
		}
		if (eff[k] < worst_e)
			worst_e = eff[k];
	}
	printf("%-38s %9s %8s %8s %7.1fx %14.1f\n", "mean over the pairs", "",
	       "", "", sum_x / NPAIRS, sum_e / NPAIRS);
	printf("%-38s %9s %8s %8s %7.1fx %14.1f  (%s)\n", "worst pair", "", "",
	       "", worst_x, worst_e, pairs[worst_k].what);
	{
		size_t cl = patch_len((const uint8_t *)"", 0, c, lc, 8, 7);
		double fs = link_time_a(lc), cs = link_time_a(cl);

		printf("%-38s %9zu %8.3f %8.3f %7.1fx %14.1f\n",
		       "whole image compressed (no base)", cl, fs, cs, fs / cs,
		       kib_s(lc, cs));
		printf("%-38s %9zu %8.3f %8s %8s %14.1f\n",
		       "bleota, plain image", lc, fs, "", "", kib_s(lc, fs));
	}
	printf("anchor models, plain image of %zu B over the same link:\n", lc);
	for (k = 0; k < sizeof(an) / sizeof(an[0]); k++) {
		struct anchor_result r;
		double v;

		anchor_name(&an[k], nm, sizeof(nm));
		if (anchor_run(&an[k], &link, lc, NULL, 0, &r) || !r.ok) {
			printf("  %-36s %9s\n", nm, "n/a");
			continue;
		}
		v = kib_s(lc, (double)r.time_us / 1e6);
		printf("  %-36s %9s %8.3f %8s %8s %14.1f\n", nm, "",
		       (double)r.time_us / 1e6, "", "", v);
		if (v > best)
			best = v;
	}
	printf("one-function change, effective vs the best anchor: %.1f / %.1f "
	       "KiB/s = %.1fx (target >= 10x)\n",
	       eff[1], best, best > 0 ? eff[1] / best : 0);
}

int main(int argc, char **argv)
{
	struct delta_diff_opts hs = { .heatshrink = true, .w = 8, .l = 7 };
	uint8_t *v1, *v2, *a, *b, *c, *p;
	size_t l1, l2, la, lb, lc, plen, k;
	long apply = -1;

	if (argc == 5 && !strcmp(argv[1], "--apply")) {
		apply = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 3 || apply >= NPAIRS) {
		fprintf(stderr, "usage: bench_delta [--apply K] V1.bin "
				"V2.bin\n");
		return 2;
	}
	v1 = fileutil_read(argv[1], 1u << 24, &l1);
	v2 = v1 ? fileutil_read(argv[2], 1u << 24, &l2) : NULL;
	if (!v2)
		return 1;
	a = wrap(v1, l1, "1.0.0", &la);
	b = wrap(v1, l1, "1.0.1", &lb);
	c = wrap(v2, l2, "1.0.0", &lc);
	if (apply >= 0) {
		const uint8_t *from = pairs[apply].from_b ? b : a;
		size_t flen = pairs[apply].from_b ? lb : la;
		const uint8_t *to = pairs[apply].to == 1 ? b : c;
		size_t tlen = pairs[apply].to == 1 ? lb : lc;

		p = delta_diff(from, flen, to, tlen, &hs, &plen);
		if (!p || apply_once(from, flen, p, plen, to, tlen))
			return 1;
		printf("%zu %s\n", tlen, pairs[apply].what);
		return 0;
	}
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
	link_table(a, la, b, lb, c, lc);
	free(a);
	free(b);
	free(c);
	free(v1);
	free(v2);
	return 0;
}
