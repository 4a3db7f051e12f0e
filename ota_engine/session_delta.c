/* SPDX-License-Identifier: MIT */
/*
 * Delta sessions (docs/ota-engine.md §15.5): the bytes the receiver writes
 * are a detools patch; the decoder (delta.c) reads the base from the
 * running slot and writes the new image into the update slot as the patch
 * streams in. No extra partition and no block buffer: the decoder's own
 * state (struct ota_delta, sharing RAM with the image verifier that only
 * runs at finish) is all the RAM a delta session adds.
 *
 *   order    patch bytes are decoded in order: a write must continue where
 *            the last one stopped (the receiver feeds only the next
 *            expected chunk), and block b + 1 starts only after block b's
 *            CRC-32, computed over the bytes as they are decoded, matched.
 *   output   comes out in order; an update-slot sector is erased when the
 *            output enters it at its first byte, never otherwise, so a
 *            sector that holds decoded bytes of verified patch blocks is
 *            never erased under them.
 *   verify   a block whose CRC matches is followed by a checkpoint of the
 *            decoder (journal.h's checkpoint log): the patch resumes at the
 *            next block with the decoder as it was.
 *   restart  (a failed block CRC, a BEGIN after a disconnect, a reboot)
 *            from the newest checkpoint N, unless bytes were written after
 *            N in N's output sector: they may come from patch bytes that
 *            never passed their CRC, and NOR cannot take other values over
 *            them. Then from the newest checkpoint A at or before that
 *            sector's start, and a copy of A is appended first, so a power
 *            cut while the sector is erased again restarts from A too.
 *   finish   ota_delta_finish() (nothing missing, nothing trailing), then
 *            the image is read back from flash once through the stream
 *            (stream.c) and verified exactly as a plain one.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>
#include <string.h>

#include "common/crc32.h"

#if OTA_ENGINE_DELTA

#define SECTOR OTA_FLASH_SECTOR_SIZE

/* out_write()'s own refusals, told apart in delta_failed() */
#define E_SIZE (-EDOM)  /* to-size is not the manifest's image size */
#define E_BASE (-EXDEV) /* the esp_delta_ota header names another base */

static int base_read(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	struct ota_engine *eng = user;

	return eng->cfg.flash->read(eng->cfg.flash_ctx,
				    eng->plan.base_off + off, buf, len)
		       ? -EIO
		       : 0;
}

static int out_write(void *user, uint32_t off, const uint8_t *buf, size_t len)
{
	struct ota_engine *eng = user;
	const uint8_t *esp;
	bool conflict;
	uint32_t n;

	if (off == 0) {
		/* the first output: the header has been read in full */
		if (ota_delta_to_size(&eng->delta) != eng->man.image_size)
			return E_SIZE;
		esp = ota_delta_esp_hash(&eng->delta);
		if (esp && (!eng->man.has_base_sha256 ||
			    memcmp(esp, eng->man.base_sha256, OTA_SHA256_LEN)))
			return E_BASE;
	}
	while (len) {
		uint32_t addr = eng->plan.slot_off + off;

		n = SECTOR - off % SECTOR;
		if (n > len)
			n = (uint32_t)len;
		if (off % SECTOR == 0 &&
		    eng->cfg.flash->erase(eng->cfg.flash_ctx, addr, SECTOR))
			return -EIO;
		if (eng_program_checked(eng, addr, buf, n, &conflict) ||
		    conflict)
			return -EIO;
		off += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static void delta_cfg(struct ota_engine *eng, struct ota_delta_cfg *c)
{
	memset(c, 0, sizeof(*c));
	c->read_base = base_read;
	c->write = out_write;
	c->user = eng;
	c->base_size = eng->plan.base_size;
	c->max_size = eng->plan.slot_size;
}

static uint32_t block_end(const struct ota_engine *eng, uint32_t b)
{
	uint32_t end = (b + 1) * OTA_ENGINE_BLOCK_SIZE;

	return end < eng->man.patch_size ? end : eng->man.patch_size;
}

/* Patch bytes in the verified blocks (always a prefix). */
static uint32_t verified_bytes(const struct ota_engine *eng)
{
	uint32_t b = 0;

	while (b < eng->nblocks && eng_bit(eng->verified, b))
		b++;
	return b ? block_end(eng, b - 1) : 0;
}

/* 1 if [@pos, end of its sector) of the update slot is erased. */
static int tail_blank(struct ota_engine *eng, uint32_t pos)
{
	uint8_t buf[64];
	uint32_t end = (pos / SECTOR + 1) * SECTOR, n, i;

	for (; pos < end; pos += n) {
		n = end - pos < sizeof(buf) ? end - pos : sizeof(buf);
		if (eng->cfg.flash->read(eng->cfg.flash_ctx,
					 eng->plan.slot_off + pos, buf, n))
			return -EIO;
		for (i = 0; i < n; i++)
			if (buf[i] != 0xff)
				return 0;
	}
	return 1;
}

/* The decoder from record @c; -EINVAL if it does not fit the session. */
static int load(struct ota_engine *eng, const struct ota_journal_ckpt *c)
{
	uint8_t fixed[OTA_DELTA_CKPT_FIXED];
	struct ota_delta_run run[2];
	struct ota_delta_cfg cfg;
	uint32_t off = OTA_DELTA_CKPT_FIXED;
	unsigned int k;

	delta_cfg(eng, &cfg);
	if (c->len < OTA_DELTA_CKPT_FIXED || !c->blocks ||
	    c->blocks > eng->nblocks)
		return -EINVAL;
	if (ota_journal_delta_read(&eng->jr, c, 0, fixed, sizeof(fixed)))
		return -EIO;
	if (ota_delta_restore_fixed(&eng->delta, &cfg, fixed, c->len, run))
		return -EINVAL;
	for (k = 0; k < 2; off += run[k].len, k++)
		if (run[k].len &&
		    ota_journal_delta_read(&eng->jr, c, off, run[k].ptr,
					   run[k].len))
			return -EIO;
	if (ota_delta_patch_pos(&eng->delta) != block_end(eng, c->blocks - 1) ||
	    ota_delta_to_pos(&eng->delta) != c->to_pos)
		return -EINVAL;
	return 0;
}

/*
 * Where decoding goes on: the newest checkpoint, or the one at or before
 * its output sector (see the file comment). *@c is zeroed for "from the
 * start". 0 or -EIO.
 */
static int pick(struct ota_engine *eng, struct ota_journal_ckpt *c)
{
	static const struct ota_journal_piece none[3];
	struct ota_journal_ckpt a;
	uint32_t s;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = ota_journal_delta_last(&eng->jr, UINT32_MAX, c);
	if (rc <= 0 || !c->len) {
		memset(c, 0, sizeof(*c));
		return rc < 0 ? -EIO : 0;
	}
	if (c->to_pos % SECTOR == 0 || c->to_pos == eng->man.image_size)
		return 0;
	rc = tail_blank(eng, c->to_pos);
	if (rc)
		return rc < 0 ? -EIO : 0;
	s = c->to_pos - c->to_pos % SECTOR;
	rc = ota_journal_delta_last(&eng->jr, s, &a);
	if (rc < 0)
		return -EIO;
	memset(c, 0, sizeof(*c));
	/* durable first: the restart point is the newest record */
	if (!rc)
		return ota_journal_delta_append(&eng->jr, c, none, 0) ? -EIO
								      : 0;
	*c = a;
	return ota_journal_delta_copy(&eng->jr, &a,
				      a.to_pos - a.to_pos % SECTOR)
		       ? -EIO
		       : 0;
}

/* Restart decoding from the journal (or from the start without one). */
static int delta_restart(struct ota_engine *eng)
{
	struct ota_journal_ckpt c;
	struct ota_delta_cfg cfg;
	uint32_t b;
	int rc;

	eng->delta_live = false;
	rc = pick(eng, &c);
	if (rc)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(JOURNAL_IO));
	if (c.len) {
		rc = load(eng, &c);
		if (rc == -EIO)
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(JOURNAL_IO));
		if (rc)
			memset(&c, 0, sizeof(c)); /* unusable: start over */
	}
	if (!c.len) {
		delta_cfg(eng, &cfg);
		ota_delta_init(&eng->delta, &cfg);
	}
	memset(eng->verified, 0, sizeof(eng->verified));
	for (b = 0; b < c.blocks; b++)
		eng_set_bit(eng->verified, b, true);
	eng->delta_fed = c.blocks ? block_end(eng, c.blocks - 1) : 0;
	eng->delta_crc = 0;
	eng->delta_live = true;
	eng_log(eng, OTA_ENGINE_LOG_INFO, M_(DELTA_RESUME), eng->delta_fed,
		c.to_pos);
	return 0;
}

int eng_delta_begin(struct ota_engine *eng, bool resume)
{
	struct ota_journal_delta s;
	struct ota_delta_cfg cfg;
	int rc;

	eng->stream_on = false; /* iv is the decoder's until finish */
	memset(&s, 0, sizeof(s));
	s.slot = (uint8_t)eng->plan.slot;
	s.image_size = eng->man.image_size;
	s.patch_size = eng->man.patch_size;
	memcpy(s.sha256, eng->man.sha256, OTA_SHA256_LEN);
	if (resume) {
		rc = ota_journal_delta_find(&eng->jr, &s);
		if (rc < 0)
			return -EIO;
		if (rc)
			return delta_restart(eng) ? -EIO : 0;
	}
	rc = ota_journal_delta_open(&eng->jr, &s);
	if (rc && rc != -ENOSPC)
		return -EIO; /* -ENOSPC: no room, a RAM-only session */
	delta_cfg(eng, &cfg);
	ota_delta_init(&eng->delta, &cfg);
	eng->delta_fed = 0;
	eng->delta_crc = 0;
	eng->delta_live = true;
	return 0;
}

int eng_delta_rebegin(struct ota_engine *eng)
{
	/* still at a verified block's end: nothing to take back */
	if (eng->delta_live && eng->delta_fed == verified_bytes(eng))
		return 0;
	return delta_restart(eng);
}

/* A decoder error as the engine's failure. */
static int delta_failed(struct ota_engine *eng)
{
	const struct ota_delta *d = &eng->delta;
	enum ota_delta_err err = d->err;
	uint32_t at = ota_delta_patch_pos(d), to = ota_delta_to_size(d);
	int rc;

	eng->delta_live = false;
	if (err == OTA_DELTA_ERR_IO && d->rc != E_SIZE && d->rc != E_BASE)
		/* flash: the session stays, decoding restarts at a write */
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(WRITE_IO),
				ota_delta_to_pos(d));
	eng_end_session(eng);
	if (err == OTA_DELTA_ERR_IO && d->rc == E_SIZE)
		return eng_fail(eng, R_(MANIFEST_MISMATCH), -ENOEXEC,
				M_(PATCH_SIZE), to, eng->man.image_size);
	if (err == OTA_DELTA_ERR_IO)
		return eng_fail(eng, R_(WRONG_BASE), -EXDEV, M_(BASE_DIFFERS),
				1);
	if (err == OTA_DELTA_ERR_TOO_BIG)
		return eng_fail_with(
			eng, R_(TOO_LARGE), -ENOSPC, M_(TOO_LARGE),
			.n = { to, eng->plan.slot, eng->plan.slot_size, 0 });
	rc = eng_fail(eng, R_(BAD_PATCH), -EBADMSG, M_(BAD_PATCH), err, at);
	return rc;
}

int eng_delta_write(struct ota_engine *eng, uint32_t offset,
		    const uint8_t *data, size_t len)
{
	size_t used;
	uint32_t n, fed;

	if (!eng->delta_live && delta_restart(eng))
		return -EIO;
	fed = eng->delta_fed;
	if (offset < fed) {
		/* already decoded: a resent chunk overlapping the last one */
		n = fed - offset < len ? fed - offset : (uint32_t)len;
		offset += n;
		data += n;
		len -= n;
	}
	if (len && (offset != fed ||
		    (fed % OTA_ENGINE_BLOCK_SIZE == 0 && fed &&
		     !eng_bit(eng->verified, fed / OTA_ENGINE_BLOCK_SIZE - 1))))
		return eng_fail(eng, R_(OUT_OF_RANGE), -EINVAL, M_(PATCH_ORDER),
				offset, fed);
	while (len) {
		n = block_end(eng, eng->delta_fed / OTA_ENGINE_BLOCK_SIZE) -
		    eng->delta_fed;
		if (n > len)
			n = (uint32_t)len;
		if (!n)
			return eng_fail(eng, R_(OUT_OF_RANGE), -EINVAL,
					M_(PATCH_ORDER), offset,
					eng->delta_fed);
		eng->delta_crc = ota_crc32(eng->delta_crc, data, n);
		if (ota_delta_feed(&eng->delta, data, n, &used))
			return delta_failed(eng);
		eng->delta_fed += n;
		data += n;
		len -= n;
	}
	eng_ok(eng);
	return 0;
}

/* Append the checkpoint after block @b. 0 or -EIO. */
static int checkpoint(struct ota_engine *eng, uint32_t b)
{
	uint8_t fixed[OTA_DELTA_CKPT_FIXED];
	struct ota_delta_run run[2];
	struct ota_journal_piece p[3];
	struct ota_journal_ckpt c;
	uint32_t to = ota_delta_to_pos(&eng->delta);

	if (!eng->jr.delta_open)
		return 0;
	if (ota_delta_checkpoint_parts(&eng->delta, fixed, run))
		return -EIO;
	p[0].p = fixed;
	p[0].len = sizeof(fixed);
	p[1].p = run[0].ptr;
	p[1].len = run[0].len;
	p[2].p = run[1].ptr;
	p[2].len = run[1].len;
	memset(&c, 0, sizeof(c));
	c.blocks = b + 1;
	c.to_pos = to;
	c.len = p[0].len + p[1].len + p[2].len;
	return ota_journal_delta_append(&eng->jr, &c, p, to - to % SECTOR);
}

int eng_delta_verify(struct ota_engine *eng, uint32_t block, uint32_t crc32)
{
	uint32_t got = eng->delta_crc;

	if (eng_bit(eng->verified, block)) {
		eng_ok(eng);
		return 0;
	}
	if (eng->delta_live && eng->delta_fed == block_end(eng, block) &&
	    block * OTA_ENGINE_BLOCK_SIZE == verified_bytes(eng) &&
	    got == crc32) {
		if (checkpoint(eng, block))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(JOURNAL_IO));
		eng_set_bit(eng->verified, block, true);
		eng->delta_crc = 0;
		eng_ok(eng);
		return 0;
	}
	/* decoded bytes that did not check out: take decoding back */
	if (delta_restart(eng))
		return -EIO;
	return eng_fail(eng, R_(BLOCK_CRC), -EILSEQ, M_(BLOCK_CRC), block, got,
			crc32);
}

int eng_delta_finish(struct ota_engine *eng)
{
	uint32_t b, n;

	if (!eng->delta_live && delta_restart(eng))
		return -EIO;
	if (ota_delta_finish(&eng->delta))
		return delta_failed(eng);
	if (ota_delta_to_size(&eng->delta) != eng->man.image_size) {
		eng->delta_live = false;
		eng_end_session(eng);
		return eng_fail(eng, R_(MANIFEST_MISMATCH), -ENOEXEC,
				M_(PATCH_SIZE), ota_delta_to_size(&eng->delta),
				eng->man.image_size);
	}
	/* the decoder is done: its RAM becomes the stream's */
	eng->delta_live = false;
	eng_stream_reset(eng);
	n = (eng->man.image_size + OTA_ENGINE_BLOCK_SIZE - 1) /
	    OTA_ENGINE_BLOCK_SIZE;
	for (b = 0; b < n; b++)
		if (eng_read_block(eng, b, false, true, NULL))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(IMAGE_READ));
	return 0;
}

#else /* !OTA_ENGINE_DELTA */

int eng_delta_begin(struct ota_engine *eng, bool resume)
{
	(void)resume;
	return eng_fail(eng, R_(BAD_MANIFEST), -ENOTSUP, M_(NO_DELTA));
}

int eng_delta_rebegin(struct ota_engine *eng)
{
	return eng_delta_begin(eng, true);
}

int eng_delta_write(struct ota_engine *eng, uint32_t offset,
		    const uint8_t *data, size_t len)
{
	(void)offset;
	(void)data;
	(void)len;
	return eng_delta_begin(eng, true);
}

int eng_delta_verify(struct ota_engine *eng, uint32_t block, uint32_t crc32)
{
	(void)block;
	(void)crc32;
	return eng_delta_begin(eng, true);
}

int eng_delta_finish(struct ota_engine *eng)
{
	return eng_delta_begin(eng, true);
}

#endif /* OTA_ENGINE_DELTA */
