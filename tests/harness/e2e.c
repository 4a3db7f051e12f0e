/* SPDX-License-Identifier: MIT */
/*
 * See e2e.h. Used by tests/e2e/test_push.c and test_badinput.c.
 */
#define _GNU_SOURCE
#include "tests/harness/e2e.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ota_engine/crypto.h"
#include "ota_engine/engine.h"
#include "ota_engine/flash_file.h"
#include "tests/harness/bgproc.h"
#include "tests/harness/device.h"
#include "tests/harness/tmpdir.h"

char e2e_bin_bleota[512];
char e2e_bin_periph[512];

void e2e_init(void)
{
	const char *b = getenv("BLEOTA_BUILD");

	/* pushes keep no images in the user's cache; tests that want one
	 * pass --image-cache DIR */
	setenv("BLEOTA_IMAGE_CACHE", "off", 1);
	snprintf(e2e_bin_bleota, sizeof(e2e_bin_bleota), "%s/bleota",
		 b && *b ? b : "build");
	snprintf(e2e_bin_periph, sizeof(e2e_bin_periph), "%s/bleota-peripheral",
		 b && *b ? b : "build");
}

/* ---- files and images ------------------------------------------------------- */

static void image_with(struct e2e_image *im, const char *name,
		       const char *version, uint16_t chip, uint32_t secver,
		       uint32_t big_seg, enum esp_corruption corrupt,
		       uint32_t repeat)
{
	struct esp_image_spec sp = { .chip_id = chip,
				     .version = version,
				     .project = "blinky",
				     .secure_version = secver,
				     .corrupt = corrupt,
				     .seed = 7,
				     .repeat = repeat };
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

void e2e_image(struct e2e_image *im, const char *name, const char *version,
	       uint16_t chip, uint32_t secver, uint32_t big_seg,
	       enum esp_corruption corrupt)
{
	image_with(im, name, version, chip, secver, big_seg, corrupt, 0);
}

void e2e_image_repeat(struct e2e_image *im, const char *name,
		      const char *version, uint32_t big_seg, uint32_t repeat)
{
	image_with(im, name, version, DEV_CHIP, 0, big_seg, ESP_CORRUPT_NONE,
		   repeat);
}

uint8_t *e2e_read_all(const char *path, size_t *len)
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
void e2e_flash(char *path, size_t cap, const char *name,
	       const struct e2e_image *v1)
{
	char cmd[2048];

	tmpdir_path(path, cap, name);
	snprintf(cmd, sizeof(cmd),
		 "%s flash create %s --size 4M --layout two-ota --app %s "
		 ">/dev/null",
		 e2e_bin_bleota, path, v1->path);
	assert_int_equal(system(cmd), 0);
}

/* What the device's own engine reads from the flash file. */

void e2e_view_flash(const char *path, size_t slot_len, struct e2e_flash_view *v)
{
	struct ota_engine_cfg cfg = { .flash = &ota_flash_file_ops,
				      .chip_id = DEV_CHIP,
				      .inspect_only = true };
	struct ota_engine eng;
	struct ota_engine_status st;
	struct ota_flash_file *f;
	uint8_t *buf;
	int err, s;

	f = ota_flash_file_open(path, 0, OTA_FLASH_FILE_RDONLY, &err);
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

void e2e_assert_file_unchanged(const char *path, uint8_t *before, size_t blen)
{
	size_t alen;
	uint8_t *after = e2e_read_all(path, &alen);

	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	free(after);
	free(before);
}

void e2e_assert_slot_holds(const char *flash, int slot,
			   const struct e2e_image *im)
{
	struct e2e_flash_view v;
	uint8_t want[32];

	e2e_view_flash(flash, im->len, &v);
	dev_sha256(im->data, im->len, want);
	assert_memory_equal(v.slot_sha[slot], want, 32);
}

/* ---- processes ---------------------------------------------------------------- */

uint64_t e2e_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Start bleota-peripheral on @flash; extra options in @opts (may be ""). */
void e2e_periph_start(struct e2e_periph *p, const char *flash, const char *tag,
		      const char *opts)
{
	char listen[700], cmd[2048];
	pid_t parent;
	uint64_t until;
	struct stat st;

	tmpdir_path(p->sock, sizeof(p->sock), tag);
	strcat(p->sock, ".sock");
	tmpdir_path(p->log, sizeof(p->log), tag);
	strcat(p->log, ".log");
	unlink(p->sock);
	snprintf(listen, sizeof(listen), "unix:%s", p->sock);
	snprintf(cmd, sizeof(cmd),
		 "exec %s --flash %s --listen %s %s >>%s 2>&1", e2e_bin_periph,
		 flash, listen, opts, p->log);
	parent = getpid();
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		bgproc_die_with_parent(parent);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* ready when the socket exists */
	until = e2e_mono_ms() + 20000;
	while (stat(p->sock, &st) < 0) {
		int status;

		assert_int_equal(waitpid(p->pid, &status, WNOHANG), 0);
		assert_true(e2e_mono_ms() < until);
		usleep(10000);
	}
}

/* SIGTERM, and the daemon must exit 0 (a clean shutdown). */
void e2e_periph_stop(struct e2e_periph *p)
{
	int status;

	kill(p->pid, SIGTERM);
	assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

void e2e_periph_kill(struct e2e_periph *p)
{
	int status;

	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
}

bool e2e_log_contains(const struct e2e_periph *p, const char *needle)
{
	size_t len;
	uint8_t *buf = e2e_read_all(p->log, &len);
	bool found;

	buf = realloc(buf, len + 1);
	buf[len] = '\0';
	found = strstr((char *)buf, needle) != NULL;
	free(buf);
	return found;
}

/* Run `sh -c CMD` to completion; stdout+stderr into @out; @shown names it. */
static int run_cmd(char *out, size_t cap, const char *cmd, const char *shown)
{
	size_t n;
	FILE *fp;
	int st;

	fp = popen(cmd, "r");
	assert_non_null(fp);
	n = fread(out, 1, cap - 1, fp);
	out[n] = '\0';
	st = pclose(fp);
	print_message("$ %s -> %d\n%s", shown,
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Run `bleota ARGS` to completion; stdout+stderr into @out. */
int e2e_bleota(char *out, size_t cap, const char *fmt, ...)
{
	char args[4096], cmd[4700], shown[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "%s %s 2>&1", e2e_bin_bleota, args);
	snprintf(shown, sizeof(shown), "bleota %s", args);
	return run_cmd(out, cap, cmd, shown);
}

int e2e_sh(char *out, size_t cap, const char *fmt, ...)
{
	char script[4096], cmd[4200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(script, sizeof(script), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "(%s) 2>&1", script);
	return run_cmd(out, cap, cmd, script);
}

/* A `bleota push --json` running in the background, read line by line. */

void e2e_bg_push(struct e2e_bg *b, const char *sock, const char *file,
		 const char *opts)
{
	char cmd[2048];
	pid_t parent;
	int fds[2];

	snprintf(cmd, sizeof(cmd), "exec %s push --json %s unix:%s %s",
		 e2e_bin_bleota, opts, sock, file);
	assert_int_equal(pipe(fds), 0);
	parent = getpid();
	b->pid = fork();
	assert_true(b->pid >= 0);
	if (b->pid == 0) {
		bgproc_die_with_parent(parent);
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
unsigned long e2e_bg_wait_progress(struct e2e_bg *b, unsigned long bytes)
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
int e2e_bg_finish(struct e2e_bg *b, char *out, size_t cap)
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

void e2e_bg_kill(struct e2e_bg *b)
{
	int st;

	kill(b->pid, SIGKILL);
	waitpid(b->pid, &st, 0);
	fclose(b->out);
}

unsigned long e2e_json_number(const char *out, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(out, pat);
	return p ? strtoul(p + strlen(pat), NULL, 10) : 0;
}
