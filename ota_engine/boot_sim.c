/* SPDX-License-Identifier: MIT */
/*
 * The simulated ESP-IDF bootloader, for host builds and tests: what
 * bleota-peripheral and the test device run at power-on. Device firmware
 * does not link this file (make size, examples/baremetal-cortex-m4): its
 * own bootloader is a separate program, and the application tells the
 * engine the slot it started with ota_engine_open() and
 * ota_engine_set_running() (docs/porting.md).
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
 * The transitions themselves (journalled, atomic) and the anti-rollback
 * counter are boot.c's.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>

#include "ota_engine/otadata.h"

int ota_engine_init(struct ota_engine *eng, const struct ota_engine_cfg *cfg)
{
	struct ota_app_desc desc;
	int rc = ota_engine_open(eng, cfg);

	if (rc)
		return rc;
	/* predict what the bootloader ran, until ota_engine_boot() says */
	rc = eng_boot_select(eng, false, &desc);
	if (rc == -EIO)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(BOOT_READ));
	if (rc >= OTA_ENGINE_SLOT_FACTORY) {
		eng->running = rc;
		eng->running_desc = desc;
		eng->running_desc_ok = true;
	}
	eng_ok(eng);
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
		eng_log(eng, OTA_ENGINE_LOG_WARN, M_(BOOT_NO_IMAGE),
			(uint32_t)slot);
	if (!err &&
	    eng->iv.info.desc.secure_version < eng->efuse_secure_version) {
		eng_log(eng, OTA_ENGINE_LOG_WARN, M_(BOOT_BELOW),
			(uint32_t)slot, eng->iv.info.desc.secure_version,
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
					M_(BOOT_ABORTED), e[i].seq);
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
	i = ENG_SLOT_TEST;
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
	return i == ENG_SLOT_TEST ? OTA_ENGINE_SLOT_NONE : i;
}

int ota_engine_boot(struct ota_engine *eng)
{
	int slot;

	eng->session = OTA_ENGINE_SESSION_IDLE;
	eng->committed_again = false;
	eng->stream_on = false;
	eng->delta_live = false;
	eng_ok(eng);
	if (!eng->table_ok)
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(NO_TABLE));
	if (eng_recover(eng))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(RECOVER_IO));
	slot = eng_boot_select(eng, true, &eng->running_desc);
	if (slot == -EIO)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(BOOT_IO));
	if (slot < OTA_ENGINE_SLOT_FACTORY) {
		eng->running = OTA_ENGINE_SLOT_NONE;
		eng->running_desc_ok = false;
		return eng_fail(eng, R_(NO_BOOTABLE), -ENOENT, M_(NO_BOOTABLE));
	}
	if (eng_started(eng, slot))
		return -EIO;
	eng_log_with(eng, OTA_ENGINE_LOG_INFO, M_(BOOTING),
		     .n = { (uint32_t)slot },
		     .s = { eng->running_desc.version });
	return slot;
}
