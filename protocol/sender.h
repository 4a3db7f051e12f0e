/* SPDX-License-Identifier: MIT */
/*
 * bleota sender: the host-side protocol state machine (sans-I/O).
 *
 * One operation at a time: a push (MANIFEST, BEGIN, DATA, FINISH and
 * optionally COMMIT) or a single request (READ, CONFIRM, ROLLBACK, REBOOT,
 * ABORT, COMMIT, FINISH). The driver feeds every notification to
 * ota_tx_feed(), sends what ota_tx_poll() produces, arms a timer from
 * ota_tx_next_deadline() and reads events until OTA_TX_EV_DONE.
 */
#ifndef BLEOTA_PROTOCOL_SENDER_H
#define BLEOTA_PROTOCOL_SENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/frame.h"
#include "protocol/info.h"
#include "protocol/manifest.h"
#include "protocol/status.h"
#include "protocol/stream.h"

#define OTA_TX_TRACK             2048 /* chunk states kept from una */
#define OTA_TX_REORDER           3    /* later sends acked before a loss */
#define OTA_TX_PACE_MIN          16   /* pacing never allows fewer in flight */
#define OTA_TX_PACE_INIT         4 /* in flight before any ACK (slow start) */
#define OTA_TX_RATE_SAMPLES      16
#define OTA_TX_DEFAULT_RTO_MS    1000u
#define OTA_TX_DEFAULT_REQ_MS    3000u
#define OTA_TX_DEFAULT_FINISH_MS 15000u
#define OTA_TX_DEFAULT_RETRIES   5u
#define OTA_TX_NO_DEADLINE       UINT64_MAX

/* Push flags. */
#define OTA_TX_F_FORCE  0x01 /* install even if equal to the running image */
#define OTA_TX_F_FRESH  0x02 /* do not resume a partial upload */
#define OTA_TX_F_COMMIT 0x04 /* COMMIT after a successful FINISH */

struct ota_tx_cfg {
	size_t max_value;        /* longest value the link carries; 0 = 510 */
	uint16_t chunk_size;     /* 0 = max_value - 4 */
	uint32_t rto_ms;         /* silence before probing with SYNC */
	uint32_t req_timeout_ms; /* per request attempt */
	uint32_t finish_timeout_ms; /* FINISH: the device hashes the image */
	unsigned int max_retries; /* per request, and probes without progress */
	uint8_t first_token;
	bool no_pacing; /* fill the whole credit window at once (tests) */
};

enum ota_tx_event_type {
	OTA_TX_EV_BEGUN,     /* value: image bytes the device already held */
	OTA_TX_EV_VERIFIED,  /* the device verified the whole image */
	OTA_TX_EV_COMMITTED, /* the device will boot the new image */
	OTA_TX_EV_DONE,      /* the operation ended; see err/status */
};

struct ota_tx_event {
	enum ota_tx_event_type type;
	/*
	 * DONE: err 0 = success; -EREMOTEIO = the device answered @status
	 * (with @detail); -ETIMEDOUT = the device stopped answering;
	 * -EPROTO = the device broke the protocol.
	 */
	int err;
	uint8_t op; /* the request that ended the operation */
	uint8_t status;
	uint32_t detail;
	uint32_t value;
};

struct ota_tx_progress {
	uint32_t image_size;
	uint32_t held_at_begin; /* verified on the device before we sent */
	uint32_t acked_bytes;   /* image bytes the device holds */
	uint64_t sent_bytes;    /* chunk payload bytes sent, all attempts */
	uint64_t resent_bytes;  /* of which retransmissions */
	uint32_t chunks;
	uint32_t chunk_size;
	uint32_t window;   /* credit granted at BEGIN, chunks */
	uint32_t probes;   /* SYNCs sent after silence */
	uint32_t pace_cap; /* current pacing limit, transmissions */
	uint32_t rewinds;  /* blocks the device asked for again */
};

enum ota_tx_phase {
	OTA_TX_IDLE,
	OTA_TX_MANIFEST,
	OTA_TX_BEGIN,
	OTA_TX_DATA,
	OTA_TX_FINISH,
	OTA_TX_COMMIT,
	OTA_TX_REQUEST,
	OTA_TX_DONE,
};

/* Treat as opaque. */
struct ota_tx {
	struct ota_tx_cfg cfg;
	enum ota_tx_phase phase;

	/* the operation */
	const uint8_t *image;
	struct ota_manifest m;
	uint8_t flags;
	uint8_t manifest[OTA_MANIFEST_MAX];
	size_t manifest_len;
	size_t manifest_sent;
	uint8_t read_attr;
	uint8_t readbuf[OTA_ATTR_MAX_LEN];
	size_t read_len;
	size_t read_total;

	/* the outstanding request */
	uint8_t req[OTA_MAX_VALUE];
	size_t req_len;
	uint8_t req_op;
	uint8_t token;
	bool req_active;
	bool req_unsent;
	unsigned int req_tries;
	uint64_t req_deadline;
	unsigned int incomplete_tries;

	/* the data pump */
	uint16_t chunk;
	uint32_t nchunks;
	uint32_t stream_len;
	uint32_t una;
	uint32_t nxt;
	uint32_t limit;
	uint8_t st[OTA_TX_TRACK]; /* per chunk: acked / lost bits */
	uint32_t order[OTA_TX_TRACK];
	uint32_t order_ctr;
	uint32_t max_acked_order;
	uint32_t lost_count;
	uint16_t last_ack_no;
	bool have_ack_no;
	uint8_t sync_id;
	bool sync_pending;
	bool sync_outstanding;
	uint32_t sync_order;
	uint64_t rto_deadline;
	unsigned int rto_count;
	uint32_t crc_block; /* cache of the last block CRC computed */
	uint32_t crc_value;
	bool crc_valid;

	/* pacing: transmissions in flight <= 2 x delivery rate x min RTT */
	uint32_t sent_ms[OTA_TX_TRACK]; /* when each chunk was last sent */
	uint32_t max_acked_seq;         /* chunk of max_acked_order */
	uint32_t min_rtt_ms;
	struct {
		uint64_t t;
		uint32_t order;
	} rate[OTA_TX_RATE_SAMPLES];
	unsigned int rate_head;
	unsigned int rate_n;
	uint32_t pace_cap; /* 0: not measured yet */

	struct ota_tx_progress prog;
	struct ota_tx_event evq[8];
	unsigned int evq_head;
	unsigned int evq_len;
};

/**
 * ota_tx_init() - prepare @tx with @cfg (copied); zero fields are defaults.
 * Return: 0, or -EINVAL for a value size outside 20..510 or a chunk size
 * that does not fit it.
 */
int ota_tx_init(struct ota_tx *tx, const struct ota_tx_cfg *cfg);

/**
 * ota_tx_push() - start pushing @image (borrowed: must stay valid and
 * unchanged until DONE) described by @m, with OTA_TX_* @flags.
 *
 * Return: 0, -EBUSY if an operation is running, -EINVAL if @m is
 * inconsistent with @len or the image is too large.
 */
int ota_tx_push(struct ota_tx *tx, const uint8_t *image, size_t len,
		const struct ota_manifest *m, uint8_t flags, uint64_t now_ms);

/**
 * ota_tx_request() - start a single request: OTA_OP_READ (with @attr, all
 * pages are fetched), OTA_OP_FINISH, _COMMIT, _CONFIRM, _ROLLBACK,
 * _REBOOT or _ABORT.
 *
 * Return: 0, -EBUSY if an operation is running, -EINVAL for other ops.
 */
int ota_tx_request(struct ota_tx *tx, uint8_t op, uint8_t attr,
		   uint64_t now_ms);

/**
 * ota_tx_feed() - process one notification from the device.
 * @chan: the characteristic it came from (Control or Status); a value whose
 *	opcode belongs to another characteristic is dropped.
 * Return: 0, or -EBADMSG if it was malformed (it is ignored).
 */
int ota_tx_feed(struct ota_tx *tx, enum ota_chan chan, const uint8_t *pdu,
		size_t len, uint64_t now_ms);

/**
 * ota_tx_poll() - next value to write, if any, and on which characteristic
 * (Control values need a write with response, Data values a write command).
 * Return: length, -EAGAIN if nothing is due, -EMSGSIZE if @cap is small.
 */
int ota_tx_poll(struct ota_tx *tx, uint8_t *buf, size_t cap,
		enum ota_chan *chan, uint64_t now_ms);

/** ota_tx_next_deadline() - when to call ota_tx_on_timeout(). */
uint64_t ota_tx_next_deadline(const struct ota_tx *tx);

/** ota_tx_on_timeout() - run the timers due at @now_ms. */
void ota_tx_on_timeout(struct ota_tx *tx, uint64_t now_ms);

/** ota_tx_next_event() - 0 with @ev filled, or -EAGAIN. */
int ota_tx_next_event(struct ota_tx *tx, struct ota_tx_event *ev);

/** ota_tx_get_progress() - counters of the current or last push. */
const struct ota_tx_progress *ota_tx_get_progress(const struct ota_tx *tx);

/**
 * ota_tx_read_data() - TLV bytes of the last completed READ.
 * @len: filled with their length.
 */
const uint8_t *ota_tx_read_data(const struct ota_tx *tx, size_t *len);

/** ota_tx_is_done() - whether no operation is running. */
bool ota_tx_is_done(const struct ota_tx *tx);

#endif /* BLEOTA_PROTOCOL_SENDER_H */
