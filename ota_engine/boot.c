/* SPDX-License-Identifier: MIT */
/*
 * Simulated ESP-IDF bootloader and the otadata state transitions.
 *
 * The decision follows bootloader_utility_get_selected_boot_partition() and
 * bootloader_utility_load_boot_image() step by step (see the decision table
 * in docs/ota-engine.md):
 *
 *   1. no otadata partition                       -> factory
 *   2. rollback: each PENDING_VERIFY entry        -> ABORTED
 *   3. both entries invalid() (or no OTA slots)   -> factory, else ota_0
 *      (both erased/bad CRC: "initial contents", entry 0 gets written)
 *   4. else the active entry (largest valid seq)  -> (seq - 1) % count,
 *      rollback: NEW -> PENDING_VERIFY; no active entry -> factory
 *   5. load: try that slot, then lower ones down to factory, then higher
 *      ones, then test; each must pass full image verification. The walk
 *      never rewrites otadata.
 *
 * Atomic transitions. IDF rewrites the *active* otadata sector in place for
 * NEW -> PENDING_VERIFY, PENDING_VERIFY -> ABORTED, -> VALID and -> INVALID:
 * erase, then write 32 bytes. A cut between the two leaves the active entry
 * erased and the device silently boots the older slot. Here every in-place
 * rewrite is preceded by an INTENT record in the journal log (target sector
 * + the full 32-byte entry, CRC-protected); after erase + write the record's
 * done byte is programmed. eng_recover(), run by init before anything reads
 * otadata, redoes any intent without its done byte; the redo is idempotent.
 * Anti-rollback (CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK). The simulated eFuse
 * counter is an EFUSE record in the journal log (its latest, highest one;
 * cfg.secure_version is the factory value). The load walk skips images
 * whose secure_version is below it, and booting a VALID entry raises it
 * to that image's secure_version, as the IDF bootloader burns the eFuse.
 * A record is one CRC-protected program: torn, it is ignored and the old
 * value stands until the next boot of the VALID image raises it again.
 *
 * One refinement: an unfinished NEW -> PENDING_VERIFY intent means the
 * bootloader was cut before the app could start, so the redo writes NEW and
 * the image still gets its trial boot instead of being ABORTED untried.
 * The otadata bytes are always standard entries, so a real ESP-IDF
 * bootloader reads them unchanged; in the window before recovery it sees
 * what IDF itself would leave (the older entry), never garbage it could
 * misread. Switching slots (commit) writes the inactive sector, which IDF
 * already makes atomic: the old entry wins until the new CRC has landed.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ota_engine/otadata.h"

#define SLOT_TEST  (-3)
#define READ_CHUNK 256u

bool eng_slot_region(const struct ota_engine *eng, int slot, uint32_t *off,
		     uint32_t *size)
{
	const struct ota_layout *l = &eng->layout;

	if (slot >= 0 && (unsigned int)slot < l->ota_count) {
		*off = l->ota_off[slot];
		*size = l->ota_size[slot];
		return true;
	}
	if (slot == OTA_ENGINE_SLOT_FACTORY && l->has_factory) {
		*off = l->factory_off;
		*size = l->factory_size;
		return true;
	}
	if (slot == SLOT_TEST && l->has_test) {
		*off = l->test_off;
		*size = l->test_size;
		return true;
	}
	return false;
}

int eng_read_otadata(struct ota_engine *eng, struct ota_otadata_entry e[2])
{
	uint8_t raw[OTA_OTADATA_ENTRY_LEN];
	unsigned int i;
	int err;

	for (i = 0; i < 2; i++) {
		err = eng->cfg.flash->read(eng->cfg.flash_ctx,
					   eng->layout.otadata_off +
						   i * OTA_FLASH_SECTOR_SIZE,
					   raw, sizeof(raw));
		if (err)
			return -EIO;
		ota_otadata_decode(raw, &e[i]);
	}
	return 0;
}

int eng_otadata_write_inactive(struct ota_engine *eng, unsigned int sector,
			       const struct ota_otadata_entry *e)
{
	uint8_t raw[OTA_OTADATA_ENTRY_LEN];
	uint32_t off = eng->layout.otadata_off + sector * OTA_FLASH_SECTOR_SIZE;

	ota_otadata_encode(e, raw);
	if (eng->cfg.flash->erase(eng->cfg.flash_ctx, off,
				  OTA_FLASH_SECTOR_SIZE))
		return -EIO;
	if (eng->cfg.flash->write(eng->cfg.flash_ctx, off, raw, sizeof(raw)))
		return -EIO;
	return 0;
}

int eng_otadata_rewrite(struct ota_engine *eng, unsigned int sector,
			const struct ota_otadata_entry *e, unsigned int kind)
{
	uint8_t raw[OTA_OTADATA_ENTRY_LEN];
	struct ota_journal_rec rec;
	int err;

	if (!eng->jr.present)
		return eng_otadata_write_inactive(eng, sector, e);
	ota_otadata_encode(e, raw);
	err = ota_journal_append(&eng->jr, OTA_JOURNAL_REC_INTENT,
				 (uint8_t)sector, (uint8_t)kind, 0, raw, &rec);
	if (err)
		return -EIO;
	err = eng_otadata_write_inactive(eng, sector, e);
	if (err)
		return err;
	return ota_journal_mark_done(&eng->jr, rec.index) ? -EIO : 0;
}

int eng_recover(struct ota_engine *eng)
{
	struct ota_otadata_entry e;
	struct ota_journal_rec rec;
	int rc;

	if (!eng->jr.present || !eng->layout.has_otadata)
		return 0;
	rc = ota_journal_find_last(&eng->jr, OTA_JOURNAL_REC_INTENT, -1, &rec);
	if (rc < 0)
		return -EIO;
	if (rc == 0 || rec.done || rec.a > 1)
		return 0;
	eng_log(eng, OTA_ENGINE_LOG_WARN,
		"completing interrupted otadata rewrite of sector %u", rec.a);
	ota_otadata_decode(rec.payload, &e);
	if (rec.b == ENG_INTENT_TRIAL && e.state == OTA_IMG_PENDING_VERIFY)
		e.state = OTA_IMG_NEW;
	if (eng_otadata_write_inactive(eng, rec.a, &e))
		return -EIO;
	return ota_journal_mark_done(&eng->jr, rec.index) ? -EIO : 0;
}

int eng_verify_slot(struct ota_engine *eng, int slot,
		    struct ota_image_verify *iv, struct ota_app_desc *desc)
{
	struct ota_image_cfg cfg = { .chip_id = eng->cfg.chip_id,
				     .chip_rev = eng->cfg.chip_rev };
	uint8_t buf[READ_CHUNK];
	uint32_t off, size, pos = 0;

	if (!eng_slot_region(eng, slot, &off, &size) || !size)
		return -ENOEXEC;
	cfg.max_len = size;
	ota_image_verify_init(iv, &cfg);
	while (!ota_image_verify_complete(iv) && pos < size) {
		uint32_t n = size - pos < READ_CHUNK ? size - pos : READ_CHUNK;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx, off + pos, buf, n))
			return -EIO;
		if (ota_image_verify_update(iv, buf, n))
			return -ENOEXEC;
		pos += n;
	}
	if (ota_image_verify_final(iv))
		return -ENOEXEC;
	if (desc)
		*desc = iv->info.desc;
	return 0;
}

int eng_entry_for_slot(struct ota_engine *eng,
		       const struct ota_otadata_entry e[2], int slot)
{
	unsigned int count = eng->layout.ota_count;
	int active = ota_otadata_active(e);
	int i, best = -1;

	if (slot < 0 || !count)
		return -1;
	if (active >= 0 && (int)ota_otadata_slot(e[active].seq, count) == slot)
		return active;
	for (i = 0; i < 2; i++) {
		if (e[i].seq == OTA_OTADATA_SEQ_EMPTY ||
		    e[i].crc != ota_otadata_crc(e[i].seq))
			continue;
		if ((int)ota_otadata_slot(e[i].seq, count) != slot)
			continue;
		if (best < 0 || e[i].seq > e[best].seq)
			best = i;
	}
	return best;
}

int eng_efuse_load(struct ota_engine *eng)
{
	struct ota_journal_rec r;
	int rc;

	eng->efuse_secure_version = eng->cfg.secure_version;
	rc = ota_journal_find_last(&eng->jr, OTA_JOURNAL_REC_EFUSE, -1, &r);
	if (rc < 0)
		return -EIO;
	if (rc > 0 && r.val > eng->efuse_secure_version)
		eng->efuse_secure_version = r.val;
	return 0;
}

int eng_efuse_raise(struct ota_engine *eng, uint32_t v)
{
	static const uint8_t none[32] = { 0 };

	if (v <= eng->efuse_secure_version)
		return 0;
	if (ota_journal_append(&eng->jr, OTA_JOURNAL_REC_EFUSE, 0, 0, v, none,
			       NULL))
		return -EIO;
	eng_log(eng, OTA_ENGINE_LOG_INFO,
		"anti-rollback: secure_version counter %" PRIu32 " -> %" PRIu32,
		eng->efuse_secure_version, v);
	eng->efuse_secure_version = v;
	return 0;
}

/* Tries one candidate of the load walk. */
static int try_load(struct ota_engine *eng, int slot, struct ota_app_desc *desc)
{
	uint32_t off, size;
	int err;

	if (!eng_slot_region(eng, slot, &off, &size) || !size)
		return -ENOEXEC;
	err = eng_verify_slot(eng, slot, &eng->iv, desc);
	if (err == -ENOEXEC)
		eng_log(eng, OTA_ENGINE_LOG_WARN,
			"bootloader: slot %d has no valid image", slot);
	if (!err &&
	    eng->iv.info.desc.secure_version < eng->efuse_secure_version) {
		eng_log(eng, OTA_ENGINE_LOG_WARN,
			"bootloader: slot %d secure_version %" PRIu32
			" is below the anti-rollback counter %" PRIu32,
			slot, eng->iv.info.desc.secure_version,
			eng->efuse_secure_version);
		return -ENOEXEC;
	}
	return err;
}

int eng_boot_select(struct ota_engine *eng, bool apply,
		    struct ota_app_desc *desc)
{
	const struct ota_layout *l = &eng->layout;
	bool rollback = !eng->cfg.rollback_disabled;
	bool initial = false;
	struct ota_otadata_entry e[2];
	int index = OTA_ENGINE_SLOT_FACTORY, active = -1, i, err;

	if (!l->has_otadata)
		goto load;
	if (eng_read_otadata(eng, e))
		return -EIO;
	if (rollback) {
		for (i = 0; i < 2; i++) {
			if (e[i].state != OTA_IMG_PENDING_VERIFY)
				continue;
			/* reset before confirming: the app is not trusted */
			e[i].state = OTA_IMG_ABORTED;
			if (apply) {
				eng_log(eng, OTA_ENGINE_LOG_WARN,
					"bootloader: seq %" PRIu32 " was never "
					"confirmed: ABORTED",
					e[i].seq);
				if (eng_otadata_rewrite(eng, (unsigned int)i,
							&e[i],
							ENG_INTENT_PLAIN))
					return -EIO;
			}
		}
	}
	if ((ota_otadata_entry_invalid(&e[0]) &&
	     ota_otadata_entry_invalid(&e[1])) ||
	    l->ota_count == 0) {
		if (l->has_factory) {
			index = OTA_ENGINE_SLOT_FACTORY;
		} else {
			index = 0;
			initial = true;
			for (i = 0; i < 2; i++)
				if (e[i].seq != OTA_OTADATA_SEQ_EMPTY &&
				    e[i].crc == ota_otadata_crc(e[i].seq))
					initial = false;
		}
	} else {
		active = ota_otadata_active(e);
		if (active >= 0) {
			index = (int)ota_otadata_slot(e[active].seq,
						      l->ota_count);
			if (rollback && e[active].state == OTA_IMG_NEW) {
				e[active].state = OTA_IMG_PENDING_VERIFY;
				if (apply &&
				    eng_otadata_rewrite(
					    eng, (unsigned int)active,
					    &e[active], ENG_INTENT_TRIAL))
					return -EIO;
			}
		} else {
			index = OTA_ENGINE_SLOT_FACTORY;
		}
	}
load:
	/* index, index-1, ..., factory; then index+1 ..; then test */
	for (i = index; i >= OTA_ENGINE_SLOT_FACTORY; i--) {
		err = try_load(eng, i, desc);
		if (err == -EIO)
			return err;
		if (!err)
			goto booted;
	}
	for (i = index + 1; i < (int)l->ota_count; i++) {
		err = try_load(eng, i, desc);
		if (err == -EIO)
			return err;
		if (!err)
			goto booted;
	}
	i = SLOT_TEST;
	err = try_load(eng, i, desc);
	if (err)
		return err == -EIO ? err : -ENOENT;
booted:
	if (apply && initial && i >= 0) {
		struct ota_otadata_entry first;

		ota_otadata_make(&first, (uint32_t)i + 1, OTA_IMG_VALID);
		if (eng_otadata_write_inactive(eng, 0, &first))
			return -EIO;
	}
	return i == SLOT_TEST ? OTA_ENGINE_SLOT_NONE : i;
}

/* The bootloader burns the eFuse when it boots a VALID entry. */
static int boot_raise_efuse(struct ota_engine *eng, int slot)
{
	struct ota_otadata_entry e[2];
	int i;

	if (!eng->layout.has_otadata || slot < 0 || eng->cfg.inspect_only)
		return 0;
	if (eng_read_otadata(eng, e))
		return -EIO;
	i = eng_entry_for_slot(eng, e, slot);
	if (i < 0 || e[i].state != OTA_IMG_VALID)
		return 0;
	return eng_efuse_raise(eng, eng->running_desc.secure_version);
}

int ota_engine_boot(struct ota_engine *eng)
{
	int slot;

	eng->session = OTA_ENGINE_SESSION_IDLE;
	eng->stream_on = false;
	eng->reason = OTA_ENGINE_REASON_NONE;
	eng->detail[0] = '\0';
	if (!eng->table_ok)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SLOT, -ENODEV,
				"no valid partition table at 0x8000");
	if (eng_recover(eng))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error while recovering otadata");
	slot = eng_boot_select(eng, true, &eng->running_desc);
	if (slot == -EIO)
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error in the bootloader");
	if (slot < OTA_ENGINE_SLOT_FACTORY) {
		eng->running = OTA_ENGINE_SLOT_NONE;
		eng->running_desc_ok = false;
		return eng_fail(eng, OTA_ENGINE_REASON_NO_BOOTABLE, -ENOENT,
				"no bootable app partition");
	}
	eng->running = slot;
	eng->running_desc_ok = true;
	if (boot_raise_efuse(eng, slot))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error raising the anti-rollback "
				"counter");
	eng_log(eng, OTA_ENGINE_LOG_INFO, "bootloader: booting slot %d (%s)",
		slot, eng->running_desc.version);
	return slot;
}
