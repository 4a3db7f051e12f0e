/* SPDX-License-Identifier: MIT */
/*
 * Partition table CSV, following gen_esp32part.py v1.5 semantics (the facts
 * are in docs/ota-engine.md; no code was taken from the tool):
 *
 *   Name, Type, SubType, Offset, Size, Flags
 *
 * Fields are whitespace-stripped, '#' lines and blank lines are skipped,
 * trailing fields may be missing, $NAME is replaced from the environment.
 * Numbers are decimal, 0x hex, or carry a K/M suffix (x1024, x1048576).
 * An empty offset follows the previous partition (the first one starts right
 * after the table sector) rounded up to the type's alignment: 64 KiB for app,
 * 4 KiB otherwise. A size "-X" means "ends at X".
 *
 * The table is then checked as the tool does: unique names, aligned
 * offsets, app sizes in 4 KiB units, nothing below the end of the table
 * sector, no overlaps, at most one data/ota of exactly 0x2000 bytes, no
 * read-only otadata or coredump, NVS under 0x3000 only read-only, and the
 * whole table inside the flash when its size is known. Errors name the line.
 */
#include "host/partcsv.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ota_engine/crypto.h"

#define APP_ALIGN    0x10000u
#define DATA_ALIGN   0x1000u
#define LINE_MAX_LEN 512
#define MAX_FIELDS   6

const char ota_partcsv_two_ota[] =
	"# bleota two-OTA layout (no factory app), 4 MB flash\n"
	"# Name,     Type, SubType, Offset,   Size,    Flags\n"
	"nvs,        data, nvs,     0x9000,   0x4000,\n"
	"otadata,    data, ota,     0xd000,   0x2000,\n"
	"phy_init,   data, phy,     0xf000,   0x1000,\n"
	"ota_0,      app,  ota_0,   0x10000,  1M,\n"
	"ota_1,      app,  ota_1,   0x110000, 1M,\n"
	"otajournal, 0x40, 0x00,    0x210000, 0x4000,\n";

struct name_val {
	const char *name;
	unsigned int val;
};

static const struct name_val types[] = {
	{ "app", 0x00 },
	{ "data", 0x01 },
	{ "bootloader", 0x02 },
	{ "partition_table", 0x03 },
};

static const struct name_val data_subtypes[] = {
	{ "ota", 0x00 },       { "phy", 0x01 },      { "nvs", 0x02 },
	{ "coredump", 0x03 },  { "nvs_keys", 0x04 }, { "efuse", 0x05 },
	{ "undefined", 0x06 }, { "esphttpd", 0x80 }, { "fat", 0x81 },
	{ "spiffs", 0x82 },    { "littlefs", 0x83 }, { "tee_ota", 0x90 },
};

static const struct name_val app_subtypes[] = {
	{ "factory", 0x00 },
	{ "test", 0x20 },
	{ "tee_0", 0x30 },
	{ "tee_1", 0x31 },
};

static int set_err(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int set_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && cap)
		vsnprintf(err, cap, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static char *strip(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static const struct name_val *lookup(const struct name_val *tab, size_t n,
				     const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(tab[i].name, name))
			return &tab[i];
	return NULL;
}

/* int(x, 0) plus optional K/M suffix; rejects junk and overflow. */
static int parse_num(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	if (*end == 'k' || *end == 'K') {
		mul = 1024;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		mul = 1024 * 1024;
		end++;
	}
	if (*end || v > UINT32_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

/* Expands $VAR / ${VAR} from the environment into @out. */
static int expand_vars(const char *in, char *out, size_t cap, char *err,
		       size_t errcap, unsigned int lineno)
{
	size_t o = 0;

	while (*in) {
		if (*in == '$') {
			char name[64];
			size_t n = 0;
			bool brace = in[1] == '{';
			const char *val;

			in += brace ? 2 : 1;
			while ((isalnum((unsigned char)*in) || *in == '_') &&
			       n < sizeof(name) - 1)
				name[n++] = *in++;
			name[n] = '\0';
			if (brace && *in++ != '}')
				return set_err(err, errcap,
					       "line %u: unterminated ${...}",
					       lineno);
			val = getenv(name);
			if (!n || !val)
				return set_err(err, errcap,
					       "line %u: unknown variable $%s: "
					       "export it or write the value",
					       lineno, name);
			while (*val && o < cap - 1)
				out[o++] = *val++;
			continue;
		}
		if (o < cap - 1)
			out[o++] = *in;
		in++;
	}
	out[o] = '\0';
	return 0;
}

static int parse_flags(char *s, uint32_t *flags)
{
	char *tok, *save = NULL;

	*flags = 0;
	for (tok = strtok_r(s, ":", &save); tok;
	     tok = strtok_r(NULL, ":", &save)) {
		tok = strip(tok);
		if (!*tok)
			continue;
		if (!strcasecmp(tok, "encrypted"))
			*flags |= OTA_PART_FLAG_ENCRYPTED;
		else if (!strcasecmp(tok, "readonly"))
			*flags |= OTA_PART_FLAG_READONLY;
		else
			return -EINVAL;
	}
	return 0;
}

static int parse_subtype(uint8_t type, const char *s, uint8_t *out)
{
	const struct name_val *nv = NULL;
	uint64_t v;

	if (!*s) {
		if (type == OTA_PART_TYPE_DATA) {
			*out = 0x06; /* "undefined" */
			return 0;
		}
		return -EINVAL;
	}
	if (type == OTA_PART_TYPE_APP) {
		if (!strncasecmp(s, "ota_", 4)) {
			char *end;
			unsigned long n = strtoul(s + 4, &end, 10);

			if (end != s + 4 && !*end && n < OTA_PART_MAX_OTA) {
				*out = (uint8_t)(OTA_PART_SUBTYPE_APP_OTA_0 +
						 n);
				return 0;
			}
		}
		nv = lookup(app_subtypes,
			    sizeof(app_subtypes) / sizeof(app_subtypes[0]), s);
	} else if (type == OTA_PART_TYPE_DATA) {
		nv = lookup(data_subtypes,
			    sizeof(data_subtypes) / sizeof(data_subtypes[0]),
			    s);
	}
	if (nv) {
		*out = (uint8_t)nv->val;
		return 0;
	}
	if (parse_num(s, &v) || v > 0xfe)
		return -EINVAL;
	*out = (uint8_t)v;
	return 0;
}

static int parse_line(char *line, unsigned int lineno, uint32_t *next_off,
		      struct ota_part *p, char *err, size_t errcap)
{
	char *field[MAX_FIELDS] = { 0 };
	unsigned int n = 0, i;
	const struct name_val *nv;
	char *s = line;
	uint64_t v;
	uint32_t align;

	for (;;) {
		char *comma = strchr(s, ',');

		if (n == MAX_FIELDS)
			return set_err(
				err, errcap,
				"line %u: too many fields (at most Name, Type, "
				"SubType, Offset, Size, Flags)",
				lineno);
		if (comma)
			*comma = '\0';
		field[n++] = strip(s);
		if (!comma)
			break;
		s = comma + 1;
	}
	for (i = n; i < MAX_FIELDS; i++)
		field[i] = "";
	memset(p, 0, sizeof(*p));
	if (!*field[0])
		return set_err(err, errcap, "line %u: partition has no name",
			       lineno);
	if (strlen(field[0]) > OTA_PART_LABEL_LEN)
		return set_err(err, errcap,
			       "line %u: name '%s' is longer than 16 bytes",
			       lineno, field[0]);
	memcpy(p->label, field[0], strlen(field[0]));

	nv = lookup(types, sizeof(types) / sizeof(types[0]), field[1]);
	if (nv) {
		p->type = (uint8_t)nv->val;
	} else if (!parse_num(field[1], &v) && v <= 0xfe) {
		p->type = (uint8_t)v;
	} else {
		return set_err(err, errcap,
			       "line %u: unknown type '%s' (app, data or a "
			       "number 0x40-0xfe)",
			       lineno, field[1]);
	}
	if (p->type == 0x02 || p->type == 0x03)
		return set_err(err, errcap,
			       "line %u: bootloader/partition_table entries "
			       "are not supported here",
			       lineno);
	if (parse_subtype(p->type, field[2], &p->subtype))
		return set_err(err, errcap, "line %u: unknown subtype '%s'",
			       lineno, field[2]);

	align = p->type == OTA_PART_TYPE_APP ? APP_ALIGN : DATA_ALIGN;
	if (!*field[3]) {
		p->offset = align_up(*next_off, align);
	} else {
		if (parse_num(field[3], &v))
			return set_err(err, errcap, "line %u: bad offset '%s'",
				       lineno, field[3]);
		p->offset = (uint32_t)v;
	}
	if (p->offset % align)
		return set_err(err, errcap,
			       "line %u: offset 0x%x is not aligned to 0x%x "
			       "for this type",
			       lineno, p->offset, align);
	if (field[4][0] == '-') {
		if (parse_num(field[4] + 1, &v) || v <= p->offset)
			return set_err(err, errcap,
				       "line %u: bad end address '%s'", lineno,
				       field[4]);
		p->size = (uint32_t)(v - p->offset);
	} else if (!*field[4] || parse_num(field[4], &v) || v == 0) {
		return set_err(err, errcap, "line %u: bad or missing size '%s'",
			       lineno, field[4]);
	} else {
		p->size = (uint32_t)v;
	}
	if (p->type == OTA_PART_TYPE_APP && p->size % DATA_ALIGN)
		return set_err(
			err, errcap,
			"line %u: app size 0x%x is not a multiple of 0x1000",
			lineno, p->size);
	if ((uint64_t)p->offset + p->size > UINT32_MAX)
		return set_err(err, errcap,
			       "line %u: partition ends beyond 4 GiB", lineno);
	if (parse_flags(field[5], &p->flags))
		return set_err(
			err, errcap,
			"line %u: unknown flag in '%s' (encrypted, readonly)",
			lineno, field[5]);
	*next_off = p->offset + p->size;
	return 0;
}

static int verify(const struct ota_partcsv *t, uint32_t table_offset,
		  uint32_t flash_size, char *err, size_t errcap)
{
	unsigned int i, j, otadata = 0, tee_otadata = 0;

	for (i = 0; i < t->count; i++) {
		const struct ota_part *p = &t->part[i];

		if (p->offset < table_offset + OTA_PARTTABLE_SECTOR)
			return set_err(err, errcap,
				       "line %u: '%s' at 0x%x is below the end "
				       "of the partition table (0x%x)",
				       t->line[i], p->label, p->offset,
				       table_offset + OTA_PARTTABLE_SECTOR);
		if (flash_size && p->offset + p->size > flash_size)
			return set_err(err, errcap,
				       "line %u: '%s' ends at 0x%x, beyond the "
				       "0x%x-byte flash",
				       t->line[i], p->label,
				       p->offset + p->size, flash_size);
		if (p->type == OTA_PART_TYPE_DATA &&
		    p->subtype == OTA_PART_SUBTYPE_DATA_OTA) {
			if (++otadata > 1)
				return set_err(err, errcap,
					       "line %u: more than one "
					       "data/ota partition",
					       t->line[i]);
			if (p->size != OTA_OTADATA_PART_SIZE)
				return set_err(err, errcap,
					       "line %u: otadata must be "
					       "exactly 0x2000 bytes, not 0x%x",
					       t->line[i], p->size);
		}
		/* gen_esp32part: the same rule for the TEE's otadata */
		if (p->type == OTA_PART_TYPE_DATA &&
		    p->subtype == OTA_PART_SUBTYPE_DATA_TEE_OTA) {
			if (++tee_otadata > 1)
				return set_err(err, errcap,
					       "line %u: more than one "
					       "data/tee_ota partition",
					       t->line[i]);
			if (p->size != OTA_OTADATA_PART_SIZE)
				return set_err(err, errcap,
					       "line %u: tee_ota must be "
					       "exactly 0x2000 bytes, not 0x%x",
					       t->line[i], p->size);
		}
		if (p->type == OTA_PART_TYPE_DATA &&
		    (p->subtype == 0x00 || p->subtype == 0x03) &&
		    (p->flags & OTA_PART_FLAG_READONLY))
			return set_err(err, errcap,
				       "line %u: otadata and coredump cannot "
				       "be readonly",
				       t->line[i]);
		if (p->type == OTA_PART_TYPE_DATA &&
		    p->subtype == OTA_PART_SUBTYPE_DATA_NVS &&
		    p->size < 0x3000 && !(p->flags & OTA_PART_FLAG_READONLY))
			return set_err(err, errcap,
				       "line %u: NVS smaller than 0x3000 must "
				       "be readonly",
				       t->line[i]);
		for (j = 0; j < i; j++) {
			const struct ota_part *q = &t->part[j];

			if (!strcmp(p->label, q->label))
				return set_err(err, errcap,
					       "line %u: duplicate name '%s' "
					       "(first on line %u)",
					       t->line[i], p->label,
					       t->line[j]);
			if (p->offset < q->offset + q->size &&
			    q->offset < p->offset + p->size)
				return set_err(
					err, errcap,
					"line %u: '%s' overlaps '%s' (line %u)",
					t->line[i], p->label, q->label,
					t->line[j]);
		}
	}
	return 0;
}

int ota_partcsv_parse(const char *text, uint32_t table_offset,
		      uint32_t flash_size, struct ota_partcsv *out, char *err,
		      size_t errcap)
{
	uint32_t next_off = table_offset + OTA_PARTTABLE_SECTOR;
	unsigned int lineno = 0;
	const char *s = text;
	int rc;

	memset(out, 0, sizeof(*out));
	/* UTF-8 BOM */
	if (!strncmp(s, "\xef\xbb\xbf", 3))
		s += 3;
	while (*s) {
		char raw[LINE_MAX_LEN], line[LINE_MAX_LEN], *l;
		size_t n = strcspn(s, "\n");

		lineno++;
		if (n >= sizeof(raw))
			return set_err(err, errcap, "line %u: line too long",
				       lineno);
		memcpy(raw, s, n);
		raw[n] = '\0';
		s += n + (s[n] == '\n');
		l = strip(raw);
		if (!*l || *l == '#')
			continue;
		rc = expand_vars(l, line, sizeof(line), err, errcap, lineno);
		if (rc)
			return rc;
		if (out->count == OTA_PARTCSV_MAX)
			return set_err(err, errcap,
				       "line %u: too many partitions (max %u)",
				       lineno, OTA_PARTCSV_MAX);
		rc = parse_line(line, lineno, &next_off, &out->part[out->count],
				err, errcap);
		if (rc)
			return rc;
		out->line[out->count++] = lineno;
	}
	if (!out->count)
		return set_err(err, errcap, "no partitions in the CSV");
	return verify(out, table_offset, flash_size, err, errcap);
}

int ota_partcsv_to_bin(const struct ota_partcsv *t, bool md5,
		       uint8_t out[OTA_PARTTABLE_MAX_LEN])
{
	size_t need =
		((size_t)t->count + (md5 ? 1 : 0) + 1) * OTA_PART_ENTRY_LEN;
	unsigned int i;

	if (need > OTA_PARTTABLE_MAX_LEN)
		return -EMSGSIZE;
	memset(out, 0xff, OTA_PARTTABLE_MAX_LEN);
	for (i = 0; i < t->count; i++)
		ota_part_encode(&t->part[i], out + i * OTA_PART_ENTRY_LEN);
	if (md5) {
		uint8_t *e = out + t->count * OTA_PART_ENTRY_LEN;
		struct ota_md5 ctx;

		ota_md5_init(&ctx);
		ota_md5_update(&ctx, out, t->count * OTA_PART_ENTRY_LEN);
		e[0] = 0xeb;
		e[1] = 0xeb;
		ota_md5_final(&ctx, e + 16);
	}
	return 0;
}

int ota_partcsv_from_bin(const uint8_t *buf, size_t len,
			 struct ota_partcsv *out, char *err, size_t errcap)
{
	struct ota_parttable_iter it;
	struct ota_part p;
	size_t off;
	int rc;

	memset(out, 0, sizeof(*out));
	ota_parttable_iter_init(&it, UINT32_MAX);
	for (off = 0;; off += OTA_PART_ENTRY_LEN) {
		if (off + OTA_PART_ENTRY_LEN > len ||
		    off >= OTA_PARTTABLE_MAX_LEN)
			return set_err(err, errcap, "%s",
				       ota_parttable_strerror(
					       OTA_PARTTABLE_ERR_NO_END));
		rc = ota_parttable_iter_feed(&it, buf + off, &p);
		if (rc < 0) {
			set_err(err, errcap, "entry %u: %s", it.err_index,
				ota_parttable_strerror(it.err));
			return -EILSEQ;
		}
		if (rc == 0)
			return 0;
		if (buf[off] == 0xeb)
			continue; /* the MD5 row, not a partition */
		/*
		 * 0xff is ESP_PARTITION_TYPE_ANY / _SUBTYPE_ANY, which no CSV
		 * can express: refuse rather than drop the entry or write a
		 * CSV that csv2bin (and gen_esp32part) would refuse.
		 */
		if (p.type == 0xff || p.subtype == 0xff)
			return set_err(err, errcap,
				       "entry %u ('%s'): %s 0xff is reserved "
				       "(ESP_PARTITION_%s_ANY); a CSV cannot "
				       "express it",
				       it.index - 1, p.label,
				       p.type == 0xff ? "type" : "subtype",
				       p.type == 0xff ? "TYPE" : "SUBTYPE");
		if (out->count == OTA_PARTCSV_MAX)
			return set_err(err, errcap, "too many partitions");
		out->part[out->count++] = p;
	}
}

static const char *name_of(const struct name_val *tab, size_t n,
			   unsigned int val)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (tab[i].val == val)
			return tab[i].name;
	return NULL;
}

/* Sizes print as M or K when exact, like gen_esp32part's to_csv. */
static void fmt_size(char *buf, size_t cap, uint32_t v)
{
	if (v && v % 0x100000 == 0)
		snprintf(buf, cap, "%uM", v / 0x100000);
	else if (v && v % 0x400 == 0)
		snprintf(buf, cap, "%uK", v / 0x400);
	else
		snprintf(buf, cap, "0x%x", v);
}

int ota_partcsv_write(const struct ota_partcsv *t, FILE *fp)
{
	unsigned int i;

	fprintf(fp, "# ESP-IDF Partition Table\n");
	fprintf(fp, "# Name, Type, SubType, Offset, Size, Flags\n");
	for (i = 0; i < t->count; i++) {
		const struct ota_part *p = &t->part[i];
		const char *tname = name_of(types, 2, p->type);
		const char *sname = NULL;
		char tbuf[8], sbuf[16], size[16];

		if (p->type == OTA_PART_TYPE_APP) {
			if ((p->subtype & 0xf0) == OTA_PART_SUBTYPE_APP_OTA_0) {
				snprintf(sbuf, sizeof(sbuf), "ota_%u",
					 p->subtype & 0xfu);
				sname = sbuf;
			} else {
				sname = name_of(app_subtypes,
						sizeof(app_subtypes) /
							sizeof(app_subtypes[0]),
						p->subtype);
			}
		} else if (p->type == OTA_PART_TYPE_DATA) {
			sname = name_of(data_subtypes,
					sizeof(data_subtypes) /
						sizeof(data_subtypes[0]),
					p->subtype);
		}
		if (!tname) {
			snprintf(tbuf, sizeof(tbuf), "0x%x", p->type);
			tname = tbuf;
		}
		if (!sname) {
			snprintf(sbuf, sizeof(sbuf), "0x%x", p->subtype);
			sname = sbuf;
		}
		fmt_size(size, sizeof(size), p->size);
		fprintf(fp, "%s,%s,%s,0x%x,%s,%s%s%s\n", p->label, tname, sname,
			p->offset, size,
			p->flags & OTA_PART_FLAG_ENCRYPTED ? "encrypted" : "",
			(p->flags & OTA_PART_FLAG_ENCRYPTED) &&
					(p->flags & OTA_PART_FLAG_READONLY)
				? ":"
				: "",
			p->flags & OTA_PART_FLAG_READONLY ? "readonly" : "");
	}
	return ferror(fp) ? -EIO : 0;
}
