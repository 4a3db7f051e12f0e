/* SPDX-License-Identifier: MIT */
/*
 * vhci-handles.so: an LD_PRELOAD shim for btvirt (BlueZ 5.66) that lets one
 * emulated controller hold several LE connections at once (tests/hci/
 * serve.sh: a gateway connected to two peripherals in parallel).
 *
 * The emulator's bug (emulator/btdev.c, 5.66): each controller numbers its
 * connections itself, the lowest free handle from 42 up, but the LE
 * Connection Complete sent to the peripheral carries the *central's*
 * handle, and an ACL packet is passed to the peer with the *sender's*
 * handle. The two only agree while the central has a single connection:
 * with a second one the central says 43, the peripheral's controller knows
 * the link as 42, answers its host's first command on 43 with "Unknown
 * Connection Identifier", and the link is dead (ATT never answers).
 *
 * The shim sits between btvirt and the kernel, on the /dev/vhci file
 * descriptors (one per controller): it tracks every link's handle on each
 * side as the emulator knows it ("emu", what btdev looks up) and as the
 * host was told ("host"), and rewrites handles in the packets it sees:
 *   - read()   (kernel -> btvirt): commands and ACL from a host: host->emu;
 *   - writev() (btvirt -> kernel): events to a host: emu->host; ACL from
 *     the peer: the sender's emu handle -> this side's host handle (the
 *     sender is the controller whose packet btvirt is processing: btvirt
 *     handles one read at a time, synchronously).
 * A peripheral's emu handle is computed as btdev computes it (the lowest
 * free from 42). With one connection per controller, emu == host and
 * nothing changes. Test tooling only: never part of bleota.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD       256
#define MAX_LINKS    32
#define H4_CMD       0x01
#define H4_ACL       0x02
#define H4_EVT       0x04
#define FIRST_HANDLE 42

struct side {
	int fd;
	uint16_t emu, host;
	bool open;
};

struct link {
	bool used;
	struct side s[2]; /* [0] peripheral, [1] central */
};

static struct link links[MAX_LINKS];
static signed char is_vhci[MAX_FD]; /* 0 unknown, 1 yes, -1 no */
static int cur_src = -1;            /* the vhci fd btvirt last read from */
static struct side pending;         /* peripheral side awaiting its central */
static bool have_pending;

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_writev)(int, const struct iovec *, int);

static bool vhci_fd(int fd)
{
	char path[64], target[64];
	ssize_t n;

	if (fd < 0 || fd >= MAX_FD)
		return false;
	if (!is_vhci[fd]) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, target, sizeof(target) - 1);
		if (n > 0)
			target[n] = '\0';
		is_vhci[fd] = n > 0 && !strcmp(target, "/dev/vhci") ? 1 : -1;
	}
	return is_vhci[fd] > 0;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Rewrites the 12-bit handle at @p, keeping the flag bits. */
static void put_handle(uint8_t *p, uint16_t h)
{
	uint16_t v = (uint16_t)((get16(p) & 0xf000) | (h & 0x0fff));

	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* The open side on @fd whose emu (or host) handle is @h; *li, *k: where. */
static struct side *find_side(int fd, bool by_emu, uint16_t h, int *li, int *k)
{
	int i, j;

	for (i = 0; i < MAX_LINKS; i++) {
		for (j = 0; links[i].used && j < 2; j++) {
			struct side *s = &links[i].s[j];

			if (s->open && s->fd == fd &&
			    (by_emu ? s->emu : s->host) == h) {
				if (li)
					*li = i;
				if (k)
					*k = j;
				return s;
			}
		}
	}
	return NULL;
}

/* The handle btdev gives a new connection on controller @fd. */
static uint16_t next_emu(int fd)
{
	uint16_t h = FIRST_HANDLE;

	while (find_side(fd, true, h, NULL, NULL))
		h++;
	return h;
}

static void map_handle(int fd, uint8_t *p, bool to_emu)
{
	uint16_t h = get16(p) & 0x0fff;
	struct side *s = find_side(fd, !to_emu, h, NULL, NULL);

	if (s)
		put_handle(p, to_emu ? s->emu : s->host);
}

/* Commands whose first parameter is a connection handle. */
static bool cmd_has_handle(uint16_t op)
{
	static const uint16_t ops[] = {
		0x0406, 0x041d, 0x0c2d, 0x1405, 0x2013, 0x2016, 0x2019,
		0x201a, 0x201b, 0x2020, 0x2021, 0x2022, 0x2030, 0x2032,
	};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i] == op)
			return true;
	return false;
}

static void from_host(int fd, uint8_t *b, size_t n)
{
	if (b[0] == H4_CMD && n >= 6 && cmd_has_handle(get16(b + 1)))
		map_handle(fd, b + 4, true);
	else if (b[0] == H4_ACL && n >= 3)
		map_handle(fd, b + 1, true);
}

static void connected(int fd, uint8_t *ev, size_t n)
{
	struct side s = { .fd = fd, .open = true };
	int i;

	if (n < 5 || ev[1] != 0) /* subevent, status, handle, role */
		return;
	s.host = get16(ev + 2) & 0x0fff;
	if (ev[4] == 0x01) {
		/* peripheral: told the central's handle, known by its own */
		s.emu = next_emu(fd);
		pending = s;
		have_pending = true;
		return;
	}
	s.emu = s.host;
	for (i = 0; i < MAX_LINKS && links[i].used; i++)
		;
	if (i == MAX_LINKS || !have_pending)
		return;
	links[i].used = true;
	links[i].s[0] = pending;
	links[i].s[1] = s;
	have_pending = false;
}

static void disconnected(int fd, uint8_t *p)
{
	int li;
	struct side *s = find_side(fd, true, get16(p) & 0x0fff, &li, NULL);

	if (!s)
		return;
	put_handle(p, s->host);
	s->open = false;
	if (!links[li].s[0].open && !links[li].s[1].open)
		links[li].used = false;
}

static void to_host(int fd, uint8_t *b, size_t n)
{
	uint8_t *p = b + 3; /* event parameters */
	int li, k;

	if (b[0] == H4_ACL && n >= 3) {
		/* from the peer btvirt is processing: its emu handle */
		if (find_side(cur_src, true, get16(b + 1) & 0x0fff, &li, &k) &&
		    links[li].s[!k].fd == fd)
			put_handle(b + 1, links[li].s[!k].host);
		return;
	}
	if (b[0] != H4_EVT || n < 4)
		return;
	switch (b[1]) {
	case 0x05: /* Disconnect Complete: status, handle */
		if (n >= 6 && p[0] == 0)
			disconnected(fd, p + 1);
		break;
	case 0x08: /* Encryption Change */
	case 0x0c: /* Read Remote Version Complete */
		if (n >= 6)
			map_handle(fd, p + 1, false);
		break;
	case 0x13: /* Number of Completed Packets (one handle) */
		if (n >= 6 && p[0] == 1)
			map_handle(fd, p + 1, false);
		break;
	case 0x0e: /* Command Complete: returns status, handle */
		if (n >= 9 && cmd_has_handle(get16(p + 1)) &&
		    get16(p + 1) != 0x0406)
			map_handle(fd, p + 4, false);
		break;
	case 0x3e: /* LE Meta */
		switch (p[0]) {
		case 0x01: /* Connection Complete */
		case 0x0a: /* Enhanced Connection Complete */
			connected(fd, p, n - 3);
			break;
		case 0x03: /* Connection Update Complete */
		case 0x04: /* Read Remote Features Complete */
		case 0x0c: /* PHY Update Complete */
			if (n >= 7)
				map_handle(fd, p + 2, false);
			break;
		case 0x05: /* LTK Request */
		case 0x06: /* Remote Connection Parameter Request */
		case 0x07: /* Data Length Change */
			if (n >= 6)
				map_handle(fd, p + 1, false);
			break;
		}
		break;
	}
}

ssize_t read(int fd, void *buf, size_t count)
{
	ssize_t n;

	if (!real_read)
		real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT,
								   "read");
	n = real_read(fd, buf, count);
	if (n > 0 && vhci_fd(fd)) {
		cur_src = fd;
		from_host(fd, buf, (size_t)n);
	}
	return n;
}

ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	uint8_t b[2048];
	size_t n = 0;
	int i;

	if (!real_writev)
		real_writev = (ssize_t(*)(int, const struct iovec *, int))dlsym(
			RTLD_NEXT, "writev");
	if (!vhci_fd(fd))
		return real_writev(fd, iov, iovcnt);
	for (i = 0; i < iovcnt; i++) {
		if (n + iov[i].iov_len > sizeof(b))
			return real_writev(fd, iov, iovcnt);
		memcpy(b + n, iov[i].iov_base, iov[i].iov_len);
		n += iov[i].iov_len;
	}
	if (n)
		to_host(fd, b, n);
	{
		struct iovec one = { .iov_base = b, .iov_len = n };

		return real_writev(fd, &one, 1);
	}
}
