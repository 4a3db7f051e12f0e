/* SPDX-License-Identifier: MIT */
/*
 * What bleota push sends: the plain image, a compressed full image (a
 * detools patch from an empty base), or a delta against the image the
 * device runs (docs/bleota.1.md "What push sends"). push.c asks for a plan
 * once it has read the device's INFO, streams plan->stream, and maps the
 * acknowledged stream bytes back to image bytes for its progress line.
 */
#ifndef BLEOTA_CENTRAL_PUSH_DELTA_H
#define BLEOTA_CENTRAL_PUSH_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/devattr.h"
#include "central/imgcache.h"
#include "protocol/manifest.h"
#include "protocol/sender.h"

/* push's long options for this (getopt values beyond any short option) */
enum {
	PUSH_OPT_FULL = 0x100,
	PUSH_OPT_BASE,
	PUSH_OPT_CACHE,
	PUSH_OPT_NO_CACHE,
};

enum push_kind {
	PUSH_PLAIN,      /* the image itself */
	PUSH_COMPRESSED, /* a heatshrink patch from an empty base */
	PUSH_DELTA,      /* a patch against the running image */
};

struct push_delta_opts {
	bool full;             /* --full: the plain image, nothing else */
	const char *base_file; /* --base FILE, or NULL */
	uint8_t *base;         /* its bytes (push_delta_load_base()) */
	size_t base_len;       /* its app image, without a signature sector */
	uint8_t base_sha256[32];
	struct imgcache cache;
	bool no_base; /* after WRONG_BASE: make no delta */
};

struct push_plan {
	enum push_kind kind;
	const uint8_t *stream; /* what goes on the air */
	uint32_t stream_len;
	uint8_t *patch; /* owned, for COMPRESSED and DELTA */
	bool heatshrink;
	uint8_t base_sha256[32];
	const char *base_from; /* "--base FILE" or "the image cache" */
	uint32_t image_len;
	uint32_t *map; /* image bytes rebuilt after each 256 patch bytes */
	size_t map_n;
	char why[400]; /* one line: what and why */
};

/**
 * push_delta_load_base() - read and check o->base_file (if set) before
 * connecting: it must be an app image with an appended SHA-256.
 * Return: 0, or an exit code after reporting what is wrong.
 */
int push_delta_load_base(struct push_delta_opts *o);

/**
 * push_delta_plan() - decide what to send for @img (@len bytes, what the
 * manifest describes: the signed region for a signed file) to a device
 * that reported @info, and make the patch if one is sent.
 * Return: 0 with @plan filled (push_plan_free() it), or -ENOMEM.
 */
int push_delta_plan(const struct push_delta_opts *o, const uint8_t *img,
		    size_t len, const struct dev_info *info,
		    struct push_plan *plan);

/** push_delta_manifest() - the manifest fields the plan implies. */
void push_delta_manifest(const struct push_plan *plan, struct ota_manifest *m);

/**
 * push_delta_image_bytes() - image bytes the device has rebuilt once it
 * holds @stream_bytes of the stream (exact at 256-byte steps, rounded
 * down between them).
 */
uint32_t push_delta_image_bytes(const struct push_plan *plan,
				uint32_t stream_bytes);

/**
 * push_delta_report() - the "plan" event: what is sent and why, one line
 * (JSON: encoding, stream and image sizes).
 */
void push_delta_report(const struct push_plan *plan);

/**
 * push_delta_progress() - the progress line for @stream_done acknowledged
 * stream bytes: image bytes, and for a patch also the bytes on the air.
 */
void push_delta_progress(const struct push_plan *plan, uint32_t stream_done);

/**
 * push_delta_air() - for the summary: ", N on the air, P % saved" for a
 * patch, "" for the plain image.
 */
void push_delta_air(const struct push_plan *plan, char *out, size_t cap);

/**
 * push_delta_wrong_base() - if @done is the device's WRONG_BASE refusal of
 * a delta: say so, set o->no_base, free @plan and return true (push then
 * plans again: compressed or plain). False for anything else.
 */
bool push_delta_wrong_base(struct push_delta_opts *o, struct push_plan *plan,
			   const struct ota_tx_event *done);

/**
 * push_delta_remember() - after a successful push: store the pushed file
 * in the image cache (a warning if that fails; the push still succeeded).
 */
void push_delta_remember(const struct push_delta_opts *o, const uint8_t *img,
			 size_t len);

/** push_kind_name() - "plain", "compressed" or "delta" (JSON). */
const char *push_kind_name(enum push_kind k);

void push_plan_free(struct push_plan *plan);

/** push_delta_opts_free() - the base loaded by push_delta_load_base(). */
void push_delta_opts_free(struct push_delta_opts *o);

#endif /* BLEOTA_CENTRAL_PUSH_DELTA_H */
