/* SPDX-License-Identifier: MIT */
/*
 * host/http_fetch against real servers: the test file server
 * (tests/tools/fileserver, HTTP/1.1, ranges, ETag) directly, and behind
 * nghttpx (Debian's nghttp2-proxy) for HTTP/2 over TLS with a certificate
 * made at test time by openssl. Covers the cache keyed by SHA-256, resume
 * with Range after a download that broke off, the size limit, a bad
 * sha256, an untrusted certificate, a bearer token, credentials in the
 * URL (never in messages) and a conditional GET answered 304.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "host/http_fetch.h"
#include "tests/harness/bgproc.h"
#include "tests/harness/tmpdir.h"

static struct {
	char dir[512];   /* htdocs */
	char cache[512]; /* the cache under test */
	char cert[512];
	char key[512];
	char srvlog[512];
	char fw_sha[65];
	char big_sha[65];
	struct bgproc files;
	struct bgproc proxy;
	int http_port; /* fileserver, plain HTTP/1.1 */
	int tls_port;  /* nghttpx, TLS h2 + http/1.1 */
} fx;

static char *url(const char *scheme_host, const char *path)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s%s", scheme_host, path);
	return buf[i];
}

static const char *https(const char *path)
{
	static char base[64];

	snprintf(base, sizeof(base), "https://127.0.0.1:%d", fx.tls_port);
	return url(base, path);
}

static const char *http(const char *path)
{
	static char base[64];

	snprintf(base, sizeof(base), "http://127.0.0.1:%d", fx.http_port);
	return url(base, path);
}

static void write_random(const char *name, size_t len, char sha[65])
{
	char path[600];
	GRand *r = g_rand_new_with_seed((guint32)len);
	uint8_t *b = g_malloc(len);
	size_t i;
	gchar *h;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)g_rand_int(r);
	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	assert_true(g_file_set_contents(path, (char *)b, (gssize)len, NULL));
	h = g_compute_checksum_for_data(G_CHECKSUM_SHA256, b, len);
	snprintf(sha, 65, "%s", h);
	g_free(h);
	g_free(b);
	g_rand_free(r);
}

static int count_in_log(const char *needle)
{
	gchar *text = NULL;
	int n = 0;
	const char *p;

	if (!g_file_get_contents(fx.srvlog, &text, NULL, NULL))
		return 0;
	for (p = text; (p = strstr(p, needle)); p++)
		n++;
	g_free(text);
	return n;
}

static void reset_cache(void)
{
	char cmd[700];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.cache);
	assert_int_equal(system(cmd), 0);
}

static int group_setup(void **state)
{
	const char *b = getenv("BLEOTA_BUILD");
	char line[256], cmd[2048], priv[600], log2[512];
	int i;

	(void)state;
	if (system("command -v nghttpx >/dev/null && command -v openssl "
		   ">/dev/null")) {
		fprintf(stderr, "test_fetch: nghttpx or openssl missing "
				"(tests/tools/ensure-deps.sh installs them)\n");
		return -1;
	}
	http_fetch_global_init();
	tmpdir_path(fx.dir, sizeof(fx.dir), "htdocs");
	tmpdir_path(fx.cache, sizeof(fx.cache), "cache");
	tmpdir_path(fx.cert, sizeof(fx.cert), "cert.pem");
	tmpdir_path(fx.key, sizeof(fx.key), "key.pem");
	tmpdir_path(fx.srvlog, sizeof(fx.srvlog), "fileserver.log");
	tmpdir_path(log2, sizeof(log2), "nghttpx.log");
	snprintf(priv, sizeof(priv), "%s/private", fx.dir);
	assert_int_equal(g_mkdir_with_parents(priv, 0755), 0);
	snprintf(priv, sizeof(priv), "%s/basic", fx.dir);
	assert_int_equal(g_mkdir_with_parents(priv, 0755), 0);
	write_random("fw.bin", 300000, fx.fw_sha);
	write_random("cut.bin", 250000, fx.big_sha);
	write_random("private/fw.bin", 300000, fx.fw_sha);
	write_random("basic/fw.bin", 300000, fx.fw_sha);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s "
		 "-out %s -days 2 -subj /CN=localhost -addext "
		 "subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1",
		 fx.key, fx.cert);
	assert_int_equal(system(cmd), 0);
	bgproc_start(&fx.files, fx.srvlog,
		     "exec %s/tests/tools/fileserver --token s3cret "
		     "--basic user:hunter2 "
		     "--stall /cut.bin=100000 %s",
		     b && *b ? b : "build", fx.dir);
	assert_true(bgproc_line(&fx.files, line, sizeof(line), 20000));
	assert_int_equal(sscanf(line, "port %d", &fx.http_port), 1);
	fx.tls_port = bgproc_free_port();
	bgproc_start(&fx.proxy, log2,
		     "exec nghttpx --conf=/dev/null --no-ocsp -n1 "
		     "--frontend='127.0.0.1,%d' --backend='127.0.0.1,%d' "
		     "--errorlog-file=/dev/stderr --accesslog-file=/dev/null "
		     "%s %s",
		     fx.tls_port, fx.http_port, fx.key, fx.cert);
	/* ready when it answers */
	for (i = 0; i < 200; i++) {
		struct http_fetch_opts o = { .url = https("/fw.bin"),
					     .cache_dir = fx.cache,
					     .ca_file = fx.cert };
		struct http_fetch_result r;

		if (http_fetch(&o, &r) == 0)
			break;
		usleep(50000);
	}
	assert_true(i < 200);
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[1200];

	(void)state;
	bgproc_stop(&fx.proxy, SIGTERM);
	bgproc_stop(&fx.files, SIGTERM);
	reset_cache();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd))
		return -1;
	tmpdir_cleanup();
	return 0;
}

static int each_setup(void **state)
{
	(void)state;
	reset_cache();
	return 0;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_fetch_h2_tls(void **state)
{
	struct http_fetch_opts o = { .url = https("/fw.bin"),
				     .cache_dir = fx.cache,
				     .ca_file = fx.cert };
	struct http_fetch_result r;
	char hex[65];

	(void)state;
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_int_equal(r.http_version, 2);
	assert_int_equal(r.size, 300000);
	assert_string_equal(r.sha256, fx.fw_sha);
	assert_false(r.from_cache);
	assert_int_equal(http_fetch_sha256_file(r.path, hex), 0);
	assert_string_equal(hex, fx.fw_sha);
	assert_non_null(strstr(r.path, fx.fw_sha)); /* keyed by content */
}

static void test_fetch_http1_plain(void **state)
{
	struct http_fetch_opts o = { .url = http("/fw.bin"),
				     .cache_dir = fx.cache };
	struct http_fetch_result r;

	(void)state;
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_int_equal(r.http_version, 1);
	assert_string_equal(r.sha256, fx.fw_sha);
}

/* A known hash already in the cache: no request at all. */
static void test_fetch_cache_hit_by_sha(void **state)
{
	struct http_fetch_opts o = { .url = http("/fw.bin"),
				     .cache_dir = fx.cache,
				     .sha256_hex = fx.fw_sha };
	struct http_fetch_result r;
	int before;

	(void)state;
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_false(r.from_cache);
	before = count_in_log("GET /fw.bin ");
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_true(r.from_cache);
	assert_int_equal(r.http_version, 0);
	assert_int_equal(count_in_log("GET /fw.bin "), before);
}

/* Without a hash, the ETag makes the second fetch a 304. */
static void test_fetch_conditional_get(void **state)
{
	struct http_fetch_opts o = { .url = https("/fw.bin"),
				     .cache_dir = fx.cache,
				     .ca_file = fx.cert };
	struct http_fetch_result r;

	(void)state;
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_false(r.from_cache);
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_true(r.from_cache);
	assert_int_equal(r.status, 304);
	assert_string_equal(r.sha256, fx.fw_sha);
}

/* The server stalls after 100000 bytes and the transfer times out; the
 * next call resumes with a Range request (through nghttpx, over HTTP/2)
 * and the result is whole. */
static void test_fetch_resume_after_stall(void **state)
{
	struct http_fetch_opts o = { .url = https("/cut.bin"),
				     .cache_dir = fx.cache,
				     .ca_file = fx.cert,
				     .sha256_hex = fx.big_sha,
				     .timeout_s = 2 };
	struct http_fetch_result r;
	int ranged = count_in_log("GET /cut.bin range=bytes=");

	(void)state;
	assert_int_equal(http_fetch(&o, &r), -EIO);
	print_message("first: %s\n", r.error);
	assert_int_equal(http_fetch(&o, &r), 0);
	print_message("then: resumed from %llu, %s\n",
		      (unsigned long long)r.resumed_from, r.error);
	assert_true(r.resumed_from > 0);
	assert_true(r.resumed_from <= 100000);
	assert_int_equal(r.http_version, 2);
	assert_string_equal(r.sha256, fx.big_sha);
	assert_int_equal(count_in_log("GET /cut.bin range=bytes="), ranged + 1);
}

static bool dir_empty(const char *sub)
{
	char path[700];
	GDir *d;
	bool empty;

	snprintf(path, sizeof(path), "%s/%s", fx.cache, sub);
	d = g_dir_open(path, 0, NULL);
	if (!d)
		return true;
	empty = g_dir_read_name(d) == NULL;
	g_dir_close(d);
	return empty;
}

static void test_fetch_size_limit(void **state)
{
	static const struct {
		const char *name;
		bool tls;
		uint64_t max;
	} cases[] = {
		{ "http1 limit 1000", false, 1000 },
		{ "h2 limit 299999", true, 299999 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct http_fetch_opts o = { .url = cases[i].tls
							    ? https("/fw.bin")
							    : http("/fw.bin"),
					     .cache_dir = fx.cache,
					     .ca_file = fx.cert,
					     .max_bytes = cases[i].max };
		struct http_fetch_result r;

		print_message("case %s\n", cases[i].name);
		assert_int_equal(http_fetch(&o, &r), -EFBIG);
		assert_non_null(strstr(r.error, "larger than the limit"));
		assert_true(dir_empty("sha256"));
		assert_true(dir_empty("partial"));
	}
}

static void test_fetch_bad_sha256(void **state)
{
	struct http_fetch_opts o = {
		.url = https("/fw.bin"),
		.cache_dir = fx.cache,
		.ca_file = fx.cert,
		.sha256_hex = "00000000000000000000000000000000"
			      "00000000000000000000000000000000"
	};
	struct http_fetch_result r;

	(void)state;
	assert_int_equal(http_fetch(&o, &r), -EILSEQ);
	assert_non_null(strstr(r.error, fx.fw_sha));
	assert_true(dir_empty("sha256"));
	assert_true(dir_empty("partial"));
}

static void test_fetch_untrusted_certificate(void **state)
{
	struct http_fetch_opts o = { .url = https("/fw.bin"),
				     .cache_dir = fx.cache };
	struct http_fetch_result r;

	(void)state;
	assert_int_equal(http_fetch(&o, &r), -EPERM);
	assert_non_null(strstr(r.error, "not trusted"));
	assert_true(dir_empty("sha256"));
}

static void test_fetch_bearer_token(void **state)
{
	struct http_fetch_opts o = { .url = https("/private/fw.bin"),
				     .cache_dir = fx.cache,
				     .ca_file = fx.cert };
	struct http_fetch_result r;

	(void)state;
	assert_int_equal(http_fetch(&o, &r), -EACCES);
	o.bearer = "s3cret";
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_string_equal(r.sha256, fx.fw_sha);
}

/* Credentials in the URL are sent (HTTP Basic), over h2 and TLS. */
static void test_fetch_credentials_in_url(void **state)
{
	char u[256];
	struct http_fetch_opts o = { .cache_dir = fx.cache,
				     .ca_file = fx.cert };
	struct http_fetch_result r;

	(void)state;
	o.url = https("/basic/fw.bin");
	assert_int_equal(http_fetch(&o, &r), -EACCES);
	assert_non_null(strstr(r.error, "401"));
	snprintf(u, sizeof(u), "https://user:hunter2@127.0.0.1:%d/basic/fw.bin",
		 fx.tls_port);
	o.url = u;
	assert_int_equal(http_fetch(&o, &r), 0);
	assert_string_equal(r.sha256, fx.fw_sha);
	/* a gateway-wide bearer token does not replace them */
	reset_cache();
	o.bearer = "s3cret";
	assert_int_equal(http_fetch(&o, &r), 0);
}

static void test_fetch_credentials_not_in_messages(void **state)
{
	char u[256];
	struct http_fetch_opts o = { .cache_dir = fx.cache,
				     .ca_file = fx.cert };
	struct http_fetch_result r;

	(void)state;
	snprintf(u, sizeof(u), "https://user:hunter2@127.0.0.1:%d/missing.bin",
		 fx.tls_port);
	o.url = u;
	assert_int_equal(http_fetch(&o, &r), -ENOENT);
	assert_non_null(strstr(r.error, "404"));
	assert_null(strstr(r.error, "hunter2"));
	assert_non_null(strstr(r.error, "https://127.0.0.1:"));
}

#define T(name, fn, setup)                  \
	{                                   \
		name, fn, setup, NULL, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/fetch/h2-tls", test_fetch_h2_tls, each_setup),
		T("/fetch/http1-plain", test_fetch_http1_plain, each_setup),
		T("/fetch/cache-hit-by-sha", test_fetch_cache_hit_by_sha,
		  each_setup),
		T("/fetch/conditional-get", test_fetch_conditional_get,
		  each_setup),
		T("/fetch/resume-after-stall", test_fetch_resume_after_stall,
		  each_setup),
		T("/fetch/size-limit", test_fetch_size_limit, each_setup),
		T("/fetch/bad-sha256", test_fetch_bad_sha256, each_setup),
		T("/fetch/untrusted-certificate",
		  test_fetch_untrusted_certificate, each_setup),
		T("/fetch/bearer-token", test_fetch_bearer_token, each_setup),
		T("/fetch/credentials-in-url", test_fetch_credentials_in_url,
		  each_setup),
		T("/fetch/credentials-not-in-messages",
		  test_fetch_credentials_not_in_messages, each_setup),
	};

	return cmocka_run_group_tests_name("fetch", tests, group_setup,
					   group_teardown);
}
