/* SPDX-License-Identifier: MIT */
/*
 * The link model: air-time arithmetic and the event simulator.
 *
 * The simulator keeps, per direction, a FIFO of datagrams, each with the
 * first event it may go on air in (its "ready" event) and how many of its
 * fragment bytes are already through. An event packs pairs; each pair
 * takes the head fragment of each direction, if ready. Ends are called
 * back at the exact microsecond a datagram's last fragment completes, and
 * their timers run at their deadlines, also inside an event (between
 * pairs), so the only quantisation is the pair.
 *
 * Everything an end emits after being called at time t is ready at
 * event_of(t) + turnaround. Idle stretches are skipped by jumping to the
 * event of the next deadline.
 */
#include "tests/harness/linkmodel.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- air time ----------------------------------------------------------- */

uint32_t lm_pkt_us(enum lm_phy phy, unsigned int payload, bool encrypted)
{
	unsigned int body = payload + (encrypted && payload ? LM_MIC_LEN : 0);

	switch (phy) {
	case LM_PHY_1M:
		/* preamble 1, AA 4, header 2, CRC 3; 8 us per octet */
		return (10 + body) * 8;
	case LM_PHY_2M:
		/* preamble 2, AA 4, header 2, CRC 3; 4 us per octet */
		return (11 + body) * 4;
	case LM_PHY_CODED_S2:
		/* 80 us preamble, FEC block 1 at S=8 (296 us), then header,
		 * payload, CRC at 16 us per octet and TERM2 */
		return 80 + 296 + (5 + body) * 16 + 6;
	case LM_PHY_CODED_S8:
		return 80 + 296 + (5 + body) * 64 + 24;
	}
	return 0;
}

uint32_t lm_pair_us(enum lm_phy phy, unsigned int c_payload,
		    unsigned int p_payload, bool encrypted)
{
	return lm_pkt_us(phy, c_payload, encrypted) + LM_T_IFS_US +
	       lm_pkt_us(phy, p_payload, encrypted) + LM_T_IFS_US;
}

static bool link_ok(const struct lm_link *l)
{
	return l->ll_octets >= 27 && l->ll_octets <= 251 && l->att_mtu >= 23 &&
	       l->att_mtu <= 517 && l->ci_us >= 7500 && l->guard_us < l->ci_us;
}

/*
 * Saturated packing: state = index of the first fragment of the event
 * within its write. The pattern is periodic in that state; we measure one
 * period exactly.
 */
int lm_capacity(const struct lm_link *l, struct lm_capacity *cap)
{
	unsigned int pdu = l->att_mtu + LM_L2CAP_HDR;
	unsigned int k = (pdu + l->ll_octets - 1) / l->ll_octets;
	unsigned int last = pdu - (k - 1) * l->ll_octets;
	uint64_t budget = (uint64_t)l->ci_us - l->guard_us + LM_T_IFS_US;
	unsigned int seen_at[64 * 8];
	uint64_t writes_at[64 * 8];
	unsigned int state = 0, ev = 0;
	uint64_t writes = 0;

	if (!link_ok(l) || k > sizeof(seen_at) / sizeof(seen_at[0]))
		return -EINVAL;
	memset(seen_at, 0xff, sizeof(seen_at));
	cap->frags_per_write = k;
	for (;;) {
		uint64_t t = 0;
		unsigned int n = 0;

		if (seen_at[state] != 0xffffffffu) {
			uint64_t w = writes - writes_at[state];
			unsigned int e = ev - seen_at[state];

			cap->bytes = w * (l->att_mtu - LM_ATT_WRITE_HDR);
			cap->us = (uint64_t)e * l->ci_us;
			/* mean packets per event, rounded */
			cap->pkts_per_event =
				(unsigned int)((2 * w * k + e) / (2 * e));
			return 0;
		}
		seen_at[state] = ev;
		writes_at[state] = writes;
		for (;;) {
			unsigned int len = state == k - 1 ? last : l->ll_octets;
			uint32_t pair =
				lm_pair_us(l->phy, len, 0, l->encrypted);

			if (t + pair > budget ||
			    (l->max_pkts && n >= l->max_pkts))
				break;
			t += pair;
			n++;
			if (++state == k) {
				state = 0;
				writes++;
			}
		}
		if (!n)
			return -EINVAL;
		ev++;
	}
}

double lm_capacity_Bps(const struct lm_capacity *cap)
{
	return cap->us ? (double)cap->bytes * 1e6 / (double)cap->us : 0;
}

/* ---- the simulator ------------------------------------------------------ */

uint64_t lm_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct dgram {
	uint64_t ready_ev;
	uint64_t at; /* arrival time, for the RX buffer */
	uint16_t len;
	uint16_t sent; /* L2CAP PDU bytes already through */
	uint8_t chan;
	uint8_t buf[LM_MAX_DGRAM];
};

struct fifo {
	struct dgram *d;
	size_t head, n, cap;
	uint64_t bytes;
};

struct end {
	const struct lm_ep_ops *ops;
	void *ctx;
	unsigned int turnaround;
};

struct lm {
	struct lm_cfg cfg;
	struct lm_stats st;
	struct end ep[2]; /* [0] central, [1] peripheral */
	struct fifo tx[2];
	struct fifo rxq; /* arrived at the peripheral, not yet taken */
	uint64_t rng;
	uint64_t now;
	uint64_t ev;      /* current event */
	uint64_t t0, ev0; /* anchor of event ev0 is t0 */
	bool down;
};

static void fifo_init(struct fifo *f)
{
	f->cap = 64;
	f->d = malloc(f->cap * sizeof(*f->d));
	if (!f->d)
		abort();
}

static struct dgram *fifo_push(struct fifo *f)
{
	if (f->n == f->cap) {
		struct dgram *nd = malloc(2 * f->cap * sizeof(*nd));
		size_t i;

		if (!nd)
			abort();
		for (i = 0; i < f->n; i++)
			nd[i] = f->d[(f->head + i) % f->cap];
		free(f->d);
		f->d = nd;
		f->head = 0;
		f->cap *= 2;
	}
	f->n++;
	return &f->d[(f->head + f->n - 1) % f->cap];
}

static struct dgram *fifo_head(struct fifo *f)
{
	return f->n ? &f->d[f->head] : NULL;
}

static void fifo_pop(struct fifo *f)
{
	f->bytes -= f->d[f->head].len;
	f->head = (f->head + 1) % f->cap;
	f->n--;
}

static void fifo_clear(struct fifo *f)
{
	f->head = 0;
	f->n = 0;
	f->bytes = 0;
}

struct lm *lm_new(const struct lm_cfg *cfg, const struct lm_ep_ops *central,
		  void *central_ctx, const struct lm_ep_ops *peripheral,
		  void *peripheral_ctx)
{
	struct lm *m = calloc(1, sizeof(*m));

	if (!m)
		abort();
	m->cfg = *cfg;
	if (!m->cfg.ack_turnaround_ev)
		m->cfg.ack_turnaround_ev = 1;
	if (!m->cfg.host_turnaround_ev)
		m->cfg.host_turnaround_ev = 1;
	if (!m->cfg.time_limit_us)
		m->cfg.time_limit_us = 3600ull * 1000000;
	m->ep[0] =
		(struct end){ central, central_ctx, m->cfg.host_turnaround_ev };
	m->ep[1] = (struct end){ peripheral, peripheral_ctx,
				 m->cfg.ack_turnaround_ev };
	m->rng = cfg->seed ^ 0x11aa77bbull;
	fifo_init(&m->tx[0]);
	fifo_init(&m->tx[1]);
	fifo_init(&m->rxq);
	return m;
}

void lm_free(struct lm *m)
{
	if (!m)
		return;
	free(m->tx[0].d);
	free(m->tx[1].d);
	free(m->rxq.d);
	free(m);
}

uint64_t lm_now(const struct lm *m)
{
	return m->now;
}

const struct lm_stats *lm_get_stats(const struct lm *m)
{
	return &m->st;
}

uint64_t lm_event_of(const struct lm *m, uint64_t t)
{
	if (t < m->t0)
		return m->ev0;
	return m->ev0 + (t - m->t0) / m->cfg.link.ci_us;
}

static uint64_t anchor(const struct lm *m, uint64_t ev)
{
	return m->t0 + (ev - m->ev0) * m->cfg.link.ci_us;
}

static bool chance(struct lm *m, uint32_t ppm)
{
	return ppm && lm_rand(&m->rng) % 1000000u < ppm;
}

static bool chan_in(uint32_t mask, uint8_t chan)
{
	return !mask || (chan < 32 && (mask & (1u << chan)));
}

/* Take everything side @s has to send now; it is ready at @ready_ev. */
static void pump(struct lm *m, int s, uint64_t t)
{
	struct end *e = &m->ep[s];
	uint64_t ready = lm_event_of(m, t) + e->turnaround;
	unsigned int limit = m->cfg.link.att_mtu - LM_ATT_WRITE_HDR;
	uint8_t buf[LM_MAX_DGRAM];
	uint8_t chan;
	int n;

	if (m->down)
		return;
	while ((s || !m->cfg.host_queue_max ||
		m->tx[0].n < m->cfg.host_queue_max) &&
	       (n = e->ops->poll(e->ctx, buf, sizeof(buf), &chan, t)) >= 0) {
		struct dgram *d;

		if ((unsigned int)n > limit)
			abort(); /* an end broke the MTU: a bug under test */
		d = fifo_push(&m->tx[s]);
		d->ready_ev = ready;
		d->len = (uint16_t)n;
		d->sent = 0;
		d->chan = chan;
		memcpy(d->buf, buf, (size_t)n);
		m->tx[s].bytes += (unsigned int)n;
	}
}

static uint64_t busy_until(struct lm *m)
{
	const struct end *p = &m->ep[1];

	return p->ops->busy_until ? p->ops->busy_until(p->ctx) : 0;
}

/* Hand the peripheral what it can take by time @t. */
static void drain_rx(struct lm *m, uint64_t t)
{
	struct dgram *d;

	while ((d = fifo_head(&m->rxq))) {
		uint64_t at = d->at, b = busy_until(m);

		if (b > at)
			at = b;
		if (at > t)
			break;
		m->ep[1].ops->recv(m->ep[1].ctx, d->chan, d->buf, d->len, at);
		fifo_pop(&m->rxq);
		pump(m, 1, busy_until(m) > at ? busy_until(m) : at);
	}
}

/* Run both ends' timers due at or before @t, earliest first. */
static void run_timers(struct lm *m, uint64_t t)
{
	for (;;) {
		uint64_t d0 = m->ep[0].ops->next_deadline(m->ep[0].ctx);
		uint64_t d1 = m->ep[1].ops->next_deadline(m->ep[1].ctx);
		int s = d1 < d0 ? 1 : 0;
		uint64_t d = s ? d1 : d0;

		if (d > t || d == LM_NO_DEADLINE)
			return;
		if (d < m->now)
			d = m->now;
		drain_rx(m, d);
		m->ep[s].ops->on_timeout(m->ep[s].ctx, d);
		pump(m, s, d);
	}
}

static void deliver(struct lm *m, int from, struct dgram *d, uint64_t t)
{
	bool imp = chan_in(m->cfg.impair_chans, d->chan);

	m->st.dgrams[from]++;
	m->st.bytes[from] += d->len;
	if (imp && chance(m, m->cfg.drop_ppm)) {
		m->st.dropped++;
		return;
	}
	if (imp && chan_in(m->cfg.corrupt_chans, d->chan) &&
	    chance(m, m->cfg.corrupt_ppm) && d->len > 1) {
		uint64_t r = lm_rand(&m->rng);

		/* keep the opcode: a garbled opcode is a different test */
		d->buf[1 + r % (d->len - 1u)] ^=
			(uint8_t)(1u + (r >> 32) % 255);
		m->st.corrupted++;
	}
	if (from == 0) {
		struct dgram *q = fifo_push(&m->rxq);

		*q = *d;
		q->at = t;
		m->rxq.bytes += d->len;
		if (m->rxq.n > m->st.max_rx_queue)
			m->st.max_rx_queue = (uint32_t)m->rxq.n;
		drain_rx(m, t);
	} else {
		m->ep[0].ops->recv(m->ep[0].ctx, d->chan, d->buf, d->len, t);
		pump(m, 0, t);
	}
}

/* L2CAP PDU of a datagram: ATT header + value + L2CAP header. */
static unsigned int pdu_len(const struct dgram *d)
{
	return d->len + LM_ATT_WRITE_HDR + LM_L2CAP_HDR;
}

static unsigned int frag_len(const struct lm *m, const struct dgram *d)
{
	unsigned int left = pdu_len(d) - d->sent;

	return left < m->cfg.link.ll_octets ? left : m->cfg.link.ll_octets;
}

static bool rx_full(const struct lm *m, const struct dgram *d)
{
	return m->cfg.rx_buf_bytes && d->sent + frag_len(m, d) == pdu_len(d) &&
	       m->rxq.n && m->rxq.bytes + d->len > m->cfg.rx_buf_bytes;
}

static void go_down(struct lm *m)
{
	int s;

	m->st.lost_at_disconnect += m->tx[0].n + m->tx[1].n + m->rxq.n;
	fifo_clear(&m->tx[0]);
	fifo_clear(&m->tx[1]);
	fifo_clear(&m->rxq);
	m->down = true;
	for (s = 0; s < 2; s++) {
		if (m->ep[s].ops->disconnect)
			m->ep[s].ops->disconnect(m->ep[s].ctx);
	}
}

/* One connection event; returns whether any pair went on air. */
static bool run_event(struct lm *m)
{
	const struct lm_link *l = &m->cfg.link;
	uint64_t a = anchor(m, m->ev);
	uint64_t t = 0, limit = (uint64_t)l->ci_us - l->guard_us + LM_T_IFS_US;
	unsigned int pairs = 0, fails = 0;
	bool nak = false;

	for (;;) {
		struct dgram *c = fifo_head(&m->tx[0]);
		struct dgram *p = fifo_head(&m->tx[1]);
		unsigned int lc = 0, lp = 0;
		uint32_t dur;

		m->now = a + t;
		drain_rx(m, m->now);
		run_timers(m, m->now);
		c = fifo_head(&m->tx[0]);
		p = fifo_head(&m->tx[1]);
		if (c && (c->ready_ev > m->ev || nak))
			c = NULL;
		if (c && rx_full(m, c)) {
			/* no buffer: the peripheral's LL NAKs the packet */
			m->st.naks++;
			nak = true;
			c = NULL;
		}
		if (p && p->ready_ev > m->ev)
			p = NULL;
		if (!c && !p)
			break;
		if (c)
			lc = frag_len(m, c);
		if (p)
			lp = frag_len(m, p);
		dur = lm_pair_us(l->phy, lc, lp, l->encrypted);
		if (t + dur > limit || (l->max_pkts && pairs >= l->max_pkts))
			break;
		pairs++;
		m->st.pairs++;
		t += dur;
		m->now = a + t;
		if (chance(m, m->cfg.per_ppm) || chance(m, m->cfg.per_ppm)) {
			/* either packet of the pair failed its CRC: ARQ
			 * repeats it; two failures in a row close the event */
			m->st.failed_pairs++;
			if (++fails == 2)
				break;
			continue;
		}
		fails = 0;
		if (c) {
			c->sent += lc;
			if (c->sent == pdu_len(c)) {
				struct dgram d = *c;

				fifo_pop(&m->tx[0]);
				deliver(m, 0, &d, m->now);
				if (m->cfg.host_queue_max)
					pump(m, 0, m->now);
			}
		}
		if (p && fifo_head(&m->tx[1]) == p) {
			p->sent += lp;
			if (p->sent == pdu_len(p)) {
				struct dgram d = *p;

				fifo_pop(&m->tx[1]);
				deliver(m, 1, &d, m->now);
			}
		}
		if (m->ep[0].ops->done(m->ep[0].ctx))
			break;
	}
	if (pairs)
		m->st.events++;
	return pairs;
}

static uint64_t next_wakeup(struct lm *m)
{
	uint64_t d0 = m->ep[0].ops->next_deadline(m->ep[0].ctx);
	uint64_t d1 = m->ep[1].ops->next_deadline(m->ep[1].ctx);
	uint64_t d = d0 < d1 ? d0 : d1;
	struct dgram *r = fifo_head(&m->rxq);

	if (r) {
		uint64_t b = busy_until(m);

		if (b < r->at)
			b = r->at;
		if (b < d)
			d = b;
	}
	return d;
}

enum lm_result lm_run(struct lm *m)
{
	if (m->down)
		return LM_DISCONNECTED;
	pump(m, 0, m->now);
	pump(m, 1, m->now);
	for (;;) {
		uint64_t a = anchor(m, m->ev);

		if (m->cfg.disconnect_at_us && a >= m->cfg.disconnect_at_us) {
			m->now = m->cfg.disconnect_at_us;
			drain_rx(m, m->now);
			run_timers(m, m->now);
			go_down(m);
			return LM_DISCONNECTED;
		}
		if (m->ep[0].ops->done(m->ep[0].ctx))
			return LM_DONE;
		if (a > m->cfg.time_limit_us)
			return LM_STALLED;
		run_event(m);
		if (m->ep[0].ops->done(m->ep[0].ctx))
			return LM_DONE;
		/* the rest of the interval: timers and a busy peripheral */
		m->now = anchor(m, m->ev + 1) - 1;
		drain_rx(m, m->now);
		run_timers(m, m->now);
		m->ev++;
		if (!m->tx[0].n && !m->tx[1].n) {
			uint64_t w = next_wakeup(m);

			if (w == LM_NO_DEADLINE)
				return LM_STALLED;
			if (lm_event_of(m, w) > m->ev)
				m->ev = lm_event_of(m, w);
		} else {
			uint64_t r0 = m->tx[0].n
					      ? fifo_head(&m->tx[0])->ready_ev
					      : UINT64_MAX;
			uint64_t r1 = m->tx[1].n
					      ? fifo_head(&m->tx[1])->ready_ev
					      : UINT64_MAX;
			uint64_t r = r0 < r1 ? r0 : r1;
			uint64_t w = lm_event_of(m, next_wakeup(m));

			if (w < r)
				r = w;
			if (r > m->ev && r != UINT64_MAX)
				m->ev = r;
		}
		if (m->cfg.disconnect_at_us &&
		    anchor(m, m->ev) > m->cfg.disconnect_at_us &&
		    m->now < m->cfg.disconnect_at_us) {
			/* the drop falls in a skipped stretch */
			m->ev = lm_event_of(m, m->cfg.disconnect_at_us);
			if (anchor(m, m->ev) < m->cfg.disconnect_at_us)
				m->ev++;
		}
	}
}

void lm_reconnect(struct lm *m, uint64_t delay_us, uint64_t next_disconnect)
{
	m->now += delay_us;
	m->t0 = m->now;
	m->ev0 = m->ev + 1;
	m->ev = m->ev0;
	m->cfg.disconnect_at_us = next_disconnect;
	m->down = false;
}
