/* SPDX-License-Identifier: MIT */
/*
 * NOR simulator: erase/program rules, bounds and alignment, fault injection
 * (fail Nth op, power cut plain and torn), op counting and reopen.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/crc32.h"
#include "ota_engine/flash_file.h"
#include "tests/harness/tmpdir.h"

#define SZ (64u * 1024u)

static const struct ota_flash_ops *ops = &ota_flash_file_ops;

/*
 * The race a size check cannot close: the file shrinks after an op's check
 * and before its access. This program's fstat() takes precedence over
 * libc's for the simulator (linked in statically), and while lies_left is
 * set it reports lie_size: the check sees the whole file as it was, as if
 * the truncation landed right after it.
 */
static unsigned int lies_left;
static off_t lie_size;

int fstat(int fd, struct stat *st)
{
	int r = fstatat(fd, "", st, AT_EMPTY_PATH);

	if (!r && lies_left) {
		lies_left--;
		st->st_size = lie_size;
	}
	return r;
}

static struct ota_flash_file *open_new(void)
{
	char path[512];
	struct ota_flash_file *f;
	int err = 0;

	f = ota_flash_file_open(tmpdir_path(path, sizeof(path), "flash.bin"),
				SZ, OTA_FLASH_FILE_CREATE, &err);
	assert_non_null(f);
	return f;
}

static struct ota_flash_file *reopen(struct ota_flash_file *f)
{
	char path[512];
	int err = 0;

	ota_flash_file_close(f);
	f = ota_flash_file_open(tmpdir_path(path, sizeof(path), "flash.bin"), 0,
				0, &err);
	assert_non_null(f);
	return f;
}

static void expect_bytes(struct ota_flash_file *f, uint32_t off,
			 const uint8_t *want, size_t len)
{
	uint8_t buf[64];

	assert_true(len <= sizeof(buf));
	assert_int_equal(ops->read(f, off, buf, len), 0);
	assert_memory_equal(buf, want, len);
}

static void test_created_erased(void **state)
{
	struct ota_flash_file *f = open_new();
	uint8_t ff[64];

	(void)state;
	memset(ff, 0xff, sizeof(ff));
	expect_bytes(f, 0, ff, sizeof(ff));
	expect_bytes(f, SZ - 64, ff, sizeof(ff));
	assert_int_equal(ops->size(f), SZ);
	ota_flash_file_close(f);
}

static void test_program_clears_only(void **state)
{
	struct ota_flash_file *f = open_new();
	const uint8_t a[4] = { 0xf0, 0x0f, 0xaa, 0x55 };
	const uint8_t b[4] = { 0xf0, 0x0f, 0xaa, 0x54 }; /* clears one bit */
	const uint8_t c[4] = { 0xf1, 0x0f, 0xaa, 0x54 }; /* sets one bit */

	(void)state;
	assert_int_equal(ops->write(f, 100, a, 4), 0);
	expect_bytes(f, 100, a, 4);
	/* identical rewrite is a no-op, as on real NOR */
	assert_int_equal(ops->write(f, 100, a, 4), 0);
	assert_int_equal(ops->write(f, 100, b, 4), 0);
	expect_bytes(f, 100, b, 4);
	/* 0 -> 1 without erase fails and changes nothing */
	assert_int_equal(ops->write(f, 100, c, 4), -EIO);
	expect_bytes(f, 100, b, 4);
	assert_int_equal(ops->erase(f, 0, 4096), 0);
	assert_int_equal(ops->write(f, 100, c, 4), 0);
	expect_bytes(f, 100, c, 4);
	ota_flash_file_close(f);
}

/* Long, unaligned writes: the word passes keep the same NOR rules. */
static void test_program_words(void **state)
{
	struct ota_flash_file *f = open_new();
	uint8_t x[61], y[61], z[61];
	size_t i, bad[] = { 0, 37, 60 };

	(void)state;
	for (i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)(0xfe - i * 3);
	assert_int_equal(ops->write(f, 3, x, sizeof(x)), 0);
	expect_bytes(f, 3, x, sizeof(x));
	for (i = 0; i < sizeof(y); i++)
		y[i] = (uint8_t)(x[i] & (i % 2 ? 0xf0 : 0x0f));
	assert_int_equal(ops->write(f, 3, y, sizeof(y)), 0);
	expect_bytes(f, 3, y, sizeof(y));
	/* one bit to set, in the first word, a middle one or the tail */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(z, y, sizeof(z));
		z[bad[i]] = (uint8_t)(z[bad[i]] | (uint8_t)~y[bad[i]]);
		assert_int_not_equal(z[bad[i]], y[bad[i]]);
		assert_int_equal(ops->write(f, 3, z, sizeof(z)), -EIO);
		expect_bytes(f, 3, y, sizeof(y));
	}
	ota_flash_file_close(f);
}

static void test_bounds_alignment(void **state)
{
	struct ota_flash_file *f = open_new();
	uint8_t buf[8] = { 0 };

	(void)state;
	assert_int_equal(ops->read(f, SZ - 4, buf, 8), -EINVAL);
	assert_int_equal(ops->read(f, SZ, buf, 1), -EINVAL);
	assert_int_equal(ops->read(f, UINT32_MAX, buf, 2), -EINVAL);
	assert_int_equal(ops->write(f, SZ - 4, buf, 8), -EINVAL);
	assert_int_equal(ops->erase(f, 1, 4096), -EINVAL);
	assert_int_equal(ops->erase(f, 0, 100), -EINVAL);
	assert_int_equal(ops->erase(f, SZ, 4096), -EINVAL);
	assert_int_equal(ops->erase(f, SZ - 4096, 4096), 0);
	assert_int_equal(ota_flash_file_op_count(f, OTA_FLASH_OP_ALL), 1);
	ota_flash_file_close(f);
}

static void test_open_errors(void **state)
{
	char path[512];
	int err = 0;

	(void)state;
	assert_null(ota_flash_file_open(
		tmpdir_path(path, sizeof(path), "missing.bin"), 0, 0, &err));
	assert_int_equal(err, -ENOENT);
	assert_null(
		ota_flash_file_open(path, 1000, OTA_FLASH_FILE_CREATE, &err));
	assert_int_equal(err, -EINVAL);
}

/* A second read-write opener (another daemon) is refused; readers are not. */
static void test_open_second_writer(void **state)
{
	struct ota_flash_file *f = open_new(), *g;
	char path[512];
	uint8_t b;
	int err = 0;

	(void)state;
	tmpdir_path(path, sizeof(path), "flash.bin");
	assert_null(ota_flash_file_open(path, 0, 0, &err));
	assert_int_equal(err, -EBUSY);
	/* creating over it is refused too, and leaves it whole */
	assert_null(ota_flash_file_open(path, SZ, OTA_FLASH_FILE_CREATE, &err));
	assert_int_equal(err, -EBUSY);
	g = ota_flash_file_open(path, 0, OTA_FLASH_FILE_RDONLY, &err);
	assert_non_null(g);
	assert_int_equal(ops->read(g, SZ - 1, &b, 1), 0);
	assert_int_equal(b, 0xff);
	assert_int_equal(ops->write(g, 0, "\0", 1), -EROFS);
	assert_int_equal(ops->erase(g, 0, 4096), -EROFS);
	ota_flash_file_close(g);
	f = reopen(f);
	ota_flash_file_close(f);
}

/* The file shrinks under an open handle: errors, never SIGBUS. */
static void test_shrunk_under_handle(void **state)
{
	struct ota_flash_file *f = open_new();
	char path[512];
	uint8_t buf[64];

	(void)state;
	assert_int_equal(
		truncate(tmpdir_path(path, sizeof(path), "flash.bin"), SZ / 2),
		0);
	assert_int_equal(ops->read(f, SZ - 64, buf, 64), -ESTALE);
	assert_int_equal(ops->read(f, 0, buf, 64), -ESTALE);
	assert_int_equal(ops->write(f, SZ - 4, buf, 4), -ESTALE);
	assert_int_equal(ops->erase(f, SZ - 4096, 4096), -ESTALE);
	assert_int_equal(ota_flash_file_current_size(f), SZ / 2);
	/* nothing was counted or done: the ops never happened */
	assert_int_equal(ota_flash_file_op_count(f, OTA_FLASH_OP_ALL), 0);
	ota_flash_file_close(f);
}

/*
 * The file shrinks between an op's size check and its access (another
 * process truncating it): -ESTALE, never a SIGBUS, nothing written, and
 * the file not grown back. One lie per op: the check's fstat() sees the
 * old size, the one after the short read the truth.
 */
static void test_shrunk_after_check(void **state)
{
	static const uint8_t zeros[8192];
	struct ota_flash_file *f = open_new();
	char path[512];
	uint8_t buf[64];
	struct stat st;

	(void)state;
	tmpdir_path(path, sizeof(path), "flash.bin");
	assert_int_equal(truncate(path, SZ / 2), 0);
	lie_size = SZ;
	lies_left = 1;
	assert_int_equal(ops->read(f, SZ - 64, buf, 64), -ESTALE);
	assert_int_equal(ota_flash_file_current_size(f), SZ / 2);
	lies_left = 1;
	assert_int_equal(ops->read(f, SZ / 2 - 32, buf, 64), -ESTALE);
	lies_left = 1;
	assert_int_equal(ops->write(f, SZ - 64, zeros, 64), -ESTALE);
	lies_left = 1;
	assert_int_equal(ops->write(f, SZ / 2 - 4096, zeros, 8192), -ESTALE);
	lies_left = 1;
	assert_int_equal(ops->erase(f, SZ - 4096, 4096), -ESTALE);
	lies_left = 1;
	assert_int_equal(ops->erase(f, SZ / 2 - 4096, 8192), -ESTALE);
	assert_int_equal(lies_left, 0);
	/* nothing re-extended the file, nothing was programmed in what is left */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SZ / 2);
	lies_left = 1;
	expect_bytes(f, SZ / 2 - 64, (const uint8_t[64]){ [0 ... 63] = 0xff },
		     64);
	ota_flash_file_close(f);
}

static void test_fail_nth(void **state)
{
	struct ota_flash_file *f = open_new();
	const uint8_t d[4] = { 1, 2, 3, 4 };
	uint8_t ff[4] = { 0xff, 0xff, 0xff, 0xff };

	(void)state;
	ota_flash_file_fail_at(f, 1, OTA_FLASH_OP_MUTATE);
	assert_int_equal(ops->write(f, 0, d, 4), 0);    /* op 0 */
	assert_int_equal(ops->write(f, 8, d, 4), -EIO); /* op 1 fails */
	expect_bytes(f, 8, ff, 4);                      /* untouched */
	assert_int_equal(ops->write(f, 8, d, 4), 0);    /* op 2 works */
	expect_bytes(f, 8, d, 4);
	assert_false(ota_flash_file_is_dead(f));
	assert_int_equal(ota_flash_file_op_count(f, OTA_FLASH_OP_WRITE), 3);
	ota_flash_file_close(f);
}

static void test_cut_plain(void **state)
{
	struct ota_flash_file *f = open_new();
	uint8_t d[16], ff[16], buf[16];

	(void)state;
	memset(d, 0, sizeof(d));
	memset(ff, 0xff, sizeof(ff));
	ota_flash_file_cut_at(f, 0, OTA_FLASH_OP_MUTATE, false);
	assert_int_equal(ops->write(f, 0, d, 16), -EIO);
	assert_true(ota_flash_file_is_dead(f));
	assert_int_equal(ops->read(f, 0, buf, 16), -EIO);
	assert_int_equal(ops->erase(f, 0, 4096), -EIO);
	f = reopen(f);
	expect_bytes(f, 0, ff, 16);
	assert_false(ota_flash_file_is_dead(f));
	ota_flash_file_close(f);
}

static void test_cut_torn_write(void **state)
{
	struct ota_flash_file *f = open_new();
	uint8_t d[16], want[16];

	(void)state;
	memset(d, 0, sizeof(d));
	memset(want, 0xff, sizeof(want));
	memset(want, 0, 8);
	ota_flash_file_cut_at(f, 0, OTA_FLASH_OP_WRITE, true);
	assert_int_equal(ops->write(f, 32, d, 16), -EIO);
	f = reopen(f);
	expect_bytes(f, 32, want, 16);
	ota_flash_file_close(f);
}

static void test_cut_torn_erase(void **state)
{
	struct ota_flash_file *f = open_new();
	uint8_t zero[16], ff[16];

	(void)state;
	memset(zero, 0, sizeof(zero));
	memset(ff, 0xff, sizeof(ff));
	assert_int_equal(ops->write(f, 0, zero, 16), 0);
	assert_int_equal(ops->write(f, 4000, zero, 16), 0);
	ota_flash_file_cut_at(f, 2, OTA_FLASH_OP_MUTATE, true);
	assert_int_equal(ops->erase(f, 0, 4096), -EIO);
	f = reopen(f);
	expect_bytes(f, 0, ff, 16);      /* first half erased */
	expect_bytes(f, 4000, zero, 16); /* tail kept old data */
	ota_flash_file_close(f);
}

static void test_crc_vectors(void **state)
{
	static const struct {
		uint32_t seq;
		uint32_t crc;
	} otadata[] = {
		{ 1, 0x4743989A }, { 2, 0x55F63774 }, { 3, 0xED4A5011 },
		{ 4, 0x709D68A8 }, { 5, 0xC8210FCD }, { 6, 0xDA94A023 },
	};
	size_t i;

	(void)state;
	assert_int_equal(ota_crc32(0, "123456789", 9), 0xCBF43926);
	assert_int_equal(ota_crc32(ota_crc32(0, "1234", 4), "56789", 5),
			 0xCBF43926);
	for (i = 0; i < sizeof(otadata) / sizeof(otadata[0]); i++) {
		uint8_t le[4] = { (uint8_t)otadata[i].seq, 0, 0, 0 };

		assert_int_equal(ota_crc32(UINT32_MAX, le, 4), otadata[i].crc);
	}
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/flash_file/create/erased", test_created_erased, NULL, NULL,
		  NULL },
		{ "/flash_file/program/clears-only", test_program_clears_only,
		  NULL, NULL, NULL },
		{ "/flash_file/program/words", test_program_words, NULL, NULL,
		  NULL },
		{ "/flash_file/bounds-alignment", test_bounds_alignment, NULL,
		  NULL, NULL },
		{ "/flash_file/open/errors", test_open_errors, NULL, NULL,
		  NULL },
		{ "/flash_file/open/second-writer", test_open_second_writer,
		  NULL, NULL, NULL },
		{ "/flash_file/shrunk-under-handle", test_shrunk_under_handle,
		  NULL, NULL, NULL },
		{ "/flash_file/shrunk-after-check", test_shrunk_after_check,
		  NULL, NULL, NULL },
		{ "/flash_file/fault/fail-nth", test_fail_nth, NULL, NULL,
		  NULL },
		{ "/flash_file/fault/cut-plain", test_cut_plain, NULL, NULL,
		  NULL },
		{ "/flash_file/fault/cut-torn-write", test_cut_torn_write, NULL,
		  NULL, NULL },
		{ "/flash_file/fault/cut-torn-erase", test_cut_torn_erase, NULL,
		  NULL, NULL },
		{ "/crc/vectors", test_crc_vectors, NULL, NULL, NULL },
	};
	int rc = cmocka_run_group_tests_name("flash_file", tests, NULL, NULL);

	tmpdir_cleanup();
	return rc;
}
