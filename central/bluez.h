/* SPDX-License-Identifier: MIT */
/*
 * bleota's BlueZ central: finds a device advertising the bleota service,
 * connects through bluetoothd (org.bluez over the system bus), and makes
 * its characteristics a struct transport: Data through an AcquireWrite fd
 * (fallback, or asked for: WriteValue type=command), Control writes as write
 * requests, notifications through AcquireNotify fds (fallback StartNotify).
 * AcquireWrite is the default because it is the faster path: measured in
 * the VM (tests/hci/datapath.sh, docs/testing-hci.md).
 */
#ifndef BLEOTA_CENTRAL_BLUEZ_H
#define BLEOTA_CENTRAL_BLUEZ_H

#include <stdbool.h>
#include <stddef.h>

#include "host/transport.h"

struct bluez_opts {
	const char *adapter;    /* "hci0"; NULL: the first adapter */
	unsigned int timeout_s; /* discovery and connection, 0 = 20 */
	bool write_value;       /* Data through WriteValue, not AcquireWrite */
	bool no_acquire;        /* no Acquire* at all: WriteValue/StartNotify */
};

/**
 * bluez_connect() - connect to @device (a Bluetooth address or a name).
 * @why: on failure, what went wrong and what to do, for the user.
 * Return: a transport, or NULL with *err: -EHOSTDOWN (bluetoothd not
 * running), -ENODEV (no such adapter), -ENETDOWN (adapter off), -ENOENT
 * (device not found), -ECONNREFUSED (could not connect), -ENOTSUP (bleota
 * service missing), -EACCES (not permitted / pairing needed), -EBUSY (an
 * operation in progress), -ETIMEDOUT.
 */
struct transport *bluez_connect(const char *device,
				const struct bluez_opts *opts, char *why,
				size_t why_cap, int *err);

/* One device seen by bluez_scan(): @rssi is meaningful if @has_rssi. */
typedef void (*bluez_found_cb_t)(const char *address, const char *name,
				 int rssi, bool has_rssi, void *user_data);

/**
 * bluez_scan() - discover devices advertising the bleota service on
 * opts->adapter for opts->timeout_s seconds (0: 10); @found is called once
 * per device, as it is seen. Output is the caller's.
 * Return: 0, or -errno as bluez_connect() with @why saying what went wrong
 * and what to do (no bluetoothd, no or powered-off adapter, discovery
 * refused).
 */
int bluez_scan(const struct bluez_opts *opts, bluez_found_cb_t found,
	       void *user_data, char *why, size_t why_cap);

/** bluez_is_address() - "AA:BB:CC:DD:EE:FF"? */
bool bluez_is_address(const char *s);

#endif /* BLEOTA_CENTRAL_BLUEZ_H */
