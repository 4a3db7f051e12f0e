/* SPDX-License-Identifier: MIT */
/*
 * The bleota ends of the link model. The central behaves like the CLI: on
 * a disconnect it waits for the new connection and starts the same push
 * again, which resumes from the blocks the device verified; progress is
 * summed over the sessions. Bytes resent are counted as everything sent
 * beyond the stream length, so bytes lost with a connection count too.
 */
#include "tests/harness/lm_bleota.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/frame.h"
#include "tests/harness/link.h"
#include "tests/harness/mem_sink.h"

struct central {
	struct ota_tx tx;
	struct ota_tx_cfg cfg;
	const uint8_t *img;
	size_t len;
	struct ota_manifest m;
	bool done;
	struct ota_tx_event ev;
	uint64_t done_us;
	struct ota_tx_progress sum;
	bool first;
	uint32_t held_at_resume;
};

struct peripheral {
	struct ota_rx rx;
	struct mem_sink *sink;
	struct lm_flash flash;
	bool use_flash;
};

static uint64_t ms(uint64_t us)
{
	return us / 1000;
}

static uint64_t us_of(uint64_t ms_deadline)
{
	return ms_deadline == UINT64_MAX ? LM_NO_DEADLINE : ms_deadline * 1000;
}

static void c_events(struct central *c, uint64_t now)
{
	struct ota_tx_event ev;

	while (ota_tx_next_event(&c->tx, &ev) == 0) {
		if (ev.type == OTA_TX_EV_DONE && !c->done) {
			c->done = true;
			c->ev = ev;
			c->done_us = now;
		}
		if (ev.type == OTA_TX_EV_BEGUN && !c->first)
			c->held_at_resume = ev.value;
	}
}

static void c_recv(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		   uint64_t now)
{
	struct central *c = ctx;

	ota_tx_feed(&c->tx, (enum ota_chan)chan, buf, len, ms(now));
	c_events(c, now);
}

static int c_poll(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		  uint64_t now)
{
	struct central *c = ctx;
	enum ota_chan ch;
	int n = ota_tx_poll(&c->tx, buf, cap, &ch, ms(now));

	*chan = (uint8_t)ch;
	return n > 0 ? n : -1;
}

static uint64_t c_deadline(void *ctx)
{
	struct central *c = ctx;

	return c->done ? LM_NO_DEADLINE : us_of(ota_tx_next_deadline(&c->tx));
}

static void c_timeout(void *ctx, uint64_t now)
{
	struct central *c = ctx;

	ota_tx_on_timeout(&c->tx, ms(now));
	c_events(c, now);
}

static bool c_done(void *ctx)
{
	return ((struct central *)ctx)->done;
}

static const struct lm_ep_ops central_ops = {
	.recv = c_recv,
	.poll = c_poll,
	.next_deadline = c_deadline,
	.on_timeout = c_timeout,
	.done = c_done,
};

static void p_events(struct peripheral *p)
{
	struct ota_rx_event ev;

	while (ota_rx_next_event(&p->rx, &ev) == 0)
		;
}

static void p_recv(void *ctx, uint8_t chan, const uint8_t *buf, size_t len,
		   uint64_t now)
{
	struct peripheral *p = ctx;

	p->flash.now_us = now;
	ota_rx_feed(&p->rx, (enum ota_chan)chan, buf, len, ms(now));
	p_events(p);
}

static int p_poll(void *ctx, uint8_t *buf, size_t cap, uint8_t *chan,
		  uint64_t now)
{
	struct peripheral *p = ctx;
	enum ota_chan ch;
	int n = ota_rx_poll(&p->rx, buf, cap, &ch, ms(now));

	*chan = (uint8_t)ch;
	return n > 0 ? n : -1;
}

static uint64_t p_deadline(void *ctx)
{
	return us_of(ota_rx_next_deadline(&((struct peripheral *)ctx)->rx));
}

static void p_timeout(void *ctx, uint64_t now)
{
	struct peripheral *p = ctx;

	p->flash.now_us = now;
	ota_rx_on_timeout(&p->rx, ms(now));
	p_events(p);
}

static uint64_t p_busy(void *ctx)
{
	struct peripheral *p = ctx;

	return p->use_flash ? p->flash.busy_until : 0;
}

static void p_disconnect(void *ctx)
{
	ota_rx_disconnect(&((struct peripheral *)ctx)->rx);
}

static const struct lm_ep_ops peripheral_ops = {
	.recv = p_recv,
	.poll = p_poll,
	.next_deadline = p_deadline,
	.on_timeout = p_timeout,
	.busy_until = p_busy,
	.disconnect = p_disconnect,
};

static void add_progress(struct central *c)
{
	const struct ota_tx_progress *p = ota_tx_get_progress(&c->tx);

	c->sum.sent_bytes += p->sent_bytes;
	c->sum.probes += p->probes;
	c->sum.rewinds += p->rewinds;
	c->sum.chunk_size = p->chunk_size;
	c->sum.window = p->window;
	c->sum.acked_bytes = p->acked_bytes;
}

static int start_push(struct central *c, uint64_t now)
{
	c->done = false;
	if (ota_tx_init(&c->tx, &c->cfg))
		return -EINVAL;
	return ota_tx_push(&c->tx, c->img, c->len, &c->m, 0, ms(now));
}

int lmb_run(const struct lmb_case *k, struct lmb_result *r)
{
	struct central *c = calloc(1, sizeof(*c));
	struct peripheral *p = calloc(1, sizeof(*p));
	struct mem_sink *sink = malloc(sizeof(*sink));
	uint8_t *img = malloc(k->image_len ? k->image_len : 1);
	size_t value = ota_frame_value_max((uint16_t)k->link.link.att_mtu);
	struct ota_rx_cfg rc = { .max_value = value,
				 .window_bytes = k->window_bytes,
				 .ack_delay_ms = k->ack_delay_ms };
	struct lm *m = NULL;
	enum lm_result res;
	int err = -ENOMEM;

	memset(r, 0, sizeof(*r));
	if (!c || !p || !sink || !img)
		goto out;
	test_fill_random(img, k->image_len, k->image_seed);
	mem_sink_init(sink);
	p->sink = sink;
	if (k->flash) {
		lm_flash_init(&p->flash, k->flash, &mem_sink_ops, sink);
		p->use_flash = true;
		rc.sink = &lm_flash_ops;
		rc.sink_ctx = &p->flash;
	} else {
		rc.sink = &mem_sink_ops;
		rc.sink_ctx = sink;
	}
	err = -EINVAL;
	if (ota_rx_init(&p->rx, &rc))
		goto out;
	c->cfg = (struct ota_tx_cfg){ .max_value = value,
				      .chunk_size = k->chunk_size,
				      .rto_ms = k->rto_ms,
				      .first_token = 1 };
	c->img = img;
	c->len = k->image_len;
	c->m.image_size = (uint32_t)k->image_len;
	memset(c->m.sha256, 0x5a, sizeof(c->m.sha256));
	c->m.sha256[0] = (uint8_t)k->image_seed;
	strcpy(c->m.version, "2.0.0");
	c->first = true;
	if (start_push(c, 0))
		goto out;
	m = lm_new(&k->link, &central_ops, c, &peripheral_ops, p);
	r->connections = 1;
	while ((res = lm_run(m)) == LM_DISCONNECTED) {
		add_progress(c);
		lm_reconnect(m, k->reconnect_us ? k->reconnect_us : 300000, 0);
		c->first = false;
		r->connections++;
		if (start_push(c, lm_now(m)))
			goto out;
	}
	add_progress(c);
	r->err = c->done ? c->ev.err : -ETIMEDOUT;
	r->ok = res == LM_DONE && c->ev.err == 0 &&
		!memcmp(sink->slot, img, k->image_len);
	r->time_us = c->done ? c->done_us : lm_now(m);
	r->sent_bytes = c->sum.sent_bytes;
	r->stream_len = ota_stream_len((uint32_t)k->image_len);
	r->resent_bytes = r->sent_bytes > r->stream_len
				  ? r->sent_bytes - r->stream_len
				  : 0;
	r->chunk_size = c->sum.chunk_size;
	r->window_chunks = c->sum.window;
	r->held_at_resume = c->held_at_resume;
	r->probes = c->sum.probes;
	r->link = *lm_get_stats(m);
	r->rx = *ota_rx_get_stats(&p->rx);
	r->flash_erase_us = p->flash.erase_total_us;
	r->flash_prog_us = p->flash.prog_total_us;
	err = 0;
out:
	lm_free(m);
	free(img);
	free(sink);
	free(p);
	free(c);
	return err;
}
