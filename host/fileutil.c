/* SPDX-License-Identifier: MIT */
/* Small file and argument helpers shared by the host programs. */
#include "host/fileutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned char *fileutil_read(const char *path, size_t max, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t len = 0, cap = 0;
	FILE *fp = fopen(path, "rb");

	if (!fp) {
		fprintf(stderr, "bleota: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t n;

		if (len == cap) {
			unsigned char *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				fprintf(stderr, "bleota: %s: out of memory\n",
					path);
				goto err;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (len > max) {
			fprintf(stderr,
				"bleota: %s: larger than %zu bytes: not a "
				"firmware or table file\n",
				path, max);
			goto err;
		}
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		fprintf(stderr, "bleota: %s: read error\n", path);
		goto err;
	}
	fclose(fp);
	*out_len = len;
	return buf;
err:
	fclose(fp);
	free(buf);
	return NULL;
}

int fileutil_parse_size(const char *s, unsigned long *out)
{
	char *end;
	unsigned long v, mul = 1;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024;
	if (mul != 1)
		end++;
	if (*end || v > 0xffffffffUL / mul)
		return -1;
	*out = v * mul;
	return 0;
}
