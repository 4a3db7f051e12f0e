/* SPDX-License-Identifier: MIT */
/*
 * bleota image info|verify FILE: runs the engine's streaming verifier over
 * a file and prints what it found. verify prints one line and exits 0 only
 * for a valid image; info prints every field it could parse.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/commands.h"
#include "ota_engine/image.h"

#define MAX_IMAGE (16u * 1024 * 1024)

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota image info [--chip NAME|ID] FILE\n"
		"       bleota image verify [--chip NAME|ID] FILE\n\n"
		"info    print chip, version, project, idf_ver, "
		"secure_version,\n"
		"        segments, checksum and SHA-256 status\n"
		"verify  exit 0 only for a valid image; otherwise print one "
		"line\n"
		"        saying what is wrong and exit 1\n"
		"--chip  also require the image to be built for this chip\n");
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

/* A short hint of what to do for each error. */
static const char *advice(enum ota_image_err e)
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

static void print_info(const char *path, size_t len,
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
		printf("project:         %s\n", in->desc.project);
		printf("version:         %s\n", in->desc.version);
		printf("idf_ver:         %s\n", in->desc.idf_ver);
		printf("secure_version:  %u\n", in->desc.secure_version);
		printf("built:           %s %s\n", in->desc.date,
		       in->desc.time);
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
status:
	if (rc)
		printf("status:          INVALID: %s\n",
		       ota_image_describe(v, text, sizeof(text)));
	else
		printf("status:          valid\n");
}

int cmd_image(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chip", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ota_image_verify v;
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ANY };
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
	if (strcmp(sub, "info") && strcmp(sub, "verify")) {
		fprintf(stderr,
			"bleota: image: unknown subcommand '%s': use info or "
			"verify\n",
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
		case 'h':
			usage(stdout);
			return BLEOTA_EXIT_OK;
		default:
			usage(stderr);
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc - 1) {
		usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	path = argv[1 + optind];
	buf = cmd_read_file(path, MAX_IMAGE + 1, &len);
	if (!buf)
		return BLEOTA_EXIT_FAIL;
	ota_image_verify_init(&v, &cfg);
	rc = ota_image_verify_update(&v, buf, len);
	if (!rc)
		rc = ota_image_verify_final(&v);
	if (!strcmp(sub, "info")) {
		print_info(path, len, &v, rc);
	} else if (rc) {
		fprintf(stderr, "bleota: %s: %s: %s\n", path,
			ota_image_describe(&v, text, sizeof(text)),
			advice(v.err));
	} else {
		printf("%s: valid %s app image, %s %s, secure_version %u\n",
		       path, ota_image_chip_name(v.info.chip_id),
		       v.info.desc.project, v.info.desc.version,
		       v.info.desc.secure_version);
	}
	free(buf);
	return rc ? BLEOTA_EXIT_FAIL : BLEOTA_EXIT_OK;
}
