/* SPDX-License-Identifier: MIT */
/*
 * Flash timing wrapper; see lm_flash.h. Time advances lazily: each write
 * first spends the idle time since the last operation on erase-ahead, then
 * charges its own erase and program time from max(now, busy_until).
 */
#include "tests/harness/lm_flash.h"

#include <string.h>

const struct lm_flash_params lm_flash_nrf52840 = {
	.sector = 4096,
	.erase_us = 85000,
	.prog_unit = 4,
	.prog_unit_us = 41,
	.erase_ahead = 1,
};

static struct lm_flash *F(void *ctx)
{
	return ctx;
}

void lm_flash_init(struct lm_flash *f, const struct lm_flash_params *p,
		   const struct ota_sink_ops *inner, void *inner_ctx)
{
	memset(f, 0, sizeof(*f));
	f->p = *p;
	f->inner = inner;
	f->inner_ctx = inner_ctx;
	f->top = -1;
}

double lm_flash_rate_Bps(const struct lm_flash_params *p, bool pre_erased)
{
	double prog = (double)p->sector / p->prog_unit * p->prog_unit_us;

	return (double)p->sector * 1e6 /
	       (prog + (pre_erased ? 0 : p->erase_us));
}

static bool is_erased(const struct lm_flash *f, uint32_t s)
{
	return s < LM_FLASH_MAX_SECTORS && (f->erased[s / 8] & (1u << (s % 8)));
}

static void erase(struct lm_flash *f, uint32_t s)
{
	if (s < LM_FLASH_MAX_SECTORS)
		f->erased[s / 8] |= (uint8_t)(1u << (s % 8));
	f->erase_total_us += f->p.erase_us;
	f->erases++;
}

static void erase_ahead(struct lm_flash *f)
{
	uint32_t last = f->image_size ? (f->image_size - 1) / f->p.sector : 0;
	uint64_t t =
		f->idle_from > f->busy_until ? f->idle_from : f->busy_until;
	uint32_t s;

	for (s = (uint32_t)(f->top + 1);
	     s <= last && s <= (uint32_t)(f->top + (int)f->p.erase_ahead) &&
	     t < f->now_us;
	     s++) {
		if (is_erased(f, s))
			continue;
		erase(f, s);
		f->erases_ahead++;
		t += f->p.erase_us;
	}
	if (t > f->busy_until)
		f->busy_until = t;
}

static enum ota_status fl_write(void *ctx, uint32_t off, const uint8_t *data,
				size_t len)
{
	struct lm_flash *f = F(ctx);
	uint64_t t;
	uint32_t s;

	erase_ahead(f);
	t = f->busy_until > f->now_us ? f->busy_until : f->now_us;
	for (s = off / f->p.sector; len && s <= (off + len - 1) / f->p.sector;
	     s++) {
		if (!is_erased(f, s)) {
			erase(f, s);
			t += f->p.erase_us;
		}
		if ((int)s > f->top)
			f->top = (int)s;
	}
	t += (len + f->p.prog_unit - 1) / f->p.prog_unit * f->p.prog_unit_us;
	f->prog_total_us +=
		(len + f->p.prog_unit - 1) / f->p.prog_unit * f->p.prog_unit_us;
	f->busy_until = t;
	f->idle_from = t;
	return f->inner->write(f->inner_ctx, off, data, len);
}

static enum ota_status fl_begin(void *ctx, const struct ota_manifest *m,
				uint8_t flags, uint32_t *detail)
{
	struct lm_flash *f = F(ctx);

	f->image_size = m->image_size;
	return f->inner->begin(f->inner_ctx, m, flags, detail);
}

static bool fl_block_verified(void *ctx, uint32_t b)
{
	return F(ctx)->inner->block_verified(F(ctx)->inner_ctx, b);
}

static enum ota_status fl_check_block(void *ctx, uint32_t b, uint32_t crc)
{
	struct lm_flash *f = F(ctx);
	enum ota_status st = f->inner->check_block(f->inner_ctx, b, crc);

	/* a failed block is rewritten: its sectors must be erased again */
	if (st == OTA_STATUS_HASH_MISMATCH) {
		uint32_t s = b * OTA_BLOCK_SIZE / f->p.sector;
		uint32_t e =
			(b * OTA_BLOCK_SIZE + OTA_BLOCK_SIZE - 1) / f->p.sector;

		for (; s <= e && s < LM_FLASH_MAX_SECTORS; s++)
			f->erased[s / 8] &= (uint8_t) ~(1u << (s % 8));
	}
	return st;
}

static enum ota_status fl_finish(void *ctx, uint32_t *detail)
{
	return F(ctx)->inner->finish(F(ctx)->inner_ctx, detail);
}

static enum ota_status fl_commit(void *ctx, uint32_t *detail)
{
	return F(ctx)->inner->commit(F(ctx)->inner_ctx, detail);
}

static enum ota_status fl_confirm(void *ctx, uint32_t *detail)
{
	return F(ctx)->inner->confirm(F(ctx)->inner_ctx, detail);
}

static enum ota_status fl_rollback(void *ctx, uint32_t *detail)
{
	return F(ctx)->inner->rollback(F(ctx)->inner_ctx, detail);
}

static void fl_abort(void *ctx, bool discard)
{
	F(ctx)->inner->abort(F(ctx)->inner_ctx, discard);
}

static void fl_get_info(void *ctx, struct ota_dev_info *info)
{
	F(ctx)->inner->get_info(F(ctx)->inner_ctx, info);
}

static void fl_get_status(void *ctx, struct ota_dev_status *st)
{
	F(ctx)->inner->get_status(F(ctx)->inner_ctx, st);
}

const struct ota_sink_ops lm_flash_ops = {
	.begin = fl_begin,
	.block_verified = fl_block_verified,
	.write = fl_write,
	.check_block = fl_check_block,
	.finish = fl_finish,
	.commit = fl_commit,
	.confirm = fl_confirm,
	.rollback = fl_rollback,
	.abort = fl_abort,
	.get_info = fl_get_info,
	.get_status = fl_get_status,
};
