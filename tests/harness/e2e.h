/* SPDX-License-Identifier: MIT */
/*
 * End-to-end helpers: images and device flashes made for a test, the real
 * bleota-peripheral and bleota programs run as processes (condition waits,
 * bounded), and the device flash read back with the engine's own reader.
 * Binaries come from $BLEOTA_BUILD (default build/).
 */
#ifndef BLEOTA_TESTS_HARNESS_E2E_H
#define BLEOTA_TESTS_HARNESS_E2E_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tests/harness/esp_image_build.h"

extern char e2e_bin_bleota[512];
extern char e2e_bin_periph[512];

struct e2e_image {
	char path[512];
	uint8_t *data;
	size_t len;
};

struct e2e_flash_view {
	int running_slot;
	uint32_t running_state;
	char running_version[33];
	uint8_t slot_sha[2][32];
};

struct e2e_periph {
	pid_t pid;
	char sock[600];
	char log[600];
};

struct e2e_bg {
	pid_t pid;
	FILE *out;
};

/** e2e_init() - find the programs ($BLEOTA_BUILD); call once first. */
void e2e_init(void);

/* An ESP app image (chip, version, secure_version, IROM size, corruption)
 * written to the scratch dir as @name. */
void e2e_image(struct e2e_image *im, const char *name, const char *version,
	       uint16_t chip, uint32_t secver, uint32_t big_seg,
	       enum esp_corruption corrupt);

/* The same (DEV_CHIP, secure_version 0, valid) with data that repeats
 * every @repeat bytes: compressible. */
void e2e_image_repeat(struct e2e_image *im, const char *name,
		      const char *version, uint32_t big_seg, uint32_t repeat);

/* A whole file, malloc'd. */
uint8_t *e2e_read_all(const char *path, size_t *len);

/* A 4 MiB two-OTA device flash with @v1 in ota_0 (bleota flash create). */
void e2e_flash(char *path, size_t cap, const char *name,
	       const struct e2e_image *v1);

/* @path still holds exactly @before (@blen bytes, from e2e_read_all(),
 * freed here). */
void e2e_assert_file_unchanged(const char *path, uint8_t *before, size_t blen);

/* What the device's engine reads from the flash (inspect mode). */
void e2e_view_flash(const char *path, size_t slot_len,
		    struct e2e_flash_view *v);

/* Slot @slot holds exactly @im. */
void e2e_assert_slot_holds(const char *flash, int slot,
			   const struct e2e_image *im);

/* Monotonic milliseconds. */
uint64_t e2e_mono_ms(void);

/* Start bleota-peripheral on @flash (socket and log named @tag, extra
 * options @opts) and wait until its socket exists. */
void e2e_periph_start(struct e2e_periph *p, const char *flash, const char *tag,
		      const char *opts);

/* SIGTERM; the daemon must exit 0. */
void e2e_periph_stop(struct e2e_periph *p);

/* SIGKILL: a power cut. */
void e2e_periph_kill(struct e2e_periph *p);

/* Whether the daemon's log contains @needle. */
bool e2e_log_contains(const struct e2e_periph *p, const char *needle);

/* Run `bleota ARGS` (stdout + stderr into @out); its exit status. */
int e2e_bleota(char *out, size_t cap, const char *fmt, ...);

/* Run the shell command FMT (stdout + stderr into @out); its exit status,
 * -1 if it was killed. */
int e2e_sh(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* `bleota push --json` in the background, stdout readable line by line. */
void e2e_bg_push(struct e2e_bg *b, const char *sock, const char *file,
		 const char *opts);

/* Read until a progress event reports >= @bytes. */
unsigned long e2e_bg_wait_progress(struct e2e_bg *b, unsigned long bytes);

/* Wait for the background push; the rest of its output into @out. */
int e2e_bg_finish(struct e2e_bg *b, char *out, size_t cap);

/* SIGKILL the background push. */
void e2e_bg_kill(struct e2e_bg *b);

/* The number after "KEY": in @out, 0 if absent. */
unsigned long e2e_json_number(const char *out, const char *key);

#endif /* BLEOTA_TESTS_HARNESS_E2E_H */
