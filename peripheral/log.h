/* SPDX-License-Identifier: MIT */
/*
 * Logging for the host programs: levels, stderr, and a btmon-like PDU trace
 * ("< " written, "> " received) at the highest verbosity. Device-side
 * libraries never print; only bleota and bleota-peripheral use this.
 */
#ifndef BLEOTA_PERIPHERAL_LOG_H
#define BLEOTA_PERIPHERAL_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_ERR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
	LOG_TRACE = 4, /* adds PDU hexdumps */
};

/** log_init() - @prog prefixes every line; @level is the most verbose kept. */
void log_init(const char *prog, int level);

/** log_level() - the current level. */
int log_level(void);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/**
 * log_pdu() - trace one PDU at LOG_TRACE: @dir is '<' (sent) or '>'
 * (received), @what names the characteristic.
 */
void log_pdu(char dir, const char *what, const uint8_t *buf, size_t len);

#define err(...)  log_msg(LOG_ERR, __VA_ARGS__)
#define warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define dbg(...)  log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* BLEOTA_PERIPHERAL_LOG_H */
