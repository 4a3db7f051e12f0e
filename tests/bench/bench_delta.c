/* SPDX-License-Identifier: MIT */
/*
 * make bench, delta part (run by tests/tools/bench-delta.sh, which builds
 * the corpus: firmware for Cortex-M4 at several versions, in DIR as
 * v1.bin, fix.bin, nodelta.bin, o2.bin). Each build is wrapped as an
 * ESP-IDF app image (esp32c3 header, DROM segment with esp_app_desc_t and
 * half the code, IROM segment with the rest, checksum, appended SHA-256)
 * carrying the pair's version string, and for the four kinds of pair
 * (version-string bump, one-function fix, feature addition, compiler-flag
 * change) the patch size is printed as a share of the new image, for
 * heatshrink W8 L7 (esp_delta_ota's), W10 L5 and none, beside heatshrink
 * over the whole new image; mean and worst over the pairs. Also the
 * host-side speed of the device decoder. Nothing is asserted.
 *
 * Then what the bytes saved are worth on the air: each pair's W8 L7 patch,
 * its compressed new image and its plain new image pushed over the BLE link
 * model at bench_model.c's case (a) (lmb_run(): the real sender and
 * receiver, virtual time, so the same on every machine), the effective
 * throughput in new-image KiB/s, and the anchor protocol models
 * (anchor_run()) moving the one-function fix's new image over the same
 * link. The decoder's CPU time is not in the model (see the callgrind
 * line bench-delta.sh prints from `bench_delta --apply K`).
 *
 * usage: bench_delta DIR
 *        bench_delta --apply K DIR   apply pair K's patch only (for
 *                                    callgrind); prints the output bytes
 *        bench_delta --name K DIR    print pair K's output bytes and name;
 *                                    exit 1 past the last pair
 *        bench_delta --sizes DIR     the patch size table only
 */
#include <stdbool.h>
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

#define NPAIRS  4
#define FIX     1 /* the one-function fix */
#define FEATURE 2 /* the feature addition */
static const struct pair {
	const char *what;
	const char *base, *base_ver; /* DIR/base.bin, wrapped as base_ver */
	const char *to, *to_ver;
} pairs[NPAIRS] = {
	{ "version-string bump (1.0.0 -> 1.0.1)", "v1", "1.0.0", "v1",
	  "1.0.1" },
	{ "one-function fix (otadata.c)", "v1", "1.0.0", "fix", "1.0.1" },
	{ "feature addition (delta updates)", "nodelta", "1.0.0", "v1",
	  "1.1.0" },
	{ "compiler flags (receiver.c -O2)", "v1", "1.0.0", "o2", "1.0.1" },
};

/* Targets of issue 13, share of the new image (W8 L7 patch). */
static const double target_pct[NPAIRS] = { 0, 5.0, 15.0, 0 };

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

/* The pairs' images, wrapped. */
static struct {
	uint8_t *base, *to;
	size_t blen, tlen;
} im[NPAIRS];

static uint8_t *load(const char *dir, const char *name, const char *ver,
		     size_t *len)
{
	char path[4096];
	size_t n;
	uint8_t *code, *img;

	snprintf(path, sizeof(path), "%s/%s.bin", dir, name);
	code = fileutil_read(path, 1u << 24, &n);
	if (!code) {
		fprintf(stderr, "bench_delta: cannot read %s\n", path);
		exit(1);
	}
	img = wrap(code, n, ver, len);
	free(code);
	return img;
}

static void print_mean_worst(const char *what, const double *v, bool max)
{
	double sum = 0, w = v[0];
	size_t k, wk = 0;

	for (k = 0; k < NPAIRS; k++) {
		sum += v[k];
		if (max ? v[k] > w : v[k] < w) {
			w = v[k];
			wk = k;
		}
	}
	printf("  %s: mean %.2f, worst %.2f (%s)\n", what, sum / NPAIRS, w,
	       pairs[wk].what);
}

/* Patch sizes as a share of the new image; the compressed full image. */
static void size_table(void)
{
	double h8p[NPAIRS], h10p[NPAIRS], nop[NPAIRS], fullp[NPAIRS];
	size_t k;

	printf("Delta patches: the firmware builds as ESP-IDF app images, "
	       "share of the new image\n");
	printf("%-38s %8s %15s %15s %16s %16s\n", "pair (base -> new)", "new B",
	       "heatshrink 8/7", "heatshrink 10/5", "none", "full image hs8/7");
	for (k = 0; k < NPAIRS; k++) {
		size_t h8 = patch_len(im[k].base, im[k].blen, im[k].to,
				      im[k].tlen, 8, 7);
		size_t h10 = patch_len(im[k].base, im[k].blen, im[k].to,
				       im[k].tlen, 10, 5);
		size_t none = patch_len(im[k].base, im[k].blen, im[k].to,
					im[k].tlen, 0, 0);
		size_t full = patch_len((const uint8_t *)"", 0, im[k].to,
					im[k].tlen, 8, 7);

		h8p[k] = pct(h8, im[k].tlen);
		h10p[k] = pct(h10, im[k].tlen);
		nop[k] = pct(none, im[k].tlen);
		fullp[k] = pct(full, im[k].tlen);
		printf("%-38s %8zu %7zu (%4.1f%%) %7zu (%4.1f%%) %7zu "
		       "(%5.1f%%) %7zu (%5.1f%%)\n",
		       pairs[k].what, im[k].tlen, h8, h8p[k], h10, h10p[k],
		       none, nop[k], full, fullp[k]);
	}
	printf("mean and worst over the pairs (%% of the new image)\n");
	print_mean_worst("heatshrink 8/7 ", h8p, true);
	print_mean_worst("heatshrink 10/5", h10p, true);
	print_mean_worst("none           ", nop, true);
	print_mean_worst("full image hs  ", fullp, true);
	printf("targets (heatshrink 8/7 patch):\n");
	for (k = 0; k < NPAIRS; k++)
		if (target_pct[k] > 0)
			printf("  %-36s %5.2f %% vs <= %.0f %%: %s\n",
			       pairs[k].what, h8p[k], target_pct[k],
			       h8p[k] <= target_pct[k] ? "met" : "NOT met");
}

/*
 * Each pair's W8 L7 patch against its compressed and plain new image over
 * the link model at case (a), mean and worst over the pairs, then the
 * anchors moving the one-function fix's new image over the same link.
 */
static void link_table(void)
{
	static const struct anchor_cfg an[] = {
		{ .kind = ANCHOR_ESP },
		{ .kind = ANCHOR_NORDIC, .prn = 0 },
		{ .kind = ANCHOR_NORDIC, .prn = 12 },
		{ .kind = ANCHOR_SMP, .depth = 1 },
		{ .kind = ANCHOR_SMP, .depth = 3, .smp_buf = 2475 },
		{ .kind = ANCHOR_SMP, .depth = 6, .smp_buf = 2475 },
	};
	struct lm_cfg link = { .link = CASE_A };
	double full_s[NPAIRS], delta_s[NPAIRS], eff[NPAIRS], x[NPAIRS];
	double best = 0;
	size_t k, lc = im[FIX].tlen;
	char nm[64], bestnm[64] = "";

	printf("\nOn the air: BLE link model, bench_model.c's case (a) (2M "
	       "PHY, LL 251, MTU 247, CI 15 ms),\nreal sender and receiver, "
	       "virtual time; the plain new image, heatshrink 8/7 over it, "
	       "and the W8 L7 patch\n");
	printf("%-38s %9s %8s %8s %8s %8s %11s\n", "pair", "patch B", "full s",
	       "compr s", "delta s", "speedup", "eff. KiB/s");
	for (k = 0; k < NPAIRS; k++) {
		size_t pl = patch_len(im[k].base, im[k].blen, im[k].to,
				      im[k].tlen, 8, 7);
		size_t cl = patch_len((const uint8_t *)"", 0, im[k].to,
				      im[k].tlen, 8, 7);
		double cs = link_time_a(cl);

		full_s[k] = link_time_a(im[k].tlen);
		delta_s[k] = link_time_a(pl);
		eff[k] = kib_s(im[k].tlen, delta_s[k]);
		x[k] = full_s[k] / delta_s[k];
		printf("%-38s %9zu %8.3f %8.3f %8.3f %7.1fx %11.1f\n",
		       pairs[k].what, pl, full_s[k], cs, delta_s[k], x[k],
		       eff[k]);
	}
	printf("mean and worst over the pairs\n");
	print_mean_worst("speedup over the plain push", x, false);
	print_mean_worst("effective KiB/s            ", eff, false);
	printf("%-38s %9zu %8.3f %8s %8s %8s %11.1f\n", "bleota, plain image",
	       lc, full_s[FIX], "", "", "", kib_s(lc, full_s[FIX]));
	printf("anchor models, plain image of %zu B (the fix's) over the same "
	       "link:\n",
	       lc);
	for (k = 0; k < sizeof(an) / sizeof(an[0]); k++) {
		struct anchor_result r;
		double v;

		anchor_name(&an[k], nm, sizeof(nm));
		if (anchor_run(&an[k], &link, lc, NULL, 0, &r) || !r.ok) {
			printf("  %-36s %9s\n", nm, "n/a");
			continue;
		}
		v = kib_s(lc, (double)r.time_us / 1e6);
		printf("  %-36s %9s %8.3f %8s %8s %8s %11.1f\n", nm, "",
		       (double)r.time_us / 1e6, "", "", "", v);
		if (v > best) {
			best = v;
			snprintf(bestnm, sizeof(bestnm), "%s", nm);
		}
	}
	printf("target: one-function fix, effective vs the best anchor: %.1f / "
	       "%.1f KiB/s = %.1fx vs >= 10x: %s (best: %s)\n",
	       eff[FIX], best, best > 0 ? eff[FIX] / best : 0,
	       best > 0 && eff[FIX] >= 10 * best ? "met" : "NOT met", bestnm);
}

int main(int argc, char **argv)
{
	struct delta_diff_opts hs = { .heatshrink = true, .w = 8, .l = 7 };
	uint8_t *p;
	size_t plen, k;
	long one = -1;
	bool apply = false, sizes = false;

	if (argc == 3 && !strcmp(argv[1], "--sizes")) {
		sizes = true;
		argv++;
		argc--;
	}
	if (argc == 4 &&
	    (!strcmp(argv[1], "--apply") || !strcmp(argv[1], "--name"))) {
		apply = !strcmp(argv[1], "--apply");
		one = strtol(argv[2], NULL, 10);
		argv += 2;
		argc -= 2;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: bench_delta [--apply K | --name K | "
				"--sizes] DIR\n");
		return 2;
	}
	if (one >= NPAIRS)
		return 1;
	for (k = 0; k < NPAIRS; k++) {
		if (one >= 0 && k != (size_t)one)
			continue;
		im[k].base = load(argv[1], pairs[k].base, pairs[k].base_ver,
				  &im[k].blen);
		im[k].to = load(argv[1], pairs[k].to, pairs[k].to_ver,
				&im[k].tlen);
	}
	if (one >= 0) {
		if (apply) {
			p = delta_diff(im[one].base, im[one].blen, im[one].to,
				       im[one].tlen, &hs, &plen);
			if (!p || apply_once(im[one].base, im[one].blen, p,
					     plen, im[one].to, im[one].tlen))
				return 1;
			free(p);
		}
		printf("%zu %s\n", im[one].tlen, pairs[one].what);
		return 0;
	}
	size_table();
	if (sizes)
		return 0;
	p = delta_diff(im[FIX].base, im[FIX].blen, im[FIX].to, im[FIX].tlen,
		       &hs, &plen);
	if (!p)
		return 1;
	printf("device decoder on this host: %.0f MB/s of output "
	       "(one-function fix, heatshrink 8/7)\n",
	       apply_rate(im[FIX].base, im[FIX].blen, p, plen, im[FIX].tlen));
	free(p);
	link_table();
	for (k = 0; k < NPAIRS; k++) {
		free(im[k].base);
		free(im[k].to);
	}
	return 0;
}
