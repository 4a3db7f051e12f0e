/* SPDX-License-Identifier: MIT */
/*
 * What the commands that talk to a device share (bleota push in push.c,
 * info/status/confirm/rollback/reboot/abort in cmd_device.c): the INFO and
 * STATUS attributes as the CLI shows them, reading them over a client,
 * and turning a failure (connect, lost connection, device status) into
 * one report_error() message and its exit code from commands.h.
 */
#ifndef BLEOTA_CENTRAL_DEVATTR_H
#define BLEOTA_CENTRAL_DEVATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "central/client.h"
#include "ota_engine/image.h"
#include "protocol/info.h"

/* The INFO attribute, as the CLI shows it. */
struct dev_info {
	unsigned int proto;
	uint32_t slot_size;
	uint16_t chip_id;
	char version[33];
	char project[33];
	uint32_t secure_version;
	int slot;
	uint32_t caps;
	uint32_t window;
	unsigned int max_value;
	uint8_t keys[OTA_INFO_MAX_KEYS][OTA_SHA256_LEN]; /* trusted keys */
	unsigned int nkeys;
	char tag[OTA_INFO_TAG_MAX + 1]; /* "" none (see caps & OTA_CAP_TAG) */
};

/* The STATUS attribute, as the CLI shows it. */
struct dev_status {
	unsigned int rx_state;
	uint32_t image_size;
	uint32_t held;
	bool has_session;
	int run_slot;
	uint32_t run_state;
	uint32_t other_state;
	char run_version[33];
	unsigned int last_status;
	char last_detail[80];
	char tag[OTA_INFO_TAG_MAX + 1]; /* running image's version tag */
};

/** slot_name() - "ota_N", or "no slot" for a negative @slot. */
void slot_name(char *buf, size_t cap, int slot);

/** human_size() - @v bytes as "N B", "N.N KiB" or "N.NN MiB". */
void human_size(char *out, size_t cap, uint64_t v);

/**
 * device_error() - report what a device answered while @doing.
 * @ev:  the failed request (err -ETIMEDOUT, -EREMOTEIO with a status, ...)
 * @img: the image being pushed, for the sizes in the message; NULL outside
 *       push.
 *
 * Return: the exit code for it (BLEOTA_EXIT_REFUSED, _VERIFY, ...).
 */
int device_error(const char *device, const char *doing,
		 const struct ota_tx_event *ev,
		 const struct ota_image_verify *img);

/**
 * connect_error() - report that client_connect() to @device failed with
 * -errno @err. Return: BLEOTA_EXIT_USAGE or BLEOTA_EXIT_TRANSPORT.
 */
int connect_error(const char *device, int err);

/** lost_error() - report a connection lost while @doing. Return: _TRANSPORT. */
int lost_error(const char *device, const char *doing);

/*
 * push waits out BUSY: while busy_quiet is set, a BUSY answer to the first
 * READ is returned as BUSY_RETRY (no message) with its detail kept in
 * busy_detail.
 */
#define BUSY_RETRY (-1000)
extern bool busy_quiet;
extern uint32_t busy_detail;

/**
 * read_info() - read and decode @device's INFO attribute into @i.
 *
 * Return: BLEOTA_EXIT_OK, BUSY_RETRY (see busy_quiet), or an exit code
 * after reporting the error (lost connection, refusal, malformed value).
 */
int read_info(struct client *c, const char *device, struct dev_info *i);

/** read_status() - the same for the STATUS attribute. */
int read_status(struct client *c, const char *device, struct dev_status *s);

#endif /* BLEOTA_CENTRAL_DEVATTR_H */
