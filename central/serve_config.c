/* SPDX-License-Identifier: MIT */
/*
 * Desired-state parsing (json-glib). Strict on purpose: an unknown member
 * is an error, not ignored, so a typo ("verison") is reported instead of
 * silently leaving a fleet on old firmware. Rules are tried in order and
 * the first match wins, so specific rules go before "*".
 */
#include "central/serve_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <json-glib/json-glib.h>

#include "host/http_fetch.h"

bool serve_is_address(const char *s)
{
	int i;

	if (strlen(s) != 17)
		return false;
	for (i = 0; i < 17; i++) {
		if (i % 3 == 2 ? s[i] != ':' : !g_ascii_isxdigit(s[i]))
			return false;
	}
	return true;
}

void serve_desired_free(struct serve_desired *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nrules; i++) {
		struct serve_rule *r = &d->rules[i];

		g_free(r->match);
		g_free(r->value);
		g_free(r->url);
		g_free(r->file);
		g_free(r->version);
		g_free(r->sha256);
	}
	g_free(d->rules);
	g_free(d);
}

static bool classify(struct serve_rule *r, char *err, size_t cap, size_t i)
{
	static const struct {
		const char *prefix;
		enum serve_match_kind kind;
	} prefixes[] = {
		{ "name:", SERVE_MATCH_NAME },
		{ "project:", SERVE_MATCH_PROJECT },
		{ "chip:", SERVE_MATCH_CHIP },
	};
	const char *m = r->match;
	size_t k;

	if (!strcmp(m, "*")) {
		r->kind = SERVE_MATCH_ANY;
		r->value = g_strdup("*");
		return true;
	}
	if (g_str_has_prefix(m, "unix:")) {
		if (!m[5]) {
			snprintf(err, cap,
				 "devices[%zu]: \"unix:\" needs a path", i);
			return false;
		}
		r->kind = SERVE_MATCH_ENDPOINT;
		r->value = g_strdup(m);
		return true;
	}
	if (serve_is_address(m)) {
		r->kind = SERVE_MATCH_ENDPOINT;
		r->value = g_ascii_strup(m, -1);
		return true;
	}
	for (k = 0; k < G_N_ELEMENTS(prefixes); k++) {
		if (!g_str_has_prefix(m, prefixes[k].prefix))
			continue;
		if (!m[strlen(prefixes[k].prefix)]) {
			snprintf(err, cap, "devices[%zu]: \"%s\" needs a value",
				 i, prefixes[k].prefix);
			return false;
		}
		r->kind = prefixes[k].kind;
		r->value = g_strdup(m + strlen(prefixes[k].prefix));
		return true;
	}
	if (!*m) {
		snprintf(err, cap, "devices[%zu]: \"match\" is empty", i);
		return false;
	}
	r->kind = SERVE_MATCH_NAME;
	r->value = g_strdup(m);
	return true;
}

/* A string member; false with @err set if present but not a string. */
static bool get_str(JsonObject *o, const char *key, char **out, char *err,
		    size_t cap, size_t i)
{
	JsonNode *n = json_object_get_member(o, key);

	*out = NULL;
	if (!n)
		return true;
	if (!JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING) {
		snprintf(err, cap, "devices[%zu]: \"%s\" must be a string", i,
			 key);
		return false;
	}
	*out = g_strdup(json_node_get_string(n));
	return true;
}

static bool parse_rule(JsonNode *node, struct serve_rule *r,
		       const char *base_dir, char *err, size_t cap, size_t i)
{
	static const char *const known[] = { "match",   "url",    "file",
					     "version", "sha256", "comment" };
	JsonObject *o;
	GList *members, *l;
	char *file = NULL;
	bool ok = true;

	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		snprintf(err, cap, "devices[%zu]: a rule must be an object", i);
		return false;
	}
	o = json_node_get_object(node);
	members = json_object_get_members(o);
	for (l = members; l && ok; l = l->next) {
		size_t k;

		for (k = 0; k < G_N_ELEMENTS(known); k++)
			if (!strcmp(l->data, known[k]))
				break;
		if (k == G_N_ELEMENTS(known)) {
			snprintf(err, cap,
				 "devices[%zu]: unknown member \"%s\" (known: "
				 "match, url, file, version, sha256, comment)",
				 i, (const char *)l->data);
			ok = false;
		}
	}
	g_list_free(members);
	if (!ok || !get_str(o, "match", &r->match, err, cap, i) ||
	    !get_str(o, "url", &r->url, err, cap, i) ||
	    !get_str(o, "file", &file, err, cap, i) ||
	    !get_str(o, "version", &r->version, err, cap, i) ||
	    !get_str(o, "sha256", &r->sha256, err, cap, i))
		goto bad;
	if (!r->match) {
		snprintf(err, cap, "devices[%zu]: \"match\" is missing", i);
		goto bad;
	}
	if (!classify(r, err, cap, i))
		goto bad;
	if (!r->version || !*r->version) {
		snprintf(err, cap, "devices[%zu]: \"version\" is missing", i);
		goto bad;
	}
	if (strlen(r->version) > SERVE_TAG_MAX) {
		snprintf(err, cap,
			 "devices[%zu]: \"version\" is %zu characters, at most "
			 "%d",
			 i, strlen(r->version), SERVE_TAG_MAX);
		goto bad;
	}
	if (!r->url == !file) {
		snprintf(err, cap,
			 "devices[%zu]: give exactly one of \"url\" and "
			 "\"file\"",
			 i);
		goto bad;
	}
	if (r->url && !g_str_has_prefix(r->url, "http://") &&
	    !g_str_has_prefix(r->url, "https://")) {
		snprintf(err, cap,
			 "devices[%zu]: \"url\" must start with http:// or "
			 "https://",
			 i);
		goto bad;
	}
	if (r->sha256) {
		if (!http_fetch_is_sha256(r->sha256)) {
			snprintf(err, cap,
				 "devices[%zu]: \"sha256\" must be 64 hex "
				 "digits",
				 i);
			goto bad;
		}
		for (char *p = r->sha256; *p; p++)
			*p = g_ascii_tolower(*p);
	}
	if (file) {
		r->file = g_path_is_absolute(file)
				  ? g_strdup(file)
				  : g_build_filename(base_dir ? base_dir : ".",
						     file, NULL);
		g_free(file);
	}
	return true;
bad:
	g_free(file);
	return false;
}

struct serve_desired *serve_desired_parse(const char *text, size_t len,
					  const char *base_dir, char *err,
					  size_t cap)
{
	JsonParser *p = json_parser_new();
	struct serve_desired *d = NULL;
	GError *e = NULL;
	JsonObject *root;
	JsonNode *devs;
	JsonArray *a;
	GList *members, *l;
	size_t i;

	if (!json_parser_load_from_data(p, text, (gssize)len, &e)) {
		snprintf(err, cap, "not valid JSON: %s", e->message);
		g_error_free(e);
		goto out;
	}
	if (!JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		snprintf(err, cap,
			 "the document must be an object {\"devices\": [...]}");
		goto out;
	}
	root = json_node_get_object(json_parser_get_root(p));
	members = json_object_get_members(root);
	for (l = members; l; l = l->next) {
		if (strcmp(l->data, "devices") && strcmp(l->data, "comment")) {
			snprintf(err, cap,
				 "unknown member \"%s\" (known: devices, "
				 "comment)",
				 (const char *)l->data);
			g_list_free(members);
			goto out;
		}
	}
	g_list_free(members);
	devs = json_object_get_member(root, "devices");
	if (!devs || !JSON_NODE_HOLDS_ARRAY(devs)) {
		snprintf(err, cap, "\"devices\" must be an array of rules");
		goto out;
	}
	a = json_node_get_array(devs);
	d = g_new0(struct serve_desired, 1);
	d->rules = g_new0(struct serve_rule, json_array_get_length(a) + 1);
	for (i = 0; i < json_array_get_length(a); i++) {
		d->nrules = i + 1;
		if (!parse_rule(json_array_get_element(a, (guint)i),
				&d->rules[i], base_dir, err, cap, i)) {
			serve_desired_free(d);
			d = NULL;
			goto out;
		}
	}
	d->nrules = i;
out:
	g_object_unref(p);
	return d;
}

const struct serve_rule *serve_rule_find(const struct serve_desired *d,
					 const char *endpoint, const char *name,
					 const char *project, const char *chip)
{
	size_t i;

	for (i = 0; d && i < d->nrules; i++) {
		const struct serve_rule *r = &d->rules[i];
		const char *have = NULL;

		switch (r->kind) {
		case SERVE_MATCH_ANY:
			return r;
		case SERVE_MATCH_ENDPOINT:
			if (!g_ascii_strcasecmp(r->value, endpoint))
				return r;
			continue;
		case SERVE_MATCH_NAME:
			have = name;
			break;
		case SERVE_MATCH_PROJECT:
			have = project;
			break;
		case SERVE_MATCH_CHIP:
			have = chip;
			break;
		}
		if (have && !strcmp(have, r->value))
			return r;
	}
	return NULL;
}
