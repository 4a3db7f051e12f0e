/* SPDX-License-Identifier: MIT */
/*
 * The engine as device firmware drives it (docs/porting.md): its own
 * bootloader chooses and verifies the image, so the firmware starts with
 * ota_engine_open() + ota_engine_set_running() and never calls the
 * simulated bootloader (boot_sim.c). Here the simulated bootloader plays
 * the device's bootloader between "reboots"; every application-side call
 * goes through the port API, and the results must be those the host
 * simulation gives (tests/unit/test_engine.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ota_engine/flash_file.h"
#include "ota_engine/otadata.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

struct fx {
	struct dev d;
	uint8_t *v1, *v2;
	size_t v1_len, v2_len;
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	fx->v1 = dev_image("1.0.0", 3, 11, &fx->v1_len);
	fx->v2 = dev_image("2.0.0", 3, 22, &fx->v2_len);
	dev_create(&fx->d, "port.bin", NULL, fx->v1, fx->v1_len);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	if (fx->d.f)
		dev_power_off(&fx->d);
	free(fx->v1);
	free(fx->v2);
	free(fx);
	return 0;
}

/* Firmware power-on: open the flash, ota_engine_open(). */
static int port_open(struct dev *d)
{
	int e = 0;

	if (d->f)
		dev_power_off(d);
	d->f = ota_flash_file_open(d->path, 0, 0, &e);
	assert_non_null(d->f);
	d->cfg.flash_ctx = d->f;
	return ota_engine_open(&d->eng, &d->cfg);
}

/* ... and the slot its bootloader started. */
static int port_power_on(struct dev *d, int slot)
{
	int rc = port_open(d);

	if (rc)
		return rc;
	return ota_engine_set_running(&d->eng, slot);
}

/* The device's bootloader (the simulation stands in for it). */
static int bootloader(struct dev *d)
{
	int rc = dev_power_on(d);

	dev_power_off(d);
	return rc;
}

static void test_open_knows_no_slot(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_status st;

	assert_int_equal(bootloader(&fx->d), 0);
	assert_int_equal(port_open(&fx->d), 0);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.running_slot, OTA_ENGINE_SLOT_NONE);
	assert_string_equal(st.running_version, "");
	/* nothing to confirm until the firmware says what runs */
	assert_int_equal(ota_engine_confirm(&fx->d.eng), -EALREADY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NOTHING_PENDING);
	assert_int_equal(ota_engine_set_running(&fx->d.eng, 0), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
}

static void test_update_confirm(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_info info;

	assert_int_equal(bootloader(&fx->d), 0);
	assert_int_equal(port_power_on(&fx->d, 0), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
	assert_int_equal(ota_engine_info(&fx->d.eng, &info), 0);
	assert_string_equal(info.version, "1.0.0");
	assert_string_equal(info.project, "demo");
	assert_int_equal(info.secure_version, 3);
	assert_int_equal(info.slot_size, 0x100000);

	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(bootloader(&fx->d), 1);
	assert_int_equal(port_power_on(&fx->d, 1), 0);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_PENDING_VERIFY);
	assert_int_equal(ota_engine_confirm(&fx->d.eng), 0);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_VALID);
	assert_int_equal(bootloader(&fx->d), 1);
	assert_int_equal(port_power_on(&fx->d, 1), 0);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_VALID);
}

static void test_rollback(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_manifest m;

	assert_int_equal(bootloader(&fx->d), 0);
	assert_int_equal(port_power_on(&fx->d, 0), 0);
	assert_int_equal(dev_update(&fx->d, fx->v2, fx->v2_len, 0), 0);
	assert_int_equal(bootloader(&fx->d), 1);
	assert_int_equal(port_power_on(&fx->d, 1), 0);
	assert_int_equal(ota_engine_rollback(&fx->d.eng), 0);
	dev_expect_running(&fx->d, 1, "2.0.0", OTA_IMG_INVALID);
	assert_int_equal(bootloader(&fx->d), 0);
	assert_int_equal(port_power_on(&fx->d, 0), 0);
	dev_expect_running(&fx->d, 0, "1.0.0", OTA_IMG_VALID);
	/* the running image's desc feeds pre-flight: the failed one stays
	 * refused, the running one is SAME_AS_RUNNING */
	dev_manifest(fx->v2, fx->v2_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -EPERM);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_SAME_AS_FAILED);
	dev_manifest(fx->v1, fx->v1_len, &m);
	assert_int_equal(ota_engine_begin(&fx->d.eng, &m, 0), -EALREADY);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_SAME_AS_RUNNING);
}

static void test_set_running_refusals(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_status st;

	assert_int_equal(bootloader(&fx->d), 0);
	assert_int_equal(port_open(&fx->d), 0);
	/* not a partition of the table */
	assert_int_equal(ota_engine_set_running(&fx->d.eng, 2), -EINVAL);
	assert_int_equal(
		ota_engine_set_running(&fx->d.eng, OTA_ENGINE_SLOT_NONE),
		-EINVAL);
	/* no factory partition in this layout */
	assert_int_equal(
		ota_engine_set_running(&fx->d.eng, OTA_ENGINE_SLOT_FACTORY),
		-EINVAL);
	/* ota_1 is erased: no app there */
	assert_int_equal(ota_engine_set_running(&fx->d.eng, 1), -ENOENT);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_BOOTABLE);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.running_slot, OTA_ENGINE_SLOT_NONE);
	assert_string_equal(st.running_version, "");
}

static void test_set_running_no_table(void **state)
{
	struct fx *fx = *state;
	uint8_t ff[32];

	assert_int_equal(port_open(&fx->d), 0);
	memset(ff, 0, sizeof(ff));
	/* programming zeros over the table's first entry breaks it */
	assert_int_equal(
		fx->d.cfg.flash->write(fx->d.f, 0x8000, ff, sizeof(ff)), 0);
	assert_int_equal(port_open(&fx->d), -ENODEV);
	assert_int_equal(ota_engine_set_running(&fx->d.eng, 0), -ENODEV);
	assert_int_equal(ota_engine_last_reason(&fx->d.eng),
			 OTA_ENGINE_REASON_NO_SLOT);
}

/* The slot's otadata entry as the device's bootloader left it. */
static void put_entry(struct fx *fx, uint32_t state)
{
	struct ota_otadata_entry e;
	uint8_t raw[OTA_OTADATA_ENTRY_LEN];
	uint32_t off = fx->d.eng.layout.otadata_off;

	ota_otadata_make(&e, 1, state);
	ota_otadata_encode(&e, raw);
	assert_int_equal(
		fx->d.cfg.flash->erase(fx->d.f, off, OTA_FLASH_SECTOR_SIZE), 0);
	assert_int_equal(fx->d.cfg.flash->write(fx->d.f, off, raw, sizeof(raw)),
			 0);
}

static void test_efuse_on_valid(void **state)
{
	struct fx *fx = *state;
	struct ota_engine_status st;

	/* a trial boot (PENDING_VERIFY) burns nothing */
	assert_int_equal(port_open(&fx->d), 0);
	put_entry(fx, OTA_IMG_PENDING_VERIFY);
	assert_int_equal(port_power_on(&fx->d, 0), 0);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.efuse_secure_version, 0);
	/* booting a VALID entry raises the counter to the image's, durably */
	put_entry(fx, OTA_IMG_VALID);
	assert_int_equal(port_power_on(&fx->d, 0), 0);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.efuse_secure_version, 3);
	assert_int_equal(port_open(&fx->d), 0);
	assert_int_equal(ota_engine_status(&fx->d.eng, &st), 0);
	assert_int_equal(st.efuse_secure_version, 3);
}

int main(void)
{
#define T(name, fn)                             \
	{                                       \
		name, fn, setup, teardown, NULL \
	}
	static const struct CMUnitTest tests[] = {
		T("/engine/port/open-knows-no-slot", test_open_knows_no_slot),
		T("/engine/port/update-confirm", test_update_confirm),
		T("/engine/port/rollback", test_rollback),
		T("/engine/port/set-running-refusals",
		  test_set_running_refusals),
		T("/engine/port/set-running-no-table",
		  test_set_running_no_table),
		T("/engine/port/efuse-on-valid", test_efuse_on_valid),
	};
	int rc = cmocka_run_group_tests_name("engine_port", tests, NULL, NULL);

	tmpdir_cleanup();
	return rc;
}
