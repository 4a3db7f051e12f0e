/* SPDX-License-Identifier: MIT */
/*
 * Lifetimes: a transport and its pump are freed from a callback of their
 * own (at high priority, so a busy main loop, e.g. one flooded with
 * connection attempts, still reaps them at once), never from inside one of
 * their own callbacks. The receiver and the engine live as long as the
 * server; the receiver is re-initialised on reboot because a real device
 * loses its RAM.
 *
 * A client that says nothing for the idle timeout is disconnected, with or
 * without a session: otherwise one silent connection would lock every
 * other client out with BUSY for ever. BUSY tells the truth about the
 * holder: its detail is 1 when the connected client has an update session
 * open and 0 when it is merely connected.
 */
#include "peripheral/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "ota_engine/engine_sink.h"
#include "ota_engine/otadata.h"
#include "host/hlog.h"
#include "host/pump.h"

struct busy_client {
	struct server *s;
	struct transport *t;
	guint idle;
};

struct server {
	struct server_cfg cfg;
	struct ota_engine eng;
	struct engine_sink sink;
	struct ota_rx rx;
	struct transport *client;
	struct pump *pump;
	guint idle;     /* drops a silent client */
	uint64_t since; /* now_ms() when the client connected */
	guint reap;
	guint reboot;
	GSList *busy;
};

/* The engine reports codes and numbers; the words are made here. */
static void engine_log(const struct ota_engine_note *n, void *user_data)
{
	char msg[240];
	const char *name =
		ota_engine_reason_name((enum ota_engine_reason)n->reason);

	(void)user_data;
	ota_engine_note_format(n, msg, sizeof(msg));
	if (n->level <= OTA_ENGINE_LOG_ERR)
		hlog_err("engine: %s: %s", name, msg);
	else if (n->level <= OTA_ENGINE_LOG_WARN)
		hlog_warn("engine: %s", msg);
	else if (n->level <= OTA_ENGINE_LOG_INFO)
		hlog_info("engine: %s", msg);
	else
		hlog_dbg("engine: %s", msg);
}

void server_log_boot(struct server *s)
{
	struct ota_engine_status st;

	if (ota_engine_status(&s->eng, &st) < 0) {
		hlog_err("cannot read the device state");
		return;
	}
	if (st.running_slot < 0 && st.running_slot != OTA_ENGINE_SLOT_FACTORY)
		hlog_info("running nothing: no valid app in any slot");
	else if (st.running_slot == OTA_ENGINE_SLOT_FACTORY)
		hlog_info("running factory app %s (%s)", st.running_version,
			  st.running_project);
	else
		hlog_info("running ota_%d: %s %s, state %s", st.running_slot,
			  st.running_project, st.running_version,
			  ota_otadata_state_str(st.running_state));
}

static int power_on(struct server *s)
{
	struct ota_rx_cfg rc = {
		.sink = &engine_sink_ops,
		.sink_ctx = &s->sink,
		.window_bytes = s->cfg.window_bytes,
		.idle_timeout_ms = s->cfg.idle_timeout_ms,
	};
	int r;

	r = ota_engine_init(&s->eng, &s->cfg.engine);
	if (r < 0)
		return r;
	r = ota_engine_boot(&s->eng);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == -ENOENT)
		hlog_warn(
			"no bootable app on the device: only an update can fix "
			"it");
	engine_sink_init(&s->sink, &s->eng);
	r = ota_rx_init(&s->rx, &rc);
	if (r < 0)
		return r;
	server_log_boot(s);
	return 0;
}

struct server *server_new(const struct server_cfg *cfg, int *err)
{
	struct server *s = calloc(1, sizeof(*s));
	int r;

	if (!s) {
		*err = -ENOMEM;
		return NULL;
	}
	s->cfg = *cfg;
	if (!s->cfg.engine.log)
		s->cfg.engine.log = engine_log;
	r = power_on(s);
	if (r < 0) {
		*err = r;
		free(s);
		return NULL;
	}
	return s;
}

struct ota_engine *server_engine(struct server *s)
{
	return &s->eng;
}

int server_read_info(struct server *s, uint8_t *buf, size_t cap)
{
	return ota_rx_read_attr(&s->rx, OTA_ATTR_INFO, buf, cap);
}

bool server_has_client(const struct server *s)
{
	return s->client != NULL;
}

/* ---- the client ---------------------------------------------------------- */

static gboolean reap_client(gpointer data)
{
	struct server *s = data;

	s->reap = 0;
	if (s->idle)
		g_source_remove(s->idle);
	s->idle = 0;
	pump_free(s->pump);
	transport_free(s->client);
	s->pump = NULL;
	s->client = NULL;
	return G_SOURCE_REMOVE;
}

static void drop_client(struct server *s)
{
	if (!s->client || s->reap)
		return;
	ota_rx_disconnect(&s->rx);
	s->reap = g_idle_add_full(G_PRIORITY_HIGH, reap_client, s, NULL);
}

static uint32_t idle_ms(const struct server *s)
{
	return s->cfg.idle_timeout_ms ? s->cfg.idle_timeout_ms
				      : OTA_RX_DEFAULT_IDLE_MS;
}

static gboolean client_idle(gpointer data)
{
	struct server *s = data;
	uint64_t silent = now_ms() - pump_last_rx_ms(s->pump);

	s->idle = 0;
	if (silent < idle_ms(s)) {
		s->idle = g_timeout_add((guint)(idle_ms(s) - silent),
					client_idle, s);
		return G_SOURCE_REMOVE;
	}
	hlog_info("client silent for %llu ms: disconnected so that others "
		  "can connect",
		  (unsigned long long)silent);
	drop_client(s);
	return G_SOURCE_REMOVE;
}

static gboolean do_reboot(gpointer data)
{
	struct server *s = data;

	s->reboot = 0;
	server_reboot(s);
	return G_SOURCE_REMOVE;
}

static void on_activity(void *user_data)
{
	struct server *s = user_data;
	struct ota_rx_event ev;

	while (ota_rx_next_event(&s->rx, &ev) == 0) {
		switch (ev.type) {
		case OTA_RX_EV_BEGIN:
			hlog_info("update started%s (%u bytes already held)",
				  ev.value ? ", resuming" : "", ev.value);
			break;
		case OTA_RX_EV_VERIFIED:
			hlog_info("image verified (%u bytes)", ev.value);
			break;
		case OTA_RX_EV_COMMITTED:
			hlog_info("image committed: it boots next, pending "
				  "confirmation");
			break;
		case OTA_RX_EV_FAILED:
			hlog_warn("update failed: %s: %s",
				  ota_status_name(ev.status),
				  ota_status_str(ev.status));
			break;
		case OTA_RX_EV_TIMEOUT:
			hlog_warn("update session idle for %u ms: ended, "
				  "received "
				  "blocks kept",
				  ev.value);
			break;
		case OTA_RX_EV_ABORTED:
			hlog_info("update aborted by the client");
			break;
		case OTA_RX_EV_CONFIRMED:
			hlog_info("running image confirmed");
			break;
		case OTA_RX_EV_ROLLED_BACK:
			hlog_info("running image marked invalid: the previous "
				  "one "
				  "boots next");
			break;
		case OTA_RX_EV_BLOCK_RETRY:
			hlog_dbg("block %u failed its check; asked again",
				 ev.value);
			break;
		case OTA_RX_EV_REBOOT:
			hlog_info("reboot requested");
			/* after the response has gone out */
			if (!s->reboot)
				s->reboot = g_idle_add(do_reboot, s);
			break;
		}
	}
}

static void on_closed(int err, void *user_data)
{
	struct server *s = user_data;

	if (err)
		hlog_info("client connection failed: %s", strerror(-err));
	else
		hlog_info("client disconnected");
	drop_client(s);
}

/* ---- busy clients --------------------------------------------------------- */

static gboolean reap_busy(gpointer data)
{
	struct busy_client *b = data;

	b->s->busy = g_slist_remove(b->s->busy, b);
	transport_free(b->t);
	free(b);
	return G_SOURCE_REMOVE;
}

static void busy_recv(enum ota_chan chan, const uint8_t *buf, size_t len,
		      void *user_data)
{
	struct busy_client *b = user_data;
	uint8_t rsp[OTA_ERR_RSP_LEN], d[4] = { 0 };
	struct ota_msg msg;
	int n;

	if (chan != OTA_CHAN_CONTROL || ota_frame_decode_msg(buf, len, &msg) ||
	    msg.is_rsp)
		return;
	d[0] = ota_rx_get_state(&b->s->rx) != OTA_RX_IDLE;
	n = ota_frame_encode_rsp(rsp, sizeof(rsp), msg.op, msg.token,
				 OTA_STATUS_BUSY, d, sizeof(d));
	if (n > 0)
		transport_send(b->t, OTA_CHAN_CONTROL, rsp, (size_t)n);
	if (!b->idle)
		b->idle = g_idle_add_full(G_PRIORITY_HIGH, reap_busy, b, NULL);
}

static void busy_closed(int err, void *user_data)
{
	struct busy_client *b = user_data;

	(void)err;
	if (!b->idle)
		b->idle = g_idle_add_full(G_PRIORITY_HIGH, reap_busy, b, NULL);
}

void server_attach(struct server *s, struct transport *t)
{
	if (s->client && (s->reap || !transport_alive(s->client))) {
		/*
		 * The old client is gone: it hung up and we have not heard yet,
		 * or we heard (drop_client) and its reaping has not run. Let
		 * it go now, or a reconnect right after a drop would be
		 * refused BUSY by a client that no longer exists.
		 */
		if (!s->reap) {
			hlog_info("client disconnected");
			ota_rx_disconnect(&s->rx);
		} else {
			g_source_remove(s->reap);
		}
		s->reap = 0;
		reap_client(s);
	}
	if (s->client) {
		struct busy_client *b = calloc(1, sizeof(*b));
		struct transport_cbs cbs = { .recv = busy_recv,
					     .closed = busy_closed };

		hlog_info("second client refused: BUSY (the client connected "
			  "%llu ms ago %s)",
			  (unsigned long long)(now_ms() - s->since),
			  ota_rx_get_state(&s->rx) != OTA_RX_IDLE
				  ? "is updating"
				  : "has no update session");
		if (!b) {
			transport_free(t);
			return;
		}
		b->s = s;
		b->t = t;
		s->busy = g_slist_prepend(s->busy, b);
		transport_set_cbs(t, &cbs, b);
		return;
	}
	hlog_info("client connected");
	s->client = t;
	/* chunks, responses and ACKs must fit this link's values */
	ota_rx_set_max_value(&s->rx, t->value_max);
	s->pump = pump_new(t, &pump_rx_ops, &s->rx, on_activity, on_closed, s);
	if (!s->pump) {
		transport_free(t);
		s->client = NULL;
		return;
	}
	s->since = now_ms();
	s->idle = g_timeout_add(idle_ms(s), client_idle, s);
}

int server_reboot(struct server *s)
{
	if (s->client) {
		if (s->reap)
			g_source_remove(s->reap);
		s->reap = 0;
		reap_client(s);
	}
	hlog_info("rebooting: running the bootloader");
	return power_on(s);
}

void server_free(struct server *s)
{
	GSList *l;

	if (!s)
		return;
	if (s->reboot)
		g_source_remove(s->reboot);
	if (s->reap)
		g_source_remove(s->reap);
	if (s->idle)
		g_source_remove(s->idle);
	pump_free(s->pump);
	transport_free(s->client);
	for (l = s->busy; l; l = l->next) {
		struct busy_client *b = l->data;

		if (b->idle)
			g_source_remove(b->idle);
		transport_free(b->t);
		free(b);
	}
	g_slist_free(s->busy);
	free(s);
}
