/* SPDX-License-Identifier: MIT */
/*
 * Flash vtable: the only way the OTA engine touches storage.
 *
 * Addresses are absolute flash offsets. The device is NOR-like: erase sets
 * whole erase units to 0xFF, programming can only clear bits. Implementations
 * check bounds and alignment and return -errno; they never print.
 */
#ifndef BLEOTA_OTA_ENGINE_FLASH_H
#define BLEOTA_OTA_ENGINE_FLASH_H

#include <stddef.h>
#include <stdint.h>

#define OTA_FLASH_SECTOR_SIZE 4096u

struct ota_flash_ops {
	/**
	 * Read @len bytes at @off into @dst.
	 * Returns 0, -EINVAL (out of bounds) or -EIO.
	 */
	int (*read)(void *ctx, uint32_t off, void *dst, size_t len);
	/**
	 * Program @len bytes at @off. @off and @len must be multiples of
	 * write_align. Programming may only clear bits: a write that would
	 * turn a 0 bit into 1 fails with -EIO and changes nothing.
	 * Returns 0, -EINVAL (bounds/alignment) or -EIO.
	 */
	int (*write)(void *ctx, uint32_t off, const void *src, size_t len);
	/**
	 * Erase [@off, @off + @len) to 0xFF; both multiples of erase_size.
	 * Returns 0, -EINVAL or -EIO.
	 */
	int (*erase)(void *ctx, uint32_t off, size_t len);
	/** Total size of the device in bytes. */
	uint32_t (*size)(void *ctx);
	uint32_t erase_size;  /* erase unit, e.g. 4096 */
	uint32_t write_align; /* program granularity, e.g. 1 or 4 */
};

#endif /* BLEOTA_OTA_ENGINE_FLASH_H */
