/* SPDX-License-Identifier: MIT */
/*
 * Per-process scratch directory for tests that need files (flash images,
 * CSVs). Created on first use under $TMPDIR, removed by tmpdir_cleanup().
 */
#ifndef BLEOTA_TESTS_HARNESS_TMPDIR_H
#define BLEOTA_TESTS_HARNESS_TMPDIR_H

#include <stddef.h>

/** Path of @name inside the scratch directory; returns @buf. */
const char *tmpdir_path(char *buf, size_t cap, const char *name);

/** Remove the scratch directory and everything in it. */
void tmpdir_cleanup(void);

#endif /* BLEOTA_TESTS_HARNESS_TMPDIR_H */
