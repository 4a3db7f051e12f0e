/* SPDX-License-Identifier: MIT */
/* bleota part csv2bin|bin2csv: gen_esp32part-compatible conversions. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/commands.h"
#include "host/fileutil.h"
#include "host/partcsv.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: bleota part csv2bin [--no-md5] [--offset ADDR] "
		    "[--flash-size SIZE] IN.csv OUT.bin\n"
		    "       bleota part bin2csv IN.bin OUT.csv   (OUT '-' = "
		    "stdout)\n\n"
		    "csv2bin  build the 0xC00-byte table binary (with MD5 "
		    "entry unless\n"
		    "         --no-md5); --offset is the table address "
		    "(default 0x8000)\n"
		    "bin2csv  verify a table binary as the bootloader does, "
		    "write CSV\n");
}

static int write_file(const char *path, const void *buf, size_t len)
{
	FILE *fp = fopen(path, "wb");

	if (!fp || fwrite(buf, 1, len, fp) != len) {
		fprintf(stderr, "bleota: %s: cannot write it\n", path);
		if (fp)
			fclose(fp);
		return -1;
	}
	return fclose(fp) ? -1 : 0;
}

static int csv2bin(const char *in, const char *out, bool md5,
		   unsigned long offset, unsigned long flash_size)
{
	static struct ota_partcsv t;
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	char err[256];
	unsigned char *text;
	size_t len;
	char *z;

	text = fileutil_read(in, 1 << 20, &len);
	if (!text)
		return BLEOTA_EXIT_FAIL;
	z = realloc(text, len + 1);
	if (!z) {
		free(text);
		return BLEOTA_EXIT_FAIL;
	}
	z[len] = '\0';
	if (ota_partcsv_parse(z, (uint32_t)offset, (uint32_t)flash_size, &t,
			      err, sizeof(err))) {
		fprintf(stderr, "bleota: %s:%s%s: fix the CSV\n", in,
			strncmp(err, "line ", 5) ? " " : "",
			strncmp(err, "line ", 5) ? err : err + 5);
		free(z);
		return BLEOTA_EXIT_FAIL;
	}
	free(z);
	if (ota_partcsv_to_bin(&t, md5, bin)) {
		fprintf(stderr,
			"bleota: %s: %u partitions and the MD5 row do not fit "
			"0xC00 bytes: use --no-md5 (at most %u partitions) or "
			"remove one\n",
			in, t.count, OTA_PARTCSV_MAX);
		return BLEOTA_EXIT_FAIL;
	}
	if (write_file(out, bin, sizeof(bin)))
		return BLEOTA_EXIT_FAIL;
	printf("%s: %u partitions%s\n", out, t.count, md5 ? ", MD5" : "");
	return BLEOTA_EXIT_OK;
}

static int bin2csv(const char *in, const char *out)
{
	static struct ota_partcsv t;
	unsigned char *bin;
	char err[256];
	size_t len;
	FILE *fp;
	int rc;

	bin = fileutil_read(in, 1 << 20, &len);
	if (!bin)
		return BLEOTA_EXIT_FAIL;
	/* accept a whole table sector or a flash dump starting at 0x8000 */
	rc = ota_partcsv_from_bin(bin, len, &t, err, sizeof(err));
	free(bin);
	if (rc) {
		fprintf(stderr,
			"bleota: %s: %s: not a valid partition table binary\n",
			in, err);
		return BLEOTA_EXIT_FAIL;
	}
	fp = strcmp(out, "-") ? fopen(out, "w") : stdout;
	if (!fp) {
		fprintf(stderr, "bleota: %s: cannot write it\n", out);
		return BLEOTA_EXIT_FAIL;
	}
	rc = ota_partcsv_write(&t, fp);
	if (fp != stdout && fclose(fp))
		rc = -1;
	if (rc) {
		fprintf(stderr, "bleota: %s: write error\n", out);
		return BLEOTA_EXIT_FAIL;
	}
	return BLEOTA_EXIT_OK;
}

int cmd_part(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-md5", no_argument, NULL, 'n' },
		{ "offset", required_argument, NULL, 'o' },
		{ "flash-size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long offset = OTA_PARTTABLE_OFFSET, flash_size = 0;
	bool md5 = true;
	const char *sub;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? BLEOTA_EXIT_USAGE : BLEOTA_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "csv2bin") && strcmp(sub, "bin2csv")) {
		fprintf(stderr,
			"bleota: part: unknown subcommand '%s': use csv2bin or "
			"bin2csv\n",
			sub);
		return BLEOTA_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			md5 = false;
			break;
		case 'o':
			if (fileutil_parse_size(optarg, &offset) ||
			    offset % 0x1000) {
				fprintf(stderr,
					"bleota: bad --offset '%s': a 4 "
					"KiB-aligned address\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			break;
		case 's':
			if (fileutil_parse_size(optarg, &flash_size)) {
				fprintf(stderr,
					"bleota: bad --flash-size '%s': e.g. "
					"4M\n",
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
	if (optind + 2 != argc - 1) {
		usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	if (!strcmp(sub, "csv2bin"))
		return csv2bin(argv[1 + optind], argv[2 + optind], md5, offset,
			       flash_size);
	return bin2csv(argv[1 + optind], argv[2 + optind]);
}
