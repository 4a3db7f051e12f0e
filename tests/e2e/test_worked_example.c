/* SPDX-License-Identifier: MIT */
/*
 * docs/protocol.md §9.6 replayed against the real device: a 336-byte
 * ESP32-C3 app image, the PDUs of the example byte for byte, written to
 * bleota-peripheral's UNIX SEQPACKET socket (MTU 247, a fresh two-OTA
 * flash) and every answer compared with the bytes the example prints.
 * Afterwards ota_0 holds the image and the device has selected it.
 * Beside it, the other places where the spec and the real device were
 * made to agree: optional manifest fields, a disconnect ending the
 * session (§4.6), CONFIRM of a VALID image and RUN_STATE (§3.8, §6.2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/crc32.h"
#include "tests/harness/e2e.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

#define IMAGE_LEN 336

/* §9.6: the image's SHA-256 (the whole file) */
static const uint8_t image_sha[32] = {
	0x0f, 0x11, 0x8a, 0x28, 0x53, 0xdb, 0x0f, 0x78, 0xb8, 0xf9, 0x3a,
	0xd8, 0x7e, 0xe4, 0xba, 0xf1, 0x93, 0x9c, 0x68, 0xf2, 0xff, 0x83,
	0xfb, 0xb6, 0x87, 0x14, 0xb9, 0x96, 0xbc, 0x51, 0x4c, 0x16,
};

/* §9.6: MANIFEST token 1, offset 0, the 56 manifest bytes */
static const uint8_t manifest_pdu[] = {
	0x02, 0x01, 0x00, 0x00, 0x01, 0x04, 0x50, 0x01, 0x00, 0x00, 0x02, 0x20,
	0x0f, 0x11, 0x8a, 0x28, 0x53, 0xdb, 0x0f, 0x78, 0xb8, 0xf9, 0x3a, 0xd8,
	0x7e, 0xe4, 0xba, 0xf1, 0x93, 0x9c, 0x68, 0xf2, 0xff, 0x83, 0xfb, 0xb6,
	0x87, 0x14, 0xb9, 0x96, 0xbc, 0x51, 0x4c, 0x16, 0x03, 0x05, 0x32, 0x2e,
	0x30, 0x2e, 0x30, 0x04, 0x07, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65,
};

/* The image of §9.6, built as the example describes it. */
static uint8_t *example_image(void)
{
	struct esp_image_spec sp = {
		.chip_id = 5,
		.version = "2.0.0",
		.project = "example",
		.nseg = 1,
		.seed = 1,
	};
	uint8_t *img;
	size_t len;

	sp.seg[0].kind = ESP_SEG_DROM;
	sp.seg[0].len = 256;
	img = esp_image_build(&sp, &len);
	assert_non_null(img);
	assert_int_equal(len, IMAGE_LEN);
	/* the image the example prints, not merely one like it */
	assert_int_equal(ota_crc32(0, img, len), 0xc4ad8204);
	return img;
}

static void send_pdu(int fd, const uint8_t *b, size_t len)
{
	assert_int_equal(send(fd, b, len, 0), (ssize_t)len);
}

/*
 * The next value from the device (bounded wait: a silent device fails,
 * naming the line of the test that waited).
 */
static struct e2e_periph *live;

/* what the device logged, for a failure message */
static void dump_device_log(void)
{
	char buf[4096];
	size_t n = 0;
	FILE *fp = live ? fopen(live->log, "r") : NULL;

	if (!fp)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	fprintf(stderr, "--- device log (%s):\n%s---\n", live->log, buf);
}

static size_t recv_pdu_at(int fd, uint8_t *b, size_t cap, int line)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, 10000) != 1) {
		dump_device_log();
		fail_msg("line %d: no value from the device within 10 s", line);
	}
	n = recv(fd, b, cap, 0);
	if (n <= 0)
		fail_msg("line %d: the device closed the connection", line);
	return (size_t)n;
}
#define recv_pdu(fd, b, cap) recv_pdu_at(fd, b, cap, __LINE__)

static void expect_at(int fd, const uint8_t *want, size_t len, int line)
{
	uint8_t b[600];
	size_t n = recv_pdu_at(fd, b, sizeof(b), line);

	if (n != len || memcmp(b, want, len))
		fail_msg("line %d: the device sent %zu bytes starting %02x "
			 "%02x, "
			 "expected %zu starting %02x %02x",
			 line, n, b[0], n > 1 ? b[1] : 0, len, want[0],
			 len > 1 ? want[1] : 0);
}

#define EXPECT(fd, ...)                                 \
	expect_at(fd, (const uint8_t[]){ __VA_ARGS__ }, \
		  sizeof((const uint8_t[]){ __VA_ARGS__ }), __LINE__)
#define SEND(fd, ...)                                  \
	send_pdu(fd, (const uint8_t[]){ __VA_ARGS__ }, \
		 sizeof((const uint8_t[]){ __VA_ARGS__ }))

/* live: the device of the running test, killed by teardown if an assert
 * fails (declared above, for failure messages) */

static void periph_start(struct e2e_periph *p, const char *flash,
			 const char *tag, const char *opts)
{
	e2e_periph_start(p, flash, tag, opts);
	live = p;
}

static void periph_stop(struct e2e_periph *p)
{
	live = NULL;
	e2e_periph_stop(p);
}

static int teardown(void **state)
{
	(void)state;
	if (live)
		e2e_periph_kill(live);
	live = NULL;
	return 0;
}

static int connect_dev(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* How often the device's log says "client disconnected" (the log file
 * may hold earlier devices' lines: callers compare counts). */
static unsigned int disconnects_logged(const struct e2e_periph *p)
{
	static char buf[65536];
	unsigned int count = 0;
	const char *at = buf;
	FILE *fp = fopen(p->log, "r");
	size_t n = 0;

	if (fp) {
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
	}
	buf[n] = '\0';
	while ((at = strstr(at, "client disconnected"))) {
		count++;
		at++;
	}
	return count;
}

/*
 * Wait (at most 10 s) until the device's log says it saw the link drop
 * (@before: the count before it): the daemon handles a hang-up and a new
 * connection in whichever order its main loop sees them, and §4.6 is about
 * what follows the drop.
 */
static void wait_device_saw_disconnect(const struct e2e_periph *p,
				       unsigned int before)
{
	int i;

	for (i = 0; i < 1000; i++) {
		if (disconnects_logged(p) > before)
			return;
		usleep(10000);
	}
	dump_device_log();
	fail_msg("the device never logged the disconnect (%s)", p->log);
}

/* An ACK with @cum and limit 2, whatever its number; a timer ACK with a
 * lower cum before it is skipped. */
static void expect_ack(int fd, uint8_t cum)
{
	uint8_t b[64];
	size_t n;

	do {
		n = recv_pdu(fd, b, sizeof(b));
		assert_int_equal(n, 10);
		assert_int_equal(b[0], 0x40);
	} while (b[4] < cum);
	assert_memory_equal(b + 2,
			    ((const uint8_t[]){ 0x00, 0x00, cum, 0x00, 0x00,
						0x02, 0x00, 0x00 }),
			    8);
}

enum replay_mode {
	REPLAY_AS_WRITTEN,
	/* the manifest without its VERSION and PROJECT TLVs (its first 40
	 * bytes: IMAGE_SIZE and SHA256 only), which §5 calls optional; the
	 * device used to end such a session in MANIFEST_MISMATCH */
	REPLAY_MINIMAL_MANIFEST,
	/* §4.6: the link drops after DATA 0 */
	REPLAY_DISCONNECT,
};

/* Replay §9.6. */
static void replay(enum replay_mode mode)
{
	bool minimal = mode == REPLAY_MINIMAL_MANIFEST;
	uint8_t *img = example_image(), stream[IMAGE_LEN + 4], pdu[244], b[64];
	struct e2e_flash_view v;
	struct e2e_periph per;
	char flash[512];
	size_t n;
	int fd;

	e2e_init();
	tmpdir_path(flash, sizeof(flash), "example.flash");
	unlink(flash);
	periph_start(&per, flash, "example",
		     "--create-layout two-ota --mtu 247");
	fd = connect_dev(per.sock);

	/* MANIFEST, one segment */
	send_pdu(fd, manifest_pdu, minimal ? 4 + 40 : sizeof(manifest_pdu));
	EXPECT(fd, 0x82, 0x01, 0x00);
	if (minimal) /* BEGIN P=240 len=40 crc=0xc825daa5 */
		SEND(fd, 0x03, 0x02, 0x00, 0xf0, 0x00, 0x28, 0x00, 0xa5, 0xda,
		     0x25, 0xc8);
	else /* BEGIN P=240 len=56 crc=0x61e4d90d */
		SEND(fd, 0x03, 0x02, 0x00, 0xf0, 0x00, 0x38, 0x00, 0x0d, 0xd9,
		     0xe4, 0x61);
	EXPECT(fd, 0x83, 0x02, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	       0x00, 0x00);
	EXPECT(fd, 0x40, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00);

	/* the stream: the image, then its CRC-32 0xc4ad8204 */
	memcpy(stream, img, IMAGE_LEN);
	memcpy(stream + IMAGE_LEN, (const uint8_t[]){ 0x04, 0x82, 0xad, 0xc4 },
	       4);
	pdu[0] = 0x20;
	pdu[1] = 0x00;
	pdu[2] = 0x00;
	pdu[3] = 0x00;
	memcpy(pdu + 4, stream, 240);
	send_pdu(fd, pdu, 244);
	if (mode == REPLAY_DISCONNECT) {
		/*
		 * The session ended with the link: DATA is answered with an
		 * EVENT (BAD_STATE: no session, none failed), FINISH with
		 * BAD_STATE (detail 0, idle), and the token of the BEGIN
		 * before the drop runs BEGIN again (the response cache went
		 * with the link): it resumes, and the push completes.
		 */
		unsigned int before = disconnects_logged(&per);

		close(fd);
		wait_device_saw_disconnect(&per, before);
		fd = connect_dev(per.sock);
		pdu[1] = 0x01;
		memcpy(pdu + 4, stream + 240, sizeof(stream) - 240);
		send_pdu(fd, pdu, 4 + sizeof(stream) - 240);
		EXPECT(fd, 0x41, 0x03, 0x00, 0x00, 0x00, 0x00);
		SEND(fd, 0x04, 0x03);
		EXPECT(fd, 0x84, 0x03, 0x03, 0x00, 0x00, 0x00, 0x00);
		SEND(fd, 0x03, 0x02, 0x00, 0xf0, 0x00, 0x38, 0x00, 0x0d, 0xd9,
		     0xe4, 0x61);
		EXPECT(fd, 0x83, 0x02, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00,
		       0x00, 0x00, 0x00);
		expect_ack(fd, 0);
		pdu[1] = 0x00;
		memcpy(pdu + 4, stream, 240);
		send_pdu(fd, pdu, 244);
		pdu[1] = 0x01;
		memcpy(pdu + 4, stream + 240, sizeof(stream) - 240);
		send_pdu(fd, pdu, 4 + sizeof(stream) - 240);
		expect_ack(fd, 2);
		SEND(fd, 0x04, 0x04);
		EXPECT(fd, 0x84, 0x04, 0x00);
		goto done;
	}
	pdu[1] = 0x01;
	memcpy(pdu + 4, stream + 240, sizeof(stream) - 240);
	send_pdu(fd, pdu, 4 + sizeof(stream) - 240);
	/*
	 * The last chunk makes the device ACK at once. If its 20 ms ACK
	 * timer fired between the two chunks (a very slow host), an ACK
	 * with cum 1 comes first and the final one is #3 (§9.6 says so).
	 */
	n = recv_pdu(fd, b, sizeof(b));
	if (n == 10 && b[1] == 0x02 && b[4] == 0x01) {
		n = recv_pdu(fd, b, sizeof(b));
		assert_int_equal(n, 10);
		assert_int_equal(b[1], 0x03);
		b[1] = 0x02;
	}
	assert_int_equal(n, 10);
	assert_memory_equal(b,
			    ((const uint8_t[]){ 0x40, 0x02, 0x00, 0x00, 0x02,
						0x00, 0x00, 0x02, 0x00, 0x00 }),
			    10);

	/* FINISH: SHA-256, app image and manifest fields checked */
	SEND(fd, 0x04, 0x03);
	EXPECT(fd, 0x84, 0x03, 0x00);
	SEND(fd, 0x05, 0x04);
	EXPECT(fd, 0x85, 0x04, 0x00);
done:
	close(fd);
	periph_stop(&per);

	if (mode != REPLAY_DISCONNECT) {
		e2e_view_flash(flash, IMAGE_LEN, &v);
		assert_memory_equal(v.slot_sha[0], image_sha, 32);
	}
	free(img);
}

static void test_worked_example(void **state)
{
	(void)state;
	replay(REPLAY_AS_WRITTEN);
}

static void test_manifest_without_optional_fields(void **state)
{
	(void)state;
	replay(REPLAY_MINIMAL_MANIFEST);
}

static void test_disconnect_ends_session(void **state)
{
	(void)state;
	replay(REPLAY_DISCONNECT);
}

/*
 * §6.2 RUN_STATE against `bleota flash info`: a flash with an app in ota_0
 * and erased otadata is UNDEFINED until its first boot, which writes entry
 * 0 VALID (boot.c, as ESP-IDF's bootloader); flash info used to print
 * UNDEFINED without saying so while the running device reported VALID.
 */
static void test_run_state_first_boot(void **state)
{
	static char out[16384];
	uint8_t *img = example_image();
	char flash[512], app[512];
	struct e2e_periph per;
	uint8_t rsp[600];
	size_t n;
	FILE *fp;
	int fd;

	(void)state;
	e2e_init();
	tmpdir_path(app, sizeof(app), "example.bin");
	fp = fopen(app, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(img, 1, IMAGE_LEN, fp), IMAGE_LEN);
	assert_int_equal(fclose(fp), 0);
	tmpdir_path(flash, sizeof(flash), "first-boot.flash");
	unlink(flash);
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "flash create %s --size 4M --layout "
				    "two-ota --app %s",
				    flash, app),
			 0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "flash info %s", flash),
			 0);
	assert_non_null(strstr(out, "sector 0: empty"));
	assert_non_null(strstr(out, "ota_0 (example 2.0.0, UNDEFINED; otadata "
				    "is erased, so that first boot writes "
				    "entry 0 VALID"));
	periph_start(&per, flash, "first-boot", "");
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "status unix:%s", per.sock), 0);
	assert_non_null(strstr(out, "ota_0 2.0.0, VALID"));
	/* §3.8: CONFIRM of an image that is already VALID is OK, and READ
	 * STATUS then still shows RUN_STATE VALID (0x06: 02 00 00 00) */
	fd = connect_dev(per.sock);
	SEND(fd, 0x06, 0x01);
	EXPECT(fd, 0x86, 0x01, 0x00);
	SEND(fd, 0x01, 0x02, 0x02, 0x00, 0x00);
	n = recv_pdu(fd, rsp, sizeof(rsp));
	assert_true(n > 5);
	assert_non_null(memmem(
		rsp + 5, n - 5,
		(const uint8_t[]){ 0x06, 0x04, 0x02, 0x00, 0x00, 0x00 }, 6));
	close(fd);
	periph_stop(&per);
	assert_int_equal(e2e_bleota(out, sizeof(out), "flash info %s", flash),
			 0);
	assert_non_null(strstr(out, "sector 0: seq 1, state VALID"));
	assert_non_null(strstr(out, "ota_0 (example 2.0.0, VALID)"));
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/example/replay-9.6", test_worked_example, NULL, teardown,
		  NULL },
		{ "/example/manifest-without-version-project",
		  test_manifest_without_optional_fields, NULL, teardown, NULL },
		{ "/session/disconnect-ends-session",
		  test_disconnect_ends_session, NULL, teardown, NULL },
		{ "/status/run-state-first-boot", test_run_state_first_boot,
		  NULL, teardown, NULL },
	};
	int r = cmocka_run_group_tests_name("worked-example", tests, NULL,
					    NULL);

	tmpdir_cleanup();
	return r;
}
