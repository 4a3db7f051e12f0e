/* SPDX-License-Identifier: MIT */
/*
 * `bleota serve`'s output: one event per state change or problem, a JSON
 * line on stdout with --json or a line of text otherwise (each event also
 * goes to the HTTP API's event stream), and the devices document that
 * GET /api/devices and STATE/devices.json share.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "central/serve_priv.h"

const char *const serve_state_names[] = {
	[DS_NEW] = "new",           [DS_CHECKING] = "checking",
	[DS_FETCHING] = "fetching", [DS_PUSHING] = "pushing",
	[DS_IN_SYNC] = "in_sync",   [DS_REFUSED] = "refused",
	[DS_FAILED] = "failed",     [DS_NO_RULE] = "no_rule",
};

/* ---- events ------------------------------------------------------------------- */

JsonBuilder *ev_begin(const char *name)
{
	JsonBuilder *b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "event");
	json_builder_add_string_value(b, name);
	return b;
}

void serve_ev_str(JsonBuilder *b, const char *key, const char *val)
{
	json_builder_set_member_name(b, key);
	if (val)
		json_builder_add_string_value(b, val);
	else
		json_builder_add_null_value(b);
}

void serve_ev_int(JsonBuilder *b, const char *key, gint64 val)
{
	json_builder_set_member_name(b, key);
	json_builder_add_int_value(b, val);
}

char *serve_builder_text(JsonBuilder *b)
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
void G_GNUC_PRINTF(3, 4)
	serve_ev_end(JsonBuilder *b, const char *name, const char *fmt, ...)
{
	va_list ap;
	char *msg, *text;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	serve_ev_str(b, "message", msg);
	json_builder_end_object(b);
	text = serve_builder_text(b);
	if (serve_gw.json)
		printf("%s\n", text);
	else if (strcmp(name, "progress")) /* the JSON and the API have it */
		printf("serve: %s\n", msg);
	fflush(stdout);
	serve_http_event(serve_gw.http, name, text);
	g_free(text);
	g_free(msg);
	g_object_unref(b);
}

static void device_json(JsonBuilder *b, const struct device *d)
{
	gint64 now = g_get_monotonic_time();
	unsigned int k;

	json_builder_begin_object(b);
	serve_ev_str(b, "id", d->id);
	serve_ev_str(b, "name", d->name);
	serve_ev_str(b, "adapter", d->adapter);
	serve_ev_str(b, "state", serve_state_names[d->state]);
	serve_ev_str(b, "message", d->message);
	json_builder_set_member_name(b, "running");
	if (d->has_info) {
		json_builder_begin_object(b);
		serve_ev_str(b, "version", d->info.version);
		serve_ev_str(b, "project", d->info.project);
		serve_ev_str(b, "chip", d->info.chip);
		serve_ev_int(b, "slot_size", d->info.slot_size);
		serve_ev_str(b, "tag", d->info.has_tag ? d->info.tag : NULL);
		json_builder_set_member_name(b, "signed_only");
		json_builder_add_boolean_value(b, d->info.signed_only);
		json_builder_set_member_name(b, "trusted_keys");
		json_builder_begin_array(b);
		for (k = 0; k < d->info.nkeys; k++)
			json_builder_add_string_value(b, d->info.keys[k]);
		json_builder_end_array(b);
		json_builder_end_object(b);
	} else {
		json_builder_add_null_value(b);
	}
	serve_ev_str(b, "desired", d->want_version);
	serve_ev_str(b, "source", d->want_source);
	serve_ev_str(b, "installed", d->installed);
	json_builder_set_member_name(b, "pushing");
	json_builder_add_boolean_value(b, d->pushing);
	serve_ev_str(b, "push_sha256", d->push_sha);
	serve_ev_int(b, "bytes", (gint64)d->bytes);
	serve_ev_int(b, "total", (gint64)d->total);
	serve_ev_int(b, "attempts", d->attempts);
	serve_ev_int(b, "retry_in",
		     d->due && d->next_try > now
			     ? (d->next_try - now) / G_USEC_PER_SEC
			     : 0);
	/* what the device itself said (docs/serve.md, DEVICE) */
	serve_ev_str(b, "boot_state", d->boot_state);
	serve_ev_str(b, "last_boot", d->last_boot);
	serve_ev_str(b, "device_status", d->dev_status);
	serve_ev_str(b, "warning", d->warning);
	/* the current or last push's plan: what goes on the air */
	serve_ev_str(b, "encoding", d->encoding);
	serve_ev_int(b, "air_bytes", (gint64)d->air_bytes);
	serve_ev_int(b, "air_total", (gint64)d->air_total);
	serve_ev_str(b, "plan", d->plan);
	json_builder_end_object(b);
}

char *serve_devices_text(void)
{
	JsonBuilder *b = json_builder_new();
	char *s;
	guint i;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "devices");
	json_builder_begin_array(b);
	for (i = 0; i < serve_gw.devices->len; i++)
		device_json(b, g_ptr_array_index(serve_gw.devices, i));
	json_builder_end_array(b);
	json_builder_end_object(b);
	s = serve_builder_text(b);
	g_object_unref(b);
	return s;
}
