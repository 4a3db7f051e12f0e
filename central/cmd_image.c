/* SPDX-License-Identifier: MIT */
/*
 * bleota image info|verify|sign: runs the engine's streaming verifier over
 * a file and prints what it found. verify prints one line and exits 0 only
 * for a valid image (with --key: only if a signature block made with that
 * key verifies); info prints every field it could parse, including the
 * Secure Boot v2 signature blocks found at ALIGN_UP(image_len, 4 KiB).
 * sign pads the image and appends the signature sector (central/imgsign.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/commands.h"
#include "central/imagecheck.h"
#include "central/report.h"
#include "host/fileutil.h"
#include "host/imgsign.h"
#include "ota_engine/image.h"
#include "ota_engine/sigblock.h"

#define MAX_IMAGE (16u * 1024 * 1024)

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota image info [--chip NAME|ID] FILE\n"
		"       bleota image verify [--chip NAME|ID] [--key KEY.pem] "
		"FILE\n"
		"       bleota image sign --key KEY.pem [--key KEY.pem ...] IN "
		"OUT\n"
		"       bleota image diff|patch ... (delta patches: bleota "
		"image diff --help)\n\n"
		"info    print chip, version, project, idf_ver, "
		"secure_version,\n"
		"        segments, checksum, SHA-256 status and signature "
		"blocks\n"
		"verify  exit 0 only for a valid image; otherwise print one "
		"line\n"
		"        saying what is wrong and exit 1\n"
		"sign    pad IN to 4 KiB and append a Secure Boot v2 signature "
		"sector\n"
		"        (one block per --key, at most 3, one scheme: "
		"RSA-3072,\n"
		"        ECDSA P-256 or P-384 PEM private keys) into OUT\n"
		"--chip  also require the image to be built for this chip\n"
		"--key   verify: also require a signature block that verifies "
		"with\n"
		"        this key (public or private PEM); sign: a signing "
		"key\n");
}

static int parse_chip(const char *s, uint16_t *out)
{
	unsigned int id;
	char *end;
	unsigned long v;

	for (id = 0; id < 64; id++) {
		if (!strcmp(s, ota_image_chip_name((uint16_t)id))) {
			*out = (uint16_t)id;
			return 0;
		}
	}
	v = strtoul(s, &end, 0);
	if (*end || end == s || v >= 0xffff)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static void hex(char *out, const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

/* A short hint of what to do for each error (imagecheck.h). */
const char *image_advice(enum ota_image_err e)
{
	switch (e) {
	case OTA_IMAGE_OK:
		return "";
	case OTA_IMAGE_ERR_TRUNCATED:
		return "the file is incomplete, copy or download it again";
	case OTA_IMAGE_ERR_MAGIC:
	case OTA_IMAGE_ERR_SEG_COUNT:
	case OTA_IMAGE_ERR_HASH_FLAG:
	case OTA_IMAGE_ERR_SEG_LEN:
	case OTA_IMAGE_ERR_SEG0_SHORT:
	case OTA_IMAGE_ERR_APP_DESC:
		return "is this the app .bin from the build directory?";
	case OTA_IMAGE_ERR_CHIP:
	case OTA_IMAGE_ERR_CHIP_REV:
		return "build the app for this device's target";
	case OTA_IMAGE_ERR_MMU_ALIGN:
		return "rebuild it with esptool elf2image";
	case OTA_IMAGE_ERR_CHECKSUM:
	case OTA_IMAGE_ERR_SHA256:
		return "the file is corrupt, rebuild it";
	case OTA_IMAGE_ERR_TOO_BIG:
		return "build a smaller image or use bigger OTA slots";
	}
	return "";
}

static const char *spi_mode(uint8_t m)
{
	static const char *const names[] = { "QIO",  "QOUT",      "DIO",
					     "DOUT", "FAST_READ", "SLOW_READ" };

	return m < 6 ? names[m] : "unknown";
}

bool image_sig_ok(const struct image_sig *r)
{
	return r->present && !r->b.err && r->digest_ok && !r->verify;
}

/* The signature sector as IDF finds it (imagecheck.h). */
unsigned int image_check_sigs(const uint8_t *buf, size_t len,
			      uint32_t image_len,
			      struct image_sig r[OTA_SIGBLOCK_MAX])
{
	uint32_t at = ota_sigblock_sector_offset(image_len);
	struct ota_sigblock b[OTA_SIGBLOCK_MAX];
	uint8_t digest[OTA_SIGBLOCK_DIGEST_MAX];
	unsigned int i, n = 0;
	size_t dlen, avail;

	memset(r, 0, OTA_SIGBLOCK_MAX * sizeof(*r));
	if (at >= len)
		return 0;
	avail = len - at < OTA_SIGBLOCK_SECTOR_LEN ? len - at
						   : OTA_SIGBLOCK_SECTOR_LEN;
	ota_sigblock_parse_sector(buf + at, avail, b);
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		r[i].b = b[i];
		if (b[i].err == OTA_SIGBLOCK_ERR_ABSENT)
			continue;
		r[i].present = true;
		n++;
		if (b[i].err)
			continue;
		imgsign_digest(b[i].scheme, buf, at, digest, &dlen);
		r[i].digest_ok = dlen == b[i].digest_len &&
				 !memcmp(digest, b[i].digest, dlen);
		r[i].verify = ota_sigblock_verify(&b[i]);
	}
	return n;
}

const char *image_sig_problem(const struct image_sig *r)
{
	if (r->b.err)
		return ota_sigblock_strerror(r->b.err);
	if (!r->digest_ok)
		return "signs another image (digest differs)";
	if (r->verify == -EBADMSG)
		return "signature does not verify";
	if (r->verify)
		return "malformed public key";
	return "valid";
}

static void print_sigs(const uint8_t *buf, size_t len, uint32_t image_len)
{
	struct image_sig r[OTA_SIGBLOCK_MAX];
	char kd[65];
	unsigned int i;

	if (!image_check_sigs(buf, len, image_len, r)) {
		printf("signature:       none\n");
		return;
	}
	printf("signature:       sector at 0x%06x\n",
	       ota_sigblock_sector_offset(image_len));
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		if (!r[i].present)
			continue;
		if (r[i].b.err) {
			printf("  block %u:       INVALID: %s\n", i,
			       image_sig_problem(&r[i]));
			continue;
		}
		hex(kd, r[i].b.key_digest, OTA_SHA256_LEN);
		printf("  block %u:       %s, key digest %s (%s%s)\n", i,
		       ota_sig_scheme_name(r[i].b.scheme), kd,
		       image_sig_ok(&r[i]) ? "" : "INVALID: ",
		       image_sig_problem(&r[i]));
	}
}

static void print_info(const char *path, const uint8_t *buf, size_t len,
		       const struct ota_image_verify *v, int rc)
{
	const struct ota_image_info *in = &v->info;
	char sha[65], text[200];
	unsigned int i;

	printf("file:            %s (%zu bytes)\n", path, len);
	if (v->err == OTA_IMAGE_ERR_MAGIC || v->err == OTA_IMAGE_ERR_TRUNCATED)
		goto status;
	printf("chip:            %s (id %u), revision v%u.%u..",
	       ota_image_chip_name(in->chip_id), in->chip_id,
	       in->min_chip_rev_full / 100, in->min_chip_rev_full % 100);
	if (in->max_chip_rev_full == 0 || in->max_chip_rev_full == 0xffff)
		printf("any\n");
	else
		printf("v%u.%u\n", in->max_chip_rev_full / 100,
		       in->max_chip_rev_full % 100);
	printf("flash:           %s, size code %u, speed code %u\n",
	       spi_mode(in->spi_mode), in->spi_size, in->spi_speed);
	printf("entry:           0x%08x\n", in->entry_addr);
	if (in->has_desc) {
		printf("project:         %s\n", tty_text(in->desc.project));
		printf("version:         %s\n", tty_text(in->desc.version));
		printf("idf_ver:         %s\n", tty_text(in->desc.idf_ver));
		printf("secure_version:  %u\n", in->desc.secure_version);
		printf("built:           %s %s\n", tty_text(in->desc.date),
		       tty_text(in->desc.time));
		if (in->desc.mmu_page_size)
			printf("mmu page:        %u bytes\n",
			       1u << in->desc.mmu_page_size);
	}
	printf("segments:        %u\n", in->seg_count);
	for (i = 0; i < in->seg_count && i < OTA_IMAGE_MAX_SEGMENTS; i++) {
		if (in->seg[i].data_off == 0)
			break;
		printf("  %2u: load 0x%08x  len 0x%06x  at file offset "
		       "0x%06x\n",
		       i, in->seg[i].load_addr, in->seg[i].len,
		       in->seg[i].data_off);
	}
	if (ota_image_verify_complete(v) || v->err == OTA_IMAGE_ERR_CHECKSUM ||
	    v->err == OTA_IMAGE_ERR_SHA256) {
		printf("checksum:        0x%02x (%s)\n", in->checksum_stored,
		       in->checksum_stored == in->checksum_calc ? "valid"
								: "INVALID");
	}
	if (in->has_hash) {
		hex(sha, in->sha_stored, 32);
		printf("sha256:          %s (%s)\n", sha,
		       memcmp(in->sha_stored, in->sha_calc, 32) ? "INVALID"
								: "valid");
	} else if (ota_image_verify_complete(v)) {
		printf("sha256:          not appended\n");
	}
	if (ota_image_verify_complete(v) || v->err == OTA_IMAGE_ERR_SHA256)
		printf("image length:    %u%s\n", in->image_len,
		       in->image_len < len ? " (followed by padding)" : "");
	if (ota_image_verify_complete(v))
		print_sigs(buf, len, in->image_len);
status:
	if (rc)
		printf("status:          INVALID: %s\n",
		       ota_image_describe(v, text, sizeof(text)));
	else
		printf("status:          valid\n");
}

static int write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(buf, 1, len, fp) != len) {
		fprintf(stderr, "bleota: %s: %s\n", path, strerror(errno));
		if (fp)
			fclose(fp);
		return -1;
	}
	if (fclose(fp)) {
		fprintf(stderr, "bleota: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Loads @n keys; prints why one cannot be used. */
static int load_keys(mbedtls_pk_context *pk, const char *const *paths,
		     unsigned int n, bool need_private)
{
	unsigned int i;
	bool priv;
	int err;

	for (i = 0; i < n; i++) {
		err = imgsign_load_key(&pk[i], paths[i], &priv);
		if (err == -ENOTSUP) {
			fprintf(stderr,
				"bleota: %s: not an RSA-3072, ECDSA P-256 or "
				"P-384 key\n",
				paths[i]);
			return -1;
		}
		if (err) {
			fprintf(stderr, "bleota: %s: %s\n", paths[i],
				err == -EBADMSG ? IMGSIGN_NOT_A_KEY
						: strerror(-err));
			return -1;
		}
		if (need_private && !priv) {
			fprintf(stderr,
				"bleota: %s: a public key cannot sign: give "
				"the private key\n",
				paths[i]);
			return -1;
		}
	}
	return 0;
}

static int do_sign(const char *const *keys, unsigned int nkeys, const char *in,
		   const char *out)
{
	mbedtls_pk_context pk[OTA_SIGBLOCK_MAX], *kp[OTA_SIGBLOCK_MAX];
	uint8_t *img, *signed_img = NULL;
	size_t len, slen;
	char err[200], kd[65];
	uint8_t digest[OTA_SHA256_LEN];
	unsigned int i;
	int rc = BLEOTA_EXIT_FAIL;

	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		mbedtls_pk_init(&pk[i]);
		kp[i] = &pk[i];
	}
	img = fileutil_read(in, MAX_IMAGE, &len);
	if (!img || load_keys(pk, keys, nkeys, true))
		goto out;
	if (imgsign_sign_image(img, len, kp, nkeys, &signed_img, &slen, err,
			       sizeof(err))) {
		fprintf(stderr, "bleota: %s: %s\n", in, err);
		goto out;
	}
	if (write_file(out, signed_img, slen))
		goto out;
	printf("%s: %zu bytes, signature sector at 0x%06zx, %u %s block%s\n",
	       out, slen, slen - OTA_SIGBLOCK_SECTOR_LEN, nkeys,
	       ota_sig_scheme_name(imgsign_key_scheme(&pk[0])),
	       nkeys > 1 ? "s" : "");
	for (i = 0; i < nkeys; i++) {
		if (imgsign_key_digest(&pk[i], digest))
			continue;
		hex(kd, digest, sizeof(digest));
		printf("  block %u key digest %s\n", i, kd);
	}
	rc = BLEOTA_EXIT_OK;
out:
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++)
		mbedtls_pk_free(&pk[i]);
	free(signed_img);
	free(img);
	return rc;
}

/* verify --key: some block made with this key verifies over the file. */
static int verify_key(const char *path, const uint8_t *buf, size_t len,
		      uint32_t image_len, const char *key)
{
	struct image_sig r[OTA_SIGBLOCK_MAX];
	uint8_t digest[OTA_SHA256_LEN];
	mbedtls_pk_context pk;
	const char *why = "no signature block is made with this key";
	unsigned int i;
	int rc = -1;

	mbedtls_pk_init(&pk);
	if (load_keys(&pk, &key, 1, false) || imgsign_key_digest(&pk, digest))
		goto out;
	if (!image_check_sigs(buf, len, image_len, r)) {
		fprintf(stderr,
			"bleota: %s: not signed (no signature sector "
			"at 0x%06x)\n",
			path, ota_sigblock_sector_offset(image_len));
		goto out;
	}
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		if (!r[i].present || r[i].b.err ||
		    memcmp(r[i].b.key_digest, digest, sizeof(digest)))
			continue;
		if (image_sig_ok(&r[i])) {
			printf("%s: signature block %u (%s) verifies with "
			       "%s\n",
			       path, i, ota_sig_scheme_name(r[i].b.scheme),
			       key);
			rc = 0;
			goto out;
		}
		why = image_sig_problem(&r[i]);
	}
	fprintf(stderr, "bleota: %s: %s: %s\n", path, key, why);
out:
	mbedtls_pk_free(&pk);
	return rc;
}

int cmd_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chip", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ota_image_verify v;
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ANY };
	const char *keys[OTA_SIGBLOCK_MAX];
	unsigned int nkeys = 0;
	const char *sub, *path;
	char text[200];
	unsigned char *buf;
	size_t len;
	int c, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? BLEOTA_EXIT_USAGE : BLEOTA_EXIT_OK;
	}
	sub = argv[1];
	/* delta patches: central/cmd_delta.c */
	if (!strcmp(sub, "diff") || !strcmp(sub, "patch") ||
	    (!strcmp(sub, "info") && cmd_delta_is_patch(argc, argv)))
		return cmd_delta(argc, argv);
	if (strcmp(sub, "info") && strcmp(sub, "verify") &&
	    strcmp(sub, "sign")) {
		fprintf(stderr,
			"bleota: image: unknown subcommand '%s': use info, "
			"verify, sign, diff or patch\n",
			sub);
		return BLEOTA_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_chip(optarg, &cfg.chip_id)) {
				fprintf(stderr,
					"bleota: unknown chip '%s' (esp32, "
					"esp32c3, ... or a number)\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			break;
		case 'k':
			if (nkeys == OTA_SIGBLOCK_MAX ||
			    (nkeys && strcmp(sub, "sign"))) {
				fprintf(stderr,
					"bleota: image %s: at most %u --key\n",
					sub, strcmp(sub, "sign") ? 1 : 3);
				return BLEOTA_EXIT_USAGE;
			}
			keys[nkeys++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return BLEOTA_EXIT_OK;
		default:
			usage(stderr);
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (!strcmp(sub, "sign")) {
		if (optind + 2 != argc - 1 || !nkeys) {
			usage(stderr);
			return BLEOTA_EXIT_USAGE;
		}
		return do_sign(keys, nkeys, argv[1 + optind], argv[2 + optind]);
	}
	if (optind + 1 != argc - 1 || (nkeys && strcmp(sub, "verify"))) {
		usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	path = argv[1 + optind];
	buf = fileutil_read(path, MAX_IMAGE, &len);
	if (!buf)
		return BLEOTA_EXIT_FAIL;
	ota_image_verify_init(&v, &cfg);
	rc = ota_image_verify_update(&v, buf, len);
	if (!rc)
		rc = ota_image_verify_final(&v);
	if (!strcmp(sub, "info")) {
		print_info(path, buf, len, &v, rc);
	} else if (rc) {
		fprintf(stderr, "bleota: %s: %s: %s\n", path,
			ota_image_describe(&v, text, sizeof(text)),
			v.err == OTA_IMAGE_ERR_MAGIC &&
					cmd_delta_buf_is_patch(buf, len)
				? "it is a delta patch: 'bleota image info "
				  "FILE' describes it, 'bleota image patch' "
				  "applies it"
				: image_advice(v.err));
	} else if (nkeys) {
		rc = verify_key(path, buf, len, v.info.image_len, keys[0]);
	} else {
		printf("%s: valid %s app image, %s %s, secure_version %u\n",
		       path, ota_image_chip_name(v.info.chip_id),
		       tty_text(v.info.desc.project),
		       tty_text(v.info.desc.version),
		       v.info.desc.secure_version);
	}
	free(buf);
	return rc ? BLEOTA_EXIT_FAIL : BLEOTA_EXIT_OK;
}
