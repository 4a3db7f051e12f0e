/* SPDX-License-Identifier: MIT */
/*
 * Flash access the engine's modules share: the one read loop (every pass
 * over a flash range, whether it CRCs, hashes, compares or verifies,
 * reads through eng_read_each()), slot geometry and otadata reads.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>

#define READ_PIECE 256u

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
	if (slot == ENG_SLOT_TEST && l->has_test) {
		*off = l->test_off;
		*size = l->test_size;
		return true;
	}
	return false;
}

int eng_read_each(struct ota_engine *eng, uint32_t addr, uint32_t len,
		  eng_piece_fn fn, void *ctx)
{
	uint8_t buf[READ_PIECE];
	uint32_t pos;
	int rc;

	for (pos = 0; pos < len; pos += READ_PIECE) {
		uint32_t n = len - pos < READ_PIECE ? len - pos : READ_PIECE;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx, addr + pos, buf,
					 n))
			return -EIO;
		rc = fn(ctx, buf, n, pos);
		if (rc)
			return rc;
	}
	return 0;
}

int eng_read_otadata(struct ota_engine *eng, struct ota_otadata_entry e[2])
{
	uint8_t raw[OTA_OTADATA_ENTRY_LEN];
	unsigned int i;

	for (i = 0; i < 2; i++) {
		if (eng->cfg.flash->read(eng->cfg.flash_ctx,
					 eng->layout.otadata_off +
						 i * OTA_FLASH_SECTOR_SIZE,
					 raw, sizeof(raw)))
			return -EIO;
		ota_otadata_decode(raw, &e[i]);
	}
	return 0;
}

int eng_next_slot(const struct ota_engine *eng)
{
	unsigned int count = eng->layout.ota_count;

	if (!count)
		return -1;
	if (eng->running < 0)
		return 0;
	return (int)(((unsigned int)eng->running + 1) % count);
}
