/* SPDX-License-Identifier: MIT */
/*
 * The engine's error plumbing. A failure is a reason (what the caller and
 * the wire act on) plus a note (a message code with its numbers); no
 * words and no formatted output on the device. engine_text.c, on the
 * host, turns notes into sentences.
 */
#include "ota_engine/engine_priv.h"

#include <errno.h>
#include <string.h>

/* eng_fail() packs -err into 8 bits */
_Static_assert(EIO < 256 && ENODEV < 256 && EINVAL < 256 && ENOSPC < 256 &&
		       ENOEXEC < 256 && EPERM < 256 && EALREADY < 256 &&
		       EPROTO < 256 && EILSEQ < 256 && EAGAIN < 256 &&
		       ENOENT < 256 && EACCES < 256 && EBADMSG < 256 &&
		       EBUSY < 256,
	       "errno values fit the packed failure code");

int eng_fail_note(struct ota_engine *eng, enum ota_engine_reason reason,
		  int err, const struct ota_engine_note *n)
{
	eng->reason = reason;
	eng->note = *n;
	eng->note.reason = (uint8_t)reason;
	eng->note.level = OTA_ENGINE_LOG_ERR;
	if (eng->cfg.log)
		eng->cfg.log(&eng->note, eng->cfg.log_data);
	return err;
}

void eng_log_note(struct ota_engine *eng, int level,
		  const struct ota_engine_note *n)
{
	struct ota_engine_note copy;

	if (!eng->cfg.log)
		return;
	copy = *n;
	copy.level = (uint8_t)level;
	eng->cfg.log(&copy, eng->cfg.log_data);
}

int eng_fail_n(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b,
	       uint32_t c)
{
	struct ota_engine_note n = { .msg = (uint8_t)(code >> 8),
				     .n = { a, b, c } };

	return eng_fail_note(eng, (enum ota_engine_reason)(code & 0xffu),
			     -(int)((code >> 16) & 0xffu), &n);
}

void eng_log_n(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b,
	       uint32_t c)
{
	struct ota_engine_note n = { .msg = (uint8_t)(code >> 8),
				     .n = { a, b, c } };

	eng_log_note(eng, (int)(code & 0xffu), &n);
}

int eng_fail_n2(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b)
{
	return eng_fail_n(eng, code, a, b, 0);
}

int eng_fail_n0(struct ota_engine *eng, uint32_t code)
{
	return eng_fail_n(eng, code, 0, 0, 0);
}

void eng_log_n2(struct ota_engine *eng, uint32_t code, uint32_t a, uint32_t b)
{
	eng_log_n(eng, code, a, b, 0);
}

void eng_log_n0(struct ota_engine *eng, uint32_t code)
{
	eng_log_n(eng, code, 0, 0, 0);
}

void eng_ok(struct ota_engine *eng)
{
	eng->reason = OTA_ENGINE_REASON_NONE;
	memset(&eng->note, 0, sizeof(eng->note));
}

enum ota_engine_reason ota_engine_last_reason(const struct ota_engine *eng)
{
	return eng->reason;
}

const struct ota_engine_note *ota_engine_last_note(const struct ota_engine *eng)
{
	return &eng->note;
}
