/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: Secure Boot v2 signature sectors (ota_engine/
 * sigblock.h) and the signature checks behind them (crypto.h, mbedTLS).
 * Input: one flags byte, then up to 4096 bytes of signature sector. Flag
 * bit 0 makes each 1216-byte slot's CRC right before parsing, so mutations
 * get past the CRC to the scheme, key and signature checks.
 *
 * Beyond "no crash": the parser counts exactly the slots it reports OK; a
 * valid block's pointers lie inside its own 1216 bytes, its digest length
 * matches its scheme, its key digest is the SHA-256 of its key bytes; and
 * verification answers only 0, -EBADMSG, -EINVAL or -ENOMEM.
 * Seeds: one valid sector per scheme (gen_seeds signs with keys it
 * generates), and one with three P-256 blocks.
 */
#include <errno.h>
#include <string.h>

#include "ota_engine/crc.h"
#include "ota_engine/crypto.h"
#include "ota_engine/sigblock.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const uint8_t *p, size_t n, const uint8_t *raw)
{
	return p >= raw && p + n <= raw + OTA_SIGBLOCK_LEN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t sector[OTA_SIGBLOCK_SECTOR_LEN];
	struct ota_sigblock b[OTA_SIGBLOCK_MAX];
	uint8_t kd[OTA_SHA256_LEN];
	struct ota_sha256 sha;
	unsigned int i, n, ok = 0;
	size_t len;
	int r;

	if (size < 1)
		return 0;
	len = size - 1 < sizeof(sector) ? size - 1 : sizeof(sector);
	memcpy(sector, data + 1, len);
	if (data[0] & 1) {
		for (i = 0; (i + 1) * OTA_SIGBLOCK_LEN <= len; i++) {
			uint8_t *s = sector + i * OTA_SIGBLOCK_LEN;
			uint32_t crc =
				ota_crc_rom_le(0, s, OTA_SIGBLOCK_CRC_LEN);

			s[1196] = (uint8_t)crc;
			s[1197] = (uint8_t)(crc >> 8);
			s[1198] = (uint8_t)(crc >> 16);
			s[1199] = (uint8_t)(crc >> 24);
		}
	}
	n = ota_sigblock_parse_sector(sector, len, b);
	FUZZ_CHECK(n <= OTA_SIGBLOCK_MAX);
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		FUZZ_CHECK(ota_sigblock_strerror(b[i].err) != NULL);
		if (b[i].err != OTA_SIGBLOCK_OK)
			continue;
		ok++;
		FUZZ_CHECK(b[i].raw == sector + i * OTA_SIGBLOCK_LEN);
		FUZZ_CHECK((i + 1) * OTA_SIGBLOCK_LEN <= len);
		FUZZ_CHECK(ota_sig_scheme_name(b[i].scheme) != NULL);
		FUZZ_CHECK(b[i].digest_len ==
			   (b[i].scheme == OTA_SIG_ECDSA_P384 ? 48u : 32u));
		FUZZ_CHECK(inside(b[i].digest, b[i].digest_len, b[i].raw));
		FUZZ_CHECK(inside(b[i].key, b[i].key_len, b[i].raw));
		FUZZ_CHECK(inside(b[i].sig, b[i].sig_len, b[i].raw));
		ota_sha256_init(&sha);
		ota_sha256_update(&sha, b[i].key, b[i].key_len);
		ota_sha256_final(&sha, kd);
		FUZZ_CHECK(!memcmp(kd, b[i].key_digest, sizeof(kd)));
		r = ota_sigblock_verify(&b[i]);
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EINVAL ||
			   r == -ENOMEM);
	}
	FUZZ_CHECK(ok == n);
	return 0;
}
