/* SPDX-License-Identifier: MIT */
/*
 * The desired state of `bleota serve`: a file, re-read when its stat
 * changes (checked every second) and on SIGHUP, or a URL polled with a
 * conditional GET; the last good copy of a URL's document is kept in the
 * state directory and used while the URL is unreachable. A document that
 * does not parse leaves the previous one in force (a desired_error event).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "central/serve_priv.h"

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

bool load_config_file(bool initial)
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

bool config_changed(void)
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

void poll_config_url(void)
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
