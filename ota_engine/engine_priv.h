/* SPDX-License-Identifier: MIT */
/*
 * Internals shared by the engine's modules. The dependency order has no
 * circle: engine_err.c and engine_io.c use nothing else; boot.c (boot
 * state) uses those two; boot_sim.c (the simulated bootloader, host builds
 * only) uses boot.c and engine.c's open; preflight.c uses boot.c; stream.c uses the two
 * helpers; session.c uses stream.c, preflight.c and boot.c; engine.c
 * (power on, queries) and engine_sink.c use the public calls.
 */
#ifndef BLEOTA_OTA_ENGINE_ENGINE_PRIV_H
#define BLEOTA_OTA_ENGINE_ENGINE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ota_engine/engine.h"
#include "ota_engine/otadata.h"

#define R_(x) OTA_ENGINE_REASON_##x
#define M_(x) OTA_ENGINE_MSG_##x

/* engine_err.c: reasons and notes, no words */

/** Record @n (reason @reason) as the last failure, log it, return @err. */
int eng_fail_note(struct ota_engine *eng, enum ota_engine_reason reason,
		  int err, const struct ota_engine_note *n);
/** Pass @n to the log callback, if any, at @level. */
void eng_log_note(struct ota_engine *eng, int level,
		  const struct ota_engine_note *n);
/** The last call succeeded: reason NONE, no note. */
void eng_ok(struct ota_engine *eng);

/*
 * The common cases with scalars only (half the code of a note literal at
 * each of the ~90 call sites): @code packs reason | msg << 8 | -err << 16,
 * or level | msg << 8 for a log line.
 */
int eng_fail_n(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b,
	       uint32_t c);
void eng_log_n(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b,
	       uint32_t c);
/* the same with fewer numbers (the rest 0): fewer arguments to pass */
int eng_fail_n2(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b);
int eng_fail_n0(struct ota_engine *eng, uint32_t code);
void eng_log_n2(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b);
void eng_log_n0(struct ota_engine *eng, uint32_t code);

#define ENG_FIRST(m, ...)            m
/*
 * Which of the _n functions a call uses, by how many numbers follow the
 * message: none (2 arguments), up to two (4, all in registers) or three.
 */
#define ENG_PICK(m, a, b, c, f, ...) f
#define ENG_FN(f, ...)               ENG_PICK(__VA_ARGS__, f, f##2, f##2, f##0, ~)
#define ENG_T3(m, a, b, c, ...)      , a, b, c
#define ENG_T2(m, a, b, ...)         , a, b
#define ENG_T0(m, ...)
#define ENG_TAIL(...)                                            \
	ENG_PICK(__VA_ARGS__, ENG_T3, ENG_T2, ENG_T2, ENG_T0, ~) \
	(__VA_ARGS__, 0, 0)
#define ENG_CODE(head, ...) \
	((uint32_t)(head) | (uint32_t)(ENG_FIRST(__VA_ARGS__, 0)) << 8)

/*
 * eng_fail(eng, R_(TOO_LARGE), -ENOSPC, M_(X), a, b)   up to 3 numbers
 * eng_fail_with(eng, R_(..), -E, M_(X), .s = { v }, .n = { ... })
 * eng_log(eng, OTA_ENGINE_LOG_INFO, M_(BEGIN), a, b, c)
 * eng_log_with(eng, OTA_ENGINE_LOG_INFO, M_(X), .s = { v })
 */
#define eng_fail(eng, reason, err, ...)       \
	ENG_FN(eng_fail_n, __VA_ARGS__)       \
	(eng, ENG_CODE(reason, __VA_ARGS__) | \
		      (uint32_t)(-(err)) << 16 ENG_TAIL(__VA_ARGS__))
#define eng_log(eng, level, ...)       \
	ENG_FN(eng_log_n, __VA_ARGS__) \
	(eng, ENG_CODE(level, __VA_ARGS__) ENG_TAIL(__VA_ARGS__))
#define eng_fail_with(eng, reason, err, ...) \
	eng_fail_note(eng, reason, err,      \
		      &(const struct ota_engine_note){ .msg = __VA_ARGS__ })
#define eng_log_with(eng, level, ...) \
	eng_log_note(eng, level,      \
		     &(const struct ota_engine_note){ .msg = __VA_ARGS__ })

/* engine_io.c: the one flash-read loop, slot geometry, otadata */

/** Flash offset / size of a slot (>= 0 OTA, FACTORY, or ENG_SLOT_TEST). */
#define ENG_SLOT_TEST (-3)
bool eng_slot_region(const struct ota_engine *eng, int slot, uint32_t *off,
		     uint32_t *size);

/**
 * Called with consecutive pieces of a flash range; @pos is the piece's
 * offset in the range. A nonzero return stops the walk and is returned.
 */
typedef int (*eng_piece_fn)(void *ctx, const uint8_t *buf, uint32_t n,
			    uint32_t pos);

/**
 * eng_read_each() - read [@addr, @addr + @len) in small pieces (a 256-byte
 * stack buffer) and hand each to @fn. 0, -EIO, or what @fn returned.
 */
int eng_read_each(struct ota_engine *eng, uint32_t addr, uint32_t len,
		  eng_piece_fn fn, void *ctx);

/** Read both otadata entries. 0 or -EIO. */
int eng_read_otadata(struct ota_engine *eng, struct ota_otadata_entry e[2]);

static inline bool eng_bit(const uint8_t *map, uint32_t b)
{
	return map[b / 8] & (1u << (b % 8));
}

static inline void eng_set_bit(uint8_t *map, uint32_t b, bool on)
{
	if (on)
		map[b / 8] |= (uint8_t)(1u << (b % 8));
	else
		map[b / 8] &= (uint8_t) ~(1u << (b % 8));
}

/** Bytes of block @b of the session's image. */
static inline uint32_t eng_block_len(const struct ota_engine *eng, uint32_t b)
{
	uint32_t left = eng->man.image_size - b * OTA_ENGINE_BLOCK_SIZE;

	return left < OTA_ENGINE_BLOCK_SIZE ? left : OTA_ENGINE_BLOCK_SIZE;
}

/** esp_ota_get_next_update_partition(NULL); -1 without OTA slots. */
int eng_next_slot(const struct ota_engine *eng);

/* boot.c: the bootloader and the otadata state transitions */

/* Intent kinds (record field b) */
#define ENG_INTENT_PLAIN 0u /* redo writes the entry as recorded */
#define ENG_INTENT_TRIAL \
	1u /* bootloader NEW -> PENDING_VERIFY: the app
			     * never ran if this is unfinished, so the redo
			     * restores NEW and the trial boot happens */

/**
 * Rewrite otadata sector @sector with @e in place, protected by an intent
 * record of @kind in the journal (plain erase + write without a journal).
 * 0 / -EIO.
 */
int eng_otadata_rewrite(struct ota_engine *eng, unsigned int sector,
			const struct ota_otadata_entry *e, unsigned int kind);

/** Erase sector @sector and write @e (for a sector nobody relies on). */
int eng_otadata_write_inactive(struct ota_engine *eng, unsigned int sector,
			       const struct ota_otadata_entry *e);

/**
 * esp_ota_invalidate_inactive_ota_data_slot(): erase the stale entry that
 * points at @slot (about to be overwritten), keeping "this image failed"
 * as a FAILED record. 0 / -EIO.
 */
int eng_otadata_forget_slot(struct ota_engine *eng, int slot);

/** Complete an interrupted intent record, if any. 0 / -EIO. */
int eng_recover(struct ota_engine *eng);

/**
 * Fully verify the image in @slot (format, appended hash, fits, chip).
 * Fills @desc when non-NULL. 0, -ENOEXEC (invalid) or -EIO.
 */
int eng_verify_slot(struct ota_engine *eng, int slot,
		    struct ota_image_verify *iv, struct ota_app_desc *desc);

/**
 * @slot runs, its app desc in eng->running_desc (the simulated bootloader
 * or the port chose it): the anti-rollback counter is raised if its entry
 * is VALID, as the bootloader burns the eFuse, and bleota:fw_tag follows
 * it (a tag failure is logged; the boot stands). 0, or -EIO noted.
 */
int eng_started(struct ota_engine *eng, int slot);

/**
 * Load the anti-rollback counter: max(cfg.secure_version, the journal's
 * latest EFUSE record). 0 or -EIO.
 */
int eng_efuse_load(struct ota_engine *eng);

/** Index of the entry (good CRC, seq set) for @slot, preferring active. */
int eng_entry_for_slot(struct ota_engine *eng,
		       const struct ota_otadata_entry e[2], int slot);

/* boot_sim.c: the simulated bootloader (host builds and tests only) */

/**
 * The bootloader decision. With @apply, performs the otadata transitions
 * (and initial-contents write); without, only predicts. Returns the slot
 * booted or -ENOENT / -EIO; fills @desc when non-NULL.
 */
int eng_boot_select(struct ota_engine *eng, bool apply,
		    struct ota_app_desc *desc);

/* stream.c: the session's in-order stream (format check + hash once) */

/** Restart the stream at block 0 (a fresh verifier and hashes). */
void eng_stream_reset(struct ota_engine *eng);

/**
 * One read of block @b of the session: its CRC-32 into *@crc (if
 * @crc_on) and, with @feed, the bytes into the stream. 0 or -EIO.
 */
int eng_read_block(struct ota_engine *eng, uint32_t b, bool crc_on, bool feed,
		   uint32_t *crc);

/**
 * Feed the stream the verified blocks after it (@written: also blocks
 * written but never verified). 0 or -EIO.
 */
int eng_stream_advance(struct ota_engine *eng, bool written);

/** Bring the stream to the image end for finish (a full pass if some
 * block was never verified). 0 or -EIO. */
int eng_stream_complete(struct ota_engine *eng);

/** -ENOEXEC (reason set) once the stream proves the image can never
 * pass: a format error or an app desc that differs from the manifest. */
int eng_stream_check(struct ota_engine *eng);

/** The image verifier's verdict as a failure (BAD_IMAGE, or
 * MANIFEST_MISMATCH for a wrong chip). Returns -ENOEXEC. */
int eng_image_failure(struct ota_engine *eng);

/** Header chip and app desc vs the session's manifest; -ENOEXEC. */
int eng_desc_vs_manifest(struct ota_engine *eng,
			 const struct ota_image_info *in);

/* preflight.c */

/**
 * The SHA-256 of the last image that failed (a FAILED record, or the
 * COMMIT record of the slot otadata calls INVALID/ABORTED) and its slot.
 * 1 found, 0 none, -EIO.
 */
int eng_last_failed(struct ota_engine *eng, uint8_t sha[OTA_SHA256_LEN],
		    int *slot);

/* tag.c */

/**
 * Store the running image's tag as bleota:fw_tag if it differs (nothing is
 * written when it is already there, or when both are none). A failure is
 * logged (TAG_IO) and returned; the caller's transition stands.
 * 0, -EIO, -ENOSPC, -EPROTO.
 */
int eng_tag_sync(struct ota_engine *eng);

/* session.c, for session_delta.c */

/** End the session: close the journal, IDLE. */
void eng_end_session(struct ota_engine *eng);

/**
 * Program @len bytes at @addr unless some would need a 0 -> 1 change
 * (*@conflict then, nothing written). 0 or -EIO.
 */
int eng_program_checked(struct ota_engine *eng, uint32_t addr,
			const uint8_t *data, size_t len, bool *conflict);

/* session_delta.c: the delta half of the session calls (same returns) */

/** After pre-flight: take up a checkpoint log (@resume) or start one. */
int eng_delta_begin(struct ota_engine *eng, bool resume);
/** BEGIN again during the session: decoding restarts at a verified block. */
int eng_delta_rebegin(struct ota_engine *eng);
int eng_delta_write(struct ota_engine *eng, uint32_t offset,
		    const uint8_t *data, size_t len);
int eng_delta_verify(struct ota_engine *eng, uint32_t block, uint32_t crc32);
/** The patch is complete: the image goes through the stream once. */
int eng_delta_finish(struct ota_engine *eng);

static inline bool eng_is_delta(const struct ota_engine *eng)
{
	return eng->man.encoding == OTA_ENGINE_ENC_DELTA;
}

#endif /* BLEOTA_OTA_ENGINE_ENGINE_PRIV_H */
