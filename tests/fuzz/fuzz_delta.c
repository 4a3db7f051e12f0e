/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target: the delta patch decoder (ota_engine/delta.h), both
 * compressions, and its checkpoints. Input: base-length selector (1),
 * chunking seed (1), mode (1), then the patch (mode bit 7 clear) or a
 * checkpoint followed by patch bytes (bit 7 set).
 *
 * Patch mode, beyond "no crash": the base is 16 * data[0] pseudo-random
 * bytes, the slot limit 64 KiB. Output is written in order, never past
 * to-size or the limit, and reads stay inside the base. Feeding in random
 * chunks (empty ones too) with pauses every 4 * (mode & 0x7f) output bytes
 * gives the one-shot verdict, error and output; and at the first pauses
 * a checkpoint restored into a fresh decoder goes on to the same verdict
 * and output. Checkpoint mode: restore either rejects the bytes or takes them;
 * a taken state checkpoints again, and that checkpoint restores to the
 * same bytes; feeding the rest must not crash.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "ota_engine/delta.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LIMIT        (64u * 1024)
#define MAX_RESTORES 4 /* per input: each copies the output so far */

struct out {
	uint8_t buf[LIMIT];
	uint32_t len;
	const uint8_t *base;
	uint32_t blen;
};

static uint8_t base[255 * 16];
static struct out o1, o2, o3;

static int rd(void *user, uint32_t off, uint8_t *buf, size_t len)
{
	struct out *o = user;

	FUZZ_CHECK((uint64_t)off + len <= o->blen);
	memcpy(buf, o->base + off, len);
	return 0;
}

static int wr(void *user, uint32_t off, const uint8_t *buf, size_t len)
{
	struct out *o = user;

	FUZZ_CHECK(off == o->len && len && off + len <= LIMIT);
	memcpy(o->buf + off, buf, len);
	o->len += (uint32_t)len;
	return 0;
}

/*
 * A success writes the same image; a failure may have written more or
 * less of it before stopping (output is flushed per feed), but never
 * different bytes.
 */
static bool same_output(const struct out *a, const struct out *b, int rc)
{
	uint32_t n = a->len < b->len ? a->len : b->len;

	if (!rc && a->len != b->len)
		return false;
	return !memcmp(a->buf, b->buf, n);
}

static struct ota_delta_cfg cfg_for(struct out *o, uint32_t pause)
{
	return (struct ota_delta_cfg){ .read_base = rd,
				       .write = wr,
				       .user = o,
				       .base_size = o->blen,
				       .max_size = LIMIT,
				       .pause_every = pause };
}

static void checkpoint_mode(const uint8_t *data, size_t size)
{
	static struct ota_delta d, e;
	static uint8_t c1[OTA_DELTA_CKPT_MAX], c2[OTA_DELTA_CKPT_MAX];
	struct ota_delta_cfg cfg;
	size_t n = size < OTA_DELTA_CKPT_MAX ? size : OTA_DELTA_CKPT_MAX;
	size_t l1, l2, used;

	o1.len = 0;
	cfg = cfg_for(&o1, 0);
	/* the restored state believes @to_pos bytes were written */
	if (ota_delta_restore(&d, &cfg, data, n))
		return;
	FUZZ_CHECK(ota_delta_checkpoint(&d, c1, sizeof(c1), &l1) == 0);
	FUZZ_CHECK(ota_delta_restore(&e, &cfg, c1, l1) == 0);
	FUZZ_CHECK(ota_delta_checkpoint(&e, c2, sizeof(c2), &l2) == 0);
	FUZZ_CHECK(l1 == l2 && !memcmp(c1, c2, l1));
	o1.len = ota_delta_to_pos(&d);
	if (o1.len > LIMIT)
		return;
	ota_delta_feed(&d, data + n, size - n, &used);
	ota_delta_finish(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ota_delta one, many, res;
	static uint8_t ck[OTA_DELTA_CKPT_MAX];
	uint32_t rng, pause, i, restores = 0;
	size_t off = 0, used, cklen;
	int r1, r2 = 0;

	if (size < 3)
		return 0;
	for (i = 0; i < sizeof(base); i++)
		base[i] = (uint8_t)(i * 131u + (i >> 8) * 7u);
	o1.base = o2.base = o3.base = base;
	o1.blen = o2.blen = o3.blen = data[0] * 16u;
	rng = data[1] * 2654435761u + 1;
	pause = (data[2] & 0x7fu) * 4u;
	if (data[2] & 0x80) {
		checkpoint_mode(data + 3, size - 3);
		return 0;
	}
	data += 3;
	size -= 3;

	o1.len = 0;
	{
		struct ota_delta_cfg c = cfg_for(&o1, 0);

		ota_delta_init(&one, &c);
	}
	r1 = ota_delta_feed(&one, data, size, &used);
	if (!r1)
		r1 = ota_delta_finish(&one);
	FUZZ_CHECK(o1.len <= LIMIT);
	if (!r1)
		FUZZ_CHECK(o1.len == ota_delta_to_size(&one));

	o2.len = 0;
	{
		struct ota_delta_cfg c = cfg_for(&o2, pause);

		ota_delta_init(&many, &c);
	}
	while (!r2 && off <= size) {
		size_t n;

		rng = rng * 1103515245u + 12345u;
		n = (rng >> 16) % 300;
		if (n > size - off)
			n = size - off;
		r2 = ota_delta_feed(&many, data + off, n, &used);
		off += used;
		if (!r2 && ota_delta_paused(&many) &&
		    restores++ < MAX_RESTORES) {
			static struct ota_delta_cfg c;
			size_t u;
			int r3;

			/* resume from here in a fresh decoder */
			FUZZ_CHECK(ota_delta_checkpoint(&many, ck, sizeof(ck),
							&cklen) == 0);
			memcpy(o3.buf, o2.buf, o2.len);
			o3.len = o2.len;
			c = cfg_for(&o3, 0);
			FUZZ_CHECK(ota_delta_restore(&res, &c, ck, cklen) == 0);
			FUZZ_CHECK(ota_delta_patch_pos(&res) == off);
			r3 = ota_delta_feed(&res, data + off, size - off, &u);
			if (!r3)
				r3 = ota_delta_finish(&res);
			FUZZ_CHECK(r3 == r1 && res.err == one.err);
			FUZZ_CHECK(same_output(&o1, &o3, r1));
		}
		if (off == size && !ota_delta_paused(&many))
			break;
	}
	if (!r2)
		r2 = ota_delta_finish(&many);
	FUZZ_CHECK(r1 == r2 && one.err == many.err);
	FUZZ_CHECK(same_output(&o1, &o2, r1));
	FUZZ_CHECK(r1 != -EINVAL);
	return 0;
}
