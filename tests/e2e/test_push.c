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
#include "peripheral/pump.h"
#include "peripheral/server.h"
#include "peripheral/transport.h"
#include "peripheral/transport_impair.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/sigkeys.h"
#include "tests/harness/tmpdir.h"

static char bin_bleota[512];
static char bin_periph[512];

/* ---- files and images ------------------------------------------------------- */

struct image {
	char path[512];
	uint8_t *data;
	size_t len;
};

static void make_image(struct image *im, const char *name, const char *version,
		       uint16_t chip, uint32_t secver, uint32_t big_seg,
		       enum esp_corruption corrupt)
{
	struct esp_image_spec sp = { .chip_id = chip,
				     .version = version,
				     .project = "blinky",
				     .secure_version = secver,
				     .corrupt = corrupt,
				     .seed = 7 };
	FILE *fp;

	sp.nseg = 3;
	sp.seg[0].kind = ESP_SEG_DROM;
	sp.seg[0].len = 60000;
	sp.seg[1].kind = ESP_SEG_IROM;
	sp.seg[1].len = big_seg;
	sp.seg[2].kind = ESP_SEG_DRAM;
	sp.seg[2].len = 4096;
	im->data = esp_image_build(&sp, &im->len);
	assert_non_null(im->data);
	tmpdir_path(im->path, sizeof(im->path), name);
	fp = fopen(im->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(im->data, 1, im->len, fp), im->len);
	fclose(fp);
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	fseek(fp, 0, SEEK_SET);
	buf = malloc((size_t)n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

/* A device flash with v1 in ota_0, made by `bleota flash create`. */
static void make_flash(char *path, size_t cap, const char *name,
		       const struct image *v1)
{
	char cmd[2048];

	tmpdir_path(path, cap, name);
	snprintf(cmd, sizeof(cmd),
		 "%s flash create %s --size 4M --layout two-ota --app %s "
		 ">/dev/null",
		 bin_bleota, path, v1->path);
	assert_int_equal(system(cmd), 0);
}

/* What the device's own engine reads from the flash file. */
struct flash_view {
	int running_slot;
	uint32_t running_state;
	char running_version[33];
	uint8_t slot_sha[2][32];
};

static void view_flash(const char *path, size_t slot_len, struct flash_view *v)
{
	struct ota_engine_cfg cfg = { .flash = &ota_flash_file_ops,
				      .chip_id = DEV_CHIP,
				      .inspect_only = true };
	struct ota_engine eng;
	struct ota_engine_status st;
	struct ota_flash_file *f;
	uint8_t *buf;
	int err, s;

	f = ota_flash_file_open(path, 0, 0, &err);
	assert_non_null(f);
	cfg.flash_ctx = f;
	assert_int_equal(ota_engine_init(&eng, &cfg), 0);
	assert_int_equal(ota_engine_status(&eng, &st), 0);
	v->running_slot = st.running_slot;
	v->running_state = st.running_state;
	snprintf(v->running_version, sizeof(v->running_version), "%s",
		 st.running_version);
	buf = malloc(slot_len);
	assert_non_null(buf);
	for (s = 0; s < 2; s++) {
		assert_int_equal(ota_flash_file_ops.read(f,
							 eng.layout.ota_off[s],
							 buf, slot_len),
				 0);
		dev_sha256(buf, slot_len, v->slot_sha[s]);
	}
	free(buf);
	ota_flash_file_close(f);
}

static void assert_slot_holds(const char *flash, int slot,
			      const struct image *im)
{
	struct flash_view v;
	uint8_t want[32];

	view_flash(flash, im->len, &v);
	dev_sha256(im->data, im->len, want);
	assert_memory_equal(v.slot_sha[slot], want, 32);
}

/* ---- processes ---------------------------------------------------------------- */

struct periph {
	pid_t pid;
	char sock[600];
	char log[600];
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Start bleota-peripheral on @flash; extra options in @opts (may be ""). */
static void periph_start(struct periph *p, const char *flash, const char *tag,
			 const char *opts)
{
	char listen[700], cmd[2048];
	uint64_t until;
	struct stat st;

	tmpdir_path(p->sock, sizeof(p->sock), tag);
	strcat(p->sock, ".sock");
	tmpdir_path(p->log, sizeof(p->log), tag);
	strcat(p->log, ".log");
	unlink(p->sock);
	snprintf(listen, sizeof(listen), "unix:%s", p->sock);
	snprintf(cmd, sizeof(cmd),
		 "exec %s --flash %s --listen %s %s >>%s 2>&1", bin_periph,
		 flash, listen, opts, p->log);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* ready when the socket exists */
	until = mono_ms() + 20000;
	while (stat(p->sock, &st) < 0) {
		int status;

		assert_int_equal(waitpid(p->pid, &status, WNOHANG), 0);
		assert_true(mono_ms() < until);
		usleep(10000);
	}
}

/* SIGTERM, and the daemon must exit 0 (a clean shutdown). */
static void periph_stop(struct periph *p)
{
	int status;

	kill(p->pid, SIGTERM);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void periph_kill(struct periph *p)
{
	int status;

	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
}

static bool log_contains(const struct periph *p, const char *needle)
{
	size_t len;
	uint8_t *buf = read_all(p->log, &len);
	bool found;

	buf = realloc(buf, len + 1);
	buf[len] = '\0';
	found = strstr((char *)buf, needle) != NULL;
	free(buf);
	return found;
}

/* Run `bleota ARGS` to completion; stdout+stderr into @out. */
static int bleota(char *out, size_t cap, const char *fmt, ...)
{
	char args[1500], cmd[2100];
	va_list ap;
	size_t n;
	FILE *fp;
	int st;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", bin_bleota, args);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	n = fread(out, 1, cap - 1, fp);
	out[n] = '\0';
	st = pclose(fp);
	print_message("$ bleota %s -> %d\n%s", args,
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A `bleota push --json` running in the background, read line by line. */
struct bg {
	pid_t pid;
	FILE *out;
};

static void bg_push(struct bg *b, const char *sock, const char *file,
		    const char *opts)
{
	char cmd[2048];
	int fds[2];

	snprintf(cmd, sizeof(cmd), "exec %s push --json %s unix:%s %s",
		 bin_bleota, opts, sock, file);
	assert_int_equal(pipe(fds), 0);
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	b->out = fdopen(fds[0], "r");
	assert_non_null(b->out);
}

/* Read JSON lines until a progress event reports >= @bytes acked. */
static unsigned long bg_wait_progress(struct bg *b, unsigned long bytes)
{
	char line[1024];

	while (fgets(line, sizeof(line), b->out)) {
		const char *p =
			strstr(line, "\"event\":\"progress\",\"bytes\":");
		unsigned long v;

		if (p && sscanf(p + 27, "%lu", &v) == 1 && v >= bytes)
			return v;
	}
	fail_msg("push ended before %lu bytes were acknowledged", bytes);
	return 0;
}

/* Wait for the push to end; the rest of its output into @out. */
static int bg_finish(struct bg *b, char *out, size_t cap)
{
	size_t n = fread(out, 1, cap - 1, b->out);
	int st;

	out[n] = '\0';
	fclose(b->out);
	assert_int_equal(waitpid(b->pid, &st, 0), b->pid);
	print_message("(background push) -> %d\n%s",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bg_kill(struct bg *b)
{
	int st;

	kill(b->pid, SIGKILL);
	waitpid(b->pid, &st, 0);
	fclose(b->out);
}

static unsigned long json_number(const char *out, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(out, pat);
	return p ? strtoul(p + strlen(pat), NULL, 10) : 0;
}

/* ---- fixture ------------------------------------------------------------------ */

struct fx {
	struct image v1;
	struct image v2;
	char flash[512];
	struct periph per;
	char out[65536];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	make_image(&f->v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		   ESP_CORRUPT_NONE);
	make_image(&f->v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 400000,
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
	struct flash_view v;

	make_flash(f->flash, sizeof(f->flash), "full.flash", &f->v1);
	periph_start(&f->per, f->flash, "full", "");
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --confirm unix:%s %s", f->per.sock,
				f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "verified by the device"));
	assert_non_null(strstr(f->out, "PENDING_VERIFY"));
	assert_non_null(strstr(f->out, "confirmed: ota_1 2.0.0 is VALID"));
	periph_stop(&f->per);
	view_flash(f->flash, f->v2.len, &v);
	assert_int_equal(v.running_slot, 1);
	assert_int_equal(v.running_state, 2 /* VALID */);
	assert_string_equal(v.running_version, "2.0.0");
	assert_slot_holds(f->flash, 1, &f->v2);
	assert_slot_holds(f->flash, 0, &f->v1);
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
		struct image bad;
		uint8_t *before, *after;
		size_t blen, alen;

		print_message("case: %s\n", cases[i].name);
		make_image(&bad, "bad.bin", "9.9.9", cases[i].chip,
			   cases[i].secver, cases[i].big, ESP_CORRUPT_NONE);
		make_flash(f->flash, sizeof(f->flash), "refuse.flash", &f->v1);
		periph_start(&f->per, f->flash, "refuse", cases[i].periph_opts);
		before = read_all(f->flash, &blen);
		assert_int_equal(bleota(f->out, sizeof(f->out),
					"push unix:%s %s", f->per.sock,
					bad.path),
				 4);
		assert_non_null(strstr(f->out, cases[i].expect));
		periph_stop(&f->per);
		after = read_all(f->flash, &alen);
		assert_int_equal(alen, blen);
		assert_memory_equal(after, before, blen);
		free(before);
		free(after);
		free(bad.data);
	}
}

/* --trusted-key: an unsigned image is SIGNATURE_REQUIRED at BEGIN. */
static void test_trusted_key_refuses_unsigned(void **state)
{
	struct fx *f = *state;
	char key[512], opts[600];
	uint8_t *before, *after;
	size_t blen, alen;

	tmpdir_path(key, sizeof(key), "trusted.pem");
	sigkey_write_pem(sigkey_get(OTA_SIG_ECDSA_P256, 0), key, false);
	snprintf(opts, sizeof(opts), "--trusted-key %s", key);
	make_flash(f->flash, sizeof(f->flash), "trusted.flash", &f->v1);
	periph_start(&f->per, f->flash, "trusted", opts);
	before = read_all(f->flash, &blen);
	assert_int_equal(bleota(f->out, sizeof(f->out), "push unix:%s %s",
				f->per.sock, f->v2.path),
			 4);
	assert_non_null(strstr(f->out, "the device only accepts signed"));
	periph_stop(&f->per);
	after = read_all(f->flash, &alen);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(before);
	free(after);
	sigkey_free_all();
}

/* An invalid file is refused before connecting: the device never sees it. */
static void test_invalid_file_not_sent(void **state)
{
	struct fx *f = *state;
	struct image bad;

	make_image(&bad, "corrupt.bin", "2.0.0", DEV_CHIP, 0, 100000,
		   ESP_CORRUPT_CHECKSUM);
	make_flash(f->flash, sizeof(f->flash), "invalid.flash", &f->v1);
	periph_start(&f->per, f->flash, "invalid", "");
	assert_int_equal(bleota(f->out, sizeof(f->out), "push unix:%s %s",
				f->per.sock, bad.path),
			 3);
	assert_non_null(strstr(f->out, "not a valid app image"));
	assert_non_null(strstr(f->out, "nothing was sent"));
	periph_stop(&f->per);
	assert_false(log_contains(&f->per, "client connected"));
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
		make_flash(f->flash, sizeof(f->flash), "impair.flash", &f->v1);
		snprintf(opts, sizeof(opts), "--impair %s", specs[i]);
		periph_start(&f->per, f->flash, "impair", opts);
		assert_int_equal(bleota(f->out, sizeof(f->out),
					"push --json unix:%s %s", f->per.sock,
					f->v2.path),
				 0);
		assert_non_null(strstr(f->out, "\"event\":\"committed\""));
		if (strstr(specs[i], "drop"))
			assert_true(json_number(f->out, "resent") > 0);
		periph_stop(&f->per);
		assert_slot_holds(f->flash, 1, &f->v2);
	}
}

/* The client dies mid-transfer; the next push resumes. */
static void test_client_killed_then_resume(void **state)
{
	struct fx *f = *state;
	unsigned long acked, held;
	struct bg b;

	make_flash(f->flash, sizeof(f->flash), "ckill.flash", &f->v1);
	periph_start(&f->per, f->flash, "ckill", "--impair rate=200K");
	bg_push(&b, f->per.sock, f->v2.path, "");
	acked = bg_wait_progress(&b, f->v2.len * 4 / 10);
	bg_kill(&b);
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --json unix:%s %s", f->per.sock,
				f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	held = json_number(f->out, "held");
	print_message("client killed with %lu bytes acknowledged; the device "
		      "kept %lu: %ld bytes to send again\n",
		      acked, held, (long)acked - (long)held);
	/* verified blocks are kept: at most a block and a window again */
	assert_true(held + 4096 + 32768 >= acked);
	assert_true(held <= f->v2.len);
	periph_stop(&f->per);
	assert_slot_holds(f->flash, 1, &f->v2);
}

/* The device dies mid-transfer and comes back: the push reconnects. */
static void test_device_restarted_then_resume(void **state)
{
	struct fx *f = *state;
	struct bg b;
	unsigned long acked;

	make_flash(f->flash, sizeof(f->flash), "dkill.flash", &f->v1);
	periph_start(&f->per, f->flash, "dkill", "--impair rate=200K");
	bg_push(&b, f->per.sock, f->v2.path, "--retries 20");
	acked = bg_wait_progress(&b, f->v2.len * 4 / 10);
	periph_kill(&f->per); /* power cut */
	periph_start(&f->per, f->flash, "dkill", "--impair rate=200K");
	assert_int_equal(bg_finish(&b, f->out, sizeof(f->out)), 0);
	assert_non_null(strstr(f->out, "\"event\":\"reconnecting\""));
	assert_non_null(strstr(f->out, "\"event\":\"resumed\""));
	print_message("device restarted after %lu bytes; it kept %lu\n", acked,
		      json_number(f->out, "held"));
	assert_true(json_number(f->out, "held") + 4096 + 32768 >= acked);
	periph_stop(&f->per);
	assert_slot_holds(f->flash, 1, &f->v2);
}

static void test_abort(void **state)
{
	struct fx *f = *state;
	struct bg b;

	make_flash(f->flash, sizeof(f->flash), "abort.flash", &f->v1);
	periph_start(&f->per, f->flash, "abort", "--impair rate=200K");
	bg_push(&b, f->per.sock, f->v2.path, "");
	bg_wait_progress(&b, f->v2.len / 4);
	bg_kill(&b);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "abort unix:%s", f->per.sock),
		0);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "status unix:%s", f->per.sock),
		0);
	assert_non_null(strstr(f->out, "update session:  none"));
	/* nothing to resume: the next push starts over */
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --json --no-commit unix:%s %s",
				f->per.sock, f->v2.path),
			 0);
	assert_null(strstr(f->out, "\"event\":\"resumed\""));
	assert_non_null(strstr(f->out, "\"event\":\"started\""));
	/* a committed image must boot before another push */
	assert_int_equal(bleota(f->out, sizeof(f->out), "push unix:%s %s",
				f->per.sock, f->v2.path),
			 0);
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --force unix:%s %s", f->per.sock,
				f->v1.path),
			 4);
	assert_non_null(strstr(f->out, "waits for the device to reboot"));
	periph_stop(&f->per);
	/* --no-commit first, then the commit: v2 boots next */
	{
		struct flash_view v;

		view_flash(f->flash, f->v2.len, &v);
		assert_int_equal(v.running_slot, 1);
		assert_slot_holds(f->flash, 1, &f->v2);
	}
}

static void test_busy(void **state)
{
	struct fx *f = *state;
	struct bg b;

	make_flash(f->flash, sizeof(f->flash), "busy.flash", &f->v1);
	periph_start(&f->per, f->flash, "busy", "--impair rate=200K");
	bg_push(&b, f->per.sock, f->v2.path, "");
	bg_wait_progress(&b, 1);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock), 4);
	assert_non_null(strstr(f->out, "another client is updating"));
	assert_int_equal(bg_finish(&b, f->out, sizeof(f->out)), 0);
	periph_stop(&f->per);
	assert_slot_holds(f->flash, 1, &f->v2);
}

static void test_reboot_without_confirm_rolls_back(void **state)
{
	struct fx *f = *state;
	struct flash_view v;

	make_flash(f->flash, sizeof(f->flash), "rb.flash", &f->v1);
	periph_start(&f->per, f->flash, "rb", "");
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --reboot unix:%s %s", f->per.sock,
				f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "runs ota_1 2.0.0, PENDING_VERIFY"));
	/* a new push must wait for the decision on the running image */
	assert_int_equal(bleota(f->out, sizeof(f->out), "push unix:%s %s",
				f->per.sock, f->v1.path),
			 4);
	assert_non_null(strstr(f->out, "waiting for confirmation"));
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "reboot unix:%s", f->per.sock),
		0);
	/* not confirmed: the bootloader went back to ota_0 */
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "status unix:%s", f->per.sock),
		0);
	assert_non_null(strstr(f->out, "running:         ota_0 1.0.0, VALID"));
	assert_non_null(strstr(f->out, "rebooted without confirm"));
	periph_stop(&f->per);
	view_flash(f->flash, f->v1.len, &v);
	assert_int_equal(v.running_slot, 0);
	assert_string_equal(v.running_version, "1.0.0");
}

static void test_confirm_keeps_new_image(void **state)
{
	struct fx *f = *state;
	struct flash_view v;

	make_flash(f->flash, sizeof(f->flash), "keep.flash", &f->v1);
	periph_start(&f->per, f->flash, "keep", "");
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --reboot unix:%s %s", f->per.sock,
				f->v2.path),
			 0);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "confirm unix:%s", f->per.sock),
		0);
	/* confirming a VALID image again is a no-op, not an error */
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "confirm unix:%s", f->per.sock),
		0);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "reboot unix:%s", f->per.sock),
		0);
	assert_int_equal(bleota(f->out, sizeof(f->out), "status --json unix:%s",
				f->per.sock),
			 0);
	assert_non_null(
		strstr(f->out, "\"version\":\"2.0.0\",\"state\":\"VALID\""));
	periph_stop(&f->per);
	view_flash(f->flash, f->v2.len, &v);
	assert_int_equal(v.running_slot, 1);
	assert_int_equal(v.running_state, 2);
}

static void test_rollback_command(void **state)
{
	struct fx *f = *state;
	struct flash_view v;

	make_flash(f->flash, sizeof(f->flash), "rollback.flash", &f->v1);
	periph_start(&f->per, f->flash, "rollback", "");
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --confirm unix:%s %s", f->per.sock,
				f->v2.path),
			 0);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "rollback unix:%s", f->per.sock),
		0);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "reboot unix:%s", f->per.sock),
		0);
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock), 0);
	assert_non_null(
		strstr(f->out, "running:         blinky 1.0.0 (ota_0)"));
	periph_stop(&f->per);
	view_flash(f->flash, f->v1.len, &v);
	assert_int_equal(v.running_slot, 0);
}

static void test_usage_and_connect_errors(void **state)
{
	struct fx *f = *state;

	assert_int_equal(bleota(f->out, sizeof(f->out), "push"), 2);
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --mtu 9 unix:/x %s", f->v2.path),
			 2);
	assert_int_equal(bleota(f->out, sizeof(f->out),
				"push --retries 0 unix:/nonexistent/s %s",
				f->v2.path),
			 5);
	assert_non_null(strstr(f->out, "is bleota-peripheral running?"));
	/* Bluetooth devices go through BlueZ: here (no bluetoothd, or no
	 * system bus) the failure must say so, as a connection failure */
	assert_int_equal(
		bleota(f->out, sizeof(f->out), "status AA:BB:CC:DD:EE:FF"), 5);
	assert_true(strstr(f->out, "D-Bus") || strstr(f->out, "bluetoothd") ||
		    strstr(f->out, "adapter"));
	assert_int_equal(bleota(f->out, sizeof(f->out), "status unix:"), 2);
	assert_int_equal(bleota(f->out, sizeof(f->out), "push --help"), 0);
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

static struct ota_tx_event inproc_push(struct inproc *ip,
				       const struct image *im, uint8_t flags)
{
	struct ota_tx_cfg cfg = { .first_token = client_token(ip->client) };
	static struct ota_image_verify v;
	struct ota_manifest m;
	struct ota_tx_event done;
	struct ota_tx tx;

	assert_int_equal(manifest_from_image(im->data, im->len, &v, &m), 0);
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
	make_flash(f->flash, sizeof(f->flash), "inproc.flash", &f->v1);
	inproc_start(&ip, f->flash, NULL);
	done = inproc_push(&ip, &f->v2, OTA_TX_F_COMMIT);
	assert_int_equal(done.err, 0);
	inproc_stop(&ip);
	assert_slot_holds(f->flash, 1, &f->v2);

	/* damaged link: lost, duplicated and corrupted chunks */
	make_flash(f->flash, sizeof(f->flash), "inproc2.flash", &f->v1);
	inproc_start(&ip, f->flash, &imp);
	done = inproc_push(&ip, &f->v2, OTA_TX_F_COMMIT);
	assert_int_equal(done.err, 0);
	inproc_stop(&ip);
	assert_slot_holds(f->flash, 1, &f->v2);
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
		T("/push/trusted-key-refuses-unsigned",
		  test_trusted_key_refuses_unsigned),
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
		T("/push/usage-and-connect-errors",
		  test_usage_and_connect_errors),
	};
	const char *b = getenv("BLEOTA_BUILD");
	int rc;

	signal(SIGPIPE, SIG_IGN);
	snprintf(bin_bleota, sizeof(bin_bleota), "%s/bleota",
		 b && *b ? b : "build");
	snprintf(bin_periph, sizeof(bin_periph), "%s/bleota-peripheral",
		 b && *b ? b : "build");
	rc = cmocka_run_group_tests_name("push", tests, setup, teardown);
	tmpdir_cleanup();
	return rc;
}
