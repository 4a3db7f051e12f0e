/* SPDX-License-Identifier: MIT */
/*
 * The gateway's local HTTP JSON API (libsoup 3, docs/serve.md "API"):
 *
 *   GET  /api/devices   every device, its state and progress
 *   GET  /api/desired   the desired state in force and where it came from
 *   POST /api/push      {"device": ID}: check and update that device now
 *   GET  /api/events    the event stream (Server-Sent Events)
 *   POST /api/upload    a firmware image (raw body): stored, described
 *   POST /api/update    {"sha256": HEX, "devices": [ID, ...]}
 *   PUT  /api/desired   a new desired-state document
 *   GET  /, /app.css, /app.js   the page (compiled in from web/)
 *
 * Loopback by default; any other address requires an access token, sent
 * as "Authorization: Bearer TOKEN" (or ?access_token=TOKEN, for browsers'
 * EventSource, which cannot set headers).
 *
 * The page is served only under the names it has (no directory, no other
 * path), with Content-Security-Policy default-src 'self'. A POST or PUT
 * must be application/json, except /api/upload, which must carry the
 * header "X-Bleota: 1" instead: both are what a cross-site form cannot
 * send without a CORS preflight, which is never granted.
 */
#ifndef BLEOTA_CENTRAL_SERVE_HTTP_H
#define BLEOTA_CENTRAL_SERVE_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct serve_http;

struct serve_http_ops {
	/* a JSON document (g_malloc'd; the server frees it) */
	char *(*devices)(void *user_data);
	char *(*desired)(void *user_data);
	/* 0, or -ENOENT for an unknown device */
	int (*push)(const char *device, void *user_data);
	/* the largest image /api/upload accepts (the largest update slot) */
	size_t (*upload_limit)(void *user_data);
	/*
	 * The request body of /api/upload, /api/update and PUT /api/desired;
	 * each answers a JSON document (g_malloc'd) and its HTTP status.
	 */
	char *(*upload)(const void *body, size_t len, unsigned int *status,
			void *user_data);
	char *(*update)(const void *body, size_t len, unsigned int *status,
			void *user_data);
	char *(*put_desired)(const void *body, size_t len, unsigned int *status,
			     void *user_data);
};

/**
 * serve_http_new() - listen on @listen ("ADDR:PORT"; port 0: any free).
 * @token: required on every request if non-NULL; NULL is refused unless
 * ADDR is a loopback address (127.0.0.0/8, ::1, localhost).
 * Return: the server, or NULL with the reason in @err.
 */
struct serve_http *serve_http_new(const char *listen, const char *token,
				  const struct serve_http_ops *ops,
				  void *user_data, char *err, size_t cap);

/** serve_http_url() - "http://ADDR:PORT/" actually bound (static). */
const char *serve_http_url(const struct serve_http *h);

/** serve_http_event() - send one event (@json: an object) to SSE clients. */
void serve_http_event(struct serve_http *h, const char *name, const char *json);

/** serve_http_is_loopback() - @host names a loopback address. */
bool serve_http_is_loopback(const char *host);

void serve_http_free(struct serve_http *h);

#endif /* BLEOTA_CENTRAL_SERVE_HTTP_H */
