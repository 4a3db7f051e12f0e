/* SPDX-License-Identifier: MIT */
/*
 * Background processes for end-to-end tests of long-running programs
 * (bleota serve, the test file server, nghttpx): started through sh -c,
 * stdout read line by line with a bounded wait, stderr into a log file.
 */
#ifndef BLEOTA_TESTS_HARNESS_BGPROC_H
#define BLEOTA_TESTS_HARNESS_BGPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/types.h>

struct bgproc {
	pid_t pid;
	int fd;          /* its stdout */
	char buf[65536]; /* bytes read and not yet returned as lines */
	size_t len;
	bool eof;
};

/**
 * bgproc_die_with_parent() - in a child just forked from @parent: have the
 * kernel SIGTERM it when the parent dies (a failed assertion ends a test
 * process without its cleanup; its daemons must not outlive it). Exits at
 * once if @parent is already gone.
 */
void bgproc_die_with_parent(pid_t parent);

/** bgproc_start() - run `sh -c CMD` with stderr appended to @log. */
void bgproc_start(struct bgproc *p, const char *log, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/**
 * bgproc_line() - the next stdout line (without "\n") into @line.
 * Return: false at end of output or after @timeout_ms without a line.
 */
bool bgproc_line(struct bgproc *p, char *line, size_t cap, int timeout_ms);

/**
 * bgproc_until() - read lines until one contains every string of the
 * NULL-terminated list; that line into @line. false on end or timeout.
 */
bool bgproc_until(struct bgproc *p, char *line, size_t cap, int timeout_ms,
		  ...);

/** bgproc_stop() - send @sig, wait; the exit status (or 128 + signal). */
int bgproc_stop(struct bgproc *p, int sig);

/** bgproc_wait() - wait up to @timeout_ms for the exit; -1 on timeout. */
int bgproc_wait(struct bgproc *p, int timeout_ms);

/** bgproc_free_port() - a TCP port on 127.0.0.1 free right now. */
int bgproc_free_port(void);

#endif /* BLEOTA_TESTS_HARNESS_BGPROC_H */
