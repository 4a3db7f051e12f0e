/* SPDX-License-Identifier: MIT */
#include "host/hlog.h"

#include <stdarg.h>
#include <stdio.h>

static const char *prog_name = "bleota";
static int max_level = HLOG_INFO;

void hlog_init(const char *prog, int level)
{
	prog_name = prog;
	max_level = level;
}

int hlog_level(void)
{
	return max_level;
}

void hlog_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	fprintf(stderr, "%s: ", prog_name);
	if (level == HLOG_ERR)
		fputs("error: ", stderr);
	else if (level == HLOG_WARN)
		fputs("warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void hlog_pdu(char dir, const char *what, const uint8_t *buf, size_t len)
{
	size_t i;

	if (max_level < HLOG_TRACE)
		return;
	fprintf(stderr, "%c %-7s %3zu:", dir, what, len);
	for (i = 0; i < len && i < 32; i++)
		fprintf(stderr, " %02x", buf[i]);
	if (len > 32)
		fputs(" ...", stderr);
	fputc('\n', stderr);
}
