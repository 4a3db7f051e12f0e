/* SPDX-License-Identifier: MIT */
/*
 * A connection from bleota to a device, and one protocol operation run on
 * it to completion on a GLib main loop. DEVICE is "unix:PATH" (a
 * bleota-peripheral socket), a Bluetooth address or a device name (through
 * BlueZ).
 */
#ifndef BLEOTA_CENTRAL_CLIENT_H
#define BLEOTA_CENTRAL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/sender.h"

struct client;

typedef void (*client_event_cb_t)(const struct ota_tx_event *ev,
				  const struct ota_tx *tx, void *user_data);
typedef void (*client_tick_cb_t)(const struct ota_tx *tx, void *user_data);

/**
 * client_connect() - open a connection to @device.
 * @value_max: longest value to send (0: what the link allows).
 * @why: on failure, filled with what went wrong, for the user.
 * Return: the client, or NULL with *err (-ENOENT no such socket,
 * -ECONNREFUSED nobody listening, -EPROTONOSUPPORT not a unix: device).
 */
struct client *client_connect(const char *device, size_t value_max, int *err);

/** client_set_adapter() - the BlueZ adapter ("hci0") for later connects. */
void client_set_adapter(const char *adapter);

/** client_set_no_acquire() - use WriteValue/StartNotify, not Acquire*. */
void client_set_no_acquire(bool no_acquire);

/** client_set_write_value() - Data through WriteValue, not AcquireWrite. */
void client_set_write_value(bool write_value);

/**
 * client_last_error() - after a failed Bluetooth connect: what went wrong
 * and what to do ("" for unix: devices).
 */
const char *client_last_error(void);

/**
 * client_new_fd() - a client on a connected SOCK_SEQPACKET @fd (ownership
 * taken), e.g. one end of a socketpair. NULL on allocation failure.
 */
struct client *client_new_fd(int fd, size_t value_max);

/** client_value_max() - the longest value this connection carries. */
size_t client_value_max(const struct client *c);

/**
 * client_token() - the first_token for the next operation's sender: tokens
 * keep increasing over a connection, so no request is mistaken for a retry
 * of the previous one (the device answers those from its cache).
 */
uint8_t client_token(const struct client *c);

/**
 * client_run() - run the operation started on @tx until its DONE event.
 * @on_event: every sender event (BEGUN, VERIFIED, COMMITTED, DONE).
 * @on_tick: after any activity (progress).
 * Return: 0 with *done filled; -ENOTCONN if the connection closed first.
 */
int client_run(struct client *c, struct ota_tx *tx, client_event_cb_t on_event,
	       client_tick_cb_t on_tick, void *user_data,
	       struct ota_tx_event *done);

/** client_wait_closed() - wait up to @ms for the device to hang up. */
bool client_wait_closed(struct client *c, unsigned int ms);

void client_free(struct client *c);

/**
 * client_request() - connect-free helper: run one single request (READ,
 * CONFIRM, ...) on @c with default timing.
 * Return: as client_run(); READ data via ota_tx_read_data(@tx).
 */
int client_request(struct client *c, struct ota_tx *tx, uint8_t op,
		   uint8_t attr, struct ota_tx_event *done);

#endif /* BLEOTA_CENTRAL_CLIENT_H */
