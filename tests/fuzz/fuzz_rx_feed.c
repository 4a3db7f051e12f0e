/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the receiver (protocol/receiver.h) fed an arbitrary
 * sequence of datagrams on arbitrary characteristics, with time passing.
 *
 * Input: a header, then records until the input ends.
 *   header  max_value (1: 20 + 2k), flags (1: bit 0 = the harness opens a
 *           session first with a valid MANIFEST + BEGIN, bit 1 = the sink
 *           fails FINISH with BAD_IMAGE, bits 2-7 = the sink fails that
 *           write), image size (2: 1 + n % 20000), chunk size (2:
 *           n % (max_value - 3), 0 = max_value - 4), window KiB (1)
 *   record  ctl (1): bits 0-1 channel, bits 2-7 d, time advances d * d * 8 ms
 *           channel 0-2: len (1), then len bytes fed on Control/Data/Status
 *           channel 3: an action (1): a correct DATA chunk of the harness's
 *           image (seq: 2 bytes), the same with one byte flipped, a
 *           disconnect, a read of attribute (1), or a jump to the next
 *           deadline
 * After every record the due timers run and every notification is drained.
 *
 * Invariants beyond "no crash": the sink is written only inside the open
 * session's image, one block at a time, never into a verified block; a block
 * is checked only once complete and not yet verified; FINISH reaches the
 * sink only when every block is verified; every value ota_rx_poll() returns
 * fits the link and decodes as a response (Control) or an ACK/EVENT
 * (Status); an ACK never grants credit past the last chunk; and the
 * receiver's own invariants (cum <= top <= nchunks) hold after every step.
 */
#include <errno.h>
#include <string.h>

#include "common/crc32.h"
#include "protocol/receiver.h"
#include "protocol/tlv.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOT      32768u
#define MAX_IMAGE 20000u
#define SLOT_BLKS (SLOT / OTA_BLOCK_SIZE)

struct fsink {
	bool verified[SLOT_BLKS];
	struct ota_manifest m;
	bool open;
	unsigned int writes, fail_write_at; /* FLASH_ERROR on that write */
	bool bad_image;                     /* FINISH answers BAD_IMAGE */
	uint8_t slot[SLOT];
};

static struct fsink S;

static uint32_t nblocks(void)
{
	return ota_stream_blocks(S.m.image_size);
}

static enum ota_status s_begin(void *ctx, const struct ota_manifest *m,
			       uint8_t flags, uint32_t *detail)
{
	(void)ctx;
	if (m->image_size > SLOT) {
		*detail = SLOT;
		return OTA_STATUS_TOO_LARGE;
	}
	if ((flags & OTA_BEGIN_FRESH) || m->image_size != S.m.image_size ||
	    memcmp(m->sha256, S.m.sha256, 32))
		memset(S.verified, 0, sizeof(S.verified));
	S.m = *m;
	S.open = true;
	return OTA_STATUS_OK;
}

static bool s_block_verified(void *ctx, uint32_t b)
{
	(void)ctx;
	FUZZ_CHECK(b < nblocks());
	return S.verified[b];
}

static enum ota_status s_write(void *ctx, uint32_t off, const uint8_t *p,
			       size_t len)
{
	(void)ctx;
	FUZZ_CHECK(S.open && len > 0);
	FUZZ_CHECK(off < S.m.image_size && len <= S.m.image_size - off);
	FUZZ_CHECK(off / OTA_BLOCK_SIZE == (off + len - 1) / OTA_BLOCK_SIZE);
	FUZZ_CHECK(!S.verified[off / OTA_BLOCK_SIZE]);
	if (++S.writes == S.fail_write_at)
		return OTA_STATUS_FLASH_ERROR;
	memcpy(S.slot + off, p, len);
	return OTA_STATUS_OK;
}

static enum ota_status s_check_block(void *ctx, uint32_t b, uint32_t crc)
{
	uint32_t off = b * OTA_BLOCK_SIZE, len;

	(void)ctx;
	FUZZ_CHECK(S.open && b < nblocks() && !S.verified[b]);
	len = S.m.image_size - off < OTA_BLOCK_SIZE ? S.m.image_size - off
						    : OTA_BLOCK_SIZE;
	if (ota_crc32(0, S.slot + off, len) != crc)
		return OTA_STATUS_HASH_MISMATCH;
	S.verified[b] = true;
	return OTA_STATUS_OK;
}

static enum ota_status s_finish(void *ctx, uint32_t *detail)
{
	uint32_t b;

	(void)ctx;
	FUZZ_CHECK(S.open);
	for (b = 0; b < nblocks(); b++)
		FUZZ_CHECK(S.verified[b]);
	if (S.bad_image) {
		*detail = 1;
		S.open = false;
		return OTA_STATUS_BAD_IMAGE;
	}
	return OTA_STATUS_OK;
}

static enum ota_status s_ok(void *ctx, uint32_t *detail)
{
	(void)ctx;
	(void)detail;
	return OTA_STATUS_OK;
}

static void s_abort(void *ctx, bool discard)
{
	(void)ctx;
	S.open = false;
	if (discard)
		memset(S.verified, 0, sizeof(S.verified));
}

static void s_info(void *ctx, struct ota_dev_info *info)
{
	(void)ctx;
	info->slot_size = SLOT;
	strcpy(info->run_version, "1.0.0");
}

static void s_status(void *ctx, struct ota_dev_status *st)
{
	(void)ctx;
	strcpy(st->last_boot, "fuzz");
}

static const struct ota_sink_ops ops = {
	.begin = s_begin,
	.block_verified = s_block_verified,
	.write = s_write,
	.check_block = s_check_block,
	.finish = s_finish,
	.commit = s_ok,
	.confirm = s_ok,
	.rollback = s_ok,
	.abort = s_abort,
	.get_info = s_info,
	.get_status = s_status,
};

static struct ota_rx rx;
static uint8_t stream[MAX_IMAGE + 8 * OTA_BLOCK_CRC_LEN];

/* Drain notifications and events; check what the receiver says. */
static void drain(uint64_t now)
{
	uint8_t buf[OTA_MAX_VALUE];
	struct ota_rx_event ev;
	enum ota_chan chan;
	struct ota_msg msg;
	struct ota_ack ack;
	struct ota_event oev;
	int n;

	while ((n = ota_rx_poll(&rx, buf, rx.cfg.max_value, &chan, now)) >= 0) {
		FUZZ_CHECK(n > 0 && (size_t)n <= rx.cfg.max_value);
		if (chan == OTA_CHAN_CONTROL) {
			/* unknown requests are answered UNSUPPORTED, op echoed */
			if (ota_frame_decode_msg(buf, (size_t)n, &msg)) {
				FUZZ_CHECK(n == OTA_ERR_RSP_LEN);
				FUZZ_CHECK(buf[0] & OTA_OP_RSP_BIT);
				FUZZ_CHECK(buf[2] == OTA_STATUS_UNSUPPORTED);
				continue;
			}
			FUZZ_CHECK(msg.is_rsp);
		} else if (!ota_frame_decode_ack(buf, (size_t)n, &ack)) {
			FUZZ_CHECK(chan == OTA_CHAN_STATUS);
			FUZZ_CHECK(ack.limit <= rx.nchunks);
		} else {
			FUZZ_CHECK(chan == OTA_CHAN_STATUS);
			FUZZ_CHECK(
				!ota_frame_decode_event(buf, (size_t)n, &oev));
		}
	}
	FUZZ_CHECK(n == -EAGAIN);
	while (!ota_rx_next_event(&rx, &ev))
		;
	if (rx.state != OTA_RX_IDLE) {
		FUZZ_CHECK(rx.cum <= rx.top && rx.top <= rx.nchunks);
		FUZZ_CHECK(rx.granted <= rx.nchunks);
	}
}

static void feed(enum ota_chan chan, const uint8_t *p, size_t len, uint64_t now)
{
	(void)ota_rx_feed(&rx, chan, p, len, now);
	drain(now);
}

/* MANIFEST in pieces, then BEGIN, for an image of @isize in chunks of @P. */
static void open_session(uint32_t isize, uint16_t P)
{
	struct ota_manifest m = { .image_size = isize };
	struct ota_begin_req req = { .chunk_size = P };
	uint8_t man[OTA_MANIFEST_MAX], pdu[OTA_MAX_VALUE], tok = 1;
	size_t piece = rx.cfg.max_value - OTA_MANIFEST_REQ_HDR, off, k;
	int n = ota_manifest_encode(man, sizeof(man), &m);

	for (off = 0; off < (size_t)n; off += k) {
		k = (size_t)n - off < piece ? (size_t)n - off : piece;
		pdu[0] = OTA_OP_MANIFEST;
		pdu[1] = tok++;
		ota_put_le16(pdu + 2, (uint16_t)off);
		memcpy(pdu + 4, man + off, k);
		feed(OTA_CHAN_CONTROL, pdu, 4 + k, 0);
	}
	req.manifest_len = (uint16_t)n;
	req.manifest_crc = ota_crc32(0, man, (size_t)n);
	n = ota_frame_encode_begin(pdu, sizeof(pdu), tok, &req);
	feed(OTA_CHAN_CONTROL, pdu, (size_t)n, 0);
}

/* The framed stream of the harness's image: block bytes, then the CRC. */
static void make_stream(uint32_t isize)
{
	uint32_t b, i, pos = 0;

	for (b = 0; b < ota_stream_blocks(isize); b++) {
		uint32_t len = isize - b * OTA_BLOCK_SIZE;
		uint8_t *blk = stream + pos;

		if (len > OTA_BLOCK_SIZE)
			len = OTA_BLOCK_SIZE;
		for (i = 0; i < len; i++)
			blk[i] = (uint8_t)((b * OTA_BLOCK_SIZE + i) * 31 + 7);
		ota_put_le32(blk + len, ota_crc32(0, blk, len));
		pos += len + OTA_BLOCK_CRC_LEN;
	}
}

/* The INFO/STATUS attributes, as a GATT read serves them: TLVs that walk. */
static void read_attr(uint8_t attr)
{
	uint8_t buf[OTA_MAX_VALUE], type;
	uint16_t vlen;
	const uint8_t *val;
	size_t off = 0;
	int n = ota_rx_read_attr(&rx, attr, buf, sizeof(buf)), r;

	if (attr != OTA_ATTR_INFO && attr != OTA_ATTR_STATUS) {
		FUZZ_CHECK(n == -ENOTSUP);
		return;
	}
	FUZZ_CHECK(n > 0);
	while ((r = ota_tlv_next(buf, (size_t)n, &off, &type, &val, &vlen)))
		FUZZ_CHECK(r == 1);
}

static void valid_chunk(uint32_t isize, uint16_t P, uint32_t seq, bool flip,
			uint64_t now)
{
	uint32_t slen = ota_stream_len(isize), start = (uint32_t)seq * P;
	uint8_t pdu[OTA_MAX_VALUE];
	size_t len;

	if (start >= slen)
		return;
	len = slen - start < P ? slen - start : P;
	pdu[0] = OTA_OP_DATA;
	ota_put_le24(pdu + 1, seq);
	memcpy(pdu + 4, stream + start, len);
	if (flip)
		pdu[4 + (seq % len)] ^= 0x01;
	feed(OTA_CHAN_DATA, pdu, 4 + len, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };
	struct ota_rx_cfg cfg = { .sink = &ops };
	uint32_t isize;
	uint16_t P;
	uint64_t now = 0;
	uint8_t flags;

	memset(&S, 0, sizeof(S));
	cfg.max_value = 20 + 2u * (fz_u8(&f) % 246);
	flags = fz_u8(&f);
	isize = 1 + fz_u16(&f) % MAX_IMAGE;
	P = (uint16_t)(fz_u16(&f) % (cfg.max_value - OTA_DATA_HDR_LEN + 1));
	if (!P)
		P = (uint16_t)(cfg.max_value - OTA_DATA_HDR_LEN);
	cfg.window_bytes = (fz_u8(&f) % 65) * 1024u;
	FUZZ_CHECK(!ota_rx_init(&rx, &cfg));
	S.fail_write_at = flags >> 2;
	S.bad_image = flags & 2;
	make_stream(isize);
	if (flags & 1)
		open_session(isize, P);

	while (f.n) {
		uint8_t ctl = fz_u8(&f), len, act;
		const uint8_t *p;
		size_t got;

		now += (uint64_t)(ctl >> 2) * (ctl >> 2) * 8;
		if (ota_rx_next_deadline(&rx) <= now) {
			ota_rx_on_timeout(&rx, now);
			drain(now);
		}
		if ((ctl & 3) != 3) {
			len = fz_u8(&f);
			p = fz_take(&f, len, &got);
			feed((enum ota_chan)(ctl & 3), p, got, now);
			continue;
		}
		act = fz_u8(&f);
		switch (act % 5) {
		case 0:
		case 1:
			valid_chunk(isize, P,
				    fz_u16(&f) %
					    (ota_stream_chunks(isize, P) + 1),
				    act % 5 == 1, now);
			break;
		case 2:
			ota_rx_disconnect(&rx);
			break;
		case 3:
			read_attr(fz_u8(&f));
			break;
		default:
			if (ota_rx_next_deadline(&rx) != OTA_RX_NO_DEADLINE) {
				now = ota_rx_next_deadline(&rx);
				ota_rx_on_timeout(&rx, now);
				drain(now);
			}
			break;
		}
	}
	return 0;
}
