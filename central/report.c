/* SPDX-License-Identifier: MIT */
/*
 * Rate and ETA come from a sliding two-second window, so a resume (which
 * starts with many bytes "done") or a stall does not distort them. The
 * terminal line is redrawn at most ten times a second; plain mode prints a
 * line every 10 %.
 */
#include "central/report.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "host/hlog.h"

static enum report_mode mode = REPORT_PLAIN;
static bool line_open;
static int last_decile = -1;
static uint64_t last_draw_ms;

struct sample {
	uint64_t t;
	uint64_t bytes;
};
static struct sample samples[32];
static unsigned int nsamples;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void report_init(bool json)
{
	if (json)
		mode = REPORT_JSON;
	else if (isatty(STDERR_FILENO))
		mode = REPORT_TTY;
	else
		mode = REPORT_PLAIN;
	line_open = false;
	last_decile = -1;
	nsamples = 0;
}

enum report_mode report_mode(void)
{
	return mode;
}

const char *tty_text(const char *s)
{
	static char bufs[8][512];
	static unsigned int next;

	return hlog_escape(bufs[next++ % 8], sizeof(bufs[0]), s);
}

void json_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;

	for (; *s && o + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
}

static double rate_bps(uint64_t now, uint64_t bytes)
{
	unsigned int i, oldest = 0;

	if (nsamples == 32) {
		memmove(samples, samples + 1, sizeof(samples[0]) * 31);
		nsamples--;
	}
	samples[nsamples].t = now;
	samples[nsamples].bytes = bytes;
	nsamples++;
	for (i = 0; i < nsamples; i++) {
		if (now - samples[i].t <= 2000) {
			oldest = i;
			break;
		}
	}
	if (now <= samples[oldest].t || bytes < samples[oldest].bytes)
		return 0;
	return (double)(bytes - samples[oldest].bytes) * 1000.0 /
	       (double)(now - samples[oldest].t);
}

static void human(char *out, size_t cap, double v)
{
	if (v >= 1024.0 * 1024.0)
		snprintf(out, cap, "%.1f MiB", v / (1024.0 * 1024.0));
	else if (v >= 1024.0)
		snprintf(out, cap, "%.1f KiB", v / 1024.0);
	else
		snprintf(out, cap, "%.0f B", v);
}

/* @air_total 0: the plain image, no "on the air" part */
static void progress(uint64_t done, uint64_t total, uint64_t air_done,
		     uint64_t air_total)
{
	uint64_t now = mono_ms();
	double rate = rate_bps(now, done);
	int pct = total ? (int)(done * 100 / total) : 100;
	char d[32], t[32], r[32], eta[32] = "--:--", air[96] = "";
	char jair[64] = "";

	if (rate > 0 && total > done) {
		unsigned long s =
			(unsigned long)((double)(total - done) / rate);

		snprintf(eta, sizeof(eta), "%lu:%02lu", s / 60, s % 60);
	}
	if (air_total) {
		char a[32], at[32];

		human(a, sizeof(a), (double)air_done);
		human(at, sizeof(at), (double)air_total);
		snprintf(air, sizeof(air), "  air %s / %s (%.0f%% saved)", a,
			 at,
			 total ? 100.0 - 100.0 * (double)air_total /
						 (double)total
			       : 0.0);
		snprintf(jair, sizeof(jair), ",\"air\":%llu,\"air_total\":%llu",
			 (unsigned long long)air_done,
			 (unsigned long long)air_total);
	}
	switch (mode) {
	case REPORT_JSON:
		if (now - last_draw_ms < 250 && done != total)
			return;
		last_draw_ms = now;
		printf("{\"event\":\"progress\",\"bytes\":%llu,\"total\":%llu,"
		       "\"rate\":%.0f%s}\n",
		       (unsigned long long)done, (unsigned long long)total,
		       rate, jair);
		fflush(stdout);
		break;
	case REPORT_TTY: {
		int i, fill = pct / 4;
		char bar[26];

		if (now - last_draw_ms < 100 && done != total)
			return;
		last_draw_ms = now;
		for (i = 0; i < 25; i++)
			bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
		bar[25] = '\0';
		human(d, sizeof(d), (double)done);
		human(t, sizeof(t), (double)total);
		human(r, sizeof(r), rate);
		fprintf(stderr, "\r[%s] %3d%%  %s / %s%s  %s/s  ETA %s \033[K",
			bar, pct, d, t, air, r, eta);
		line_open = true;
		break;
	}
	case REPORT_PLAIN:
		if (pct / 10 == last_decile)
			return;
		last_decile = pct / 10;
		human(d, sizeof(d), (double)done);
		human(t, sizeof(t), (double)total);
		human(r, sizeof(r), rate);
		fprintf(stderr, "progress: %3d%%  %s / %s%s  %s/s\n", pct, d, t,
			air, r);
		break;
	}
}

void report_progress(uint64_t done, uint64_t total)
{
	progress(done, total, 0, 0);
}

void report_progress_air(uint64_t done, uint64_t total, uint64_t air_done,
			 uint64_t air_total)
{
	progress(done, total, air_done, air_total);
}

void report_progress_end(void)
{
	if (line_open)
		fputc('\n', stderr);
	line_open = false;
}

void report_event(const char *name, const char *json_fields, const char *fmt,
		  ...)
{
	char text[512], esc[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (mode == REPORT_JSON) {
		json_escape(esc, sizeof(esc), text);
		printf("{\"event\":\"%s\"%s%s,\"message\":\"%s\"}\n", name,
		       json_fields ? "," : "", json_fields ? json_fields : "",
		       esc);
		fflush(stdout);
		return;
	}
	report_progress_end();
	fprintf(stderr, "%s\n", tty_text(text));
}

void report_error(int exit_code, const char *status_name, const char *what,
		  const char *hint)
{
	char w[1024], h[1024];

	if (mode == REPORT_JSON) {
		json_escape(w, sizeof(w), what);
		json_escape(h, sizeof(h), hint ? hint : "");
		printf("{\"event\":\"error\",\"code\":%d,\"status\":\"%s\","
		       "\"message\":\"%s\",\"hint\":\"%s\"}\n",
		       exit_code, status_name ? status_name : "", w, h);
		fflush(stdout);
		return;
	}
	report_progress_end();
	fprintf(stderr, "bleota: %s\n", tty_text(what));
	if (hint && *hint)
		fprintf(stderr, "bleota: %s\n", tty_text(hint));
}
