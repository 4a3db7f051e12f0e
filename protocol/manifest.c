/* SPDX-License-Identifier: MIT */
/*
 * Manifest encode/decode (manifest.h). Types below 32 are tracked in a
 * bitmask so a repeat is refused; the decoded signature points into the
 * caller's TLV bytes, which must outlive the struct.
 */
#include "protocol/manifest.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "protocol/stream.h"
#include "protocol/tlv.h"

/* A tag is stored as an NVS string: 1..128 bytes, none of them NUL. */
static bool tag_ok(const void *tag, size_t len)
{
	return tag && len >= 1 && len <= OTA_TAG_MAX && !memchr(tag, '\0', len);
}

int ota_manifest_encode(uint8_t *buf, size_t cap, const struct ota_manifest *m)
{
	struct ota_tlv_writer w = { .buf = buf, .cap = cap };

	if (strlen(m->version) > 32 || strlen(m->project) > 32)
		return -EINVAL;
	if (m->tag_len && !tag_ok(m->tag, m->tag_len))
		return -EINVAL;
	ota_tlv_put_u32(&w, OTA_TLV_IMAGE_SIZE, m->image_size);
	ota_tlv_put(&w, OTA_TLV_SHA256, m->sha256, sizeof(m->sha256));
	if (m->version[0])
		ota_tlv_put_str(&w, OTA_TLV_VERSION, m->version);
	if (m->project[0])
		ota_tlv_put_str(&w, OTA_TLV_PROJECT, m->project);
	if (m->has_chip_id)
		ota_tlv_put_u16(&w, OTA_TLV_CHIP_ID, m->chip_id);
	if (m->has_secure_version)
		ota_tlv_put_u32(&w, OTA_TLV_SECURE_VERSION, m->secure_version);
	if (m->tag_len)
		ota_tlv_put(&w, OTA_TLV_TAG, m->tag, m->tag_len);
	if (m->sig_len) {
		if (m->sig_len != OTA_SIG_BLOCK_LEN || !m->sig)
			return -EINVAL;
		ota_tlv_put(&w, OTA_TLV_SIGNATURE, m->sig, m->sig_len);
	}
	return w.overflow ? -EMSGSIZE : (int)w.len;
}

static int manifest_string(char *dst, const uint8_t *val, uint16_t vlen)
{
	if (vlen > 32 || memchr(val, '\0', vlen))
		return -EBADMSG;
	memcpy(dst, val, vlen);
	dst[vlen] = '\0';
	return 0;
}

int ota_manifest_decode(const uint8_t *buf, size_t len,
			struct ota_manifest *out, uint8_t *bad_type)
{
	uint32_t seen = 0;
	size_t off = 0;
	const uint8_t *val;
	uint16_t vlen;
	uint8_t type;
	int r;

	memset(out, 0, sizeof(*out));
	*bad_type = 0;
	while ((r = ota_tlv_next(buf, len, &off, &type, &val, &vlen)) > 0) {
		*bad_type = type;
		if (type < 32 && (seen & (1u << type)))
			return -EBADMSG;
		if (type < 32)
			seen |= 1u << type;
		switch (type) {
		case OTA_TLV_IMAGE_SIZE:
			if (vlen != 4)
				return -EBADMSG;
			out->image_size = ota_get_le32(val);
			break;
		case OTA_TLV_SHA256:
			if (vlen != 32)
				return -EBADMSG;
			memcpy(out->sha256, val, 32);
			break;
		case OTA_TLV_VERSION:
			if (manifest_string(out->version, val, vlen))
				return -EBADMSG;
			break;
		case OTA_TLV_PROJECT:
			if (manifest_string(out->project, val, vlen))
				return -EBADMSG;
			break;
		case OTA_TLV_CHIP_ID:
			if (vlen != 2)
				return -EBADMSG;
			out->chip_id = ota_get_le16(val);
			out->has_chip_id = true;
			break;
		case OTA_TLV_SECURE_VERSION:
			if (vlen != 4)
				return -EBADMSG;
			out->secure_version = ota_get_le32(val);
			out->has_secure_version = true;
			break;
		case OTA_TLV_TAG:
			if (!tag_ok(val, vlen))
				return -EBADMSG;
			out->tag = (const char *)val;
			out->tag_len = vlen;
			break;
		case OTA_TLV_SIGNATURE:
			if (vlen != OTA_SIG_BLOCK_LEN || out->sig)
				return -EBADMSG;
			out->sig = val;
			out->sig_len = vlen;
			break;
		default:
			if (type & OTA_TLV_CRITICAL)
				return -ENOTSUP;
			break;
		}
	}
	if (r < 0) {
		*bad_type = 0;
		return r;
	}
	if (!(seen & (1u << OTA_TLV_IMAGE_SIZE))) {
		*bad_type = OTA_TLV_IMAGE_SIZE;
		return -EBADMSG;
	}
	if (!(seen & (1u << OTA_TLV_SHA256))) {
		*bad_type = OTA_TLV_SHA256;
		return -EBADMSG;
	}
	if (out->image_size > OTA_MAX_IMAGE) {
		*bad_type = OTA_TLV_IMAGE_SIZE;
		return -EBADMSG;
	}
	*bad_type = 0;
	return 0;
}
