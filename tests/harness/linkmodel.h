/* SPDX-License-Identifier: MIT */
/*
 * A deterministic, event-level model of one BLE connection carrying GATT
 * writes without response (central -> peripheral) and notifications
 * (peripheral -> central), in virtual time with microsecond resolution.
 *
 * Two layers:
 *
 *  - Exact air-time arithmetic (Core spec packet formats, T_IFS = 150 us):
 *    lm_pkt_us(), lm_pair_us(), and lm_capacity(), the steady-state goodput
 *    of a saturated Write Command stream as an exact fraction (ATT value
 *    bytes per microseconds). These reproduce the tables of
 *    ble-link-capacity.md section 1.4 exactly.
 *
 *  - An event simulator, lm_run(): connection events at k * CI; in each,
 *    LL packet pairs (a central packet and the peripheral's response, which
 *    carries notification fragments when the peripheral has any) are packed
 *    greedily until the next pair would end after CI - guard, or the
 *    per-event packet cap is reached. Datagrams are fragmented as ATT PDU +
 *    L2CAP header over LL payloads of ll_octets. The two ends are
 *    struct lm_ep_ops: the real bleota sender/receiver (lm_bleota.h) or a
 *    model of an anchor protocol (anchors.h).
 *
 * Latency: a datagram handled by an end during event e (or produced by one
 * of its timers during event e) can go on air at event e + turnaround at
 * the earliest: ack_turnaround_ev for the peripheral, host_turnaround_ev
 * for the central. With both 1 the ack round trip is r = 2 events (data in
 * event j, notification in j + 1, new data in j + 2), as the reference's
 * section 3 assumes.
 *
 * Impairments, all from one seeded splitmix64 stream so that a run replays
 * exactly: per_ppm, an LL packet error rate (the pair is retried by LL ARQ;
 * two failed pairs in a row close the event); drop_ppm, datagram loss
 * above LL (a Data write or a Status notification that never reaches the
 * application, as when a queue overflows); corrupt_ppm, a Data write
 * delivered with one byte changed; disconnect_at_us, the link drops at
 * that time (every queued or partly sent datagram is lost).
 *
 * The peripheral may be slow: its ops report busy_until (e.g. flash
 * programming, lm_flash.h). Datagrams that arrive while it is busy wait in
 * an RX buffer of rx_buf_bytes; when that is full the peripheral's LL
 * refuses further central packets (NAK) until the next event, which is how
 * BLE flow control throttles a sender that overruns a device.
 *
 * Not modelled: host-to-controller ACL buffer credits, the ATT write
 * response of a Write Request (Control writes travel like Write Commands),
 * channel maps and connection-parameter updates.
 */
#ifndef BLEOTA_TESTS_LINKMODEL_H
#define BLEOTA_TESTS_LINKMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LM_T_IFS_US      150u
#define LM_L2CAP_HDR     4u
#define LM_ATT_WRITE_HDR 3u /* opcode + handle, also for notifications */
#define LM_MIC_LEN       4u
#define LM_MAX_DGRAM     520u
#define LM_NO_DEADLINE   UINT64_MAX

enum lm_phy {
	LM_PHY_1M,
	LM_PHY_2M,
	LM_PHY_CODED_S2,
	LM_PHY_CODED_S8,
};

struct lm_link {
	enum lm_phy phy;
	unsigned int ll_octets; /* LL payload, 27..251 */
	unsigned int att_mtu;   /* 23..517; a value is at most mtu - 3 */
	bool encrypted;         /* MIC on every non-empty packet */
	uint32_t ci_us;         /* connection interval */
	uint32_t guard_us;      /* end of the last pair before the anchor */
	unsigned int max_pkts;  /* packet pairs per event, 0 = no cap */
};

/** lm_pkt_us() - air time of one LL data packet with @payload octets. */
uint32_t lm_pkt_us(enum lm_phy phy, unsigned int payload, bool encrypted);

/**
 * lm_pair_us() - a central packet, T_IFS, the peripheral's packet, T_IFS.
 */
uint32_t lm_pair_us(enum lm_phy phy, unsigned int c_payload,
		    unsigned int p_payload, bool encrypted);

/*
 * Steady-state capacity of a saturated stream of full-size Write Commands
 * (value = mtu - 3, fragments packed greedily across events): @bytes of
 * ATT value delivered every @us microseconds, exactly (one period of the
 * packing pattern). @pkts_per_event is the mean number of packets per
 * event over that period, rounded (the figure in brackets in the reference
 * tables).
 */
struct lm_capacity {
	uint64_t bytes;
	uint64_t us;
	unsigned int pkts_per_event;
	unsigned int frags_per_write;
};

/**
 * lm_capacity() - fill @cap for @link.
 * Return: 0, or -EINVAL if the link is malformed or not even one packet
 * pair fits in an event (the reference's "n/a").
 */
int lm_capacity(const struct lm_link *link, struct lm_capacity *cap);

/** lm_capacity_Bps() - @cap in bytes per second (for printing). */
double lm_capacity_Bps(const struct lm_capacity *cap);

/* ---- the event simulator ------------------------------------------------ */

/*
 * One end of the link. Datagrams carry a one-byte channel tag the ends
 * agree on (bleota uses enum ota_chan). Times are microseconds.
 */
struct lm_ep_ops {
	/* a whole datagram arrived */
	void (*recv)(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		     uint64_t now_us);
	/* next datagram to send: its length, or < 0 if none is due */
	int (*poll)(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		    uint64_t now_us);
	uint64_t (*next_deadline)(void *ctx); /* LM_NO_DEADLINE if none */
	void (*on_timeout)(void *ctx, uint64_t now_us);
	/* optional: the end cannot take a datagram before this time */
	uint64_t (*busy_until)(void *ctx);
	/* optional: the link dropped */
	void (*disconnect)(void *ctx);
	/* central only: the operation is over, lm_run() returns */
	bool (*done)(void *ctx);
};

/*
 * Link configuration. Channel masks: bit i stands for datagram tag i.
 */
struct lm_cfg {
	struct lm_link link;
	unsigned int ack_turnaround_ev;  /* peripheral; 0 = 1 */
	unsigned int host_turnaround_ev; /* central; 0 = 1 */
	uint64_t seed;
	uint32_t per_ppm;          /* LL packet error rate */
	uint32_t drop_ppm;         /* datagram loss above LL */
	uint32_t corrupt_ppm;      /* datagram delivered with a changed byte */
	uint32_t impair_chans;     /* tags drop/corrupt apply to; 0 = all */
	uint32_t corrupt_chans;    /* tags corruption applies to; 0 = all */
	uint64_t disconnect_at_us; /* 0 = never */
	uint32_t rx_buf_bytes;     /* peripheral RX buffer; 0 = unbounded */
	/* central datagrams queued below the application (host stack and
	 * controller); when full, the central is not polled: 0 = unbounded,
	 * as BlueZ's AcquireWrite queue */
	unsigned int host_queue_max;
	uint64_t time_limit_us; /* 0 = one hour */
};

struct lm_stats {
	uint64_t events; /* events with at least one pair */
	uint64_t pairs;
	uint64_t failed_pairs;
	uint64_t naks;      /* central packets refused: RX buffer full */
	uint64_t dgrams[2]; /* delivered: [0] C->P, [1] P->C */
	uint64_t bytes[2];  /* ATT values delivered */
	uint64_t dropped;
	uint64_t corrupted;
	uint64_t lost_at_disconnect;
	uint32_t max_rx_queue;
};

enum lm_result {
	LM_DONE = 0,         /* the central's done() became true */
	LM_DISCONNECTED = 1, /* disconnect_at_us reached */
	LM_STALLED = 2,      /* nothing can happen any more, or time limit */
};

struct lm;

struct lm *lm_new(const struct lm_cfg *cfg, const struct lm_ep_ops *central,
		  void *central_ctx, const struct lm_ep_ops *peripheral,
		  void *peripheral_ctx);
void lm_free(struct lm *m);

/**
 * lm_run() - run events until the central is done, the link drops or
 * nothing can happen. After LM_DISCONNECTED, lm_reconnect() and call
 * lm_run() again (the ends decide what a reconnect means).
 */
enum lm_result lm_run(struct lm *m);

/**
 * lm_reconnect() - a new connection @delay_us after the drop, with the
 * same parameters; the next anchor is at that time. Further disconnects
 * can be scheduled with @next_disconnect_us (0 = none).
 */
void lm_reconnect(struct lm *m, uint64_t delay_us, uint64_t next_disconnect_us);

/** lm_now() - current virtual time, microseconds. */
uint64_t lm_now(const struct lm *m);

/** lm_event_of() - index of the event whose interval contains @t_us. */
uint64_t lm_event_of(const struct lm *m, uint64_t t_us);

const struct lm_stats *lm_get_stats(const struct lm *m);

/** lm_rand() - the model's splitmix64, for ends that need randomness. */
uint64_t lm_rand(uint64_t *state);

#endif /* BLEOTA_TESTS_LINKMODEL_H */
