/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: every PDU decoder of protocol/frame.h on the whole input.
 *
 * Beyond "no crash": whatever a decoder accepts must re-encode to exactly the
 * input bytes (DATA, SYNC, ACK, EVENT, requests, responses, BEGIN and its
 * response), the channel ota_frame_chan() names for an accepted PDU must be
 * the one its decoder belongs to, and the decoders must agree with each other
 * (one datagram is never both a DATA and a request). Seeds: the PDUs of
 * docs/protocol.md §9.
 */
#include <string.h>

#include "protocol/frame.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[1 << 16];

static void same(int n, const uint8_t *data, size_t size)
{
	FUZZ_CHECK(n >= 0 && (size_t)n == size);
	FUZZ_CHECK(!memcmp(out, data, size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_data d;
	struct ota_ack ack;
	struct ota_event ev;
	struct ota_msg msg;
	struct ota_begin_req req;
	struct ota_begin_rsp rsp;
	uint8_t sync_id, p[9];
	int accepted = 0;

	if (size > sizeof(out))
		return 0;
	if (!ota_frame_decode_data(data, size, &d)) {
		accepted++;
		FUZZ_CHECK(ota_frame_chan(data[0]) == OTA_CHAN_DATA);
		FUZZ_CHECK(d.seq <= OTA_MAX_SEQ && d.len == size - 4);
		same(ota_frame_encode_data(out, sizeof(out), d.seq, d.payload,
					   d.len),
		     data, size);
	}
	if (!ota_frame_decode_sync(data, size, &sync_id)) {
		accepted++;
		FUZZ_CHECK(ota_frame_chan(data[0]) == OTA_CHAN_DATA);
		same(ota_frame_encode_sync(out, sizeof(out), sync_id), data,
		     size);
	}
	if (!ota_frame_decode_ack(data, size, &ack)) {
		accepted++;
		FUZZ_CHECK(ota_frame_chan(data[0]) == OTA_CHAN_STATUS);
		FUZZ_CHECK(ack.cum <= ack.limit);
		same(ota_frame_encode_ack(out, sizeof(out), &ack), data, size);
	}
	if (!ota_frame_decode_event(data, size, &ev)) {
		accepted++;
		FUZZ_CHECK(ota_frame_chan(data[0]) == OTA_CHAN_STATUS);
		same(ota_frame_encode_event(out, sizeof(out), &ev), data, size);
	}
	if (!ota_frame_decode_msg(data, size, &msg)) {
		accepted++;
		FUZZ_CHECK(ota_frame_chan(data[0]) == OTA_CHAN_CONTROL);
		if (msg.is_rsp)
			same(ota_frame_encode_rsp(out, sizeof(out), msg.op,
						  msg.token, msg.status,
						  msg.params, msg.params_len),
			     data, size);
		else
			same(ota_frame_encode_req(out, sizeof(out), msg.op,
						  msg.token, msg.params,
						  msg.params_len),
			     data, size);
		(void)ota_frame_rsp_detail(&msg);
		if (!ota_frame_decode_begin(&msg, &req)) {
			FUZZ_CHECK(!(req.flags & ~OTA_BEGIN_FLAGS_KNOWN));
			same(ota_frame_encode_begin(out, sizeof(out), msg.token,
						    &req),
			     data, size);
		}
		if (!ota_frame_decode_begin_rsp(&msg, &rsp)) {
			ota_put_le16(p, rsp.window);
			ota_put_le24(p + 2, rsp.cum);
			ota_put_le32(p + 5, rsp.held);
			same(ota_frame_encode_rsp(out, sizeof(out), msg.op,
						  msg.token, msg.status, p,
						  sizeof(p)),
			     data, size);
		}
	}
	FUZZ_CHECK(accepted <= 1);
	return 0;
}
