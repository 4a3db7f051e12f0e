/* SPDX-License-Identifier: MIT */
/*
 * make bench, part 2: real loopback throughput of the protocol versus the
 * raw throughput of the same datagrams over the same kind of socket.
 *
 * Both runs use socketpair(AF_UNIX, SOCK_SEQPACKET) between two processes
 * (what BlueZ's AcquireWrite/AcquireNotify hand out), 244-byte values
 * (ATT MTU 247) and a 1 MiB image:
 *
 *  - proto: the protocol/ sender and receiver (receiver over mem_sink),
 *    each driving its fd with poll(2) and real clocks, as the e2e test
 *    does. This is the protocol pair, NOT yet the bleota CLI: when
 *    `bleota push unix:` and `bleota-peripheral --listen unix:` exist,
 *    run_proto() is the one function to replace with fork/exec of the two
 *    binaries on a listening socket (the timing around it stays).
 *  - raw: the same number of datagrams of the same sizes pumped one way
 *    with blocking send(), the reader answering once at the end.
 *
 * The two alternate, RUNS times each, so that both see the same load on a
 * shared machine; the best and the median of each are printed and the
 * ratio is taken of the medians.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "protocol/frame.h"
#include "protocol/receiver.h"
#include "protocol/sender.h"
#include "tests/harness/link.h"
#include "tests/harness/mem_sink.h"

#define IMAGE_LEN (1024 * 1024)
#define VALUE     244
#define RUNS      11

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static int wait_ms(uint64_t deadline_ms)
{
	uint64_t now = now_us() / 1000;

	if (deadline_ms == UINT64_MAX)
		return -1;
	if (deadline_ms <= now)
		return 0;
	return deadline_ms - now > 1000 ? 1000 : (int)(deadline_ms - now);
}

/* The device side: serve until the central closes the socket. */
static void serve(int fd)
{
	static struct mem_sink sink;
	struct ota_rx_cfg cfg = { .sink = &mem_sink_ops,
				  .sink_ctx = &sink,
				  .max_value = VALUE };
	uint8_t buf[OTA_MAX_VALUE + 8];
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct ota_rx_event ev;
	struct ota_rx rx;
	enum ota_chan chan;
	ssize_t n;
	int r;

	mem_sink_init(&sink);
	if (ota_rx_init(&rx, &cfg))
		_exit(2);
	for (;;) {
		while ((r = ota_rx_poll(&rx, buf, sizeof(buf), &chan,
					now_us() / 1000)) > 0) {
			if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) < 0)
				_exit(0);
		}
		while (ota_rx_next_event(&rx, &ev) == 0)
			;
		/* take what is queued without a poll(2) per datagram */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			ota_rx_feed(&rx, ota_frame_chan(buf[0]), buf, (size_t)n,
				    now_us() / 1000);
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			_exit(0);
		r = poll(&pfd, 1, wait_ms(ota_rx_next_deadline(&rx)));
		if (r < 0 && errno != EINTR)
			_exit(3);
		if (r == 0)
			ota_rx_on_timeout(&rx, now_us() / 1000);
	}
}

/*
 * One push of @img over a fresh socketpair; returns the wall time in us
 * (0 on failure) and the datagrams and bytes the central sent.
 */
static uint64_t run_proto(const uint8_t *img, unsigned long *dgrams,
			  uint64_t *bytes)
{
	struct ota_tx_cfg cfg = { .max_value = VALUE };
	struct ota_manifest m = { .image_size = IMAGE_LEN };
	struct ota_tx_event ev = { .err = -EIO };
	uint8_t buf[OTA_MAX_VALUE + 8];
	struct ota_tx tx;
	struct pollfd pfd;
	enum ota_chan chan;
	uint64_t t0, t1 = 0;
	int sv[2], r, status;
	pid_t pid;
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		close(sv[0]);
		serve(sv[1]);
		_exit(0);
	}
	close(sv[1]);
	pfd = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	memset(m.sha256, 0x42, 32);
	*dgrams = 0;
	*bytes = 0;
	t0 = now_us();
	if (ota_tx_init(&tx, &cfg) ||
	    ota_tx_push(&tx, img, IMAGE_LEN, &m, 0, t0 / 1000))
		goto out;
	for (;;) {
		while ((r = ota_tx_poll(&tx, buf, sizeof(buf), &chan,
					now_us() / 1000)) > 0) {
			if (send(sv[0], buf, (size_t)r, MSG_NOSIGNAL) < 0)
				goto out;
			(*dgrams)++;
			*bytes += (uint64_t)r;
		}
		while (ota_tx_next_event(&tx, &ev) == 0) {
			if (ev.type == OTA_TX_EV_DONE) {
				t1 = ev.err ? 0 : now_us();
				goto out;
			}
		}
		r = poll(&pfd, 1, wait_ms(ota_tx_next_deadline(&tx)));
		if (r < 0 && errno != EINTR)
			goto out;
		if (r > 0) {
			n = recv(sv[0], buf, sizeof(buf), 0);
			if (n <= 0)
				goto out;
			ota_tx_feed(&tx, ota_frame_chan(buf[0]), buf, (size_t)n,
				    now_us() / 1000);
		} else {
			ota_tx_on_timeout(&tx, now_us() / 1000);
		}
	}
out:
	close(sv[0]);
	waitpid(pid, &status, 0);
	return t1 ? t1 - t0 : 0;
}

/* @count datagrams carrying @bytes in total, one way, then one answer. */
static uint64_t run_raw(unsigned long count, uint64_t bytes)
{
	uint8_t buf[OTA_MAX_VALUE + 8];
	size_t size = (size_t)(bytes / count);
	uint64_t t0, t1;
	unsigned long i;
	int sv[2], status;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		close(sv[0]);
		for (i = 0; i < count; i++) {
			if (recv(sv[1], buf, sizeof(buf), 0) <= 0)
				_exit(1);
		}
		send(sv[1], buf, 10, MSG_NOSIGNAL);
		_exit(0);
	}
	close(sv[1]);
	memset(buf, 0x5a, sizeof(buf));
	t0 = now_us();
	for (i = 0; i < count; i++) {
		if (send(sv[0], buf, size, MSG_NOSIGNAL) < 0)
			break;
	}
	t1 = recv(sv[0], buf, sizeof(buf), 0) > 0 ? now_us() : 0;
	close(sv[0]);
	waitpid(pid, &status, 0);
	return t1 ? t1 - t0 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	uint8_t *img = malloc(IMAGE_LEN);
	uint64_t tp[RUNS], tr[RUNS], bytes = 0;
	unsigned long dgrams = 0;
	double mp, mr;
	int i;

	if (!img)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	test_fill_random(img, IMAGE_LEN, 9);
	for (i = 0; i < RUNS; i++) {
		tp[i] = run_proto(img, &dgrams, &bytes);
		tr[i] = run_raw(dgrams, bytes);
		if (!tp[i] || !tr[i]) {
			fprintf(stderr, "bench_loopback: run failed\n");
			return 1;
		}
	}
	qsort(tp, RUNS, sizeof(tp[0]), cmp_u64);
	qsort(tr, RUNS, sizeof(tr[0]), cmp_u64);
	mp = (double)tp[RUNS / 2];
	mr = (double)tr[RUNS / 2];
	printf("Loopback, socketpair(AF_UNIX, SOCK_SEQPACKET), 1 MiB, "
	       "%d-byte values, %d alternating runs each\n",
	       VALUE, RUNS);
	printf("  protocol pair (protocol/ sender + receiver in two processes;"
	       " not yet the bleota CLI)\n");
	printf("    median %7.1f ms  %8.1f MiB/s of image  (best %.1f ms)  "
	       "%lu datagrams, %llu B\n",
	       mp / 1e3, IMAGE_LEN / 1048576.0 / (mp / 1e6), tp[0] / 1e3,
	       dgrams, (unsigned long long)bytes);
	printf("  raw pump, the same datagrams, one way\n");
	printf("    median %7.1f ms  %8.1f MiB/s of the same payload  (best "
	       "%.1f ms)\n",
	       mr / 1e3, IMAGE_LEN / 1048576.0 / (mr / 1e6), tr[0] / 1e3);
	printf("  ratio protocol / raw (medians): %.2f\n", mr / mp);
	free(img);
	return 0;
}
