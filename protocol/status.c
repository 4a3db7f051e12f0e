/* SPDX-License-Identifier: MIT */
/*
 * Wire status helpers a device may link: numbers only. The names, meanings
 * and hints live in status_text.c, which only host builds link.
 */
#include "protocol/status.h"

#include <errno.h>

enum ota_status ota_status_from_errno(int err)
{
	switch (err) {
	case 0:
		return OTA_STATUS_OK;
	case -EBADMSG:
	case -EINVAL:
		return OTA_STATUS_BAD_PDU;
	case -EPROTO:
		return OTA_STATUS_BAD_STATE;
	case -EMSGSIZE:
		return OTA_STATUS_BAD_CHUNK_SIZE;
	case -ENOSPC:
		return OTA_STATUS_TOO_LARGE;
	case -EIO:
		return OTA_STATUS_FLASH_ERROR;
	case -EILSEQ:
		return OTA_STATUS_BAD_IMAGE;
	case -ECANCELED:
		return OTA_STATUS_ABORTED;
	case -ETIMEDOUT:
		return OTA_STATUS_TIMEOUT;
	case -EBUSY:
		return OTA_STATUS_BUSY;
	case -ENOTSUP:
		return OTA_STATUS_UNSUPPORTED;
	case -ENODEV:
		return OTA_STATUS_NO_SLOT;
	default:
		return OTA_STATUS_INTERNAL;
	}
}
