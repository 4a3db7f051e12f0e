/* SPDX-License-Identifier: MIT */
/*
 * heatshrink (LZSS) encoder for patch bodies, host side: whole buffer in,
 * whole stream out. Its output decodes with ota_engine/heatshrink.c and
 * with the reference decoder (detools, esp_delta_ota).
 */
#ifndef BLEOTA_HOST_HEATSHRINK_ENC_H
#define BLEOTA_HOST_HEATSHRINK_ENC_H

#include <stddef.h>
#include <stdint.h>

/**
 * heatshrink_enc_compress() - compress @len bytes of @in with window
 * 2^@w and lookahead 2^@l (4 <= w <= 15, 3 <= l < w). Returns a malloc'd
 * stream (its last byte padded with zero bits) and its length in
 * *@out_len; NULL with errno EINVAL for bad parameters, ENOMEM.
 */
uint8_t *heatshrink_enc_compress(const uint8_t *in, size_t len, unsigned int w,
				 unsigned int l, size_t *out_len);

#endif /* BLEOTA_HOST_HEATSHRINK_ENC_H */
