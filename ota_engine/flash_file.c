/* SPDX-License-Identifier: MIT */
/*
 * File-backed NOR flash simulator.
 *
 * The file is the flash: byte i of the file is flash address i. The file is
 * mapped MAP_SHARED, so every operation lands in the file (page cache) at
 * once and a "reboot" is simply closing and reopening it; the simulator
 * keeps no state of its own besides the fault counters.
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
 * refused with -EBUSY instead of interleaving writes; every operation first
 * checks that the file still has its size, because touching a mapped page
 * past the end of a shrunken file raises SIGBUS; a created file is allocated
 * for real (posix_fallocate) so a full file system is an -ENOSPC at creation
 * and not a SIGBUS on the first write to a hole.
 */
#include "ota_engine/flash_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_ERASE_SIZE  4096u
#define FILE_WRITE_ALIGN 1u

struct ota_flash_file {
	int fd;
	uint8_t *mem;
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

/*
 * Bounds, and the file still as long as the flash: a shrunken file would
 * turn the access into a SIGBUS, so it fails with -ESTALE instead.
 */
static int check_range(struct ota_flash_file *f, uint32_t off, size_t len)
{
	struct stat st;

	if (off > f->size || len > (size_t)(f->size - off))
		return -EINVAL;
	if (fstat(f->fd, &st) < 0)
		return -errno;
	f->file_size = (uint64_t)st.st_size;
	if (f->file_size < f->size)
		return -ESTALE;
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
	memcpy(dst, f->mem + off, len);
	return 0;
}

/*
 * NOR programming in 8-byte words (memcpy keeps them alignment-safe; the
 * compiler turns each into one load or store): a pass that refuses any
 * 0 -> 1 bit, then a pass that ANDs the data in, so a refused write
 * changes nothing. Only the tail of fewer than 8 bytes goes bytewise.
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
	/* a write that would set bits fails as a whole, like a strict simflash */
	if (needs_set(f->mem + off, src, len))
		return -EIO;
	if (fault == FAULT_CUT) {
		f->dead = true;
		if (f->cut_torn) {
			size_t part = len / 2;

			part -= part % FILE_WRITE_ALIGN;
			and_into(f->mem + off, src, part);
		}
		return -EIO;
	}
	and_into(f->mem + off, src, len);
	return 0;
}

static int fill_ff(struct ota_flash_file *f, uint32_t off, size_t len)
{
	memset(f->mem + off, 0xff, len);
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
	f->mem = mmap(NULL, f->size, PROT_READ | (rdonly ? 0 : PROT_WRITE),
		      MAP_SHARED, f->fd, 0);
	if (f->mem == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	if (flags & OTA_FLASH_FILE_CREATE)
		fill_ff(f, 0, size);
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
	munmap(f->mem, f->size);
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
