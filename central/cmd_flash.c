/* SPDX-License-Identifier: MIT */
/*
 * bleota flash create|info: make a simulated device flash (partition table
 * at 0x8000, erased otadata, optionally an app) and inspect one: table,
 * otadata entries and states, slot contents, the resume journal, and what
 * the simulated bootloader would boot (a read-only prediction).
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/commands.h"
#include "central/nvs_print.h"
#include "central/report.h"
#include "host/fileutil.h"
#include "host/flashimg.h"
#include "host/partcsv.h"
#include "ota_engine/engine.h"
#include "ota_engine/flash_file.h"
#include "ota_engine/image.h"
#include "ota_engine/otadata.h"

static void usage(FILE *fp)
{
	fprintf(fp, "usage: bleota flash create FILE --size SIZE (--table CSV "
		    "| --layout two-ota) [--app IMAGE]\n"
		    "       bleota flash info [--chip NAME|ID] FILE\n\n"
		    "create  a simulated NOR flash file of SIZE bytes (e.g. "
		    "4M), erased,\n"
		    "        with the partition table at 0x8000 and IMAGE in "
		    "the factory\n"
		    "        slot (or ota_0 when there is none); otadata stays "
		    "erased\n"
		    "info    the table, otadata entries, slot contents, the "
		    "journal and\n"
		    "        what the bootloader would boot\n");
}

static const char *slot_name(int slot, char *buf, size_t cap)
{
	if (slot == OTA_ENGINE_SLOT_FACTORY)
		return "factory";
	if (slot < 0)
		return "none";
	snprintf(buf, cap, "ota_%d", slot);
	return buf;
}

static void print_slot(struct ota_flash_file *f, const char *name, uint32_t off,
		       uint32_t size, uint16_t *chip)
{
	static struct ota_image_verify v;
	struct ota_image_cfg cfg = { .chip_id = OTA_CHIP_ANY, .max_len = size };
	uint8_t buf[4096], first = 0xff;
	uint32_t pos;
	char text[200];

	for (pos = 0; pos < size; pos += sizeof(buf)) {
		if (ota_flash_file_ops.read(f, off + pos, buf, sizeof(buf)))
			break;
		if (pos == 0) {
			first = buf[0];
			ota_image_verify_init(&v, &cfg);
		}
		if (ota_image_verify_update(&v, buf, sizeof(buf)) ||
		    ota_image_verify_complete(&v))
			break;
	}
	printf("  %-10s 0x%06x  ", name, off);
	if (first == 0xff) {
		printf("empty\n");
		return;
	}
	if (ota_image_verify_final(&v)) {
		printf("invalid: %s\n",
		       ota_image_describe(&v, text, sizeof(text)));
		return;
	}
	printf("%s %s (%s, secure_version %u, %u bytes)",
	       tty_text(v.info.desc.project), tty_text(v.info.desc.version),
	       ota_image_chip_name(v.info.chip_id), v.info.desc.secure_version,
	       v.info.image_len);
	/* the chip is --chip's, or the first image's */
	if (*chip != OTA_CHIP_ANY && v.info.chip_id != *chip)
		printf(": not for %s, the bootloader skips it",
		       ota_image_chip_name(*chip));
	printf("\n");
	if (*chip == OTA_CHIP_ANY)
		*chip = v.info.chip_id;
}

/* Whether [@off, @off + @len) reads as erased flash (all 0xFF). */
static bool region_erased(struct ota_flash_file *f, uint32_t off, uint32_t len)
{
	uint8_t buf[4096];
	uint32_t n, i;

	for (; len; off += n, len -= n) {
		n = len < sizeof(buf) ? len : (uint32_t)sizeof(buf);
		if (ota_flash_file_ops.read(f, off, buf, n))
			return false;
		for (i = 0; i < n; i++)
			if (buf[i] != 0xff)
				return false;
	}
	return true;
}

static int info(const char *path, uint16_t chip)
{
	static struct ota_partcsv t;
	static struct ota_engine eng;
	struct ota_engine_cfg cfg = { .flash = &ota_flash_file_ops,
				      .inspect_only = true };
	struct ota_engine_status st;
	uint8_t bin[OTA_PARTTABLE_MAX_LEN], raw[OTA_OTADATA_ENTRY_LEN];
	struct ota_otadata_entry e[2];
	struct ota_flash_file *f;
	struct ota_layout l;
	char err[256], name[16];
	unsigned int i;
	int active, rc = BLEOTA_EXIT_FAIL, e2 = 0;
	bool erased_otadata = false;

	f = ota_flash_file_open(path, 0, OTA_FLASH_FILE_RDONLY, &e2);
	if (!f) {
		if (e2 == -EINVAL && flashimg_is_app_image(path))
			fprintf(stderr, "bleota: %s: %s\n", path,
				FLASHIMG_APP_NOT_FLASH);
		else if (e2 == -EINVAL)
			fprintf(stderr,
				"bleota: %s: its size is not a multiple of "
				"4096 bytes: the file is truncated or not a "
				"flash image; restore it from a backup "
				"(recreating it would erase the device)\n",
				path);
		else
			fprintf(stderr, "bleota: %s: %s\n", path,
				strerror(-e2));
		return BLEOTA_EXIT_FAIL;
	}
	printf("flash: %s, %u bytes\n", path, ota_flash_file_ops.size(f));
	if (ota_flash_file_ops.read(f, OTA_PARTTABLE_OFFSET, bin,
				    sizeof(bin))) {
		fprintf(stderr, "bleota: %s: cannot read the partition table\n",
			path);
		goto out;
	}
	if (ota_parttable_parse(bin, sizeof(bin), ota_flash_file_ops.size(f),
				&l, NULL) ||
	    ota_partcsv_from_bin(bin, sizeof(bin), &t, err, sizeof(err))) {
		fprintf(stderr, "bleota: %s: %s\n", path,
			flashimg_explain_table(bin, ota_flash_file_ops.size(f),
					       err, sizeof(err)));
		goto out;
	}
	printf("partition table (0x8000):\n");
	printf("  %-16s %-5s %-7s %-10s %s\n", "name", "type", "subtype",
	       "offset", "size");
	for (i = 0; i < t.count; i++)
		printf("  %-16s 0x%02x  0x%02x    0x%06x   0x%x\n",
		       t.part[i].label, t.part[i].type, t.part[i].subtype,
		       t.part[i].offset, t.part[i].size);

	if (l.has_otadata) {
		printf("otadata (0x%x):\n", l.otadata_off);
		for (i = 0; i < 2; i++) {
			if (ota_flash_file_ops.read(f,
						    l.otadata_off + i * 0x1000,
						    raw, sizeof(raw)))
				goto out;
			ota_otadata_decode(raw, &e[i]);
		}
		active = ota_otadata_active(e);
		/* boot.c: with both sectors erased or corrupt and no factory
		 * app, the first boot of an OTA slot writes entry 0 VALID */
		erased_otadata = !l.has_factory;
		for (i = 0; i < 2; i++)
			if (e[i].seq != OTA_OTADATA_SEQ_EMPTY &&
			    e[i].crc == ota_otadata_crc(e[i].seq))
				erased_otadata = false;
		for (i = 0; i < 2; i++) {
			if (e[i].seq == OTA_OTADATA_SEQ_EMPTY) {
				printf("  sector %u: empty\n", i);
				continue;
			}
			printf("  sector %u: seq %u, state %s, crc %s", i,
			       e[i].seq, ota_otadata_state_str(e[i].state),
			       e[i].crc == ota_otadata_crc(e[i].seq) ? "ok"
								     : "BAD");
			if (l.ota_count)
				printf(" -> ota_%u",
				       ota_otadata_slot(e[i].seq, l.ota_count));
			printf("%s\n", (int)i == active ? " (active)" : "");
		}
	} else {
		printf("otadata: none (the factory app always boots)\n");
	}
	printf("app slots:\n");
	if (l.has_factory)
		print_slot(f, "factory", l.factory_off, l.factory_size, &chip);
	for (i = 0; i < l.ota_count; i++) {
		snprintf(name, sizeof(name), "ota_%u", i);
		print_slot(f, name, l.ota_off[i], l.ota_size[i], &chip);
	}
	nvs_print_partitions(stdout, &ota_flash_file_ops, f, &t);

	cfg.flash_ctx = f;
	cfg.chip_id = chip;
	if (ota_engine_init(&eng, &cfg) || ota_engine_status(&eng, &st)) {
		printf("bootloader would boot: nothing (%s)\n",
		       tty_text(ota_engine_last_detail(&eng)));
		goto done;
	}
	if (l.has_journal) {
		printf("journal (0x%x): ", l.journal_off);
		/* no log header in its two log sectors, and they are not
		 * erased either (the session records after them may be
		 * written before the first log record) */
		if (eng.jr.log_sector < 0 &&
		    !region_erased(f, l.journal_off, 2 * OTA_FLASH_SECTOR_SIZE))
			printf("NOT VALID: neither erased nor a journal "
			       "(zeroed or overwritten?); the anti-rollback "
			       "record and any resume state are lost\n");
		else if (eng.jr.resume_open)
			printf("resume session for %u bytes into ota_%u\n",
			       eng.jr.sess.image_size, eng.jr.sess.slot);
		else
			printf("no session in progress\n");
	}
	printf("anti-rollback counter (simulated eFuse secure_version): %u%s\n",
	       st.efuse_secure_version,
	       l.has_journal ? "" : " (no journal: not persisted)");
	if (st.running_slot < OTA_ENGINE_SLOT_FACTORY)
		printf("bootloader would boot: nothing bootable\n");
	else
		printf("bootloader would boot: %s (%s %s, %s%s)\n",
		       slot_name(st.running_slot, name, sizeof(name)),
		       tty_text(st.running_project),
		       tty_text(st.running_version),
		       ota_otadata_state_str(st.running_state),
		       erased_otadata && st.running_slot >= 0
			       ? "; otadata is erased, so that first boot "
				 "writes entry 0 VALID, as ESP-IDF's "
				 "bootloader does"
			       : "");
done:
	rc = BLEOTA_EXIT_OK;
out:
	ota_flash_file_close(f);
	return rc;
}

int cmd_flash(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "table", required_argument, NULL, 't' },
		{ "layout", required_argument, NULL, 'l' },
		{ "app", required_argument, NULL, 'a' },
		{ "chip", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sub, *table = NULL, *layout = NULL, *app = NULL;
	unsigned long size = 0, chip = OTA_CHIP_ANY;
	int err;
	int c;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? BLEOTA_EXIT_USAGE : BLEOTA_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "create") && strcmp(sub, "info")) {
		fprintf(stderr,
			"bleota: flash: unknown subcommand '%s': use create or "
			"info\n",
			sub);
		return BLEOTA_EXIT_USAGE;
	}
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (fileutil_parse_size(optarg, &size)) {
				fprintf(stderr,
					"bleota: bad --size '%s': e.g. 4M\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			break;
		case 't':
			table = optarg;
			break;
		case 'l':
			layout = optarg;
			break;
		case 'a':
			app = optarg;
			break;
		case 'c':
			for (chip = 0; chip < 64; chip++)
				if (!strcmp(optarg, ota_image_chip_name(
							    (uint16_t)chip)))
					break;
			if (chip == 64 && fileutil_parse_size(optarg, &chip)) {
				fprintf(stderr, "bleota: unknown chip '%s'\n",
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
	if (!strcmp(sub, "info"))
		return info(argv[1 + optind], (uint16_t)chip);
	if (!size || !table == !layout) {
		fprintf(stderr, "bleota: flash create needs --size and one of "
				"--table or --layout\n");
		return BLEOTA_EXIT_USAGE;
	}
	err = flashimg_create(argv[1 + optind], size, table, layout, app);
	if (err == -ERANGE)
		return BLEOTA_EXIT_USAGE;
	return err ? BLEOTA_EXIT_FAIL : BLEOTA_EXIT_OK;
}
