/* SPDX-License-Identifier: MIT */
/* Delta pushes through the engine API (delta_push.h). */
#include "tests/harness/delta_push.h"

#include <stdlib.h>
#include <string.h>

#include "common/crc32.h"
#include "host/delta_diff.h"

uint8_t *dp_patch(const uint8_t *base, size_t blen, const uint8_t *nw,
		  size_t nlen, bool hs, size_t *plen)
{
	struct delta_diff_opts o = { .heatshrink = hs,
				     .w = DELTA_DEFAULT_WINDOW_SZ2,
				     .l = DELTA_DEFAULT_LOOKAHEAD_SZ2 };

	return delta_diff(base, blen, nw, nlen, &o, plen);
}

void dp_manifest(const uint8_t *base, size_t blen, const uint8_t *nw,
		 size_t nlen, size_t plen, struct ota_engine_manifest *m)
{
	bool is_app;

	dev_manifest(nw, nlen, m);
	m->encoding = OTA_ENGINE_ENC_DELTA;
	m->patch_size = (uint32_t)plen;
	m->has_base_sha256 = base != NULL;
	if (base)
		delta_esp_base_hash(base, blen, m->base_sha256, &is_app);
}

uint32_t dp_restart_offset(struct dev *d, size_t plen)
{
	uint32_t b = 0, nb = (uint32_t)((plen + 4095) / 4096);

	while (b < nb && ota_engine_block_is_verified(&d->eng, b))
		b++;
	return b * 4096 < plen ? b * 4096 : (uint32_t)plen;
}

int dp_send(struct dev *d, const uint8_t *patch, size_t plen, size_t chunk)
{
	uint32_t b = dp_restart_offset(d, plen) / 4096;
	uint32_t nb = (uint32_t)((plen + 4095) / 4096);
	int rc;

	for (; b < nb; b++) {
		size_t start = (size_t)b * 4096, off = 0;
		size_t blen = plen - start < 4096 ? plen - start : 4096;

		while (off < blen) {
			size_t n = blen - off < chunk ? blen - off : chunk;

			rc = ota_engine_write(&d->eng, (uint32_t)(start + off),
					      patch + start + off, n);
			if (rc)
				return rc;
			off += n;
		}
		rc = ota_engine_block_verify(&d->eng, b,
					     ota_crc32(0, patch + start, blen));
		if (rc)
			return rc;
	}
	return 0;
}
