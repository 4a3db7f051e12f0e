/* SPDX-License-Identifier: MIT */
/*
 * The bad-input matrix: one table of named bad inputs across image files,
 * partition tables, otadata, PDUs and command order. Every row runs
 * against the real programs (bleota-peripheral on a UNIX socket, the
 * bleota CLI, or raw PDUs on the device's socket) and checks
 *
 *   - the exact outcome: the wire status the device answered, or the CLI's
 *     own refusal (nothing sent);
 *   - for CLI rows, the message a user sees and the exit code;
 *   - that the running slot and its otadata are byte-for-byte untouched.
 *
 * Rows that need a particular device state (an image pending confirmation,
 * a committed one, ...) reach it through the real CLI first, and the
 * snapshot of "what must not change" is taken after that set-up.
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
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ota_engine/engine.h"
#include "ota_engine/flash_file.h"
#include "ota_engine/otadata.h"
#include "common/crc32.h"
#include "protocol/frame.h"
#include "protocol/manifest.h"
#include "protocol/status.h"
#include "host/delta_diff.h"
#include "host/transport.h"
#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/sigkeys.h"
#include "tests/harness/tmpdir.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * What bad input must never change: the running slot, and the otadata
 * sector holding the running slot's entry (an update legitimately writes
 * the other sector when it commits).
 */
struct guard {
	uint32_t otadata_off, otadata_len; /* 0: no entry of its own */
	uint32_t run_off, run_len;
	uint8_t *otadata;
	uint8_t *run;
};

static void guard_take(struct guard *g, const char *flash)
{
	struct ota_engine_cfg cfg = { .flash = &ota_flash_file_ops,
				      .chip_id = DEV_CHIP,
				      .inspect_only = true };
	struct ota_engine eng;
	struct ota_flash_file *f;
	unsigned int sec;
	int err;

	f = ota_flash_file_open(flash, 0, OTA_FLASH_FILE_RDONLY, &err);
	assert_non_null(f);
	cfg.flash_ctx = f;
	assert_int_equal(ota_engine_init(&eng, &cfg), 0);
	assert_true(eng.running >= 0);
	g->run_off = eng.layout.ota_off[eng.running];
	g->run_len = eng.layout.ota_size[eng.running];
	g->otadata_off = 0;
	g->otadata_len = 0;
	for (sec = 0; sec < 2; sec++) {
		uint8_t raw[OTA_OTADATA_ENTRY_LEN];
		struct ota_otadata_entry e;
		uint32_t off = eng.layout.otadata_off + sec * 0x1000u;

		assert_int_equal(
			ota_flash_file_ops.read(f, off, raw, sizeof(raw)), 0);
		ota_otadata_decode(raw, &e);
		if (ota_otadata_entry_valid(&e) &&
		    ota_otadata_slot(e.seq, eng.layout.ota_count) ==
			    (unsigned int)eng.running) {
			g->otadata_off = off;
			g->otadata_len = 0x1000;
		}
	}
	g->otadata = malloc(0x1000);
	g->run = malloc(g->run_len);
	assert_non_null(g->otadata);
	assert_non_null(g->run);
	if (g->otadata_len)
		assert_int_equal(ota_flash_file_ops.read(f, g->otadata_off,
							 g->otadata,
							 g->otadata_len),
				 0);
	assert_int_equal(
		ota_flash_file_ops.read(f, g->run_off, g->run, g->run_len), 0);
	ota_flash_file_close(f);
}

static void guard_check(struct guard *g, const char *flash)
{
	uint8_t *buf = malloc(g->run_len > 0x1000 ? g->run_len : 0x1000);
	struct ota_flash_file *f;
	int err;

	assert_non_null(buf);
	f = ota_flash_file_open(flash, 0, OTA_FLASH_FILE_RDONLY, &err);
	assert_non_null(f);
	if (g->otadata_len) {
		assert_int_equal(ota_flash_file_ops.read(f, g->otadata_off, buf,
							 g->otadata_len),
				 0);
		assert_memory_equal(buf, g->otadata, g->otadata_len);
	}
	assert_int_equal(
		ota_flash_file_ops.read(f, g->run_off, buf, g->run_len), 0);
	assert_memory_equal(buf, g->run, g->run_len);
	ota_flash_file_close(f);
	free(buf);
	free(g->otadata);
	free(g->run);
}

/* ---- raw PDUs on the device's socket ---------------------------------------- */

static int raw_connect(const char *sock)
{
	int fd = socket_connect_unix(sock, 5000);

	assert_true(fd >= 0);
	return fd;
}

static void raw_send(int fd, const uint8_t *b, size_t n)
{
	assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The next value with opcode @op (others skipped), or -1 after 3 s. */
static int raw_expect(int fd, uint8_t op, uint8_t *b, size_t cap)
{
	uint64_t end = e2e_mono_ms() + 3000;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = (int64_t)(end - e2e_mono_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return -1;
		n = recv(fd, b, cap, 0);
		if (n <= 0)
			return -1;
		if (b[0] == op)
			return (int)n;
	}
}

/* A request; returns the status byte of its response (or -1). */
static int raw_request(int fd, const uint8_t *req, size_t n, uint32_t *detail)
{
	uint8_t b[OTA_MAX_VALUE];
	int r;

	raw_send(fd, req, n);
	r = raw_expect(fd, req[0] | OTA_OP_RSP_BIT, b, sizeof(b));
	if (r < OTA_RSP_HDR_LEN)
		return -1;
	if (detail)
		*detail = r >= OTA_RSP_HDR_LEN + 4 ? ota_get_le32(b + 3) : 0;
	return b[2];
}

/* Upload @m as the manifest (16-byte segments), tokens from *tok. */
static void raw_manifest(int fd, const struct ota_manifest *m, uint8_t *tok,
			 uint16_t *len, uint32_t *crc)
{
	uint8_t man[OTA_MANIFEST_MAX], req[64];
	int n = ota_manifest_encode(man, sizeof(man), m), off;

	assert_true(n > 0);
	for (off = 0; off < n; off += 16) {
		int k = n - off > 16 ? 16 : n - off;

		req[0] = OTA_OP_MANIFEST;
		req[1] = (*tok)++;
		ota_put_le16(req + 2, (uint16_t)off);
		memcpy(req + 4, man + off, (size_t)k);
		assert_int_equal(raw_request(fd, req, (size_t)k + 4, NULL),
				 OTA_STATUS_OK);
	}
	*len = (uint16_t)n;
	*crc = ota_crc32(0, man, (size_t)n);
}

/* MANIFEST + BEGIN (P = 100) of @im; returns BEGIN's status. */
static int raw_begin(int fd, const struct e2e_image *im, uint8_t flags,
		     uint8_t *tok)
{
	struct ota_manifest m = { .image_size = (uint32_t)im->len };
	struct ota_begin_req br = { .flags = flags, .chunk_size = 100 };
	uint8_t req[32];
	int n;

	dev_sha256(im->data, im->len, m.sha256);
	raw_manifest(fd, &m, tok, &br.manifest_len, &br.manifest_crc);
	n = ota_frame_encode_begin(req, sizeof(req), (*tok)++, &br);
	return raw_request(fd, req, (size_t)n, NULL);
}

/* ---- the table ------------------------------------------------------------------- */

enum row_kind {
	CLI_PUSH,  /* bleota push of a made image */
	CLI_CMD,   /* any bleota command line (no device) */
	RAW,       /* raw PDUs on the device's socket */
	DEV_STATE, /* a set-up, then a bleota command on the device */
};

struct row;
typedef int (*raw_fn)(const struct row *r, int fd, const struct e2e_image *v2,
		      uint32_t *detail);
typedef void (*setup_fn)(const char *sock, const struct e2e_image *v2);
typedef void (*mutate_fn)(const char *flash);

struct row {
	const char *name;
	enum row_kind kind;
	/* CLI_PUSH: the image; device options */
	uint16_t chip;
	uint32_t secver;
	uint32_t big;
	enum esp_corruption corrupt;
	uint16_t min_rev;
	enum {
		SIGN_NONE,
		SIGN_KEY0,
		SIGN_KEY1,
		SIGN_FORGED
	} sign;
	const char *periph_opts; /* @D: the scratch directory */
	/* CLI_CMD / DEV_STATE: the command; @S the device socket, @D the
	 * scratch directory */
	const char *cmd;
	setup_fn setup;
	mutate_fn mutate; /* damage the flash before the device boots */
	raw_fn raw;
	/* expectations */
	int status;          /* wire status, or -1 for none (local refusal) */
	const char *message; /* in the CLI's output */
	int exit_code;
};

/* ---- raw rows ---------------------------------------------------------------------- */

static int raw_data_before_begin(const struct row *r, int fd,
				 const struct e2e_image *v2, uint32_t *detail)
{
	static const uint8_t d[] = { 0x20, 0, 0, 0, 1, 2, 3, 4 };
	uint8_t b[16];

	(void)r;
	(void)v2;
	(void)detail;
	raw_send(fd, d, sizeof(d));
	return raw_expect(fd, OTA_OP_EVENT, b, sizeof(b)) == OTA_EVENT_LEN
		       ? b[1]
		       : -1;
}

static int raw_commit_before_finish(const struct row *r, int fd,
				    const struct e2e_image *v2,
				    uint32_t *detail)
{
	uint8_t tok = 1, req[2] = { OTA_OP_COMMIT, 0 };

	(void)r;
	assert_int_equal(raw_begin(fd, v2, 0, &tok), OTA_STATUS_OK);
	req[1] = tok;
	return raw_request(fd, req, 2, detail);
}

static int raw_finish_missing(const struct row *r, int fd,
			      const struct e2e_image *v2, uint32_t *detail)
{
	uint8_t tok = 1, req[2] = { OTA_OP_FINISH, 0 };

	(void)r;
	assert_int_equal(raw_begin(fd, v2, 0, &tok), OTA_STATUS_OK);
	req[1] = tok;
	return raw_request(fd, req, 2, detail); /* detail: first missing */
}

/* Chunks the device must drop: beyond its credit, replayed, oversized. */
static int raw_bad_chunks(const struct row *r, int fd,
			  const struct e2e_image *v2, uint32_t *detail)
{
	uint8_t tok = 1, d[OTA_MAX_VALUE], b[OTA_MAX_VALUE];
	struct ota_ack ack;
	int n, i;

	assert_int_equal(raw_begin(fd, v2, 0, &tok), OTA_STATUS_OK);
	n = raw_expect(fd, OTA_OP_ACK, b, sizeof(b));
	assert_int_equal(ota_frame_decode_ack(b, (size_t)n, &ack), 0);
	memset(d, 0xa5, sizeof(d));
	d[0] = OTA_OP_DATA;
	if (!strcmp(r->name, "out-of-window sequence")) {
		ota_put_le24(d + 1, ack.limit + 5);
		raw_send(fd, d, 4 + 100);
	} else if (!strcmp(r->name, "replayed sequence")) {
		/* chunk 0 of the stream twice: the second is a duplicate */
		ota_put_le24(d + 1, 0);
		memcpy(d + 4, v2->data, 100);
		raw_send(fd, d, 4 + 100);
		raw_send(fd, d, 4 + 100);
	} else {
		/* oversized: 101 bytes for a 100-byte chunk, and a value
		 * longer than any the device accepts */
		ota_put_le24(d + 1, 1);
		raw_send(fd, d, 4 + 101);
		raw_send(fd, d, sizeof(d));
	}
	/* the device answers with an ACK that does not take the bad chunk */
	for (i = 0; i < 4; i++) {
		n = raw_expect(fd, OTA_OP_ACK, b, sizeof(b));
		if (n < 0)
			break;
		assert_int_equal(ota_frame_decode_ack(b, (size_t)n, &ack), 0);
		*detail = ack.cum;
		if (!strcmp(r->name, "replayed sequence") && ack.cum == 1)
			return OTA_STATUS_OK;
	}
	return ack.cum == 0 ? OTA_STATUS_OK : -1;
}

static int raw_chunk_size(const struct row *r, int fd,
			  const struct e2e_image *v2, uint32_t *detail)
{
	struct ota_manifest m = { .image_size = (uint32_t)v2->len };
	struct ota_begin_req br = { .chunk_size = 200 };
	uint8_t tok = 1, req[32];
	int n;

	(void)r;
	dev_sha256(v2->data, v2->len, m.sha256);
	raw_manifest(fd, &m, &tok, &br.manifest_len, &br.manifest_crc);
	n = ota_frame_encode_begin(req, sizeof(req), tok, &br);
	return raw_request(fd, req, (size_t)n, detail);
}

static int raw_unknown_op(const struct row *r, int fd,
			  const struct e2e_image *v2, uint32_t *detail)
{
	static const uint8_t req[] = { 0x1e, 0x01 };

	(void)r;
	(void)v2;
	return raw_request(fd, req, sizeof(req), detail);
}

static int raw_manifest_crc(const struct row *r, int fd,
			    const struct e2e_image *v2, uint32_t *detail)
{
	struct ota_manifest m = { .image_size = (uint32_t)v2->len };
	struct ota_begin_req br = { .chunk_size = 100 };
	uint8_t tok = 1, req[32];
	int n;

	(void)r;
	dev_sha256(v2->data, v2->len, m.sha256);
	raw_manifest(fd, &m, &tok, &br.manifest_len, &br.manifest_crc);
	br.manifest_crc ^= 1;
	n = ota_frame_encode_begin(req, sizeof(req), tok, &br);
	return raw_request(fd, req, (size_t)n, detail);
}

static int raw_critical_tlv(const struct row *r, int fd,
			    const struct e2e_image *v2, uint32_t *detail)
{
	uint8_t man[64], req[80];
	uint32_t crc;
	size_t n = 0;
	struct ota_begin_req br = { .chunk_size = 100 };

	(void)r;
	man[n++] = OTA_TLV_IMAGE_SIZE;
	man[n++] = 4;
	ota_put_le32(man + n, (uint32_t)v2->len);
	n += 4;
	man[n++] = OTA_TLV_SHA256;
	man[n++] = 32;
	dev_sha256(v2->data, v2->len, man + n);
	n += 32;
	man[n++] = 0xa7; /* critical, unknown to a version 1 device */
	man[n++] = 1;
	man[n++] = 0;
	req[0] = OTA_OP_MANIFEST;
	req[1] = 1;
	ota_put_le16(req + 2, 0);
	memcpy(req + 4, man, n);
	assert_int_equal(raw_request(fd, req, n + 4, NULL), OTA_STATUS_OK);
	crc = ota_crc32(0, man, n);
	br.manifest_len = (uint16_t)n;
	br.manifest_crc = crc;
	n = (size_t)ota_frame_encode_begin(req, sizeof(req), 2, &br);
	return raw_request(fd, req, n, detail);
}

static int raw_reserved_flag(const struct row *r, int fd,
			     const struct e2e_image *v2, uint32_t *detail)
{
	struct ota_manifest m = { .image_size = (uint32_t)v2->len };
	struct ota_begin_req br = { .chunk_size = 100 };
	uint8_t tok = 1, req[32];
	int n;

	(void)r;
	dev_sha256(v2->data, v2->len, m.sha256);
	raw_manifest(fd, &m, &tok, &br.manifest_len, &br.manifest_crc);
	n = ota_frame_encode_begin(req, sizeof(req), tok, &br);
	req[2] = 0x40; /* a reserved BEGIN flag */
	return raw_request(fd, req, (size_t)n, detail);
}

static int raw_second_client(const struct row *r, int fd,
			     const struct e2e_image *v2, uint32_t *detail)
{
	static const uint8_t read_info[] = { OTA_OP_READ, 1, OTA_ATTR_INFO, 0,
					     0 };
	const char *sock = r->cmd;
	int fd2, st;

	(void)v2;
	/* the first client holds the device with a request of its own */
	assert_int_equal(raw_request(fd, read_info, sizeof(read_info), NULL),
			 OTA_STATUS_OK);
	fd2 = raw_connect(sock);
	st = raw_request(fd2, read_info, sizeof(read_info), detail);
	close(fd2);
	return st;
}

/* ---- device-state set-ups --------------------------------------------------- */

static char out_buf[65536];

static void setup_pending(const char *sock, const struct e2e_image *v2)
{
	assert_int_equal(e2e_bleota(out_buf, sizeof(out_buf),
				    "push --reboot unix:%s %s", sock, v2->path),
			 0);
}

static void setup_committed(const char *sock, const struct e2e_image *v2)
{
	assert_int_equal(e2e_bleota(out_buf, sizeof(out_buf), "push unix:%s %s",
				    sock, v2->path),
			 0);
}

/* Overwrite @len bytes of the flash file at @off with @byte. */
static void poke(const char *flash, uint32_t off, uint8_t byte, size_t len)
{
	FILE *fp = fopen(flash, "r+b");
	size_t i;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
	for (i = 0; i < len; i++)
		fputc(byte, fp);
	fclose(fp);
}

/* The two-ota layout's otadata sectors (partition at 0xd000). */
#define OTADATA_OFF 0xd000u

/* Boot once so otadata gets its entry, then break that entry's CRC. */
static void mutate_otadata_crc(const char *flash)
{
	struct e2e_periph per;

	e2e_periph_start(&per, flash, "pre", "");
	e2e_periph_stop(&per);
	poke(flash, OTADATA_OFF + 28, 0x5a, 1); /* crc of entry 0 */
}

static void mutate_otadata_both(const char *flash)
{
	poke(flash, OTADATA_OFF, 0x00, 32);
	poke(flash, OTADATA_OFF + 0x1000, 0x12, 32);
}

/* v2 booted, was never confirmed, and the bootloader rolled it back */
static void setup_failed_image(const char *sock, const struct e2e_image *v2)
{
	assert_int_equal(e2e_bleota(out_buf, sizeof(out_buf),
				    "push --reboot unix:%s %s", sock, v2->path),
			 0);
	assert_int_equal(
		e2e_bleota(out_buf, sizeof(out_buf), "reboot unix:%s", sock),
		0);
}

/* An image the device finds invalid while it arrives (chip revision). */
static void setup_rev_image(const char *sock, const struct e2e_image *v2)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = "9.0.0",
				     .project = "blinky",
				     .min_rev_full = 300 };
	char path[600];
	size_t len;
	uint8_t *img;
	FILE *fp;

	(void)sock;
	(void)v2;
	/* a valid file, but for chip revision v3.0+: the device is v0.0 */
	img = esp_image_build(&sp, &len);
	assert_non_null(img);
	fp = fopen(tmpdir_path(path, sizeof(path), "rev.bin"), "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(img, 1, len, fp), len);
	fclose(fp);
	free(img);
}

/* ---- delta rows: a patch against the running v1 ------------------------------- */

static const struct e2e_image *g_v1; /* the running image, the base */

/* MANIFEST + BEGIN (P = 100) of @m; returns BEGIN's status. */
static int raw_begin_m(int fd, const struct ota_manifest *m, uint8_t *tok,
		       uint32_t *detail)
{
	struct ota_begin_req br = { .chunk_size = 100 };
	uint8_t req[32];
	int n;

	raw_manifest(fd, m, tok, &br.manifest_len, &br.manifest_crc);
	n = ota_frame_encode_begin(req, sizeof(req), (*tok)++, &br);
	return raw_request(fd, req, (size_t)n, detail);
}

/*
 * The patch as the framed stream (block CRC trailers) in 100-byte chunks
 * (it fits the device's credit), then FINISH: the EVENT that ends the
 * session, or FINISH's answer.
 */
static int raw_stream_finish(int fd, const uint8_t *p, size_t len, uint8_t *tok,
			     uint32_t *detail)
{
	uint8_t st[2 * 4096 + 8], d[4 + 100], b[OTA_MAX_VALUE];
	uint8_t fin[2] = { OTA_OP_FINISH, 0 };
	size_t n = 0, off, k;
	int r;

	assert_true(len <= 2 * 4096);
	for (off = 0; off < len; off += 4096) {
		k = len - off < 4096 ? len - off : 4096;
		memcpy(st + n, p + off, k);
		ota_put_le32(st + n + k, ota_crc32(0, p + off, k));
		n += k + 4;
	}
	d[0] = OTA_OP_DATA;
	for (off = 0; off < n; off += 100) {
		k = n - off < 100 ? n - off : 100;
		ota_put_le24(d + 1, (uint32_t)(off / 100));
		memcpy(d + 4, st + off, k);
		raw_send(fd, d, 4 + k);
	}
	fin[1] = (*tok)++;
	raw_send(fd, fin, sizeof(fin));
	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };

		if (poll(&pf, 1, 5000) <= 0)
			return -1;
		r = (int)recv(fd, b, sizeof(b), 0);
		if (r <= 0)
			return -1;
		if (b[0] == OTA_OP_EVENT && r >= OTA_EVENT_LEN) {
			*detail = ota_get_le32(b + 2);
			return b[1];
		}
		if (b[0] == (OTA_OP_FINISH | OTA_OP_RSP_BIT)) {
			*detail = r >= OTA_RSP_HDR_LEN + 4 ? ota_get_le32(b + 3)
							   : 0;
			return b[2];
		}
	}
}

/* v1 with 16 bytes changed: a one-block patch (the image itself is no
 * longer valid, which none of these rows gets to see). */
static uint8_t *delta_new(size_t *len)
{
	uint8_t *nw = malloc(g_v1->len);

	assert_non_null(nw);
	memcpy(nw, g_v1->data, g_v1->len);
	memset(nw + g_v1->len / 2, 0x3c, 16);
	*len = g_v1->len;
	return nw;
}

static int raw_delta(const struct row *r, int fd, const struct e2e_image *v2,
		     uint32_t *detail)
{
	struct delta_diff_opts o = { .heatshrink = true, .w = 8, .l = 7 };
	struct ota_manifest m = { .encoding = OTA_ENCODING_DELTA,
				  .has_base_sha256 = true };
	size_t nlen, plen, cut = 0;
	uint8_t *nw = delta_new(&nlen), *p, tok = 1;
	bool is_app;
	int st;

	(void)v2;
	p = delta_diff(g_v1->data, g_v1->len, nw, nlen, &o, &plen);
	assert_non_null(p);
	assert_true(plen < 4096);
	m.image_size = (uint32_t)nlen;
	dev_sha256(nw, nlen, m.sha256);
	delta_esp_base_hash(g_v1->data, g_v1->len, m.base_sha256, &is_app);
	if (!strcmp(r->name, "delta: patch for another base")) {
		m.base_sha256[0] ^= 1;
	} else if (!strcmp(r->name, "delta: corrupt heatshrink stream")) {
		/* all-ones bits: literal 0xff bytes, an endless varint */
		memset(p + 2, 0xff, plen - 2);
	} else if (!strcmp(r->name, "delta: truncated heatshrink stream")) {
		cut = 5;
	} else if (!strcmp(r->name, "delta: reads outside the base")) {
		m.has_base_sha256 = false; /* a compressed full image */
	} else if (!strcmp(r->name, "delta: output hash differs")) {
		m.sha256[0] ^= 1;
	} else if (!strcmp(r->name, "delta: writes past to-size")) {
		/* none: to-size 10, an extra record of 20 bytes */
		static const uint8_t past[] = { 0x00, 10, 0, 0, 20 };

		memset(p, 0xaa, 40);
		memcpy(p, past, sizeof(past));
		plen = 40;
		m.image_size = 10;
	} else if (!strcmp(r->name, "delta: to-size beyond the slot")) {
		/* none: to-size 2 MiB, more than the 1 MiB slot */
		p[0] = 0x00;
		plen = 1 + delta_varint_put(p + 1, 2 * 1024 * 1024);
		p[plen++] = 0;
	}
	m.patch_size = (uint32_t)(plen - cut);
	st = raw_begin_m(fd, &m, &tok, detail);
	if (st == OTA_STATUS_OK)
		st = raw_stream_finish(fd, p, plen - cut, &tok, detail);
	free(p);
	free(nw);
	return st;
}

static const struct row rows[] = {
	/* image files: refused by the CLI before anything is sent */
	{ "truncated image", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_TRUNCATE, .status = -1,
	  .message = "not a valid app image", .exit_code = 3 },
	{ "truncated header", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_TRUNCATE_HDR, .status = -1,
	  .message = "not a valid app image", .exit_code = 3 },
	{ "bad magic", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_MAGIC, .status = -1,
	  .message = "not a valid app image", .exit_code = 3 },
	{ "bad checksum", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_CHECKSUM, .status = -1, .message = "checksum",
	  .exit_code = 3 },
	{ "bad SHA-256", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_SHA, .status = -1, .message = "SHA-256",
	  .exit_code = 3 },
	{ "flipped data byte", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_DATA_BYTE, .status = -1,
	  .message = "not a valid app image", .exit_code = 3 },
	{ "segment overrun", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_SEG_LEN_HUGE, .status = -1,
	  .message = "segment", .exit_code = 3 },
	{ "too many segments", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_SEG_COUNT, .status = -1, .message = "segment",
	  .exit_code = 3 },
	{ "odd segment length", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_SEG_LEN_ODD, .status = -1,
	  .message = "segment", .exit_code = 3 },
	{ "bad app descriptor", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .corrupt = ESP_CORRUPT_APP_DESC, .status = -1,
	  .message = "not a valid app image", .exit_code = 3 },
	/* images the device refuses at pre-flight, before any erase */
	{ "wrong chip", CLI_PUSH, .chip = 9, .big = 100000,
	  .status = OTA_STATUS_WRONG_CHIP,
	  .message = "built for a different chip", .exit_code = 4 },
	{ "bigger than the slot", CLI_PUSH, .chip = DEV_CHIP, .big = 1100000,
	  .status = OTA_STATUS_TOO_LARGE,
	  .message = "larger than the update slot", .exit_code = 4 },
	{ "downgrade", CLI_PUSH, .chip = DEV_CHIP, .secver = 1, .big = 100000,
	  .periph_opts = "--secure-version 3", .status = OTA_STATUS_DOWNGRADE,
	  .message = "below the device's anti-rollback counter",
	  .exit_code = 4 },
	{ "same as running", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .status = OTA_STATUS_SAME_AS_RUNNING,
	  .message = "identical to the running image", .exit_code = 4 },
	/* a device that trusts key 0 (ECDSA P-256) */
	{ "unsigned when required", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .periph_opts = "--trusted-key @D/key0.pub.pem",
	  .status = OTA_STATUS_SIGNATURE_REQUIRED,
	  .message = "only accepts signed images", .exit_code = 4 },
	{ "bad signature", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .sign = SIGN_FORGED, .periph_opts = "--trusted-key @D/key0.pub.pem",
	  .status = OTA_STATUS_BAD_SIGNATURE,
	  .message = "signature does not verify", .exit_code = 4 },
	{ "wrong key", CLI_PUSH, .chip = DEV_CHIP, .big = 100000,
	  .sign = SIGN_KEY1, .periph_opts = "--trusted-key @D/key0.pub.pem",
	  .status = OTA_STATUS_UNTRUSTED_KEY,
	  .message = "key the device does not trust", .exit_code = 4 },
	/* partition tables and flashes (bleota part/flash) */
	{ "malformed CSV row", CLI_CMD,
	  .cmd = "part csv2bin @D/bad-row.csv @D/out.bin", .status = -1,
	  .message = "bad-row.csv:3: bad or missing size", .exit_code = 1 },
	{ "overlapping partitions", CLI_CMD,
	  .cmd = "part csv2bin @D/overlap.csv @D/out.bin", .status = -1,
	  .message = "overlap", .exit_code = 1 },
	{ "table larger than the flash", CLI_CMD,
	  .cmd = "flash create @D/small.flash --size 1M --layout two-ota",
	  .status = -1, .message = "two-ota", .exit_code = 1 },
	{ "partition table not a table", CLI_CMD,
	  .cmd = "part bin2csv @D/bad-row.csv @D/out.csv", .status = -1,
	  .message = "bleota:", .exit_code = 1 },
	/* otadata damaged before power-on: the bootloader still finds ota_0 */
	{ "bad otadata CRC", DEV_STATE, .mutate = mutate_otadata_crc,
	  .cmd = "status unix:@S", .status = OTA_STATUS_OK,
	  .message = "running:         ota_0 1.0.0", .exit_code = 0 },
	{ "both otadata sectors corrupt", DEV_STATE,
	  .mutate = mutate_otadata_both, .cmd = "status unix:@S",
	  .status = OTA_STATUS_OK, .message = "running:         ota_0 1.0.0",
	  .exit_code = 0 },
	{ "both otadata sectors corrupt, then an update", DEV_STATE,
	  .mutate = mutate_otadata_both, .cmd = "push unix:@S @D/v2.bin",
	  .status = OTA_STATUS_OK, .message = "boots next", .exit_code = 0 },
	/* PDUs and command order on the device's socket */
	{ "data before BEGIN", RAW, .raw = raw_data_before_begin,
	  .status = OTA_STATUS_BAD_STATE },
	{ "commit before finish", RAW, .raw = raw_commit_before_finish,
	  .status = OTA_STATUS_NOT_VERIFIED },
	{ "finish with blocks missing", RAW, .raw = raw_finish_missing,
	  .status = OTA_STATUS_INCOMPLETE },
	{ "out-of-window sequence", RAW, .raw = raw_bad_chunks,
	  .status = OTA_STATUS_OK },
	{ "replayed sequence", RAW, .raw = raw_bad_chunks,
	  .status = OTA_STATUS_OK },
	{ "oversized PDU", RAW, .raw = raw_bad_chunks,
	  .status = OTA_STATUS_OK },
	{ "MTU too small for the chunk", RAW, .raw = raw_chunk_size,
	  .periph_opts = "--mtu 100", .status = OTA_STATUS_BAD_CHUNK_SIZE },
	{ "unknown opcode", RAW, .raw = raw_unknown_op,
	  .status = OTA_STATUS_UNSUPPORTED },
	{ "manifest CRC mismatch", RAW, .raw = raw_manifest_crc,
	  .status = OTA_STATUS_BAD_MANIFEST },
	{ "unknown critical manifest field", RAW, .raw = raw_critical_tlv,
	  .status = OTA_STATUS_UNSUPPORTED },
	{ "reserved BEGIN flag", RAW, .raw = raw_reserved_flag,
	  .status = OTA_STATUS_BAD_PDU },
	{ "second client", RAW, .raw = raw_second_client,
	  .status = OTA_STATUS_BUSY },
	/* delta patches (ENCODING 1) against the running v1 */
	{ "delta: patch for another base", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_WRONG_BASE },
	{ "delta: corrupt heatshrink stream", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_BAD_PATCH },
	{ "delta: truncated heatshrink stream", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_BAD_PATCH },
	{ "delta: reads outside the base", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_BAD_PATCH },
	{ "delta: writes past to-size", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_BAD_PATCH },
	{ "delta: to-size beyond the slot", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_TOO_LARGE },
	{ "delta: output hash differs", RAW, .raw = raw_delta,
	  .status = OTA_STATUS_HASH_MISMATCH },
	/* command order through the CLI */
	{ "confirm with nothing pending", DEV_STATE,
	  .periph_opts = "--no-rollback", .setup = setup_pending,
	  .cmd = "confirm unix:@S", .status = OTA_STATUS_NOTHING_PENDING,
	  .message = "no new image is waiting for confirmation",
	  .exit_code = 1 },
	{ "rollback with nothing to roll back to", DEV_STATE,
	  .cmd = "rollback unix:@S", .status = OTA_STATUS_NO_ROLLBACK_TARGET,
	  .message = "no previous image to roll back to", .exit_code = 1 },
	{ "push while the new image is unconfirmed", DEV_STATE,
	  .setup = setup_pending, .cmd = "push unix:@S @D/v3.bin",
	  .status = OTA_STATUS_PENDING_CONFIRM,
	  .message = "waiting for confirmation", .exit_code = 4 },
	{ "push while a commit waits for a reboot", DEV_STATE,
	  .setup = setup_committed, .cmd = "push unix:@S @D/v3.bin",
	  .status = OTA_STATUS_REBOOT_REQUIRED,
	  .message = "waits for the device to reboot", .exit_code = 4 },
	{ "same as the last failed image", DEV_STATE,
	  .setup = setup_failed_image, .cmd = "push unix:@S @D/v2.bin",
	  .status = OTA_STATUS_SAME_AS_FAILED,
	  .message = "identical to the last image that failed",
	  .exit_code = 4 },
	{ "revision out of range", DEV_STATE, .setup = setup_rev_image,
	  .cmd = "push unix:@S @D/rev.bin", .status = OTA_STATUS_BAD_IMAGE,
	  .message = "not a valid app image", .exit_code = 6 },
	{ "revision out of range, pushed again", DEV_STATE,
	  .setup = setup_rev_image,
	  .cmd = "push --retries 0 unix:@S @D/rev.bin @@twice",
	  .status = OTA_STATUS_BAD_IMAGE, .message = "not a valid app image",
	  .exit_code = 6 },
	{ "double commit", DEV_STATE, .setup = setup_committed,
	  .cmd = "push --force unix:@S @D/v2.bin", .status = OTA_STATUS_OK,
	  .message = "boots next", .exit_code = 0 },
};

/* @cmd with @S and @D replaced. */
static void expand(char *out, size_t cap, const char *cmd, const char *sock,
		   const char *dir)
{
	size_t o = 0;

	for (; *cmd && o + 1 < cap; cmd++) {
		const char *sub = NULL;

		if (cmd[0] == '@' && cmd[1] == 'S')
			sub = sock;
		else if (cmd[0] == '@' && cmd[1] == 'D')
			sub = dir;
		if (sub) {
			o += (size_t)snprintf(out + o, cap - o, "%s", sub);
			cmd++;
			continue;
		}
		out[o++] = *cmd;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

static void write_file(const char *name, const char *text)
{
	char path[600];
	FILE *fp = fopen(tmpdir_path(path, sizeof(path), name), "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/*
 * Replace @im by its signed form (P-256 key 0 or 1). SIGN_FORGED: key 0,
 * then one byte of the signature flipped and the block's CRC made right
 * again, so it passes the host's format check and only the device's
 * signature verification catches it.
 */
static void sign_image(struct e2e_image *im, int how)
{
	unsigned int idx = how == SIGN_KEY1 ? 1 : 0;
	struct ota_sigblock b;
	uint8_t *s, *blk;
	size_t len;
	FILE *fp;

	s = sigkey_sign_image(im->data, im->len, OTA_SIG_ECDSA_P256, &idx, 1,
			      &len);
	assert_non_null(s);
	if (how == SIGN_FORGED) {
		blk = s + len - OTA_SIGBLOCK_SECTOR_LEN;
		assert_int_equal(ota_sigblock_parse(blk, OTA_SIGBLOCK_LEN, &b),
				 0);
		blk[b.sig - blk + 5] ^= 0x40;
		ota_sigblock_seal(blk);
	}
	fp = fopen(im->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(s, 1, len, fp), len);
	fclose(fp);
	free(im->data);
	im->data = s;
	im->len = len;
}

static void run_row(const struct row *r, struct e2e_image *v1,
		    struct e2e_image *v2)
{
	char flash[512], dir[512], cmd[1400], *slash;
	struct e2e_periph per;
	struct guard g;
	uint32_t detail = 0;
	int code;

	print_message("row: %s\n", r->name);
	tmpdir_path(dir, sizeof(dir), "x");
	slash = strrchr(dir, '/');
	*slash = '\0';

	if (r->kind == CLI_CMD) {
		expand(cmd, sizeof(cmd), r->cmd, "", dir);
		code = e2e_bleota(out_buf, sizeof(out_buf), "%s", cmd);
		assert_int_equal(code, r->exit_code);
		assert_non_null(strstr(out_buf, r->message));
		return;
	}

	e2e_flash(flash, sizeof(flash), "row.flash", v1);
	if (r->mutate)
		r->mutate(flash);
	expand(cmd, sizeof(cmd), r->periph_opts ? r->periph_opts : "", "", dir);
	e2e_periph_start(&per, flash, "row", cmd);
	if (r->setup)
		r->setup(per.sock, v2);
	guard_take(&g, flash);

	switch (r->kind) {
	case CLI_PUSH: {
		struct e2e_image im;

		e2e_image(&im, "row.bin",
			  !strcmp(r->name, "same as running") ? "1.0.0"
							      : "7.0.0",
			  r->chip, r->secver,
			  !strcmp(r->name, "same as running") ? 100000 : r->big,
			  r->corrupt);
		if (!strcmp(r->name, "same as running")) {
			free(im.data);
			im = *v1;
		}
		if (r->sign != SIGN_NONE)
			sign_image(&im, r->sign);
		code = e2e_bleota(out_buf, sizeof(out_buf),
				  "push --json unix:%s %s", per.sock, im.path);
		if (strcmp(r->name, "same as running"))
			free(im.data);
		assert_int_equal(code, r->exit_code);
		assert_non_null(strstr(out_buf, r->message));
		if (r->status >= 0) {
			char want[64];

			snprintf(want, sizeof(want), "\"status\":\"%s\"",
				 ota_status_name((uint8_t)r->status));
			assert_non_null(strstr(out_buf, want));
		} else {
			/* the device never heard of it */
			assert_false(e2e_log_contains(&per, "update started"));
		}
		break;
	}
	case RAW: {
		struct row rr = *r;
		int fd = raw_connect(per.sock), st;

		rr.cmd = per.sock;
		st = r->raw(&rr, fd, v2, &detail);
		close(fd);
		if (st != r->status) {
			size_t n;
			uint8_t *log = e2e_read_all(per.log, &n);
			size_t from = n > 900 ? n - 900 : 0;

			fail_msg("%s: status %d, want %d; device log:\n%.*s",
				 r->name, st, r->status, (int)(n - from),
				 (char *)log + from);
		}
		/* and the CLI's text for it says something and what to do */
		assert_true(ota_status_is_known((uint8_t)st));
		if (st != OTA_STATUS_OK)
			assert_true(strlen(ota_status_hint((uint8_t)st)) > 10);
		break;
	}
	case DEV_STATE: {
		char *twice;

		expand(cmd, sizeof(cmd), r->cmd, per.sock, dir);
		twice = strstr(cmd, " @@twice");
		if (twice) {
			/* the first attempt fails; the second must start
			 * over, not resume a hopeless image */
			*twice = '\0';
			e2e_bleota(out_buf, sizeof(out_buf), "%s", cmd);
		}
		code = e2e_bleota(out_buf, sizeof(out_buf), "%s", cmd);
		if (twice)
			assert_null(strstr(out_buf, "resuming"));
		assert_int_equal(code, r->exit_code);
		assert_non_null(strstr(out_buf, r->message));
		if (r->status != OTA_STATUS_OK) {
			assert_non_null(strstr(
				out_buf, ota_status_str((uint8_t)r->status)));
		}
		break;
	}
	case CLI_CMD:
		break;
	}
	e2e_periph_stop(&per);
	guard_check(&g, flash);
}

static void test_matrix(void **state)
{
	struct e2e_image v1, v2, v3;
	char key[512];
	size_t i;

	(void)state;
	e2e_image(&v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 150000,
		  ESP_CORRUPT_NONE);
	e2e_image(&v3, "v3.bin", "3.0.0", DEV_CHIP, 0, 120000,
		  ESP_CORRUPT_NONE);
	g_v1 = &v1;
	tmpdir_path(key, sizeof(key), "key0.pub.pem");
	sigkey_write_pem(sigkey_get(OTA_SIG_ECDSA_P256, 0), key, false);
	write_file("bad-row.csv", "# Name, Type, SubType, Offset, Size\n"
				  "nvs, data, nvs, , 0x4000\n"
				  "ota_0, app, ota_0, 0x10000, banana\n");
	write_file("overlap.csv", "nvs, data, nvs, 0x9000, 0x6000\n"
				  "otadata, data, ota, 0xe000, 0x2000\n"
				  "ota_0, app, ota_0, 0x10000, 1M\n"
				  "ota_1, app, ota_1, 0x100000, 1M\n");
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		run_row(&rows[i], &v1, &v2);
	print_message("bad-input matrix: %zu rows\n", ARRAY_SIZE(rows));
	assert_true(ARRAY_SIZE(rows) >= 30);
	free(v1.data);
	free(v2.data);
	free(v3.data);
	sigkey_free_all();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/badinput/matrix", test_matrix, NULL, NULL, NULL },
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	e2e_init();
	rc = cmocka_run_group_tests_name("badinput", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
