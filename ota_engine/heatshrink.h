/* SPDX-License-Identifier: MIT */
/*
 * heatshrink (LZSS) bit-stream decoder, written for bleota from the format
 * description: MSB-first bits; tag 1 + 8-bit literal, or tag 0 + W-bit index
 * (distance - 1) + L-bit count (length - 1). No header, no end marker: the
 * caller knows W and L (detools' parameter byte) and when to stop.
 *
 * Pull model: ota_hs_next() returns one decompressed byte at a time and
 * takes input bytes only when it needs bits, so a caller can stop at any
 * output byte (a checkpoint) without buffering. No input buffer is kept:
 * the only RAM is the 2^W window plus about 16 bytes of state.
 */
#ifndef BLEOTA_OTA_ENGINE_HEATSHRINK_H
#define BLEOTA_OTA_ENGINE_HEATSHRINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Largest window (log2) this build decodes; it sizes the window array.
 * 10 (1 KiB) by default; a device that only takes esp_delta_ota / detools
 * default patches (W=8) can build with -DOTA_HS_MAX_WINDOW_SZ2=8 (256 B).
 */
#ifndef OTA_HS_MAX_WINDOW_SZ2
#define OTA_HS_MAX_WINDOW_SZ2 10
#endif
#define OTA_HS_MIN_WINDOW_SZ2    4
#define OTA_HS_MIN_LOOKAHEAD_SZ2 3

#if OTA_HS_MAX_WINDOW_SZ2 < 4 || OTA_HS_MAX_WINDOW_SZ2 > 15
#error "OTA_HS_MAX_WINDOW_SZ2 must be 4..15"
#endif

/* Treat as opaque; placed by the caller (2^OTA_HS_MAX_WINDOW_SZ2 + 20 B). */
struct ota_hs {
	uint8_t w;        /* window_sz2 */
	uint8_t l;        /* lookahead_sz2 */
	uint8_t state;    /* what the next bits are (tag, literal, ...) */
	uint8_t cur;      /* the input byte being read */
	uint8_t cur_bits; /* bits of @cur not read yet (0..8) */
	uint8_t fbits;    /* bits gathered into @facc so far */
	uint16_t facc;    /* the field being gathered, MSB first */
	uint16_t index;   /* back-reference distance - 1 */
	uint16_t copy;    /* back-reference bytes still to copy */
	uint32_t total;   /* bytes output so far */
	uint8_t window[1u << OTA_HS_MAX_WINDOW_SZ2];
};

/**
 * ota_hs_init() - start a stream with window 2^@w and lookahead 2^@l.
 * Returns 0; -ERANGE if @w > OTA_HS_MAX_WINDOW_SZ2 (a valid stream this
 * build cannot hold); -EINVAL if @w < 4, @l < 3 or @l >= @w.
 */
int ota_hs_init(struct ota_hs *h, unsigned int w, unsigned int l);

/**
 * ota_hs_next() - the next decompressed byte into *@out.
 * Reads input from *@in / *@in_len, advancing them by whole bytes taken.
 * Returns 1 with a byte; 0 when more input is needed (everything given
 * was taken). Every bit sequence is a valid stream: there is no error.
 */
int ota_hs_next(struct ota_hs *h, const uint8_t **in, size_t *in_len,
		uint8_t *out);

/**
 * ota_hs_mid_symbol() - true if the bits read so far cannot be padding:
 * a back-reference copy is under way, or 8 or more bits of an unfinished
 * symbol were read (a flush pads with at most 7 bits). Used to tell a
 * truncated stream from one that ended on a symbol boundary.
 */
bool ota_hs_mid_symbol(const struct ota_hs *h);

/** ota_hs_buffered_bits() - bits of the current input byte not read yet. */
unsigned int ota_hs_buffered_bits(const struct ota_hs *h);

#endif /* BLEOTA_OTA_ENGINE_HEATSHRINK_H */
