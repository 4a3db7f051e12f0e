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
	j->delta_open = false;
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

static int delta_close(struct ota_journal *j);

int ota_journal_resume_close(struct ota_journal *j)
{
	const uint8_t zero[4] = { 0 };

	if (j->delta_open)
		return delta_close(j);
	if (!j->resume_open)
		return 0;
	j->resume_open = false;
	return program(j, resume_off(j) + 52, zero, sizeof(zero));
}

/* ---- the delta checkpoint log ------------------------------------------- */

#define CKPT_MAGIC 0x4B434442u /* "BDCK" */
#define ALIGN4(x)  (((x) + 3u) & ~3u)

static uint32_t ck_off(const struct ota_journal *j, unsigned int sector)
{
	return resume_off(j) + sector * OTA_FLASH_SECTOR_SIZE;
}

static uint32_t rec_size(uint32_t len)
{
	return OTA_JOURNAL_CKPT_REC_HDR + ALIGN4(len);
}

bool ota_journal_delta_capable(const struct ota_journal *j)
{
	return j->present && j->size >= 4 * OTA_FLASH_SECTOR_SIZE;
}

static void ck_hdr(uint8_t h[OTA_JOURNAL_CKPT_HDR_LEN],
		   const struct ota_journal_delta *s, uint32_t gen)
{
	memset(h, 0xff, OTA_JOURNAL_CKPT_HDR_LEN);
	ota_put_le32(h, CKPT_MAGIC);
	ota_put_le32(h + 4, gen);
	h[8] = s->slot;
	ota_put_le32(h + 12, s->image_size);
	ota_put_le32(h + 16, s->patch_size);
	memcpy(h + 20, s->sha256, OTA_SHA256_LEN);
	ota_put_le32(h + 52, ota_crc32(0, h, 52));
}

/* 0 with *gen if sector @k holds an open log of @s (or of any session
 * when @s is NULL), -ENOENT if not, -EIO. */
static int ck_hdr_read(struct ota_journal *j, unsigned int k,
		       const struct ota_journal_delta *s, uint32_t *gen)
{
	uint8_t h[OTA_JOURNAL_CKPT_HDR_LEN], want[OTA_JOURNAL_CKPT_HDR_LEN];

	if (j->ops->read(j->ctx, ck_off(j, k), h, sizeof(h)))
		return -EIO;
	if (ota_get_le32(h) != CKPT_MAGIC ||
	    ota_get_le32(h + 52) != ota_crc32(0, h, 52) ||
	    ota_get_le32(h + 56) != 0xffffffffu)
		return -ENOENT;
	*gen = ota_get_le32(h + 4);
	if (!s)
		return 0;
	ck_hdr(want, s, *gen);
	return memcmp(h, want, 56) ? -ENOENT : 0;
}

int ota_journal_delta_open(struct ota_journal *j,
			   const struct ota_journal_delta *s)
{
	uint8_t h[OTA_JOURNAL_CKPT_HDR_LEN];

	j->delta_open = false;
	if (!ota_journal_delta_capable(j))
		return -ENOSPC;
	j->resume_open = false;
	if (j->ops->erase(j->ctx, ck_off(j, 0), 2 * OTA_FLASH_SECTOR_SIZE))
		return -EIO;
	ck_hdr(h, s, 1);
	if (program(j, ck_off(j, 0), h, sizeof(h)))
		return -EIO;
	j->delta_open = true;
	j->ck_sector = 0;
	j->ck_gen = 1;
	j->ck_next = OTA_JOURNAL_CKPT_HDR_LEN;
	return 0;
}

typedef int (*ck_each_fn)(void *ctx, const struct ota_journal_ckpt *c);

/*
 * Walk the records of sector @k in order: @fn gets each one whose CRC
 * holds. *@next: where the next record would go (the sector's end if a
 * torn length makes the rest unreadable). 0, what @fn returned, -EIO.
 */
static int ck_walk(struct ota_journal *j, unsigned int k, ck_each_fn fn,
		   void *ctx, uint32_t *next)
{
	uint8_t h[OTA_JOURNAL_CKPT_REC_HDR], buf[64];
	uint32_t off = OTA_JOURNAL_CKPT_HDR_LEN, crc, i, n;
	struct ota_journal_ckpt c;
	int rc;

	while (off + OTA_JOURNAL_CKPT_REC_HDR <= OTA_FLASH_SECTOR_SIZE) {
		if (j->ops->read(j->ctx, ck_off(j, k) + off, h, sizeof(h)))
			return -EIO;
		c.len = ota_get_le32(h);
		if (c.len == 0xffffffffu)
			break;
		if (c.len > OTA_JOURNAL_CKPT_MAX_LEN ||
		    off + rec_size(c.len) > OTA_FLASH_SECTOR_SIZE) {
			off = OTA_FLASH_SECTOR_SIZE; /* torn length: full */
			break;
		}
		c.blocks = ota_get_le32(h + 4);
		c.to_pos = ota_get_le32(h + 8);
		c.at = ck_off(j, k) + off;
		crc = ota_crc32(0, h, 12);
		for (i = 0; i < c.len; i += n) {
			n = c.len - i < sizeof(buf) ? c.len - i : sizeof(buf);
			if (j->ops->read(j->ctx, c.at + 16 + i, buf, n))
				return -EIO;
			crc = ota_crc32(crc, buf, n);
		}
		if (crc == ota_get_le32(h + 12) && fn) {
			rc = fn(ctx, &c);
			if (rc)
				return rc;
		}
		off += rec_size(c.len);
	}
	if (next)
		*next = off;
	return 0;
}

int ota_journal_delta_find(struct ota_journal *j,
			   const struct ota_journal_delta *s)
{
	uint32_t gen[2] = { 0, 0 };
	bool ok[2];
	unsigned int k;
	int rc;

	j->delta_open = false;
	if (!ota_journal_delta_capable(j))
		return 0;
	for (k = 0; k < 2; k++) {
		rc = ck_hdr_read(j, k, s, &gen[k]);
		if (rc == -EIO)
			return rc;
		ok[k] = !rc;
	}
	if (!ok[0] && !ok[1])
		return 0;
	k = ok[0] && ok[1] ? (gen[1] > gen[0] ? 1 : 0) : (ok[0] ? 0 : 1);
	j->ck_sector = (uint8_t)k;
	j->ck_gen = gen[k];
	if (ck_walk(j, k, NULL, NULL, &j->ck_next))
		return -EIO;
	j->delta_open = true;
	j->resume_open = false;
	return 1;
}

struct ck_find {
	uint32_t max_to_pos;
	bool found;
	struct ota_journal_ckpt c;
};

static int ck_keep(void *ctx, const struct ota_journal_ckpt *c)
{
	struct ck_find *f = ctx;

	if (c->to_pos <= f->max_to_pos) {
		f->c = *c;
		f->found = true;
	}
	return 0;
}

int ota_journal_delta_last(struct ota_journal *j, uint32_t max_to_pos,
			   struct ota_journal_ckpt *out)
{
	struct ck_find f = { .max_to_pos = max_to_pos };
	unsigned int other = 1u - j->ck_sector;
	uint32_t gen;
	int rc;

	if (!j->delta_open)
		return 0;
	if (ck_walk(j, j->ck_sector, ck_keep, &f, NULL))
		return -EIO;
	if (!f.found) {
		/* the older sector, if it still belongs to this log */
		rc = ck_hdr_read(j, other, NULL, &gen);
		if (rc == -EIO)
			return rc;
		if (!rc && gen + 1 == j->ck_gen &&
		    ck_walk(j, other, ck_keep, &f, NULL))
			return -EIO;
	}
	if (f.found)
		*out = f.c;
	return f.found ? 1 : 0;
}

/* Start the other sector: erase, header (generation + 1). */
static int ck_switch(struct ota_journal *j)
{
	uint8_t h[OTA_JOURNAL_CKPT_HDR_LEN];
	unsigned int k = 1u - j->ck_sector;

	/* the header of the full sector names the session */
	if (j->ops->read(j->ctx, ck_off(j, j->ck_sector), h, sizeof(h)))
		return -EIO;
	if (j->ops->erase(j->ctx, ck_off(j, k), OTA_FLASH_SECTOR_SIZE))
		return -EIO;
	ota_put_le32(h + 4, j->ck_gen + 1);
	ota_put_le32(h + 52, ota_crc32(0, h, 52));
	if (program(j, ck_off(j, k), h, sizeof(h)))
		return -EIO;
	j->ck_sector = (uint8_t)k;
	j->ck_gen++;
	j->ck_next = OTA_JOURNAL_CKPT_HDR_LEN;
	return 0;
}

/* Copy the found record @src to the end of the active sector. */
static int ck_put_copy(struct ota_journal *j,
		       const struct ota_journal_ckpt *src)
{
	uint8_t buf[64];
	uint32_t i, n, total = rec_size(src->len);
	uint32_t dst = ck_off(j, j->ck_sector) + j->ck_next;

	for (i = 0; i < total; i += n) {
		n = total - i < sizeof(buf) ? total - i : sizeof(buf);
		if (j->ops->read(j->ctx, src->at + i, buf, n) ||
		    program(j, dst + i, buf, n))
			return -EIO;
	}
	j->ck_next += total;
	return 0;
}

/*
 * Room for @len checkpoint bytes. A full sector: switch, carrying the
 * newest of its records with to_pos <= @carry_max (if any) over.
 */
static int ck_room(struct ota_journal *j, uint32_t len, uint32_t carry_max)
{
	struct ck_find f = { .max_to_pos = carry_max };

	if (j->ck_next + rec_size(len) <= OTA_FLASH_SECTOR_SIZE)
		return 0;
	if (ck_walk(j, j->ck_sector, ck_keep, &f, NULL) || ck_switch(j))
		return -EIO;
	return f.found ? ck_put_copy(j, &f.c) : 0;
}

int ota_journal_delta_append(struct ota_journal *j,
			     const struct ota_journal_ckpt *c,
			     const struct ota_journal_piece pieces[3],
			     uint32_t carry_max)
{
	static const uint8_t pad[4] = { 0, 0, 0, 0 };
	uint8_t h[OTA_JOURNAL_CKPT_REC_HDR];
	uint32_t crc, at, total = 0;
	unsigned int k;

	if (!j->delta_open)
		return 0;
	for (k = 0; k < 3; k++)
		total += pieces[k].len;
	if (total != c->len || c->len > OTA_JOURNAL_CKPT_MAX_LEN)
		return -EINVAL;
	if (ck_room(j, c->len, carry_max))
		return -EIO;
	ota_put_le32(h, c->len);
	ota_put_le32(h + 4, c->blocks);
	ota_put_le32(h + 8, c->to_pos);
	crc = ota_crc32(0, h, 12);
	for (k = 0; k < 3; k++)
		crc = ota_crc32(crc, pieces[k].p, pieces[k].len);
	ota_put_le32(h + 12, crc);
	at = ck_off(j, j->ck_sector) + j->ck_next;
	if (program(j, at, h, sizeof(h)))
		return -EIO;
	at += sizeof(h);
	for (k = 0; k < 3; at += pieces[k].len, k++)
		if (pieces[k].len && program(j, at, pieces[k].p, pieces[k].len))
			return -EIO;
	if (ALIGN4(c->len) != c->len &&
	    program(j, at, pad, ALIGN4(c->len) - c->len))
		return -EIO;
	j->ck_next += rec_size(c->len);
	return 0;
}

int ota_journal_delta_copy(struct ota_journal *j,
			   const struct ota_journal_ckpt *src,
			   uint32_t carry_max)
{
	if (!j->delta_open)
		return 0;
	if (ck_room(j, src->len, carry_max))
		return -EIO;
	return ck_put_copy(j, src);
}

int ota_journal_delta_read(struct ota_journal *j,
			   const struct ota_journal_ckpt *c, uint32_t off,
			   void *buf, uint32_t len)
{
	if (off > c->len || len > c->len - off)
		return -EINVAL;
	return j->ops->read(j->ctx, c->at + OTA_JOURNAL_CKPT_REC_HDR + off, buf,
			    len)
		       ? -EIO
		       : 0;
}

static int delta_close(struct ota_journal *j)
{
	const uint8_t zero[4] = { 0 };
	uint32_t gen;
	unsigned int k;
	int rc;

	j->delta_open = false;
	for (k = 0; k < 2; k++) {
		rc = ck_hdr_read(j, k, NULL, &gen);
		if (rc == -EIO)
			return rc;
		if (!rc && program(j, ck_off(j, k) + 56, zero, sizeof(zero)))
			return -EIO;
	}
	return 0;
}
