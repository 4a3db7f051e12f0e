/* SPDX-License-Identifier: MIT */
/*
 * Firmware and desired-state download (libcurl): HTTP/1.1 and HTTP/2 (ALPN
 * over TLS), TLS certificates checked by default, credentials in the URL
 * or a bearer token, a size limit, resume of a partial download with a
 * Range request, and a content cache keyed by SHA-256:
 *
 *   CACHE/sha256/HEX        finished files, named by their content hash
 *   CACHE/partial/URLHASH   a download in progress (resumed from its size)
 *   CACHE/url/URLHASH       "ETAG\nHEX\n": what URL last gave, for a
 *                           conditional GET (If-None-Match -> 304)
 *
 * URLHASH is the SHA-256 of the URL without its credentials. One call is
 * blocking; the gateway runs it in a worker thread (http_fetch_global_init
 * first, once). Certificate and host-name checks cannot be turned off.
 */
#ifndef BLEOTA_HOST_HTTP_FETCH_H
#define BLEOTA_HOST_HTTP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_FETCH_PATH_MAX 1024

struct http_fetch_opts {
	const char *url;        /* http:// or https:// (user:pass@ allowed) */
	const char *cache_dir;  /* created if missing */
	const char *sha256_hex; /* expected content hash, or NULL */
	const char *bearer;     /* "Authorization: Bearer ...", unless the URL
				 * has credentials; or NULL */
	const char *ca_file;    /* extra trusted CA (PEM), or NULL */
	uint64_t max_bytes;     /* refuse larger content; 0: no limit */
	long timeout_s;         /* whole transfer; 0: 300 s */
};

struct http_fetch_result {
	char path[HTTP_FETCH_PATH_MAX]; /* the cached file */
	char sha256[65];
	uint64_t size;
	uint64_t resumed_from; /* bytes already on disk at the start */
	int http_version;      /* 1 or 2; 0 if no request was made */
	long status;           /* last HTTP status, 0 if none */
	bool from_cache;       /* no body transferred (hash hit or 304) */
	char error[512];       /* why it failed, credentials removed */
};

/** http_fetch_global_init() - libcurl's global setup; call once first. */
void http_fetch_global_init(void);

/**
 * http_fetch() - make @o->url's content available in the cache.
 * A file whose hash is @o->sha256_hex already in the cache is used without
 * a request. Otherwise a partial download is resumed (Range), or restarted
 * if the server ignores Range or the content changed; without an expected
 * hash and with a known ETag, a 304 answer reuses the cached file.
 * Return: 0 and @r filled; -EFBIG larger than @o->max_bytes (nothing kept);
 * -EILSEQ content does not match @o->sha256_hex (nothing kept); -ENOENT
 * HTTP 404/410; -EACCES HTTP 401/403; -EPERM the server's certificate is
 * not trusted; -EINVAL a bad URL or option; -EIO any other failure (the
 * partial file is kept for a resume). @r->error says what happened.
 */
int http_fetch(const struct http_fetch_opts *o, struct http_fetch_result *r);

/**
 * http_fetch_redact() - @url without "user:password@", for messages.
 * Writes at most @cap bytes to @out; returns @out.
 */
char *http_fetch_redact(const char *url, char *out, size_t cap);

/** http_fetch_is_sha256() - @s is 64 hex digits (either case). */
bool http_fetch_is_sha256(const char *s);

/** http_fetch_sha256_file() - hex SHA-256 of a file. 0 or -errno. */
int http_fetch_sha256_file(const char *path, char out[65]);

#endif /* BLEOTA_HOST_HTTP_FETCH_H */
