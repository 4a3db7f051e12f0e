/* SPDX-License-Identifier: MIT */
/*
 * Sender: theory of operation.
 *
 * Requests. At most one request is outstanding. It carries a token that
 * changes per request and stays the same across retries, so the device can
 * answer a retry from its cache; a response with another token is stale
 * and ignored. A request is resent when its timeout passes, up to
 * max_retries times, then the operation ends with -ETIMEDOUT.
 *
 * Data. Chunks are sent while seq < limit (the device's credit). Each send
 * gets a send-order number. An ACK moves una to the device's cum and marks
 * chunks from its bitmap; a chunk is declared lost when a chunk sent at
 * least OTA_TX_REORDER sends after it has been acknowledged (the packet
 * threshold of RFC 9002), so only missing chunks are resent and reordering
 * up to that depth costs nothing. Tail losses, where nothing later is
 * acknowledged, are found with SYNC: after rto_ms without progress the
 * sender asks for an ACK, and when an ACK echoing that SYNC arrives every
 * chunk sent before the SYNC and still unacknowledged is lost. An ACK may
 * move cum backwards: the device found a block whose CRC failed and wants
 * its chunks again; the bitmap tells which.
 *
 * ACKs carry a 16-bit number; one that is not newer than the last seen is
 * ignored, so reordered notifications never undo progress.
 *
 * Pacing. The credit window may be far larger than the link's
 * bandwidth-delay product, and the host's queue (bluetoothd's, for
 * AcquireWrite) is unbounded: dumping a whole window into it would make a
 * retransmission wait behind it. So new chunks are held back while the
 * transmissions sent after the newest acknowledged one reach
 * max(16, ceil(window / 4), 2 x delivery rate x min RTT), rate and RTT
 * measured from ACKs (the BBR idea); before the first measurement, a slow
 * start. ceil(window / 4) is the device's ACK trigger (docs/protocol.md
 * §4.2): with fewer in flight every round would wait for its ACK timer. Retransmissions
 * and SYNC are never held back.
 */
#include "protocol/sender.h"

#include <errno.h>
#include <string.h>

#include "common/crc32.h"
#include "protocol/stream.h"

#define ST_ACKED 0x01
#define ST_LOST  0x02

static void push_event(struct ota_tx *tx, enum ota_tx_event_type type, int err,
		       uint8_t status, uint32_t detail, uint32_t value)
{
	unsigned int cap = sizeof(tx->evq) / sizeof(tx->evq[0]);
	struct ota_tx_event *ev;

	if (tx->evq_len == cap) {
		tx->evq_head = (tx->evq_head + 1) % cap;
		tx->evq_len--;
	}
	ev = &tx->evq[(tx->evq_head + tx->evq_len) % cap];
	ev->type = type;
	ev->err = err;
	ev->op = tx->req_op;
	ev->status = status;
	ev->detail = detail;
	ev->value = value;
	tx->evq_len++;
}

int ota_tx_next_event(struct ota_tx *tx, struct ota_tx_event *ev)
{
	unsigned int cap = sizeof(tx->evq) / sizeof(tx->evq[0]);

	if (!tx->evq_len)
		return -EAGAIN;
	*ev = tx->evq[tx->evq_head];
	tx->evq_head = (tx->evq_head + 1) % cap;
	tx->evq_len--;
	return 0;
}

int ota_tx_init(struct ota_tx *tx, const struct ota_tx_cfg *cfg)
{
	struct ota_tx_cfg c = cfg ? *cfg : (struct ota_tx_cfg){ 0 };

	if (!c.max_value)
		c.max_value = OTA_MAX_VALUE;
	if (c.max_value < OTA_MIN_VALUE || c.max_value > OTA_MAX_VALUE)
		return -EINVAL;
	if (!c.chunk_size)
		c.chunk_size = (uint16_t)(c.max_value - OTA_DATA_HDR_LEN);
	if (c.chunk_size > c.max_value - OTA_DATA_HDR_LEN)
		return -EINVAL;
	if (!c.rto_ms)
		c.rto_ms = OTA_TX_DEFAULT_RTO_MS;
	if (!c.req_timeout_ms)
		c.req_timeout_ms = OTA_TX_DEFAULT_REQ_MS;
	if (!c.finish_timeout_ms)
		c.finish_timeout_ms = OTA_TX_DEFAULT_FINISH_MS;
	if (!c.max_retries)
		c.max_retries = OTA_TX_DEFAULT_RETRIES;
	memset(tx, 0, sizeof(*tx));
	tx->cfg = c;
	tx->token = c.first_token;
	tx->phase = OTA_TX_IDLE;
	tx->rto_deadline = OTA_TX_NO_DEADLINE;
	tx->req_deadline = OTA_TX_NO_DEADLINE;
	return 0;
}

bool ota_tx_is_done(const struct ota_tx *tx)
{
	return tx->phase == OTA_TX_IDLE || tx->phase == OTA_TX_DONE;
}

const struct ota_tx_progress *ota_tx_get_progress(const struct ota_tx *tx)
{
	return &tx->prog;
}

const uint8_t *ota_tx_read_data(const struct ota_tx *tx, size_t *len)
{
	*len = tx->read_len;
	return tx->readbuf;
}

/* ---- operation end and requests ---------------------------------------- */

static void finish_op(struct ota_tx *tx, int err, uint8_t status,
		      uint32_t detail)
{
	tx->phase = OTA_TX_DONE;
	tx->req_active = false;
	tx->req_unsent = false;
	tx->req_deadline = OTA_TX_NO_DEADLINE;
	tx->rto_deadline = OTA_TX_NO_DEADLINE;
	tx->sync_pending = false;
	push_event(tx, OTA_TX_EV_DONE, err, status, detail, 0);
}

static void start_req(struct ota_tx *tx, uint8_t op, const uint8_t *params,
		      size_t len)
{
	int n;

	tx->token++;
	n = ota_frame_encode_req(tx->req, tx->cfg.max_value, op, tx->token,
				 params, len);
	if (n < 0) {
		finish_op(tx, n, 0, 0);
		return;
	}
	tx->req_len = (size_t)n;
	tx->req_op = op;
	tx->req_active = true;
	tx->req_unsent = true;
	tx->req_tries = 0;
}

static void send_manifest_segment(struct ota_tx *tx)
{
	uint8_t p[OTA_MAX_VALUE];
	size_t room = tx->cfg.max_value - OTA_MANIFEST_REQ_HDR;
	size_t n = tx->manifest_len - tx->manifest_sent;

	if (n > room)
		n = room;
	ota_put_le16(p, (uint16_t)tx->manifest_sent);
	memcpy(p + 2, tx->manifest + tx->manifest_sent, n);
	start_req(tx, OTA_OP_MANIFEST, p, n + 2);
}

static void send_begin(struct ota_tx *tx)
{
	struct ota_begin_req b = {
		.flags = tx->flags & (OTA_BEGIN_FORCE | OTA_BEGIN_FRESH),
		.chunk_size = tx->chunk,
		.manifest_len = (uint16_t)tx->manifest_len,
		.manifest_crc = ota_crc32(0, tx->manifest, tx->manifest_len),
	};
	uint8_t p[9];

	p[0] = b.flags;
	ota_put_le16(p + 1, b.chunk_size);
	ota_put_le16(p + 3, b.manifest_len);
	ota_put_le32(p + 5, b.manifest_crc);
	tx->phase = OTA_TX_BEGIN;
	start_req(tx, OTA_OP_BEGIN, p, sizeof(p));
}

static void send_read(struct ota_tx *tx)
{
	uint8_t p[3];

	p[0] = tx->read_attr;
	ota_put_le16(p + 1, (uint16_t)tx->read_len);
	start_req(tx, OTA_OP_READ, p, sizeof(p));
}

int ota_tx_push(struct ota_tx *tx, const uint8_t *image, size_t len,
		const struct ota_manifest *m, uint8_t flags, uint64_t now_ms)
{
	int n;

	(void)now_ms;
	if (!ota_tx_is_done(tx))
		return -EBUSY;
	if (len > OTA_MAX_IMAGE || ota_manifest_stream_size(m) != len)
		return -EINVAL;
	n = ota_manifest_encode(tx->manifest, sizeof(tx->manifest), m);
	if (n < 0)
		return -EINVAL;
	tx->image = image;
	tx->m = *m;
	tx->flags = flags;
	tx->manifest_len = (size_t)n;
	tx->manifest_sent = 0;
	tx->incomplete_tries = 0;

	tx->chunk = tx->cfg.chunk_size;
	tx->stream_len = ota_stream_len((uint32_t)len);
	tx->nchunks = ota_stream_chunks((uint32_t)len, tx->chunk);
	if (tx->nchunks > OTA_MAX_SEQ)
		return -EINVAL;
	tx->una = tx->nxt = tx->limit = 0;
	memset(tx->st, 0, sizeof(tx->st));
	memset(tx->order, 0, sizeof(tx->order));
	tx->order_ctr = tx->max_acked_order = tx->lost_count = 0;
	tx->have_ack_no = false;
	tx->sync_pending = tx->sync_outstanding = false;
	tx->rto_count = 0;
	tx->rto_deadline = OTA_TX_NO_DEADLINE;
	tx->crc_valid = false;
	tx->min_rtt_ms = 0;
	tx->rate_n = 0;
	tx->rate_head = 0;
	tx->pace_cap = 0;
	memset(&tx->prog, 0, sizeof(tx->prog));
	tx->prog.image_size = (uint32_t)len;
	tx->prog.chunks = tx->nchunks;
	tx->prog.chunk_size = tx->chunk;

	tx->phase = OTA_TX_MANIFEST;
	send_manifest_segment(tx);
	return 0;
}

int ota_tx_request(struct ota_tx *tx, uint8_t op, uint8_t attr, uint64_t now_ms)
{
	(void)now_ms;
	if (!ota_tx_is_done(tx))
		return -EBUSY;
	switch (op) {
	case OTA_OP_READ:
		tx->read_attr = attr;
		tx->read_len = 0;
		tx->read_total = 0;
		tx->phase = OTA_TX_REQUEST;
		send_read(tx);
		return 0;
	case OTA_OP_FINISH:
	case OTA_OP_COMMIT:
	case OTA_OP_CONFIRM:
	case OTA_OP_ROLLBACK:
	case OTA_OP_REBOOT:
	case OTA_OP_ABORT:
		tx->phase = OTA_TX_REQUEST;
		start_req(tx, op, NULL, 0);
		return 0;
	default:
		return -EINVAL;
	}
}

/* ---- the data pump ------------------------------------------------------ */

static uint8_t *st_of(struct ota_tx *tx, uint32_t seq)
{
	return &tx->st[seq % OTA_TX_TRACK];
}

static uint32_t *order_of(struct ota_tx *tx, uint32_t seq)
{
	return &tx->order[seq % OTA_TX_TRACK];
}

static uint32_t chunk_len(const struct ota_tx *tx, uint32_t seq)
{
	uint32_t left = tx->stream_len - seq * tx->chunk;

	return left < tx->chunk ? left : tx->chunk;
}

static uint32_t block_crc(struct ota_tx *tx, uint32_t b)
{
	if (tx->crc_valid && tx->crc_block == b)
		return tx->crc_value;
	tx->crc_value = ota_crc32(
		0, tx->image + b * OTA_BLOCK_SIZE,
		ota_stream_block_len(ota_manifest_stream_size(&tx->m), b));
	tx->crc_block = b;
	tx->crc_valid = true;
	return tx->crc_value;
}

/* Copy stream bytes [off, off + len) (image data and CRC trailers). */
static void fill_stream(struct ota_tx *tx, uint32_t off, uint8_t *out,
			uint32_t len)
{
	struct ota_stream_walk w;
	struct ota_stream_piece pc;
	uint8_t crc[OTA_BLOCK_CRC_LEN];

	ota_stream_walk_init(&w, ota_manifest_stream_size(&tx->m), off, len);
	for (; ota_stream_next(&w, &pc); out += pc.len) {
		if (!pc.trailer) {
			memcpy(out, tx->image + pc.image_off, pc.len);
		} else {
			ota_put_le32(crc, block_crc(tx, pc.block));
			memcpy(out, crc + pc.crc_off, pc.len);
		}
	}
}

static int emit_chunk(struct ota_tx *tx, uint32_t seq, uint8_t *buf, size_t cap,
		      uint64_t now_ms)
{
	uint32_t len = chunk_len(tx, seq);

	if (cap < OTA_DATA_HDR_LEN + len)
		return -EMSGSIZE;
	buf[0] = OTA_OP_DATA;
	ota_put_le24(buf + 1, seq);
	fill_stream(tx, seq * tx->chunk, buf + OTA_DATA_HDR_LEN, len);
	*order_of(tx, seq) = ++tx->order_ctr;
	tx->sent_ms[seq % OTA_TX_TRACK] = (uint32_t)now_ms;
	tx->prog.sent_bytes += len;
	return (int)(OTA_DATA_HDR_LEN + len);
}

static void mark_acked(struct ota_tx *tx, uint32_t seq)
{
	uint8_t *s = st_of(tx, seq);
	uint32_t o = *order_of(tx, seq);

	if (*s & ST_ACKED)
		return;
	if (*s & ST_LOST)
		tx->lost_count--;
	*s = ST_ACKED;
	if (o > tx->max_acked_order) {
		tx->max_acked_order = o;
		tx->max_acked_seq = seq;
	}
}

static void mark_lost(struct ota_tx *tx, uint32_t seq)
{
	uint8_t *s = st_of(tx, seq);

	if (*s & ST_LOST)
		return;
	*s = ST_LOST;
	tx->lost_count++;
}

static void update_acked_bytes(struct ota_tx *tx)
{
	/* report image bytes: the stream less its CRC trailers */
	tx->prog.acked_bytes =
		ota_stream_image_bytes(ota_manifest_stream_size(&tx->m),
				       (uint64_t)tx->una * tx->chunk);
}

static bool in_flight(const struct ota_tx *tx)
{
	return tx->una < tx->nchunks;
}

static void arm_rto(struct ota_tx *tx, uint64_t now_ms)
{
	unsigned int shift = tx->rto_count < 4 ? tx->rto_count : 4;

	tx->rto_deadline =
		in_flight(tx) ? now_ms + ((uint64_t)tx->cfg.rto_ms << shift)
			      : OTA_TX_NO_DEADLINE;
}

static void start_finish(struct ota_tx *tx)
{
	tx->phase = OTA_TX_FINISH;
	tx->rto_deadline = OTA_TX_NO_DEADLINE;
	tx->sync_pending = false;
	start_req(tx, OTA_OP_FINISH, NULL, 0);
}

static void restart_data_at(struct ota_tx *tx, uint32_t cum)
{
	memset(tx->st, 0, sizeof(tx->st));
	tx->lost_count = 0;
	tx->una = cum;
	tx->nxt = cum;
}

/*
 * The pacing floor. The device acknowledges at once when ceil(window / 4)
 * chunks have arrived since its last ACK, and otherwise only when its ACK
 * timer fires (docs/protocol.md §4.2). With fewer than that in flight every
 * batch waits for the timer, and the wait reads as a low delivery rate that
 * holds the cap down: one scheduling hiccup on a fast link used to trap a
 * push at 16 chunks per 20 ms. So the cap never drops below the trigger.
 */
static uint32_t pace_floor(const struct ota_tx *tx)
{
	uint32_t trigger = (tx->prog.window + 3) / 4;

	return trigger > OTA_TX_PACE_MIN ? trigger : OTA_TX_PACE_MIN;
}

/*
 * A new highest acknowledgement: sample the round trip of the chunk it
 * acknowledges and the delivery rate over the last round trip, and derive
 * how many transmissions may be in flight.
 */
static void update_pacing(struct ota_tx *tx, uint64_t now_ms)
{
	uint32_t rtt = (uint32_t)now_ms -
		       tx->sent_ms[tx->max_acked_seq % OTA_TX_TRACK];
	unsigned int k, ref = OTA_TX_RATE_SAMPLES;

	if (rtt == 0)
		rtt = 1; /* millisecond clock: a sub-ms round trip */
	if (!tx->min_rtt_ms || rtt < tx->min_rtt_ms)
		tx->min_rtt_ms = rtt;
	/* the newest sample at least one round trip old */
	for (k = 0; k < tx->rate_n; k++) {
		unsigned int i = (tx->rate_head + k) % OTA_TX_RATE_SAMPLES;

		if (tx->rate[i].t + tx->min_rtt_ms <= now_ms)
			ref = i;
	}
	if (ref != OTA_TX_RATE_SAMPLES && now_ms > tx->rate[ref].t) {
		uint64_t cap = 2ull *
			       (tx->max_acked_order - tx->rate[ref].order) *
			       tx->min_rtt_ms / (now_ms - tx->rate[ref].t);

		if (cap < pace_floor(tx))
			cap = pace_floor(tx);
		if (cap > OTA_TX_TRACK)
			cap = OTA_TX_TRACK;
		tx->pace_cap = (uint32_t)cap;
		tx->prog.pace_cap = tx->pace_cap;
	}
	if (tx->rate_n == OTA_TX_RATE_SAMPLES) {
		tx->rate_head = (tx->rate_head + 1) % OTA_TX_RATE_SAMPLES;
		tx->rate_n--;
	}
	k = (tx->rate_head + tx->rate_n++) % OTA_TX_RATE_SAMPLES;
	tx->rate[k].t = now_ms;
	tx->rate[k].order = tx->max_acked_order;
}

static void handle_ack(struct ota_tx *tx, const struct ota_ack *ack,
		       uint64_t now_ms)
{
	uint32_t old_una = tx->una, old_max = tx->max_acked_order;
	uint32_t s, i, nbits, covered;
	bool progress = false;

	if (tx->phase != OTA_TX_BEGIN && tx->phase != OTA_TX_DATA)
		return;
	if (tx->have_ack_no && (int16_t)(ack->ack_no - tx->last_ack_no) <= 0)
		return;
	tx->have_ack_no = true;
	tx->last_ack_no = ack->ack_no;
	if (ack->cum > tx->nchunks || ack->limit > tx->nchunks)
		return;

	if (ack->cum >= tx->una) {
		for (s = tx->una; s < ack->cum; s++) {
			if (s < tx->nxt)
				mark_acked(tx, s);
			*st_of(tx, s) = 0;
		}
		if (ack->cum > tx->una)
			progress = true;
		tx->una = ack->cum;
		if (tx->nxt < tx->una)
			tx->nxt = tx->una;
	} else {
		/* rewind: a block failed its check on the device */
		if (tx->nxt - ack->cum > OTA_TX_TRACK) {
			finish_op(tx, -EPROTO, 0, ack->cum);
			return;
		}
		for (s = ack->cum; s < tx->una; s++)
			*st_of(tx, s) = ST_ACKED;
		tx->una = ack->cum;
		tx->prog.rewinds++;
	}
	if (tx->una < tx->nchunks && (*st_of(tx, tx->una) & ST_ACKED)) {
		*st_of(tx, tx->una) = 0;
		mark_lost(tx, tx->una);
	}

	nbits = (uint32_t)ack->bitmap_len * 8;
	for (i = 0; i < nbits; i++) {
		uint8_t *st;

		s = tx->una + 1 + i;
		if (s >= tx->nchunks || s - tx->una >= OTA_TX_TRACK)
			break;
		st = st_of(tx, s);
		if (ack->bitmap[i / 8] & (1u << (i % 8))) {
			if (!(*st & ST_ACKED)) {
				progress = true;
				if (s < tx->nxt) {
					mark_acked(tx, s);
				} else {
					/* held from a previous session */
					*st = ST_ACKED;
				}
			}
		} else if ((*st & ST_ACKED) && s < tx->nxt) {
			*st = 0;
			mark_lost(tx, s);
		}
	}
	if (ack->limit > tx->limit)
		tx->limit = ack->limit;

	/*
	 * Infer losses only where this ACK describes the device's state. A
	 * bitmap that ends before the value is full is complete: nothing
	 * beyond it is held. A full one may have been cut short, and beyond
	 * it a chunk may well be held.
	 */
	covered = tx->nxt;
	if (OTA_ACK_HDR_LEN + ack->bitmap_len >= tx->cfg.max_value &&
	    tx->una + 1 + nbits < covered)
		covered = tx->una + 1 + nbits;

	/* packet-threshold loss detection */
	if (tx->max_acked_order > old_max) {
		for (s = tx->una; s < covered; s++) {
			uint8_t *st = st_of(tx, s);
			uint32_t o = *order_of(tx, s);

			if (!*st && o &&
			    o + OTA_TX_REORDER <= tx->max_acked_order)
				mark_lost(tx, s);
		}
	}
	if (tx->max_acked_order > old_max)
		update_pacing(tx, now_ms);
	if (tx->sync_outstanding && ack->sync_echo == tx->sync_id) {
		tx->sync_outstanding = false;
		for (s = tx->una; s < covered; s++) {
			uint32_t o = *order_of(tx, s);

			if (!*st_of(tx, s) && o && o <= tx->sync_order)
				mark_lost(tx, s);
		}
	}

	if (progress || tx->una != old_una)
		tx->rto_count = 0;
	update_acked_bytes(tx);
	if (tx->phase == OTA_TX_DATA) {
		arm_rto(tx, now_ms);
		if (tx->una >= tx->nchunks)
			start_finish(tx);
	}
}

/*
 * Transmissions allowed beyond the newest acknowledged one. Until the rate
 * is measured: slow start, a few chunks growing by one per acknowledged
 * transmission (doubling per round trip). A burst into a fresh link costs
 * at most those few chunks if the path drops it: BlueZ 5.66 as a
 * peripheral drops the writes that arrive while it is still asking the
 * application for its AcquireWrite socket (seen in tests/hci/push.sh).
 */
static uint32_t pace_limit(const struct ota_tx *tx)
{
	if (tx->pace_cap)
		return tx->pace_cap;
	return OTA_TX_PACE_INIT + tx->max_acked_order;
}

static int poll_data(struct ota_tx *tx, uint8_t *buf, size_t cap,
		     enum ota_chan *chan, uint64_t now_ms)
{
	uint32_t s, end;

	*chan = OTA_CHAN_DATA;
	if (tx->sync_pending) {
		int n = ota_frame_encode_sync(buf, cap, tx->sync_id);

		if (n < 0)
			return n;
		tx->sync_pending = false;
		tx->sync_outstanding = true;
		tx->sync_order = tx->order_ctr;
		tx->prog.probes++;
		return n;
	}
	if (tx->lost_count) {
		for (s = tx->una; s < tx->nxt; s++) {
			uint8_t *st = st_of(tx, s);

			if (*st & ST_LOST) {
				int n = emit_chunk(tx, s, buf, cap, now_ms);

				if (n < 0)
					return n;
				*st = 0;
				tx->lost_count--;
				tx->prog.resent_bytes += chunk_len(tx, s);
				if (tx->rto_deadline == OTA_TX_NO_DEADLINE)
					arm_rto(tx, now_ms);
				return n;
			}
		}
		tx->lost_count = 0; /* recount drift: nothing lost in range */
	}
	end = tx->limit < tx->nchunks ? tx->limit : tx->nchunks;
	if (!tx->cfg.no_pacing &&
	    tx->order_ctr - tx->max_acked_order >= pace_limit(tx))
		return -EAGAIN; /* the next ACK lets more go */
	while (tx->nxt < end && tx->nxt - tx->una < OTA_TX_TRACK) {
		s = tx->nxt++;
		if (*st_of(tx, s) & ST_ACKED)
			continue;
		if (tx->rto_deadline == OTA_TX_NO_DEADLINE)
			arm_rto(tx, now_ms);
		return emit_chunk(tx, s, buf, cap, now_ms);
	}
	return -EAGAIN;
}

int ota_tx_poll(struct ota_tx *tx, uint8_t *buf, size_t cap,
		enum ota_chan *chan, uint64_t now_ms)
{
	if (tx->req_active && tx->req_unsent) {
		if (cap < tx->req_len)
			return -EMSGSIZE;
		memcpy(buf, tx->req, tx->req_len);
		tx->req_unsent = false;
		tx->req_tries++;
		tx->req_deadline = now_ms + (tx->req_op == OTA_OP_FINISH
						     ? tx->cfg.finish_timeout_ms
						     : tx->cfg.req_timeout_ms);
		*chan = OTA_CHAN_CONTROL;
		return (int)tx->req_len;
	}
	if (tx->phase == OTA_TX_DATA)
		return poll_data(tx, buf, cap, chan, now_ms);
	return -EAGAIN;
}

/* ---- responses ---------------------------------------------------------- */

static void handle_read_rsp(struct ota_tx *tx, const struct ota_msg *msg)
{
	size_t n, total;

	if (msg->params_len < 2) {
		finish_op(tx, -EPROTO, 0, 0);
		return;
	}
	total = ota_get_le16(msg->params);
	n = msg->params_len - 2;
	if (total > sizeof(tx->readbuf) || tx->read_len + n > total ||
	    (n == 0 && tx->read_len < total)) {
		finish_op(tx, -EPROTO, 0, 0);
		return;
	}
	memcpy(tx->readbuf + tx->read_len, msg->params + 2, n);
	tx->read_len += n;
	tx->read_total = total;
	if (tx->read_len < total)
		send_read(tx);
	else
		finish_op(tx, 0, OTA_STATUS_OK, 0);
}

static void handle_push_rsp(struct ota_tx *tx, const struct ota_msg *msg,
			    uint64_t now_ms)
{
	struct ota_begin_rsp br;
	uint32_t detail = ota_frame_rsp_detail(msg);

	switch (tx->phase) {
	case OTA_TX_MANIFEST:
		if (msg->status == OTA_STATUS_BAD_OFFSET &&
		    tx->incomplete_tries++ < tx->cfg.max_retries) {
			tx->manifest_sent = 0; /* start the manifest over */
			send_manifest_segment(tx);
			return;
		}
		if (msg->status != OTA_STATUS_OK)
			break;
		tx->manifest_sent += tx->req_len - OTA_MANIFEST_REQ_HDR;
		if (tx->manifest_sent < tx->manifest_len)
			send_manifest_segment(tx);
		else
			send_begin(tx);
		return;
	case OTA_TX_BEGIN:
		if (msg->status == OTA_STATUS_BAD_MANIFEST &&
		    tx->incomplete_tries++ < tx->cfg.max_retries) {
			/* the device's copy differs: send it again */
			tx->phase = OTA_TX_MANIFEST;
			tx->manifest_sent = 0;
			send_manifest_segment(tx);
			return;
		}
		if (msg->status != OTA_STATUS_OK)
			break;
		if (ota_frame_decode_begin_rsp(msg, &br) ||
		    br.cum > tx->nchunks) {
			finish_op(tx, -EPROTO, 0, 0);
			return;
		}
		tx->req_active = false;
		tx->phase = OTA_TX_DATA;
		tx->prog.window = br.window;
		tx->prog.held_at_begin = br.held;
		if (br.cum > tx->una) {
			uint32_t s;

			for (s = tx->una; s < br.cum; s++)
				*st_of(tx, s) = 0;
			tx->una = br.cum;
		}
		if (tx->nxt < tx->una)
			tx->nxt = tx->una;
		if (tx->limit < tx->una + br.window)
			tx->limit = tx->una + br.window;
		update_acked_bytes(tx);
		push_event(tx, OTA_TX_EV_BEGUN, 0, OTA_STATUS_OK, 0, br.held);
		if (tx->una >= tx->nchunks)
			start_finish(tx);
		else
			arm_rto(tx, now_ms);
		return;
	case OTA_TX_FINISH:
		if (msg->status == OTA_STATUS_INCOMPLETE &&
		    tx->incomplete_tries++ < tx->cfg.max_retries &&
		    detail < tx->nchunks) {
			tx->req_active = false;
			tx->phase = OTA_TX_DATA;
			restart_data_at(tx, detail);
			update_acked_bytes(tx);
			arm_rto(tx, now_ms);
			return;
		}
		if (msg->status != OTA_STATUS_OK)
			break;
		push_event(tx, OTA_TX_EV_VERIFIED, 0, OTA_STATUS_OK, 0,
			   tx->m.image_size);
		if (tx->flags & OTA_TX_F_COMMIT) {
			tx->phase = OTA_TX_COMMIT;
			start_req(tx, OTA_OP_COMMIT, NULL, 0);
		} else {
			finish_op(tx, 0, OTA_STATUS_OK, 0);
		}
		return;
	case OTA_TX_COMMIT:
		if (msg->status != OTA_STATUS_OK)
			break;
		push_event(tx, OTA_TX_EV_COMMITTED, 0, OTA_STATUS_OK, 0, 0);
		finish_op(tx, 0, OTA_STATUS_OK, 0);
		return;
	case OTA_TX_IDLE:
	case OTA_TX_DATA:
	case OTA_TX_REQUEST:
	case OTA_TX_DONE:
		return;
	}
	finish_op(tx, -EREMOTEIO, msg->status, detail);
}

static void handle_rsp(struct ota_tx *tx, const struct ota_msg *msg,
		       uint64_t now_ms)
{
	if (!tx->req_active || msg->op != tx->req_op || msg->token != tx->token)
		return; /* stale: an answer to an earlier attempt */
	tx->req_active = false;
	tx->req_deadline = OTA_TX_NO_DEADLINE;

	if (tx->phase == OTA_TX_REQUEST) {
		if (msg->status != OTA_STATUS_OK)
			finish_op(tx, -EREMOTEIO, msg->status,
				  ota_frame_rsp_detail(msg));
		else if (msg->op == OTA_OP_READ)
			handle_read_rsp(tx, msg);
		else
			finish_op(tx, 0, OTA_STATUS_OK, 0);
		return;
	}
	handle_push_rsp(tx, msg, now_ms);
}

int ota_tx_feed(struct ota_tx *tx, enum ota_chan chan, const uint8_t *pdu,
		size_t len, uint64_t now_ms)
{
	struct ota_ack ack;
	struct ota_event ev;
	struct ota_msg msg;

	if (len == 0 || chan == OTA_CHAN_DATA || ota_frame_chan(pdu[0]) != chan)
		return -EBADMSG;
	switch (pdu[0]) {
	case OTA_OP_ACK:
		if (ota_frame_decode_ack(pdu, len, &ack))
			return -EBADMSG;
		handle_ack(tx, &ack, now_ms);
		return 0;
	case OTA_OP_EVENT:
		if (ota_frame_decode_event(pdu, len, &ev))
			return -EBADMSG;
		/* the device ended the session it had with us */
		if (tx->phase == OTA_TX_DATA || tx->phase == OTA_TX_BEGIN ||
		    tx->phase == OTA_TX_FINISH)
			finish_op(tx, -EREMOTEIO, ev.status, ev.detail);
		return 0;
	default:
		if (ota_frame_decode_msg(pdu, len, &msg) || !msg.is_rsp)
			return -EBADMSG;
		handle_rsp(tx, &msg, now_ms);
		return 0;
	}
}

/* ---- timers ------------------------------------------------------------- */

uint64_t ota_tx_next_deadline(const struct ota_tx *tx)
{
	uint64_t d = OTA_TX_NO_DEADLINE;

	if (tx->req_active && !tx->req_unsent)
		d = tx->req_deadline;
	if (tx->phase == OTA_TX_DATA && tx->rto_deadline < d)
		d = tx->rto_deadline;
	return d;
}

void ota_tx_on_timeout(struct ota_tx *tx, uint64_t now_ms)
{
	if (tx->req_active && !tx->req_unsent && now_ms >= tx->req_deadline) {
		if (tx->req_tries > tx->cfg.max_retries) {
			finish_op(tx, -ETIMEDOUT, 0, tx->req_op);
			return;
		}
		tx->req_unsent = true;
		tx->req_deadline = OTA_TX_NO_DEADLINE;
	}
	if (tx->phase == OTA_TX_DATA && now_ms >= tx->rto_deadline) {
		if (++tx->rto_count > tx->cfg.max_retries) {
			finish_op(tx, -ETIMEDOUT, 0, OTA_OP_DATA);
			return;
		}
		/* silence: ask the device what it holds */
		tx->sync_id++;
		tx->sync_pending = true;
		arm_rto(tx, now_ms);
	}
}
