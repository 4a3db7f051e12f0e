/* SPDX-License-Identifier: MIT */
/*
 * central/serve_config: the desired-state document. Table-driven: every
 * malformed document is refused with a reason naming the rule and the
 * member; valid rules are classified and matched first-match-wins.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "central/serve_config.h"

#define R(m) "{\"devices\": [" m "]}"

static void test_serve_config_rejects(void **state)
{
	static const struct {
		const char *doc;
		const char *why;
	} cases[] = {
		{ "{", "not valid JSON" },
		{ "[]", "must be an object" },
		{ "{}", "\"devices\" must be an array" },
		{ "{\"devices\": [], \"extra\": 1}",
		  "unknown member \"extra\"" },
		{ R("1"), "devices[0]: a rule must be an object" },
		{ R("{\"url\": \"http://h/a\", \"version\": \"1\"}"),
		  "devices[0]: \"match\" is missing" },
		{ R("{\"match\": \"*\", \"url\": \"http://h/a\"}"),
		  "devices[0]: \"version\" is missing" },
		{ R("{\"match\": \"*\", \"version\": \"1\"}"),
		  "exactly one of \"url\" and \"file\"" },
		{ R("{\"match\": \"*\", \"version\": \"1\", \"url\": "
		    "\"http://h/a\", \"file\": \"a.bin\"}"),
		  "exactly one of \"url\" and \"file\"" },
		{ R("{\"match\": \"*\", \"version\": \"1\", \"url\": "
		    "\"ftp://h/a\"}"),
		  "must start with http:// or https://" },
		{ R("{\"match\": \"*\", \"version\": \"1\", \"file\": \"a\", "
		    "\"sha256\": \"abc\"}"),
		  "\"sha256\" must be 64 hex digits" },
		{ R("{\"match\": \"*\", \"verison\": \"1\", \"file\": \"a\"}"),
		  "unknown member \"verison\"" },
		{ R("{\"match\": 5, \"version\": \"1\", \"file\": \"a\"}"),
		  "\"match\" must be a string" },
		{ R("{\"match\": \"unix:\", \"version\": \"1\", \"file\": "
		    "\"a\"}"),
		  "\"unix:\" needs a path" },
		{ R("{\"match\": \"chip:\", \"version\": \"1\", \"file\": "
		    "\"a\"}"),
		  "\"chip:\" needs a value" },
		{ R("{\"match\": \"*\", \"version\": \"1\", \"file\": \"a\"}, "
		    "{\"match\": \"*\", \"version\": \"\", \"file\": \"a\"}"),
		  "devices[1]: \"version\" is missing" },
	};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_null(serve_desired_parse(cases[i].doc,
						strlen(cases[i].doc), "/etc",
						err, sizeof(err)));
		print_message("%s -> %s\n", cases[i].doc, err);
		assert_non_null(strstr(err, cases[i].why));
	}
}

static void test_serve_config_version_length(void **state)
{
	char doc[512], v[200], err[256];
	struct serve_desired *d;

	(void)state;
	memset(v, 'x', 128);
	v[128] = '\0';
	snprintf(doc, sizeof(doc),
		 R("{\"match\": \"*\", \"version\": \"%s\", "
		   "\"file\": \"a\"}"),
		 v);
	d = serve_desired_parse(doc, strlen(doc), NULL, err, sizeof(err));
	assert_non_null(d);
	serve_desired_free(d);
	strcpy(v + 128, "y");
	snprintf(doc, sizeof(doc),
		 R("{\"match\": \"*\", \"version\": \"%s\", "
		   "\"file\": \"a\"}"),
		 v);
	assert_null(
		serve_desired_parse(doc, strlen(doc), NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "129 characters, at most 128"));
}

static void test_serve_config_classify_and_match(void **state)
{
	static const char doc[] = R(
		"{\"match\": \"unix:/run/d1.sock\", \"version\": \"e\", "
		"\"file\": \"e.bin\"},"
		"{\"match\": \"aa:bb:cc:dd:ee:01\", \"version\": \"a\", "
		"\"url\": \"https://u:p@h/a.bin\", \"sha256\": "
		"\"ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef012345"
		"6789\"},"
		"{\"match\": \"name:lamp\", \"version\": \"n\", \"file\": "
		"\"/abs/n.bin\"},"
		"{\"match\": \"door\", \"version\": \"n2\", \"file\": \"n2\"},"
		"{\"match\": \"project:blinky\", \"version\": \"p\", \"file\": "
		"\"p\"},"
		"{\"match\": \"chip:esp32s3\", \"version\": \"c\", \"file\": "
		"\"c\"},"
		"{\"match\": \"*\", \"version\": \"any\", \"file\": \"z\"}");
	static const struct {
		const char *endpoint, *name, *project, *chip;
		const char *want_version;
	} cases[] = {
		{ "unix:/run/d1.sock", NULL, NULL, NULL, "e" },
		{ "AA:BB:CC:DD:EE:01", "lamp", "blinky", "esp32c3", "a" },
		{ "aa:bb:cc:dd:ee:01", NULL, NULL, NULL, "a" },
		{ "AA:BB:CC:DD:EE:02", "lamp", "blinky", "esp32c3", "n" },
		{ "AA:BB:CC:DD:EE:02", "door", NULL, NULL, "n2" },
		{ "AA:BB:CC:DD:EE:02", "x", "blinky", "esp32s3", "p" },
		{ "AA:BB:CC:DD:EE:02", "x", "other", "esp32s3", "c" },
		{ "unix:/run/d9.sock", NULL, NULL, NULL, "any" },
	};
	char err[256];
	struct serve_desired *d = serve_desired_parse(
		doc, strlen(doc), "/etc/bleota", err, sizeof(err));
	size_t i;

	(void)state;
	if (!d)
		fail_msg("%s", err);
	assert_int_equal(d->nrules, 7);
	assert_int_equal(d->rules[0].kind, SERVE_MATCH_ENDPOINT);
	assert_string_equal(d->rules[0].file, "/etc/bleota/e.bin");
	assert_int_equal(d->rules[1].kind, SERVE_MATCH_ENDPOINT);
	assert_string_equal(d->rules[1].value, "AA:BB:CC:DD:EE:01");
	assert_string_equal(d->rules[1].sha256,
			    "abcdef0123456789abcdef0123456789abcdef0123456789ab"
			    "cdef0123456789");
	assert_int_equal(d->rules[2].kind, SERVE_MATCH_NAME);
	assert_string_equal(d->rules[2].file, "/abs/n.bin");
	assert_int_equal(d->rules[3].kind, SERVE_MATCH_NAME);
	assert_int_equal(d->rules[4].kind, SERVE_MATCH_PROJECT);
	assert_int_equal(d->rules[5].kind, SERVE_MATCH_CHIP);
	assert_int_equal(d->rules[6].kind, SERVE_MATCH_ANY);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct serve_rule *r =
			serve_rule_find(d, cases[i].endpoint, cases[i].name,
					cases[i].project, cases[i].chip);

		assert_non_null(r);
		assert_string_equal(r->version, cases[i].want_version);
	}
	serve_desired_free(d);
}

static void test_serve_config_no_match(void **state)
{
	static const char doc[] = R("{\"match\": \"project:blinky\", "
				    "\"version\": \"1\", \"file\": \"a\"}");
	char err[256];
	struct serve_desired *d =
		serve_desired_parse(doc, strlen(doc), NULL, err, sizeof(err));

	(void)state;
	assert_non_null(d);
	/* INFO not read yet: project rules cannot match */
	assert_null(serve_rule_find(d, "unix:/x", NULL, NULL, NULL));
	assert_null(serve_rule_find(d, "unix:/x", NULL, "other", "esp32c3"));
	assert_non_null(serve_rule_find(d, "unix:/x", NULL, "blinky", NULL));
	serve_desired_free(d);
	assert_null(serve_rule_find(NULL, "unix:/x", NULL, NULL, NULL));
}

#define T(name, fn)                        \
	{                                  \
		name, fn, NULL, NULL, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/serve-config/rejects", test_serve_config_rejects),
		T("/serve-config/version-length",
		  test_serve_config_version_length),
		T("/serve-config/classify-and-match",
		  test_serve_config_classify_and_match),
		T("/serve-config/no-match", test_serve_config_no_match),
	};

	return cmocka_run_group_tests_name("serve_config", tests, NULL, NULL);
}
