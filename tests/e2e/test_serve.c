/* SPDX-License-Identifier: MIT */
/*
 * `bleota serve` end to end over the loopback socket: four real
 * bleota-peripheral devices (three esp32c3, one esp32s3), the test file
 * server (tests/tools/fileserver) serving two firmware versions over
 * HTTP, a desired-state file, and the gateway as a child process observed
 * through its --json event lines and its HTTP API.
 *
 * The devices store version tags (INFO caps TAG): the gateway compares
 * the tag of what runs with the rule's "version" and pushes with --tag, so
 * "runs version X" is read back from each device twice: the tag `bleota
 * info --json` reports and bleota:fw_tag in its flash's nvs partition
 * (`bleota flash info`), where firmware reads it with nvs_get_str().
 *
 * Waits are on events, bounded; nothing asserts on elapsed time.
 */
#define _GNU_SOURCE
#include <errno.h>
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
#include <curl/curl.h>
#include <glib.h>
#include <json-glib/json-glib.h>

#include "tests/harness/bgproc.h"
#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

#define NDEV       4
#define CHIP_S3    9u
#define WAIT_MS    60000
#define SETTLED_NO 0
#define IN_SYNC    1
#define REFUSED    2

static struct {
	struct e2e_image base_c3, base_s3, a, b, merged;
	char flash[NDEV][512];
	struct e2e_periph per[NDEV];
	char htdocs[512];
	char config[512];
	char state[512];
	char log[512];
	char srvlog[512];
	struct bgproc files;
	int port;
	pid_t live[4]; /* children of the running test (gateway, SSE) */
	/* each device's last "plan" event (what its push sent), across
	 * wait_fleet() calls; the test clears it */
	char enc[NDEV][16];
	char plan_base[NDEV][8];
	gint64 air_total[NDEV], image[NDEV];
} fx;

/* Remember a child of the running test, so that a failed assertion does
 * not leave it running (each_teardown). */
static void track(pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(fx.live) / sizeof(fx.live[0]); i++) {
		if (!fx.live[i]) {
			fx.live[i] = pid;
			return;
		}
	}
}

static int each_teardown(void **state)
{
	size_t i;
	int st;

	(void)state;
	for (i = 0; i < sizeof(fx.live) / sizeof(fx.live[0]); i++) {
		/* still our unreaped child: the test ended early */
		if (fx.live[i] && waitpid(fx.live[i], &st, WNOHANG) == 0) {
			kill(fx.live[i], SIGKILL);
			waitpid(fx.live[i], &st, 0);
		}
		fx.live[i] = 0;
	}
	unsetenv("BLEOTA_SERVE_EXE");
	unsetenv("FAKE_ROLLBACK");
	return 0;
}

/* ---- helpers ------------------------------------------------------------------- */

static void copy_to_htdocs(const struct e2e_image *im, const char *name)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/%s", fx.htdocs, name);
	assert_true(g_file_set_contents(path, (const char *)im->data,
					(gssize)im->len, NULL));
}

/* The desired state: every device gets @file (served over HTTP) as
 * @version. Written to a temporary file and renamed, as editors do. */
static void write_desired(const char *path, const char *file,
			  const char *version)
{
	GString *s = g_string_new("{\"devices\": [\n");
	char tmp[600];
	int i;

	for (i = 0; i < NDEV; i++)
		g_string_append_printf(
			s,
			"  {\"match\": \"unix:%s\", \"url\": "
			"\"http://127.0.0.1:%d/%s\", \"version\": \"%s\"}%s\n",
			fx.per[i].sock, fx.port, file, version,
			i + 1 < NDEV ? "," : "");
	g_string_append(s, "]}\n");
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_true(g_file_set_contents(tmp, s->str, -1, NULL));
	assert_int_equal(rename(tmp, path), 0);
	g_string_free(s, TRUE);
}

struct ev {
	JsonParser *p;
	JsonObject *o;
};

/* Parse one --json line; false if it is not an event object. */
static bool ev_parse(struct ev *e, const char *line)
{
	e->p = json_parser_new();
	e->o = NULL;
	if (json_parser_load_from_data(e->p, line, -1, NULL) &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(e->p)))
		e->o = json_node_get_object(json_parser_get_root(e->p));
	return e->o != NULL;
}

static const char *ev_s(const struct ev *e, const char *key)
{
	JsonNode *n = json_object_get_member(e->o, key);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return "";
	return json_node_get_string(n);
}

static gint64 ev_n(const struct ev *e, const char *key)
{
	JsonNode *n = json_object_get_member(e->o, key);

	return n && JSON_NODE_HOLDS_VALUE(n) &&
			       json_node_get_value_type(n) == G_TYPE_INT64
		       ? json_node_get_int(n)
		       : 0;
}

static void ev_free(struct ev *e)
{
	g_object_unref(e->p);
}

static int dev_index(const char *id)
{
	int i;

	for (i = 0; i < NDEV; i++)
		if (g_str_has_prefix(id, "unix:") &&
		    !strcmp(id + 5, fx.per[i].sock))
			return i;
	return -1;
}

/* Start the gateway; its API base URL into @api. */
static void gw_start(struct bgproc *g, const char *config, char *api,
		     size_t cap, const char *extra)
{
	char line[4096];
	struct ev e;

	bgproc_start(g, fx.log,
		     "exec %s serve --json --config %s --state-dir %s "
		     "--listen 127.0.0.1:0 --retry-max 2 %s",
		     e2e_bin_bleota, config, fx.state, extra);
	track(g->pid);
	assert_true(bgproc_until(g, line, sizeof(line), WAIT_MS,
				 "\"event\":\"serving\"", NULL));
	assert_true(ev_parse(&e, line));
	snprintf(api, cap, "%s", ev_s(&e, "api"));
	ev_free(&e);
	assert_true(g_str_has_prefix(api, "http://127.0.0.1:"));
}

struct fleet {
	int state[NDEV];
	char message[NDEV][512];
	bool resumed[NDEV];
	bool again[NDEV];
	bool updated[NDEV];
	bool busy[NDEV];
	int max_busy; /* devices being worked on at once, at most */
	int deltas;   /* "plan" events that said delta */
};

static bool busy_state(const char *st)
{
	return !strcmp(st, "checking") || !strcmp(st, "fetching") ||
	       !strcmp(st, "pushing");
}

/*
 * Read events until every device is settled at @version: in_sync with
 * desired == @version, or refused. @stop_at_bytes > 0: return early
 * (true) as soon as a progress event reports at least that many bytes.
 */
static bool wait_fleet(struct bgproc *g, const char *version, struct fleet *f,
		       uint64_t stop_at_bytes)
{
	char line[8192];
	int i, settled;

	memset(f, 0, sizeof(*f));
	while (bgproc_line(g, line, sizeof(line), WAIT_MS)) {
		struct ev e;
		const char *name;

		if (!ev_parse(&e, line)) {
			ev_free(&e);
			continue;
		}
		name = ev_s(&e, "event");
		i = dev_index(ev_s(&e, "device"));
		if (strcmp(name, "progress") && strcmp(name, "step"))
			print_message("%s\n", ev_s(&e, "message"));
		if (i >= 0 && !strcmp(name, "progress") && stop_at_bytes &&
		    (uint64_t)ev_n(&e, "bytes") >= stop_at_bytes) {
			ev_free(&e);
			return true;
		}
		if (i >= 0 && !strcmp(name, "resumed") && ev_n(&e, "held") > 0)
			f->resumed[i] = true;
		if (i >= 0 && !strcmp(name, "updated"))
			f->updated[i] = true;
		if (i >= 0 && !strcmp(name, "plan")) {
			snprintf(fx.enc[i], sizeof(fx.enc[i]), "%s",
				 ev_s(&e, "encoding"));
			snprintf(fx.plan_base[i], sizeof(fx.plan_base[i]), "%s",
				 ev_s(&e, "base"));
			fx.air_total[i] = ev_n(&e, "air_total");
			fx.image[i] = ev_n(&e, "image");
			f->deltas += !strcmp(fx.enc[i], "delta");
		}
		if (i >= 0 && !strcmp(name, "push")) {
			JsonNode *n = json_object_get_member(e.o, "again");

			f->again[i] =
				f->again[i] || (n && json_node_get_boolean(n));
		}
		if (i >= 0 && !strcmp(name, "device")) {
			const char *st = ev_s(&e, "state");
			int k, n = 0;

			f->busy[i] = busy_state(st);
			for (k = 0; k < NDEV; k++)
				n += f->busy[k];
			if (n > f->max_busy)
				f->max_busy = n;
			f->state[i] = SETTLED_NO;
			if (!strcmp(st, "in_sync") &&
			    !strcmp(ev_s(&e, "desired"), version))
				f->state[i] = IN_SYNC;
			else if (!strcmp(st, "refused"))
				f->state[i] = REFUSED;
			snprintf(f->message[i], sizeof(f->message[i]), "%s",
				 ev_s(&e, "message"));
		}
		ev_free(&e);
		for (i = 0, settled = 0; i < NDEV; i++)
			settled += f->state[i] != SETTLED_NO;
		if (settled == NDEV)
			return !stop_at_bytes;
	}
	return false;
}

/* ---- HTTP client for the API --------------------------------------------------- */

static size_t take(char *data, size_t size, size_t n, void *user_data)
{
	g_string_append_len(user_data, data, (gssize)(size * n));
	return size * n;
}

/* GET (or POST @body) @base@path with one @extra header line (or NULL);
 * the status, the body into @out. */
static long api_h(const char *base, const char *path, const char *body,
		  const char *token, const char *extra, GString *out)
{
	char u[512], auth[300];
	struct curl_slist *h = NULL;
	CURL *c = curl_easy_init();
	long status = 0;

	snprintf(u, sizeof(u), "%s%s", base,
		 path[0] == '/' && base[strlen(base) - 1] == '/' ? path + 1
								 : path);
	g_string_truncate(out, 0);
	curl_easy_setopt(c, CURLOPT_URL, u);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, take);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h = curl_slist_append(h, auth);
	}
	if (extra)
		h = curl_slist_append(h, extra);
	if (body) {
		if (!extra || g_ascii_strncasecmp(extra, "Content-Type:", 13))
			h = curl_slist_append(h,
					      "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	return status;
}

static long api(const char *base, const char *path, const char *body,
		const char *token, GString *out)
{
	return api_h(base, path, body, token, NULL, out);
}

static size_t to_fd(char *data, size_t size, size_t n, void *user_data)
{
	int fd = *(int *)user_data;

	return write(fd, data, size * n) < 0 ? 0 : size * n;
}

/* An SSE client in a child process; its stream readable through @b. */
static void sse_start(struct bgproc *b, const char *base)
{
	char u[512];
	int fds[2];

	snprintf(u, sizeof(u), "%sapi/events", base);
	memset(b, 0, sizeof(*b));
	assert_int_equal(pipe(fds), 0);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid > 0)
		track(b->pid);
	if (b->pid == 0) {
		CURL *c = curl_easy_init();

		close(fds[0]);
		curl_easy_setopt(c, CURLOPT_URL, u);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, to_fd);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &fds[1]);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
		curl_easy_perform(c);
		_exit(0);
	}
	close(fds[1]);
	b->fd = fds[0];
}

/* ---- fixture --------------------------------------------------------------------- */

static void make_merged(struct e2e_image *out, const struct e2e_image *app)
{
	/* esptool merge_bin layout for an esp32c3: bootloader at 0x0,
	 * partition table at 0x8000, app at 0x10000 */
	size_t len = 0x10000 + app->len;
	uint8_t *m = malloc(len);

	assert_non_null(m);
	memset(m, 0xff, len);
	memcpy(m, app->data, 0x4000); /* stands in for a bootloader */
	m[0x8000] = 0xAA;
	m[0x8001] = 0x50;
	memcpy(m + 0x10000, app->data, app->len);
	out->data = m;
	out->len = len;
	tmpdir_path(out->path, sizeof(out->path), "merged.bin");
	assert_true(
		g_file_set_contents(out->path, (char *)m, (gssize)len, NULL));
}

static int group_setup(void **state)
{
	char line[256], tag[16];
	int i;

	(void)state;
	e2e_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	e2e_image(&fx.base_c3, "base-c3.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&fx.base_s3, "base-s3.bin", "1.0.0", CHIP_S3, 0, 100000,
		  ESP_CORRUPT_NONE);
	/* B is A grown by 80 KB (same generator): A's pushes leave A in the
	 * gateway's image cache, so B goes as a delta, a fraction of B */
	e2e_image(&fx.a, "a.bin", "1.1.0", DEV_CHIP, 0, 320000,
		  ESP_CORRUPT_NONE);
	e2e_image(&fx.b, "b.bin", "2.0.0", DEV_CHIP, 0, 400000,
		  ESP_CORRUPT_NONE);
	make_merged(&fx.merged, &fx.b);
	tmpdir_path(fx.htdocs, sizeof(fx.htdocs), "htdocs");
	tmpdir_path(fx.config, sizeof(fx.config), "desired.json");
	tmpdir_path(fx.state, sizeof(fx.state), "state");
	tmpdir_path(fx.log, sizeof(fx.log), "serve.log");
	tmpdir_path(fx.srvlog, sizeof(fx.srvlog), "fileserver.log");
	assert_int_equal(g_mkdir_with_parents(fx.htdocs, 0755), 0);
	copy_to_htdocs(&fx.a, "a.bin");
	copy_to_htdocs(&fx.b, "b.bin");
	copy_to_htdocs(&fx.merged, "merged.bin");
	bgproc_start(&fx.files, fx.srvlog, "exec %s/tests/tools/fileserver %s",
		     getenv("BLEOTA_BUILD") && *getenv("BLEOTA_BUILD")
			     ? getenv("BLEOTA_BUILD")
			     : "build",
		     fx.htdocs);
	assert_true(bgproc_line(&fx.files, line, sizeof(line), 20000));
	assert_int_equal(sscanf(line, "port %d", &fx.port), 1);
	/* a BLE-like link, so a push lasts long enough to be interrupted */
	for (i = 0; i < NDEV; i++) {
		snprintf(tag, sizeof(tag), "d%d", i + 1);
		e2e_flash(fx.flash[i], sizeof(fx.flash[i]), tag,
			  i == NDEV - 1 ? &fx.base_s3 : &fx.base_c3);
		e2e_periph_start(&fx.per[i], fx.flash[i], tag,
				 i == NDEV - 1
					 ? "--chip esp32s3 --impair rate=200K"
					 : "--impair rate=200K");
	}
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[1200];
	int i;

	(void)state;
	for (i = 0; i < NDEV; i++)
		e2e_periph_stop(&fx.per[i]);
	bgproc_stop(&fx.files, SIGTERM);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", fx.htdocs, fx.state);
	if (system(cmd))
		return -1;
	free(fx.base_c3.data);
	free(fx.base_s3.data);
	free(fx.a.data);
	free(fx.b.data);
	free(fx.merged.data);
	curl_global_cleanup();
	tmpdir_cleanup();
	return 0;
}

/* ---- tests -------------------------------------------------------------------- */

static void assert_runs(int i, const char *version)
{
	char out[4096], want[64];

	assert_int_equal(e2e_bleota(out, sizeof(out), "info --json unix:%s",
				    fx.per[i].sock),
			 0);
	snprintf(want, sizeof(want), "\"version\":\"%s\"", version);
	assert_non_null(strstr(out, want));
}

/*
 * Device @i stores the version tag @tag (NULL: none) for the image it
 * runs: in INFO, and as bleota:fw_tag in the nvs partition of its flash.
 */
static void assert_tag(int i, const char *tag)
{
	char out[16384], want[200];

	assert_int_equal(e2e_bleota(out, sizeof(out), "info --json unix:%s",
				    fx.per[i].sock),
			 0);
	if (tag)
		snprintf(want, sizeof(want), ",\"tag\":\"%s\"}", tag);
	else
		snprintf(want, sizeof(want), ",\"tag\":null}");
	assert_non_null(strstr(out, want));
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "flash info %s", fx.flash[i]), 0);
	if (tag) {
		snprintf(want, sizeof(want),
			 "firmware version tag (bleota:fw_tag): \"%s\"", tag);
		assert_non_null(strstr(out, want));
	} else {
		assert_null(strstr(out, "bleota:fw_tag  str  \""));
	}
}

/* A desired-state file @name (path into @cfg) with one rule: device 0
 * runs @file as @version. */
static void one_rule(const char *name, const char *file, const char *version,
		     char *cfg, size_t cap)
{
	char doc[1400];

	tmpdir_path(cfg, cap, name);
	snprintf(doc, sizeof(doc),
		 "{\"devices\": [{\"match\": \"unix:%s\", \"file\": \"%s\", "
		 "\"version\": \"%s\"}]}",
		 fx.per[0].sock, file, version);
	assert_true(g_file_set_contents(cfg, doc, -1, NULL));
}

/* Forget the plans seen so far. */
static void plans_clear(void)
{
	memset(fx.enc, 0, sizeof(fx.enc));
	memset(fx.plan_base, 0, sizeof(fx.plan_base));
	memset(fx.air_total, 0, sizeof(fx.air_total));
	memset(fx.image, 0, sizeof(fx.image));
}

/* How many images the gateway's own image cache (STATE/images) holds. */
static int cached_images(void)
{
	char dir[700];
	const char *n;
	GDir *d;
	int k = 0;

	snprintf(dir, sizeof(dir), "%s/images", fx.state);
	d = g_dir_open(dir, 0, NULL);
	if (!d)
		return 0;
	while ((n = g_dir_read_name(d)))
		k += g_str_has_suffix(n, ".bin");
	g_dir_close(d);
	return k;
}

/* /api/devices says device @i's last push went as a delta of B. */
static void assert_api_delta(const char *base, int i)
{
	GString *body = g_string_new(NULL);
	char id[700];
	JsonParser *p = json_parser_new();
	JsonArray *a;
	guint k;
	bool seen = false;

	assert_int_equal(api(base, "/api/devices", NULL, NULL, body), 200);
	assert_true(json_parser_load_from_data(p, body->str, -1, NULL));
	a = json_object_get_array_member(
		json_node_get_object(json_parser_get_root(p)), "devices");
	snprintf(id, sizeof(id), "unix:%s", fx.per[i].sock);
	for (k = 0; k < json_array_get_length(a); k++) {
		JsonObject *d = json_array_get_object_element(a, k);

		if (strcmp(json_object_get_string_member(d, "id"), id))
			continue;
		seen = true;
		assert_string_equal(
			json_object_get_string_member(d, "encoding"), "delta");
		assert_int_equal(json_object_get_int_member(d, "total"),
				 fx.b.len);
		assert_true(json_object_get_int_member(d, "air_total") > 0);
		assert_true(json_object_get_int_member(d, "air_total") * 4 <
			    (gint64)fx.b.len);
		assert_int_equal(json_object_get_int_member(d, "air_bytes"),
				 json_object_get_int_member(d, "air_total"));
		assert_non_null(strstr(json_object_get_string_member(d, "plan"),
				       "delta"));
	}
	assert_true(seen);
	g_object_unref(p);
	g_string_free(body, TRUE);
}

/*
 * The whole story: all to A (the esp32s3 is refused, the others go on);
 * the file changes to B; the gateway is killed in the middle and started
 * again, and the pushes resume; the API shows the fleet; versions read
 * back from the devices. A's pushes have no base (the devices ran 1.0.0,
 * which no cache holds) and fill the gateway's own image cache
 * (STATE/images); B's go as deltas against A from that cache, also those
 * the restarted gateway resumes; the slots hold B byte for byte.
 */
static void test_serve_fleet_a_then_b_with_restart(void **state)
{
	struct bgproc g, sse;
	struct fleet f;
	char base[256], line[8192];
	GString *body = g_string_new(NULL);
	int i, resumed = 0, again = 0, rc;

	(void)state;
	plans_clear();
	write_desired(fx.config, "a.bin", "1.1.0");
	gw_start(&g, fx.config, base, sizeof(base), "");

	/* 1. everyone to A; the wrong chip is reported, not fatal */
	assert_true(wait_fleet(&g, "1.1.0", &f, 0));
	print_message("at most %d devices at once (--jobs 4)\n", f.max_busy);
	for (i = 0; i < NDEV - 1; i++) {
		assert_int_equal(f.state[i], IN_SYNC);
		assert_true(f.updated[i]);
	}
	assert_int_equal(f.state[NDEV - 1], REFUSED);
	assert_non_null(strstr(f.message[NDEV - 1], "wrong chip"));
	assert_non_null(strstr(f.message[NDEV - 1], "esp32s3"));
	/* the tags the devices stored: A's, none on the refused one */
	for (i = 0; i < NDEV - 1; i++)
		assert_tag(i, "1.1.0");
	assert_tag(NDEV - 1, NULL);
	/* nothing to make a delta from; A is now in the gateway's cache */
	for (i = 0; i < NDEV - 1; i++) {
		assert_true(fx.enc[i][0]);
		assert_string_not_equal(fx.enc[i], "delta");
		assert_int_equal(fx.image[i], fx.a.len);
	}
	assert_int_equal(f.deltas, 0);
	assert_int_equal(cached_images(), 1);

	/* 2. the API: devices, desired state, events, per-device push */
	assert_int_equal(api(base, "/api/devices", NULL, NULL, body), 200);
	for (i = 0; i < NDEV; i++)
		assert_non_null(strstr(body->str, fx.per[i].sock));
	assert_non_null(strstr(body->str, "\"state\":\"refused\""));
	assert_int_equal(api(base, "/api/desired", NULL, NULL, body), 200);
	assert_non_null(strstr(body->str, "1.1.0"));
	sse_start(&sse, base);
	assert_true(bgproc_until(&sse, line, sizeof(line), WAIT_MS, ": bleota",
				 NULL));
	snprintf(line, sizeof(line), "{\"device\": \"unix:%s\"}",
		 fx.per[0].sock);
	assert_int_equal(api(base, "/api/push", line, NULL, body), 202);
	assert_true(bgproc_until(&sse, line, sizeof(line), WAIT_MS,
				 "\"state\":\"checking\"", fx.per[0].sock,
				 NULL));
	assert_true(bgproc_until(&sse, line, sizeof(line), WAIT_MS,
				 "\"state\":\"in_sync\"", fx.per[0].sock,
				 NULL));
	bgproc_stop(&sse, SIGTERM);
	assert_int_equal(api(base, "/api/push", "{\"device\": \"unix:/nope\"}",
			     NULL, body),
			 404);
	assert_int_equal(api(base, "/api/push", "[]", NULL, body), 400);
	/* what a web page on another site could send is refused */
	snprintf(line, sizeof(line), "{\"device\": \"unix:%s\"}",
		 fx.per[0].sock);
	assert_int_equal(api_h(base, "/api/push", line, NULL,
			       "Content-Type: text/plain", body),
			 415);
	assert_int_equal(api_h(base, "/api/devices", NULL, NULL,
			       "Host: rebound.example:8417", body),
			 403);

	/* 3. a broken edit is reported and changes nothing */
	assert_true(
		g_file_set_contents(fx.config, "{\"devices\": [", -1, NULL));
	assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
				 "\"event\":\"desired_error\"", NULL));
	assert_non_null(strstr(line, "not valid JSON"));

	/* 4. B; kill the gateway in the middle of the pushes */
	plans_clear();
	write_desired(fx.config, "b.bin", "2.0.0");
	assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
				 "\"event\":\"desired\"", NULL));
	assert_true(wait_fleet(&g, "2.0.0", &f, 100000));
	rc = bgproc_stop(&g, SIGKILL);
	assert_int_equal(rc, 128 + SIGKILL);

	/* 5. a new gateway on the same state directory finishes the job,
	 * two devices at a time */
	gw_start(&g, fx.config, base, sizeof(base), "--jobs 2");
	assert_true(wait_fleet(&g, "2.0.0", &f, 0));
	assert_true(f.max_busy <= 2);
	for (i = 0; i < NDEV - 1; i++) {
		assert_int_equal(f.state[i], IN_SYNC);
		resumed += f.resumed[i];
		again += f.again[i];
	}
	assert_int_equal(f.state[NDEV - 1], REFUSED);
	assert_true(again >= 1);   /* it knew a push was under way */
	assert_true(resumed >= 1); /* and the device kept what it had */
	/* the new gateway found A in STATE/images: its pushes are deltas */
	assert_true(f.deltas >= again);
	for (i = 0; i < NDEV - 1; i++)
		if (f.again[i])
			assert_api_delta(base, i);
	assert_int_equal(bgproc_stop(&g, SIGTERM), 0);
	/* every B push (either gateway) was a delta against A, a fraction
	 * of the image on the air */
	for (i = 0; i < NDEV - 1; i++) {
		print_message("dev%d: %s, %lld of %lld bytes on the air\n",
			      i + 1, fx.enc[i], (long long)fx.air_total[i],
			      (long long)fx.image[i]);
		assert_string_equal(fx.enc[i], "delta");
		assert_string_equal(fx.plan_base[i], "cache");
		assert_int_equal(fx.image[i], fx.b.len);
		assert_true(fx.air_total[i] > 0);
		assert_true(fx.air_total[i] * 4 < (gint64)fx.b.len);
	}
	assert_int_equal(cached_images(), 2);

	/* 6. read back from the devices themselves */
	for (i = 0; i < NDEV - 1; i++) {
		struct e2e_flash_view v;

		assert_runs(i, "2.0.0");
		assert_tag(i, "2.0.0");
		e2e_view_flash(fx.flash[i], fx.b.len, &v);
		assert_int_equal(v.running_state, 2 /* VALID */);
		e2e_assert_slot_holds(fx.flash[i], v.running_slot, &fx.b);
	}
	assert_runs(NDEV - 1, "1.0.0");
	assert_tag(NDEV - 1, NULL);
	g_string_free(body, TRUE);
}

/*
 * --no-delta: device 0 runs B (the fleet test left it there) and the
 * gateway's image cache holds B and A, so a push of A would be a delta;
 * with --no-delta it is the plain image (push --full), and lands as well.
 */
static void test_serve_no_delta_pushes_plain(void **state)
{
	char path[700], line[8192], base[256];
	char enc[16] = "", msg[512] = "";
	struct bgproc g;

	(void)state;
	assert_runs(0, "2.0.0");
	assert_int_equal(cached_images(), 2);
	one_rule("no-delta.json", fx.a.path, "1.1.0", path, sizeof(path));
	gw_start(&g, path, base, sizeof(base), "--once --no-delta");
	while (bgproc_line(&g, line, sizeof(line), WAIT_MS)) {
		struct ev e;

		if (ev_parse(&e, line) && !strcmp(ev_s(&e, "event"), "plan")) {
			snprintf(enc, sizeof(enc), "%s", ev_s(&e, "encoding"));
			snprintf(msg, sizeof(msg), "%s", ev_s(&e, "message"));
		}
		ev_free(&e);
	}
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 0);
	print_message("%s\n", msg);
	assert_string_equal(enc, "plain");
	assert_non_null(strstr(msg, "(--full)"));
	assert_runs(0, "1.1.0");
	assert_tag(0, "1.1.0");
}

/*
 * Only the version changes: device 0 runs A tagged "1.1.0" (the test
 * above), the rule now says A is "1.1.0-r2". The device refuses the same
 * image (SAME_AS_RUNNING), so the gateway installs it again with --force,
 * a delta of A against itself from STATE/images, and the device stores
 * the new tag; the app it runs is the same.
 */
static void test_serve_version_change_retags(void **state)
{
	char path[700], line[8192], base[256];
	char enc[16] = "", step[700] = "";
	long long air = 0;
	int pushes = 0, again = 0;
	struct bgproc g;

	(void)state;
	assert_runs(0, "1.1.0");
	assert_tag(0, "1.1.0");
	one_rule("retag.json", fx.a.path, "1.1.0-r2", path, sizeof(path));
	gw_start(&g, path, base, sizeof(base), "--once");
	while (bgproc_line(&g, line, sizeof(line), WAIT_MS)) {
		struct ev e;

		if (!ev_parse(&e, line))
			continue;
		if (!strcmp(ev_s(&e, "event"), "step") &&
		    !strcmp(ev_s(&e, "step"), "retag"))
			snprintf(step, sizeof(step), "%s", ev_s(&e, "message"));
		if (!strcmp(ev_s(&e, "event"), "plan")) {
			snprintf(enc, sizeof(enc), "%s", ev_s(&e, "encoding"));
			air = (long long)ev_n(&e, "air_total");
		}
		/* the re-install is a push of its own, not a continuation */
		if (!strcmp(ev_s(&e, "event"), "push")) {
			pushes++;
			again += !strstr(line, "\"again\":false") ||
				 strstr(ev_s(&e, "message"), "continuing");
		}
		ev_free(&e);
	}
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 0);
	print_message("%s; then a %s of %lld bytes\n", step, enc, air);
	assert_int_equal(pushes, 2);
	assert_int_equal(again, 0);
	assert_non_null(strstr(step, "to store the version tag \"1.1.0-r2\""));
	assert_string_equal(enc, "delta");
	assert_true(air > 0 && air * 10 < (long long)fx.a.len);
	assert_runs(0, "1.1.0");
	assert_tag(0, "1.1.0-r2");
}

/* Serve a one-rule desired state for device 0 as htdocs/@name (written
 * and renamed); its URL into @u. @cred: "user:password@" or "". */
static void publish_doc(const char *name, const char *cred, const char *file,
			const char *version, char *u, size_t cap)
{
	char path[700], tmp[720];
	GString *s = g_string_new(NULL);

	g_string_printf(s,
			"{\"devices\": [{\"match\": \"unix:%s\", \"url\": "
			"\"http://%s127.0.0.1:%d/%s\", \"version\": \"%s\"}]}",
			fx.per[0].sock, cred, fx.port, file, version);
	snprintf(path, sizeof(path), "%s/%s", fx.htdocs, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	assert_true(g_file_set_contents(tmp, s->str, -1, NULL));
	assert_int_equal(rename(tmp, path), 0);
	snprintf(u, cap, "http://127.0.0.1:%d/%s", fx.port, name);
	g_string_free(s, TRUE);
}

/* A merged flash image is refused before anything is sent, with the
 * reason; the desired state comes from a URL this time (--once). */
static void test_serve_refuses_merged_image(void **state)
{
	char u[256], line[8192], base[256];
	struct bgproc g;

	(void)state;
	publish_doc("desired-merged.json", "", "merged.bin", "3.0.0", u,
		    sizeof(u));
	gw_start(&g, u, base, sizeof(base), "--once");
	assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
				 "\"state\":\"refused\"", NULL));
	assert_non_null(strstr(line, "merged flash image"));
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 1);
	assert_runs(0, "2.0.0");
}

/* A desired-state file that is not there: exit 1 naming it, before any
 * state directory is made or "serving" is said. */
static void test_serve_missing_config_file(void **state)
{
	char out[4096], cfg[512], dir[512];
	struct stat st;

	(void)state;
	tmpdir_path(cfg, sizeof(cfg), "no-such-desired.json");
	tmpdir_path(dir, sizeof(dir), "never-made");
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "serve --config %s --state-dir %s "
				    "--listen none",
				    cfg, dir),
			 1);
	assert_non_null(strstr(out, "no-such-desired.json: No such file"));
	assert_non_null(strstr(out, "bleota-desired(5)"));
	assert_null(strstr(out, "serving"));
	assert_int_equal(stat(dir, &st), -1);
}

/*
 * A desired state that cannot be read or parsed at start: exit 1 with what
 * to do. There is no previous desired state to keep in force, so the
 * message must not say so.
 */
static void test_serve_bad_config_at_start(void **state)
{
	static const struct {
		const char *name, *text, *want; /* text NULL: no file */
	} cases[] = {
		{ "start-missing.json", NULL, "cannot read the desired state" },
		{ "start-bad.json",
		  "{\"devices\": [{\"match\": \"*\", \"file\": \"x.bin\"}]}",
		  "\"version\" is missing; no desired state is in force" },
	};
	char out[4096], cfg[512], st[512];
	size_t i;

	(void)state;
	tmpdir_path(st, sizeof(st), "start-state");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tmpdir_path(cfg, sizeof(cfg), cases[i].name);
		if (cases[i].text)
			assert_true(g_file_set_contents(cfg, cases[i].text, -1,
							NULL));
		assert_int_equal(e2e_bleota(out, sizeof(out),
					    "serve --config %s --state-dir %s "
					    "--listen none --once",
					    cfg, st),
				 1);
		assert_non_null(strstr(out, cases[i].want));
		assert_non_null(strstr(out, "bleota-desired"));
		assert_null(strstr(out, "previous desired state"));
	}
	/* the state directory serve made (tmpdir_cleanup removes files) */
	assert_int_equal(e2e_sh(out, sizeof(out), "rm -rf '%s'", st), 0);
}

static void test_serve_refuses_open_listen_without_token(void **state)
{
	char out[4096], tok[512], line[4096], base[256];
	struct bgproc g;
	GString *body = g_string_new(NULL);

	(void)state;
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "serve --config %s --state-dir %s "
				    "--listen 0.0.0.0:0",
				    fx.config, fx.state),
			 2);
	assert_non_null(strstr(out, "access token"));
	/* with a token, every request must carry it */
	tmpdir_path(tok, sizeof(tok), "token");
	assert_true(g_file_set_contents(tok, "t0ken\n", -1, NULL));
	snprintf(line, sizeof(line), "--token-file %s", tok);
	gw_start(&g, fx.config, base, sizeof(base), line);
	assert_int_equal(api(base, "/api/devices", NULL, NULL, body), 401);
	assert_int_equal(api(base, "/api/devices", NULL, "wrong", body), 401);
	assert_int_equal(api(base, "/api/devices", NULL, "t0ken", body), 200);
	assert_int_equal(
		api(base, "/api/devices?access_token=t0ken", NULL, NULL, body),
		200);
	assert_int_equal(
		api(base, "/api/devices?access_token=t0ke", NULL, NULL, body),
		401);
	assert_int_equal(bgproc_stop(&g, SIGTERM), 0);
	g_string_free(body, TRUE);
}

/* Stands in for `bleota` with Bluetooth devices: `scan` lists addresses
 * per adapter; any other command runs the real program with the
 * addresses mapped to the loopback devices' sockets (FAKE_DIR/NN.sock). */
static const char fake_bleota[] =
	"#!/bin/sh\n"
	"echo \"$*\" >> \"$FAKE_LOG\"\n"
	"if [ \"$1\" = scan ] && [ -n \"$FAKE_SCAN_FAIL_ONCE\" ] &&\n"
	"   [ ! -e \"$FAKE_SCAN_FAIL_ONCE\" ]; then\n"
	"  : > \"$FAKE_SCAN_FAIL_ONCE\"\n"
	"  echo '{\"event\":\"error\",\"code\":5,\"status\":\"\",\"message\":"
	"\"hci7: starting discovery timed out\",\"hint\":\"\"}'\n"
	"  exit 5\n"
	"fi\n"
	"if [ \"$1\" = scan ]; then\n"
	"  case \" $* \" in\n"
	"  *\" hci7 \"*)\n"
	"    echo '{\"event\":\"device\",\"address\":\"AA:BB:CC:DD:EE:01\","
	"\"name\":\"lamp\",\"rssi\":-40}'\n"
	"    echo '{\"event\":\"device\",\"address\":\"AA:BB:CC:DD:EE:02\","
	"\"name\":\"lamp\",\"rssi\":-41}' ;;\n"
	"  *\" hci8 \"*)\n"
	"    echo '{\"event\":\"device\",\"address\":\"AA:BB:CC:DD:EE:03\","
	"\"name\":\"door\",\"rssi\":-50}' ;;\n"
	"  esac\n"
	"  exit 0\n"
	"fi\n"
	"if [ \"$1\" = push ] && [ -n \"$FAKE_ROLLBACK\" ]; then\n"
	"  echo '{\"event\":\"booted\",\"slot\":1,\"version\":\"1.1.0\","
	"\"state\":\"VALID\",\"message\":\"the device runs ota_1 1.1.0\"}'\n"
	"  echo '{\"event\":\"error\",\"code\":1,\"status\":\"NOT_RUNNING\","
	"\"message\":\"booted 1.1.0, not the pushed 2.0.0\",\"hint\":\"\"}'\n"
	"  exit 1\n"
	"fi\n"
	"for a do\n"
	"  shift\n"
	"  case $a in AA:BB:CC:DD:EE:0?) a=\"unix:$FAKE_DIR/${a##*:}.sock\" ;; "
	"esac\n"
	"  set -- \"$@\" \"$a\"\n"
	"done\n"
	"exec \"$FAKE_REAL\" \"$@\"\n";

/* Write the stand-in and its socket links, export what it reads, and
 * start the gateway with it for one rule (@match -> @im as @version); the
 * stand-in's log of the operations run is @flog. */
static void fake_start(struct bgproc *g, const char *match,
		       const struct e2e_image *im, const char *version,
		       const char *extra, char *flog, size_t cap)
{
	char fake[600], dir[600], link[700], cfg[600], doc[1200], base[256];
	int i;

	tmpdir_path(fake, sizeof(fake), "fake-bleota");
	tmpdir_path(dir, sizeof(dir), "fake");
	tmpdir_path(flog, cap, "fake.log");
	assert_true(g_file_set_contents(fake, fake_bleota, -1, NULL));
	assert_int_equal(chmod(fake, 0755), 0);
	assert_int_equal(g_mkdir_with_parents(dir, 0755), 0);
	for (i = 0; i < 3; i++) {
		snprintf(link, sizeof(link), "%s/0%d.sock", dir, i + 1);
		unlink(link);
		assert_int_equal(symlink(fx.per[i].sock, link), 0);
	}
	setenv("FAKE_REAL", e2e_bin_bleota, 1);
	setenv("FAKE_DIR", dir, 1);
	setenv("FAKE_LOG", flog, 1);
	tmpdir_path(cfg, sizeof(cfg), "fake.json");
	snprintf(doc, sizeof(doc),
		 "{\"devices\": [{\"match\": \"%s\", \"file\": \"%s\", "
		 "\"version\": \"%s\"}]}",
		 match, im->path, version);
	assert_true(g_file_set_contents(cfg, doc, -1, NULL));
	setenv("BLEOTA_SERVE_EXE", fake, 1);
	gw_start(g, cfg, base, sizeof(base), extra);
	unsetenv("BLEOTA_SERVE_EXE");
}

/*
 * Devices found by scanning (two adapters, stood in for by a wrapper):
 * a name rule picks the two lamps on hci7, which are worked on one at a
 * time (--per-adapter 1) through that adapter; the door on hci8 has no
 * rule. --once waits for the scans and ends with 0.
 */
static void test_serve_scanned_devices(void **state)
{
	char flog[600], line[8192], want[900];
	const char *ids[] = { "AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02",
			      "AA:BB:CC:DD:EE:03" };
	const char *final[3] = { "", "", "" };
	bool busy[2] = { false, false };
	gchar *log = NULL;
	int i, max_busy = 0;
	struct bgproc g;

	(void)state;
	fake_start(&g, "name:lamp", &fx.a, "1.1.0",
		   "--once --jobs 8 --per-adapter 1 --adapter hci7 "
		   "--adapter hci8",
		   flog, sizeof(flog));
	while (bgproc_line(&g, line, sizeof(line), WAIT_MS)) {
		struct ev e;

		if (!ev_parse(&e, line) ||
		    strcmp(ev_s(&e, "event"), "device")) {
			ev_free(&e);
			continue;
		}
		for (i = 0; i < 3; i++) {
			if (strcmp(ev_s(&e, "device"), ids[i]))
				continue;
			if (i < 2)
				busy[i] = busy_state(ev_s(&e, "state"));
			if (!strcmp(ev_s(&e, "state"), "in_sync") &&
			    !strcmp(ev_s(&e, "desired"), "1.1.0"))
				final[i] = "in_sync";
			else if (!strcmp(ev_s(&e, "state"), "no_rule"))
				final[i] = "no_rule";
		}
		if (busy[0] + busy[1] > max_busy)
			max_busy = busy[0] + busy[1];
		ev_free(&e);
	}
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 0);
	assert_string_equal(final[0], "in_sync");
	assert_string_equal(final[1], "in_sync");
	assert_string_equal(final[2], "no_rule");
	assert_int_equal(max_busy, 1);
	assert_true(g_file_get_contents(flog, &log, NULL, NULL));
	print_message("device operations run:\n%s", log);
	assert_non_null(strstr(log, "scan --adapter hci7"));
	assert_non_null(strstr(log, "scan --adapter hci8"));
	/* the devices store tags: pushed with the rule's version as tag,
	 * with the gateway's own image cache (delta bases) */
	snprintf(want, sizeof(want),
		 "--adapter hci7 --json --confirm --image-cache %s/images "
		 "--tag 1.1.0 AA:BB:CC:DD:EE:02",
		 fx.state);
	assert_non_null(strstr(log, want));
	g_free(log);
	assert_runs(0, "1.1.0");
	assert_runs(1, "1.1.0");
}

/*
 * A scan that fails (bluetoothd slow: "starting discovery timed out") is
 * tried again within seconds, not after --scan-interval (an hour here):
 * the lamps are found and updated by the second scan.
 */
static void test_serve_failed_scan_retried_soon(void **state)
{
	char flog[600], line[8192], marker[600];
	bool failed = false;
	int synced = 0;
	struct bgproc g;

	(void)state;
	tmpdir_path(marker, sizeof(marker), "scan-failed-once");
	unlink(marker);
	setenv("FAKE_SCAN_FAIL_ONCE", marker, 1);
	fake_start(&g, "name:lamp", &fx.a, "1.1.0",
		   "--scan-interval 3600 --adapter hci7", flog, sizeof(flog));
	unsetenv("FAKE_SCAN_FAIL_ONCE");
	while (synced < 2 && bgproc_line(&g, line, sizeof(line), WAIT_MS)) {
		struct ev e;

		if (!ev_parse(&e, line))
			continue;
		if (!strcmp(ev_s(&e, "event"), "scan_failed")) {
			failed = true;
			print_message("%s\n", ev_s(&e, "message"));
			assert_int_equal(ev_n(&e, "retry_s"), 2);
		}
		if (!strcmp(ev_s(&e, "event"), "device") &&
		    !strcmp(ev_s(&e, "state"), "in_sync"))
			synced++;
		ev_free(&e);
	}
	assert_int_equal(bgproc_stop(&g, SIGTERM), 0);
	assert_true(failed);
	assert_int_equal(synced, 2);
	unlink(marker);
}

/* A device that boots its old image after the update (the bootloader
 * rejected the new one; the CLI says NOT_RUNNING, stood in for here) is
 * reported as a rollback and refused, not retried in a loop. */
static void test_serve_rollback_reported(void **state)
{
	char flog[600], line[8192];
	bool rollback = false, refused = false;
	struct bgproc g;

	(void)state;
	setenv("FAKE_ROLLBACK", "1", 1);
	fake_start(&g, "AA:BB:CC:DD:EE:01", &fx.b, "2.0.0", "--once", flog,
		   sizeof(flog));
	unsetenv("FAKE_ROLLBACK");
	while (bgproc_line(&g, line, sizeof(line), WAIT_MS)) {
		rollback =
			rollback || (strstr(line, "\"event\":\"rollback\"") &&
				     strstr(line, "AA:BB:CC:DD:EE:01"));
		refused = refused || (strstr(line, "\"state\":\"refused\"") &&
				      strstr(line, "NOT_RUNNING"));
	}
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 1);
	assert_true(rollback);
	assert_true(refused);
}

/*
 * Bluetooth devices share their adapter's radio: with --per-adapter 1,
 * two address rules are worked on one at a time (here they fail, with no
 * bluetoothd to reach them, and --once ends with status 1).
 */
static void test_serve_per_adapter_bound(void **state)
{
	char path[700], line[8192], base[256];
	const char *ids[] = { "AA:BB:CC:DD:EE:01", "AA:BB:CC:DD:EE:02" };
	bool busy[2] = { false, false }, failed[2] = { false, false };
	int max_busy = 0;
	struct bgproc g;

	(void)state;
	tmpdir_path(path, sizeof(path), "addresses.json");
	snprintf(line, sizeof(line),
		 "{\"devices\": [{\"match\": \"%s\", \"file\": \"%s\", "
		 "\"version\": \"2.0.0\"}, {\"match\": \"%s\", \"file\": "
		 "\"%s\", \"version\": \"2.0.0\"}]}",
		 ids[0], fx.b.path, ids[1], fx.b.path);
	assert_true(g_file_set_contents(path, line, -1, NULL));
	gw_start(&g, path, base, sizeof(base),
		 "--once --jobs 8 --per-adapter 1");
	while (bgproc_line(&g, line, sizeof(line), WAIT_MS)) {
		struct ev e;
		int i;

		if (!ev_parse(&e, line) ||
		    strcmp(ev_s(&e, "event"), "device")) {
			ev_free(&e);
			continue;
		}
		for (i = 0; i < 2; i++) {
			if (strcmp(ev_s(&e, "device"), ids[i]))
				continue;
			busy[i] = busy_state(ev_s(&e, "state"));
			failed[i] = failed[i] ||
				    (!strcmp(ev_s(&e, "state"), "failed") &&
				     strstr(ev_s(&e, "message"),
					    "cannot read INFO"));
		}
		if (busy[0] + busy[1] > max_busy)
			max_busy = busy[0] + busy[1];
		ev_free(&e);
	}
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 1);
	assert_true(failed[0] && failed[1]);
	assert_int_equal(max_busy, 1);
}

/* Wait (bounded) until @path contains @needle. */
static bool wait_log(const char *path, const char *needle)
{
	uint64_t until = e2e_mono_ms() + WAIT_MS;

	while (e2e_mono_ms() < until) {
		gchar *text = NULL;
		bool found = g_file_get_contents(path, &text, NULL, NULL) &&
			     strstr(text, needle);

		g_free(text);
		if (found)
			return true;
		usleep(50000);
	}
	return false;
}

/* A desired state shared through a URL: a change there is picked up by
 * the next poll (conditional GET) and acted on. */
static void test_serve_url_config_polled(void **state)
{
	char u[256], line[8192], base[256];
	struct bgproc g;
	GString *s = g_string_new(NULL);
	const char *files[] = { "b.bin", "a.bin" };
	const char *versions[] = { "2.0.0", "1.1.0" };
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		/* polls are conditional: unchanged means 304 */
		if (k == 1)
			assert_true(wait_log(fx.srvlog,
					     "GET /fleet.json range=- -> 304"));
		publish_doc("fleet.json", "u:hunter2@", files[k], versions[k],
			    u, sizeof(u));
		if (k == 0) {
			gw_start(&g, u, base, sizeof(base), "--poll 1");
		} else {
			assert_true(
				bgproc_until(&g, line, sizeof(line), WAIT_MS,
					     "\"event\":\"desired\"", NULL));
		}
		g_string_printf(s, "\"desired\":\"%s\"", versions[k]);
		assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
					 "\"state\":\"in_sync\"", s->str,
					 NULL));
	}
	/* the API never shows the URL's credentials */
	assert_int_equal(api(base, "/api/desired", NULL, NULL, s), 200);
	assert_non_null(strstr(s->str, "a.bin"));
	assert_null(strstr(s->str, "hunter2"));
	assert_int_equal(api(base, "/api/devices", NULL, NULL, s), 200);
	assert_null(strstr(s->str, "hunter2"));
	assert_int_equal(bgproc_stop(&g, SIGTERM), 0);
	assert_runs(0, "1.1.0");
	g_string_free(s, TRUE);
}

/* A device found running its desired version but still PENDING_VERIFY
 * (someone rebooted into it without confirming) is confirmed, not left to
 * roll back at the next reboot. */
static void test_serve_confirms_pending_image(void **state)
{
	char out[65536], line[8192], base[256], cfg[600];
	struct bgproc g;
	bool confirming = false;

	(void)state;
	/* pushed with the desired version's tag: it runs that version */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "push --reboot --tag 2.0.0 unix:%s %s",
				    fx.per[0].sock, fx.b.path),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "status --json unix:%s",
				    fx.per[0].sock),
			 0);
	assert_non_null(strstr(out, "\"state\":\"PENDING_VERIFY\""));
	assert_non_null(strstr(out, "\"tag\":\"2.0.0\""));
	one_rule("pending.json", fx.b.path, "2.0.0", cfg, sizeof(cfg));
	gw_start(&g, cfg, base, sizeof(base), "--once");
	while (bgproc_line(&g, line, sizeof(line), WAIT_MS))
		confirming = confirming ||
			     (strstr(line, "\"step\":\"confirming\"") &&
			      strstr(line, "PENDING_VERIFY"));
	assert_int_equal(bgproc_wait(&g, WAIT_MS), 0);
	assert_true(confirming);
	assert_int_equal(e2e_bleota(out, sizeof(out), "status --json unix:%s",
				    fx.per[0].sock),
			 0);
	assert_non_null(strstr(out, "\"state\":\"VALID\""));
	assert_runs(0, "2.0.0");
	assert_tag(0, "2.0.0");
}

/* SIGHUP makes a URL-configured gateway poll now (here: --poll is a day). */
static void test_serve_sighup_polls_now(void **state)
{
	char u[256], line[8192], base[256];
	const char *files[] = { "b.bin", "a.bin" };
	const char *versions[] = { "2.0.0", "1.1.0" };
	GString *s = g_string_new(NULL);
	struct bgproc g;
	int k;

	(void)state;
	for (k = 0; k < 2; k++) {
		publish_doc("hup.json", "", files[k], versions[k], u,
			    sizeof(u));
		if (k == 0)
			gw_start(&g, u, base, sizeof(base), "--poll 86400");
		else
			kill(g.pid, SIGHUP);
		g_string_printf(s, "\"desired\":\"%s\"", versions[k]);
		assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
					 "\"state\":\"in_sync\"", s->str,
					 NULL));
	}
	assert_int_equal(bgproc_stop(&g, SIGTERM), 0);
	assert_runs(0, "1.1.0");
	g_string_free(s, TRUE);
}

/* A device that cannot be reached is retried with back-off while the
 * gateway goes on; once it appears, it is updated. */
static void test_serve_retry_until_device_appears(void **state)
{
	char flash[512], cfg[600], line[8192], base[256], want[700];
	struct e2e_periph late;
	struct bgproc g;

	(void)state;
	e2e_flash(flash, sizeof(flash), "late", &fx.base_c3);
	tmpdir_path(late.sock, sizeof(late.sock), "late.sock");
	unlink(late.sock);
	tmpdir_path(cfg, sizeof(cfg), "late.json");
	snprintf(line, sizeof(line),
		 "{\"devices\": [{\"match\": \"unix:%s\", \"file\": \"%s\", "
		 "\"version\": \"2.0.0\"}]}",
		 late.sock, fx.b.path);
	assert_true(g_file_set_contents(cfg, line, -1, NULL));
	gw_start(&g, cfg, base, sizeof(base), "");
	snprintf(want, sizeof(want), "unix:%s", late.sock);
	assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
				 "\"state\":\"failed\"", want,
				 "cannot read INFO", "next in", NULL));
	e2e_periph_start(&late, flash, "late", "");
	track(late.pid);
	assert_true(bgproc_until(&g, line, sizeof(line), WAIT_MS,
				 "\"event\":\"updated\"", want, NULL));
	assert_int_equal(bgproc_stop(&g, SIGTERM), 0);
	e2e_periph_stop(&late);
}

#define T(name, fn)                                 \
	{                                           \
		name, fn, NULL, each_teardown, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/serve/fleet-a-then-b-with-restart",
		  test_serve_fleet_a_then_b_with_restart),
		T("/serve/refuses-merged-image",
		  test_serve_refuses_merged_image),
		T("/serve/missing-config-file", test_serve_missing_config_file),
		T("/serve/refuses-open-listen-without-token",
		  test_serve_refuses_open_listen_without_token),
		T("/serve/bad-config-at-start", test_serve_bad_config_at_start),
		T("/serve/no-delta-pushes-plain",
		  test_serve_no_delta_pushes_plain),
		T("/serve/version-change-retags",
		  test_serve_version_change_retags),
		T("/serve/url-config-polled", test_serve_url_config_polled),
		T("/serve/confirms-pending-image",
		  test_serve_confirms_pending_image),
		T("/serve/sighup-polls-now", test_serve_sighup_polls_now),
		T("/serve/scanned-devices", test_serve_scanned_devices),
		T("/serve/failed-scan-retried-soon",
		  test_serve_failed_scan_retried_soon),
		T("/serve/rollback-reported", test_serve_rollback_reported),
		T("/serve/per-adapter-bound", test_serve_per_adapter_bound),
		T("/serve/retry-until-device-appears",
		  test_serve_retry_until_device_appears),
	};

	return cmocka_run_group_tests_name("serve", tests, group_setup,
					   group_teardown);
}
