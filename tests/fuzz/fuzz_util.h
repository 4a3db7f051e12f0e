/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer targets in tests/fuzz/: an invariant check
 * that aborts (libFuzzer keeps the input as a crash), and a reader that takes
 * bytes from the front of the fuzz input and yields zeros once it runs dry,
 * so every input, however short, is a valid script.
 */
#ifndef BLEOTA_TESTS_FUZZ_UTIL_H
#define BLEOTA_TESTS_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                 \
	do {                                                             \
		if (!(cond)) {                                           \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", \
				__FILE__, __LINE__, #cond);              \
			abort();                                         \
		}                                                        \
	} while (0)

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fz_u8(struct fz *f)
{
	uint8_t v = 0;

	if (f->n) {
		v = *f->p++;
		f->n--;
	}
	return v;
}

static inline uint16_t fz_u16(struct fz *f)
{
	uint16_t lo = fz_u8(f);

	return (uint16_t)(lo | (fz_u8(f) << 8));
}

/* Up to @want bytes from the input; *@got says how many there were. */
static inline const uint8_t *fz_take(struct fz *f, size_t want, size_t *got)
{
	const uint8_t *p = f->p;

	*got = want < f->n ? want : f->n;
	f->p += *got;
	f->n -= *got;
	return p;
}

#endif /* BLEOTA_TESTS_FUZZ_UTIL_H */
