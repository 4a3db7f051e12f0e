/* SPDX-License-Identifier: MIT */
/*
 * How bleota tells a person or a script what is happening: a progress line
 * redrawn in place on a terminal, plain lines otherwise, or one JSON object
 * per line with --json. Results go to stdout, progress and errors to stderr
 * (JSON mode writes everything to stdout, one object per line).
 */
#ifndef BLEOTA_CENTRAL_REPORT_H
#define BLEOTA_CENTRAL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum report_mode {
	REPORT_TTY,
	REPORT_PLAIN,
	REPORT_JSON,
};

/** report_init() - pick a mode: JSON if asked, else TTY if stderr is one. */
void report_init(bool json);
enum report_mode report_mode(void);

/** report_progress() - @done of @total image bytes on the device. */
void report_progress(uint64_t done, uint64_t total);

/**
 * report_progress_air() - @done of @total image bytes rebuilt on the device
 * from @air_done of the @air_total bytes sent (a patch): both, and the
 * saving. The rate and ETA are in image bytes.
 */
void report_progress_air(uint64_t done, uint64_t total, uint64_t air_done,
			 uint64_t air_total);

/** report_progress_end() - finish the in-place line (TTY). */
void report_progress_end(void);

/**
 * report_event() - a milestone. @name is a stable JSON event name
 * ("connected", "resumed", "verified", "committed", ...); @fmt, printf-like,
 * is the human text. @json_fields, if not NULL, are extra JSON members
 * ("\"bytes\":123").
 */
void report_event(const char *name, const char *json_fields, const char *fmt,
		  ...) __attribute__((format(printf, 3, 4)));

/**
 * report_error() - a failure: what happened (@what) and what to do (@hint).
 * JSON: {"event":"error","code":..., "status":"NAME", "message":..., "hint":...}
 */
void report_error(int exit_code, const char *status_name, const char *what,
		  const char *hint);

/**
 * tty_text() - @s with control bytes escaped (hlog_escape()), for human
 * output of bytes that come from an image or a device. Returns one of 8
 * rotating static buffers: valid until 8 more calls.
 */
const char *tty_text(const char *s);

/** json_escape() - @s as a JSON string body into @out (always terminated). */
void json_escape(char *out, size_t cap, const char *s);

#endif /* BLEOTA_CENTRAL_REPORT_H */
