/* SPDX-License-Identifier: MIT */
/*
 * Streaming decoder for detools "sequential" patches (bsdiff-style diff
 * and extra records against a base image), compression "none" or
 * "heatshrink", optionally behind esp_delta_ota's 64-byte header (magic
 * 0xFCCDDE10 + SHA-256 of the base). Byte-compatible with detools 0.5x.
 *
 * Patch bytes are pushed in chunks of any size; base bytes are read
 * through a callback at absolute offsets; the new image comes out through
 * a write callback, in order. Portable: libc only, no malloc, no I/O.
 * RAM: sizeof(struct ota_delta) = OTA_DELTA_BUF + 2^OTA_HS_MAX_WINDOW_SZ2
 * + about 150 bytes (1.4 KiB with the defaults; docs/ota-engine.md §15).
 *
 * The decoder can stop at output offsets that are multiples of a block
 * size and serialise its whole state (cursors, heatshrink bit state and
 * window) into a defined byte format, so an update can resume after a
 * disconnect or a power cut from the last block written.
 */
#ifndef BLEOTA_OTA_ENGINE_DELTA_H
#define BLEOTA_OTA_ENGINE_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/heatshrink.h"

/* Header byte: bit 7 pad, bits 6..4 patch type, bits 3..0 compression. */
#define OTA_DELTA_TYPE_SEQUENTIAL  0u
#define OTA_DELTA_COMP_NONE        0u
#define OTA_DELTA_COMP_HEATSHRINK  4u
#define OTA_DELTA_ESP_MAGIC        0xFCCDDE10u /* LE bytes 10 DE CD FC */
#define OTA_DELTA_ESP_HDR_LEN      64u
#define OTA_DELTA_MAX_VARINT_BYTES 5u /* magnitudes up to 2^31 - 1 */

/* Output bytes gathered before one write (and one base read). */
#ifndef OTA_DELTA_BUF
#define OTA_DELTA_BUF 128u
#endif

/* Serialised checkpoint: fixed part, then the heatshrink window. */
#define OTA_DELTA_CKPT_FIXED 96u
#define OTA_DELTA_CKPT_MAX \
	(OTA_DELTA_CKPT_FIXED + (1u << OTA_HS_MAX_WINDOW_SZ2))

/** Why a patch was rejected; stable names for logs and the CLI. */
enum ota_delta_err {
	OTA_DELTA_OK,
	OTA_DELTA_ERR_HEADER,      /* header byte's pad bit (7) is set */
	OTA_DELTA_ERR_TYPE,        /* in-place or hdiffpatch, not sequential */
	OTA_DELTA_ERR_COMPRESSION, /* lzma, crle, bz2, ...: not none/heatshrink */
	OTA_DELTA_ERR_HS_PARAMS,   /* heatshrink W < 4, L < 3 or L >= W */
	OTA_DELTA_ERR_WINDOW,      /* W larger than OTA_HS_MAX_WINDOW_SZ2 */
	OTA_DELTA_ERR_VARINT,      /* integer longer than 5 bytes or >= 2^31 */
	OTA_DELTA_ERR_NEGATIVE,    /* negative to-size, diff or extra size */
	OTA_DELTA_ERR_DATA_FORMAT,  /* a detools data-format patch (dfpatch) */
	OTA_DELTA_ERR_TOO_BIG,      /* to-size larger than cfg.max_size */
	OTA_DELTA_ERR_PAST_END,     /* a record writes past to-size */
	OTA_DELTA_ERR_BASE_RANGE,   /* a diff record reads outside the base */
	OTA_DELTA_ERR_HS_TRUNCATED, /* stream ends inside a symbol */
	OTA_DELTA_ERR_TRAILING,     /* bytes after the last record */
	OTA_DELTA_ERR_SHORT,        /* patch ended before to-size bytes */
	OTA_DELTA_ERR_IO,           /* read_base or write failed */
};

/** Read @len base bytes at offset @off into @buf; 0 or -errno. */
typedef int (*ota_delta_read_cb_t)(void *user, uint32_t off, uint8_t *buf,
				   size_t len);
/** The new image's bytes [@off, @off + @len), in order; 0 or -errno. */
typedef int (*ota_delta_write_cb_t)(void *user, uint32_t off,
				    const uint8_t *buf, size_t len);
/** Called once per record after its adjustment (statistics). */
typedef void (*ota_delta_record_cb_t)(void *user, uint32_t diff, uint32_t extra,
				      int32_t adjust);

struct ota_delta_cfg {
	/* NULL: inspect only, base bytes read as 0 and never range-checked */
	ota_delta_read_cb_t read_base;
	ota_delta_write_cb_t write;      /* NULL: output discarded */
	ota_delta_record_cb_t on_record; /* optional */
	void *user;
	uint32_t base_size;   /* diff records must stay inside [0, base_size) */
	uint32_t max_size;    /* the slot: larger to-size fails; 0 = no limit */
	uint32_t pause_every; /* stop feeding at output multiples; 0 = never */
};

/* Treat as opaque; placed by the caller. */
struct ota_delta {
	struct ota_delta_cfg cfg;
	uint8_t phase;
	uint8_t hdr;      /* detools header byte */
	uint8_t hs_param; /* heatshrink parameter byte, 0 for none */
	uint8_t esp;      /* 1 if an esp_delta_ota header came first */
	uint8_t esp_pos;  /* esp header bytes read (0..64) */
	uint8_t vlen;     /* varint bytes read */
	uint8_t vneg;     /* varint sign bit */
	bool paused;
	uint32_t vacc; /* varint magnitude so far */
	uint32_t to_size;
	uint32_t to_pos;    /* output bytes produced (written or in buf) */
	int64_t from_pos;   /* base cursor; may go negative between records */
	uint32_t left;      /* diff or extra bytes left in this record */
	uint32_t patch_pos; /* patch bytes taken */
	uint32_t records;
	uint32_t diff_size; /* this record's, for on_record */
	uint32_t extra_size;
	uint16_t n;       /* output bytes in buf */
	uint16_t preload; /* base bytes already in buf[n..] */
	enum ota_delta_err err;
	int rc;
	uint8_t esp_hash[32];
	uint8_t buf[OTA_DELTA_BUF];
	struct ota_hs hs;
};

/** Stable short description of @err ("heatshrink window too large");
 * host builds only (delta_text.c). */
const char *ota_delta_strerror(enum ota_delta_err err);

/** Start a patch with @cfg (copied). */
void ota_delta_init(struct ota_delta *d, const struct ota_delta_cfg *cfg);

/**
 * ota_delta_feed() - push the next @len patch bytes.
 * *@out_used gets the bytes taken: all of them, unless the output reached a
 * multiple of cfg.pause_every (then ota_delta_paused() is true and the
 * caller may checkpoint before feeding the rest; a call with @len 0, and
 * @buf possibly NULL, goes on with bytes already decoded). When it returns, every
 * output byte the taken input implies has been passed to cfg.write.
 * Returns 0; -EILSEQ for a corrupt patch, -ENOTSUP for a valid patch this
 * decoder does not take (type, compression, window, data format),
 * -ENOSPC if to-size exceeds cfg.max_size, a callback's -errno (or -EIO).
 * Errors are sticky; d->err says which.
 */
int ota_delta_feed(struct ota_delta *d, const uint8_t *buf, size_t len,
		   size_t *out_used);

/** True if the last feed stopped at a pause_every boundary. */
bool ota_delta_paused(const struct ota_delta *d);

/** True once the last record is done (to-size bytes written). */
bool ota_delta_complete(const struct ota_delta *d);

/**
 * ota_delta_finish() - the patch has ended. 0 if it was complete;
 * -EILSEQ with SHORT or HS_TRUNCATED if not; the sticky error otherwise.
 */
int ota_delta_finish(struct ota_delta *d);

/** to-size once the header is read (0 before). */
uint32_t ota_delta_to_size(const struct ota_delta *d);

/** Output bytes written so far (all passed to cfg.write). */
uint32_t ota_delta_to_pos(const struct ota_delta *d);

/** Patch bytes taken so far: where a resumed stream restarts. */
uint32_t ota_delta_patch_pos(const struct ota_delta *d);

/** What the headers said so far (for logs and `bleota image info`). */
struct ota_delta_info {
	bool have_header;    /* the detools header byte was read */
	uint8_t type;        /* bits 6..4: 0 sequential, 1 in-place, ... */
	uint8_t compression; /* bits 3..0: 0 none, 1 lzma, ..., 4 heatshrink */
	bool have_size;      /* to-size was read */
	uint32_t to_size;
	uint8_t window_sz2; /* heatshrink, once its parameter byte is read */
	uint8_t lookahead_sz2;
	uint32_t records; /* records completed */
};

/** ota_delta_get_info() - fill @out; valid after any feed, even failed. */
void ota_delta_get_info(const struct ota_delta *d, struct ota_delta_info *out);

/** The esp_delta_ota header's base SHA-256 once read, else NULL. */
const uint8_t *ota_delta_esp_hash(const struct ota_delta *d);

/**
 * ota_delta_checkpoint() - serialise the state after a feed (any feed
 * return point; a pause gives block-aligned output). Format: docs/ota-
 * engine.md §15.4, little-endian, OTA_DELTA_CKPT_FIXED bytes plus up to
 * 2^W window bytes. Writes *@out_len bytes into @buf. Returns 0; -EMSGSIZE
 * if @cap is too small; the sticky error if the patch failed.
 */
int ota_delta_checkpoint(const struct ota_delta *d, uint8_t *buf, size_t cap,
			 size_t *out_len);

/** Bytes ota_delta_checkpoint() writes now (<= OTA_DELTA_CKPT_MAX). */
size_t ota_delta_checkpoint_size(const struct ota_delta *d);

/**
 * ota_delta_restore() - init with @cfg, then take over a checkpoint.
 * Feed the patch again from ota_delta_patch_pos(); output continues at
 * ota_delta_to_pos(). Returns 0; -EINVAL for a checkpoint that is
 * malformed or inconsistent (every field is range-checked); -ENOTSUP if
 * its window is larger than this build takes; -ENOSPC if its to-size
 * exceeds cfg.max_size.
 */
int ota_delta_restore(struct ota_delta *d, const struct ota_delta_cfg *cfg,
		      const uint8_t *buf, size_t len);

/*
 * Checkpoints without a buffer for the window (a device writes them to
 * flash and reads them back piecewise): the window part of the format is
 * at most two runs of the decoder's own ring.
 */
struct ota_delta_run {
	uint8_t *ptr; /* inside struct ota_delta; NULL for an unused run */
	uint32_t len;
};

/**
 * ota_delta_checkpoint_parts() - ota_delta_checkpoint() in parts: the
 * fixed part into @fixed, and the window bytes, in checkpoint order, as
 * @run[0] then @run[1] (read only; valid until the next feed). The
 * checkpoint is @fixed followed by the runs. Returns 0 or the sticky error.
 */
int ota_delta_checkpoint_parts(const struct ota_delta *d,
			       uint8_t fixed[OTA_DELTA_CKPT_FIXED],
			       struct ota_delta_run run[2]);

/**
 * ota_delta_restore_fixed() - ota_delta_restore() of a checkpoint of @len
 * bytes from its fixed part @buf (at least OTA_DELTA_CKPT_FIXED bytes;
 * only those are read): every field is checked as ota_delta_restore()
 * does, and @run[0], @run[1] say where in @d the window bytes that follow
 * the fixed part go, in order (the caller copies them there). Returns as
 * ota_delta_restore().
 */
int ota_delta_restore_fixed(struct ota_delta *d,
			    const struct ota_delta_cfg *cfg, const uint8_t *buf,
			    size_t len, struct ota_delta_run run[2]);

#endif /* BLEOTA_OTA_ENGINE_DELTA_H */
