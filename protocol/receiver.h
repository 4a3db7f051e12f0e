/* SPDX-License-Identifier: MIT */
/*
 * bleota receiver: the device-side protocol state machine (sans-I/O).
 *
 * The driver feeds every received GATT value to ota_rx_feed(), sends what
 * ota_rx_poll() produces as notifications, arms a timer from
 * ota_rx_next_deadline() and calls ota_rx_on_timeout() when it fires. The
 * image goes to a sink (the OTA engine, or an in-memory sink in tests)
 * through struct ota_sink_ops; the sink's answers decide what the receiver
 * tells the sender. Nothing here allocates, blocks, prints or reads a clock.
 */
#ifndef BLEOTA_PROTOCOL_RECEIVER_H
#define BLEOTA_PROTOCOL_RECEIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/frame.h"
#include "protocol/info.h"
#include "protocol/manifest.h"
#include "protocol/status.h"
#include "protocol/stream.h"

#define OTA_RX_MAX_WINDOW           256    /* credit window cap, chunks */
#define OTA_RX_MAX_WINDOW_BYTES     65536u /* credit window cap, bytes */
#define OTA_RX_TRACK                1024   /* chunk states kept from cum */
#define OTA_RX_STASH                20     /* blocks with CRC trailer pending */
#define OTA_RX_MAX_BLOCK_RETRIES    16
#define OTA_RX_DEFAULT_WINDOW_BYTES 32768u
#define OTA_RX_DEFAULT_IDLE_MS      30000u
#define OTA_RX_DEFAULT_ACK_DELAY_MS 20u
#define OTA_RX_RSP_CACHE            16 /* responses other than READ's fit */
#define OTA_RX_NO_DEADLINE          UINT64_MAX

_Static_assert(OTA_RX_MAX_WINDOW_BYTES / OTA_BLOCK_STRIDE + 3 <= OTA_RX_STASH,
	       "stash covers every block a full window can touch");
_Static_assert(OTA_RX_TRACK >= OTA_RX_MAX_WINDOW +
				       (OTA_BLOCK_STRIDE /
					(OTA_MIN_VALUE - OTA_DATA_HDR_LEN)) +
				       2,
	       "tracked chunks cover a window plus a rewound block");
_Static_assert(OTA_RX_TRACK % 8 == 0, "whole bytes");
_Static_assert(OTA_RX_RSP_CACHE >= OTA_BEGIN_RSP_LEN &&
		       OTA_RX_RSP_CACHE >= OTA_ERR_RSP_LEN,
	       "cached responses fit");

/*
 * The sink. Every callback returns a wire status: OTA_STATUS_OK or the
 * specific refusal/failure, with *detail filled as status.h documents
 * for that status. Offsets and blocks are image-relative; block b is image
 * bytes [b * 4096, min(b * 4096 + 4096, size)). For a manifest with
 * ENCODING DELTA they are patch-relative (the stream is the patch), and
 * the receiver writes in order: only at the next offset after the last
 * write, and block b + 1 only after check_block(b) said OK. A failed check
 * of a delta block may withdraw earlier blocks (block_verified turns false
 * for them): the receiver then asks for everything from the first block
 * not verified.
 */
struct ota_sink_ops {
	/* Pre-flight and open a session; nothing may be erased on refusal. */
	enum ota_status (*begin)(void *ctx, const struct ota_manifest *m,
				 uint8_t flags, uint32_t *detail);
	/* Whether block @block of the open session is already verified. */
	bool (*block_verified)(void *ctx, uint32_t block);
	/* Store image bytes; idempotent for identical data. */
	enum ota_status (*write)(void *ctx, uint32_t offset,
				 const uint8_t *data, size_t len);
	/*
	 * All of block @block has been written: check it against @crc.
	 * OK marks it verified (durably); OTA_STATUS_HASH_MISMATCH means the
	 * block must be rewritten (the sink prepares for that); other
	 * statuses are fatal for the session.
	 */
	enum ota_status (*check_block)(void *ctx, uint32_t block, uint32_t crc);
	enum ota_status (*finish)(void *ctx, uint32_t *detail);
	enum ota_status (*commit)(void *ctx, uint32_t *detail);
	enum ota_status (*confirm)(void *ctx, uint32_t *detail);
	enum ota_status (*rollback)(void *ctx, uint32_t *detail);
	/* End the session; @discard also forgets the partial image. */
	void (*abort)(void *ctx, bool discard);
	void (*get_info)(void *ctx, struct ota_dev_info *info);
	void (*get_status)(void *ctx, struct ota_dev_status *st);
	/* Optional: the detail of a write that failed with BAD_PATCH (the
	 * decoder's reason); NULL: the offset, as for other statuses. */
	uint32_t (*write_detail)(void *ctx);
};

struct ota_rx_cfg {
	const struct ota_sink_ops *sink; /* required; must outlive the rx */
	void *sink_ctx;
	size_t max_value;         /* longest value the link carries; 0 = 510 */
	uint32_t window_bytes;    /* bytes the device can absorb in flight */
	uint32_t idle_timeout_ms; /* session ends after this much silence */
	uint32_t ack_delay_ms; /* longest an arrived chunk waits for an ACK */
};

enum ota_rx_state {
	OTA_RX_IDLE = 0,
	OTA_RX_RECEIVING = 1,
	OTA_RX_VERIFIED = 2,
	OTA_RX_COMMITTED = 3,
};

enum ota_rx_event_type {
	OTA_RX_EV_BEGIN,     /* value: bytes already held (resume) */
	OTA_RX_EV_VERIFIED,  /* whole image verified */
	OTA_RX_EV_COMMITTED, /* boot slot switched */
	OTA_RX_EV_FAILED,    /* status: why the session ended */
	OTA_RX_EV_TIMEOUT,   /* session idled out, partial image kept */
	OTA_RX_EV_ABORTED,
	OTA_RX_EV_CONFIRMED,
	OTA_RX_EV_ROLLED_BACK,
	OTA_RX_EV_BLOCK_RETRY, /* value: block index that failed its CRC */
	OTA_RX_EV_REBOOT,      /* the driver must reboot after flushing */
};

struct ota_rx_event {
	enum ota_rx_event_type type;
	uint8_t status;
	uint32_t value;
};

struct ota_rx_stats {
	uint32_t chunks;     /* new chunks accepted */
	uint32_t duplicates; /* chunks already held */
	uint32_t dropped;    /* malformed, wrong length or outside window */
	uint32_t block_failures;
	uint32_t acks;
	uint32_t out_of_order; /* delta: chunks past the next one, dropped */
};

/*
 * Treat as opaque: fields are here so that embedded callers can place the
 * context statically; do not rely on their layout.
 */
struct ota_rx {
	struct ota_rx_cfg cfg;
	enum ota_rx_state state;
	uint8_t last_status;

	uint8_t manifest[OTA_MANIFEST_MAX];
	uint16_t manifest_len;
	struct ota_manifest m;

	uint16_t chunk;
	uint16_t window;
	uint32_t nchunks;
	uint32_t nblocks;
	uint32_t stream_len;
	uint32_t held_bytes;

	uint32_t cum;
	uint32_t granted; /* highest limit ever advertised: credit is kept */
	uint32_t top;     /* one past the highest chunk held */
	uint8_t bits[OTA_RX_TRACK / 8];

	struct {
		uint32_t block;
		uint32_t crc;
		uint8_t have; /* bit i: trailer byte i arrived */
		bool used;
	} stash[OTA_RX_STASH];
	uint32_t fail_block;
	uint32_t fail_count;

	uint16_t ack_no;
	uint8_t sync_echo;
	bool ack_due;
	uint32_t unacked;
	uint32_t ack_every; /* chunks per ACK: 2 at BEGIN, doubling */
	uint64_t ack_deadline;
	uint64_t idle_deadline;
	bool told_idle;

	uint8_t rsp[OTA_RX_RSP_CACHE]; /* the last response but a READ's */
	size_t rsp_len;
	bool rsp_pending;
	bool rsp_read; /* the pending response is READ's, built at poll */
	uint8_t read_attr;
	uint16_t read_off;
	bool have_last;
	uint8_t last_op;
	uint8_t last_token;

	struct ota_event ev;
	bool ev_pending;

	struct ota_rx_event evq[8];
	unsigned int evq_head;
	unsigned int evq_len;

	struct ota_rx_stats stats;
};

/**
 * ota_rx_init() - prepare @rx with @cfg (copied). Zero fields take defaults.
 *
 * Return: 0, or -EINVAL if @cfg has no sink or an out-of-range value.
 */
int ota_rx_init(struct ota_rx *rx, const struct ota_rx_cfg *cfg);

/**
 * ota_rx_feed() - process one received GATT value.
 * @chan: the characteristic it was written to (Control or Data); a value
 *	whose opcode belongs to another characteristic is dropped.
 * @pdu: the value; only borrowed for the call.
 * @now_ms: current time, any monotonic origin.
 *
 * Malformed data chunks are counted and dropped (a chunk is as good as
 * lost); malformed requests are answered with BAD_PDU. The sink is called
 * from inside this function.
 *
 * Return: 0, or -EBADMSG if @pdu was malformed or not addressed to a device
 * (the session goes on either way).
 */
int ota_rx_feed(struct ota_rx *rx, enum ota_chan chan, const uint8_t *pdu,
		size_t len, uint64_t now_ms);

/**
 * ota_rx_poll() - next notification to send, if any.
 * @buf: at least the link's value size (cfg.max_value) bytes.
 * @chan: filled with the characteristic to notify on.
 *
 * Responses go first, then EVENTs, then a due ACK.
 *
 * Return: the value length, -EAGAIN if nothing is to be sent, -EMSGSIZE if
 * @cap is smaller than the value.
 */
int ota_rx_poll(struct ota_rx *rx, uint8_t *buf, size_t cap,
		enum ota_chan *chan, uint64_t now_ms);

/** ota_rx_next_deadline() - when to call ota_rx_on_timeout(), or
 * OTA_RX_NO_DEADLINE. */
uint64_t ota_rx_next_deadline(const struct ota_rx *rx);

/** ota_rx_on_timeout() - run the timers that are due at @now_ms. */
void ota_rx_on_timeout(struct ota_rx *rx, uint64_t now_ms);

/**
 * ota_rx_set_max_value() - the longest value the current connection carries
 * (ATT MTU - 3, at most 510), for a device serving links of different MTUs.
 * Applies to what follows: a BEGIN refuses larger chunks, responses and
 * ACKs fit it.
 * Return: 0, or -EINVAL outside 20..510.
 */
int ota_rx_set_max_value(struct ota_rx *rx, size_t max_value);

/**
 * ota_rx_disconnect() - the link to the sender is gone. The session is
 * suspended: it belongs to the connection that began it, so the next
 * connection must BEGIN before DATA, FINISH or COMMIT are accepted. It stays
 * resumable: verified blocks are kept (the sink holds them durably) and a
 * BEGIN of the same image continues from them.
 */
void ota_rx_disconnect(struct ota_rx *rx);

/**
 * ota_rx_next_event() - take the next event for the driver (logging,
 * reboot).
 *
 * Return: 0 with @ev filled, -EAGAIN if none.
 */
int ota_rx_next_event(struct ota_rx *rx, struct ota_rx_event *ev);

/**
 * ota_rx_read_attr() - the INFO or STATUS attribute (docs/protocol.md §6)
 * into @buf, as READ serves it; for a GATT read of the Info characteristic.
 * Return: length, -ENOTSUP for another @attr, -EMSGSIZE if @cap is short.
 */
int ota_rx_read_attr(struct ota_rx *rx, uint8_t attr, uint8_t *buf, size_t cap);

/** ota_rx_state() - current state. */
enum ota_rx_state ota_rx_get_state(const struct ota_rx *rx);

/** ota_rx_stats() - counters since init. */
const struct ota_rx_stats *ota_rx_get_stats(const struct ota_rx *rx);

/** ota_rx_state_name() - "idle", "receiving", "verified", "committed". */
const char *ota_rx_state_name(uint8_t state);

#endif /* BLEOTA_PROTOCOL_RECEIVER_H */
