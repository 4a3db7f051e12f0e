/* SPDX-License-Identifier: MIT */
#include "central/manifest.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ota_engine/crypto.h"

/* The file's bytes after the image: 0xFF padding to the 4 KiB boundary
 * and one signature sector, or anything else (-EMSGSIZE). */
static int find_sig(const uint8_t *img, size_t len, uint32_t image_len,
		    struct manifest_sig *sig)
{
	uint32_t region = ota_sigblock_sector_offset(image_len);
	uint32_t i;

	if (len != (size_t)region + OTA_SIGBLOCK_SECTOR_LEN)
		return -EMSGSIZE;
	for (i = image_len; i < region; i++)
		if (img[i] != 0xff)
			return -EMSGSIZE;
	if (img[region] != OTA_SIGBLOCK_MAGIC)
		return -EMSGSIZE;
	sig->region = region;
	sig->nvalid = ota_sigblock_parse_sector(
		img + region, OTA_SIGBLOCK_SECTOR_LEN, sig->blk);
	return sig->nvalid ? 0 : -EBADMSG;
}

int manifest_from_image(const uint8_t *img, size_t len,
			struct ota_image_verify *v, struct ota_manifest *m,
			struct manifest_sig *sig)
{
	struct ota_image_cfg icfg = { .chip_id = OTA_CHIP_ANY };
	struct ota_sha256 sha;
	int r;

	memset(sig, 0, sizeof(*sig));
	ota_image_verify_init(v, &icfg);
	if (ota_image_verify_update(v, img, len) || ota_image_verify_final(v))
		return -EILSEQ;
	if (v->info.image_len != len) {
		r = find_sig(img, len, v->info.image_len, sig);
		if (r)
			return r;
		len = sig->region;
	}
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

int manifest_pick_block(const struct manifest_sig *sig,
			const uint8_t (*trusted)[OTA_SHA256_LEN],
			unsigned int n, struct ota_manifest *m)
{
	int first = -1;
	unsigned int b, k;

	for (b = 0; b < OTA_SIGBLOCK_MAX; b++) {
		if (sig->blk[b].err != OTA_SIGBLOCK_OK)
			continue;
		if (first < 0)
			first = (int)b;
		for (k = 0; k < n; k++)
			if (!memcmp(sig->blk[b].key_digest, trusted[k],
				    OTA_SHA256_LEN))
				goto found;
	}
	if (first < 0)
		return -1;
	m->sig = sig->blk[first].raw;
	m->sig_len = OTA_SIG_BLOCK_LEN;
	return n ? -1 : first;
found:
	m->sig = sig->blk[b].raw;
	m->sig_len = OTA_SIG_BLOCK_LEN;
	return (int)b;
}
