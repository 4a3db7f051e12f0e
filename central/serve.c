/* SPDX-License-Identifier: MIT */
/*
 * `bleota serve`: a gateway that keeps every device at its desired
 * version (docs/serve.md). One GLib main loop drives everything:
 *
 *   desired state  a file (re-read when its stat changes, checked every
 *                  second, and on SIGHUP) or a URL (polled with a
 *                  conditional GET; the last good copy is kept in the
 *                  state directory and used while the URL is unreachable)
 *   devices        the unix: and address rules, plus what `bleota scan`
 *                  finds on each --adapter
 *   per device     INFO -> compare -> firmware (shared download, cache)
 *                  -> pre-flight -> push --confirm -> outcome, each step a
 *                  callback; one device is one job holding one slot
 *   slots          at most --jobs jobs in total and --per-adapter per
 *                  Bluetooth adapter (links share a radio); unix: devices
 *                  count only against the total
 *   failures       transient ones (no connection, lost link, verification)
 *                  retry with exponential back-off; refusals (wrong chip,
 *                  too big, rollback) wait for the desired state to change,
 *                  for --recheck, or for POST /api/push
 *   persistence    STATE/devices.json after every state change: which
 *                  device was being pushed which image, so a restarted
 *                  gateway pushes it again and the device resumes
 *   delta          every push uses the gateway's own image cache,
 *                  STATE/images (push --image-cache): it holds what the
 *                  gateway delivered, so the next push to a device that
 *                  runs it sends a delta (--no-delta: push --full)
 *
 * This file is the command: options, the main loop's tick and signals,
 * scanning, start-up and shut-down. The rest lives in serve_sched.c (the
 * per-device state machine and slots), serve_firmware.c, serve_desired.c,
 * serve_persist.c, serve_events.c and serve_api.c; serve_priv.h holds what
 * they share, the gateway's context `serve_gw` among it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>

#include "central/commands.h"
#include "central/serve_priv.h"

struct serve_gw serve_gw;

/* ---- scanning ------------------------------------------------------------------------ */

static void on_found(const char *address, const char *name, void *user_data)
{
	const char *adapter = user_data;
	struct device *d = serve_dev_find(address);

	if (d) {
		if (name && *name)
			serve_set_str(&d->name, name);
		return;
	}
	d = serve_dev_add(address, name, adapter);
	serve_set_state(d, DS_NEW, "found on %s%s%s", adapter,
			name ? " as " : "", name ? name : "");
	serve_schedule();
}

static void on_scan_done(const struct serve_dev_result *r, void *user_data)
{
	const char *adapter = user_data;

	serve_gw.scans_running--;
	serve_gw.scans_done++;
	serve_schedule();
	if (r->code) {
		/* a failed scan (bluetoothd busy, discovery timed out) is
		 * tried again after 2, 4, 8 ... s, not a whole interval */
		unsigned int shift = MIN(serve_gw.scan_failures, 5u);
		unsigned int again = MIN(serve_gw.scan_s, 2u << shift);
		gint64 at =
			g_get_monotonic_time() + (gint64)again * G_USEC_PER_SEC;
		JsonBuilder *b = ev_begin("scan_failed");

		serve_gw.scan_failures++;
		if (at < serve_gw.next_scan)
			serve_gw.next_scan = at;
		serve_ev_str(b, "adapter", adapter);
		serve_ev_int(b, "retry_s", again);
		serve_ev_end(b, "scan_failed",
			     "scanning on %s: %s; scanning again in %u s",
			     adapter, r->message, again);
	} else {
		serve_gw.scan_failures = 0;
	}
}

static void scan_all(void)
{
	unsigned int i;

	serve_gw.next_scan = g_get_monotonic_time() +
			     (gint64)serve_gw.scan_s * G_USEC_PER_SEC;
	for (i = 0; serve_gw.adapters && serve_gw.adapters[i]; i++) {
		struct serve_dev_cfg cfg = { .exe = serve_gw.exe,
					     .adapter = serve_gw.adapters[i],
					     .verbose = serve_gw.verbose };

		serve_gw.scans_running++;
		serve_dev_scan(&cfg, 8, on_found, on_scan_done,
			       serve_gw.adapters[i]);
	}
}

/* ---- main loop glue ------------------------------------------------------------------------ */

static gboolean tick(gpointer data)
{
	gint64 now = g_get_monotonic_time();
	guint i;

	(void)data;
	if (!serve_gw.config_is_url && serve_config_changed())
		serve_load_config_file(false);
	if (serve_gw.config_is_url && now >= serve_gw.next_poll)
		serve_poll_config_url();
	if (serve_gw.adapters && now >= serve_gw.next_scan &&
	    !serve_gw.scans_running)
		scan_all();
	for (i = 0; serve_gw.recheck_s && i < serve_gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(serve_gw.devices, i);

		if (!d->busy && !d->due &&
		    now - d->last_check >
			    (gint64)serve_gw.recheck_s * G_USEC_PER_SEC)
			d->due = true;
	}
	serve_schedule();
	return G_SOURCE_CONTINUE;
}

static gboolean on_sighup(gpointer data)
{
	(void)data;
	if (serve_gw.config_is_url)
		serve_poll_config_url();
	else
		serve_load_config_file(false);
	return G_SOURCE_CONTINUE;
}

static gboolean on_sigterm(gpointer data)
{
	(void)data;
	g_main_loop_quit(serve_gw.loop);
	return G_SOURCE_CONTINUE;
}

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota serve --config FILE|URL [--state-dir DIR] "
		"[--listen ADDR:PORT]\n"
		"                    [--token-file FILE] [--adapter hciN ...] "
		"[--jobs N]\n"
		"                    [--per-adapter N] [--json] [--once] "
		"[OPTIONS]\n"
		"\n"
		"Keep every device at the version the desired state names "
		"(docs/serve.md).\n"
		"\n"
		"  --config FILE|URL    the desired state: a JSON file "
		"(re-read on change\n"
		"                       and SIGHUP) or an http(s) URL "
		"(polled)\n"
		"  --state-dir DIR      state, download and image caches "
		"(default $STATE_DIRECTORY,\n"
		"                       else ./bleota-serve)\n"
		"  --listen ADDR:PORT   the HTTP API (default 127.0.0.1:8417; "
		"'none': off)\n"
		"  --token-file FILE    API access token (required off "
		"loopback)\n"
		"  --adapter hciN       scan this adapter for devices "
		"(repeatable)\n"
		"  --jobs N             devices updated at once (4)\n"
		"  --per-adapter N      of which per Bluetooth adapter (2)\n"
		"  --bearer-token-file FILE  send this token with downloads\n"
		"  --ca-file FILE       trust this CA for https downloads\n"
		"  --poll S             URL desired state: poll every S "
		"seconds (60)\n"
		"  --scan-interval S    scan every S seconds (60)\n"
		"  --recheck S          re-read settled devices every S "
		"seconds (600; 0: never)\n"
		"  --retry-max S        longest pause between retries (300)\n"
		"  --once               exit when every device is settled: 0 "
		"if all run\n"
		"                       their desired version, 1 otherwise\n"
		"  --no-delta           push the plain image (push --full), "
		"never a delta\n"
		"                       or a compressed image\n"
		"  --json               one JSON event per line on stdout\n"
		"  -v                   more detail\n");
}

static bool parse_uint(const char *opt, const char *s, unsigned int lo,
		       unsigned int hi, unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < lo || v > hi) {
		fprintf(stderr, "bleota: --%s %s: a number, %u..%u\n", opt, s,
			lo, hi);
		return false;
	}
	*out = (unsigned int)v;
	return true;
}

/* The numeric options: one row each, checked the same way. */
static bool number_option(int ch)
{
	const struct {
		int ch;
		const char *name;
		unsigned int lo, hi;
		unsigned int *out;
	} rows[] = {
		{ 'j', "jobs", 1, 64, &serve_gw.jobs },
		{ 'p', "per-adapter", 1, 16, &serve_gw.per_adapter },
		{ 'P', "poll", 1, 86400, &serve_gw.poll_s },
		{ 'S', "scan-interval", 10, 86400, &serve_gw.scan_s },
		{ 'R', "recheck", 0, 604800, &serve_gw.recheck_s },
		{ 'M', "retry-max", 1, 86400, &serve_gw.retry_max_s },
	};
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(rows); i++)
		if (rows[i].ch == ch)
			return parse_uint(rows[i].name, optarg, rows[i].lo,
					  rows[i].hi, rows[i].out);
	return false;
}

static char *read_token(const char *path)
{
	char *text = NULL;
	GError *e = NULL;

	if (!g_file_get_contents(path, &text, NULL, &e)) {
		fprintf(stderr, "bleota: %s\n", e->message);
		g_error_free(e);
		return NULL;
	}
	g_strstrip(text);
	if (!*text) {
		fprintf(stderr, "bleota: %s is empty\n", path);
		g_free(text);
		return NULL;
	}
	return text;
}

int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "token-file", required_argument, NULL, 't' },
		{ "adapter", required_argument, NULL, 'i' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "per-adapter", required_argument, NULL, 'p' },
		{ "bearer-token-file", required_argument, NULL, 'b' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "poll", required_argument, NULL, 'P' },
		{ "scan-interval", required_argument, NULL, 'S' },
		{ "recheck", required_argument, NULL, 'R' },
		{ "retry-max", required_argument, NULL, 'M' },
		{ "once", no_argument, NULL, 'o' },
		{ "no-delta", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'J' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen = "127.0.0.1:8417", *token_file = NULL,
		   *bearer_file = NULL, *state_dir = NULL;
	GPtrArray *adapters = g_ptr_array_new();
	struct serve_http_ops ops = {
		.devices = api_devices,
		.desired = api_desired,
		.push = api_push,
		.upload_limit = api_upload_limit,
		.upload = api_upload,
		.update = api_update,
		.put_desired = api_put_desired,
	};
	char *token = NULL, err[512];
	int ch, r = BLEOTA_EXIT_USAGE;
	JsonBuilder *b;

	memset(&serve_gw, 0, sizeof(serve_gw));
	serve_gw.jobs = 4;
	serve_gw.per_adapter = 2;
	serve_gw.retry_max_s = 300;
	serve_gw.recheck_s = 600;
	serve_gw.poll_s = 60;
	serve_gw.scan_s = 60;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:l:i:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			serve_gw.config = g_strdup(optarg);
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 't':
			token_file = optarg;
			break;
		case 'i':
			g_ptr_array_add(adapters, g_strdup(optarg));
			break;
		case 'b':
			bearer_file = optarg;
			break;
		case 'C':
			serve_gw.ca_file = g_strdup(optarg);
			break;
		case 'o':
			serve_gw.once = true;
			break;
		case 'D':
			serve_gw.no_delta = true;
			break;
		case 'J':
			serve_gw.json = true;
			break;
		case 'v':
			serve_gw.verbose++;
			break;
		case 'h':
			usage(stdout);
			g_ptr_array_free(adapters, TRUE);
			return BLEOTA_EXIT_OK;
		default:
			if (!number_option(ch))
				goto usage;
			break;
		}
	}
	if (optind != argc || !serve_gw.config) {
		if (!serve_gw.config)
			fprintf(stderr,
				"bleota: serve needs --config FILE|URL\n");
		goto usage;
	}
	serve_gw.config_is_url = g_str_has_prefix(serve_gw.config, "http://") ||
				 g_str_has_prefix(serve_gw.config, "https://");
	/* a file that is not there is a mistake: say so before any state */
	if (!serve_gw.config_is_url && access(serve_gw.config, R_OK) < 0) {
		fprintf(stderr,
			"bleota: cannot read the desired state %s: %s\n"
			"bleota: give --config a JSON file you can read, or an "
			"http(s):// URL (bleota-desired(5) has the format)\n",
			serve_gw.config, strerror(errno));
		r = BLEOTA_EXIT_FAIL;
		goto out;
	}
	if (!state_dir)
		state_dir = g_getenv("STATE_DIRECTORY"); /* systemd */
	serve_gw.state_dir = g_strdup(state_dir ? state_dir : "bleota-serve");
	serve_gw.cache_dir =
		g_build_filename(serve_gw.state_dir, "cache", NULL);
	/* the pushes' own image cache (delta bases), kept with the state */
	serve_gw.images_dir =
		g_build_filename(serve_gw.state_dir, "images", NULL);
	if (g_mkdir_with_parents(serve_gw.cache_dir, 0700) < 0) {
		fprintf(stderr, "bleota: cannot create %s: %s\n",
			serve_gw.cache_dir, strerror(errno));
		r = BLEOTA_EXIT_FAIL;
		goto out;
	}
	if (adapters->len) {
		g_ptr_array_add(adapters, NULL);
		serve_gw.adapters = (char **)g_ptr_array_free(adapters, FALSE);
		adapters = NULL;
	}
	if (token_file && !(token = read_token(token_file)))
		goto usage;
	if (bearer_file && !(serve_gw.bearer = read_token(bearer_file)))
		goto usage;
	/* BLEOTA_SERVE_EXE: another program for the device operations (a
	 * wrapper, or the tests' stand-in for Bluetooth devices) */
	serve_gw.exe =
		g_getenv("BLEOTA_SERVE_EXE") && *g_getenv("BLEOTA_SERVE_EXE")
			? g_strdup(g_getenv("BLEOTA_SERVE_EXE"))
			: g_file_read_link("/proc/self/exe", NULL);
	if (!serve_gw.exe)
		serve_gw.exe = g_strdup("bleota");
	http_fetch_global_init();
	serve_gw.devices = g_ptr_array_new_with_free_func(serve_dev_free);
	serve_gw.firmware = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, serve_fw_free);
	serve_gw.per_adapter_running =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	serve_gw.loop = g_main_loop_new(NULL, FALSE);

	if (strcmp(listen, "none")) {
		serve_gw.http = serve_http_new(listen, token, &ops, NULL, err,
					       sizeof(err));
		if (!serve_gw.http) {
			fprintf(stderr, "bleota: %s\n", err);
			r = BLEOTA_EXIT_USAGE;
			goto out;
		}
	}
	/* before "serving": whoever reads it may signal at once */
	g_unix_signal_add(SIGHUP, on_sighup, NULL);
	g_unix_signal_add(SIGTERM, on_sigterm, NULL);
	g_unix_signal_add(SIGINT, on_sigterm, NULL);
	b = ev_begin("serving");
	serve_ev_str(b, "api",
		     serve_gw.http ? serve_http_url(serve_gw.http) : NULL);
	serve_ev_str(b, "config", serve_gw.config);
	serve_ev_str(b, "state_dir", serve_gw.state_dir);
	serve_ev_int(b, "pid", getpid());
	serve_ev_end(b, "serving", "serving %s%s%s, state in %s",
		     serve_gw.config, serve_gw.http ? ", API on " : "",
		     serve_gw.http ? serve_http_url(serve_gw.http) : "",
		     serve_gw.state_dir);

	if (serve_gw.config_is_url) {
		serve_poll_config_url();
	} else if (!serve_load_config_file(true)) {
		r = BLEOTA_EXIT_FAIL;
		goto out;
	}
	g_timeout_add(1000, tick, NULL);
	tick(NULL);
	serve_gw.exit_code = BLEOTA_EXIT_OK;
	g_main_loop_run(serve_gw.loop);
	r = serve_gw.exit_code;
	serve_persist();
	goto out;
usage:
	usage(stderr);
	r = BLEOTA_EXIT_USAGE;
out:
	if (adapters)
		g_ptr_array_free(adapters, TRUE);
	serve_http_free(serve_gw.http);
	if (serve_gw.devices)
		g_ptr_array_free(serve_gw.devices, TRUE);
	if (serve_gw.firmware)
		g_hash_table_destroy(serve_gw.firmware);
	if (serve_gw.per_adapter_running)
		g_hash_table_destroy(serve_gw.per_adapter_running);
	if (serve_gw.loop)
		g_main_loop_unref(serve_gw.loop);
	serve_desired_free(serve_gw.desired);
	g_strfreev(serve_gw.adapters);
	g_free(serve_gw.desired_text);
	g_free(serve_gw.desired_from);
	g_free(serve_gw.exe);
	g_free(serve_gw.config);
	g_free(serve_gw.state_dir);
	g_free(serve_gw.cache_dir);
	g_free(serve_gw.images_dir);
	g_free(serve_gw.bearer);
	g_free(serve_gw.ca_file);
	g_free(token);
	return r;
}
