/* SPDX-License-Identifier: MIT */
/*
 * bleota image diff|patch|info PATCH: delta updates on the host.
 *
 * diff makes a detools sequential patch (host/delta_diff.c), applies it
 * with the device's decoder and compares the result with NEW before
 * writing anything; patch applies one with that same decoder
 * (ota_engine/delta.c), checking an esp_delta_ota header's base hash
 * first (without a header, an output that starts as an app image must be
 * a valid one: else the base was the wrong one); info parses one without a base and prints what detools'
 * patch_info prints. Output files are written under a temporary name and
 * linked into place, so an existing file is never replaced without
 * --force and a failed run leaves nothing behind.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "central/commands.h"
#include "host/delta_diff.h"
#include "host/fileutil.h"
#include "ota_engine/delta.h"
#include "ota_engine/image.h"

#define MAX_FILE (64u * 1024 * 1024)

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota image diff [--compression heatshrink|none] "
		"[--window N]\n"
		"                         [--lookahead N] [--esp-header] "
		"[--force] BASE NEW PATCH\n"
		"       bleota image patch [--force] BASE PATCH OUT\n"
		"       bleota image info PATCH\n\n"
		"diff   make a detools sequential patch turning BASE into "
		"NEW\n"
		"       (heatshrink window 2^N, N = 4..%u, default %u; "
		"lookahead\n"
		"       2^N, N = 3..window-1, default %u); --esp-header "
		"prepends\n"
		"       esp_delta_ota's 64-byte header (magic + SHA-256 of "
		"BASE)\n"
		"patch  apply PATCH to BASE into OUT with the device's "
		"decoder\n"
		"info   print a patch's header, compression, sizes and "
		"records\n"
		"--force  replace an existing PATCH or OUT\n",
		OTA_HS_MAX_WINDOW_SZ2, DELTA_DEFAULT_WINDOW_SZ2,
		DELTA_DEFAULT_LOOKAHEAD_SZ2);
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* Write @path only if it does not exist (or @force): temp file + link. */
static int write_new(const char *path, const uint8_t *buf, size_t len,
		     bool force)
{
	char tmp[4200];
	FILE *fp;
	int rc = 0;

	if (!force && access(path, F_OK) == 0) {
		fprintf(stderr,
			"bleota: %s exists; not replacing it (use --force)\n",
			path);
		return -EEXIST;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid());
	fp = fopen(tmp, "wb");
	if (!fp) {
		fprintf(stderr, "bleota: %s: %s\n", tmp, strerror(errno));
		return -errno;
	}
	if (fwrite(buf, 1, len, fp) != len)
		rc = -EIO;
	if (fclose(fp) && !rc)
		rc = -EIO;
	if (!rc && (force ? rename(tmp, path) : link(tmp, path)))
		rc = -errno;
	if (rc)
		fprintf(stderr, "bleota: %s: %s\n", path, strerror(-rc));
	unlink(tmp);
	return rc;
}

struct outbuf {
	const uint8_t *base;
	size_t blen;
	uint8_t *buf;
	size_t len;
};

static int read_base(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	struct outbuf *o = user;

	memcpy(buf, o->base + off, len);
	return 0;
}

static int write_out(void *user, uint32_t off, const uint8_t *buf, size_t len)
{
	struct outbuf *o = user;

	(void)off;
	memcpy(o->buf + o->len, buf, len);
	o->len += len;
	return 0;
}

/* What to do about each error (the decoder's strings are short). */
static const char *advice(enum ota_delta_err e)
{
	switch (e) {
	case OTA_DELTA_OK:
	case OTA_DELTA_ERR_IO:
		return "";
	case OTA_DELTA_ERR_HEADER:
	case OTA_DELTA_ERR_VARINT:
	case OTA_DELTA_ERR_NEGATIVE:
	case OTA_DELTA_ERR_HS_PARAMS:
	case OTA_DELTA_ERR_PAST_END:
	case OTA_DELTA_ERR_TRAILING:
		return ": the patch is corrupt, make it again";
	case OTA_DELTA_ERR_TYPE:
	case OTA_DELTA_ERR_COMPRESSION:
	case OTA_DELTA_ERR_DATA_FORMAT:
		return ": only sequential patches, compression heatshrink or "
		       "none, without a data format (bleota image diff; "
		       "detools create_patch -c heatshrink)";
	case OTA_DELTA_ERR_WINDOW:
		return ": make it with a heatshrink window of 10 or less";
	case OTA_DELTA_ERR_TOO_BIG:
		return ": the new image is too large";
	case OTA_DELTA_ERR_BASE_RANGE:
		return ": is BASE the image the patch was made from?";
	case OTA_DELTA_ERR_HS_TRUNCATED:
	case OTA_DELTA_ERR_SHORT:
		return ": the patch file is incomplete, copy it again";
	}
	return "";
}

/*
 * Apply @patch to @base with the device decoder. The output buffer is
 * sized from to-size, read first by a header-only pass. Returns the new
 * image (malloc'd) or NULL after printing why.
 */
static uint8_t *apply(const char *name, const uint8_t *base, size_t blen,
		      const uint8_t *patch, size_t plen, size_t *out_len)
{
	static struct ota_delta d;
	struct outbuf o = { base, blen, NULL, 0 };
	struct ota_delta_cfg cfg = { .base_size = (uint32_t)blen,
				     .max_size = MAX_FILE };
	size_t used;
	int rc;

	/* pass 1: no base, no output; only the header and record checks */
	ota_delta_init(&d, &cfg);
	rc = ota_delta_feed(&d, patch, plen, &used);
	if (!rc)
		rc = ota_delta_finish(&d);
	if (rc) {
		fprintf(stderr, "bleota: %s: %s at patch byte %u%s\n", name,
			ota_delta_strerror(d.err), ota_delta_patch_pos(&d),
			advice(d.err));
		return NULL;
	}
	o.buf = malloc(ota_delta_to_size(&d) + 1u);
	if (!o.buf) {
		fprintf(stderr, "bleota: out of memory\n");
		return NULL;
	}
	cfg.read_base = read_base;
	cfg.write = write_out;
	cfg.user = &o;
	ota_delta_init(&d, &cfg);
	rc = ota_delta_feed(&d, patch, plen, &used);
	if (!rc)
		rc = ota_delta_finish(&d);
	if (rc) {
		fprintf(stderr,
			"bleota: %s: %s at patch byte %u, output byte %u%s\n",
			name, ota_delta_strerror(d.err),
			ota_delta_patch_pos(&d), ota_delta_to_pos(&d),
			advice(d.err));
		free(o.buf);
		return NULL;
	}
	*out_len = o.len;
	return o.buf;
}

static int parse_sz2(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > 15)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/*
 * Options of diff and patch (patch takes only --force). Returns -1 to go
 * on, else the exit code (help printed, or a usage error).
 */
static int parse_opts(int argc, char **argv, bool diff,
		      struct delta_diff_opts *o, bool *force)
{
	static const struct option opts[] = {
		{ "compression", required_argument, NULL, 'c' },
		{ "window", required_argument, NULL, 'w' },
		{ "lookahead", required_argument, NULL, 'l' },
		{ "esp-header", no_argument, NULL, 'e' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, diff ? "hfw:l:" : "hf",
				diff ? opts : opts + 4, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (!strcmp(optarg, "heatshrink")) {
				o->heatshrink = true;
			} else if (!strcmp(optarg, "none")) {
				o->heatshrink = false;
			} else {
				fprintf(stderr,
					"bleota: image diff: compression "
					"'%s': use heatshrink or none\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			break;
		case 'w':
		case 'l':
			if (parse_sz2(optarg, c == 'w' ? &o->w : &o->l)) {
				fprintf(stderr,
					"bleota: image diff: --%s '%s' is not "
					"a number 0..15\n",
					c == 'w' ? "window" : "lookahead",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			break;
		case 'e':
			o->esp_header = true;
			break;
		case 'f':
			*force = true;
			break;
		case 'h':
			usage(stdout);
			return BLEOTA_EXIT_OK;
		default:
			usage(stderr);
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (argc - optind != 3) {
		usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	return -1;
}

static int do_diff(int argc, char **argv)
{
	struct delta_diff_opts o = { .heatshrink = true,
				     .w = DELTA_DEFAULT_WINDOW_SZ2,
				     .l = DELTA_DEFAULT_LOOKAHEAD_SZ2 };
	uint8_t *base, *nw, *patch = NULL, *check = NULL;
	size_t blen, nlen, plen = 0, clen;
	bool force = false, is_app = false;
	char hx[65];
	int rc = parse_opts(argc, argv, true, &o, &force);

	if (rc >= 0)
		return rc;
	rc = BLEOTA_EXIT_FAIL;
	if (o.heatshrink &&
	    (o.w < 4 || o.w > OTA_HS_MAX_WINDOW_SZ2 || o.l < 3 || o.l >= o.w)) {
		fprintf(stderr,
			"bleota: image diff: heatshrink window %u, lookahead "
			"%u: need window 4..%u (the device decoder's "
			"largest) and lookahead 3..window-1\n",
			o.w, o.l, OTA_HS_MAX_WINDOW_SZ2);
		return BLEOTA_EXIT_USAGE;
	}
	base = fileutil_read(argv[optind], MAX_FILE, &blen);
	nw = base ? fileutil_read(argv[optind + 1], MAX_FILE, &nlen) : NULL;
	if (!nw)
		goto out;
	if (o.esp_header) {
		delta_esp_base_hash(base, blen, o.esp_base_sha256, &is_app);
		if (!o.heatshrink || o.w != 8 || o.l != 7)
			fprintf(stderr,
				"bleota: warning: esp_delta_ota only applies "
				"heatshrink window 8 lookahead 7 patches\n");
	}
	patch = delta_diff(base, blen, nw, nlen, &o, &plen);
	if (!patch) {
		fprintf(stderr, "bleota: image diff: %s\n", strerror(errno));
		goto out;
	}
	/* the device's decoder must give NEW back before PATCH is written */
	check = apply("new patch", base, blen, patch, plen, &clen);
	if (!check || clen != nlen || memcmp(check, nw, nlen)) {
		fprintf(stderr, "bleota: image diff: internal error: the "
				"patch does not reproduce NEW; nothing "
				"written\n");
		goto out;
	}
	if (write_new(argv[optind + 2], patch, plen, force))
		goto out;
	printf("%s: %zu bytes (%.1f%% of %zu), %s", argv[optind + 2], plen,
	       nlen ? 100.0 * (double)plen / (double)nlen : 0.0, nlen,
	       o.heatshrink ? "heatshrink" : "none");
	if (o.heatshrink)
		printf(" window %u lookahead %u", o.w, o.l);
	printf("\n");
	if (o.esp_header) {
		hex(hx, o.esp_base_sha256, 32);
		printf("esp_delta_ota header: base SHA-256 %s (%s)\n", hx,
		       is_app ? "app image validation hash"
			      : "whole BASE file");
	}
	rc = BLEOTA_EXIT_OK;
out:
	free(check);
	free(patch);
	free(nw);
	free(base);
	return rc;
}

/* The esp header's base hash against BASE: app digest or whole file. */
static bool base_matches(const uint8_t *want, const uint8_t *base, size_t blen,
			 char *have_hex)
{
	uint8_t h[32];
	bool is_app;

	delta_esp_base_hash(base, blen, h, &is_app);
	hex(have_hex, h, 32);
	return !memcmp(h, want, 32);
}

/* @buf is a whole valid ESP app image (any chip; a signature sector after it
 * is fine) */
static bool is_valid_app(const uint8_t *buf, size_t len)
{
	static struct ota_image_verify v;
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ANY };

	ota_image_verify_init(&v, &cfg);
	return !ota_image_verify_update(&v, buf, len) &&
	       !ota_image_verify_final(&v);
}

static int do_patch(int argc, char **argv)
{
	static struct ota_delta d;
	struct delta_diff_opts unused = { 0 };
	struct ota_delta_cfg cfg = { 0 };
	uint8_t *base, *patch = NULL, *out = NULL;
	size_t blen, plen, olen, used;
	bool force = false, has_hdr;
	char want[65], have[65];
	int rc = parse_opts(argc, argv, false, &unused, &force);

	if (rc >= 0)
		return rc;
	rc = BLEOTA_EXIT_FAIL;
	base = fileutil_read(argv[optind], MAX_FILE, &blen);
	patch = base ? fileutil_read(argv[optind + 1], MAX_FILE, &plen) : NULL;
	if (!patch)
		goto out;
	/* the esp header comes first: check it before anything else */
	ota_delta_init(&d, &cfg);
	ota_delta_feed(&d, patch,
		       plen < OTA_DELTA_ESP_HDR_LEN ? plen
						    : OTA_DELTA_ESP_HDR_LEN,
		       &used);
	if (ota_delta_esp_hash(&d) &&
	    !base_matches(ota_delta_esp_hash(&d), base, blen, have)) {
		hex(want, ota_delta_esp_hash(&d), 32);
		fprintf(stderr,
			"bleota: %s: made for another base: its esp_delta_ota "
			"header wants base SHA-256 %s, %s has %s\n",
			argv[optind + 1], want, argv[optind], have);
		goto out;
	}
	has_hdr = ota_delta_esp_hash(&d) != NULL;
	out = apply(argv[optind + 1], base, blen, patch, plen, &olen);
	if (!out)
		goto out;
	/* no header names the base: an output that starts as an app image
	 * and is not a valid one is the sign of a wrong base */
	if (!has_hdr && olen && out[0] == OTA_IMAGE_MAGIC &&
	    !is_valid_app(out, olen)) {
		fprintf(stderr,
			"bleota: %s applied to %s gives no valid app image: is "
			"BASE the image the patch was made from? (the patch "
			"has no esp_delta_ota header to check it; 'bleota "
			"image diff --esp-header' makes one); %s not written\n",
			argv[optind + 1], argv[optind], argv[optind + 2]);
		goto out;
	}
	if (write_new(argv[optind + 2], out, olen, force))
		goto out;
	printf("%s: %zu bytes from %s (%zu) and %s (%zu)\n", argv[optind + 2],
	       olen, argv[optind], blen, argv[optind + 1], plen);
	rc = BLEOTA_EXIT_OK;
out:
	free(out);
	free(patch);
	free(base);
	return rc;
}

struct stats {
	uint32_t n;
	uint32_t cap;
	uint32_t *diff, *extra;
	uint64_t diff_sum, extra_sum;
	uint32_t diff_n, extra_n; /* non-empty ones */
};

static void on_record(void *user, uint32_t diff, uint32_t extra, int32_t adjust)
{
	struct stats *s = user;

	(void)adjust;
	if (s->n == s->cap) {
		uint32_t cap = s->cap ? 2 * s->cap : 256;
		uint32_t *d = realloc(s->diff, cap * sizeof(*d));
		uint32_t *e = d ? realloc(s->extra, cap * sizeof(*e)) : NULL;

		if (d)
			s->diff = d;
		if (!d || !e)
			return; /* statistics only: keep the counts */
		s->extra = e;
		s->cap = cap;
	}
	s->diff[s->n] = diff;
	s->extra[s->n] = extra;
	s->n++;
	s->diff_sum += diff;
	s->extra_sum += extra;
	s->diff_n += diff != 0;
	s->extra_n += extra != 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t median(uint32_t *v, uint32_t n)
{
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u32);
	return v[n / 2];
}

#define N_TYPES 3u /* detools patch types */
#define N_COMPS 7u /* detools compressions */

static const char *type_name(unsigned int t)
{
	static const char *const names[N_TYPES] = { "sequential", "in-place",
						    "hdiffpatch" };

	return t < N_TYPES ? names[t] : "unknown";
}

static const char *comp_name(unsigned int c)
{
	static const char *const names[N_COMPS] = {
		"none", "lzma", "crle", "bz2", "heatshrink", "zstd", "lz4"
	};

	return c < N_COMPS ? names[c] : "unknown";
}

/* @d, fed a file's start, has an esp header or names a known detools
 * patch type and compression */
static bool names_patch(const struct ota_delta *d,
			const struct ota_delta_info *in)
{
	return ota_delta_esp_hash(d) ||
	       (in->have_header && in->type < N_TYPES &&
		in->compression < N_COMPS);
}

bool cmd_delta_buf_is_patch(const uint8_t *buf, size_t len)
{
	static struct ota_delta d;
	struct ota_delta_cfg cfg = { 0 };
	struct ota_delta_info in;
	size_t used;

	if (!len || buf[0] & 0x80)
		return false;
	ota_delta_init(&d, &cfg);
	/* the esp header and the detools header byte */
	ota_delta_feed(&d, buf,
		       len < OTA_DELTA_ESP_HDR_LEN + 1
			       ? len
			       : OTA_DELTA_ESP_HDR_LEN + 1,
		       &used);
	ota_delta_get_info(&d, &in);
	return names_patch(&d, &in);
}

static int do_info(int argc, char **argv)
{
	static struct ota_delta d;
	struct stats s = { 0 };
	struct ota_delta_cfg cfg = { .on_record = on_record, .user = &s };
	struct ota_delta_info in;
	uint8_t *patch;
	size_t plen, used;
	char hx[65];
	int rc;

	if (argc != 2) {
		usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	patch = fileutil_read(argv[1], MAX_FILE, &plen);
	if (!patch)
		return BLEOTA_EXIT_FAIL;
	ota_delta_init(&d, &cfg);
	rc = ota_delta_feed(&d, patch, plen, &used);
	if (!rc)
		rc = ota_delta_finish(&d);
	ota_delta_get_info(&d, &in);
	/* bit 7 clear was all that sent FILE here: a text file, a key... */
	if (in.have_header && !names_patch(&d, &in)) {
		fprintf(stderr,
			"bleota: %s: neither an ESP app image (byte 0 would "
			"be 0xe9) nor a detools patch (byte 0x%02x names no "
			"patch type and compression): is this the app .bin "
			"from the build directory?\n",
			argv[1], patch[0]);
		free(s.diff);
		free(s.extra);
		free(patch);
		return BLEOTA_EXIT_FAIL;
	}
	printf("patch:             %s (%zu bytes)\n", argv[1], plen);
	if (ota_delta_esp_hash(&d)) {
		hex(hx, ota_delta_esp_hash(&d), 32);
		printf("esp_delta_ota:     64-byte header, base SHA-256 %s\n",
		       hx);
	}
	if (in.have_header) {
		printf("type:              %s\n", type_name(in.type));
		printf("compression:       %s", comp_name(in.compression));
		if (in.window_sz2)
			printf(" (window %u, lookahead %u)", in.window_sz2,
			       in.lookahead_sz2);
		printf("\n");
	}
	if (in.have_size) {
		printf("to-size:           %u bytes\n", in.to_size);
		if (in.to_size)
			printf("patch/to ratio:    %.1f%%\n",
			       100.0 * (double)plen / (double)in.to_size);
		printf("records:           %u\n", in.records);
		printf("diff:              %u non-empty, %llu bytes, median "
		       "%u\n",
		       s.diff_n, (unsigned long long)s.diff_sum,
		       median(s.diff, s.n));
		printf("extra:             %u non-empty, %llu bytes, median "
		       "%u\n",
		       s.extra_n, (unsigned long long)s.extra_sum,
		       median(s.extra, s.n));
	}
	free(s.diff);
	free(s.extra);
	free(patch);
	if (rc) {
		printf("status:            %s: %s at patch byte %u%s\n",
		       rc == -ENOTSUP ? "NOT SUPPORTED" : "INVALID",
		       ota_delta_strerror(d.err), ota_delta_patch_pos(&d),
		       advice(d.err));
		return BLEOTA_EXIT_FAIL;
	}
	printf("status:            well-formed (every record parsed; "
	       "no base checked)\n");
	return BLEOTA_EXIT_OK;
}

bool cmd_delta_is_patch(int argc, char **argv)
{
	FILE *fp;
	int c;

	if (argc < 3 || argv[argc - 1][0] == '-')
		return false;
	fp = fopen(argv[argc - 1], "rb");
	if (!fp)
		return false;
	c = fgetc(fp);
	fclose(fp);
	/* an app image starts with 0xE9; a detools header byte has bit 7 0 */
	return c != EOF && !(c & 0x80);
}

int cmd_delta(int argc, char **argv)
{
	const char *sub = argv[1];

	if (!strcmp(sub, "diff"))
		return do_diff(argc - 1, argv + 1);
	if (!strcmp(sub, "patch"))
		return do_patch(argc - 1, argv + 1);
	return do_info(argc - 1, argv + 1);
}
