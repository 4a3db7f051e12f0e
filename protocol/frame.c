/* SPDX-License-Identifier: MIT */
/*
 * PDU encode/decode. Pure functions over caller buffers: every read is
 * preceded by a length check, lengths are compared as size_t, and nothing
 * here keeps state. Reserved bits must be zero on send and are rejected on
 * receive where a PDU defines them (BEGIN flags), so that a future version
 * that uses them is never silently misread.
 */
#include "protocol/frame.h"

#include <errno.h>
#include <string.h>

#include "protocol/status.h"

enum ota_chan ota_frame_chan(uint8_t op)
{
	if (op == OTA_OP_DATA || op == OTA_OP_SYNC)
		return OTA_CHAN_DATA;
	if (op == OTA_OP_ACK || op == OTA_OP_EVENT)
		return OTA_CHAN_STATUS;
	return OTA_CHAN_CONTROL;
}

size_t ota_frame_value_max(uint16_t mtu)
{
	size_t v;

	if (mtu < OTA_MIN_MTU)
		return 0;
	v = (size_t)mtu - 3;
	return v > OTA_MAX_VALUE ? OTA_MAX_VALUE : v;
}

int ota_frame_encode_data(uint8_t *buf, size_t cap, uint32_t seq,
			  const uint8_t *payload, size_t len)
{
	if (seq > OTA_MAX_SEQ || len == 0)
		return -EINVAL;
	if (cap < OTA_DATA_HDR_LEN || cap - OTA_DATA_HDR_LEN < len)
		return -EMSGSIZE;
	buf[0] = OTA_OP_DATA;
	ota_put_le24(buf + 1, seq);
	memcpy(buf + OTA_DATA_HDR_LEN, payload, len);
	return (int)(OTA_DATA_HDR_LEN + len);
}

int ota_frame_decode_data(const uint8_t *pdu, size_t len, struct ota_data *out)
{
	if (len < 1)
		return -EBADMSG;
	if (pdu[0] != OTA_OP_DATA)
		return -EBADMSG;
	if (len <= OTA_DATA_HDR_LEN)
		return -EBADMSG;
	out->seq = ota_get_le24(pdu + 1);
	out->payload = pdu + OTA_DATA_HDR_LEN;
	out->len = len - OTA_DATA_HDR_LEN;
	return 0;
}

int ota_frame_encode_sync(uint8_t *buf, size_t cap, uint8_t sync_id)
{
	if (cap < OTA_SYNC_LEN)
		return -EMSGSIZE;
	buf[0] = OTA_OP_SYNC;
	buf[1] = sync_id;
	return OTA_SYNC_LEN;
}

int ota_frame_decode_sync(const uint8_t *pdu, size_t len, uint8_t *sync_id)
{
	if (len != OTA_SYNC_LEN || pdu[0] != OTA_OP_SYNC)
		return -EBADMSG;
	*sync_id = pdu[1];
	return 0;
}

int ota_frame_encode_ack(uint8_t *buf, size_t cap, const struct ota_ack *ack)
{
	if (ack->cum > OTA_MAX_SEQ + 1 || ack->limit > OTA_MAX_SEQ + 1 ||
	    ack->limit < ack->cum)
		return -EINVAL;
	if (cap < OTA_ACK_HDR_LEN || cap - OTA_ACK_HDR_LEN < ack->bitmap_len)
		return -EMSGSIZE;
	buf[0] = OTA_OP_ACK;
	ota_put_le16(buf + 1, ack->ack_no);
	buf[3] = ack->sync_echo;
	/* OTA_MAX_SEQ + 1 does not fit 24 bits; streams never get that long */
	ota_put_le24(buf + 4, ack->cum);
	ota_put_le24(buf + 7, ack->limit);
	if (ack->bitmap_len)
		memcpy(buf + OTA_ACK_HDR_LEN, ack->bitmap, ack->bitmap_len);
	return (int)(OTA_ACK_HDR_LEN + ack->bitmap_len);
}

int ota_frame_decode_ack(const uint8_t *pdu, size_t len, struct ota_ack *out)
{
	if (len < OTA_ACK_HDR_LEN || pdu[0] != OTA_OP_ACK)
		return -EBADMSG;
	out->ack_no = ota_get_le16(pdu + 1);
	out->sync_echo = pdu[3];
	out->cum = ota_get_le24(pdu + 4);
	out->limit = ota_get_le24(pdu + 7);
	if (out->limit < out->cum)
		return -EBADMSG;
	out->bitmap = pdu + OTA_ACK_HDR_LEN;
	out->bitmap_len = len - OTA_ACK_HDR_LEN;
	return 0;
}

int ota_frame_encode_event(uint8_t *buf, size_t cap, const struct ota_event *ev)
{
	if (cap < OTA_EVENT_LEN)
		return -EMSGSIZE;
	buf[0] = OTA_OP_EVENT;
	buf[1] = ev->status;
	ota_put_le32(buf + 2, ev->detail);
	return OTA_EVENT_LEN;
}

int ota_frame_decode_event(const uint8_t *pdu, size_t len,
			   struct ota_event *out)
{
	if (len != OTA_EVENT_LEN || pdu[0] != OTA_OP_EVENT)
		return -EBADMSG;
	out->status = pdu[1];
	out->detail = ota_get_le32(pdu + 2);
	return 0;
}

static bool is_req_op(uint8_t op)
{
	return op >= OTA_OP_READ && op <= OTA_OP_ABORT;
}

int ota_frame_encode_req(uint8_t *buf, size_t cap, uint8_t op, uint8_t token,
			 const uint8_t *params, size_t params_len)
{
	if (!is_req_op(op))
		return -EINVAL;
	if (cap < OTA_REQ_HDR_LEN || cap - OTA_REQ_HDR_LEN < params_len)
		return -EMSGSIZE;
	buf[0] = op;
	buf[1] = token;
	if (params_len)
		memcpy(buf + OTA_REQ_HDR_LEN, params, params_len);
	return (int)(OTA_REQ_HDR_LEN + params_len);
}

int ota_frame_encode_rsp(uint8_t *buf, size_t cap, uint8_t op, uint8_t token,
			 uint8_t status, const uint8_t *params,
			 size_t params_len)
{
	/* any request opcode, known or not: UNSUPPORTED answers echo it */
	if (op & OTA_OP_RSP_BIT || op == OTA_OP_DATA || op == OTA_OP_SYNC ||
	    op == OTA_OP_ACK || op == OTA_OP_EVENT)
		return -EINVAL;
	if (cap < OTA_RSP_HDR_LEN || cap - OTA_RSP_HDR_LEN < params_len)
		return -EMSGSIZE;
	buf[0] = op | OTA_OP_RSP_BIT;
	buf[1] = token;
	buf[2] = status;
	if (params_len)
		memcpy(buf + OTA_RSP_HDR_LEN, params, params_len);
	return (int)(OTA_RSP_HDR_LEN + params_len);
}

int ota_frame_decode_msg(const uint8_t *pdu, size_t len, struct ota_msg *out)
{
	uint8_t op;

	if (len < 1)
		return -EBADMSG;
	op = pdu[0] & (uint8_t)~OTA_OP_RSP_BIT;
	if (!is_req_op(op))
		return (op == OTA_OP_DATA || op == OTA_OP_SYNC ||
			op == OTA_OP_ACK || op == OTA_OP_EVENT)
			       ? -EBADMSG
			       : -ENOTSUP;
	out->op = op;
	out->is_rsp = (pdu[0] & OTA_OP_RSP_BIT) != 0;
	if (out->is_rsp) {
		if (len < OTA_RSP_HDR_LEN)
			return -EBADMSG;
		out->token = pdu[1];
		out->status = pdu[2];
		out->params = pdu + OTA_RSP_HDR_LEN;
		out->params_len = len - OTA_RSP_HDR_LEN;
	} else {
		if (len < OTA_REQ_HDR_LEN)
			return -EBADMSG;
		out->token = pdu[1];
		out->status = 0;
		out->params = pdu + OTA_REQ_HDR_LEN;
		out->params_len = len - OTA_REQ_HDR_LEN;
	}
	return 0;
}

int ota_frame_encode_begin(uint8_t *buf, size_t cap, uint8_t token,
			   const struct ota_begin_req *req)
{
	uint8_t p[9];

	p[0] = req->flags;
	ota_put_le16(p + 1, req->chunk_size);
	ota_put_le16(p + 3, req->manifest_len);
	ota_put_le32(p + 5, req->manifest_crc);
	return ota_frame_encode_req(buf, cap, OTA_OP_BEGIN, token, p,
				    sizeof(p));
}

int ota_frame_decode_begin(const struct ota_msg *msg, struct ota_begin_req *out)
{
	if (msg->op != OTA_OP_BEGIN || msg->is_rsp || msg->params_len != 9)
		return -EBADMSG;
	out->flags = msg->params[0];
	if (out->flags & (uint8_t)~OTA_BEGIN_FLAGS_KNOWN)
		return -EBADMSG;
	out->chunk_size = ota_get_le16(msg->params + 1);
	out->manifest_len = ota_get_le16(msg->params + 3);
	out->manifest_crc = ota_get_le32(msg->params + 5);
	return 0;
}

int ota_frame_decode_begin_rsp(const struct ota_msg *msg,
			       struct ota_begin_rsp *out)
{
	if (msg->op != OTA_OP_BEGIN || !msg->is_rsp ||
	    msg->status != OTA_STATUS_OK || msg->params_len != 9)
		return -EBADMSG;
	out->window = ota_get_le16(msg->params);
	out->cum = ota_get_le24(msg->params + 2);
	out->held = ota_get_le32(msg->params + 5);
	return 0;
}

uint32_t ota_frame_rsp_detail(const struct ota_msg *msg)
{
	if (!msg->is_rsp || msg->status == OTA_STATUS_OK || msg->params_len < 4)
		return 0;
	return ota_get_le32(msg->params);
}

/* ---- TLV ---------------------------------------------------------------- */

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

/* ---- manifest ----------------------------------------------------------- */

int ota_manifest_encode(uint8_t *buf, size_t cap, const struct ota_manifest *m)
{
	struct ota_tlv_writer w = { .buf = buf, .cap = cap };

	if (strlen(m->version) > 32 || strlen(m->project) > 32)
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

/* ---- stream geometry ---------------------------------------------------- */

uint32_t ota_stream_blocks(uint32_t image_size)
{
	return (image_size + OTA_BLOCK_SIZE - 1) / OTA_BLOCK_SIZE;
}

uint32_t ota_stream_len(uint32_t image_size)
{
	return image_size + OTA_BLOCK_CRC_LEN * ota_stream_blocks(image_size);
}

uint32_t ota_stream_chunks(uint32_t image_size, uint16_t chunk_size)
{
	uint32_t slen = ota_stream_len(image_size);

	if (chunk_size == 0)
		return 0;
	return (slen + chunk_size - 1) / chunk_size;
}
