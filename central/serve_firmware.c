/* SPDX-License-Identifier: MIT */
/*
 * Firmware for `bleota serve`: one record per image source (URL or file)
 * shared by every device that wants it, so an image downloads once however
 * many devices wait for it; downloads run on a GLib worker thread
 * (serve_fetch_thread, host/http_fetch.h) into the cache directory and are
 * checked against the rule's sha256. Before a push, pre-flight reads the
 * image and refuses what cannot work on that device (serve_image_problem: not an
 * app image, a merged flash image, wrong chip, too big for its slot, bad
 * signature); /api/upload runs the same checks. For the page's explicit
 * Update of a device, chip and size only warn: the device decides.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <json-glib/json-glib.h>

#include "central/imagecheck.h"
#include "central/manifest.h"
#include "ota_engine/image.h"
#include "protocol/stream.h"
#include "central/serve_priv.h"

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
 * 0, or -EINVAL with the reason in plain words in @msg (and what to do,
 * as `bleota image verify` says it). @what names the file in the messages.
 * @v: the verifier's findings, for the caller.
 */
int serve_image_problem(const uint8_t *img, size_t len, const char *what,
			struct ota_image_verify *v, struct ota_manifest *m,
			struct manifest_sig *sig, char *msg, size_t cap)
{
	char desc[200];
	int r;

	r = manifest_from_image(img, len, v, m, sig);
	/* only a file that is not a valid app image is looked at as a
	 * merged one (an app could hold 0xAA 0x50 at 0x8000) */
	if ((r == -EILSEQ || r == -EMSGSIZE) && is_merged(img, len))
		snprintf(msg, cap,
			 "%s is a merged flash image (bootloader, partition "
			 "table and app), not an app image: serve the app "
			 "image itself (build/PROJECT.bin)",
			 what);
	else if (r == -EILSEQ)
		snprintf(msg, cap, "%s is not a valid app image: %s: %s", what,
			 ota_image_describe(v, desc, sizeof(desc)),
			 image_advice(v->err));
	else if (r == -EMSGSIZE)
		snprintf(msg, cap,
			 "%s has %zu bytes after the app image's end "
			 "(a merged or padded binary?): serve the app image "
			 "itself",
			 what, len - v->info.image_len);
	else if (r)
		snprintf(msg, cap,
			 "%s ends in a signature sector with no valid block",
			 what);
	return r ? -EINVAL : 0;
}

/*
 * A problem the device itself would refuse (another chip, larger than its
 * update slot): @msg says it, in the words of a warning when @warn.
 */
static bool fit_problem(const struct device *d, const struct ota_manifest *m,
			size_t len, bool warn, char *msg, size_t cap)
{
	if (m->has_chip_id && m->chip_id != d->info.chip_id) {
		if (warn)
			snprintf(msg, cap,
				 "this image is for %s; %s reports %s: the "
				 "device will refuse it",
				 ota_image_chip_name(m->chip_id), d->id,
				 d->info.chip);
		else
			snprintf(msg, cap,
				 "wrong chip: the firmware is for %s, the "
				 "device is %s",
				 ota_image_chip_name(m->chip_id), d->info.chip);
		return true;
	}
	if (d->info.slot_size && len > d->info.slot_size) {
		snprintf(msg, cap,
			 warn ? "this image (%zu bytes) is larger than the "
				"device's update slot (%u bytes): the device "
				"will refuse it"
			      : "the firmware (%zu bytes) does not fit the "
				"device's update slot (%u bytes)",
			 len, d->info.slot_size);
		return true;
	}
	return false;
}

/*
 * Pre-flight: the desired state's images that cannot work on the device
 * are refused here, before anything is sent. An image the page's Update
 * chose for this device (d->explicit_sha) is sent anyway after a warning
 * event: the outcome shown is then the device's own answer (once; the
 * reconcile loop's later checks refuse it here again).
 */
static void preflight(struct device *d, const struct firmware *fw)
{
	struct ota_image_verify v;
	struct ota_manifest m;
	struct manifest_sig sig;
	char msg[700];
	unsigned char *img;
	bool explicit;
	gsize len;

	if (!g_file_get_contents(fw->path, (gchar **)&img, &len, NULL)) {
		serve_fail_retry(d, "cannot read the firmware from the cache");
		return;
	}
	if (serve_image_problem(img, len, fw->url ? "the firmware" : fw->file,
				&v, &m, &sig, msg, sizeof(msg)))
		goto refuse;
	serve_set_str(&d->dev_status, NULL); /* the next push's, if any */
	explicit = d->explicit_sha && !strcmp(d->explicit_sha, fw->sha256);
	if (explicit) /* once: a later check follows the desired state */
		serve_set_str(&d->explicit_sha, NULL);
	serve_set_str(&d->warning, NULL);
	if (fit_problem(d, &m, len, explicit, msg, sizeof(msg))) {
		JsonBuilder *b;

		if (!explicit)
			goto refuse;
		serve_set_str(&d->warning, msg);
		b = ev_begin("warning");
		serve_ev_str(b, "device", d->id);
		serve_ev_end(b, "warning", "%s: %s; sending it as asked", d->id,
			     msg);
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
		serve_reached(d, msg);
		return;
	}
	g_free(img);
	serve_start_push(d, fw);
	return;
refuse:
	g_free(img);
	d->pushing = false;
	serve_settle(d, DS_REFUSED, msg);
}

/* ---- firmware ------------------------------------------------------------------------ */

void serve_fetch_thread(GTask *task, gpointer src, gpointer data,
			GCancellable *c)
{
	struct fetch_job *j = data;

	(void)src;
	(void)c;
	j->err = http_fetch(&j->o, &j->r);
	g_task_return_boolean(task, TRUE);
}

void serve_fetch_job_free(gpointer p)
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
			serve_settle(d, DS_REFUSED, fw->error);
		else
			serve_fail_retry(d, fw->error);
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
		serve_set_str(&fw->error, j->r.error);
		b = ev_begin("fetch_failed");
		serve_ev_str(b, "url", clean);
		serve_ev_int(b, "errno", -j->err);
		serve_ev_end(b, "fetch_failed", "%s", j->r.error);
	} else {
		fw->state = FW_READY;
		snprintf(fw->path, sizeof(fw->path), "%s", j->r.path);
		snprintf(fw->sha256, sizeof(fw->sha256), "%s", j->r.sha256);
		fw->size = j->r.size;
		b = ev_begin("fetched");
		serve_ev_str(b, "url", clean);
		serve_ev_str(b, "sha256", j->r.sha256);
		serve_ev_int(b, "bytes", (gint64)j->r.size);
		serve_ev_int(b, "http_version", j->r.http_version);
		serve_ev_int(b, "resumed_from", (gint64)j->r.resumed_from);
		json_builder_set_member_name(b, "cached");
		json_builder_add_boolean_value(b, j->r.from_cache);
		serve_ev_end(b, "fetched", "%s: %llu bytes, sha256 %.16s...%s",
			     clean, (unsigned long long)j->r.size, j->r.sha256,
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
					 .cache_dir = serve_gw.cache_dir,
					 .sha256_hex = j->sha,
					 .bearer = serve_gw.bearer,
					 .ca_file = serve_gw.ca_file,
					 .max_bytes = limit };
	g_task_set_task_data(t, j, serve_fetch_job_free);
	g_task_run_in_thread(t, serve_fetch_thread);
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

void serve_fw_free(gpointer p)
{
	struct firmware *fw = p;

	g_free(fw->url);
	g_free(fw->file);
	g_free(fw->want_sha);
	g_free(fw->error);
	g_ptr_array_free(fw->waiters, TRUE);
	g_free(fw);
}

gboolean serve_fw_forgettable(gpointer key, gpointer value, gpointer data)
{
	const struct firmware *fw = value;

	(void)key;
	(void)data;
	return fw->state != FW_FETCHING && !fw->waiters->len;
}

void serve_need_firmware(struct device *d, const struct serve_rule *rule)
{
	char *key = g_strdup_printf("%s#%s", rule->url ? rule->url : rule->file,
				    rule->sha256 ? rule->sha256 : "");
	struct firmware *fw = g_hash_table_lookup(serve_gw.firmware, key);

	if (!fw) {
		fw = g_new0(struct firmware, 1);
		fw->url = g_strdup(rule->url);
		fw->file = g_strdup(rule->file);
		fw->want_sha = g_strdup(rule->sha256);
		fw->waiters = g_ptr_array_new();
		g_hash_table_insert(serve_gw.firmware, key, fw);
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
	serve_set_state(d, DS_FETCHING, "fetching %s", d->want_source);
}
