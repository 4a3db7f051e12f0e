/* SPDX-License-Identifier: MIT */
/*
 * Codec vectors for every PDU: the worked examples of docs/protocol.md,
 * then truncation at every length, oversize, wrong opcode and reserved
 * bits; manifest and TLV parsing (CRC-32: test_crc32.c; stream geometry:
 * test_stream.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/frame.h"
#include "protocol/manifest.h"
#include "protocol/status.h"
#include "protocol/tlv.h"
#include "tests/harness/link.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- worked examples from docs/protocol.md ------------------------------ */

static void test_data_example(void **state)
{
	static const uint8_t payload[] = { 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t expect[] = { 0x20, 0x05, 0x01, 0x00,
					  0xde, 0xad, 0xbe, 0xef };
	uint8_t buf[32];
	struct ota_data d;
	int n;

	(void)state;
	n = ota_frame_encode_data(buf, sizeof(buf), 0x000105, payload, 4);
	assert_int_equal(n, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_int_equal(ota_frame_decode_data(expect, sizeof(expect), &d), 0);
	assert_int_equal(d.seq, 0x105);
	assert_int_equal(d.len, 4);
	assert_memory_equal(d.payload, payload, 4);
	assert_int_equal(ota_frame_chan(expect[0]), OTA_CHAN_DATA);
}

static void test_ack_example(void **state)
{
	static const uint8_t bitmap[] = { 0x05 };
	static const uint8_t expect[] = { 0x40, 0x07, 0x00, 0x02, 0x10, 0x00,
					  0x00, 0x30, 0x00, 0x00, 0x05 };
	struct ota_ack a = { .ack_no = 7,
			     .sync_echo = 2,
			     .cum = 0x10,
			     .limit = 0x30,
			     .bitmap = bitmap,
			     .bitmap_len = 1 };
	struct ota_ack d;
	uint8_t buf[32];
	int n;

	(void)state;
	n = ota_frame_encode_ack(buf, sizeof(buf), &a);
	assert_int_equal(n, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_int_equal(ota_frame_decode_ack(expect, sizeof(expect), &d), 0);
	assert_int_equal(d.ack_no, 7);
	assert_int_equal(d.sync_echo, 2);
	assert_int_equal(d.cum, 0x10);
	assert_int_equal(d.limit, 0x30);
	assert_int_equal(d.bitmap_len, 1);
	assert_int_equal(d.bitmap[0], 0x05);
	assert_int_equal(ota_frame_chan(expect[0]), OTA_CHAN_STATUS);
}

static void test_begin_example(void **state)
{
	static const uint8_t expect[] = { 0x03, 0x11, 0x01, 0x10, 0x00, 0x2a,
					  0x00, 0x78, 0x56, 0x34, 0x12 };
	struct ota_begin_req r = { .flags = OTA_BEGIN_FORCE,
				   .chunk_size = 16,
				   .manifest_len = 42,
				   .manifest_crc = 0x12345678 };
	struct ota_begin_req d;
	struct ota_msg msg;
	uint8_t buf[32];
	int n;

	(void)state;
	n = ota_frame_encode_begin(buf, sizeof(buf), 0x11, &r);
	assert_int_equal(n, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_int_equal(ota_frame_decode_msg(expect, sizeof(expect), &msg), 0);
	assert_false(msg.is_rsp);
	assert_int_equal(msg.token, 0x11);
	assert_int_equal(ota_frame_decode_begin(&msg, &d), 0);
	assert_int_equal(d.flags, OTA_BEGIN_FORCE);
	assert_int_equal(d.chunk_size, 16);
	assert_int_equal(d.manifest_len, 42);
	assert_int_equal(d.manifest_crc, 0x12345678);
}

static void test_rsp_error_example(void **state)
{
	/* TOO_LARGE, detail = slot capacity 0x00100000 */
	static const uint8_t expect[] = { 0x83, 0x11, 0x10, 0x00,
					  0x00, 0x10, 0x00 };
	uint8_t d[4], buf[16];
	struct ota_msg msg;
	int n;

	(void)state;
	ota_put_le32(d, 0x100000);
	n = ota_frame_encode_rsp(buf, sizeof(buf), OTA_OP_BEGIN, 0x11,
				 OTA_STATUS_TOO_LARGE, d, 4);
	assert_int_equal(n, sizeof(expect));
	assert_memory_equal(buf, expect, sizeof(expect));
	assert_int_equal(ota_frame_decode_msg(expect, sizeof(expect), &msg), 0);
	assert_true(msg.is_rsp);
	assert_int_equal(msg.op, OTA_OP_BEGIN);
	assert_int_equal(msg.status, OTA_STATUS_TOO_LARGE);
	assert_int_equal(ota_frame_rsp_detail(&msg), 0x100000);
}

static void test_event_sync_example(void **state)
{
	static const uint8_t ev_bytes[] = {
		0x41, 0x40, 0x30, 0x75, 0x00, 0x00
	};
	static const uint8_t sync_bytes[] = { 0x21, 0x09 };
	struct ota_event ev = { .status = OTA_STATUS_TIMEOUT, .detail = 30000 };
	struct ota_event d;
	uint8_t buf[16], id;

	(void)state;
	assert_int_equal(ota_frame_encode_event(buf, sizeof(buf), &ev), 6);
	assert_memory_equal(buf, ev_bytes, 6);
	assert_int_equal(ota_frame_decode_event(ev_bytes, 6, &d), 0);
	assert_int_equal(d.status, OTA_STATUS_TIMEOUT);
	assert_int_equal(d.detail, 30000);
	assert_int_equal(ota_frame_encode_sync(buf, sizeof(buf), 9), 2);
	assert_memory_equal(buf, sync_bytes, 2);
	assert_int_equal(ota_frame_decode_sync(sync_bytes, 2, &id), 0);
	assert_int_equal(id, 9);
}

/* ---- malformed input ---------------------------------------------------- */

typedef int (*decode_fn)(const uint8_t *pdu, size_t len);

static int dec_data(const uint8_t *p, size_t n)
{
	struct ota_data d;

	return ota_frame_decode_data(p, n, &d);
}

static int dec_ack(const uint8_t *p, size_t n)
{
	struct ota_ack a;

	return ota_frame_decode_ack(p, n, &a);
}

static int dec_event(const uint8_t *p, size_t n)
{
	struct ota_event e;

	return ota_frame_decode_event(p, n, &e);
}

static int dec_sync(const uint8_t *p, size_t n)
{
	uint8_t id;

	return ota_frame_decode_sync(p, n, &id);
}

static int dec_begin(const uint8_t *p, size_t n)
{
	struct ota_msg m;
	struct ota_begin_req b;
	int r = ota_frame_decode_msg(p, n, &m);

	return r ? r : ota_frame_decode_begin(&m, &b);
}

static int dec_begin_rsp(const uint8_t *p, size_t n)
{
	struct ota_msg m;
	struct ota_begin_rsp b;
	int r = ota_frame_decode_msg(p, n, &m);

	return r ? r : ota_frame_decode_begin_rsp(&m, &b);
}

static const struct {
	const char *name;
	decode_fn fn;
	uint8_t pdu[16];
	size_t len;
	size_t min_len; /* every shorter prefix must be rejected */
	bool exact;     /* longer must be rejected too */
} valid_cases[] = {
	{ "data", dec_data, { 0x20, 1, 0, 0, 0xaa }, 5, 5, false },
	{ "ack", dec_ack, { 0x40, 1, 0, 0, 0, 0, 0, 0, 0, 0 }, 10, 10, false },
	{ "event", dec_event, { 0x41, 0x40, 0, 0, 0, 0 }, 6, 6, true },
	{ "sync", dec_sync, { 0x21, 3 }, 2, 2, true },
	{ "begin",
	  dec_begin,
	  { 0x03, 1, 0, 0x10, 0, 0x2a, 0, 1, 2, 3, 4 },
	  11,
	  11,
	  true },
	{ "begin-rsp",
	  dec_begin_rsp,
	  { 0x83, 1, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0 },
	  12,
	  12,
	  true },
};

static void test_decode_truncated(void **state)
{
	size_t i, n;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		print_message("case %s\n", valid_cases[i].name);
		assert_int_equal(valid_cases[i].fn(valid_cases[i].pdu,
						   valid_cases[i].len),
				 0);
		for (n = 0; n < valid_cases[i].min_len; n++)
			assert_true(valid_cases[i].fn(valid_cases[i].pdu, n) <
				    0);
	}
}

static void test_decode_oversized(void **state)
{
	uint8_t buf[32];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		if (!valid_cases[i].exact)
			continue;
		print_message("case %s\n", valid_cases[i].name);
		memset(buf, 0, sizeof(buf));
		memcpy(buf, valid_cases[i].pdu, valid_cases[i].len);
		assert_int_equal(valid_cases[i].fn(buf, valid_cases[i].len + 1),
				 -EBADMSG);
	}
}

static void test_decode_wrong_opcode(void **state)
{
	uint8_t buf[16];
	size_t i;
	int op;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(valid_cases); i++) {
		memcpy(buf, valid_cases[i].pdu, valid_cases[i].len);
		for (op = 0; op < 256; op++) {
			if (op == valid_cases[i].pdu[0])
				continue;
			buf[0] = (uint8_t)op;
			assert_true(valid_cases[i].fn(buf, valid_cases[i].len) <
				    0);
		}
	}
}

static void test_decode_unknown_request(void **state)
{
	static const uint8_t unknown[] = { 0x1f, 0x01 };
	static const uint8_t data_as_msg[] = { 0x20, 0, 0, 0, 1 };
	struct ota_msg m;

	(void)state;
	assert_int_equal(ota_frame_decode_msg(unknown, 2, &m), -ENOTSUP);
	assert_int_equal(ota_frame_decode_msg(data_as_msg, 5, &m), -EBADMSG);
	assert_int_equal(ota_frame_decode_msg(unknown, 0, &m), -EBADMSG);
	/* an unknown opcode is reported as such even without a token */
	assert_int_equal(ota_frame_decode_msg(unknown, 1, &m), -ENOTSUP);
}

static void test_begin_reserved_flags(void **state)
{
	uint8_t pdu[] = { 0x03, 1, 0, 0x10, 0, 0x2a, 0, 1, 2, 3, 4 };
	int bit;

	(void)state;
	for (bit = 0; bit < 8; bit++) {
		pdu[2] = (uint8_t)(1u << bit);
		if ((1u << bit) & OTA_BEGIN_FLAGS_KNOWN)
			assert_int_equal(dec_begin(pdu, sizeof(pdu)), 0);
		else
			assert_int_equal(dec_begin(pdu, sizeof(pdu)), -EBADMSG);
	}
}

static void test_ack_limit_below_cum(void **state)
{
	static const uint8_t pdu[] = { 0x40, 1, 0, 0, 0x10, 0, 0, 0x0f, 0, 0 };
	struct ota_ack a = { .cum = 5, .limit = 4 };
	uint8_t buf[16];

	(void)state;
	assert_int_equal(dec_ack(pdu, sizeof(pdu)), -EBADMSG);
	assert_int_equal(ota_frame_encode_ack(buf, sizeof(buf), &a), -EINVAL);
}

static void test_encode_small_buffers(void **state)
{
	static const uint8_t p[8] = { 0 };
	struct ota_ack a = { .bitmap = p, .bitmap_len = 8 };
	struct ota_event e = { 0 };
	uint8_t buf[32];
	size_t cap;

	(void)state;
	for (cap = 0; cap < 12; cap++)
		assert_int_equal(ota_frame_encode_data(buf, cap, 1, p, 8),
				 -EMSGSIZE);
	for (cap = 0; cap < 18; cap++)
		assert_int_equal(ota_frame_encode_ack(buf, cap, &a), -EMSGSIZE);
	for (cap = 0; cap < 6; cap++)
		assert_int_equal(ota_frame_encode_event(buf, cap, &e),
				 -EMSGSIZE);
	assert_int_equal(ota_frame_encode_sync(buf, 1, 0), -EMSGSIZE);
	assert_int_equal(ota_frame_encode_data(buf, 32, OTA_MAX_SEQ + 1, p, 1),
			 -EINVAL);
	assert_int_equal(ota_frame_encode_req(buf, 32, OTA_OP_DATA, 0, p, 0),
			 -EINVAL);
}

/* ---- manifest and TLV --------------------------------------------------- */

static void test_manifest_roundtrip(void **state)
{
	struct ota_manifest m = { .image_size = 123456,
				  .chip_id = 9,
				  .has_chip_id = true,
				  .secure_version = 3,
				  .has_secure_version = true };
	struct ota_manifest d;
	uint8_t buf[OTA_MANIFEST_MAX], bad;
	int n;

	(void)state;
	memset(m.sha256, 0xab, 32);
	strcpy(m.version, "v2.1.0");
	strcpy(m.project, "blinky");
	n = ota_manifest_encode(buf, sizeof(buf), &m);
	/* 6 + 34 + (2+6) + (2+6) + 4 + 6 */
	assert_int_equal(n, 66);
	assert_int_equal(ota_manifest_decode(buf, (size_t)n, &d, &bad), 0);
	assert_int_equal(d.image_size, 123456);
	assert_memory_equal(d.sha256, m.sha256, 32);
	assert_string_equal(d.version, "v2.1.0");
	assert_string_equal(d.project, "blinky");
	assert_true(d.has_chip_id);
	assert_int_equal(d.chip_id, 9);
	assert_true(d.has_secure_version);
	assert_int_equal(d.secure_version, 3);
}

static void test_manifest_rejects(void **state)
{
	static const struct {
		const char *name;
		uint8_t buf[48];
		size_t len;
		int rc;
		uint8_t bad;
	} cases[] = {
		{ "empty", { 0 }, 0, -EBADMSG, OTA_TLV_IMAGE_SIZE },
		{ "no sha", { 1, 4, 1, 0, 0, 0 }, 6, -EBADMSG, OTA_TLV_SHA256 },
		{ "size short", { 1, 3, 1, 0, 0 }, 5, -EBADMSG, 1 },
		{ "overrun", { 1, 9, 1, 0, 0, 0 }, 6, -EBADMSG, 0 },
		{ "half header", { 1 }, 1, -EBADMSG, 0 },
		{ "repeat",
		  { 1, 4, 1, 0, 0, 0, 1, 4, 1, 0, 0, 0 },
		  12,
		  -EBADMSG,
		  1 },
		{ "critical",
		  { 1, 4, 1, 0, 0, 0, 0x91, 0 },
		  8,
		  -ENOTSUP,
		  0x91 },
		{ "signature short",
		  { 0x90, 4, 1, 2, 3, 4 },
		  6,
		  -EBADMSG,
		  0x90 },
		{ "long form, short value",
		  { 3, 0xff, 5, 0, 'a', 'b', 'c', 'd', 'e' },
		  9,
		  -EBADMSG,
		  0 },
		{ "long form overrun", { 3, 0xff, 0, 1, 'a' }, 5, -EBADMSG, 0 },
		{ "long form cut", { 3, 0xff, 0 }, 3, -EBADMSG, 0 },
		{ "nul in version", { 3, 2, 'a', 0 }, 4, -EBADMSG, 3 },
		{ "chip short", { 5, 1, 9 }, 3, -EBADMSG, 5 },
		{ "too big", { 1, 4, 0, 0, 0, 2 }, 6, -EBADMSG, 0 },
	};
	struct ota_manifest m;
	uint8_t bad;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc;

		print_message("case %s\n", cases[i].name);
		rc = ota_manifest_decode(cases[i].buf, cases[i].len, &m, &bad);
		assert_int_equal(rc, cases[i].rc);
		if (strcmp(cases[i].name, "too big"))
			assert_int_equal(bad, cases[i].bad);
	}
}

/* A signature block travels as one long-form TLV (0xff + u16 length). */
static void test_manifest_signature(void **state)
{
	static uint8_t sig[OTA_SIG_BLOCK_LEN];
	struct ota_manifest m = { .image_size = 5000,
				  .sig = sig,
				  .sig_len = sizeof(sig) };
	struct ota_manifest d;
	uint8_t buf[OTA_MANIFEST_MAX], bad;
	int n;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sig); i++)
		sig[i] = (uint8_t)(i * 7);
	n = ota_manifest_encode(buf, sizeof(buf), &m);
	/* 6 (size) + 34 (sha) + 4 + 1216 */
	assert_int_equal(n, 6 + 34 + 4 + OTA_SIG_BLOCK_LEN);
	assert_int_equal(buf[40], OTA_TLV_SIGNATURE);
	assert_int_equal(buf[41], 0xff);
	assert_int_equal(ota_get_le16(buf + 42), OTA_SIG_BLOCK_LEN);
	assert_int_equal(ota_manifest_decode(buf, (size_t)n, &d, &bad), 0);
	assert_int_equal(d.sig_len, OTA_SIG_BLOCK_LEN);
	assert_ptr_equal(d.sig, buf + 44);
	assert_memory_equal(d.sig, sig, sizeof(sig));
	/* a repeated signature is refused */
	{
		static uint8_t twice[2 * OTA_MANIFEST_MAX];

		memcpy(twice, buf, (size_t)n);
		memcpy(twice + n, buf + 40, 4 + OTA_SIG_BLOCK_LEN);
		assert_int_equal(
			ota_manifest_decode(twice,
					    (size_t)n + 4 + OTA_SIG_BLOCK_LEN,
					    &d, &bad),
			-EBADMSG);
	}
	/* only whole blocks are encoded */
	m.sig_len = 100;
	assert_int_equal(ota_manifest_encode(buf, sizeof(buf), &m), -EINVAL);
	/* and the buffer must hold it */
	m.sig_len = OTA_SIG_BLOCK_LEN;
	assert_int_equal(ota_manifest_encode(buf, 300, &m), -EMSGSIZE);
}

static void test_manifest_skips_unknown(void **state)
{
	uint8_t buf[64];
	struct ota_manifest m;
	uint8_t bad;
	size_t n = 0;

	(void)state;
	buf[n++] = 0x70; /* unknown, not critical: skipped */
	buf[n++] = 2;
	buf[n++] = 1;
	buf[n++] = 2;
	buf[n++] = OTA_TLV_IMAGE_SIZE;
	buf[n++] = 4;
	ota_put_le32(buf + n, 77);
	n += 4;
	buf[n++] = OTA_TLV_SHA256;
	buf[n++] = 32;
	memset(buf + n, 1, 32);
	n += 32;
	assert_int_equal(ota_manifest_decode(buf, n, &m, &bad), 0);
	assert_int_equal(m.image_size, 77);
	assert_false(m.has_chip_id);
}

/* IMAGE_SIZE 4096 and a SHA256 as TLVs into @buf; their length. */
static size_t required_tlvs(uint8_t *buf)
{
	size_t n = 0;

	buf[n++] = OTA_TLV_IMAGE_SIZE;
	buf[n++] = 4;
	ota_put_le32(buf + n, 4096);
	n += 4;
	buf[n++] = OTA_TLV_SHA256;
	buf[n++] = 32;
	memset(buf + n, 7, 32);
	n += 32;
	return n;
}

/* TAG (0x07): 1..128 bytes, no NUL; decoded, it points into the TLVs. */
static void test_manifest_tag(void **state)
{
	static const struct {
		const char *name;
		size_t len;
		bool nul;
		int enc, dec;
	} cases[] = {
		{ "one byte", 1, false, 0, 0 },
		{ "128 bytes", 128, false, 0, 0 },
		{ "129 bytes", 129, false, -EINVAL, -EBADMSG },
		{ "nul inside", 10, true, -EINVAL, -EBADMSG },
	};
	char tag[200];
	uint8_t buf[OTA_MANIFEST_MAX], bad;
	struct ota_manifest m, d;
	size_t i, n;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		print_message("case %s\n", cases[i].name);
		memset(tag, 'a' + (int)i, sizeof(tag));
		if (cases[i].nul)
			tag[4] = '\0';
		memset(&m, 0, sizeof(m));
		m.image_size = 4096;
		m.tag = tag;
		m.tag_len = (uint16_t)cases[i].len;
		rc = ota_manifest_encode(buf, sizeof(buf), &m);
		if (cases[i].enc) {
			assert_int_equal(rc, cases[i].enc);
		} else {
			/* size, sha256, then the tag */
			assert_int_equal(rc, 6 + 34 + 2 + (int)cases[i].len);
			assert_int_equal(buf[40], OTA_TLV_TAG);
		}
		/* the decoder, on hand-made TLVs */
		n = required_tlvs(buf);
		buf[n++] = OTA_TLV_TAG;
		buf[n++] = (uint8_t)cases[i].len;
		memcpy(buf + n, tag, cases[i].len);
		n += cases[i].len;
		rc = ota_manifest_decode(buf, n, &d, &bad);
		assert_int_equal(rc, cases[i].dec);
		if (rc) {
			assert_int_equal(bad, OTA_TLV_TAG);
			continue;
		}
		assert_int_equal(d.tag_len, cases[i].len);
		assert_ptr_equal(d.tag, buf + n - cases[i].len);
		assert_memory_equal(d.tag, tag, cases[i].len);
	}
	/* an empty TAG is refused (none is said by leaving it out) */
	n = required_tlvs(buf);
	buf[n++] = OTA_TLV_TAG;
	buf[n++] = 0;
	assert_int_equal(ota_manifest_decode(buf, n, &d, &bad), -EBADMSG);
	/* and without a TAG there is none */
	assert_int_equal(ota_manifest_decode(buf, n - 2, &d, &bad), 0);
	assert_null(d.tag);
	assert_int_equal(d.tag_len, 0);
}

static void test_tlv_writer_overflow(void **state)
{
	uint8_t buf[8];
	struct ota_tlv_writer w = { .buf = buf, .cap = sizeof(buf) };

	(void)state;
	ota_tlv_put_u32(&w, 1, 5);
	assert_false(w.overflow);
	assert_int_equal(w.len, 6);
	ota_tlv_put_u16(&w, 2, 5);
	assert_true(w.overflow);
	assert_int_equal(w.len, 6);
}

static void test_status_table(void **state)
{
	int v, known = 0;

	(void)state;
	for (v = 0; v < 256; v++) {
		const char *name = ota_status_name((uint8_t)v);

		assert_non_null(ota_status_str((uint8_t)v));
		if (!ota_status_is_known((uint8_t)v)) {
			assert_string_equal(name, "UNKNOWN");
			continue;
		}
		known++;
		/* every error says what to do */
		if (v != OTA_STATUS_OK)
			assert_true(strlen(ota_status_hint((uint8_t)v)) > 10);
	}
	assert_int_equal(known, 31);
	assert_string_equal(ota_status_name(OTA_STATUS_TOO_LARGE), "TOO_LARGE");
	assert_int_equal(ota_status_from_errno(-ENOSPC), OTA_STATUS_TOO_LARGE);
	assert_int_equal(ota_status_from_errno(-EIO), OTA_STATUS_FLASH_ERROR);
	assert_int_equal(ota_status_from_errno(0), OTA_STATUS_OK);
	assert_int_equal(ota_status_from_errno(-E2BIG), OTA_STATUS_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_data_example),
		cmocka_unit_test(test_ack_example),
		cmocka_unit_test(test_begin_example),
		cmocka_unit_test(test_rsp_error_example),
		cmocka_unit_test(test_event_sync_example),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_oversized),
		cmocka_unit_test(test_decode_wrong_opcode),
		cmocka_unit_test(test_decode_unknown_request),
		cmocka_unit_test(test_begin_reserved_flags),
		cmocka_unit_test(test_ack_limit_below_cum),
		cmocka_unit_test(test_encode_small_buffers),
		cmocka_unit_test(test_manifest_roundtrip),
		cmocka_unit_test(test_manifest_rejects),
		cmocka_unit_test(test_manifest_signature),
		cmocka_unit_test(test_manifest_skips_unknown),
		cmocka_unit_test(test_manifest_tag),
		cmocka_unit_test(test_tlv_writer_overflow),
		cmocka_unit_test(test_status_table),
	};

	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
