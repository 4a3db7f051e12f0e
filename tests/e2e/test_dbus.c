/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus tier: the real bleota and bleota-peripheral programs against
 * tests/tools/fakebluez, a stand-in org.bluez on a private dbus-daemon
 * (DBUS_SYSTEM_BUS_ADDRESS points both programs at it; no radio, no root,
 * no bluetoothd). Each BlueZ error path the programs handle is driven
 * here and the exact message and exit code asserted: no bluetoothd, no
 * adapter, a device without the bleota service, AcquireWrite refused, a
 * disconnect in the middle of a push, bluetoothd going away under a push,
 * and bluetoothd restarting under a running peripheral. Also: the GAP name
 * (the adapter's Alias) follows --name, and both data paths push.
 *
 * Waits are on conditions (a log line, a bus name), bounded; nothing
 * asserts on elapsed time. Skips (exit 77) only if dbus-daemon is missing,
 * which `make test` installs (tests/tools/ensure-deps.sh).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <gio/gio.h>

#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

#define DEV_ADDR "00:AA:01:01:00:01"

struct fx {
	struct e2e_image v1, v2;
	char flash[512];
	char fake_bin[512];
	char fake_log[600];
	pid_t bus_pid;
	pid_t fake_pid;
	GDBusConnection *conn; /* the test's own view of the bus */
	struct e2e_periph per;
	bool per_running;
	char out[65536];
};

/* ---- the private bus and the stand-in ------------------------------------------- */

static bool wait_until(bool (*cond)(void *), void *arg, unsigned int ms)
{
	uint64_t until = e2e_mono_ms() + ms;

	while (!cond(arg)) {
		if (e2e_mono_ms() > until)
			return false;
		usleep(20000);
	}
	return true;
}

static bool bluez_owned(void *arg)
{
	struct fx *f = arg;
	GVariant *r = g_dbus_connection_call_sync(
		f->conn, "org.freedesktop.DBus", "/org/freedesktop/DBus",
		"org.freedesktop.DBus", "NameHasOwner",
		g_variant_new("(s)", "org.bluez"), G_VARIANT_TYPE("(b)"),
		G_DBUS_CALL_FLAGS_NONE, 2000, NULL, NULL);
	gboolean owned = FALSE;

	if (r) {
		g_variant_get(r, "(b)", &owned);
		g_variant_unref(r);
	}
	return owned;
}

static bool bluez_gone(void *arg)
{
	return !bluez_owned(arg);
}

/* Occurrences of @needle in the file at @path (0 if there is none). */
static int file_count(const char *path, const char *needle)
{
	char *s = NULL, *p;
	int count = 0;

	if (!g_file_get_contents(path, &s, NULL, NULL))
		return 0;
	for (p = s; (p = strstr(p, needle)); p++)
		count++;
	g_free(s);
	return count;
}

static bool file_has(const char *path, const char *needle)
{
	return file_count(path, needle) > 0;
}

/* fakebluez with @opts, its stderr appended to fake.log; waits for the name. */
static void fake_start(struct fx *f, const char *opts)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "exec %s %s 2>>%s", f->fake_bin, opts,
		 f->fake_log);
	f->fake_pid = fork();
	assert_true(f->fake_pid >= 0);
	if (f->fake_pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	assert_true(wait_until(bluez_owned, f, 20000));
}

static void fake_stop(struct fx *f)
{
	int st;

	if (f->fake_pid <= 0)
		return;
	kill(f->fake_pid, SIGTERM);
	assert_int_equal(waitpid(f->fake_pid, &st, 0), f->fake_pid);
	f->fake_pid = 0;
	assert_true(wait_until(bluez_gone, f, 20000));
}

static void periph_start(struct fx *f, const char *opts)
{
	char o[512];

	snprintf(o, sizeof(o), "--adapter hci0 --name dbus-dev -v %s", opts);
	e2e_periph_start(&f->per, f->flash, "per", o);
	f->per_running = true;
}

struct log_wait {
	const char *path;
	const char *needle;
	int count;
};

static bool log_reached(void *arg)
{
	struct log_wait *w = arg;

	return file_count(w->path, w->needle) >= w->count;
}

/* Wait until @path holds @needle @count times (bounded). */
static void must_log(const char *path, const char *needle, int count)
{
	struct log_wait w = { path, needle, count };

	if (!wait_until(log_reached, &w, 20000))
		fail_msg("'%s' never appeared %d times in %s", needle, count,
			 path);
}

static char *adapter_alias(struct fx *f)
{
	GVariant *r = g_dbus_connection_call_sync(
		f->conn, "org.bluez", "/org/bluez/hci0",
		"org.freedesktop.DBus.Properties", "Get",
		g_variant_new("(ss)", "org.bluez.Adapter1", "Alias"),
		G_VARIANT_TYPE("(v)"), G_DBUS_CALL_FLAGS_NONE, 2000, NULL,
		NULL);
	GVariant *v;
	char *s;

	assert_non_null(r);
	g_variant_get(r, "(v)", &v);
	s = g_variant_dup_string(v, NULL);
	g_variant_unref(v);
	g_variant_unref(r);
	return s;
}

/* ---- fixture -------------------------------------------------------------------- */

static int setup_each(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *b = getenv("BLEOTA_BUILD");
	char line[512], cmd[700];
	GError *err = NULL;
	int fds[2];
	FILE *fp;

	if (!f)
		return -1;
	snprintf(f->fake_bin, sizeof(f->fake_bin), "%s/tests/tools/fakebluez",
		 b && *b ? b : "build");
	tmpdir_path(f->fake_log, sizeof(f->fake_log), "fake.log");
	unlink(f->fake_log);
	tmpdir_path(line, sizeof(line), "per.log");
	unlink(line);

	/* a private bus: dbus-daemon prints its address on fd 3 */
	if (pipe(fds) < 0)
		return -1;
	f->bus_pid = fork();
	if (f->bus_pid == 0) {
		dup2(fds[1], 3);
		snprintf(cmd, sizeof(cmd),
			 "exec dbus-daemon --session --nofork --nopidfile "
			 "--print-address=3 >/dev/null 2>&1");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	fp = fdopen(fds[0], "r");
	if (!fp || !fgets(line, sizeof(line), fp))
		return -1;
	fclose(fp);
	line[strcspn(line, "\n")] = '\0';
	setenv("DBUS_SYSTEM_BUS_ADDRESS", line, 1);
	f->conn = g_dbus_connection_new_for_address_sync(
		line,
		G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
			G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
		NULL, NULL, &err);
	if (!f->conn) {
		fprintf(stderr, "private bus: %s\n", err->message);
		return -1;
	}
	e2e_image(&f->v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 300000,
		  ESP_CORRUPT_NONE);
	e2e_flash(f->flash, sizeof(f->flash), "dev.flash", &f->v1);
	*state = f;
	return 0;
}

static int teardown_each(void **state)
{
	struct fx *f = *state;
	int st;

	if (f->per_running) {
		kill(f->per.pid, SIGKILL);
		waitpid(f->per.pid, &st, 0);
	}
	if (f->fake_pid > 0) {
		kill(f->fake_pid, SIGKILL);
		waitpid(f->fake_pid, &st, 0);
	}
	g_object_unref(f->conn);
	kill(f->bus_pid, SIGTERM);
	waitpid(f->bus_pid, &st, 0);
	unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
	free(f->v1.data);
	free(f->v2.data);
	free(f);
	return 0;
}

/* ---- the central's error paths -------------------------------------------------- */

static void test_central_no_bluetoothd(void **state)
{
	struct fx *f = *state;

	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push %s %s",
				    DEV_ADDR, f->v2.path),
			 5);
	assert_non_null(strstr(f->out,
			       "bleota: bluetoothd is not running: start it "
			       "(systemctl start bluetooth)"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "scan"), 5);
	assert_non_null(strstr(f->out,
			       "bleota: bluetoothd is not running: start it "
			       "(systemctl start bluetooth)"));
	/* --json: the reason as an error event (bleota serve reports it) */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "scan --json"), 5);
	assert_non_null(strstr(
		f->out, "{\"event\":\"error\",\"code\":5,\"status\":\"\","
			"\"message\":\"bluetoothd is not running: start "
			"it (systemctl start bluetooth)\""));
}

/* a bluetoothd slow to list its objects (busy with other links) is waited
 * for: --adapter-delay holds GetManagedObjects for 6 s, beyond the 5 s a
 * call used to get ("bluetoothd does not answer: Timeout was reached") */
static void test_central_bluetoothd_slow(void **state)
{
	struct fx *f = *state;

	fake_start(f, "--adapter-delay 6000");
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "scan --json --timeout 1"),
		0);
	assert_null(strstr(f->out, "\"event\":\"error\""));
}

/* scan --json: one device event per device, the name a JSON string even
 * when the (remote-controlled) name holds quotes */
static void test_central_scan_json(void **state)
{
	struct fx *f = *state;

	fake_start(f, "");
	periph_start(f, "--insecure --name 'say \"hi\"'");
	must_log(f->per.log, "advertising as 'say \"hi\"' on hci0", 1);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "scan --json --timeout 2"),
		0);
	assert_non_null(strstr(f->out,
			       "{\"event\":\"device\",\"address\":\"" DEV_ADDR
			       "\",\"name\":\"say \\\"hi\\\"\","));
}

static void test_central_no_adapter(void **state)
{
	struct fx *f = *state;

	fake_start(f, "--no-adapter");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push %s %s",
				    DEV_ADDR, f->v2.path),
			 5);
	assert_non_null(strstr(f->out, "bleota: no Bluetooth adapter: plug "
				       "one in, or check 'bluetoothctl "
				       "list'"));
	fake_stop(f);
	fake_start(f, "--powered-off");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push %s %s",
				    DEV_ADDR, f->v2.path),
			 5);
	assert_non_null(strstr(f->out, "bleota: Bluetooth adapter hci0 is "
				       "powered off: 'bluetoothctl power "
				       "on'"));
	fake_stop(f);
	fake_start(f, "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --adapter hci7 %s %s", DEV_ADDR,
				    f->v2.path),
			 5);
	assert_non_null(strstr(f->out, "bleota: no Bluetooth adapter hci7: "
				       "'bluetoothctl list' shows the "
				       "adapters"));
}

static void test_central_service_missing(void **state)
{
	struct fx *f = *state;

	fake_start(f, "--no-service");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push %s %s",
				    DEV_ADDR, f->v2.path),
			 5);
	assert_non_null(strstr(
		f->out, "bleota: " DEV_ADDR " has no bleota service "
			"(wrong device, or a stale GATT cache: "
			"'bluetoothctl remove " DEV_ADDR "' and retry)"));
	/* and the device was left disconnected */
	assert_true(file_has(f->fake_log, "Device1.Disconnect"));
}

static void test_central_acquire_write_refused(void **state)
{
	struct fx *f = *state;
	struct e2e_flash_view v;

	/* not permitted: the link needs pairing; say so, touch nothing */
	fake_start(f, "--refuse-acquire-write org.bluez.Error.NotPermitted");
	periph_start(f, "--insecure");
	must_log(f->per.log, "advertising as 'dbus-dev'", 1);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push dbus-dev %s",
				    f->v2.path),
			 5);
	assert_non_null(strstr(f->out,
			       "bleota: " DEV_ADDR ": AcquireWrite not "
			       "permitted (refused (--refuse-acquire-write)): "
			       "pair and trust the device first, e.g. "
			       "'bluetoothctl pair " DEV_ADDR "'"));
	e2e_view_flash(f->flash, 0x100000, &v);
	assert_string_equal(v.running_version, "1.0.0");
	fake_stop(f);

	/* not supported: the push goes on through WriteValue */
	fake_start(f, "--refuse-acquire-write org.bluez.Error.NotSupported");
	must_log(f->per.log, "advertising as 'dbus-dev'", 2);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push -v dbus-dev %s", f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "bleota: AcquireWrite refused "
				       "(refused (--refuse-acquire-write)): "
				       "data through WriteValue"));
	assert_non_null(strstr(f->out, "committed: the device boots "
				       "blinky 2.0.0 next"));
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
}

static void test_central_disconnect_mid_push(void **state)
{
	struct fx *f = *state;
	struct e2e_image v3;

	/* the link drops at about a third: the push reconnects, resumes */
	fake_start(f, "--disconnect-after 100000");
	periph_start(f, "--insecure");
	must_log(f->per.log, "advertising as 'dbus-dev'", 1);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --no-commit dbus-dev %s", f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "connection lost; reconnecting to "
				       "resume (1 of 3)"));
	assert_non_null(strstr(f->out, "resuming: the device already holds"));
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
	assert_true(file_has(f->per.log, "disconnected"));
	fake_stop(f);

	/* with no retries: exit 5, and what to do */
	fake_start(f, "--disconnect-after 100000");
	must_log(f->per.log, "advertising as 'dbus-dev'", 2);
	e2e_image(&v3, "v3.bin", "3.0.0", DEV_CHIP, 0, 300000,
		  ESP_CORRUPT_NONE);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --retries 0 dbus-dev %s", v3.path),
			 5);
	free(v3.data);
	assert_non_null(strstr(f->out, "bleota: dbus-dev: the connection was "
				       "lost while sending the image\n"
				       "bleota: run the same command again: "
				       "a push resumes where the device is"));
}

/* bluetoothd killed under `bleota push @opts`: exit 5, and what to do. */
static void gone_mid_push(struct fx *f, const char *opts, int nth)
{
	struct e2e_bg bg;
	char cmd[2048];
	int fds[2], st;

	/* data stops flowing at 50 kB, so the push is still running when
	 * bluetoothd goes */
	fake_start(f, "--stall-after 50000");
	must_log(f->per.log, "advertising as 'dbus-dev'", nth);
	/* a background push, over Bluetooth (e2e_bg_push is for unix:) */
	snprintf(cmd, sizeof(cmd),
		 "exec %s push --json --no-commit --retries 1 %s dbus-dev %s",
		 e2e_bin_bleota, opts, f->v2.path);
	assert_int_equal(pipe(fds), 0);
	bg.pid = fork();
	assert_true(bg.pid >= 0);
	if (bg.pid == 0) {
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	bg.out = fdopen(fds[0], "r");
	must_log(f->fake_log, "stalled after", nth);
	kill(f->fake_pid, SIGKILL);
	waitpid(f->fake_pid, &st, 0);
	f->fake_pid = 0;
	assert_int_equal(e2e_bg_finish(&bg, f->out, sizeof(f->out)), 5);
	assert_non_null(strstr(f->out, "bluetoothd is not running: start it "
				       "(systemctl start bluetooth)"));
	must_log(f->per.log,
		 "bluetoothd went away: waiting for it to come "
		 "back",
		 nth);
}

static void test_central_bluetoothd_gone_mid_push(void **state)
{
	struct fx *f = *state;

	periph_start(f, "--insecure");
	/* the notify sockets close with bluetoothd */
	gone_mid_push(f, "", 1);
	/* no socket at all: the name watch notices */
	gone_mid_push(f, "--no-acquire", 2);
	assert_non_null(strstr(f->out,
			       "bleota: warning: bluetoothd went "
			       "away: the link to " DEV_ADDR " is gone"));
}

/* ---- the peripheral -------------------------------------------------------------- */

static void test_periph_no_bluetoothd_then_starts(void **state)
{
	struct fx *f = *state;

	periph_start(f, "--insecure");
	must_log(f->per.log,
		 "bleota-peripheral: warning: bluetoothd is not running: "
		 "waiting for "
		 "it (start bluetooth.service)",
		 1);
	fake_start(f, "");
	must_log(f->per.log, "advertising as 'dbus-dev' on hci0", 1);
	e2e_periph_stop(&f->per);
	f->per_running = false;
}

static void test_periph_no_adapter(void **state)
{
	struct fx *f = *state;

	fake_start(f, "--no-adapter");
	periph_start(f, "--insecure");
	must_log(f->per.log,
		 "bleota-peripheral: warning: bluetoothd has no adapter hci0: "
		 "waiting "
		 "for it ('bluetoothctl list' shows the adapters)",
		 1);
	assert_false(file_has(f->per.log, "registered on"));
	/* still running, and a clean stop */
	e2e_periph_stop(&f->per);
	f->per_running = false;
}

static void test_periph_bluetoothd_restarts(void **state)
{
	struct fx *f = *state;

	fake_start(f, "");
	periph_start(f, "--insecure");
	must_log(f->per.log, "advertising as 'dbus-dev' on hci0", 1);
	fake_stop(f);
	must_log(f->per.log,
		 "bleota-peripheral: warning: bluetoothd went away: waiting "
		 "for it to "
		 "come back",
		 1);
	/* like a starting bluetoothd: the name first, the adapter later */
	fake_start(f, "--adapter-delay 300");
	must_log(f->per.log, "advertising as 'dbus-dev' on hci0", 2);
	/* once: the adapter in InterfacesAdded and in GetManagedObjects */
	assert_int_equal(file_count(f->per.log, "GATT service "), 2);
	assert_false(file_has(f->per.log, "refused the GATT application"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push dbus-dev %s",
				    f->v2.path),
			 0);
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
	e2e_periph_stop(&f->per);
	f->per_running = false;
}

static void test_gap_name_follows_name(void **state)
{
	struct fx *f = *state;
	char *alias;

	fake_start(f, "");
	alias = adapter_alias(f);
	assert_string_equal(alias, "BlueZ 5.66");
	g_free(alias);
	periph_start(f, "--insecure");
	must_log(f->per.log, "advertising as 'dbus-dev' on hci0", 1);
	alias = adapter_alias(f);
	assert_string_equal(alias, "dbus-dev");
	g_free(alias);
	/* a connected central sees the GAP name: the same */
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info %s", DEV_ADDR), 0);
	/* a clean stop gives the adapter its name back */
	e2e_periph_stop(&f->per);
	f->per_running = false;
	alias = adapter_alias(f);
	assert_string_equal(alias, "BlueZ 5.66");
	g_free(alias);
}

/*
 * A scanned device's name is whatever it advertises: scan prints it with
 * control bytes escaped, and as a JSON string that stays one.
 */
static void test_scan_escapes_name(void **state)
{
	struct fx *f = *state;

	fake_start(f, "");
	periph_start(f, "--insecure --name \"$(printf 'ev\\033[31m\"il')\"");
	must_log(f->per.log, "advertising as", 1);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "scan --timeout 1"),
			 0);
	assert_non_null(strstr(f->out, DEV_ADDR "  ev\\x1b[31m\"il"));
	assert_null(strchr(f->out, '\033'));
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "scan --timeout 1 --json"),
		0);
	assert_non_null(strstr(f->out, "\"address\":\"" DEV_ADDR
				       "\",\"name\":\"ev\\u001b[31m\\\"il\","));
	assert_null(strchr(f->out, '\033'));
}

static void test_both_data_paths_push(void **state)
{
	struct fx *f = *state;

	fake_start(f, "");
	periph_start(f, "--insecure");
	must_log(f->per.log, "advertising as 'dbus-dev'", 1);

	/* the default: AcquireWrite and AcquireNotify */
	assert_int_equal(truncate(f->fake_log, 0), 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push -v --no-commit dbus-dev %s",
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "bleota: data through AcquireWrite"));
	assert_true(file_has(f->fake_log, "GattCharacteristic1.AcquireWrite"));
	assert_true(file_has(f->fake_log, "GattCharacteristic1.AcquireNotify"));
	assert_true(file_has(f->per.log, "/org/bleota/service0/data acquired "
					 "by bluetoothd"));
	e2e_assert_slot_holds(f->flash, 1, &f->v2);

	/* --write-value: data through WriteValue, notifications still
	 * through AcquireNotify */
	assert_int_equal(truncate(f->fake_log, 0), 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push -v --no-commit --force --write-value "
				    "dbus-dev %s",
				    f->v1.path),
			 0);
	assert_non_null(strstr(f->out, "bleota: data through WriteValue"));
	assert_true(file_has(f->fake_log, "GattCharacteristic1.AcquireNotify"));
	assert_false(file_has(f->fake_log, "GattCharacteristic1.AcquireWrite"));
	e2e_assert_slot_holds(f->flash, 1, &f->v1);

	/* --no-acquire: no Acquire* call at all */
	assert_int_equal(truncate(f->fake_log, 0), 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push -v --no-commit --no-acquire dbus-dev "
				    "%s",
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "bleota: Control notifications "
				       "through StartNotify"));
	assert_non_null(strstr(f->out, "bleota: Status notifications "
				       "through StartNotify"));
	assert_non_null(strstr(f->out, "bleota: data through WriteValue"));
	assert_true(file_has(f->fake_log, "GattCharacteristic1.StartNotify"));
	assert_false(file_has(f->fake_log, "GattCharacteristic1.Acquire"));
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
}

#define T(name, fn)                                       \
	{                                                 \
		name, fn, setup_each, teardown_each, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/dbus/central/no-bluetoothd", test_central_no_bluetoothd),
		T("/dbus/central/no-adapter", test_central_no_adapter),
		T("/dbus/central/scan-json", test_central_scan_json),
		T("/dbus/central/bluetoothd-slow",
		  test_central_bluetoothd_slow),
		T("/dbus/central/service-missing",
		  test_central_service_missing),
		T("/dbus/central/acquire-write-refused",
		  test_central_acquire_write_refused),
		T("/dbus/central/disconnect-mid-push",
		  test_central_disconnect_mid_push),
		T("/dbus/central/bluetoothd-gone-mid-push",
		  test_central_bluetoothd_gone_mid_push),
		T("/dbus/peripheral/no-bluetoothd-then-starts",
		  test_periph_no_bluetoothd_then_starts),
		T("/dbus/peripheral/no-adapter", test_periph_no_adapter),
		T("/dbus/peripheral/bluetoothd-restarts",
		  test_periph_bluetoothd_restarts),
		T("/dbus/peripheral/gap-name-follows-name",
		  test_gap_name_follows_name),
		T("/dbus/central/scan-escapes-name", test_scan_escapes_name),
		T("/dbus/both-data-paths-push", test_both_data_paths_push),
	};
	int rc;

	if (system("command -v dbus-daemon >/dev/null 2>&1")) {
		fprintf(stderr, "SKIP: no dbus-daemon (apt-get install "
				"dbus-daemon)\n");
		return 77;
	}
	signal(SIGPIPE, SIG_IGN);
	e2e_init();
	rc = cmocka_run_group_tests_name("dbus", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
