/* SPDX-License-Identifier: MIT */
/*
 * `bleota flash info`: the NVS partitions of a flash image, listed entry by
 * entry (ota_engine/nvs.h reads them).
 */
#ifndef BLEOTA_CENTRAL_NVS_PRINT_H
#define BLEOTA_CENTRAL_NVS_PRINT_H

#include <stdio.h>

#include "host/partcsv.h"
#include "ota_engine/flash.h"
#include "ota_engine/nvs.h"

/**
 * nvs_print() - print @part (labelled @label) to @out: each page (state,
 * sequence, format), each item as namespace:key, type and value (strings
 * quoted, control and non-ASCII bytes as \xNN), each entry skipped and why,
 * then the firmware version tag.
 * Return: 0, or the reader's -errno (-EIO) after what was printed.
 */
int nvs_print(FILE *out, const struct ota_nvs_part *part, const char *label);

/** nvs_print() every data/nvs partition of table @t in the flash @ops/@ctx. */
void nvs_print_partitions(FILE *out, const struct ota_flash_ops *ops, void *ctx,
			  const struct ota_partcsv *t);

#endif /* BLEOTA_CENTRAL_NVS_PRINT_H */
