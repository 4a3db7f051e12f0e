/* SPDX-License-Identifier: MIT */
#include "host/pump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "host/hlog.h"
#include "protocol/receiver.h"
#include "protocol/sender.h"

struct pump {
	struct transport *t;
	const struct pump_ops *ops;
	void *sm;
	pump_activity_cb_t activity;
	pump_closed_cb_t closed;
	void *user_data;
	guint timer;
	uint64_t timer_at;
	uint8_t held[OTA_MAX_VALUE];
	size_t held_len;
	enum ota_chan held_chan;
	bool blocked;
	bool kick_due; /* values fed since the last kick (batching transport) */
	uint64_t burst_ms; /* now_ms() at the first value of the burst */
	uint64_t last_rx; /* now_ms() of the last value received, or creation */
};

/* Sends per clock read within one kick: a burst stays well under 1 ms. */
#define PUMP_SENDS_PER_CLOCK 32

uint64_t now_ms(void)
{
	return (uint64_t)(g_get_monotonic_time() / 1000);
}

static const char *chan_name(enum ota_chan c)
{
	switch (c) {
	case OTA_CHAN_CONTROL:
		return "control";
	case OTA_CHAN_DATA:
		return "data";
	case OTA_CHAN_STATUS:
		return "status";
	}
	return "?";
}

static void kick_at(struct pump *p, uint64_t now);

static gboolean timer_fired(gpointer data)
{
	struct pump *p = data;
	uint64_t now = now_ms();

	p->timer = 0;
	p->ops->on_timeout(p->sm, now);
	kick_at(p, now);
	return G_SOURCE_REMOVE;
}

static void arm_timer(struct pump *p, uint64_t now)
{
	uint64_t d = p->ops->next_deadline(p->sm);

	if (p->timer && d == p->timer_at)
		return;
	if (p->timer)
		g_source_remove(p->timer);
	p->timer = 0;
	if (d == UINT64_MAX)
		return;
	p->timer_at = d;
	p->timer =
		g_timeout_add(d > now ? (guint)(d - now) : 0, timer_fired, p);
}

/* Send one value; keep it if the transport is full. */
static bool send_one(struct pump *p, enum ota_chan chan, const uint8_t *buf,
		     size_t len)
{
	int r = transport_send(p->t, chan, buf, len);

	if (r == -EAGAIN) {
		memcpy(p->held, buf, len);
		p->held_len = len;
		p->held_chan = chan;
		p->blocked = true;
		return false;
	}
	if (r < 0) {
		hlog_warn("sending a %zu-byte %s value failed: %s", len,
			  chan_name(chan), strerror(-r));
		return r != -ENOTCONN;
	}
	hlog_pdu('<', chan_name(chan), buf, len);
	return true;
}

/*
 * Send what is due, tell the owner, re-arm the timer. One clock read
 * serves a run of sends (a machine's clock is in milliseconds; reading it
 * per value was a tenth of a push's CPU on the loopback).
 */
static void kick_at(struct pump *p, uint64_t now)
{
	uint8_t buf[OTA_MAX_VALUE];
	enum ota_chan chan;
	unsigned int sent = 0;
	int n;

	p->kick_due = false;
	if (p->blocked)
		goto out;
	while ((n = p->ops->poll(p->sm, buf, p->t->value_max, &chan, now)) >
	       0) {
		if (!send_one(p, chan, buf, (size_t)n))
			break;
		if (++sent % PUMP_SENDS_PER_CLOCK == 0)
			now = now_ms();
	}
out:
	if (p->activity)
		p->activity(p->user_data);
	arm_timer(p, sent ? now_ms() : now);
}

void pump_kick(struct pump *p)
{
	kick_at(p, now_ms());
}

/*
 * A transport that batches (t->batches) reads a burst of values and then
 * says so (on_drained): the burst's data and status values are fed value
 * by value and answered with one kick, so a burst of data costs one poll
 * of the machine's output, one owner callback and one timer update instead
 * of one per value. Control values (requests, responses) are kicked one by
 * one, as without batching.
 */
static void on_recv(enum ota_chan chan, const uint8_t *buf, size_t len,
		    void *user_data)
{
	struct pump *p = user_data;
	uint64_t now;

	/* one clock read per burst too: it lasts microseconds */
	if (!p->kick_due)
		p->burst_ms = now_ms();
	now = p->burst_ms;
	hlog_pdu('>', chan_name(chan), buf, len);
	p->last_rx = now;
	/*
	 * A request (control channel) is answered at once, after what the
	 * values before it produced: the machine holds one response and one
	 * event, so a request fed behind unpolled output could overwrite it
	 * or overtake it (a FINISH answered BAD_STATE before the FAILED event
	 * of the data that ended the session).
	 */
	if (p->t->batches && chan != OTA_CHAN_CONTROL) {
		p->ops->feed(p->sm, chan, buf, len, now);
		p->kick_due = true;
		return;
	}
	if (p->kick_due)
		kick_at(p, now);
	p->ops->feed(p->sm, chan, buf, len, now);
	kick_at(p, now);
}

static void on_drained(void *user_data)
{
	struct pump *p = user_data;

	if (p->kick_due)
		kick_at(p, now_ms());
}

static void on_writable(void *user_data)
{
	struct pump *p = user_data;

	if (p->blocked) {
		p->blocked = false;
		if (!send_one(p, p->held_chan, p->held, p->held_len))
			return;
	}
	pump_kick(p);
}

static void on_closed(int err, void *user_data)
{
	struct pump *p = user_data;

	if (p->timer)
		g_source_remove(p->timer);
	p->timer = 0;
	/* the owner hears the events of values fed but not yet kicked */
	if (p->kick_due && p->activity) {
		p->kick_due = false;
		p->activity(p->user_data);
	}
	if (p->closed)
		p->closed(err, p->user_data);
}

struct pump *pump_new(struct transport *t, const struct pump_ops *ops, void *sm,
		      pump_activity_cb_t activity, pump_closed_cb_t closed,
		      void *user_data)
{
	struct pump *p = calloc(1, sizeof(*p));
	struct transport_cbs cbs = {
		.recv = on_recv,
		.writable = on_writable,
		.closed = on_closed,
		.drained = on_drained,
	};

	if (!p)
		return NULL;
	p->t = t;
	p->ops = ops;
	p->sm = sm;
	p->activity = activity;
	p->closed = closed;
	p->user_data = user_data;
	p->last_rx = now_ms();
	transport_set_cbs(t, &cbs, p);
	return p;
}

uint64_t pump_last_rx_ms(const struct pump *p)
{
	return p->last_rx;
}

void pump_free(struct pump *p)
{
	if (!p)
		return;
	if (p->timer)
		g_source_remove(p->timer);
	free(p);
}

/* ---- adapters ------------------------------------------------------------ */

static int rx_feed(void *sm, enum ota_chan c, const uint8_t *b, size_t n,
		   uint64_t t)
{
	return ota_rx_feed(sm, c, b, n, t);
}

static int rx_poll(void *sm, uint8_t *b, size_t cap, enum ota_chan *c,
		   uint64_t t)
{
	return ota_rx_poll(sm, b, cap, c, t);
}

static uint64_t rx_deadline(const void *sm)
{
	return ota_rx_next_deadline(sm);
}

static void rx_timeout(void *sm, uint64_t t)
{
	ota_rx_on_timeout(sm, t);
}

const struct pump_ops pump_rx_ops = {
	.feed = rx_feed,
	.poll = rx_poll,
	.next_deadline = rx_deadline,
	.on_timeout = rx_timeout,
};

static int tx_feed(void *sm, enum ota_chan c, const uint8_t *b, size_t n,
		   uint64_t t)
{
	return ota_tx_feed(sm, c, b, n, t);
}

static int tx_poll(void *sm, uint8_t *b, size_t cap, enum ota_chan *c,
		   uint64_t t)
{
	return ota_tx_poll(sm, b, cap, c, t);
}

static uint64_t tx_deadline(const void *sm)
{
	return ota_tx_next_deadline(sm);
}

static void tx_timeout(void *sm, uint64_t t)
{
	ota_tx_on_timeout(sm, t);
}

const struct pump_ops pump_tx_ops = {
	.feed = tx_feed,
	.poll = tx_poll,
	.next_deadline = tx_deadline,
	.on_timeout = tx_timeout,
};
