/* SPDX-License-Identifier: MIT */
#include "central/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ota_engine/crypto.h"

int manifest_from_image(const uint8_t *img, size_t len,
			struct ota_image_verify *v, struct ota_manifest *m)
{
	struct ota_image_cfg icfg = { .chip_id = OTA_CHIP_ANY };
	struct ota_sha256 sha;

	ota_image_verify_init(v, &icfg);
	if (ota_image_verify_update(v, img, len) || ota_image_verify_final(v))
		return -EILSEQ;
	if (v->info.image_len != len)
		return -EMSGSIZE;
	memset(m, 0, sizeof(*m));
	m->image_size = (uint32_t)len;
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, img, len);
	ota_sha256_final(&sha, m->sha256);
	snprintf(m->version, sizeof(m->version), "%s", v->info.desc.version);
	snprintf(m->project, sizeof(m->project), "%s", v->info.desc.project);
	m->chip_id = v->info.chip_id;
	m->has_chip_id = true;
	m->secure_version = v->info.desc.secure_version;
	m->has_secure_version = true;
	return 0;
}
