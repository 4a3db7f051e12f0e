/* SPDX-License-Identifier: MIT */
/*
 * The gateway's desired state: a JSON document {"devices": [RULE, ...]}
 * saying which devices should run which firmware (docs/serve.md). Pure
 * parsing and matching; loading and reloading live in serve.c.
 */
#ifndef BLEOTA_CENTRAL_SERVE_CONFIG_H
#define BLEOTA_CENTRAL_SERVE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define SERVE_TAG_MAX 128 /* the device-side version tag, as micro-RDK */

enum serve_match_kind {
	SERVE_MATCH_ENDPOINT, /* "unix:PATH" or "AA:BB:CC:DD:EE:FF" */
	SERVE_MATCH_NAME,     /* "name:NAME", or any other plain string */
	SERVE_MATCH_PROJECT,  /* "project:NAME": the running app's project */
	SERVE_MATCH_CHIP,     /* "chip:esp32c3" */
	SERVE_MATCH_ANY,      /* "*" */
};

struct serve_rule {
	enum serve_match_kind kind;
	char *match;   /* as written */
	char *value;   /* what is compared (endpoint, name, project, chip) */
	char *url;     /* http(s) source, or NULL */
	char *file;    /* absolute local path, or NULL */
	char *version; /* the desired version tag (1..128 characters) */
	char *sha256;  /* expected content hash (lowercase hex), or NULL */
};

struct serve_desired {
	struct serve_rule *rules;
	size_t nrules;
};

/**
 * serve_desired_parse() - parse and validate a desired-state document.
 * Relative "file" paths are resolved against @base_dir (the directory of
 * the configuration file; NULL: the current directory).
 * Return: the parsed rules (free with serve_desired_free()), or NULL with
 * a one-line reason in @err (e.g. "devices[2]: \"version\" is missing").
 */
struct serve_desired *serve_desired_parse(const char *text, size_t len,
					  const char *base_dir, char *err,
					  size_t cap);

void serve_desired_free(struct serve_desired *d);

/**
 * serve_rule_find() - the first rule matching a device, or NULL.
 * @endpoint: what the CLI is given (unix:PATH or address); @name: the
 * advertised name (NULL if unknown); @project, @chip: from its INFO (NULL
 * if not read yet: such rules do not match).
 */
const struct serve_rule *serve_rule_find(const struct serve_desired *d,
					 const char *endpoint, const char *name,
					 const char *project, const char *chip);

/** serve_is_address() - "AA:BB:CC:DD:EE:FF". */
bool serve_is_address(const char *s);

#endif /* BLEOTA_CENTRAL_SERVE_CONFIG_H */
