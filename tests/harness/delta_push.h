/* SPDX-License-Identifier: MIT */
/*
 * Delta updates through the engine API, for engine and power-cut tests:
 * make a patch (host/delta_diff.c), its manifest, and send it the way the
 * receiver does (in order, from the first block not verified, each block
 * checked before the next one starts).
 */
#ifndef BLEOTA_TESTS_HARNESS_DELTA_PUSH_H
#define BLEOTA_TESTS_HARNESS_DELTA_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/harness/device.h"

/** A patch @base -> @nw (heatshrink W8 L7 if @hs, else none); malloc'd. */
uint8_t *dp_patch(const uint8_t *base, size_t blen, const uint8_t *nw,
		  size_t nlen, bool hs, size_t *plen);

/**
 * The delta manifest of @nw sent as a @plen-byte patch against @base
 * (NULL: no BASE_SHA256, a compressed full image).
 */
void dp_manifest(const uint8_t *base, size_t blen, const uint8_t *nw,
		 size_t nlen, size_t plen, struct ota_engine_manifest *m);

/**
 * Send the patch from the first block not verified, in @chunk-byte writes,
 * each block verified with its CRC before the next. Returns 0 or the first
 * engine error.
 */
int dp_send(struct dev *d, const uint8_t *patch, size_t plen, size_t chunk);

/** Patch bytes before the first block not verified (the restart offset). */
uint32_t dp_restart_offset(struct dev *d, size_t plen);

#endif
