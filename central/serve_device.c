/* SPDX-License-Identifier: MIT */
/*
 * Device operations as child processes (see serve_device.h). Each
 * operation is one GSubprocess whose stdout is read line by line with
 * GDataInputStream; each line is one JSON event (docs/bleota.1.md,
 * OUTPUT). The child gets PR_SET_PDEATHSIG, so killing the gateway also
 * stops its pushes: the devices keep what they received and the next
 * gateway's push resumes there. The exit status is the CLI's documented
 * exit code, which is what the scheduler acts on; the "error" event adds
 * the device's status name (e.g. SAME_AS_RUNNING, WRONG_CHIP).
 */
#define _GNU_SOURCE
#include "central/serve_device.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

enum op_kind {
	OP_INFO,
	OP_PUSH,
	OP_SCAN,
};

struct serve_op {
	enum op_kind kind;
	GSubprocess *proc;
	GDataInputStream *in;
	serve_dev_event_cb_t event;
	serve_dev_done_cb_t done;
	serve_dev_found_cb_t found;
	void *user_data;
	bool cancelled;
	struct serve_dev_result r;
};

static pid_t gateway_pid;

/* In the child, before exec: die with the gateway. */
static void child_setup(gpointer data)
{
	(void)data;
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != gateway_pid)
		_exit(127); /* the gateway is already gone */
}

static const char *str_member(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);

	if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return "";
	return json_node_get_string(n);
}

static uint64_t num_member(JsonObject *o, const char *key)
{
	JsonNode *n = json_object_get_member(o, key);

	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return 0;
	if (json_node_get_value_type(n) == G_TYPE_DOUBLE)
		return (uint64_t)json_node_get_double(n);
	if (json_node_get_value_type(n) != G_TYPE_INT64)
		return 0;
	return (uint64_t)json_node_get_int(n);
}

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src);
}

/* INFO's "signed_only" and "trusted_keys" (hex digests). */
static void info_keys(struct serve_dev_info *i, JsonObject *o)
{
	JsonNode *n = json_object_get_member(o, "trusted_keys");
	JsonArray *a =
		n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
	guint k;

	n = json_object_get_member(o, "signed_only");
	i->signed_only = n && JSON_NODE_HOLDS_VALUE(n) &&
			 json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
			 json_node_get_boolean(n);
	i->nkeys = 0;
	for (k = 0; a && k < json_array_get_length(a) && i->nkeys < 3; k++) {
		JsonNode *e = json_array_get_element(a, k);

		if (JSON_NODE_HOLDS_VALUE(e) &&
		    json_node_get_value_type(e) == G_TYPE_STRING)
			copy(i->keys[i->nkeys++], sizeof(i->keys[0]),
			     json_node_get_string(e));
	}
}

static void handle_line(struct serve_op *op, const char *line)
{
	struct serve_dev_event ev = { 0 };
	struct serve_dev_result *r = &op->r;
	JsonParser *p = json_parser_new();
	JsonObject *o;
	const char *name;

	if (!json_parser_load_from_data(p, line, -1, NULL) ||
	    !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p)))
		goto out; /* not an event line: ignore */
	o = json_node_get_object(json_parser_get_root(p));
	name = str_member(o, "event");
	if (!strcmp(name, "info")) {
		copy(r->info.chip, sizeof(r->info.chip), str_member(o, "chip"));
		r->info.chip_id = (unsigned int)num_member(o, "chip_id");
		copy(r->info.version, sizeof(r->info.version),
		     str_member(o, "version"));
		copy(r->info.project, sizeof(r->info.project),
		     str_member(o, "project"));
		r->info.slot_size = (uint32_t)num_member(o, "slot_size");
		r->info.running_slot = (int)num_member(o, "running_slot");
		/* the stored version tag, once devices report one */
		r->info.has_tag = json_object_has_member(o, "tag");
		copy(r->info.tag, sizeof(r->info.tag), str_member(o, "tag"));
		info_keys(&r->info, o);
		goto out;
	}
	if (!strcmp(name, "status")) {
		copy(r->state, sizeof(r->state), str_member(o, "state"));
		copy(r->last_boot, sizeof(r->last_boot),
		     str_member(o, "last_boot"));
		copy(r->run_version, sizeof(r->run_version),
		     str_member(o, "version"));
		r->has_run_tag = json_object_has_member(o, "tag");
		copy(r->run_tag, sizeof(r->run_tag), str_member(o, "tag"));
		goto out;
	}
	if (!strcmp(name, "device")) {
		if (op->found && !op->cancelled)
			op->found(str_member(o, "address"),
				  str_member(o, "name"), op->user_data);
		goto out;
	}
	if (!strcmp(name, "error")) {
		copy(r->status, sizeof(r->status), str_member(o, "status"));
		copy(r->message, sizeof(r->message), str_member(o, "message"));
		copy(r->hint, sizeof(r->hint), str_member(o, "hint"));
		goto out;
	}
	if (!strcmp(name, "done")) {
		copy(r->encoding, sizeof(r->encoding),
		     str_member(o, "encoding"));
		r->air_bytes = num_member(o, "air_bytes");
	}
	ev.event = name;
	ev.message = str_member(o, "message");
	if (!strcmp(name, "plan")) {
		ev.encoding = str_member(o, "encoding");
		ev.base = str_member(o, "base");
		ev.air_total = num_member(o, "stream");
		ev.total = num_member(o, "image");
	} else if (!strcmp(name, "progress")) {
		ev.bytes = num_member(o, "bytes");
		ev.total = num_member(o, "total");
		ev.air = num_member(o, "air");
		ev.air_total = num_member(o, "air_total");
	} else if (!strcmp(name, "resumed")) {
		r->resumed = true;
		r->resumed_from = (uint32_t)num_member(o, "held");
		ev.bytes = r->resumed_from;
		ev.total = num_member(o, "total");
	} else if (!strcmp(name, "booted")) {
		copy(r->booted, sizeof(r->booted), str_member(o, "version"));
		copy(r->state, sizeof(r->state), str_member(o, "state"));
	} else if (!strcmp(name, "confirmed")) {
		/* a push that finds its image already running, waiting for
		 * confirmation (an earlier push got as far as the reboot),
		 * only confirms it: no "booted" event, and this one names
		 * the version but no state. Confirmed means VALID. */
		r->confirmed = true;
		copy(r->state, sizeof(r->state),
		     json_object_has_member(o, "state") ? str_member(o, "state")
							: "VALID");
		if (!r->booted[0])
			copy(r->booted, sizeof(r->booted),
			     str_member(o, "version"));
	}
	if (op->event && !op->cancelled)
		op->event(&ev, op->user_data);
out:
	g_object_unref(p);
}

static void op_free(struct serve_op *op)
{
	g_clear_object(&op->in);
	g_clear_object(&op->proc);
	g_free(op);
}

static void on_child_exit(GObject *src, GAsyncResult *res, gpointer data)
{
	struct serve_op *op = data;
	GSubprocess *proc = G_SUBPROCESS(src);

	g_subprocess_wait_finish(proc, res, NULL);
	if (g_subprocess_get_if_exited(proc)) {
		op->r.code = g_subprocess_get_exit_status(proc);
	} else {
		op->r.code = -1;
		if (!op->r.message[0])
			snprintf(op->r.message, sizeof(op->r.message),
				 "bleota %s was killed by signal %d",
				 op->kind == OP_PUSH   ? "push"
				 : op->kind == OP_SCAN ? "scan"
						       : "info/status/confirm",
				 g_subprocess_get_term_sig(proc));
	}
	if (op->r.code && !op->r.message[0])
		snprintf(op->r.message, sizeof(op->r.message),
			 "bleota exited with status %d and no message",
			 op->r.code);
	if (op->done && !op->cancelled)
		op->done(&op->r, op->user_data);
	op_free(op);
}

static void on_line(GObject *src, GAsyncResult *res, gpointer data)
{
	struct serve_op *op = data;
	char *line;

	line = g_data_input_stream_read_line_finish_utf8(
		G_DATA_INPUT_STREAM(src), res, NULL, NULL);
	if (!line) {
		g_subprocess_wait_async(op->proc, NULL, on_child_exit, op);
		return;
	}
	handle_line(op, line);
	g_free(line);
	g_data_input_stream_read_line_async(op->in, G_PRIORITY_DEFAULT, NULL,
					    on_line, op);
}

static struct serve_op *start(const struct serve_dev_cfg *cfg,
			      enum op_kind kind, GPtrArray *argv,
			      serve_dev_done_cb_t done, void *user_data)
{
	struct serve_op *op = g_new0(struct serve_op, 1);
	GSubprocessLauncher *l;
	GError *e = NULL;
	int i;

	op->kind = kind;
	op->done = done;
	op->user_data = user_data;
	if (cfg->adapter && *cfg->adapter) {
		g_ptr_array_insert(argv, 2, g_strdup("--adapter"));
		g_ptr_array_insert(argv, 3, g_strdup(cfg->adapter));
	}
	for (i = 0; i < cfg->verbose; i++)
		g_ptr_array_insert(argv, 2, g_strdup("-v"));
	g_ptr_array_add(argv, NULL);
	gateway_pid = getpid();
	l = g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
	g_subprocess_launcher_set_child_setup(l, child_setup, NULL, NULL);
	op->proc = g_subprocess_launcher_spawnv(
		l, (const gchar *const *)argv->pdata, &e);
	g_object_unref(l);
	g_ptr_array_free(argv, TRUE);
	if (!op->proc) {
		op->r.code = -1;
		snprintf(op->r.message, sizeof(op->r.message),
			 "cannot run %s: %s", cfg->exe, e->message);
		g_error_free(e);
		if (done)
			done(&op->r, user_data);
		op_free(op);
		return NULL;
	}
	op->in =
		g_data_input_stream_new(g_subprocess_get_stdout_pipe(op->proc));
	g_data_input_stream_read_line_async(op->in, G_PRIORITY_DEFAULT, NULL,
					    on_line, op);
	return op;
}

static GPtrArray *args(const char *exe, const char *cmd)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	g_ptr_array_add(a, g_strdup(exe));
	g_ptr_array_add(a, g_strdup(cmd));
	g_ptr_array_add(a, g_strdup("--json"));
	return a;
}

/* `bleota CMD --json DEVICE`, nothing but an outcome to report. */
static struct serve_op *device_cmd(const struct serve_dev_cfg *cfg,
				   const char *cmd, const char *device,
				   serve_dev_done_cb_t done, void *user_data)
{
	GPtrArray *a = args(cfg->exe, cmd);

	g_ptr_array_add(a, g_strdup(device));
	return start(cfg, OP_INFO, a, done, user_data);
}

struct serve_op *serve_dev_info(const struct serve_dev_cfg *cfg,
				const char *device, serve_dev_done_cb_t done,
				void *user_data)
{
	return device_cmd(cfg, "info", device, done, user_data);
}

struct serve_op *serve_dev_status(const struct serve_dev_cfg *cfg,
				  const char *device, serve_dev_done_cb_t done,
				  void *user_data)
{
	return device_cmd(cfg, "status", device, done, user_data);
}

struct serve_op *serve_dev_confirm(const struct serve_dev_cfg *cfg,
				   const char *device, serve_dev_done_cb_t done,
				   void *user_data)
{
	return device_cmd(cfg, "confirm", device, done, user_data);
}

struct serve_op *serve_dev_push(const struct serve_dev_cfg *cfg,
				const char *device, const char *file,
				const char *tag, serve_dev_event_cb_t event,
				serve_dev_done_cb_t done, void *user_data)
{
	GPtrArray *a = args(cfg->exe, "push");
	struct serve_op *op;

	g_ptr_array_add(a, g_strdup("--confirm"));
	if (cfg->full)
		g_ptr_array_add(a, g_strdup("--full"));
	if (cfg->force)
		g_ptr_array_add(a, g_strdup("--force"));
	if (cfg->image_cache) {
		g_ptr_array_add(a, g_strdup("--image-cache"));
		g_ptr_array_add(a, g_strdup(cfg->image_cache));
	}
	if (tag) {
		g_ptr_array_add(a, g_strdup("--tag"));
		g_ptr_array_add(a, g_strdup(tag));
	}
	g_ptr_array_add(a, g_strdup(device));
	g_ptr_array_add(a, g_strdup(file));
	op = start(cfg, OP_PUSH, a, done, user_data);
	if (op)
		op->event = event;
	return op;
}

struct serve_op *serve_dev_scan(const struct serve_dev_cfg *cfg,
				unsigned int timeout_s,
				serve_dev_found_cb_t found,
				serve_dev_done_cb_t done, void *user_data)
{
	GPtrArray *a = args(cfg->exe, "scan");
	struct serve_op *op;

	g_ptr_array_add(a, g_strdup("--timeout"));
	g_ptr_array_add(a, g_strdup_printf("%u", timeout_s));
	op = start(cfg, OP_SCAN, a, done, user_data);
	if (op)
		op->found = found;
	return op;
}

void serve_op_cancel(struct serve_op *op)
{
	if (!op)
		return;
	op->cancelled = true;
	g_subprocess_send_signal(op->proc, SIGTERM);
}
