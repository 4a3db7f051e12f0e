/* SPDX-License-Identifier: MIT */
/*
 * The bleota CLI's image/flash/part commands, run as a program: exit codes
 * (0 ok, 1 failure, 2 usage), the one-line error of `image verify`, and a
 * flash created by `flash create` being bootable by the engine.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "ota_engine/flash_file.h"
#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

static const char *write_image(const char *name, enum esp_corruption c,
			       char *path, size_t cap)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = "1.2.3",
				     .project = "clitest",
				     .corrupt = c };
	size_t len;
	uint8_t *img = esp_image_build(&sp, &len);
	FILE *fp = fopen(tmpdir_path(path, cap, name), "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(img, 1, len, fp), len);
	fclose(fp);
	free(img);
	return path;
}

static void test_image_commands(void **state)
{
	char out[8192], good[512], bad[512];

	(void)state;
	write_image("good.bin", ESP_CORRUPT_NONE, good, sizeof(good));
	write_image("bad.bin", ESP_CORRUPT_CHECKSUM, bad, sizeof(bad));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image verify %s", good),
			 0);
	assert_non_null(strstr(out, "valid esp32c3 app image, clitest 1.2.3"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image verify %s", bad),
			 1);
	assert_non_null(strstr(out, "image checksum mismatch (stored 0x"));
	assert_non_null(strstr(out, "the file is corrupt, rebuild it"));
	assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "image verify --chip esp32s3 %s", good),
			 1);
	assert_non_null(strstr(out, "but the device is esp32s3"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", good),
			 0);
	assert_non_null(strstr(out, "project:         clitest"));
	assert_non_null(strstr(out, "status:          valid"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "image info %s", bad), 1);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image verify"), 2);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image frob x"), 2);
	assert_int_equal(e2e_bleota(out, sizeof(out), "image --help"), 0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "nosuchcmd"), 2);
	assert_int_equal(e2e_bleota(out, sizeof(out), "--help"), 0);
}

static void test_flash_and_part(void **state)
{
	char out[8192], app[512], flash[512], csv[512], bin[512];
	struct dev d;
	FILE *fp;

	(void)state;
	write_image("app.bin", ESP_CORRUPT_NONE, app, sizeof(app));
	tmpdir_path(flash, sizeof(flash), "cli-flash.bin");
	assert_int_equal(
		e2e_bleota(
			out, sizeof(out),
			"flash create %s --size 4M --layout two-ota --app %s",
			flash, app),
		0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "flash info %s", flash),
			 0);
	assert_non_null(strstr(out, "bootloader would boot: ota_0 (clitest "
				    "1.2.3"));
	/* --chip another chip: the slot line says why nothing boots */
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "flash info --chip esp32s3 %s", flash),
			 0);
	assert_non_null(strstr(out, "clitest 1.2.3 (esp32c3, secure_version "));
	assert_non_null(strstr(out, "bytes): not for esp32s3, the bootloader "
				    "skips it\n"));
	assert_non_null(strstr(out, "bootloader would boot: nothing bootable"));
	assert_int_equal(e2e_bleota(out, sizeof(out),
				    "flash create %s --size 4M", flash),
			 2);

	/* the engine boots what the tool made */
	memset(&d, 0, sizeof(d));
	snprintf(d.path, sizeof(d.path), "%s", flash);
	d.cfg.flash = &ota_flash_file_ops;
	d.cfg.chip_id = DEV_CHIP;
	assert_int_equal(dev_power_on(&d), 0);
	dev_power_off(&d);

	tmpdir_path(csv, sizeof(csv), "t.csv");
	tmpdir_path(bin, sizeof(bin), "t.bin");
	fp = fopen(csv, "w");
	assert_non_null(fp);
	fputs("nvs, data, nvs, , 16K\notadata, data, ota, , 8K\n"
	      "ota_0, app, ota_0, , 1M\nota_1, app, ota_1, , 1M\n",
	      fp);
	fclose(fp);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "part csv2bin %s %s", csv, bin),
		0);
	assert_int_equal(e2e_bleota(out, sizeof(out), "part bin2csv %s -", bin),
			 0);
	assert_non_null(strstr(out, "ota_1,app,ota_1,0x110000,1M,"));
	fp = fopen(csv, "w");
	assert_non_null(fp);
	fputs("# c\nota_0, app, ota_0, 0x11000, 1M\n", fp);
	fclose(fp);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "part csv2bin %s %s", csv, bin),
		1);
	assert_non_null(strstr(out, "t.csv:2: offset 0x11000 is not aligned"));
	assert_int_equal(e2e_bleota(out, sizeof(out), "part bin2csv %s -", app),
			 1);
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "/cli/image", test_image_commands, NULL, NULL, NULL },
		{ "/cli/flash-part", test_flash_and_part, NULL, NULL, NULL },
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("cli", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
