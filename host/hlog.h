/* SPDX-License-Identifier: MIT */
/*
 * Logging for the host programs: levels, stderr, and a btmon-like PDU trace
 * ("< " written, "> " received) at the highest verbosity. Device-side
 * libraries never print; only bleota and bleota-peripheral use this.
 */
#ifndef BLEOTA_HOST_HLOG_H
#define BLEOTA_HOST_HLOG_H

#include <stddef.h>
#include <stdint.h>

enum hlog_level {
	HLOG_ERR = 0,
	HLOG_WARN = 1,
	HLOG_INFO = 2,
	HLOG_DEBUG = 3,
	HLOG_TRACE = 4, /* adds PDU hexdumps */
};

/** hlog_init() - @prog prefixes every line; @level is the most verbose kept. */
void hlog_init(const char *prog, int level);

/** hlog_level() - the current level. */
int hlog_level(void);

/*
 * One line on stderr. Control bytes in the formatted text (some of it comes
 * from images and devices) are escaped, so a message can neither forge a
 * log line nor send terminal escape sequences.
 */
void hlog_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * hlog_escape() - @s for a terminal or a log: bytes below 0x20, 0x7f and a
 * backslash become \xHH (\\ for the backslash), the rest is copied; always
 * NUL-terminated within @cap, cut at a whole escape. Return: @out.
 */
char *hlog_escape(char *out, size_t cap, const char *s);

/**
 * hlog_pdu() - trace one PDU at HLOG_TRACE: @dir is '<' (sent) or '>'
 * (received), @what names the characteristic.
 */
void hlog_pdu(char dir, const char *what, const uint8_t *buf, size_t len);

#define hlog_err(...)  hlog_msg(HLOG_ERR, __VA_ARGS__)
#define hlog_warn(...) hlog_msg(HLOG_WARN, __VA_ARGS__)
#define hlog_info(...) hlog_msg(HLOG_INFO, __VA_ARGS__)
#define hlog_dbg(...)  hlog_msg(HLOG_DEBUG, __VA_ARGS__)

#endif /* BLEOTA_HOST_HLOG_H */
