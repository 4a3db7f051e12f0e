/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the sender (protocol/sender.h) pushing a small image, or
 * running a single request, while fed an arbitrary sequence of
 * notifications, with time passing.
 *
 * Input: a header, then records until the input ends.
 *   header  max_value (1: 20 + 2k), chunk size (2: 0 = default), mode (1:
 *           bits 0-2 push flags, bit 3 single request instead of a push,
 *           bit 4 no pacing), image size or request (2)
 *   record  ctl (1): bits 0-1 channel, bits 2-7 d, time advances d * d * 8 ms
 *           channel 0-2: len (1), then len bytes fed from Control/Data/Status
 *           channel 3: a response to the last request written: status (1),
 *           len (1), params (len)
 * After every record the due timers run and every value is drained.
 *
 * Invariants beyond "no crash": no value is longer than the link's value
 * size; Data values decode as DATA or SYNC and Control values as requests;
 * every DATA carries a chunk of this image's framed stream at its seq, with
 * the right length and the right bytes (including block CRCs), whatever the
 * device claimed; the sender stops producing values by itself (no livelock),
 * after DONE it is idle, and its progress never claims more acknowledged
 * bytes than the image has.
 */
#include <errno.h>
#include <string.h>

#include "common/crc32.h"
#include "protocol/sender.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_IMAGE 12000u
#define MAX_POLLS 65536

static struct ota_tx tx;
static uint8_t image[MAX_IMAGE];
static uint8_t stream[MAX_IMAGE + 4 * OTA_BLOCK_CRC_LEN];
static uint32_t stream_len;
static uint8_t last_op, last_token;
static bool have_req;

static void make_image(uint32_t isize)
{
	uint32_t i, b, pos = 0;

	for (i = 0; i < isize; i++)
		image[i] = (uint8_t)(i * 131 + 17);
	for (b = 0; b < ota_stream_blocks(isize); b++) {
		uint32_t len = isize - b * OTA_BLOCK_SIZE;

		if (len > OTA_BLOCK_SIZE)
			len = OTA_BLOCK_SIZE;
		memcpy(stream + pos, image + b * OTA_BLOCK_SIZE, len);
		ota_put_le32(stream + pos + len,
			     ota_crc32(0, image + b * OTA_BLOCK_SIZE, len));
		pos += len + OTA_BLOCK_CRC_LEN;
	}
	stream_len = pos;
}

static void check_data(const uint8_t *buf, size_t n)
{
	struct ota_data d;
	uint8_t id;
	uint32_t start;

	if (!ota_frame_decode_sync(buf, n, &id))
		return;
	FUZZ_CHECK(!ota_frame_decode_data(buf, n, &d));
	FUZZ_CHECK(tx.chunk && d.seq < tx.nchunks);
	start = d.seq * tx.chunk;
	FUZZ_CHECK(d.len == (stream_len - start < tx.chunk ? stream_len - start
							   : tx.chunk));
	FUZZ_CHECK(!memcmp(d.payload, stream + start, d.len));
}

static void drain(uint64_t now)
{
	uint8_t buf[OTA_MAX_VALUE];
	struct ota_tx_event ev;
	enum ota_chan chan;
	const struct ota_tx_progress *prog;
	struct ota_msg msg;
	int n, polls = 0;
	size_t rlen;

	while ((n = ota_tx_poll(&tx, buf, sizeof(buf), &chan, now)) >= 0) {
		FUZZ_CHECK(++polls < MAX_POLLS);
		FUZZ_CHECK(n > 0 && (size_t)n <= tx.cfg.max_value);
		if (chan == OTA_CHAN_DATA) {
			check_data(buf, (size_t)n);
			continue;
		}
		FUZZ_CHECK(chan == OTA_CHAN_CONTROL);
		FUZZ_CHECK(!ota_frame_decode_msg(buf, (size_t)n, &msg));
		FUZZ_CHECK(!msg.is_rsp);
		last_op = msg.op;
		last_token = msg.token;
		have_req = true;
	}
	FUZZ_CHECK(n == -EAGAIN);
	while (!ota_tx_next_event(&tx, &ev)) {
		if (ev.type == OTA_TX_EV_DONE)
			FUZZ_CHECK(ota_tx_is_done(&tx));
	}
	prog = ota_tx_get_progress(&tx);
	FUZZ_CHECK(prog->acked_bytes <= prog->image_size);
	FUZZ_CHECK(prog->resent_bytes <= prog->sent_bytes);
	(void)ota_tx_read_data(&tx, &rlen);
	FUZZ_CHECK(rlen <= sizeof(tx.readbuf));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct ota_tx_cfg cfg = { 0 };
	struct ota_manifest m = { 0 };
	uint8_t mode, pdu[2 + 255 + 1];
	uint16_t arg;
	uint64_t now = 0;

	cfg.max_value = 20 + 2u * (fz_u8(&f) % 246);
	cfg.chunk_size =
		(uint16_t)(fz_u16(&f) % (cfg.max_value - OTA_DATA_HDR_LEN + 1));
	mode = fz_u8(&f);
	arg = fz_u16(&f);
	cfg.no_pacing = mode & 0x10;
	FUZZ_CHECK(!ota_tx_init(&tx, &cfg));
	have_req = false;
	if (mode & 0x08) {
		if (ota_tx_request(&tx, (uint8_t)(1 + arg % 9),
				   (uint8_t)(arg >> 8), now))
			return 0;
	} else {
		m.image_size = 1 + arg % MAX_IMAGE;
		strcpy(m.version, "2.0.0");
		make_image(m.image_size);
		FUZZ_CHECK(!ota_tx_push(&tx, image, m.image_size, &m, mode & 7,
					now));
	}
	drain(now);

	while (f.n) {
		uint8_t ctl = fz_u8(&f), len;
		const uint8_t *p;
		size_t got;

		now += (uint64_t)(ctl >> 2) * (ctl >> 2) * 8;
		if (ota_tx_next_deadline(&tx) <= now) {
			ota_tx_on_timeout(&tx, now);
			drain(now);
		}
		if ((ctl & 3) != 3) {
			len = fz_u8(&f);
			p = fz_take(&f, len, &got);
			(void)ota_tx_feed(&tx, (enum ota_chan)(ctl & 3), p, got,
					  now);
		} else if (have_req) {
			pdu[0] = last_op | OTA_OP_RSP_BIT;
			pdu[1] = last_token;
			pdu[2] = fz_u8(&f);
			len = fz_u8(&f);
			p = fz_take(&f, len, &got);
			memcpy(pdu + 3, p, got);
			(void)ota_tx_feed(&tx, OTA_CHAN_CONTROL, pdu, 3 + got,
					  now);
		}
		drain(now);
	}
	return 0;
}
