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
 *
 * Comparison (provisional until devices store a version tag): a device
 * whose INFO carries "tag" is compared by tag; otherwise by the running
 * app's version string, and if that differs, by the firmware image's own
 * app version and project after download; a push answered SAME_AS_RUNNING
 * also means "already there".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "central/commands.h"
#include "central/manifest.h"
#include "central/serve_config.h"
#include "central/serve_device.h"
#include "central/serve_http.h"
#include "host/http_fetch.h"
#include "ota_engine/image.h"
#include "protocol/stream.h"

enum dev_state {
	DS_NEW,
	DS_CHECKING,
	DS_FETCHING,
	DS_PUSHING,
	DS_IN_SYNC,
	DS_REFUSED,
	DS_FAILED,
	DS_NO_RULE,
};

static const char *const state_names[] = {
	[DS_NEW] = "new",           [DS_CHECKING] = "checking",
	[DS_FETCHING] = "fetching", [DS_PUSHING] = "pushing",
	[DS_IN_SYNC] = "in_sync",   [DS_REFUSED] = "refused",
	[DS_FAILED] = "failed",     [DS_NO_RULE] = "no_rule",
};

enum fw_state {
	FW_IDLE,
	FW_FETCHING,
	FW_READY,
	FW_FAILED,
};

struct firmware {
	char *url;
	char *file;
	char *want_sha;
	enum fw_state state;
	char path[HTTP_FETCH_PATH_MAX];
	char sha256[65];
	uint64_t size;
	int err;
	char *error;
	GPtrArray *waiters; /* struct device * */
};

struct device {
	char *id;      /* what the CLI is given: unix:PATH or an address */
	char *name;    /* advertised name (scan), or NULL */
	char *adapter; /* hciN, or NULL */
	enum dev_state state;
	char *message;
	bool busy;
	bool due;
	gint64 next_try;   /* monotonic µs */
	gint64 last_check; /* monotonic µs */
	unsigned int attempts;
	struct serve_dev_info info;
	bool has_info;
	char *want_version;
	char *want_source;
	char *want_sha;
	bool pushing;    /* persisted: a push started and did not end */
	char *push_sha;  /* persisted: the image being pushed */
	char *installed; /* persisted: the version this gateway installed */
	uint64_t bytes;
	uint64_t total;
	uint32_t resumed_from;
	char img_version[33]; /* the firmware's own app version, project */
	char img_project[33];
	char *reached_msg; /* what to say once the boot state is checked */
	struct serve_op *op;
};

static struct gw {
	GMainLoop *loop;
	bool json;
	int verbose;
	bool once;
	int exit_code;
	char *exe;
	char *config;
	bool config_is_url;
	char *state_dir;
	char *cache_dir;
	char *bearer;
	char *ca_file;
	char **adapters;
	unsigned int jobs;
	unsigned int per_adapter;
	unsigned int retry_max_s;
	unsigned int recheck_s;
	unsigned int poll_s;
	unsigned int scan_s;
	struct serve_desired *desired;
	char *desired_text;
	char desired_sha[65];
	char *desired_from;
	struct stat config_st;
	bool config_fetching;
	gint64 next_poll;
	gint64 next_scan;
	unsigned int scans_running;
	unsigned int scans_done;
	GPtrArray *devices;   /* struct device *, in discovery order */
	GHashTable *firmware; /* key -> struct firmware * */
	GHashTable *per_adapter_running; /* adapter -> count */
	unsigned int running;
	struct serve_http *http;
	bool schedule_queued;
	bool restored;
} gw;

static void schedule(void);
static void persist(void);
static void restore(void);

/* ---- events ------------------------------------------------------------------- */

static JsonBuilder *ev_begin(const char *name)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "event");
	json_builder_add_string_value(b, name);
	return b;
}

static void ev_str(JsonBuilder *b, const char *key, const char *val)
{
	json_builder_set_member_name(b, key);
	if (val)
		json_builder_add_string_value(b, val);
	else
		json_builder_add_null_value(b);
}

static void ev_int(JsonBuilder *b, const char *key, gint64 val)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, val);
}

static char *builder_text(JsonBuilder *b)
{
	JsonGenerator *g = json_generator_new();
	JsonNode *root = json_builder_get_root(b);
	char *s;

	json_generator_set_root(g, root);
	s = json_generator_to_data(g, NULL);
	json_node_unref(root);
	g_object_unref(g);
	return s;
}

/* Adds "message", closes the object, prints it and sends it to SSE. */
static void G_GNUC_PRINTF(3, 4)
	ev_end(JsonBuilder *b, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *msg, *text;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ev_str(b, "message", msg);
	json_builder_end_object(b);
	text = builder_text(b);
	if (gw.json)
		printf("%s\n", text);
	else if (strcmp(name, "progress")) /* the JSON and the API have it */
		printf("serve: %s\n", msg);
	fflush(stdout);
	serve_http_event(gw.http, name, text);
	g_free(text);
	g_free(msg);
	g_object_unref(b);
}

/* ---- devices -------------------------------------------------------------------- */

static struct device *dev_find(const char *id)
{
	guint i;

	for (i = 0; i < gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(gw.devices, i);

		if (!g_ascii_strcasecmp(d->id, id))
			return d;
	}
	return NULL;
}

static struct device *dev_add(const char *id, const char *name,
			      const char *adapter)
{
	struct device *d = dev_find(id);

	if (d)
		return d;
	d = g_new0(struct device, 1);
	d->id = g_strdup(id);
	d->name = g_strdup(name && *name ? name : NULL);
	d->adapter = g_strdup(adapter);
	d->due = true;
	g_ptr_array_add(gw.devices, d);
	return d;
}

static void dev_free(gpointer p)
{
	struct device *d = p;

	serve_op_cancel(d->op);
	g_free(d->id);
	g_free(d->name);
	g_free(d->adapter);
	g_free(d->message);
	g_free(d->want_version);
	g_free(d->want_source);
	g_free(d->want_sha);
	g_free(d->push_sha);
	g_free(d->installed);
	g_free(d->reached_msg);
	g_free(d);
}

static void set_str(char **dst, const char *src)
{
	char *old = *dst;

	*dst = src ? g_strdup(src) : NULL;
	g_free(old);
}

/* The running version as the gateway compares it (see the file top). */
static const char *current_version(const struct device *d)
{
	return d->info.has_tag ? d->info.tag : d->info.version;
}

static void G_GNUC_PRINTF(3, 4)
	set_state(struct device *d, enum dev_state s, const char *fmt, ...)
{
	JsonBuilder *b = ev_begin("device");
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	d->state = s;
	set_str(&d->message, msg);
	ev_str(b, "device", d->id);
	ev_str(b, "state", state_names[s]);
	ev_str(b, "running", d->has_info ? current_version(d) : NULL);
	ev_str(b, "desired", d->want_version);
	ev_end(b, "device", "%s: %s", d->id, msg);
	g_free(msg);
	persist();
}

static const char *adapter_key(const struct device *d)
{
	if (g_str_has_prefix(d->id, "unix:"))
		return NULL;
	return d->adapter ? d->adapter : "default";
}

static bool slot_free(const struct device *d)
{
	const char *k = adapter_key(d);

	if (gw.running >= gw.jobs)
		return false;
	return !k || GPOINTER_TO_UINT(g_hash_table_lookup(
			     gw.per_adapter_running, k)) < gw.per_adapter;
}

static void take_slot(struct device *d)
{
	const char *k = adapter_key(d);

	d->busy = true;
	d->due = false;
	gw.running++;
	if (k)
		g_hash_table_insert(
			gw.per_adapter_running, g_strdup(k),
			GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(
						 gw.per_adapter_running, k)) +
					 1));
}

static void release(struct device *d)
{
	const char *k = adapter_key(d);

	if (!d->busy)
		return;
	d->busy = false;
	d->op = NULL;
	d->last_check = g_get_monotonic_time();
	gw.running--;
	if (k)
		g_hash_table_insert(
			gw.per_adapter_running, g_strdup(k),
			GUINT_TO_POINTER(GPOINTER_TO_UINT(g_hash_table_lookup(
						 gw.per_adapter_running, k)) -
					 1));
	persist();
	schedule();
}

/* A settled outcome: wait for a change of the desired state, --recheck or
 * POST /api/push. */
static void settle(struct device *d, enum dev_state s, const char *msg)
{
	d->attempts = 0;
	set_state(d, s, "%s", msg);
	release(d);
}

/* A transient failure: try again after a growing pause. */
static void fail_retry(struct device *d, const char *msg)
{
	unsigned int delay = 2u << (d->attempts < 10 ? d->attempts : 10);

	if (delay > gw.retry_max_s)
		delay = gw.retry_max_s;
	d->attempts++;
	d->due = true;
	d->next_try = g_get_monotonic_time() + (gint64)delay * G_USEC_PER_SEC;
	set_state(d, DS_FAILED, "%s (attempt %u; next in %u s)", msg,
		  d->attempts, delay);
	release(d);
}

static struct serve_dev_cfg dev_cfg(const struct device *d)
{
	return (struct serve_dev_cfg){
		.exe = gw.exe,
		.adapter = g_str_has_prefix(d->id, "unix:") ? NULL : d->adapter,
		.verbose = gw.verbose
	};
}

/* ---- push ---------------------------------------------------------------------- */

static void on_push_event(const struct serve_dev_event *ev, void *user_data)
{
	struct device *d = user_data;
	const char *msg;
	JsonBuilder *b;

	if (!strcmp(ev->event, "progress")) {
		d->bytes = ev->bytes;
		d->total = ev->total;
		b = ev_begin("progress");
		ev_str(b, "device", d->id);
		ev_int(b, "bytes", (gint64)ev->bytes);
		ev_int(b, "total", (gint64)ev->total);
		ev_end(b, "progress", "%s: %llu of %llu bytes", d->id,
		       (unsigned long long)ev->bytes,
		       (unsigned long long)ev->total);
		return;
	}
	if (!strcmp(ev->event, "resumed")) {
		d->resumed_from = (uint32_t)ev->bytes;
		b = ev_begin("resumed");
		ev_str(b, "device", d->id);
		ev_int(b, "held", (gint64)ev->bytes);
		ev_int(b, "total", (gint64)ev->total);
		ev_end(b, "resumed",
		       "%s: resuming, the device already holds %llu of %llu "
		       "bytes",
		       d->id, (unsigned long long)ev->bytes,
		       (unsigned long long)ev->total);
		return;
	}
	msg = ev->message;
	if (g_str_has_prefix(msg, d->id) && msg[strlen(d->id)] == ':')
		msg += strlen(d->id) + 1 + (msg[strlen(d->id) + 1] == ' ');
	b = ev_begin("step");
	ev_str(b, "device", d->id);
	ev_str(b, "step", ev->event);
	ev_end(b, "step", "%s: %s", d->id, msg);
}

static void on_confirm_done(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;
	JsonBuilder *b;
	char msg[600];

	d->op = NULL;
	if (r->code) {
		snprintf(msg, sizeof(msg), "cannot confirm: %s", r->message);
		fail_retry(d, msg);
		return;
	}
	d->pushing = false;
	set_str(&d->installed, d->want_version);
	b = ev_begin("updated");
	ev_str(b, "device", d->id);
	ev_str(b, "version", d->want_version);
	ev_str(b, "running", d->info.version);
	ev_str(b, "state", "VALID");
	ev_int(b, "resumed_from", 0);
	ev_end(b, "updated", "%s: now runs %s (VALID, confirmed)", d->id,
	       d->info.version);
	snprintf(msg, sizeof(msg), "runs %s", d->want_version);
	settle(d, DS_IN_SYNC, msg);
}

static void on_status(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;
	struct serve_dev_cfg cfg = dev_cfg(d);
	JsonBuilder *b;
	char msg[600];

	d->op = NULL;
	if (r->code) {
		snprintf(msg, sizeof(msg), "cannot read the boot state: %s",
			 r->message);
		fail_retry(d, msg);
		return;
	}
	if (strcmp(r->state, "PENDING_VERIFY")) {
		settle(d, DS_IN_SYNC, d->reached_msg);
		return;
	}
	/* the desired version runs but would be rolled back at the next
	 * reboot: make it permanent, as after our own push */
	b = ev_begin("step");
	ev_str(b, "device", d->id);
	ev_str(b, "step", "confirming");
	ev_end(b, "step", "%s: runs %s, PENDING_VERIFY: confirming it", d->id,
	       d->info.version);
	d->op = serve_dev_confirm(&cfg, d->id, on_confirm_done, d);
}

/* The device runs the desired version: in sync once its image is known
 * not to be waiting for a confirmation (`bleota status`). */
static void reached(struct device *d, const char *msg)
{
	struct serve_dev_cfg cfg = dev_cfg(d);

	d->pushing = false;
	set_str(&d->reached_msg, msg);
	d->op = serve_dev_status(&cfg, d->id, on_status, d);
}

static void on_push_done(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;
	JsonBuilder *b;
	char msg[900];

	d->op = NULL;
	if (r->code == BLEOTA_EXIT_OK) {
		d->pushing = false;
		set_str(&d->installed, d->want_version);
		if (!d->info.has_tag)
			snprintf(d->info.version, sizeof(d->info.version), "%s",
				 r->booted);
		b = ev_begin("updated");
		ev_str(b, "device", d->id);
		ev_str(b, "version", d->want_version);
		ev_str(b, "running", r->booted);
		ev_str(b, "state", r->state);
		ev_int(b, "resumed_from", r->resumed ? r->resumed_from : 0);
		ev_end(b, "updated", "%s: now runs %s (%s)%s", d->id, r->booted,
		       r->state, r->resumed ? ", resumed" : "");
		snprintf(msg, sizeof(msg), "runs %s", d->want_version);
		settle(d, DS_IN_SYNC, msg);
		return;
	}
	if (r->code == BLEOTA_EXIT_REFUSED &&
	    !strcmp(r->status, "PENDING_CONFIRM") &&
	    !strcmp(d->info.version, d->img_version) &&
	    !strcmp(d->info.project, d->img_project)) {
		/* an interrupted update got as far as the reboot: the new
		 * image runs, waiting for the confirmation it never got */
		struct serve_dev_cfg cfg = dev_cfg(d);

		b = ev_begin("step");
		ev_str(b, "device", d->id);
		ev_str(b, "step", "confirming");
		ev_end(b, "step",
		       "%s: runs %s %s, still PENDING_VERIFY from an "
		       "interrupted update: confirming it",
		       d->id, d->img_project, d->img_version);
		d->op = serve_dev_confirm(&cfg, d->id, on_confirm_done, d);
		return;
	}
	if (r->code == BLEOTA_EXIT_REFUSED &&
	    !strcmp(r->status, "SAME_AS_RUNNING")) {
		d->pushing = false;
		snprintf(msg, sizeof(msg), "already runs this image (%s)",
			 d->want_version);
		settle(d, DS_IN_SYNC, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s%s%s%s", r->message,
		 r->status[0] ? " [" : "", r->status, r->status[0] ? "]" : "");
	if (r->code == BLEOTA_EXIT_FAIL && !strcmp(r->status, "NOT_RUNNING")) {
		d->pushing = false;
		b = ev_begin("rollback");
		ev_str(b, "device", d->id);
		ev_str(b, "version", d->want_version);
		ev_end(b, "rollback", "%s: %s", d->id, r->message);
		settle(d, DS_REFUSED, msg);
		return;
	}
	if ((r->code == BLEOTA_EXIT_REFUSED && strcmp(r->status, "BUSY")) ||
	    r->code == BLEOTA_EXIT_BAD_IMAGE) {
		d->pushing = false;
		settle(d, DS_REFUSED, msg);
		return;
	}
	/* no connection, lost link, failed verification, killed: the device
	 * keeps what it verified, the next push resumes */
	fail_retry(d, msg);
}

static void start_push(struct device *d, const struct firmware *fw)
{
	struct serve_dev_cfg cfg = dev_cfg(d);
	JsonBuilder *b = ev_begin("push");
	bool again =
		d->pushing && d->push_sha && !strcmp(d->push_sha, fw->sha256);

	d->pushing = true;
	set_str(&d->push_sha, fw->sha256);
	d->bytes = 0;
	d->total = fw->size;
	d->resumed_from = 0;
	ev_str(b, "device", d->id);
	ev_str(b, "version", d->want_version);
	ev_str(b, "sha256", fw->sha256);
	ev_int(b, "bytes", (gint64)fw->size);
	json_builder_set_member_name(b, "again");
	json_builder_add_boolean_value(b, again);
	ev_end(b, "push", "%s: %s %s (%llu bytes)", d->id,
	       again ? "continuing the push of" : "pushing", d->want_version,
	       (unsigned long long)fw->size);
	set_state(d, DS_PUSHING, "pushing %s", d->want_version);
	d->op = serve_dev_push(&cfg, d->id, fw->path,
			       d->info.has_tag ? d->want_version : NULL,
			       on_push_event, on_push_done, d);
}

/* ---- pre-flight ------------------------------------------------------------------- */

/* A merged flash image (esptool merge_bin) holds the bootloader at 0x0 or
 * 0x1000, the partition table at 0x8000 (entries start with 0xAA 0x50)
 * and the app at 0x10000. */
static bool is_merged(const uint8_t *img, size_t len)
{
	return len > 0x8002 && img[0x8000] == 0xAA && img[0x8001] == 0x50;
}

/*
 * The checks every image gets on the gateway (pre-flight, and /api/upload):
 * 0, or -EINVAL with the reason in plain words in @msg. @what names the
 * file in the messages.
 */
static int image_problem(const uint8_t *img, size_t len, const char *what,
			 struct ota_manifest *m, struct manifest_sig *sig,
			 char *msg, size_t cap)
{
	struct ota_image_verify v;
	char desc[200];
	int r;

	r = manifest_from_image(img, len, &v, m, sig);
	/* only a file that is not a valid app image is looked at as a
	 * merged one (an app could hold 0xAA 0x50 at 0x8000) */
	if ((r == -EILSEQ || r == -EMSGSIZE) && is_merged(img, len))
		snprintf(msg, cap,
			 "%s is a merged flash image (bootloader, partition "
			 "table and app), not an app image: serve the app "
			 "image itself (build/PROJECT.bin)",
			 what);
	else if (r == -EILSEQ)
		snprintf(msg, cap, "%s is not a valid app image: %s", what,
			 ota_image_describe(&v, desc, sizeof(desc)));
	else if (r == -EMSGSIZE)
		snprintf(msg, cap,
			 "%s has %zu bytes after the app image's end "
			 "(a merged or padded binary?): serve the app image "
			 "itself",
			 what, len - v.info.image_len);
	else if (r)
		snprintf(msg, cap,
			 "%s ends in a signature sector with no valid block",
			 what);
	return r ? -EINVAL : 0;
}

static void preflight(struct device *d, const struct firmware *fw)
{
	struct ota_manifest m;
	struct manifest_sig sig;
	char msg[700];
	unsigned char *img;
	gsize len;

	if (!g_file_get_contents(fw->path, (gchar **)&img, &len, NULL)) {
		fail_retry(d, "cannot read the firmware from the cache");
		return;
	}
	if (image_problem(img, len, fw->url ? "the firmware" : fw->file, &m,
			  &sig, msg, sizeof(msg)))
		goto refuse;
	if (m.has_chip_id && m.chip_id != d->info.chip_id) {
		snprintf(msg, sizeof(msg),
			 "wrong chip: the firmware is for %s, the device is %s",
			 ota_image_chip_name(m.chip_id), d->info.chip);
		goto refuse;
	}
	if (d->info.slot_size && len > d->info.slot_size) {
		snprintf(msg, sizeof(msg),
			 "the firmware (%zu bytes) does not fit the device's "
			 "update slot (%u bytes)",
			 (size_t)len, d->info.slot_size);
		goto refuse;
	}
	snprintf(d->img_version, sizeof(d->img_version), "%s", m.version);
	snprintf(d->img_project, sizeof(d->img_project), "%s", m.project);
	if (!d->info.has_tag && !d->pushing &&
	    !strcmp(m.version, d->info.version) &&
	    !strcmp(m.project, d->info.project)) {
		snprintf(msg, sizeof(msg),
			 "runs %s %s, the firmware's own version (compared by "
			 "app version: the device reports no version tag)",
			 m.project, m.version);
		g_free(img);
		reached(d, msg);
		return;
	}
	g_free(img);
	start_push(d, fw);
	return;
refuse:
	g_free(img);
	d->pushing = false;
	settle(d, DS_REFUSED, msg);
}

/* ---- firmware ------------------------------------------------------------------------ */

struct fetch_job {
	struct http_fetch_opts o;
	char *url;
	char *sha;
	struct http_fetch_result r;
	int err;
	struct firmware *fw;
};

static void fetch_thread(GTask *task, gpointer src, gpointer data,
			 GCancellable *c)
{
	struct fetch_job *j = data;

	(void)src;
	(void)c;
	j->err = http_fetch(&j->o, &j->r);
	g_task_return_boolean(task, TRUE);
}

static void fetch_job_free(gpointer p)
{
	struct fetch_job *j = p;

	g_free(j->url);
	g_free(j->sha);
	g_free(j);
}

static void fw_done(struct firmware *fw)
{
	GPtrArray *w = fw->waiters;
	guint i;

	fw->waiters = g_ptr_array_new();
	for (i = 0; i < w->len; i++) {
		struct device *d = g_ptr_array_index(w, i);

		if (fw->state == FW_READY)
			preflight(d, fw);
		else if (fw->err == -EFBIG || fw->err == -EILSEQ)
			settle(d, DS_REFUSED, fw->error);
		else
			fail_retry(d, fw->error);
	}
	g_ptr_array_free(w, TRUE);
}

static void on_fetched(GObject *src, GAsyncResult *res, gpointer data)
{
	struct fetch_job *j = g_task_get_task_data(G_TASK(res));
	struct firmware *fw = j->fw;
	JsonBuilder *b;
	char clean[1024];

	(void)src;
	(void)data;
	http_fetch_redact(j->url, clean, sizeof(clean));
	if (j->err) {
		fw->state = FW_FAILED;
		fw->err = j->err;
		set_str(&fw->error, j->r.error);
		b = ev_begin("fetch_failed");
		ev_str(b, "url", clean);
		ev_int(b, "errno", -j->err);
		ev_end(b, "fetch_failed", "%s", j->r.error);
	} else {
		fw->state = FW_READY;
		snprintf(fw->path, sizeof(fw->path), "%s", j->r.path);
		snprintf(fw->sha256, sizeof(fw->sha256), "%s", j->r.sha256);
		fw->size = j->r.size;
		b = ev_begin("fetched");
		ev_str(b, "url", clean);
		ev_str(b, "sha256", j->r.sha256);
		ev_int(b, "bytes", (gint64)j->r.size);
		ev_int(b, "http_version", j->r.http_version);
		ev_int(b, "resumed_from", (gint64)j->r.resumed_from);
		json_builder_set_member_name(b, "cached");
		json_builder_add_boolean_value(b, j->r.from_cache);
		ev_end(b, "fetched", "%s: %llu bytes, sha256 %.16s...%s", clean,
		       (unsigned long long)j->r.size, j->r.sha256,
		       j->r.from_cache ? " (cache)" : "");
	}
	fw_done(fw);
}

static void fw_fetch(struct firmware *fw, uint32_t limit)
{
	struct fetch_job *j = g_new0(struct fetch_job, 1);
	GTask *t = g_task_new(NULL, NULL, on_fetched, NULL);

	fw->state = FW_FETCHING;
	j->fw = fw;
	j->url = g_strdup(fw->url);
	j->sha = g_strdup(fw->want_sha);
	j->o = (struct http_fetch_opts){ .url = j->url,
					 .cache_dir = gw.cache_dir,
					 .sha256_hex = j->sha,
					 .bearer = gw.bearer,
					 .ca_file = gw.ca_file,
					 .max_bytes = limit };
	g_task_set_task_data(t, j, fetch_job_free);
	g_task_run_in_thread(t, fetch_thread);
	g_object_unref(t);
}

static void fw_file(struct firmware *fw)
{
	char hex[65];
	struct stat st;
	int r = http_fetch_sha256_file(fw->file, hex);

	if (r) {
		fw->state = FW_FAILED;
		fw->err = r;
		g_free(fw->error);
		fw->error = g_strdup_printf("%s: %s", fw->file, strerror(-r));
		return;
	}
	if (fw->want_sha && strcmp(hex, fw->want_sha)) {
		fw->state = FW_FAILED;
		fw->err = -EILSEQ;
		g_free(fw->error);
		fw->error = g_strdup_printf(
			"%s: content has SHA-256 %s, expected %s", fw->file,
			hex, fw->want_sha);
		return;
	}
	stat(fw->file, &st);
	fw->state = FW_READY;
	snprintf(fw->path, sizeof(fw->path), "%s", fw->file);
	snprintf(fw->sha256, sizeof(fw->sha256), "%s", hex);
	fw->size = (uint64_t)st.st_size;
}

static void fw_free(gpointer p)
{
	struct firmware *fw = p;

	g_free(fw->url);
	g_free(fw->file);
	g_free(fw->want_sha);
	g_free(fw->error);
	g_ptr_array_free(fw->waiters, TRUE);
	g_free(fw);
}

static gboolean fw_forgettable(gpointer key, gpointer value, gpointer data)
{
	const struct firmware *fw = value;

	(void)key;
	(void)data;
	return fw->state != FW_FETCHING && !fw->waiters->len;
}

static void need_firmware(struct device *d, const struct serve_rule *rule)
{
	char *key = g_strdup_printf("%s#%s", rule->url ? rule->url : rule->file,
				    rule->sha256 ? rule->sha256 : "");
	struct firmware *fw = g_hash_table_lookup(gw.firmware, key);

	if (!fw) {
		fw = g_new0(struct firmware, 1);
		fw->url = g_strdup(rule->url);
		fw->file = g_strdup(rule->file);
		fw->want_sha = g_strdup(rule->sha256);
		fw->waiters = g_ptr_array_new();
		g_hash_table_insert(gw.firmware, key, fw);
	} else {
		g_free(key);
	}
	g_ptr_array_add(fw->waiters, d);
	if (fw->file) {
		fw_file(fw); /* local: hashed again at every use (rebuilds) */
		fw_done(fw);
		return;
	}
	switch (fw->state) {
	case FW_READY:
		fw_done(fw);
		return;
	case FW_IDLE:
	case FW_FAILED: /* a device retrying: try the download again */
		fw_fetch(fw,
			 d->info.slot_size ? d->info.slot_size : OTA_MAX_IMAGE);
		break;
	case FW_FETCHING:
		break;
	}
	set_state(d, DS_FETCHING, "fetching %s", d->want_source);
}

/* ---- check --------------------------------------------------------------------------- */

static void on_info(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;
	const struct serve_rule *rule;
	char msg[700];

	d->op = NULL;
	if (r->code) {
		snprintf(msg, sizeof(msg), "cannot read INFO: %s", r->message);
		fail_retry(d, msg);
		return;
	}
	d->info = r->info;
	d->has_info = true;
	rule = serve_rule_find(gw.desired, d->id, d->name, d->info.project,
			       d->info.chip);
	if (!rule) {
		set_str(&d->want_version, NULL);
		set_str(&d->want_source, NULL);
		d->pushing = false;
		settle(d, DS_NO_RULE, "no rule of the desired state matches");
		return;
	}
	set_str(&d->want_version, rule->version);
	set_str(&d->want_source, rule->url ? rule->url : rule->file);
	if (rule->url) {
		char clean[1024];

		set_str(&d->want_source,
			http_fetch_redact(rule->url, clean, sizeof(clean)));
	}
	set_str(&d->want_sha, rule->sha256);
	if (!d->pushing && !strcmp(current_version(d), rule->version)) {
		snprintf(msg, sizeof(msg), "runs %s%s", rule->version,
			 d->info.has_tag ? " (version tag)" : "");
		reached(d, msg);
		return;
	}
	need_firmware(d, rule);
}

static void start_check(struct device *d)
{
	struct serve_dev_cfg cfg = dev_cfg(d);

	take_slot(d);
	set_state(d, DS_CHECKING, "reading INFO");
	d->op = serve_dev_info(&cfg, d->id, on_info, d);
}

/* ---- scheduling ------------------------------------------------------------------------ */

static bool all_settled(void)
{
	guint i;

	if (!gw.desired || gw.config_fetching)
		return false;
	if (gw.adapters && (gw.scans_running || !gw.scans_done))
		return false; /* --once: what the first scan finds counts */
	for (i = 0; i < gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(gw.devices, i);

		if (d->busy || d->state == DS_NEW || d->state == DS_CHECKING ||
		    (d->due && d->state != DS_FAILED))
			return false;
	}
	return true;
}

static gboolean run_schedule(gpointer data)
{
	gint64 now = g_get_monotonic_time();
	guint i;

	(void)data;
	gw.schedule_queued = false;
	if (!gw.desired)
		return G_SOURCE_REMOVE;
	for (i = 0; i < gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(gw.devices, i);

		if (d->busy || !d->due || now < d->next_try)
			continue;
		if (gw.once && d->state == DS_FAILED)
			continue; /* --once: report, do not retry */
		if (!slot_free(d))
			continue;
		start_check(d);
	}
	if (gw.once && all_settled()) {
		guint bad = 0;

		for (i = 0; i < gw.devices->len; i++) {
			struct device *d = g_ptr_array_index(gw.devices, i);

			bad += d->state != DS_IN_SYNC && d->state != DS_NO_RULE;
		}
		gw.exit_code = bad ? BLEOTA_EXIT_FAIL : BLEOTA_EXIT_OK;
		g_main_loop_quit(gw.loop);
	}
	return G_SOURCE_REMOVE;
}

static void schedule(void)
{
	if (gw.schedule_queued)
		return;
	gw.schedule_queued = true;
	g_idle_add(run_schedule, NULL);
}

/* ---- persistence ------------------------------------------------------------------------ */

static void device_json(JsonBuilder *b, const struct device *d)
{
	gint64 now = g_get_monotonic_time();

	json_builder_begin_object(b);
	ev_str(b, "id", d->id);
	ev_str(b, "name", d->name);
	ev_str(b, "adapter", d->adapter);
	ev_str(b, "state", state_names[d->state]);
	ev_str(b, "message", d->message);
	json_builder_set_member_name(b, "running");
	if (d->has_info) {
		json_builder_begin_object(b);
		ev_str(b, "version", d->info.version);
		ev_str(b, "project", d->info.project);
		ev_str(b, "chip", d->info.chip);
		ev_int(b, "slot_size", d->info.slot_size);
		ev_str(b, "tag", d->info.has_tag ? d->info.tag : NULL);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	ev_str(b, "desired", d->want_version);
	ev_str(b, "source", d->want_source);
	ev_str(b, "installed", d->installed);
	json_builder_set_member_name(b, "pushing");
	json_builder_add_boolean_value(b, d->pushing);
	ev_str(b, "push_sha256", d->push_sha);
	ev_int(b, "bytes", (gint64)d->bytes);
	ev_int(b, "total", (gint64)d->total);
	ev_int(b, "attempts", d->attempts);
	ev_int(b, "retry_in",
	       d->due && d->next_try > now
		       ? (d->next_try - now) / G_USEC_PER_SEC
		       : 0);
	json_builder_end_object(b);
}

static char *devices_text(void)
{
	JsonBuilder *b = json_builder_new();
	char *s;
	guint i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	for (i = 0; i < gw.devices->len; i++)
		device_json(b, g_ptr_array_index(gw.devices, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	s = builder_text(b);
	g_object_unref(b);
	return s;
}

static void persist(void)
{
	char *path = g_build_filename(gw.state_dir, "devices.json", NULL);
	char *s = devices_text();
	GError *e = NULL;

	if (!g_file_set_contents(path, s, -1, &e)) {
		fprintf(stderr, "bleota: cannot save the state: %s\n",
			e->message);
		g_error_free(e);
	}
	g_free(s);
	g_free(path);
}

/* Restore what a previous gateway knew: pushes in progress, what it
 * installed, Bluetooth devices it had found. */
static void restore(void)
{
	char *path = g_build_filename(gw.state_dir, "devices.json", NULL);
	JsonParser *p = json_parser_new();
	JsonArray *a;
	guint i;

	if (!json_parser_load_from_file(p, path, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)) ||
	    !json_object_has_member(
		    json_node_get_object(json_parser_get_root(p)), "devices"))
		goto out;
	a = json_object_get_array_member(
		json_node_get_object(json_parser_get_root(p)), "devices");
	for (i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *o = json_array_get_object_element(a, i);
		const char *id, *sha;
		struct device *d;

		if (!o || !json_object_has_member(o, "id"))
			continue;
		id = json_object_get_string_member_with_default(o, "id", NULL);
		if (!id)
			continue;
		if (g_str_has_prefix(id, "unix:") &&
		    !serve_rule_find(gw.desired, id, NULL, NULL, NULL))
			continue; /* a socket no longer named */
		d = dev_add(id,
			    json_object_get_string_member_with_default(
				    o, "name", NULL),
			    json_object_get_string_member_with_default(
				    o, "adapter", NULL));
		d->pushing = json_object_get_boolean_member_with_default(
			o, "pushing", FALSE);
		sha = json_object_get_string_member_with_default(
			o, "push_sha256", NULL);
		set_str(&d->push_sha, sha);
		set_str(&d->installed,
			json_object_get_string_member_with_default(
				o, "installed", NULL));
	}
out:
	g_object_unref(p);
	g_free(path);
}

/* ---- desired state ------------------------------------------------------------------------ */

static void desired_error(const char *from, const char *why)
{
	JsonBuilder *b = ev_begin("desired_error");

	ev_str(b, "source", from);
	ev_end(b, "desired_error",
	       "%s: %s; the previous desired state stays in force", from, why);
}

/* Parse @text; on success it becomes the desired state. */
static bool install_desired(const char *text, size_t len, const char *from,
			    const char *base_dir)
{
	struct serve_desired *d;
	char err[512];
	gchar *sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256,
						 (const guchar *)text, len);
	JsonBuilder *b;
	guint i;

	if (gw.desired && !strcmp(sha, gw.desired_sha)) {
		g_free(sha);
		return true; /* unchanged */
	}
	d = serve_desired_parse(text, len, base_dir, err, sizeof(err));
	if (!d) {
		desired_error(from, err);
		g_free(sha);
		return false;
	}
	serve_desired_free(gw.desired);
	gw.desired = d;
	g_free(gw.desired_text);
	gw.desired_text = g_strndup(text, len);
	snprintf(gw.desired_sha, sizeof(gw.desired_sha), "%s", sha);
	set_str(&gw.desired_from, from);
	g_free(sha);
	{
		char *keep =
			g_build_filename(gw.state_dir, "desired.json", NULL);

		g_file_set_contents(keep, text, (gssize)len, NULL);
		g_free(keep);
	}
	/* firmware already known stays cached on disk; forget the entries
	 * so a changed URL content is looked at again */
	g_hash_table_foreach_remove(gw.firmware, fw_forgettable, NULL);
	for (i = 0; i < d->nrules; i++)
		if (d->rules[i].kind == SERVE_MATCH_ENDPOINT)
			dev_add(d->rules[i].value, NULL,
				g_str_has_prefix(d->rules[i].value, "unix:") ||
						!gw.adapters
					? NULL
					: gw.adapters[0]);
	for (i = 0; i < gw.devices->len; i++) {
		struct device *dv = g_ptr_array_index(gw.devices, i);

		dv->due = true;
		dv->attempts = 0;
		dv->next_try = 0;
	}
	if (!gw.restored) {
		gw.restored = true;
		restore();
	}
	b = ev_begin("desired");
	ev_str(b, "source", from);
	ev_str(b, "sha256", gw.desired_sha);
	ev_int(b, "rules", (gint64)d->nrules);
	ev_end(b, "desired", "desired state from %s: %zu rule%s", from,
	       d->nrules, d->nrules == 1 ? "" : "s");
	schedule();
	return true;
}

static bool load_config_file(bool initial)
{
	char *text = NULL, *dir;
	GError *e = NULL;
	gsize len;
	struct stat st;
	bool ok;

	if (stat(gw.config, &st) == 0)
		gw.config_st = st;
	if (!g_file_get_contents(gw.config, &text, &len, &e)) {
		if (initial)
			fprintf(stderr, "bleota: %s\n", e->message);
		else
			desired_error(gw.config, e->message);
		g_error_free(e);
		return false;
	}
	dir = g_path_get_dirname(gw.config);
	ok = install_desired(text, len, gw.config, dir);
	g_free(dir);
	g_free(text);
	return ok;
}

static bool config_changed(void)
{
	struct stat st;

	if (stat(gw.config, &st) < 0)
		return false; /* being replaced, or gone: keep what we have */
	return st.st_ino != gw.config_st.st_ino ||
	       st.st_size != gw.config_st.st_size ||
	       st.st_mtim.tv_sec != gw.config_st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != gw.config_st.st_mtim.tv_nsec;
}

static void on_config_fetched(GObject *src, GAsyncResult *res, gpointer data)
{
	struct fetch_job *j = g_task_get_task_data(G_TASK(res));
	char clean[1024];

	(void)src;
	(void)data;
	gw.config_fetching = false;
	http_fetch_redact(j->url, clean, sizeof(clean));
	if (j->err) {
		desired_error(clean, j->r.error);
	} else {
		char *text = NULL;
		gsize len;

		if (g_file_get_contents(j->r.path, &text, &len, NULL))
			install_desired(text, len, clean, NULL);
		g_free(text);
	}
	if (!gw.desired) {
		/* never had one: the last good copy from the state dir */
		char *keep =
			g_build_filename(gw.state_dir, "desired.json", NULL);
		char *text = NULL;
		gsize len;

		if (g_file_get_contents(keep, &text, &len, NULL)) {
			char *from =
				g_strdup_printf("%s (last good copy)", keep);

			install_desired(text, len, from, NULL);
			g_free(from);
		}
		g_free(text);
		g_free(keep);
	}
	schedule();
}

static void poll_config_url(void)
{
	struct fetch_job *j;
	GTask *t;

	if (gw.config_fetching)
		return;
	gw.config_fetching = true;
	gw.next_poll =
		g_get_monotonic_time() + (gint64)gw.poll_s * G_USEC_PER_SEC;
	j = g_new0(struct fetch_job, 1);
	j->url = g_strdup(gw.config);
	j->o = (struct http_fetch_opts){ .url = j->url,
					 .cache_dir = gw.cache_dir,
					 .bearer = gw.bearer,
					 .ca_file = gw.ca_file,
					 .max_bytes = 1024 * 1024,
					 .timeout_s = 60 };
	t = g_task_new(NULL, NULL, on_config_fetched, NULL);
	g_task_set_task_data(t, j, fetch_job_free);
	g_task_run_in_thread(t, fetch_thread);
	g_object_unref(t);
}

/* ---- scanning ------------------------------------------------------------------------ */

static void on_found(const char *address, const char *name, void *user_data)
{
	const char *adapter = user_data;
	struct device *d = dev_find(address);

	if (d) {
		if (name && *name)
			set_str(&d->name, name);
		return;
	}
	d = dev_add(address, name, adapter);
	set_state(d, DS_NEW, "found on %s%s%s", adapter, name ? " as " : "",
		  name ? name : "");
	schedule();
}

static void on_scan_done(const struct serve_dev_result *r, void *user_data)
{
	const char *adapter = user_data;

	gw.scans_running--;
	gw.scans_done++;
	schedule();
	if (r->code) {
		JsonBuilder *b = ev_begin("scan_failed");

		ev_str(b, "adapter", adapter);
		ev_end(b, "scan_failed", "scanning on %s: %s", adapter,
		       r->message);
	}
}

static void scan_all(void)
{
	unsigned int i;

	gw.next_scan =
		g_get_monotonic_time() + (gint64)gw.scan_s * G_USEC_PER_SEC;
	for (i = 0; gw.adapters && gw.adapters[i]; i++) {
		struct serve_dev_cfg cfg = { .exe = gw.exe,
					     .adapter = gw.adapters[i],
					     .verbose = gw.verbose };

		gw.scans_running++;
		serve_dev_scan(&cfg, 8, on_found, on_scan_done, gw.adapters[i]);
	}
}

/* ---- main loop glue ------------------------------------------------------------------------ */

static gboolean tick(gpointer data)
{
	gint64 now = g_get_monotonic_time();
	guint i;

	(void)data;
	if (!gw.config_is_url && config_changed())
		load_config_file(false);
	if (gw.config_is_url && now >= gw.next_poll)
		poll_config_url();
	if (gw.adapters && now >= gw.next_scan && !gw.scans_running)
		scan_all();
	for (i = 0; gw.recheck_s && i < gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(gw.devices, i);

		if (!d->busy && !d->due &&
		    now - d->last_check > (gint64)gw.recheck_s * G_USEC_PER_SEC)
			d->due = true;
	}
	schedule();
	return G_SOURCE_CONTINUE;
}

static gboolean on_sighup(gpointer data)
{
	(void)data;
	if (gw.config_is_url)
		poll_config_url();
	else
		load_config_file(false);
	return G_SOURCE_CONTINUE;
}

static gboolean on_sigterm(gpointer data)
{
	(void)data;
	g_main_loop_quit(gw.loop);
	return G_SOURCE_CONTINUE;
}

static char *api_devices(void *user_data)
{
	(void)user_data;
	return devices_text();
}

/* The document as loaded, without the credentials of its URLs. */
static JsonNode *desired_redacted(void)
{
	JsonNode *doc = json_from_string(gw.desired_text, NULL);
	JsonObject *root;
	JsonArray *a;
	guint i;

	if (!doc || !JSON_NODE_HOLDS_OBJECT(doc))
		return doc;
	root = json_node_get_object(doc);
	if (!json_object_has_member(root, "devices"))
		return doc;
	a = json_object_get_array_member(root, "devices");
	for (i = 0; a && i < json_array_get_length(a); i++) {
		JsonObject *r = json_array_get_object_element(a, i);
		const char *u;
		char clean[1024];

		u = r ? json_object_get_string_member_with_default(r, "url",
								   NULL)
		      : NULL;
		if (u)
			json_object_set_string_member(
				r, "url",
				http_fetch_redact(u, clean, sizeof(clean)));
	}
	return doc;
}

static char *api_desired(void *user_data)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *doc = gw.desired_text ? desired_redacted() : NULL;
	char *s;

	(void)user_data;
	json_builder_begin_object(b);
	ev_str(b, "source", gw.desired_from);
	ev_str(b, "sha256", gw.desired ? gw.desired_sha : NULL);
	json_builder_set_member_name(b, "document");
	if (doc)
		json_builder_add_value(b, doc);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	s = builder_text(b);
	g_object_unref(b);
	return s;
}

static int api_push(const char *id, void *user_data)
{
	struct device *d = dev_find(id);

	(void)user_data;
	if (!d)
		return -ENOENT;
	d->due = true;
	d->next_try = 0;
	d->attempts = 0;
	schedule();
	return 0;
}

/* ---- the page's requests (serve_http.h) ---------------------------------------- */

#define UPLOAD_LIMIT_NO_DEVICE (16u << 20) /* the largest ESP32 app slot */

static size_t api_upload_limit(void *user_data)
{
	size_t max = 0;
	guint i;

	(void)user_data;
	for (i = 0; i < gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(gw.devices, i);

		if (d->has_info && d->info.slot_size > max)
			max = d->info.slot_size;
	}
	return max ? max : UPLOAD_LIMIT_NO_DEVICE;
}

static char *api_error(unsigned int *status, unsigned int code, const char *msg)
{
	JsonBuilder *b = json_builder_new();
	char *s;

	*status = code;
	json_builder_begin_object(b);
	ev_str(b, "error", msg);
	json_builder_end_object(b);
	s = builder_text(b);
	g_object_unref(b);
	return s;
}

static char *upload_path(const char *sha)
{
	return g_build_filename(gw.cache_dir, "sha256", sha, NULL);
}

/* The facts `bleota image info` shows, as JSON. */
static void image_facts(JsonBuilder *b, const struct ota_manifest *m,
			const struct manifest_sig *sig, size_t len)
{
	char kd[2 * OTA_SHA256_LEN + 1];
	unsigned int i, j;

	ev_int(b, "size", (gint64)len);
	ev_str(b, "project", m->project);
	ev_str(b, "version", m->version);
	ev_str(b, "chip",
	       m->has_chip_id ? ota_image_chip_name(m->chip_id) : NULL);
	ev_int(b, "secure_version", m->secure_version);
	json_builder_set_member_name(b, "signatures");
	json_builder_begin_array(b);
	for (i = 0; sig->region && i < OTA_SIGBLOCK_MAX; i++) {
		const struct ota_sigblock *k = &sig->blk[i];

		if (k->err == OTA_SIGBLOCK_ERR_ABSENT)
			continue;
		json_builder_begin_object(b);
		ev_int(b, "block", i);
		ev_str(b, "scheme",
		       k->err ? NULL : ota_sig_scheme_name(k->scheme));
		for (j = 0; j < OTA_SHA256_LEN; j++)
			sprintf(kd + 2 * j, "%02x", k->key_digest[j]);
		ev_str(b, "key_digest", k->err ? NULL : kd);
		ev_str(b, "problem",
		       k->err ? ota_sigblock_strerror(k->err) : NULL);
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

static char *api_upload(const void *body, size_t len, unsigned int *status,
			void *user_data)
{
	struct ota_manifest m;
	struct manifest_sig sig;
	char msg[700], *sha, *path, *s;
	JsonBuilder *b;
	GError *e = NULL;

	(void)user_data;
	if (!len)
		return api_error(status, 400, "the file is empty");
	if (image_problem(body, len, "the file", &m, &sig, msg, sizeof(msg)))
		return api_error(status, 422, msg);
	sha = g_compute_checksum_for_data(G_CHECKSUM_SHA256, body, len);
	path = upload_path(sha);
	s = g_path_get_dirname(path);
	g_mkdir_with_parents(s, 0700);
	g_free(s);
	if (!g_file_set_contents(path, body, (gssize)len, &e)) {
		snprintf(msg, sizeof(msg), "cannot keep the file: %s",
			 e->message);
		g_error_free(e);
		g_free(path);
		g_free(sha);
		return api_error(status, 500, msg);
	}
	b = json_builder_new();
	json_builder_begin_object(b);
	ev_str(b, "sha256", sha);
	ev_str(b, "file", path);
	image_facts(b, &m, &sig, len);
	json_builder_end_object(b);
	s = builder_text(b);
	g_object_unref(b);
	g_free(path);
	g_free(sha);
	*status = 200;
	return s;
}

/*
 * Replaces the configuration file with @doc (checked first), keeping the
 * previous one as STATE/desired.previous.json, and puts it in force now.
 */
static char *write_desired(JsonNode *doc, unsigned int *status)
{
	JsonGenerator *g = json_generator_new();
	char err[512], *text, *dir, *keep, *old = NULL;
	struct serve_desired *d;
	GError *e = NULL;
	gsize len, oldlen;
	bool ok;

	if (gw.config_is_url)
		return api_error(status, 409,
				 "the desired state comes from a URL: change "
				 "it there");
	json_generator_set_root(g, doc);
	json_generator_set_pretty(g, TRUE);
	text = json_generator_to_data(g, &len);
	g_object_unref(g);
	dir = g_path_get_dirname(gw.config);
	d = serve_desired_parse(text, len, dir, err, sizeof(err));
	g_free(dir);
	if (!d) {
		g_free(text);
		return api_error(status, 400, err);
	}
	serve_desired_free(d);
	keep = g_build_filename(gw.state_dir, "desired.previous.json", NULL);
	if (g_file_get_contents(gw.config, &old, &oldlen, NULL))
		g_file_set_contents(keep, old, (gssize)oldlen, NULL);
	g_free(old);
	g_free(keep);
	ok = g_file_set_contents(gw.config, text, (gssize)len, &e);
	g_free(text);
	if (!ok) {
		snprintf(err, sizeof(err), "cannot write %s: %s", gw.config,
			 e->message);
		g_error_free(e);
		return api_error(status, 500, err);
	}
	if (!load_config_file(false))
		return api_error(status, 500,
				 "the new desired state did not "
				 "load (see the events)");
	*status = 200;
	return api_desired(NULL);
}

static JsonNode *json_body(const void *body, size_t len)
{
	char *text = g_strndup(body, len);
	JsonNode *n = json_from_string(text, NULL);

	g_free(text);
	if (n && !JSON_NODE_HOLDS_OBJECT(n)) {
		json_node_unref(n);
		return NULL;
	}
	return n;
}

static char *api_put_desired(const void *body, size_t len, unsigned int *status,
			     void *user_data)
{
	JsonNode *doc = json_body(body, len);
	char *s;

	(void)user_data;
	if (!doc)
		return api_error(status, 400,
				 "the body must be a desired-state document "
				 "{\"devices\": [...]}");
	s = write_desired(doc, status);
	json_node_unref(doc);
	return s;
}

/* Is @id one of the strings of @ids? */
static bool in_array(JsonArray *ids, const char *id)
{
	guint i;

	for (i = 0; i < json_array_get_length(ids); i++)
		if (!g_strcmp0(json_array_get_string_element(ids, i), id))
			return true;
	return false;
}

/*
 * {"sha256": HEX, "devices": [ID, ...], "version": TAG (optional)}: the
 * desired state gets, first, one rule per device naming the uploaded file;
 * the rules that named exactly these devices go.
 */
static char *api_update(const void *body, size_t len, unsigned int *status,
			void *user_data)
{
	JsonNode *req = json_body(body, len), *doc;
	JsonObject *o, *root, *rule;
	JsonArray *ids, *old, *rules;
	const char *sha, *version, *id, *match;
	struct ota_manifest m;
	struct manifest_sig sig;
	char msg[700], *path = NULL, *s = NULL;
	unsigned char *img = NULL;
	gsize ilen;
	guint i;

	(void)user_data;
	o = req ? json_node_get_object(req) : NULL;
	sha = o ? json_object_get_string_member_with_default(o, "sha256", NULL)
		: NULL;
	ids = o && json_object_has_member(o, "devices") &&
			      JSON_NODE_HOLDS_ARRAY(
				      json_object_get_member(o, "devices"))
		      ? json_object_get_array_member(o, "devices")
		      : NULL;
	if (!sha || !ids || !json_array_get_length(ids) || strlen(sha) != 64 ||
	    strspn(sha, "0123456789abcdef") != 64) {
		s = api_error(status, 400,
			      "the body must be {\"sha256\": HEX, \"devices\": "
			      "[ID, ...]}");
		goto out;
	}
	for (i = 0; i < json_array_get_length(ids); i++) {
		id = json_array_get_string_element(ids, i);
		if (!id || !dev_find(id)) {
			snprintf(msg, sizeof(msg), "no such device: %s",
				 id ? id : "(not a string)");
			s = api_error(status, 404, msg);
			goto out;
		}
	}
	path = upload_path(sha);
	if (!g_file_get_contents(path, (gchar **)&img, &ilen, NULL)) {
		s = api_error(status, 404,
			      "no uploaded image has this SHA-256: upload it "
			      "first");
		goto out;
	}
	if (image_problem(img, ilen, "the file", &m, &sig, msg, sizeof(msg))) {
		s = api_error(status, 422, msg);
		goto out;
	}
	version = json_object_get_string_member_with_default(o, "version",
							     m.version);
	doc = gw.desired_text ? json_from_string(gw.desired_text, NULL) : NULL;
	if (!doc || !JSON_NODE_HOLDS_OBJECT(doc)) {
		if (doc)
			json_node_unref(doc);
		doc = json_node_init_object(json_node_alloc(),
					    json_object_new());
	}
	root = json_node_get_object(doc);
	old = json_object_has_member(root, "devices")
		      ? json_object_get_array_member(root, "devices")
		      : NULL;
	rules = json_array_new();
	for (i = 0; i < json_array_get_length(ids); i++) {
		rule = json_object_new();
		json_object_set_string_member(
			rule, "match", json_array_get_string_element(ids, i));
		json_object_set_string_member(rule, "file", path);
		json_object_set_string_member(rule, "version", version);
		json_object_set_string_member(rule, "sha256", sha);
		json_array_add_object_element(rules, rule);
	}
	for (i = 0; old && i < json_array_get_length(old); i++) {
		JsonNode *n = json_array_get_element(old, i);

		match = JSON_NODE_HOLDS_OBJECT(n)
				? json_object_get_string_member_with_default(
					  json_node_get_object(n), "match",
					  NULL)
				: NULL;
		if (!match || !in_array(ids, match))
			json_array_add_element(rules, json_node_copy(n));
	}
	json_object_set_array_member(root, "devices", rules);
	s = write_desired(doc, status);
	json_node_unref(doc);
out:
	g_free(img);
	g_free(path);
	if (req)
		json_node_unref(req);
	return s;
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
		"  --state-dir DIR      state and download cache "
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
		{ 'j', "jobs", 1, 64, &gw.jobs },
		{ 'p', "per-adapter", 1, 16, &gw.per_adapter },
		{ 'P', "poll", 1, 86400, &gw.poll_s },
		{ 'S', "scan-interval", 10, 86400, &gw.scan_s },
		{ 'R', "recheck", 0, 604800, &gw.recheck_s },
		{ 'M', "retry-max", 1, 86400, &gw.retry_max_s },
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

	memset(&gw, 0, sizeof(gw));
	gw.jobs = 4;
	gw.per_adapter = 2;
	gw.retry_max_s = 300;
	gw.recheck_s = 600;
	gw.poll_s = 60;
	gw.scan_s = 60;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:s:l:i:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			gw.config = g_strdup(optarg);
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
			gw.ca_file = g_strdup(optarg);
			break;
		case 'o':
			gw.once = true;
			break;
		case 'J':
			gw.json = true;
			break;
		case 'v':
			gw.verbose++;
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
	if (optind != argc || !gw.config) {
		if (!gw.config)
			fprintf(stderr,
				"bleota: serve needs --config FILE|URL\n");
		goto usage;
	}
	gw.config_is_url = g_str_has_prefix(gw.config, "http://") ||
			   g_str_has_prefix(gw.config, "https://");
	if (!state_dir)
		state_dir = g_getenv("STATE_DIRECTORY"); /* systemd */
	gw.state_dir = g_strdup(state_dir ? state_dir : "bleota-serve");
	gw.cache_dir = g_build_filename(gw.state_dir, "cache", NULL);
	if (g_mkdir_with_parents(gw.cache_dir, 0700) < 0) {
		fprintf(stderr, "bleota: cannot create %s: %s\n", gw.cache_dir,
			strerror(errno));
		r = BLEOTA_EXIT_FAIL;
		goto out;
	}
	if (adapters->len) {
		g_ptr_array_add(adapters, NULL);
		gw.adapters = (char **)g_ptr_array_free(adapters, FALSE);
		adapters = NULL;
	}
	if (token_file && !(token = read_token(token_file)))
		goto usage;
	if (bearer_file && !(gw.bearer = read_token(bearer_file)))
		goto usage;
	/* BLEOTA_SERVE_EXE: another program for the device operations (a
	 * wrapper, or the tests' stand-in for Bluetooth devices) */
	gw.exe = g_getenv("BLEOTA_SERVE_EXE") && *g_getenv("BLEOTA_SERVE_EXE")
			 ? g_strdup(g_getenv("BLEOTA_SERVE_EXE"))
			 : g_file_read_link("/proc/self/exe", NULL);
	if (!gw.exe)
		gw.exe = g_strdup("bleota");
	http_fetch_global_init();
	gw.devices = g_ptr_array_new_with_free_func(dev_free);
	gw.firmware =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, fw_free);
	gw.per_adapter_running =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	gw.loop = g_main_loop_new(NULL, FALSE);

	if (strcmp(listen, "none")) {
		gw.http = serve_http_new(listen, token, &ops, NULL, err,
					 sizeof(err));
		if (!gw.http) {
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
	ev_str(b, "api", gw.http ? serve_http_url(gw.http) : NULL);
	ev_str(b, "config", gw.config);
	ev_str(b, "state_dir", gw.state_dir);
	ev_int(b, "pid", getpid());
	ev_end(b, "serving", "serving %s%s%s, state in %s", gw.config,
	       gw.http ? ", API on " : "",
	       gw.http ? serve_http_url(gw.http) : "", gw.state_dir);

	if (gw.config_is_url) {
		poll_config_url();
	} else if (!load_config_file(true)) {
		r = BLEOTA_EXIT_FAIL;
		goto out;
	}
	g_timeout_add(1000, tick, NULL);
	tick(NULL);
	gw.exit_code = BLEOTA_EXIT_OK;
	g_main_loop_run(gw.loop);
	r = gw.exit_code;
	persist();
	goto out;
usage:
	usage(stderr);
	r = BLEOTA_EXIT_USAGE;
out:
	if (adapters)
		g_ptr_array_free(adapters, TRUE);
	serve_http_free(gw.http);
	if (gw.devices)
		g_ptr_array_free(gw.devices, TRUE);
	if (gw.firmware)
		g_hash_table_destroy(gw.firmware);
	if (gw.per_adapter_running)
		g_hash_table_destroy(gw.per_adapter_running);
	if (gw.loop)
		g_main_loop_unref(gw.loop);
	serve_desired_free(gw.desired);
	g_strfreev(gw.adapters);
	g_free(gw.desired_text);
	g_free(gw.desired_from);
	g_free(gw.exe);
	g_free(gw.config);
	g_free(gw.state_dir);
	g_free(gw.cache_dir);
	g_free(gw.bearer);
	g_free(gw.ca_file);
	g_free(token);
	return r;
}
