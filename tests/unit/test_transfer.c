/* SPDX-License-Identifier: MIT */
/*
 * Transfer properties of sender + receiver over the virtual-time link
 * (tests/harness/link.c), Monocypher-style: for seeded random images and
 * impairments, a transfer ends byte-identical or in a clean reported
 * error, never with silent corruption; resuming from any block boundary
 * ends exactly like an uninterrupted transfer; an interrupted push, with
 * or without a device reboot and with another MTU, resends at most one
 * block plus one window.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/frame.h"
#include "protocol/receiver.h"
#include "protocol/sender.h"
#include "tests/harness/link.h"
#include "tests/harness/mem_sink.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct run {
	struct mem_sink sink;
	struct ota_rx rx;
	struct ota_tx tx;
	struct ota_tx_event done;
	struct link_stats ls;
	struct ota_tx_progress prog;
};

static struct run *run_new(void)
{
	struct run *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	mem_sink_init(&r->sink);
	return r;
}

static size_t value_for_mtu(unsigned int mtu)
{
	return ota_frame_value_max((uint16_t)mtu);
}

static void rx_start(struct run *r, size_t value, uint32_t window_bytes)
{
	struct ota_rx_cfg cfg = { .sink = &mem_sink_ops,
				  .sink_ctx = &r->sink,
				  .max_value = value,
				  .window_bytes = window_bytes };

	assert_int_equal(ota_rx_init(&r->rx, &cfg), 0);
}

/* Push @img and run the link to the end; returns link_run()'s result. */
static int push(struct run *r, const uint8_t *img, size_t len, size_t value,
		const struct link_cfg *lc, uint8_t flags)
{
	struct ota_tx_cfg tc = { .max_value = value, .first_token = 0x30 };
	struct ota_manifest m = { .image_size = (uint32_t)len };
	struct link *l;
	struct ota_tx_event ev;
	int rc;

	memset(m.sha256, (int)(len & 0xff), 32);
	m.sha256[0] = (uint8_t)(len >> 8);
	strcpy(m.version, "2.0.0");
	assert_int_equal(ota_tx_init(&r->tx, &tc), 0);
	assert_int_equal(ota_tx_push(&r->tx, img, len, &m, flags, 0), 0);
	l = link_new(lc);
	rc = link_run(l, &r->tx, &r->rx);
	r->ls = *link_get_stats(l);
	link_free(l);
	memset(&r->done, 0, sizeof(r->done));
	r->done.err = -EINPROGRESS;
	while (ota_tx_next_event(&r->tx, &ev) == 0) {
		if (ev.type == OTA_TX_EV_DONE)
			r->done = ev;
	}
	r->prog = *ota_tx_get_progress(&r->tx);
	return rc;
}

static bool slot_matches(const struct run *r, const uint8_t *img, size_t len)
{
	return !memcmp(r->sink.slot, img, len);
}

/* ---- byte-identical under impairment ------------------------------------ */

static const unsigned int mtus[] = { 23, 27, 185, 247, 512 };
static const size_t small_sizes[] = { 0, 1, 4095, 4096, 4097, 70001 };

static void test_sizes_mtus_windows_clean_link(void **state)
{
	static const uint32_t windows[] = { 1024, 32768 };
	uint8_t *img = malloc(70001);
	size_t i, j, k;

	(void)state;
	assert_non_null(img);
	test_fill_random(img, 70001, 1);
	for (i = 0; i < ARRAY_SIZE(mtus); i++) {
		for (j = 0; j < ARRAY_SIZE(windows); j++) {
			for (k = 0; k < ARRAY_SIZE(small_sizes); k++) {
				struct run *r = run_new();
				struct link_cfg lc = { .seed = k };
				size_t v = value_for_mtu(mtus[i]);

				rx_start(r, v, windows[j]);
				assert_int_equal(push(r, img, small_sizes[k], v,
						      &lc, OTA_TX_F_COMMIT),
						 0);
				assert_int_equal(r->done.err, 0);
				assert_true(
					slot_matches(r, img, small_sizes[k]));
				assert_true(r->sink.committed);
				/* no loss: nothing is ever sent twice */
				assert_int_equal(r->prog.resent_bytes, 0);
				free(r);
			}
		}
	}
	free(img);
}

struct impairment {
	const char *name;
	unsigned int drop, dup, reorder, corrupt;
	bool all_channels;
};

static const struct impairment impairments[] = {
	{ "drop 2%", 20000, 0, 0, 0, false },
	{ "dup 2%", 0, 20000, 0, 0, false },
	{ "reorder 5%", 0, 0, 50000, 0, false },
	{ "corrupt data 0.5%", 0, 0, 0, 5000, false },
	{ "all 1% + corrupt 0.2%", 10000, 10000, 10000, 2000, false },
	{ "everything, every channel", 10000, 10000, 10000, 2000, true },
};

/*
 * For every MTU and impairment, random images of several sizes; seeds make
 * each run reproducible (the seed is printed on failure).
 */
static void test_impaired_links(void **state)
{
	uint8_t *img = malloc(70001);
	size_t i, j, k;
	unsigned int ok = 0, clean_errors = 0;

	(void)state;
	assert_non_null(img);
	for (i = 0; i < ARRAY_SIZE(impairments); i++) {
		const struct impairment *im = &impairments[i];

		for (j = 0; j < ARRAY_SIZE(mtus); j++) {
			for (k = 1; k < ARRAY_SIZE(small_sizes); k++) {
				struct run *r = run_new();
				uint64_t seed = 1000 * i + 10 * j + k;
				struct link_cfg lc = {
					.seed = seed,
					.drop_ppm = im->drop,
					.dup_ppm = im->dup,
					.reorder_ppm = im->reorder,
					.corrupt_ppm = im->corrupt,
					.corrupt_all_channels =
						im->all_channels,
					.impair_control = im->all_channels,
				};
				size_t v = value_for_mtu(mtus[j]);
				size_t len = small_sizes[k];

				test_fill_random(img, len, seed);
				rx_start(r, v, 0);
				print_message("%s mtu %u size %zu seed %llu\n",
					      im->name, mtus[j], len,
					      (unsigned long long)seed);
				assert_int_equal(push(r, img, len, v, &lc, 0),
						 0);
				if (r->done.err == 0) {
					/* success must mean identical bytes */
					assert_true(slot_matches(r, img, len));
					ok++;
				} else {
					/* a clean, reported error */
					assert_true(r->done.err == -ETIMEDOUT ||
						    r->done.err == -EREMOTEIO ||
						    r->done.err == -EPROTO);
					assert_true(im->all_channels);
					print_message(
						"clean error: err %d "
						"status %s op 0x%02x\n",
						r->done.err,
						ota_status_name(r->done.status),
						r->done.op);
					clean_errors++;
				}
				free(r);
			}
		}
	}
	print_message("impaired transfers: %u identical, %u clean errors\n", ok,
		      clean_errors);
	free(img);
}

/* The 1 MiB runs: every MTU, default window, 1 % of everything. */
static void test_one_mib_impaired(void **state)
{
	const size_t len = 1024 * 1024;
	uint8_t *img = malloc(len);
	size_t j;

	(void)state;
	assert_non_null(img);
	for (j = 0; j < ARRAY_SIZE(mtus); j++) {
		struct run *r = run_new();
		struct link_cfg lc = { .seed = 77 + j,
				       .drop_ppm = 10000,
				       .dup_ppm = 10000,
				       .reorder_ppm = 10000,
				       .corrupt_ppm = 1000 };
		size_t v = value_for_mtu(mtus[j]);

		test_fill_random(img, len, 99 + j);
		rx_start(r, v, 0);
		assert_int_equal(push(r, img, len, v, &lc, OTA_TX_F_COMMIT), 0);
		assert_int_equal(r->done.err, 0);
		assert_true(slot_matches(r, img, len));
		print_message("1 MiB mtu %u: %lu dropped %lu corrupted, resent "
			      "%llu bytes (%.2f %%), %u block rewinds\n",
			      mtus[j], r->ls.dropped, r->ls.corrupted,
			      (unsigned long long)r->prog.resent_bytes,
			      100.0 * (double)r->prog.resent_bytes /
				      (double)len,
			      r->prog.rewinds);
		free(r);
	}
	free(img);
}

/* Pure 1 % loss: selective repeat resends about the lost fraction. */
static void test_one_percent_loss_resends_little(void **state)
{
	const size_t len = 1024 * 1024;
	uint8_t *img = malloc(len);
	struct run *r = run_new();
	struct link_cfg lc = { .seed = 4242, .drop_ppm = 10000 };
	double pct;

	(void)state;
	assert_non_null(img);
	test_fill_random(img, len, 5);
	rx_start(r, 244, 0);
	assert_int_equal(push(r, img, len, 244, &lc, 0), 0);
	assert_int_equal(r->done.err, 0);
	assert_true(slot_matches(r, img, len));
	pct = 100.0 * (double)r->prog.resent_bytes / (double)len;
	print_message("1 MiB, MTU 247, 1 %% loss: %lu of %lu datagrams "
		      "dropped, %llu bytes resent (%.2f %%)\n",
		      r->ls.dropped, r->ls.sent[0] + r->ls.sent[1],
		      (unsigned long long)r->prog.resent_bytes, pct);
	/* no go-back-N: resent volume stays near the loss rate */
	assert_true(pct < 3.0);
	free(r);
	free(img);
}

/* ---- resume ------------------------------------------------------------- */

/* The device already holds blocks [0, k) verified: only the rest moves. */
static void test_resume_from_every_block_boundary(void **state)
{
	const size_t len = 16 * 4096 + 123;
	const uint32_t nblocks = ota_stream_blocks((uint32_t)len);
	uint8_t *img = malloc(len);
	uint32_t k;

	(void)state;
	assert_non_null(img);
	test_fill_random(img, len, 11);
	for (k = 0; k <= nblocks; k++) {
		struct run *r = run_new();
		struct link_cfg lc = { .seed = k };
		uint32_t b, held = 0, first, nchunks;

		/* a previous session left blocks [0, k) verified */
		r->sink.m.image_size = (uint32_t)len;
		memset(r->sink.m.sha256, (int)(len & 0xff), 32);
		r->sink.m.sha256[0] = (uint8_t)(len >> 8);
		for (b = 0; b < k; b++) {
			uint32_t bl = b == nblocks - 1 ? len % 4096 : 4096;

			memcpy(r->sink.slot + b * 4096, img + b * 4096, bl);
			r->sink.verified[b / 8] |= (uint8_t)(1u << (b % 8));
			held += bl;
		}
		rx_start(r, 244, 0);
		assert_int_equal(push(r, img, len, 244, &lc, 0), 0);
		assert_int_equal(r->done.err, 0);
		assert_true(slot_matches(r, img, len));
		assert_int_equal(r->prog.held_at_begin, held);
		/* exactly the chunks from block k's first one were sent */
		nchunks = ota_stream_chunks((uint32_t)len, 240);
		first = k == nblocks ? nchunks : k * 4100 / 240;
		assert_true(r->prog.sent_bytes <=
			    (uint64_t)(nchunks - first) * 240);
		assert_int_equal(r->prog.resent_bytes, 0);
		/* blocks held before were never written again */
		assert_true(r->sink.bytes_written <= len - held + 240);
		free(r);
	}
	free(img);
}

/*
 * Cut a 1 MiB push after N chunks reached the device, then push again:
 * over the same device (a disconnect), or after a device reboot (fresh
 * receiver, sink keeps only its verified blocks), with another MTU.
 */
static void test_interrupted_push_resumes(void **state)
{
	static const unsigned long cuts[] = { 1, 500, 1333, 2048, 4000 };
	const size_t len = 1024 * 1024;
	uint8_t *img = malloc(len);
	uint64_t worst = 0;
	size_t i;
	int reboot;

	(void)state;
	assert_non_null(img);
	test_fill_random(img, len, 21);
	for (reboot = 0; reboot < 2; reboot++) {
		for (i = 0; i < ARRAY_SIZE(cuts); i++) {
			struct run *r = run_new();
			struct link_cfg cut = { .seed = i,
						.cut_after_data = cuts[i] };
			struct link_cfg lc = { .seed = 100 + i };
			uint64_t delivered, kept, resent, stream;
			uint32_t held;

			rx_start(r, 244, 0);
			assert_int_equal(push(r, img, len, 244, &cut, 0), 1);
			if (reboot) {
				mem_sink_reboot(&r->sink);
				rx_start(r, 180, 0);
			} else {
				ota_rx_disconnect(&r->rx);
			}
			/* the second session runs with a smaller MTU */
			assert_int_equal(
				push(r, img, len, 180, &lc, OTA_TX_F_COMMIT),
				0);
			assert_int_equal(r->done.err, 0);
			assert_true(slot_matches(r, img, len));
			held = r->prog.held_at_begin;
			/*
			 * Stream bytes the device had before the cut but did
			 * not keep (its unverified last block): these are
			 * the bytes sent again.
			 */
			delivered = (uint64_t)cuts[i] * 240;
			kept = (uint64_t)(held / 4096) * 4100;
			resent = delivered > kept ? delivered - kept : 0;
			if (resent > worst)
				worst = resent;
			assert_true(resent <= 4100 + 240);
			/* session 2 sends only from the first block missing */
			stream = ota_stream_len((uint32_t)len);
			assert_true(r->prog.sent_bytes <= stream - kept + 176);
			assert_int_equal(r->prog.resent_bytes, 0);
			print_message("cut after %lu chunks (%s): %u bytes "
				      "kept, %llu sent again, session 2 sent "
				      "%llu bytes\n",
				      cuts[i], reboot ? "reboot" : "disconnect",
				      held, (unsigned long long)resent,
				      (unsigned long long)r->prog.sent_bytes);
			free(r);
		}
	}
	print_message("worst bytes sent again after an interruption: %llu\n",
		      (unsigned long long)worst);
	free(img);
}

/* A refused push ends cleanly with the device's reason and detail. */
static void test_refusal_reported(void **state)
{
	uint8_t img[100] = { 0 };
	struct run *r = run_new();
	struct link_cfg lc = { .seed = 1 };

	(void)state;
	r->sink.refuse = OTA_STATUS_DOWNGRADE;
	r->sink.refuse_detail = 7;
	rx_start(r, 244, 0);
	assert_int_equal(push(r, img, sizeof(img), 244, &lc, 0), 0);
	assert_int_equal(r->done.err, -EREMOTEIO);
	assert_int_equal(r->done.status, OTA_STATUS_DOWNGRADE);
	assert_int_equal(r->done.detail, 7);
	assert_int_equal(r->done.op, OTA_OP_BEGIN);
	assert_int_equal(r->sink.writes, 0);
	free(r);
}

/* A device that goes silent ends the push with -ETIMEDOUT, boundedly. */
static void test_silent_device_times_out(void **state)
{
	uint8_t img[10000] = { 0 };
	struct run *r = run_new();
	struct link_cfg lc = { .seed = 3, .cut_after_data = 0 };
	struct ota_tx_cfg tc = { .max_value = 244 };
	struct ota_manifest m = { .image_size = sizeof(img) };
	struct link *l;
	struct ota_tx_event ev;
	int rc;

	(void)state;
	rx_start(r, 244, 0);
	assert_int_equal(ota_tx_init(&r->tx, &tc), 0);
	assert_int_equal(ota_tx_push(&r->tx, img, sizeof(img), &m, 0, 0), 0);
	/* everything from the device is lost */
	lc.drop_ppm = 1000000;
	lc.impair_control = true;
	l = link_new(&lc);
	rc = link_run(l, &r->tx, &r->rx);
	assert_int_equal(rc, 0);
	assert_int_equal(ota_tx_next_event(&r->tx, &ev), 0);
	assert_int_equal(ev.type, OTA_TX_EV_DONE);
	assert_int_equal(ev.err, -ETIMEDOUT);
	assert_int_equal(ev.op, OTA_OP_MANIFEST);
	/* 6 attempts, 3 s apart */
	assert_int_equal(link_now(l), 18000);
	link_free(l);
	free(r);
}

/* ---- flow control under load -------------------------------------------- */

struct dq {
	struct {
		uint8_t b[OTA_MAX_VALUE];
		uint8_t len;
		uint8_t chan;
		uint64_t at;
	} d[1024];
	unsigned int head, n;
};

static void dq_put(struct dq *q, const uint8_t *b, int len, enum ota_chan ch,
		   uint64_t at)
{
	unsigned int i = (q->head + q->n++) % ARRAY_SIZE(q->d);

	assert_true(q->n <= ARRAY_SIZE(q->d) && len > 0 && len <= 255);
	memcpy(q->d[i].b, b, (size_t)len);
	q->d[i].len = (uint8_t)len;
	q->d[i].chan = (uint8_t)ch;
	q->d[i].at = at;
}

static bool dq_due(const struct dq *q, uint64_t now)
{
	return q->n && q->d[q->head].at <= now;
}

/*
 * docs/protocol.md §4.2: the device's ACK trigger and the central's pacing
 * agree by design, so a sender held back by its pacing cap never waits for
 * the device's ACK timer. A loaded device (it takes 3 chunks per ms and is
 * descheduled 12 ms in every 40) makes the measured delivery rate, and so
 * the rate term of the cap, shrink to the floor; each time the device's
 * ACK timer fires with nothing left to take while the sender is held back
 * is a round the flow control lost (the loopback stall: 16 chunks per
 * 20 ms when the floor was 16 and the trigger 34).
 */
static void run_loaded_device(unsigned int drop_every)
{
	static struct dq to_dev, to_c;
	const size_t len = 300000, value = 244;
	uint8_t *img = malloc(len), buf[OTA_MAX_VALUE + 8];
	struct ota_tx_cfg tc = { .max_value = value };
	struct ota_manifest m = { .image_size = (uint32_t)len };
	struct run *r = run_new();
	uint32_t min_cap = UINT32_MAX, trigger, timer_waits = 0;
	struct ota_tx_event ev = { .err = -EINPROGRESS };
	struct ota_rx_event rev;
	enum ota_chan chan;
	unsigned long ndata = 0;
	uint64_t t;
	int n, k;

	assert_non_null(img);
	test_fill_random(img, len, 11);
	memset(&to_dev, 0, sizeof(to_dev));
	memset(&to_c, 0, sizeof(to_c));
	rx_start(r, value, 0);
	assert_int_equal(ota_tx_init(&r->tx, &tc), 0);
	assert_int_equal(ota_tx_push(&r->tx, img, len, &m, 0, 0), 0);
	for (t = 0; t < 600000 && !ota_tx_is_done(&r->tx); t++) {
		bool awake = t % 40 < 28;

		/* the central */
		while (dq_due(&to_c, t)) {
			ota_tx_feed(
				&r->tx, (enum ota_chan)to_c.d[to_c.head].chan,
				to_c.d[to_c.head].b, to_c.d[to_c.head].len, t);
			to_c.head = (to_c.head + 1) % ARRAY_SIZE(to_c.d);
			to_c.n--;
		}
		if (ota_tx_next_deadline(&r->tx) <= t)
			ota_tx_on_timeout(&r->tx, t);
		while ((n = ota_tx_poll(&r->tx, buf, sizeof(buf), &chan, t)) >
		       0)
			dq_put(&to_dev, buf, n, chan, t + 1);
		if (r->tx.pace_cap && r->tx.pace_cap < min_cap)
			min_cap = r->tx.pace_cap;

		/* the device */
		for (k = 0; awake && k < 3 && dq_due(&to_dev, t); k++) {
			/* a lost chunk: the device never sees it */
			if (to_dev.d[to_dev.head].b[0] == OTA_OP_DATA &&
			    drop_every && ++ndata % drop_every == 0)
				to_dev.d[to_dev.head].len = 0;
			if (to_dev.d[to_dev.head].len)
				ota_rx_feed(&r->rx,
					    (enum ota_chan)to_dev.d[to_dev.head]
						    .chan,
					    to_dev.d[to_dev.head].b,
					    to_dev.d[to_dev.head].len, t);
			to_dev.head = (to_dev.head + 1) % ARRAY_SIZE(to_dev.d);
			to_dev.n--;
		}
		if (awake && ota_rx_next_deadline(&r->rx) <= t) {
			if (!to_dev.n && r->tx.phase == OTA_TX_DATA &&
			    r->rx.unacked && !r->rx.ack_due &&
			    r->rx.ack_deadline <= t)
				timer_waits++;
			ota_rx_on_timeout(&r->rx, t);
		}
		while (awake && (n = ota_rx_poll(&r->rx, buf, sizeof(buf),
						 &chan, t)) > 0)
			dq_put(&to_c, buf, n, chan, t + 1);
		while (ota_rx_next_event(&r->rx, &rev) == 0)
			;
	}
	while (ota_tx_next_event(&r->tx, &ev) == 0 && ev.type != OTA_TX_EV_DONE)
		;
	assert_int_equal(ev.type, OTA_TX_EV_DONE);
	assert_int_equal(ev.err, 0);
	assert_true(slot_matches(r, img, len));
	/* the load did shrink the rate term to the floor ... */
	trigger = (r->rx.window + 3u) / 4u;
	assert_true(min_cap <= trigger);
	/* ... and still no round waited for the ACK timer */
	assert_int_equal(timer_waits, 0);
	free(r);
	free(img);
}

static void test_loaded_device_never_waits_for_ack_timer(void **state)
{
	(void)state;
	run_loaded_device(0);
}

/* The same with one chunk in 50 lost: repairs never wait for the timer */
static void test_loaded_lossy_device_never_waits_for_ack_timer(void **state)
{
	(void)state;
	run_loaded_device(50);
}

/*
 * ENCODING DELTA: the stream is the patch (PATCH_SIZE bytes), not the
 * image it rebuilds; blocks, chunks and CRCs run over the patch bytes and
 * the sink receives them at patch offsets.
 */
static void test_delta_stream_is_the_patch(void **state)
{
	struct ota_tx_cfg tc = { .max_value = 244, .first_token = 0x30 };
	struct ota_manifest m = { .image_size = 300000,
				  .encoding = OTA_ENCODING_DELTA,
				  .patch_size = 9000 };
	struct link_cfg lc = { .seed = 3 };
	struct run *r = run_new();
	uint8_t *patch = malloc(9000);
	struct ota_tx_event ev, done = { .err = -EINPROGRESS };
	struct link *l;

	(void)state;
	assert_non_null(patch);
	test_fill_random(patch, 9000, 7);
	memset(m.sha256, 0x42, 32);
	rx_start(r, 244, 32768);
	assert_int_equal(ota_tx_init(&r->tx, &tc), 0);
	/* the length pushed must be the patch's */
	assert_int_equal(ota_tx_push(&r->tx, patch, 300000, &m, 0, 0), -EINVAL);
	assert_int_equal(ota_tx_push(&r->tx, patch, 9000, &m, 0, 0), 0);
	l = link_new(&lc);
	assert_int_equal(link_run(l, &r->tx, &r->rx), 0);
	link_free(l);
	while (ota_tx_next_event(&r->tx, &ev) == 0)
		if (ev.type == OTA_TX_EV_DONE)
			done = ev;
	assert_int_equal(done.err, 0);
	assert_int_equal(r->sink.m.encoding, OTA_ENCODING_DELTA);
	assert_int_equal(r->sink.m.patch_size, 9000);
	assert_true(slot_matches(r, patch, 9000));
	assert_true(mem_sink_block_verified(&r->sink, 2));
	assert_false(mem_sink_block_verified(&r->sink, 3));
	assert_int_equal(ota_tx_get_progress(&r->tx)->acked_bytes, 9000);
	free(patch);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_mtus_windows_clean_link),
		cmocka_unit_test(test_impaired_links),
		cmocka_unit_test(test_one_mib_impaired),
		cmocka_unit_test(test_one_percent_loss_resends_little),
		cmocka_unit_test(test_resume_from_every_block_boundary),
		cmocka_unit_test(test_interrupted_push_resumes),
		cmocka_unit_test(test_refusal_reported),
		cmocka_unit_test(test_silent_device_times_out),
		cmocka_unit_test(test_loaded_device_never_waits_for_ack_timer),
		cmocka_unit_test(
			test_loaded_lossy_device_never_waits_for_ack_timer),
		cmocka_unit_test(test_delta_stream_is_the_patch),
	};

	return cmocka_run_group_tests_name("transfer", tests, NULL, NULL);
}
