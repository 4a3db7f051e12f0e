/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: Secure Boot v2 signature blocks (ota_engine/sigblock.h),
 * which a signed push carries in its manifest and the engine reads back
 * from the signature sector. Input: a mode byte (bit 0: give every whole
 * 1216-byte slot a correct CRC first, so the fuzzer gets past it; bit 1:
 * also verify the valid blocks), then the bytes.
 *
 * Beyond "no crash": parse returns 0 exactly when err is OK, and then the
 * scheme is known, the digest, key and signature lie inside the block, the
 * digest is 32 or 48 bytes and key_digest is the SHA-256 of the key bytes;
 * the sector parser agrees slot by slot with the block parser and counts
 * the valid ones; verification answers one of its documented codes.
 * Seeds: blocks signed with generated RSA-3072, P-256 and P-384 keys.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ota_engine/sigblock.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const struct ota_sigblock *b, const uint8_t *p, size_t n)
{
	return p >= b->raw && n <= OTA_SIGBLOCK_LEN &&
	       (size_t)(p - b->raw) <= OTA_SIGBLOCK_LEN - n;
}

static void check_block(const uint8_t *raw, size_t len, bool verify)
{
	struct ota_sigblock b;
	struct ota_sha256 sha;
	uint8_t d[OTA_SHA256_LEN];
	int r = ota_sigblock_parse(raw, len, &b);

	FUZZ_CHECK((r == 0) == (b.err == OTA_SIGBLOCK_OK));
	FUZZ_CHECK(ota_sigblock_strerror(b.err) != NULL);
	if (r) {
		FUZZ_CHECK(r == -EILSEQ && b.scheme == OTA_SIG_NONE);
		return;
	}
	FUZZ_CHECK(b.raw == raw && b.scheme != OTA_SIG_NONE);
	FUZZ_CHECK(b.digest_len == 32 || b.digest_len == 48);
	FUZZ_CHECK(inside(&b, b.digest, b.digest_len));
	FUZZ_CHECK(b.key_len && inside(&b, b.key, b.key_len));
	FUZZ_CHECK(b.sig_len && inside(&b, b.sig, b.sig_len));
	ota_sha256_init(&sha);
	ota_sha256_update(&sha, b.key, b.key_len);
	ota_sha256_final(&sha, d);
	FUZZ_CHECK(!memcmp(d, b.key_digest, sizeof(d)));
	if (verify) {
		r = ota_sigblock_verify(&b);
		FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EINVAL ||
			   r == -ENOMEM);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_sigblock out[OTA_SIGBLOCK_MAX], one;
	unsigned int i, valid = 0, n;
	uint8_t mode, *buf;
	size_t off;

	if (!size || size > OTA_SIGBLOCK_SECTOR_LEN + 1)
		return 0;
	mode = data[0];
	size--;
	buf = malloc(size ? size : 1);
	FUZZ_CHECK(buf);
	memcpy(buf, data + 1, size);
	for (off = 0; (mode & 1) && size - off >= OTA_SIGBLOCK_LEN;
	     off += OTA_SIGBLOCK_LEN)
		ota_sigblock_seal(buf + off);

	check_block(buf, size, mode & 2);
	n = ota_sigblock_parse_sector(buf, size, out);
	for (i = 0; i < OTA_SIGBLOCK_MAX; i++) {
		off = (size_t)i * OTA_SIGBLOCK_LEN;
		if (off < size) {
			ota_sigblock_parse(buf + off, size - off, &one);
			FUZZ_CHECK(one.err == out[i].err ||
				   (size - off < OTA_SIGBLOCK_LEN &&
				    out[i].err != OTA_SIGBLOCK_OK));
		} else {
			FUZZ_CHECK(out[i].err != OTA_SIGBLOCK_OK);
		}
		FUZZ_CHECK(out[i].scheme == OTA_SIG_NONE ||
			   out[i].err == OTA_SIGBLOCK_OK);
		valid += out[i].err == OTA_SIGBLOCK_OK;
		if (i && off < size)
			check_block(buf + off, size - off, false);
	}
	FUZZ_CHECK(n == valid);
	free(buf);
	return 0;
}
