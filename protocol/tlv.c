/* SPDX-License-Identifier: MIT */
/*
 * TLV writer and reader (tlv.h). The writer never writes past cap: it
 * checks the whole entry first and latches overflow, so callers check once.
 */
#include "protocol/tlv.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

void ota_tlv_put(struct ota_tlv_writer *w, uint8_t type, const void *val,
		 size_t len)
{
	size_t hdr = len < OTA_TLV_EXT_LEN ? 2 : 4;

	if (w->overflow || len > 0xffff || w->cap - w->len < hdr + len) {
		w->overflow = true;
		return;
	}
	w->buf[w->len] = type;
	if (hdr == 2) {
		w->buf[w->len + 1] = (uint8_t)len;
	} else {
		w->buf[w->len + 1] = OTA_TLV_EXT_LEN;
		ota_put_le16(w->buf + w->len + 2, (uint16_t)len);
	}
	if (len)
		memcpy(w->buf + w->len + hdr, val, len);
	w->len += hdr + len;
}

void ota_tlv_put_u8(struct ota_tlv_writer *w, uint8_t type, uint8_t v)
{
	ota_tlv_put(w, type, &v, 1);
}

void ota_tlv_put_u16(struct ota_tlv_writer *w, uint8_t type, uint16_t v)
{
	uint8_t b[2];

	ota_put_le16(b, v);
	ota_tlv_put(w, type, b, sizeof(b));
}

void ota_tlv_put_u32(struct ota_tlv_writer *w, uint8_t type, uint32_t v)
{
	uint8_t b[4];

	ota_put_le32(b, v);
	ota_tlv_put(w, type, b, sizeof(b));
}

void ota_tlv_put_str(struct ota_tlv_writer *w, uint8_t type, const char *s)
{
	ota_tlv_put(w, type, s, strlen(s));
}

int ota_tlv_next(const uint8_t *buf, size_t len, size_t *off, uint8_t *type,
		 const uint8_t **val, uint16_t *vlen)
{
	size_t o = *off, hdr = 2, n;

	if (o >= len)
		return 0;
	if (len - o < 2)
		return -EBADMSG;
	n = buf[o + 1];
	if (n == OTA_TLV_EXT_LEN) {
		if (len - o < 4)
			return -EBADMSG;
		hdr = 4;
		n = ota_get_le16(buf + o + 2);
		/* one encoding per length: short values use the short form */
		if (n < OTA_TLV_EXT_LEN)
			return -EBADMSG;
	}
	if (len - o - hdr < n)
		return -EBADMSG;
	*type = buf[o];
	*vlen = (uint16_t)n;
	*val = buf + o + hdr;
	*off = o + hdr + n;
	return 1;
}
