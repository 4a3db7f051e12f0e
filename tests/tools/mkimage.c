/* SPDX-License-Identifier: MIT */
/*
 * mkimage: writes a test ESP-IDF app image (see tests/harness/esp_image_build.h)
 * so scripts and demos can make v1/v2 images without an ESP-IDF toolchain.
 *
 *   mkimage [--chip esp32c3|ID] [--version V] [--project P]
 *           [--secure-version N] [--idf-ver S] [--min-rev N] [--max-rev N]
 *           [--segments drom:4096,iram:2048,irom:8192] [--mmu-page-log2 N]
 *           [--no-hash] [--pad-to BYTES] [--seed N] [--repeat N]
 *           [--corrupt NAME] OUT
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ota_engine/image.h"
#include "tests/harness/esp_image_build.h"

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: mkimage [--chip NAME|ID] [--version V] [--project P]\n"
		"               [--secure-version N] [--idf-ver S] [--min-rev "
		"N] [--max-rev N]\n"
		"               [--segments KIND:LEN,...] [--mmu-page-log2 N] "
		"[--no-hash]\n"
		"               [--pad-to BYTES] [--seed N] [--repeat N] "
		"[--corrupt NAME] OUT\n"
		"--repeat N: segment data repeats every N bytes (compresses "
		"well).\n"
		"KIND is drom, irom, iram or dram (segment 0 must be drom).\n"
		"NAME for --corrupt:");
	for (int c = 0; c < ESP_CORRUPT_COUNT; c++)
		fprintf(fp, " %s", esp_corruption_name((enum esp_corruption)c));
	fprintf(fp, "\n");
}

static int parse_chip(const char *s, uint16_t *out)
{
	char *end;
	unsigned long v;

	for (v = 0; v < 64; v++) {
		if (!strcmp(s, ota_image_chip_name((uint16_t)v))) {
			*out = (uint16_t)v;
			return 0;
		}
	}
	v = strtoul(s, &end, 0);
	if (*end || v > 0xffff)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_segments(char *s, struct esp_image_spec *sp)
{
	char *tok, *save = NULL;

	sp->nseg = 0;
	for (tok = strtok_r(s, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		enum esp_seg_kind k;

		if (!colon || sp->nseg == 12)
			return -1;
		*colon = '\0';
		if (!strcmp(tok, "drom"))
			k = ESP_SEG_DROM;
		else if (!strcmp(tok, "irom"))
			k = ESP_SEG_IROM;
		else if (!strcmp(tok, "iram"))
			k = ESP_SEG_IRAM;
		else if (!strcmp(tok, "dram"))
			k = ESP_SEG_DRAM;
		else
			return -1;
		sp->seg[sp->nseg].kind = k;
		sp->seg[sp->nseg].len = (uint32_t)strtoul(colon + 1, NULL, 0);
		sp->nseg++;
	}
	return sp->nseg ? 0 : -1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chip", required_argument, NULL, 'c' },
		{ "version", required_argument, NULL, 'v' },
		{ "project", required_argument, NULL, 'p' },
		{ "secure-version", required_argument, NULL, 's' },
		{ "idf-ver", required_argument, NULL, 'i' },
		{ "min-rev", required_argument, NULL, 'm' },
		{ "max-rev", required_argument, NULL, 'M' },
		{ "segments", required_argument, NULL, 'S' },
		{ "mmu-page-log2", required_argument, NULL, 'P' },
		{ "no-hash", no_argument, NULL, 'n' },
		{ "pad-to", required_argument, NULL, 'T' },
		{ "seed", required_argument, NULL, 'r' },
		{ "repeat", required_argument, NULL, 'R' },
		{ "corrupt", required_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
				     .max_rev_full = 0xffff };
	uint8_t *img;
	size_t len;
	FILE *fp;
	int c, k;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			if (parse_chip(optarg, &sp.chip_id)) {
				fprintf(stderr, "mkimage: unknown chip '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'v':
			sp.version = optarg;
			break;
		case 'p':
			sp.project = optarg;
			break;
		case 's':
			sp.secure_version = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'i':
			sp.idf_ver = optarg;
			break;
		case 'm':
			sp.min_rev_full = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'M':
			sp.max_rev_full = (uint16_t)strtoul(optarg, NULL, 0);
			break;
		case 'S':
			if (parse_segments(optarg, &sp)) {
				fprintf(stderr, "mkimage: bad --segments: use "
						"KIND:LEN,... with drom, irom, "
						"iram, dram\n");
				return 2;
			}
			break;
		case 'P':
			sp.mmu_page_log2 = (uint8_t)strtoul(optarg, NULL, 0);
			break;
		case 'n':
			sp.no_hash = true;
			break;
		case 'T':
			sp.pad_to = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'r':
			sp.seed = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'R':
			sp.repeat = (uint32_t)strtoul(optarg, NULL, 0);
			break;
		case 'x':
			for (k = 0; k < ESP_CORRUPT_COUNT; k++)
				if (!strcmp(optarg,
					    esp_corruption_name(
						    (enum esp_corruption)k)))
					break;
			if (k == ESP_CORRUPT_COUNT) {
				fprintf(stderr,
					"mkimage: unknown corruption '%s'\n",
					optarg);
				usage(stderr);
				return 2;
			}
			sp.corrupt = (enum esp_corruption)k;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	img = esp_image_build(&sp, &len);
	if (!img) {
		fprintf(stderr, "mkimage: cannot build that layout\n");
		return 1;
	}
	fp = fopen(argv[optind], "wb");
	if (!fp || fwrite(img, 1, len, fp) != len || fclose(fp)) {
		perror(argv[optind]);
		free(img);
		return 1;
	}
	free(img);
	return 0;
}
