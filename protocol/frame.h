/* SPDX-License-Identifier: MIT */
/*
 * bleota PDU codec: byte layouts of every PDU, little-endian throughout.
 *
 * Every PDU starts with a one-byte opcode, so PDUs are self-describing on any
 * datagram transport (a BlueZ AcquireWrite fd per characteristic, or one
 * UNIX SEQPACKET socket carrying all of them). docs/protocol.md is the spec;
 * this header is its code form and the two must agree.
 *
 * Decoders check every length before reading and return -EBADMSG for
 * malformed input, -ENOTSUP for an opcode they do not know. Decoded pointers
 * alias the input buffer. Encoders write into a caller buffer and return the
 * PDU length or -EMSGSIZE.
 *
 * What travels inside the PDUs has its own header: the framed image stream
 * (stream.h), the TLV encoding (tlv.h), the manifest (manifest.h) and the
 * INFO/STATUS attributes (info.h).
 */
#ifndef BLEOTA_PROTOCOL_FRAME_H
#define BLEOTA_PROTOCOL_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/bytes.h"

/* GATT service and characteristics (128-bit, textual form for BlueZ). */
#define OTA_UUID_SERVICE "b1e07a00-5e1f-4c2b-9a0d-0ea7f1a5b0d0"
#define OTA_UUID_CONTROL "b1e07a01-5e1f-4c2b-9a0d-0ea7f1a5b0d0"
#define OTA_UUID_DATA    "b1e07a02-5e1f-4c2b-9a0d-0ea7f1a5b0d0"
#define OTA_UUID_STATUS  "b1e07a03-5e1f-4c2b-9a0d-0ea7f1a5b0d0"
#define OTA_UUID_INFO    "b1e07a04-5e1f-4c2b-9a0d-0ea7f1a5b0d0"

#define OTA_PROTO_VERSION 1

/* ATT limits. BlueZ 5.66 drops longer peripheral-side writes silently. */
#define OTA_MIN_MTU   23
#define OTA_MAX_MTU   517
#define OTA_MAX_VALUE 510
#define OTA_MIN_VALUE (OTA_MIN_MTU - 3)

#define OTA_MAX_SEQ 0xffffffu /* DATA seq is 24 bits */

/* Opcodes. Requests 0x01..0x1f (Control), data 0x20.. (Data), P->C 0x40.. */
enum ota_op {
	OTA_OP_READ = 0x01,
	OTA_OP_MANIFEST = 0x02,
	OTA_OP_BEGIN = 0x03,
	OTA_OP_FINISH = 0x04,
	OTA_OP_COMMIT = 0x05,
	OTA_OP_CONFIRM = 0x06,
	OTA_OP_ROLLBACK = 0x07,
	OTA_OP_REBOOT = 0x08,
	OTA_OP_ABORT = 0x09,
	OTA_OP_DATA = 0x20,
	OTA_OP_SYNC = 0x21,
	OTA_OP_ACK = 0x40,
	OTA_OP_EVENT = 0x41,
};
#define OTA_OP_RSP_BIT 0x80

/* Which characteristic carries a PDU. */
enum ota_chan {
	OTA_CHAN_CONTROL,
	OTA_CHAN_DATA,
	OTA_CHAN_STATUS,
};

/*
 * DATA (C->P, Data characteristic, write without response)
 * | Field   | Size | Description                                  |
 * | op      | 1    | 0x20                                         |
 * | seq     | 3    | chunk number; stream offset = seq * chunk_size |
 * | payload | 1..  | chunk_size bytes, last chunk may be shorter  |
 */
#define OTA_DATA_HDR_LEN 4

/*
 * SYNC (C->P, Data characteristic): "send me an ACK now"
 * | op 0x21 (1) | sync_id (1) |
 */
#define OTA_SYNC_LEN 2

/*
 * ACK (P->C, Status characteristic, notification)
 * | Field     | Size | Description                                     |
 * | op        | 1    | 0x40                                            |
 * | ack_no    | 2    | increments per ACK; older ACKs are ignored      |
 * | sync_echo | 1    | sync_id of the last SYNC received               |
 * | cum       | 3    | every chunk below cum is held                   |
 * | limit     | 3    | the sender may send chunks below limit (credit) |
 * | bitmap    | 0..  | bit i (LSB first) = chunk cum + 1 + i is held   |
 */
#define OTA_ACK_HDR_LEN 10

/*
 * EVENT (P->C, Status characteristic): unsolicited session end
 * | op 0x41 (1) | status (1) | detail (4) |
 */
#define OTA_EVENT_LEN 6

/*
 * Requests (C->P, Control, write with response) and their responses
 * (P->C, Control, notification):
 * | op (1) | token (1) | params ... |
 * | op|0x80 (1) | token (1) | status (1) | params (status OK) or detail (4) |
 */
#define OTA_REQ_HDR_LEN 2
#define OTA_RSP_HDR_LEN 3

/* READ params: | attr (1) | offset (2) |; response: | total (2) | bytes |
 * (the attributes' TLVs: info.h) */
enum ota_attr {
	OTA_ATTR_INFO = 0x01,
	OTA_ATTR_STATUS = 0x02,
};
#define OTA_READ_REQ_LEN (OTA_REQ_HDR_LEN + 3)
#define OTA_READ_RSP_HDR (OTA_RSP_HDR_LEN + 2)

/* MANIFEST params: | offset (2) | bytes (1..) | (manifest.h) */
#define OTA_MANIFEST_REQ_HDR (OTA_REQ_HDR_LEN + 2)

/*
 * BEGIN params: | flags (1) | chunk_size (2) | manifest_len (2) |
 *               | manifest_crc (4) |
 * response (OK): | window (2) | cum (3) | held (4) |
 */
#define OTA_BEGIN_FORCE       0x01 /* allow an image equal to the running one */
#define OTA_BEGIN_FRESH       0x02 /* discard a partial upload of this image */
#define OTA_BEGIN_FLAGS_KNOWN (OTA_BEGIN_FORCE | OTA_BEGIN_FRESH)
#define OTA_BEGIN_REQ_LEN     (OTA_REQ_HDR_LEN + 9)
#define OTA_BEGIN_RSP_LEN     (OTA_RSP_HDR_LEN + 9)
#define OTA_ERR_RSP_LEN       (OTA_RSP_HDR_LEN + 4)

_Static_assert(OTA_MIN_VALUE > OTA_DATA_HDR_LEN, "chunk needs payload");
_Static_assert(OTA_MIN_VALUE >= OTA_ACK_HDR_LEN, "ACK fits smallest MTU");
_Static_assert(OTA_MIN_VALUE >= OTA_BEGIN_REQ_LEN, "BEGIN fits smallest MTU");
_Static_assert(OTA_MIN_VALUE >= OTA_BEGIN_RSP_LEN, "BEGIN rsp fits");
_Static_assert(OTA_MAX_VALUE <= OTA_MAX_MTU - 3, "value fits MTU");

struct ota_data {
	uint32_t seq;
	const uint8_t *payload;
	size_t len;
};

struct ota_ack {
	uint16_t ack_no;
	uint8_t sync_echo;
	uint32_t cum;
	uint32_t limit;
	const uint8_t *bitmap;
	size_t bitmap_len;
};

struct ota_event {
	uint8_t status;
	uint32_t detail;
};

/* A request or response with its params still raw. */
struct ota_msg {
	uint8_t op; /* without OTA_OP_RSP_BIT */
	uint8_t token;
	bool is_rsp;
	uint8_t status; /* responses only */
	const uint8_t *params;
	size_t params_len;
};

struct ota_begin_req {
	uint8_t flags;
	uint16_t chunk_size;
	uint16_t manifest_len;
	uint32_t manifest_crc;
};

struct ota_begin_rsp {
	uint16_t window;
	uint32_t cum;
	uint32_t held;
};

/**
 * ota_frame_chan() - the characteristic that carries PDUs with opcode @op
 * (request/response opcodes, with or without OTA_OP_RSP_BIT, are Control).
 */
enum ota_chan ota_frame_chan(uint8_t op);

/** ota_frame_value_max() - largest GATT value for an ATT MTU: min(mtu-3, 510). */
size_t ota_frame_value_max(uint16_t mtu);

/* Encoders: return the PDU length, or -EMSGSIZE if @cap is too small. */
int ota_frame_encode_data(uint8_t *buf, size_t cap, uint32_t seq,
			  const uint8_t *payload, size_t len);
int ota_frame_encode_sync(uint8_t *buf, size_t cap, uint8_t sync_id);
int ota_frame_encode_ack(uint8_t *buf, size_t cap, const struct ota_ack *ack);
int ota_frame_encode_event(uint8_t *buf, size_t cap,
			   const struct ota_event *ev);
/** Request: op, token, then @params_len raw bytes. */
int ota_frame_encode_req(uint8_t *buf, size_t cap, uint8_t op, uint8_t token,
			 const uint8_t *params, size_t params_len);
/** Response: op|0x80, token, status, then @params_len raw bytes. */
int ota_frame_encode_rsp(uint8_t *buf, size_t cap, uint8_t op, uint8_t token,
			 uint8_t status, const uint8_t *params,
			 size_t params_len);
int ota_frame_encode_begin(uint8_t *buf, size_t cap, uint8_t token,
			   const struct ota_begin_req *req);

/*
 * Decoders: 0 on success, -EBADMSG if malformed (wrong length, reserved
 * bits, opcode of another PDU type), -ENOTSUP for an unknown opcode.
 */
int ota_frame_decode_data(const uint8_t *pdu, size_t len, struct ota_data *out);
int ota_frame_decode_sync(const uint8_t *pdu, size_t len, uint8_t *sync_id);
int ota_frame_decode_ack(const uint8_t *pdu, size_t len, struct ota_ack *out);
int ota_frame_decode_event(const uint8_t *pdu, size_t len,
			   struct ota_event *out);
/** Requests and responses (any op 0x01..0x1f, with or without 0x80). */
int ota_frame_decode_msg(const uint8_t *pdu, size_t len, struct ota_msg *out);
int ota_frame_decode_begin(const struct ota_msg *msg,
			   struct ota_begin_req *out);
int ota_frame_decode_begin_rsp(const struct ota_msg *msg,
			       struct ota_begin_rsp *out);

/**
 * ota_frame_rsp_detail() - the detail word of an error response, 0 if the
 * response carries none.
 */
uint32_t ota_frame_rsp_detail(const struct ota_msg *msg);

#endif /* BLEOTA_PROTOCOL_FRAME_H */
