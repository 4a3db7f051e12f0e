/* SPDX-License-Identifier: MIT */
/*
 * The manifest a push announces, built from the image itself: size and
 * SHA-256 of the file, version, project and secure_version from its
 * esp_app_desc_t, chip id from its extended header. The file is verified
 * locally first (format, checksum, appended SHA-256), so an invalid image
 * never leaves the host.
 */
#ifndef BLEOTA_CENTRAL_MANIFEST_H
#define BLEOTA_CENTRAL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "ota_engine/image.h"
#include "protocol/manifest.h"

#include "ota_engine/sigblock.h"

/*
 * A signed file (`bleota image sign`, `idf.py` with secure boot v2): the
 * app padded with 0xFF to a 4 KiB boundary (the signed region, what is
 * sent), then the 4 KiB signature sector with up to three blocks. BEGIN
 * carries one block; the device writes the sector after the region.
 */
struct manifest_sig {
	uint32_t region; /* signed bytes; 0: the file is not signed */
	unsigned int nvalid;
	struct ota_sigblock blk[OTA_SIGBLOCK_MAX]; /* alias the file */
};

/**
 * manifest_from_image() - verify @img and describe it in @m.
 * @v: the verifier, kept for the caller (chip, app descriptor, errors).
 * @sig: filled for a signed file; then @m describes the signed region
 * (m->image_size == sig->region) and carries no block yet: pick one with
 * manifest_pick_block().
 * Return: 0; -EILSEQ if the image is invalid (ota_image_describe(@v) says
 * why); -EMSGSIZE if other bytes follow the image's end (a merged binary);
 * -EBADMSG if the file ends in a signature sector without a valid block.
 */
int manifest_from_image(const uint8_t *img, size_t len,
			struct ota_image_verify *v, struct ota_manifest *m,
			struct manifest_sig *sig);

/**
 * manifest_pick_block() - choose the signature block BEGIN carries: the
 * first valid block whose key is in @trusted (@n digests a device listed
 * in INFO), else the first valid block (ESP-IDF's block 0 rule for devices
 * that trust their running app's key). Sets m->sig and m->sig_len.
 * Return: the block index, or -1 if none of the keys is trusted (block
 * chosen anyway: the device refuses with UNTRUSTED_KEY).
 */
int manifest_pick_block(const struct manifest_sig *sig,
			const uint8_t (*trusted)[OTA_SHA256_LEN],
			unsigned int n, struct ota_manifest *m);

#endif /* BLEOTA_CENTRAL_MANIFEST_H */
