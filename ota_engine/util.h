/* SPDX-License-Identifier: MIT */
/*
 * Small helpers the portable engine needs that C11's libc lacks (strnlen is
 * POSIX, not C11: newlib hides it without _POSIX_C_SOURCE).
 */
#ifndef BLEOTA_OTA_ENGINE_UTIL_H
#define BLEOTA_OTA_ENGINE_UTIL_H

#include <stddef.h>
#include <string.h>

/** ota_strnlen() - length of @s, at most @max (no NUL needed within). */
static inline size_t ota_strnlen(const char *s, size_t max)
{
	const char *nul = memchr(s, '\0', max);

	return nul ? (size_t)(nul - s) : max;
}

#endif /* BLEOTA_OTA_ENGINE_UTIL_H */
