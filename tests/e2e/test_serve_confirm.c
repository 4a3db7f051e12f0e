/* SPDX-License-Identifier: MIT */
/*
 * bleota serve and a push that only confirms. Found running the gateway
 * over BlueZ (tests/hci/serve.sh): a push timed out while the device
 * rebooted into the new image; the gateway retried, and the new `bleota
 * push --confirm` found that image already running, waiting for its
 * confirmation, and only confirmed it. That push prints no "booted" event,
 * and its "confirmed" event names the version but no state, so the gateway
 * reported `"updated", "running": "", "state": ""` ("now runs  ()") and
 * forgot the version the device runs.
 *
 * The device is stood in for by a script (BLEOTA_SERVE_EXE, as in
 * test_serve.c) that answers `info` with 1.0.0 and `push` with exactly
 * what push.c prints in that case. Nothing is timed.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <glib.h>

#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

#define DEV "AA:BB:CC:DD:EE:01"

static const char stand_in[] =
	"#!/bin/sh\n"
	"case \"$1\" in\n"
	"info) echo '{\"event\":\"info\",\"chip\":\"esp32c3\",\"chip_id\":5,"
	"\"version\":\"1.0.0\",\"project\":\"e2e\",\"slot_size\":1048576,"
	"\"running_slot\":0,\"message\":\"info\"}' ;;\n"
	"push) echo '{\"event\":\"confirmed\",\"slot\":1,\"version\":\"2.0.0\","
	"\"message\":\"the device already ran e2e 2.0.0 (ota_1) from an "
	"earlier push, waiting for confirmation: confirmed, it is VALID\"}' "
	";;\n"
	"*) echo \"stand-in: unexpected $*\" >&2; exit 1 ;;\n"
	"esac\n";

static void test_push_that_only_confirms(void **state)
{
	char script[600], cfg[600], sdir[600], doc[1200];
	static char out[65536];
	struct e2e_image v2;

	(void)state;
	e2e_image(&v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 60000, ESP_CORRUPT_NONE);
	tmpdir_path(script, sizeof(script), "stand-in.sh");
	assert_true(g_file_set_contents(script, stand_in, -1, NULL));
	assert_int_equal(chmod(script, 0755), 0);
	tmpdir_path(cfg, sizeof(cfg), "desired.json");
	snprintf(doc, sizeof(doc),
		 "{\"devices\": [{\"match\": \"" DEV "\", \"file\": \"%s\", "
		 "\"version\": \"2.0.0\"}]}",
		 v2.path);
	assert_true(g_file_set_contents(cfg, doc, -1, NULL));
	tmpdir_path(sdir, sizeof(sdir), "state");
	assert_int_equal(e2e_sh(out, sizeof(out),
				"BLEOTA_SERVE_EXE=%s timeout 60 %s serve "
				"--once --json --listen none --config %s "
				"--state-dir %s",
				script, e2e_bin_bleota, cfg, sdir),
			 0);
	assert_non_null(strstr(out, "{\"event\":\"updated\",\"device\":\"" DEV
				    "\",\"version\":\"2.0.0\",\"running\":"
				    "\"2.0.0\",\"state\":\"VALID\""));
	assert_non_null(strstr(out, "{\"event\":\"device\",\"device\":\"" DEV
				    "\",\"state\":\"in_sync\",\"running\":"
				    "\"2.0.0\""));
	free(v2.data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/serve/push-that-only-confirms",
		  test_push_that_only_confirms, NULL, NULL, NULL },
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("serve-confirm", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
