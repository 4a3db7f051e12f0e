/* SPDX-License-Identifier: MIT */
/*
 * bleota over the link model: the real sender (protocol/sender.c) as the
 * central and the real receiver (protocol/receiver.c) over mem_sink, with
 * an optional flash timing model (lm_flash.h), as struct lm_ep_ops; and
 * lmb_run(), which pushes one image over one configuration, reconnects
 * and resumes after a disconnect as `bleota push` would, and reports time,
 * goodput and retransmissions.
 *
 * The protocol machines take milliseconds: the adapter passes floor(us /
 * 1000) and turns their deadlines (ms) back into microseconds, so a timer
 * fires at most 1 ms late relative to a microsecond clock.
 */
#ifndef BLEOTA_TESTS_LM_BLEOTA_H
#define BLEOTA_TESTS_LM_BLEOTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/receiver.h"
#include "protocol/sender.h"
#include "tests/harness/linkmodel.h"
#include "tests/harness/lm_flash.h"

struct lmb_case {
	struct lm_cfg link;
	size_t image_len;
	uint64_t image_seed;
	/* receiver configuration (0 = protocol defaults) */
	uint32_t window_bytes;
	uint32_t ack_delay_ms;
	/* sender configuration */
	uint32_t rto_ms;
	uint16_t chunk_size;
	/* device flash; NULL = instant (mem_sink) */
	const struct lm_flash_params *flash;
	/* after a disconnect: time until the new connection */
	uint64_t reconnect_us; /* 0 = 300 ms */
};

struct lmb_result {
	bool ok;          /* DONE without error and the slot matches */
	int err;          /* the DONE event's err */
	uint64_t time_us; /* push start to DONE, all connections */
	unsigned int connections;
	uint64_t sent_bytes;   /* chunk payload bytes, all sessions */
	uint64_t resent_bytes; /* payload bytes sent more than once */
	uint64_t stream_len;
	uint32_t chunk_size;
	uint32_t window_chunks;
	uint32_t held_at_resume;
	uint32_t probes;
	struct lm_stats link;
	struct ota_rx_stats rx;
	uint64_t flash_erase_us;
	uint64_t flash_prog_us;
};

/**
 * lmb_run() - push a seeded random image of @c->image_len bytes over the
 * link model configured by @c and fill @r. Deterministic for a given @c.
 * Return: 0, or -ENOMEM.
 */
int lmb_run(const struct lmb_case *c, struct lmb_result *r);

#endif /* BLEOTA_TESTS_LM_BLEOTA_H */
