/* SPDX-License-Identifier: MIT */
/*
 * Builds images the way esptool's elf2image lays them out: header, app
 * desc first in the DROM segment, mapped segments placed so that their file
 * offset matches their load address modulo the MMU page (padding segments
 * with load address 0 fill the gaps), zero padding, XOR checksum, SHA-256.
 * Written from the format description, not from esptool.
 */
#include "tests/harness/esp_image_build.h"

#include <stdlib.h>
#include <string.h>

#include "ota_engine/crypto.h"
#include "ota_engine/image.h"

static const char *const corruption_names[ESP_CORRUPT_COUNT] = {
	"none",      "magic",       "seg-count",       "seg-count-zero",
	"hash-flag", "seg-len-odd", "seg-len-huge",    "seg0-short",
	"app-desc",  "mmu-align",   "checksum",        "data-byte",
	"sha",       "truncate",    "truncate-header",
};

const char *esp_corruption_name(enum esp_corruption c)
{
	return c < ESP_CORRUPT_COUNT ? corruption_names[c] : "?";
}

struct out {
	uint8_t *buf;
	size_t len, cap;
};

static void put(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		size_t cap = o->cap ? o->cap : 4096;

		while (cap < o->len + n)
			cap *= 2;
		o->buf = realloc(o->buf, cap);
		if (!o->buf)
			abort();
		o->cap = cap;
	}
	if (p)
		memcpy(o->buf + o->len, p, n);
	else
		memset(o->buf + o->len, 0, n);
	o->len += n;
}

static void put32(struct out *o, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	put(o, b, 4);
}

static void set32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t prng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void base_addrs(uint16_t chip, uint32_t *drom, uint32_t *irom,
		       uint32_t *iram, uint32_t *dram)
{
	switch (chip) {
	case OTA_CHIP_ESP32:
		*drom = 0x3F400000;
		*irom = 0x400D0000;
		*iram = 0x40080000;
		*dram = 0x3FFB0000;
		break;
	case OTA_CHIP_ESP32S2:
		*drom = 0x3F000000;
		*irom = 0x40080000;
		*iram = 0x40022000;
		*dram = 0x3FFB0000;
		break;
	case OTA_CHIP_ESP32C6:
	case OTA_CHIP_ESP32H2:
	case OTA_CHIP_ESP32C5:
	case OTA_CHIP_ESP32C61:
		*drom = 0x42800000;
		*irom = 0x42000000;
		*iram = 0x40800000;
		*dram = 0x40810000;
		break;
	case OTA_CHIP_ESP32P4:
		*drom = 0x40800000;
		*irom = 0x40000000;
		*iram = 0x4FF00000;
		*dram = 0x4FF40000;
		break;
	default:
		*drom = 0x3C000000;
		*irom = 0x42000000;
		*iram = 0x40380000;
		*dram = 0x3FC88000;
		break;
	}
}

static void put_str(uint8_t *dst, const char *s, size_t n)
{
	size_t l = strlen(s);

	memset(dst, 0, n);
	memcpy(dst, s, l < n ? l : n);
}

static void app_desc(const struct esp_image_spec *sp, uint8_t d[256])
{
	memset(d, 0, 256);
	set32(d, OTA_APP_DESC_MAGIC);
	set32(d + 4, sp->secure_version);
	put_str(d + 16, sp->version ? sp->version : "1.0.0", 32);
	put_str(d + 48, sp->project ? sp->project : "bleota-test", 32);
	put_str(d + 80, sp->time ? sp->time : "00:00:00", 16);
	put_str(d + 96, sp->date ? sp->date : "Jan  1 2026", 16);
	put_str(d + 112, sp->idf_ver ? sp->idf_ver : "v5.3-bleota", 32);
	memset(d + 144, 0x5a, 32);
	d[180] = sp->mmu_page_log2;
}

/*
 * Emits one segment with pseudo-random data (repeating every @repeat bytes
 * if that is not 0); returns its data offset.
 */
static size_t put_segment(struct out *o, uint32_t load, uint32_t len,
			  const uint8_t *head, size_t head_len, uint32_t *seed,
			  uint32_t repeat)
{
	size_t start;
	uint32_t i;

	put32(o, load);
	put32(o, len);
	start = o->len;
	put(o, NULL, len);
	for (i = 0; i < len; i++)
		o->buf[start + i] = repeat && i >= repeat
					    ? o->buf[start + i - repeat]
					    : (uint8_t)prng(seed);
	if (head)
		memcpy(o->buf + start, head, head_len < len ? head_len : len);
	return start;
}

uint8_t *esp_image_build(const struct esp_image_spec *sp, size_t *out_len)
{
	struct out o = { 0 };
	uint32_t drom, irom, iram, dram, seed = sp->seed ? sp->seed : 1;
	uint8_t align = sp->align_log2 ? sp->align_log2 : sp->mmu_page_log2;
	uint32_t page = align ? 1u << align : 0x10000;
	uint8_t desc[256], hdr[24], x = OTA_IMAGE_CHECKSUM_SEED;
	unsigned int nseg = 0, i, n_in = sp->nseg ? sp->nseg : 3;
	size_t seg_hdr_off[20], seg_start[20], p;
	uint32_t seg_len[20];
	enum esp_seg_kind def[3] = { ESP_SEG_DROM, ESP_SEG_IRAM, ESP_SEG_IROM };
	uint32_t def_len[3] = { 0x1000, 0x800, 0x2000 };

	base_addrs(sp->chip_id, &drom, &irom, &iram, &dram);
	app_desc(sp, desc);
	if (sp->corrupt == ESP_CORRUPT_APP_DESC)
		desc[0] ^= 0xff;

	memset(hdr, 0, sizeof(hdr));
	hdr[0] = OTA_IMAGE_MAGIC;
	hdr[2] = 2;    /* DIO */
	hdr[3] = 0x20; /* 4MB, 40 MHz */
	if (sp->flash_code)
		hdr[3] = (uint8_t)((sp->flash_code - 1) << 4);
	set32(hdr + 4, irom + 0x100);
	hdr[8] = 0xee;
	hdr[12] = (uint8_t)sp->chip_id;
	hdr[13] = (uint8_t)(sp->chip_id >> 8);
	hdr[14] = (uint8_t)(sp->min_rev_full / 100);
	hdr[15] = (uint8_t)sp->min_rev_full;
	hdr[16] = (uint8_t)(sp->min_rev_full >> 8);
	hdr[17] = (uint8_t)sp->max_rev_full;
	hdr[18] = (uint8_t)(sp->max_rev_full >> 8);
	hdr[23] = sp->no_hash ? 0 : 1;
	put(&o, hdr, sizeof(hdr));

	for (i = 0; i < n_in; i++) {
		enum esp_seg_kind kind = sp->nseg ? sp->seg[i].kind : def[i];
		uint32_t len = sp->nseg ? sp->seg[i].len : def_len[i];
		uint32_t load;

		if (i == 0 && sp->corrupt == ESP_CORRUPT_SEG0_SHORT)
			len = 128;
		len = (len + 3) & ~3u;
		switch (kind) {
		case ESP_SEG_DROM:
		case ESP_SEG_IROM: {
			uint32_t base = kind == ESP_SEG_DROM ? drom : irom;
			uint32_t data_off = (uint32_t)o.len + 8;

			if (i == 0) {
				/* app desc lands at 0x20: load address follows */
				load = base + data_off % page;
				break;
			}
			/* pad so the data lands on load % page */
			if (data_off % page) {
				uint32_t gap = page - data_off % page;

				/* a padding segment needs 8 header bytes */
				while (gap < 8)
					gap += page;
				seg_hdr_off[nseg] = o.len;
				seg_len[nseg] = gap - 8;
				seg_start[nseg] =
					put_segment(&o, 0, gap - 8, NULL, 0,
						    &seed, sp->repeat);
				nseg++;
				data_off = (uint32_t)o.len + 8;
			}
			load = base + 0x10000 * (i + 1) + data_off % page;
			if (sp->corrupt == ESP_CORRUPT_MMU_ALIGN &&
			    kind == ESP_SEG_IROM)
				load += 0x100;
			break;
		}
		case ESP_SEG_IRAM:
			load = iram + 0x1000 * i;
			break;
		case ESP_SEG_DRAM:
		default:
			load = dram + 0x1000 * i;
			break;
		}
		seg_hdr_off[nseg] = o.len;
		seg_len[nseg] = len;
		seg_start[nseg] = put_segment(
			&o, load, len, i == 0 ? desc : NULL,
			i == 0 ? sizeof(desc) : 0, &seed, sp->repeat);
		nseg++;
	}
	o.buf[1] = (uint8_t)nseg;

	/* checksum over every segment's data, then zero pad to 16n - 1 */
	for (i = 0; i < nseg; i++)
		for (p = 0; p < seg_len[i]; p++)
			x ^= o.buf[seg_start[i] + p];
	while ((o.len + 1) % 16)
		put(&o, NULL, 1);
	if (sp->corrupt == ESP_CORRUPT_CHECKSUM)
		x ^= 0x66;
	put(&o, &x, 1);

	/* corruptions that must be the only fault: applied before hashing */
	if (sp->corrupt == ESP_CORRUPT_SEG_COUNT)
		o.buf[1] = 17;
	else if (sp->corrupt == ESP_CORRUPT_SEG_COUNT_ZERO)
		o.buf[1] = 0;
	else if (sp->corrupt == ESP_CORRUPT_HASH_FLAG)
		o.buf[23] = 2;
	else if (sp->corrupt == ESP_CORRUPT_SEG_LEN_ODD)
		set32(o.buf + seg_hdr_off[1] + 4, seg_len[1] + 2);
	else if (sp->corrupt == ESP_CORRUPT_SEG_LEN_HUGE)
		set32(o.buf + seg_hdr_off[1] + 4, 0x1000000);
	if (!sp->no_hash) {
		struct ota_sha256 sha;
		uint8_t digest[32];

		ota_sha256_init(&sha);
		ota_sha256_update(&sha, o.buf, o.len);
		ota_sha256_final(&sha, digest);
		if (sp->corrupt == ESP_CORRUPT_SHA)
			digest[7] ^= 0x01;
		put(&o, digest, sizeof(digest));
	}
	if (sp->corrupt == ESP_CORRUPT_MAGIC)
		o.buf[0] = 0xe8;
	else if (sp->corrupt == ESP_CORRUPT_DATA_BYTE)
		o.buf[seg_start[nseg - 1] + 5] ^= 0x10;
	else if (sp->corrupt == ESP_CORRUPT_TRUNCATE)
		o.len -= 10;
	else if (sp->corrupt == ESP_CORRUPT_TRUNCATE_HDR)
		o.len = 12;
	if (sp->pad_to > o.len) {
		size_t at = o.len;

		put(&o, NULL, sp->pad_to - at);
		memset(o.buf + at, 0xff, sp->pad_to - at);
	}
	*out_len = o.len;
	return o.buf;
}
