/* SPDX-License-Identifier: MIT */
/*
 * Receiver: theory of operation.
 *
 * The image is sent as a framed stream: block b (4096 image bytes, the last
 * one shorter) is followed by its CRC-32, so block b occupies stream bytes
 * [b * 4100, b * 4100 + len(b) + 4). Chunk seq carries stream bytes
 * [seq * P, seq * P + P) for the chunk size P fixed at BEGIN. A chunk may
 * straddle two blocks; its pieces go to the sink (data) or to a small stash
 * (CRC trailer bytes). When every chunk covering a block is held and its
 * trailer is complete, the sink checks the block (it reads back flash) and
 * records it as verified. A block that fails is rewound: its chunks are
 * marked missing again, cum may move backwards, and the ACK that follows
 * makes the sender resend exactly those chunks.
 *
 * Chunk state is a ring bitmap of OTA_RX_TRACK bits for [cum, cum+TRACK);
 * every chunk below cum is held. Credit: the sender may send chunks below
 * the advertised limit; the limit never shrinks within a session, so a
 * rewind never revokes credit already granted.
 *
 * Resume: at BEGIN, chunk state is rebuilt from the sink's verified blocks,
 * so the chunk size may differ from the previous session and a reboot in
 * between loses nothing that was verified.
 *
 * Requests carry a token; the last response is cached and a repeated
 * (token, op) gets the cached bytes without running the request again, so
 * retries of non-idempotent requests (CONFIRM, REBOOT) are safe.
 *
 * Invariants: cum <= top <= nchunks; granted <= cum + OTA_RX_TRACK;
 * a verified block is never written again unless it fails a check.
 */
#include "protocol/receiver.h"

#include <errno.h>
#include <string.h>

#include "common/crc32.h"
#include "protocol/info.h"
#include "protocol/stream.h"
#include "protocol/tlv.h"

#define NO_DEADLINE OTA_RX_NO_DEADLINE

static void push_event(struct ota_rx *rx, enum ota_rx_event_type type,
		       uint8_t status, uint32_t value)
{
	unsigned int cap = sizeof(rx->evq) / sizeof(rx->evq[0]);
	struct ota_rx_event *ev;

	/* keep the newest: a lost log event is harmless, a lost REBOOT not */
	if (rx->evq_len == cap) {
		rx->evq_head = (rx->evq_head + 1) % cap;
		rx->evq_len--;
	}
	ev = &rx->evq[(rx->evq_head + rx->evq_len) % cap];
	ev->type = type;
	ev->status = status;
	ev->value = value;
	rx->evq_len++;
}

int ota_rx_next_event(struct ota_rx *rx, struct ota_rx_event *ev)
{
	unsigned int cap = sizeof(rx->evq) / sizeof(rx->evq[0]);

	if (!rx->evq_len)
		return -EAGAIN;
	*ev = rx->evq[rx->evq_head];
	rx->evq_head = (rx->evq_head + 1) % cap;
	rx->evq_len--;
	return 0;
}

int ota_rx_init(struct ota_rx *rx, const struct ota_rx_cfg *cfg)
{
	if (!cfg || !cfg->sink)
		return -EINVAL;
	if (cfg->max_value &&
	    (cfg->max_value < OTA_MIN_VALUE || cfg->max_value > OTA_MAX_VALUE))
		return -EINVAL;
	memset(rx, 0, sizeof(*rx));
	rx->cfg = *cfg;
	if (!rx->cfg.max_value)
		rx->cfg.max_value = OTA_MAX_VALUE;
	if (!rx->cfg.window_bytes)
		rx->cfg.window_bytes = OTA_RX_DEFAULT_WINDOW_BYTES;
	if (rx->cfg.window_bytes > OTA_RX_MAX_WINDOW_BYTES)
		rx->cfg.window_bytes = OTA_RX_MAX_WINDOW_BYTES;
	if (!rx->cfg.idle_timeout_ms)
		rx->cfg.idle_timeout_ms = OTA_RX_DEFAULT_IDLE_MS;
	if (!rx->cfg.ack_delay_ms)
		rx->cfg.ack_delay_ms = OTA_RX_DEFAULT_ACK_DELAY_MS;
	rx->state = OTA_RX_IDLE;
	rx->ack_deadline = NO_DEADLINE;
	rx->idle_deadline = NO_DEADLINE;
	return 0;
}

enum ota_rx_state ota_rx_get_state(const struct ota_rx *rx)
{
	return rx->state;
}

const struct ota_rx_stats *ota_rx_get_stats(const struct ota_rx *rx)
{
	return &rx->stats;
}

const char *ota_rx_state_name(uint8_t state)
{
	switch (state) {
	case OTA_RX_IDLE:
		return "idle";
	case OTA_RX_RECEIVING:
		return "receiving";
	case OTA_RX_VERIFIED:
		return "verified";
	case OTA_RX_COMMITTED:
		return "committed";
	default:
		return "unknown";
	}
}

/* ---- geometry and chunk state ------------------------------------------ */

static uint32_t block_len(const struct ota_rx *rx, uint32_t b)
{
	return ota_stream_block_len(rx->m.image_size, b);
}

static uint32_t block_first_chunk(const struct ota_rx *rx, uint32_t b)
{
	return ota_stream_block_first_chunk(b, rx->chunk);
}

static uint32_t block_last_chunk(const struct ota_rx *rx, uint32_t b)
{
	return ota_stream_block_last_chunk(rx->m.image_size, b, rx->chunk);
}

static uint32_t chunk_len(const struct ota_rx *rx, uint32_t seq)
{
	uint32_t start = seq * rx->chunk;
	uint32_t left = rx->stream_len - start;

	return left < rx->chunk ? left : rx->chunk;
}

static bool bit_get(const struct ota_rx *rx, uint32_t seq)
{
	uint32_t i = seq % OTA_RX_TRACK;

	return rx->bits[i / 8] & (1u << (i % 8));
}

static void bit_set(struct ota_rx *rx, uint32_t seq, bool on)
{
	uint32_t i = seq % OTA_RX_TRACK;

	if (on)
		rx->bits[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		rx->bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

static bool held(const struct ota_rx *rx, uint32_t seq)
{
	if (seq < rx->cum)
		return true;
	if (seq - rx->cum >= OTA_RX_TRACK)
		return false;
	return bit_get(rx, seq);
}

static void advance_cum(struct ota_rx *rx)
{
	while (rx->cum < rx->nchunks && bit_get(rx, rx->cum)) {
		/* the slot is reused for cum + TRACK: leave it clean */
		bit_set(rx, rx->cum, false);
		rx->cum++;
	}
	if (rx->top < rx->cum)
		rx->top = rx->cum;
}

static bool chunk_in_verified_blocks(struct ota_rx *rx, uint32_t seq)
{
	uint32_t start = seq * rx->chunk;
	uint32_t end = start + chunk_len(rx, seq) - 1;
	uint32_t b;

	for (b = start / OTA_BLOCK_STRIDE; b <= end / OTA_BLOCK_STRIDE; b++) {
		if (!rx->cfg.sink->block_verified(rx->cfg.sink_ctx, b))
			return false;
	}
	return true;
}

static uint32_t credit_limit(struct ota_rx *rx)
{
	uint32_t lim = rx->cum + rx->window;

	if (lim > rx->nchunks)
		lim = rx->nchunks;
	if (lim > rx->granted)
		rx->granted = lim;
	return rx->granted;
}

/* ---- stash of CRC trailers --------------------------------------------- */

static int stash_slot(struct ota_rx *rx, uint32_t b, bool create)
{
	unsigned int i = b % OTA_RX_STASH;

	if (rx->stash[i].used) {
		if (rx->stash[i].block == b)
			return (int)i;
		return -EBUSY;
	}
	if (!create)
		return -ENOENT;
	rx->stash[i].used = true;
	rx->stash[i].block = b;
	rx->stash[i].crc = 0;
	rx->stash[i].have = 0;
	return (int)i;
}

static void stash_release(struct ota_rx *rx, uint32_t b)
{
	int i = stash_slot(rx, b, false);

	if (i >= 0)
		rx->stash[i].used = false;
}

/* ---- responses and session end ----------------------------------------- */

static void respond(struct ota_rx *rx, uint8_t op, uint8_t token,
		    uint8_t status, const uint8_t *params, size_t len)
{
	int n = ota_frame_encode_rsp(rx->rsp, sizeof(rx->rsp), op, token,
				     status, params, len);

	if (n < 0) {
		/* cannot happen for the sizes used here; answer anyway */
		n = ota_frame_encode_rsp(rx->rsp, sizeof(rx->rsp), op, token,
					 OTA_STATUS_INTERNAL, NULL, 0);
		if (n < 0)
			return;
	}
	rx->rsp_len = (size_t)n;
	rx->rsp_pending = true;
	rx->rsp_read = false;
	rx->have_last = true;
	rx->last_op = op;
	rx->last_token = token;
}

static void respond_err(struct ota_rx *rx, uint8_t op, uint8_t token,
			uint8_t status, uint32_t detail)
{
	uint8_t d[4];

	ota_put_le32(d, detail);
	respond(rx, op, token, status, d, sizeof(d));
}

static void end_session(struct ota_rx *rx, uint8_t status, uint32_t detail,
			bool notify)
{
	rx->state = OTA_RX_IDLE;
	rx->last_status = status;
	rx->ack_due = false;
	rx->unacked = 0;
	rx->ack_deadline = NO_DEADLINE;
	rx->idle_deadline = NO_DEADLINE;
	rx->told_idle = notify;
	if (notify) {
		rx->ev.status = status;
		rx->ev.detail = detail;
		rx->ev_pending = true;
	}
}

static void fail_session(struct ota_rx *rx, uint8_t status, uint32_t detail)
{
	/*
	 * A link or flash fault is transient: keep what is verified so a
	 * retry resumes. An image the device has found invalid is not: drop
	 * it, or the next push would resume a hopeless image.
	 */
	bool hopeless = status == OTA_STATUS_BAD_IMAGE ||
			status == OTA_STATUS_MANIFEST_MISMATCH ||
			status == OTA_STATUS_HASH_MISMATCH;

	rx->cfg.sink->abort(rx->cfg.sink_ctx, hopeless);
	end_session(rx, status, detail, true);
	push_event(rx, OTA_RX_EV_FAILED, status, detail);
}

/* ---- data path ---------------------------------------------------------- */

static void rewind_block(struct ota_rx *rx, uint32_t b)
{
	uint32_t first = block_first_chunk(rx, b);
	uint32_t last = block_last_chunk(rx, b);
	uint32_t t;

	rx->stats.block_failures++;
	if (rx->fail_block == b && rx->fail_count) {
		rx->fail_count++;
	} else {
		rx->fail_block = b;
		rx->fail_count = 1;
	}
	if (rx->fail_count > OTA_RX_MAX_BLOCK_RETRIES) {
		fail_session(rx, OTA_STATUS_BLOCK_RETRIES, b);
		return;
	}
	push_event(rx, OTA_RX_EV_BLOCK_RETRY, OTA_STATUS_HASH_MISMATCH, b);
	stash_release(rx, b);
	/* chunks in [first, cum) are held: re-enter them into the ring */
	for (t = first; t < rx->cum; t++)
		bit_set(rx, t, true);
	if (first < rx->cum)
		rx->cum = first;
	for (t = first; t <= last; t++)
		bit_set(rx, t, false);
	rx->ack_due = true;
}

static bool block_complete(const struct ota_rx *rx, uint32_t b)
{
	uint32_t t;

	for (t = block_first_chunk(rx, b); t <= block_last_chunk(rx, b); t++) {
		if (!held(rx, t))
			return false;
	}
	return true;
}

static void try_check_block(struct ota_rx *rx, uint32_t b)
{
	const struct ota_sink_ops *sink = rx->cfg.sink;
	enum ota_status st;
	int i;

	if (rx->state != OTA_RX_RECEIVING)
		return;
	if (sink->block_verified(rx->cfg.sink_ctx, b))
		return;
	i = stash_slot(rx, b, false);
	if (i < 0 || rx->stash[i].have != 0x0f || !block_complete(rx, b))
		return;
	st = sink->check_block(rx->cfg.sink_ctx, b, rx->stash[i].crc);
	if (st == OTA_STATUS_OK) {
		rx->stash[i].used = false;
		rx->held_bytes += block_len(rx, b);
		if (rx->fail_block == b)
			rx->fail_count = 0;
	} else if (st == OTA_STATUS_HASH_MISMATCH) {
		rewind_block(rx, b);
	} else {
		fail_session(rx, st, b * OTA_BLOCK_SIZE);
	}
}

/*
 * Take chunk @seq apart (stream.h's walker): image bytes go to the sink
 * unless their block is already verified, trailer bytes to the block's
 * stash slot. Returns false if the session failed.
 */
static bool place_chunk(struct ota_rx *rx, uint32_t seq, const uint8_t *p,
			uint32_t len)
{
	const struct ota_sink_ops *sink = rx->cfg.sink;
	struct ota_stream_walk w;
	struct ota_stream_piece pc;
	enum ota_status st;
	uint32_t j, k;
	bool verified;
	int i;

	ota_stream_walk_init(&w, rx->m.image_size, seq * rx->chunk, len);
	for (; ota_stream_next(&w, &pc); p += pc.len) {
		verified = sink->block_verified(rx->cfg.sink_ctx, pc.block);
		if (!pc.trailer) {
			if (verified)
				continue;
			st = sink->write(rx->cfg.sink_ctx, pc.image_off, p,
					 pc.len);
			if (st != OTA_STATUS_OK) {
				fail_session(rx, st, pc.image_off);
				return false;
			}
			continue;
		}
		i = stash_slot(rx, pc.block, !verified);
		for (j = 0; i >= 0 && j < pc.len; j++) {
			k = pc.crc_off + j;
			rx->stash[i].crc &= ~(0xffu << (8 * k));
			rx->stash[i].crc |= (uint32_t)p[j] << (8 * k);
			rx->stash[i].have |= (uint8_t)(1u << k);
		}
	}
	return true;
}

/* Whether every trailer piece of @seq has a stash slot to land in. */
static bool stash_room(struct ota_rx *rx, uint32_t seq, uint32_t len)
{
	uint32_t start = seq * rx->chunk, end = start + len - 1;
	uint32_t b;

	for (b = start / OTA_BLOCK_STRIDE; b <= end / OTA_BLOCK_STRIDE; b++) {
		if (stash_slot(rx, b, false) == -EBUSY)
			return false;
	}
	return true;
}

static void handle_data(struct ota_rx *rx, const struct ota_data *d,
			uint64_t now_ms)
{
	uint32_t seq = d->seq, b0, b1, prev_top;

	if (rx->state != OTA_RX_RECEIVING) {
		rx->stats.dropped++;
		if (!rx->told_idle) {
			/* tell a sender that missed the end of the session */
			rx->told_idle = true;
			rx->ev.status = rx->last_status ? rx->last_status
							: OTA_STATUS_BAD_STATE;
			rx->ev.detail = 0;
			rx->ev_pending = true;
		}
		return;
	}
	if (seq >= rx->nchunks || d->len != chunk_len(rx, seq)) {
		rx->stats.dropped++;
		return;
	}
	if (held(rx, seq)) {
		/* the sender's view is stale: refresh it */
		rx->stats.duplicates++;
		rx->ack_due = true;
		return;
	}
	if (seq >= credit_limit(rx) || seq - rx->cum >= OTA_RX_TRACK ||
	    !stash_room(rx, seq, d->len)) {
		rx->stats.dropped++;
		rx->ack_due = true;
		return;
	}
	if (!place_chunk(rx, seq, d->payload, (uint32_t)d->len))
		return;

	prev_top = rx->top;
	bit_set(rx, seq, true);
	rx->stats.chunks++;
	if (seq + 1 > rx->top)
		rx->top = seq + 1;
	advance_cum(rx);
	rx->unacked++;

	b0 = seq * rx->chunk / OTA_BLOCK_STRIDE;
	b1 = (seq * rx->chunk + (uint32_t)d->len - 1) / OTA_BLOCK_STRIDE;
	try_check_block(rx, b0);
	if (b1 != b0)
		try_check_block(rx, b1);
	if (rx->state != OTA_RX_RECEIVING)
		return;

	/* a new hole: report it at once so the sender repairs it early */
	if (seq > prev_top || rx->cum == rx->nchunks ||
	    rx->unacked >= rx->ack_every) {
		rx->ack_due = true;
		/*
		 * ACK often while the sender starts slowly (it waits for ACKs
		 * to open up), then every quarter window.
		 */
		if (rx->ack_every < (rx->window + 3u) / 4u)
			rx->ack_every *= 2;
		if (rx->ack_every > (rx->window + 3u) / 4u)
			rx->ack_every = (rx->window + 3u) / 4u;
	} else if (rx->ack_deadline == NO_DEADLINE)
		rx->ack_deadline = now_ms + rx->cfg.ack_delay_ms;
}

/* ---- requests ----------------------------------------------------------- */

/*
 * The attribute @attr (info.h) into @buf: the sink's part plus the
 * receiver's own. Return: the length, -EMSGSIZE, or -ENOTSUP for an
 * unknown attribute.
 */
static int build_attr(struct ota_rx *rx, uint8_t attr, uint8_t *buf, size_t cap)
{
	union {
		struct ota_info_attr info;
		struct ota_status_attr st;
	} a;

	memset(&a, 0, sizeof(a));
	if (attr == OTA_ATTR_INFO) {
		rx->cfg.sink->get_info(rx->cfg.sink_ctx, &a.info.dev);
		a.info.proto_version = OTA_PROTO_VERSION;
		a.info.dev.caps |= OTA_CAP_RESUME;
		a.info.max_value = (uint16_t)rx->cfg.max_value;
		a.info.window = rx->cfg.window_bytes;
		return ota_info_encode(buf, cap, &a.info);
	}
	if (attr == OTA_ATTR_STATUS) {
		rx->cfg.sink->get_status(rx->cfg.sink_ctx, &a.st.dev);
		a.st.rx_state = (uint8_t)rx->state;
		a.st.last_status = rx->last_status;
		a.st.has_session = rx->state != OTA_RX_IDLE;
		a.st.image_size = rx->m.image_size;
		a.st.held = rx->held_bytes;
		memcpy(a.st.sha256, rx->m.sha256, sizeof(a.st.sha256));
		return ota_status_attr_encode(buf, cap, &a.st);
	}
	return -ENOTSUP;
}

int ota_rx_read_attr(struct ota_rx *rx, uint8_t attr, uint8_t *buf, size_t cap)
{
	return build_attr(rx, attr, buf, cap);
}

/*
 * READ is answered when polled, from the state at that moment: its response
 * may be as long as a value, and caching one would cost a value's worth of
 * RAM; a retried READ is simply answered again (it changes nothing).
 */
static void handle_read(struct ota_rx *rx, const struct ota_msg *msg)
{
	uint8_t tlv[OTA_ATTR_MAX_LEN];
	uint16_t off;
	int n;

	if (msg->params_len != 3) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_PDU, 0);
		return;
	}
	off = ota_get_le16(msg->params + 1);
	n = build_attr(rx, msg->params[0], tlv, sizeof(tlv));
	if (n == -ENOTSUP) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_UNSUPPORTED,
			    msg->params[0]);
		return;
	}
	if (n < 0) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_INTERNAL, 0);
		return;
	}
	if (off > n) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_OFFSET,
			    (uint32_t)n);
		return;
	}
	rx->rsp_pending = true;
	rx->rsp_read = true;
	rx->read_attr = msg->params[0];
	rx->read_off = off;
	/* not cached: a repeat is run again */
	rx->have_last = false;
	rx->last_token = msg->token;
}

static int poll_read(struct ota_rx *rx, uint8_t *buf, size_t cap)
{
	uint8_t tlv[OTA_ATTR_MAX_LEN];
	size_t room, n, max = cap < rx->cfg.max_value ? cap : rx->cfg.max_value;
	int total;

	if (max < OTA_READ_RSP_HDR)
		return -EMSGSIZE;
	total = build_attr(rx, rx->read_attr, tlv, sizeof(tlv));
	if (total < 0 || rx->read_off > total)
		return ota_frame_encode_rsp(buf, max, OTA_OP_READ,
					    rx->last_token, OTA_STATUS_INTERNAL,
					    NULL, 0);
	room = max - OTA_READ_RSP_HDR;
	n = (size_t)total - rx->read_off < room ? (size_t)total - rx->read_off
						: room;
	buf[0] = OTA_OP_READ | OTA_OP_RSP_BIT;
	buf[1] = rx->last_token;
	buf[2] = OTA_STATUS_OK;
	ota_put_le16(buf + 3, (uint16_t)total);
	memcpy(buf + OTA_READ_RSP_HDR, tlv + rx->read_off, n);
	return (int)(OTA_READ_RSP_HDR + n);
}

static void handle_manifest(struct ota_rx *rx, const struct ota_msg *msg)
{
	const uint8_t *bytes = msg->params + 2;
	size_t n, off;

	if (msg->params_len < 3) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_PDU, 0);
		return;
	}
	off = ota_get_le16(msg->params);
	n = msg->params_len - 2;
	if (off + n > OTA_MANIFEST_MAX) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_MANIFEST,
			    0);
		return;
	}
	if (off == 0 || off == rx->manifest_len) {
		/*
		 * Offset 0 always starts a new manifest, even one whose bytes
		 * are a prefix of the held one (it could never be uploaded
		 * otherwise); a segment at the end appends.
		 */
		memcpy(rx->manifest + off, bytes, n);
		rx->manifest_len = (uint16_t)(off + n);
	} else if (off + n <= rx->manifest_len &&
		   !memcmp(rx->manifest + off, bytes, n)) {
		/* a repeat of what we hold (a late duplicate): no change */
	} else {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_OFFSET,
			    rx->manifest_len);
		return;
	}
	respond(rx, msg->op, msg->token, OTA_STATUS_OK, NULL, 0);
}

/* Rebuild chunk state from the sink's verified blocks (resume). */
static void restore_from_sink(struct ota_rx *rx)
{
	const struct ota_sink_ops *sink = rx->cfg.sink;
	uint32_t b, t, first_missing = rx->nblocks;

	rx->held_bytes = 0;
	for (b = 0; b < rx->nblocks; b++) {
		if (sink->block_verified(rx->cfg.sink_ctx, b))
			rx->held_bytes += block_len(rx, b);
		else if (first_missing == rx->nblocks)
			first_missing = b;
	}
	memset(rx->bits, 0, sizeof(rx->bits));
	rx->cum = first_missing == rx->nblocks
			  ? rx->nchunks
			  : block_first_chunk(rx, first_missing);
	for (t = rx->cum; t < rx->nchunks && t - rx->cum < OTA_RX_TRACK; t++) {
		if (chunk_in_verified_blocks(rx, t))
			bit_set(rx, t, true);
	}
	rx->top = rx->cum;
	for (t = rx->cum; t < rx->nchunks && t - rx->cum < OTA_RX_TRACK; t++) {
		if (bit_get(rx, t))
			rx->top = t + 1;
	}
	advance_cum(rx);
}

static void handle_begin(struct ota_rx *rx, const struct ota_msg *msg,
			 uint64_t now_ms)
{
	struct ota_begin_req req;
	struct ota_manifest m;
	uint8_t p[9], bad_type;
	uint32_t detail = 0, max_chunk, window;
	enum ota_status st;
	int r;

	if (ota_frame_decode_begin(msg, &req)) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_PDU, 0);
		return;
	}
	max_chunk = (uint32_t)rx->cfg.max_value - OTA_DATA_HDR_LEN;
	if (req.chunk_size == 0 || req.chunk_size > max_chunk) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_CHUNK_SIZE,
			    max_chunk);
		return;
	}
	if (req.manifest_len != rx->manifest_len ||
	    req.manifest_crc != ota_crc32(0, rx->manifest, rx->manifest_len)) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_MANIFEST,
			    rx->manifest_len);
		return;
	}
	r = ota_manifest_decode(rx->manifest, rx->manifest_len, &m, &bad_type);
	if (r) {
		respond_err(rx, msg->op, msg->token,
			    r == -ENOTSUP ? OTA_STATUS_UNSUPPORTED
					  : OTA_STATUS_BAD_MANIFEST,
			    bad_type);
		return;
	}
	if (ota_stream_chunks(m.image_size, req.chunk_size) > OTA_MAX_SEQ) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_CHUNK_SIZE,
			    max_chunk);
		return;
	}

	/* a new BEGIN replaces whatever session was open */
	if (rx->state != OTA_RX_IDLE)
		end_session(rx, OTA_STATUS_OK, 0, false);
	st = rx->cfg.sink->begin(rx->cfg.sink_ctx, &m, req.flags, &detail);
	if (st != OTA_STATUS_OK) {
		rx->last_status = st;
		respond_err(rx, msg->op, msg->token, st, detail);
		return;
	}

	rx->m = m;
	rx->chunk = req.chunk_size;
	rx->nblocks = ota_stream_blocks(m.image_size);
	rx->stream_len = ota_stream_len(m.image_size);
	rx->nchunks = ota_stream_chunks(m.image_size, req.chunk_size);
	window = rx->cfg.window_bytes / rx->chunk;
	if (window > OTA_RX_MAX_WINDOW)
		window = OTA_RX_MAX_WINDOW;
	/* every chunk in flight must fit the ACK bitmap, or its arrival
	 * could not be reported and the sender would resend it */
	if (window > (rx->cfg.max_value - OTA_ACK_HDR_LEN) * 8 + 1)
		window =
			(uint32_t)(rx->cfg.max_value - OTA_ACK_HDR_LEN) * 8 + 1;
	if (window < 1)
		window = 1;
	rx->window = (uint16_t)window;
	memset(rx->stash, 0, sizeof(rx->stash));
	rx->fail_count = 0;
	rx->granted = 0;
	restore_from_sink(rx);
	rx->state = OTA_RX_RECEIVING;
	rx->last_status = OTA_STATUS_OK;
	rx->told_idle = false;
	rx->unacked = 0;
	rx->ack_every = 2;
	rx->ack_due = true; /* the bitmap of what is held beyond cum */
	rx->ack_deadline = NO_DEADLINE;
	rx->idle_deadline = now_ms + rx->cfg.idle_timeout_ms;

	ota_put_le16(p, rx->window);
	ota_put_le24(p + 2, rx->cum);
	ota_put_le32(p + 5, rx->held_bytes);
	respond(rx, msg->op, msg->token, OTA_STATUS_OK, p, sizeof(p));
	push_event(rx, OTA_RX_EV_BEGIN, OTA_STATUS_OK, rx->held_bytes);
}

static void handle_finish(struct ota_rx *rx, const struct ota_msg *msg)
{
	uint32_t detail = 0;
	enum ota_status st;

	switch (rx->state) {
	case OTA_RX_VERIFIED:
	case OTA_RX_COMMITTED:
		respond(rx, msg->op, msg->token, OTA_STATUS_OK, NULL, 0);
		return;
	case OTA_RX_IDLE:
		respond_err(rx, msg->op, msg->token, OTA_STATUS_BAD_STATE,
			    rx->state);
		return;
	case OTA_RX_RECEIVING:
		break;
	}
	if (rx->cum < rx->nchunks) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_INCOMPLETE,
			    rx->cum);
		rx->ack_due = true;
		return;
	}
	st = rx->cfg.sink->finish(rx->cfg.sink_ctx, &detail);
	if (st != OTA_STATUS_OK) {
		/* the sink has dropped the bad image; the session is over */
		end_session(rx, st, detail, false);
		push_event(rx, OTA_RX_EV_FAILED, st, detail);
		respond_err(rx, msg->op, msg->token, st, detail);
		return;
	}
	rx->state = OTA_RX_VERIFIED;
	push_event(rx, OTA_RX_EV_VERIFIED, OTA_STATUS_OK, rx->m.image_size);
	respond(rx, msg->op, msg->token, OTA_STATUS_OK, NULL, 0);
}

static void handle_commit(struct ota_rx *rx, const struct ota_msg *msg)
{
	uint32_t detail = 0;
	enum ota_status st;

	if (rx->state == OTA_RX_COMMITTED) {
		respond(rx, msg->op, msg->token, OTA_STATUS_OK, NULL, 0);
		return;
	}
	if (rx->state != OTA_RX_VERIFIED) {
		respond_err(rx, msg->op, msg->token, OTA_STATUS_NOT_VERIFIED,
			    rx->state);
		return;
	}
	st = rx->cfg.sink->commit(rx->cfg.sink_ctx, &detail);
	if (st != OTA_STATUS_OK) {
		respond_err(rx, msg->op, msg->token, st, detail);
		return;
	}
	rx->state = OTA_RX_COMMITTED;
	push_event(rx, OTA_RX_EV_COMMITTED, OTA_STATUS_OK, 0);
	respond(rx, msg->op, msg->token, OTA_STATUS_OK, NULL, 0);
}

static void handle_boot_op(struct ota_rx *rx, const struct ota_msg *msg)
{
	uint32_t detail = 0;
	enum ota_status st;

	if (msg->op == OTA_OP_CONFIRM)
		st = rx->cfg.sink->confirm(rx->cfg.sink_ctx, &detail);
	else
		st = rx->cfg.sink->rollback(rx->cfg.sink_ctx, &detail);
	if (st != OTA_STATUS_OK) {
		respond_err(rx, msg->op, msg->token, st, detail);
		return;
	}
	push_event(rx,
		   msg->op == OTA_OP_CONFIRM ? OTA_RX_EV_CONFIRMED
					     : OTA_RX_EV_ROLLED_BACK,
		   OTA_STATUS_OK, 0);
	respond(rx, msg->op, msg->token, OTA_STATUS_OK, NULL, 0);
}

static int handle_request(struct ota_rx *rx, const uint8_t *pdu, size_t len,
			  uint64_t now_ms)
{
	struct ota_msg msg;
	int r = ota_frame_decode_msg(pdu, len, &msg);

	if (r == -ENOTSUP && len >= 2 && !(pdu[0] & OTA_OP_RSP_BIT)) {
		respond_err(rx, pdu[0], pdu[1], OTA_STATUS_UNSUPPORTED, pdu[0]);
		/* unknown ops are not cached under a real op */
		rx->have_last = false;
		return 0;
	}
	if (r || msg.is_rsp)
		return -EBADMSG;
	/*
	 * FINISH..ABORT take no parameters: trailing bytes make it some other
	 * PDU, never the request it starts like (REBOOT + garbage rebooted).
	 */
	if (msg.params_len && msg.op >= OTA_OP_FINISH &&
	    msg.op <= OTA_OP_ABORT) {
		respond_err(rx, msg.op, msg.token, OTA_STATUS_BAD_PDU, 0);
		rx->have_last = false;
		return 0;
	}
	if (rx->have_last && msg.token == rx->last_token &&
	    msg.op == rx->last_op) {
		rx->rsp_pending = true; /* a retry: same answer, no re-run */
		rx->rsp_read = false;
		return 0;
	}
	switch ((enum ota_op)msg.op) {
	case OTA_OP_READ:
		handle_read(rx, &msg);
		break;
	case OTA_OP_MANIFEST:
		handle_manifest(rx, &msg);
		break;
	case OTA_OP_BEGIN:
		handle_begin(rx, &msg, now_ms);
		break;
	case OTA_OP_FINISH:
		handle_finish(rx, &msg);
		break;
	case OTA_OP_COMMIT:
		handle_commit(rx, &msg);
		break;
	case OTA_OP_CONFIRM:
	case OTA_OP_ROLLBACK:
		handle_boot_op(rx, &msg);
		break;
	case OTA_OP_REBOOT:
		respond(rx, msg.op, msg.token, OTA_STATUS_OK, NULL, 0);
		push_event(rx, OTA_RX_EV_REBOOT, OTA_STATUS_OK, 0);
		break;
	case OTA_OP_ABORT:
		if (rx->state == OTA_RX_COMMITTED) {
			/* the boot choice is made: ABORT cannot undo it */
			respond_err(rx, msg.op, msg.token, OTA_STATUS_BAD_STATE,
				    rx->state);
			break;
		}
		rx->cfg.sink->abort(rx->cfg.sink_ctx, true);
		end_session(rx, OTA_STATUS_ABORTED, 0, false);
		push_event(rx, OTA_RX_EV_ABORTED, OTA_STATUS_ABORTED, 0);
		respond(rx, msg.op, msg.token, OTA_STATUS_OK, NULL, 0);
		break;
	case OTA_OP_DATA:
	case OTA_OP_SYNC:
	case OTA_OP_ACK:
	case OTA_OP_EVENT:
		return -EBADMSG;
	}
	return 0;
}

int ota_rx_feed(struct ota_rx *rx, enum ota_chan chan, const uint8_t *pdu,
		size_t len, uint64_t now_ms)
{
	struct ota_data d;
	uint8_t sync_id;

	/*
	 * A value must arrive on the characteristic its opcode belongs to:
	 * a garbled chunk must never be taken for a request such as ABORT.
	 */
	if (len == 0 || chan == OTA_CHAN_STATUS ||
	    ota_frame_chan(pdu[0]) != chan) {
		rx->stats.dropped++;
		return -EBADMSG;
	}
	if (rx->state != OTA_RX_IDLE)
		rx->idle_deadline = now_ms + rx->cfg.idle_timeout_ms;

	switch (pdu[0]) {
	case OTA_OP_DATA:
		if (ota_frame_decode_data(pdu, len, &d)) {
			rx->stats.dropped++;
			return -EBADMSG;
		}
		handle_data(rx, &d, now_ms);
		return 0;
	case OTA_OP_SYNC:
		if (ota_frame_decode_sync(pdu, len, &sync_id)) {
			rx->stats.dropped++;
			return -EBADMSG;
		}
		rx->sync_echo = sync_id;
		if (rx->state == OTA_RX_IDLE) {
			rx->ev.status = rx->last_status ? rx->last_status
							: OTA_STATUS_BAD_STATE;
			rx->ev.detail = 0;
			rx->ev_pending = true;
		} else {
			rx->ack_due = true;
		}
		return 0;
	default:
		return handle_request(rx, pdu, len, now_ms);
	}
}

/* ---- output and timers -------------------------------------------------- */

static int build_ack(struct ota_rx *rx, uint8_t *buf, size_t cap)
{
	uint8_t bitmap[OTA_MAX_VALUE];
	struct ota_ack ack;
	size_t room, nbytes, i;
	uint32_t nbits = rx->top > rx->cum + 1 ? rx->top - rx->cum - 1 : 0;
	int n;

	room = (cap < rx->cfg.max_value ? cap : rx->cfg.max_value) -
	       OTA_ACK_HDR_LEN;
	nbytes = (nbits + 7) / 8;
	if (nbytes > room)
		nbytes = room;
	memset(bitmap, 0, nbytes);
	for (i = 0; i < nbytes * 8 && i < nbits; i++) {
		if (held(rx, rx->cum + 1 + (uint32_t)i))
			bitmap[i / 8] |= (uint8_t)(1u << (i % 8));
	}
	ack.ack_no = ++rx->ack_no;
	ack.sync_echo = rx->sync_echo;
	ack.cum = rx->cum;
	ack.limit = credit_limit(rx);
	ack.bitmap = bitmap;
	ack.bitmap_len = nbytes;
	n = ota_frame_encode_ack(buf, cap, &ack);
	if (n > 0) {
		rx->ack_due = false;
		rx->unacked = 0;
		rx->ack_deadline = NO_DEADLINE;
		rx->stats.acks++;
	}
	return n;
}

int ota_rx_poll(struct ota_rx *rx, uint8_t *buf, size_t cap,
		enum ota_chan *chan, uint64_t now_ms)
{
	(void)now_ms;
	if (rx->rsp_pending && rx->rsp_read) {
		int n = poll_read(rx, buf, cap);

		if (n < 0)
			return n;
		rx->rsp_pending = false;
		*chan = OTA_CHAN_CONTROL;
		return n;
	}
	if (rx->rsp_pending) {
		if (cap < rx->rsp_len)
			return -EMSGSIZE;
		memcpy(buf, rx->rsp, rx->rsp_len);
		rx->rsp_pending = false;
		*chan = OTA_CHAN_CONTROL;
		return (int)rx->rsp_len;
	}
	if (rx->ev_pending) {
		int n = ota_frame_encode_event(buf, cap, &rx->ev);

		if (n < 0)
			return n;
		rx->ev_pending = false;
		*chan = OTA_CHAN_STATUS;
		return n;
	}
	if (rx->ack_due && rx->state != OTA_RX_IDLE) {
		if (cap < OTA_ACK_HDR_LEN)
			return -EMSGSIZE;
		*chan = OTA_CHAN_STATUS;
		return build_ack(rx, buf, cap);
	}
	return -EAGAIN;
}

uint64_t ota_rx_next_deadline(const struct ota_rx *rx)
{
	uint64_t d = NO_DEADLINE;

	if (rx->state == OTA_RX_IDLE)
		return d;
	if (rx->unacked && !rx->ack_due && rx->ack_deadline < d)
		d = rx->ack_deadline;
	if (rx->idle_deadline < d)
		d = rx->idle_deadline;
	return d;
}

void ota_rx_on_timeout(struct ota_rx *rx, uint64_t now_ms)
{
	if (rx->state == OTA_RX_IDLE)
		return;
	if (rx->ack_deadline != NO_DEADLINE && now_ms >= rx->ack_deadline) {
		rx->ack_due = true;
		rx->ack_deadline = NO_DEADLINE;
	}
	if (now_ms >= rx->idle_deadline) {
		if (rx->state == OTA_RX_COMMITTED) {
			end_session(rx, OTA_STATUS_OK, 0, false);
			return;
		}
		/* never wait forever: end the session, keep the blocks */
		rx->cfg.sink->abort(rx->cfg.sink_ctx, false);
		end_session(rx, OTA_STATUS_TIMEOUT, rx->cfg.idle_timeout_ms,
			    true);
		push_event(rx, OTA_RX_EV_TIMEOUT, OTA_STATUS_TIMEOUT,
			   rx->cfg.idle_timeout_ms);
	}
}

int ota_rx_set_max_value(struct ota_rx *rx, size_t max_value)
{
	if (max_value < OTA_MIN_VALUE || max_value > OTA_MAX_VALUE)
		return -EINVAL;
	rx->cfg.max_value = max_value;
	return 0;
}

void ota_rx_disconnect(struct ota_rx *rx)
{
	/*
	 * A session belongs to the connection that began it: suspend it, so
	 * that whoever connects next must BEGIN (and so resume) before any
	 * DATA, FINISH or COMMIT is accepted. The sink keeps what it holds.
	 */
	if (rx->state == OTA_RX_RECEIVING || rx->state == OTA_RX_VERIFIED) {
		rx->cfg.sink->abort(rx->cfg.sink_ctx, false);
		end_session(rx, rx->last_status, 0, false);
	} else if (rx->state == OTA_RX_COMMITTED) {
		end_session(rx, OTA_STATUS_OK, 0, false);
	}
	/* a new connection starts a new token sequence */
	rx->have_last = false;
	rx->rsp_pending = false;
	rx->ev_pending = false;
	rx->ack_due = false;
	rx->unacked = 0;
	rx->ack_deadline = NO_DEADLINE;
}
