/* SPDX-License-Identifier: MIT */
/*
 * The protocol over real datagram sockets: sender and receiver in two
 * processes, exchanging GATT-value-sized datagrams over an AF_UNIX
 * SOCK_SEQPACKET socket — the kind of fd BlueZ hands out for
 * AcquireWrite/AcquireNotify — with real clocks and poll(2) timers, and
 * with loss injected on both sides from a seeded PRNG.
 *
 * The receiving process keeps its in-memory sink in a shared mapping so the
 * test can compare what it stored with the image after it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "protocol/frame.h"
#include "protocol/receiver.h"
#include "protocol/sender.h"
#include "tests/harness/link.h"
#include "tests/harness/mem_sink.h"

#define IMAGE_LEN (1024 * 1024)

struct shared {
	struct mem_sink sink;
	struct ota_rx_stats stats;
	unsigned long rx_dropped_acks;
	int connections;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int wait_ms(uint64_t deadline)
{
	uint64_t now = now_ms();

	if (deadline == UINT64_MAX)
		return -1;
	if (deadline <= now)
		return 0;
	return deadline - now > 1000 ? 1000 : (int)(deadline - now);
}

static bool lose(uint64_t *rng, unsigned int ppm)
{
	return ppm && test_rand(rng) % 1000000u < ppm;
}

/* Serve one connection until the peer closes it. */
static void serve(int fd, struct ota_rx *rx, struct shared *sh,
		  unsigned int drop_ppm, uint64_t seed)
{
	uint8_t buf[OTA_MAX_VALUE + 8];
	uint64_t rng = seed;
	struct ota_rx_event ev;
	enum ota_chan chan;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	for (;;) {
		while ((r = ota_rx_poll(rx, buf, sizeof(buf), &chan,
					now_ms())) > 0) {
			if (buf[0] == OTA_OP_ACK && lose(&rng, drop_ppm)) {
				sh->rx_dropped_acks++;
				continue;
			}
			if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) < 0)
				return;
		}
		while (ota_rx_next_event(rx, &ev) == 0)
			;
		r = poll(&pfd, 1, wait_ms(ota_rx_next_deadline(rx)));
		if (r < 0 && errno != EINTR)
			return;
		if (r > 0) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return; /* the central went away */
			/* one socket for all: the opcode names the channel */
			ota_rx_feed(rx, ota_frame_chan(buf[0]), buf, (size_t)n,
				    now_ms());
		} else {
			ota_rx_on_timeout(rx, now_ms());
		}
	}
}

static void receiver_init(struct ota_rx *rx, struct shared *sh)
{
	struct ota_rx_cfg cfg = { .sink = &mem_sink_ops,
				  .sink_ctx = &sh->sink,
				  .max_value = 244 };

	if (ota_rx_init(rx, &cfg))
		_exit(2);
}

/*
 * Run a push on @fd. Stops after @kill_after chunks if non-zero (the
 * caller then kills the process). Returns the DONE event.
 */
static struct ota_tx_event push_on_fd(int fd, const uint8_t *img,
				      unsigned int drop_ppm, uint64_t seed,
				      unsigned long kill_after,
				      struct ota_tx_progress *prog)
{
	struct ota_tx_cfg cfg = { .max_value = 244, .rto_ms = 50 };
	struct ota_manifest m = { .image_size = IMAGE_LEN };
	struct ota_tx tx;
	struct ota_tx_event ev = { .type = OTA_TX_EV_DONE, .err = -EIO };
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint8_t buf[OTA_MAX_VALUE + 8];
	uint64_t rng = seed;
	unsigned long chunks = 0;
	enum ota_chan chan;
	ssize_t n;
	int r;

	memset(m.sha256, 0x42, 32);
	if (ota_tx_init(&tx, &cfg) ||
	    ota_tx_push(&tx, img, IMAGE_LEN, &m, OTA_TX_F_COMMIT, now_ms()))
		return ev;
	for (;;) {
		while ((r = ota_tx_poll(&tx, buf, sizeof(buf), &chan,
					now_ms())) > 0) {
			if (chan == OTA_CHAN_DATA) {
				if (kill_after && ++chunks >= kill_after)
					raise(SIGKILL);
				if (lose(&rng, drop_ppm))
					continue;
			}
			if (send(fd, buf, (size_t)r, MSG_NOSIGNAL) < 0)
				return ev;
		}
		while (ota_tx_next_event(&tx, &ev) == 0) {
			if (ev.type == OTA_TX_EV_DONE) {
				*prog = *ota_tx_get_progress(&tx);
				return ev;
			}
		}
		r = poll(&pfd, 1, wait_ms(ota_tx_next_deadline(&tx)));
		if (r < 0 && errno != EINTR)
			return ev;
		if (r > 0) {
			n = recv(fd, buf, sizeof(buf), 0);
			if (n <= 0)
				return ev;
			ota_tx_feed(&tx, ota_frame_chan(buf[0]), buf, (size_t)n,
				    now_ms());
		} else {
			ota_tx_on_timeout(&tx, now_ms());
		}
	}
}

static struct shared *shared_new(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	mem_sink_init(&sh->sink);
	return sh;
}

/* 1 MiB, 1 % of chunks and 1 % of ACKs lost, over a socketpair. */
static void test_socketpair_lossy_1mib(void **state)
{
	struct shared *sh = shared_new();
	uint8_t *img = malloc(IMAGE_LEN);
	struct ota_tx_progress prog = { 0 };
	struct ota_tx_event done;
	int sv[2], status;
	pid_t pid;

	(void)state;
	assert_non_null(img);
	test_fill_random(img, IMAGE_LEN, 2024);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ota_rx rx;

		close(sv[0]);
		receiver_init(&rx, sh);
		serve(sv[1], &rx, sh, 10000, 7);
		sh->stats = *ota_rx_get_stats(&rx);
		_exit(0);
	}
	close(sv[1]);
	done = push_on_fd(sv[0], img, 10000, 8, 0, &prog);
	close(sv[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	assert_int_equal(done.err, 0);
	assert_true(sh->sink.committed);
	assert_memory_equal(sh->sink.slot, img, IMAGE_LEN);
	assert_true(prog.resent_bytes > 0); /* loss really was injected */
	print_message("socketpair 1 MiB, 1 %% loss each way: %u chunks, "
		      "%llu bytes resent (%.2f %%), %lu ACKs lost, %u probes, "
		      "device saw %u duplicates\n",
		      prog.chunks, (unsigned long long)prog.resent_bytes,
		      100.0 * (double)prog.resent_bytes / IMAGE_LEN,
		      sh->rx_dropped_acks, prog.probes, sh->stats.duplicates);
	munmap(sh, sizeof(*sh));
	free(img);
}

/*
 * A listening SEQPACKET socket; the first sender process dies (SIGKILL)
 * half way; a second one connects and resumes from what the device holds.
 */
static void test_sender_killed_then_resumes(void **state)
{
	struct shared *sh = shared_new();
	uint8_t *img = malloc(IMAGE_LEN);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct ota_tx_progress prog = { 0 };
	struct ota_tx_event done;
	int lfd, fd, status;
	pid_t dev, first;

	(void)state;
	assert_non_null(img);
	test_fill_random(img, IMAGE_LEN, 77);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/tmp/bleota-e2e-%d.sock",
		 (int)getpid());
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 2), 0);

	dev = fork();
	assert_true(dev >= 0);
	if (dev == 0) {
		struct ota_rx rx;
		int c;

		receiver_init(&rx, sh);
		while (sh->connections < 2 &&
		       (c = accept(lfd, NULL, NULL)) >= 0) {
			sh->connections++;
			serve(c, &rx, sh, 0, 1);
			close(c);
			ota_rx_disconnect(&rx);
		}
		_exit(0);
	}

	first = fork();
	assert_true(first >= 0);
	if (first == 0) {
		fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(3);
		push_on_fd(fd, img, 0, 1, 2000, &prog); /* dies here */
		_exit(4);
	}
	assert_int_equal(waitpid(first, &status, 0), first);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	done = push_on_fd(fd, img, 0, 2, 0, &prog);
	close(fd);
	assert_int_equal(waitpid(dev, &status, 0), dev);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(lfd);
	unlink(sa.sun_path);

	assert_int_equal(done.err, 0);
	assert_memory_equal(sh->sink.slot, img, IMAGE_LEN);
	assert_true(sh->sink.committed);
	/* about 2000 chunks of 240 had reached the device */
	assert_true(prog.held_at_begin > 400 * 1024);
	assert_true(prog.sent_bytes <
		    (uint64_t)(IMAGE_LEN - prog.held_at_begin) + 2 * 4100 +
			    1024);
	print_message("resume after the sender was killed: device held %u "
		      "bytes, second push sent %llu bytes\n",
		      prog.held_at_begin, (unsigned long long)prog.sent_bytes);
	munmap(sh, sizeof(*sh));
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/e2e/socketpair/lossy-1mib", test_socketpair_lossy_1mib,
		  NULL, NULL, NULL },
		{ "/e2e/seqpacket/sender-killed-then-resumes",
		  test_sender_killed_then_resumes, NULL, NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("socketpair", tests, NULL, NULL);
}
