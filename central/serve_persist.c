/* SPDX-License-Identifier: MIT */
/*
 * `bleota serve`'s state directory: STATE/devices.json is rewritten after
 * every state change (which device was being pushed which image, what this
 * gateway installed), and read back at start-up, so a restarted gateway
 * pushes the same image again and the device resumes where it stopped.
 */
#define _GNU_SOURCE
#include <stdio.h>

#include <json-glib/json-glib.h>

#include "central/serve_priv.h"

void serve_persist(void)
{
	char *path = g_build_filename(serve_gw.state_dir, "devices.json", NULL);
	char *s = serve_devices_text();
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
void serve_restore(void)
{
	char *path = g_build_filename(serve_gw.state_dir, "devices.json", NULL);
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
		    !serve_rule_find(serve_gw.desired, id, NULL, NULL, NULL))
			continue; /* a socket no longer named */
		d = serve_dev_add(id,
				  json_object_get_string_member_with_default(
					  o, "name", NULL),
				  json_object_get_string_member_with_default(
					  o, "adapter", NULL));
		d->pushing = json_object_get_boolean_member_with_default(
			o, "pushing", FALSE);
		sha = json_object_get_string_member_with_default(
			o, "push_sha256", NULL);
		serve_set_str(&d->push_sha, sha);
		serve_set_str(&d->installed,
			      json_object_get_string_member_with_default(
				      o, "installed", NULL));
	}
out:
	g_object_unref(p);
	g_free(path);
}
