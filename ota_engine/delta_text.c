/* SPDX-License-Identifier: MIT */
/*
 * The words for a patch decoder error. Host builds only (bleota image, the
 * engine's notes as a host formats them): a device reports the error code
 * (BAD_PATCH's detail) and carries no text, so make size leaves this file
 * out, as it does the other *_text.c files.
 */
#include "ota_engine/delta.h"

const char *ota_delta_strerror(enum ota_delta_err err)
{
	/* short: bleota image adds the advice */
	switch (err) {
	case OTA_DELTA_OK:
		return "ok";
	case OTA_DELTA_ERR_HEADER:
		return "bad patch header byte";
	case OTA_DELTA_ERR_TYPE:
		return "patch type is not sequential";
	case OTA_DELTA_ERR_COMPRESSION:
		return "compression not none/heatshrink";
	case OTA_DELTA_ERR_HS_PARAMS:
		return "bad heatshrink parameters";
	case OTA_DELTA_ERR_WINDOW:
		return "heatshrink window too large";
	case OTA_DELTA_ERR_VARINT:
		return "integer overflow (varint)";
	case OTA_DELTA_ERR_NEGATIVE:
		return "negative size";
	case OTA_DELTA_ERR_DATA_FORMAT:
		return "data-format patch";
	case OTA_DELTA_ERR_TOO_BIG:
		return "image larger than the slot";
	case OTA_DELTA_ERR_PAST_END:
		return "record past to-size";
	case OTA_DELTA_ERR_BASE_RANGE:
		return "record reads outside the base";
	case OTA_DELTA_ERR_HS_TRUNCATED:
		return "heatshrink stream truncated";
	case OTA_DELTA_ERR_TRAILING:
		return "bytes after the patch end";
	case OTA_DELTA_ERR_SHORT:
		return "patch ends early";
	case OTA_DELTA_ERR_IO:
		return "base read or output write failed";
	}
	return "unknown";
}
