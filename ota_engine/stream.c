/* SPDX-License-Identifier: MIT */
/*
 * The stream: a session's verified blocks, in order, through one image
 * verifier that checks the ESP format and hashes every byte once
 * (cfg.hash_all: the whole image's SHA-256, the appended-hash check from a
 * copy of it). A signed session's region digest is taken at the region's
 * end in the same pass (a copy for SHA-256 blocks, a SHA-384 kept beside
 * it for P-384 ones). Only bytes read back from flash after their block's
 * CRC matched go in, so the digest finish checks is the slot's.
 *
 * block_verify feeds the next block in order from the read that CRCs it;
 * blocks verified out of order are read once more when the stream gets to
 * them. A block that fails its CRC after it was fed restarts the stream
 * (eng_stream_reset()), the rare path that re-reads.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>
#include <string.h>

#include "common/crc32.h"
#include "ota_engine/util.h"

void eng_stream_reset(struct ota_engine *eng)
{
	struct ota_image_cfg cfg = { .chip_id = eng->cfg.chip_id,
				     .chip_rev = eng->cfg.chip_rev,
				     .max_len = eng->plan.slot_size,
				     .hash_all = true };

	ota_image_verify_init(&eng->iv, &cfg);
	if (eng->plan.sig_on && eng->plan.sig_digest_len == OTA_SHA384_LEN)
		ota_sha384_init(&eng->sha384);
	eng->stream_next = 0;
	eng->stream_failed = false;
	eng->sig_snapped = false;
	eng->stream_on = true;
}

static void feed_iv(struct ota_engine *eng, const uint8_t *buf, uint32_t n)
{
	/* after a format error the verifier still hashes (hash_all) */
	if (ota_image_verify_update(&eng->iv, buf, n))
		eng->stream_failed = true;
}

/* Image bytes [@pos, @pos + @n), in order. */
static void stream_feed(struct ota_engine *eng, const uint8_t *buf, uint32_t n,
			uint32_t pos)
{
	const struct ota_engine_plan *p = &eng->plan;
	bool p384 = p->sig_digest_len == OTA_SHA384_LEN;
	uint32_t k;

	if (!p->sig_on || eng->sig_snapped || pos + n < p->sig_region) {
		if (p->sig_on && p384 && !eng->sig_snapped)
			ota_sha384_update(&eng->sha384, buf, n);
		feed_iv(eng, buf, n);
		return;
	}
	/* the signed region ends in this piece: take its digest there */
	k = p->sig_region - pos;
	feed_iv(eng, buf, k);
	if (p384) {
		ota_sha384_update(&eng->sha384, buf, k);
		ota_sha384_final(&eng->sha384, eng->sig_calc);
	} else {
		ota_image_verify_digest(&eng->iv, eng->sig_calc);
	}
	eng->sig_snapped = true;
	feed_iv(eng, buf + k, n - k);
}

struct block_read {
	struct ota_engine *eng;
	uint32_t base; /* image offset of the block */
	uint32_t crc;
	bool crc_on;
	bool feed;
};

static int block_piece(void *ctx, const uint8_t *buf, uint32_t n, uint32_t pos)
{
	struct block_read *r = ctx;

	if (r->crc_on)
		r->crc = ota_crc32(r->crc, buf, n);
	if (r->feed)
		stream_feed(r->eng, buf, n, r->base + pos);
	return 0;
}

/* One read of block @b: its CRC and/or the stream. 0 or -EIO. */
int eng_read_block(struct ota_engine *eng, uint32_t b, bool crc_on, bool feed,
		   uint32_t *crc)
{
	struct block_read r = { .eng = eng,
				.base = b * OTA_ENGINE_BLOCK_SIZE,
				.crc_on = crc_on,
				.feed = feed };
	int rc = eng_read_each(eng, eng->plan.slot_off + r.base,
			       eng_block_len(eng, b), block_piece, &r);

	if (crc)
		*crc = r.crc;
	return rc;
}

/*
 * Feeds the stream the blocks after it that are verified (@written: also
 * those written but never verified, for finish's one full pass).
 */
int eng_stream_advance(struct ota_engine *eng, bool written)
{
	while (eng->stream_next < eng->nblocks &&
	       (eng_bit(eng->verified, eng->stream_next) ||
		(written && eng_bit(eng->erased, eng->stream_next)))) {
		if (eng_read_block(eng, eng->stream_next, false, true, NULL))
			return -EIO;
		eng->stream_next++;
	}
	return 0;
}

/* Fixed-size NUL-padded field compare, as esp_app_desc_t carries them. */
static bool field_eq(const uint8_t raw[32], const char *s)
{
	return !memcmp(raw, s, ota_strnlen(s, 32)) &&
	       ota_strnlen((const char *)raw, 32) == ota_strnlen(s, 32);
}

int eng_desc_vs_manifest(struct ota_engine *eng,
			 const struct ota_image_info *in)
{
	const struct ota_engine_manifest *m = &eng->man;

	if (in->chip_id != m->chip_id)
		return eng_fail(eng, R_(MANIFEST_MISMATCH), -ENOEXEC,
				M_(HDR_CHIP), in->chip_id, m->chip_id);
	/* VERSION and PROJECT are optional manifest fields: empty = absent */
	if (m->version[0] && !field_eq(in->desc.version_raw, m->version))
		return eng_fail_with(eng, R_(MANIFEST_MISMATCH), -ENOEXEC,
				     M_(APP_VERSION),
				     .s = { in->desc.version, m->version });
	if (m->project[0] && !field_eq(in->desc.project_raw, m->project))
		return eng_fail_with(eng, R_(MANIFEST_MISMATCH), -ENOEXEC,
				     M_(APP_PROJECT),
				     .s = { in->desc.project, m->project });
	if (in->desc.secure_version != m->secure_version)
		return eng_fail(eng, R_(MANIFEST_MISMATCH), -ENOEXEC,
				M_(APP_SECVER), in->desc.secure_version,
				m->secure_version);
	return 0;
}

/* The verdict of the verifier on what it has seen. */
int eng_image_failure(struct ota_engine *eng)
{
	enum ota_engine_reason r = eng->iv.err == OTA_IMAGE_ERR_CHIP
					   ? R_(MANIFEST_MISMATCH)
					   : R_(BAD_IMAGE);

	return eng_fail_with(eng, r, -ENOEXEC, M_(IMAGE), .ref = &eng->iv);
}

/* -ENOEXEC once the verified prefix proves the image can never pass. */
int eng_stream_check(struct ota_engine *eng)
{
	if (eng->stream_failed && eng->iv.err != OTA_IMAGE_OK)
		return eng_image_failure(eng);
	if (eng->iv.info.has_desc && eng_desc_vs_manifest(eng, &eng->iv.info)) {
		eng->stream_failed = true;
		return -ENOEXEC;
	}
	return 0;
}

/* Completes the stream over every block; 0 or -EIO. */
int eng_stream_complete(struct ota_engine *eng)
{
	uint32_t b;

	for (b = 0; b < eng->nblocks; b++)
		if (!eng_bit(eng->verified, b))
			break;
	/* a sender that skipped block verification: one full pass */
	if (b < eng->nblocks || !eng->stream_on)
		eng_stream_reset(eng);
	return eng_stream_advance(eng, b < eng->nblocks);
}
