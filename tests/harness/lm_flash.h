/* SPDX-License-Identifier: MIT */
/*
 * A flash timing model as an OTA sink wrapper: it forwards every call to
 * an inner sink (mem_sink) and charges, in virtual microseconds, what the
 * device's flash would take: a sector erase before the first write into a
 * sector that is not erased yet, and program time per program unit. The
 * flash is one serial resource (as on nRF52, where the CPU also halts
 * during NVMC operations), so a write starts when the previous operation
 * has finished: busy_until tells the link model when the receiver can take
 * the next datagram.
 *
 * Erase-ahead: with erase_ahead = D > 0, the flash uses its idle time to
 * erase up to D sectors beyond the highest sector written so far; an erase
 * that started while idle runs to completion. D = 0 is progressive inline
 * erase. Read-back for the block CRC and the CPU are not charged.
 */
#ifndef BLEOTA_TESTS_LM_FLASH_H
#define BLEOTA_TESTS_LM_FLASH_H

#include <stdbool.h>
#include <stdint.h>

#include "protocol/receiver.h"

#define LM_FLASH_MAX_SECTORS 1024

struct lm_flash_params {
	uint32_t sector;       /* erase unit, bytes */
	uint32_t erase_us;     /* per sector */
	uint32_t prog_unit;    /* bytes programmed per prog_unit_us */
	uint32_t prog_unit_us; /* e.g. 41 us per 4-byte word on nRF52840 */
	unsigned int erase_ahead;
};

struct lm_flash {
	struct lm_flash_params p;
	const struct ota_sink_ops *inner;
	void *inner_ctx;
	uint64_t now_us; /* set by the driver before each feed */
	uint64_t busy_until;
	uint64_t idle_from;
	uint32_t image_size;
	int top; /* highest sector written, -1 = none */
	uint8_t erased[LM_FLASH_MAX_SECTORS / 8];
	/* observations */
	uint64_t erase_total_us;
	uint64_t prog_total_us;
	unsigned int erases;
	unsigned int erases_ahead;
};

extern const struct ota_sink_ops lm_flash_ops;

/* The nRF52840 NVMC (datasheet maxima): 85 ms per 4 KiB page, 41 us per
 * word; reference section 4. */
extern const struct lm_flash_params lm_flash_nrf52840;

void lm_flash_init(struct lm_flash *f, const struct lm_flash_params *p,
		   const struct ota_sink_ops *inner, void *inner_ctx);

/**
 * lm_flash_rate_Bps() - sustained rate of erase + program of whole sectors
 * (serial), or of program only if @pre_erased.
 */
double lm_flash_rate_Bps(const struct lm_flash_params *p, bool pre_erased);

#endif /* BLEOTA_TESTS_LM_FLASH_H */
