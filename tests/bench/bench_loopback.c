/* SPDX-License-Identifier: MIT */
/*
 * make bench, part 2: real loopback throughput of the protocol versus the
 * raw throughput of the same datagrams over the same kind of socket.
 *
 * Both runs use socketpair(AF_UNIX, SOCK_SEQPACKET) between two processes
 * (what BlueZ's AcquireWrite/AcquireNotify hand out), 244-byte values
 * (ATT MTU 247) and a 1 MiB image:
 *
 *  - cli: the real programs: `bleota push --mtu 247` of a ~1 MB app image
 *    to `bleota-peripheral --mtu 247` on a UNIX socket (flash file, engine,
 *    SHA-256 at FINISH and all), timed by the push itself ("seconds" of its
 *    JSON "done" event: connect to verified, without process start-up;
 *    beside it the wall time from exec to exit);
 *  - proto: the protocol/ sender and receiver alone (receiver over
 *    mem_sink) in two processes over a socketpair, each driving its fd
 *    with poll(2) and real clocks, as the e2e test does;
 *  - raw: the same number of datagrams of the same sizes pumped one way
 *    with blocking send(), the reader answering once at the end.
 *
 * The two alternate, RUNS times each, so that both see the same load on a
 * shared machine; the best and the median of each are printed and the
 * ratio is taken of the medians.
 *
 * Then the same under CPU load (a busy-loop child on every core):
 * LOADED_RUNS pushes of the real programs and of the protocol pair, with
 * the median beside the slowest push and, for the protocol pair, the
 * longest gap during which the device's acknowledged bytes did not move
 * (a flow-control stall shows there, not in a median).
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
#include "tests/harness/esp_image_build.h"
#include "protocol/sender.h"
#include "tests/harness/link.h"
#include "tests/harness/mem_sink.h"

#define IMAGE_LEN   (1024 * 1024)
#define VALUE       244
#define RUNS        11
#define LOADED_RUNS 30

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

/*
 * The child tells the parent it is ready on a pipe, so that neither run's
 * clock includes fork(2) and the child's start-up (the pair's 2 MiB
 * mem_sink is page-faulted in by its memset: 0.5-2 ms, up to the ACK timer
 * on a busy machine, that used to land on the first ACK).
 */
static void child_ready(int fd)
{
	char c = 1;

	if (write(fd, &c, 1) != 1)
		_exit(4);
	close(fd);
}

static int wait_ready(int fd)
{
	char c;
	ssize_t n = read(fd, &c, 1);

	close(fd);
	return n == 1 ? 0 : -1;
}

/* The device side: serve until the central closes the socket. */
static void serve(int fd, int ready)
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
	child_ready(ready);
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
			  uint64_t *bytes, uint64_t *stall_us)
{
	uint32_t acked = 0;
	uint64_t moved;
	struct ota_tx_cfg cfg = { .max_value = VALUE };
	struct ota_manifest m = { .image_size = IMAGE_LEN };
	struct ota_tx_event ev = { .err = -EIO };
	uint8_t buf[OTA_MAX_VALUE + 8];
	struct ota_tx tx;
	struct pollfd pfd;
	enum ota_chan chan;
	uint64_t t0 = 0, t1 = 0;
	int sv[2], rp[2], r, status;
	pid_t pid;
	ssize_t n;

	if (pipe(rp))
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		close(sv[0]);
		close(rp[0]);
		serve(sv[1], rp[1]);
		_exit(0);
	}
	close(sv[1]);
	close(rp[1]);
	if (wait_ready(rp[0]))
		goto out;
	pfd = (struct pollfd){ .fd = sv[0], .events = POLLIN };
	memset(m.sha256, 0x42, 32);
	*dgrams = 0;
	*bytes = 0;
	t0 = now_us();
	moved = t0;
	*stall_us = 0;
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
			if (ota_tx_get_progress(&tx)->acked_bytes != acked) {
				uint64_t t = now_us();

				acked = ota_tx_get_progress(&tx)->acked_bytes;
				if (t - moved > *stall_us)
					*stall_us = t - moved;
				moved = t;
			}
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
	int sv[2], rp[2], status;
	pid_t pid;

	if (pipe(rp))
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv))
		return 0;
	pid = fork();
	if (pid < 0)
		return 0;
	if (pid == 0) {
		close(sv[0]);
		close(rp[0]);
		child_ready(rp[1]);
		for (i = 0; i < count; i++) {
			if (recv(sv[1], buf, sizeof(buf), 0) <= 0)
				_exit(1);
		}
		send(sv[1], buf, 10, MSG_NOSIGNAL);
		_exit(0);
	}
	close(sv[1]);
	close(rp[1]);
	memset(buf, 0x5a, sizeof(buf));
	if (wait_ready(rp[0])) {
		close(sv[0]);
		waitpid(pid, &status, 0);
		return 0;
	}
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

struct cli_setup {
	char dir[256];
	char img[300];
	char flash[300];
	char sock[300];
	const char *build;
	pid_t periph;
	size_t len;
};

static int cli_start(struct cli_setup *c)
{
	struct esp_image_spec sp = {
		.chip_id = 5, .version = "9.9.9", .project = "bench", .nseg = 3
	};
	char cmd[2048];
	uint8_t *img;
	FILE *fp;
	int i;

	sp.seg[0].kind = ESP_SEG_DROM;
	sp.seg[0].len = 200000;
	sp.seg[1].kind = ESP_SEG_IROM;
	sp.seg[1].len = 780000;
	sp.seg[2].kind = ESP_SEG_DRAM;
	sp.seg[2].len = 4096;
	snprintf(c->dir, sizeof(c->dir), "%s/bench-loopback", c->build);
	snprintf(c->img, sizeof(c->img), "%s/app.bin", c->dir);
	snprintf(c->flash, sizeof(c->flash), "%s/dev.flash", c->dir);
	snprintf(c->sock, sizeof(c->sock), "%s/dev.sock", c->dir);
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", c->dir, c->dir);
	if (system(cmd))
		return -1;
	img = esp_image_build(&sp, &c->len);
	fp = img ? fopen(c->img, "wb") : NULL;
	if (!fp || fwrite(img, 1, c->len, fp) != c->len)
		return -1;
	fclose(fp);
	free(img);
	snprintf(cmd, sizeof(cmd),
		 "%s/bleota flash create %s --size 4M --layout two-ota "
		 ">/dev/null",
		 c->build, c->flash);
	if (system(cmd))
		return -1;
	c->periph = fork();
	if (c->periph < 0)
		return -1;
	if (c->periph == 0) {
		char bin[300], listen[320];

		snprintf(bin, sizeof(bin), "%s/bleota-peripheral", c->build);
		snprintf(listen, sizeof(listen), "unix:%s", c->sock);
		freopen("/dev/null", "w", stderr);
		execl(bin, bin, "--flash", c->flash, "--listen", listen,
		      "--mtu", "247", (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 500 && access(c->sock, F_OK); i++)
		usleep(10000);
	return access(c->sock, F_OK);
}

/*
 * The real programs; returns the push's own seconds x 1e6 (connect to
 * verified), 0 on failure, and in @exec_us the wall time from starting
 * `bleota` to its exit (dynamic loading, reading and hashing the image,
 * connect, push, exit) if @exec_us is not NULL.
 */
static uint64_t run_cli(struct cli_setup *c, uint64_t *exec_us)
{
	char cmd[2048], line[1024];
	uint64_t t0 = now_us();
	double secs = 0;
	FILE *fp;

	snprintf(cmd, sizeof(cmd),
		 "%s/bleota push --json --no-commit --fresh --mtu 247 unix:%s "
		 "%s 2>/dev/null",
		 c->build, c->sock, c->img);
	fp = popen(cmd, "r");
	if (!fp)
		return 0;
	while (fgets(line, sizeof(line), fp)) {
		const char *p = strstr(line, "\"event\":\"done\"");

		if (p && (p = strstr(line, "\"seconds\":")))
			secs = strtod(p + 10, NULL);
	}
	if (pclose(fp))
		return 0;
	if (exec_us)
		*exec_us = now_us() - t0;
	return (uint64_t)(secs * 1e6);
}

static void cli_stop(struct cli_setup *c)
{
	int status;

	kill(c->periph, SIGTERM);
	waitpid(c->periph, &status, 0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One busy-loop child per online core; returns how many were started. */
static int load_start(pid_t *pids, int max)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	if (ncpu < 1)
		ncpu = 1;
	for (i = 0; i < ncpu && i < max; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			break;
		if (pids[i] == 0) {
			volatile unsigned long spin = 0;

			for (;;)
				spin++;
		}
	}
	return i;
}

static void load_stop(pid_t *pids, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
}

/* The loaded runs: median, slowest and the longest stall. */
static int run_loaded(const uint8_t *img, struct cli_setup *cs)
{
	uint64_t tp[LOADED_RUNS], tc[LOADED_RUNS], st[LOADED_RUNS], bytes;
	unsigned long dgrams;
	pid_t load[64];
	int nload, i, bad = 0;

	nload = load_start(load, 64);
	for (i = 0; i < LOADED_RUNS && !bad; i++) {
		tc[i] = run_cli(cs, NULL);
		tp[i] = run_proto(img, &dgrams, &bytes, &st[i]);
		bad = !tc[i] || !tp[i];
	}
	load_stop(load, nload);
	if (bad) {
		fprintf(stderr, "bench_loopback: loaded run failed\n");
		return -1;
	}
	qsort(tp, LOADED_RUNS, sizeof(tp[0]), cmp_u64);
	qsort(tc, LOADED_RUNS, sizeof(tc[0]), cmp_u64);
	qsort(st, LOADED_RUNS, sizeof(st[0]), cmp_u64);
	printf("Under CPU load (%d busy-loop processes), %d pushes each\n",
	       nload, LOADED_RUNS);
	printf("  bleota push -> bleota-peripheral: median %7.1f ms, "
	       "slowest %7.1f ms\n",
	       tc[LOADED_RUNS / 2] / 1e3, tc[LOADED_RUNS - 1] / 1e3);
	printf("  protocol pair alone:               median %7.1f ms, "
	       "slowest %7.1f ms\n",
	       tp[LOADED_RUNS / 2] / 1e3, tp[LOADED_RUNS - 1] / 1e3);
	printf("    longest stall (no acknowledged progress): median %.1f "
	       "ms, longest %.1f ms\n",
	       st[LOADED_RUNS / 2] / 1e3, st[LOADED_RUNS - 1] / 1e3);
	return 0;
}

int main(void)
{
	uint8_t *img = malloc(IMAGE_LEN);
	uint64_t tp[RUNS], tr[RUNS], tc[RUNS], te[RUNS], st[RUNS], bytes = 0;
	unsigned long dgrams = 0;
	struct cli_setup cs = { 0 };
	const char *b = getenv("BLEOTA_BUILD");
	double mp, mr, mc, cli_mib, raw_mib;
	int i;

	/* the plain push is measured: no cache lookup, nothing stored */
	setenv("BLEOTA_IMAGE_CACHE", "off", 1);
	if (!img)
		return 1;
	cs.build = b && *b ? b : "build";
	signal(SIGPIPE, SIG_IGN);
	test_fill_random(img, IMAGE_LEN, 9);
	if (cli_start(&cs)) {
		fprintf(stderr, "bench_loopback: cannot start "
				"bleota-peripheral (run make first)\n");
		return 1;
	}
	for (i = 0; i < RUNS; i++) {
		tc[i] = run_cli(&cs, &te[i]);
		tp[i] = run_proto(img, &dgrams, &bytes, &st[i]);
		tr[i] = run_raw(dgrams, bytes);
		if (!tp[i] || !tr[i] || !tc[i]) {
			fprintf(stderr, "bench_loopback: run failed\n");
			cli_stop(&cs);
			return 1;
		}
	}
	qsort(tp, RUNS, sizeof(tp[0]), cmp_u64);
	qsort(tr, RUNS, sizeof(tr[0]), cmp_u64);
	qsort(tc, RUNS, sizeof(tc[0]), cmp_u64);
	qsort(te, RUNS, sizeof(te[0]), cmp_u64);
	mp = (double)tp[RUNS / 2];
	mr = (double)tr[RUNS / 2];
	mc = (double)tc[RUNS / 2];
	cli_mib = cs.len / 1048576.0 / (mc / 1e6);
	raw_mib = IMAGE_LEN / 1048576.0 / (mr / 1e6);
	printf("Loopback over UNIX SOCK_SEQPACKET, %d-byte values (ATT MTU "
	       "247), "
	       "%d alternating runs each\n",
	       VALUE, RUNS);
	printf("  bleota push -> bleota-peripheral (the real programs, "
	       "engine and flash file included)\n");
	printf("    median %7.1f ms  %8.1f MiB/s of a %zu-byte image  (best "
	       "%.1f ms)\n",
	       mc / 1e3, cli_mib, cs.len, tc[0] / 1e3);
	printf("    exec to exit (start-up, image read and hashed, push, "
	       "exit): median %.1f ms (best %.1f ms)\n",
	       te[RUNS / 2] / 1e3, te[0] / 1e3);
	printf("  protocol pair alone (sender + receiver over a socketpair, "
	       "in-memory sink)\n");
	printf("    median %7.1f ms  %8.1f MiB/s of a 1 MiB image  (best %.1f "
	       "ms)  %lu datagrams, %llu B\n",
	       mp / 1e3, IMAGE_LEN / 1048576.0 / (mp / 1e6), tp[0] / 1e3,
	       dgrams, (unsigned long long)bytes);
	printf("  raw pump, the same datagrams, one way\n");
	printf("    median %7.1f ms  %8.1f MiB/s of the same payload  (best "
	       "%.1f ms)\n",
	       mr / 1e3, raw_mib, tr[0] / 1e3);
	printf("  ratio bleota push / raw (MiB/s, medians): %.2f\n",
	       cli_mib / raw_mib);
	printf("  ratio protocol pair / raw (medians): %.2f\n", mr / mp);
	qsort(st, RUNS, sizeof(st[0]), cmp_u64);
	printf("  protocol pair, longest stall (no acknowledged progress): "
	       "%.1f ms\n",
	       st[RUNS - 1] / 1e3);
	i = run_loaded(img, &cs);
	cli_stop(&cs);
	free(img);
	return i ? 1 : 0;
}
