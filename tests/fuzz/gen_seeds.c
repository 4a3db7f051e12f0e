/* SPDX-License-Identifier: MIT */
/*
 * Seed corpora for the libFuzzer targets, generated at build time (nothing
 * binary is committed): `gen_seeds DIR TARGET...` creates DIR/TARGET/ for
 * every target named and fills those it knows with valid inputs, from the
 * same sources the unit tests use: the PDUs of docs/protocol.md §9, the
 * §9.1 transfer scripted for the receiver and the sender, the built-in
 * two-OTA partition layout and the unit-test CSVs (text and binary),
 * otadata sectors made by ota_otadata_make(), ESP images from
 * tests/harness/esp_image_build for several chips plus every corruption,
 * and signature blocks made with keys tests/harness/sigkeys generates.
 * A target it does not know starts from an empty corpus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "host/partcsv.h"
#include "ota_engine/image.h"
#include "ota_engine/otadata.h"
#include "protocol/frame.h"
#include "protocol/manifest.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/sigkeys.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *dir;
static unsigned int nseeds;

static void put(const char *target, const void *buf, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s/seed-%03u", dir, target, nseeds++);
	fp = fopen(path, "wb");
	if (!fp || fwrite(buf, 1, len, fp) != len || fclose(fp)) {
		perror(path);
		exit(1);
	}
}

/* "02 01 00" -> bytes; returns the length. */
static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;
	unsigned int v;
	int k;

	while (sscanf(s, " %2x%n", &v, &k) == 1) {
		out[n++] = (uint8_t)v;
		s += k;
	}
	return n;
}

static void put_hex(const char *target, const char *hex)
{
	uint8_t buf[1024];

	put(target, buf, unhex(hex, buf));
}

/* docs/protocol.md §9: every PDU of the worked examples. */
static const char *const pdus[] = {
	"02 01 00 00 01 04 28 00 00 00 02 20 5f aa 4e ec 36 11 55 68",
	"82 01 00",
	"02 02 10 00 12 c2 d7 4b 43 7c 8c 49 ad d3 f9 10 f1 00 63 d8",
	"02 03 20 00 01 44 1f 7d 75 cd 5e 3b 03 05 32 2e 30 2e 30",
	"03 04 00 10 00 2f 00 40 2f aa e9",
	"83 04 00 51 00 00 00 00 00 00 00 00",
	"40 01 00 00 00 00 00 03 00 00",
	"20 00 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
	"20 02 00 00 20 21 22 23 24 25 26 27 3c 2e a6 0d",
	"40 02 00 00 01 00 00 03 00 00 01",
	"04 05",
	"84 05 00",
	"85 06 00",
	"83 11 10 00 00 10 00",
	"40 07 00 02 10 00 00 30 00 00 05",
	"41 40 30 75 00 00",
	"21 09",
	"20 05 01 00 de ad be ef",
	"03 11 01 10 00 2a 00 78 56 34 12",
	"01 07 01 00 00",
	"81 07 00 0c 00 01 01 01 02 02 14 00",
};

static const uint8_t sha_91[32] = {
	0x5f, 0xaa, 0x4e, 0xec, 0x36, 0x11, 0x55, 0x68, 0x12, 0xc2, 0xd7,
	0x4b, 0x43, 0x7c, 0x8c, 0x49, 0xad, 0xd3, 0xf9, 0x10, 0xf1, 0x00,
	0x63, 0xd8, 0x01, 0x44, 0x1f, 0x7d, 0x75, 0xcd, 0x5e, 0x3b,
};

static void seeds_frame(const char *t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pdus); i++)
		put_hex(t, pdus[i]);
}

static void seeds_manifest(const char *t)
{
	static uint8_t mbuf[OTA_MANIFEST_MAX], sig[OTA_SIG_BLOCK_LEN];
	struct ota_manifest m = { .image_size = 40 };
	uint8_t buf[OTA_MANIFEST_MAX];
	int n;

	memcpy(m.sha256, sha_91, 32);
	strcpy(m.version, "2.0.0");
	put(t, buf, (size_t)ota_manifest_encode(buf, sizeof(buf), &m));
	strcpy(m.project, "bleota-test");
	m.has_chip_id = m.has_secure_version = true;
	m.chip_id = 5;
	m.secure_version = 3;
	m.image_size = 1 << 20;
	n = ota_manifest_encode(buf, sizeof(buf), &m);
	put(t, buf, (size_t)n);
	/* with a signature block (long-form TLV), as a signed push sends */
	memset(sig, 0x5a, sizeof(sig));
	sig[0] = 0xe7;
	m.sig = sig;
	m.sig_len = sizeof(sig);
	put(t, mbuf, (size_t)ota_manifest_encode(mbuf, sizeof(mbuf), &m));
	/* an unknown non-critical TLV, which readers skip */
	buf[n] = 0x30;
	buf[n + 1] = 2;
	buf[n + 2] = buf[n + 3] = 0xaa;
	put(t, buf, (size_t)n + 4);
}

/*
 * fuzz_rx_feed: header (max_value 20, flags, size, P, window), then records.
 * "03 00 ss ss" is a correct DATA chunk of the harness's image, "03 03 aa"
 * reads attribute aa, "03 04" runs the next timer.
 */
static const char *const rx_scripts[] = {
	/* §9.1 with the harness opening the session: chunks, FINISH, COMMIT */
	"00 01 27 00 10 00 00  03 00 00 00  03 00 01 00  03 00 02 00"
	"  00 02 04 05  00 02 05 06",
	/* §9.2: lost chunk, resent */
	"00 01 27 00 10 00 00  03 00 00 00  03 00 02 00  03 00 01 00"
	"  00 02 04 05",
	/* §9.3: corrupted block, rewound and resent */
	"00 01 27 00 10 00 00  03 00 00 00  03 01 01 00  03 00 02 00"
	"  03 00 00 00  03 00 01 00  03 00 02 00  00 02 04 05",
	/* §9.1 verbatim: the session opened by the script itself */
	"00 00 27 00 10 00 00"
	"  00 14 02 01 00 00 01 04 28 00 00 00 02 20 5f aa 4e ec 36 11 55 68"
	"  00 14 02 02 10 00 12 c2 d7 4b 43 7c 8c 49 ad d3 f9 10 f1 00 63 d8"
	"  00 13 02 03 20 00 01 44 1f 7d 75 cd 5e 3b 03 05 32 2e 30 2e 30"
	"  00 0b 03 04 00 10 00 2f 00 40 2f aa e9"
	"  01 14 20 00 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
	"  00 02 04 05",
	/* a 9000-byte image at the largest value, idle timeout, READs */
	"f5 01 28 23 f0 01 20  03 00 00 00  03 00 01 00  03 00 05 00"
	"  00 05 01 07 01 00 00  00 05 01 08 02 00 00  03 03 01  03 03 02"
	"  ff 04  03 04  01 02 21 09  00 02 09 0a",
	/* §9.1 again: the image fails FINISH; a flash write fails */
	"00 03 27 00 10 00 00  03 00 00 00  03 00 01 00  03 00 02 00"
	"  00 02 04 05",
	"00 09 27 00 10 00 00  03 00 00 00  03 00 01 00  03 00 02 00"
	"  00 02 04 05",
};

static void seeds_rx(const char *t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(rx_scripts); i++)
		put_hex(t, rx_scripts[i]);
}

/*
 * fuzz_tx_feed: header (max_value 20, P 16, mode, size 40 or request), then
 * records. "03 ss ll ..." answers the last request with status ss.
 */
static const char *const tx_scripts[] = {
	/* §9.1 from the device's side, push with COMMIT */
	"00 10 00 04 27 00  03 00 00  03 00 00  03 00 00"
	"  03 00 09 51 00 00 00 00 00 00 00 00"
	"  02 0a 40 01 00 00 00 00 00 03 00 00"
	"  02 0a 40 02 00 00 02 00 00 03 00 00"
	"  02 0a 40 03 00 00 03 00 00 03 00 00  03 00 00  03 00 00",
	/* §9.2: a hole reported in the bitmap */
	"00 10 00 00 27 00  03 00 00  03 00 00  03 00 00"
	"  03 00 09 51 00 00 00 00 00 00 00 00"
	"  02 0a 40 01 00 00 00 00 00 03 00 00"
	"  02 0b 40 02 00 00 01 00 00 03 00 00 01"
	"  02 0a 40 03 00 00 03 00 00 03 00 00  03 00 00",
	/* §9.3: a rewind, then silence until SYNC probes and a timeout */
	"00 10 00 00 27 00  03 00 00  03 00 00  03 00 00"
	"  03 00 09 51 00 00 00 00 00 00 00 00"
	"  02 0a 40 01 00 00 00 00 00 03 00 00"
	"  02 0a 40 02 00 00 02 00 00 03 00 00"
	"  02 0b 40 03 00 00 00 00 00 03 00 00 00"
	"  fe fe fe fe fe fe fe fe",
	/* §9.4: refusal */
	"00 10 00 00 27 00  03 00 00  03 00 00  03 00 00"
	"  03 10 04 00 00 10 00",
	/* READ INFO, in two pages */
	"00 00 00 08 05 01"
	"  03 00 11 13 00 01 01 01 02 02 14 00 03 04 00 80 00 00 04 04"
	"  03 00 06 13 00 00 00 10 00",
	/* EVENT mid-transfer */
	"f5 00 00 10 28 23  03 00 00"
	"  03 00 09 40 00 00 00 00 00 00 00 00  02 06 41 40 30 75 00 00",
};

static void seeds_tx(const char *t)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tx_scripts); i++)
		put_hex(t, tx_scripts[i]);
}

static const char *const csvs[] = {
	"# Name, Type, SubType, Offset, Size, Flags\n"
	"nvs,      data, nvs,     ,        0x4000,\n"
	"otadata,  data, ota,     ,        0x2000,\n"
	"phy_init, data, phy,     ,        0x1000,\n"
	"factory,  app,  factory, ,        1M,\n",
	"a, data, nvs, 0x9000, 16k\n"
	"c, app, ota_0, , -0x200000\n"
	"d, data, , 2M, 4096, encrypted:readonly\n"
	"e, 0x40, 0x01, , 8K\n",
	"nvs, data, nvs, 0x9000, 0x4000\n"
	"otadata, data, ota, 0xd000, 0x2000\n"
	"factory, app, factory, 0x10000, 512K\n",
	"a, data, nvs, 0x9000, 0x4000\na, data, phy, , 0x1000\n",
	"o, data, ota, , 0x3000\n",
};

static void seeds_partcsv(const char *t)
{
	size_t i;

	put(t, ota_partcsv_two_ota, strlen(ota_partcsv_two_ota));
	for (i = 0; i < ARRAY_SIZE(csvs); i++)
		put(t, csvs[i], strlen(csvs[i]));
}

/* fuzz_parttable: chip-size selector, then the binary table. */
static void seeds_parttable(const char *t)
{
	static struct ota_partcsv pt;
	uint8_t buf[1 + OTA_PARTTABLE_MAX_LEN];
	char err[160];
	size_t i;

	for (i = 0; i < 1 + ARRAY_SIZE(csvs); i++) {
		const char *csv = i ? csvs[i - 1] : ota_partcsv_two_ota;

		if (ota_partcsv_parse(csv, OTA_PARTTABLE_OFFSET, 0, &pt, err,
				      sizeof(err)))
			continue;
		buf[0] = (uint8_t)(2 + i % 2 * 0xf0); /* 4 MiB or any */
		ota_partcsv_to_bin(&pt, i % 2 == 0, buf + 1);
		/* the entries and the end marker are what matter */
		put(t, buf, 1 + (pt.count + 2) * OTA_PART_ENTRY_LEN);
	}
}

/* fuzz_otadata: two entries, slot count, slot. */
static void seeds_otadata(const char *t)
{
	static const struct {
		uint32_t seq[2], state[2];
	} cases[] = {
		{ { 1, OTA_OTADATA_SEQ_EMPTY }, { OTA_IMG_VALID, 0 } },
		{ { 1, 2 }, { OTA_IMG_VALID, OTA_IMG_PENDING_VERIFY } },
		{ { 3, 2 }, { OTA_IMG_NEW, OTA_IMG_UNDEFINED } },
		{ { 4, 5 }, { OTA_IMG_VALID, OTA_IMG_ABORTED } },
		{ { 0xfffffffe, 7 }, { OTA_IMG_VALID, OTA_IMG_INVALID } },
	};
	struct ota_otadata_entry e;
	uint8_t buf[66];
	size_t i, k;

	memset(buf, 0xff, sizeof(buf));
	buf[64] = 1;
	buf[65] = 1;
	put(t, buf, sizeof(buf)); /* erased: factory boot */
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(buf, 0xff, 64);
		for (k = 0; k < 2; k++) {
			if (cases[i].seq[k] == OTA_OTADATA_SEQ_EMPTY)
				continue;
			ota_otadata_make(&e, cases[i].seq[k],
					 cases[i].state[k]);
			ota_otadata_encode(&e, buf + 32 * k);
		}
		buf[64] = (uint8_t)(1 + i);
		buf[65] = (uint8_t)i;
		put(t, buf, sizeof(buf));
	}
}

/* fuzz_image: chip selector, partition selector, chunking seed, image. */
static void put_image(const char *t, const struct esp_image_spec *sp,
		      uint8_t chip_sel)
{
	size_t len;
	uint8_t *img = esp_image_build(sp, &len), *buf;

	if (!img)
		return;
	buf = malloc(len + 3);
	if (!buf)
		exit(1);
	buf[0] = chip_sel;
	buf[1] = 0;
	buf[2] = (uint8_t)len;
	memcpy(buf + 3, img, len);
	put(t, buf, len + 3);
	free(buf);
	free(img);
}

static void seeds_image(const char *t)
{
	struct esp_image_spec sp;
	unsigned int c;

	/* chip selector 2 = esp32c3 (see fuzz_image.c) */
	memset(&sp, 0, sizeof(sp));
	sp.chip_id = OTA_CHIP_ESP32C3;
	sp.max_rev_full = 0xffff;
	sp.mmu_page_log2 = 12;
	sp.nseg = 3;
	sp.seg[0].kind = ESP_SEG_DROM;
	sp.seg[0].len = 512;
	sp.seg[1].kind = ESP_SEG_IRAM;
	sp.seg[1].len = 256;
	sp.seg[2].kind = ESP_SEG_IROM;
	sp.seg[2].len = 1024;
	for (c = 0; c < ESP_CORRUPT_COUNT; c++) {
		sp.corrupt = (enum esp_corruption)c;
		sp.seed = c;
		put_image(t, &sp, 2);
	}
	sp.corrupt = ESP_CORRUPT_NONE;
	sp.no_hash = true;
	put_image(t, &sp, 0);
	sp.no_hash = false;
	sp.chip_id = OTA_CHIP_ESP32;
	sp.pad_to = 8192;
	put_image(t, &sp, 1);
}

/*
 * fuzz_sigblock: mode (bit 0 fix CRCs, bit 1 verify), then the used part of
 * a signature sector from tests/harness/sigkeys (keys generated now).
 */
static void seeds_sigblock(const char *t)
{
	static const enum ota_sig_scheme schemes[] = {
		OTA_SIG_ECDSA_P256,
		OTA_SIG_ECDSA_P384,
		OTA_SIG_RSA3072,
	};
	static const unsigned int idx[] = { 0, 1 };
	struct esp_image_spec sp = { .chip_id = OTA_CHIP_ESP32C3,
				     .mmu_page_log2 = 12 };
	uint8_t *img, *signed_img, *buf;
	size_t len, slen, i, k, n, at;

	img = esp_image_build(&sp, &len);
	if (!img)
		exit(1);
	for (i = 0; i < ARRAY_SIZE(schemes); i++) {
		for (k = 1; k <= 2; k++) {
			signed_img =
				sigkey_sign_image(img, len, schemes[i], idx,
						  (unsigned int)k, &slen);
			at = ota_sigblock_sector_offset((uint32_t)len);
			n = k * OTA_SIGBLOCK_LEN;
			if (!signed_img || at + n > slen)
				exit(1);
			buf = malloc(n + 1);
			if (!buf)
				exit(1);
			buf[0] = (uint8_t)(k == 1 ? 0x02 : 0x03);
			memcpy(buf + 1, signed_img + at, n);
			put(t, buf, n + 1);
			free(buf);
			free(signed_img);
		}
	}
	free(img);
	sigkey_free_all();
}

static const struct {
	const char *name;
	void (*fn)(const char *target);
} gens[] = {
	{ "fuzz_sigblock", seeds_sigblock },
	{ "fuzz_frame_decode", seeds_frame },
	{ "fuzz_manifest", seeds_manifest },
	{ "fuzz_rx_feed", seeds_rx },
	{ "fuzz_tx_feed", seeds_tx },
	{ "fuzz_partcsv", seeds_partcsv },
	{ "fuzz_parttable", seeds_parttable },
	{ "fuzz_otadata", seeds_otadata },
	{ "fuzz_image", seeds_image },
};

int main(int argc, char **argv)
{
	char path[512];
	int i;
	size_t k;

	if (argc < 2) {
		fprintf(stderr, "usage: gen_seeds DIR TARGET...\n");
		return 2;
	}
	dir = argv[1];
	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	for (i = 2; i < argc; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, argv[i]);
		if (mkdir(path, 0755) && errno != EEXIST) {
			perror(path);
			return 1;
		}
		nseeds = 0;
		for (k = 0; k < ARRAY_SIZE(gens); k++) {
			if (!strcmp(gens[k].name, argv[i]))
				gens[k].fn(argv[i]);
		}
		printf("  %-18s %u seeds\n", argv[i], nseeds);
	}
	return 0;
}
