/* SPDX-License-Identifier: MIT */
/*
 * make bench, part 3: the device side's CPU cost per payload byte, as
 * instructions counted by callgrind (tests/tools/bench-rxcost.sh runs this
 * under valgrind with collection toggled on inside ota_rx_* only).
 *
 * Sender and receiver are wired back to back in one process, no clock and
 * no socket: a 1 MiB push. The sink is chosen by argv[1]:
 *
 *  "null" - stores nothing and accepts every block: the receiver's own
 *           cost (decode, chunk bookkeeping, ACK encoding), excluding
 *           flash I/O, the block CRC read-back and SHA-256;
 *  "mem"  - mem_sink: adds a memcpy per chunk and the CRC-32 of each
 *           4 KiB block read back (the nibble-table CRC of protocol/).
 *
 * Prints the image size, which the script divides the count by.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/frame.h"
#include "protocol/receiver.h"
#include "protocol/sender.h"
#include "tests/harness/link.h"
#include "tests/harness/mem_sink.h"

#define IMAGE_LEN (1024 * 1024)
#define VALUE     244

static enum ota_status n_begin(void *ctx, const struct ota_manifest *m,
			       uint8_t flags, uint32_t *detail)
{
	(void)ctx;
	(void)m;
	(void)flags;
	(void)detail;
	return OTA_STATUS_OK;
}

static bool n_verified(void *ctx, uint32_t b)
{
	(void)ctx;
	(void)b;
	return false;
}

static enum ota_status n_write(void *ctx, uint32_t off, const uint8_t *d,
			       size_t len)
{
	(void)ctx;
	(void)off;
	(void)d;
	(void)len;
	return OTA_STATUS_OK;
}

static enum ota_status n_check(void *ctx, uint32_t b, uint32_t crc)
{
	(void)ctx;
	(void)b;
	(void)crc;
	return OTA_STATUS_OK;
}

static enum ota_status n_ok(void *ctx, uint32_t *detail)
{
	(void)ctx;
	(void)detail;
	return OTA_STATUS_OK;
}

static void n_abort(void *ctx, bool discard)
{
	(void)ctx;
	(void)discard;
}

static void n_info(void *ctx, struct ota_dev_info *info)
{
	(void)ctx;
	memset(info, 0, sizeof(*info));
}

static void n_status(void *ctx, struct ota_dev_status *st)
{
	(void)ctx;
	memset(st, 0, sizeof(*st));
}

static const struct ota_sink_ops null_ops = {
	.begin = n_begin,
	.block_verified = n_verified,
	.write = n_write,
	.check_block = n_check,
	.finish = n_ok,
	.commit = n_ok,
	.confirm = n_ok,
	.rollback = n_ok,
	.abort = n_abort,
	.get_info = n_info,
	.get_status = n_status,
};

int main(int argc, char **argv)
{
	static struct mem_sink sink;
	static struct ota_rx rx;
	static struct ota_tx tx;
	bool mem = argc > 1 && !strcmp(argv[1], "mem");
	struct ota_rx_cfg rc = { .sink = mem ? &mem_sink_ops : &null_ops,
				 .sink_ctx = &sink,
				 .max_value = VALUE };
	struct ota_tx_cfg tc = { .max_value = VALUE };
	struct ota_manifest m = { .image_size = IMAGE_LEN };
	uint8_t *img = malloc(IMAGE_LEN);
	uint8_t buf[OTA_MAX_VALUE + 8];
	struct ota_tx_event ev;
	struct ota_rx_event rev;
	enum ota_chan chan;
	uint64_t now = 0;
	int n, err = -1;

	if (!img)
		return 1;
	test_fill_random(img, IMAGE_LEN, 5);
	memset(m.sha256, 0x11, 32);
	mem_sink_init(&sink);
	if (ota_rx_init(&rx, &rc) || ota_tx_init(&tx, &tc) ||
	    ota_tx_push(&tx, img, IMAGE_LEN, &m, 0, now))
		return 1;
	for (;;) {
		bool moved = false;

		while ((n = ota_tx_poll(&tx, buf, sizeof(buf), &chan, now)) >
		       0) {
			ota_rx_feed(&rx, chan, buf, (size_t)n, now);
			moved = true;
		}
		while ((n = ota_rx_poll(&rx, buf, sizeof(buf), &chan, now)) >
		       0) {
			ota_tx_feed(&tx, chan, buf, (size_t)n, now);
			moved = true;
		}
		while (ota_rx_next_event(&rx, &rev) == 0)
			;
		while (ota_tx_next_event(&tx, &ev) == 0) {
			if (ev.type == OTA_TX_EV_DONE)
				err = ev.err;
		}
		if (err != -1)
			break;
		if (!moved) {
			/* only the receiver's ACK delay is pending */
			now += 20;
			ota_rx_on_timeout(&rx, now);
			ota_tx_on_timeout(&tx, now);
		}
	}
	printf("%d %s\n", IMAGE_LEN, err ? "failed" : "ok");
	free(img);
	return err ? 1 : 0;
}
