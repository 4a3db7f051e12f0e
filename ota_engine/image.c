/* SPDX-License-Identifier: MIT */
/*
 * Streaming ESP app image verifier.
 *
 * Theory of operation. The image is a sequence of fields whose sizes are
 * only known once earlier fields were read:
 *
 *   header (24) | { seg hdr (8) | data (len) } x N | 0-pad to 16n-1 |
 *   checksum (1) | [ SHA-256 (32) if hash_appended ]
 *
 * so the verifier is a small phase machine fed arbitrary chunks. Fixed-size
 * fields are gathered in buf; segment data streams through the XOR
 * checksum and the SHA-256 without being stored, except the first 256 bytes
 * of segment 0 (esp_app_desc_t). Every check of esp_image_verify() runs as
 * soon as its input is complete, so a bad image is refused at the earliest
 * byte (the engine uses that during the transfer) and the first error is
 * sticky. Nothing after the hash is looked at: images may be padded.
 *
 * MMU alignment: a segment whose load address falls in the chip's flash
 * mapped windows must sit at an image offset congruent to its load address
 * modulo the MMU page (app partitions are 64 KiB aligned, so image offsets
 * stand for flash offsets). The page is esp_app_desc_t.mmu_page_size when
 * set; segment 0 is therefore checked once its app desc is in. When it is 0
 * (legacy, and what stock ESP-IDF v5.2 apps carry) the ESP-IDF bootloader
 * uses its own CONFIG_MMU_PAGE_SIZE: 64 KiB, except on the chips whose MMU
 * page is configurable (C2, C6, H2, C61), where the build derives it from
 * the flash size: 16 KiB for 1 MB, 32 KiB for 2 MB, 64 KiB above. The
 * bootloader is built with the app, so the image header's flash size stands
 * for that configuration.
 */
#include "ota_engine/image.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"

enum phase {
	PH_HDR,
	PH_SEG_HDR,
	PH_SEG_DATA,
	PH_PAD,
	PH_CHECKSUM,
	PH_HASH,
	PH_DONE,
	PH_FAILED,
};

static const struct {
	uint16_t id;
	/* flash-mapped windows [lo, hi) (names: image_text.c) */
	uint32_t map[2][2];
} chips[] = {
	{ OTA_CHIP_ESP32,
	  { { 0x3F400000, 0x3F800000 }, { 0x400D0000, 0x40400000 } } },
	{ OTA_CHIP_ESP32S2,
	  { { 0x3F000000, 0x3FF80000 }, { 0x40080000, 0x40800000 } } },
	{ OTA_CHIP_ESP32C3,
	  { { 0x3C000000, 0x3C800000 }, { 0x42000000, 0x42800000 } } },
	{ OTA_CHIP_ESP32S3,
	  { { 0x3C000000, 0x3E000000 }, { 0x42000000, 0x44000000 } } },
	{ OTA_CHIP_ESP32C2,
	  { { 0x3C000000, 0x3C400000 }, { 0x42000000, 0x42400000 } } },
	{ OTA_CHIP_ESP32C6,
	  { { 0x42000000, 0x43000000 }, { 0x42000000, 0x43000000 } } },
	{ OTA_CHIP_ESP32H2,
	  { { 0x42000000, 0x43000000 }, { 0x42000000, 0x43000000 } } },
	{ OTA_CHIP_ESP32P4,
	  { { 0x40000000, 0x44000000 }, { 0x40000000, 0x44000000 } } },
	{ OTA_CHIP_ESP32C61,
	  { { 0x42000000, 0x44000000 }, { 0x42000000, 0x44000000 } } },
	{ OTA_CHIP_ESP32C5,
	  { { 0x42000000, 0x44000000 }, { 0x42000000, 0x44000000 } } },
};

#define N_CHIPS (sizeof(chips) / sizeof(chips[0]))

static bool is_mapped(uint16_t chip_id, uint32_t addr)
{
	size_t i, w;

	for (i = 0; i < N_CHIPS; i++) {
		if (chips[i].id != chip_id)
			continue;
		for (w = 0; w < 2; w++)
			if (addr >= chips[i].map[w][0] &&
			    addr < chips[i].map[w][1])
				return true;
		return false;
	}
	/* unknown chip: the common RISC-V / S3 windows */
	return (addr >= 0x3C000000 && addr < 0x3E000000) ||
	       (addr >= 0x42000000 && addr < 0x44000000);
}

static void copy_str(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

int ota_app_desc_parse(const uint8_t raw[OTA_APP_DESC_LEN],
		       struct ota_app_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->magic = ota_get_le32(raw);
	if (d->magic != OTA_APP_DESC_MAGIC)
		return -EILSEQ;
	d->secure_version = ota_get_le32(raw + 4);
	copy_str(d->version, raw + 16, 32);
	copy_str(d->project, raw + 48, 32);
	copy_str(d->time, raw + 80, 16);
	copy_str(d->date, raw + 96, 16);
	copy_str(d->idf_ver, raw + 112, 32);
	memcpy(d->app_elf_sha256, raw + 144, 32);
	d->min_efuse_blk_rev_full = ota_get_le16(raw + 176);
	d->max_efuse_blk_rev_full = ota_get_le16(raw + 178);
	d->mmu_page_size = raw[180];
	d->spi_flash_mode = raw[181];
	memcpy(d->version_raw, raw + 16, 32);
	memcpy(d->project_raw, raw + 48, 32);
	return 0;
}

void ota_image_verify_init(struct ota_image_verify *v,
			   const struct ota_image_cfg *cfg)
{
	memset(v, 0, sizeof(*v));
	v->cfg = *cfg;
	if (!v->cfg.max_len || v->cfg.max_len > OTA_IMAGE_MAX_LEN)
		v->cfg.max_len = OTA_IMAGE_MAX_LEN;
	v->phase = PH_HDR;
	v->need = OTA_IMAGE_HDR_LEN;
	v->xor_acc = OTA_IMAGE_CHECKSUM_SEED;
	ota_sha256_init(&v->sha);
}

/* The appended-hash digest (cfg.hash_all: ota_image_verify_update()). */
static void hash(struct ota_image_verify *v, const uint8_t *p, size_t n)
{
	if (!v->cfg.hash_all)
		ota_sha256_update(&v->sha, p, n);
}

static int fail(struct ota_image_verify *v, enum ota_image_err err)
{
	uint8_t scratch[OTA_SHA256_LEN];

	/* with hash_all the whole-file digest goes on past the error */
	if (!v->cfg.hash_all && v->phase != PH_HASH && v->phase != PH_DONE)
		ota_sha256_final(&v->sha, scratch);
	v->err = err;
	v->err_off = v->pos;
	v->err_seg = v->seg_idx;
	v->phase = PH_FAILED;
	return -EILSEQ;
}

uint32_t ota_image_mmu_page(const struct ota_image_verify *v)
{
	uint8_t log2 = v->info.has_desc ? v->info.desc.mmu_page_size : 0;

	if (log2 >= 10 && log2 <= 24)
		return 1u << log2;
	switch (v->info.chip_id) {
	case OTA_CHIP_ESP32C2:
	case OTA_CHIP_ESP32C6:
	case OTA_CHIP_ESP32H2:
	case OTA_CHIP_ESP32C61:
		if (v->info.spi_size == 0) /* 1 MB */
			return 0x4000;
		if (v->info.spi_size == 1) /* 2 MB */
			return 0x8000;
		break;
	default:
		break;
	}
	return OTA_IMAGE_MMU_PAGE_DEFAULT;
}

static bool seg_aligned(const struct ota_image_verify *v,
			const struct ota_image_seg *s)
{
	uint32_t page = ota_image_mmu_page(v);

	if (!is_mapped(v->info.chip_id, s->load_addr))
		return true;
	return s->data_off % page == s->load_addr % page;
}

static int header_done(struct ota_image_verify *v)
{
	struct ota_image_info *in = &v->info;
	const uint8_t *h = v->buf;
	uint16_t rev = v->cfg.chip_rev;

	if (h[0] != OTA_IMAGE_MAGIC) {
		v->pos = 0;
		in->chip_id = 0xffff;
		in->checksum_stored = h[0]; /* reported by describe() */
		return fail(v, OTA_IMAGE_ERR_MAGIC);
	}
	in->seg_count = h[1];
	in->spi_mode = h[2];
	in->spi_speed = h[3] & 0xf;
	in->spi_size = h[3] >> 4;
	in->entry_addr = ota_get_le32(h + 4);
	in->chip_id = ota_get_le16(h + 12);
	in->min_chip_rev = h[14];
	in->min_chip_rev_full = ota_get_le16(h + 15);
	in->max_chip_rev_full = ota_get_le16(h + 17);
	in->hash_appended = h[23];
	if (v->cfg.chip_id != OTA_CHIP_ANY && in->chip_id != v->cfg.chip_id)
		return fail(v, OTA_IMAGE_ERR_CHIP);
	if (v->cfg.chip_id != OTA_CHIP_ANY &&
	    (rev < in->min_chip_rev_full ||
	     (in->max_chip_rev_full != 0 && in->max_chip_rev_full != 0xffff &&
	      rev > in->max_chip_rev_full)))
		return fail(v, OTA_IMAGE_ERR_CHIP_REV);
	if (in->seg_count == 0 || in->seg_count > OTA_IMAGE_MAX_SEGMENTS)
		return fail(v, OTA_IMAGE_ERR_SEG_COUNT);
	if (in->hash_appended > 1)
		return fail(v, OTA_IMAGE_ERR_HASH_FLAG);
	v->phase = PH_SEG_HDR;
	v->need = OTA_IMAGE_SEG_HDR_LEN;
	return 0;
}

static int seg_header_done(struct ota_image_verify *v)
{
	struct ota_image_seg *s = &v->info.seg[v->seg_idx];

	s->load_addr = ota_get_le32(v->buf);
	s->len = ota_get_le32(v->buf + 4);
	s->data_off = v->pos;
	if (s->len % 4 || s->len >= OTA_IMAGE_MAX_SEG_LEN)
		return fail(v, OTA_IMAGE_ERR_SEG_LEN);
	if (v->seg_idx == 0 && s->len < OTA_APP_DESC_LEN)
		return fail(v, OTA_IMAGE_ERR_SEG0_SHORT);
	if (v->seg_idx > 0 && !seg_aligned(v, s))
		return fail(v, OTA_IMAGE_ERR_MMU_ALIGN);
	if (s->len > v->cfg.max_len - v->pos)
		return fail(v, OTA_IMAGE_ERR_TOO_BIG);
	v->phase = PH_SEG_DATA;
	v->seg_left = s->len;
	v->buf_len = 0;
	return 0;
}

static void enter_pad(struct ota_image_verify *v)
{
	v->phase = PH_PAD;
	v->need = 15 - v->pos % 16;
}

/* XOR of @n bytes: four at a time, then folded (every image byte). */
static uint8_t xor_bytes(const uint8_t *p, size_t n)
{
	uint32_t w = 0, x;
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		memcpy(&x, p + i, 4);
		w ^= x;
	}
	for (; i < n; i++)
		w ^= p[i];
	w ^= w >> 16;
	return (uint8_t)(w ^ w >> 8);
}

static int seg_data(struct ota_image_verify *v, const uint8_t *p, size_t n)
{
	v->xor_acc ^= xor_bytes(p, n);
	if (v->seg_idx == 0 && v->buf_len < OTA_APP_DESC_LEN) {
		size_t take = OTA_APP_DESC_LEN - v->buf_len;

		if (take > n)
			take = n;
		memcpy(v->buf + v->buf_len, p, take);
		v->buf_len += (uint32_t)take;
		if (v->buf_len == OTA_APP_DESC_LEN) {
			/*
			 * Both errors point at the end of the app desc, where
			 * they become known, whatever the chunking.
			 */
			v->pos += (uint32_t)take;
			if (ota_app_desc_parse(v->buf, &v->info.desc)) {
				v->info.desc.magic = ota_get_le32(v->buf);
				return fail(v, OTA_IMAGE_ERR_APP_DESC);
			}
			v->info.has_desc = true;
			if (!seg_aligned(v, &v->info.seg[0]))
				return fail(v, OTA_IMAGE_ERR_MMU_ALIGN);
			v->pos -= (uint32_t)take;
		}
	}
	v->seg_left -= (uint32_t)n;
	return 0;
}

/* The phase machine; ota_image_verify_update() adds the whole-file hash. */
static int step(struct ota_image_verify *v, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t n;
		int err = 0;

		switch ((enum phase)v->phase) {
		case PH_FAILED:
			return -EILSEQ;
		case PH_DONE:
			return 0; /* trailing padding */
		case PH_HDR:
		case PH_SEG_HDR:
		case PH_HASH:
			n = v->need - v->buf_len;
			n = n < len ? n : len;
			memcpy(v->buf + v->buf_len, p, n);
			v->buf_len += (uint32_t)n;
			if (v->phase != PH_HASH)
				hash(v, p, n);
			break;
		case PH_SEG_DATA:
			n = v->seg_left < len ? v->seg_left : len;
			hash(v, p, n);
			break;
		case PH_PAD:
			n = v->need < len ? v->need : len;
			hash(v, p, n);
			v->need -= (uint32_t)n;
			break;
		case PH_CHECKSUM:
			n = 1;
			hash(v, p, n);
			break;
		default:
			return -EILSEQ;
		}
		if (v->pos + n > v->cfg.max_len)
			return fail(v, OTA_IMAGE_ERR_TOO_BIG);
		if (v->phase == PH_SEG_DATA)
			err = seg_data(v, p, n);
		if (err)
			return err;
		v->pos += (uint32_t)n;
		p += n;
		len -= n;

		switch ((enum phase)v->phase) {
		case PH_HDR:
			if (v->buf_len == v->need) {
				v->buf_len = 0;
				err = header_done(v);
			}
			break;
		case PH_SEG_HDR:
			if (v->buf_len == v->need)
				err = seg_header_done(v);
			break;
		case PH_SEG_DATA:
			if (v->seg_left)
				break;
			v->buf_len = 0;
			if (++v->seg_idx < v->info.seg_count) {
				v->phase = PH_SEG_HDR;
				v->need = OTA_IMAGE_SEG_HDR_LEN;
			} else {
				enter_pad(v);
				if (!v->need)
					v->phase = PH_CHECKSUM;
			}
			break;
		case PH_PAD:
			if (!v->need)
				v->phase = PH_CHECKSUM;
			break;
		case PH_CHECKSUM:
			v->info.checksum_stored = p[-1];
			v->info.checksum_calc = v->xor_acc;
			if (v->info.checksum_stored != v->info.checksum_calc)
				return fail(v, OTA_IMAGE_ERR_CHECKSUM);
			if (v->cfg.hash_all) {
				/* everything so far, then a copy's digest */
				ota_sha256_update(&v->sha, v->hash_from,
						  (size_t)(p - v->hash_from));
				v->hash_from = p;
				ota_image_verify_digest(v, v->info.sha_calc);
			} else
				ota_sha256_final(&v->sha, v->info.sha_calc);
			if (v->info.hash_appended) {
				v->phase = PH_HASH;
				v->need = OTA_SHA256_LEN;
				v->buf_len = 0;
			} else {
				v->info.image_len = v->pos;
				v->phase = PH_DONE;
			}
			break;
		case PH_HASH:
			if (v->buf_len < v->need)
				break;
			memcpy(v->info.sha_stored, v->buf, OTA_SHA256_LEN);
			v->info.has_hash = true;
			v->info.image_len = v->pos;
			v->phase = PH_DONE;
			if (memcmp(v->info.sha_stored, v->info.sha_calc,
				   OTA_SHA256_LEN)) {
				v->err = OTA_IMAGE_ERR_SHA256;
				v->err_off = v->pos - OTA_SHA256_LEN;
				v->phase = PH_FAILED;
				return -EILSEQ;
			}
			break;
		case PH_DONE:
		case PH_FAILED:
			break;
		}
		if (err)
			return err;
	}
	return v->phase == PH_FAILED ? -EILSEQ : 0;
}

void ota_image_verify_digest(const struct ota_image_verify *v,
			     uint8_t out[OTA_SHA256_LEN])
{
	struct ota_sha256 copy;

	ota_sha256_clone(&copy, &v->sha);
	ota_sha256_final(&copy, out);
}

int ota_image_verify_update(struct ota_image_verify *v, const void *data,
			    size_t len)
{
	int rc;

	if (!v->cfg.hash_all)
		return step(v, data, len);
	/* every byte once, whatever the phase machine made of it */
	v->hash_from = data;
	rc = step(v, data, len);
	ota_sha256_update(&v->sha, v->hash_from,
			  len - (size_t)(v->hash_from - (const uint8_t *)data));
	v->hash_from = NULL;
	return rc;
}

bool ota_image_verify_complete(const struct ota_image_verify *v)
{
	return v->phase == PH_DONE;
}

int ota_image_verify_final(struct ota_image_verify *v)
{
	if (v->phase == PH_DONE)
		return 0;
	if (v->phase != PH_FAILED)
		fail(v, OTA_IMAGE_ERR_TRUNCATED);
	return -EILSEQ;
}
