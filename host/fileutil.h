/* SPDX-License-Identifier: MIT */
/* Small file and argument helpers shared by the host programs. */
#ifndef BLEOTA_HOST_FILEUTIL_H
#define BLEOTA_HOST_FILEUTIL_H

#include <stddef.h>

/**
 * fileutil_read() - read a whole file (at most @max bytes) into a malloc'd
 * buffer; *@out_len gets its length. Prints "bleota: PATH: reason" and
 * returns NULL on failure.
 */
unsigned char *fileutil_read(const char *path, size_t max, size_t *out_len);

/** fileutil_parse_size() - parse "4M", "64K", "0x1000", "4096". 0 or -1. */
int fileutil_parse_size(const char *s, unsigned long *out);

#endif /* BLEOTA_HOST_FILEUTIL_H */
