/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the gen_esp32part-compatible CSV parser
 * (ota_partcsv_parse) on arbitrary text.
 *
 * Beyond "no crash": a table it accepts has at most OTA_PARTCSV_MAX entries
 * with labels of at most 16 bytes, builds to a binary (ota_partcsv_to_bin)
 * that the binary reader gives back entry for entry, and written out as CSV
 * (ota_partcsv_write) parses again to the same entries. Seeds: the built-in
 * two-OTA layout and the CSVs of the unit tests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/partcsv.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same_parts(const struct ota_partcsv *a, const struct ota_partcsv *b)
{
	unsigned int i;

	FUZZ_CHECK(a->count == b->count);
	for (i = 0; i < a->count; i++) {
		const struct ota_part *p = &a->part[i], *q = &b->part[i];

		FUZZ_CHECK(p->type == q->type && p->subtype == q->subtype);
		FUZZ_CHECK(p->offset == q->offset && p->size == q->size);
		FUZZ_CHECK(p->flags == q->flags && !strcmp(p->label, q->label));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ota_partcsv t, t2;
	static uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	char err[256], *text, *out = NULL;
	size_t outlen = 0;
	unsigned int i;
	FILE *fp;
	int r;

	if (size > 8192)
		return 0;
	text = malloc(size + 1);
	FUZZ_CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	r = ota_partcsv_parse(text, OTA_PARTTABLE_OFFSET, 0, &t, err,
			      sizeof(err));
	free(text);
	if (r) {
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)) && err[0]);
		return 0;
	}
	FUZZ_CHECK(t.count <= OTA_PARTCSV_MAX);
	for (i = 0; i < t.count; i++)
		FUZZ_CHECK(strlen(t.part[i].label) <= OTA_PART_LABEL_LEN);

	FUZZ_CHECK(!ota_partcsv_to_bin(&t, true, bin));
	FUZZ_CHECK(
		!ota_partcsv_from_bin(bin, sizeof(bin), &t2, err, sizeof(err)));
	same_parts(&t, &t2);

	fp = open_memstream(&out, &outlen);
	FUZZ_CHECK(fp);
	FUZZ_CHECK(!ota_partcsv_write(&t, fp));
	fclose(fp);
	r = ota_partcsv_parse(out, OTA_PARTTABLE_OFFSET, 0, &t2, err,
			      sizeof(err));
	if (r)
		fprintf(stderr, "rewritten CSV refused: %s\n%s", err, out);
	FUZZ_CHECK(!r);
	free(out);
	same_parts(&t, &t2);
	return 0;
}
