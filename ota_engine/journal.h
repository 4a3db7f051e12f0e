/* SPDX-License-Identifier: MIT */
/*
 * bleota journal partition (type 0x40, subtype 0x00; ignored by the ESP-IDF
 * bootloader): a ping-pong record log (otadata rewrite intents, commit and
 * failure records) in its first two sectors and the resume journal (which
 * blocks of which image are written and verified) in the rest. Every update
 * is a NOR program of erased bytes or an erase of a sector nobody relies on,
 * so each step is atomic at power loss. Layout: docs/ota-engine.md.
 */
#ifndef BLEOTA_OTA_ENGINE_JOURNAL_H
#define BLEOTA_OTA_ENGINE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/crypto.h"
#include "ota_engine/flash.h"

#define OTA_JOURNAL_MIN_SIZE    (3u * OTA_FLASH_SECTOR_SIZE)
#define OTA_JOURNAL_REC_LEN     64u
#define OTA_JOURNAL_LOG_HDR_LEN 64u
#define OTA_JOURNAL_LOG_RECS                                 \
	((OTA_FLASH_SECTOR_SIZE - OTA_JOURNAL_LOG_HDR_LEN) / \
	 OTA_JOURNAL_REC_LEN)
#define OTA_JOURNAL_RESUME_HDR_LEN 64u
#define OTA_JOURNAL_BLOCK_NONE     0xFFFFFFFFu /* resume record: not verified */
#define OTA_JOURNAL_BLOCK_REVOKED  0x00000000u /* resume record: withdrawn */

enum ota_journal_rec_type {
	OTA_JOURNAL_REC_INTENT = 0x01, /* rewrite otadata sector a with entry */
	OTA_JOURNAL_REC_COMMIT = 0x02, /* slot a now holds image (size, sha) */
	OTA_JOURNAL_REC_FAILED = 0x03, /* image sha was refused (reason a) */
	OTA_JOURNAL_REC_EFUSE = 0x04,  /* anti-rollback counter is now val */
};

/** One decoded log record. */
struct ota_journal_rec {
	enum ota_journal_rec_type type;
	uint8_t a;
	uint8_t b;
	bool done;    /* INTENT: completed */
	uint32_t val; /* COMMIT: image size */
	uint8_t payload[32];
	uint32_t index; /* position in the active log sector */
};

/** Resume session as stored in the journal header. */
struct ota_journal_session {
	uint8_t slot;
	uint32_t image_size;
	uint32_t nblocks;
	uint8_t sha256[OTA_SHA256_LEN];
};

/* Treat as opaque; lives inside struct ota_engine. */
struct ota_journal {
	const struct ota_flash_ops *ops;
	void *ctx;
	uint32_t off;
	uint32_t size;
	bool present;
	int log_sector; /* -1: no valid log sector yet */
	uint32_t log_gen;
	uint32_t log_next; /* first free record index */
	bool resume_open;
	struct ota_journal_session sess;
	/* the delta checkpoint log (ota_journal_delta_*) */
	bool delta_open;
	uint8_t ck_sector; /* 0 or 1: the active checkpoint sector */
	uint32_t ck_gen;
	uint32_t ck_next; /* offset of the next record in it */
};

/**
 * Bind to the journal partition [@off, @off + @size) and scan it (reads
 * only). @size 0 means "no journal partition": every call below then
 * succeeds without doing anything and nothing survives a reboot.
 * Returns 0 or -EIO.
 */
int ota_journal_init(struct ota_journal *j, const struct ota_flash_ops *ops,
		     void *ctx, uint32_t off, uint32_t size);

/**
 * Append a record (type, a, b, val, 32-byte payload). Compacts into the
 * other log sector first when the active one is full, carrying the latest
 * COMMIT per slot, the latest FAILED and the EFUSE record with the highest
 * val. Fills out->index. 0 or -EIO.
 * Power loss: a torn record fails its CRC and is ignored; a torn compaction
 * leaves the old sector active (its header is written last).
 */
int ota_journal_append(struct ota_journal *j, enum ota_journal_rec_type type,
		       uint8_t a, uint8_t b, uint32_t val,
		       const uint8_t payload[32], struct ota_journal_rec *out);

/** Program the done mark of INTENT record @index. 0 or -EIO. */
int ota_journal_mark_done(struct ota_journal *j, uint32_t index);

/**
 * The latest record of @type (for COMMIT: with a == @slot, or any slot
 * when @slot < 0). Returns 1 found, 0 none, -EIO.
 */
int ota_journal_find_last(struct ota_journal *j, enum ota_journal_rec_type type,
			  int slot, struct ota_journal_rec *out);

/** Capacity of the resume journal in 4 KiB blocks (0 without journal). */
uint32_t ota_journal_resume_capacity(const struct ota_journal *j);

/**
 * Start a resume session: erase the resume sectors, then write the header.
 * 0 or -EIO / -ENOSPC (more blocks than the capacity).
 */
int ota_journal_resume_open(struct ota_journal *j,
			    const struct ota_journal_session *s);

/** Read block @b's record into *@crc (NONE, REVOKED or the CRC). 0/-EIO. */
int ota_journal_resume_get(struct ota_journal *j, uint32_t b, uint32_t *crc);

/**
 * Record block @b as verified with @crc (programs 4 bytes). A record that
 * is not blank (revoked or torn) is left alone: the block is then verified
 * in RAM only and resent after a reboot. 0/-EIO.
 */
int ota_journal_resume_set(struct ota_journal *j, uint32_t b, uint32_t crc);

/** Withdraw block @b (programs the record to 0). 0/-EIO. */
int ota_journal_resume_revoke(struct ota_journal *j, uint32_t b);

/** Close the session, plain or delta (programs the closed marks); no-op
 * if none. 0/-EIO. */
int ota_journal_resume_close(struct ota_journal *j);

/*
 * The delta checkpoint log (docs/ota-engine.md §15.5). A delta session
 * keeps no per-block CRC records: it keeps decoder checkpoints, in the
 * resume area's two sectors used in turn. Each sector has a header (the
 * session: slot, sizes, SHA-256; a generation; CRC) and records of
 * {len, blocks, to_pos, CRC, len checkpoint bytes}. The log order (older
 * generation first, then by offset) is what "newest" means. Appending to a
 * full sector erases the other one, writes its header (generation + 1),
 * then a copy of @carry (if any), then the record: the full sector stays
 * intact until the switch after this one.
 */
#define OTA_JOURNAL_CKPT_HDR_LEN 64u
#define OTA_JOURNAL_CKPT_REC_HDR 16u
#define OTA_JOURNAL_CKPT_MAX_LEN                            \
	(OTA_FLASH_SECTOR_SIZE - OTA_JOURNAL_CKPT_HDR_LEN - \
	 2 * OTA_JOURNAL_CKPT_REC_HDR) /                    \
		2 /* two records (a carry and the new one) fit one sector */

/* The session a checkpoint log belongs to. */
struct ota_journal_delta {
	uint8_t slot;
	uint32_t image_size;
	uint32_t patch_size;
	uint8_t sha256[OTA_SHA256_LEN];
};

/* One record of the log. */
struct ota_journal_ckpt {
	uint32_t blocks; /* patch blocks verified when it was taken */
	uint32_t to_pos; /* image bytes written when it was taken */
	uint32_t len;    /* checkpoint bytes; 0: the start of the patch */
	uint32_t at;     /* flash offset of the record (found ones) */
};

/* Bytes of a record being appended, in up to three pieces. */
struct ota_journal_piece {
	const uint8_t *p;
	uint32_t len;
};

/** Whether the journal has room for a checkpoint log (4+ sectors). */
bool ota_journal_delta_capable(const struct ota_journal *j);

/**
 * Start a checkpoint log for @s: erase the resume area, write the first
 * sector's header. Ends a plain resume session. 0, -ENOSPC (no room:
 * the session is then RAM-only) or -EIO.
 */
int ota_journal_delta_open(struct ota_journal *j,
			   const struct ota_journal_delta *s);

/**
 * Take up the checkpoint log of @s if the resume area holds one (open,
 * same session). Returns 1 (appends go on after its last record), 0 (none)
 * or -EIO.
 */
int ota_journal_delta_find(struct ota_journal *j,
			   const struct ota_journal_delta *s);

/**
 * The newest record (log order) whose CRC holds and whose to_pos is at
 * most @max_to_pos. Returns 1 with @out filled, 0 if none, -EIO.
 */
int ota_journal_delta_last(struct ota_journal *j, uint32_t max_to_pos,
			   struct ota_journal_ckpt *out);

/**
 * Append a record: @c's blocks and to_pos, the checkpoint bytes being the
 * concatenation of @pieces (@c->len bytes in all). If the active sector is
 * full, switch sectors first and copy its newest record with to_pos <=
 * @carry_max (if any) into the new one ahead of the record, so that a
 * record a resume may fall back to survives. 0, -EINVAL (too long), -EIO.
 * Power loss: a torn record fails its CRC; the switch is ordered so that
 * every record of the full sector stays readable until the next switch.
 */
int ota_journal_delta_append(struct ota_journal *j,
			     const struct ota_journal_ckpt *c,
			     const struct ota_journal_piece pieces[3],
			     uint32_t carry_max);

/**
 * Append a copy of the found record @src (it becomes the newest). Same
 * switching as ota_journal_delta_append(). 0 or -EIO.
 */
int ota_journal_delta_copy(struct ota_journal *j,
			   const struct ota_journal_ckpt *src,
			   uint32_t carry_max);

/**
 * Read checkpoint bytes [@off, @off + @len) of the found record @c.
 * 0 or -EIO / -EINVAL (outside it).
 */
int ota_journal_delta_read(struct ota_journal *j,
			   const struct ota_journal_ckpt *c, uint32_t off,
			   void *buf, uint32_t len);

#endif /* BLEOTA_OTA_ENGINE_JOURNAL_H */
