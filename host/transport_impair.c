/* SPDX-License-Identifier: MIT */
#include "host/transport_impair.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

struct held_value {
	enum ota_chan chan;
	size_t len;
	uint8_t buf[];
};

struct impair {
	struct transport t;
	struct transport *inner;
	struct impair_cfg cfg;
	uint64_t rng;
	/* rate limit: values wait here until the byte budget allows */
	GQueue held;
	guint timer;
	int64_t budget_at_us; /* when the budget was last refilled */
	double budget;        /* bytes that may be delivered now */
};

static uint64_t next_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool chance(struct impair *im, unsigned int ppm)
{
	return ppm && next_rand(&im->rng) % 1000000u < ppm;
}

static void deliver_now(struct impair *im, enum ota_chan chan,
			const uint8_t *buf, size_t len)
{
	if (im->t.cbs.recv && !im->t.closed)
		im->t.cbs.recv(chan, buf, len, im->t.user_data);
}

static gboolean release(gpointer data);

static void refill(struct impair *im)
{
	int64_t now = g_get_monotonic_time();

	im->budget += (double)(now - im->budget_at_us) * im->cfg.rate / 1e6;
	/* at most 20 ms of burst, as a connection event or two */
	if (im->budget > im->cfg.rate / 50.0 + OTA_MAX_VALUE)
		im->budget = im->cfg.rate / 50.0 + OTA_MAX_VALUE;
	im->budget_at_us = now;
}

static gboolean release(gpointer data)
{
	struct impair *im = data;
	struct held_value *h;

	im->timer = 0;
	refill(im);
	while ((h = g_queue_peek_head(&im->held)) &&
	       im->budget >= (double)h->len) {
		g_queue_pop_head(&im->held);
		im->budget -= (double)h->len;
		deliver_now(im, h->chan, h->buf, h->len);
		free(h);
		if (im->t.closed)
			return G_SOURCE_REMOVE;
	}
	if (!g_queue_is_empty(&im->held))
		im->timer = g_timeout_add(5, release, im);
	return G_SOURCE_REMOVE;
}

static void deliver(struct impair *im, enum ota_chan chan, const uint8_t *buf,
		    size_t len)
{
	struct held_value *h;

	if (!im->cfg.rate) {
		deliver_now(im, chan, buf, len);
		return;
	}
	h = malloc(sizeof(*h) + len);
	if (!h)
		return; /* as good as lost */
	h->chan = chan;
	h->len = len;
	memcpy(h->buf, buf, len);
	g_queue_push_tail(&im->held, h);
	if (!im->timer)
		im->timer = g_idle_add(release, im);
}

static void on_recv(enum ota_chan chan, const uint8_t *buf, size_t len,
		    void *user_data)
{
	struct impair *im = user_data;
	uint8_t copy[OTA_MAX_VALUE + 16];

	if (chan != OTA_CHAN_DATA || len > sizeof(copy)) {
		deliver(im, chan, buf, len);
		return;
	}
	if (chance(im, im->cfg.drop_ppm))
		return;
	memcpy(copy, buf, len);
	if (chance(im, im->cfg.corrupt_ppm) && len > 1) {
		uint64_t r = next_rand(&im->rng);

		/* never the opcode: a damaged chunk, not another PDU */
		copy[1 + r % (len - 1)] ^= (uint8_t)(1u + (r >> 32) % 255);
	}
	deliver(im, chan, copy, len);
	if (chance(im, im->cfg.dup_ppm))
		deliver(im, chan, copy, len);
}

static void on_writable(void *user_data)
{
	struct impair *im = user_data;

	if (im->t.cbs.writable)
		im->t.cbs.writable(im->t.user_data);
}

static void on_closed(int err, void *user_data)
{
	transport_closed(&((struct impair *)user_data)->t, err);
}

static int impair_send(struct transport *t, enum ota_chan chan,
		       const uint8_t *buf, size_t len)
{
	return transport_send(((struct impair *)t)->inner, chan, buf, len);
}

static void impair_destroy(struct transport *t)
{
	struct impair *im = (struct impair *)t;

	if (im->timer)
		g_source_remove(im->timer);
	g_queue_clear_full(&im->held, free);
	transport_free(im->inner);
	free(im);
}

static bool impair_alive(struct transport *t)
{
	return transport_alive(((struct impair *)t)->inner);
}

static const struct transport_ops impair_ops = {
	.name = "impaired",
	.send = impair_send,
	.destroy = impair_destroy,
	.alive = impair_alive,
};

struct transport *transport_impair_new(struct transport *inner,
				       const struct impair_cfg *cfg)
{
	struct impair *im = calloc(1, sizeof(*im));
	struct transport_cbs cbs = {
		.recv = on_recv,
		.writable = on_writable,
		.closed = on_closed,
	};

	if (!im)
		return NULL;
	im->t.ops = &impair_ops;
	im->t.value_max = inner->value_max;
	im->inner = inner;
	im->cfg = *cfg;
	im->rng = cfg->seed ^ 0x1badf00dull;
	g_queue_init(&im->held);
	im->budget_at_us = g_get_monotonic_time();
	transport_set_cbs(inner, &cbs, im);
	return &im->t;
}

static int parse_ppm(const char *v, unsigned int *out)
{
	char *end;
	double d = strtod(v, &end);

	if (end == v || d < 0)
		return -EINVAL;
	if (*end == '%') {
		d *= 10000.0;
		end++;
	} else {
		d *= 1000000.0; /* a fraction: 0.01 */
	}
	if ((*end && *end != ',') || d > 1000000.0)
		return -EINVAL;
	*out = (unsigned int)(d + 0.5);
	return 0;
}

int impair_parse(const char *spec, struct impair_cfg *cfg)
{
	struct impair_cfg c = *cfg;
	const char *p = spec;

	while (p && *p) {
		const char *eq = strchr(p, '=');
		size_t klen = eq ? (size_t)(eq - p) : 0;
		int r = -EINVAL;

		if (!eq)
			return -EINVAL;
		if (klen == 4 && !strncmp(p, "drop", 4))
			r = parse_ppm(eq + 1, &c.drop_ppm);
		else if (klen == 3 && !strncmp(p, "dup", 3))
			r = parse_ppm(eq + 1, &c.dup_ppm);
		else if (klen == 7 && !strncmp(p, "corrupt", 7))
			r = parse_ppm(eq + 1, &c.corrupt_ppm);
		else if (klen == 4 && !strncmp(p, "rate", 4)) {
			char *end;
			double v = strtod(eq + 1, &end);

			if (*end == 'K' || *end == 'k')
				v *= 1024, end++;
			else if (*end == 'M' || *end == 'm')
				v *= 1024 * 1024, end++;
			r = (end != eq + 1 && v >= 1000 && v < 1e9 &&
			     (!*end || *end == ','))
				    ? 0
				    : -EINVAL;
			c.rate = (uint32_t)v;
		} else if (klen == 4 && !strncmp(p, "seed", 4)) {
			char *end;

			c.seed = strtoull(eq + 1, &end, 0);
			r = (end != eq + 1 && (!*end || *end == ',')) ? 0
								      : -EINVAL;
		}
		if (r)
			return r;
		p = strchr(eq, ',');
		if (p)
			p++;
	}
	*cfg = c;
	return 0;
}
