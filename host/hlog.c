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

char *hlog_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		size_t need = c < 0x20 || c == 0x7f ? 4 : c == '\\' ? 2 : 1;

		if (o + need >= cap)
			break;
		if (need == 4)
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else if (need == 2)
			o += (size_t)snprintf(out + o, cap - o, "\\\\");
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
	return out;
}

void hlog_msg(int level, const char *fmt, ...)
{
	char text[1024], esc[4096];
	va_list ap;

	if (level > max_level)
		return;
	fprintf(stderr, "%s: ", prog_name);
	if (level == HLOG_ERR)
		fputs("error: ", stderr);
	else if (level == HLOG_WARN)
		fputs("warning: ", stderr);
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	fputs(hlog_escape(esc, sizeof(esc), text), stderr);
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
