/* SPDX-License-Identifier: MIT */
/*
 * The device behind bleota-peripheral: one OTA engine on a flash, one
 * protocol receiver, and at most one client connection at a time. Another
 * client gets every request answered with BUSY and is then closed. A
 * REBOOT request closes the client (as a real reboot drops the link),
 * re-runs the simulated bootloader in-process and starts a fresh receiver.
 */
#ifndef BLEOTA_PERIPHERAL_SERVER_H
#define BLEOTA_PERIPHERAL_SERVER_H

#include <stdint.h>

#include "ota_engine/engine.h"
#include "host/transport.h"
#include "protocol/receiver.h"

struct server_cfg {
	struct ota_engine_cfg engine; /* flash, chip, rollback, ... */
	uint32_t window_bytes;        /* 0: protocol default */
	uint32_t idle_timeout_ms;     /* 0: protocol default */
};

struct server;

/**
 * server_new() - power on: init the engine and run its bootloader.
 * Return: the server, or NULL with *err set (-ENODEV: no valid partition
 * table; -ENOENT: nothing bootable; -EIO).
 */
struct server *server_new(const struct server_cfg *cfg, int *err);

/**
 * server_attach() - a new client connection (ownership of @t taken).
 */
void server_attach(struct server *s, struct transport *t);

/** server_reboot() - what REBOOT does: drop the client, boot again. */
int server_reboot(struct server *s);

void server_free(struct server *s);

/** server_engine() - for status logs and tests. */
struct ota_engine *server_engine(struct server *s);

/** server_read_info() - the INFO attribute (Info characteristic value). */
int server_read_info(struct server *s, uint8_t *buf, size_t cap);

/** server_has_client() - whether a client is being served. */
bool server_has_client(const struct server *s);

/** server_log_boot() - one line: running slot, version, state. */
void server_log_boot(struct server *s);

#endif /* BLEOTA_PERIPHERAL_SERVER_H */
