/* SPDX-License-Identifier: MIT */
/*
 * The handlers behind `bleota serve`'s HTTP API (serve_http.h owns the
 * server, routing and authentication): the devices and desired-state
 * documents, POST /api/push, and the page's requests: upload an image
 * (checked as pre-flight checks it), replace the desired state, and
 * update chosen devices to an uploaded image.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-glib/json-glib.h>

#include "central/imagecheck.h"
#include "central/manifest.h"
#include "ota_engine/image.h"
#include "central/serve_priv.h"

char *api_devices(void *user_data)
{
	(void)user_data;
	return serve_devices_text();
}

/* The document as loaded, without the credentials of its URLs. */
static JsonNode *desired_redacted(void)
{
	JsonNode *doc = json_from_string(serve_gw.desired_text, NULL);
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

char *api_desired(void *user_data)
{
	JsonBuilder *b = json_builder_new();
	JsonNode *doc = serve_gw.desired_text ? desired_redacted() : NULL;
	char *s;

	(void)user_data;
	json_builder_begin_object(b);
	serve_ev_str(b, "source", serve_gw.desired_from);
	serve_ev_str(b, "sha256",
		     serve_gw.desired ? serve_gw.desired_sha : NULL);
	json_builder_set_member_name(b, "document");
	if (doc)
		json_builder_add_value(b, doc);
	else
		json_builder_add_null_value(b);
	json_builder_end_object(b);
	s = serve_builder_text(b);
	g_object_unref(b);
	return s;
}

int api_push(const char *id, void *user_data)
{
	struct device *d = serve_dev_find(id);

	(void)user_data;
	if (!d)
		return -ENOENT;
	d->due = true;
	d->next_try = 0;
	d->attempts = 0;
	serve_schedule();
	return 0;
}

/* ---- the page's requests (serve_http.h) ---------------------------------------- */

#define UPLOAD_LIMIT_NO_DEVICE (16u << 20) /* the largest ESP32 app slot */

size_t api_upload_limit(void *user_data)
{
	size_t max = 0;
	guint i;

	(void)user_data;
	for (i = 0; i < serve_gw.devices->len; i++) {
		struct device *d = g_ptr_array_index(serve_gw.devices, i);

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
	serve_ev_str(b, "error", msg);
	json_builder_end_object(b);
	s = serve_builder_text(b);
	g_object_unref(b);
	return s;
}

static char *upload_path(const char *sha)
{
	return g_build_filename(serve_gw.cache_dir, "sha256", sha, NULL);
}

/* The facts `bleota image info` shows, as JSON: the signature blocks as
 * its image_check_sigs() checks them against the file. */
static void image_facts(JsonBuilder *b, const struct ota_image_verify *v,
			const struct ota_manifest *m, const uint8_t *img,
			size_t len)
{
	struct image_sig r[OTA_SIGBLOCK_MAX];
	char kd[2 * OTA_SHA256_LEN + 1];
	unsigned int i, j, n;

	serve_ev_int(b, "size", (gint64)len);
	serve_ev_str(b, "project", m->project);
	serve_ev_str(b, "version", m->version);
	serve_ev_str(b, "chip",
		     m->has_chip_id ? ota_image_chip_name(m->chip_id) : NULL);
	serve_ev_int(b, "secure_version", m->secure_version);
	n = image_check_sigs(img, len, v->info.image_len, r);
	serve_ev_int(b, "signature_sector",
		     n ? ota_sigblock_sector_offset(v->info.image_len) : 0);
	json_builder_set_member_name(b, "signatures");
	json_builder_begin_array(b);
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		const struct image_sig *k = &r[i];

		if (!k->present)
			continue;
		json_builder_begin_object(b);
		serve_ev_int(b, "block", i);
		serve_ev_str(b, "scheme",
			     k->b.err ? NULL
				      : ota_sig_scheme_name(k->b.scheme));
		for (j = 0; j < OTA_SHA256_LEN; j++)
			sprintf(kd + 2 * j, "%02x", k->b.key_digest[j]);
		serve_ev_str(b, "key_digest", k->b.err ? NULL : kd);
		json_builder_set_member_name(b, "valid");
		json_builder_add_boolean_value(b, image_sig_ok(k));
		serve_ev_str(b, "problem",
			     image_sig_ok(k) ? NULL : image_sig_problem(k));
		json_builder_end_object(b);
	}
	json_builder_end_array(b);
}

char *api_upload(const void *body, size_t len, unsigned int *status,
		 void *user_data)
{
	struct ota_image_verify v;
	struct ota_manifest m;
	struct manifest_sig sig;
	char msg[700], *sha, *path, *s;
	JsonBuilder *b;
	GError *e = NULL;

	(void)user_data;
	if (!len)
		return api_error(status, 400, "the file is empty");
	if (serve_image_problem(body, len, "the file", &v, &m, &sig, msg,
				sizeof(msg)))
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
	serve_ev_str(b, "sha256", sha);
	serve_ev_str(b, "file", path);
	image_facts(b, &v, &m, body, len);
	json_builder_end_object(b);
	s = serve_builder_text(b);
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

	if (serve_gw.config_is_url)
		return api_error(status, 409,
				 "the desired state comes from a URL: change "
				 "it there");
	json_generator_set_root(g, doc);
	json_generator_set_pretty(g, TRUE);
	text = json_generator_to_data(g, &len);
	g_object_unref(g);
	dir = g_path_get_dirname(serve_gw.config);
	d = serve_desired_parse(text, len, dir, err, sizeof(err));
	g_free(dir);
	if (!d) {
		g_free(text);
		return api_error(status, 400, err);
	}
	serve_desired_free(d);
	keep = g_build_filename(serve_gw.state_dir, "desired.previous.json",
				NULL);
	if (g_file_get_contents(serve_gw.config, &old, &oldlen, NULL))
		g_file_set_contents(keep, old, (gssize)oldlen, NULL);
	g_free(old);
	g_free(keep);
	ok = g_file_set_contents(serve_gw.config, text, (gssize)len, &e);
	g_free(text);
	if (!ok) {
		snprintf(err, sizeof(err), "cannot write %s: %s",
			 serve_gw.config, e->message);
		g_error_free(e);
		return api_error(status, 500, err);
	}
	if (!serve_load_config_file(false))
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

char *api_put_desired(const void *body, size_t len, unsigned int *status,
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
 * the rules that named exactly these devices go. The image is sent to
 * these devices even if pre-flight expects a refusal (a warning then):
 * the outcome is the device's answer.
 */
char *api_update(const void *body, size_t len, unsigned int *status,
		 void *user_data)
{
	JsonNode *req = json_body(body, len), *doc;
	JsonObject *o, *root, *rule;
	JsonArray *ids, *old, *rules;
	const char *sha, *version, *id, *match;
	struct ota_image_verify v;
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
		if (!id || !serve_dev_find(id)) {
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
	if (serve_image_problem(img, ilen, "the file", &v, &m, &sig, msg,
				sizeof(msg))) {
		s = api_error(status, 422, msg);
		goto out;
	}
	version = json_object_get_string_member_with_default(o, "version",
							     m.version);
	doc = serve_gw.desired_text
		      ? json_from_string(serve_gw.desired_text, NULL)
		      : NULL;
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
	/* the user chose this image for these devices: pre-flight warns,
	 * the device decides (serve_firmware.c; the checks start from the
	 * main loop, after this) */
	for (i = 0; *status == 200 && i < json_array_get_length(ids); i++) {
		id = json_array_get_string_element(ids, i);
		serve_set_str(&serve_dev_find(id)->explicit_sha, sha);
		api_push(id, NULL); /* now, even if the rules did not change */
	}
	json_node_unref(doc);
out:
	g_free(img);
	g_free(path);
	if (req)
		json_node_unref(req);
	return s;
}
