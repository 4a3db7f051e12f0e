/* SPDX-License-Identifier: MIT */
/*
 * host/transport_socket.c reading in batches (recvmmsg): every value of a
 * burst arrives once, in order, whether the burst is shorter or longer
 * than a batch; empty and oversized datagrams anywhere in it are dropped
 * and counted without taking their neighbours along; the end of stream
 * comes after the last value, and only then; every burst of values is
 * followed by the drained callback before anything else, the last one
 * before the end of stream (the pump answers a burst there: a device's
 * last words before it hangs up must still reach the owner).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "host/transport.h"

#define MAX_GOT 512

struct got {
	size_t n;
	uint16_t id[MAX_GOT];   /* bytes 1..2 of each value */
	unsigned int undrained; /* values since the last drained call */
	unsigned int drained;
	bool closed;
	int err;
};

static void on_recv(enum ota_chan chan, const uint8_t *buf, size_t len,
		    void *user_data)
{
	struct got *g = user_data;

	(void)chan;
	assert_true(len >= 3);
	assert_true(g->n < MAX_GOT);
	assert_false(g->closed);
	g->id[g->n++] = (uint16_t)(buf[1] | buf[2] << 8);
	g->undrained++;
}

static void on_drained(void *user_data)
{
	struct got *g = user_data;

	assert_false(g->closed);
	g->drained++;
	g->undrained = 0;
}

static void on_closed(int err, void *user_data)
{
	struct got *g = user_data;

	assert_false(g->closed);
	assert_int_equal(g->undrained, 0);
	g->closed = true;
	g->err = err;
}

/* A data value: DATA opcode, id, then filler up to @len. */
static void send_value(int fd, uint16_t id, size_t len)
{
	uint8_t b[OTA_MAX_VALUE + 100];

	memset(b, 0xa5, sizeof(b));
	b[0] = 0x20;
	b[1] = (uint8_t)id;
	b[2] = (uint8_t)(id >> 8);
	assert_int_equal(send(fd, b, len, 0), (ssize_t)len);
}

/*
 * @count values 0..count-1 of 244 bytes; an empty datagram before each id
 * in @empty_at and a too-long one before each in @long_at; then hang up.
 * The reader sees it all only once the whole burst is queued.
 */
static void run_burst(unsigned int count, const unsigned int *empty_at,
		      size_t n_empty, const unsigned int *long_at,
		      size_t n_long)
{
	struct transport_cbs cbs = { .recv = on_recv,
				     .closed = on_closed,
				     .drained = on_drained };
	static struct got g;
	struct transport *t;
	unsigned int i;
	size_t k;
	int sv[2];

	memset(&g, 0, sizeof(g));
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	t = transport_socket_new(sv[1], OTA_MAX_VALUE);
	assert_non_null(t);
	transport_set_cbs(t, &cbs, &g);
	for (i = 0; i < count; i++) {
		for (k = 0; k < n_empty; k++)
			if (empty_at[k] == i)
				assert_int_equal(send(sv[0], "", 0, 0), 0);
		for (k = 0; k < n_long; k++)
			if (long_at[k] == i)
				send_value(sv[0], 0xffff, OTA_MAX_VALUE + 1);
		send_value(sv[0], (uint16_t)i, 244);
	}
	close(sv[0]);
	for (i = 0; i < 10000 && !g.closed; i++)
		g_main_context_iteration(NULL, TRUE);
	assert_true(g.closed);
	assert_int_equal(g.err, 0);
	assert_int_equal(g.n, count);
	for (i = 0; i < count; i++)
		assert_int_equal(g.id[i], i);
	assert_int_equal(t->dropped, n_empty + n_long);
	assert_true(t->batches);
	/* one call per burst read, not one per value */
	if (count)
		assert_in_range(g.drained, 1,
				(count + n_empty + n_long + 15) / 16);
	transport_free(t);
}

static void test_burst_plain(void **state)
{
	static const unsigned int counts[] = { 1, 15, 16, 17, 100 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		run_burst(counts[i], NULL, 0, NULL, 0);
}

/* Empty datagrams first, in the middle, at batch edges, back to back. */
static void test_burst_empty(void **state)
{
	static const unsigned int at[] = { 0, 5, 15, 16, 16, 31, 32, 99 };

	(void)state;
	run_burst(100, at, sizeof(at) / sizeof(at[0]), NULL, 0);
}

static void test_burst_too_long(void **state)
{
	static const unsigned int at[] = { 0, 3, 16, 40 };
	static const unsigned int empty[] = { 3, 41 };

	(void)state;
	run_burst(50, empty, 2, at, sizeof(at) / sizeof(at[0]));
}

/* The peer hangs up with nothing sent: closed, nothing delivered. */
static void test_hangup_only(void **state)
{
	(void)state;
	run_burst(0, NULL, 0, NULL, 0);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/transport-socket/burst/plain", test_burst_plain, NULL, NULL,
		  NULL },
		{ "/transport-socket/burst/empty-datagrams", test_burst_empty,
		  NULL, NULL, NULL },
		{ "/transport-socket/burst/too-long", test_burst_too_long, NULL,
		  NULL, NULL },
		{ "/transport-socket/hangup-only", test_hangup_only, NULL, NULL,
		  NULL },
	};

	return cmocka_run_group_tests_name("transport-socket", tests, NULL,
					   NULL);
}
