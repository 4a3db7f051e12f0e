/* SPDX-License-Identifier: MIT */
/*
 * Simulated device flash creation (bleota flash create, bleota-peripheral
 * --create-layout).
 */
#ifndef BLEOTA_HOST_FLASHIMG_H
#define BLEOTA_HOST_FLASHIMG_H

/**
 * flashimg_create() - write a simulated device flash at @path: @size bytes,
 * the partition table from the CSV file @csv or the built-in @layout
 * ("two-ota"), and @app (may be NULL) in the factory or ota_0 slot.
 * Prints one line saying what was made on stdout, or the reason on stderr.
 * Return: 0; -ERANGE when @size is not a multiple of 4K in 64K..256M;
 * -EINVAL for any other failure (message already printed).
 */
int flashimg_create(const char *path, unsigned long size, const char *csv,
		    const char *layout, const char *app);

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * flashimg_is_app_image() - whether the file at @path starts with an ESP
 * app image's magic byte (0xE9): an app given where a device flash belongs,
 * a likely mistake worth its own advice. False if it cannot be read.
 */
bool flashimg_is_app_image(const char *path);

/* The advice for that mistake. */
#define FLASHIMG_APP_NOT_FLASH                                                \
	"an ESP app image, not a device flash: make a flash holding it with " \
	"'bleota flash create FLASH --size 4M --layout two-ota --app IMAGE'"

/**
 * flashimg_explain_table() - why the partition table @bin (0xC00 bytes read
 * at 0x8000 of a @flash_size-byte flash file) is not usable, as advice for
 * the operator: a table that is intact but reaches past the end of the
 * file means the file was truncated (restore it; recreating it would erase
 * the device). Writes a sentence to @why; returns @why.
 */
char *flashimg_explain_table(const uint8_t *bin, uint32_t flash_size, char *why,
			     size_t cap);

#endif /* BLEOTA_HOST_FLASHIMG_H */
