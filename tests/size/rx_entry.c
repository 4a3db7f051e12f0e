/* SPDX-License-Identifier: MIT */
/*
 * make size: a stand-in for device firmware, linked for Cortex-M4 with
 * --gc-sections so that only what a receiver uses is counted. It
 * references every receiver entry point and places one receiver context
 * statically, as an embedded caller would, with one value-sized buffer
 * for notifications (the driver's); the sink belongs to the
 * application (the OTA engine) and is left undefined-but-weak here.
 * Never executed: tests/tools/size.sh only reads sizes.
 */
#include <stddef.h>
#include <stdint.h>

#include "protocol/receiver.h"

/* nm -S reads the context sizes from these */
struct ota_rx bleota_size_ota_rx;

extern const struct ota_sink_ops bleota_size_sink __attribute__((weak));

void bleota_size_entry(void);
void bleota_size_entry(void)
{
	static uint8_t buf[OTA_MAX_VALUE];
	struct ota_rx_cfg cfg = { .sink = &bleota_size_sink };
	struct ota_rx_event ev;
	enum ota_chan chan;

	ota_rx_init(&bleota_size_ota_rx, &cfg);
	ota_rx_feed(&bleota_size_ota_rx, OTA_CHAN_DATA, buf, sizeof(buf), 0);
	ota_rx_poll(&bleota_size_ota_rx, buf, sizeof(buf), &chan, 0);
	if (ota_rx_next_deadline(&bleota_size_ota_rx) == 0)
		ota_rx_on_timeout(&bleota_size_ota_rx, 0);
	ota_rx_disconnect(&bleota_size_ota_rx);
	while (ota_rx_next_event(&bleota_size_ota_rx, &ev) == 0)
		;
}
