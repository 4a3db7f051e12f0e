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
