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
#include "protocol/frame.h"

/**
 * manifest_from_image() - verify @img and describe it in @m.
 * @v: the verifier, kept for the caller (chip, app descriptor, errors).
 * Return: 0; -EILSEQ if the image is invalid (ota_image_describe(@v) says
 * why); -EMSGSIZE if bytes follow the image's end (a merged binary).
 */
int manifest_from_image(const uint8_t *img, size_t len,
			struct ota_image_verify *v, struct ota_manifest *m);

#endif /* BLEOTA_CENTRAL_MANIFEST_H */
