/* SPDX-License-Identifier: MIT */
/*
 * The engine at power-on and its queries: open reads the partition table,
 * binds the journal and completes interrupted otadata rewrites (init, in
 * boot_sim.c, adds the prediction of what the bootloader ran); status and
 * info read state.
 *
 * The engine never trusts RAM across a reboot: the partition table,
 * otadata and the journal partition are re-read here, and the only RAM
 * state is the current session (session.c). The other modules, by
 * lifetime: preflight.c, session.c, boot.c (boot state), boot_sim.c (the
 * simulated bootloader, host builds only), engine_io.c, engine_err.c;
 * engine_priv.h gives their order.
 */
#include "ota_engine/engine_priv.h"
#include "ota_engine/util.h"

#include <errno.h>
#include <string.h>

static int read_table(struct ota_engine *eng)
{
	struct ota_parttable_iter it;
	uint8_t raw[OTA_PART_ENTRY_LEN];
	enum ota_parttable_err err = OTA_PARTTABLE_OK;
	struct ota_part p;
	uint32_t off;
	int rc;

	ota_parttable_iter_init(&it, eng->flash_size);
	ota_layout_init(&eng->layout);
	for (off = 0; off < OTA_PARTTABLE_MAX_LEN; off += sizeof(raw)) {
		if (eng->cfg.flash->read(eng->cfg.flash_ctx,
					 OTA_PARTTABLE_OFFSET + off, raw,
					 sizeof(raw)))
			return -EIO;
		rc = ota_parttable_iter_feed(&it, raw, &p);
		if (rc < 0)
			return -ENODEV;
		if (rc == 0)
			return ota_layout_finish(&eng->layout, &err) ? -ENODEV
								     : 0;
		if (p.type != 0xff && ota_layout_add(&eng->layout, &p, &err))
			return -ENODEV;
	}
	return -ENODEV;
}

int ota_engine_open(struct ota_engine *eng, const struct ota_engine_cfg *cfg)
{
	int rc;

	memset(eng, 0, sizeof(*eng));
	/* image data arrives at any byte offset: byte-programmable flash only */
	if (!cfg || !cfg->flash || !cfg->flash->read || !cfg->flash->write ||
	    !cfg->flash->erase || !cfg->flash->size ||
	    cfg->flash->erase_size != OTA_FLASH_SECTOR_SIZE ||
	    cfg->flash->write_align > 1)
		return -EINVAL;
	eng->cfg = *cfg;
	eng->running = OTA_ENGINE_SLOT_NONE;
	eng->efuse_secure_version = cfg->secure_version;
	eng->flash_size = cfg->flash->size(cfg->flash_ctx);
	rc = read_table(eng);
	if (rc == -EIO)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(TABLE_READ));
	if (rc)
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(NO_TABLE));
	eng->table_ok = true;
	if (eng->layout.has_journal &&
	    ota_journal_init(&eng->jr, cfg->flash, cfg->flash_ctx,
			     eng->layout.journal_off, eng->layout.journal_size))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(JOURNAL_READ));
	if (!eng->layout.has_journal)
		ota_journal_init(&eng->jr, cfg->flash, cfg->flash_ctx, 0, 0);
	if (eng_efuse_load(eng))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(EFUSE_READ));
	if (!cfg->inspect_only && eng_recover(eng))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(RECOVER_IO));
	/* the running slot: ota_engine_set_running(), or boot_sim.c's
	 * ota_engine_init() predicts it */
	eng_ok(eng);
	return 0;
}

static void copy_desc_str(char *dst, const char *src)
{
	size_t n = ota_strnlen(src, 32);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

int ota_engine_status(struct ota_engine *eng, struct ota_engine_status *out)
{
	struct ota_otadata_entry e[2];
	uint32_t b;
	int i, rc;

	memset(out, 0, sizeof(*out));
	out->running_slot = eng->running;
	out->running_state = OTA_IMG_UNDEFINED;
	out->other_state = OTA_IMG_UNDEFINED;
	out->boot_slot = OTA_ENGINE_SLOT_NONE;
	out->other_slot = eng_next_slot(eng) >= 0 ? eng_next_slot(eng)
						  : OTA_ENGINE_SLOT_NONE;
	out->last_invalid_slot = OTA_ENGINE_SLOT_NONE;
	if (eng->running_desc_ok) {
		copy_desc_str(out->running_version, eng->running_desc.version);
		copy_desc_str(out->running_project, eng->running_desc.project);
		out->running_secure_version = eng->running_desc.secure_version;
	}
	out->session = eng->session;
	out->image_size = eng->session ? eng->man.image_size : 0;
	for (b = 0; eng->session && b < eng->nblocks; b++)
		if (eng_bit(eng->verified, b))
			out->bytes_verified += eng_block_len(eng, b);
	out->last_reason = eng->reason;
	out->efuse_secure_version = eng->efuse_secure_version;
	if (eng->layout.has_otadata && eng->layout.ota_count) {
		if (eng_read_otadata(eng, e))
			return -EIO;
		i = ota_otadata_active(e);
		if (i >= 0)
			out->boot_slot = (int)ota_otadata_slot(
				e[i].seq, eng->layout.ota_count);
		i = eng_entry_for_slot(eng, e, eng->running);
		if (i >= 0)
			out->running_state = e[i].state;
		if (out->other_slot != eng->running) {
			i = eng_entry_for_slot(eng, e, out->other_slot);
			if (i >= 0)
				out->other_state = e[i].state;
		}
	}
	if (out->other_slot >= 0 && out->other_slot != eng->running) {
		uint8_t raw[OTA_APP_DESC_LEN];
		struct ota_app_desc d;
		uint32_t off, size;

		/* a peek at the app desc, not a verification */
		if (eng_slot_region(eng, out->other_slot, &off, &size) &&
		    !eng->cfg.flash->read(eng->cfg.flash_ctx,
					  off + OTA_APP_DESC_OFFSET, raw,
					  sizeof(raw)) &&
		    !ota_app_desc_parse(raw, &d)) {
			copy_desc_str(out->other_version, d.version);
			copy_desc_str(out->other_project, d.project);
		}
	}
	rc = eng_last_failed(eng, out->last_invalid_sha256,
			     &out->last_invalid_slot);
	if (rc < 0)
		return -EIO;
	out->has_last_invalid = rc > 0;
	return 0;
}

int ota_engine_info(const struct ota_engine *eng, struct ota_engine_info *out)
{
	uint32_t off;
	int slot = eng_next_slot(eng);

	memset(out, 0, sizeof(*out));
	out->chip_id = eng->cfg.chip_id;
	if (eng->running_desc_ok) {
		copy_desc_str(out->version, eng->running_desc.version);
		copy_desc_str(out->project, eng->running_desc.project);
		out->secure_version = eng->running_desc.secure_version;
	}
	if (slot < 0 || !eng_slot_region(eng, slot, &off, &out->slot_size))
		return -ENODEV;
	return 0;
}
