/* SPDX-License-Identifier: MIT */
/*
 * One subtlety: the receiver may end a session and keep its blocks (idle
 * timeout, disconnect) and later BEGIN another image. The engine keeps a
 * RAM session until told otherwise and would call that BUSY, so a BEGIN
 * for a different image first aborts the engine's old session; a BEGIN for
 * the same image resumes it.
 */
#include "peripheral/engine_sink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/hlog.h"

static struct engine_sink *S(void *ctx)
{
	return ctx;
}

void engine_sink_init(struct engine_sink *s, struct ota_engine *eng)
{
	memset(s, 0, sizeof(*s));
	s->eng = eng;
}

enum ota_status engine_sink_status_of(enum ota_engine_reason r)
{
	switch (r) {
	case OTA_ENGINE_REASON_NONE:
		return OTA_STATUS_OK;
	case OTA_ENGINE_REASON_BUSY:
		return OTA_STATUS_BUSY;
	case OTA_ENGINE_REASON_UNCONFIRMED:
		return OTA_STATUS_PENDING_CONFIRM;
	case OTA_ENGINE_REASON_BAD_MANIFEST:
		return OTA_STATUS_BAD_MANIFEST;
	case OTA_ENGINE_REASON_NO_SLOT:
		return OTA_STATUS_NO_SLOT;
	case OTA_ENGINE_REASON_TOO_LARGE:
		return OTA_STATUS_TOO_LARGE;
	case OTA_ENGINE_REASON_WRONG_CHIP:
		return OTA_STATUS_WRONG_CHIP;
	case OTA_ENGINE_REASON_DOWNGRADE:
		return OTA_STATUS_DOWNGRADE;
	case OTA_ENGINE_REASON_SAME_AS_FAILED:
		return OTA_STATUS_SAME_AS_FAILED;
	case OTA_ENGINE_REASON_SAME_AS_RUNNING:
		return OTA_STATUS_SAME_AS_RUNNING;
	case OTA_ENGINE_REASON_NO_SESSION:
		return OTA_STATUS_BAD_STATE;
	case OTA_ENGINE_REASON_OUT_OF_RANGE:
		return OTA_STATUS_INTERNAL;
	case OTA_ENGINE_REASON_BLOCK_CRC:
		return OTA_STATUS_HASH_MISMATCH;
	case OTA_ENGINE_REASON_BAD_IMAGE:
		return OTA_STATUS_BAD_IMAGE;
	case OTA_ENGINE_REASON_HASH_MISMATCH:
		return OTA_STATUS_HASH_MISMATCH;
	case OTA_ENGINE_REASON_MANIFEST_MISMATCH:
		return OTA_STATUS_MANIFEST_MISMATCH;
	case OTA_ENGINE_REASON_INCOMPLETE:
		return OTA_STATUS_INCOMPLETE;
	case OTA_ENGINE_REASON_NOT_VERIFIED:
		return OTA_STATUS_NOT_VERIFIED;
	case OTA_ENGINE_REASON_NOTHING_PENDING:
		return OTA_STATUS_NOTHING_PENDING;
	case OTA_ENGINE_REASON_NO_ROLLBACK_TARGET:
		return OTA_STATUS_NO_ROLLBACK_TARGET;
	case OTA_ENGINE_REASON_NO_BOOTABLE:
		return OTA_STATUS_INTERNAL;
	case OTA_ENGINE_REASON_FLASH_ERROR:
		return OTA_STATUS_FLASH_ERROR;
	case OTA_ENGINE_REASON_SIGNATURE_REQUIRED:
		return OTA_STATUS_SIGNATURE_REQUIRED;
	case OTA_ENGINE_REASON_BAD_SIGNATURE:
		return OTA_STATUS_BAD_SIGNATURE;
	case OTA_ENGINE_REASON_UNTRUSTED_KEY:
		return OTA_STATUS_UNTRUSTED_KEY;
	}
	return OTA_STATUS_INTERNAL;
}

/* The status for a failed engine call, logging the engine's detail line. */
static enum ota_status failed(struct engine_sink *s, const char *what)
{
	enum ota_engine_reason r = ota_engine_last_reason(s->eng);
	const char *detail = ota_engine_last_detail(s->eng);

	hlog_info("%s refused: %s%s%s", what, ota_engine_reason_name(r),
		  *detail ? ": " : "", detail);
	return engine_sink_status_of(r);
}

static uint32_t refusal_detail(struct engine_sink *s, enum ota_status st)
{
	struct ota_engine_info info;
	struct ota_engine_status es;

	if (st == OTA_STATUS_TOO_LARGE)
		return ota_engine_info(s->eng, &info) == 0 ? info.slot_size : 0;
	if (st == OTA_STATUS_WRONG_CHIP)
		return s->eng->cfg.chip_id;
	if (st == OTA_STATUS_DOWNGRADE && ota_engine_status(s->eng, &es) == 0)
		return es.efuse_secure_version > es.running_secure_version
			       ? es.efuse_secure_version
			       : es.running_secure_version;
	return (uint32_t)ota_engine_last_reason(s->eng);
}

static void to_engine_manifest(const struct ota_manifest *m,
			       struct ota_engine_manifest *em, uint16_t chip)
{
	memset(em, 0, sizeof(*em));
	em->image_size = m->image_size;
	memcpy(em->sha256, m->sha256, sizeof(em->sha256));
	/* NUL-padded 32-byte fields, as esp_app_desc_t keeps them */
	memcpy(em->version, m->version,
	       strnlen(m->version, sizeof(em->version)));
	memcpy(em->project, m->project,
	       strnlen(m->project, sizeof(em->project)));
	/* without the fields, the image itself is checked at FINISH */
	em->chip_id = m->has_chip_id ? m->chip_id : chip;
	em->secure_version = m->has_secure_version ? m->secure_version : 0;
}

static enum ota_status sink_begin(void *ctx, const struct ota_manifest *m,
				  uint8_t flags, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);
	struct ota_engine_manifest em;
	struct ota_engine_status es;
	unsigned int ef = 0;
	enum ota_status st;

	to_engine_manifest(m, &em, s->eng->cfg.chip_id);
	if (flags & OTA_BEGIN_FORCE)
		ef |= OTA_ENGINE_FORCE;
	if (flags & OTA_BEGIN_FRESH)
		ef |= OTA_ENGINE_NO_RESUME;
	s->committed_again = false;
	/* one status read (it reads otadata from flash) for both checks */
	if (ota_engine_status(s->eng, &es) < 0)
		es.session = OTA_ENGINE_SESSION_IDLE;
	if (es.session == OTA_ENGINE_SESSION_COMMITTED) {
		/* the same image again: nothing to do, it is committed */
		if (s->have_manifest && !memcmp(&em, &s->man, sizeof(em))) {
			hlog_info("%s is committed already: it boots next",
				  em.version[0] ? em.version : "the image");
			s->committed_again = true;
			return OTA_STATUS_OK;
		}
		/* another one must wait until the committed one has booted */
		hlog_info("update refused: %s is committed and waits for a "
			  "reboot",
			  s->man.version[0] ? s->man.version : "an image");
		*detail = 0;
		return OTA_STATUS_REBOOT_REQUIRED;
	}
	if (es.session != OTA_ENGINE_SESSION_IDLE &&
	    (!s->have_manifest || memcmp(&em, &s->man, sizeof(em)) ||
	     (ef & OTA_ENGINE_NO_RESUME)))
		ota_engine_abort(s->eng);
	/* a SIGNATURE TLV: the manifest describes the signed region and the
	 * engine writes the signature sector after it at FINISH */
	if (ota_engine_begin_signed(s->eng, &em, m->sig, m->sig_len, ef) < 0) {
		st = failed(s, "update");
		*detail = refusal_detail(s, st);
		return st;
	}
	s->man = em;
	s->have_manifest = true;
	return OTA_STATUS_OK;
}

static bool sink_block_verified(void *ctx, uint32_t block)
{
	struct engine_sink *s = S(ctx);

	return s->committed_again ||
	       ota_engine_block_is_verified(s->eng, block);
}

static enum ota_status sink_write(void *ctx, uint32_t offset,
				  const uint8_t *data, size_t len)
{
	struct engine_sink *s = S(ctx);

	if (ota_engine_write(s->eng, offset, data, len) < 0)
		return failed(s, "write");
	return OTA_STATUS_OK;
}

static enum ota_status sink_check_block(void *ctx, uint32_t block, uint32_t crc)
{
	struct engine_sink *s = S(ctx);
	int r = ota_engine_block_verify(s->eng, block, crc);

	if (r == 0)
		return OTA_STATUS_OK;
	if (r == -EILSEQ) {
		hlog_dbg("block %u failed its CRC check; asking for it again",
			 block);
		return OTA_STATUS_HASH_MISMATCH;
	}
	return failed(s, "block check");
}

static enum ota_status sink_finish(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	if (s->committed_again)
		return OTA_STATUS_OK;
	if (ota_engine_finish(s->eng) < 0) {
		*detail = (uint32_t)ota_engine_last_reason(s->eng);
		return failed(s, "verification");
	}
	return OTA_STATUS_OK;
}

static enum ota_status sink_commit(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	(void)detail;
	if (ota_engine_commit(s->eng) < 0)
		return failed(s, "commit");
	return OTA_STATUS_OK;
}

static enum ota_status sink_confirm(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	(void)detail;
	if (ota_engine_confirm(s->eng) < 0)
		return failed(s, "confirm");
	return OTA_STATUS_OK;
}

static enum ota_status sink_rollback(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	(void)detail;
	if (ota_engine_rollback(s->eng) < 0)
		return failed(s, "rollback");
	return OTA_STATUS_OK;
}

static void sink_abort(void *ctx, bool discard)
{
	struct engine_sink *s = S(ctx);
	struct ota_engine_status es;

	s->committed_again = false;
	/* keeping: the engine's session and journal stay for a resume */
	if (!discard)
		return;
	/*
	 * A commit stands until the device reboots: resetting the engine's
	 * session would let a new upload write into the slot otadata now
	 * selects.
	 */
	if (ota_engine_status(s->eng, &es) == 0 &&
	    es.session == OTA_ENGINE_SESSION_COMMITTED) {
		hlog_info("abort after commit: the committed image still boots "
			  "next");
		return;
	}
	ota_engine_abort(s->eng);
	s->have_manifest = false;
}

static void sink_get_info(void *ctx, struct ota_dev_info *out)
{
	struct engine_sink *s = S(ctx);
	struct ota_engine_info info;
	struct ota_engine_status es;
	unsigned int i;

	if (ota_engine_info(s->eng, &info) == 0) {
		out->slot_size = info.slot_size;
		snprintf(out->run_version, sizeof(out->run_version), "%s",
			 info.version);
		snprintf(out->run_project, sizeof(out->run_project), "%s",
			 info.project);
		out->run_secure_version = info.secure_version;
	}
	out->chip_id = s->eng->cfg.chip_id;
	if (ota_engine_status(s->eng, &es) == 0 && es.running_slot >= 0)
		out->run_slot = (uint8_t)es.running_slot;
	else
		out->run_slot = 0xff;
	out->caps = s->eng->cfg.rollback_disabled ? 0 : OTA_CAP_ROLLBACK;
	if (s->eng->cfg.trusted_key_count || s->eng->cfg.trust_running_app_key)
		out->caps |= OTA_CAP_SIGNED;
	for (i = 0; i < s->eng->cfg.trusted_key_count && i < OTA_INFO_MAX_KEYS;
	     i++)
		memcpy(out->trusted_keys[i], s->eng->cfg.trusted_key_digest[i],
		       sizeof(out->trusted_keys[i]));
	out->n_trusted_keys = (uint8_t)i;
}

static void sink_get_status(void *ctx, struct ota_dev_status *out)
{
	struct engine_sink *s = S(ctx);
	struct ota_engine_status es;

	if (ota_engine_status(s->eng, &es) < 0) {
		snprintf(out->last_boot, sizeof(out->last_boot),
			 "cannot read the device state");
		return;
	}
	out->run_slot = es.running_slot >= 0 ? (uint8_t)es.running_slot : 0xff;
	out->run_state = es.running_state;
	out->other_state = es.other_state;
	snprintf(out->run_version, sizeof(out->run_version), "%s",
		 es.running_version);
	if (es.has_last_invalid && es.last_invalid_slot >= 0)
		snprintf(out->last_boot, sizeof(out->last_boot),
			 "ota_%d was rejected (%s)", es.last_invalid_slot,
			 es.other_state == 4 ? "rebooted without confirm"
					     : "marked invalid");
}

const struct ota_sink_ops engine_sink_ops = {
	.begin = sink_begin,
	.block_verified = sink_block_verified,
	.write = sink_write,
	.check_block = sink_check_block,
	.finish = sink_finish,
	.commit = sink_commit,
	.confirm = sink_confirm,
	.rollback = sink_rollback,
	.abort = sink_abort,
	.get_info = sink_get_info,
	.get_status = sink_get_status,
};
