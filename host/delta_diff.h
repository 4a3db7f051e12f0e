/* SPDX-License-Identifier: MIT */
/*
 * Host side of delta updates: makes detools "sequential" patches (bsdiff
 * records over a libdivsufsort suffix array of the base, body compressed
 * with heatshrink or stored as is), optionally behind esp_delta_ota's
 * 64-byte header. ota_engine/delta.c reads them; so do detools and
 * esp_delta_ota (heatshrink W=8 L=7 for the latter).
 */
#ifndef BLEOTA_HOST_DELTA_DIFF_H
#define BLEOTA_HOST_DELTA_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* detools' and esp_delta_ota's heatshrink parameters */
#define DELTA_DEFAULT_WINDOW_SZ2    8u
#define DELTA_DEFAULT_LOOKAHEAD_SZ2 7u

struct delta_diff_opts {
	bool heatshrink;   /* else compression "none" */
	unsigned int w, l; /* heatshrink window / lookahead, log2 */
	bool esp_header;   /* prepend magic + @esp_base_sha256 */
	uint8_t esp_base_sha256[32];
};

/**
 * delta_diff() - a patch turning @base into @new. Returns it malloc'd with
 * its length in *@out_len; NULL with errno EINVAL (bad W/L, or a file of
 * 2 GiB or more), ENOMEM.
 */
uint8_t *delta_diff(const uint8_t *base, size_t blen, const uint8_t *new_img,
		    size_t nlen, const struct delta_diff_opts *o,
		    size_t *out_len);

/**
 * delta_varint_put() - detools' sign-magnitude varint of @v into @out
 * (room for 10 bytes); returns its length. 0 is one byte 00.
 */
size_t delta_varint_put(uint8_t *out, int64_t v);

/**
 * delta_esp_base_hash() - the base hash esp_delta_ota's header carries:
 * the appended SHA-256 ("validation hash") when @base is an ESP-IDF app
 * image with one, else the SHA-256 of the whole file. *@is_app tells
 * which. The device compares it with esp_partition_get_sha256() of the
 * running slot, which is the same digest for app images.
 */
void delta_esp_base_hash(const uint8_t *base, size_t blen, uint8_t out[32],
			 bool *is_app);

#endif /* BLEOTA_HOST_DELTA_DIFF_H */
