/* SPDX-License-Identifier: MIT */
/* See bgproc.h. Waits use poll() and the monotonic clock, never sleeps of
 * a fixed length. */
#define _GNU_SOURCE
#include "tests/harness/bgproc.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bgproc_die_with_parent(pid_t parent)
{
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() != parent)
		_exit(127);
}

void bgproc_start(struct bgproc *p, const char *log, const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	pid_t parent;
	int fds[2];

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	memset(p, 0, sizeof(*p));
	if (pipe2(fds, O_CLOEXEC) < 0)
		abort();
	parent = getpid();
	p->pid = fork();
	if (p->pid < 0)
		abort();
	if (p->pid == 0) {
		int err = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		bgproc_die_with_parent(parent);
		dup2(fds[1], 1);
		if (err >= 0)
			dup2(err, 2);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	p->fd = fds[0];
}

bool bgproc_line(struct bgproc *p, char *line, size_t cap, int timeout_ms)
{
	long long until = mono_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(p->buf, '\n', p->len);
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - p->buf);

			snprintf(line, cap, "%.*s", (int)l, p->buf);
			memmove(p->buf, nl + 1, p->len - l - 1);
			p->len -= l + 1;
			return true;
		}
		if (p->eof)
			return false;
		left = until - mono_ms();
		if (left <= 0)
			return false;
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		if (p->len == sizeof(p->buf))
			p->len = 0; /* a runaway line: drop it */
		n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n <= 0)
			p->eof = true;
		else
			p->len += (size_t)n;
	}
}

bool bgproc_until(struct bgproc *p, char *line, size_t cap, int timeout_ms, ...)
{
	long long until = mono_ms() + timeout_ms;

	for (;;) {
		long long left = until - mono_ms();
		const char *s;
		bool all = true;
		va_list ap;

		if (left <= 0 || !bgproc_line(p, line, cap, (int)left))
			return false;
		va_start(ap, timeout_ms);
		while ((s = va_arg(ap, const char *)))
			all = all && strstr(line, s);
		va_end(ap);
		if (all)
			return true;
	}
}

int bgproc_wait(struct bgproc *p, int timeout_ms)
{
	long long until = mono_ms() + timeout_ms;
	int st;

	while (mono_ms() < until) {
		pid_t r = waitpid(p->pid, &st, WNOHANG);

		if (r == p->pid) {
			if (p->fd >= 0)
				close(p->fd);
			p->fd = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st)
					     : 128 + WTERMSIG(st);
		}
		poll(NULL, 0, 10);
	}
	return -1;
}

int bgproc_stop(struct bgproc *p, int sig)
{
	int r;

	kill(p->pid, sig);
	r = bgproc_wait(p, 20000);
	if (r < 0) {
		kill(p->pid, SIGKILL);
		r = bgproc_wait(p, 20000);
	}
	return r;
}

int bgproc_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0), port;

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) < 0)
		abort();
	port = ntohs(a.sin_port);
	close(s);
	return port;
}
