/* SPDX-License-Identifier: MIT */
/*
 * The update session: begin, write, block verify, finish, abort. RAM holds
 * only this session (manifest, plan, two bitmaps: blocks verified, blocks
 * erased in this boot, and the in-order stream); flash holds the rest.
 *
 *   begin    pre-flight (preflight.c, no flash change on refusal); then
 *            the target's stale otadata entry goes, a signed image's
 *            signature sector is written after the image and read back,
 *            and a journal session is resumed (every journalled block's
 *            CRC re-checked against flash) or opened.
 *   write    lazy erase: a block's sector is erased when the block is first
 *            touched in this boot (a resumed, unverified block may hold a
 *            torn write, so it is erased again), never the whole slot.
 *   verify   the block is read back from flash once: its CRC-32 against the
 *            sender's and, when it is the next block in order, the same
 *            bytes feed the stream.
 *   stream   (stream.c) verified blocks in order feed one image verifier
 *            that checks the ESP format and hashes every byte once. A
 *            hopeless image is refused early; finish only completes it.
 *   finish   whole image verdict: hash == manifest, format, app desc ==
 *            manifest, signature; what was hashed was read from flash
 *            after the CRC check, and verified blocks are never rewritten.
 *
 * Blocks are 4096 bytes, the same as the flash sector, so "block b" and
 * "sector b of the slot" are the same thing; that is what makes lazy erase
 * and per-block resend simple.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>
#include <string.h>

#include "ota_engine/sigblock.h"

static bool same_image(const struct ota_engine_manifest *a,
		       const struct ota_engine_manifest *b)
{
	/* a delta session is the same only for the same patch */
	return a->image_size == b->image_size &&
	       !memcmp(a->sha256, b->sha256, OTA_SHA256_LEN) &&
	       a->encoding == b->encoding &&
	       (a->encoding == OTA_ENGINE_ENC_PLAIN ||
		(a->patch_size == b->patch_size &&
		 a->has_base_sha256 == b->has_base_sha256 &&
		 !memcmp(a->base_sha256, b->base_sha256, OTA_SHA256_LEN)));
}

static bool same_manifest(const struct ota_engine_manifest *a,
			  const struct ota_engine_manifest *b)
{
	return same_image(a, b) && a->chip_id == b->chip_id &&
	       a->secure_version == b->secure_version &&
	       !memcmp(a->version, b->version, sizeof(a->version)) &&
	       !memcmp(a->project, b->project, sizeof(a->project));
}

void eng_end_session(struct ota_engine *eng)
{
	ota_journal_resume_close(&eng->jr);
	eng->session = OTA_ENGINE_SESSION_IDLE;
}

static void end_session(struct ota_engine *eng)
{
	eng_end_session(eng);
}

static int cmp_piece(void *ctx, const uint8_t *buf, uint32_t n, uint32_t pos)
{
	return memcmp(buf, (const uint8_t *)ctx + pos, n) ? -EIO : 0;
}

/* Default layout: the sector after the image is ours, written now. */
static int write_sig_sector(struct ota_engine *eng, const uint8_t *sig,
			    size_t len)
{
	uint32_t at = eng->plan.slot_off + eng->plan.sig_region;

	if (eng->cfg.flash->erase(eng->cfg.flash_ctx, at,
				  OTA_SIGBLOCK_SECTOR_LEN) ||
	    eng->cfg.flash->write(eng->cfg.flash_ctx, at, sig, len))
		return -EIO;
	return eng_read_each(eng, at, (uint32_t)len, cmp_piece, (void *)sig);
}

/* Re-checks every journalled block of a resumable session. */
static int resume(struct ota_engine *eng)
{
	uint32_t b, want, got;

	for (b = 0; b < eng->nblocks; b++) {
		if (ota_journal_resume_get(&eng->jr, b, &want))
			return -EIO;
		if (want == OTA_JOURNAL_BLOCK_NONE ||
		    want == OTA_JOURNAL_BLOCK_REVOKED)
			continue;
		if (eng_read_block(eng, b, true, false, &got))
			return -EIO;
		if (got == want) {
			eng_set_bit(eng->verified, b, true);
			continue;
		}
		eng_log(eng, OTA_ENGINE_LOG_WARN, M_(RESUME_CHANGED), b);
		if (ota_journal_resume_revoke(&eng->jr, b))
			return -EIO;
	}
	return 0;
}

static bool verified_prefix(const struct ota_engine *eng)
{
	return eng->nblocks && eng_bit(eng->verified, 0);
}

static int open_journal(struct ota_engine *eng)
{
	struct ota_journal_session js;
	int err;

	memset(&js, 0, sizeof(js));
	js.slot = (uint8_t)eng->plan.slot;
	js.image_size = eng->man.image_size;
	js.nblocks = eng->nblocks;
	memcpy(js.sha256, eng->man.sha256, OTA_SHA256_LEN);
	err = ota_journal_resume_open(&eng->jr, &js);
	if (err == -ENOSPC) {
		/* bigger than the journal: a RAM-only session */
		ota_journal_resume_close(&eng->jr);
		err = 0;
	}
	return err;
}

/* OTA_ENGINE_RECEIVER: 1 go on, 0 answered (same image committed), <0. */
static int receiver_policy(struct ota_engine *eng,
			   const struct ota_engine_manifest *m,
			   unsigned int flags)
{
	switch (eng->session) {
	case OTA_ENGINE_SESSION_COMMITTED:
		if (same_manifest(m, &eng->man)) {
			eng->committed_again = true;
			eng_log_with(eng, OTA_ENGINE_LOG_INFO,
				     M_(COMMITTED_AGAIN),
				     .s = { eng->man.version });
			return 0;
		}
		/* another one must wait until the committed one has booted */
		return eng_fail_with(eng, R_(REBOOT_REQUIRED), -EBUSY,
				     M_(WAIT_REBOOT),
				     .s = { eng->man.version });
	case OTA_ENGINE_SESSION_RECEIVING:
	case OTA_ENGINE_SESSION_VERIFIED:
		/* the receiver ended that one and kept its blocks */
		if (!same_manifest(m, &eng->man) ||
		    (flags & OTA_ENGINE_NO_RESUME))
			ota_engine_abort(eng);
		return 1;
	case OTA_ENGINE_SESSION_IDLE:
		break;
	}
	return 1;
}

int ota_engine_begin(struct ota_engine *eng,
		     const struct ota_engine_manifest *m, unsigned int flags)
{
	return ota_engine_begin_signed(eng, m, NULL, 0, flags);
}

int ota_engine_begin_signed(struct ota_engine *eng,
			    const struct ota_engine_manifest *m,
			    const uint8_t *sig, size_t sig_len,
			    unsigned int flags)
{
	struct ota_engine_plan plan;
	struct ota_sha256 sha;
	bool resumable;
	int err;

	eng->committed_again = false;
	if (flags & OTA_ENGINE_RECEIVER) {
		err = receiver_policy(eng, m, flags);
		if (err <= 0) {
			if (!err)
				eng_ok(eng);
			return err;
		}
	}
	if ((eng->session == OTA_ENGINE_SESSION_RECEIVING ||
	     eng->session == OTA_ENGINE_SESSION_VERIFIED) &&
	    same_image(&eng->man, m) && !(flags & OTA_ENGINE_NO_RESUME)) {
		if (eng_is_delta(eng) &&
		    eng->session == OTA_ENGINE_SESSION_RECEIVING) {
			err = eng_delta_rebegin(eng);
			if (err)
				return err;
		}
		eng_ok(eng);
		return 0;
	}
	if (!sig)
		sig_len = 0;
	err = ota_engine_preflight(eng, m, sig, sig_len, flags, &plan);
	if (err)
		return err;

	/* from here on flash may change */
	eng->man = *m;
	eng->plan = plan;
	eng->nblocks = (ota_engine_stream_size(m) + OTA_ENGINE_BLOCK_SIZE - 1) /
		       OTA_ENGINE_BLOCK_SIZE;
	memset(eng->verified, 0, sizeof(eng->verified));
	memset(eng->erased, 0, sizeof(eng->erased));
	eng->sig_len = (uint16_t)(plan.sig_on ? sig_len : 0);
	if (plan.sig_on) {
		/* finish checks the sector in flash against this, not a copy */
		ota_sha256_init(&sha);
		ota_sha256_update(&sha, sig, sig_len);
		ota_sha256_final(&sha, eng->sig_sector_sha);
	}
	resumable = !(flags & OTA_ENGINE_NO_RESUME) && !eng_is_delta(eng) &&
		    eng->jr.resume_open &&
		    eng->jr.sess.slot == (uint8_t)plan.slot &&
		    eng->jr.sess.image_size == m->image_size &&
		    eng->jr.sess.nblocks == eng->nblocks &&
		    !memcmp(eng->jr.sess.sha256, m->sha256, OTA_SHA256_LEN);
	err = eng_otadata_forget_slot(eng, (int)plan.slot);
	if (!err && plan.sig_on && !plan.sig_in_image)
		err = write_sig_sector(eng, sig, sig_len);
	if (!err && eng_is_delta(eng)) {
		err = eng_delta_begin(eng, !(flags & OTA_ENGINE_NO_RESUME));
		resumable = eng->jr.delta_open && verified_prefix(eng);
	} else if (!err) {
		err = resumable ? resume(eng) : open_journal(eng);
	}
	if (err) {
		memset(eng->verified, 0, sizeof(eng->verified));
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(START_IO));
	}
	eng->session = OTA_ENGINE_SESSION_RECEIVING;
	if (!eng_is_delta(eng))
		eng_stream_reset(eng);
	eng_log(eng, OTA_ENGINE_LOG_INFO, M_(BEGIN), m->image_size, plan.slot,
		(plan.sig_on ? 1u : 0u) | (resumable ? 2u : 0u));
	eng_ok(eng);
	return 0;
}

static int erase_block(struct ota_engine *eng, uint32_t b)
{
	if (eng->cfg.flash->erase(eng->cfg.flash_ctx,
				  eng->plan.slot_off +
					  b * OTA_ENGINE_BLOCK_SIZE,
				  OTA_ENGINE_BLOCK_SIZE))
		return -EIO;
	eng_set_bit(eng->erased, b, true);
	return 0;
}

/* 1 if programming ctx's bytes over @buf would need a 0 -> 1 change. */
static int conflict_piece(void *ctx, const uint8_t *buf, uint32_t n,
			  uint32_t pos)
{
	const uint8_t *data = (const uint8_t *)ctx + pos;
	uint32_t i;

	for (i = 0; i < n; i++)
		if ((buf[i] & data[i]) != data[i])
			return 1;
	return 0;
}

int eng_program_checked(struct ota_engine *eng, uint32_t addr,
			const uint8_t *data, size_t len, bool *conflict)
{
	int rc = eng_read_each(eng, addr, (uint32_t)len, conflict_piece,
			       (void *)data);

	*conflict = rc == 1;
	if (rc)
		return rc < 0 ? rc : 0;
	return eng->cfg.flash->write(eng->cfg.flash_ctx, addr, data, len) ? -EIO
									  : 0;
}

static int write_in_block(struct ota_engine *eng, uint32_t b, uint32_t offset,
			  const uint8_t *data, size_t n)
{
	uint32_t addr = eng->plan.slot_off + offset;
	bool conflict;
	int err;

	if (!eng_bit(eng->erased, b) && erase_block(eng, b))
		return -EIO;
	err = eng_program_checked(eng, addr, data, n, &conflict);
	if (err || !conflict)
		return err;
	/* differs from what landed: start the block over */
	eng_log(eng, OTA_ENGINE_LOG_WARN, M_(REWRITE), b);
	err = erase_block(eng, b);
	if (!err)
		err = eng_program_checked(eng, addr, data, n, &conflict);
	return err;
}

int ota_engine_write(struct ota_engine *eng, uint32_t offset,
		     const uint8_t *data, size_t len)
{
	if (eng->session != OTA_ENGINE_SESSION_RECEIVING)
		return eng_fail(eng, R_(NO_SESSION), -EPROTO, M_(NO_SESSION),
				OTA_ENGINE_CALL_WRITE);
	if (offset > ota_engine_stream_size(&eng->man) ||
	    len > ota_engine_stream_size(&eng->man) - offset)
		return eng_fail(eng, R_(OUT_OF_RANGE), -EINVAL, M_(WRITE_RANGE),
				offset, (uint32_t)len,
				ota_engine_stream_size(&eng->man));
	if (eng_is_delta(eng))
		return eng_delta_write(eng, offset, data, len);
	while (len) {
		uint32_t b = offset / OTA_ENGINE_BLOCK_SIZE;
		size_t n =
			OTA_ENGINE_BLOCK_SIZE - offset % OTA_ENGINE_BLOCK_SIZE;

		if (n > len)
			n = len;
		if (!eng_bit(eng->verified, b) &&
		    write_in_block(eng, b, offset, data, n))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(WRITE_IO), offset);
		offset += (uint32_t)n;
		data += n;
		len -= n;
	}
	eng_ok(eng);
	return 0;
}

int ota_engine_block_verify(struct ota_engine *eng, uint32_t block,
			    uint32_t crc32)
{
	bool feed;
	uint32_t got;
	int err;

	if (eng->session != OTA_ENGINE_SESSION_RECEIVING)
		return eng_fail(eng, R_(NO_SESSION), -EPROTO, M_(NO_SESSION),
				OTA_ENGINE_CALL_VERIFY);
	if (block >= eng->nblocks)
		return eng_fail(eng, R_(OUT_OF_RANGE), -EINVAL, M_(BLOCK_RANGE),
				block, eng->nblocks);
	if (eng_is_delta(eng))
		return eng_delta_verify(eng, block, crc32);
	/* the next block in order: one read serves the CRC and the stream */
	feed = eng->stream_on && block == eng->stream_next &&
	       !eng_bit(eng->verified, block);
	if (eng_read_block(eng, block, true, feed, &got))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(BLOCK_READ),
				block);
	if (got != crc32) {
		/* the stream took bytes that did not check out: redo it */
		if (feed)
			eng_stream_reset(eng);
		if (eng_bit(eng->verified, block) &&
		    ota_journal_resume_revoke(&eng->jr, block))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(JOURNAL_IO));
		if (eng_bit(eng->verified, block) && block < eng->stream_next)
			eng_stream_reset(eng);
		eng_set_bit(eng->verified, block, false);
		eng_set_bit(eng->erased, block, false);
		return eng_fail(eng, R_(BLOCK_CRC), -EILSEQ, M_(BLOCK_CRC),
				block, got, crc32);
	}
	if (feed)
		eng->stream_next++;
	if (!eng_bit(eng->verified, block)) {
		if (ota_journal_resume_set(&eng->jr, block, got))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(JOURNAL_IO));
		eng_set_bit(eng->verified, block, true);
	}
	if (eng->stream_on) {
		if (eng_stream_advance(eng, false))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(IMAGE_READ));
		err = eng_stream_check(eng);
		if (err)
			return err;
	}
	eng_ok(eng);
	return 0;
}

bool ota_engine_block_is_verified(const struct ota_engine *eng, uint32_t block)
{
	if (eng->session == OTA_ENGINE_SESSION_COMMITTED)
		return eng->committed_again;
	if (eng->session != OTA_ENGINE_SESSION_RECEIVING &&
	    eng->session != OTA_ENGINE_SESSION_VERIFIED)
		return false;
	return block < eng->nblocks && eng_bit(eng->verified, block);
}

static int sha_piece(void *ctx, const uint8_t *buf, uint32_t n, uint32_t pos)
{
	(void)pos;
	ota_sha256_update(ctx, buf, n);
	return 0;
}

/*
 * Finish of a signed session: the signed region hashed (in the stream) to
 * the accepted block's digest, the image ends where IDF looks for the
 * sector, and the sector in flash is the one BEGIN carried (and wrote).
 */
static int finish_signature(struct ota_engine *eng)
{
	const struct ota_engine_plan *p = &eng->plan;
	uint8_t sha[OTA_SHA256_LEN];
	struct ota_sha256 ctx;
	uint32_t want = ota_sigblock_sector_offset(eng->iv.info.image_len);
	int rc;

	if (!eng->sig_snapped ||
	    memcmp(eng->sig_calc, p->sig_digest, p->sig_digest_len))
		return eng_fail(eng, R_(BAD_SIGNATURE), -EBADMSG,
				M_(SIG_DIGEST), p->sig_region, p->sig_block);
	if (want != p->sig_region)
		return eng_fail(eng, R_(BAD_SIGNATURE), -EBADMSG, M_(SIG_PLACE),
				eng->iv.info.image_len, want, p->sig_region);
	ota_sha256_init(&ctx);
	rc = eng_read_each(eng, p->slot_off + p->sig_region, eng->sig_len,
			   sha_piece, &ctx);
	ota_sha256_final(&ctx, sha);
	if (rc)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(SIG_READ));
	if (memcmp(sha, eng->sig_sector_sha, OTA_SHA256_LEN))
		return eng_fail(eng, R_(BAD_SIGNATURE), -EBADMSG,
				M_(SIG_DIFFERS));
	return 0;
}

static int record_failed(struct ota_engine *eng, enum ota_engine_reason why)
{
	return ota_journal_append(&eng->jr, OTA_JOURNAL_REC_FAILED,
				  (uint8_t)why, (uint8_t)eng->plan.slot,
				  eng->man.image_size, eng->man.sha256, NULL);
}

/* The whole image's SHA-256 differs from the manifest. */
static int hash_mismatch(struct ota_engine *eng)
{
	uint32_t b, unverified = 0;

	for (b = 0; b < eng->nblocks; b++) {
		if (eng_bit(eng->verified, b))
			continue;
		/* the next write into it starts the block over */
		eng_set_bit(eng->erased, b, false);
		unverified++;
	}
	if (unverified) {
		/* keep what the sender proved; it resends the rest */
		eng_stream_reset(eng);
		return eng_fail(eng, R_(HASH_MISMATCH), -EILSEQ, M_(RESEND),
				unverified, eng->nblocks);
	}
	end_session(eng);
	return eng_fail(eng, R_(HASH_MISMATCH), -EILSEQ, M_(HASH),
			eng->man.image_size, eng->plan.slot);
}

int ota_engine_finish(struct ota_engine *eng)
{
	uint8_t sha[OTA_SHA256_LEN];
	uint32_t b, missing = 0;
	int err;

	if (eng->session == OTA_ENGINE_SESSION_VERIFIED ||
	    (eng->session == OTA_ENGINE_SESSION_COMMITTED &&
	     eng->committed_again)) {
		eng_ok(eng);
		return 0;
	}
	if (eng->session != OTA_ENGINE_SESSION_RECEIVING)
		return eng_fail(eng, R_(NO_SESSION), -EPROTO, M_(NO_SESSION),
				OTA_ENGINE_CALL_FINISH);
	for (b = 0; b < eng->nblocks; b++)
		if (!eng_bit(eng->verified, b) && !eng_bit(eng->erased, b))
			missing++;
	if (eng->stream_on && eng->stream_failed && missing) {
		/* the verified prefix already proved it: say so, end it */
		err = eng_stream_check(eng);
		end_session(eng);
		return err;
	}
	if (missing)
		return eng_fail(eng, R_(INCOMPLETE), -EAGAIN, M_(MISSING),
				missing, eng->nblocks);
	if (eng_is_delta(eng)) {
		err = eng_delta_finish(eng);
		if (err)
			return err;
	} else if (eng_stream_complete(eng)) {
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(IMAGE_READ));
	}
	ota_image_verify_digest(&eng->iv, sha);
	if (memcmp(sha, eng->man.sha256, OTA_SHA256_LEN))
		return hash_mismatch(eng);
	if (ota_image_verify_final(&eng->iv)) {
		err = eng_image_failure(eng);
		if (eng->reason == R_(BAD_IMAGE))
			record_failed(eng, eng->reason);
		end_session(eng);
		return err;
	}
	if (eng_desc_vs_manifest(eng, &eng->iv.info)) {
		/* the sender's manifest is wrong, not the image: no record */
		end_session(eng);
		return -ENOEXEC;
	}
	if (eng->plan.sig_on) {
		err = finish_signature(eng);
		if (err == -EIO)
			return err; /* session kept: finish again */
		if (err) {
			/* not recorded as failed: a good signature may follow */
			end_session(eng);
			return err;
		}
	}
	eng->session = OTA_ENGINE_SESSION_VERIFIED;
	eng->stream_on = false;
	eng_log_with(
		eng, OTA_ENGINE_LOG_INFO, M_(FINISHED), .n = { eng->plan.slot },
		.s = { eng->iv.info.desc.project, eng->iv.info.desc.version });
	eng_ok(eng);
	return 0;
}

int ota_engine_abort(struct ota_engine *eng)
{
	eng->session = OTA_ENGINE_SESSION_IDLE;
	eng->committed_again = false;
	if (ota_journal_resume_close(&eng->jr))
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(CLOSE_IO));
	eng_ok(eng);
	return 0;
}
