/* SPDX-License-Identifier: MIT */
/*
 * bleota-peripheral's BlueZ transport: a GATT application registered with
 * org.bluez.GattManager1 and an LE advertisement, over GDBus on the system
 * bus. Each connected central becomes a struct transport handed to the
 * server, exactly like a client on the UNIX socket.
 */
#ifndef BLEOTA_PERIPHERAL_GATT_BLUEZ_H
#define BLEOTA_PERIPHERAL_GATT_BLUEZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/transport.h"

struct gatt_app;

struct gatt_app_cfg {
	const char *adapter; /* "hci0" */
	const char *name;    /* advertised local name */
	bool insecure;       /* no encrypt-* flags (links without pairing) */
	/* a central started talking: take ownership of @t */
	void (*new_client)(struct transport *t, void *user_data);
	/* the Info characteristic's value (INFO TLVs); length or -errno */
	int (*read_info)(uint8_t *buf, size_t cap, void *user_data);
	void *user_data;
};

/**
 * gatt_app_new() - connect to the system bus, export the bleota GATT
 * service, and register it and an advertisement on cfg->adapter as soon as
 * bluetoothd is there (and again whenever bluetoothd restarts).
 * Return: the app, or NULL with *why set (no system bus).
 */
struct gatt_app *gatt_app_new(const struct gatt_app_cfg *cfg, char *why,
			      size_t why_cap);

/** gatt_app_registered() - whether bluetoothd accepted the application. */
bool gatt_app_registered(const struct gatt_app *app);

void gatt_app_free(struct gatt_app *app);

#endif /* BLEOTA_PERIPHERAL_GATT_BLUEZ_H */
