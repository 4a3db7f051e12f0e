/* SPDX-License-Identifier: MIT */
/*
 * The BlueZ central (bluez.md §2). Connection setup is a sequence of
 * blocking D-Bus calls with timeouts, each failure turned into a sentence
 * for the user; waits (discovery, services resolved) poll the object tree
 * from a main loop with a deadline, never sleep blindly. The connected
 * transport is event driven on the default main context.
 *
 * Known BlueZ 5.66 behaviours handled here:
 * - ServicesResolved can turn true before the characteristic objects
 *   exist, so we wait for the characteristics themselves;
 * - AcquireWrite fds are non-blocking: EAGAIN is flow control, not loss;
 * - WriteValue(type=command) gives no flow control: at most a few are kept
 *   in flight, the rest is back-pressure (-EAGAIN) for the pump;
 * - one request per characteristic at a time (InProgress): Control writes
 *   are serialised, a newer one replacing one still waiting to go.
 */
#define _GNU_SOURCE
#include "central/bluez.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "central/report.h"
#include "host/hlog.h"
#include "protocol/frame.h"

#define BLUEZ              "org.bluez"
#define IFACE_ADAPTER      "org.bluez.Adapter1"
#define IFACE_DEVICE       "org.bluez.Device1"
#define IFACE_CHRC         "org.bluez.GattCharacteristic1"
#define IFACE_PROPS        "org.freedesktop.DBus.Properties"
#define MAX_CMDS_IN_FLIGHT 4

enum {
	CH_CTRL,
	CH_DATA,
	CH_STATUS,
	CH_COUNT
};

struct bz {
	struct transport t;
	GDBusConnection *conn;
	char device[128];
	char addr[18]; /* of b->device, for messages */
	char chrc[CH_COUNT][160];
	int data_fd;
	int notify_fd[CH_COUNT];
	guint notify_watch[CH_COUNT];
	guint out_watch;
	guint sub_dev;
	guint name_watch; /* bluetoothd's name, to notice it going away */
	guint sub_chrc[CH_COUNT];
	unsigned int cmds_in_flight;
	bool ctrl_busy;
	GBytes *ctrl_next; /* a Control write waiting for the previous */
	bool want_writable;
	char acquire_err[200]; /* why the last Acquire* call failed */
};

bool bluez_is_address(const char *s)
{
	int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* ---- object tree helpers ------------------------------------------------------ */

/*
 * The first call, which decides whether bluetoothd is there at all, waits
 * longer than the polls: a bluetoothd busy with other links (a gateway
 * pushing to several devices, debug logging) was seen taking over 5 s to
 * list its objects (tests/hci/serve.sh), and a scan then failed with
 * "bluetoothd does not answer".
 */
#define FIRST_CALL_MS 25000
#define POLL_CALL_MS  5000

static GVariant *managed_objects_ms(GDBusConnection *conn, int timeout_ms,
				    GError **err)
{
	GVariant *r = g_dbus_connection_call_sync(
		conn, BLUEZ, "/", "org.freedesktop.DBus.ObjectManager",
		"GetManagedObjects", NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"),
		G_DBUS_CALL_FLAGS_NONE, timeout_ms, NULL, err);
	GVariant *objs;

	if (!r)
		return NULL;
	objs = g_variant_get_child_value(r, 0);
	g_variant_unref(r);
	return objs;
}

static GVariant *managed_objects(GDBusConnection *conn, GError **err)
{
	return managed_objects_ms(conn, POLL_CALL_MS, err);
}

/* Properties of @iface at @path in @objs, or NULL. */
static GVariant *object_props(GVariant *objs, const char *path,
			      const char *iface)
{
	GVariant *ifaces = g_variant_lookup_value(objs, path, NULL);
	GVariant *props;

	if (!ifaces)
		return NULL;
	props = g_variant_lookup_value(ifaces, iface, NULL);
	g_variant_unref(ifaces);
	return props;
}

static bool prop_bool(GVariant *props, const char *name)
{
	gboolean b = FALSE;

	return props && g_variant_lookup(props, name, "b", &b) && b;
}

static bool find_adapter(GVariant *objs, const char *want, char *path,
			 size_t cap)
{
	GVariantIter it;
	const char *p;
	GVariant *ifaces;

	g_variant_iter_init(&it, objs);
	while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &p, &ifaces)) {
		bool ok = g_variant_lookup_value(ifaces, IFACE_ADAPTER, NULL) !=
			  NULL;

		g_variant_unref(ifaces);
		if (!ok)
			continue;
		if (want && strcmp(strrchr(p, '/') + 1, want))
			continue;
		snprintf(path, cap, "%s", p);
		return true;
	}
	return false;
}

static bool has_service_uuid(GVariant *props)
{
	GVariant *uuids =
		g_variant_lookup_value(props, "UUIDs", G_VARIANT_TYPE("as"));
	const char **list;
	bool found = false;
	gsize i, n;

	if (!uuids)
		return false;
	list = g_variant_get_strv(uuids, &n);
	for (i = 0; i < n && !found; i++)
		found = !g_ascii_strcasecmp(list[i], OTA_UUID_SERVICE);
	g_free(list);
	g_variant_unref(uuids);
	return found;
}

/* A Device1 under @adapter matching @want (address or name). */
static bool find_device(GVariant *objs, const char *adapter, const char *want,
			char *path, size_t cap)
{
	size_t alen = strlen(adapter);
	GVariantIter it;
	const char *p;
	GVariant *ifaces;
	bool by_addr = bluez_is_address(want);

	g_variant_iter_init(&it, objs);
	while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &p, &ifaces)) {
		GVariant *dev =
			g_variant_lookup_value(ifaces, IFACE_DEVICE, NULL);
		const char *addr = NULL, *name = NULL, *alias = NULL;
		bool match = false;

		g_variant_unref(ifaces);
		if (!dev)
			continue;
		if (!strncmp(p, adapter, alen) && p[alen] == '/') {
			g_variant_lookup(dev, "Address", "&s", &addr);
			g_variant_lookup(dev, "Name", "&s", &name);
			g_variant_lookup(dev, "Alias", "&s", &alias);
			if (by_addr)
				match = addr && !g_ascii_strcasecmp(addr, want);
			else
				match = (name && !strcmp(name, want)) ||
					(alias && !strcmp(alias, want));
		}
		g_variant_unref(dev);
		if (match) {
			snprintf(path, cap, "%s", p);
			return true;
		}
	}
	return false;
}

/* "AA:BB:CC:DD:EE:FF" of a BlueZ device path ".../dev_AA_BB_CC_DD_EE_FF". */
static void addr_of_path(const char *path, char addr[18])
{
	const char *d = strstr(path, "/dev_");
	size_t i;

	d = d ? d + 5 : path;
	for (i = 0; i < 17 && d[i]; i++)
		addr[i] = d[i] == '_' ? ':' : d[i];
	addr[i] = '\0';
}

/* Iterate the main loop until @deadline_us (monotonic) for @ms. */
static void pump_loop_ms(unsigned int ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)ms * 1000;

	while (g_get_monotonic_time() < end)
		g_main_context_iteration(NULL, FALSE) ? (void)0
						      : g_usleep(10000);
}

static const char *dbus_error_name(GError *err)
{
	static char name[128];
	char *remote = g_dbus_error_get_remote_error(err);

	snprintf(name, sizeof(name), "%s", remote ? remote : "");
	g_free(remote);
	return name;
}

static int map_bluez_error(GError *err, const char *doing, const char *device,
			   char *why, size_t cap)
{
	const char *name = dbus_error_name(err);
	char *msg = g_dbus_error_is_remote_error(err) ? g_strdup(err->message)
						      : g_strdup(err->message);

	g_dbus_error_strip_remote_error(err);
	if (strstr(name, "NotPermitted") || strstr(name, "NotAuthorized") ||
	    strstr(name, "AuthenticationFailed")) {
		snprintf(why, cap,
			 "%s: %s not permitted (%s): pair and trust the "
			 "device first, e.g. 'bluetoothctl pair %s'",
			 device, doing, err->message, device);
		g_free(msg);
		return -EACCES;
	}
	if (strstr(name, "InProgress")) {
		snprintf(why, cap,
			 "%s: %s: another operation is in progress on the "
			 "device; wait and retry",
			 device, doing);
		g_free(msg);
		return -EBUSY;
	}
	if (strstr(name, "ServiceUnknown") || strstr(name, "NameHasNoOwner")) {
		snprintf(why, cap,
			 "bluetoothd is not running: start it (systemctl "
			 "start bluetooth)");
		g_free(msg);
		return -EHOSTDOWN;
	}
	if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
	    strstr(name, "NoReply")) {
		snprintf(why, cap,
			 "%s: %s timed out: is the device powered and in "
			 "range?",
			 device, doing);
		g_free(msg);
		return -ETIMEDOUT;
	}
	snprintf(why, cap, "%s: %s failed: %s", device, doing, err->message);
	g_free(msg);
	return -ECONNREFUSED;
}

/* ---- the transport ------------------------------------------------------------ */

static void bz_closed(struct bz *b, int err)
{
	transport_closed(&b->t, err);
}

static void on_dev_props(GDBusConnection *conn, const char *sender,
			 const char *path, const char *interface,
			 const char *signal, GVariant *params, gpointer data)
{
	struct bz *b = data;
	GVariant *changed;
	const char *ifname;
	gboolean connected;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	(void)signal;
	g_variant_get(params, "(&s@a{sv}@as)", &ifname, &changed, NULL);
	if (!strcmp(ifname, IFACE_DEVICE) &&
	    g_variant_lookup(changed, "Connected", "b", &connected) &&
	    !connected) {
		hlog_dbg("%s disconnected", b->device);
		bz_closed(b, 0);
	}
	g_variant_unref(changed);
}

static void on_bluez_vanished(GDBusConnection *conn, const char *name,
			      gpointer data)
{
	struct bz *b = data;

	(void)conn;
	(void)name;
	hlog_warn("bluetoothd went away: the link to %s is gone", b->addr);
	bz_closed(b, -EHOSTDOWN);
}

static enum ota_chan chan_of(int ch)
{
	return ch == CH_CTRL ? OTA_CHAN_CONTROL : OTA_CHAN_STATUS;
}

static void deliver(struct bz *b, enum ota_chan chan, const uint8_t *buf,
		    size_t len)
{
	if (b->t.cbs.recv && !b->t.closed && len)
		b->t.cbs.recv(chan, buf, len, b->t.user_data);
}

static void on_chrc_value(GDBusConnection *conn, const char *sender,
			  const char *path, const char *interface,
			  const char *signal, GVariant *params, gpointer data)
{
	struct bz *b = data;
	GVariant *changed, *v;
	const char *ifname;
	int ch;

	(void)conn;
	(void)sender;
	(void)interface;
	(void)signal;
	g_variant_get(params, "(&s@a{sv}@as)", &ifname, &changed, NULL);
	v = g_variant_lookup_value(changed, "Value", G_VARIANT_TYPE("ay"));
	if (!strcmp(ifname, IFACE_CHRC) && v) {
		for (ch = 0; ch < CH_COUNT; ch++) {
			if (!strcmp(path, b->chrc[ch]) && ch != CH_DATA) {
				gsize n;
				const uint8_t *bytes =
					g_variant_get_fixed_array(v, &n, 1);

				deliver(b, chan_of(ch), bytes, n);
			}
		}
	}
	if (v)
		g_variant_unref(v);
	g_variant_unref(changed);
}

static gboolean notify_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct bz *b = data;
	uint8_t buf[OTA_MAX_VALUE + 16];
	int ch;

	for (ch = 0; ch < CH_COUNT && b->notify_fd[ch] != fd; ch++)
		;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			deliver(b, chan_of(ch), buf, (size_t)n);
			if (b->t.closed)
				return G_SOURCE_CONTINUE;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    !(cond & (G_IO_HUP | G_IO_ERR)))
			return G_SOURCE_CONTINUE;
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	if (ch < CH_COUNT)
		b->notify_watch[ch] = 0;
	bz_closed(b, 0);
	return G_SOURCE_REMOVE;
}

static void ctrl_write(struct bz *b, GBytes *value);

static void ctrl_written(GObject *src, GAsyncResult *res, gpointer data)
{
	struct bz *b = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);

	if (r) {
		g_variant_unref(r);
	} else {
		/* the protocol retries; say why for -v */
		hlog_dbg("control write failed: %s", err->message);
		if (strstr(dbus_error_name(err), "NotPermitted") ||
		    strstr(dbus_error_name(err), "NotAuthorized"))
			hlog_warn("%s: writes not permitted (%s): pair the "
				  "device "
				  "first",
				  b->addr, err->message);
		g_error_free(err);
	}
	b->ctrl_busy = false;
	if (b->ctrl_next) {
		GBytes *next = b->ctrl_next;

		b->ctrl_next = NULL;
		ctrl_write(b, next);
		g_bytes_unref(next);
	}
}

static void ctrl_write(struct bz *b, GBytes *value)
{
	GVariantBuilder opts;
	gsize n;
	const void *p = g_bytes_get_data(value, &n);

	if (b->ctrl_busy) {
		if (b->ctrl_next)
			g_bytes_unref(b->ctrl_next);
		b->ctrl_next = g_bytes_ref(value);
		return;
	}
	b->ctrl_busy = true;
	g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&opts, "{sv}", "type",
			      g_variant_new_string("request"));
	g_dbus_connection_call(
		b->conn, BLUEZ, b->chrc[CH_CTRL], IFACE_CHRC, "WriteValue",
		g_variant_new(
			"(@aya{sv})",
			g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, p, n, 1),
			&opts),
		NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, ctrl_written, b);
}

static void cmd_written(GObject *src, GAsyncResult *res, gpointer data)
{
	struct bz *b = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);

	if (r)
		g_variant_unref(r);
	else {
		hlog_dbg("data write failed: %s", err->message);
		g_error_free(err);
	}
	b->cmds_in_flight--;
	if (b->want_writable && b->t.cbs.writable && !b->t.closed) {
		b->want_writable = false;
		b->t.cbs.writable(b->t.user_data);
	}
}

static gboolean data_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct bz *b = data;

	(void)fd;
	(void)cond;
	b->out_watch = 0;
	if (b->t.cbs.writable && !b->t.closed)
		b->t.cbs.writable(b->t.user_data);
	return G_SOURCE_REMOVE;
}

static int bz_send(struct transport *t, enum ota_chan chan, const uint8_t *buf,
		   size_t len)
{
	struct bz *b = (struct bz *)t;
	GVariantBuilder opts;
	ssize_t n;

	if (chan == OTA_CHAN_CONTROL) {
		GBytes *v = g_bytes_new(buf, len);

		ctrl_write(b, v);
		g_bytes_unref(v);
		return 0;
	}
	if (chan != OTA_CHAN_DATA)
		return -EINVAL;
	if (b->data_fd >= 0) {
		n = send(b->data_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS) {
			if (!b->out_watch)
				b->out_watch = g_unix_fd_add(
					b->data_fd, G_IO_OUT, data_writable, b);
			return -EAGAIN;
		}
		return -errno;
	}
	if (b->cmds_in_flight >= MAX_CMDS_IN_FLIGHT) {
		b->want_writable = true;
		return -EAGAIN;
	}
	b->cmds_in_flight++;
	g_variant_builder_init(&opts, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&opts, "{sv}", "type",
			      g_variant_new_string("command"));
	g_dbus_connection_call(
		b->conn, BLUEZ, b->chrc[CH_DATA], IFACE_CHRC, "WriteValue",
		g_variant_new("(@aya{sv})",
			      g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE,
							buf, len, 1),
			      &opts),
		NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL, cmd_written, b);
	return 0;
}

static void bz_destroy(struct transport *t)
{
	struct bz *b = (struct bz *)t;
	int ch;

	if (b->sub_dev)
		g_dbus_connection_signal_unsubscribe(b->conn, b->sub_dev);
	if (b->name_watch)
		g_bus_unwatch_name(b->name_watch);
	for (ch = 0; ch < CH_COUNT; ch++) {
		if (b->sub_chrc[ch])
			g_dbus_connection_signal_unsubscribe(b->conn,
							     b->sub_chrc[ch]);
		if (b->notify_watch[ch])
			g_source_remove(b->notify_watch[ch]);
		if (b->notify_fd[ch] >= 0)
			close(b->notify_fd[ch]);
	}
	if (b->out_watch)
		g_source_remove(b->out_watch);
	if (b->data_fd >= 0)
		close(b->data_fd);
	/*
	 * Let pending D-Bus replies land before the device goes: their
	 * callbacks use @b. An iteration can dispatch nothing (a wakeup from
	 * GDBus's thread), so loop on the counts; every call has a 10 s
	 * timeout, so this ends.
	 */
	while (b->cmds_in_flight || b->ctrl_busy)
		g_main_context_iteration(NULL, TRUE);
	if (b->ctrl_next)
		g_bytes_unref(b->ctrl_next);
	/* leave the device as we found it: not connected */
	g_dbus_connection_call_sync(b->conn, BLUEZ, b->device, IFACE_DEVICE,
				    "Disconnect", NULL, NULL,
				    G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
	g_object_unref(b->conn);
	free(b);
}

static const struct transport_ops bz_ops = {
	.name = "bluez",
	.send = bz_send,
	.destroy = bz_destroy,
};

/* AcquireWrite / AcquireNotify: fd and MTU, or -errno. */
static int acquire(struct bz *b, const char *path, const char *method,
		   uint16_t *mtu, char *why, size_t cap)
{
	GUnixFDList *out = NULL;
	GError *err = NULL;
	GVariant *r;
	gint32 idx;
	int fd;

	r = g_dbus_connection_call_with_unix_fd_list_sync(
		b->conn, BLUEZ, path, IFACE_CHRC, method,
		g_variant_new("(a{sv})", NULL), G_VARIANT_TYPE("(hq)"),
		G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &out, NULL, &err);
	if (!r) {
		int e;

		hlog_dbg("%s on %s: %s", method, path, err->message);
		e = map_bluez_error(err, method, b->addr, why, cap);
		snprintf(b->acquire_err, sizeof(b->acquire_err), "%s",
			 err->message);
		g_error_free(err);
		return e;
	}
	g_variant_get(r, "(hq)", &idx, mtu);
	g_variant_unref(r);
	fd = g_unix_fd_list_get(out, idx, &err);
	g_object_unref(out);
	if (fd < 0) {
		snprintf(why, cap, "%s: %s returned no fd", b->addr, method);
		g_error_free(err);
		return -EIO;
	}
	return fd;
}

static bool find_chrcs(GVariant *objs, struct bz *b)
{
	static const char *const uuids[CH_COUNT] = { OTA_UUID_CONTROL,
						     OTA_UUID_DATA,
						     OTA_UUID_STATUS };
	size_t dlen = strlen(b->device);
	GVariantIter it;
	const char *p;
	GVariant *ifaces;
	int ch, found = 0;

	for (ch = 0; ch < CH_COUNT; ch++)
		b->chrc[ch][0] = '\0';
	g_variant_iter_init(&it, objs);
	while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &p, &ifaces)) {
		GVariant *c = g_variant_lookup_value(ifaces, IFACE_CHRC, NULL);
		const char *uuid = NULL;

		g_variant_unref(ifaces);
		if (!c)
			continue;
		if (!strncmp(p, b->device, dlen) && p[dlen] == '/' &&
		    g_variant_lookup(c, "UUID", "&s", &uuid)) {
			for (ch = 0; ch < CH_COUNT; ch++) {
				if (!g_ascii_strcasecmp(uuid, uuids[ch]) &&
				    !b->chrc[ch][0]) {
					snprintf(b->chrc[ch],
						 sizeof(b->chrc[ch]), "%s", p);
					found++;
				}
			}
		}
		g_variant_unref(c);
	}
	return found == CH_COUNT;
}

static int start_discovery(GDBusConnection *conn, const char *adapter,
			   GError **err)
{
	const char *uuids[] = { OTA_UUID_SERVICE, NULL };
	GVariantBuilder f;
	GVariant *r;

	g_variant_builder_init(&f, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&f, "{sv}", "Transport",
			      g_variant_new_string("le"));
	g_variant_builder_add(&f, "{sv}", "UUIDs",
			      g_variant_new_strv(uuids, -1));
	r = g_dbus_connection_call_sync(
		conn, BLUEZ, adapter, IFACE_ADAPTER, "SetDiscoveryFilter",
		g_variant_new("(a{sv})", &f), NULL, G_DBUS_CALL_FLAGS_NONE,
		5000, NULL, err);
	if (!r)
		return -1;
	g_variant_unref(r);
	r = g_dbus_connection_call_sync(
		conn, BLUEZ, adapter, IFACE_ADAPTER, "StartDiscovery", NULL,
		NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, err);
	if (!r)
		return -1;
	g_variant_unref(r);
	return 0;
}

static void stop_discovery(GDBusConnection *conn, const char *adapter)
{
	GVariant *r = g_dbus_connection_call_sync(
		conn, BLUEZ, adapter, IFACE_ADAPTER, "StopDiscovery", NULL,
		NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);

	if (r)
		g_variant_unref(r);
}

/* The bus, bluetoothd and a powered adapter, or NULL with *err/why. */
static GDBusConnection *open_adapter(const struct bluez_opts *o, char *adapter,
				     size_t acap, char *why, size_t cap,
				     int *err)
{
	GDBusConnection *conn;
	GError *gerr = NULL;
	GVariant *objs, *props;

	conn = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &gerr);
	if (!conn) {
		snprintf(why, cap,
			 "no D-Bus system bus (%s): Bluetooth goes through "
			 "BlueZ, which needs dbus and bluetoothd running "
			 "(systemctl start dbus bluetooth); a unix:PATH device "
			 "needs neither",
			 gerr->message);
		g_error_free(gerr);
		*err = -EHOSTDOWN;
		return NULL;
	}
	objs = managed_objects_ms(conn, FIRST_CALL_MS, &gerr);
	if (!objs) {
		*err = map_bluez_error(gerr, "listing adapters", "bluetoothd",
				       why, cap);
		if (*err == -ETIMEDOUT)
			snprintf(
				why, cap,
				"bluetoothd did not answer in %d s: it is busy "
				"or hung (if it stays so, restart it: "
				"systemctl restart bluetooth)",
				FIRST_CALL_MS / 1000);
		else if (*err != -EHOSTDOWN)
			snprintf(why, cap,
				 "bluetoothd does not answer: %s (start it: "
				 "systemctl start bluetooth)",
				 gerr->message);
		if (*err != -ETIMEDOUT)
			*err = -EHOSTDOWN;
		g_error_free(gerr);
		g_object_unref(conn);
		return NULL;
	}
	if (!find_adapter(objs, o->adapter, adapter, acap)) {
		if (o->adapter)
			snprintf(why, cap,
				 "no Bluetooth adapter %s: 'bluetoothctl list' "
				 "shows the adapters",
				 o->adapter);
		else
			snprintf(why, cap,
				 "no Bluetooth adapter: plug one in, or check "
				 "'bluetoothctl list'");
		*err = -ENODEV;
		g_variant_unref(objs);
		g_object_unref(conn);
		return NULL;
	}
	props = object_props(objs, adapter, IFACE_ADAPTER);
	if (!prop_bool(props, "Powered")) {
		snprintf(why, cap,
			 "Bluetooth adapter %s is powered off: 'bluetoothctl "
			 "power on'",
			 strrchr(adapter, '/') + 1);
		*err = -ENETDOWN;
		if (props)
			g_variant_unref(props);
		g_variant_unref(objs);
		g_object_unref(conn);
		return NULL;
	}
	g_variant_unref(props);
	g_variant_unref(objs);
	return conn;
}

struct transport *bluez_connect(const char *device,
				const struct bluez_opts *opts, char *why,
				size_t why_cap, int *err)
{
	unsigned int timeout = opts->timeout_s ? opts->timeout_s : 20;
	char adapter[64];
	GDBusConnection *conn;
	GVariant *objs, *props;
	GError *gerr = NULL;
	struct bz *b;
	uint16_t mtu = 0;
	gint64 end;
	int ch, attempt;

	conn = open_adapter(opts, adapter, sizeof(adapter), why, why_cap, err);
	if (!conn)
		return NULL;
	b = calloc(1, sizeof(*b));
	if (!b) {
		g_object_unref(conn);
		*err = -ENOMEM;
		return NULL;
	}
	b->t.ops = &bz_ops;
	b->conn = conn;
	b->data_fd = -1;
	for (ch = 0; ch < CH_COUNT; ch++)
		b->notify_fd[ch] = -1;

	/* 1. the device: known already, or found by discovery */
	objs = managed_objects(conn, NULL);
	if (!objs ||
	    !find_device(objs, adapter, device, b->device, sizeof(b->device))) {
		bool found = false;

		if (objs)
			g_variant_unref(objs);
		hlog_info("scanning for %s", device);
		if (start_discovery(conn, adapter, &gerr) < 0) {
			*err = map_bluez_error(gerr, "starting discovery",
					       strrchr(adapter, '/') + 1, why,
					       why_cap);
			g_error_free(gerr);
			goto fail;
		}
		end = g_get_monotonic_time() + (gint64)timeout * 1000000;
		while (!found && g_get_monotonic_time() < end) {
			pump_loop_ms(100);
			objs = managed_objects(conn, NULL);
			found = objs &&
				find_device(objs, adapter, device, b->device,
					    sizeof(b->device));
			if (objs)
				g_variant_unref(objs);
		}
		stop_discovery(conn, adapter);
		if (!found) {
			snprintf(why, why_cap,
				 "device %s not found in %u s: is it powered, "
				 "advertising and in range? ('bleota scan' "
				 "lists bleota devices)",
				 device, timeout);
			*err = -ENOENT;
			goto fail;
		}
	} else {
		g_variant_unref(objs);
	}

	addr_of_path(b->device, b->addr);

	/* 2. connect (retrying the transient le-connection-abort) */
	for (attempt = 0; attempt < 3; attempt++) {
		GVariant *r = g_dbus_connection_call_sync(
			conn, BLUEZ, b->device, IFACE_DEVICE, "Connect", NULL,
			NULL, G_DBUS_CALL_FLAGS_NONE, (int)timeout * 1000, NULL,
			&gerr);

		if (r) {
			g_variant_unref(r);
			break;
		}
		if (strstr(dbus_error_name(gerr), "AlreadyConnected")) {
			g_clear_error(&gerr);
			break;
		}
		if (attempt == 2 || !strstr(gerr->message, "abort")) {
			*err = map_bluez_error(gerr, "connecting", device, why,
					       why_cap);
			g_error_free(gerr);
			goto fail;
		}
		hlog_dbg("connect: %s; retrying", gerr->message);
		g_clear_error(&gerr);
	}
	b->sub_dev = g_dbus_connection_signal_subscribe(
		conn, BLUEZ, IFACE_PROPS, "PropertiesChanged", b->device, NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, on_dev_props, b, NULL);
	b->name_watch = g_bus_watch_name_on_connection(
		conn, BLUEZ, G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
		on_bluez_vanished, b, NULL);

	/* 3. services resolved AND the characteristics exist (bluez#1489) */
	end = g_get_monotonic_time() + (gint64)timeout * 1000000;
	for (;;) {
		bool resolved, ready = false;

		objs = managed_objects(conn, NULL);
		props = objs ? object_props(objs, b->device, IFACE_DEVICE)
			     : NULL;
		resolved = prop_bool(props, "ServicesResolved");
		if (resolved)
			ready = find_chrcs(objs, b);
		/* resolved, and the device's services (UUIDs) do not
		 * include ours: it is not a bleota device, do not wait */
		if (resolved && !ready && !has_service_uuid(props))
			end = 0;
		if (props)
			g_variant_unref(props);
		if (objs)
			g_variant_unref(objs);
		if (ready)
			break;
		if (g_get_monotonic_time() >= end) {
			snprintf(why, why_cap,
				 resolved
					 ? "%s has no bleota service (wrong "
					   "device, or a stale GATT cache: "
					   "'bluetoothctl remove %s' and retry)"
					 : "%s: services not resolved in time",
				 device, device);
			*err = resolved ? -ENOTSUP : -ETIMEDOUT;
			goto fail;
		}
		pump_loop_ms(100);
	}

	/* 4. notifications first, so no answer is missed, then data */
	for (ch = 0; ch < CH_COUNT; ch++) {
		int fd;

		if (ch == CH_DATA)
			continue;
		fd = opts->no_acquire ? -ENOTSUP
				      : acquire(b, b->chrc[ch], "AcquireNotify",
						&mtu, why, why_cap);
		if (fd == -EACCES) {
			*err = fd;
			goto fail;
		}
		if (fd >= 0) {
			b->notify_fd[ch] = fd;
			b->notify_watch[ch] =
				g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					      notify_readable, b);
			continue;
		}
		b->sub_chrc[ch] = g_dbus_connection_signal_subscribe(
			conn, BLUEZ, IFACE_PROPS, "PropertiesChanged",
			b->chrc[ch], NULL, G_DBUS_SIGNAL_FLAGS_NONE,
			on_chrc_value, b, NULL);
		{
			GVariant *r = g_dbus_connection_call_sync(
				conn, BLUEZ, b->chrc[ch], IFACE_CHRC,
				"StartNotify", NULL, NULL,
				G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &gerr);

			if (!r) {
				*err = map_bluez_error(gerr, "subscribing",
						       device, why, why_cap);
				g_error_free(gerr);
				goto fail;
			}
			g_variant_unref(r);
		}
		hlog_info("%s notifications through StartNotify",
			  ch == CH_CTRL ? "Control" : "Status");
	}
	/* data: AcquireWrite, the faster path, unless asked (bluez.h) */
	b->data_fd = -1;
	if (!opts->write_value && !opts->no_acquire) {
		b->data_fd = acquire(b, b->chrc[CH_DATA], "AcquireWrite", &mtu,
				     why, why_cap);
		if (b->data_fd == -EACCES) {
			*err = -EACCES;
			b->data_fd = -1;
			goto fail;
		}
		if (b->data_fd >= 0)
			hlog_info("data through AcquireWrite");
		else
			hlog_info("AcquireWrite refused (%s): data through "
				  "WriteValue",
				  b->acquire_err);
	}
	if (b->data_fd < 0) {
		GVariant *mv;

		b->data_fd = -1;
		props = NULL;
		objs = managed_objects(conn, NULL);
		if (objs)
			props = object_props(objs, b->chrc[CH_DATA],
					     IFACE_CHRC);
		mv = props ? g_variant_lookup_value(props, "MTU",
						    G_VARIANT_TYPE_UINT16)
			   : NULL;
		if (mv)
			mtu = g_variant_get_uint16(mv);
		else if (!mtu)
			mtu = OTA_MIN_MTU;
		if (mv)
			g_variant_unref(mv);
		if (props)
			g_variant_unref(props);
		if (objs)
			g_variant_unref(objs);
		if (opts->write_value || opts->no_acquire)
			hlog_info("data through WriteValue");
	}
	b->t.value_max =
		ota_frame_value_max(mtu < OTA_MIN_MTU ? OTA_MIN_MTU : mtu);
	hlog_info("connected to %s (%s), ATT MTU %u, values up to %zu bytes",
		  device, b->device, mtu, b->t.value_max);
	return &b->t;

fail:
	bz_destroy(&b->t);
	return NULL;
}

/* ---- scan ----------------------------------------------------------------------- */

int bluez_scan(const struct bluez_opts *opts, bluez_found_cb_t found,
	       void *user_data, char *why, size_t why_cap)
{
	unsigned int timeout = opts->timeout_s ? opts->timeout_s : 10;
	char adapter[64];
	GDBusConnection *conn;
	GVariant *objs;
	GError *gerr = NULL;
	GHashTable *seen;
	int err;
	gint64 end;

	conn = open_adapter(opts, adapter, sizeof(adapter), why, why_cap, &err);
	if (!conn)
		return err;
	if (start_discovery(conn, adapter, &gerr) < 0) {
		err = map_bluez_error(gerr, "starting discovery",
				      strrchr(adapter, '/') + 1, why, why_cap);
		g_error_free(gerr);
		g_object_unref(conn);
		return err;
	}
	seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	end = g_get_monotonic_time() + (gint64)timeout * 1000000;
	while (g_get_monotonic_time() < end) {
		GVariantIter it;
		const char *p;
		GVariant *ifaces;

		pump_loop_ms(200);
		objs = managed_objects(conn, NULL);
		if (!objs)
			continue;
		g_variant_iter_init(&it, objs);
		while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &p,
					   &ifaces)) {
			GVariant *dev = g_variant_lookup_value(
				ifaces, IFACE_DEVICE, NULL);
			const char *addr = "?", *name = "";
			gint16 rssi = 0;
			bool has_rssi;

			g_variant_unref(ifaces);
			if (!dev)
				continue;
			/* under this adapter: "/org/bluez/hci1/", not hci10 */
			if (has_service_uuid(dev) &&
			    !strncmp(p, adapter, strlen(adapter)) &&
			    p[strlen(adapter)] == '/' &&
			    !g_hash_table_contains(seen, p)) {
				g_variant_lookup(dev, "Address", "&s", &addr);
				g_variant_lookup(dev, "Name", "&s", &name);
				has_rssi = g_variant_lookup(dev, "RSSI", "n",
							    &rssi);
				g_hash_table_add(seen, g_strdup(p));
				found(addr, name, rssi, has_rssi, user_data);
			}
			g_variant_unref(dev);
		}
		g_variant_unref(objs);
	}
	stop_discovery(conn, adapter);
	g_hash_table_destroy(seen);
	g_object_unref(conn);
	return 0;
}
