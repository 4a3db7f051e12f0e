/* SPDX-License-Identifier: MIT */
/*
 * Models of the anchor OTA protocols, run over the same link model as
 * bleota so their figures are comparable. Each model reproduces a
 * protocol's message sizes and waiting rules (who waits for what), not its
 * bytes; it moves the same image size and, with a flash model, writes the
 * same bytes to a flash timing model (lm_flash.h). Sources are in
 * ble-link-capacity.md sections 2-3 and prior-art.md:
 *
 *  ANCHOR_ESP: esp-iot-solution ble_ota. START command (20 B) and its ACK;
 *	per 4 KiB sector, packets of sector_index(2) + seq(1) + payload as
 *	Write Commands, the last one ending in the sector's CRC16; the
 *	device writes the sector and notifies a 20-byte ACK; the central
 *	sends the next sector only after it (window = 1 sector); STOP.
 *
 *  ANCHOR_NORDIC: nRF5 SDK Secure DFU. Init packet: Select, Create,
 *	141-byte command object, Calculate CRC, Execute; Set PRN; Select
 *	data; then per 4096-byte object: Create, data writes of
 *	min(MTU - 3) rounded down to 4 bytes, a Packet Receipt Notification
 *	every prn writes that the central waits for (the Android library's
 *	rule; prn = 0: none), Calculate CRC, Execute. No "prepare object"
 *	delay (the library's current default is 0).
 *
 *  ANCHOR_SMP: MCUmgr image upload. Requests of SMP header (8) + CBOR
 *	{"off", "data"} (first also "len", "sha") up to smp_buf bytes
 *	(data 4-byte aligned), split into Write Commands of MTU - 3
 *	(SMP reassembly); the device answers each with {"rc", "off"} after
 *	storing it; up to depth requests outstanding (the Nordic mobile
 *	libraries' pipelining). smp_buf = 0: one write per request.
 *
 * The models assume a loss-free link (the anchors' loss recovery is not
 * modelled), and control writes travel like Write Commands (linkmodel.h).
 */
#ifndef BLEOTA_TESTS_ANCHORS_H
#define BLEOTA_TESTS_ANCHORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/harness/linkmodel.h"
#include "tests/harness/lm_flash.h"

enum anchor_kind {
	ANCHOR_ESP,
	ANCHOR_NORDIC,
	ANCHOR_SMP,
};

struct anchor_cfg {
	enum anchor_kind kind;
	unsigned int prn;     /* NORDIC: writes per receipt, 0 = off */
	uint32_t object_size; /* NORDIC: 0 = 4096; UINT32_MAX = no objects
			       * and no init phase (a bare PRN stream) */
	unsigned int depth;   /* SMP: requests outstanding, 0 = 1 */
	unsigned int smp_buf; /* SMP: request size, 0 = one write */
};

struct anchor_result {
	bool ok;
	uint64_t time_us;
	uint64_t data_writes;
	uint64_t overhead_bytes; /* headers and control values sent */
	struct lm_stats link;
};

/**
 * anchor_run() - move @image_len bytes with the model @a over @link
 * (impairments other than the flash should be off), with an optional
 * device @flash. Return: 0, or -EINVAL.
 */
int anchor_run(const struct anchor_cfg *a, const struct lm_cfg *link,
	       size_t image_len, const struct lm_flash_params *flash,
	       uint32_t rx_buf_bytes, struct anchor_result *r);

/** anchor_name() - e.g. "Nordic DFU PRN 12", into @buf. */
const char *anchor_name(const struct anchor_cfg *a, char *buf, size_t len);

#endif /* BLEOTA_TESTS_ANCHORS_H */
