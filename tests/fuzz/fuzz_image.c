/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the streaming ESP-IDF image verifier (ota_engine/
 * image.h). Input: chip selector (1), partition-size selector (1), chunking
 * seed (1), then the image.
 *
 * Beyond "no crash" (ASan sees every read; the image is the fuzzer's exact
 * buffer): feeding the image in random chunk sizes, including empty ones,
 * gives the same verdict, error, error offset, completeness, image length
 * and parsed header as feeding it in one call; an accepted image fits the
 * partition and ends within the input; the description of the verdict is a
 * terminated string. Seeds: images from tests/harness/esp_image_build for
 * several chips and layouts, and every corruption the builder knows.
 */
#include <string.h>

#include "ota_engine/image.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint16_t chips[] = { OTA_CHIP_ANY,     OTA_CHIP_ESP32,
				  OTA_CHIP_ESP32C3, OTA_CHIP_ESP32S3,
				  OTA_CHIP_ESP32C6, OTA_CHIP_ESP32H2 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ota_image_verify one, many;
	struct ota_image_cfg cfg = { 0 };
	uint32_t rng, off = 0;
	int r1, r2, u1, u2;
	char desc[256];

	if (size < 3)
		return 0;
	cfg.chip_id = chips[data[0] % (sizeof(chips) / sizeof(chips[0]))];
	cfg.chip_rev = (uint16_t)(data[0] / 8 * 25);
	cfg.max_len = data[1] < 0x80 ? 0 : (uint32_t)(data[1] - 0x7f) * 1024;
	rng = data[2] * 2654435761u + 1;
	data += 3;
	size -= 3;

	ota_image_verify_init(&one, &cfg);
	u1 = ota_image_verify_update(&one, data, size);
	r1 = ota_image_verify_final(&one);

	ota_image_verify_init(&many, &cfg);
	u2 = 0;
	while (off < size) {
		uint32_t n;

		rng = rng * 1103515245u + 12345u;
		n = (rng >> 16) % 700;
		if (n > size - off)
			n = (uint32_t)(size - off);
		u2 = ota_image_verify_update(&many, data + off, n);
		off += n;
	}
	if (!size)
		u2 = ota_image_verify_update(&many, data, 0);
	r2 = ota_image_verify_final(&many);

	FUZZ_CHECK(u1 == u2 && r1 == r2);
	FUZZ_CHECK(one.err == many.err && one.err_off == many.err_off);
	FUZZ_CHECK(ota_image_verify_complete(&one) ==
		   ota_image_verify_complete(&many));
	FUZZ_CHECK(one.info.image_len == many.info.image_len);
	FUZZ_CHECK(one.info.seg_count == many.info.seg_count);
	FUZZ_CHECK(one.info.has_desc == many.info.has_desc);
	FUZZ_CHECK(one.info.checksum_calc == many.info.checksum_calc);
	FUZZ_CHECK(!memcmp(one.info.sha_calc, many.info.sha_calc,
			   sizeof(one.info.sha_calc)));
	if (r1 == 0) {
		FUZZ_CHECK(one.err == OTA_IMAGE_OK);
		FUZZ_CHECK(one.info.image_len <= size);
		if (cfg.max_len)
			FUZZ_CHECK(one.info.image_len <= cfg.max_len);
	}
	ota_image_describe(&one, desc, sizeof(desc));
	FUZZ_CHECK(memchr(desc, '\0', sizeof(desc)));
	return 0;
}
