/* SPDX-License-Identifier: MIT */
/*
 * The OTA engine as the protocol receiver's sink: maps receiver callbacks
 * onto engine calls and engine failure reasons onto wire statuses, with
 * the detail words docs/protocol.md §7 promises (slot size for TOO_LARGE,
 * the device's chip for WRONG_CHIP, ...).
 */
#ifndef BLEOTA_PERIPHERAL_ENGINE_SINK_H
#define BLEOTA_PERIPHERAL_ENGINE_SINK_H

#include <stdbool.h>

#include "ota_engine/engine.h"
#include "protocol/receiver.h"

struct engine_sink {
	struct ota_engine *eng;
	bool have_manifest;
	struct ota_engine_manifest man; /* of the session the engine holds */
	bool committed_again; /* a BEGIN of the very image already committed */
};

extern const struct ota_sink_ops engine_sink_ops;

/** engine_sink_init() - bind to @eng (borrowed, must outlive the sink). */
void engine_sink_init(struct engine_sink *s, struct ota_engine *eng);

/** engine_sink_status_of() - the wire status for an engine reason. */
enum ota_status engine_sink_status_of(enum ota_engine_reason r);

#endif /* BLEOTA_PERIPHERAL_ENGINE_SINK_H */
