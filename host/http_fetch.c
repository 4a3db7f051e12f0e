/* SPDX-License-Identifier: MIT */
/*
 * See http_fetch.h for the cache layout. Design notes:
 *
 * - Everything lands in CACHE/partial/URLHASH first and is renamed to
 *   CACHE/sha256/HEX only once complete and (if a hash was given) checked,
 *   so a file in sha256/ is always whole and correct; a crash mid-download
 *   leaves a partial file that the next call resumes with "Range: bytes=N-"
 *   and "If-Range: ETAG" (the ETag seen when the partial began, kept next
 *   to it). A server that ignores Range, or content that changed, answers
 *   200 with the whole body; libcurl then stops with CURLE_RANGE_ERROR and
 *   the download restarts from byte 0 (at most once per call).
 * - The size limit is checked twice: against Content-Length as soon as the
 *   headers arrive, and against the bytes written (a body without a length
 *   or a lying server). Either way nothing is kept.
 * - Certificate checks are libcurl's defaults (peer and host name), never
 *   turned off; a private CA is added with ca_file.
 * - Messages never contain the URL's credentials.
 */
#include "host/http_fetch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <glib.h>
#include <glib/gstdio.h>

struct xfer {
	FILE *fp;
	uint64_t offset;  /* bytes on disk before this request */
	uint64_t written; /* bytes written by this request */
	uint64_t max;
	bool too_big;
	bool write_failed;
	char etag[256];
};

void http_fetch_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

char *http_fetch_redact(const char *url, char *out, size_t cap)
{
	const char *scheme = strstr(url, "://");
	const char *host, *at, *slash;

	if (!scheme) {
		snprintf(out, cap, "%s", url);
		return out;
	}
	host = scheme + 3;
	slash = strchr(host, '/');
	at = strchr(host, '@');
	if (!at || (slash && at > slash)) {
		snprintf(out, cap, "%s", url);
		return out;
	}
	snprintf(out, cap, "%.*s%s", (int)(host - url), url, at + 1);
	return out;
}

int http_fetch_sha256_file(const char *path, char out[65])
{
	GChecksum *ck;
	unsigned char buf[65536];
	size_t n;
	FILE *fp = fopen(path, "rb");
	int err = 0;

	if (!fp)
		return -errno;
	ck = g_checksum_new(G_CHECKSUM_SHA256);
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		g_checksum_update(ck, buf, n);
	if (ferror(fp))
		err = -EIO;
	fclose(fp);
	snprintf(out, 65, "%s", g_checksum_get_string(ck));
	g_checksum_free(ck);
	return err;
}

static bool has_userinfo(const char *url)
{
	char clean[2048];

	return strcmp(http_fetch_redact(url, clean, sizeof(clean)), url) != 0;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user_data)
{
	struct xfer *x = user_data;
	size_t n = size * nmemb;

	if (x->max && x->offset + x->written + n > x->max) {
		x->too_big = true;
		return 0;
	}
	if (fwrite(data, 1, n, x->fp) != n) {
		x->write_failed = true;
		return 0;
	}
	x->written += n;
	return n;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *user_data)
{
	struct xfer *x = user_data;
	size_t n = size * nmemb;
	char line[512];
	char *v;

	snprintf(line, sizeof(line), "%.*s", (int)(n < 511 ? n : 511), data);
	g_strchomp(line);
	if (!g_ascii_strncasecmp(line, "HTTP/", 5)) {
		x->etag[0] = '\0'; /* a new response (after a redirect) */
		return n;
	}
	v = strchr(line, ':');
	if (!v)
		return n;
	*v++ = '\0';
	v = g_strstrip(v);
	if (!g_ascii_strcasecmp(line, "etag"))
		snprintf(x->etag, sizeof(x->etag), "%s", v);
	else if (!g_ascii_strcasecmp(line, "content-length") && x->max) {
		uint64_t len = g_ascii_strtoull(v, NULL, 10);

		if (x->offset + len > x->max) {
			x->too_big = true;
			return 0;
		}
	}
	return n;
}

static void url_hash(const char *url, char out[65])
{
	char clean[2048];
	gchar *h;

	http_fetch_redact(url, clean, sizeof(clean));
	h = g_compute_checksum_for_string(G_CHECKSUM_SHA256, clean, -1);
	snprintf(out, 65, "%s", h);
	g_free(h);
}

bool http_fetch_is_sha256(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!g_ascii_isxdigit(s[i]))
			return false;
	return s[64] == '\0';
}

static bool file_size(const char *path, uint64_t *size)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return false;
	*size = (uint64_t)st.st_size;
	return true;
}

/* "ETAG\nHEX\n" in @path; false if absent or malformed. */
static bool read_index(const char *path, char *etag, size_t ecap, char hex[65])
{
	gchar *text = NULL, **lines;
	bool ok = false;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return false;
	lines = g_strsplit(text, "\n", 3);
	if (lines[0] && lines[1] && http_fetch_is_sha256(lines[1])) {
		snprintf(etag, ecap, "%s", lines[0]);
		snprintf(hex, 65, "%s", lines[1]);
		ok = true;
	}
	g_strfreev(lines);
	g_free(text);
	return ok;
}

static void write_text(const char *path, const char *text)
{
	g_file_set_contents(path, text, -1, NULL);
}

static int done_from_cache(const struct http_fetch_opts *o, const char *path,
			   const char *hex, struct http_fetch_result *r)
{
	char clean[1024];

	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(r->sha256, sizeof(r->sha256), "%s", hex);
	file_size(path, &r->size);
	r->from_cache = true;
	if (o->max_bytes && r->size > o->max_bytes) {
		snprintf(r->error, sizeof(r->error),
			 "%s: %llu bytes, more than the limit of %llu",
			 http_fetch_redact(o->url, clean, sizeof(clean)),
			 (unsigned long long)r->size,
			 (unsigned long long)o->max_bytes);
		return -EFBIG;
	}
	return 0;
}

/* One request into @partial, appending from its current size. */
static CURLcode request(const struct http_fetch_opts *o, const char *partial,
			const char *if_none_match, const char *if_range,
			struct xfer *x, long *status, int *version,
			char *errbuf)
{
	struct curl_slist *hdrs = NULL;
	char h[600];
	CURLcode rc;
	CURL *c;
	long v = 0;

	x->written = 0;
	x->too_big = false;
	x->write_failed = false;
	x->etag[0] = '\0';
	if (!file_size(partial, &x->offset))
		x->offset = 0;
	x->fp = fopen(partial, "ab");
	if (!x->fp) {
		g_snprintf(errbuf, CURL_ERROR_SIZE, "%s: %s", partial,
			   strerror(errno));
		return CURLE_WRITE_ERROR;
	}
	c = curl_easy_init();
	if (!c) {
		fclose(x->fp);
		snprintf(errbuf, CURL_ERROR_SIZE, "libcurl: out of memory");
		return CURLE_OUT_OF_MEMORY;
	}
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
			 o->timeout_s > 0 ? o->timeout_s : 300L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "bleota-serve");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	if (o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (o->bearer && !has_userinfo(o->url)) {
		/* libcurl sends it to the first host only, not after a
		 * redirect to another one; credentials in the URL win */
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
		curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, o->bearer);
	}
	if (x->offset) {
		curl_easy_setopt(c, CURLOPT_RESUME_FROM_LARGE,
				 (curl_off_t)x->offset);
		if (if_range && *if_range) {
			snprintf(h, sizeof(h), "If-Range: %s", if_range);
			hdrs = curl_slist_append(hdrs, h);
		}
	} else if (if_none_match && *if_none_match) {
		snprintf(h, sizeof(h), "If-None-Match: %s", if_none_match);
		hdrs = curl_slist_append(hdrs, h);
	}
	if (hdrs)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_getinfo(c, CURLINFO_HTTP_VERSION, &v);
	*version = v == CURL_HTTP_VERSION_2_0 ? 2 : v ? 1 : 0;
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (fclose(x->fp) && rc == CURLE_OK) {
		x->write_failed = true;
		rc = CURLE_WRITE_ERROR;
	}
	return rc;
}

/* @r->error = "URL (without credentials): " + the formatted rest. */
static int G_GNUC_PRINTF(4, 5) fail(struct http_fetch_result *r, int err,
				    const char *url, const char *fmt, ...)
{
	char clean[1024], *rest;
	va_list ap;

	va_start(ap, fmt);
	rest = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_snprintf(r->error, sizeof(r->error), "%s: %s",
		   http_fetch_redact(url, clean, sizeof(clean)), rest);
	g_free(rest);
	return err;
}

int http_fetch(const struct http_fetch_opts *o, struct http_fetch_result *r)
{
	char dir[HTTP_FETCH_PATH_MAX], partial[HTTP_FETCH_PATH_MAX],
		ptag[HTTP_FETCH_PATH_MAX], index[HTTP_FETCH_PATH_MAX],
		final[HTTP_FETCH_PATH_MAX], uh[65], hex[65],
		etag[256] = "", cached_hex[65] = "", ifr[256] = "",
		errbuf[CURL_ERROR_SIZE];
	const char *sub[] = { "sha256", "partial", "url" };
	struct xfer x = { .max = o->max_bytes };
	gchar *text = NULL;
	bool restarted = false;
	CURLcode rc;
	size_t i;
	int err;

	memset(r, 0, sizeof(*r));
	if (!o->url || !o->cache_dir ||
	    (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)))
		return fail(r, -EINVAL, o->url ? o->url : "(none)",
			    "not an http:// or https:// URL");
	if (o->sha256_hex && !http_fetch_is_sha256(o->sha256_hex))
		return fail(r, -EINVAL, o->url, "sha256 must be 64 hex digits");
	for (i = 0; i < 3; i++) {
		snprintf(dir, sizeof(dir), "%s/%s", o->cache_dir, sub[i]);
		if (g_mkdir_with_parents(dir, 0700) < 0)
			return fail(r, -errno, o->url,
				    "cannot create the cache %s: %s", dir,
				    strerror(errno));
	}
	url_hash(o->url, uh);
	snprintf(partial, sizeof(partial), "%s/partial/%s", o->cache_dir, uh);
	snprintf(ptag, sizeof(ptag), "%s/partial/%s.etag", o->cache_dir, uh);
	snprintf(index, sizeof(index), "%s/url/%s", o->cache_dir, uh);

	/* 1. the content is known and cached: no request at all */
	if (o->sha256_hex) {
		char want[65];

		snprintf(want, sizeof(want), "%s", o->sha256_hex);
		for (i = 0; i < 64; i++)
			want[i] = g_ascii_tolower(want[i]);
		snprintf(final, sizeof(final), "%s/sha256/%s", o->cache_dir,
			 want);
		if (g_file_test(final, G_FILE_TEST_IS_REGULAR))
			return done_from_cache(o, final, want, r);
	} else if (read_index(index, etag, sizeof(etag), cached_hex)) {
		/* 2. a conditional GET can reuse what the URL gave before */
		snprintf(final, sizeof(final), "%s/sha256/%s", o->cache_dir,
			 cached_hex);
		if (!g_file_test(final, G_FILE_TEST_IS_REGULAR))
			etag[0] = '\0';
	}
	if (g_file_get_contents(ptag, &text, NULL, NULL)) {
		snprintf(ifr, sizeof(ifr), "%s", text);
		g_free(text);
	}
	if (!file_size(partial, &r->resumed_from))
		r->resumed_from = 0;

again:
	rc = request(o, partial, etag, ifr, &x, &r->status, &r->http_version,
		     errbuf);
	if (x.offset == 0 && x.etag[0])
		write_text(ptag, x.etag);
	if (x.too_big) {
		g_unlink(partial);
		g_unlink(ptag);
		return fail(r, -EFBIG, o->url,
			    "larger than the limit of %llu bytes (the "
			    "device's update slot); nothing was kept",
			    (unsigned long long)o->max_bytes);
	}
	if (x.offset && !restarted &&
	    (rc == CURLE_RANGE_ERROR ||
	     (rc == CURLE_HTTP_RETURNED_ERROR && r->status == 416))) {
		/* Range ignored, content changed, or nothing left to send */
		restarted = true;
		g_unlink(partial);
		g_unlink(ptag);
		ifr[0] = '\0';
		r->resumed_from = 0;
		goto again;
	}
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		return fail(r, -EPERM, o->url,
			    "the server's TLS certificate is not trusted "
			    "(%s); give its CA with --ca-file",
			    errbuf);
	if (rc == CURLE_HTTP_RETURNED_ERROR) {
		if (r->status == 404 || r->status == 410)
			return fail(r, -ENOENT, o->url, "HTTP %ld (not found)",
				    r->status);
		if (r->status == 401 || r->status == 403)
			return fail(r, -EACCES, o->url,
				    "HTTP %ld (access denied: check the "
				    "credentials or the bearer token)",
				    r->status);
		return fail(r, -EIO, o->url, "HTTP %ld", r->status);
	}
	if (rc != CURLE_OK)
		return fail(r, -EIO, o->url, "%s",
			    errbuf[0] ? errbuf : curl_easy_strerror(rc));
	if (r->status == 304 && etag[0]) {
		g_unlink(partial); /* created empty by request() */
		return done_from_cache(o, final, cached_hex, r);
	}

	/* 3. complete: check, then move into the content-addressed store */
	err = http_fetch_sha256_file(partial, hex);
	if (err)
		return fail(r, err, o->url, "cannot read back %s: %s", partial,
			    strerror(-err));
	if (o->sha256_hex && g_ascii_strcasecmp(hex, o->sha256_hex)) {
		g_unlink(partial);
		g_unlink(ptag);
		return fail(r, -EILSEQ, o->url,
			    "content has SHA-256 %s, expected %s; nothing was "
			    "kept",
			    hex, o->sha256_hex);
	}
	snprintf(final, sizeof(final), "%s/sha256/%s", o->cache_dir, hex);
	if (g_rename(partial, final) < 0)
		return fail(r, -errno, o->url, "cannot store %s: %s", final,
			    strerror(errno));
	g_unlink(ptag);
	if (x.etag[0]) {
		gchar *idx = g_strdup_printf("%s\n%s\n", x.etag, hex);

		write_text(index, idx);
		g_free(idx);
	} else {
		g_unlink(index);
	}
	snprintf(r->path, sizeof(r->path), "%s", final);
	snprintf(r->sha256, sizeof(r->sha256), "%s", hex);
	file_size(final, &r->size);
	return 0;
}
