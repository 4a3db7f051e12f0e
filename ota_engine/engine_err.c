/* SPDX-License-Identifier: MIT */
/*
 * The engine's error plumbing. A failure is a reason (what the caller and
 * the wire act on) plus a note (a message code with its numbers); no
 * words and no printf on the device. engine_text.c, on the host, turns
 * notes into sentences.
 */
#include "ota_engine/engine_priv.h"

#include <string.h>

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
