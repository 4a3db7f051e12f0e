/* SPDX-License-Identifier: MIT */
/*
 * fakebluez: a stand-in org.bluez for the D-Bus test tier
 * (tests/e2e/test_dbus.c, docs/testing.md). It owns "org.bluez" on the bus
 * in $DBUS_SYSTEM_BUS_ADDRESS (a private dbus-daemon) and plays bluetoothd
 * for both bleota programs at once: one adapter on which bleota-peripheral
 * registers its GATT application and advertisement, and on which bleota
 * finds a device, connects and uses that application's characteristics.
 *
 * It implements the BlueZ 5.66 interfaces and signatures the programs call
 * (doc/adapter-api.txt, device-api.txt, gatt-api.txt, advertising-api.txt)
 * and relays values the way bluetoothd does (reference bluez.md §1.3, §3):
 * - a remote write command goes to the application's AcquireWrite socket
 *   (acquired on the first write), one datagram per value, dropped when
 *   the socket is full ("Unable to write"), a write request to the
 *   application's WriteValue, its errors passed back;
 * - the central's AcquireNotify/StartNotify makes it call the
 *   application's AcquireNotify, and each datagram read there goes out
 *   through the central's notify socket or as PropertiesChanged(Value);
 * - a disconnect emits Device1.Connected=false on both sides and closes
 *   every socket; dropping off the bus takes everything down.
 * What it does not model: radios, timing, pairing, several devices, GATT
 * caching, applications without NotifyAcquired.
 *
 * Failure options (one test each): --no-adapter, --powered-off,
 * --adapter-delay MS (name
 * owned before the adapter exists, as a starting bluetoothd), --no-service
 * (a known device without the bleota service), --refuse-acquire-write
 * ERROR, --disconnect-after BYTES (the link drops once that much data went
 * through), --stall-after BYTES (data beyond that is dropped, so a push
 * cannot end before the test acts). Every call is logged on stderr.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gio/gio.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>

#include "protocol/frame.h"

#define DEV_ADDR     "00:AA:01:01:00:01"
#define PEER_ADDR    "00:AA:01:00:00:00"
#define FAKE_MTU     517
#define IFACE_PROPS  "org.freedesktop.DBus.Properties"
#define IFACE_OM     "org.freedesktop.DBus.ObjectManager"
#define IFACE_ADAPT  "org.bluez.Adapter1"
#define IFACE_DEVICE "org.bluez.Device1"
#define IFACE_SVC    "org.bluez.GattService1"
#define IFACE_CHRC   "org.bluez.GattCharacteristic1"
#define NCHRC        4

static const char xml[] =
	"<node>"
	"<interface name='org.freedesktop.DBus.ObjectManager'>"
	" <method name='GetManagedObjects'>"
	"  <arg type='a{oa{sa{sv}}}' direction='out'/></method>"
	"</interface>"
	"<interface name='org.bluez.Adapter1'>"
	" <method name='StartDiscovery'/><method name='StopDiscovery'/>"
	" <method name='SetDiscoveryFilter'>"
	"  <arg type='a{sv}' direction='in'/></method>"
	" <method name='RemoveDevice'><arg type='o' direction='in'/></method>"
	" <property name='Address' type='s' access='read'/>"
	" <property name='Name' type='s' access='read'/>"
	" <property name='Alias' type='s' access='readwrite'/>"
	" <property name='Powered' type='b' access='readwrite'/>"
	" <property name='Discovering' type='b' access='read'/>"
	"</interface>"
	"<interface name='org.bluez.GattManager1'>"
	" <method name='RegisterApplication'>"
	"  <arg type='o' direction='in'/><arg type='a{sv}' direction='in'/>"
	" </method>"
	" <method name='UnregisterApplication'>"
	"  <arg type='o' direction='in'/></method>"
	"</interface>"
	"<interface name='org.bluez.LEAdvertisingManager1'>"
	" <method name='RegisterAdvertisement'>"
	"  <arg type='o' direction='in'/><arg type='a{sv}' direction='in'/>"
	" </method>"
	" <method name='UnregisterAdvertisement'>"
	"  <arg type='o' direction='in'/></method>"
	"</interface>"
	"<interface name='org.bluez.Device1'>"
	" <method name='Connect'/><method name='Disconnect'/>"
	" <property name='Address' type='s' access='read'/>"
	" <property name='Name' type='s' access='read'/>"
	" <property name='Alias' type='s' access='read'/>"
	" <property name='Connected' type='b' access='read'/>"
	" <property name='ServicesResolved' type='b' access='read'/>"
	" <property name='UUIDs' type='as' access='read'/>"
	"</interface>"
	"<interface name='org.bluez.GattService1'>"
	" <property name='UUID' type='s' access='read'/>"
	" <property name='Primary' type='b' access='read'/>"
	" <property name='Device' type='o' access='read'/>"
	"</interface>"
	"<interface name='org.bluez.GattCharacteristic1'>"
	" <method name='ReadValue'>"
	"  <arg type='a{sv}' direction='in'/><arg type='ay' direction='out'/>"
	" </method>"
	" <method name='WriteValue'>"
	"  <arg type='ay' direction='in'/><arg type='a{sv}' direction='in'/>"
	" </method>"
	" <method name='AcquireWrite'><arg type='a{sv}' direction='in'/>"
	"  <arg type='h' direction='out'/><arg type='q' direction='out'/>"
	" </method>"
	" <method name='AcquireNotify'><arg type='a{sv}' direction='in'/>"
	"  <arg type='h' direction='out'/><arg type='q' direction='out'/>"
	" </method>"
	" <method name='StartNotify'/><method name='StopNotify'/>"
	" <property name='UUID' type='s' access='read'/>"
	" <property name='Service' type='o' access='read'/>"
	" <property name='Flags' type='as' access='read'/>"
	" <property name='MTU' type='q' access='read'/>"
	"</interface>"
	"</node>";

/* One characteristic of the remote device, backed by the application's. */
struct rchrc {
	char path[200];
	char uuid[40];
	char app_path[200];
	GVariant *flags;
	bool app_write_acquired;
	bool app_notify_acquired;
	int app_fd; /* from the application's AcquireWrite/AcquireNotify */
	guint app_watch;
	int cen_fd; /* our end of the central's Acquire* socket */
	guint cen_watch;
	bool notifying; /* StartNotify by the central */
	guint reg;
};

static struct {
	GDBusConnection *conn;
	GDBusNodeInfo *node;
	GMainLoop *loop;
	char adapter[32];
	char adapter_path[64];
	char dev_path[128];
	char peer_path[128]; /* the central, as the application sees it */
	char svc_path[160];
	char alias[249];
	bool no_adapter, no_service, powered, discovering;
	const char *refuse_acquire_write;
	unsigned long disconnect_after, stall_after, data_bytes;
	bool disconnected_once;
	char app_owner[64], app_path[200];
	char adv_owner[64], adv_path[200], adv_name[64];
	bool dev_exported, connected, resolved;
	guint reg_root, reg_adapter[3], reg_dev, reg_svc;
	bool adapter_pending; /* --adapter-delay: not exported yet */
	GSList *held_replies; /* GetManagedObjects calls held until then */
	struct rchrc chrc[NCHRC];
	int nchrc;
} fb;

static GDBusInterfaceInfo *iface(const char *name)
{
	return g_dbus_node_info_lookup_interface(fb.node, name);
}

static void props_changed(const char *path, const char *ifname,
			  const char *prop, GVariant *value)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", prop, value);
	g_dbus_connection_emit_signal(
		fb.conn, NULL, path, IFACE_PROPS, "PropertiesChanged",
		g_variant_new("(sa{sv}as)", ifname, &b, NULL), NULL);
}

static GVariant *link_options(void)
{
	GVariantBuilder b;

	g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&b, "{sv}", "device",
			      g_variant_new_object_path(fb.peer_path));
	g_variant_builder_add(&b, "{sv}", "link", g_variant_new_string("LE"));
	g_variant_builder_add(&b, "{sv}", "mtu",
			      g_variant_new_uint16(FAKE_MTU));
	return g_variant_builder_end(&b);
}

/* ---- properties --------------------------------------------------------- */

static const char *dev_name(void)
{
	/* after connecting, BlueZ shows the peer's GAP Device Name: the
	 * peer adapter's alias (here the same adapter) */
	if (fb.connected || fb.no_service)
		return fb.alias;
	return fb.adv_name;
}

static GVariant *dev_uuids(void)
{
	const char *with[] = { OTA_UUID_SERVICE, NULL };
	const char *none[] = { "00001800-0000-1000-8000-00805f9b34fb", NULL };

	return g_variant_new_strv(fb.no_service ? none : with, -1);
}

static GVariant *get_prop(const char *path, const char *ifname,
			  const char *prop)
{
	int i;

	if (!strcmp(ifname, IFACE_ADAPT)) {
		if (!strcmp(prop, "Address"))
			return g_variant_new_string(PEER_ADDR);
		if (!strcmp(prop, "Name"))
			return g_variant_new_string("BlueZ 5.66");
		if (!strcmp(prop, "Alias"))
			return g_variant_new_string(fb.alias);
		if (!strcmp(prop, "Powered"))
			return g_variant_new_boolean(fb.powered);
		if (!strcmp(prop, "Discovering"))
			return g_variant_new_boolean(fb.discovering);
	} else if (!strcmp(ifname, IFACE_DEVICE)) {
		if (!strcmp(prop, "Address"))
			return g_variant_new_string(DEV_ADDR);
		if (!strcmp(prop, "Name") || !strcmp(prop, "Alias"))
			return g_variant_new_string(dev_name());
		if (!strcmp(prop, "Connected"))
			return g_variant_new_boolean(fb.connected);
		if (!strcmp(prop, "ServicesResolved"))
			return g_variant_new_boolean(fb.resolved);
		if (!strcmp(prop, "UUIDs"))
			return dev_uuids();
	} else if (!strcmp(ifname, IFACE_SVC)) {
		if (!strcmp(prop, "UUID"))
			return g_variant_new_string(OTA_UUID_SERVICE);
		if (!strcmp(prop, "Primary"))
			return g_variant_new_boolean(TRUE);
		if (!strcmp(prop, "Device"))
			return g_variant_new_object_path(fb.dev_path);
	} else if (!strcmp(ifname, IFACE_CHRC)) {
		for (i = 0; i < fb.nchrc; i++) {
			struct rchrc *c = &fb.chrc[i];

			if (strcmp(path, c->path))
				continue;
			if (!strcmp(prop, "UUID"))
				return g_variant_new_string(c->uuid);
			if (!strcmp(prop, "Service"))
				return g_variant_new_object_path(fb.svc_path);
			if (!strcmp(prop, "Flags"))
				return g_variant_ref(c->flags);
			if (!strcmp(prop, "MTU"))
				return g_variant_new_uint16(FAKE_MTU);
		}
	}
	return NULL;
}

static GVariant *vt_get(GDBusConnection *conn, const char *sender,
			const char *path, const char *ifname, const char *prop,
			GError **err, gpointer data)
{
	GVariant *v = get_prop(path, ifname, prop);

	(void)conn;
	(void)sender;
	(void)data;
	if (!v)
		g_set_error(err, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
			    "No such property '%s'", prop);
	return v;
}

static gboolean vt_set(GDBusConnection *conn, const char *sender,
		       const char *path, const char *ifname, const char *prop,
		       GVariant *value, GError **err, gpointer data)
{
	(void)conn;
	(void)data;
	fprintf(stderr, "fakebluez: Set %s %s.%s from %s\n", path, ifname, prop,
		sender);
	if (!strcmp(prop, "Powered")) {
		fb.powered = g_variant_get_boolean(value);
		props_changed(path, ifname, prop,
			      g_variant_new_boolean(fb.powered));
		return TRUE;
	}
	if (!strcmp(prop, "Alias")) {
		snprintf(fb.alias, sizeof(fb.alias), "%s",
			 g_variant_get_string(value, NULL));
		props_changed(path, ifname, prop,
			      g_variant_new_string(fb.alias));
		return TRUE;
	}
	g_set_error(err, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY,
		    "Property '%s' is not writable", prop);
	return FALSE;
}

/* ---- the object tree ---------------------------------------------------- */

static void add_iface(GVariantBuilder *ifs, const char *path,
		      const char *ifname)
{
	GDBusInterfaceInfo *info = iface(ifname);
	GVariantBuilder props;
	int i;

	g_variant_builder_init(&props, G_VARIANT_TYPE("a{sv}"));
	for (i = 0; info->properties && info->properties[i]; i++) {
		const char *p = info->properties[i]->name;
		GVariant *v = get_prop(path, ifname, p);

		if (v)
			g_variant_builder_add(&props, "{sv}", p, v);
	}
	g_variant_builder_add(ifs, "{sa{sv}}", ifname, &props);
}

static void add_object(GVariantBuilder *objs, const char *path,
		       const char *const *ifnames)
{
	GVariantBuilder ifs;

	g_variant_builder_init(&ifs, G_VARIANT_TYPE("a{sa{sv}}"));
	for (; *ifnames; ifnames++) {
		if (!strcmp(*ifnames, IFACE_ADAPT) ||
		    !strcmp(*ifnames, IFACE_DEVICE) ||
		    !strcmp(*ifnames, IFACE_SVC) ||
		    !strcmp(*ifnames, IFACE_CHRC))
			add_iface(&ifs, path, *ifnames);
		else
			g_variant_builder_add(&ifs, "{sa{sv}}", *ifnames, NULL);
	}
	g_variant_builder_add(objs, "{oa{sa{sv}}}", path, &ifs);
}

static const char *const adapter_ifaces[] = { IFACE_ADAPT,
					      "org.bluez.GattManager1",
					      "org.bluez.LEAdvertisingManager1",
					      NULL };

static GVariant *managed_objects(void)
{
	static const char *const dev[] = { IFACE_DEVICE, NULL };
	static const char *const svc[] = { IFACE_SVC, NULL };
	static const char *const chrc[] = { IFACE_CHRC, NULL };
	GVariantBuilder objs;
	int i;

	g_variant_builder_init(&objs, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	if (fb.reg_adapter[0])
		add_object(&objs, fb.adapter_path, adapter_ifaces);
	if (fb.dev_exported)
		add_object(&objs, fb.dev_path, dev);
	if (fb.reg_svc)
		add_object(&objs, fb.svc_path, svc);
	for (i = 0; i < fb.nchrc; i++)
		if (fb.chrc[i].reg)
			add_object(&objs, fb.chrc[i].path, chrc);
	return g_variant_builder_end(&objs);
}

static void root_call(GDBusConnection *conn, const char *sender,
		      const char *path, const char *ifname, const char *method,
		      GVariant *params, GDBusMethodInvocation *inv,
		      gpointer data)
{
	(void)conn;
	(void)sender;
	(void)path;
	(void)ifname;
	(void)method;
	(void)params;
	(void)data;
	/* a starting bluetoothd answers once its adapter is in: so the
	 * caller sees both the InterfacesAdded and the adapter in the reply,
	 * the order the VM showed (tests/hci/restart.sh) */
	if (fb.adapter_pending) {
		fb.held_replies = g_slist_append(fb.held_replies, inv);
		return;
	}
	g_dbus_method_invocation_return_value(
		inv, g_variant_new("(@a{oa{sa{sv}}})", managed_objects()));
}

/* ---- the link ----------------------------------------------------------- */

static void close_fd(int *fd, guint *watch)
{
	if (*watch)
		g_source_remove(*watch);
	*watch = 0;
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void unexport_gatt(void)
{
	int i;

	for (i = 0; i < fb.nchrc; i++) {
		struct rchrc *c = &fb.chrc[i];

		close_fd(&c->app_fd, &c->app_watch);
		close_fd(&c->cen_fd, &c->cen_watch);
		c->notifying = false;
		if (c->reg)
			g_dbus_connection_unregister_object(fb.conn, c->reg);
		c->reg = 0;
	}
	if (fb.reg_svc)
		g_dbus_connection_unregister_object(fb.conn, fb.reg_svc);
	fb.reg_svc = 0;
}

static void disconnect(const char *why)
{
	if (!fb.connected)
		return;
	fprintf(stderr, "fakebluez: disconnect (%s)\n", why);
	fb.connected = false;
	fb.resolved = false;
	unexport_gatt();
	props_changed(fb.dev_path, IFACE_DEVICE, "ServicesResolved",
		      g_variant_new_boolean(FALSE));
	props_changed(fb.dev_path, IFACE_DEVICE, "Connected",
		      g_variant_new_boolean(FALSE));
	props_changed(fb.peer_path, IFACE_DEVICE, "Connected",
		      g_variant_new_boolean(FALSE));
}

/* A write command from the central: to the application, as bluetoothd. */
static void write_command(struct rchrc *c, const void *buf, size_t len)
{
	if (!fb.connected)
		return;
	if (fb.stall_after && fb.data_bytes >= fb.stall_after) {
		if (fb.data_bytes < fb.stall_after + len)
			fprintf(stderr, "fakebluez: stalled after %lu bytes\n",
				fb.data_bytes);
		fb.data_bytes += len;
		return;
	}
	if (c->app_write_acquired && c->app_fd < 0) {
		GUnixFDList *fds = NULL;
		GError *err = NULL;
		GVariant *r = g_dbus_connection_call_with_unix_fd_list_sync(
			fb.conn, fb.app_owner, c->app_path, IFACE_CHRC,
			"AcquireWrite",
			g_variant_new("(@a{sv})", link_options()),
			G_VARIANT_TYPE("(hq)"), G_DBUS_CALL_FLAGS_NONE, 5000,
			NULL, &fds, NULL, &err);

		if (!r) {
			fprintf(stderr, "fakebluez: app AcquireWrite: %s\n",
				err->message);
			g_error_free(err);
			return;
		}
		c->app_fd = g_unix_fd_list_get(fds, 0, NULL);
		g_object_unref(fds);
		g_variant_unref(r);
	}
	if (c->app_fd >= 0) {
		if (send(c->app_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			fprintf(stderr, "fakebluez: Unable to write: %s\n",
				strerror(errno));
	} else {
		g_dbus_connection_call(
			fb.conn, fb.app_owner, c->app_path, IFACE_CHRC,
			"WriteValue",
			g_variant_new("(@ay@a{sv})",
				      g_variant_new_fixed_array(
					      G_VARIANT_TYPE_BYTE, buf, len, 1),
				      link_options()),
			NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, NULL, NULL,
			NULL);
	}
	fb.data_bytes += len;
	if (fb.disconnect_after && !fb.disconnected_once &&
	    fb.data_bytes >= fb.disconnect_after) {
		fb.disconnected_once = true;
		disconnect("--disconnect-after");
	}
}

static gboolean cen_write_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct rchrc *c = data;
	uint8_t buf[512];
	ssize_t n;

	/* bluetoothd reads one datagram of at most 512 bytes per wakeup */
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n > 0) {
		write_command(c, buf, (size_t)n);
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && errno == EAGAIN && !(cond & (G_IO_HUP | G_IO_ERR)))
		return G_SOURCE_CONTINUE;
	c->cen_watch = 0;
	close_fd(&c->cen_fd, &c->cen_watch);
	return G_SOURCE_REMOVE;
}

/* A notification from the application: to the central. */
static gboolean app_notify_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct rchrc *c = data;
	uint8_t buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n > 0) {
		if (c->cen_fd >= 0)
			send(c->cen_fd, buf, (size_t)n,
			     MSG_DONTWAIT | MSG_NOSIGNAL);
		else if (c->notifying)
			props_changed(
				c->path, IFACE_CHRC, "Value",
				g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE,
							  buf, (size_t)n, 1));
		return G_SOURCE_CONTINUE;
	}
	if (n < 0 && errno == EAGAIN && !(cond & (G_IO_HUP | G_IO_ERR)))
		return G_SOURCE_CONTINUE;
	c->app_watch = 0;
	close_fd(&c->app_fd, &c->app_watch);
	return G_SOURCE_REMOVE;
}

/* The central closed its notify socket: the CCC is off, release the app. */
static gboolean cen_notify_hup(gint fd, GIOCondition cond, gpointer data)
{
	struct rchrc *c = data;

	(void)fd;
	(void)cond;
	c->cen_watch = 0;
	close_fd(&c->cen_fd, &c->cen_watch);
	close_fd(&c->app_fd, &c->app_watch);
	return G_SOURCE_REMOVE;
}

static const char *subscribe_app(struct rchrc *c)
{
	GUnixFDList *fds = NULL;
	GError *err = NULL;
	GVariant *r;
	static char why[256];

	if (c->app_fd >= 0)
		return NULL;
	if (!c->app_notify_acquired)
		return "application without NotifyAcquired (not modelled)";
	r = g_dbus_connection_call_with_unix_fd_list_sync(
		fb.conn, fb.app_owner, c->app_path, IFACE_CHRC, "AcquireNotify",
		g_variant_new("(@a{sv})", link_options()),
		G_VARIANT_TYPE("(hq)"), G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
		&fds, NULL, &err);
	if (!r) {
		snprintf(why, sizeof(why), "%s", err->message);
		g_error_free(err);
		return why;
	}
	c->app_fd = g_unix_fd_list_get(fds, 0, NULL);
	c->app_watch = g_unix_fd_add(c->app_fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				     app_notify_readable, c);
	g_object_unref(fds);
	g_variant_unref(r);
	return NULL;
}

static void return_socket(GDBusMethodInvocation *inv, struct rchrc *c,
			  bool for_write)
{
	GUnixFDList *fds;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv) < 0) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.Failed", strerror(errno));
		return;
	}
	close_fd(&c->cen_fd, &c->cen_watch);
	c->cen_fd = sv[0];
	c->cen_watch = g_unix_fd_add(
		sv[0], (for_write ? G_IO_IN : 0) | G_IO_HUP | G_IO_ERR,
		for_write ? cen_write_readable : cen_notify_hup, c);
	fds = g_unix_fd_list_new_from_array(&sv[1], 1); /* takes sv[1] */
	g_dbus_method_invocation_return_value_with_unix_fd_list(
		inv, g_variant_new("(hq)", 0, FAKE_MTU), fds);
	g_object_unref(fds);
}

static void chrc_call(GDBusConnection *conn, const char *sender,
		      const char *path, const char *ifname, const char *method,
		      GVariant *params, GDBusMethodInvocation *inv,
		      gpointer data)
{
	struct rchrc *c = data;
	const char *why;

	(void)conn;
	(void)ifname;
	if (strcmp(method, "WriteValue")) /* not one line per chunk */
		fprintf(stderr,
			"fakebluez: GattCharacteristic1.%s %s from %s\n",
			method, path, sender);
	if (!fb.connected) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.Failed", "Not connected");
		return;
	}
	if (!strcmp(method, "WriteValue")) {
		GVariant *val, *opts;
		const char *type = "request";
		const void *bytes;
		gsize n;

		g_variant_get(params, "(@ay@a{sv})", &val, &opts);
		g_variant_lookup(opts, "type", "&s", &type);
		bytes = g_variant_get_fixed_array(val, &n, 1);
		if (!strcmp(type, "command")) {
			if (c->cen_fd >= 0 && c->app_write_acquired)
				g_dbus_method_invocation_return_dbus_error(
					inv, "org.bluez.Error.NotPermitted",
					"Write acquired");
			else if (n > FAKE_MTU - 3)
				g_dbus_method_invocation_return_dbus_error(
					inv, "org.bluez.Error.Failed",
					"Failed to initiate write");
			else {
				g_dbus_method_invocation_return_value(inv,
								      NULL);
				write_command(c, bytes, n);
			}
		} else {
			GError *err = NULL;
			GVariant *r = g_dbus_connection_call_sync(
				fb.conn, fb.app_owner, c->app_path, IFACE_CHRC,
				"WriteValue",
				g_variant_new("(@ay@a{sv})", val,
					      link_options()),
				NULL, G_DBUS_CALL_FLAGS_NONE, 10000, NULL,
				&err);

			if (r) {
				g_variant_unref(r);
				g_dbus_method_invocation_return_value(inv,
								      NULL);
			} else {
				g_dbus_method_invocation_return_dbus_error(
					inv, "org.bluez.Error.Failed",
					err->message);
				g_error_free(err);
			}
		}
		g_variant_unref(val);
		g_variant_unref(opts);
		return;
	}
	if (!strcmp(method, "AcquireWrite")) {
		if (fb.refuse_acquire_write)
			g_dbus_method_invocation_return_dbus_error(
				inv, fb.refuse_acquire_write,
				"refused (--refuse-acquire-write)");
		else
			return_socket(inv, c, true);
		return;
	}
	if (!strcmp(method, "AcquireNotify") ||
	    !strcmp(method, "StartNotify")) {
		why = subscribe_app(c);
		if (why) {
			g_dbus_method_invocation_return_dbus_error(
				inv, "org.bluez.Error.NotSupported", why);
			return;
		}
		if (method[0] == 'A') {
			return_socket(inv, c, false);
			return;
		}
		c->notifying = true;
		g_dbus_method_invocation_return_value(inv, NULL);
		return;
	}
	if (!strcmp(method, "StopNotify")) {
		c->notifying = false;
		close_fd(&c->app_fd, &c->app_watch);
		g_dbus_method_invocation_return_value(inv, NULL);
		return;
	}
	if (!strcmp(method, "ReadValue")) {
		GError *err = NULL;
		GVariant *r = g_dbus_connection_call_sync(
			fb.conn, fb.app_owner, c->app_path, IFACE_CHRC,
			"ReadValue", g_variant_new("(@a{sv})", link_options()),
			G_VARIANT_TYPE("(ay)"), G_DBUS_CALL_FLAGS_NONE, 10000,
			NULL, &err);

		if (r) {
			g_dbus_method_invocation_return_value(inv, r);
		} else {
			g_dbus_method_invocation_return_dbus_error(
				inv, "org.bluez.Error.Failed", err->message);
			g_error_free(err);
		}
		return;
	}
	g_dbus_method_invocation_return_dbus_error(
		inv, "org.bluez.Error.NotSupported", method);
}

static const GDBusInterfaceVTable chrc_vt = { chrc_call, vt_get, NULL, { 0 } };
static const GDBusInterfaceVTable props_vt = { NULL, vt_get, vt_set, { 0 } };

/* Mirror the registered application's characteristics on the device. */
static bool export_gatt(void)
{
	GError *err = NULL;
	GVariant *r, *objs, *ifs;
	GVariantIter it;
	const char *p;
	int handle = 0x0b;

	fb.nchrc = 0;
	if (fb.no_service || !fb.app_owner[0])
		return true;
	r = g_dbus_connection_call_sync(
		fb.conn, fb.app_owner, fb.app_path, IFACE_OM,
		"GetManagedObjects", NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"),
		G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &err);
	if (!r) {
		fprintf(stderr, "fakebluez: application gone: %s\n",
			err->message);
		g_error_free(err);
		return false;
	}
	fb.reg_svc = g_dbus_connection_register_object(
		fb.conn, fb.svc_path, iface(IFACE_SVC), &props_vt, NULL, NULL,
		NULL);
	objs = g_variant_get_child_value(r, 0);
	g_variant_iter_init(&it, objs);
	while (g_variant_iter_next(&it, "{&o@a{sa{sv}}}", &p, &ifs)) {
		GVariant *props = g_variant_lookup_value(ifs, IFACE_CHRC, NULL);
		struct rchrc *c = &fb.chrc[fb.nchrc];
		const char *uuid;

		g_variant_unref(ifs);
		if (!props)
			continue;
		if (fb.nchrc < NCHRC &&
		    g_variant_lookup(props, "UUID", "&s", &uuid)) {
			snprintf(c->uuid, sizeof(c->uuid), "%s", uuid);
			snprintf(c->app_path, sizeof(c->app_path), "%s", p);
			snprintf(c->path, sizeof(c->path), "%s/char%04x",
				 fb.svc_path, handle);
			handle += 3;
			if (c->flags)
				g_variant_unref(c->flags);
			c->flags = g_variant_lookup_value(props, "Flags",
							  G_VARIANT_TYPE("as"));
			if (!c->flags)
				c->flags = g_variant_ref_sink(
					g_variant_new_strv(NULL, 0));
			c->app_write_acquired =
				g_variant_lookup_value(props, "WriteAcquired",
						       NULL) != NULL;
			c->app_notify_acquired =
				g_variant_lookup_value(props, "NotifyAcquired",
						       NULL) != NULL;
			c->app_fd = c->cen_fd = -1;
			c->reg = g_dbus_connection_register_object(
				fb.conn, c->path, iface(IFACE_CHRC), &chrc_vt,
				c, NULL, NULL);
			fb.nchrc++;
		}
		g_variant_unref(props);
	}
	g_variant_unref(objs);
	g_variant_unref(r);
	return true;
}

static void dev_call(GDBusConnection *conn, const char *sender,
		     const char *path, const char *ifname, const char *method,
		     GVariant *params, GDBusMethodInvocation *inv,
		     gpointer data)
{
	(void)conn;
	(void)path;
	(void)ifname;
	(void)params;
	(void)data;
	fprintf(stderr, "fakebluez: Device1.%s from %s\n", method, sender);
	if (!strcmp(method, "Disconnect")) {
		disconnect("Disconnect()");
		g_dbus_method_invocation_return_value(inv, NULL);
		return;
	}
	if (fb.connected) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.AlreadyConnected",
			"Already Connected");
		return;
	}
	if (!fb.no_service && !fb.adv_owner[0]) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.Failed", "Page Timeout");
		return;
	}
	if (!export_gatt()) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.Failed",
			"le-connection-abort-by-local");
		return;
	}
	fb.connected = true;
	fb.resolved = true;
	g_dbus_method_invocation_return_value(inv, NULL);
	props_changed(fb.dev_path, IFACE_DEVICE, "Connected",
		      g_variant_new_boolean(TRUE));
	props_changed(fb.dev_path, IFACE_DEVICE, "ServicesResolved",
		      g_variant_new_boolean(TRUE));
	props_changed(fb.dev_path, IFACE_DEVICE, "Name",
		      g_variant_new_string(dev_name()));
}

static const GDBusInterfaceVTable dev_vt = { dev_call, vt_get, NULL, { 0 } };

static void export_device(void)
{
	if (fb.dev_exported)
		return;
	fb.reg_dev = g_dbus_connection_register_object(
		fb.conn, fb.dev_path, iface(IFACE_DEVICE), &dev_vt, NULL, NULL,
		NULL);
	fb.dev_exported = true;
}

/* ---- the adapter -------------------------------------------------------- */

static void app_gone(void)
{
	disconnect("application left the bus");
	fb.app_owner[0] = '\0';
	fb.adv_owner[0] = '\0';
}

static void on_owner_changed(GDBusConnection *conn, const char *sender,
			     const char *path, const char *ifname,
			     const char *signal, GVariant *params,
			     gpointer data)
{
	const char *name, *old, *new;

	(void)conn;
	(void)sender;
	(void)path;
	(void)ifname;
	(void)signal;
	(void)data;
	g_variant_get(params, "(&s&s&s)", &name, &old, &new);
	if (!*new &&fb.app_owner[0] && !strcmp(name, fb.app_owner)) {
		fprintf(stderr, "fakebluez: application %s left\n", name);
		app_gone();
	}
}

static void adapter_call(GDBusConnection *conn, const char *sender,
			 const char *path, const char *ifname,
			 const char *method, GVariant *params,
			 GDBusMethodInvocation *inv, gpointer data)
{
	const char *obj;
	GError *err = NULL;
	GVariant *r;

	(void)conn;
	(void)path;
	(void)data;
	fprintf(stderr, "fakebluez: %s.%s from %s\n", ifname, method, sender);
	if (!fb.powered && strcmp(method, "RegisterApplication") &&
	    strcmp(method, "SetDiscoveryFilter")) {
		g_dbus_method_invocation_return_dbus_error(
			inv, "org.bluez.Error.NotReady", "Resource Not Ready");
		return;
	}
	if (!strcmp(method, "StartDiscovery")) {
		fb.discovering = true;
		if (fb.adv_owner[0])
			export_device();
	} else if (!strcmp(method, "StopDiscovery")) {
		fb.discovering = false;
	} else if (!strcmp(method, "RegisterApplication")) {
		g_variant_get(params, "(&o@a{sv})", &obj, NULL);
		if (fb.app_owner[0]) {
			g_dbus_method_invocation_return_dbus_error(
				inv, "org.bluez.Error.AlreadyExists",
				"Already Exists");
			return;
		}
		/* bluetoothd reads the tree before it answers */
		r = g_dbus_connection_call_sync(
			fb.conn, sender, obj, IFACE_OM, "GetManagedObjects",
			NULL, G_VARIANT_TYPE("(a{oa{sa{sv}}})"),
			G_DBUS_CALL_FLAGS_NONE, 5000, NULL, &err);
		if (!r) {
			g_dbus_method_invocation_return_dbus_error(
				inv, "org.bluez.Error.Failed",
				"No object received");
			g_error_free(err);
			return;
		}
		g_variant_unref(r);
		snprintf(fb.app_owner, sizeof(fb.app_owner), "%s", sender);
		snprintf(fb.app_path, sizeof(fb.app_path), "%s", obj);
	} else if (!strcmp(method, "RegisterAdvertisement")) {
		g_variant_get(params, "(&o@a{sv})", &obj, NULL);
		r = g_dbus_connection_call_sync(
			fb.conn, sender, obj, IFACE_PROPS, "GetAll",
			g_variant_new("(s)", "org.bluez.LEAdvertisement1"),
			G_VARIANT_TYPE("(a{sv})"), G_DBUS_CALL_FLAGS_NONE, 5000,
			NULL, &err);
		if (!r) {
			g_dbus_method_invocation_return_dbus_error(
				inv, "org.bluez.Error.Failed",
				"Failed to parse advertisement.");
			g_error_free(err);
			return;
		}
		{
			GVariant *props = g_variant_get_child_value(r, 0);
			const char *name = "";

			g_variant_lookup(props, "LocalName", "&s", &name);
			snprintf(fb.adv_name, sizeof(fb.adv_name), "%s", name);
			g_variant_unref(props);
		}
		g_variant_unref(r);
		snprintf(fb.adv_owner, sizeof(fb.adv_owner), "%s", sender);
		snprintf(fb.adv_path, sizeof(fb.adv_path), "%s", obj);
		if (fb.discovering)
			export_device();
	} else if (!strcmp(method, "UnregisterApplication")) {
		app_gone();
	}
	g_dbus_method_invocation_return_value(inv, NULL);
}

static const GDBusInterfaceVTable adapter_vt = {
	adapter_call, vt_get, vt_set, { 0 }
};

static gboolean export_adapter(gpointer data)
{
	GVariantBuilder objs;
	int i;

	(void)data;
	for (i = 0; adapter_ifaces[i]; i++)
		fb.reg_adapter[i] = g_dbus_connection_register_object(
			fb.conn, fb.adapter_path, iface(adapter_ifaces[i]),
			&adapter_vt, NULL, NULL, NULL);
	if (fb.no_service)
		export_device();
	/* InterfacesAdded, as bluetoothd when a controller comes up */
	g_variant_builder_init(&objs, G_VARIANT_TYPE("a{oa{sa{sv}}}"));
	add_object(&objs, fb.adapter_path, adapter_ifaces);
	{
		GVariant *all = g_variant_builder_end(&objs);
		GVariant *ifs =
			g_variant_lookup_value(all, fb.adapter_path, NULL);

		g_dbus_connection_emit_signal(
			fb.conn, NULL, "/", IFACE_OM, "InterfacesAdded",
			g_variant_new("(o@a{sa{sv}})", fb.adapter_path, ifs),
			NULL);
		g_variant_unref(all);
	}
	fprintf(stderr, "fakebluez: adapter %s up\n", fb.adapter);
	fb.adapter_pending = false;
	while (fb.held_replies) {
		g_dbus_method_invocation_return_value(
			fb.held_replies->data,
			g_variant_new("(@a{oa{sa{sv}}})", managed_objects()));
		fb.held_replies =
			g_slist_delete_link(fb.held_replies, fb.held_replies);
	}
	return G_SOURCE_REMOVE;
}

static gboolean on_term(gpointer data)
{
	(void)data;
	g_main_loop_quit(fb.loop);
	return G_SOURCE_REMOVE;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: fakebluez [--adapter hciN] [--no-adapter] "
		"[--powered-off] "
		"[--adapter-delay MS]\n"
		"       [--no-service] [--refuse-acquire-write DBUS-ERROR] "
		"[--disconnect-after BYTES]\n"
		"       [--stall-after BYTES]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "adapter", required_argument, NULL, 'a' },
		{ "no-adapter", no_argument, NULL, 'N' },
		{ "powered-off", no_argument, NULL, 'P' },
		{ "adapter-delay", required_argument, NULL, 'd' },
		{ "no-service", no_argument, NULL, 's' },
		{ "refuse-acquire-write", required_argument, NULL, 'r' },
		{ "disconnect-after", required_argument, NULL, 'D' },
		{ "stall-after", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long delay = 0;
	GError *err = NULL;
	GVariant *r;
	int c;

	snprintf(fb.adapter, sizeof(fb.adapter), "hci0");
	snprintf(fb.alias, sizeof(fb.alias), "BlueZ 5.66");
	fb.powered = true;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			snprintf(fb.adapter, sizeof(fb.adapter), "%s", optarg);
			break;
		case 'N':
			fb.no_adapter = true;
			break;
		case 'P':
			fb.powered = false;
			break;
		case 'd':
			delay = strtoul(optarg, NULL, 10);
			break;
		case 's':
			fb.no_service = true;
			break;
		case 'r':
			fb.refuse_acquire_write = optarg;
			break;
		case 'D':
			fb.disconnect_after = strtoul(optarg, NULL, 10);
			break;
		case 'S':
			fb.stall_after = strtoul(optarg, NULL, 10);
			break;
		default:
			usage();
			return 2;
		}
	}
	snprintf(fb.adapter_path, sizeof(fb.adapter_path), "/org/bluez/%s",
		 fb.adapter);
	snprintf(fb.dev_path, sizeof(fb.dev_path), "%s/dev_00_AA_01_01_00_01",
		 fb.adapter_path);
	snprintf(fb.peer_path, sizeof(fb.peer_path), "%s/dev_00_AA_01_00_00_00",
		 fb.adapter_path);
	snprintf(fb.svc_path, sizeof(fb.svc_path), "%s/service000a",
		 fb.dev_path);
	fb.node = g_dbus_node_info_new_for_xml(xml, NULL);
	fb.conn = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &err);
	if (!fb.conn) {
		fprintf(stderr, "fakebluez: %s\n", err->message);
		return 1;
	}
	fb.reg_root = g_dbus_connection_register_object(
		fb.conn, "/", iface(IFACE_OM),
		&(const GDBusInterfaceVTable){ root_call, NULL, NULL, { 0 } },
		NULL, NULL, NULL);
	g_dbus_connection_signal_subscribe(
		fb.conn, "org.freedesktop.DBus", "org.freedesktop.DBus",
		"NameOwnerChanged", "/org/freedesktop/DBus", NULL,
		G_DBUS_SIGNAL_FLAGS_NONE, on_owner_changed, NULL, NULL);
	/* the name first, the adapter later: a starting bluetoothd */
	r = g_dbus_connection_call_sync(
		fb.conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "RequestName",
		g_variant_new("(su)", "org.bluez", 4 /* DO_NOT_QUEUE */),
		G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, &err);
	if (!r) {
		fprintf(stderr, "fakebluez: RequestName: %s\n", err->message);
		return 1;
	}
	g_variant_unref(r);
	fprintf(stderr, "fakebluez: org.bluez owned\n");
	if (!fb.no_adapter) {
		fb.adapter_pending = delay > 0;
		if (delay)
			g_timeout_add(delay, export_adapter, NULL);
		else
			export_adapter(NULL);
	}
	fb.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGTERM, on_term, NULL);
	g_unix_signal_add(SIGINT, on_term, NULL);
	g_main_loop_run(fb.loop);
	return 0;
}
