/* SPDX-License-Identifier: MIT */
/*
 * The per-device state machine of `bleota serve` and its scheduler. Each
 * device is one job at a time holding one slot: INFO (on_info) ->
 * compare with its rule -> firmware (serve_need_firmware, serve_firmware.c) ->
 * pre-flight -> push --confirm (serve_start_push, on_push_event, on_push_done)
 * -> boot state (on_status; after a push or a confirm, serve_read_boot) ->
 * outcome. Slots: at most --jobs in total and --per-adapter per Bluetooth
 * adapter; unix: devices count only against the total. Transient failures retry with exponential back-off
 * (serve_fail_retry); refusals settle until the desired state changes, for
 * --recheck, or for POST /api/push. serve_schedule() queues one run_schedule()
 * on the main loop, which starts every due device a slot allows.
 *
 * Comparison: a device that stores version tags (INFO caps TAG; `bleota
 * info --json` then has "tag", a string or null for none) is compared by
 * the tag of the image it runs with the rule's "version", and is pushed
 * with --tag, so the tag it stores is the rule's. A device without tags is
 * compared by the running app's version string, and if that differs, by
 * the firmware image's own app version and project after download. A push
 * answered SAME_AS_RUNNING means "already there" either way (with tags:
 * the image, not the tag, which stays what it was: docs/serve.md).
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "central/commands.h"
#include "central/serve_priv.h"

/* ---- devices -------------------------------------------------------------------- */

struct device *serve_dev_find(const char *id)
{
	guint i;

	for (i = 0; i < serve_gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(serve_gw.devices, i);

		if (!g_ascii_strcasecmp(d->id, id))
			return d;
	}
	return NULL;
}

struct device *serve_dev_add(const char *id, const char *name,
			     const char *adapter)
{
	struct device *d = serve_dev_find(id);

	if (d)
		return d;
	d = g_new0(struct device, 1);
	d->id = g_strdup(id);
	d->name = g_strdup(name && *name ? name : NULL);
	d->adapter = g_strdup(adapter);
	d->due = true;
	g_ptr_array_add(serve_gw.devices, d);
	return d;
}

void serve_dev_free(gpointer p)
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
	g_free(d->explicit_sha);
	g_free(d->warning);
	g_free(d->dev_status);
	g_free(d->boot_state);
	g_free(d->last_boot);
	g_free(d->encoding);
	g_free(d->plan);
	g_free(d);
}

void serve_set_str(char **dst, const char *src)
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

void G_GNUC_PRINTF(3, 4) serve_set_state(struct device *d, enum dev_state s,
					 const char *fmt, ...)
{
	JsonBuilder *b = ev_begin("device");
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	d->state = s;
	serve_set_str(&d->message, msg);
	serve_ev_str(b, "device", d->id);
	serve_ev_str(b, "state", serve_state_names[s]);
	serve_ev_str(b, "running", d->has_info ? current_version(d) : NULL);
	serve_ev_str(b, "desired", d->want_version);
	serve_ev_end(b, "device", "%s: %s", d->id, msg);
	g_free(msg);
	serve_persist();
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

	if (serve_gw.running >= serve_gw.jobs)
		return false;
	return !k ||
	       GPOINTER_TO_UINT(g_hash_table_lookup(
		       serve_gw.per_adapter_running, k)) < serve_gw.per_adapter;
}

static void take_slot(struct device *d)
{
	const char *k = adapter_key(d);

	d->busy = true;
	d->due = false;
	serve_gw.running++;
	if (k)
		g_hash_table_insert(
			serve_gw.per_adapter_running, g_strdup(k),
			GUINT_TO_POINTER(
				GPOINTER_TO_UINT(g_hash_table_lookup(
					serve_gw.per_adapter_running, k)) +
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
	serve_gw.running--;
	if (k)
		g_hash_table_insert(
			serve_gw.per_adapter_running, g_strdup(k),
			GUINT_TO_POINTER(
				GPOINTER_TO_UINT(g_hash_table_lookup(
					serve_gw.per_adapter_running, k)) -
				1));
	serve_persist();
	serve_schedule();
}

/* A settled outcome: wait for a change of the desired state, --recheck or
 * POST /api/push. */
void serve_settle(struct device *d, enum dev_state s, const char *msg)
{
	d->attempts = 0;
	serve_set_state(d, s, "%s", msg);
	release(d);
}

/* A transient failure: try again after a growing pause. */
void serve_fail_retry(struct device *d, const char *msg)
{
	unsigned int delay = 2u << (d->attempts < 10 ? d->attempts : 10);

	if (delay > serve_gw.retry_max_s)
		delay = serve_gw.retry_max_s;
	d->attempts++;
	d->due = true;
	d->next_try = g_get_monotonic_time() + (gint64)delay * G_USEC_PER_SEC;
	serve_set_state(d, DS_FAILED, "%s (attempt %u; next in %u s)", msg,
			d->attempts, delay);
	release(d);
}

static struct serve_dev_cfg dev_cfg(const struct device *d)
{
	return (struct serve_dev_cfg){
		.exe = serve_gw.exe,
		.adapter = g_str_has_prefix(d->id, "unix:") ? NULL : d->adapter,
		.verbose = serve_gw.verbose,
		.image_cache = serve_gw.images_dir,
		.full = serve_gw.no_delta
	};
}

/* ---- push ---------------------------------------------------------------------- */

/* A child's message without its leading "DEVICE: ". */
static const char *without_id(const struct device *d, const char *msg)
{
	size_t n = strlen(d->id);

	if (g_str_has_prefix(msg, d->id) && msg[n] == ':')
		msg += n + 1 + (msg[n + 1] == ' ');
	return msg;
}

/* What the push sends (its "plan" event; again after a WRONG_BASE): the
 * devices document and the page say it next to the progress. */
static void on_plan(struct device *d, const struct serve_dev_event *ev)
{
	const char *msg = without_id(d, ev->message);
	JsonBuilder *b;

	serve_set_str(&d->encoding, ev->encoding[0] ? ev->encoding : NULL);
	serve_set_str(&d->plan, msg);
	d->air_bytes = 0;
	d->air_total = ev->air_total;
	if (ev->total)
		d->total = ev->total;
	b = ev_begin("plan");
	serve_ev_str(b, "device", d->id);
	serve_ev_str(b, "encoding", d->encoding);
	serve_ev_int(b, "air_total", (gint64)ev->air_total);
	serve_ev_int(b, "image", (gint64)ev->total);
	serve_ev_str(b, "base", ev->base[0] ? ev->base : NULL);
	serve_ev_end(b, "plan", "%s: %s", d->id, msg);
}

static void on_push_event(const struct serve_dev_event *ev, void *user_data)
{
	struct device *d = user_data;
	const char *msg;
	JsonBuilder *b;

	if (!strcmp(ev->event, "plan")) {
		on_plan(d, ev);
		return;
	}
	if (!strcmp(ev->event, "progress")) {
		d->bytes = ev->bytes;
		d->total = ev->total;
		/* the plain image: what is on the air is the image itself */
		d->air_bytes = ev->air_total ? ev->air : ev->bytes;
		if (ev->air_total)
			d->air_total = ev->air_total;
		b = ev_begin("progress");
		serve_ev_str(b, "device", d->id);
		serve_ev_int(b, "bytes", (gint64)ev->bytes);
		serve_ev_int(b, "total", (gint64)ev->total);
		serve_ev_int(b, "air", (gint64)d->air_bytes);
		serve_ev_int(b, "air_total", (gint64)d->air_total);
		serve_ev_end(b, "progress", "%s: %llu of %llu bytes", d->id,
			     (unsigned long long)ev->bytes,
			     (unsigned long long)ev->total);
		return;
	}
	if (!strcmp(ev->event, "resumed")) {
		d->resumed_from = (uint32_t)ev->bytes;
		b = ev_begin("resumed");
		serve_ev_str(b, "device", d->id);
		serve_ev_int(b, "held", (gint64)ev->bytes);
		serve_ev_int(b, "total", (gint64)ev->total);
		serve_ev_end(
			b, "resumed",
			"%s: resuming, the device already holds %llu of %llu "
			"bytes",
			d->id, (unsigned long long)ev->bytes,
			(unsigned long long)ev->total);
		return;
	}
	msg = without_id(d, ev->message);
	b = ev_begin("step");
	serve_ev_str(b, "device", d->id);
	serve_ev_str(b, "step", ev->event);
	serve_ev_end(b, "step", "%s: %s", d->id, msg);
}

static void on_confirm_done(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;
	JsonBuilder *b;
	char msg[600];

	d->op = NULL;
	if (r->code) {
		snprintf(msg, sizeof(msg), "cannot confirm: %s", r->message);
		serve_fail_retry(d, msg);
		return;
	}
	d->pushing = false;
	serve_set_str(&d->installed, d->want_version);
	b = ev_begin("updated");
	serve_ev_str(b, "device", d->id);
	serve_ev_str(b, "version", d->want_version);
	serve_ev_str(b, "running", d->info.version);
	serve_ev_str(b, "state", "VALID");
	serve_ev_int(b, "resumed_from", 0);
	serve_ev_end(b, "updated", "%s: now runs %s (VALID, confirmed)", d->id,
		     d->info.version);
	snprintf(msg, sizeof(msg), "runs %s", d->want_version);
	serve_read_boot(d, DS_IN_SYNC, msg);
}

/* What the device's STATUS says (`bleota status`), for the devices
 * document: the boot state, and what runs now (version, stored tag). */
static void note_boot(struct device *d, const struct serve_dev_result *r)
{
	serve_set_str(&d->boot_state, r->code ? NULL : r->state);
	serve_set_str(&d->last_boot, r->code ? NULL : r->last_boot);
	if (r->code)
		return;
	if (r->run_version[0])
		snprintf(d->info.version, sizeof(d->info.version), "%s",
			 r->run_version);
	if (r->has_run_tag) {
		d->info.has_tag = true;
		snprintf(d->info.tag, sizeof(d->info.tag), "%s", r->run_tag);
	}
}

/* Then settle as serve_read_boot() was asked. */
static void on_boot_read(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;

	d->op = NULL;
	note_boot(d, r);
	serve_settle(d, d->after_boot, d->reached_msg);
}

void serve_read_boot(struct device *d, enum dev_state then, const char *msg)
{
	struct serve_dev_cfg cfg = dev_cfg(d);

	serve_set_str(&d->reached_msg, msg);
	d->after_boot = then;
	d->op = serve_dev_status(&cfg, d->id, on_boot_read, d);
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
		serve_fail_retry(d, msg);
		return;
	}
	note_boot(d, r);
	if (strcmp(r->state, "PENDING_VERIFY")) {
		serve_settle(d, DS_IN_SYNC, d->reached_msg);
		return;
	}
	/* the desired version runs but would be rolled back at the next
	 * reboot: make it permanent, as after our own push */
	b = ev_begin("step");
	serve_ev_str(b, "device", d->id);
	serve_ev_str(b, "step", "confirming");
	serve_ev_end(b, "step", "%s: runs %s, PENDING_VERIFY: confirming it",
		     d->id, d->info.version);
	d->op = serve_dev_confirm(&cfg, d->id, on_confirm_done, d);
}

/* The device runs the desired version: in sync once its image is known
 * not to be waiting for a confirmation (`bleota status`). */
void serve_reached(struct device *d, const char *msg)
{
	struct serve_dev_cfg cfg = dev_cfg(d);

	d->pushing = false;
	serve_set_str(&d->reached_msg, msg);
	d->op = serve_dev_status(&cfg, d->id, on_status, d);
}

static void on_push_done(const struct serve_dev_result *r, void *user_data)
{
	struct device *d = user_data;
	bool retag = d->retag;
	JsonBuilder *b;
	char msg[900];

	d->op = NULL;
	d->retag = false;
	if (r->code == BLEOTA_EXIT_REFUSED || r->code == BLEOTA_EXIT_VERIFY)
		serve_set_str(&d->dev_status, r->status[0] ? r->status : NULL);
	if (r->code == BLEOTA_EXIT_OK) {
		d->pushing = false;
		serve_set_str(&d->installed, d->want_version);
		if (!d->info.has_tag)
			snprintf(d->info.version, sizeof(d->info.version), "%s",
				 r->booted);
		b = ev_begin("updated");
		serve_ev_str(b, "device", d->id);
		serve_ev_str(b, "version", d->want_version);
		serve_ev_str(b, "running", r->booted);
		serve_ev_str(b, "state", r->state);
		serve_ev_int(b, "resumed_from",
			     r->resumed ? r->resumed_from : 0);
		serve_ev_str(b, "encoding",
			     r->encoding[0] ? r->encoding : d->encoding);
		serve_ev_int(b, "air_bytes", (gint64)r->air_bytes);
		serve_ev_end(b, "updated", "%s: now runs %s (%s)%s", d->id,
			     r->booted, r->state,
			     r->resumed ? ", resumed" : "");
		snprintf(msg, sizeof(msg), "runs %s", d->want_version);
		serve_read_boot(d, DS_IN_SYNC, msg);
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
		serve_ev_str(b, "device", d->id);
		serve_ev_str(b, "step", "confirming");
		serve_ev_end(b, "step",
			     "%s: runs %s %s, still PENDING_VERIFY from an "
			     "interrupted update: confirming it",
			     d->id, d->img_project, d->img_version);
		d->op = serve_dev_confirm(&cfg, d->id, on_confirm_done, d);
		return;
	}
	if (r->code == BLEOTA_EXIT_REFUSED &&
	    !strcmp(r->status, "SAME_AS_RUNNING") && !retag &&
	    d->info.has_tag && d->info.tag[0] &&
	    strcmp(d->info.tag, d->want_version)) {
		/* the version changed, the image did not: install it again
		 * so the device stores the new tag (a delta of the image
		 * against itself when STATE/images has it). An image that
		 * runs with no tag at all (flashed, not pushed) is taken as
		 * it is: re-installing every such device is not worth a tag */
		const struct serve_rule *rule =
			serve_rule_find(serve_gw.desired, d->id, d->name,
					d->info.project, d->info.chip);

		if (rule && !strcmp(rule->version, d->want_version)) {
			d->retag = true;
			b = ev_begin("step");
			serve_ev_str(b, "device", d->id);
			serve_ev_str(b, "step", "retag");
			serve_ev_end(b, "step",
				     "%s: already runs this image, tagged "
				     "\"%s\": installing it again (push "
				     "--force) to store the version tag \"%s\"",
				     d->id, d->info.tag, d->want_version);
			serve_need_firmware(d, rule);
			return;
		}
	}
	if (r->code == BLEOTA_EXIT_REFUSED &&
	    !strcmp(r->status, "SAME_AS_RUNNING")) {
		d->pushing = false;
		if (d->info.has_tag)
			snprintf(msg, sizeof(msg),
				 "already runs this image (%s); its stored "
				 "version tag stays \"%s\"",
				 d->want_version, d->info.tag);
		else
			snprintf(msg, sizeof(msg),
				 "already runs this image (%s)",
				 d->want_version);
		serve_read_boot(d, DS_IN_SYNC, msg);
		return;
	}
	snprintf(msg, sizeof(msg), "%s%s%s%s", r->message,
		 r->status[0] ? " [" : "", r->status, r->status[0] ? "]" : "");
	if (r->code == BLEOTA_EXIT_FAIL && !strcmp(r->status, "NOT_RUNNING")) {
		d->pushing = false;
		b = ev_begin("rollback");
		serve_ev_str(b, "device", d->id);
		serve_ev_str(b, "version", d->want_version);
		serve_ev_end(b, "rollback", "%s: %s", d->id, r->message);
		serve_read_boot(d, DS_REFUSED, msg);
		return;
	}
	if ((r->code == BLEOTA_EXIT_REFUSED && strcmp(r->status, "BUSY")) ||
	    r->code == BLEOTA_EXIT_BAD_IMAGE) {
		d->pushing = false;
		serve_read_boot(d, DS_REFUSED, msg); /* e.g. PENDING_VERIFY */
		return;
	}
	/* no connection, lost link, failed verification, killed: the device
	 * keeps what it verified, the next push resumes */
	serve_fail_retry(d, msg);
}

void serve_start_push(struct device *d, const struct firmware *fw)
{
	struct serve_dev_cfg cfg = dev_cfg(d);
	JsonBuilder *b = ev_begin("push");
	/* a retag's forced push follows a refused one: it continues nothing */
	bool again = !d->retag && d->pushing && d->push_sha &&
		     !strcmp(d->push_sha, fw->sha256);

	cfg.force = d->retag;
	d->pushing = true;
	serve_set_str(&d->push_sha, fw->sha256);
	d->bytes = 0;
	d->total = fw->size;
	d->resumed_from = 0;
	serve_set_str(&d->encoding, NULL); /* until its "plan" says */
	serve_set_str(&d->plan, NULL);
	d->air_bytes = 0;
	d->air_total = 0;
	serve_ev_str(b, "device", d->id);
	serve_ev_str(b, "version", d->want_version);
	serve_ev_str(b, "sha256", fw->sha256);
	serve_ev_int(b, "bytes", (gint64)fw->size);
	json_builder_set_member_name(b, "again");
	json_builder_add_boolean_value(b, again);
	serve_ev_end(b, "push", "%s: %s %s (%llu bytes)", d->id,
		     again ? "continuing the push of" : "pushing",
		     d->want_version, (unsigned long long)fw->size);
	serve_set_state(d, DS_PUSHING, "pushing %s", d->want_version);
	d->op = serve_dev_push(&cfg, d->id, fw->path,
			       d->info.has_tag ? d->want_version : NULL,
			       on_push_event, on_push_done, d);
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
		serve_fail_retry(d, msg);
		return;
	}
	d->info = r->info;
	d->has_info = true;
	rule = serve_rule_find(serve_gw.desired, d->id, d->name,
			       d->info.project, d->info.chip);
	if (!rule) {
		serve_set_str(&d->want_version, NULL);
		serve_set_str(&d->want_source, NULL);
		d->pushing = false;
		serve_settle(d, DS_NO_RULE,
			     "no rule of the desired state matches");
		return;
	}
	serve_set_str(&d->want_version, rule->version);
	serve_set_str(&d->want_source, rule->url ? rule->url : rule->file);
	if (rule->url) {
		char clean[1024];

		serve_set_str(
			&d->want_source,
			http_fetch_redact(rule->url, clean, sizeof(clean)));
	}
	serve_set_str(&d->want_sha, rule->sha256);
	if (!d->pushing && !strcmp(current_version(d), rule->version)) {
		snprintf(msg, sizeof(msg), "runs %s%s", rule->version,
			 d->info.has_tag ? " (version tag)" : "");
		serve_reached(d, msg);
		return;
	}
	serve_need_firmware(d, rule);
}

static void start_check(struct device *d)
{
	struct serve_dev_cfg cfg = dev_cfg(d);

	take_slot(d);
	serve_set_state(d, DS_CHECKING, "reading INFO");
	d->op = serve_dev_info(&cfg, d->id, on_info, d);
}

/* ---- scheduling ------------------------------------------------------------------------ */

static bool all_settled(void)
{
	guint i;

	if (!serve_gw.desired || serve_gw.config_fetching)
		return false;
	if (serve_gw.adapters &&
	    (serve_gw.scans_running || !serve_gw.scans_done))
		return false; /* --once: what the first scan finds counts */
	for (i = 0; i < serve_gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(serve_gw.devices, i);

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
	serve_gw.schedule_queued = false;
	if (!serve_gw.desired)
		return G_SOURCE_REMOVE;
	for (i = 0; i < serve_gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(serve_gw.devices, i);

		if (d->busy || !d->due || now < d->next_try)
			continue;
		if (serve_gw.once && d->state == DS_FAILED)
			continue; /* --once: report, do not retry */
		if (!slot_free(d))
			continue;
		start_check(d);
	}
	if (serve_gw.once && all_settled()) {
		guint bad = 0;

		for (i = 0; i < serve_gw.devices->len; i++) {
			struct device *d =
				g_ptr_array_index(serve_gw.devices, i);

			bad += d->state != DS_IN_SYNC && d->state != DS_NO_RULE;
		}
		serve_gw.exit_code = bad ? BLEOTA_EXIT_FAIL : BLEOTA_EXIT_OK;
		g_main_loop_quit(serve_gw.loop);
	}
	return G_SOURCE_REMOVE;
}

void serve_schedule(void)
{
	if (serve_gw.schedule_queued)
		return;
	serve_gw.schedule_queued = true;
	g_idle_add(run_schedule, NULL);
}
