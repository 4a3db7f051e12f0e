/* SPDX-License-Identifier: MIT */
/*
 * A transport wrapper that damages what it receives: drops, duplicates or
 * corrupts values on the Data characteristic with a seeded PRNG, and can
 * deliver received values no faster than a given byte rate, so a simulated
 * device can be tested against a bad or slow link (bleota-peripheral
 * --impair, and the end-to-end tests). Sends pass through untouched.
 */
#ifndef BLEOTA_HOST_TRANSPORT_IMPAIR_H
#define BLEOTA_HOST_TRANSPORT_IMPAIR_H

#include <stdint.h>

#include "host/transport.h"

struct impair_cfg {
	unsigned int drop_ppm; /* per million Data values */
	unsigned int dup_ppm;
	unsigned int corrupt_ppm;
	uint64_t seed;
	uint32_t rate; /* bytes per second of received values, 0 = no limit */
};

/**
 * impair_parse() - "drop=1%,dup=0.5%,corrupt=0.1%,seed=7,rate=150K" into
 * @cfg (rate: received bytes per second, K/M suffixes, like a BLE link).
 * Return: 0, or -EINVAL with nothing changed.
 */
int impair_parse(const char *spec, struct impair_cfg *cfg);

/**
 * transport_impair_new() - wrap @inner (ownership taken: freeing the
 * wrapper frees it).
 */
struct transport *transport_impair_new(struct transport *inner,
				       const struct impair_cfg *cfg);

#endif /* BLEOTA_HOST_TRANSPORT_IMPAIR_H */
