/* SPDX-License-Identifier: MIT */
/*
 * Simulated device for engine tests: builds the flash file from a CSV with
 * the same code the CLI uses (central/partcsv.c), and drives the engine the
 * way the protocol receiver does (write a block, then block_verify it).
 */
#include "tests/harness/device.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/partcsv.h"
#include "common/crc32.h"
#include "ota_engine/crypto.h"
#include "ota_engine/image.h"
#include "ota_engine/nvs.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

static void die(const char *what)
{
	fprintf(stderr, "device harness: %s\n", what);
	abort();
}

static struct ota_partcsv table;

void dev_create(struct dev *d, const char *name, const char *table_csv,
		const uint8_t *app, size_t app_len)
{
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	struct ota_layout l;
	char err[256];
	int e = 0;

	memset(d, 0, sizeof(*d));
	tmpdir_path(d->path, sizeof(d->path), name);
	d->f = ota_flash_file_open(d->path, DEV_FLASH_SIZE,
				   OTA_FLASH_FILE_CREATE, &e);
	if (!d->f)
		die("cannot create flash file");
	if (ota_partcsv_parse(table_csv ? table_csv : ota_partcsv_two_ota,
			      OTA_PARTTABLE_OFFSET, DEV_FLASH_SIZE, &table, err,
			      sizeof(err)))
		die(err);
	if (ota_partcsv_to_bin(&table, true, bin) ||
	    ota_flash_file_ops.write(d->f, OTA_PARTTABLE_OFFSET, bin,
				     sizeof(bin)))
		die("cannot write the partition table");
	if (ota_parttable_parse(bin, sizeof(bin), DEV_FLASH_SIZE, &l, NULL))
		die("table does not parse");
	if (app) {
		uint32_t off = l.has_factory ? l.factory_off : l.ota_off[0];
		uint32_t size = l.has_factory ? l.factory_size : l.ota_size[0];

		if ((!l.has_factory && !l.ota_count) || app_len > size ||
		    ota_flash_file_ops.write(d->f, off, app, app_len))
			die("cannot write the app");
	}
	ota_flash_file_close(d->f);
	d->f = NULL;
	d->cfg.flash = &ota_flash_file_ops;
	d->cfg.chip_id = DEV_CHIP;
}

int dev_open(struct dev *d)
{
	int e = 0;

	if (d->f)
		dev_power_off(d);
	d->f = ota_flash_file_open(d->path, 0, 0, &e);
	if (!d->f)
		die("cannot open flash file");
	d->cfg.flash_ctx = d->f;
	return ota_engine_init(&d->eng, &d->cfg);
}

int dev_power_on(struct dev *d)
{
	int rc = dev_open(d);

	if (rc)
		return rc;
	return ota_engine_boot(&d->eng);
}

void dev_power_off(struct dev *d)
{
	ota_flash_file_close(d->f);
	d->f = NULL;
}

uint8_t *dev_image(const char *version, uint32_t secure_version, uint32_t seed,
		   size_t *len)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = version,
				     .project = "demo",
				     .secure_version = secure_version,
				     .seed = seed };

	return esp_image_build(&sp, len);
}

void dev_expect_running(struct dev *d, int slot, const char *version,
			uint32_t state)
{
	struct ota_engine_status st;

	assert_int_equal(ota_engine_status(&d->eng, &st), 0);
	assert_int_equal(st.running_slot, slot);
	assert_string_equal(st.running_version, version);
	assert_int_equal(st.running_state, state);
}

void dev_sha256(const uint8_t *buf, size_t len, uint8_t out[32])
{
	struct ota_sha256 s;

	ota_sha256_init(&s);
	ota_sha256_update(&s, buf, len);
	ota_sha256_final(&s, out);
}

void dev_manifest(const uint8_t *img, size_t len, struct ota_engine_manifest *m)
{
	struct ota_app_desc desc;

	memset(m, 0, sizeof(*m));
	m->image_size = (uint32_t)len;
	dev_sha256(img, len, m->sha256);
	m->chip_id = (uint16_t)(img[12] | img[13] << 8);
	if (len >= OTA_APP_DESC_OFFSET + OTA_APP_DESC_LEN &&
	    !ota_app_desc_parse(img + OTA_APP_DESC_OFFSET, &desc)) {
		memcpy(m->version, desc.version_raw, 32);
		memcpy(m->project, desc.project_raw, 32);
		m->secure_version = desc.secure_version;
	}
}

int dev_send_blocks(struct dev *d, const uint8_t *img, size_t len, size_t chunk)
{
	uint32_t b, nb = (uint32_t)((len + OTA_ENGINE_BLOCK_SIZE - 1) /
				    OTA_ENGINE_BLOCK_SIZE);
	int rc;

	for (b = 0; b < nb; b++) {
		size_t start = (size_t)b * OTA_ENGINE_BLOCK_SIZE, off;
		size_t blen = len - start < OTA_ENGINE_BLOCK_SIZE
				      ? len - start
				      : OTA_ENGINE_BLOCK_SIZE;

		if (ota_engine_block_is_verified(&d->eng, b))
			continue;
		for (off = 0; off < blen; off += chunk) {
			size_t n = blen - off < chunk ? blen - off : chunk;

			rc = ota_engine_write(&d->eng, (uint32_t)(start + off),
					      img + start + off, n);
			if (rc)
				return rc;
		}
		rc = ota_engine_block_verify(&d->eng, b,
					     ota_crc32(0, img + start, blen));
		if (rc)
			return rc;
	}
	return 0;
}

int dev_update(struct dev *d, const uint8_t *img, size_t len,
	       unsigned int flags)
{
	struct ota_engine_manifest m;
	int rc;

	dev_manifest(img, len, &m);
	rc = ota_engine_begin(&d->eng, &m, flags);
	if (!rc && d->tag)
		rc = ota_engine_set_tag(&d->eng, d->tag, strlen(d->tag));
	if (!rc)
		rc = dev_send_blocks(d, img, len, OTA_ENGINE_BLOCK_SIZE);
	if (!rc)
		rc = ota_engine_finish(&d->eng);
	if (!rc)
		rc = ota_engine_commit(&d->eng);
	return rc;
}

int dev_fw_tag(struct dev *d, char *buf, size_t cap)
{
	const struct ota_layout *l = &d->eng.layout;
	struct ota_nvs_part p = { .flash = d->cfg.flash,
				  .flash_ctx = d->f,
				  .off = l->nvs_off,
				  .size = l->nvs_size };

	if (!l->has_nvs)
		return -ENODEV;
	return ota_nvs_get_str(&p, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY, buf,
			       cap, NULL);
}

uint8_t *dev_snapshot(struct dev *d)
{
	uint8_t *buf = malloc(DEV_FLASH_SIZE);
	FILE *fp = fopen(d->path, "rb");

	if (!buf || !fp || fread(buf, 1, DEV_FLASH_SIZE, fp) != DEV_FLASH_SIZE)
		die("cannot snapshot the flash");
	fclose(fp);
	return buf;
}

void dev_slot_sha256(struct dev *d, int slot, size_t len, uint8_t out[32])
{
	uint8_t tbl[OTA_PARTTABLE_MAX_LEN], *buf = malloc(len);
	struct ota_layout l;
	FILE *fp = fopen(d->path, "rb");

	if (!buf || !fp || fseek(fp, OTA_PARTTABLE_OFFSET, SEEK_SET) ||
	    fread(tbl, 1, sizeof(tbl), fp) != sizeof(tbl))
		die("cannot read the table");
	if (ota_parttable_parse(tbl, sizeof(tbl), DEV_FLASH_SIZE, &l, NULL))
		die("table");
	if (fseek(fp, (long)l.ota_off[slot], SEEK_SET) ||
	    fread(buf, 1, len, fp) != len)
		die("cannot read the slot");
	fclose(fp);
	dev_sha256(buf, len, out);
	free(buf);
}
