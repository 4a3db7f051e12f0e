/* SPDX-License-Identifier: MIT */
/*
 * The pump binds a sans-I/O protocol machine (receiver or sender) to a
 * transport on the GLib main loop: received values are fed in, everything
 * the machine wants to send is sent (holding one value back while the
 * transport is full), and one timer follows the machine's next deadline.
 * After every burst of activity the owner's callback runs, to drain the
 * machine's events.
 */
#ifndef BLEOTA_HOST_PUMP_H
#define BLEOTA_HOST_PUMP_H

#include <stdint.h>

#include "host/transport.h"

struct pump_ops {
	int (*feed)(void *sm, enum ota_chan chan, const uint8_t *buf,
		    size_t len, uint64_t now_ms);
	int (*poll)(void *sm, uint8_t *buf, size_t cap, enum ota_chan *chan,
		    uint64_t now_ms);
	uint64_t (*next_deadline)(const void *sm);
	void (*on_timeout)(void *sm, uint64_t now_ms);
};

extern const struct pump_ops pump_rx_ops; /* struct ota_rx */
extern const struct pump_ops pump_tx_ops; /* struct ota_tx */

struct pump;

typedef void (*pump_activity_cb_t)(void *user_data);
typedef void (*pump_closed_cb_t)(int err, void *user_data);

/**
 * pump_new() - drive @sm over @t. Neither is owned; both must outlive the
 * pump. @activity runs after values were processed or timers fired;
 * @closed when the transport goes away.
 */
struct pump *pump_new(struct transport *t, const struct pump_ops *ops, void *sm,
		      pump_activity_cb_t activity, pump_closed_cb_t closed,
		      void *user_data);

/** pump_kick() - send what is due and re-arm the timer (after an API call
 * on the machine outside a callback, e.g. ota_tx_push()). */
void pump_kick(struct pump *p);

/**
 * pump_last_rx_ms() - now_ms() when the last value arrived (the pump's
 * creation if none has): how long the peer has been silent.
 */
uint64_t pump_last_rx_ms(const struct pump *p);

void pump_free(struct pump *p);

/** now_ms() - the monotonic clock the pumps give the machines. */
uint64_t now_ms(void);

#endif /* BLEOTA_HOST_PUMP_H */
