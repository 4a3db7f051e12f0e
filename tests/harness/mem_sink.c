/* SPDX-License-Identifier: MIT */
/*
 * The sink behaves like a cautious engine would as far as the protocol can
 * tell: pre-flight refusals before anything is stored, per-block CRC check
 * by reading back what was stored, a SHA-256-free finish (tests compare the
 * slot with the source image instead), and a verified-block journal that
 * is only discarded by an explicit discard or a different image.
 */
#include "tests/harness/mem_sink.h"

#include <string.h>

#include "common/crc32.h"

static struct mem_sink *S(void *ctx)
{
	return ctx;
}

void mem_sink_init(struct mem_sink *s)
{
	memset(s, 0, sizeof(*s));
}

void mem_sink_reboot(struct mem_sink *s)
{
	s->open = false;
}

bool mem_sink_block_verified(const struct mem_sink *s, uint32_t b)
{
	return s->verified[b / 8] & (1u << (b % 8));
}

static enum ota_status sink_begin(void *ctx, const struct ota_manifest *m,
				  uint8_t flags, uint32_t *detail)
{
	struct mem_sink *s = S(ctx);

	s->begins++;
	if (s->refuse != OTA_STATUS_OK) {
		*detail = s->refuse_detail;
		return s->refuse;
	}
	if (ota_manifest_stream_size(m) > MEM_SINK_SLOT) {
		*detail = MEM_SINK_SLOT;
		return OTA_STATUS_TOO_LARGE;
	}
	if ((flags & OTA_BEGIN_FRESH) || s->m.image_size != m->image_size ||
	    memcmp(s->m.sha256, m->sha256, 32))
		memset(s->verified, 0, sizeof(s->verified));
	s->m = *m;
	s->open = true;
	s->finished = false;
	s->committed = false;
	return OTA_STATUS_OK;
}

static bool sink_block_verified(void *ctx, uint32_t b)
{
	return mem_sink_block_verified(S(ctx), b);
}

static enum ota_status sink_write(void *ctx, uint32_t off, const uint8_t *data,
				  size_t len)
{
	struct mem_sink *s = S(ctx);

	s->writes++;
	if (!s->open || off + len > ota_manifest_stream_size(&s->m))
		return OTA_STATUS_INTERNAL;
	if (s->fail_write_at && s->writes == s->fail_write_at)
		return OTA_STATUS_FLASH_ERROR;
	memcpy(s->slot + off, data, len);
	if (s->corrupt_write_at && s->writes >= s->corrupt_write_at &&
	    s->writes <= s->corrupt_write_at + s->corrupt_repeat)
		s->slot[off] ^= 0x10;
	s->bytes_written += len;
	return OTA_STATUS_OK;
}

static enum ota_status sink_check_block(void *ctx, uint32_t b, uint32_t crc)
{
	struct mem_sink *s = S(ctx);
	uint32_t start = b * OTA_BLOCK_SIZE;
	uint32_t len = ota_manifest_stream_size(&s->m) - start;

	s->checks++;
	if (len > OTA_BLOCK_SIZE)
		len = OTA_BLOCK_SIZE;
	if (ota_crc32(0, s->slot + start, len) != crc) {
		s->check_failures++;
		return OTA_STATUS_HASH_MISMATCH;
	}
	s->verified[b / 8] |= (uint8_t)(1u << (b % 8));
	return OTA_STATUS_OK;
}

static enum ota_status sink_finish(void *ctx, uint32_t *detail)
{
	struct mem_sink *s = S(ctx);
	uint32_t b, n = ota_stream_blocks(ota_manifest_stream_size(&s->m));

	if (s->finish_status != OTA_STATUS_OK) {
		/* a failed verification drops the image, as the engine does */
		*detail = s->finish_detail;
		memset(s->verified, 0, sizeof(s->verified));
		s->open = false;
		return s->finish_status;
	}
	for (b = 0; b < n; b++) {
		if (!mem_sink_block_verified(s, b)) {
			*detail = b;
			return OTA_STATUS_INCOMPLETE;
		}
	}
	s->finished = true;
	return OTA_STATUS_OK;
}

static enum ota_status sink_commit(void *ctx, uint32_t *detail)
{
	struct mem_sink *s = S(ctx);

	(void)detail;
	if (!s->finished)
		return OTA_STATUS_NOT_VERIFIED;
	s->committed = true;
	return OTA_STATUS_OK;
}

static enum ota_status sink_confirm(void *ctx, uint32_t *detail)
{
	struct mem_sink *s = S(ctx);

	(void)detail;
	s->confirms++;
	return s->committed ? OTA_STATUS_OK : OTA_STATUS_NOTHING_PENDING;
}

static enum ota_status sink_rollback(void *ctx, uint32_t *detail)
{
	struct mem_sink *s = S(ctx);

	(void)detail;
	s->rollbacks++;
	return s->committed ? OTA_STATUS_OK : OTA_STATUS_NO_ROLLBACK_TARGET;
}

static void sink_abort(void *ctx, bool discard)
{
	struct mem_sink *s = S(ctx);

	s->aborts++;
	s->open = false;
	if (discard) {
		s->discards++;
		memset(s->verified, 0, sizeof(s->verified));
	}
}

static void sink_get_info(void *ctx, struct ota_dev_info *info)
{
	struct mem_sink *s = ctx;
	unsigned int k;

	for (k = 0; k < s->n_keys && k < OTA_INFO_MAX_KEYS; k++)
		memset(info->trusted_keys[k], (int)(0xa0u + k), 32);
	info->n_trusted_keys = s->n_keys;
	info->slot_size = MEM_SINK_SLOT;
	info->chip_id = 9;
	strcpy(info->run_version, "1.0.0");
	strcpy(info->run_project, "memsink");
	info->run_secure_version = 1;
	info->run_slot = 0;
	info->caps = OTA_CAP_ROLLBACK | (s->n_keys ? OTA_CAP_SIGNED : 0);
}

static void sink_get_status(void *ctx, struct ota_dev_status *st)
{
	struct mem_sink *s = S(ctx);

	st->run_slot = 0;
	st->run_state = 2;
	st->other_state = s->committed ? 0 : 0xffffffffu;
	strcpy(st->run_version, "1.0.0");
}

const struct ota_sink_ops mem_sink_ops = {
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
