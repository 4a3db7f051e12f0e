/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by engine.c (sessions, app-side calls) and boot.c
 * (the simulated bootloader and the otadata state transitions).
 */
#ifndef BLEOTA_OTA_ENGINE_ENGINE_PRIV_H
#define BLEOTA_OTA_ENGINE_ENGINE_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "ota_engine/engine.h"
#include "ota_engine/otadata.h"

/** Set reason + detail (printf-style) and return @err. */
int eng_fail(struct ota_engine *eng, enum ota_engine_reason reason, int err,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

void eng_log(struct ota_engine *eng, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Flash offset / size of a slot (>= 0 OTA, FACTORY, or -2 = test). */
bool eng_slot_region(const struct ota_engine *eng, int slot, uint32_t *off,
		     uint32_t *size);

/** Read both otadata entries. 0 or -EIO. */
int eng_read_otadata(struct ota_engine *eng, struct ota_otadata_entry e[2]);

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

/** Complete an interrupted intent record, if any. 0 / -EIO. */
int eng_recover(struct ota_engine *eng);

/**
 * Fully verify the image in @slot (format, appended hash, fits, chip).
 * Fills @desc when non-NULL. 0, -ENOEXEC (invalid) or -EIO.
 */
int eng_verify_slot(struct ota_engine *eng, int slot,
		    struct ota_image_verify *iv, struct ota_app_desc *desc);

/**
 * The bootloader decision. With @apply, performs the otadata transitions
 * (and initial-contents write); without, only predicts. Returns the slot
 * booted or -ENOENT / -EIO; fills the running desc when @apply or when
 * @desc is non-NULL.
 */
int eng_boot_select(struct ota_engine *eng, bool apply,
		    struct ota_app_desc *desc);

/**
 * Load the anti-rollback counter: max(cfg.secure_version, the journal's
 * latest EFUSE record). 0 or -EIO.
 */
int eng_efuse_load(struct ota_engine *eng);

/**
 * Raise the anti-rollback counter to @v (never lowers it): an EFUSE record
 * in the journal first, then RAM. A torn record fails its CRC and the old
 * value stays. 0 or -EIO.
 */
int eng_efuse_raise(struct ota_engine *eng, uint32_t v);

/** Index of the entry (good CRC, seq set) for @slot, preferring active. */
int eng_entry_for_slot(struct ota_engine *eng,
		       const struct ota_otadata_entry e[2], int slot);

#endif /* BLEOTA_OTA_ENGINE_ENGINE_PRIV_H */
