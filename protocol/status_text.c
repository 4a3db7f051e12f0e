/* SPDX-License-Identifier: MIT */
/*
 * The wire status table's words, for host builds only. Each row carries
 * the name, the meaning and the advice a CLI prints, so that no user ever
 * sees "Error: 1" (mcumgr#10) and a refusal names its cause (Nordic's
 * catch-all INVALID OBJECT is the counter-example). Lookups are a linear
 * scan of a small const table.
 *
 * Device firmware keeps none of this text: the status byte and its detail
 * number travel, the host formats them. make size and the bare-metal
 * example leave *_text.c files out of the device link, as they do
 * ota_engine/engine_text.c; status.c holds what a device may use.
 */
#include "protocol/status.h"

#include <stddef.h>

struct status_row {
	uint8_t value;
	const char *name;
	const char *meaning;
	const char *hint;
};

static const struct status_row rows[] = {
	{ OTA_STATUS_OK, "OK", "success", "" },
	{ OTA_STATUS_BAD_PDU, "BAD_PDU",
	  "the device received a malformed request",
	  "check that host and device run compatible bleota versions" },
	{ OTA_STATUS_UNSUPPORTED, "UNSUPPORTED",
	  "the device does not support this request or manifest field",
	  "update the device firmware or use an older bleota" },
	{ OTA_STATUS_BAD_STATE, "BAD_STATE",
	  "the request is not valid in the device's current state",
	  "run 'bleota status' to see the device state, then retry" },
	{ OTA_STATUS_BUSY, "BUSY", "another client is updating the device",
	  "wait for the other update to finish, or abort it" },
	{ OTA_STATUS_BAD_OFFSET, "BAD_OFFSET",
	  "a manifest segment arrived at an unexpected offset",
	  "retry; the transfer restarts the manifest" },
	{ OTA_STATUS_BAD_CHUNK_SIZE, "BAD_CHUNK_SIZE",
	  "the chunk size is larger than the device accepts",
	  "retry with a smaller MTU (--mtu)" },
	{ OTA_STATUS_BAD_MANIFEST, "BAD_MANIFEST",
	  "the image manifest is malformed or incomplete",
	  "retry; if it persists, report a bleota bug" },
	{ OTA_STATUS_TOO_LARGE, "TOO_LARGE",
	  "image is larger than the update slot",
	  "build a smaller image or repartition the device" },
	{ OTA_STATUS_WRONG_CHIP, "WRONG_CHIP",
	  "image is built for a different chip",
	  "build the image for the device's chip" },
	{ OTA_STATUS_DOWNGRADE, "DOWNGRADE",
	  "image secure_version is below the device's anti-rollback counter",
	  "build the image with a secure_version at least the device's" },
	{ OTA_STATUS_SAME_AS_FAILED, "SAME_AS_FAILED",
	  "image is identical to the last image that failed on this device",
	  "fix the image; pushing it again would fail the same way" },
	{ OTA_STATUS_SAME_AS_RUNNING, "SAME_AS_RUNNING",
	  "image is identical to the running image",
	  "nothing to do; use --force to install it anyway" },
	{ OTA_STATUS_SIGNATURE_REQUIRED, "SIGNATURE_REQUIRED",
	  "the device only accepts signed images",
	  "sign the image with 'bleota image sign --key KEY.pem'" },
	{ OTA_STATUS_BAD_SIGNATURE, "BAD_SIGNATURE",
	  "image signature does not verify",
	  "re-sign the image; it may be corrupt or tampered with" },
	{ OTA_STATUS_UNTRUSTED_KEY, "UNTRUSTED_KEY",
	  "image is signed with a key the device does not trust",
	  "sign with a key the device trusts: 'bleota info DEVICE' lists "
	  "their digests, 'bleota image info FILE' the image's" },
	{ OTA_STATUS_WRONG_BASE, "WRONG_BASE",
	  "the patch was made against an image the device is not running",
	  "push without --base (or with --full), or make the patch against "
	  "the running image; 'bleota info DEVICE' shows its hash" },
	{ OTA_STATUS_INCOMPLETE, "INCOMPLETE",
	  "not all of the image has reached the device",
	  "retry the push; it resumes where the device is" },
	{ OTA_STATUS_HASH_MISMATCH, "HASH_MISMATCH",
	  "the received image does not match its SHA-256",
	  "retry the push; if it persists the host file changed during "
	  "upload" },
	{ OTA_STATUS_BAD_IMAGE, "BAD_IMAGE",
	  "the received image is not a valid app image",
	  "check the file with 'bleota image verify'" },
	{ OTA_STATUS_MANIFEST_MISMATCH, "MANIFEST_MISMATCH",
	  "the image contents disagree with its manifest",
	  "check the file with 'bleota image info'" },
	{ OTA_STATUS_BLOCK_RETRIES, "BLOCK_RETRIES",
	  "a block kept failing its CRC check on the device",
	  "the link or the device flash is faulty; retry closer to the "
	  "device" },
	{ OTA_STATUS_BAD_PATCH, "BAD_PATCH",
	  "the patch is malformed or does not fit the device's images",
	  "check it with 'bleota image info PATCH', or push the full image "
	  "(--full)" },
	{ OTA_STATUS_FLASH_ERROR, "FLASH_ERROR",
	  "the device could not write its flash",
	  "retry; if it persists the device flash may be worn out" },
	{ OTA_STATUS_NOT_VERIFIED, "NOT_VERIFIED",
	  "there is no verified image to commit",
	  "push the image again (without --no-commit)" },
	{ OTA_STATUS_NOTHING_PENDING, "NOTHING_PENDING",
	  "no new image is waiting for confirmation",
	  "run 'bleota status'; the running image may be confirmed already" },
	{ OTA_STATUS_NO_ROLLBACK_TARGET, "NO_ROLLBACK_TARGET",
	  "there is no previous image to roll back to",
	  "nothing to roll back; push an older image instead" },
	{ OTA_STATUS_PENDING_CONFIRM, "PENDING_CONFIRM",
	  "the running image is still waiting for confirmation",
	  "confirm it with 'bleota confirm' or undo it with 'bleota rollback' "
	  "before pushing another" },
	{ OTA_STATUS_NO_SLOT, "NO_SLOT", "the device has no OTA slot to update",
	  "give the device a partition table with two OTA app slots "
	  "(ota_0, ota_1)" },
	{ OTA_STATUS_REBOOT_REQUIRED, "REBOOT_REQUIRED",
	  "an update is committed and waits for the device to reboot",
	  "reboot the device ('bleota reboot') before pushing another "
	  "image" },
	{ OTA_STATUS_TIMEOUT, "TIMEOUT",
	  "the update session timed out on the device",
	  "retry the push; it resumes where the device is" },
	{ OTA_STATUS_ABORTED, "ABORTED", "the update session was aborted",
	  "start the push again" },
	{ OTA_STATUS_INTERNAL, "INTERNAL", "internal error on the device",
	  "retry; if it persists, report a bleota bug with the device log" },
};

static const struct status_row *lookup(uint8_t st)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].value == st)
			return &rows[i];
	}
	return NULL;
}

const char *ota_status_name(uint8_t st)
{
	const struct status_row *r = lookup(st);

	return r ? r->name : "UNKNOWN";
}

const char *ota_status_str(uint8_t st)
{
	const struct status_row *r = lookup(st);

	return r ? r->meaning : "the device reported an unknown status";
}

const char *ota_status_hint(uint8_t st)
{
	const struct status_row *r = lookup(st);

	return r ? r->hint : "update bleota on the host";
}

int ota_status_is_known(uint8_t st)
{
	return lookup(st) != NULL;
}
