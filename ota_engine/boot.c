/* SPDX-License-Identifier: MIT */
/*
 * Boot state: every otadata state transition (commit, confirm, rollback,
 * the bootloader's own through eng_otadata_rewrite()), the anti-rollback
 * counter, and ota_engine_set_running(), how firmware tells the engine
 * which slot its bootloader started. The simulated ESP-IDF bootloader's
 * decision (ota_engine_boot(), the prediction in ota_engine_init()) is in
 * boot_sim.c, which host builds and tests link and device firmware does
 * not: on a real MCU the bootloader is a program of its own. Nothing here
 * calls the session or pre-flight.
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
#include <string.h>

#include "ota_engine/otadata.h"

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
	eng_log(eng, OTA_ENGINE_LOG_WARN, M_(RECOVERING), rec.a);
	ota_otadata_decode(rec.payload, &e);
	if (rec.b == ENG_INTENT_TRIAL && e.state == OTA_IMG_PENDING_VERIFY)
		e.state = OTA_IMG_NEW;
	if (eng_otadata_write_inactive(eng, rec.a, &e))
		return -EIO;
	return ota_journal_mark_done(&eng->jr, rec.index) ? -EIO : 0;
}

static int verify_piece(void *ctx, const uint8_t *buf, uint32_t n, uint32_t pos)
{
	struct ota_image_verify *iv = ctx;

	(void)pos;
	if (ota_image_verify_complete(iv))
		return 1; /* the rest of the slot is not the image's */
	return ota_image_verify_update(iv, buf, n) ? -ENOEXEC : 0;
}

int eng_verify_slot(struct ota_engine *eng, int slot,
		    struct ota_image_verify *iv, struct ota_app_desc *desc)
{
	struct ota_image_cfg cfg = { .chip_id = eng->cfg.chip_id,
				     .chip_rev = eng->cfg.chip_rev };
	uint32_t off, size;
	int rc;

	if (!eng_slot_region(eng, slot, &off, &size) || !size)
		return -ENOEXEC;
	cfg.max_len = size;
	ota_image_verify_init(iv, &cfg);
	rc = eng_read_each(eng, off, size, verify_piece, iv);
	if (rc < 0)
		return rc;
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

/*
 * Raise the anti-rollback counter to @v (never lowers it): an EFUSE record
 * in the journal first, then RAM. A torn record fails its CRC and the old
 * value stays. 0 or -EIO.
 */
static int efuse_raise(struct ota_engine *eng, uint32_t v)
{
	static const uint8_t none[32] = { 0 };

	if (v <= eng->efuse_secure_version)
		return 0;
	if (ota_journal_append(&eng->jr, OTA_JOURNAL_REC_EFUSE, 0, 0, v, none,
			       NULL))
		return -EIO;
	eng_log(eng, OTA_ENGINE_LOG_INFO, M_(EFUSE_RAISED),
		eng->efuse_secure_version, v);
	eng->efuse_secure_version = v;
	return 0;
}

/*
 * The bootloader burns the eFuse when it boots a VALID entry: raise the
 * anti-rollback counter to the running image's secure_version if @slot's
 * entry is VALID. 0 / -EIO.
 */
static int efuse_on_boot(struct ota_engine *eng, int slot)
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
	return efuse_raise(eng, eng->running_desc.secure_version);
}

int eng_started(struct ota_engine *eng, int slot)
{
	eng->running = slot;
	eng->running_desc_ok = true;
	if (efuse_on_boot(eng, slot))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(EFUSE_IO));
	/* bleota:fw_tag follows what runs; a failure is logged, boot stands */
	eng_tag_sync(eng);
	return 0;
}

int ota_engine_set_running(struct ota_engine *eng, int slot)
{
	uint8_t raw[OTA_APP_DESC_LEN];
	uint32_t off, size;
	int rc;

	if (!eng->table_ok)
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(NO_TABLE));
	if (slot < OTA_ENGINE_SLOT_FACTORY ||
	    !eng_slot_region(eng, slot, &off, &size) || !size)
		return -EINVAL;
	eng->running = OTA_ENGINE_SLOT_NONE;
	eng->running_desc_ok = false;
	/* the bootloader verified the image: its app desc is all we need */
	if (eng->cfg.flash->read(eng->cfg.flash_ctx, off + OTA_APP_DESC_OFFSET,
				 raw, sizeof(raw)))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(BOOT_READ));
	if (ota_app_desc_parse(raw, &eng->running_desc))
		return eng_fail(eng, R_(NO_BOOTABLE), -ENOENT, M_(NO_BOOTABLE));
	rc = eng_started(eng, slot);
	if (rc)
		return rc;
	eng_ok(eng);
	return 0;
}

int eng_otadata_forget_slot(struct ota_engine *eng, int slot)
{
	struct ota_otadata_entry e[2];
	int active, i;

	if (!eng->layout.has_otadata)
		return 0;
	if (eng_read_otadata(eng, e))
		return -EIO;
	/* the active one stays: the bootloader's fallback walk copes */
	active = ota_otadata_active(e);
	for (i = 0; i < 2; i++) {
		bool good = e[i].crc == ota_otadata_crc(e[i].seq);

		if (i == active || e[i].seq == OTA_OTADATA_SEQ_EMPTY)
			continue;
		if (good && (int)ota_otadata_slot(
				    e[i].seq, eng->layout.ota_count) != slot)
			continue;
		/* keep "this image failed" past the entry that says so */
		if (good && (e[i].state == OTA_IMG_INVALID ||
			     e[i].state == OTA_IMG_ABORTED)) {
			struct ota_journal_rec cr;
			int rc = ota_journal_find_last(
				&eng->jr, OTA_JOURNAL_REC_COMMIT, slot, &cr);

			if (rc < 0)
				return -EIO;
			if (rc > 0 &&
			    ota_journal_append(&eng->jr, OTA_JOURNAL_REC_FAILED,
					       (uint8_t)OTA_ENGINE_REASON_NONE,
					       (uint8_t)slot, cr.val,
					       cr.payload, NULL))
				return -EIO;
		}
		/* stale or torn entry for the target: nobody relies on it */
		if (eng->cfg.flash->erase(eng->cfg.flash_ctx,
					  eng->layout.otadata_off +
						  (uint32_t)i *
							  OTA_FLASH_SECTOR_SIZE,
					  OTA_FLASH_SECTOR_SIZE))
			return -EIO;
	}
	return 0;
}

int ota_engine_commit(struct ota_engine *eng)
{
	struct ota_otadata_entry e[2], n;
	unsigned int sector, target = eng->plan.slot;
	uint32_t seq;
	bool in_place;
	int err;

	if (eng->session == OTA_ENGINE_SESSION_COMMITTED) {
		eng_ok(eng);
		return 0;
	}
	if (eng->session != OTA_ENGINE_SESSION_VERIFIED)
		return eng_fail(eng, R_(NOT_VERIFIED), -EPROTO,
				M_(COMMIT_EARLY));
	if (!eng->layout.has_otadata)
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(NO_OTADATA));
	if (eng_read_otadata(eng, e))
		goto err_io;
	if (ota_otadata_plan_set_boot(e, eng->layout.ota_count, target, &sector,
				      &seq, &in_place))
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(SELECT), target);
	/* remember which image the slot holds before otadata can boot it */
	if (ota_journal_append(&eng->jr, OTA_JOURNAL_REC_COMMIT,
			       (uint8_t)target, 0, eng->man.image_size,
			       eng->man.sha256, NULL))
		goto err_io;
	ota_otadata_make(&n, seq,
			 eng->cfg.rollback_disabled ? OTA_IMG_UNDEFINED
						    : OTA_IMG_NEW);
	if (in_place)
		err = eng_otadata_rewrite(eng, sector, &n, ENG_INTENT_PLAIN);
	else
		err = eng_otadata_write_inactive(eng, sector, &n);
	if (err)
		goto err_io;
	/* a failure here only leaves a journal that resume will re-check */
	ota_journal_resume_close(&eng->jr);
	eng->session = OTA_ENGINE_SESSION_COMMITTED;
	eng_log(eng, OTA_ENGINE_LOG_INFO, M_(COMMIT_DONE), sector, seq, target);
	eng_ok(eng);
	return 0;
err_io:
	return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(OTADATA_IO));
}

int ota_engine_confirm(struct ota_engine *eng)
{
	struct ota_otadata_entry e[2];
	int i;

	if (!eng->layout.has_otadata || eng->running < 0)
		return eng_fail(eng, R_(NOTHING_PENDING), -EALREADY,
				M_(NOT_OTA));
	if (eng_read_otadata(eng, e))
		goto err_io;
	i = eng_entry_for_slot(eng, e, eng->running);
	if (i >= 0 && e[i].state == OTA_IMG_VALID) {
		eng_ok(eng);
		return 0;
	}
	if (i < 0)
		return eng_fail(eng, R_(NOTHING_PENDING), -EALREADY,
				M_(NO_ENTRY), (uint32_t)eng->running);
	if (e[i].state != OTA_IMG_PENDING_VERIFY)
		return eng_fail(eng, R_(NOTHING_PENDING), -EALREADY, M_(STATE),
				(uint32_t)eng->running, e[i].state);
	e[i].state = OTA_IMG_VALID;
	if (eng_otadata_rewrite(eng, (unsigned int)i, &e[i], ENG_INTENT_PLAIN))
		goto err_io;
	/* esp_ota_mark_app_valid_cancel_rollback() burns the eFuse next */
	if (eng->running_desc_ok &&
	    efuse_raise(eng, eng->running_desc.secure_version))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(EFUSE_IO));
	eng_log(eng, OTA_ENGINE_LOG_INFO, M_(CONFIRM_DONE),
		(uint32_t)eng->running);
	/* written at boot already; again in case that write failed */
	eng_tag_sync(eng);
	eng_ok(eng);
	return 0;
err_io:
	return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(OTADATA_IO));
}

/* esp_ota_check_rollback_is_possible(): 0 yes, -ENOENT no, -EIO. */
static int rollback_possible(struct ota_engine *eng,
			     const struct ota_otadata_entry *other)
{
	int slot = OTA_ENGINE_SLOT_FACTORY, err;

	if (ota_otadata_entry_valid(other)) {
		slot = (int)ota_otadata_slot(other->seq, eng->layout.ota_count);
		if (slot == eng->running)
			return -ENOENT;
	} else if (!eng->layout.has_factory) {
		return -ENOENT;
	}
	/* iv is reused for it */
	eng->stream_on = false;
	eng->delta_live = false; /* the decoder shares iv's RAM */
	err = eng_verify_slot(eng, slot, &eng->iv, NULL);
	if (err == -EIO)
		return err;
	/* anti-rollback: the bootloader would skip an older image */
	if (err || eng->iv.info.desc.secure_version < eng->efuse_secure_version)
		return -ENOENT;
	return 0;
}

int ota_engine_rollback(struct ota_engine *eng)
{
	struct ota_otadata_entry e[2];
	int i, err;

	if (!eng->layout.has_otadata || eng->running < 0)
		return eng_fail(eng, R_(NO_ROLLBACK_TARGET), -ENOENT,
				M_(NOT_OTA));
	if (eng_read_otadata(eng, e))
		goto err_io;
	i = eng_entry_for_slot(eng, e, eng->running);
	if (i < 0)
		return eng_fail(eng, R_(NO_ROLLBACK_TARGET), -ENOENT,
				M_(NO_ENTRY), (uint32_t)eng->running);
	err = rollback_possible(eng, &e[1 - i]);
	if (err == -EIO)
		goto err_io;
	if (err)
		return eng_fail(eng, R_(NO_ROLLBACK_TARGET), -ENOENT,
				M_(NO_PREVIOUS), (uint32_t)eng->running);
	e[i].state = OTA_IMG_INVALID;
	if (eng_otadata_rewrite(eng, (unsigned int)i, &e[i], ENG_INTENT_PLAIN))
		goto err_io;
	eng_log(eng, OTA_ENGINE_LOG_INFO, M_(ROLLBACK_DONE),
		(uint32_t)eng->running);
	eng_ok(eng);
	return 0;
err_io:
	return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(OTADATA_IO));
}
