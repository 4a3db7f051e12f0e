/* SPDX-License-Identifier: MIT */
/*
 * A small HTTP/1.1 file server for the gateway's tests (libsoup 3):
 * serves the files of DIR with an ETag (answering If-None-Match with 304)
 * and byte ranges (libsoup turns a full answer into 206 for a Range
 * request). Test hooks:
 *
 *   --token T       paths under /private/ need "Authorization: Bearer T"
 *   --basic U:P     paths under /basic/ need HTTP Basic credentials U:P
 *   --stall PATH=N  the first GET of PATH sends N bytes of the body, then
 *                   nothing more, with the connection left open (a
 *                   download that stalls, until the client gives up)
 *
 * Prints "port N" on stdout once listening on 127.0.0.1 (port 0: any);
 * logs one line per request on stderr: "GET PATH range=... -> STATUS".
 *
 * usage: fileserver [--port N] [--token T] [--basic U:P] [--stall PATH=N]
 *                   DIR
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libsoup/soup.h>

static const char *root;
static const char *token;
static const char *basic;
static char *stall_path;
static unsigned long stall_len;
static bool stall_done;

static GSList *stalled; /* GIOStream *, kept open */

static void stall_connection(SoupServerMessage *msg, const char *data,
			     gsize len, const char *etag)
{
	GIOStream *io = soup_server_message_steal_connection(msg);
	GOutputStream *out = g_io_stream_get_output_stream(io);
	char *head =
		g_strdup_printf("HTTP/1.1 200 OK\r\n"
				"Content-Type: application/octet-stream\r\n"
				"Content-Length: %zu\r\n"
				"ETag: %s\r\nConnection: close\r\n\r\n",
				(size_t)len, etag);

	g_output_stream_write_all(out, head, strlen(head), NULL, NULL, NULL);
	g_output_stream_write_all(out, data, stall_len < len ? stall_len : len,
				  NULL, NULL, NULL);
	g_output_stream_flush(out, NULL, NULL);
	stalled = g_slist_prepend(stalled, io);
	g_free(head);
}

static void handle(SoupServer *srv, SoupServerMessage *msg, const char *path,
		   GHashTable *query, gpointer data)
{
	SoupMessageHeaders *req = soup_server_message_get_request_headers(msg);
	SoupMessageHeaders *resp =
		soup_server_message_get_response_headers(msg);
	const char *range = soup_message_headers_get_one(req, "Range");
	const char *inm = soup_message_headers_get_one(req, "If-None-Match");
	const char *auth = soup_message_headers_get_one(req, "Authorization");
	char *file, *body = NULL, *etag;
	struct stat st;
	gsize len;
	guint status;

	(void)srv;
	(void)query;
	(void)data;
	if (strstr(path, "..")) {
		status = 403;
		soup_server_message_set_status(msg, status, NULL);
		goto log;
	}
	if (token && g_str_has_prefix(path, "/private/")) {
		char *want = g_strdup_printf("Bearer %s", token);
		bool ok = auth && !strcmp(auth, want);

		g_free(want);
		if (!ok) {
			status = 401;
			soup_server_message_set_status(msg, status, NULL);
			goto log;
		}
	}
	if (basic && g_str_has_prefix(path, "/basic/")) {
		gchar *b64 =
			g_base64_encode((const guchar *)basic, strlen(basic));
		char *want = g_strdup_printf("Basic %s", b64);
		bool ok = auth && !strcmp(auth, want);

		g_free(want);
		g_free(b64);
		if (!ok) {
			status = 401;
			soup_server_message_set_status(msg, status, NULL);
			goto log;
		}
	}
	file = g_build_filename(root, path, NULL);
	if (stat(file, &st) < 0 || !S_ISREG(st.st_mode) ||
	    !g_file_get_contents(file, &body, &len, NULL)) {
		g_free(file);
		status = 404;
		soup_server_message_set_status(msg, status, NULL);
		goto log;
	}
	g_free(file);
	etag = g_strdup_printf("\"%lld-%lld.%ld\"", (long long)st.st_size,
			       (long long)st.st_mtim.tv_sec,
			       st.st_mtim.tv_nsec);
	if (inm && !strcmp(inm, etag)) {
		status = 304;
		soup_server_message_set_status(msg, status, NULL);
		soup_message_headers_replace(resp, "ETag", etag);
		g_free(body);
		g_free(etag);
		goto log;
	}
	if (stall_path && !stall_done && !range && !strcmp(path, stall_path)) {
		stall_done = true;
		fprintf(stderr, "GET %s range=- -> stalled after %lu\n", path,
			stall_len);
		stall_connection(msg, body, len, etag);
		g_free(body);
		g_free(etag);
		return;
	}
	soup_message_headers_replace(resp, "ETag", etag);
	g_free(etag);
	status = 200;
	soup_server_message_set_status(msg, status, NULL);
	soup_server_message_set_response(msg, "application/octet-stream",
					 SOUP_MEMORY_TAKE, body, len);
log:
	fprintf(stderr, "%s %s range=%s -> %u\n",
		soup_server_message_get_method(msg), path, range ? range : "-",
		range && status == 200 ? 206 : status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "token", required_argument, NULL, 't' },
		{ "stall", required_argument, NULL, 'c' },
		{ "basic", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long port = 0;
	SoupServer *srv;
	GMainLoop *loop;
	GError *e = NULL;
	GSList *uris;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = strtoul(optarg, NULL, 10);
			break;
		case 't':
			token = optarg;
			break;
		case 'b':
			basic = optarg;
			break;
		case 'c': {
			char *eq = strrchr(optarg, '=');

			if (!eq)
				return 2;
			stall_path = g_strndup(optarg, (gsize)(eq - optarg));
			stall_len = strtoul(eq + 1, NULL, 10);
			break;
		}
		default:
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: fileserver [--port N] [--token T] "
				"[--basic U:P] [--stall PATH=N] DIR\n");
		return 2;
	}
	root = argv[optind];
	srv = soup_server_new(NULL, NULL);
	soup_server_add_handler(srv, NULL, handle, NULL, NULL);
	if (!soup_server_listen_local(srv, (guint)port,
				      SOUP_SERVER_LISTEN_IPV4_ONLY, &e)) {
		fprintf(stderr, "fileserver: %s\n", e->message);
		return 1;
	}
	uris = soup_server_get_uris(srv);
	printf("port %d\n", g_uri_get_port(uris->data));
	fflush(stdout);
	g_slist_free_full(uris, (GDestroyNotify)g_uri_unref);
	loop = g_main_loop_new(NULL, FALSE);
	g_main_loop_run(loop);
	return 0;
}
