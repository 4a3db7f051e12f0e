/* SPDX-License-Identifier: MIT */
/*
 * File-backed NOR flash simulator with fault injection.
 *
 * Linux only (POSIX I/O). The engine sees it through ota_flash_file_ops and
 * an opaque struct ota_flash_file * as the ops' ctx.
 */
#ifndef BLEOTA_OTA_ENGINE_FLASH_FILE_H
#define BLEOTA_OTA_ENGINE_FLASH_FILE_H

#include <stdbool.h>
#include <stdint.h>

#include "ota_engine/flash.h"

struct ota_flash_file;

/* Flags for ota_flash_file_open() */
#define OTA_FLASH_FILE_CREATE 0x1u /* create or truncate, fill with 0xFF */
#define OTA_FLASH_FILE_RDONLY 0x2u /* read only, no lock; writes -EROFS */

/* Operation kinds, as a mask, for counting and fault injection */
#define OTA_FLASH_OP_READ   0x1u
#define OTA_FLASH_OP_WRITE  0x2u
#define OTA_FLASH_OP_ERASE  0x4u
#define OTA_FLASH_OP_MUTATE (OTA_FLASH_OP_WRITE | OTA_FLASH_OP_ERASE)
#define OTA_FLASH_OP_ALL    (OTA_FLASH_OP_READ | OTA_FLASH_OP_MUTATE)

/** Ops for a struct ota_flash_file ctx: erase_size 4096, write_align 1. */
extern const struct ota_flash_ops ota_flash_file_ops;

/**
 * Open (or with OTA_FLASH_FILE_CREATE create, erased) a flash image file.
 * @size: device size in bytes, a multiple of 4096; 0 takes the file's size
 *        (only without CREATE).
 * Returns the handle or NULL with *@out_err set (-ENOENT, -EINVAL for a size
 * that is not a multiple of 4096 or does not match the file, -EBUSY when
 * another read-write handle (any process) holds the file, -ENOSPC when the
 * file system cannot hold a created file, -EIO, -ENOMEM). A read-write
 * handle holds an exclusive flock() on the file until closed; a RDONLY one
 * takes no lock and works on a read-only file.
 * Reopening the same file is how tests "reboot": counters and faults reset.
 *
 * Every op first checks the file's size: if the file was shrunk under the
 * handle the op fails with -ESTALE and touches nothing, and
 * ota_flash_file_current_size() tells the size found. A shrink during the
 * op is -ESTALE too, never a SIGBUS (no mmap; flash_file.c says what a
 * write racing a truncation can still do).
 */
struct ota_flash_file *ota_flash_file_open(const char *path, uint32_t size,
					   unsigned int flags, int *out_err);

/** Close and free; NULL is ignored. */
void ota_flash_file_close(struct ota_flash_file *f);

/**
 * Make the operation with 0-based index @n among the ops in @mask (counted
 * since open) fail with -EIO without touching the flash. Later ops succeed.
 * @n = UINT64_MAX disarms.
 */
void ota_flash_file_fail_at(struct ota_flash_file *f, uint64_t n,
			    unsigned int mask);

/**
 * Cut power at op @n among the ops in @mask (0-based, since open). Without
 * @torn the op does nothing; with @torn a write programs the first half of
 * its bytes (rounded down to write_align) and an erase erases the first
 * half of its range, leaving the rest as it was. The op and every later op
 * of any kind return -EIO until the file is reopened.
 */
void ota_flash_file_cut_at(struct ota_flash_file *f, uint64_t n,
			   unsigned int mask, bool torn);

/** Number of ops of the kinds in @mask performed (or attempted) since open. */
uint64_t ota_flash_file_op_count(const struct ota_flash_file *f,
				 unsigned int mask);

/** True once a power cut has happened (until reopen). */
bool ota_flash_file_is_dead(const struct ota_flash_file *f);

/** The file's size in bytes at the last op's check (see -ESTALE). */
uint64_t ota_flash_file_current_size(const struct ota_flash_file *f);

#endif /* BLEOTA_OTA_ENGINE_FLASH_FILE_H */
