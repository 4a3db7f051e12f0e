/* SPDX-License-Identifier: MIT */
/*
 * See serve_http.h. SSE clients are kept as referenced SoupServerMessages
 * whose response body is chunked and not accumulated; each event is one
 * appended chunk followed by an unpause (the I/O pauses itself when it
 * runs out of chunks). A client that goes away emits "finished" and is
 * dropped. The token comparison does not stop at the first difference.
 *
 * Against web pages the user visits: a POST must be application/json
 * (a cross-origin page can only send that after a CORS preflight, which
 * is never granted), and without a token the Host header must name a
 * loopback address (a DNS-rebound name reaching 127.0.0.1 is refused).
 */
#include "central/serve_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

struct serve_http {
	SoupServer *srv;
	char *token;
	char url[128];
	struct serve_http_ops ops;
	void *user_data;
	GSList *clients; /* SoupServerMessage * of /api/events */
};

bool serve_http_is_loopback(const char *host)
{
	GInetAddress *a;
	bool lo;

	if (!strcmp(host, "localhost"))
		return true;
	a = g_inet_address_new_from_string(host);
	if (!a)
		return false;
	lo = g_inet_address_get_is_loopback(a);
	g_object_unref(a);
	return lo;
}

static bool same_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return d == 0;
}

static void reply(SoupServerMessage *msg, guint status, char *json)
{
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/json",
					 SOUP_MEMORY_TAKE, json, strlen(json));
}

static void reply_error(SoupServerMessage *msg, guint status, const char *what)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "error");
	json_builder_add_string_value(b, what);
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	reply(msg, status, json_generator_to_data(g, NULL));
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
}

static bool authorized(struct serve_http *h, SoupServerMessage *msg,
		       GHashTable *query)
{
	const char *auth, *q;

	if (!h->token)
		return true;
	auth = soup_message_headers_get_one(
		soup_server_message_get_request_headers(msg), "Authorization");
	if (auth && !g_ascii_strncasecmp(auth, "Bearer ", 7) &&
	    same_secret(auth + 7, h->token))
		return true;
	q = query ? g_hash_table_lookup(query, "access_token") : NULL;
	if (q && same_secret(q, h->token))
		return true;
	soup_message_headers_replace(
		soup_server_message_get_response_headers(msg),
		"WWW-Authenticate", "Bearer realm=\"bleota\"");
	reply_error(msg, 401,
		    "an access token is required: Authorization: Bearer TOKEN");
	return false;
}

static void drop_client(SoupServerMessage *msg, gpointer data)
{
	struct serve_http *h = data;

	if (g_slist_find(h->clients, msg)) {
		h->clients = g_slist_remove(h->clients, msg);
		g_object_unref(msg);
	}
}

static void events(struct serve_http *h, SoupServerMessage *msg)
{
	SoupMessageHeaders *hd = soup_server_message_get_response_headers(msg);
	SoupMessageBody *b = soup_server_message_get_response_body(msg);

	soup_server_message_set_status(msg, 200, NULL);
	soup_message_headers_set_content_type(hd, "text/event-stream", NULL);
	soup_message_headers_set_encoding(hd, SOUP_ENCODING_CHUNKED);
	soup_message_headers_replace(hd, "Cache-Control", "no-cache");
	soup_message_body_set_accumulate(b, FALSE);
	soup_message_body_append(b, SOUP_MEMORY_STATIC, ": bleota\n\n", 10);
	h->clients = g_slist_prepend(h->clients, g_object_ref(msg));
	g_signal_connect(msg, "finished", G_CALLBACK(drop_client), h);
}

static void push(struct serve_http *h, SoupServerMessage *msg)
{
	SoupMessageBody *body = soup_server_message_get_request_body(msg);
	GBytes *bytes = soup_message_body_flatten(body);
	JsonParser *p = json_parser_new();
	const char *dev = NULL;
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);

	if (json_parser_load_from_data(p, data ? data : "", (gssize)len,
				       NULL) &&
	    JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
		JsonObject *o = json_node_get_object(json_parser_get_root(p));
		JsonNode *n = json_object_get_member(o, "device");

		if (n && JSON_NODE_HOLDS_VALUE(n) &&
		    json_node_get_value_type(n) == G_TYPE_STRING)
			dev = json_node_get_string(n);
	}
	if (!dev)
		reply_error(msg, 400,
			    "the body must be {\"device\": \"DEVICE\"}");
	else if (h->ops.push(dev, h->user_data) == -ENOENT)
		reply_error(msg, 404,
			    "no such device (GET /api/devices lists them)");
	else
		reply(msg, 202, g_strdup("{\"queued\":true}"));
	g_object_unref(p);
	g_bytes_unref(bytes);
}

/* The Host header names a loopback address (any port). */
static bool loopback_host(SoupServerMessage *msg)
{
	const char *host = soup_message_headers_get_one(
		soup_server_message_get_request_headers(msg), "Host");
	char name[256];
	const char *end;

	if (!host)
		return false;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return false;
		snprintf(name, sizeof(name), "%.*s", (int)(end - host - 1),
			 host + 1);
	} else {
		end = strchr(host, ':');
		snprintf(name, sizeof(name), "%.*s",
			 end ? (int)(end - host) : (int)strlen(host), host);
	}
	return serve_http_is_loopback(name);
}

/* The page's files, compiled in from web/ (Makefile: glib-compile-resources). */
GResource *bleota_web_get_resource(void);

static const struct page {
	const char *path, *name, *type;
} pages[] = {
	{ "/", "index.html", "text/html; charset=utf-8" },
	{ "/index.html", "index.html", "text/html; charset=utf-8" },
	{ "/app.css", "app.css", "text/css; charset=utf-8" },
	{ "/app.js", "app.js", "text/javascript; charset=utf-8" },
	{ "/favicon.svg", "favicon.svg", "image/svg+xml" },
};

/* Only the names above: no directory listing, nothing from the disk. */
static const struct page *page_of(const char *path)
{
	size_t i;

	for (i = 0; i < G_N_ELEMENTS(pages); i++)
		if (!strcmp(path, pages[i].path))
			return &pages[i];
	return NULL;
}

static bool serve_page(SoupServerMessage *msg, const char *path)
{
	SoupMessageHeaders *hd = soup_server_message_get_response_headers(msg);
	const struct page *pg = page_of(path);
	char rpath[64];
	GBytes *data;
	gsize len;
	const void *p;

	if (!pg)
		return false;
	snprintf(rpath, sizeof(rpath), "/org/bleota/web/%s", pg->name);
	data = g_resource_lookup_data(bleota_web_get_resource(), rpath,
				      G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	if (!data)
		return false;
	p = g_bytes_get_data(data, &len);
	soup_message_headers_replace(
		hd, "Content-Security-Policy",
		"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
		"form-action 'none'");
	soup_message_headers_replace(hd, "X-Content-Type-Options", "nosniff");
	soup_message_headers_replace(hd, "Referrer-Policy", "no-referrer");
	soup_message_headers_replace(hd, "Cache-Control", "no-cache");
	soup_server_message_set_status(msg, 200, NULL);
	soup_server_message_set_response(msg, pg->type, SOUP_MEMORY_COPY, p,
					 len);
	g_bytes_unref(data);
	return true;
}

/*
 * What every request must pass before its body matters: the Host check,
 * the token, and against cross-site requests the body type (a JSON POST or
 * PUT, or an upload with "X-Bleota: 1"). False: answered already.
 */
static bool admitted(struct serve_http *h, SoupServerMessage *msg,
		     const char *path, GHashTable *query)
{
	SoupMessageHeaders *rq = soup_server_message_get_request_headers(msg);
	const char *method = soup_server_message_get_method(msg);
	const char *ctype, *x;

	if (!h->token && !loopback_host(msg)) {
		reply_error(msg, 403,
			    "the Host header must name a loopback address "
			    "(or start the gateway with --token-file)");
		return false;
	}
	/* the page's own files hold no secret: a browser fetches the
	 * script and the style sheet without the page's ?access_token */
	if (!strcmp(method, "GET") && page_of(path))
		return true;
	if (!authorized(h, msg, query))
		return false;
	if (strcmp(method, "POST") && strcmp(method, "PUT"))
		return true;
	if (!strcmp(path, "/api/upload")) {
		x = soup_message_headers_get_one(rq, "X-Bleota");
		if (!x || strcmp(x, "1")) {
			reply_error(msg, 403,
				    "an upload must carry the header "
				    "\"X-Bleota: 1\"");
			return false;
		}
		return true;
	}
	ctype = soup_message_headers_get_content_type(rq, NULL);
	if (!ctype || g_ascii_strcasecmp(ctype, "application/json")) {
		reply_error(msg, 415, "send a body of type application/json");
		return false;
	}
	return true;
}

/* Runs after the headers of /api/upload, before its body is read. */
static void upload_early(SoupServer *srv, SoupServerMessage *msg,
			 const char *path, GHashTable *query, gpointer data)
{
	struct serve_http *h = data;
	SoupMessageHeaders *rq = soup_server_message_get_request_headers(msg);
	size_t limit = h->ops.upload_limit(h->user_data);
	goffset len;
	char what[200];

	(void)srv;
	if (strcmp(soup_server_message_get_method(msg), "POST") ||
	    !admitted(h, msg, path, query))
		return;
	if (soup_message_headers_get_encoding(rq) !=
	    SOUP_ENCODING_CONTENT_LENGTH) {
		reply_error(msg, 411, "send the file with a Content-Length");
		return;
	}
	len = soup_message_headers_get_content_length(rq);
	if ((guint64)len > limit) {
		snprintf(what, sizeof(what),
			 "the file (%lld bytes) is larger than the largest "
			 "update slot of the known devices (%zu bytes)",
			 (long long)len, limit);
		reply_error(msg, 413, what);
	}
}

static void body_op(struct serve_http *h, SoupServerMessage *msg,
		    char *(*op)(const void *, size_t, unsigned int *, void *))
{
	GBytes *bytes = soup_message_body_flatten(
		soup_server_message_get_request_body(msg));
	unsigned int status = 500;
	gsize len;
	const void *p = g_bytes_get_data(bytes, &len);
	char *json = op(p ? p : "", len, &status, h->user_data);

	reply(msg, status, json);
	g_bytes_unref(bytes);
}

static void handle(SoupServer *srv, SoupServerMessage *msg, const char *path,
		   GHashTable *query, gpointer data)
{
	static const char *const api[] = { "/api/devices", "/api/desired",
					   "/api/events",  "/api/push",
					   "/api/upload",  "/api/update" };
	struct serve_http *h = data;
	const char *method = soup_server_message_get_method(msg);
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	size_t i;

	(void)srv;
	if (soup_server_message_get_status(msg)) /* the early handler did */
		return;
	if (!admitted(h, msg, path, query))
		return;
	if (!strcmp(path, "/api/devices") && get)
		reply(msg, 200, h->ops.devices(h->user_data));
	else if (!strcmp(path, "/api/desired") && get)
		reply(msg, 200, h->ops.desired(h->user_data));
	else if (!strcmp(path, "/api/desired") && !strcmp(method, "PUT"))
		body_op(h, msg, h->ops.put_desired);
	else if (!strcmp(path, "/api/events") && get)
		events(h, msg);
	else if (!strcmp(path, "/api/push") && post)
		push(h, msg);
	else if (!strcmp(path, "/api/upload") && post)
		body_op(h, msg, h->ops.upload);
	else if (!strcmp(path, "/api/update") && post)
		body_op(h, msg, h->ops.update);
	else if (get && serve_page(msg, path))
		return;
	else {
		for (i = 0; i < G_N_ELEMENTS(api); i++)
			if (!strcmp(path, api[i])) {
				reply_error(msg, 405, "method not allowed");
				return;
			}
		reply_error(msg, 404,
			    "not found: the page is at /, the API under "
			    "/api/ (docs/serve.md)");
	}
}

struct serve_http *serve_http_new(const char *listen, const char *token,
				  const struct serve_http_ops *ops,
				  void *user_data, char *err, size_t cap)
{
	struct serve_http *h;
	const char *colon = strrchr(listen, ':');
	GSocketAddress *addr;
	GInetAddress *ia;
	GError *e = NULL;
	GSList *uris;
	char host[64], *end;
	unsigned long port;

	if (!colon || colon == listen ||
	    (size_t)(colon - listen) >= sizeof(host)) {
		snprintf(err, cap, "--listen %s: expected ADDR:PORT", listen);
		return NULL;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - listen), listen);
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	port = strtoul(colon + 1, &end, 10);
	if (*end || !colon[1] || port > 65535) {
		snprintf(err, cap, "--listen %s: bad port", listen);
		return NULL;
	}
	if (!token && !serve_http_is_loopback(host)) {
		snprintf(err, cap,
			 "--listen %s is not a loopback address: give an "
			 "access token with --token-file FILE",
			 listen);
		return NULL;
	}
	ia = !strcmp(host, "localhost")
		     ? g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4)
		     : g_inet_address_new_from_string(host);
	if (!ia) {
		snprintf(err, cap, "--listen %s: %s is not an IP address",
			 listen, host);
		return NULL;
	}
	h = g_new0(struct serve_http, 1);
	h->ops = *ops;
	h->user_data = user_data;
	h->token = token ? g_strdup(token) : NULL;
	h->srv = soup_server_new("server-header", "bleota-serve", NULL);
	soup_server_add_handler(h->srv, "/", handle, h, NULL);
	/* the early and the normal handler must have the same path */
	soup_server_add_early_handler(h->srv, "/api/upload", upload_early, h,
				      NULL);
	soup_server_add_handler(h->srv, "/api/upload", handle, h, NULL);
	addr = g_inet_socket_address_new(ia, (guint16)port);
	g_object_unref(ia);
	if (!soup_server_listen(h->srv, addr, 0, &e)) {
		snprintf(err, cap, "cannot listen on %s: %s", listen,
			 e->message);
		g_error_free(e);
		g_object_unref(addr);
		serve_http_free(h);
		return NULL;
	}
	g_object_unref(addr);
	uris = soup_server_get_uris(h->srv);
	if (uris) {
		char *s = g_uri_to_string(uris->data);

		snprintf(h->url, sizeof(h->url), "%s", s);
		g_free(s);
	}
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	return h;
}

const char *serve_http_url(const struct serve_http *h)
{
	return h->url;
}

void serve_http_event(struct serve_http *h, const char *name, const char *json)
{
	GSList *l;

	if (!h)
		return;
	for (l = h->clients; l; l = l->next) {
		SoupServerMessage *msg = l->data;
		char *chunk =
			g_strdup_printf("event: %s\ndata: %s\n\n", name, json);

		soup_message_body_append(
			soup_server_message_get_response_body(msg),
			SOUP_MEMORY_TAKE, chunk, strlen(chunk));
		soup_server_message_unpause(msg);
	}
}

void serve_http_free(struct serve_http *h)
{
	if (!h)
		return;
	while (h->clients) {
		SoupServerMessage *msg = h->clients->data;

		g_signal_handlers_disconnect_by_data(msg, h);
		h->clients = g_slist_delete_link(h->clients, h->clients);
		g_object_unref(msg);
	}
	if (h->srv) {
		soup_server_disconnect(h->srv);
		g_object_unref(h->srv);
	}
	g_free(h->token);
	g_free(h);
}
