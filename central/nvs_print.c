/* SPDX-License-Identifier: MIT */
/*
 * NVS listing for `bleota flash info`. One walk of the reader gives pages,
 * items and skipped entries in flash order; namespace names come from the
 * namespace table (one lookup per change of namespace). Values are printed
 * so that nothing in them can move the terminal: strings are quoted with
 * C escapes, blobs as hex.
 */
#include "central/nvs_print.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/bytes.h"

#define STR_SHOWN  256u /* string bytes printed before "..." */
#define BLOB_SHOWN 16u  /* blob bytes printed in hex */

static void put_escaped(FILE *out, const uint8_t *s, size_t n, bool quote)
{
	size_t i;

	if (quote)
		fputc('"', out);
	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '"':
		case '\\':
			fprintf(out, "\\%c", s[i]);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		default:
			if (s[i] < 0x20 || s[i] >= 0x7f)
				fprintf(out, "\\x%02x", s[i]);
			else
				fputc(s[i], out);
		}
	}
	if (quote)
		fputc('"', out);
}

/* a name (namespace, key): escaped, unquoted */
static void put_name(FILE *out, const char *name)
{
	put_escaped(out, (const uint8_t *)name, strlen(name), false);
}

static void put_primitive(FILE *out, const struct ota_nvs_rec *r)
{
	unsigned int bytes = r->type & 0x0f;
	uint64_t v = ota_get_le64(r->data);
	float f;
	double d;

	if (r->type == OTA_NVS_TYPE_FLOAT) {
		uint32_t w = ota_get_le32(r->data);

		memcpy(&f, &w, sizeof(f));
		fprintf(out, "%g", (double)f);
		return;
	}
	if (r->type == OTA_NVS_TYPE_DOUBLE) {
		memcpy(&d, &v, sizeof(d));
		fprintf(out, "%g", d);
		return;
	}
	if (bytes < 8)
		v &= (UINT64_C(1) << (8 * bytes)) - 1;
	if (r->type & 0x10) {
		/* sign-extend from the type's width */
		uint64_t sign = UINT64_C(1) << (8 * bytes - 1);

		fprintf(out, "%lld", (long long)((v ^ sign) - sign));
	} else {
		fprintf(out, "%llu", (unsigned long long)v);
	}
}

static void put_value(FILE *out, const struct ota_nvs_part *part,
		      const struct ota_nvs_rec *r)
{
	static uint8_t buf[OTA_NVS_STR_MAX];
	size_t n, i;

	switch (r->type) {
	case OTA_NVS_TYPE_SZ:
		if (ota_nvs_read_data(part, r, buf, sizeof(buf)) < 0) {
			fputs("(unreadable)", out);
			return;
		}
		n = r->len && !buf[r->len - 1] ? r->len - 1 : r->len;
		put_escaped(out, buf, n < STR_SHOWN ? n : STR_SHOWN, true);
		if (n > STR_SHOWN)
			fprintf(out, "... (%zu characters)", n);
		return;
	case OTA_NVS_TYPE_BLOB:
	case OTA_NVS_TYPE_BLOB_DATA:
		if (ota_nvs_read_data(part, r, buf, sizeof(buf)) < 0) {
			fputs("(unreadable)", out);
			return;
		}
		if (r->type == OTA_NVS_TYPE_BLOB_DATA)
			fprintf(out, "chunk %u, ", r->chunk_index);
		fprintf(out, "%u bytes", r->len);
		for (i = 0; i < r->len && i < BLOB_SHOWN; i++)
			fprintf(out, "%s%02x", i ? "" : ": ", buf[i]);
		if (r->len > BLOB_SHOWN)
			fputs("...", out);
		return;
	case OTA_NVS_TYPE_BLOB_IDX:
		fprintf(out, "%u bytes in %u chunks from %u",
			ota_get_le32(r->data), r->data[4], r->data[5]);
		return;
	default:
		put_primitive(out, r);
	}
}

/*
 * The engine's per-slot tag keys (bleota:tag_ota_N, docs/ota-engine.md
 * §16.6) hold the image's SHA-256 as 64 hex digits and the tag, run
 * together: spell the two apart on a line of their own. Anything else,
 * or a value that does not start with 64 lower-case hex digits, gets none.
 */
static void put_slot_tag(FILE *out, const struct ota_nvs_part *part,
			 const struct ota_nvs_rec *r, const char *ns)
{
	static const char prefix[] = "tag_ota_";
	static uint8_t buf[OTA_NVS_STR_MAX];
	const size_t hex = 64;
	size_t n, i;

	if (r->type != OTA_NVS_TYPE_SZ || strcmp(ns, OTA_NVS_TAG_NAMESPACE) ||
	    strncmp(r->key, prefix, sizeof(prefix) - 1) ||
	    ota_nvs_read_data(part, r, buf, sizeof(buf)) < 0)
		return;
	n = r->len && !buf[r->len - 1] ? r->len - 1 : r->len;
	if (n < hex)
		return;
	for (i = 0; i < hex; i++)
		if (!buf[i] || !strchr("0123456789abcdef", buf[i]))
			return;
	if (n == hex) {
		fputs("      = no tag", out);
	} else {
		fputs("      = tag ", out);
		put_escaped(out, buf + hex,
			    n - hex < STR_SHOWN ? n - hex : STR_SHOWN, true);
	}
	fprintf(out, " for the image with SHA-256 %.16s...\n",
		(const char *)buf);
}

int nvs_print(FILE *out, const struct ota_nvs_part *part, const char *label)
{
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	char ns[OTA_NVS_KEY_MAX + 1], tag[OTA_NVS_TAG_MAX + 1];
	int ns_index = -1, err;

	fprintf(out, "nvs \"%s\" (0x%x, %u pages):\n", label, part->off,
		part->size / OTA_NVS_PAGE_SIZE);
	err = ota_nvs_iter_init(&it, part);
	if (err) {
		fprintf(out, "  not a whole number of 4 KiB pages\n");
		return err;
	}
	while (!(err = ota_nvs_iter_next(&it, &r))) {
		switch (r.kind) {
		case OTA_NVS_REC_PAGE:
			fprintf(out, "  page %u (0x%x): %s", r.page,
				part->off + r.page * OTA_NVS_PAGE_SIZE,
				ota_nvs_page_state_str(r.state));
			if (r.problem)
				fprintf(out, ": %s, skipped",
					ota_nvs_problem_str(r.problem));
			else if (r.state != OTA_NVS_PAGE_EMPTY)
				fprintf(out, ", seq %u, format v%u", r.seq,
					0x100u - r.version);
			fputc('\n', out);
			break;
		case OTA_NVS_REC_SKIP:
			fprintf(out, "    entry %u: skipped: %s\n", r.entry,
				ota_nvs_problem_str(r.problem));
			break;
		case OTA_NVS_REC_ITEM:
			if (r.ns_index == 0) {
				fputs("    namespace ", out);
				put_name(out, r.key);
				fprintf(out, " = %u\n", r.data[0]);
				break;
			}
			if (ns_index != r.ns_index) {
				ns_index = r.ns_index;
				if (ota_nvs_ns_name(part, r.ns_index, ns))
					snprintf(ns, sizeof(ns), "#%u",
						 r.ns_index);
			}
			fputs("    ", out);
			put_name(out, ns);
			fputc(':', out);
			put_name(out, r.key);
			fprintf(out, "  %s  ", ota_nvs_type_str(r.type));
			put_value(out, part, &r);
			fputc('\n', out);
			put_slot_tag(out, part, &r, ns);
			break;
		}
	}
	if (err != -ENOENT) {
		fprintf(out, "  read error: %s\n", strerror(-err));
		return err;
	}
	err = ota_nvs_get_str(part, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY, tag,
			      sizeof(tag), NULL);
	fprintf(out, "  firmware version tag (%s:%s): ", OTA_NVS_TAG_NAMESPACE,
		OTA_NVS_TAG_KEY);
	if (err) {
		fprintf(out, "%s\n",
			err == -ENOENT ? "none" : "unreadable (too long?)");
		return 0;
	}
	put_escaped(out, (const uint8_t *)tag, strlen(tag), true);
	fputc('\n', out);
	return 0;
}

void nvs_print_partitions(FILE *out, const struct ota_flash_ops *ops, void *ctx,
			  const struct ota_partcsv *t)
{
	struct ota_nvs_part part = { .flash = ops, .flash_ctx = ctx };
	unsigned int i;

	for (i = 0; i < t->count; i++) {
		if (t->part[i].type != OTA_PART_TYPE_DATA ||
		    t->part[i].subtype != OTA_PART_SUBTYPE_DATA_NVS)
			continue;
		part.off = t->part[i].offset;
		part.size = t->part[i].size;
		nvs_print(out, &part, t->part[i].label);
	}
}
