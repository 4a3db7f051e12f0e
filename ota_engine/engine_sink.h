/* SPDX-License-Identifier: MIT */
/*
 * The OTA engine as the protocol receiver's sink: maps receiver callbacks
 * onto engine calls and engine failure reasons onto wire statuses, with
 * the detail words docs/protocol.md §7 promises (slot size for TOO_LARGE,
 * the device's chip for WRONG_CHIP, ...). Device code: libc only, no
 * allocation, no words; what it has to say goes to the engine's log
 * callback as notes (OTA_ENGINE_MSG_REFUSED, ...), which a host formats.
 * An MCU port links protocol/ + ota_engine/ and hands engine_sink_ops to
 * ota_rx_init().
 */
#ifndef BLEOTA_OTA_ENGINE_ENGINE_SINK_H
#define BLEOTA_OTA_ENGINE_ENGINE_SINK_H

#include "ota_engine/engine.h"
#include "protocol/receiver.h"

struct engine_sink {
	struct ota_engine *eng;
	uint32_t write_detail; /* of the last failed write */
};

extern const struct ota_sink_ops engine_sink_ops;

/** engine_sink_init() - bind to @eng (borrowed, must outlive the sink). */
void engine_sink_init(struct engine_sink *s, struct ota_engine *eng);

/** engine_sink_status_of() - the wire status for an engine reason. */
enum ota_status engine_sink_status_of(enum ota_engine_reason r);

#endif /* BLEOTA_OTA_ENGINE_ENGINE_SINK_H */
