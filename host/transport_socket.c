/* SPDX-License-Identifier: MIT */
/*
 * SEQPACKET socket transport. One read is one value, as with BlueZ's
 * AcquireWrite fds; reads are drained until EAGAIN on every wake-up, up to
 * SOCK_RX_BATCH values per recvmmsg(2) (a 1 MiB push is ~4,400 values: the
 * per-call cost was a tenth of the device's CPU on the loopback). A send
 * that would block returns -EAGAIN and arms a G_IO_OUT watch so the owner
 * hears when it may go on; nothing is queued here, so the protocol's own
 * flow control stays in charge.
 *
 * A read of zero bytes is either an empty datagram or the peer closing;
 * only a pending hang-up (POLLRDHUP) with nothing left to read makes it the
 * end of the connection, an empty datagram is dropped and counted. A
 * datagram longer than any bleota value is never truncated into a shorter,
 * maybe valid one: MSG_TRUNC marks it and it is dropped and counted too.
 *
 * The listening socket is hostile ground too: its path may name a user's
 * file, so only a socket nobody listens on is ever replaced, and the socket
 * gets an explicit mode (and group) instead of whatever the umask leaves.
 */
#define _GNU_SOURCE
#include "host/transport.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "host/hlog.h"

/* Datagrams taken per recvmmsg(2): one system call per wake-up, not one per value */
#define SOCK_RX_BATCH 16

struct sock_transport {
	struct transport t;
	int fd;
	guint in_watch;
	guint out_watch;
	uint8_t rx[SOCK_RX_BATCH][OTA_MAX_VALUE + 1];
};

static struct sock_transport *S(struct transport *t)
{
	return (struct sock_transport *)t;
}

void transport_set_cbs(struct transport *t, const struct transport_cbs *cbs,
		       void *user_data)
{
	t->cbs = *cbs;
	t->user_data = user_data;
}

int transport_send(struct transport *t, enum ota_chan chan, const uint8_t *buf,
		   size_t len)
{
	if (t->closed)
		return -ENOTCONN;
	if (len > t->value_max)
		return -EMSGSIZE;
	return t->ops->send(t, chan, buf, len);
}

bool transport_alive(struct transport *t)
{
	if (t->closed)
		return false;
	return t->ops->alive ? t->ops->alive(t) : true;
}

void transport_free(struct transport *t)
{
	if (t)
		t->ops->destroy(t);
}

void transport_closed(struct transport *t, int err)
{
	if (t->closed)
		return;
	t->closed = true;
	if (t->cbs.closed)
		t->cbs.closed(err, t->user_data);
}

static void sock_stop_watches(struct sock_transport *s)
{
	if (s->in_watch)
		g_source_remove(s->in_watch);
	if (s->out_watch)
		g_source_remove(s->out_watch);
	s->in_watch = 0;
	s->out_watch = 0;
}

static gboolean sock_writable(gint fd, GIOCondition cond, gpointer data)
{
	struct sock_transport *s = data;

	(void)fd;
	(void)cond;
	s->out_watch = 0;
	if (!s->t.closed && s->t.cbs.writable)
		s->t.cbs.writable(s->t.user_data);
	return G_SOURCE_REMOVE;
}

static int sock_send(struct transport *t, enum ota_chan chan,
		     const uint8_t *buf, size_t len)
{
	struct sock_transport *s = S(t);
	ssize_t n;

	(void)chan; /* one socket for all: the opcode names it */
	n = send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
		if (!s->out_watch)
			s->out_watch = g_unix_fd_add(s->fd, G_IO_OUT,
						     sock_writable, s);
		return -EAGAIN;
	}
	return -errno;
}

/* Zero bytes read: the peer's end of stream, not an empty datagram. */
static bool sock_at_eof(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };
	uint8_t b;

	if (poll(&pfd, 1, 0) <= 0 ||
	    !(pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return false;
	/* hung up; anything still queued is read first */
	return recv(fd, &b, sizeof(b), MSG_PEEK | MSG_DONTWAIT) <= 0;
}

static void sock_drop(struct sock_transport *s, size_t len)
{
	s->t.dropped++;
	/* a flood must not flood the log: the first, then every 1000th */
	if (s->t.dropped % 1000 == 1)
		hlog_warn("dropped a %zu-byte value (bleota values are 1..%u "
			  "bytes; %lu dropped on this link)",
			  len, OTA_MAX_VALUE, s->t.dropped);
}

/*
 * What one datagram of a batch says: deliver it, drop it, or (zero bytes
 * and nothing non-empty after it in the batch) maybe the end of stream.
 */
static bool sock_take(struct sock_transport *s, const uint8_t *buf, size_t len,
		      int flags)
{
	if (len > OTA_MAX_VALUE || (flags & MSG_TRUNC)) {
		sock_drop(s, len);
		return true;
	}
	if (s->t.cbs.recv)
		s->t.cbs.recv(ota_frame_chan(buf[0]), buf, len, s->t.user_data);
	return !s->t.closed;
}

static gboolean sock_readable(gint fd, GIOCondition cond, gpointer data)
{
	struct sock_transport *s = data;
	struct mmsghdr mm[SOCK_RX_BATCH];
	struct iovec iov[SOCK_RX_BATCH];
	int i, n, last, got;

	for (;;) {
		memset(mm, 0, sizeof(mm));
		for (i = 0; i < SOCK_RX_BATCH; i++) {
			iov[i].iov_base = s->rx[i];
			iov[i].iov_len = sizeof(s->rx[i]);
			mm[i].msg_hdr.msg_iov = &iov[i];
			mm[i].msg_hdr.msg_iovlen = 1;
		}
		n = recvmmsg(fd, mm, SOCK_RX_BATCH, MSG_DONTWAIT | MSG_TRUNC,
			     NULL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if (cond & (G_IO_HUP | G_IO_ERR))
					break;
				return G_SOURCE_CONTINUE;
			}
			if (errno == EINTR)
				continue;
			break;
		}
		/* at the end of stream every slot reads zero bytes */
		for (last = n - 1; last >= 0 && !mm[last].msg_len; last--)
			;
		for (i = 0, got = 0; i < n; i++) {
			size_t len = mm[i].msg_len;

			if (len) {
				if (!sock_take(s, s->rx[i], len,
					       mm[i].msg_hdr.msg_flags))
					goto closed;
				got++;
			} else if (i < last || !sock_at_eof(fd)) {
				sock_drop(s, 0); /* an empty datagram */
			} else {
				break; /* the end: answer the burst first */
			}
		}
		if (got && s->t.cbs.drained && !s->t.closed)
			s->t.cbs.drained(s->t.user_data);
		if (s->t.closed || i < n)
			goto closed;
	}
closed:
	s->in_watch = 0;
	if (s->out_watch)
		g_source_remove(s->out_watch);
	s->out_watch = 0;
	transport_closed(&s->t, 0);
	return G_SOURCE_REMOVE;
}

static void sock_destroy(struct transport *t)
{
	struct sock_transport *s = S(t);

	sock_stop_watches(s);
	close(s->fd);
	free(s);
}

static bool sock_alive(struct transport *t)
{
	return !sock_at_eof(S(t)->fd);
}

static const struct transport_ops sock_ops = {
	.name = "socket",
	.send = sock_send,
	.destroy = sock_destroy,
	.alive = sock_alive,
};

struct transport *transport_socket_new(int fd, size_t value_max)
{
	struct sock_transport *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	s->t.ops = &sock_ops;
	s->t.value_max = value_max;
	s->t.batches = true;
	s->fd = fd;
	s->in_watch = g_unix_fd_add(fd, G_IO_IN | G_IO_HUP | G_IO_ERR,
				    sock_readable, s);
	return &s->t;
}

const char *unix_path_of(const char *device)
{
	if (device && !strncmp(device, "unix:", 5) && device[5])
		return device + 5;
	return NULL;
}

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

int socket_connect_unix(const char *path, unsigned int timeout_ms)
{
	struct timespec now, end;
	struct sockaddr_un sa;
	int fd, r = unix_addr(path, &sa);

	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	/*
	 * A UNIX socket never connects "in progress": it is accepted into
	 * the backlog at once or, non-blocking, refused with EAGAIN while the
	 * backlog is full. Try again until the deadline instead of blocking
	 * forever in connect() on a daemon that does not accept.
	 */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		if (r != -EAGAIN && r != -EINTR)
			goto fail;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec * 1000000000L + now.tv_nsec >=
		    end.tv_sec * 1000000000L + end.tv_nsec) {
			r = -ETIMEDOUT;
			goto fail;
		}
		poll(NULL, 0, 20);
	}
	return fd;
fail:
	close(fd);
	return r;
}

/*
 * -EEXIST if @path is something other than a socket; -EADDRINUSE if it is
 * a socket something listens on; 0 if free or a stale socket (removed).
 */
static int claim_path(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	r = unix_addr(path, &sa);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	close(fd);
	if (r != ECONNREFUSED && r != ENOENT)
		return -EADDRINUSE; /* accepted, or a full backlog: alive */
	return 0;
}

int socket_listen_unix(const char *path, unsigned int mode, int gid)
{
	struct sockaddr_un sa;
	char tmp[sizeof(sa.sun_path)];
	int fd, r;

	r = claim_path(path);
	if (r)
		return r;
	/*
	 * Bound under a temporary name and renamed once listening: the path
	 * appears only when a connect() can succeed, so whoever waits for it
	 * (scripts, tests) never meets ECONNREFUSED. The mode and group are
	 * set before the rename, so the path is never open to more users.
	 */
	if (snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	r = unix_addr(tmp, &sa);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (claim_path(tmp) == 0)
		unlink(tmp);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(tmp, mode) < 0 || (gid >= 0 && chown(tmp, -1, (gid_t)gid)) ||
	    listen(fd, 4) < 0 || rename(tmp, path) < 0) {
		r = -errno;
		unlink(tmp);
		close(fd);
		return r;
	}
	return fd;
}
