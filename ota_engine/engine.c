/* SPDX-License-Identifier: MIT */
/*
 * OTA engine: update sessions and the app-side otadata calls.
 *
 * Theory of operation. The engine never trusts RAM across a reboot: the
 * partition table, otadata and the journal partition are re-read by init,
 * and the only RAM state is the current session (manifest, target slot,
 * two bitmaps: blocks verified, blocks erased in this boot).
 *
 *   begin    pre-flight (no flash change on refusal), then either resume a
 *            journal session for the same image/slot (re-checking every
 *            journalled block's CRC against flash) or invalidate the
 *            target's stale otadata entry and open a new journal session.
 *   write    lazy erase: a block's sector is erased when the block is first
 *            touched in this boot (a resumed, unverified block may hold a
 *            torn write, so it is erased again), never the whole slot.
 *   verify   per-block CRC-32 read back from flash; match -> journal record.
 *            Verified blocks also stream, in order, into the image verifier
 *            and the SHA-256, so a hopeless image is refused early.
 *   finish   re-reads the whole image from flash: format + SHA-256 +
 *            manifest. What is checked is what is in flash, not what passed
 *            through RAM.
 *   commit   otadata set_boot (inactive sector; NEW with rollback), then
 *            the journal session is closed.
 *
 * Blocks are 4096 bytes, the same as the flash sector, so "block b" and
 * "sector b of the slot" are the same thing; that is what makes lazy erase
 * and per-block resend simple.
 */
#include "ota_engine/engine.h"
#include "ota_engine/util.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ota_engine/crc.h"
#include "ota_engine/engine_priv.h"
#include "ota_engine/otadata.h"
#include "ota_engine/sigblock.h"

#define READ_CHUNK 256u

static const struct {
	const char *name;
	const char *text;
} reasons[] = {
	[OTA_ENGINE_REASON_NONE] = { "NONE", "no error" },
	[OTA_ENGINE_REASON_BUSY] = { "BUSY", "another update is in progress: "
					     "finish or abort it first" },
	[OTA_ENGINE_REASON_UNCONFIRMED] = { "UNCONFIRMED",
					    "the running image is still "
					    "pending verification: confirm it "
					    "or roll back before updating" },
	[OTA_ENGINE_REASON_BAD_MANIFEST] = { "BAD_MANIFEST",
					     "the manifest is malformed (size "
					     "0?): rebuild the request" },
	[OTA_ENGINE_REASON_NO_SLOT] = { "NO_SLOT",
					"the device has no usable OTA slot: "
					"check its partition table" },
	[OTA_ENGINE_REASON_TOO_LARGE] = { "TOO_LARGE",
					  "the image does not fit the OTA "
					  "slot: build a smaller image or "
					  "repartition" },
	[OTA_ENGINE_REASON_WRONG_CHIP] = { "WRONG_CHIP",
					   "the image is built for another "
					   "chip: build it for this device's "
					   "target" },
	[OTA_ENGINE_REASON_DOWNGRADE] = { "DOWNGRADE",
					  "secure_version is lower than the "
					  "device allows: raise it in the "
					  "image" },
	[OTA_ENGINE_REASON_SAME_AS_FAILED] = { "SAME_AS_FAILED",
					       "this exact image already "
					       "failed on the device: send a "
					       "fixed build (or force)" },
	[OTA_ENGINE_REASON_SAME_AS_RUNNING] = { "SAME_AS_RUNNING",
						"the device already runs this "
						"exact image: nothing to do "
						"(force to reinstall)" },
	[OTA_ENGINE_REASON_NO_SESSION] = { "NO_SESSION", "no update session: "
							 "send BEGIN first" },
	[OTA_ENGINE_REASON_OUT_OF_RANGE] = { "OUT_OF_RANGE",
					     "data beyond the announced image "
					     "size: check the offsets" },
	[OTA_ENGINE_REASON_BLOCK_CRC] = { "BLOCK_CRC",
					  "a block arrived corrupted: resend "
					  "the whole block" },
	[OTA_ENGINE_REASON_BAD_IMAGE] = { "BAD_IMAGE",
					  "the image is not a valid ESP-IDF "
					  "app image: rebuild it" },
	[OTA_ENGINE_REASON_HASH_MISMATCH] = { "HASH_MISMATCH",
					      "the image in flash does not "
					      "match the announced SHA-256: "
					      "start the transfer again" },
	[OTA_ENGINE_REASON_MANIFEST_MISMATCH] = { "MANIFEST_MISMATCH",
						  "the image's app description "
						  "or chip differs from the "
						  "manifest: fix the sender" },
	[OTA_ENGINE_REASON_INCOMPLETE] = { "INCOMPLETE",
					   "blocks are missing: send them, "
					   "then finish again" },
	[OTA_ENGINE_REASON_NOT_VERIFIED] = { "NOT_VERIFIED",
					     "the image was not verified: "
					     "finish before commit" },
	[OTA_ENGINE_REASON_NOTHING_PENDING] = { "NOTHING_PENDING",
						"the running image is not "
						"pending verification: nothing "
						"to confirm" },
	[OTA_ENGINE_REASON_NO_ROLLBACK_TARGET] = { "NO_ROLLBACK_TARGET",
						   "there is no valid previous "
						   "image to roll back to" },
	[OTA_ENGINE_REASON_NO_BOOTABLE] = { "NO_BOOTABLE",
					    "no slot holds a bootable image: "
					    "flash one over the wire or "
					    "serial" },
	[OTA_ENGINE_REASON_FLASH_ERROR] = { "FLASH_ERROR",
					    "flash read/write/erase failed: "
					    "retry; if it persists the flash "
					    "is failing" },
	[OTA_ENGINE_REASON_SIGNATURE_REQUIRED] = { "SIGNATURE_REQUIRED",
						   "the device only accepts "
						   "signed images: sign it "
						   "(bleota image sign)" },
	[OTA_ENGINE_REASON_BAD_SIGNATURE] = { "BAD_SIGNATURE",
					      "the image's signature does not "
					      "verify: sign it again" },
	[OTA_ENGINE_REASON_UNTRUSTED_KEY] = { "UNTRUSTED_KEY",
					      "the image is signed with a key "
					      "the device does not trust: sign "
					      "it with a trusted key" },
};

const char *ota_engine_reason_name(enum ota_engine_reason r)
{
	if ((size_t)r < sizeof(reasons) / sizeof(reasons[0]) && reasons[r].name)
		return reasons[r].name;
	return "UNKNOWN";
}

const char *ota_engine_reason_str(enum ota_engine_reason r)
{
	if ((size_t)r < sizeof(reasons) / sizeof(reasons[0]) && reasons[r].text)
		return reasons[r].text;
	return "unknown error";
}

int eng_fail(struct ota_engine *eng, enum ota_engine_reason reason, int err,
	     const char *fmt, ...)
{
	va_list ap;

	eng->reason = reason;
	va_start(ap, fmt);
	vsnprintf(eng->detail, sizeof(eng->detail), fmt, ap);
	va_end(ap);
	eng_log(eng, OTA_ENGINE_LOG_ERR, "%s: %s",
		ota_engine_reason_name(reason), eng->detail);
	return err;
}

void eng_log(struct ota_engine *eng, int level, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	if (!eng->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	eng->cfg.log(level, msg, eng->cfg.log_data);
}

static void ok(struct ota_engine *eng)
{
	eng->reason = OTA_ENGINE_REASON_NONE;
	eng->detail[0] = '\0';
}

static bool bit(const uint8_t *map, uint32_t b)
{
	return map[b / 8] & (1u << (b % 8));
}

static void set_bit(uint8_t *map, uint32_t b, bool on)
{
	if (on)
		map[b / 8] |= (uint8_t)(1u << (b % 8));
	else
		map[b / 8] &= (uint8_t) ~(1u << (b % 8));
}

static uint32_t block_len(const struct ota_engine *eng, uint32_t b)
{
	uint32_t start = b * OTA_ENGINE_BLOCK_SIZE;
	uint32_t left = eng->man.image_size - start;

	return left < OTA_ENGINE_BLOCK_SIZE ? left : OTA_ENGINE_BLOCK_SIZE;
}

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

int ota_engine_init(struct ota_engine *eng, const struct ota_engine_cfg *cfg)
{
	struct ota_app_desc desc;
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
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"cannot read the partition table");
	if (rc)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SLOT, -ENODEV,
				"no valid partition table at 0x8000");
	eng->table_ok = true;
	if (eng->layout.has_journal &&
	    ota_journal_init(&eng->jr, cfg->flash, cfg->flash_ctx,
			     eng->layout.journal_off, eng->layout.journal_size))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"cannot read the journal partition");
	if (!eng->layout.has_journal)
		ota_journal_init(&eng->jr, cfg->flash, cfg->flash_ctx, 0, 0);
	if (eng_efuse_load(eng))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"cannot read the anti-rollback counter");
	if (!cfg->inspect_only && eng_recover(eng))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error while recovering otadata");
	/* predict what the bootloader ran, until ota_engine_boot() says */
	rc = eng_boot_select(eng, false, &desc);
	if (rc == -EIO)
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error reading the boot slot");
	if (rc >= OTA_ENGINE_SLOT_FACTORY) {
		eng->running = rc;
		eng->running_desc = desc;
		eng->running_desc_ok = true;
	}
	ok(eng);
	return 0;
}

/* esp_ota_get_next_update_partition(NULL): the slot after the running one. */
static int next_slot(const struct ota_engine *eng)
{
	unsigned int count = eng->layout.ota_count;

	if (!count)
		return -1;
	if (eng->running < 0)
		return 0;
	return (int)(((unsigned int)eng->running + 1) % count);
}

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

/* SHA-256 of [0, len) of @slot. */
static int hash_slot(struct ota_engine *eng, int slot, uint32_t len,
		     uint8_t out[OTA_SHA256_LEN])
{
	uint8_t buf[READ_CHUNK];
	struct ota_sha256 sha;
	uint32_t off, size, pos;

	if (!eng_slot_region(eng, slot, &off, &size) || len > size)
		return -ENOENT;
	ota_sha256_init(&sha);
	for (pos = 0; pos < len; pos += READ_CHUNK) {
		uint32_t n = len - pos < READ_CHUNK ? len - pos : READ_CHUNK;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx, off + pos, buf,
					 n)) {
			ota_sha256_final(&sha, buf);
			return -EIO;
		}
		ota_sha256_update(&sha, buf, n);
	}
	ota_sha256_final(&sha, out);
	return 0;
}

/* The sha of the last image that failed: a FAILED record, or the COMMIT
 * record of the slot otadata calls INVALID/ABORTED. */
static int last_failed(struct ota_engine *eng, uint8_t sha[OTA_SHA256_LEN],
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

static bool same_man(const struct ota_engine_manifest *a,
		     const struct ota_engine_manifest *b)
{
	return a->image_size == b->image_size &&
	       !memcmp(a->sha256, b->sha256, OTA_SHA256_LEN);
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

/*
 * The signature half of pre-flight (docs/ota-engine.md, "Signatures"):
 * which block verifies over which digest with a trusted key. Fills
 * *@out_block on success.
 */
static int check_signature(struct ota_engine *eng,
			   const struct ota_engine_manifest *m,
			   const uint8_t *sig, size_t sig_len,
			   unsigned int flags, unsigned int *out_block)
{
	uint8_t trusted[OTA_ENGINE_MAX_TRUSTED_KEYS][OTA_SHA256_LEN];
	struct ota_sigblock b[OTA_SIGBLOCK_MAX];
	bool bad_trusted = false, untrusted_ok = false, other_digest = false;
	bool required =
		eng->cfg.trusted_key_count || eng->cfg.trust_running_app_key;
	unsigned int ntrusted = 0, nblocks = OTA_SIGBLOCK_MAX, i, k;
	int rc;

	if (!sig || !sig_len) {
		if (required)
			return eng_fail(eng,
					OTA_ENGINE_REASON_SIGNATURE_REQUIRED,
					-EACCES,
					"the image is unsigned and the device "
					"requires a signature");
		return 1; /* unsigned, and that is fine */
	}
	if (sig_len < OTA_SIGBLOCK_LEN || sig_len > OTA_SIGBLOCK_SECTOR_LEN)
		return eng_fail(eng, OTA_ENGINE_REASON_BAD_MANIFEST, -EINVAL,
				"signature sector of %zu bytes", sig_len);
	if (m->image_size % OTA_SIGBLOCK_SECTOR_LEN ||
	    ((flags & OTA_ENGINE_SIG_IN_IMAGE) &&
	     m->image_size < 2 * OTA_SIGBLOCK_SECTOR_LEN))
		return eng_fail(eng, OTA_ENGINE_REASON_BAD_MANIFEST, -EINVAL,
				"a signed image of %" PRIu32
				" bytes is not padded to "
				"4 KiB",
				m->image_size);
	if (!ota_sigblock_parse_sector(sig, sig_len, b))
		return eng_fail(eng, OTA_ENGINE_REASON_BAD_SIGNATURE, -EBADMSG,
				"no valid signature block (block 0: %s)",
				ota_sigblock_strerror(b[0].err));
	if (eng->cfg.trust_running_app_key) {
		/* signed apps without secure boot: block 0, one key */
		nblocks = 1;
		rc = running_key_digest(eng, trusted[0]);
		if (rc < 0)
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "cannot read the running app");
		ntrusted = (unsigned int)rc;
	} else {
		ntrusted = eng->cfg.trusted_key_count;
		if (ntrusted > OTA_ENGINE_MAX_TRUSTED_KEYS)
			ntrusted = OTA_ENGINE_MAX_TRUSTED_KEYS;
		memcpy(trusted, eng->cfg.trusted_key_digest,
		       ntrusted * OTA_SHA256_LEN);
	}
	for (i = 0; i < nblocks; i++) {
		bool trust = !required;

		if (b[i].err)
			continue;
		/* the default layout sends exactly the signed bytes */
		if (!(flags & OTA_ENGINE_SIG_IN_IMAGE) &&
		    b[i].digest_len == OTA_SHA256_LEN &&
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
			*out_block = i;
			return 0;
		}
		if (!rc)
			untrusted_ok = true;
		else if (trust)
			bad_trusted = true;
	}
	if (!bad_trusted && !other_digest && untrusted_ok)
		return eng_fail(eng, OTA_ENGINE_REASON_UNTRUSTED_KEY, -EACCES,
				"%s",
				ntrusted ? "no block is signed with a trusted "
					   "key"
					 : "the running app is unsigned: it "
					   "trusts no key");
	if (other_digest && !bad_trusted)
		return eng_fail(eng, OTA_ENGINE_REASON_BAD_SIGNATURE, -EBADMSG,
				"the signature covers another image than the "
				"manifest's SHA-256");
	return eng_fail(eng, OTA_ENGINE_REASON_BAD_SIGNATURE, -EBADMSG,
			"no signature block verifies");
}

static int preflight(struct ota_engine *eng,
		     const struct ota_engine_manifest *m, const uint8_t *sig,
		     size_t sig_len, unsigned int flags, int *out_slot,
		     unsigned int *out_block)
{
	uint8_t sha[OTA_SHA256_LEN];
	uint32_t off, size, state, floor, need;
	int slot, rc, fslot;

	if (!eng->table_ok)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SLOT, -ENODEV,
				"no valid partition table");
	if (!m->image_size)
		return eng_fail(eng, OTA_ENGINE_REASON_BAD_MANIFEST, -EINVAL,
				"image size is 0");
	slot = next_slot(eng);
	if (slot < 0 || !eng_slot_region(eng, slot, &off, &size))
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SLOT, -ENODEV,
				"the partition table has no OTA app slot");
	if (!eng->cfg.rollback_disabled) {
		if (running_state(eng, &state))
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "cannot read otadata");
		if (state == OTA_IMG_PENDING_VERIFY)
			return eng_fail(eng, OTA_ENGINE_REASON_UNCONFIRMED,
					-EBUSY, "slot %d is PENDING_VERIFY",
					eng->running);
	}
	/* a signed image also needs its signature sector in the slot */
	need = m->image_size;
	if (sig && sig_len && !(flags & OTA_ENGINE_SIG_IN_IMAGE))
		need = m->image_size > UINT32_MAX - OTA_SIGBLOCK_SECTOR_LEN
			       ? UINT32_MAX
			       : m->image_size + OTA_SIGBLOCK_SECTOR_LEN;
	if (need > size || (m->image_size + OTA_ENGINE_BLOCK_SIZE - 1) /
					   OTA_ENGINE_BLOCK_SIZE >
				   OTA_ENGINE_MAX_BLOCKS)
		return eng_fail(eng, OTA_ENGINE_REASON_TOO_LARGE, -ENOSPC,
				"image is %" PRIu32
				" bytes%s, slot ota_%d holds %" PRIu32,
				m->image_size,
				need != m->image_size
					? " + a 4 KiB signature sector"
					: "",
				slot, size);
	if (m->chip_id != eng->cfg.chip_id)
		return eng_fail(eng, OTA_ENGINE_REASON_WRONG_CHIP, -ENOEXEC,
				"image is for %s (chip id %u), device is %s "
				"(chip id %u)",
				ota_image_chip_name(m->chip_id), m->chip_id,
				ota_image_chip_name(eng->cfg.chip_id),
				eng->cfg.chip_id);
	floor = eng->efuse_secure_version;
	if (eng->running_desc_ok && eng->running_desc.secure_version > floor)
		floor = eng->running_desc.secure_version;
	if (m->secure_version < floor)
		return eng_fail(eng, OTA_ENGINE_REASON_DOWNGRADE, -EPERM,
				"image secure_version %" PRIu32 " < %" PRIu32,
				m->secure_version, floor);
	rc = check_signature(eng, m, sig, sig_len, flags, out_block);
	if (rc < 0)
		return rc;
	if (!(flags & OTA_ENGINE_FORCE)) {
		rc = last_failed(eng, sha, &fslot);
		if (rc < 0)
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "cannot read the journal");
		if (rc > 0 && !memcmp(sha, m->sha256, OTA_SHA256_LEN))
			return eng_fail(eng, OTA_ENGINE_REASON_SAME_AS_FAILED,
					-EPERM,
					"this image was rejected before");
		/* cheap filter first: a different version cannot be equal */
		if (eng->running >= OTA_ENGINE_SLOT_FACTORY &&
		    eng->running_desc_ok &&
		    !strncmp(eng->running_desc.version, m->version, 32) &&
		    !strncmp(eng->running_desc.project, m->project, 32)) {
			rc = hash_slot(eng, eng->running, m->image_size, sha);
			if (rc == -EIO)
				return eng_fail(eng,
						OTA_ENGINE_REASON_FLASH_ERROR,
						-EIO, "cannot read slot %d",
						eng->running);
			if (!rc && !memcmp(sha, m->sha256, OTA_SHA256_LEN))
				return eng_fail(
					eng, OTA_ENGINE_REASON_SAME_AS_RUNNING,
					-EALREADY, "slot %d runs %s already",
					eng->running, m->version);
		}
	}
	*out_slot = slot;
	return 0;
}

/* esp_ota_invalidate_inactive_ota_data_slot(): erase the stale entry that
 * points at the slot we are about to overwrite, unless it is the active
 * one (the bootloader's fallback walk copes with that). */
static int invalidate_target_entry(struct ota_engine *eng, int slot)
{
	struct ota_otadata_entry e[2];
	int active, i;

	if (!eng->layout.has_otadata)
		return 0;
	if (eng_read_otadata(eng, e))
		return -EIO;
	active = ota_otadata_active(e);
	for (i = 0; i < 2; i++) {
		if (i == active || e[i].seq == OTA_OTADATA_SEQ_EMPTY)
			continue;
		if (e[i].crc == ota_otadata_crc(e[i].seq) &&
		    (int)ota_otadata_slot(e[i].seq, eng->layout.ota_count) !=
			    slot)
			continue;
		/* keep "this image failed" past the entry that says so */
		if (e[i].crc == ota_otadata_crc(e[i].seq) &&
		    (e[i].state == OTA_IMG_INVALID ||
		     e[i].state == OTA_IMG_ABORTED)) {
			struct ota_journal_rec cr;
			int rc = ota_journal_find_last(
				&eng->jr, OTA_JOURNAL_REC_COMMIT, slot, &cr);

			if (rc < 0)
				return -EIO;
			if (rc > 0 &&
			    ota_journal_append(&eng->jr, OTA_JOURNAL_REC_FAILED,
					       (uint8_t)OTA_ENGINE_REASON_NONE,
					       (uint8_t)slot, cr.val,
					       cr.payload, NULL))
				return -EIO;
		}
		/* stale or torn entry for the target: nobody relies on it */
		if (eng->cfg.flash->erase(eng->cfg.flash_ctx,
					  eng->layout.otadata_off +
						  (uint32_t)i *
							  OTA_FLASH_SECTOR_SIZE,
					  OTA_FLASH_SECTOR_SIZE))
			return -EIO;
	}
	return 0;
}

static void stream_reset(struct ota_engine *eng)
{
	struct ota_image_cfg cfg = { .chip_id = eng->cfg.chip_id,
				     .chip_rev = eng->cfg.chip_rev };
	uint32_t off, size;

	if (eng_slot_region(eng, (int)eng->target, &off, &size))
		cfg.max_len = size;
	ota_image_verify_init(&eng->iv, &cfg);
	eng->stream_next = 0;
	eng->stream_failed = false;
	eng->stream_on = true;
}

/* Re-checks every journalled block of a resumable session. */
static int resume(struct ota_engine *eng)
{
	uint8_t buf[READ_CHUNK];
	uint32_t off, size, b, pos;

	eng_slot_region(eng, (int)eng->target, &off, &size);
	for (b = 0; b < eng->nblocks; b++) {
		uint32_t want, got = 0, len = block_len(eng, b);

		if (ota_journal_resume_get(&eng->jr, b, &want))
			return -EIO;
		if (want == OTA_JOURNAL_BLOCK_NONE ||
		    want == OTA_JOURNAL_BLOCK_REVOKED)
			continue;
		for (pos = 0; pos < len; pos += READ_CHUNK) {
			uint32_t n =
				len - pos < READ_CHUNK ? len - pos : READ_CHUNK;

			if (eng->cfg.flash->read(
				    eng->cfg.flash_ctx,
				    off + b * OTA_ENGINE_BLOCK_SIZE + pos, buf,
				    n))
				return -EIO;
			got = ota_crc_ieee(got, buf, n);
		}
		if (got == want) {
			set_bit(eng->verified, b, true);
			continue;
		}
		eng_log(eng, OTA_ENGINE_LOG_WARN,
			"resume: block %" PRIu32
			" changed since it was verified",
			b);
		if (ota_journal_resume_revoke(&eng->jr, b))
			return -EIO;
	}
	return 0;
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
	struct ota_journal_session js;
	unsigned int block = 0;
	int slot = 0, err;
	bool resumable;

	if (eng->session == OTA_ENGINE_SESSION_RECEIVING ||
	    eng->session == OTA_ENGINE_SESSION_VERIFIED) {
		if (same_man(&eng->man, m) && !(flags & OTA_ENGINE_NO_RESUME)) {
			ok(eng);
			return 0;
		}
		return eng_fail(eng, OTA_ENGINE_REASON_BUSY, -EBUSY,
				"a session for another image is active");
	}
	/* the target slot now holds the committed image: keep it */
	if (eng->session == OTA_ENGINE_SESSION_COMMITTED)
		return eng_fail(eng, OTA_ENGINE_REASON_BUSY, -EBUSY,
				"an update is committed: reboot to run it");
	if (!sig)
		sig_len = 0;
	err = preflight(eng, m, sig, sig_len, flags, &slot, &block);
	if (err)
		return err;

	/* from here on flash may change */
	eng->sig_on = sig_len != 0;
	eng->sig_in_image = eng->sig_on && (flags & OTA_ENGINE_SIG_IN_IMAGE);
	eng->sig_block = block;
	eng->sig_region = m->image_size;
	if (eng->sig_in_image)
		eng->sig_region -= OTA_SIGBLOCK_SECTOR_LEN;
	eng->sig_len = sig_len < sizeof(eng->sig) ? sig_len : sizeof(eng->sig);
	memset(eng->sig, 0xff, sizeof(eng->sig));
	if (eng->sig_on)
		memcpy(eng->sig, sig, eng->sig_len);
	eng->man = *m;
	eng->target = (unsigned int)slot;
	eng->nblocks = (m->image_size + OTA_ENGINE_BLOCK_SIZE - 1) /
		       OTA_ENGINE_BLOCK_SIZE;
	memset(eng->verified, 0, sizeof(eng->verified));
	memset(eng->erased, 0, sizeof(eng->erased));
	resumable = !(flags & OTA_ENGINE_NO_RESUME) && eng->jr.resume_open &&
		    eng->jr.sess.slot == (uint8_t)slot &&
		    eng->jr.sess.image_size == m->image_size &&
		    eng->jr.sess.nblocks == eng->nblocks &&
		    !memcmp(eng->jr.sess.sha256, m->sha256, OTA_SHA256_LEN);
	err = invalidate_target_entry(eng, slot);
	if (!err && resumable) {
		err = resume(eng);
	} else if (!err) {
		memset(&js, 0, sizeof(js));
		js.slot = (uint8_t)slot;
		js.image_size = m->image_size;
		js.nblocks = eng->nblocks;
		memcpy(js.sha256, m->sha256, OTA_SHA256_LEN);
		err = ota_journal_resume_open(&eng->jr, &js);
		if (err == -ENOSPC) {
			/* bigger than the journal: a RAM-only session */
			ota_journal_resume_close(&eng->jr);
			err = 0;
		}
	}
	if (err) {
		memset(eng->verified, 0, sizeof(eng->verified));
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error starting the session");
	}
	eng->session = OTA_ENGINE_SESSION_RECEIVING;
	stream_reset(eng);
	eng_log(eng, OTA_ENGINE_LOG_INFO,
		"begin: %" PRIu32 " bytes into ota_%d%s%s", m->image_size, slot,
		eng->sig_on ? " (signed)" : "", resumable ? " (resumed)" : "");
	ok(eng);
	return 0;
}

static int erase_block(struct ota_engine *eng, uint32_t slot_off, uint32_t b)
{
	if (eng->cfg.flash->erase(eng->cfg.flash_ctx,
				  slot_off + b * OTA_ENGINE_BLOCK_SIZE,
				  OTA_ENGINE_BLOCK_SIZE))
		return -EIO;
	set_bit(eng->erased, b, true);
	return 0;
}

/* Programs @len bytes at @addr unless some would need a 0 -> 1 change. */
static int program_checked(struct ota_engine *eng, uint32_t addr,
			   const uint8_t *data, size_t len, bool *conflict)
{
	uint8_t old[READ_CHUNK];
	size_t pos, i;

	*conflict = false;
	for (pos = 0; pos < len; pos += READ_CHUNK) {
		size_t n = len - pos < READ_CHUNK ? len - pos : READ_CHUNK;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx,
					 addr + (uint32_t)pos, old, n))
			return -EIO;
		for (i = 0; i < n; i++) {
			if ((old[i] & data[pos + i]) != data[pos + i]) {
				*conflict = true;
				return 0;
			}
		}
	}
	return eng->cfg.flash->write(eng->cfg.flash_ctx, addr, data, len) ? -EIO
									  : 0;
}

int ota_engine_write(struct ota_engine *eng, uint32_t offset,
		     const uint8_t *data, size_t len)
{
	uint32_t slot_off, slot_size;

	if (eng->session != OTA_ENGINE_SESSION_RECEIVING)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SESSION, -EPROTO,
				"write without an active session");
	if (offset > eng->man.image_size || len > eng->man.image_size - offset)
		return eng_fail(eng, OTA_ENGINE_REASON_OUT_OF_RANGE, -EINVAL,
				"write [%" PRIu32 ", +%zu) beyond the %" PRIu32
				"-byte image",
				offset, len, eng->man.image_size);
	eng_slot_region(eng, (int)eng->target, &slot_off, &slot_size);
	while (len) {
		uint32_t b = offset / OTA_ENGINE_BLOCK_SIZE;
		uint32_t in = offset % OTA_ENGINE_BLOCK_SIZE;
		size_t n = OTA_ENGINE_BLOCK_SIZE - in;
		bool conflict;
		int err;

		if (n > len)
			n = len;
		if (!bit(eng->verified, b)) {
			if (!bit(eng->erased, b) &&
			    erase_block(eng, slot_off, b))
				goto err_io;
			err = program_checked(eng, slot_off + offset, data, n,
					      &conflict);
			if (!err && conflict) {
				/* differs from what landed: start the block over */
				eng_log(eng, OTA_ENGINE_LOG_WARN,
					"block %" PRIu32
					" rewritten with other data: "
					"erasing it",
					b);
				err = erase_block(eng, slot_off, b);
				if (!err)
					err = program_checked(
						eng, slot_off + offset, data, n,
						&conflict);
			}
			if (err)
				goto err_io;
		}
		offset += (uint32_t)n;
		data += n;
		len -= n;
	}
	ok(eng);
	return 0;
err_io:
	return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
			"flash error writing at image offset 0x%" PRIx32,
			offset);
}

/* Reads block @b in chunks, feeding @crc and optionally the stream. */
static int read_block(struct ota_engine *eng, uint32_t b, uint32_t *crc,
		      bool feed_stream)
{
	uint8_t buf[READ_CHUNK];
	uint32_t off, size, pos, len = block_len(eng, b);

	eng_slot_region(eng, (int)eng->target, &off, &size);
	*crc = 0;
	for (pos = 0; pos < len; pos += READ_CHUNK) {
		uint32_t n = len - pos < READ_CHUNK ? len - pos : READ_CHUNK;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx,
					 off + b * OTA_ENGINE_BLOCK_SIZE + pos,
					 buf, n))
			return -EIO;
		*crc = ota_crc_ieee(*crc, buf, n);
		if (feed_stream) {
			if (!eng->stream_failed &&
			    ota_image_verify_update(&eng->iv, buf, n))
				eng->stream_failed = true;
		}
	}
	return 0;
}

/* Fixed-size NUL-padded field compare, as esp_app_desc_t carries them. */
static bool field_eq(const uint8_t raw[32], const char *s)
{
	return !strncmp((const char *)raw, s, 32) &&
	       ota_strnlen((const char *)raw, 32) == ota_strnlen(s, 32);
}

static int desc_vs_manifest(struct ota_engine *eng,
			    const struct ota_image_info *in)
{
	const struct ota_engine_manifest *m = &eng->man;

	if (in->chip_id != m->chip_id)
		return eng_fail(eng, OTA_ENGINE_REASON_MANIFEST_MISMATCH,
				-ENOEXEC,
				"image header says chip %u, manifest %u",
				in->chip_id, m->chip_id);
	/* VERSION and PROJECT are optional manifest fields: empty = absent */
	if (m->version[0] && !field_eq(in->desc.version_raw, m->version))
		return eng_fail(eng, OTA_ENGINE_REASON_MANIFEST_MISMATCH,
				-ENOEXEC,
				"app version '%.32s', manifest '%.32s'",
				in->desc.version, m->version);
	if (m->project[0] && !field_eq(in->desc.project_raw, m->project))
		return eng_fail(eng, OTA_ENGINE_REASON_MANIFEST_MISMATCH,
				-ENOEXEC,
				"app project '%.32s', manifest '%.32s'",
				in->desc.project, m->project);
	if (in->desc.secure_version != m->secure_version)
		return eng_fail(
			eng, OTA_ENGINE_REASON_MANIFEST_MISMATCH, -ENOEXEC,
			"app secure_version %" PRIu32 ", manifest %" PRIu32,
			in->desc.secure_version, m->secure_version);
	return 0;
}

static int record_failed(struct ota_engine *eng, enum ota_engine_reason why)
{
	return ota_journal_append(&eng->jr, OTA_JOURNAL_REC_FAILED,
				  (uint8_t)why, (uint8_t)eng->target,
				  eng->man.image_size, eng->man.sha256, NULL);
}

static void end_session(struct ota_engine *eng)
{
	ota_journal_resume_close(&eng->jr);
	eng->session = OTA_ENGINE_SESSION_IDLE;
}

/* Advances the in-order stream over verified blocks; -ENOEXEC if doomed. */
static int stream_advance(struct ota_engine *eng)
{
	char text[OTA_ENGINE_DETAIL_LEN];
	uint32_t crc;

	while (eng->stream_next < eng->nblocks &&
	       bit(eng->verified, eng->stream_next) && !eng->stream_failed) {
		if (read_block(eng, eng->stream_next, &crc, true))
			return -EIO;
		eng->stream_next++;
	}
	if (eng->stream_failed && eng->iv.err != OTA_IMAGE_OK) {
		/* a verified prefix that is invalid stays invalid */
		if (eng->iv.err == OTA_IMAGE_ERR_CHIP)
			return eng_fail(eng,
					OTA_ENGINE_REASON_MANIFEST_MISMATCH,
					-ENOEXEC, "%s",
					ota_image_describe(&eng->iv, text,
							   sizeof(text)));
		return eng_fail(
			eng, OTA_ENGINE_REASON_BAD_IMAGE, -ENOEXEC, "%s",
			ota_image_describe(&eng->iv, text, sizeof(text)));
	}
	if (eng->iv.info.has_desc && desc_vs_manifest(eng, &eng->iv.info)) {
		eng->stream_failed = true;
		return -ENOEXEC;
	}
	return 0;
}

int ota_engine_block_verify(struct ota_engine *eng, uint32_t block,
			    uint32_t crc32)
{
	uint32_t got;

	if (eng->session != OTA_ENGINE_SESSION_RECEIVING)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SESSION, -EPROTO,
				"block verify without an active session");
	if (block >= eng->nblocks)
		return eng_fail(eng, OTA_ENGINE_REASON_OUT_OF_RANGE, -EINVAL,
				"block %" PRIu32 " beyond the %" PRIu32
				"-block image",
				block, eng->nblocks);
	if (read_block(eng, block, &got, false))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error reading block %" PRIu32, block);
	if (got != crc32) {
		if (bit(eng->verified, block) &&
		    ota_journal_resume_revoke(&eng->jr, block))
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "flash error in the journal");
		set_bit(eng->verified, block, false);
		set_bit(eng->erased, block, false);
		return eng_fail(eng, OTA_ENGINE_REASON_BLOCK_CRC, -EILSEQ,
				"block %" PRIu32 ": CRC 0x%08" PRIx32
				", expected 0x%08" PRIx32,
				block, got, crc32);
	}
	if (!bit(eng->verified, block)) {
		if (ota_journal_resume_set(&eng->jr, block, got))
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "flash error in the journal");
		set_bit(eng->verified, block, true);
	}
	if (eng->stream_on &&
	    (block == eng->stream_next || eng->stream_failed)) {
		int err = stream_advance(eng);

		if (err == -EIO)
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "flash error reading the image");
		if (err)
			return err;
	}
	ok(eng);
	return 0;
}

bool ota_engine_block_is_verified(const struct ota_engine *eng, uint32_t block)
{
	if (eng->session != OTA_ENGINE_SESSION_RECEIVING &&
	    eng->session != OTA_ENGINE_SESSION_VERIFIED)
		return false;
	return block < eng->nblocks && bit(eng->verified, block);
}

/* Streams the signed region into SHA-256 or SHA-384 as the block needs. */
struct sig_hash {
	bool on, p384;
	uint32_t region;
	struct ota_sha256 s256;
	struct ota_sha384 s384;
};

static void sig_hash_update(struct sig_hash *h, uint32_t pos,
			    const uint8_t *buf, uint32_t n)
{
	if (!h->on || pos >= h->region)
		return;
	if (n > h->region - pos)
		n = h->region - pos;
	if (h->p384)
		ota_sha384_update(&h->s384, buf, n);
	else
		ota_sha256_update(&h->s256, buf, n);
}

/*
 * Finish of a signed session: the image must hash to the accepted block's
 * digest, end where IDF looks for the sector, and the sector in flash must
 * be the one BEGIN carried (written here in the default layout).
 */
static int finish_signature(struct ota_engine *eng, struct sig_hash *h,
			    const struct ota_sigblock *blk)
{
	uint8_t digest[OTA_SIGBLOCK_DIGEST_MAX], buf[READ_CHUNK];
	uint32_t off, size, at, pos;

	if (h->p384)
		ota_sha384_final(&h->s384, digest);
	else
		ota_sha256_final(&h->s256, digest);
	if (memcmp(digest, blk->digest, blk->digest_len))
		return eng_fail(eng, OTA_ENGINE_REASON_BAD_SIGNATURE, -EBADMSG,
				"the %" PRIu32
				" signed bytes do not hash to the digest "
				"signature block %u signs",
				h->region, eng->sig_block);
	if (ota_sigblock_sector_offset(eng->iv.info.image_len) != h->region)
		return eng_fail(
			eng, OTA_ENGINE_REASON_BAD_SIGNATURE, -EBADMSG,
			"the app image ends at %" PRIu32 ", so its signature "
			"sector belongs at 0x%" PRIx32 ", not 0x%" PRIx32,
			eng->iv.info.image_len,
			ota_sigblock_sector_offset(eng->iv.info.image_len),
			h->region);
	eng_slot_region(eng, (int)eng->target, &off, &size);
	at = off + h->region;
	if (!eng->sig_in_image) {
		/* the sector lies after the image's last block: ours */
		if (eng->cfg.flash->erase(eng->cfg.flash_ctx, at,
					  OTA_SIGBLOCK_SECTOR_LEN) ||
		    eng->cfg.flash->write(eng->cfg.flash_ctx, at, eng->sig,
					  eng->sig_len))
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO,
					"flash error writing the signature "
					"sector");
	}
	for (pos = 0; pos < eng->sig_len; pos += READ_CHUNK) {
		uint32_t n = (uint32_t)eng->sig_len - pos < READ_CHUNK
				     ? (uint32_t)eng->sig_len - pos
				     : READ_CHUNK;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx, at + pos, buf, n))
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO,
					"flash error reading the signature "
					"sector");
		if (memcmp(buf, eng->sig + pos, n))
			return eng_fail(eng, OTA_ENGINE_REASON_BAD_SIGNATURE,
					-EBADMSG,
					"the signature sector in flash differs "
					"from the one BEGIN carried");
	}
	return 0;
}

int ota_engine_finish(struct ota_engine *eng)
{
	char text[OTA_ENGINE_DETAIL_LEN];
	uint8_t sha[OTA_SHA256_LEN], buf[READ_CHUNK];
	struct ota_sigblock blk[OTA_SIGBLOCK_MAX];
	struct ota_sha256 ctx;
	struct sig_hash sh;
	uint32_t off, size, pos, b, missing = 0;
	bool image_ok = true;

	if (eng->session == OTA_ENGINE_SESSION_VERIFIED) {
		ok(eng);
		return 0;
	}
	if (eng->session != OTA_ENGINE_SESSION_RECEIVING)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SESSION, -EPROTO,
				"finish without an active session");
	for (b = 0; b < eng->nblocks; b++)
		if (!bit(eng->verified, b) && !bit(eng->erased, b))
			missing++;
	if (eng->stream_on && eng->stream_failed && missing) {
		/* the verified prefix already proved it: say so, end it */
		int err = stream_advance(eng);
		enum ota_engine_reason r = eng->reason;

		end_session(eng);
		eng->reason = r;
		return err;
	}
	if (missing)
		return eng_fail(eng, OTA_ENGINE_REASON_INCOMPLETE, -EAGAIN,
				"%" PRIu32 " of %" PRIu32
				" blocks never written",
				missing, eng->nblocks);

	/* one pass over flash: the ESP format and the whole-file hash */
	eng_slot_region(eng, (int)eng->target, &off, &size);
	stream_reset(eng);
	eng->stream_on = false; /* iv now serves the full pass */
	memset(&sh, 0, sizeof(sh));
	if (eng->sig_on) {
		/* begin accepted this block: it parses */
		ota_sigblock_parse_sector(eng->sig, eng->sig_len, blk);
		sh.on = true;
		sh.p384 = blk[eng->sig_block].digest_len == OTA_SHA384_LEN;
		sh.region = eng->sig_region;
		if (sh.p384)
			ota_sha384_init(&sh.s384);
		else
			ota_sha256_init(&sh.s256);
	}
	ota_sha256_init(&ctx);
	for (pos = 0; pos < eng->man.image_size; pos += READ_CHUNK) {
		uint32_t n = eng->man.image_size - pos < READ_CHUNK
				     ? eng->man.image_size - pos
				     : READ_CHUNK;

		if (eng->cfg.flash->read(eng->cfg.flash_ctx, off + pos, buf,
					 n)) {
			ota_sha256_final(&ctx, sha);
			return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR,
					-EIO, "flash error reading the image");
		}
		ota_sha256_update(&ctx, buf, n);
		sig_hash_update(&sh, pos, buf, n);
		if (image_ok && ota_image_verify_update(&eng->iv, buf, n))
			image_ok = false;
	}
	ota_sha256_final(&ctx, sha);
	if (image_ok && ota_image_verify_final(&eng->iv))
		image_ok = false;

	if (memcmp(sha, eng->man.sha256, OTA_SHA256_LEN)) {
		uint32_t unverified = 0;

		for (b = 0; b < eng->nblocks; b++) {
			if (bit(eng->verified, b))
				continue;
			/* the next write into it starts the block over */
			set_bit(eng->erased, b, false);
			unverified++;
		}
		if (unverified)
			/* keep what the sender proved; it resends the rest */
			return eng_fail(eng, OTA_ENGINE_REASON_HASH_MISMATCH,
					-EILSEQ,
					"SHA-256 differs; %" PRIu32
					" of %" PRIu32 " blocks were never "
					"verified: resend them",
					unverified, eng->nblocks);
		end_session(eng);
		return eng_fail(eng, OTA_ENGINE_REASON_HASH_MISMATCH, -EILSEQ,
				"SHA-256 of the %" PRIu32
				" bytes in ota_%u differs "
				"from the manifest",
				eng->man.image_size, eng->target);
	}
	if (!image_ok) {
		int err;

		ota_image_describe(&eng->iv, text, sizeof(text));
		if (eng->iv.err == OTA_IMAGE_ERR_CHIP) {
			err = eng_fail(eng, OTA_ENGINE_REASON_MANIFEST_MISMATCH,
				       -ENOEXEC, "%s", text);
		} else {
			err = eng_fail(eng, OTA_ENGINE_REASON_BAD_IMAGE,
				       -ENOEXEC, "%s", text);
			record_failed(eng, eng->reason);
		}
		end_session(eng);
		return err;
	}
	if (desc_vs_manifest(eng, &eng->iv.info)) {
		/* the sender's manifest is wrong, not the image: no record */
		end_session(eng);
		return -ENOEXEC;
	}
	if (sh.on) {
		int err = finish_signature(eng, &sh, &blk[eng->sig_block]);

		if (err == -EIO)
			return err; /* session kept: finish again */
		if (err) {
			/* not recorded as failed: a good signature may follow */
			end_session(eng);
			return err;
		}
	}
	eng->session = OTA_ENGINE_SESSION_VERIFIED;
	eng_log(eng, OTA_ENGINE_LOG_INFO, "finish: ota_%u holds %s %s",
		eng->target, eng->iv.info.desc.project,
		eng->iv.info.desc.version);
	ok(eng);
	return 0;
}

int ota_engine_commit(struct ota_engine *eng)
{
	struct ota_otadata_entry e[2], n;
	unsigned int sector;
	uint32_t seq;
	bool in_place;
	int err;

	if (eng->session == OTA_ENGINE_SESSION_COMMITTED) {
		ok(eng);
		return 0;
	}
	if (eng->session != OTA_ENGINE_SESSION_VERIFIED)
		return eng_fail(eng, OTA_ENGINE_REASON_NOT_VERIFIED, -EPROTO,
				"commit before a successful finish");
	if (!eng->layout.has_otadata)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SLOT, -ENODEV,
				"no otadata partition to select the slot with");
	if (eng_read_otadata(eng, e))
		goto err_io;
	if (ota_otadata_plan_set_boot(e, eng->layout.ota_count, eng->target,
				      &sector, &seq, &in_place))
		return eng_fail(eng, OTA_ENGINE_REASON_NO_SLOT, -ENODEV,
				"cannot select ota_%u", eng->target);
	/* remember which image the slot holds before otadata can boot it */
	if (ota_journal_append(&eng->jr, OTA_JOURNAL_REC_COMMIT,
			       (uint8_t)eng->target, 0, eng->man.image_size,
			       eng->man.sha256, NULL))
		goto err_io;
	ota_otadata_make(&n, seq,
			 eng->cfg.rollback_disabled ? OTA_IMG_UNDEFINED
						    : OTA_IMG_NEW);
	if (in_place)
		err = eng_otadata_rewrite(eng, sector, &n, ENG_INTENT_PLAIN);
	else
		err = eng_otadata_write_inactive(eng, sector, &n);
	if (err)
		goto err_io;
	/* a failure here only leaves a journal that resume will re-check */
	ota_journal_resume_close(&eng->jr);
	eng->session = OTA_ENGINE_SESSION_COMMITTED;
	eng_log(eng, OTA_ENGINE_LOG_INFO,
		"commit: otadata sector %u seq %" PRIu32 " -> ota_%u", sector,
		seq, eng->target);
	ok(eng);
	return 0;
err_io:
	return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
			"flash error writing otadata");
}

int ota_engine_confirm(struct ota_engine *eng)
{
	struct ota_otadata_entry e[2];
	int i;

	if (!eng->layout.has_otadata || eng->running < 0)
		return eng_fail(eng, OTA_ENGINE_REASON_NOTHING_PENDING,
				-EALREADY, "not running from an OTA slot");
	if (eng_read_otadata(eng, e))
		goto err_io;
	i = eng_entry_for_slot(eng, e, eng->running);
	if (i >= 0 && e[i].state == OTA_IMG_VALID) {
		ok(eng);
		return 0;
	}
	if (i < 0 || e[i].state != OTA_IMG_PENDING_VERIFY)
		return eng_fail(eng, OTA_ENGINE_REASON_NOTHING_PENDING,
				-EALREADY, "ota_%d is %s", eng->running,
				i < 0 ? "not in otadata"
				      : ota_otadata_state_str(e[i].state));
	e[i].state = OTA_IMG_VALID;
	if (eng_otadata_rewrite(eng, (unsigned int)i, &e[i], ENG_INTENT_PLAIN))
		goto err_io;
	/* esp_ota_mark_app_valid_cancel_rollback() burns the eFuse next */
	if (eng->running_desc_ok &&
	    eng_efuse_raise(eng, eng->running_desc.secure_version))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error raising the anti-rollback "
				"counter");
	eng_log(eng, OTA_ENGINE_LOG_INFO, "confirm: ota_%d is VALID",
		eng->running);
	ok(eng);
	return 0;
err_io:
	return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
			"flash error writing otadata");
}

int ota_engine_rollback(struct ota_engine *eng)
{
	struct ota_otadata_entry e[2];
	bool possible = false;
	int i, other;

	if (!eng->layout.has_otadata || eng->running < 0)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_ROLLBACK_TARGET,
				-ENOENT, "not running from an OTA slot");
	if (eng_read_otadata(eng, e))
		goto err_io;
	i = eng_entry_for_slot(eng, e, eng->running);
	if (i < 0)
		return eng_fail(eng, OTA_ENGINE_REASON_NO_ROLLBACK_TARGET,
				-ENOENT, "ota_%d has no otadata entry",
				eng->running);
	/* esp_ota_check_rollback_is_possible(); iv is reused for it */
	eng->stream_on = false;
	other = 1 - i;
	if (ota_otadata_entry_valid(&e[other])) {
		int slot = (int)ota_otadata_slot(e[other].seq,
						 eng->layout.ota_count);
		int err = slot != eng->running
				  ? eng_verify_slot(eng, slot, &eng->iv, NULL)
				  : -ENOEXEC;

		if (err == -EIO)
			goto err_io;
		/* anti-rollback: the bootloader would skip an older image */
		possible = !err && eng->iv.info.desc.secure_version >=
					   eng->efuse_secure_version;
	} else if (eng->layout.has_factory) {
		int err = eng_verify_slot(eng, OTA_ENGINE_SLOT_FACTORY,
					  &eng->iv, NULL);

		if (err == -EIO)
			goto err_io;
		possible = !err && eng->iv.info.desc.secure_version >=
					   eng->efuse_secure_version;
	}
	if (!possible)
		return eng_fail(
			eng, OTA_ENGINE_REASON_NO_ROLLBACK_TARGET, -ENOENT,
			"no valid previous image besides ota_%d", eng->running);
	e[i].state = OTA_IMG_INVALID;
	if (eng_otadata_rewrite(eng, (unsigned int)i, &e[i], ENG_INTENT_PLAIN))
		goto err_io;
	eng_log(eng, OTA_ENGINE_LOG_INFO,
		"rollback: ota_%d marked INVALID, reboot to run the previous "
		"image",
		eng->running);
	ok(eng);
	return 0;
err_io:
	return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
			"flash error writing otadata");
}

int ota_engine_abort(struct ota_engine *eng)
{
	eng->session = OTA_ENGINE_SESSION_IDLE;
	if (ota_journal_resume_close(&eng->jr))
		return eng_fail(eng, OTA_ENGINE_REASON_FLASH_ERROR, -EIO,
				"flash error closing the journal");
	ok(eng);
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
	out->other_slot =
		next_slot(eng) >= 0 ? next_slot(eng) : OTA_ENGINE_SLOT_NONE;
	out->last_invalid_slot = OTA_ENGINE_SLOT_NONE;
	if (eng->running_desc_ok) {
		copy_desc_str(out->running_version, eng->running_desc.version);
		copy_desc_str(out->running_project, eng->running_desc.project);
		out->running_secure_version = eng->running_desc.secure_version;
	}
	out->session = eng->session;
	out->image_size = eng->session ? eng->man.image_size : 0;
	for (b = 0; eng->session && b < eng->nblocks; b++)
		if (bit(eng->verified, b))
			out->bytes_verified += block_len(eng, b);
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
	rc = last_failed(eng, out->last_invalid_sha256,
			 &out->last_invalid_slot);
	if (rc < 0)
		return -EIO;
	out->has_last_invalid = rc > 0;
	return 0;
}

int ota_engine_info(const struct ota_engine *eng, struct ota_engine_info *out)
{
	uint32_t off;
	int slot = next_slot(eng);

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

enum ota_engine_reason ota_engine_last_reason(const struct ota_engine *eng)
{
	return eng->reason;
}

const char *ota_engine_last_detail(const struct ota_engine *eng)
{
	return eng->detail;
}
