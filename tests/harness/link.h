/* SPDX-License-Identifier: MIT */
/*
 * A lossy datagram link between a sender and a receiver, in virtual time.
 *
 * Each direction is a queue of datagrams with delivery times. A seeded
 * PRNG drops, duplicates, delays (reorders) and corrupts datagrams, so a
 * failing case replays exactly from its seed. link_run() pumps both state
 * machines, delivers due datagrams, runs their timers, and stops when the
 * sender's operation is done, when nothing can happen any more, or at a
 * virtual-time limit.
 */
#ifndef BLEOTA_TESTS_LINK_H
#define BLEOTA_TESTS_LINK_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/receiver.h"
#include "protocol/sender.h"

struct link_cfg {
	uint64_t seed;
	unsigned int drop_ppm; /* per million datagrams */
	unsigned int dup_ppm;
	unsigned int reorder_ppm; /* delayed by up to 3 latencies */
	unsigned int corrupt_ppm;
	bool corrupt_all_channels; /* default: Data channel only */
	bool impair_control;       /* default: only Data and Status */
	unsigned int latency_ms;   /* one way; 0 = 5 */
	uint64_t time_limit_ms;    /* 0 = 1 hour of virtual time */
	/* stop after this many DATA datagrams reached the receiver (0 = no) */
	unsigned long cut_after_data;
};

struct link_stats {
	unsigned long sent[2]; /* [0] tx->rx, [1] rx->tx */
	unsigned long dropped;
	unsigned long duplicated;
	unsigned long reordered;
	unsigned long corrupted;
	unsigned long data_delivered;
	unsigned long reboots;
	uint64_t end_ms;
};

struct link;

struct link *link_new(const struct link_cfg *cfg);
void link_free(struct link *l);

/*
 * Run until the sender's operation is DONE (returns 0), the cut point is
 * reached (returns 1), or nothing is pending / the time limit passes
 * (returns -ETIMEDOUT). Receiver REBOOT events are counted and the sink is
 * left alone (tests decide what a reboot means).
 */
int link_run(struct link *l, struct ota_tx *tx, struct ota_rx *rx);

/* Drop everything in flight (a disconnect). */
void link_flush(struct link *l);

uint64_t link_now(const struct link *l);
const struct link_stats *link_get_stats(const struct link *l);

/* A small deterministic PRNG (splitmix64) for test data. */
uint64_t test_rand(uint64_t *state);
void test_fill_random(uint8_t *buf, size_t len, uint64_t seed);

#endif
