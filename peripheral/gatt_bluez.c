/* SPDX-License-Identifier: MIT */
/*
 * The bleota GATT service over BlueZ 5.66's D-Bus API (bluez.md §1).
 *
 * Object tree (ObjectManager at the root, every object with Properties):
 *
 *   /org/bleota                   ObjectManager
 *   /org/bleota/service0          GattService1 (the bleota UUID, primary)
 *   /org/bleota/service0/ctrl     write, notify      (+ NotifyAcquired)
 *   /org/bleota/service0/data     write-without-response (+ WriteAcquired)
 *   /org/bleota/service0/status   notify             (+ NotifyAcquired)
 *   /org/bleota/service0/info     read
 *   /org/bleota/adv0              LEAdvertisement1
 *
 * Every characteristic also gets encrypt-* flags unless --insecure. Data
 * arrives on the AcquireWrite socket (one datagram per value; bluetoothd
 * 5.66 keeps one such socket per characteristic for all devices) or, as a
 * fallback, through WriteValue. Notifications leave through the
 * AcquireNotify sockets or, failing those, PropertiesChanged on Value.
 * bluetoothd acknowledges write-without-response itself, so errors only
 * ever travel back as notifications (docs/protocol.md §1.1).
 *
 * Link lifetime: the first value from a central creates a link (a struct
 * transport) handed to the server; the link ends when BlueZ reports the
 * device disconnected, when bluetoothd closes a notify socket (the central
 * unsubscribed or went away), or when bluetoothd itself goes away. When
 * bluetoothd comes back the application and advertisement are registered
 * again.
 */
#define _GNU_SOURCE
#include "peripheral/gatt_bluez.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "host/hlog.h"
#include "protocol/frame.h"
#include "protocol/info.h"

#define APP_PATH      "/org/bleota"
#define SVC_PATH      APP_PATH "/service0"
#define ADV_PATH      APP_PATH "/adv0"
#define BLUEZ         "org.bluez"
#define IFACE_CHRC    "org.bluez.GattCharacteristic1"
#define IFACE_SVC     "org.bluez.GattService1"
#define IFACE_ADV     "org.bluez.LEAdvertisement1"
#define IFACE_PROPS   "org.freedesktop.DBus.Properties"
#define IFACE_ADAPTER "org.bluez.Adapter1"

enum chrc_id {
	CHRC_CTRL,
	CHRC_DATA,
	CHRC_STATUS,
	CHRC_INFO,
	CHRC_COUNT,
};

struct chrc {
	struct gatt_app *app;
	enum chrc_id id;
	const char *path;
	const char *uuid;
	const char *flags[6];
	bool write_acquired; /* expose WriteAcquired */
	bool notify_acquired;
	int fd; /* our end of the Acquire* socket, -1 if none */
	guint watch;
	guint out_watch;
	bool notifying;
	guint reg;
};

struct link {
	struct transport t;
	struct gatt_app *app;
	char device[160];
	guint dev_sub;
};

struct gatt_app {
	struct gatt_app_cfg cfg;
	char adapter_path[64];
	GDBusConnection *conn;
	GDBusNodeInfo *node;
	struct chrc chrc[CHRC_COUNT];
	guint reg_root;
	guint reg_svc;
	guint reg_adv;
	guint name_watch;
	guint adapter_sub; /* InterfacesAdded, while waiting for the adapter */
	bool adapter_wait_said;
	bool registering;    /* adapter_ready() ran for this bluetoothd */
	char old_alias[249]; /* the adapter's Alias before ours, to restore */
	bool alias_set;
	bool registered;
	bool adv_registered;
	uint16_t mtu;
	char last_device[160];
	struct link *link;
};

static const char introspection_xml[] =
	"<node>"
	" <interface name='org.freedesktop.DBus.ObjectManager'>"
	"  <method name='GetManagedObjects'>"
	"   <arg type='a{oa{sa{sv}}}' direction='out'/>"
	"  </method>"
	" </interface>"
	" <interface name='org.bluez.GattService1'>"
	"  <property name='UUID' type='s' access='read'/>"
	"  <property name='Primary' type='b' access='read'/>"
	" </interface>"
	" <interface name='org.bluez.GattCharacteristic1'>"
	"  <method name='ReadValue'>"
	"   <arg type='a{sv}' direction='in'/><arg type='ay' direction='out'/>"
	"  </method>"
	"  <method name='WriteValue'>"
	"   <arg type='ay' direction='in'/><arg type='a{sv}' direction='in'/>"
	"  </method>"
	"  <method name='AcquireWrite'>"
	"   <arg type='a{sv}' direction='in'/>"
	"   <arg type='h' direction='out'/><arg type='q' direction='out'/>"
	"  </method>"
	"  <method name='AcquireNotify'>"
	"   <arg type='a{sv}' direction='in'/>"
	"   <arg type='h' direction='out'/><arg type='q' direction='out'/>"
	"  </method>"
	"  <method name='StartNotify'/>"
	"  <method name='StopNotify'/>"
	"  <method name='Confirm'/>"
	"  <property name='UUID' type='s' access='read'/>"
	"  <property name='Service' type='o' access='read'/>"
	"  <property name='Flags' type='as' access='read'/>"
	"  <property name='Value' type='ay' access='read'/>"
	" </interface>"
	" <interface name='org.bluez.LEAdvertisement1'>"
	"  <method name='Release'/>"
	"  <property name='Type' type='s' access='read'/>"
	"  <property name='ServiceUUIDs' type='as' access='read'/>"
	"  <property name='LocalName' type='s' access='read'/>"
	"  <property name='Discoverable' type='b' access='read'/>"
	" </interface>"
	"</node>";

static GDBusInterfaceInfo *iface(struct gatt_app *app, const char *name)
{
	return g_dbus_node_info_lookup_interface(app->node, name);
}

/* ---- the link: a transport per connected central -------------------------- */

static void link_detach(struct link *l)
{
	if (l->dev_sub)
		g_dbus_connection_signal_unsubscribe(l->app->conn, l->dev_sub);
	l->dev_sub = 0;
	if (l->app && l->app->link == l)
		l->app->link = NULL;
	l->app = NULL;
}

static void link_lost(struct gatt_app *app, const char *why)
{
	struct link *l = app->link;

	if (!l)
		return;
	hlog_info("central %s: %s", l->device[0] ? l->device : "?", why);
	link_detach(l);
	transport_closed(&l->t, 0);
}

static void chrc_close_fd(struct chrc *c)
{
	if (c->watch)
		g_source_remove(c->watch);
	if (c->out_watch)
		g_source_remove(c->out_watch);
	c->watch = 0;
	c->out_watch = 0;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static gboolean notify_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct chrc *c = data;
	struct link *l = c->app->link;

	(void)fd;
	(void)cond;
	c->out_watch = 0;
	if (l && l->t.cbs.writable)
		l->t.cbs.writable(l->t.user_data);
	return G_SOURCE_REMOVE;
}

static void emit_value(struct gatt_app *app, struct chrc *c, const uint8_t *buf,
		       size_t len)
{
	GVariantBuilder changed;
	GVariant *value;

	value = g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, buf, len, 1);
	g_variant_builder_init(&changed, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&changed, "{sv}", "Value", value);
	g_dbus_connection_emit_signal(
		app->conn, NULL, c->path, IFACE_PROPS, "PropertiesChanged",
		g_variant_new("(sa{sv}as)", IFACE_CHRC, &changed, NULL), NULL);
}

static int link_send(struct transport *t, enum ota_chan chan,
		     const uint8_t *buf, size_t len)
{
	struct link *l = (struct link *)t;
	struct gatt_app *app = l->app;
	struct chrc *c;
	ssize_t n;

	if (!app)
		return -ENOTCONN;
	if (chan == OTA_CHAN_CONTROL)
		c = &app->chrc[CHRC_CTRL];
	else if (chan == OTA_CHAN_STATUS)
		c = &app->chrc[CHRC_STATUS];
	else
		return -EINVAL;
	if (c->fd < 0) {
		if (!c->notifying)
			return -ENOTCONN; /* nobody subscribed */
		emit_value(app, c, buf, len);
		return 0;
	}
	n = send(c->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		if (!c->out_watch)
			c->out_watch = g_unix_fd_add(c->fd, G_IO_OUT,
						     notify_writable, c);
		return -EAGAIN;
	}
	return -errno;
}

static void link_destroy(struct transport *t)
{
	struct link *l = (struct link *)t;

	link_detach(l);
	free(l);
}

static const struct transport_ops link_ops = {
	.name = "bluez",
	.send = link_send,
	.destroy = link_destroy,
};

static void on_device_changed(GDBusConnection *conn, const char *sender,
			      const char *path, const char *interface,
			      const char *signal, GVariant *params,
			      gpointer data)
{
	struct gatt_app *app = data;
	GVariant *changed, *v;
	const char *ifname;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	(void)signal;
	g_variant_get(params, "(&s@a{sv}@as)", &ifname, &changed, NULL);
	if (!strcmp(ifname, "org.bluez.Device1")) {
		v = g_variant_lookup_value(changed, "Connected",
					   G_VARIANT_TYPE_BOOLEAN);
		if (v && !g_variant_get_boolean(v))
			link_lost(app, "disconnected");
		if (v)
			g_variant_unref(v);
	}
	g_variant_unref(changed);
}

static void options_note(struct gatt_app *app, GVariant *opts)
{
	const char *dev = NULL;
	guint16 mtu;

	if (g_variant_lookup(opts, "mtu", "q", &mtu) && mtu >= OTA_MIN_MTU)
		app->mtu = mtu;
	if (g_variant_lookup(opts, "device", "&o", &dev))
		snprintf(app->last_device, sizeof(app->last_device), "%s", dev);
}

/* The link values go to, created (and handed to the server) on demand. */
static struct link *current_link(struct gatt_app *app)
{
	struct link *l = app->link;

	if (l)
		return l;
	l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->t.ops = &link_ops;
	l->t.value_max = ota_frame_value_max(app->mtu ? app->mtu : OTA_MIN_MTU);
	l->app = app;
	snprintf(l->device, sizeof(l->device), "%s", app->last_device);
	if (l->device[0])
		l->dev_sub = g_dbus_connection_signal_subscribe(
			app->conn, BLUEZ, IFACE_PROPS, "PropertiesChanged",
			l->device, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
			on_device_changed, app, NULL);
	app->link = l;
	hlog_info("central %s connected (values up to %zu bytes)",
		  l->device[0] ? l->device : "?", l->t.value_max);
	app->cfg.new_client(&l->t, app->cfg.user_data);
	return app->link;
}

static void deliver(struct gatt_app *app, enum ota_chan chan,
		    const uint8_t *buf, size_t len)
{
	struct link *l = current_link(app);

	if (l && l->t.cbs.recv && !l->t.closed)
		l->t.cbs.recv(chan, buf, len, l->t.user_data);
}

/* ---- characteristic sockets ----------------------------------------------- */

static gboolean data_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct chrc *c = data;
	uint8_t buf[OTA_MAX_VALUE + 16];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n > 0) {
			deliver(c->app, OTA_CHAN_DATA, buf, (size_t)n);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
		    !(cond & (G_IO_HUP | G_IO_ERR)))
			return G_SOURCE_CONTINUE;
		if (n < 0 && errno == EINTR)
			continue;
		break;
	}
	/* bluetoothd released the socket; it acquires again on need */
	hlog_dbg("data socket closed by bluetoothd");
	c->watch = 0;
	chrc_close_fd(c);
	return G_SOURCE_REMOVE;
}

static gboolean notify_hup(gint fd, GIOCondition cond, gpointer data)
{
	struct chrc *c = data;

	(void)fd;
	(void)cond;
	c->watch = 0;
	chrc_close_fd(c);
	link_lost(c->app, "unsubscribed");
	return G_SOURCE_REMOVE;
}

static void acquire(struct chrc *c, GDBusMethodInvocation *inv,
		    GVariant *params, bool for_write)
{
	struct gatt_app *app = c->app;
	GVariant *opts = NULL;
	GUnixFDList *fdl;
	GError *err = NULL;
	int sv[2], idx;

	g_variant_get(params, "(@a{sv})", &opts);
	options_note(app, opts);
	g_variant_unref(opts);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv) < 0) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.Failed", strerror(errno));
		return;
	}
	/* a socket must absorb a window of chunks without dropping */
	{
		int sz = 256 * 1024;

		setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	}
	fdl = g_unix_fd_list_new();
	idx = g_unix_fd_list_append(fdl, sv[1], &err);
	close(sv[1]);
	if (idx < 0) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.Failed", err->message);
		g_error_free(err);
		g_object_unref(fdl);
		close(sv[0]);
		return;
	}
	chrc_close_fd(c);
	c->fd = sv[0];
	c->watch = for_write
			   ? g_unix_fd_add(c->fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
					   data_readable, c)
			   : g_unix_fd_add(c->fd, G_IO_HUP | G_IO_ERR,
					   notify_hup, c);
	hlog_dbg("%s acquired by bluetoothd (mtu %u)", c->path, app->mtu);
	g_dbus_method_invocation_return_value_with_unix_fd_list(
		inv, g_variant_new("(hq)", idx, app->mtu ? app->mtu : 23), fdl);
	g_object_unref(fdl);
}

/* ---- D-Bus method calls and properties --------------------------------------- */

static void chrc_method(GDBusConnection *conn, const char *sender,
			const char *path, const char *interface,
			const char *method, GVariant *params,
			GDBusMethodInvocation *inv, gpointer data)
{
	struct chrc *c = data;
	struct gatt_app *app = c->app;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	if (!strcmp(method, "ReadValue") && c->id == CHRC_INFO) {
		uint8_t buf[OTA_ATTR_MAX_LEN];
		guint16 off = 0;
		GVariant *opts;
		int n;

		g_variant_get(params, "(@a{sv})", &opts);
		g_variant_lookup(opts, "offset", "q", &off);
		options_note(app, opts);
		g_variant_unref(opts);
		n = app->cfg.read_info(buf, sizeof(buf), app->cfg.user_data);
		if (n < 0 || off > n) {
			g_dbus_method_invocation_return_dbus_error(
				inv, "org.bluez.Error.InvalidOffset", "offset");
			return;
		}
		g_dbus_method_invocation_return_value(
			inv,
			g_variant_new("(@ay)",
				      g_variant_new_fixed_array(
					      G_VARIANT_TYPE_BYTE, buf + off,
					      (size_t)n - off, 1)));
		return;
	}
	if (!strcmp(method, "WriteValue") &&
	    (c->id == CHRC_CTRL || c->id == CHRC_DATA)) {
		GVariant *val, *opts;
		const uint8_t *bytes;
		gsize n;

		g_variant_get(params, "(@ay@a{sv})", &val, &opts);
		options_note(app, opts);
		bytes = g_variant_get_fixed_array(val, &n, 1);
		/* answer first: bluetoothd holds the ATT response until then */
		g_dbus_method_invocation_return_value(inv, NULL);
		if (n)
			deliver(app,
				c->id == CHRC_CTRL ? OTA_CHAN_CONTROL
						   : OTA_CHAN_DATA,
				bytes, n);
		g_variant_unref(val);
		g_variant_unref(opts);
		return;
	}
	if (!strcmp(method, "AcquireWrite") && c->id == CHRC_DATA) {
		acquire(c, inv, params, true);
		return;
	}
	if (!strcmp(method, "AcquireNotify") &&
	    (c->id == CHRC_CTRL || c->id == CHRC_STATUS)) {
		acquire(c, inv, params, false);
		return;
	}
	if (!strcmp(method, "StartNotify") &&
	    (c->id == CHRC_CTRL || c->id == CHRC_STATUS)) {
		c->notifying = true;
		g_dbus_method_invocation_return_value(inv, NULL);
		return;
	}
	if (!strcmp(method, "StopNotify") &&
	    (c->id == CHRC_CTRL || c->id == CHRC_STATUS)) {
		c->notifying = false;
		g_dbus_method_invocation_return_value(inv, NULL);
		if (c->id == CHRC_STATUS)
			link_lost(app, "unsubscribed");
		return;
	}
	if (!strcmp(method, "Confirm")) {
		g_dbus_method_invocation_return_value(inv, NULL);
		return;
	}
	g_dbus_method_invocation_return_dbus_error(
		inv, "org.bluez.Error.NotSupported", method);
}

static GVariant *chrc_flags(const struct chrc *c)
{
	GVariantBuilder b;
	size_t i;

	g_variant_builder_init(&b, G_VARIANT_TYPE("as"));
	for (i = 0; i < G_N_ELEMENTS(c->flags) && c->flags[i]; i++)
		g_variant_builder_add(&b, "s", c->flags[i]);
	return g_variant_builder_end(&b);
}

static GVariant *chrc_property(GDBusConnection *conn, const char *sender,
			       const char *path, const char *interface,
			       const char *prop, GError **error, gpointer data)
{
	struct chrc *c = data;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	if (!strcmp(prop, "UUID"))
		return g_variant_new_string(c->uuid);
	if (!strcmp(prop, "Service"))
		return g_variant_new_object_path(SVC_PATH);
	if (!strcmp(prop, "Flags"))
		return chrc_flags(c);
	if (!strcmp(prop, "Value"))
		return g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, "", 0, 1);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "%s",
		    prop);
	return NULL;
}

/* The properties bluetoothd reads through GetManagedObjects. */
static GVariant *chrc_props_dict(const struct chrc *c)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "UUID",
			      g_variant_new_string(c->uuid));
	g_variant_builder_add(&b, "{sv}", "Service",
			      g_variant_new_object_path(SVC_PATH));
	g_variant_builder_add(&b, "{sv}", "Flags", chrc_flags(c));
	/* their presence, not their value, offers Acquire* (bluez.md 1.1) */
	if (c->write_acquired)
		g_variant_builder_add(&b, "{sv}", "WriteAcquired",
				      g_variant_new_boolean(FALSE));
	if (c->notify_acquired)
		g_variant_builder_add(&b, "{sv}", "NotifyAcquired",
				      g_variant_new_boolean(FALSE));
	return g_variant_builder_end(&b);
}

static void add_object(GVariantBuilder *objs, const char *path,
		       const char *ifname, GVariant *props)
{
	GVariantBuilder ifaces;

	g_variant_builder_init(&ifaces, G_VARIANT_TYPE("a{sa{sv}}"));
	g_variant_builder_add(&ifaces, "{s@a{sv}}", ifname, props);
	g_variant_builder_add(objs, "{oa{sa{sv}}}", path, &ifaces);
}

static void root_method(GDBusConnection *conn, const char *sender,
			const char *path, const char *interface,
			const char *method, GVariant *params,
			GDBusMethodInvocation *inv, gpointer data)
{
	struct gatt_app *app = data;
	GVariantBuilder objs, svc;
	int i;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	(void)params;
	if (strcmp(method, "GetManagedObjects")) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.freedesktop.DBus.Error.UnknownMethod",
			method);
		return;
	}
	g_variant_builder_init(&objs, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	g_variant_builder_init(&svc, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&svc, "{sv}", "UUID",
			      g_variant_new_string(OTA_UUID_SERVICE));
	g_variant_builder_add(&svc, "{sv}", "Primary",
			      g_variant_new_boolean(TRUE));
	add_object(&objs, SVC_PATH, IFACE_SVC, g_variant_builder_end(&svc));
	for (i = 0; i < CHRC_COUNT; i++)
		add_object(&objs, app->chrc[i].path, IFACE_CHRC,
			   chrc_props_dict(&app->chrc[i]));
	g_dbus_method_invocation_return_value(
		inv, g_variant_new("(@a{oa{sa{sv}}})",
				   g_variant_builder_end(&objs)));
}

static GVariant *svc_property(GDBusConnection *conn, const char *sender,
			      const char *path, const char *interface,
			      const char *prop, GError **error, gpointer data)
{
	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	(void)data;
	if (!strcmp(prop, "UUID"))
		return g_variant_new_string(OTA_UUID_SERVICE);
	if (!strcmp(prop, "Primary"))
		return g_variant_new_boolean(TRUE);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "%s",
		    prop);
	return NULL;
}

static void adv_method(GDBusConnection *conn, const char *sender,
		       const char *path, const char *interface,
		       const char *method, GVariant *params,
		       GDBusMethodInvocation *inv, gpointer data)
{
	struct gatt_app *app = data;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	(void)params;
	if (!strcmp(method, "Release")) {
		app->adv_registered = false;
		hlog_info("advertisement released by bluetoothd");
	}
	g_dbus_method_invocation_return_value(inv, NULL);
}

static GVariant *adv_property(GDBusConnection *conn, const char *sender,
			      const char *path, const char *interface,
			      const char *prop, GError **error, gpointer data)
{
	struct gatt_app *app = data;
	const char *uuids[] = { OTA_UUID_SERVICE, NULL };

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	if (!strcmp(prop, "Type"))
		return g_variant_new_string("peripheral");
	if (!strcmp(prop, "ServiceUUIDs"))
		return g_variant_new_strv(uuids, -1);
	if (!strcmp(prop, "LocalName"))
		return g_variant_new_string(app->cfg.name);
	if (!strcmp(prop, "Discoverable"))
		return g_variant_new_boolean(TRUE);
	g_set_error(error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY, "%s",
		    prop);
	return NULL;
}

static const GDBusInterfaceVTable root_vtable = { .method_call = root_method };
static const GDBusInterfaceVTable svc_vtable = { .get_property = svc_property };
static const GDBusInterfaceVTable chrc_vtable = {
	.method_call = chrc_method,
	.get_property = chrc_property,
};
static const GDBusInterfaceVTable adv_vtable = {
	.method_call = adv_method,
	.get_property = adv_property,
};

/* ---- registration with bluetoothd ---------------------------------------------- */

static void adv_registered(GObject *src, GAsyncResult *res, gpointer data)
{
	struct gatt_app *app = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);

	if (!r) {
		hlog_warn("%s: cannot advertise: %s (centrals that know the "
			  "address can still connect)",
			  app->cfg.adapter, err->message);
		g_error_free(err);
		return;
	}
	g_variant_unref(r);
	app->adv_registered = true;
	hlog_info("advertising as '%s' on %s", app->cfg.name, app->cfg.adapter);
}

static void app_registered(GObject *src, GAsyncResult *res, gpointer data)
{
	struct gatt_app *app = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);

	if (!r) {
		hlog_err("%s: bluetoothd refused the GATT application: %s",
			 app->cfg.adapter, err->message);
		g_error_free(err);
		return;
	}
	g_variant_unref(r);
	app->registered = true;
	hlog_info("GATT service %s registered on %s%s", OTA_UUID_SERVICE,
		  app->cfg.adapter,
		  app->cfg.insecure ? " (insecure: no encryption required)"
				    : "");
	g_dbus_connection_call(
		app->conn, BLUEZ, app->adapter_path,
		"org.bluez.LEAdvertisingManager1", "RegisterAdvertisement",
		g_variant_new("(oa{sv})", ADV_PATH, NULL), NULL,
		G_DBUS_CALL_FLAGS_NONE, -1, NULL, adv_registered, app);
}

static void powered(GObject *src, GAsyncResult *res, gpointer data)
{
	struct gatt_app *app = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);

	if (!r) {
		hlog_err("%s: cannot power the adapter on: %s",
			 app->cfg.adapter, err->message);
		g_error_free(err);
		return;
	}
	g_variant_unref(r);
	g_dbus_connection_call(app->conn, BLUEZ, app->adapter_path,
			       "org.bluez.GattManager1", "RegisterApplication",
			       g_variant_new("(oa{sv})", APP_PATH, NULL), NULL,
			       G_DBUS_CALL_FLAGS_NONE, -1, NULL, app_registered,
			       app);
}

static void alias_set(GObject *src, GAsyncResult *res, gpointer data)
{
	struct gatt_app *app = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);

	if (!r) {
		hlog_warn("%s: cannot set the adapter's name to '%s' (centrals "
			  "see the old one once connected): %s",
			  app->cfg.adapter, app->cfg.name, err->message);
		g_error_free(err);
		return;
	}
	g_variant_unref(r);
	app->alias_set = true;
}

/* The adapter exists: name it, power it, register the application. */
static void adapter_ready(struct gatt_app *app)
{
	/* the adapter can be announced twice (InterfacesAdded, and in the
	 * GetManagedObjects reply): register once per bluetoothd */
	if (app->registering)
		return;
	app->registering = true;
	if (app->adapter_sub) {
		g_dbus_connection_signal_unsubscribe(app->conn,
						     app->adapter_sub);
		app->adapter_sub = 0;
	}
	if (app->adapter_wait_said)
		hlog_info("adapter %s appeared", app->cfg.adapter);
	app->adapter_wait_said = false;
	/* the GAP Device Name centrals read after connecting is the
	 * adapter's Alias: make it the advertised name too */
	g_dbus_connection_call(
		app->conn, BLUEZ, app->adapter_path, IFACE_PROPS, "Set",
		g_variant_new("(ssv)", IFACE_ADAPTER, "Alias",
			      g_variant_new_string(app->cfg.name)),
		NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, alias_set, app);
	g_dbus_connection_call(
		app->conn, BLUEZ, app->adapter_path, IFACE_PROPS, "Set",
		g_variant_new("(ssv)", IFACE_ADAPTER, "Powered",
			      g_variant_new_boolean(TRUE)),
		NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, powered, app);
}

/* Remember the adapter's own name (from its Adapter1 properties). */
static void note_alias(struct gatt_app *app, GVariant *adapter_props)
{
	const char *alias = NULL;

	if (!app->alias_set &&
	    g_variant_lookup(adapter_props, "Alias", "&s", &alias))
		snprintf(app->old_alias, sizeof(app->old_alias), "%s", alias);
}

static void on_interfaces_added(GDBusConnection *conn, const char *sender,
				const char *path, const char *interface,
				const char *signal, GVariant *params,
				gpointer data)
{
	struct gatt_app *app = data;
	const char *obj;
	GVariant *ifaces, *adapter;

	(void)conn;
	(void)sender;
	(void)path;
	(void)interface;
	(void)signal;
	g_variant_get(params, "(&o@a{sa{sv}})", &obj, &ifaces);
	adapter = g_variant_lookup_value(ifaces, IFACE_ADAPTER, NULL);
	if (adapter && !strcmp(obj, app->adapter_path)) {
		note_alias(app, adapter);
		adapter_ready(app);
	}
	if (adapter)
		g_variant_unref(adapter);
	g_variant_unref(ifaces);
}

static void got_objects(GObject *src, GAsyncResult *res, gpointer data)
{
	struct gatt_app *app = data;
	GError *err = NULL;
	GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res,
						    &err);
	GVariant *objs, *ifaces = NULL, *adapter = NULL;

	if (!r) {
		hlog_warn("bluetoothd does not answer: %s", err->message);
		g_error_free(err);
		return;
	}
	objs = g_variant_get_child_value(r, 0);
	ifaces = g_variant_lookup_value(objs, app->adapter_path, NULL);
	if (ifaces)
		adapter = g_variant_lookup_value(ifaces, IFACE_ADAPTER, NULL);
	if (adapter) {
		note_alias(app, adapter);
		g_variant_unref(adapter);
		adapter_ready(app);
	} else if (app->adapter_sub && !app->adapter_wait_said) {
		hlog_warn("bluetoothd has no adapter %s: waiting for it "
			  "('bluetoothctl list' shows the adapters)",
			  app->cfg.adapter);
		app->adapter_wait_said = true;
	}
	if (ifaces)
		g_variant_unref(ifaces);
	g_variant_unref(objs);
	g_variant_unref(r);
}

/*
 * bluetoothd owns its name before its adapters exist (they come from the
 * kernel afterwards), so on (re)start wait for the adapter object itself.
 */
static void bluez_appeared(GDBusConnection *conn, const char *name,
			   const char *owner, gpointer data)
{
	struct gatt_app *app = data;

	(void)name;
	(void)owner;
	hlog_info("bluetoothd is running: registering on %s", app->cfg.adapter);
	if (!app->adapter_sub)
		app->adapter_sub = g_dbus_connection_signal_subscribe(
			conn, BLUEZ, "org.freedesktop.DBus.ObjectManager",
			"InterfacesAdded", "/", NULL, G_DBUS_SIGNAL_FLAGS_NONE,
			on_interfaces_added, app, NULL);
	g_dbus_connection_call(
		conn, BLUEZ, "/", "org.freedesktop.DBus.ObjectManager",
		"GetManagedObjects", NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"),
		G_DBUS_CALL_FLAGS_NONE, -1, NULL, got_objects, app);
}

static void bluez_vanished(GDBusConnection *conn, const char *name,
			   gpointer data)
{
	struct gatt_app *app = data;
	int i;

	(void)conn;
	(void)name;
	if (app->registered)
		hlog_warn("bluetoothd went away: waiting for it to come back");
	else
		hlog_warn("bluetoothd is not running: waiting for it (start "
			  "bluetooth.service)");
	app->registered = false;
	app->adv_registered = false;
	app->adapter_wait_said = false;
	app->registering = false;
	for (i = 0; i < CHRC_COUNT; i++) {
		chrc_close_fd(&app->chrc[i]);
		app->chrc[i].notifying = false;
	}
	link_lost(app, "bluetoothd went away");
}

static void init_chrc(struct gatt_app *app, enum chrc_id id, const char *path,
		      const char *uuid, const char *const *flags,
		      const char *const *secure_flags)
{
	struct chrc *c = &app->chrc[id];
	size_t n = 0, i;

	c->app = app;
	c->id = id;
	c->path = path;
	c->uuid = uuid;
	c->fd = -1;
	for (i = 0; flags[i]; i++)
		c->flags[n++] = flags[i];
	for (i = 0; !app->cfg.insecure && secure_flags[i]; i++)
		c->flags[n++] = secure_flags[i];
}

struct gatt_app *gatt_app_new(const struct gatt_app_cfg *cfg, char *why,
			      size_t why_cap)
{
	static const char *const ctrl_f[] = { "write", "notify", NULL };
	static const char *const ctrl_s[] = { "encrypt-write", "encrypt-notify",
					      NULL };
	static const char *const data_f[] = { "write-without-response", NULL };
	static const char *const data_s[] = { "encrypt-write", NULL };
	static const char *const status_f[] = { "notify", NULL };
	static const char *const status_s[] = { "encrypt-notify", NULL };
	static const char *const info_f[] = { "read", NULL };
	static const char *const info_s[] = { "encrypt-read", NULL };
	struct gatt_app *app = calloc(1, sizeof(*app));
	GError *err = NULL;
	int i;

	if (!app) {
		snprintf(why, why_cap, "out of memory");
		return NULL;
	}
	app->cfg = *cfg;
	snprintf(app->adapter_path, sizeof(app->adapter_path), "/org/bluez/%s",
		 cfg->adapter);
	app->conn = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &err);
	if (!app->conn) {
		snprintf(why, why_cap, "no D-Bus system bus: %s", err->message);
		g_error_free(err);
		free(app);
		return NULL;
	}
	app->node = g_dbus_node_info_new_for_xml(introspection_xml, NULL);
	init_chrc(app, CHRC_CTRL, SVC_PATH "/ctrl", OTA_UUID_CONTROL, ctrl_f,
		  ctrl_s);
	init_chrc(app, CHRC_DATA, SVC_PATH "/data", OTA_UUID_DATA, data_f,
		  data_s);
	init_chrc(app, CHRC_STATUS, SVC_PATH "/status", OTA_UUID_STATUS,
		  status_f, status_s);
	init_chrc(app, CHRC_INFO, SVC_PATH "/info", OTA_UUID_INFO, info_f,
		  info_s);
	app->chrc[CHRC_DATA].write_acquired = true;
	app->chrc[CHRC_CTRL].notify_acquired = true;
	app->chrc[CHRC_STATUS].notify_acquired = true;

	app->reg_root = g_dbus_connection_register_object(
		app->conn, APP_PATH,
		iface(app, "org.freedesktop.DBus.ObjectManager"), &root_vtable,
		app, NULL, &err);
	if (app->reg_root)
		app->reg_svc = g_dbus_connection_register_object(
			app->conn, SVC_PATH, iface(app, IFACE_SVC), &svc_vtable,
			app, NULL, &err);
	for (i = 0; app->reg_svc && i < CHRC_COUNT; i++) {
		app->chrc[i].reg = g_dbus_connection_register_object(
			app->conn, app->chrc[i].path, iface(app, IFACE_CHRC),
			&chrc_vtable, &app->chrc[i], NULL, &err);
		if (!app->chrc[i].reg)
			break;
	}
	if (i == CHRC_COUNT)
		app->reg_adv = g_dbus_connection_register_object(
			app->conn, ADV_PATH, iface(app, IFACE_ADV), &adv_vtable,
			app, NULL, &err);
	if (!app->reg_adv) {
		snprintf(why, why_cap, "cannot export the GATT objects: %s",
			 err ? err->message : "?");
		if (err)
			g_error_free(err);
		gatt_app_free(app);
		return NULL;
	}
	app->name_watch = g_bus_watch_name_on_connection(
		app->conn, BLUEZ, G_BUS_NAME_WATCHER_FLAGS_NONE, bluez_appeared,
		bluez_vanished, app, NULL);
	return app;
}

bool gatt_app_registered(const struct gatt_app *app)
{
	return app->registered;
}

void gatt_app_free(struct gatt_app *app)
{
	int i;

	if (!app)
		return;
	if (app->link) {
		/* the server owns the link; only cut it loose */
		link_detach(app->link);
	}
	if (app->name_watch)
		g_bus_unwatch_name(app->name_watch);
	if (app->adapter_sub)
		g_dbus_connection_signal_unsubscribe(app->conn,
						     app->adapter_sub);
	if (app->alias_set && app->old_alias[0] &&
	    strcmp(app->old_alias, app->cfg.name)) {
		/* give the adapter its name back */
		GVariant *r = g_dbus_connection_call_sync(
			app->conn, BLUEZ, app->adapter_path, IFACE_PROPS, "Set",
			g_variant_new("(ssv)", IFACE_ADAPTER, "Alias",
				      g_variant_new_string(app->old_alias)),
			NULL, G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);

		if (r)
			g_variant_unref(r);
	}
	for (i = 0; i < CHRC_COUNT; i++) {
		chrc_close_fd(&app->chrc[i]);
		if (app->chrc[i].reg)
			g_dbus_connection_unregister_object(app->conn,
							    app->chrc[i].reg);
	}
	if (app->reg_adv)
		g_dbus_connection_unregister_object(app->conn, app->reg_adv);
	if (app->reg_svc)
		g_dbus_connection_unregister_object(app->conn, app->reg_svc);
	if (app->reg_root)
		g_dbus_connection_unregister_object(app->conn, app->reg_root);
	if (app->node)
		g_dbus_node_info_unref(app->node);
	g_object_unref(app->conn);
	free(app);
}
