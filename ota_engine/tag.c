/* SPDX-License-Identifier: MIT */
/*
 * The firmware version tag (docs/ota-engine.md §16.6): the device keeps the
 * tag of the image that runs as bleota:fw_tag in its nvs partition, where
 * firmware reads it with nvs_get_str(), and reports it in INFO and STATUS.
 *
 * A tag belongs to an image, not to a moment, so it is kept per slot and
 * bound to the image's SHA-256: the NVS string bleota:tag_ota_N holds the
 * 64 hex digits of the SHA-256 of the image BEGIN announced for ota_N, then
 * the tag (nothing after the digits: no tag). It counts only while the
 * journal's latest COMMIT record for ota_N names the same SHA-256. That
 * record is appended by commit before otadata can select the slot, and
 * compaction keeps the latest one per slot. So:
 *   - set_tag at BEGIN (the engine holds no tag in RAM during the session)
 *     touches only the target slot's key, never the running slot's; until
 *     the COMMIT record lands, the slot's key names an image the slot does
 *     not officially hold, and reads as no tag;
 *   - the tag of what runs is the running slot's bound tag, whatever path
 *     led there (commit and boot, rollback, the bootloader's fallback
 *     walk, a trial boot that was reverted): running slot + journal + NVS
 *     are all re-read, nothing is trusted from RAM;
 *   - bleota:fw_tag is a copy of it, written at boot and at confirm when
 *     it differs (idempotent: equal values write nothing, and an absent
 *     fw_tag equals no tag). NVS writes are power-cut safe (old or new
 *     value, nvs_write.c) and the next boot writes it again.
 * Libc only, no static data; the two strings (193 and 129 bytes) are on
 * the stack.
 */
#include "ota_engine/engine_priv.h"
#include "ota_engine/nvs.h"

#include <errno.h>
#include <string.h>

#define HEX_LEN   (2u * OTA_SHA256_LEN)
#define BOUND_MAX (HEX_LEN + OTA_ENGINE_TAG_MAX + 1u)

_Static_assert(OTA_ENGINE_TAG_MAX == OTA_NVS_TAG_MAX, "one tag limit");

static bool tag_part(const struct ota_engine *eng, struct ota_nvs_part *p)
{
	const struct ota_layout *l = &eng->layout;

	if (!eng->table_ok || !l->has_nvs || !eng->jr.present ||
	    l->nvs_size < OTA_NVS_MIN_PAGES * OTA_NVS_PAGE_SIZE ||
	    l->nvs_off % OTA_NVS_PAGE_SIZE || l->nvs_size % OTA_NVS_PAGE_SIZE)
		return false;
	p->flash = eng->cfg.flash;
	p->flash_ctx = eng->cfg.flash_ctx;
	p->off = l->nvs_off;
	p->size = l->nvs_size;
	return true;
}

bool ota_engine_has_tags(const struct ota_engine *eng)
{
	struct ota_nvs_part p;

	return tag_part(eng, &p);
}

/* "tag_ota_N", N = 0..15 */
static void slot_key(char key[OTA_NVS_KEY_MAX + 1], unsigned int slot)
{
	static const char prefix[] = "tag_ota_";
	size_t n = sizeof(prefix) - 1;

	memcpy(key, prefix, n);
	if (slot >= 10)
		key[n++] = (char)('0' + slot / 10 % 10);
	key[n++] = (char)('0' + slot % 10);
	key[n] = '\0';
}

static void sha_hex(const uint8_t sha[OTA_SHA256_LEN], char *out)
{
	static const char digits[] = "0123456789abcdef";
	unsigned int i;

	for (i = 0; i < OTA_SHA256_LEN; i++) {
		out[2 * i] = digits[sha[i] >> 4];
		out[2 * i + 1] = digits[sha[i] & 15];
	}
}

/*
 * The tag in the slot key value @val (@len bytes) if it is bound to @sha,
 * into @out; "" if it names another image, has no tag or is not ours.
 */
static void bound_tag(const char *val, size_t len, const uint8_t *sha,
		      char out[OTA_ENGINE_TAG_MAX + 1])
{
	char hex[HEX_LEN];

	out[0] = '\0';
	if (len < HEX_LEN || len > HEX_LEN + OTA_ENGINE_TAG_MAX)
		return;
	sha_hex(sha, hex);
	if (memcmp(val, hex, HEX_LEN))
		return;
	memcpy(out, val + HEX_LEN, len - HEX_LEN + 1);
}

/* bleota:tag_ota_N into @val; "" (len 0) when absent or not ours. */
static int read_slot_key(const struct ota_nvs_part *p, unsigned int slot,
			 char val[BOUND_MAX], size_t *len)
{
	char key[OTA_NVS_KEY_MAX + 1];
	int rc;

	slot_key(key, slot);
	rc = ota_nvs_get_str(p, OTA_NVS_TAG_NAMESPACE, key, val, BOUND_MAX,
			     len);
	if (rc == -ENOENT || rc == -EMSGSIZE) {
		val[0] = '\0';
		*len = 0;
		return 0;
	}
	return rc;
}

/* The tag bound to the image in @slot ("" none). 0 or -EIO. */
static int slot_tag(struct ota_engine *eng, const struct ota_nvs_part *p,
		    int slot, char out[OTA_ENGINE_TAG_MAX + 1])
{
	struct ota_journal_rec rec;
	char val[BOUND_MAX];
	size_t len;
	int rc;

	out[0] = '\0';
	if (slot < 0)
		return 0; /* factory or test app: never pushed */
	rc = read_slot_key(p, (unsigned int)slot, val, &len);
	if (rc)
		return rc;
	if (!len)
		return 0;
	rc = ota_journal_find_last(&eng->jr, OTA_JOURNAL_REC_COMMIT, slot,
				   &rec);
	if (rc <= 0)
		return rc < 0 ? -EIO : 0;
	bound_tag(val, len, rec.payload, out);
	return 0;
}

int ota_engine_running_tag(struct ota_engine *eng,
			   char out[OTA_ENGINE_TAG_MAX + 1])
{
	struct ota_nvs_part p;

	out[0] = '\0';
	if (!tag_part(eng, &p))
		return -ENODEV;
	return slot_tag(eng, &p, eng->running, out) ? -EIO : 0;
}

static bool tag_valid(const char *tag, size_t len)
{
	return len <= OTA_ENGINE_TAG_MAX &&
	       (!len || (tag && !memchr(tag, '\0', len)));
}

int ota_engine_set_tag(struct ota_engine *eng, const char *tag, size_t len)
{
	char val[BOUND_MAX], key[OTA_NVS_KEY_MAX + 1];
	char have[OTA_ENGINE_TAG_MAX + 1];
	struct ota_nvs_part p;
	size_t cur;
	int rc;

	if (eng->session == OTA_ENGINE_SESSION_IDLE)
		return eng_fail(eng, R_(NO_SESSION), -EPROTO, M_(NO_SESSION),
				OTA_ENGINE_CALL_BEGIN);
	if (!tag_valid(tag, len))
		return eng_fail(eng, R_(BAD_MANIFEST), -EINVAL,
				M_(TAG_INVALID));
	eng_ok(eng);
	if (!tag_part(eng, &p))
		return 0;
	rc = read_slot_key(&p, eng->plan.slot, val, &cur);
	if (rc)
		goto fail;
	/* already bound to this image (or no tag, and none bound): done */
	bound_tag(val, cur, eng->man.sha256, have);
	if (strlen(have) == len && !memcmp(have, tag ? tag : "", len))
		return 0;
	sha_hex(eng->man.sha256, val);
	if (len)
		memcpy(val + HEX_LEN, tag, len);
	val[HEX_LEN + len] = '\0';
	slot_key(key, eng->plan.slot);
	rc = ota_nvs_set_str(&p, OTA_NVS_TAG_NAMESPACE, key, val);
	if (!rc)
		return 0;
fail:
	return eng_fail(eng, R_(FLASH_ERROR), rc, M_(TAG_IO), (uint32_t)-rc);
}

int eng_tag_sync(struct ota_engine *eng)
{
	char want[OTA_ENGINE_TAG_MAX + 1], have[OTA_ENGINE_TAG_MAX + 1];
	struct ota_nvs_part p;
	int rc;

	if (eng->cfg.inspect_only || !tag_part(eng, &p))
		return 0;
	rc = slot_tag(eng, &p, eng->running, want);
	if (rc)
		goto fail;
	rc = ota_nvs_get_str(&p, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY, have,
			     sizeof(have), NULL);
	/* absent reads as no tag; anything unreadable is replaced */
	if (rc == -ENOENT && !want[0])
		return 0;
	if (!rc && !strncmp(want, have, sizeof(want)))
		return 0;
	if (rc && rc != -ENOENT && rc != -EMSGSIZE)
		goto fail;
	rc = ota_nvs_set_str(&p, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY, want);
	if (!rc)
		return 0;
fail:
	eng_log(eng, OTA_ENGINE_LOG_WARN, M_(TAG_IO), (uint32_t)-rc);
	return rc;
}
