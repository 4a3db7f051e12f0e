/* SPDX-License-Identifier: MIT */
/*
 * protocol/info: the INFO and STATUS attributes byte for byte as
 * docs/protocol.md §6 lays them out, decoded back to the same structs, and
 * every kind of bad TLV the decoder must refuse (or skip).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "protocol/frame.h"
#include "protocol/info.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A device with one trusted key: every INFO field present. */
static void sample_info(struct ota_info_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->proto_version = 1;
	a->max_value = 244;
	a->window = 32768;
	a->dev.slot_size = 0x100000;
	a->dev.chip_id = 9;
	strcpy(a->dev.run_version, "1.2.3");
	strcpy(a->dev.run_project, "blinky");
	a->dev.run_secure_version = 2;
	a->dev.run_slot = 0;
	a->dev.caps = OTA_CAP_RESUME | OTA_CAP_ROLLBACK;
	memset(a->dev.trusted_keys[0], 0xa0, 32);
	a->dev.n_trusted_keys = 1;
}

#define KEY32                                                               \
	0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0,   \
		0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, \
		0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, 0xa0, \
		0xa0

static const uint8_t info_bytes[] = {
	0x01, 1,  1,                                /* PROTO_VERSION 1 */
	0x0a, 4,  0x03,  0,    0,    0,             /* CAPS resume|rollback */
	0x02, 2,  0xf4,  0x00,                      /* MAX_VALUE 244 */
	0x03, 4,  0x00,  0x80, 0,    0,             /* WINDOW 32768 */
	0x04, 4,  0,     0,    0x10, 0,             /* SLOT_SIZE 1 MiB */
	0x05, 2,  9,     0,                         /* CHIP_ID 9 */
	0x06, 5,  '1',   '.',  '2',  '.', '3',      /* RUN_VERSION */
	0x07, 6,  'b',   'l',  'i',  'n', 'k', 'y', /* RUN_PROJECT */
	0x08, 4,  2,     0,    0,    0,             /* RUN_SECVER 2 */
	0x09, 1,  0,                                /* RUN_SLOT 0 */
	0x0b, 32, KEY32, /* TRUSTED_KEYS, one digest */
};

static void sample_status(struct ota_status_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->rx_state = 1;
	a->last_status = 0;
	a->has_session = true;
	a->image_size = 5000;
	a->held = 4096;
	memset(a->sha256, 0x33, 32);
	a->dev.run_slot = 1;
	a->dev.run_state = 2;
	a->dev.other_state = 0xffffffffu;
	strcpy(a->dev.run_version, "1.0.0");
	strcpy(a->dev.last_boot, "rolled back");
}

#define SHA32                                                               \
	0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,   \
		0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, \
		0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, \
		0x33

static const uint8_t status_bytes[] = {
	0x01, 1,  1,                            /* RX_STATE receiving */
	0x09, 1,  0,                            /* LAST_STATUS OK */
	0x02, 4,  0x88,  0x13, 0,    0,         /* IMAGE_SIZE 5000 */
	0x03, 4,  0x00,  0x10, 0,    0,         /* HELD 4096 */
	0x04, 32, SHA32,                        /* SHA256 */
	0x05, 1,  1,                            /* RUN_SLOT 1 */
	0x06, 4,  2,     0,    0,    0,         /* RUN_STATE valid */
	0x08, 4,  0xff,  0xff, 0xff, 0xff,      /* OTHER_STATE undefined */
	0x07, 5,  '1',   '.',  '0',  '.',  '0', /* RUN_VERSION */
	0x0a, 11, 'r',   'o',  'l',  'l',  'e', 'd', ' ', 'b', 'a', 'c', 'k',
};

static void test_info_bytes(void **state)
{
	struct ota_info_attr a, b;
	uint8_t buf[256];
	int n;

	(void)state;
	sample_info(&a);
	n = ota_info_encode(buf, sizeof(buf), &a);
	assert_int_equal(n, sizeof(info_bytes));
	assert_memory_equal(buf, info_bytes, sizeof(info_bytes));
	assert_int_equal(ota_info_decode(info_bytes, sizeof(info_bytes), &b),
			 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* no trusted keys: no TRUSTED_KEYS entry at all */
	a.dev.n_trusted_keys = 0;
	memset(a.dev.trusted_keys, 0, sizeof(a.dev.trusted_keys));
	n = ota_info_encode(buf, sizeof(buf), &a);
	assert_int_equal(n, sizeof(info_bytes) - 34);
	assert_memory_equal(buf, info_bytes, (size_t)n);
	assert_int_equal(ota_info_decode(buf, (size_t)n, &b), 0);
	assert_memory_equal(&a, &b, sizeof(a));
	/* every byte counts: one short of the total overflows */
	sample_info(&a);
	assert_int_equal(ota_info_encode(buf, sizeof(info_bytes) - 1, &a),
			 -EMSGSIZE);
}

static void test_status_bytes(void **state)
{
	struct ota_status_attr a, b;
	uint8_t buf[256];
	int n;

	(void)state;
	sample_status(&a);
	n = ota_status_attr_encode(buf, sizeof(buf), &a);
	assert_int_equal(n, sizeof(status_bytes));
	assert_memory_equal(buf, status_bytes, sizeof(status_bytes));
	assert_int_equal(
		ota_status_attr_decode(status_bytes, sizeof(status_bytes), &b),
		0);
	assert_memory_equal(&a, &b, sizeof(a));
}

/* No session, no boot detail: those entries are left out, and read back
 * as absent. */
static void test_status_idle(void **state)
{
	static const uint8_t idle[] = {
		0x01, 1,    0, 0x09, 1,   0x40, 0x05, 1,   0, 0x06,
		4,    2,    0, 0,    0,   0x08, 4,    0,   0, 0,
		0,    0x07, 5, '1',  '.', '0',  '.',  '0',
	};
	struct ota_status_attr a, b;
	uint8_t buf[256];
	int n;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.last_status = 0x40; /* TIMEOUT */
	a.dev.run_state = 2;
	strcpy(a.dev.run_version, "1.0.0");
	/* session fields without has_session are not sent */
	a.image_size = 99;
	n = ota_status_attr_encode(buf, sizeof(buf), &a);
	assert_int_equal(n, sizeof(idle));
	assert_memory_equal(buf, idle, sizeof(idle));
	assert_int_equal(ota_status_attr_decode(buf, (size_t)n, &b), 0);
	assert_false(b.has_session);
	assert_int_equal(b.image_size, 0);
	assert_int_equal(b.last_status, 0x40);
	assert_string_equal(b.dev.last_boot, "");
}

/* Strings are cut at their field (the last byte is the terminator). */
static void test_string_bounds(void **state)
{
	struct ota_info_attr a, b;
	uint8_t buf[256], in[64];
	size_t len;
	int n;

	(void)state;
	sample_info(&a);
	memset(a.dev.run_version, 'v', sizeof(a.dev.run_version)); /* no NUL */
	n = ota_info_encode(buf, sizeof(buf), &a);
	assert_true(n > 0);
	assert_int_equal(ota_info_decode(buf, (size_t)n, &b), 0);
	assert_int_equal(strlen(b.dev.run_version), 32);
	/* a newer device's 40-byte version string is shown cut to 32 */
	len = 0;
	in[len++] = OTA_INFO_RUN_VERSION;
	in[len++] = 40;
	memset(in + len, 'x', 40);
	len += 40;
	assert_int_equal(ota_info_decode(in, len, &b), 0);
	assert_int_equal(strlen(b.dev.run_version), 32);
	/* an embedded NUL ends the string */
	memcpy(in + 2, "ab\0cd", 5);
	in[1] = 5;
	assert_int_equal(ota_info_decode(in, 7, &b), 0);
	assert_string_equal(b.dev.run_version, "ab");
}

/* Absent entries read as zero, RUN_SLOT as 0xff (none); unknown types are
 * skipped, in short and long form. */
static void test_decode_absent_and_unknown(void **state)
{
	static const uint8_t in[] = {
		0x7e, 3,    1,    2,    3, /* unknown */
		0x09, 1,    1,             /* RUN_SLOT 1 */
		0xe0, 0xff, 0x00, 0x01,    /* unknown, long form, 256 bytes */
	};
	uint8_t buf[sizeof(in) + 256];
	struct ota_info_attr a;
	struct ota_status_attr s;

	(void)state;
	memcpy(buf, in, sizeof(in));
	memset(buf + sizeof(in), 0x55, 256);
	assert_int_equal(ota_info_decode(buf, sizeof(buf), &a), 0);
	assert_int_equal(a.dev.run_slot, 1);
	assert_int_equal(a.proto_version, 0);
	assert_int_equal(a.dev.n_trusted_keys, 0);
	assert_int_equal(ota_info_decode(buf, 0, &a), 0);
	assert_int_equal(a.dev.run_slot, 0xff);
	assert_int_equal(ota_status_attr_decode(buf, 0, &s), 0);
	assert_int_equal(s.dev.run_slot, 0xff);
	assert_false(s.has_session);
}

static void test_decode_bad(void **state)
{
	static const struct {
		const char *name;
		bool status; /* STATUS, else INFO */
		uint8_t len;
		uint8_t bytes[40];
	} bad[] = {
		{ "overrun", false, 3, { 0x01, 2, 1 } },
		{ "half a header", false, 1, { 0x01 } },
		{ "u8 of 2 bytes", false, 4, { 0x01, 2, 1, 0 } },
		{ "u8 of 0 bytes", false, 2, { 0x09, 0 } },
		{ "u16 of 4 bytes", false, 6, { 0x02, 4, 0xf4, 0, 0, 0 } },
		{ "u32 of 2 bytes", false, 4, { 0x04, 2, 0, 0x10 } },
		{ "repeated", false, 6, { 0x09, 1, 0, 0x09, 1, 1 } },
		{ "keys not 32 x n", false, 33, { 0x0b, 31 } },
		{ "long form, short value",
		  false,
		  5,
		  { 0x06, 0xff, 1, 0, 'x' } },
		{ "sha256 of 31", true, 33, { 0x04, 31 } },
		{ "status u32 of 3", true, 5, { 0x03, 3, 0, 0, 0 } },
		{ "status repeated", true, 6, { 0x01, 1, 0, 0x01, 1, 1 } },
	};
	struct ota_info_attr a;
	struct ota_status_attr s;
	size_t i;
	int r;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		if (bad[i].status)
			r = ota_status_attr_decode(bad[i].bytes, bad[i].len,
						   &s);
		else
			r = ota_info_decode(bad[i].bytes, bad[i].len, &a);
		if (r != -EBADMSG)
			fail_msg("%s: %d, expected -EBADMSG", bad[i].name, r);
	}
}

/* More than OTA_INFO_MAX_KEYS digests: the first ones are kept. */
static void test_keys_beyond_max(void **state)
{
	uint8_t in[2 + 4 * 32];
	struct ota_info_attr a;
	unsigned int k;

	(void)state;
	in[0] = OTA_INFO_TRUSTED_KEYS;
	in[1] = 4 * 32;
	for (k = 0; k < 4; k++)
		memset(in + 2 + 32 * k, (int)(0xa0 + k), 32);
	assert_int_equal(ota_info_decode(in, sizeof(in), &a), 0);
	assert_int_equal(a.dev.n_trusted_keys, OTA_INFO_MAX_KEYS);
	assert_int_equal(a.dev.trusted_keys[2][31], 0xa2);
}

/*
 * RUN_TAG (INFO 0x0c, STATUS 0x0b): sent last, only when there is a tag,
 * and the longest attributes (three key digests, a 128-character tag, the
 * longest boot detail) still fit OTA_ATTR_MAX_LEN, the READ buffers' size.
 */
static void test_run_tag(void **state)
{
	struct ota_info_attr a, b;
	struct ota_status_attr s, t;
	uint8_t buf[OTA_ATTR_MAX_LEN];
	int n, k;

	(void)state;
	sample_info(&a);
	strcpy(a.dev.run_tag, "v1.2.3-rc1");
	a.dev.caps |= OTA_CAP_TAG;
	n = ota_info_encode(buf, sizeof(buf), &a);
	assert_int_equal(n, sizeof(info_bytes) + 2 + 10);
	assert_int_equal(buf[sizeof(info_bytes)], OTA_INFO_RUN_TAG);
	assert_int_equal(buf[sizeof(info_bytes) + 1], 10);
	assert_memory_equal(buf + sizeof(info_bytes) + 2, "v1.2.3-rc1", 10);
	assert_int_equal(ota_info_decode(buf, (size_t)n, &b), 0);
	assert_string_equal(b.dev.run_tag, "v1.2.3-rc1");
	assert_memory_equal(&a, &b, sizeof(a));

	/* the longest INFO */
	for (k = 0; k < OTA_INFO_MAX_KEYS; k++)
		memset(a.dev.trusted_keys[k], 0xb0 + k, 32);
	a.dev.n_trusted_keys = OTA_INFO_MAX_KEYS;
	memset(a.dev.run_version, 'v', 32);
	memset(a.dev.run_project, 'p', 32);
	memset(a.dev.run_tag, 't', OTA_INFO_TAG_MAX);
	a.dev.run_tag[OTA_INFO_TAG_MAX] = '\0';
	n = ota_info_encode(buf, sizeof(buf), &a);
	assert_true(n > 256); /* what the READ buffers held before */
	assert_int_equal(ota_info_decode(buf, (size_t)n, &b), 0);
	assert_int_equal(strlen(b.dev.run_tag), OTA_INFO_TAG_MAX);
	assert_memory_equal(&a, &b, sizeof(a));

	sample_status(&s);
	memset(s.dev.run_version, 'v', 32);
	memset(s.dev.last_boot, 'd', sizeof(s.dev.last_boot) - 1);
	memset(s.dev.run_tag, 't', OTA_INFO_TAG_MAX);
	n = ota_status_attr_encode(buf, sizeof(buf), &s);
	assert_true(n > 0);
	assert_int_equal(buf[n - 2 - OTA_INFO_TAG_MAX], OTA_ST_RUN_TAG);
	assert_int_equal(ota_status_attr_decode(buf, (size_t)n, &t), 0);
	assert_memory_equal(&s, &t, sizeof(s));
	/* no tag: no entry, read back as "" */
	sample_status(&s);
	n = ota_status_attr_encode(buf, sizeof(buf), &s);
	assert_int_equal(n, sizeof(status_bytes));
	assert_int_equal(ota_status_attr_decode(buf, (size_t)n, &t), 0);
	assert_string_equal(t.dev.run_tag, "");
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/info/info/bytes", test_info_bytes, NULL, NULL, NULL },
		{ "/info/status/bytes", test_status_bytes, NULL, NULL, NULL },
		{ "/info/status/idle", test_status_idle, NULL, NULL, NULL },
		{ "/info/strings/bounds", test_string_bounds, NULL, NULL,
		  NULL },
		{ "/info/decode/absent-and-unknown",
		  test_decode_absent_and_unknown, NULL, NULL, NULL },
		{ "/info/decode/bad", test_decode_bad, NULL, NULL, NULL },
		{ "/info/decode/keys-beyond-max", test_keys_beyond_max, NULL,
		  NULL, NULL },
		{ "/info/run-tag", test_run_tag, NULL, NULL, NULL },
	};

	return cmocka_run_group_tests_name("info", tests, NULL, NULL);
}
