/* SPDX-License-Identifier: MIT */
/*
 * Receiver PDU scripts (BlueZ test-gatt.c style): exact bytes in, exact
 * bytes out, for each sequence of docs/protocol.md §8/§9, plus every
 * failure path. A script step either feeds a value on a characteristic,
 * expects the next notification to be exactly some bytes, expects nothing
 * to be pending, or moves time forward.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/crc32.h"
#include "protocol/receiver.h"
#include "protocol/tlv.h"
#include "tests/harness/mem_sink.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum step_kind {
	IN_CTRL,
	IN_DATA,
	IN_STATUS, /* a P->C PDU wrongly written to the device */
	OUT_CTRL,
	OUT_STATUS,
	NOTHING,
	AT_TIME, /* run timers at .t */
	END,
};

struct step {
	enum step_kind kind;
	uint8_t b[24];
	size_t len;
	uint64_t t;
};

#define BYTES(...) \
	.b = { __VA_ARGS__ }, .len = sizeof((uint8_t[]){ __VA_ARGS__ })
#define C_IN(...)                           \
	{                                   \
		IN_CTRL, BYTES(__VA_ARGS__) \
	}
#define D_IN(...)                           \
	{                                   \
		IN_DATA, BYTES(__VA_ARGS__) \
	}
#define C_OUT(...)                           \
	{                                    \
		OUT_CTRL, BYTES(__VA_ARGS__) \
	}
#define S_OUT(...)                             \
	{                                      \
		OUT_STATUS, BYTES(__VA_ARGS__) \
	}
#define NONE            \
	{               \
		NOTHING \
	}
#define AT(ms)                     \
	{                          \
		AT_TIME, .t = (ms) \
	}
#define STEPS_END   \
	{           \
		END \
	}

/* docs/protocol.md §9.1: the 40-byte image 00..27 over a 20-byte value */
#define MANIFEST_SEGS                                                          \
	C_IN(0x02, 0x01, 0x00, 0x00, 0x01, 0x04, 0x28, 0x00, 0x00, 0x00, 0x02, \
	     0x20, 0x5f, 0xaa, 0x4e, 0xec, 0x36, 0x11, 0x55, 0x68),            \
		C_OUT(0x82, 0x01, 0x00),                                       \
		C_IN(0x02, 0x02, 0x10, 0x00, 0x12, 0xc2, 0xd7, 0x4b, 0x43,     \
		     0x7c, 0x8c, 0x49, 0xad, 0xd3, 0xf9, 0x10, 0xf1, 0x00,     \
		     0x63, 0xd8),                                              \
		C_OUT(0x82, 0x02, 0x00),                                       \
		C_IN(0x02, 0x03, 0x20, 0x00, 0x01, 0x44, 0x1f, 0x7d, 0x75,     \
		     0xcd, 0x5e, 0x3b, 0x03, 0x05, 0x32, 0x2e, 0x30, 0x2e,     \
		     0x30),                                                    \
		C_OUT(0x82, 0x03, 0x00)
#define BEGIN_OK                                                            \
	C_IN(0x03, 0x04, 0x00, 0x10, 0x00, 0x2f, 0x00, 0x40, 0x2f, 0xaa,    \
	     0xe9),                                                         \
		C_OUT(0x83, 0x04, 0x00, 0x51, 0x00, 0x00, 0x00, 0x00, 0x00, \
		      0x00, 0x00, 0x00),                                    \
		S_OUT(0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, \
		      0x00)
#define DATA0                                                                  \
	D_IN(0x20, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, \
	     0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f)
#define DATA1                                                                  \
	D_IN(0x20, 0x01, 0x00, 0x00, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, \
	     0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f)
#define DATA1_GARBLED                                                          \
	D_IN(0x20, 0x01, 0x00, 0x00, 0x10, 0x11, 0x12, 0x53, 0x14, 0x15, 0x16, \
	     0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f)
#define DATA2                                                                  \
	D_IN(0x20, 0x02, 0x00, 0x00, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, \
	     0x27, 0x3c, 0x2e, 0xa6, 0x0d)

struct fixture {
	struct mem_sink sink;
	struct ota_rx rx;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ota_rx_cfg cfg = {
		.sink = &mem_sink_ops,
		.max_value = 20,
	};

	if (!f)
		return -1;
	mem_sink_init(&f->sink);
	cfg.sink_ctx = &f->sink;
	if (ota_rx_init(&f->rx, &cfg))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void run_script(struct fixture *f, const struct step *steps)
{
	uint64_t now = 0;
	size_t i;

	for (i = 0; steps[i].kind != END; i++) {
		const struct step *s = &steps[i];
		uint8_t out[OTA_MAX_VALUE];
		enum ota_chan chan;
		int n;

		print_message("step %zu\n", i);
		switch (s->kind) {
		case IN_CTRL:
			ota_rx_feed(&f->rx, OTA_CHAN_CONTROL, s->b, s->len,
				    now);
			break;
		case IN_DATA:
			ota_rx_feed(&f->rx, OTA_CHAN_DATA, s->b, s->len, now);
			break;
		case IN_STATUS:
			assert_int_equal(ota_rx_feed(&f->rx, OTA_CHAN_STATUS,
						     s->b, s->len, now),
					 -EBADMSG);
			break;
		case OUT_CTRL:
		case OUT_STATUS:
			n = ota_rx_poll(&f->rx, out, sizeof(out), &chan, now);
			assert_int_equal(n, (int)s->len);
			assert_memory_equal(out, s->b, s->len);
			assert_int_equal(chan, s->kind == OUT_CTRL
						       ? OTA_CHAN_CONTROL
						       : OTA_CHAN_STATUS);
			break;
		case NOTHING:
			n = ota_rx_poll(&f->rx, out, sizeof(out), &chan, now);
			assert_int_equal(n, -EAGAIN);
			break;
		case AT_TIME:
			now = s->t;
			assert_true(ota_rx_next_deadline(&f->rx) <= now);
			ota_rx_on_timeout(&f->rx, now);
			break;
		case END:
			break;
		}
	}
}

static void assert_slot_is_example_image(const struct mem_sink *s)
{
	uint8_t img[40];
	int i;

	for (i = 0; i < 40; i++)
		img[i] = (uint8_t)i;
	assert_memory_equal(s->slot, img, 40);
	assert_true(mem_sink_block_verified(s, 0));
}

/* §9.1 */
static void test_normal_transfer(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		NONE,
		DATA0,
		NONE, /* one in-order chunk: the ACK waits */
		DATA1,
		/* at the start of a session every 2 chunks are acknowledged */
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		DATA2,
		S_OUT(0x40, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		C_IN(0x04, 0x05),
		C_OUT(0x84, 0x05, 0x00),
		C_IN(0x05, 0x06),
		C_OUT(0x85, 0x06, 0x00),
		NONE,
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_slot_is_example_image(&f->sink);
	assert_true(f->sink.committed);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_COMMITTED);
	assert_int_equal(f->sink.checks, 1);
	assert_string_equal(f->rx.m.version, "2.0.0");
}

/* §9.2 */
static void test_lost_chunk(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		DATA2,
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00,
		      0x00, 0x01),
		DATA1,
		S_OUT(0x40, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		NONE,
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_slot_is_example_image(&f->sink);
}

/* §9.3 */
static void test_corrupted_block(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		DATA1_GARBLED,
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		DATA2,
		S_OUT(0x40, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00,
		      0x00, 0x00),
		DATA0,
		DATA1,
		DATA2,
		S_OUT(0x40, 0x04, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		C_IN(0x04, 0x05),
		C_OUT(0x84, 0x05, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;
	struct ota_rx_event ev;
	bool retried = false;

	run_script(f, steps);
	assert_slot_is_example_image(&f->sink);
	assert_int_equal(f->sink.check_failures, 1);
	assert_int_equal(ota_rx_get_stats(&f->rx)->block_failures, 1);
	while (ota_rx_next_event(&f->rx, &ev) == 0)
		retried |= ev.type == OTA_RX_EV_BLOCK_RETRY && ev.value == 0;
	assert_true(retried);
}

/* §9.4: refusal before any write */
static void test_refusal_too_large(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		C_IN(0x03, 0x11, 0x00, 0x10, 0x00, 0x2f, 0x00, 0x40, 0x2f, 0xaa,
		     0xe9),
		C_OUT(0x83, 0x11, 0x10, 0x00, 0x00, 0x10, 0x00),
		NONE,
		/* data outside a session is refused with the reason */
		DATA0,
		{ OUT_STATUS, BYTES(0x41, 0x10, 0x00, 0x00, 0x00, 0x00) },
		STEPS_END,
	};
	struct fixture *f = *state;

	f->sink.refuse = OTA_STATUS_TOO_LARGE;
	f->sink.refuse_detail = 0x100000;
	run_script(f, steps);
	assert_int_equal(f->sink.writes, 0);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
}

static void test_duplicates_and_retry_cache(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		/* a late duplicate of segment 1 changes nothing */
		C_IN(0x02, 0x07, 0x10, 0x00, 0x12, 0xc2, 0xd7, 0x4b, 0x43, 0x7c,
		     0x8c, 0x49, 0xad, 0xd3, 0xf9, 0x10, 0xf1, 0x00, 0x63,
		     0xd8),
		C_OUT(0x82, 0x07, 0x00),
		BEGIN_OK,
		/* BEGIN retried with the same token: cached, not re-run */
		C_IN(0x03, 0x04, 0x00, 0x10, 0x00, 0x2f, 0x00, 0x40, 0x2f, 0xaa,
		     0xe9),
		C_OUT(0x83, 0x04, 0x00, 0x51, 0x00, 0x00, 0x00, 0x00, 0x00,
		      0x00, 0x00, 0x00),
		NONE,
		DATA0,
		DATA0, /* duplicate: refresh the sender's view at once */
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(f->sink.begins, 1);
	assert_int_equal(ota_rx_get_stats(&f->rx)->duplicates, 1);
	assert_int_equal(f->sink.writes, 1);
}

static void test_confirm_retry_runs_once(void **state)
{
	static const struct step steps[] = {
		C_IN(0x06, 0x21),
		C_OUT(0x86, 0x21, 0x32, 0x00, 0x00, 0x00, 0x00),
		C_IN(0x06, 0x21),
		C_OUT(0x86, 0x21, 0x32, 0x00, 0x00, 0x00, 0x00),
		C_IN(0x06, 0x22),
		C_OUT(0x86, 0x22, 0x32, 0x00, 0x00, 0x00, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(f->sink.confirms, 2);
}

static void test_finish_incomplete_then_verify_failure(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		C_IN(0x04, 0x05),
		C_OUT(0x84, 0x05, 0x20, 0x01, 0x00, 0x00, 0x00),
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		DATA1,
		DATA2,
		S_OUT(0x40, 0x03, 0x00, 0x00, 0x03, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		C_IN(0x04, 0x06),
		C_OUT(0x84, 0x06, 0x21, 0x00, 0x00, 0x00, 0x00),
		/* the session is over: commit is refused */
		C_IN(0x05, 0x07),
		C_OUT(0x85, 0x07, 0x31, 0x00, 0x00, 0x00, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;

	f->sink.finish_status = OTA_STATUS_HASH_MISMATCH;
	run_script(f, steps);
	assert_false(f->sink.committed);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
}

static void test_abort(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		C_IN(0x09, 0x05),
		C_OUT(0x89, 0x05, 0x00),
		DATA1,
		S_OUT(0x41, 0x41, 0x00, 0x00, 0x00, 0x00),
		DATA2,
		NONE, /* told once */
		{ IN_DATA, BYTES(0x21, 0x01) },
		S_OUT(0x41, 0x41, 0x00, 0x00, 0x00, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(f->sink.discards, 1);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
}

static void test_idle_timeout_keeps_blocks(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		AT(20), /* ack delay */
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		AT(30000),
		S_OUT(0x41, 0x40, 0x30, 0x75, 0x00, 0x00),
		NONE,
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
	assert_int_equal(f->sink.discards, 0);
	assert_int_equal(ota_rx_next_deadline(&f->rx), OTA_RX_NO_DEADLINE);
}

static void test_requests_refused(void **state)
{
	static const struct step steps[] = {
		/* unknown opcode */
		C_IN(0x1f, 0x01),
		C_OUT(0x9f, 0x01, 0x02, 0x1f, 0x00, 0x00, 0x00),
		/* commit with nothing verified */
		C_IN(0x05, 0x02),
		C_OUT(0x85, 0x02, 0x31, 0x00, 0x00, 0x00, 0x00),
		/* finish with no session */
		C_IN(0x04, 0x03),
		C_OUT(0x84, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00),
		/* BEGIN without a manifest: CRC/length differ */
		C_IN(0x03, 0x04, 0x00, 0x10, 0x00, 0x2f, 0x00, 0x40, 0x2f, 0xaa,
		     0xe9),
		C_OUT(0x83, 0x04, 0x07, 0x00, 0x00, 0x00, 0x00),
		/* reserved BEGIN flag */
		C_IN(0x03, 0x05, 0x80, 0x10, 0x00, 0x2f, 0x00, 0x40, 0x2f, 0xaa,
		     0xe9),
		C_OUT(0x83, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00),
		/* manifest segment beyond the end */
		C_IN(0x02, 0x06, 0x05, 0x00, 0x01),
		C_OUT(0x82, 0x06, 0x05, 0x00, 0x00, 0x00, 0x00),
		/* READ of an unknown attribute, and past the end */
		C_IN(0x01, 0x07, 0x09, 0x00, 0x00),
		C_OUT(0x81, 0x07, 0x02, 0x09, 0x00, 0x00, 0x00),
		C_IN(0x01, 0x08, 0x02, 0xff, 0x00),
		C_OUT(0x81, 0x08, 0x05, 0x1c, 0x00, 0x00, 0x00),
		/* a request written to the Data characteristic is dropped */
		{ IN_DATA, BYTES(0x09, 0x09) },
		NONE,
		/* a chunk written to Control is dropped */
		{ IN_CTRL, BYTES(0x20, 0x00, 0x00, 0x00, 0x01) },
		NONE,
		{ IN_STATUS, BYTES(0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
				   0x00, 0x00, 0x00) },
		/* a response written to the device is ignored */
		{ IN_CTRL, BYTES(0x85, 0x01, 0x00) },
		NONE,
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(f->sink.begins, 0);
	assert_int_equal(f->sink.aborts, 0);
}

static void test_begin_chunk_too_large(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		/* P = 17 does not fit a 20-byte value with its 4-byte header */
		C_IN(0x03, 0x04, 0x00, 0x11, 0x00, 0x2f, 0x00, 0x40, 0x2f, 0xaa,
		     0xe9),
		C_OUT(0x83, 0x04, 0x06, 0x10, 0x00, 0x00, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(f->sink.begins, 0);
}

static void test_out_of_window_and_bad_length(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		/* chunk 3 does not exist; chunk 2 with a wrong length */
		D_IN(0x20, 0x03, 0x00, 0x00, 0x01),
		D_IN(0x20, 0x02, 0x00, 0x00, 0x20, 0x21),
		NONE,
		STEPS_END,
	};
	struct fixture *f = *state;

	run_script(f, steps);
	assert_int_equal(ota_rx_get_stats(&f->rx)->dropped, 2);
	assert_int_equal(f->sink.writes, 0);
}

static void test_flash_error_ends_session(void **state)
{
	static const struct step steps[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		DATA1,
		/* detail = image offset 16 of the failed write */
		S_OUT(0x41, 0x30, 0x10, 0x00, 0x00, 0x00),
		DATA2,
		NONE,
		STEPS_END,
	};
	struct fixture *f = *state;

	f->sink.fail_write_at = 2;
	run_script(f, steps);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
	/* verified blocks are kept for a retry */
	assert_int_equal(f->sink.discards, 0);
}

static void test_block_retries_exhausted(void **state)
{
	struct fixture *f = *state;
	static const uint8_t d0[] = { 0x20, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02,
				      0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
				      0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
	static const uint8_t d1[] = { 0x20, 0x01, 0x00, 0x00, 0x10, 0x11, 0x12,
				      0x53, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19,
				      0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
	static const uint8_t d2[] = { 0x20, 0x02, 0x00, 0x00, 0x20, 0x21,
				      0x22, 0x23, 0x24, 0x25, 0x26, 0x27,
				      0x3c, 0x2e, 0xa6, 0x0d };
	static const struct step begin[] = { MANIFEST_SEGS, BEGIN_OK,
					     STEPS_END };
	static const uint8_t fatal[] = { 0x41, 0x24, 0x00, 0x00, 0x00, 0x00 };
	uint8_t out[32], rewind[] = { 0x40, 0x00, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x03, 0x00, 0x00, 0x00 };
	enum ota_chan chan;
	int round, n;

	run_script(f, begin);
	for (round = 1; round <= OTA_RX_MAX_BLOCK_RETRIES + 1; round++) {
		ota_rx_feed(&f->rx, OTA_CHAN_DATA, d0, sizeof(d0), 0);
		ota_rx_feed(&f->rx, OTA_CHAN_DATA, d1, sizeof(d1), 0);
		ota_rx_feed(&f->rx, OTA_CHAN_DATA, d2, sizeof(d2), 0);
		n = ota_rx_poll(&f->rx, out, sizeof(out), &chan, 0);
		if (round <= OTA_RX_MAX_BLOCK_RETRIES) {
			/* ACK #round+1 rewinds to chunk 0 */
			rewind[1] = (uint8_t)(round + 1);
			assert_int_equal(n, sizeof(rewind));
			assert_memory_equal(out, rewind, sizeof(rewind));
		} else {
			assert_int_equal(n, sizeof(fatal));
			assert_memory_equal(out, fatal, sizeof(fatal));
		}
	}
	assert_int_equal(ota_rx_poll(&f->rx, out, sizeof(out), &chan, 0),
			 -EAGAIN);
	assert_int_equal(f->sink.check_failures, OTA_RX_MAX_BLOCK_RETRIES + 1);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
}

static void test_reboot_event_after_response(void **state)
{
	static const struct step steps[] = {
		C_IN(0x08, 0x01),
		C_OUT(0x88, 0x01, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;
	struct ota_rx_event ev;

	run_script(f, steps);
	assert_int_equal(ota_rx_next_event(&f->rx, &ev), 0);
	assert_int_equal(ev.type, OTA_RX_EV_REBOOT);
	assert_int_equal(ota_rx_next_event(&f->rx, &ev), -EAGAIN);
}

/* Read INFO in pages through a 20-byte value and parse the TLVs. */
static void test_read_info_paged(void **state)
{
	struct fixture *f = *state;
	uint8_t info[256], out[32], out2[256];
	uint8_t req[5] = { 0x01, 0, OTA_ATTR_INFO, 0, 0 };
	size_t got = 0, total = 0, off = 0;
	enum ota_chan chan;
	const uint8_t *val;
	uint16_t vlen;
	uint8_t type;
	int n, pages = 0;
	bool saw_slot = false, saw_version = false, saw_keys = false;

	f->sink.n_keys = 2; /* INFO then runs past 200 bytes */
	do {
		req[1] = (uint8_t)(0x40 + pages);
		ota_put_le16(req + 3, (uint16_t)got);
		ota_rx_feed(&f->rx, OTA_CHAN_CONTROL, req, sizeof(req), 0);
		n = ota_rx_poll(&f->rx, out, sizeof(out), &chan, 0);
		assert_true(n >= 5 && n <= 20);
		assert_int_equal(out[0], 0x81);
		assert_int_equal(out[2], OTA_STATUS_OK);
		total = ota_get_le16(out + 3);
		memcpy(info + got, out + 5, (size_t)n - 5);
		got += (size_t)n - 5;
		pages++;
	} while (got < total);
	assert_true(pages > 3);
	while (ota_tlv_next(info, total, &off, &type, &val, &vlen) > 0) {
		if (type == OTA_INFO_SLOT_SIZE) {
			assert_int_equal(ota_get_le32(val), MEM_SINK_SLOT);
			saw_slot = true;
		}
		if (type == OTA_INFO_RUN_VERSION) {
			assert_memory_equal(val, "1.0.0", 5);
			saw_version = true;
		}
		if (type == OTA_INFO_TRUSTED_KEYS) {
			assert_int_equal(vlen, 64);
			assert_int_equal(val[0], 0xa0);
			assert_int_equal(val[31], 0xa0);
			assert_int_equal(val[32], 0xa1);
			assert_int_equal(val[63], 0xa1);
			saw_keys = true;
		}
		if (type == OTA_INFO_CAPS)
			assert_true(ota_get_le32(val) & OTA_CAP_SIGNED);
	}
	assert_int_equal(off, total);
	assert_true(saw_slot && saw_version && saw_keys);
	/* the Info characteristic serves the same bytes */
	assert_int_equal(
		ota_rx_read_attr(&f->rx, OTA_ATTR_INFO, out2, sizeof(out2)),
		(int)total);
	assert_memory_equal(out2, info, total);
	assert_int_equal(ota_rx_read_attr(&f->rx, 7, out2, sizeof(out2)),
			 -ENOTSUP);
	assert_int_equal(ota_rx_read_attr(&f->rx, OTA_ATTR_INFO, out2, 8),
			 -EMSGSIZE);
}

/*
 * Resume: block 0 of a 5000-byte image is verified on the device (from an
 * earlier session, possibly before a reboot); a new BEGIN with P = 240
 * reports cum = first chunk of block 1 = 4100 / 240 = 17, held = 4096.
 */
static void test_resume_from_verified_blocks(void **state)
{
	struct fixture *f = *state;
	struct ota_manifest m = { .image_size = 5000 };
	struct ota_rx_cfg cfg = { .sink = &mem_sink_ops, .sink_ctx = &f->sink };
	struct ota_begin_req br = { .chunk_size = 240 };
	static const uint8_t begin_rsp[] = {
		0x83, 0x02, 0x00, 0x88, 0x00, 0x11,
		0x00, 0x00, 0x00, 0x10, 0x00, 0x00
	};
	static const uint8_t first_ack[] = { 0x40, 0x01, 0x00, 0x00, 0x11,
					     0x00, 0x00, 0x15, 0x00, 0x00 };
	uint8_t man[128], req[300], out[300];
	enum ota_chan chan;
	int ml, n;

	assert_int_equal(ota_rx_init(&f->rx, &cfg), 0);
	memset(m.sha256, 0x5a, 32);
	f->sink.m = m; /* the device's journal is for this image */
	f->sink.verified[0] = 0x01;
	ml = ota_manifest_encode(man, sizeof(man), &m);
	req[0] = OTA_OP_MANIFEST;
	req[1] = 1;
	ota_put_le16(req + 2, 0);
	memcpy(req + 4, man, (size_t)ml);
	ota_rx_feed(&f->rx, OTA_CHAN_CONTROL, req, (size_t)ml + 4, 0);
	assert_int_equal(ota_rx_poll(&f->rx, out, sizeof(out), &chan, 0), 3);
	br.manifest_len = (uint16_t)ml;
	br.manifest_crc = ota_crc32(0, man, (size_t)ml);
	n = ota_frame_encode_begin(req, sizeof(req), 2, &br);
	ota_rx_feed(&f->rx, OTA_CHAN_CONTROL, req, (size_t)n, 0);
	n = ota_rx_poll(&f->rx, out, sizeof(out), &chan, 0);
	assert_int_equal(n, sizeof(begin_rsp));
	assert_memory_equal(out, begin_rsp, sizeof(begin_rsp));
	n = ota_rx_poll(&f->rx, out, sizeof(out), &chan, 0);
	assert_int_equal(n, sizeof(first_ack));
	assert_memory_equal(out, first_ack, sizeof(first_ack));
	assert_int_equal(f->sink.writes, 0);
}

/* A session belongs to its connection: after a disconnect, BEGIN first. */
static void test_session_bound_to_connection(void **state)
{
	static const struct step first[] = {
		MANIFEST_SEGS,
		BEGIN_OK,
		DATA0,
		DATA1,
		S_OUT(0x40, 0x02, 0x00, 0x00, 0x02, 0x00, 0x00, 0x03, 0x00,
		      0x00),
		STEPS_END,
	};
	static const struct step second[] = {
		/* another central's chunk: refused, the sender is told */
		DATA2,
		S_OUT(0x41, 0x03, 0x00, 0x00, 0x00, 0x00),
		/* nor can it finish or commit the suspended session */
		C_IN(0x04, 0x01),
		C_OUT(0x84, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00),
		C_IN(0x05, 0x02),
		C_OUT(0x85, 0x02, 0x31, 0x00, 0x00, 0x00, 0x00),
		STEPS_END,
	};
	struct fixture *f = *state;
	struct ota_begin_req br = { .chunk_size = 16,
				    .manifest_len = 47,
				    .manifest_crc = 0xe9aa2f40 };
	uint8_t b[32];
	enum ota_chan chan;
	int n;

	run_script(f, first);
	ota_rx_disconnect(&f->rx);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_IDLE);
	run_script(f, second);
	assert_int_equal(f->sink.writes, 2);
	assert_int_equal(f->sink.discards, 0);
	/* its own BEGIN resumes: the manifest is still held */
	n = ota_frame_encode_begin(b, sizeof(b), 3, &br);
	ota_rx_feed(&f->rx, OTA_CHAN_CONTROL, b, (size_t)n, 0);
	n = ota_rx_poll(&f->rx, b, sizeof(b), &chan, 0);
	assert_int_equal(n, 12);
	assert_int_equal(b[2], OTA_STATUS_OK);
	assert_int_equal(ota_rx_get_state(&f->rx), OTA_RX_RECEIVING);
}

static void test_init_rejects(void **state)
{
	struct ota_rx rx;
	struct ota_rx_cfg cfg = { 0 };

	(void)state;
	assert_int_equal(ota_rx_init(&rx, NULL), -EINVAL);
	assert_int_equal(ota_rx_init(&rx, &cfg), -EINVAL);
	cfg.sink = &mem_sink_ops;
	cfg.max_value = 19;
	assert_int_equal(ota_rx_init(&rx, &cfg), -EINVAL);
	cfg.max_value = 511;
	assert_int_equal(ota_rx_init(&rx, &cfg), -EINVAL);
	cfg.max_value = 0;
	assert_int_equal(ota_rx_init(&rx, &cfg), 0);
	assert_string_equal(ota_rx_state_name(OTA_RX_VERIFIED), "verified");
	assert_int_equal(ota_rx_set_max_value(&rx, 19), -EINVAL);
	assert_int_equal(ota_rx_set_max_value(&rx, 511), -EINVAL);
	assert_int_equal(ota_rx_set_max_value(&rx, 97), 0);
	assert_int_equal(rx.cfg.max_value, 97);
}

#define T(name, fn)                             \
	{                                       \
		name, fn, setup, teardown, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/rx/normal-transfer", test_normal_transfer),
		T("/rx/lost-chunk", test_lost_chunk),
		T("/rx/corrupted-block", test_corrupted_block),
		T("/rx/refusal/too-large", test_refusal_too_large),
		T("/rx/duplicates-and-retry-cache",
		  test_duplicates_and_retry_cache),
		T("/rx/confirm-retry-runs-once", test_confirm_retry_runs_once),
		T("/rx/finish/incomplete-then-verify-failure",
		  test_finish_incomplete_then_verify_failure),
		T("/rx/abort", test_abort),
		T("/rx/idle-timeout-keeps-blocks",
		  test_idle_timeout_keeps_blocks),
		T("/rx/requests-refused", test_requests_refused),
		T("/rx/begin/chunk-too-large", test_begin_chunk_too_large),
		T("/rx/data/out-of-range-and-bad-length",
		  test_out_of_window_and_bad_length),
		T("/rx/flash-error-ends-session",
		  test_flash_error_ends_session),
		T("/rx/block-retries-exhausted", test_block_retries_exhausted),
		T("/rx/reboot-event-after-response",
		  test_reboot_event_after_response),
		T("/rx/read/info-paged", test_read_info_paged),
		T("/rx/resume/from-verified-blocks",
		  test_resume_from_verified_blocks),
		T("/rx/session-bound-to-connection",
		  test_session_bound_to_connection),
		T("/rx/init-rejects", test_init_rejects),
	};

	return cmocka_run_group_tests_name("receiver", tests, NULL, NULL);
}
