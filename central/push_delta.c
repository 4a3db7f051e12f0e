/* SPDX-License-Identifier: MIT */
/*
 * bleota push: plain, compressed or delta (push_delta.h).
 *
 * The order of preference is delta, then compressed, then plain, each only
 * when the device can take it and it is smaller than what comes after:
 *
 *  - delta needs OTA_CAP_DELTA, the running image's validation hash (INFO
 *    RUN_SHA256) and that very image on the host: --base FILE if it hashes
 *    the same, else the image cache (imgcache.h). The patch is made with
 *    heatshrink (W8 L7, what esp_delta_ota takes) and with "none"; the
 *    smaller one goes, if it is smaller than the image;
 *  - compressed is a heatshrink patch from an empty base (to-size only,
 *    all extra records): it needs OTA_CAP_DELTA and no base;
 *  - plain is the image itself; --full asks for it.
 *
 * Every patch is applied here with the device's own decoder
 * (ota_engine/delta.c) against the same base before anything is sent, and
 * must rebuild the image byte for byte; the same pass records how many
 * image bytes each 256 patch bytes produce, so the progress line can show
 * image bytes while the link carries patch bytes.
 *
 * The base is the base file's app image (its verified length, without a
 * signature sector): every byte of it is in the device's running slot.
 * A signed file's patch rebuilds its signed region (what a plain push
 * sends); the manifest carries the signature block as for a plain push and
 * the device checks it against the rebuilt image.
 */
#include "central/push_delta.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "central/commands.h"
#include "central/manifest.h"
#include "central/report.h"
#include "host/delta_diff.h"
#include "host/fileutil.h"
#include "host/hlog.h"
#include "ota_engine/delta.h"
#include "protocol/info.h"
#include "protocol/status.h"

#define MAP_STEP 256u

const char *push_kind_name(enum push_kind k)
{
	switch (k) {
	case PUSH_COMPRESSED:
		return "compressed";
	case PUSH_DELTA:
		return "delta";
	case PUSH_PLAIN:
		break;
	}
	return "plain";
}

void push_plan_free(struct push_plan *plan)
{
	free(plan->patch);
	free(plan->map);
	memset(plan, 0, sizeof(*plan));
}

struct rebuild {
	const uint8_t *base;
	const uint8_t *want;
	size_t want_len;
	bool differs;
};

static int rb_read(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	const struct rebuild *rb = user;

	memcpy(buf, rb->base + off, len);
	return 0;
}

static int rb_write(void *user, uint32_t off, const uint8_t *buf, size_t len)
{
	struct rebuild *rb = user;

	if ((size_t)off + len > rb->want_len ||
	    memcmp(rb->want + off, buf, len))
		rb->differs = true;
	return 0;
}

/*
 * Apply @patch to @base with the device's decoder, comparing the output
 * with @img, and fill the progress map. 0, -EILSEQ if it does not rebuild
 * @img exactly, -ENOMEM.
 */
static int rebuild_check(struct push_plan *plan, const uint8_t *base,
			 size_t blen, const uint8_t *img, size_t len)
{
	static struct ota_delta d;
	struct rebuild rb = { .base = base, .want = img, .want_len = len };
	struct ota_delta_cfg cfg = { .read_base = rb_read,
				     .write = rb_write,
				     .user = &rb,
				     .base_size = (uint32_t)blen };
	size_t n = (plan->stream_len + MAP_STEP - 1) / MAP_STEP, i, used;

	plan->map = calloc(n ? n : 1, sizeof(*plan->map));
	if (!plan->map)
		return -ENOMEM;
	plan->map_n = n;
	ota_delta_init(&d, &cfg);
	for (i = 0; i < n; i++) {
		size_t off = i * MAP_STEP, step = plan->stream_len - off;

		if (step > MAP_STEP)
			step = MAP_STEP;
		if (ota_delta_feed(&d, plan->patch + off, step, &used))
			return -EILSEQ;
		plan->map[i] = ota_delta_to_pos(&d);
	}
	if (ota_delta_finish(&d) || ota_delta_to_pos(&d) != len || rb.differs)
		return -EILSEQ;
	return 0;
}

uint32_t push_delta_image_bytes(const struct push_plan *plan,
				uint32_t stream_bytes)
{
	size_t i;

	if (!plan->map || stream_bytes >= plan->stream_len)
		return stream_bytes >= plan->stream_len ? plan->image_len
							: stream_bytes;
	i = stream_bytes / MAP_STEP;
	return i ? plan->map[i - 1] : 0;
}

/* The smaller of heatshrink and none, if it rebuilds @img; NULL if not. */
static uint8_t *make_patch(const uint8_t *base, size_t blen, const uint8_t *img,
			   size_t len, bool try_none, size_t *plen, bool *hs)
{
	struct delta_diff_opts o = { .heatshrink = true,
				     .w = DELTA_DEFAULT_WINDOW_SZ2,
				     .l = DELTA_DEFAULT_LOOKAHEAD_SZ2 };
	size_t nlen;
	uint8_t *p = delta_diff(base, blen, img, len, &o, plen), *n;

	*hs = true;
	if (!p || !try_none)
		return p;
	o.heatshrink = false;
	n = delta_diff(base, blen, img, len, &o, &nlen);
	if (n && nlen < *plen) {
		free(p);
		*plen = nlen;
		*hs = false;
		return n;
	}
	free(n);
	return p;
}

static void hex8(char *out, const uint8_t *sha)
{
	snprintf(out, 17, "%02x%02x%02x%02x%02x%02x%02x%02x", sha[0], sha[1],
		 sha[2], sha[3], sha[4], sha[5], sha[6], sha[7]);
}

int push_delta_load_base(struct push_delta_opts *o)
{
	struct ota_image_verify v;
	struct ota_manifest m;
	struct manifest_sig sig;
	char what[512];
	bool is_app;
	size_t len;

	if (!o->base_file)
		return 0;
	o->base = fileutil_read(o->base_file, OTA_MAX_IMAGE + 4096, &len);
	if (!o->base)
		return BLEOTA_EXIT_USAGE;
	delta_esp_base_hash(o->base, len, o->base_sha256, &is_app);
	if (!is_app ||
	    manifest_from_image(o->base, len, &v, &m, &sig) == -EILSEQ) {
		snprintf(what, sizeof(what),
			 "--base %s: not an app image with an appended "
			 "SHA-256",
			 o->base_file);
		report_error(BLEOTA_EXIT_USAGE, "BAD_BASE", what,
			     "nothing was sent; give the image the device "
			     "runs, as built (the .bin that was pushed)");
		push_delta_opts_free(o);
		return BLEOTA_EXIT_USAGE;
	}
	o->base_len = v.info.image_len; /* without a signature sector */
	return 0;
}

void push_delta_opts_free(struct push_delta_opts *o)
{
	free(o->base);
	o->base = NULL;
	o->base_len = 0;
}

/* Back to the plain image after a patch was made. */
static void drop_patch(struct push_plan *plan)
{
	free(plan->patch);
	free(plan->map);
	plan->patch = NULL;
	plan->map = NULL;
	plan->map_n = 0;
	plan->stream_len = plan->image_len;
}

static int set_delta(struct push_plan *plan, const uint8_t *base, size_t blen,
		     const uint8_t *img, size_t len, enum push_kind kind)
{
	size_t plen;
	bool hs;
	int r;

	plan->patch = make_patch(base, blen, img, len, kind == PUSH_DELTA,
				 &plen, &hs);
	if (!plan->patch)
		return -ENOMEM;
	plan->stream_len = (uint32_t)plen;
	plan->heatshrink = hs;
	r = rebuild_check(plan, base, blen, img, len);
	if (r) {
		drop_patch(plan);
		if (r == -EILSEQ)
			hlog_warn("the %s patch does not rebuild the image "
				  "(a bleota bug): sending the plain image",
				  push_kind_name(kind));
		return r;
	}
	if (plen >= len) {
		drop_patch(plan);
		return -EFBIG;
	}
	plan->kind = kind;
	plan->stream = plan->patch;
	return 0;
}

/*
 * The base for a delta: --base if it is the running image, else the cache.
 * NULL with @why saying what is missing. *@own: the caller frees it.
 */
static const uint8_t *find_base(const struct push_delta_opts *o,
				const struct dev_info *info,
				struct push_plan *plan, size_t *blen, bool *own,
				char *why, size_t cap)
{
	char run[17], got[17];
	uint8_t *b;
	const char *ver = tty_text(info->version);

	*own = false;
	if (o->no_base) {
		snprintf(why, cap, "the device refused the patch's base");
		return NULL;
	}
	if (!info->has_run_sha256) {
		snprintf(why, cap,
			 "the device does not report its running image's "
			 "hash");
		return NULL;
	}
	hex8(run, info->run_sha256);
	why[0] = '\0';
	if (o->base) {
		if (!memcmp(o->base_sha256, info->run_sha256, 32)) {
			plan->base_from = "--base";
			memcpy(plan->base_sha256, o->base_sha256, 32);
			*blen = o->base_len;
			return o->base;
		}
		hex8(got, o->base_sha256);
		snprintf(why, cap,
			 "--base %s is not the running image (hash %s..., "
			 "the device runs %s, hash %s...)",
			 o->base_file, got, ver, run);
	}
	b = imgcache_get(&o->cache, info->run_sha256, blen);
	if (b) {
		struct ota_image_verify v;
		struct ota_manifest m;
		struct manifest_sig sig;

		if (manifest_from_image(b, *blen, &v, &m, &sig) == -EILSEQ) {
			free(b);
			return NULL;
		}
		*blen = v.info.image_len;
		*own = true;
		plan->base_from = "the image cache";
		memcpy(plan->base_sha256, info->run_sha256, 32);
		why[0] = '\0';
		return b;
	}
	if (!why[0] && o->cache.off)
		snprintf(why, cap,
			 "no --base given and the image cache is off; the "
			 "device runs %s, hash %s...",
			 ver, run);
	else if (!why[0])
		snprintf(why, cap,
			 "the running image (%s, hash %s...) is not in the "
			 "image cache; give it with --base FILE",
			 ver, run);
	return NULL;
}

int push_delta_plan(const struct push_delta_opts *o, const uint8_t *img,
		    size_t len, const struct dev_info *info,
		    struct push_plan *plan)
{
	char nodelta[400] = "", a[32], b[32];
	const uint8_t *base;
	size_t blen = 0;
	bool own;
	int r;

	memset(plan, 0, sizeof(*plan));
	plan->kind = PUSH_PLAIN;
	plan->stream = img;
	plan->stream_len = (uint32_t)len;
	plan->image_len = (uint32_t)len;
	human_size(b, sizeof(b), len);
	if (o->full) {
		snprintf(plan->why, sizeof(plan->why),
			 "sending the plain image, %s (--full)", b);
		return 0;
	}
	if (!(info->caps & OTA_CAP_DELTA)) {
		snprintf(plan->why, sizeof(plan->why),
			 "sending the plain image, %s: the device does not "
			 "take patches (no delta capability)%s",
			 b, o->base_file ? "; --base is not used" : "");
		return 0;
	}
	base = find_base(o, info, plan, &blen, &own, nodelta, sizeof(nodelta));
	if (base) {
		r = set_delta(plan, base, blen, img, len, PUSH_DELTA);
		if (own)
			free((void *)base);
		if (r == -ENOMEM)
			return r;
		if (!r) {
			human_size(a, sizeof(a), plan->stream_len);
			snprintf(plan->why, sizeof(plan->why),
				 "sending a delta: %s patch (%s) against the "
				 "running %s from %s%s%s%s, %.1f %% of the %s "
				 "image",
				 a, plan->heatshrink ? "heatshrink" : "none",
				 tty_text(info->version), plan->base_from,
				 own && o->base_file ? " (--base " : "",
				 own && o->base_file ? o->base_file : "",
				 own && o->base_file
					 ? " is not the running image)"
					 : "",
				 100.0 * plan->stream_len / (double)len, b);
			return 0;
		}
		snprintf(nodelta, sizeof(nodelta),
			 "a patch against the running image would not be "
			 "smaller");
		plan->base_from = NULL;
	}
	r = set_delta(plan, (const uint8_t *)"", 0, img, len, PUSH_COMPRESSED);
	if (r == -ENOMEM)
		return r;
	if (!r) {
		human_size(a, sizeof(a), plan->stream_len);
		snprintf(plan->why, sizeof(plan->why),
			 "sending the image compressed: %s, %.1f %% of %s (no "
			 "delta: %s)",
			 a, 100.0 * plan->stream_len / (double)len, b, nodelta);
		return 0;
	}
	snprintf(plan->why, sizeof(plan->why),
		 "sending the plain image, %s: it does not compress (no "
		 "delta: %s)",
		 b, nodelta);
	return 0;
}

void push_delta_manifest(const struct push_plan *plan, struct ota_manifest *m)
{
	m->encoding = plan->kind == PUSH_PLAIN ? OTA_ENCODING_PLAIN
					       : OTA_ENCODING_DELTA;
	m->patch_size = plan->kind == PUSH_PLAIN ? 0 : plan->stream_len;
	m->has_base_sha256 = plan->kind == PUSH_DELTA;
	if (m->has_base_sha256)
		memcpy(m->base_sha256, plan->base_sha256, 32);
	else
		memset(m->base_sha256, 0, 32);
}

void push_delta_report(const struct push_plan *plan)
{
	char fields[200];

	snprintf(fields, sizeof(fields),
		 "\"encoding\":\"%s\",\"stream\":%u,\"image\":%u%s%s%s",
		 push_kind_name(plan->kind), plan->stream_len, plan->image_len,
		 plan->base_from ? ",\"base\":\"" : "",
		 plan->base_from
			 ? (plan->base_from[0] == '-' ? "file" : "cache")
			 : "",
		 plan->base_from ? "\"" : "");
	report_event("plan", fields, "%s", plan->why);
}

void push_delta_progress(const struct push_plan *plan, uint32_t stream_done)
{
	if (plan->kind == PUSH_PLAIN)
		report_progress(stream_done, plan->stream_len);
	else
		report_progress_air(push_delta_image_bytes(plan, stream_done),
				    plan->image_len, stream_done,
				    plan->stream_len);
}

void push_delta_air(const struct push_plan *plan, char *out, size_t cap)
{
	char a[32];

	out[0] = '\0';
	if (plan->kind == PUSH_PLAIN || !plan->image_len)
		return;
	human_size(a, sizeof(a), plan->stream_len);
	snprintf(out, cap, ", %s on the air, %.1f %% saved", a,
		 100.0 - 100.0 * plan->stream_len / (double)plan->image_len);
}

bool push_delta_wrong_base(struct push_delta_opts *o, struct push_plan *plan,
			   const struct ota_tx_event *done)
{
	if (done->err != -EREMOTEIO || done->status != OTA_STATUS_WRONG_BASE ||
	    plan->kind != PUSH_DELTA)
		return false;
	report_event("wrong_base", NULL,
		     "the device refused the delta: its running image is not "
		     "the patch's base (WRONG_BASE; it changed since INFO, or "
		     "the base file hashes the same but differs); sending the "
		     "full image instead");
	o->no_base = true;
	push_plan_free(plan);
	return true;
}

void push_delta_remember(const struct push_delta_opts *o, const uint8_t *img,
			 size_t len)
{
	int r = imgcache_put(&o->cache, img, len);

	if (r)
		hlog_warn("cannot keep the image in the image cache %s (%s): "
			  "the next push to this device cannot send a delta "
			  "from it",
			  o->cache.dir, strerror(-r));
}
