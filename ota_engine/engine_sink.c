/* SPDX-License-Identifier: MIT */
/*
 * The receiver's BEGIN policy (the receiver may end a session and keep its
 * blocks, then BEGIN another image; a committed image waits for a reboot)
 * is the engine's, asked for with OTA_ENGINE_RECEIVER: this file only
 * translates. Refusals are logged as REFUSED notes that carry the
 * engine's own failure note, so the host's log line reads as before
 * ("update refused: TOO_LARGE: image is ... bytes, slot ota_1 holds ...").
 */
#include "ota_engine/engine_sink.h"

#include <errno.h>
#include <string.h>

#include "ota_engine/engine_priv.h"
#include "ota_engine/util.h"

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
	case OTA_ENGINE_REASON_REBOOT_REQUIRED:
		return OTA_STATUS_REBOOT_REQUIRED;
	}
	return OTA_STATUS_INTERNAL;
}

/* The status for a failed engine call, logging the engine's note. */
static enum ota_status failed(struct engine_sink *s, enum ota_engine_call c)
{
	const struct ota_engine_note refused = {
		.msg = OTA_ENGINE_MSG_REFUSED,
		.n = { c },
		.ref = ota_engine_last_note(s->eng),
	};

	eng_log_note(s->eng, OTA_ENGINE_LOG_INFO, &refused);
	return engine_sink_status_of(ota_engine_last_reason(s->eng));
}

static uint32_t refusal_detail(struct engine_sink *s, enum ota_status st)
{
	struct ota_engine_info info;
	const struct ota_engine *e = s->eng;

	if (st == OTA_STATUS_TOO_LARGE)
		return ota_engine_info(e, &info) == 0 ? info.slot_size : 0;
	if (st == OTA_STATUS_WRONG_CHIP)
		return e->cfg.chip_id;
	if (st == OTA_STATUS_DOWNGRADE)
		return e->running_desc_ok && e->running_desc.secure_version >
						     e->efuse_secure_version
			       ? e->running_desc.secure_version
			       : e->efuse_secure_version;
	if (st == OTA_STATUS_REBOOT_REQUIRED)
		return 0;
	return (uint32_t)ota_engine_last_reason(e);
}

static void to_engine_manifest(const struct ota_manifest *m,
			       struct ota_engine_manifest *em, uint16_t chip)
{
	memset(em, 0, sizeof(*em));
	em->image_size = m->image_size;
	memcpy(em->sha256, m->sha256, sizeof(em->sha256));
	/* NUL-padded 32-byte fields, as esp_app_desc_t keeps them */
	memcpy(em->version, m->version,
	       ota_strnlen(m->version, sizeof(em->version)));
	memcpy(em->project, m->project,
	       ota_strnlen(m->project, sizeof(em->project)));
	/* without the fields, the image itself is checked at FINISH */
	em->chip_id = m->has_chip_id ? m->chip_id : chip;
	em->secure_version = m->has_secure_version ? m->secure_version : 0;
}

static enum ota_status sink_begin(void *ctx, const struct ota_manifest *m,
				  uint8_t flags, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);
	struct ota_engine_manifest em;
	unsigned int ef = OTA_ENGINE_RECEIVER;
	enum ota_status st;

	to_engine_manifest(m, &em, s->eng->cfg.chip_id);
	if (flags & OTA_BEGIN_FORCE)
		ef |= OTA_ENGINE_FORCE;
	if (flags & OTA_BEGIN_FRESH)
		ef |= OTA_ENGINE_NO_RESUME;
	/* a SIGNATURE TLV: the manifest describes the signed region and the
	 * engine writes the signature sector after it */
	if (ota_engine_begin_signed(s->eng, &em, m->sig, m->sig_len, ef) < 0) {
		st = failed(s, OTA_ENGINE_CALL_BEGIN);
		*detail = refusal_detail(s, st);
		return st;
	}
	/* the TAG (or none) goes with the image into its slot's NVS key */
	if (ota_engine_set_tag(s->eng, m->tag, m->tag_len) < 0) {
		*detail = (uint32_t)ota_engine_last_reason(s->eng);
		return failed(s, OTA_ENGINE_CALL_BEGIN);
	}
	return OTA_STATUS_OK;
}

static bool sink_block_verified(void *ctx, uint32_t block)
{
	return ota_engine_block_is_verified(S(ctx)->eng, block);
}

static enum ota_status sink_write(void *ctx, uint32_t offset,
				  const uint8_t *data, size_t len)
{
	struct engine_sink *s = S(ctx);

	if (ota_engine_write(s->eng, offset, data, len) < 0)
		return failed(s, OTA_ENGINE_CALL_WRITE);
	return OTA_STATUS_OK;
}

static enum ota_status sink_check_block(void *ctx, uint32_t block, uint32_t crc)
{
	struct engine_sink *s = S(ctx);
	int r = ota_engine_block_verify(s->eng, block, crc);

	if (r == 0)
		return OTA_STATUS_OK;
	if (r == -EILSEQ) {
		eng_log(s->eng, OTA_ENGINE_LOG_DEBUG, M_(BLOCK_RETRY), block);
		return OTA_STATUS_HASH_MISMATCH;
	}
	return failed(s, OTA_ENGINE_CALL_VERIFY);
}

static enum ota_status sink_finish(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	if (ota_engine_finish(s->eng) < 0) {
		*detail = (uint32_t)ota_engine_last_reason(s->eng);
		return failed(s, OTA_ENGINE_CALL_FINISH);
	}
	return OTA_STATUS_OK;
}

static enum ota_status sink_commit(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	(void)detail;
	if (ota_engine_commit(s->eng) < 0)
		return failed(s, OTA_ENGINE_CALL_COMMIT);
	return OTA_STATUS_OK;
}

static enum ota_status sink_confirm(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	(void)detail;
	if (ota_engine_confirm(s->eng) < 0)
		return failed(s, OTA_ENGINE_CALL_CONFIRM);
	return OTA_STATUS_OK;
}

static enum ota_status sink_rollback(void *ctx, uint32_t *detail)
{
	struct engine_sink *s = S(ctx);

	(void)detail;
	if (ota_engine_rollback(s->eng) < 0)
		return failed(s, OTA_ENGINE_CALL_ROLLBACK);
	return OTA_STATUS_OK;
}

static void sink_abort(void *ctx, bool discard)
{
	struct engine_sink *s = S(ctx);

	s->eng->committed_again = false;
	/* keeping: the engine's session and journal stay for a resume */
	if (!discard)
		return;
	/*
	 * A commit stands until the device reboots: resetting the engine's
	 * session would let a new upload write into the slot otadata now
	 * selects.
	 */
	if (s->eng->session == OTA_ENGINE_SESSION_COMMITTED) {
		eng_log(s->eng, OTA_ENGINE_LOG_INFO, M_(ABORT_COMMITTED));
		return;
	}
	ota_engine_abort(s->eng);
}

/* Copies a NUL-padded field of up to 32 chars into a 33-byte string. */
static void copy_field(char dst[33], const char *src)
{
	size_t n = ota_strnlen(src, 32);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void sink_get_info(void *ctx, struct ota_dev_info *out)
{
	struct engine_sink *s = S(ctx);
	const struct ota_engine_cfg *cfg = &s->eng->cfg;
	struct ota_engine_info info;
	unsigned int i;

	if (ota_engine_info(s->eng, &info) == 0) {
		out->slot_size = info.slot_size;
		copy_field(out->run_version, info.version);
		copy_field(out->run_project, info.project);
		out->run_secure_version = info.secure_version;
	}
	out->chip_id = cfg->chip_id;
	out->run_slot = s->eng->running >= 0 ? (uint8_t)s->eng->running : 0xff;
	out->caps = cfg->rollback_disabled ? 0 : OTA_CAP_ROLLBACK;
	if (cfg->trusted_key_count || cfg->trust_running_app_key)
		out->caps |= OTA_CAP_SIGNED;
	for (i = 0; i < cfg->trusted_key_count && i < OTA_INFO_MAX_KEYS; i++)
		memcpy(out->trusted_keys[i], cfg->trusted_key_digest[i],
		       sizeof(out->trusted_keys[i]));
	out->n_trusted_keys = (uint8_t)i;
	if (ota_engine_has_tags(s->eng)) {
		out->caps |= OTA_CAP_TAG;
		ota_engine_running_tag(s->eng, out->run_tag);
	}
}

/* Appends @str to the NUL-terminated @buf of @cap bytes. */
static void append(char *buf, size_t cap, const char *str)
{
	size_t len = ota_strnlen(buf, cap), n = strlen(str);

	if (len + 1 >= cap)
		return;
	if (n > cap - 1 - len)
		n = cap - 1 - len;
	memcpy(buf + len, str, n);
	buf[len + n] = '\0';
}

static void sink_get_status(void *ctx, struct ota_dev_status *out)
{
	struct engine_sink *s = S(ctx);
	struct ota_engine_status es;
	char num[4] = { 0 };

	if (ota_engine_status(s->eng, &es) < 0) {
		append(out->last_boot, sizeof(out->last_boot),
		       "cannot read the device state");
		return;
	}
	out->run_slot = es.running_slot >= 0 ? (uint8_t)es.running_slot : 0xff;
	out->run_state = es.running_state;
	out->other_state = es.other_state;
	copy_field(out->run_version, es.running_version);
	ota_engine_running_tag(s->eng, out->run_tag);
	if (!es.has_last_invalid || es.last_invalid_slot < 0)
		return;
	/* "ota_N was rejected (...)", N < 16 */
	num[0] = (char)('0' + es.last_invalid_slot / 10 % 10);
	num[es.last_invalid_slot >= 10] =
		(char)('0' + es.last_invalid_slot % 10);
	out->last_boot[0] = '\0';
	append(out->last_boot, sizeof(out->last_boot), "ota_");
	append(out->last_boot, sizeof(out->last_boot), num);
	append(out->last_boot, sizeof(out->last_boot),
	       es.other_state == OTA_IMG_ABORTED
		       ? " was rejected (rebooted without confirm)"
		       : " was rejected (marked invalid)");
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
