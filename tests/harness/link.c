/* SPDX-License-Identifier: MIT */
/*
 * Virtual-time link. Datagrams are kept in two unsorted arrays; the next
 * event is found by a linear scan, which is plenty for the few hundred
 * datagrams a window keeps in flight.
 */
#include "tests/harness/link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define QCAP 8192

struct dgram {
	uint64_t at;
	uint64_t order; /* FIFO among equal times */
	uint16_t len;
	uint8_t chan;
	uint8_t buf[OTA_MAX_VALUE + 8];
};

struct queue {
	struct dgram *d;
	size_t n;
};

struct link {
	struct link_cfg cfg;
	struct link_stats st;
	struct queue q[2];
	uint64_t now;
	uint64_t rng;
	uint64_t order;
};

uint64_t test_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void test_fill_random(uint8_t *buf, size_t len, uint64_t seed)
{
	uint64_t st = seed, v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (i % 8 == 0)
			v = test_rand(&st);
		buf[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

struct link *link_new(const struct link_cfg *cfg)
{
	struct link *l = calloc(1, sizeof(*l));

	if (!l)
		abort();
	l->cfg = *cfg;
	if (!l->cfg.latency_ms)
		l->cfg.latency_ms = 5;
	if (!l->cfg.time_limit_ms)
		l->cfg.time_limit_ms = 3600ull * 1000;
	l->rng = cfg->seed ^ 0x5eed;
	l->q[0].d = calloc(QCAP, sizeof(struct dgram));
	l->q[1].d = calloc(QCAP, sizeof(struct dgram));
	if (!l->q[0].d || !l->q[1].d)
		abort();
	return l;
}

void link_free(struct link *l)
{
	if (!l)
		return;
	free(l->q[0].d);
	free(l->q[1].d);
	free(l);
}

void link_flush(struct link *l)
{
	l->q[0].n = 0;
	l->q[1].n = 0;
}

uint64_t link_now(const struct link *l)
{
	return l->now;
}

const struct link_stats *link_get_stats(const struct link *l)
{
	return &l->st;
}

static bool chance(struct link *l, unsigned int ppm)
{
	return ppm && test_rand(&l->rng) % 1000000u < ppm;
}

static void enqueue(struct link *l, int dir, enum ota_chan chan,
		    const uint8_t *buf, size_t len, uint64_t at)
{
	struct queue *q = &l->q[dir];
	struct dgram *d;

	if (q->n == QCAP)
		abort(); /* a test bug: nothing should flood this much */
	d = &q->d[q->n++];
	d->at = at;
	d->order = l->order++;
	d->len = (uint16_t)len;
	d->chan = (uint8_t)chan;
	memcpy(d->buf, buf, len);
}

static void transmit(struct link *l, int dir, const uint8_t *buf, size_t len,
		     enum ota_chan chan)
{
	bool impair = chan != OTA_CHAN_CONTROL || l->cfg.impair_control;
	uint8_t copy[OTA_MAX_VALUE + 8];
	uint64_t at = l->now + l->cfg.latency_ms;
	int copies = 1, i;

	l->st.sent[dir]++;
	if (impair && chance(l, l->cfg.drop_ppm)) {
		l->st.dropped++;
		return;
	}
	if (impair && chance(l, l->cfg.dup_ppm)) {
		l->st.duplicated++;
		copies = 2;
	}
	for (i = 0; i < copies; i++) {
		size_t n = len;
		uint64_t t = at;

		memcpy(copy, buf, len);
		if (impair &&
		    (chan == OTA_CHAN_DATA || l->cfg.corrupt_all_channels) &&
		    chance(l, l->cfg.corrupt_ppm)) {
			uint64_t r = test_rand(&l->rng);

			l->st.corrupted++;
			if (r & 1 && n > 1) {
				n = 1 + (size_t)((r >> 8) % (n - 1));
			} else {
				size_t pos = (size_t)((r >> 8) % n);

				copy[pos] ^= (uint8_t)(1u + (r >> 32) % 255);
			}
		}
		if (impair && chance(l, l->cfg.reorder_ppm)) {
			l->st.reordered++;
			t += 1 + test_rand(&l->rng) % (3 * l->cfg.latency_ms);
		}
		enqueue(l, dir, chan, copy, n, t);
	}
}

static int pop_due(struct link *l, int dir, struct dgram *out)
{
	struct queue *q = &l->q[dir];
	size_t i, best = q->n;

	for (i = 0; i < q->n; i++) {
		if (q->d[i].at > l->now)
			continue;
		if (best == q->n || q->d[i].at < q->d[best].at ||
		    (q->d[i].at == q->d[best].at &&
		     q->d[i].order < q->d[best].order))
			best = i;
	}
	if (best == q->n)
		return 0;
	*out = q->d[best];
	q->d[best] = q->d[--q->n];
	return 1;
}

static uint64_t earliest(const struct link *l)
{
	uint64_t t = UINT64_MAX;
	size_t i;
	int dir;

	for (dir = 0; dir < 2; dir++) {
		for (i = 0; i < l->q[dir].n; i++) {
			if (l->q[dir].d[i].at < t)
				t = l->q[dir].d[i].at;
		}
	}
	return t;
}

int link_run(struct link *l, struct ota_tx *tx, struct ota_rx *rx)
{
	static struct dgram d;
	uint8_t buf[OTA_MAX_VALUE + 8];
	struct ota_rx_event rev;
	enum ota_chan chan;
	int n;

	for (;;) {
		uint64_t next;
		bool moved = false;

		while ((n = ota_tx_poll(tx, buf, sizeof(buf), &chan, l->now)) >
		       0)
			transmit(l, 0, buf, (size_t)n, chan);
		while ((n = ota_rx_poll(rx, buf, sizeof(buf), &chan, l->now)) >
		       0)
			transmit(l, 1, buf, (size_t)n, chan);
		while (ota_rx_next_event(rx, &rev) == 0) {
			if (rev.type == OTA_RX_EV_REBOOT)
				l->st.reboots++;
		}
		if (ota_tx_is_done(tx)) {
			l->st.end_ms = l->now;
			return 0;
		}

		/* deliver what is due now */
		while (pop_due(l, 0, &d)) {
			if (d.buf[0] == OTA_OP_DATA)
				l->st.data_delivered++;
			ota_rx_feed(rx, (enum ota_chan)d.chan, d.buf, d.len,
				    l->now);
			moved = true;
			if (l->cfg.cut_after_data &&
			    l->st.data_delivered >= l->cfg.cut_after_data) {
				l->st.end_ms = l->now;
				return 1;
			}
		}
		while (pop_due(l, 1, &d)) {
			ota_tx_feed(tx, (enum ota_chan)d.chan, d.buf, d.len,
				    l->now);
			moved = true;
		}
		if (moved)
			continue;

		if (ota_rx_next_deadline(rx) <= l->now) {
			ota_rx_on_timeout(rx, l->now);
			continue;
		}
		if (ota_tx_next_deadline(tx) <= l->now) {
			ota_tx_on_timeout(tx, l->now);
			continue;
		}
		next = earliest(l);
		if (ota_rx_next_deadline(rx) < next)
			next = ota_rx_next_deadline(rx);
		if (ota_tx_next_deadline(tx) < next)
			next = ota_tx_next_deadline(tx);
		if (next == UINT64_MAX || next > l->cfg.time_limit_ms) {
			l->st.end_ms = l->now;
			return -ETIMEDOUT;
		}
		l->now = next;
	}
}
