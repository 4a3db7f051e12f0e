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

	serve_ev_str(b, "source", from);
	if (serve_gw.desired)
		serve_ev_end(b, "desired_error",
			     "%s: %s; the previous desired state stays in "
			     "force",
			     from, why);
	else
		serve_ev_end(b, "desired_error",
			     "%s: %s; no desired state is in force: fix the "
			     "document (man 5 bleota-desired)",
			     from, why);
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

	if (serve_gw.desired && !strcmp(sha, serve_gw.desired_sha)) {
		g_free(sha);
		return true; /* unchanged */
	}
	d = serve_desired_parse(text, len, base_dir, err, sizeof(err));
	if (!d) {
		desired_error(from, err);
		g_free(sha);
		return false;
	}
	serve_desired_free(serve_gw.desired);
	serve_gw.desired = d;
	g_free(serve_gw.desired_text);
	serve_gw.desired_text = g_strndup(text, len);
	snprintf(serve_gw.desired_sha, sizeof(serve_gw.desired_sha), "%s", sha);
	serve_set_str(&serve_gw.desired_from, from);
	g_free(sha);
	{
		char *keep = g_build_filename(serve_gw.state_dir,
					      "desired.json", NULL);

		g_file_set_contents(keep, text, (gssize)len, NULL);
		g_free(keep);
	}
	/* firmware already known stays cached on disk; forget the entries
	 * so a changed URL content is looked at again */
	g_hash_table_foreach_remove(serve_gw.firmware, serve_fw_forgettable,
				    NULL);
	for (i = 0; i < d->nrules; i++)
		if (d->rules[i].kind == SERVE_MATCH_ENDPOINT)
			serve_dev_add(
				d->rules[i].value, NULL,
				g_str_has_prefix(d->rules[i].value, "unix:") ||
						!serve_gw.adapters
					? NULL
					: serve_gw.adapters[0]);
	for (i = 0; i < serve_gw.devices->len; i++) {
		struct device *dv = g_ptr_array_index(serve_gw.devices, i);

		dv->due = true;
		dv->attempts = 0;
		dv->next_try = 0;
	}
	if (!serve_gw.restored) {
		serve_gw.restored = true;
		serve_restore();
	}
	b = ev_begin("desired");
	serve_ev_str(b, "source", from);
	serve_ev_str(b, "sha256", serve_gw.desired_sha);
	serve_ev_int(b, "rules", (gint64)d->nrules);
	serve_ev_end(b, "desired", "desired state from %s: %zu rule%s", from,
		     d->nrules, d->nrules == 1 ? "" : "s");
	serve_schedule();
	return true;
}

bool serve_load_config_file(bool initial)
{
	char *text = NULL, *dir;
	GError *e = NULL;
	gsize len;
	struct stat st;
	bool ok;

	if (stat(serve_gw.config, &st) == 0)
		serve_gw.config_st = st;
	if (!g_file_get_contents(serve_gw.config, &text, &len, &e)) {
		if (initial)
			fprintf(stderr,
				"bleota: --config %s: cannot read the desired "
				"state (%s): give a desired-state file (man 5 "
				"bleota-desired)\n",
				serve_gw.config, e->message);
		else
			desired_error(serve_gw.config, e->message);
		g_error_free(e);
		return false;
	}
	dir = g_path_get_dirname(serve_gw.config);
	ok = install_desired(text, len, serve_gw.config, dir);
	g_free(dir);
	g_free(text);
	return ok;
}

bool serve_config_changed(void)
{
	struct stat st;

	if (stat(serve_gw.config, &st) < 0)
		return false; /* being replaced, or gone: keep what we have */
	return st.st_ino != serve_gw.config_st.st_ino ||
	       st.st_size != serve_gw.config_st.st_size ||
	       st.st_mtim.tv_sec != serve_gw.config_st.st_mtim.tv_sec ||
	       st.st_mtim.tv_nsec != serve_gw.config_st.st_mtim.tv_nsec;
}

static void on_config_fetched(GObject *src, GAsyncResult *res, gpointer data)
{
	struct fetch_job *j = g_task_get_task_data(G_TASK(res));
	char clean[1024];

	(void)src;
	(void)data;
	serve_gw.config_fetching = false;
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
	if (!serve_gw.desired) {
		/* never had one: the last good copy from the state dir */
		char *keep = g_build_filename(serve_gw.state_dir,
					      "desired.json", NULL);
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
	serve_schedule();
}

void serve_poll_config_url(void)
{
	struct fetch_job *j;
	GTask *t;

	if (serve_gw.config_fetching)
		return;
	serve_gw.config_fetching = true;
	serve_gw.next_poll = g_get_monotonic_time() +
			     (gint64)serve_gw.poll_s * G_USEC_PER_SEC;
	j = g_new0(struct fetch_job, 1);
	j->url = g_strdup(serve_gw.config);
	j->o = (struct http_fetch_opts){ .url = j->url,
					 .cache_dir = serve_gw.cache_dir,
					 .bearer = serve_gw.bearer,
					 .ca_file = serve_gw.ca_file,
					 .max_bytes = 1024 * 1024,
					 .timeout_s = 60 };
	t = g_task_new(NULL, NULL, on_config_fetched, NULL);
	g_task_set_task_data(t, j, serve_fetch_job_free);
	g_task_run_in_thread(t, serve_fetch_thread);
	g_object_unref(t);
}
