/* SPDX-License-Identifier: MIT */
/*
 * In-memory OTA sink for protocol tests: stores the image in a RAM "slot",
 * keeps a verified-block bitmap that survives mem_sink_reboot() (as the
 * engine's flash journal does), checks block CRCs by re-reading its slot,
 * and can be told to refuse, fail a write, or corrupt a stored byte.
 */
#ifndef BLEOTA_TESTS_MEM_SINK_H
#define BLEOTA_TESTS_MEM_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/receiver.h"

#define MEM_SINK_SLOT (2u * 1024 * 1024)

struct mem_sink {
	uint8_t slot[MEM_SINK_SLOT];
	uint8_t verified[OTA_MAX_BLOCKS / 8];
	struct ota_manifest m;
	bool open;
	bool finished;
	bool committed;

	/* knobs */
	enum ota_status refuse; /* begin answers this if not OK */
	uint32_t refuse_detail;
	int fail_write_at;    /* fail the Nth write (1-based), 0 = never */
	int corrupt_write_at; /* flip a bit in the Nth write, 0 = never */
	int corrupt_repeat;   /* ... and in this many later ones */
	enum ota_status finish_status; /* finish answers this if not OK */
	uint32_t finish_detail;
	uint8_t n_keys; /* INFO lists this many trusted keys: bytes 0xk0.. */

	/* observations */
	int writes;
	int begins;
	int checks;
	int check_failures;
	int aborts;
	int discards;
	int confirms;
	int rollbacks;
	uint64_t bytes_written;
};

extern const struct ota_sink_ops mem_sink_ops;

void mem_sink_init(struct mem_sink *s);

/* Drop the RAM session state, keep slot and verified blocks (a reboot). */
void mem_sink_reboot(struct mem_sink *s);

bool mem_sink_block_verified(const struct mem_sink *s, uint32_t b);

#endif
