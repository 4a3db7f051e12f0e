/* SPDX-License-Identifier: MIT */
/*
 * bleota push end to end, without a radio: the real bleota-peripheral and
 * bleota programs as two processes over a UNIX SEQPACKET socket, and the
 * same server and client code in one process over a socketpair. After
 * each scenario the device's flash file is read back with the engine's own
 * reader (what runs, in which state, what the slot holds), and refusals
 * must leave the flash byte-for-byte unchanged.
 *
 * Waits are on conditions (a socket appearing, a progress event, a process
 * exiting), bounded; nothing asserts on elapsed time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <glib.h>

#include "central/client.h"
#include "central/manifest.h"
#include "ota_engine/crypto.h"
#include "ota_engine/engine.h"
#include "ota_engine/flash_file.h"
#include "host/pump.h"
#include "peripheral/server.h"
#include "host/transport.h"
#include "host/transport_impair.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

/* ---- fixture ------------------------------------------------------------------ */

struct fx {
	struct e2e_image v1;
	struct e2e_image v2;
	char flash[512];
	struct e2e_periph per;
	char out[65536];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	e2e_image(&f->v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 400000,
		  ESP_CORRUPT_NONE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->v1.data);
	free(f->v2.data);
	free(f);
	return 0;
}

/* ---- scenarios: two processes ------------------------------------------------- */

static void test_full_update_confirm(void **state)
{
	struct fx *f = *state;
	struct e2e_flash_view v;

	e2e_flash(f->flash, sizeof(f->flash), "full.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "full", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --confirm unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "verified by the device"));
	assert_non_null(strstr(f->out, "PENDING_VERIFY"));
	assert_non_null(strstr(f->out, "confirmed: ota_1 2.0.0 is VALID"));
	e2e_periph_stop(&f->per);
	e2e_view_flash(f->flash, f->v2.len, &v);
	assert_int_equal(v.running_slot, 1);
	assert_int_equal(v.running_state, 2 /* VALID */);
	assert_string_equal(v.running_version, "2.0.0");
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
	e2e_assert_slot_holds(f->flash, 0, &f->v1);
}

/* Pre-flight refusals: exit 4, a message naming the cause, flash intact. */
static void test_refusals_leave_flash_untouched(void **state)
{
	static const struct {
		const char *name;
		uint16_t chip;
		uint32_t secver;
		uint32_t big;
		const char *periph_opts;
		const char *expect;
	} cases[] = {
		{ "wrong chip", 9 /* esp32s3 */, 0, 100000, "",
		  "built for a different chip (image for esp32s3, the device "
		  "is esp32c3)" },
		{ "too big for the slot", DEV_CHIP, 0, 1100000, "",
		  "larger than the update slot" },
		{ "downgrade", DEV_CHIP, 1, 100000, "--secure-version 3",
		  "below the device's anti-rollback counter (image "
		  "secure_version 1, device requires 3)" },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct e2e_image bad;
		uint8_t *before;
		size_t blen;

		print_message("case: %s\n", cases[i].name);
		e2e_image(&bad, "bad.bin", "9.9.9", cases[i].chip,
			  cases[i].secver, cases[i].big, ESP_CORRUPT_NONE);
		e2e_flash(f->flash, sizeof(f->flash), "refuse.flash", &f->v1);
		e2e_periph_start(&f->per, f->flash, "refuse",
				 cases[i].periph_opts);
		before = e2e_read_all(f->flash, &blen);
		assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
					    "push unix:%s %s", f->per.sock,
					    bad.path),
				 4);
		assert_non_null(strstr(f->out, cases[i].expect));
		e2e_periph_stop(&f->per);
		e2e_assert_file_unchanged(f->flash, before, blen);
		free(bad.data);
	}
}

/* An invalid file is refused before connecting: the device never sees it. */
static void test_invalid_file_not_sent(void **state)
{
	struct fx *f = *state;
	struct e2e_image bad;

	e2e_image(&bad, "corrupt.bin", "2.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_CHECKSUM);
	e2e_flash(f->flash, sizeof(f->flash), "invalid.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "invalid", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, bad.path),
			 3);
	assert_non_null(strstr(f->out, "not a valid app image"));
	assert_non_null(strstr(f->out, "nothing was sent"));
	e2e_periph_stop(&f->per);
	assert_false(e2e_log_contains(&f->per, "client connected"));
	free(bad.data);
}

/* A damaged link: corrupted, lost and duplicated chunks. */
static void test_impaired_links(void **state)
{
	static const char *const specs[] = {
		"corrupt=0.5%,seed=1",
		"drop=3%,seed=2",
		"dup=5%,seed=3",
		"drop=1%,dup=1%,corrupt=0.2%,seed=4",
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		char opts[128];

		print_message("impairment: %s\n", specs[i]);
		e2e_flash(f->flash, sizeof(f->flash), "impair.flash", &f->v1);
		snprintf(opts, sizeof(opts), "--impair %s", specs[i]);
		e2e_periph_start(&f->per, f->flash, "impair", opts);
		assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
					    "push --json unix:%s %s",
					    f->per.sock, f->v2.path),
				 0);
		assert_non_null(strstr(f->out, "\"event\":\"committed\""));
		if (strstr(specs[i], "drop"))
			assert_true(e2e_json_number(f->out, "resent") > 0);
		e2e_periph_stop(&f->per);
		e2e_assert_slot_holds(f->flash, 1, &f->v2);
	}
}

/* The client dies mid-transfer; the next push resumes. */
static void test_client_killed_then_resume(void **state)
{
	struct fx *f = *state;
	unsigned long acked, held;
	struct e2e_bg b;

	e2e_flash(f->flash, sizeof(f->flash), "ckill.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "ckill", "--impair rate=200K");
	e2e_bg_push(&b, f->per.sock, f->v2.path, "");
	acked = e2e_bg_wait_progress(&b, f->v2.len * 4 / 10);
	e2e_bg_kill(&b);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	held = e2e_json_number(f->out, "held");
	print_message("client killed with %lu bytes acknowledged; the device "
		      "kept %lu: %ld bytes to send again\n",
		      acked, held, (long)acked - (long)held);
	/* verified blocks are kept: at most a block and a window again */
	assert_true(held + 4096 + 32768 >= acked);
	assert_true(held <= f->v2.len);
	e2e_periph_stop(&f->per);
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
}

/* The device dies mid-transfer and comes back: the push reconnects. */
static void test_device_restarted_then_resume(void **state)
{
	struct fx *f = *state;
	struct e2e_bg b;
	unsigned long acked;

	e2e_flash(f->flash, sizeof(f->flash), "dkill.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "dkill", "--impair rate=200K");
	e2e_bg_push(&b, f->per.sock, f->v2.path, "--retries 20");
	acked = e2e_bg_wait_progress(&b, f->v2.len * 4 / 10);
	e2e_periph_kill(&f->per); /* power cut */
	e2e_periph_start(&f->per, f->flash, "dkill", "--impair rate=200K");
	assert_int_equal(e2e_bg_finish(&b, f->out, sizeof(f->out)), 0);
	assert_non_null(strstr(f->out, "\"event\":\"reconnecting\""));
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	print_message("device restarted after %lu bytes; it kept %lu\n", acked,
		      e2e_json_number(f->out, "held"));
	assert_true(e2e_json_number(f->out, "held") + 4096 + 32768 >= acked);
	e2e_periph_stop(&f->per);
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
}

static void test_abort(void **state)
{
	struct fx *f = *state;
	struct e2e_bg b;

	e2e_flash(f->flash, sizeof(f->flash), "abort.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "abort", "--impair rate=200K");
	e2e_bg_push(&b, f->per.sock, f->v2.path, "");
	e2e_bg_wait_progress(&b, f->v2.len / 4);
	e2e_bg_kill(&b);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "abort unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "status unix:%s",
				    f->per.sock),
			 0);
	assert_non_null(strstr(f->out, "update session:  none"));
	/* nothing to resume: the next push starts over */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --json --no-commit unix:%s %s",
				    f->per.sock, f->v2.path),
			 0);
	assert_null(strstr(f->out, "\"event\":\"resumed\""));
	assert_non_null(strstr(f->out, "\"event\":\"started\""));
	/* a committed image must boot before another push */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v2.path),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --force unix:%s %s", f->per.sock,
				    f->v1.path),
			 4);
	assert_non_null(strstr(f->out, "waits for the device to reboot"));
	e2e_periph_stop(&f->per);
	/* --no-commit first, then the commit: v2 boots next */
	{
		struct e2e_flash_view v;

		e2e_view_flash(f->flash, f->v2.len, &v);
		assert_int_equal(v.running_slot, 1);
		e2e_assert_slot_holds(f->flash, 1, &f->v2);
	}
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	struct e2e_bg b;

	e2e_flash(f->flash, sizeof(f->flash), "busy.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "busy", "--impair rate=200K");
	e2e_bg_push(&b, f->per.sock, f->v2.path, "");
	e2e_bg_wait_progress(&b, 1);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		4);
	assert_non_null(strstr(f->out, "another client is updating"));
	assert_int_equal(e2e_bg_finish(&b, f->out, sizeof(f->out)), 0);
	e2e_periph_stop(&f->per);
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
}

static void test_reboot_without_confirm_rolls_back(void **state)
{
	struct fx *f = *state;
	struct e2e_flash_view v;

	e2e_flash(f->flash, sizeof(f->flash), "rb.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "rb", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --reboot unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "runs ota_1 2.0.0, PENDING_VERIFY"));
	/* a new push must wait for the decision on the running image */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v1.path),
			 4);
	assert_non_null(strstr(f->out, "waiting for confirmation"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "reboot unix:%s",
				    f->per.sock),
			 0);
	/* not confirmed: the bootloader went back to ota_0 */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "status unix:%s",
				    f->per.sock),
			 0);
	assert_non_null(strstr(f->out, "running:         ota_0 1.0.0, VALID"));
	assert_non_null(strstr(f->out, "rebooted without confirm"));
	e2e_periph_stop(&f->per);
	e2e_view_flash(f->flash, f->v1.len, &v);
	assert_int_equal(v.running_slot, 0);
	assert_string_equal(v.running_version, "1.0.0");
}

/*
 * push --tag: the device stores the tag with the image and reports the
 * tag of what runs (info, status, their JSON, bleota:fw_tag in NVS): none
 * before, the new one on the trial boot, none again after a reboot
 * without confirm, the new one once confirmed.
 */
static void test_tag(void **state)
{
	struct fx *f = *state;
	char long_tag[130];

	e2e_flash(f->flash, sizeof(f->flash), "tag.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "tag", "");
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	assert_non_null(strstr(f->out, "version tag:     none (the running "
				       "image was installed without a tag)"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "info --json unix:%s", f->per.sock),
			 0);
	assert_non_null(strstr(f->out, ",\"tag\":null}"));

	/* usage: 1..128 bytes */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --tag '' unix:%s %s", f->per.sock,
				    f->v2.path),
			 2);
	assert_non_null(strstr(f->out, "--tag: use 1..128 bytes"));
	memset(long_tag, 'x', 129);
	long_tag[129] = '\0';
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --tag %s unix:%s %s", long_tag,
				    f->per.sock, f->v2.path),
			 2);

	/* the trial boot runs the tagged image */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --reboot --tag build-42 unix:%s %s",
				    f->per.sock, f->v2.path),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "status unix:%s",
				    f->per.sock),
			 0);
	assert_non_null(strstr(f->out, "PENDING_VERIFY"));
	assert_non_null(strstr(f->out, "version tag:     build-42"));
	/* not confirmed: the old image, and no tag, again */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "reboot unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "status --json unix:%s", f->per.sock),
			 0);
	assert_non_null(strstr(f->out, "\"version\":\"1.0.0\""));
	assert_non_null(strstr(f->out, ",\"tag\":null}"));

	/* confirmed: the tag stays, quotes and all */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --confirm --force --tag 'v2 \"rc\"' "
				    "unix:%s %s",
				    f->per.sock, f->v2.path),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "info --json unix:%s", f->per.sock),
			 0);
	assert_non_null(strstr(f->out, ",\"tag\":\"v2 \\\"rc\\\"\"}"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "reboot unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	assert_non_null(strstr(f->out, "version tag:     v2 \"rc\""));
	e2e_periph_stop(&f->per);
	/* where firmware reads it: bleota:fw_tag in the nvs partition */
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", f->flash),
		0);
	assert_non_null(strstr(f->out, "firmware version tag (bleota:fw_tag)"));
	assert_non_null(strstr(f->out, "v2 \\\"rc\\\""));
}

static void test_confirm_keeps_new_image(void **state)
{
	struct fx *f = *state;
	struct e2e_flash_view v;

	e2e_flash(f->flash, sizeof(f->flash), "keep.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "keep", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --reboot unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "confirm unix:%s",
				    f->per.sock),
			 0);
	/* confirming a VALID image again is a no-op, not an error */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "confirm unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "reboot unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "status --json unix:%s", f->per.sock),
			 0);
	assert_non_null(
		strstr(f->out, "\"version\":\"2.0.0\",\"state\":\"VALID\""));
	e2e_periph_stop(&f->per);
	e2e_view_flash(f->flash, f->v2.len, &v);
	assert_int_equal(v.running_slot, 1);
	assert_int_equal(v.running_state, 2);
}

static void test_rollback_command(void **state)
{
	struct fx *f = *state;
	struct e2e_flash_view v;

	e2e_flash(f->flash, sizeof(f->flash), "rollback.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "rollback", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --confirm unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "rollback unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "reboot unix:%s",
				    f->per.sock),
			 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	assert_non_null(
		strstr(f->out, "running:         blinky 1.0.0 (ota_0)"));
	e2e_periph_stop(&f->per);
	e2e_view_flash(f->flash, f->v1.len, &v);
	assert_int_equal(v.running_slot, 0);
}

static void test_usage_and_connect_errors(void **state)
{
	struct fx *f = *state;

	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push"), 2);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --mtu 9 unix:/x %s", f->v2.path),
			 2);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --retries 0 unix:/nonexistent/s %s",
				    f->v2.path),
			 5);
	assert_non_null(strstr(f->out, "is bleota-peripheral running?"));
	/* Bluetooth devices go through BlueZ: here (no bluetoothd, or no
	 * system bus) the failure must say so, as a connection failure */
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "status AA:BB:CC:DD:EE:FF"),
		5);
	assert_true(strstr(f->out, "D-Bus") || strstr(f->out, "bluetoothd") ||
		    strstr(f->out, "adapter"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "status unix:"), 2);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push --help"), 0);
	assert_non_null(strstr(f->out, "exit: 0 done"));
}

/* ---- the same code in one process, over a socketpair ---------------------------- */

struct inproc {
	struct server *server;
	struct ota_flash_file *ff;
	struct client *client;
};

static void inproc_start(struct inproc *ip, const char *flash,
			 const struct impair_cfg *imp)
{
	struct server_cfg cfg = { .engine = { .flash = &ota_flash_file_ops,
					      .chip_id = DEV_CHIP } };
	struct transport *t;
	int sv[2], err;

	ip->ff = ota_flash_file_open(flash, 0, 0, &err);
	assert_non_null(ip->ff);
	cfg.engine.flash_ctx = ip->ff;
	ip->server = server_new(&cfg, &err);
	assert_non_null(ip->server);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	t = transport_socket_new(sv[0], OTA_MAX_VALUE);
	if (imp)
		t = transport_impair_new(t, imp);
	server_attach(ip->server, t);
	ip->client = client_new_fd(sv[1], 0);
	assert_non_null(ip->client);
}

static void inproc_stop(struct inproc *ip)
{
	client_free(ip->client);
	/* let the server see the hang-up and reap the connection */
	while (g_main_context_iteration(NULL, FALSE))
		;
	server_free(ip->server);
	ota_flash_file_close(ip->ff);
}

static struct ota_tx_event
inproc_push(struct inproc *ip, const struct e2e_image *im, uint8_t flags)
{
	struct ota_tx_cfg cfg = { .first_token = client_token(ip->client) };
	static struct ota_image_verify v;
	static struct manifest_sig sig;
	struct ota_manifest m;
	struct ota_tx_event done;
	struct ota_tx tx;

	assert_int_equal(manifest_from_image(im->data, im->len, &v, &m, &sig),
			 0);
	assert_int_equal(ota_tx_init(&tx, &cfg), 0);
	assert_int_equal(
		ota_tx_push(&tx, im->data, im->len, &m, flags, now_ms()), 0);
	assert_int_equal(client_run(ip->client, &tx, NULL, NULL, NULL, &done),
			 0);
	return done;
}

static void test_inproc_socketpair(void **state)
{
	struct impair_cfg imp = { .drop_ppm = 20000,
				  .dup_ppm = 20000,
				  .corrupt_ppm = 5000,
				  .seed = 11 };
	struct fx *f = *state;
	struct ota_tx_event done;
	struct inproc ip;

	/* clean link: full update and commit */
	e2e_flash(f->flash, sizeof(f->flash), "inproc.flash", &f->v1);
	inproc_start(&ip, f->flash, NULL);
	done = inproc_push(&ip, &f->v2, OTA_TX_F_COMMIT);
	assert_int_equal(done.err, 0);
	inproc_stop(&ip);
	e2e_assert_slot_holds(f->flash, 1, &f->v2);

	/* damaged link: lost, duplicated and corrupted chunks */
	e2e_flash(f->flash, sizeof(f->flash), "inproc2.flash", &f->v1);
	inproc_start(&ip, f->flash, &imp);
	done = inproc_push(&ip, &f->v2, OTA_TX_F_COMMIT);
	assert_int_equal(done.err, 0);
	inproc_stop(&ip);
	e2e_assert_slot_holds(f->flash, 1, &f->v2);
}

#define T(name, fn)                        \
	{                                  \
		name, fn, NULL, NULL, NULL \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("/push/inproc/socketpair", test_inproc_socketpair),
		T("/push/full-update-confirm", test_full_update_confirm),
		T("/push/refusals-leave-flash-untouched",
		  test_refusals_leave_flash_untouched),
		T("/push/invalid-file-not-sent", test_invalid_file_not_sent),
		T("/push/impaired-links", test_impaired_links),
		T("/push/client-killed-then-resume",
		  test_client_killed_then_resume),
		T("/push/device-restarted-then-resume",
		  test_device_restarted_then_resume),
		T("/push/abort", test_abort),
		T("/push/busy", test_busy),
		T("/push/reboot-without-confirm-rolls-back",
		  test_reboot_without_confirm_rolls_back),
		T("/push/confirm-keeps-new-image",
		  test_confirm_keeps_new_image),
		T("/push/rollback-command", test_rollback_command),
		T("/push/tag", test_tag),
		T("/push/usage-and-connect-errors",
		  test_usage_and_connect_errors),
	};
	int rc;

	signal(SIGPIPE, SIG_IGN);
	e2e_init();
	rc = cmocka_run_group_tests_name("push", tests, setup, teardown);
	tmpdir_cleanup();
	return rc;
}
