/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the ESP-IDF NVS reader and tag writer (ota_engine/
 * nvs.h) over an in-memory NOR flash. Input: one byte for the tag length,
 * then the partition bytes (3 or 4 pages; short input is padded with 0xFF,
 * as erased flash reads).
 *
 * Beyond "no crash": every record of the walk is well formed (NUL-ended
 * key, span and data inside the page, the data of a string readable); a
 * lookup answers 0, -ENOENT, -EMSGSIZE or -EILSEQ; the writer never
 * programs a 0 bit back to 1 (that is garbage on real NOR), and when it
 * succeeds the tag reads back and the walk still holds. (Garbage bitmap
 * slots hidden after an active page's end may show up once the page's end
 * moves past them; ESP-IDF's loader erases them then, and so does the next
 * write here. The unit tests check "nothing left to skip" on states a
 * power cut can make.)
 * Seeds: partitions written by ota_nvs_set_str() (tests/fuzz/gen_seeds.c).
 */
#include <errno.h>
#include <string.h>

#include "ota_engine/nvs.h"
#include "tests/fuzz/fuzz_util.h"

#define MAX_PAGES 4u

static uint8_t mem[MAX_PAGES * OTA_NVS_PAGE_SIZE];
static uint32_t mem_size;

static int m_read(void *ctx, uint32_t off, void *dst, size_t len)
{
	(void)ctx;
	if (off > mem_size || len > mem_size - off)
		return -EINVAL;
	memcpy(dst, mem + off, len);
	return 0;
}

static int m_write(void *ctx, uint32_t off, const void *src, size_t len)
{
	const uint8_t *s = src;
	size_t i;

	(void)ctx;
	if (off > mem_size || len > mem_size - off)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		FUZZ_CHECK((mem[off + i] & s[i]) == s[i]);
		mem[off + i] = s[i];
	}
	return 0;
}

static int m_erase(void *ctx, uint32_t off, size_t len)
{
	(void)ctx;
	if (off % OTA_NVS_PAGE_SIZE || len % OTA_NVS_PAGE_SIZE ||
	    off > mem_size || len > mem_size - off)
		return -EINVAL;
	memset(mem + off, 0xff, len);
	return 0;
}

static uint32_t m_size(void *ctx)
{
	(void)ctx;
	return mem_size;
}

static const struct ota_flash_ops mem_ops = {
	.read = m_read,
	.write = m_write,
	.erase = m_erase,
	.size = m_size,
	.erase_size = OTA_NVS_PAGE_SIZE,
	.write_align = 1,
};

/* Walk everything; returns the SKIP count, *@tags the tag items. */
static unsigned int walk(const struct ota_nvs_part *p, unsigned int *tags)
{
	static char buf[OTA_NVS_STR_MAX];
	struct ota_nvs_iter it;
	struct ota_nvs_rec r;
	unsigned int skips = 0, n = 0;
	int err;

	*tags = 0;
	FUZZ_CHECK(!ota_nvs_iter_init(&it, p));
	while (!(err = ota_nvs_iter_next(&it, &r))) {
		FUZZ_CHECK(++n <= MAX_PAGES * (1 + OTA_NVS_ENTRY_COUNT));
		FUZZ_CHECK(r.page < p->size / OTA_NVS_PAGE_SIZE);
		FUZZ_CHECK(ota_nvs_page_state_str(r.state)[0] != '?');
		if (r.kind == OTA_NVS_REC_SKIP) {
			FUZZ_CHECK(r.problem != OTA_NVS_PROBLEM_NONE &&
				   r.entry < OTA_NVS_ENTRY_COUNT);
			FUZZ_CHECK(ota_nvs_problem_str(r.problem)[0]);
			skips++;
		}
		if (r.kind != OTA_NVS_REC_ITEM)
			continue;
		FUZZ_CHECK(memchr(r.key, '\0', sizeof(r.key)) != NULL);
		FUZZ_CHECK(r.span >= 1 &&
			   r.entry + r.span <= OTA_NVS_ENTRY_COUNT);
		FUZZ_CHECK(r.len <= (r.span - 1u) * OTA_NVS_ENTRY_SIZE);
		if (r.type == OTA_NVS_TYPE_SZ)
			FUZZ_CHECK(ota_nvs_read_data(p, &r, buf, sizeof(buf)) ==
				   (int)r.len);
		if (r.type == OTA_NVS_TYPE_SZ &&
		    !strcmp(r.key, OTA_NVS_TAG_KEY))
			(*tags)++;
	}
	FUZZ_CHECK(err == -ENOENT);
	return skips;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ota_nvs_part p = { .flash = &mem_ops };
	char tag[OTA_NVS_TAG_MAX + 1], got[OTA_NVS_TAG_MAX + 1];
	unsigned int tags, len;
	int err;

	if (size < 1)
		return 0;
	len = data[0] % (OTA_NVS_TAG_MAX + 1);
	data++;
	size--;
	mem_size = size > 3 * OTA_NVS_PAGE_SIZE ? MAX_PAGES * OTA_NVS_PAGE_SIZE
						: 3 * OTA_NVS_PAGE_SIZE;
	memset(mem, 0xff, sizeof(mem));
	memcpy(mem, data, size < mem_size ? size : mem_size);
	p.size = mem_size;

	walk(&p, &tags);
	err = ota_nvs_get_str(&p, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY, got,
			      sizeof(got), NULL);
	FUZZ_CHECK(!err || err == -ENOENT || err == -EMSGSIZE ||
		   err == -EILSEQ);
	if (!err)
		FUZZ_CHECK(memchr(got, '\0', sizeof(got)) != NULL);

	memset(tag, 'a' + len % 26, len);
	tag[len] = '\0';
	err = ota_nvs_set_str(&p, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY, tag);
	FUZZ_CHECK(!err || err == -ENOSPC || err == -EPROTO || err == -EEXIST);
	if (err)
		return 0;
	FUZZ_CHECK(!ota_nvs_get_str(&p, OTA_NVS_TAG_NAMESPACE, OTA_NVS_TAG_KEY,
				    got, sizeof(got), NULL));
	FUZZ_CHECK(!strcmp(got, tag));
	walk(&p, &tags);
	FUZZ_CHECK(tags >= 1);
	return 0;
}
