/* SPDX-License-Identifier: MIT */
/*
 * Pre-flight: every reason to refuse an image, checked before anything is
 * erased, as mcumgr's upload inspect step and MCUboot's pre-swap checks
 * do. It only reads (otadata, the journal, the running slot) and returns a
 * plan: the target slot and, for a signed image, the accepted signature
 * block's index and digest. The session (session.c) carries the plan out.
 *
 * Order of the checks (docs/ota-engine.md "Pre-flight"): busy, table,
 * size 0, slot, pending confirm, fits, chip, downgrade, signature, then
 * the two that --force skips: same as the last failure, same as running.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>
#include <string.h>

#include "ota_engine/sigblock.h"

static int running_state(struct ota_engine *eng, uint32_t *state)
{
	struct ota_otadata_entry e[2];
	int i;

	*state = OTA_IMG_UNDEFINED;
	if (!eng->layout.has_otadata || eng->running < 0)
		return 0;
	if (eng_read_otadata(eng, e))
		return -EIO;
	i = eng_entry_for_slot(eng, e, eng->running);
	if (i >= 0)
		*state = e[i].state;
	return 0;
}

static int sha_piece(void *ctx, const uint8_t *buf, uint32_t n, uint32_t pos)
{
	(void)pos;
	ota_sha256_update(ctx, buf, n);
	return 0;
}

/* SHA-256 of [0, len) of @slot: 0, -ENOENT (no such range), -EIO. */
static int hash_slot(struct ota_engine *eng, int slot, uint32_t len,
		     uint8_t out[OTA_SHA256_LEN])
{
	struct ota_sha256 sha;
	uint32_t off, size;
	int rc;

	if (!eng_slot_region(eng, slot, &off, &size) || len > size)
		return -ENOENT;
	ota_sha256_init(&sha);
	rc = eng_read_each(eng, off, len, sha_piece, &sha);
	ota_sha256_final(&sha, out);
	return rc;
}

int eng_last_failed(struct ota_engine *eng, uint8_t sha[OTA_SHA256_LEN],
		    int *slot)
{
	struct ota_journal_rec fr, cr;
	struct ota_otadata_entry e[2];
	bool have_f, have_c = false;
	int rc, i;

	*slot = OTA_ENGINE_SLOT_NONE;
	rc = ota_journal_find_last(&eng->jr, OTA_JOURNAL_REC_FAILED, -1, &fr);
	if (rc < 0)
		return -EIO;
	have_f = rc > 0;
	if (eng->layout.has_otadata && eng->layout.ota_count) {
		if (eng_read_otadata(eng, e))
			return -EIO;
		i = ota_otadata_last_invalid(e);
		if (i >= 0) {
			*slot = (int)ota_otadata_slot(e[i].seq,
						      eng->layout.ota_count);
			rc = ota_journal_find_last(
				&eng->jr, OTA_JOURNAL_REC_COMMIT, *slot, &cr);
			if (rc < 0)
				return -EIO;
			have_c = rc > 0;
		}
	}
	/* the later of the two records is the last failure */
	if (have_c && (!have_f || cr.index > fr.index)) {
		memcpy(sha, cr.payload, OTA_SHA256_LEN);
		return 1;
	}
	if (have_f) {
		memcpy(sha, fr.payload, OTA_SHA256_LEN);
		return 1;
	}
	return 0;
}

/* Key digest of block 0 of the running app's signature sector. */
static int running_key_digest(struct ota_engine *eng,
			      uint8_t out[OTA_SHA256_LEN])
{
	uint8_t raw[OTA_SIGBLOCK_LEN];
	struct ota_sigblock b;
	uint32_t off, size, at;
	int err;

	if (eng->running < OTA_ENGINE_SLOT_FACTORY ||
	    !eng_slot_region(eng, eng->running, &off, &size))
		return 0;
	/* IDF reads the running app's metadata for image_len */
	err = eng_verify_slot(eng, eng->running, &eng->iv, NULL);
	if (err)
		return err == -EIO ? -EIO : 0;
	at = ota_sigblock_sector_offset(eng->iv.info.image_len);
	if (at > size || size - at < sizeof(raw))
		return 0;
	if (eng->cfg.flash->read(eng->cfg.flash_ctx, off + at, raw,
				 sizeof(raw)))
		return -EIO;
	if (ota_sigblock_parse(raw, sizeof(raw), &b))
		return 0;
	memcpy(out, b.key_digest, OTA_SHA256_LEN);
	return 1;
}

/* The trusted key digests; their count, or -EIO. */
static int
trusted_keys(struct ota_engine *eng,
	     uint8_t out[OTA_ENGINE_MAX_TRUSTED_KEYS][OTA_SHA256_LEN])
{
	unsigned int n = eng->cfg.trusted_key_count;

	/* signed apps without secure boot: the running app's block 0 key */
	if (eng->cfg.trust_running_app_key)
		return running_key_digest(eng, out[0]);
	if (n > OTA_ENGINE_MAX_TRUSTED_KEYS)
		n = OTA_ENGINE_MAX_TRUSTED_KEYS;
	memcpy(out, eng->cfg.trusted_key_digest, n * OTA_SHA256_LEN);
	return (int)n;
}

/*
 * The signature half of pre-flight (docs/ota-engine.md, "Signatures"):
 * which block verifies over which digest with a trusted key. 1 for an
 * unsigned image that may pass, 0 with the plan's signature fields set.
 */
static int check_signature(struct ota_engine *eng,
			   const struct ota_engine_manifest *m,
			   const uint8_t *sig, size_t sig_len,
			   unsigned int flags, struct ota_engine_plan *plan)
{
	uint8_t trusted[OTA_ENGINE_MAX_TRUSTED_KEYS][OTA_SHA256_LEN];
	struct ota_sigblock b[OTA_SIGBLOCK_MAX];
	bool bad_trusted = false, untrusted_ok = false, other_digest = false;
	bool required =
		eng->cfg.trusted_key_count || eng->cfg.trust_running_app_key;
	bool in_image = flags & OTA_ENGINE_SIG_IN_IMAGE;
	unsigned int nblocks = OTA_SIGBLOCK_MAX, ntrusted, i, k;
	int rc;

	if (!sig || !sig_len) {
		if (required)
			return eng_fail(eng, R_(SIGNATURE_REQUIRED), -EACCES,
					M_(UNSIGNED));
		return 1; /* unsigned, and that is fine */
	}
	if (sig_len < OTA_SIGBLOCK_LEN || sig_len > OTA_SIGBLOCK_SECTOR_LEN)
		return eng_fail(eng, R_(BAD_MANIFEST), -EINVAL, M_(SIG_LEN),
				(uint32_t)sig_len);
	if (m->image_size % OTA_SIGBLOCK_SECTOR_LEN ||
	    (in_image && m->image_size < 2 * OTA_SIGBLOCK_SECTOR_LEN))
		return eng_fail(eng, R_(BAD_MANIFEST), -EINVAL, M_(SIG_PAD),
				m->image_size);
	if (!ota_sigblock_parse_sector(sig, sig_len, b))
		return eng_fail(eng, R_(BAD_SIGNATURE), -EBADMSG,
				M_(SIG_NO_BLOCK), b[0].err);
	rc = trusted_keys(eng, trusted);
	if (rc < 0)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(RUNNING_READ));
	ntrusted = (unsigned int)rc;
	if (eng->cfg.trust_running_app_key)
		nblocks = 1; /* only block 0 counts */
	for (i = 0; i < nblocks; i++) {
		bool trust = !required;

		if (b[i].err)
			continue;
		/* the default layout sends exactly the signed bytes */
		if (!in_image && b[i].digest_len == OTA_SHA256_LEN &&
		    memcmp(b[i].digest, m->sha256, OTA_SHA256_LEN)) {
			other_digest = true;
			continue;
		}
		for (k = 0; k < ntrusted; k++)
			if (!memcmp(b[i].key_digest, trusted[k],
				    OTA_SHA256_LEN))
				trust = true;
		rc = ota_sigblock_verify(&b[i]);
		if (!rc && trust) {
			plan->sig_on = true;
			plan->sig_in_image = in_image;
			plan->sig_block = (uint8_t)i;
			plan->sig_digest_len = (uint8_t)b[i].digest_len;
			memcpy(plan->sig_digest, b[i].digest, b[i].digest_len);
			plan->sig_region = m->image_size;
			if (in_image)
				plan->sig_region -= OTA_SIGBLOCK_SECTOR_LEN;
			return 0;
		}
		if (!rc)
			untrusted_ok = true;
		else if (trust)
			bad_trusted = true;
	}
	if (!bad_trusted && !other_digest && untrusted_ok)
		return eng_fail(eng, R_(UNTRUSTED_KEY), -EACCES,
				ntrusted ? M_(UNTRUSTED)
					 : M_(RUNNING_UNSIGNED));
	if (other_digest && !bad_trusted)
		return eng_fail(eng, R_(BAD_SIGNATURE), -EBADMSG,
				M_(SIG_OTHER_DIGEST));
	return eng_fail(eng, R_(BAD_SIGNATURE), -EBADMSG,
			M_(SIG_NONE_VERIFIES));
}

int ota_engine_running_hash(struct ota_engine *eng, uint8_t out[OTA_SHA256_LEN])
{
	uint32_t off, size;
	int rc;

	if (eng->running < OTA_ENGINE_SLOT_FACTORY ||
	    !eng_slot_region(eng, eng->running, &off, &size))
		return -ENOENT;
	if (!eng->run_hash_at || eng->run_hash_slot != eng->running) {
		/* iv is the stream's or the decoder's: both start over */
		eng->stream_on = false;
		eng->delta_live = false;
		rc = eng_verify_slot(eng, eng->running, &eng->iv, NULL);
		if (rc == -EIO)
			return -EIO;
		if (rc || !eng->iv.info.has_hash ||
		    eng->iv.info.image_len < OTA_SHA256_LEN)
			return -ENOENT;
		eng->run_hash_at =
			off + eng->iv.info.image_len - OTA_SHA256_LEN;
		eng->run_hash_slot = (int8_t)eng->running;
	}
	return eng->cfg.flash->read(eng->cfg.flash_ctx, eng->run_hash_at, out,
				    OTA_SHA256_LEN)
		       ? -EIO
		       : 0;
}

/*
 * A patch's base: the running image, whose validation hash must be the
 * manifest's BASE_SHA256. The patch may read the image and, if one follows
 * it, its signature sector (a signed base file holds both). Without
 * BASE_SHA256 the patch may read nothing (a compressed full image).
 */
static int check_base(struct ota_engine *eng,
		      const struct ota_engine_manifest *m,
		      struct ota_engine_plan *plan)
{
	uint8_t sha[OTA_SHA256_LEN], magic;
	uint32_t off, size, len, at;
	int rc;

	if (!OTA_ENGINE_DELTA)
		return eng_fail(eng, R_(BAD_MANIFEST), -ENOTSUP, M_(NO_DELTA));
	if (!m->patch_size)
		return eng_fail(eng, R_(BAD_MANIFEST), -EINVAL, M_(SIZE_ZERO));
	if (!m->has_base_sha256)
		return 0;
	rc = ota_engine_running_hash(eng, sha);
	if (rc == -EIO)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(RUNNING_READ));
	if (rc)
		return eng_fail(eng, R_(WRONG_BASE), -EXDEV, M_(NO_BASE),
				(uint32_t)eng->running);
	if (memcmp(sha, m->base_sha256, OTA_SHA256_LEN))
		return eng_fail(eng, R_(WRONG_BASE), -EXDEV, M_(BASE_DIFFERS),
				0);
	eng_slot_region(eng, eng->running, &off, &size);
	len = eng->run_hash_at + OTA_SHA256_LEN - off;
	at = ota_sigblock_sector_offset(len);
	if (at <= size && size - at >= OTA_SIGBLOCK_SECTOR_LEN) {
		if (eng->cfg.flash->read(eng->cfg.flash_ctx, off + at, &magic,
					 1))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(RUNNING_READ));
		if (magic == OTA_SIGBLOCK_MAGIC)
			len = at + OTA_SIGBLOCK_SECTOR_LEN;
	}
	plan->base_off = off;
	plan->base_size = len;
	return 0;
}

/* The refusals --force skips: the last failed image, the running one. */
static int check_not_same(struct ota_engine *eng,
			  const struct ota_engine_manifest *m)
{
	uint8_t sha[OTA_SHA256_LEN];
	int rc, fslot;

	rc = eng_last_failed(eng, sha, &fslot);
	if (rc < 0)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(JOURNAL_IO));
	if (rc > 0 && !memcmp(sha, m->sha256, OTA_SHA256_LEN))
		return eng_fail(eng, R_(SAME_AS_FAILED), -EPERM, M_(REJECTED));
	/* cheap filter first: a different version cannot be equal */
	if (eng->running < OTA_ENGINE_SLOT_FACTORY || !eng->running_desc_ok ||
	    strncmp(eng->running_desc.version, m->version, 32) ||
	    strncmp(eng->running_desc.project, m->project, 32))
		return 0;
	rc = hash_slot(eng, eng->running, m->image_size, sha);
	if (rc == -EIO)
		return eng_fail(eng, R_(FLASH_ERROR), -EIO, M_(SLOT_READ),
				(uint32_t)eng->running);
	if (!rc && !memcmp(sha, m->sha256, OTA_SHA256_LEN))
		return eng_fail_with(eng, R_(SAME_AS_RUNNING), -EALREADY,
				     M_(RUNS_ALREADY),
				     .n = { (uint32_t)eng->running },
				     .s = { eng->running_desc.version });
	return 0;
}

int ota_engine_preflight(struct ota_engine *eng,
			 const struct ota_engine_manifest *m,
			 const uint8_t *sig, size_t sig_len, unsigned int flags,
			 struct ota_engine_plan *plan)
{
	uint32_t state, floor, need;
	int slot, rc;

	memset(plan, 0, sizeof(*plan));
	if (!sig)
		sig_len = 0;
	if (eng->session == OTA_ENGINE_SESSION_RECEIVING ||
	    eng->session == OTA_ENGINE_SESSION_VERIFIED)
		return eng_fail(eng, R_(BUSY), -EBUSY, M_(OTHER_SESSION));
	/* the target slot now holds the committed image: keep it */
	if (eng->session == OTA_ENGINE_SESSION_COMMITTED)
		return eng_fail(eng, R_(BUSY), -EBUSY, M_(COMMITTED));
	if (!eng->table_ok)
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(NO_TABLE));
	if (!m->image_size)
		return eng_fail(eng, R_(BAD_MANIFEST), -EINVAL, M_(SIZE_ZERO));
	slot = eng_next_slot(eng);
	if (slot < 0 ||
	    !eng_slot_region(eng, slot, &plan->slot_off, &plan->slot_size))
		return eng_fail(eng, R_(NO_SLOT), -ENODEV, M_(NO_OTA_SLOT));
	plan->slot = (unsigned int)slot;
	if (!eng->cfg.rollback_disabled) {
		if (running_state(eng, &state))
			return eng_fail(eng, R_(FLASH_ERROR), -EIO,
					M_(OTADATA_READ));
		if (state == OTA_IMG_PENDING_VERIFY)
			return eng_fail(eng, R_(UNCONFIRMED), -EBUSY,
					M_(PENDING), (uint32_t)eng->running);
	}
	/* a signed image also needs its signature sector in the slot */
	need = m->image_size;
	if (sig_len && !(flags & OTA_ENGINE_SIG_IN_IMAGE))
		need = m->image_size > UINT32_MAX - OTA_SIGBLOCK_SECTOR_LEN
			       ? UINT32_MAX
			       : m->image_size + OTA_SIGBLOCK_SECTOR_LEN;
	if (need > plan->slot_size ||
	    (ota_engine_stream_size(m) + OTA_ENGINE_BLOCK_SIZE - 1) /
			    OTA_ENGINE_BLOCK_SIZE >
		    OTA_ENGINE_MAX_BLOCKS ||
	    (m->image_size + OTA_ENGINE_BLOCK_SIZE - 1) /
			    OTA_ENGINE_BLOCK_SIZE >
		    OTA_ENGINE_MAX_BLOCKS)
		return eng_fail_with(eng, R_(TOO_LARGE), -ENOSPC, M_(TOO_LARGE),
				     .n = { m->image_size, (uint32_t)slot,
					    plan->slot_size,
					    need != m->image_size });
	if (m->chip_id != eng->cfg.chip_id)
		return eng_fail(eng, R_(WRONG_CHIP), -ENOEXEC, M_(WRONG_CHIP),
				m->chip_id, eng->cfg.chip_id);
	floor = eng->efuse_secure_version;
	if (eng->running_desc_ok && eng->running_desc.secure_version > floor)
		floor = eng->running_desc.secure_version;
	if (m->secure_version < floor)
		return eng_fail(eng, R_(DOWNGRADE), -EPERM, M_(DOWNGRADE),
				m->secure_version, floor);
	rc = check_signature(eng, m, sig, sig_len, flags, plan);
	if (rc < 0)
		return rc;
	if (m->encoding == OTA_ENGINE_ENC_DELTA) {
		rc = check_base(eng, m, plan);
		if (rc)
			return rc;
	} else if (m->encoding != OTA_ENGINE_ENC_PLAIN) {
		return eng_fail(eng, R_(BAD_MANIFEST), -ENOTSUP, M_(NO_DELTA));
	}
	if (!(flags & OTA_ENGINE_FORCE)) {
		rc = check_not_same(eng, m);
		if (rc)
			return rc;
	}
	eng_ok(eng);
	return 0;
}
