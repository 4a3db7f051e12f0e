/* SPDX-License-Identifier: MIT */
/*
 * File-backed NOR flash simulator.
 *
 * The file is the flash: byte i of the file is flash address i. Every
 * operation is a pread()/pwrite() on it, so it lands in the file (page
 * cache) at once and a "reboot" is simply closing and reopening it; the
 * simulator keeps no state of its own besides the fault counters.
 *
 * NOR rules enforced here, like ESP-IDF's partition_linux.c and MCUboot's
 * simflash:
 *   - erase works on whole 4 KiB sectors and sets them to 0xFF;
 *   - a write may only clear bits: if any byte would need a 0 -> 1 change the
 *     write fails with -EIO and nothing is programmed;
 *   - every access is bounds checked, writes and erases alignment checked.
 *
 * Fault injection (SQLite faultsim / test6.c style) lives here and nowhere
 * else. Every call is counted by kind (read, write, erase). A "fail" fault
 * makes one chosen op return -EIO with no effect. A "cut" fault simulates a
 * power loss: the chosen op lands partially when torn (first half of a
 * write's bytes, or the first half of an erase's range becomes 0xFF and the
 * rest keeps its old content), and from then on every op fails until the
 * file is reopened. A torn erase that leaves old data in the tail is the
 * nastier of the two plausible outcomes for the engine (stale data that looks
 * valid), which is why it was chosen.
 *
 * The file is a user's file and may be hostile: it is opened under an
 * exclusive flock() so that a second read-write opener (another daemon) is
 * refused with -EBUSY instead of interleaving writes, and a created file is
 * allocated for real (posix_fallocate) so a full file system is an -ENOSPC
 * at creation, not on some later write.
 *
 * Why pread()/pwrite() and no mmap(): another process may truncate the file
 * at any moment (flock() is advisory). Touching a mapped page past the end
 * of a shrunken file raises SIGBUS, and a size check before the access
 * cannot close that window; a read past the end, by contrast, is just short.
 * So every op first checks the file still has its size (a shrunken file
 * fails every op with -ESTALE, touching nothing), and a truncation that
 * lands after the check shows as a short read: -ESTALE again, never a
 * signal. Writes and erases read their range (an erase its last byte)
 * before writing, so they too see a truncation up to that read. What is
 * left: a truncation landing between that read and the pwrite() lets the
 * pwrite() re-extend the file up to the op's end (holes read as 0). No
 * crash and no corruption the truncation had not already done; the next
 * op's check reports -ESTALE unless the op reached the file's former end.
 * The cost is one copy through a 4 KiB bounce buffer per write, a few
 * microseconds per op, nothing beside a radio link.
 */
#include "ota_engine/flash_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_ERASE_SIZE  4096u
#define FILE_WRITE_ALIGN 1u
#define BOUNCE           4096u /* bytes per pread/pwrite of a write, erase */

struct ota_flash_file {
	int fd;
	uint32_t size;
	uint64_t count[3]; /* read, write, erase */
	uint64_t fail_at;
	unsigned int fail_mask;
	uint64_t cut_at;
	unsigned int cut_mask;
	bool cut_torn;
	bool dead;
	bool rdonly;
	uint64_t file_size; /* its size when last checked (shrink detection) */
};

static int kind_index(unsigned int kind)
{
	return kind == OTA_FLASH_OP_READ    ? 0
	       : kind == OTA_FLASH_OP_WRITE ? 1
					    : 2;
}

static uint64_t masked_count(const struct ota_flash_file *f, unsigned int mask)
{
	uint64_t n = 0;

	if (mask & OTA_FLASH_OP_READ)
		n += f->count[0];
	if (mask & OTA_FLASH_OP_WRITE)
		n += f->count[1];
	if (mask & OTA_FLASH_OP_ERASE)
		n += f->count[2];
	return n;
}

enum fault {
	FAULT_NONE,
	FAULT_FAIL,
	FAULT_CUT,
};

/* Counts the op and tells whether a fault fires on it. */
static enum fault account(struct ota_flash_file *f, unsigned int kind)
{
	enum fault fault = FAULT_NONE;

	if ((f->fail_mask & kind) &&
	    masked_count(f, f->fail_mask) == f->fail_at)
		fault = FAULT_FAIL;
	if ((f->cut_mask & kind) && masked_count(f, f->cut_mask) == f->cut_at)
		fault = FAULT_CUT;
	f->count[kind_index(kind)]++;
	return fault;
}

/* The file's size now into f->file_size; -ESTALE if shorter than the flash. */
static int check_size(struct ota_flash_file *f)
{
	struct stat st;

	if (fstat(f->fd, &st) < 0)
		return -errno;
	f->file_size = (uint64_t)st.st_size;
	return f->file_size < f->size ? -ESTALE : 0;
}

/* Bounds, and the file still as long as the flash (else -ESTALE). */
static int check_range(struct ota_flash_file *f, uint32_t off, size_t len)
{
	if (off > f->size || len > (size_t)(f->size - off))
		return -EINVAL;
	return check_size(f);
}

/*
 * Exactly @len bytes at @off. A short read means the file was truncated
 * after check_range(): -ESTALE, with the size found, as for the check.
 */
static int get(struct ota_flash_file *f, uint32_t off, void *dst, size_t len)
{
	uint8_t *p = dst;
	ssize_t n;

	while (len) {
		n = pread(f->fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {
			int err = check_size(f);

			return err ? err : -ESTALE;
		}
		p += n;
		off += (uint32_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int put(struct ota_flash_file *f, uint32_t off, const void *src,
	       size_t len)
{
	const uint8_t *p = src;
	ssize_t n;

	while (len) {
		n = pwrite(f->fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		off += (uint32_t)n;
		len -= (size_t)n;
	}
	return 0;
}

static int file_read(void *ctx, uint32_t off, void *dst, size_t len)
{
	struct ota_flash_file *f = ctx;
	enum fault fault;
	int err = check_range(f, off, len);

	if (err)
		return err;
	fault = account(f, OTA_FLASH_OP_READ);
	if (f->dead)
		return -EIO;
	if (fault == FAULT_CUT) {
		f->dead = true;
		return -EIO;
	}
	if (fault == FAULT_FAIL)
		return -EIO;
	return get(f, off, dst, len);
}

/*
 * NOR programming in 8-byte words (memcpy keeps them alignment-safe; the
 * compiler turns each into one load or store): a pass that refuses any
 * 0 -> 1 bit, then a pass that ANDs the data in, so a refused write
 * changes nothing. Only the tail of fewer than 8 bytes goes bytewise.
 * Both work on the old bytes read into a bounce buffer (see program()).
 */
static bool needs_set(const uint8_t *p, const uint8_t *src, size_t len)
{
	uint64_t have, want;
	size_t i;

	for (i = 0; i + sizeof(want) <= len; i += sizeof(want)) {
		memcpy(&have, p + i, sizeof(have));
		memcpy(&want, src + i, sizeof(want));
		if (want & ~have)
			return true;
	}
	for (; i < len; i++)
		if (src[i] & ~p[i])
			return true;
	return false;
}

static void and_into(uint8_t *p, const uint8_t *src, size_t len)
{
	uint64_t have, want;
	size_t i;

	for (i = 0; i + sizeof(want) <= len; i += sizeof(want)) {
		memcpy(&have, p + i, sizeof(have));
		memcpy(&want, src + i, sizeof(want));
		have &= want;
		memcpy(p + i, &have, sizeof(have));
	}
	for (; i < len; i++)
		p[i] &= src[i];
}

/*
 * One pass over @len bytes at @off through a bounce buffer: read the old
 * bytes, refuse (-EIO) any that would need a bit set, and with @apply AND
 * @src in and write them back.
 */
static int nor_pass(struct ota_flash_file *f, uint32_t off, const uint8_t *src,
		    size_t len, bool apply)
{
	uint8_t old[BOUNCE];
	size_t done, n;
	int err;

	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(old) ? len - done : sizeof(old);
		err = get(f, off + (uint32_t)done, old, n);
		if (err)
			return err;
		if (needs_set(old, src + done, n))
			return -EIO;
		if (!apply)
			continue;
		and_into(old, src + done, n);
		err = put(f, off + (uint32_t)done, old, n);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Program @len bytes at @off. A write that would set a bit fails as a
 * whole, like a strict simflash: one longer than the bounce buffer is
 * checked whole before its first byte is written.
 */
static int program(struct ota_flash_file *f, uint32_t off, const uint8_t *src,
		   size_t len)
{
	int err = len > BOUNCE ? nor_pass(f, off, src, len, false) : 0;

	return err ? err : nor_pass(f, off, src, len, true);
}

static int file_write(void *ctx, uint32_t off, const void *src, size_t len)
{
	struct ota_flash_file *f = ctx;
	enum fault fault;
	int err;

	if (off % FILE_WRITE_ALIGN || len % FILE_WRITE_ALIGN)
		return -EINVAL;
	err = f->rdonly ? -EROFS : check_range(f, off, len);
	if (err)
		return err;
	fault = account(f, OTA_FLASH_OP_WRITE);
	if (f->dead || fault == FAULT_FAIL)
		return -EIO;
	if (fault == FAULT_CUT) {
		size_t part = len / 2;

		/* refused whole (it never started), or cut: torn or not */
		err = nor_pass(f, off, src, len, false);
		if (err)
			return err;
		f->dead = true;
		part -= part % FILE_WRITE_ALIGN;
		if (f->cut_torn)
			nor_pass(f, off, src, part, true);
		return -EIO;
	}
	return program(f, off, src, len);
}

/* Set @len bytes at @off to 0xFF, after checking its last byte exists. */
static int fill_ff(struct ota_flash_file *f, uint32_t off, size_t len)
{
	uint8_t ones[BOUNCE], last;
	size_t done, n;
	int err;

	if (!len)
		return 0;
	err = get(f, off + (uint32_t)(len - 1), &last, 1);
	if (err)
		return err;
	memset(ones, 0xff, sizeof(ones));
	for (done = 0; done < len; done += n) {
		n = len - done < sizeof(ones) ? len - done : sizeof(ones);
		err = put(f, off + (uint32_t)done, ones, n);
		if (err)
			return err;
	}
	return 0;
}

static int file_erase(void *ctx, uint32_t off, size_t len)
{
	struct ota_flash_file *f = ctx;
	enum fault fault;
	int err;

	if (off % FILE_ERASE_SIZE || len % FILE_ERASE_SIZE)
		return -EINVAL;
	err = f->rdonly ? -EROFS : check_range(f, off, len);
	if (err)
		return err;
	fault = account(f, OTA_FLASH_OP_ERASE);
	if (f->dead || fault == FAULT_FAIL)
		return -EIO;
	if (fault == FAULT_CUT) {
		f->dead = true;
		if (f->cut_torn)
			fill_ff(f, off, len / 2);
		return -EIO;
	}
	return fill_ff(f, off, len);
}

static uint32_t file_size(void *ctx)
{
	const struct ota_flash_file *f = ctx;

	return f->size;
}

const struct ota_flash_ops ota_flash_file_ops = {
	.read = file_read,
	.write = file_write,
	.erase = file_erase,
	.size = file_size,
	.erase_size = FILE_ERASE_SIZE,
	.write_align = FILE_WRITE_ALIGN,
};

struct ota_flash_file *ota_flash_file_open(const char *path, uint32_t size,
					   unsigned int flags, int *out_err)
{
	struct ota_flash_file *f;
	struct stat st;
	bool rdonly = flags & OTA_FLASH_FILE_RDONLY;
	int oflags = (rdonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int err;

	if (size % FILE_ERASE_SIZE ||
	    (!size && (flags & OTA_FLASH_FILE_CREATE)) ||
	    (rdonly && (flags & OTA_FLASH_FILE_CREATE))) {
		err = -EINVAL;
		goto err_out;
	}
	f = calloc(1, sizeof(*f));
	if (!f) {
		err = -ENOMEM;
		goto err_out;
	}
	if (flags & OTA_FLASH_FILE_CREATE)
		oflags |= O_CREAT; /* truncated once locked, below */
	f->fd = open(path, oflags, 0644);
	if (f->fd < 0) {
		err = -errno;
		goto err_free;
	}
	f->rdonly = rdonly;
	/* one writer: a second daemon on the same flash is refused */
	if (!rdonly && flock(f->fd, LOCK_EX | LOCK_NB) < 0) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto err_close;
	}
	if (fstat(f->fd, &st) < 0) {
		err = -errno;
		goto err_close;
	}
	if (flags & OTA_FLASH_FILE_CREATE) {
		f->size = size;
		if (ftruncate(f->fd, 0) < 0 || ftruncate(f->fd, size) < 0) {
			err = -errno;
			goto err_close;
		}
		/* real blocks now, or the first store to a hole is a SIGBUS */
		err = -posix_fallocate(f->fd, 0, size);
		if (err)
			goto err_close;
	} else {
		if (st.st_size <= 0 || st.st_size % FILE_ERASE_SIZE ||
		    (uint64_t)st.st_size > UINT32_MAX ||
		    (size && (uint64_t)st.st_size != size)) {
			err = -EINVAL;
			goto err_close;
		}
		f->size = (uint32_t)st.st_size;
	}
	f->file_size = f->size;
	if (flags & OTA_FLASH_FILE_CREATE) {
		err = fill_ff(f, 0, size);
		if (err)
			goto err_close;
	}
	f->fail_at = UINT64_MAX;
	f->cut_at = UINT64_MAX;
	return f;

err_close:
	close(f->fd);
err_free:
	free(f);
err_out:
	if (out_err)
		*out_err = err;
	return NULL;
}

void ota_flash_file_close(struct ota_flash_file *f)
{
	if (!f)
		return;
	close(f->fd);
	free(f);
}

void ota_flash_file_fail_at(struct ota_flash_file *f, uint64_t n,
			    unsigned int mask)
{
	f->fail_at = n;
	f->fail_mask = mask;
}

void ota_flash_file_cut_at(struct ota_flash_file *f, uint64_t n,
			   unsigned int mask, bool torn)
{
	f->cut_at = n;
	f->cut_mask = mask;
	f->cut_torn = torn;
}

uint64_t ota_flash_file_op_count(const struct ota_flash_file *f,
				 unsigned int mask)
{
	return masked_count(f, mask);
}

bool ota_flash_file_is_dead(const struct ota_flash_file *f)
{
	return f->dead;
}

uint64_t ota_flash_file_current_size(const struct ota_flash_file *f)
{
	return f->file_size;
}
