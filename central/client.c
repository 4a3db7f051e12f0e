/* SPDX-License-Identifier: MIT */
#include "central/client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>

#include "central/bluez.h"
#include "host/hlog.h"
#include "host/pump.h"
#include "host/transport.h"

struct client {
	struct transport *t;
	GMainLoop *loop;
	struct pump *pump;
	struct ota_tx *tx;
	client_event_cb_t on_event;
	client_tick_cb_t on_tick;
	void *user_data;
	struct ota_tx_event done;
	bool have_done;
	bool closed;
	guint wait_timer;
	uint8_t token; /* last token used on this connection */
};

static struct client *client_new(struct transport *t, size_t value_max)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c) {
		transport_free(t);
		return NULL;
	}
	if (value_max && value_max < t->value_max)
		t->value_max = value_max;
	c->t = t;
	c->loop = g_main_loop_new(NULL, FALSE);
	/*
	 * A Bluetooth link can outlive this process: start the token
	 * sequence somewhere a previous bleota on the same link is unlikely
	 * to have left it, so no request is taken for its retry.
	 */
	c->token = (uint8_t)g_random_int();
	return c;
}

static char bluez_adapter[32];
static bool bluez_no_acquire;
static bool bluez_write_value;
static char last_why[512];

void client_set_no_acquire(bool no_acquire)
{
	bluez_no_acquire = no_acquire;
}

void client_set_write_value(bool write_value)
{
	bluez_write_value = write_value;
}

void client_set_adapter(const char *adapter)
{
	snprintf(bluez_adapter, sizeof(bluez_adapter), "%s",
		 adapter ? adapter : "");
}

const char *client_last_error(void)
{
	return last_why;
}

/*
 * How long a unix: connect may wait for a daemon whose backlog is full:
 * $BLEOTA_CONNECT_TIMEOUT seconds, default 20 as over Bluetooth.
 */
static unsigned int connect_timeout_ms(void)
{
	const char *e = getenv("BLEOTA_CONNECT_TIMEOUT");
	unsigned long s = 20;

	if (e && *e)
		s = strtoul(e, NULL, 10);
	if (!s || s > 3600)
		s = 20;
	return (unsigned int)s * 1000u;
}

struct client *client_connect(const char *device, size_t value_max, int *err)
{
	const char *path = unix_path_of(device);
	struct client *c;
	int fd;

	last_why[0] = '\0';
	if (!path) {
		struct bluez_opts o = {
			.adapter = bluez_adapter[0] ? bluez_adapter : NULL,
			.write_value = bluez_write_value,
			.no_acquire = bluez_no_acquire,
		};
		struct transport *t;

		if (!strncmp(device, "unix:", 5)) {
			*err = -EINVAL;
			return NULL;
		}
		t = bluez_connect(device, &o, last_why, sizeof(last_why), err);
		if (!t)
			return NULL;
		c = client_new(t, value_max);
		if (!c)
			*err = -ENOMEM;
		return c;
	}
	fd = socket_connect_unix(path, connect_timeout_ms());
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	c = client_new_fd(fd, value_max);
	if (!c)
		*err = -ENOMEM;
	return c;
}

struct client *client_new_fd(int fd, size_t value_max)
{
	struct client *c = calloc(1, sizeof(*c));

	if (!c) {
		close(fd);
		return NULL;
	}
	if (!value_max || value_max > OTA_MAX_VALUE)
		value_max = OTA_MAX_VALUE;
	c->t = transport_socket_new(fd, value_max);
	if (!c->t) {
		free(c);
		close(fd);
		return NULL;
	}
	c->loop = g_main_loop_new(NULL, FALSE);
	return c;
}

size_t client_value_max(const struct client *c)
{
	return c->t->value_max;
}

uint8_t client_token(const struct client *c)
{
	return c->token;
}

static void on_activity(void *user_data)
{
	struct client *c = user_data;
	struct ota_tx_event ev;

	while (ota_tx_next_event(c->tx, &ev) == 0) {
		if (c->on_event)
			c->on_event(&ev, c->tx, c->user_data);
		if (ev.type == OTA_TX_EV_DONE) {
			c->done = ev;
			c->have_done = true;
		}
	}
	if (c->on_tick)
		c->on_tick(c->tx, c->user_data);
	if (c->have_done)
		g_main_loop_quit(c->loop);
}

static void on_closed(int err, void *user_data)
{
	struct client *c = user_data;

	(void)err;
	c->closed = true;
	g_main_loop_quit(c->loop);
}

int client_run(struct client *c, struct ota_tx *tx, client_event_cb_t on_event,
	       client_tick_cb_t on_tick, void *user_data,
	       struct ota_tx_event *done)
{
	if (c->closed)
		return -ENOTCONN;
	c->tx = tx;
	c->on_event = on_event;
	c->on_tick = on_tick;
	c->user_data = user_data;
	c->have_done = false;
	c->pump = pump_new(c->t, &pump_tx_ops, tx, on_activity, on_closed, c);
	if (!c->pump)
		return -ENOMEM;
	pump_kick(c->pump);
	if (!c->have_done && !c->closed)
		g_main_loop_run(c->loop);
	pump_free(c->pump);
	c->pump = NULL;
	c->token = tx->token;
	if (!c->have_done)
		return -ENOTCONN;
	*done = c->done;
	return 0;
}

static gboolean wait_expired(gpointer data)
{
	struct client *c = data;

	c->wait_timer = 0;
	g_main_loop_quit(c->loop);
	return G_SOURCE_REMOVE;
}

static void idle_closed(int err, void *user_data)
{
	on_closed(err, user_data);
}

bool client_wait_closed(struct client *c, unsigned int ms)
{
	struct transport_cbs cbs = { .closed = idle_closed };

	if (c->closed)
		return true;
	transport_set_cbs(c->t, &cbs, c);
	c->wait_timer = g_timeout_add(ms, wait_expired, c);
	g_main_loop_run(c->loop);
	if (c->wait_timer)
		g_source_remove(c->wait_timer);
	c->wait_timer = 0;
	return c->closed;
}

int client_request(struct client *c, struct ota_tx *tx, uint8_t op,
		   uint8_t attr, struct ota_tx_event *done)
{
	struct ota_tx_cfg cfg = { .max_value = client_value_max(c),
				  .first_token = client_token(c) };
	int r = ota_tx_init(tx, &cfg);

	if (r)
		return r;
	r = ota_tx_request(tx, op, attr, now_ms());
	if (r)
		return r;
	return client_run(c, tx, NULL, NULL, NULL, done);
}

void client_free(struct client *c)
{
	if (!c)
		return;
	pump_free(c->pump);
	transport_free(c->t);
	g_main_loop_unref(c->loop);
	free(c);
}
