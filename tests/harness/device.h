/* SPDX-License-Identifier: MIT */
/*
 * A simulated device for engine tests: a 4 MiB flash file with the
 * two-OTA layout (plus the journal partition), an optional app in ota_0,
 * and helpers to power it on (init + boot), off, and push an image through
 * the engine API the way the protocol receiver does.
 */
#ifndef BLEOTA_TESTS_HARNESS_DEVICE_H
#define BLEOTA_TESTS_HARNESS_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/engine.h"
#include "ota_engine/flash_file.h"

#define DEV_FLASH_SIZE (4u * 1024 * 1024)
#define DEV_CHIP       5u /* esp32c3 */

struct dev {
	char path[512];
	struct ota_flash_file *f;
	struct ota_engine eng;
	struct ota_engine_cfg cfg;
	/* dev_update(): ota_engine_set_tag() after begin; NULL: not called */
	const char *tag;
};

/**
 * Create the flash file @name (in the test scratch dir): partition table,
 * erased otadata, @app (may be NULL) in factory if the table has one,
 * else in ota_0. Leaves the device off.
 * @table_csv NULL means the built-in two-OTA layout.
 */
void dev_create(struct dev *d, const char *name, const char *table_csv,
		const uint8_t *app, size_t app_len);

/** Open the flash and run ota_engine_init(). Returns its result. */
int dev_open(struct dev *d);

/** dev_open() + ota_engine_boot(); returns boot's result. */
int dev_power_on(struct dev *d);

/** Close the flash file (power off / reboot half). */
void dev_power_off(struct dev *d);

/** Manifest for @img (its app desc, size, SHA-256, chip from the header). */
void dev_manifest(const uint8_t *img, size_t len,
		  struct ota_engine_manifest *m);

/**
 * Send every block not yet verified: write it in @chunk-byte pieces, then
 * block_verify with its CRC. Stops at the first error and returns it.
 */
int dev_send_blocks(struct dev *d, const uint8_t *img, size_t len,
		    size_t chunk);

/** begin(@flags) + dev_send_blocks + finish + commit. */
int dev_update(struct dev *d, const uint8_t *img, size_t len,
	       unsigned int flags);

/**
 * bleota:fw_tag as stored in the nvs partition (read with the NVS reader,
 * as firmware's nvs_get_str() would) into @buf. Needs the device on.
 * Returns 0, -ENOENT (no tag stored), or the reader's error.
 */
int dev_fw_tag(struct dev *d, char *buf, size_t cap);

/** Whole flash file contents (malloc'd) for unchanged-state checks. */
uint8_t *dev_snapshot(struct dev *d);

/**
 * The test app: project "demo" for DEV_CHIP at @version, @secure_version,
 * its bytes from @seed (esp_image_build(); the caller frees it).
 */
uint8_t *dev_image(const char *version, uint32_t secure_version, uint32_t seed,
		   size_t *len);

/** Assert (cmocka) that @slot runs @version in otadata state @state. */
void dev_expect_running(struct dev *d, int slot, const char *version,
			uint32_t state);

/** SHA-256 of @len bytes of @buf. */
void dev_sha256(const uint8_t *buf, size_t len, uint8_t out[32]);

/** SHA-256 of slot @slot's first @len bytes (from the flash file). */
void dev_slot_sha256(struct dev *d, int slot, size_t len, uint8_t out[32]);

#endif /* BLEOTA_TESTS_HARNESS_DEVICE_H */
