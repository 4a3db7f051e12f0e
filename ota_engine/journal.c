/* SPDX-License-Identifier: MIT */
/*
 * Journal partition: record log + resume journal.
 *
 *   +0x0000  log sector A  | header (64) | 63 records of 64 bytes |
 *   +0x1000  log sector B  | header (64) | 63 records of 64 bytes |
 *   +0x2000  resume area   | header (64) | u32 per 4 KiB block ... |
 *
 * Log. The sector whose header is valid (magic, CRC) with the higher
 * generation is active; records are appended into erased slots and carry
 * their own CRC, which excludes the "done" byte so that byte can be
 * programmed later (0xFF -> 0x00). When the active sector is full, the
 * records worth keeping are copied into the other sector (erased first) and
 * its header, gen + 1, is written last: until the header lands the old
 * sector stays active, after it the new one is. Nothing is ever rewritten.
 *
 * Resume journal. One session at a time: starting one erases the area and
 * writes a header (image size, block count, SHA-256, target slot, CRC).
 * Verifying block b programs its CRC-32 into record b (0xFFFFFFFF = not
 * verified); a record found stale on resume is programmed to 0 (revoked).
 * Closing programs a closed word outside the header CRC. A torn header fails
 * its CRC and the area counts as empty; a torn 4-byte record either still
 * reads 0xFFFFFFFF-ish garbage that fails the block CRC re-check on resume,
 * or is complete.
 */
#include "ota_engine/journal.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/crc32.h"

#define LOG_MAGIC    0x474F4C42u /* "BLOG" */
#define RESUME_MAGIC 0x4D535242u /* "BRSM" */

static bool all_ff(const uint8_t *p, size_t n)
{
	while (n--)
		if (*p++ != 0xff)
			return false;
	return true;
}

/* The engine only runs on byte-programmable flash (write_align 1). */
static int program(struct ota_journal *j, uint32_t off, const void *src,
		   size_t len)
{
	return j->ops->write(j->ctx, off, src, len);
}

static uint32_t log_off(const struct ota_journal *j, int sector)
{
	return j->off + (uint32_t)sector * OTA_FLASH_SECTOR_SIZE;
}

static uint32_t rec_off(const struct ota_journal *j, int sector, uint32_t i)
{
	return log_off(j, sector) + OTA_JOURNAL_LOG_HDR_LEN +
	       i * OTA_JOURNAL_REC_LEN;
}

static uint32_t resume_off(const struct ota_journal *j)
{
	return j->off + 2 * OTA_FLASH_SECTOR_SIZE;
}

static uint32_t rec_crc(const uint8_t *raw)
{
	uint8_t tmp[OTA_JOURNAL_REC_LEN - 4];

	memcpy(tmp, raw, sizeof(tmp));
	tmp[3] = 0xff; /* the done byte is programmed after the CRC */
	return ota_crc32(0, tmp, sizeof(tmp));
}

static bool rec_decode(const uint8_t *raw, struct ota_journal_rec *r)
{
	if (ota_get_le32(raw + 60) != rec_crc(raw))
		return false;
	if (raw[0] != OTA_JOURNAL_REC_INTENT &&
	    raw[0] != OTA_JOURNAL_REC_COMMIT &&
	    raw[0] != OTA_JOURNAL_REC_FAILED && raw[0] != OTA_JOURNAL_REC_EFUSE)
		return false;
	r->type = (enum ota_journal_rec_type)raw[0];
	r->a = raw[1];
	r->b = raw[2];
	r->done = raw[3] != 0xff;
	r->val = ota_get_le32(raw + 4);
	memcpy(r->payload, raw + 8, 32);
	return true;
}

/* Reads a log sector header: 0 with *gen if valid, -EILSEQ if not. */
static int read_log_hdr(struct ota_journal *j, int sector, uint32_t *gen)
{
	uint8_t h[OTA_JOURNAL_LOG_HDR_LEN];
	int err = j->ops->read(j->ctx, log_off(j, sector), h, sizeof(h));

	if (err)
		return err;
	if (ota_get_le32(h) != LOG_MAGIC ||
	    ota_get_le32(h + 60) != ota_crc32(0, h, 60))
		return -EILSEQ;
	*gen = ota_get_le32(h + 4);
	return 0;
}

static int write_log_hdr(struct ota_journal *j, int sector, uint32_t gen)
{
	uint8_t h[OTA_JOURNAL_LOG_HDR_LEN];

	memset(h, 0xff, sizeof(h));
	ota_put_le32(h, LOG_MAGIC);
	ota_put_le32(h + 4, gen);
	ota_put_le32(h + 60, ota_crc32(0, h, 60));
	return program(j, log_off(j, sector), h, sizeof(h));
}

static int scan_next_free(struct ota_journal *j)
{
	uint8_t raw[OTA_JOURNAL_REC_LEN];
	uint32_t i;
	int err;

	j->log_next = 0;
	for (i = 0; i < OTA_JOURNAL_LOG_RECS; i++) {
		err = j->ops->read(j->ctx, rec_off(j, j->log_sector, i), raw,
				   sizeof(raw));
		if (err)
			return err;
		if (!all_ff(raw, sizeof(raw)))
			j->log_next = i + 1;
	}
	return 0;
}

static int resume_load(struct ota_journal *j)
{
	uint8_t h[OTA_JOURNAL_RESUME_HDR_LEN];
	int err;

	j->resume_open = false;
	err = j->ops->read(j->ctx, resume_off(j), h, sizeof(h));
	if (err)
		return err;
	if (ota_get_le32(h) != RESUME_MAGIC ||
	    ota_get_le32(h + 48) != ota_crc32(0, h, 48) ||
	    ota_get_le32(h + 52) != 0xffffffffu)
		return 0;
	j->sess.slot = h[4];
	j->sess.image_size = ota_get_le32(h + 8);
	j->sess.nblocks = ota_get_le32(h + 12);
	memcpy(j->sess.sha256, h + 16, OTA_SHA256_LEN);
	if (j->sess.nblocks > ota_journal_resume_capacity(j))
		return 0;
	j->resume_open = true;
	return 0;
}

int ota_journal_init(struct ota_journal *j, const struct ota_flash_ops *ops,
		     void *ctx, uint32_t off, uint32_t size)
{
	uint32_t gen[2];
	bool ok[2];
	int i, err;

	memset(j, 0, sizeof(*j));
	j->ops = ops;
	j->ctx = ctx;
	j->log_sector = -1;
	if (size < OTA_JOURNAL_MIN_SIZE || off % OTA_FLASH_SECTOR_SIZE)
		return 0;
	j->off = off;
	j->size = size - size % OTA_FLASH_SECTOR_SIZE;
	j->present = true;
	for (i = 0; i < 2; i++) {
		err = read_log_hdr(j, i, &gen[i]);
		if (err == -EIO)
			return err;
		ok[i] = !err;
	}
	if (ok[0] && ok[1])
		j->log_sector = gen[1] > gen[0] ? 1 : 0;
	else if (ok[0] || ok[1])
		j->log_sector = ok[0] ? 0 : 1;
	if (j->log_sector >= 0) {
		j->log_gen = gen[j->log_sector];
		err = scan_next_free(j);
		if (err)
			return err;
	}
	return resume_load(j);
}

/* Copies the records worth keeping into the other sector, header last. */
static int compact(struct ota_journal *j)
{
	uint8_t raw[OTA_JOURNAL_REC_LEN];
	int dst = j->log_sector < 0 ? 0 : 1 - j->log_sector;
	uint32_t keep[OTA_JOURNAL_LOG_RECS], nkeep = 0, i, k, n = 0;
	uint16_t commit_seen = 0;
	bool failed_seen = false;
	uint32_t efuse_val = 0;
	int err, efuse_at = -1;

	/*
	 * Newest first: the latest COMMIT per slot, the latest FAILED and the
	 * highest EFUSE (the counter only goes up, so it is the newest one
	 * too, but a maximum is what must survive).
	 */
	for (i = j->log_sector < 0 ? 0 : j->log_next; i-- > 0;) {
		struct ota_journal_rec r;

		err = j->ops->read(j->ctx, rec_off(j, j->log_sector, i), raw,
				   sizeof(raw));
		if (err)
			return err;
		if (!rec_decode(raw, &r))
			continue;
		if (r.type == OTA_JOURNAL_REC_COMMIT && r.a < 16 &&
		    !(commit_seen & (1u << r.a))) {
			commit_seen |= (uint16_t)(1u << r.a);
			keep[nkeep++] = i;
		} else if (r.type == OTA_JOURNAL_REC_FAILED && !failed_seen) {
			failed_seen = true;
			keep[nkeep++] = i;
		} else if (r.type == OTA_JOURNAL_REC_EFUSE &&
			   (efuse_at < 0 || r.val > efuse_val)) {
			efuse_at = (int)i;
			efuse_val = r.val;
		}
	}
	if (efuse_at >= 0) {
		/* keep[] stays newest first: slot it in by index */
		for (k = nkeep; k > 0 && keep[k - 1] < (uint32_t)efuse_at; k--)
			keep[k] = keep[k - 1];
		keep[k] = (uint32_t)efuse_at;
		nkeep++;
	}
	err = j->ops->erase(j->ctx, log_off(j, dst), OTA_FLASH_SECTOR_SIZE);
	if (err)
		return err;
	for (k = nkeep; k-- > 0;) {
		err = j->ops->read(j->ctx, rec_off(j, j->log_sector, keep[k]),
				   raw, sizeof(raw));
		if (!err)
			err = program(j, rec_off(j, dst, n), raw, sizeof(raw));
		if (err)
			return err;
		n++;
	}
	err = write_log_hdr(j, dst, j->log_gen + 1);
	if (err)
		return err;
	j->log_sector = dst;
	j->log_gen++;
	j->log_next = n;
	return 0;
}

int ota_journal_append(struct ota_journal *j, enum ota_journal_rec_type type,
		       uint8_t a, uint8_t b, uint32_t val,
		       const uint8_t payload[32], struct ota_journal_rec *out)
{
	uint8_t raw[OTA_JOURNAL_REC_LEN];
	int err;

	if (!j->present)
		return 0;
	if (j->log_sector < 0 || j->log_next >= OTA_JOURNAL_LOG_RECS) {
		err = compact(j);
		if (err)
			return err;
	}
	memset(raw, 0xff, sizeof(raw));
	raw[0] = (uint8_t)type;
	raw[1] = a;
	raw[2] = b;
	ota_put_le32(raw + 4, val);
	memcpy(raw + 8, payload, 32);
	ota_put_le32(raw + 60, rec_crc(raw));
	/* the slot is used from now on, even if the write is torn */
	err = program(j, rec_off(j, j->log_sector, j->log_next), raw,
		      sizeof(raw));
	if (out) {
		rec_decode(raw, out);
		out->index = j->log_next;
	}
	j->log_next++;
	return err;
}

int ota_journal_mark_done(struct ota_journal *j, uint32_t index)
{
	const uint8_t zero = 0;

	if (!j->present || j->log_sector < 0)
		return 0;
	return program(j, rec_off(j, j->log_sector, index) + 3, &zero, 1);
}

int ota_journal_find_last(struct ota_journal *j, enum ota_journal_rec_type type,
			  int slot, struct ota_journal_rec *out)
{
	uint8_t raw[OTA_JOURNAL_REC_LEN];
	uint32_t i;
	int err;

	if (!j->present || j->log_sector < 0)
		return 0;
	for (i = j->log_next; i-- > 0;) {
		err = j->ops->read(j->ctx, rec_off(j, j->log_sector, i), raw,
				   sizeof(raw));
		if (err)
			return err;
		if (!rec_decode(raw, out) || out->type != type)
			continue;
		if (slot >= 0 && out->a != (uint8_t)slot)
			continue;
		out->index = i;
		return 1;
	}
	return 0;
}

uint32_t ota_journal_resume_capacity(const struct ota_journal *j)
{
	if (!j->present)
		return 0;
	return (j->size - 2 * OTA_FLASH_SECTOR_SIZE -
		OTA_JOURNAL_RESUME_HDR_LEN) /
	       4;
}

int ota_journal_resume_open(struct ota_journal *j,
			    const struct ota_journal_session *s)
{
	uint8_t h[OTA_JOURNAL_RESUME_HDR_LEN];
	int err;

	if (!j->present)
		return 0;
	if (s->nblocks > ota_journal_resume_capacity(j))
		return -ENOSPC;
	j->resume_open = false;
	err = j->ops->erase(j->ctx, resume_off(j),
			    j->size - 2 * OTA_FLASH_SECTOR_SIZE);
	if (err)
		return err;
	memset(h, 0xff, sizeof(h));
	ota_put_le32(h, RESUME_MAGIC);
	h[4] = s->slot;
	h[5] = 1;
	ota_put_le32(h + 8, s->image_size);
	ota_put_le32(h + 12, s->nblocks);
	memcpy(h + 16, s->sha256, OTA_SHA256_LEN);
	ota_put_le32(h + 48, ota_crc32(0, h, 48));
	err = program(j, resume_off(j), h, sizeof(h));
	if (err)
		return err;
	j->sess = *s;
	j->resume_open = true;
	return 0;
}

static uint32_t block_rec_off(const struct ota_journal *j, uint32_t b)
{
	return resume_off(j) + OTA_JOURNAL_RESUME_HDR_LEN + 4 * b;
}

int ota_journal_resume_get(struct ota_journal *j, uint32_t b, uint32_t *crc)
{
	uint8_t raw[4];
	int err;

	*crc = OTA_JOURNAL_BLOCK_NONE;
	if (!j->resume_open || b >= j->sess.nblocks)
		return 0;
	err = j->ops->read(j->ctx, block_rec_off(j, b), raw, sizeof(raw));
	if (err)
		return err;
	*crc = ota_get_le32(raw);
	return 0;
}

int ota_journal_resume_set(struct ota_journal *j, uint32_t b, uint32_t crc)
{
	uint8_t raw[4];

	if (!j->resume_open || b >= j->sess.nblocks)
		return 0;
	/* these two values are the record's own markers: keep it RAM-only */
	if (crc == OTA_JOURNAL_BLOCK_NONE || crc == OTA_JOURNAL_BLOCK_REVOKED)
		return 0;
	/* a revoked (or torn) record cannot be reprogrammed: RAM-only then */
	if (j->ops->read(j->ctx, block_rec_off(j, b), raw, sizeof(raw)))
		return -EIO;
	if (ota_get_le32(raw) != OTA_JOURNAL_BLOCK_NONE)
		return 0;
	ota_put_le32(raw, crc);
	return program(j, block_rec_off(j, b), raw, sizeof(raw));
}

int ota_journal_resume_revoke(struct ota_journal *j, uint32_t b)
{
	const uint8_t zero[4] = { 0 };

	if (!j->resume_open || b >= j->sess.nblocks)
		return 0;
	return program(j, block_rec_off(j, b), zero, sizeof(zero));
}

int ota_journal_resume_close(struct ota_journal *j)
{
	const uint8_t zero[4] = { 0 };

	if (!j->resume_open)
		return 0;
	j->resume_open = false;
	return program(j, resume_off(j) + 52, zero, sizeof(zero));
}
