/* SPDX-License-Identifier: MIT */
/*
 * bleota subcommands. main.c holds the table { name, handler, help };
 * each handler gets argv starting at its own name and returns an exit code.
 */
#ifndef BLEOTA_CENTRAL_COMMANDS_H
#define BLEOTA_CENTRAL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit codes, documented in docs/bleota.1.md. */
#define BLEOTA_EXIT_OK        0 /* success */
#define BLEOTA_EXIT_FAIL      1 /* the operation failed (invalid image, I/O) */
#define BLEOTA_EXIT_USAGE     2 /* bad command line */
#define BLEOTA_EXIT_BAD_IMAGE 3 /* push: the local file is not a valid image */
#define BLEOTA_EXIT_REFUSED   4 /* the device refused (pre-flight, busy) */
#define BLEOTA_EXIT_TRANSPORT 5 /* no connection, lost, or device silent */
#define BLEOTA_EXIT_VERIFY    6 /* the device's verification failed */

struct bleota_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
};

/** `bleota image info|verify FILE` */
int cmd_image(int argc, char **argv);

/** `bleota image diff|patch`, `bleota image info PATCH` (cmd_delta.c) */
int cmd_delta(int argc, char **argv);

/** Whether `image info`'s FILE (last argument) is a patch, not an app. */
bool cmd_delta_is_patch(int argc, char **argv);

/** Whether @buf (@len bytes: a file's start) is a patch bleota knows of:
 *  an esp_delta_ota header or a detools type and compression byte. */
bool cmd_delta_buf_is_patch(const uint8_t *buf, size_t len);

/** `bleota flash create|info FILE ...` */
int cmd_flash(int argc, char **argv);

/** `bleota push DEVICE FILE` */
int cmd_push(int argc, char **argv);

/** `bleota info|status|confirm|rollback|reboot|abort DEVICE` */
int cmd_device(int argc, char **argv);

/** `bleota scan [--timeout S] [--adapter hciN]` */
int cmd_scan(int argc, char **argv);

/** `bleota part csv2bin|bin2csv IN OUT` */
int cmd_part(int argc, char **argv);

/** `bleota serve --config FILE|URL ...`: the gateway (central/serve.c) */
int cmd_serve(int argc, char **argv);

#endif /* BLEOTA_CENTRAL_COMMANDS_H */
