/* SPDX-License-Identifier: MIT */
/*
 * What `bleota image info` and `verify` compute about a file's Secure
 * Boot v2 signature blocks, shared with the gateway's page (the upload
 * panel of `bleota serve` shows the same facts). Defined in cmd_image.c.
 */
#ifndef BLEOTA_CENTRAL_IMAGECHECK_H
#define BLEOTA_CENTRAL_IMAGECHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ota_engine/image.h"
#include "ota_engine/sigblock.h"

/* One signature block slot of a file, checked against the file itself. */
struct image_sig {
	struct ota_sigblock b; /* aliases the file's buffer */
	bool present;          /* not an erased slot */
	bool digest_ok;        /* signs this file's signed region */
	int verify;            /* ota_sigblock_verify(): 0 verifies */
};

/**
 * image_check_sigs() - parse the signature sector after an image of
 * @image_len bytes in @buf (@len bytes, the whole file) as ESP-IDF finds
 * it and check each block against the digest of the signed region.
 * Return: the number of present (non-erased) slots; 0: not signed.
 */
unsigned int image_check_sigs(const uint8_t *buf, size_t len,
			      uint32_t image_len,
			      struct image_sig r[OTA_SIGBLOCK_MAX]);

/** image_sig_ok() - @r is present, well formed, signs the file, verifies. */
bool image_sig_ok(const struct image_sig *r);

/** image_sig_problem() - "valid", or why @r is not (plain words). */
const char *image_sig_problem(const struct image_sig *r);

/** image_advice() - what to do about @e, "" for OTA_IMAGE_OK. */
const char *image_advice(enum ota_image_err e);

#endif /* BLEOTA_CENTRAL_IMAGECHECK_H */
