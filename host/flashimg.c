/* SPDX-License-Identifier: MIT */
/*
 * Simulated device flash creation, shared by `bleota flash create` and
 * `bleota-peripheral --create-layout`: a NOR flash file with the partition
 * table at 0x8000 (from a CSV file or a built-in layout), erased otadata,
 * and optionally an app image in the factory (or ota_0) slot. Messages go
 * to stdout (what was made) and stderr (why not).
 *
 * The flash is built under a temporary name next to PATH and renamed over
 * PATH only when complete: a full file system (-ENOSPC from the simulator's
 * allocation) or a failed write leaves no partial file and leaves an
 * existing PATH as it was. An existing PATH is locked (flock, exclusive, as
 * the flash simulator locks it) until the rename: a bleota-peripheral
 * running on it makes the command fail instead of leaving that daemon on a
 * file no longer at PATH.
 */
#include "host/flashimg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "host/fileutil.h"
#include "host/hlog.h"
#include "host/partcsv.h"
#include "ota_engine/flash_file.h"
#include "ota_engine/image.h"
#include "ota_engine/parttable.h"

static int load_table(const char *csv_path, const char *layout,
		      uint32_t flash_size, struct ota_partcsv *t)
{
	char err[256], *text;
	size_t len;
	int rc;

	if (layout) {
		if (strcmp(layout, "two-ota")) {
			fprintf(stderr,
				"bleota: unknown layout '%s': only two-ota is "
				"built in\n",
				layout);
			return -1;
		}
		text = strdup(ota_partcsv_two_ota);
	} else {
		unsigned char *raw = fileutil_read(csv_path, 1 << 20, &len);

		if (!raw)
			return -1;
		text = realloc(raw, len + 1);
		if (!text) {
			free(raw);
			return -1;
		}
		text[len] = '\0';
	}
	rc = ota_partcsv_parse(text, OTA_PARTTABLE_OFFSET, flash_size, t, err,
			       sizeof(err));
	free(text);
	if (rc) {
		fprintf(stderr, "bleota: %s: %s: fix the partition table\n",
			layout ? layout : csv_path, err);
		return -1;
	}
	return 0;
}

/*
 * Lock an existing @path as a daemon running on it holds it. Return an fd
 * to keep until the new file is renamed over @path, -1 when @path does not
 * exist or cannot be opened (the rename then decides), or -EBUSY (message
 * printed) when another program holds the lock.
 */
static int lock_existing(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		close(fd);
		fprintf(stderr,
			"bleota: %s: another program (a bleota-peripheral?) "
			"has the flash open: stop it before recreating the "
			"flash; nothing was changed\n",
			path);
		return -EBUSY;
	}
	return fd;
}

int flashimg_create(const char *path, unsigned long size, const char *csv,
		    const char *layout, const char *app)
{
	static struct ota_partcsv t;
	static struct ota_image_verify v;
	struct ota_image_cfg icfg = { .chip_id = OTA_CHIP_ANY };
	uint8_t bin[OTA_PARTTABLE_MAX_LEN];
	struct ota_flash_file *f;
	struct ota_layout l;
	unsigned char *img = NULL;
	size_t img_len = 0;
	uint32_t app_off = 0, app_size = 0;
	const char *app_slot = NULL;
	char text[200], tmp[4096];
	int err = 0, rc = -EINVAL, old_fd = -1;

	if (size < 0x10000 || size % 0x1000 || size > 0x10000000) {
		fprintf(stderr,
			"bleota: --size %lu: use a multiple of 4K between 64K "
			"and 256M\n",
			size);
		return -ERANGE;
	}
	if (load_table(csv, layout, (uint32_t)size, &t) ||
	    ota_partcsv_to_bin(&t, true, bin) ||
	    ota_parttable_parse(bin, sizeof(bin), (uint32_t)size, &l, NULL)) {
		if (!layout && !csv)
			fprintf(stderr, "bleota: the table is not usable\n");
		return -EINVAL;
	}
	if (app) {
		img = fileutil_read(app, 16u << 20, &img_len);
		if (!img)
			return -EINVAL;
		ota_image_verify_init(&v, &icfg);
		if (ota_image_verify_update(&v, img, img_len) ||
		    ota_image_verify_final(&v)) {
			fprintf(stderr, "bleota: %s: %s: rebuild the app\n",
				app,
				ota_image_describe(&v, text, sizeof(text)));
			goto out;
		}
		if (l.has_factory) {
			app_off = l.factory_off;
			app_size = l.factory_size;
			app_slot = "factory";
		} else if (l.ota_count) {
			app_off = l.ota_off[0];
			app_size = l.ota_size[0];
			app_slot = "ota_0";
		} else {
			fprintf(stderr,
				"bleota: the table has no app partition for "
				"%s\n",
				app);
			goto out;
		}
		if (img_len > app_size) {
			fprintf(stderr,
				"bleota: %s: %zu bytes do not fit %s (%u "
				"bytes)\n",
				app, img_len, app_slot, app_size);
			goto out;
		}
	}
	old_fd = lock_existing(path);
	if (old_fd == -EBUSY)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		fprintf(stderr, "bleota: %s: path too long\n", path);
		goto out;
	}
	f = ota_flash_file_open(tmp, (uint32_t)size, OTA_FLASH_FILE_CREATE,
				&err);
	if (!f) {
		unlink(tmp);
		fprintf(stderr,
			"bleota: %s: cannot create a %lu-byte flash: %s%s\n",
			path, size, strerror(-err),
			err == -ENOSPC ? ": free space or choose a smaller "
					 "--size; nothing was written"
				       : "");
		goto out;
	}
	err = ota_flash_file_ops.write(f, OTA_PARTTABLE_OFFSET, bin,
				       sizeof(bin));
	if (!err && img)
		err = ota_flash_file_ops.write(f, app_off, img, img_len);
	ota_flash_file_close(f);
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err) {
		unlink(tmp);
		fprintf(stderr, "bleota: %s: write failed: %s\n", path,
			strerror(-err));
		goto out;
	}
	printf("%s: %lu bytes, %u partitions", path, size, t.count);
	if (img) {
		printf(", %s",
		       hlog_escape(text, sizeof(text), v.info.desc.project));
		printf(" %s in %s",
		       hlog_escape(text, sizeof(text), v.info.desc.version),
		       app_slot);
	}
	printf("\n");
	rc = 0;
out:
	if (old_fd >= 0)
		close(old_fd);
	free(img);
	return rc;
}

bool flashimg_is_app_image(const char *path)
{
	FILE *fp = fopen(path, "rb");
	int c;

	if (!fp)
		return false;
	c = fgetc(fp);
	fclose(fp);
	return c == OTA_IMAGE_MAGIC;
}

char *flashimg_explain_table(const uint8_t *bin, uint32_t flash_size, char *why,
			     size_t cap)
{
	enum ota_parttable_err e = OTA_PARTTABLE_OK;
	struct ota_layout l;

	ota_parttable_parse(bin, OTA_PARTTABLE_MAX_LEN, flash_size, &l, &e);
	if (e == OTA_PARTTABLE_ERR_RANGE &&
	    !ota_parttable_parse(bin, OTA_PARTTABLE_MAX_LEN, UINT32_MAX, &l,
				 NULL))
		snprintf(why, cap,
			 "the partition table at 0x8000 is intact but its "
			 "partitions reach past the end of the %u-byte file: "
			 "the file was truncated; restore it from a backup "
			 "(recreating it would erase the device)",
			 flash_size);
	else
		snprintf(why, cap,
			 "no valid partition table at 0x8000 (%s): not a "
			 "device flash, or its table is damaged; create one "
			 "with 'bleota flash create' if the file holds "
			 "nothing to keep",
			 ota_parttable_strerror(e));
	return why;
}
