/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: manifest TLVs (ota_manifest_decode) and the TLV reader
 * (ota_tlv_next) on the whole input.
 *
 * Beyond "no crash": the reader's cursor only moves forward and stays inside
 * the buffer, and writing the entries it returned back with ota_tlv_put()
 * reproduces the input exactly when the walk ends cleanly; a manifest that
 * decodes re-encodes (ota_manifest_encode) to TLVs that decode to the same
 * struct (signature block included), and respects the documented limits
 * (size <= 16 MiB, strings <= 32, one 1216-byte signature block).
 * Seeds: the manifest of docs/protocol.md §9.1 and the unit-test manifests.
 */
#include <errno.h>
#include <string.h>

#include "protocol/frame.h"
#include "protocol/manifest.h"
#include "protocol/stream.h"
#include "protocol/tlv.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t out[1 << 16];

static void tlv_walk(const uint8_t *data, size_t size)
{
	struct ota_tlv_writer w = { .buf = out, .cap = sizeof(out) };
	const uint8_t *val;
	size_t off = 0, prev;
	uint16_t vlen;
	uint8_t type;
	int r;

	for (;;) {
		prev = off;
		r = ota_tlv_next(data, size, &off, &type, &val, &vlen);
		if (r <= 0)
			break;
		/* the long form (0xff, u16) only for values of 255 and more */
		FUZZ_CHECK(off > prev && off <= size);
		FUZZ_CHECK(off ==
			   prev + (vlen < OTA_TLV_EXT_LEN ? 2 : 4) + vlen);
		FUZZ_CHECK(val == data + off - vlen);
		ota_tlv_put(&w, type, val, vlen);
	}
	FUZZ_CHECK(r == 0 || r == -EBADMSG);
	FUZZ_CHECK(off == prev);
	if (r == 0) {
		FUZZ_CHECK(!w.overflow && w.len == size);
		FUZZ_CHECK(!memcmp(out, data, size));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_manifest m, m2;
	uint8_t bad, bad2;
	int r, n;

	if (size > sizeof(out))
		return 0;
	tlv_walk(data, size);
	r = ota_manifest_decode(data, size, &m, &bad);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -ENOTSUP);
	if (r)
		return 0;
	FUZZ_CHECK(bad == 0 && m.image_size <= OTA_MAX_IMAGE);
	FUZZ_CHECK(strlen(m.version) <= 32 && strlen(m.project) <= 32);
	n = ota_manifest_encode(out, sizeof(out), &m);
	FUZZ_CHECK(n > 0 && n <= OTA_MANIFEST_MAX);
	FUZZ_CHECK(!ota_manifest_decode(out, (size_t)n, &m2, &bad2));
	FUZZ_CHECK(m2.image_size == m.image_size);
	FUZZ_CHECK(!memcmp(m2.sha256, m.sha256, 32));
	FUZZ_CHECK(!strcmp(m2.version, m.version));
	FUZZ_CHECK(!strcmp(m2.project, m.project));
	FUZZ_CHECK(m2.has_chip_id == m.has_chip_id && m2.chip_id == m.chip_id);
	FUZZ_CHECK(m2.has_secure_version == m.has_secure_version &&
		   m2.secure_version == m.secure_version);
	FUZZ_CHECK(!m2.sig == !m.sig && m2.sig_len == m.sig_len);
	if (m.sig)
		FUZZ_CHECK(m.sig_len == OTA_SIG_BLOCK_LEN &&
			   !memcmp(m2.sig, m.sig, m.sig_len));
	/* a TAG is 1..128 bytes without a NUL, and survives re-encoding */
	FUZZ_CHECK(!m2.tag == !m.tag && m2.tag_len == m.tag_len);
	if (m.tag)
		FUZZ_CHECK(m.tag_len >= 1 && m.tag_len <= OTA_TAG_MAX &&
			   !memchr(m.tag, '\0', m.tag_len) &&
			   !memcmp(m2.tag, m.tag, m.tag_len));
	return 0;
}
