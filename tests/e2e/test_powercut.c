/* SPDX-License-Identifier: MIT */
/*
 * Exhaustive power-cut and countdown-fault tests of the OTA engine
 * (MCUboot "interrupt at every step", SQLite countdown faults).
 *
 * A scenario is a list of power sessions ("phases"); each phase opens the
 * flash, runs init + boot and then its engine calls. First the scenario runs
 * clean to count the flash mutations (writes + erases) of every phase. Then,
 * for every phase p and every mutation index i, plain and torn: restore the
 * starting flash, run the phases before p, cut power at op i of phase p,
 * reboot, and check that
 *   - the bootloader runs a valid image, and it is the old or the new one
 *     (the slot's bytes hash to one of the two images);
 *   - the scenario can then be completed (resume, retry, confirm or roll
 *     back) and ends in the expected final state.
 * Countdown: fail the Nth flash operation (reads included) of an update;
 * every run must succeed or fail cleanly, and the old image must still boot.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host/delta_diff.h"
#include "ota_engine/otadata.h"
#include "tests/harness/delta_push.h"
#include "tests/harness/device.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

#define MAX_PHASES 4

struct world {
	struct dev d;
	uint8_t *v1, *v2, *v3, *golden;
	size_t v1_len, v2_len, v3_len;
	uint8_t sha1[32], sha2[32];
	unsigned long cuts_plain, cuts_torn, countdown_runs;
	unsigned long by_resume, by_retry, by_force, by_confirm, by_none;
	bool tagged; /* v1 runs tagged "one", v2 is pushed tagged "two" */
	unsigned long tag_checks;
	uint8_t *patch; /* v1 -> v2, heatshrink */
	size_t patch_len;
	bool delta; /* complete_update() sends the patch */
};

static struct world w;

typedef int (*phase_fn)(struct world *w);

/* ---- phases: each runs after init + boot of its power session ---- */

static int ph_update(struct world *wd)
{
	return dev_update(&wd->d, wd->v2, wd->v2_len, 0);
}

/* The rest of a push after its begin (delta: the patch from where the
 * device is, in order; finish, commit). */
static int push_rest(struct world *wd)
{
	int rc;

	if (!wd->delta)
		return dev_update(&wd->d, wd->v2, wd->v2_len, 0);
	rc = dp_send(&wd->d, wd->patch, wd->patch_len, 244);
	if (!rc)
		rc = ota_engine_finish(&wd->d.eng);
	if (!rc)
		rc = ota_engine_commit(&wd->d.eng);
	return rc;
}

/* v1 -> v2 as a delta patch */
static int ph_update_delta(struct world *wd)
{
	struct ota_engine_manifest m;
	int rc;

	dp_manifest(wd->v1, wd->v1_len, wd->v2, wd->v2_len, wd->patch_len, &m);
	rc = ota_engine_begin(&wd->d.eng, &m, 0);
	return rc ? rc : push_rest(wd);
}

static int ph_confirm(struct world *wd)
{
	return ota_engine_confirm(&wd->d.eng);
}

static int ph_rollback(struct world *wd)
{
	return ota_engine_rollback(&wd->d.eng);
}

static int ph_nothing(struct world *wd)
{
	(void)wd;
	return 0;
}

struct scenario {
	const char *name;
	int (*prepare)(struct world *w); /* builds the starting flash */
	phase_fn phase[MAX_PHASES];
	unsigned int nphases;
	void (*complete)(struct world *w); /* after a cut: finish the job */
	bool tagged;
};

/* Puts the starting flash back, rewriting only the 64 KiB that differ. */
static void restore(struct world *wd)
{
	static uint8_t cur[0x10000];
	FILE *fp = fopen(wd->d.path, "r+b");
	size_t off;

	assert_non_null(fp);
	for (off = 0; off < DEV_FLASH_SIZE; off += sizeof(cur)) {
		assert_int_equal(fread(cur, 1, sizeof(cur), fp), sizeof(cur));
		if (!memcmp(cur, wd->golden + off, sizeof(cur)))
			continue;
		assert_int_equal(fseek(fp, (long)off, SEEK_SET), 0);
		assert_int_equal(fwrite(wd->golden + off, 1, sizeof(cur), fp),
				 sizeof(cur));
		assert_int_equal(fseek(fp, (long)(off + sizeof(cur)), SEEK_SET),
				 0);
	}
	fclose(fp);
}

static void open_flash(struct world *wd)
{
	int e = 0;

	if (wd->d.f)
		dev_power_off(&wd->d);
	wd->d.f = ota_flash_file_open(wd->d.path, 0, 0, &e);
	assert_non_null(wd->d.f);
	wd->d.cfg.flash_ctx = wd->d.f;
}

/* One power session; returns the first error (or 0). */
static int run_phase(struct world *wd, phase_fn fn)
{
	int rc = ota_engine_init(&wd->d.eng, &wd->d.cfg);

	if (!rc) {
		rc = ota_engine_boot(&wd->d.eng);
		if (rc > 0 || rc == OTA_ENGINE_SLOT_FACTORY)
			rc = 0;
	}
	if (!rc)
		rc = fn(wd);
	return rc;
}

/*
 * Tagged scenarios: the tag the device reports and bleota:fw_tag in NVS
 * (what firmware's nvs_get_str() reads) are those of the image that runs.
 */
static void check_tag(struct world *wd, const char *version, const char *what)
{
	const char *want = !strcmp(version, "1.0.0") ? "one" : "two";
	char run[OTA_ENGINE_TAG_MAX + 1], nvs[OTA_ENGINE_TAG_MAX + 1];
	int rc;

	if (!wd->tagged)
		return;
	rc = ota_engine_running_tag(&wd->d.eng, run);
	if (rc || strcmp(run, want))
		fail_msg("%s: runs %s, reports tag '%s' (%d), want '%s'", what,
			 version, run, rc, want);
	rc = dev_fw_tag(&wd->d, nvs, sizeof(nvs));
	if (rc || strcmp(nvs, want))
		fail_msg("%s: runs %s, bleota:fw_tag '%s' (%d), want '%s'",
			 what, version, rc ? "" : nvs, rc, want);
	wd->tag_checks++;
}

/* After a reboot: the running image must be v1 or v2, bytes included. */
static void check_boots_valid(struct world *wd, const char *what)
{
	struct ota_engine_status st;
	uint8_t sha[32];
	int slot = dev_power_on(&wd->d);

	if (slot < 0)
		fail_msg("%s: nothing boots (%d, %s)", what, slot,
			 ota_engine_last_detail(&wd->d.eng));
	assert_int_equal(ota_engine_status(&wd->d.eng, &st), 0);
	if (!strcmp(st.running_version, "1.0.0")) {
		dev_slot_sha256(&wd->d, slot, wd->v1_len, sha);
		if (memcmp(sha, wd->sha1, 32))
			fail_msg("%s: slot %d claims v1 but differs", what,
				 slot);
	} else if (!strcmp(st.running_version, "2.0.0")) {
		dev_slot_sha256(&wd->d, slot, wd->v2_len, sha);
		if (memcmp(sha, wd->sha2, 32))
			fail_msg("%s: slot %d claims v2 but differs", what,
				 slot);
	} else {
		fail_msg("%s: runs unknown '%s'", what, st.running_version);
	}
	check_tag(wd, st.running_version, what);
}

static void expect_final(struct world *wd, const char *version, uint32_t state,
			 const char *what)
{
	struct ota_engine_status st;

	assert_true(dev_power_on(&wd->d) >= 0);
	assert_int_equal(ota_engine_status(&wd->d.eng, &st), 0);
	if (strcmp(st.running_version, version) || st.running_state != state)
		fail_msg("%s: ends running %s %s, want %s %s", what,
			 st.running_version,
			 ota_otadata_state_str(st.running_state), version,
			 ota_otadata_state_str(state));
	check_tag(wd, st.running_version, what);
}

/* ---- scenario A: update v1 -> v2, reboot, confirm ---- */

static int prep_update(struct world *wd)
{
	dev_create(&wd->d, "powercut.bin", NULL, wd->v1, wd->v1_len);
	return dev_power_on(&wd->d) == 0 ? 0 : -1;
}

static void complete_update(struct world *wd)
{
	struct ota_engine_status st;
	int rc;

	/* the device is on (check_boots_valid); finish the job */
	assert_int_equal(ota_engine_status(&wd->d.eng, &st), 0);
	if (!strcmp(st.running_version, "1.0.0")) {
		struct ota_engine_manifest m;

		if (wd->delta)
			dp_manifest(wd->v1, wd->v1_len, wd->v2, wd->v2_len,
				    wd->patch_len, &m);
		else
			dev_manifest(wd->v2, wd->v2_len, &m);
		rc = ota_engine_begin(&wd->d.eng, &m, 0);
		if (rc && ota_engine_last_reason(&wd->d.eng) ==
				  OTA_ENGINE_REASON_SAME_AS_FAILED) {
			/* a cut while it ran unconfirmed looks like a crash */
			rc = ota_engine_begin(&wd->d.eng, &m, OTA_ENGINE_FORCE);
			wd->by_force++;
		} else if (!rc && ota_engine_block_is_verified(&wd->d.eng, 0)) {
			wd->by_resume++;
		} else {
			wd->by_retry++;
		}
		if (!rc)
			rc = push_rest(wd);
		if (rc)
			fail_msg("retry failed: %s (%s)",
				 ota_engine_reason_name(
					 ota_engine_last_reason(&wd->d.eng)),
				 ota_engine_last_detail(&wd->d.eng));
		/* tagged: v1 runs from ota_1, so v2 goes to ota_0 */
		assert_int_equal(dev_power_on(&wd->d), wd->tagged ? 0 : 1);
		assert_int_equal(ota_engine_status(&wd->d.eng, &st), 0);
	}
	assert_string_equal(st.running_version, "2.0.0");
	if (st.running_state == OTA_IMG_PENDING_VERIFY) {
		assert_int_equal(ota_engine_confirm(&wd->d.eng), 0);
		wd->by_confirm++;
	} else {
		wd->by_none++;
	}
	expect_final(wd, "2.0.0", OTA_IMG_VALID, "update");
}

/* ---- scenario B: v2 committed (NEW); boot it, roll back, reboot ---- */

static int prep_rollback(struct world *wd)
{
	if (prep_update(wd))
		return -1;
	return dev_update(&wd->d, wd->v2, wd->v2_len, 0);
}

static void complete_rollback(struct world *wd)
{
	struct ota_engine_status st;

	assert_int_equal(ota_engine_status(&wd->d.eng, &st), 0);
	if (!strcmp(st.running_version, "2.0.0")) {
		assert_int_equal(st.running_state, OTA_IMG_PENDING_VERIFY);
		assert_int_equal(ota_engine_rollback(&wd->d.eng), 0);
	}
	expect_final(wd, "1.0.0", OTA_IMG_VALID, "rollback");
}

/* ---- scenario C: as A, with the journal log full: compaction inside ---- */

static int prep_full_log(struct world *wd)
{
	int i;

	dev_create(&wd->d, "powercut.bin", NULL, wd->v1, wd->v1_len);
	/*
	 * eFuse already at the images' secure_version: no anti-rollback
	 * record is logged, so the record count below is exact.
	 */
	wd->d.cfg.secure_version = 1;
	if (dev_power_on(&wd->d))
		return -1;
	/* each cycle logs COMMIT + two intents (NEW->PENDING, confirm) */
	for (i = 0; i < 20; i++) {
		/* v3 in ota_1 leaves other bytes and a stale VALID entry there */
		const uint8_t *img = i % 2 ? wd->v1 : wd->v3;
		size_t len = i % 2 ? wd->v1_len : wd->v3_len;

		if (dev_update(&wd->d, img, len, 0) ||
		    dev_power_on(&wd->d) != (i + 1) % 2 ||
		    ota_engine_confirm(&wd->d.eng))
			return -1;
	}
	/* the scenario's three records fill the sector and compact it */
	return wd->d.eng.jr.log_next == 60 ? 0 : -1;
}

/*
 * ---- scenarios D, E: A and B with version tags: v1 runs from ota_1
 * tagged "one" (pushed, booted, confirmed), v2 is pushed tagged "two" ----
 */

static int prep_tagged(struct world *wd)
{
	if (prep_update(wd))
		return -1;
	wd->d.tag = "one";
	if (dev_update(&wd->d, wd->v1, wd->v1_len, OTA_ENGINE_FORCE) ||
	    dev_power_on(&wd->d) != 1 || ota_engine_confirm(&wd->d.eng))
		return -1;
	wd->d.tag = "two";
	return 0;
}

static int prep_tagged_rollback(struct world *wd)
{
	if (prep_tagged(wd))
		return -1;
	return dev_update(&wd->d, wd->v2, wd->v2_len, 0);
}

static const struct scenario scenarios[] = {
	{ "update+commit+boot+confirm",
	  prep_update,
	  { ph_update, ph_confirm, ph_nothing },
	  3,
	  complete_update },
	{ "update+commit+boot+confirm with log compaction",
	  prep_full_log,
	  { ph_update, ph_confirm, ph_nothing },
	  3,
	  complete_update },
	{ "boot+rollback+boot",
	  prep_rollback,
	  { ph_rollback, ph_nothing },
	  2,
	  complete_rollback },
	{ "tagged update+commit+boot+confirm",
	  prep_tagged,
	  { ph_update, ph_confirm, ph_nothing },
	  3,
	  complete_update,
	  true },
	{ "tagged boot+rollback+boot",
	  prep_tagged_rollback,
	  { ph_rollback, ph_nothing },
	  2,
	  complete_rollback,
	  true },
	{ "delta update+commit+boot+confirm",
	  prep_update,
	  { ph_update_delta, ph_confirm, ph_nothing },
	  3,
	  complete_update },
};

static void run_scenario(const struct scenario *sc)
{
	uint64_t ops[MAX_PHASES];
	unsigned int p, q;
	uint64_t i;
	int torn;

	w.tagged = sc->tagged;
	assert_int_equal(sc->prepare(&w), 0);
	dev_power_off(&w.d);
	free(w.golden);
	w.golden = dev_snapshot(&w.d);

	/* clean run: count the mutations of each power session */
	for (p = 0; p < sc->nphases; p++) {
		open_flash(&w);
		if (run_phase(&w, sc->phase[p]))
			fail_msg("%s: clean phase %u: %s", sc->name, p,
				 ota_engine_last_detail(&w.d.eng));
		ops[p] = ota_flash_file_op_count(w.d.f, OTA_FLASH_OP_MUTATE);
	}
	sc->complete(&w);

	for (p = 0; p < sc->nphases; p++) {
		for (i = 0; i < ops[p]; i++) {
			for (torn = 0; torn < 2; torn++) {
				char what[128];

				snprintf(what, sizeof(what),
					 "%s phase %u op %llu %s", sc->name, p,
					 (unsigned long long)i,
					 torn ? "torn" : "plain");
				restore(&w);
				for (q = 0; q < p; q++) {
					open_flash(&w);
					if (run_phase(&w, sc->phase[q]))
						fail_msg("%s: phase %u failed",
							 what, q);
				}
				open_flash(&w);
				ota_flash_file_cut_at(
					w.d.f, i, OTA_FLASH_OP_MUTATE, torn);
				run_phase(&w, sc->phase[p]);
				if (!ota_flash_file_is_dead(w.d.f))
					fail_msg("%s: the cut never happened",
						 what);
				check_boots_valid(&w, what);
				sc->complete(&w);
				if (torn)
					w.cuts_torn++;
				else
					w.cuts_plain++;
			}
		}
	}
	dev_power_off(&w.d);
}

static void test_powercut_update(void **state)
{
	(void)state;
	run_scenario(&scenarios[0]);
}

static void test_powercut_compaction(void **state)
{
	(void)state;
	run_scenario(&scenarios[1]);
}

static void test_powercut_rollback(void **state)
{
	(void)state;
	run_scenario(&scenarios[2]);
}

static void test_powercut_tag_update(void **state)
{
	(void)state;
	run_scenario(&scenarios[3]);
}

static void test_powercut_tag_rollback(void **state)
{
	(void)state;
	run_scenario(&scenarios[4]);
}

static void use_images(uint8_t mmu_page_log2);

/*
 * A delta update cut at every flash operation (output erases and
 * programs, checkpoint records, checkpoint-sector switches, the restart's
 * anchor copies), plain and torn: every cut boots v1 or v2 and the update
 * then completes, resuming from the journal's checkpoints.
 */
static void test_powercut_delta(void **state)
{
	struct delta_diff_opts o = { .heatshrink = true, .w = 10, .l = 7 };
	unsigned long resumed = w.by_resume;

	(void)state;
	/*
	 * Smaller images keep the ~700 cuts quick; a 2^10 window makes each
	 * checkpoint 1136 bytes, three to a sector, so the log switches
	 * sectors (erase, header, carried anchor) twice in the update.
	 */
	use_images(14);
	free(w.patch);
	w.patch = delta_diff(w.v1, w.v1_len, w.v2, w.v2_len, &o, &w.patch_len);
	assert_non_null(w.patch);
	assert_true(w.patch_len > 5 * 4096);
	w.delta = true;
	run_scenario(&scenarios[5]);
	w.delta = false;
	use_images(0);
	/* most cuts resume from a checkpoint, not from the start */
	assert_true(w.by_resume - resumed > w.cuts_plain / 4);
}

static void test_countdown_update(void **state)
{
	unsigned long ok_runs = 0, failed_runs = 0;
	uint64_t n;

	(void)state;
	/* smaller images (16 KiB MMU pages) keep the ~1000 runs quick */
	use_images(14);
	assert_int_equal(prep_update(&w), 0);
	dev_power_off(&w.d);
	free(w.golden);
	w.golden = dev_snapshot(&w.d);
	for (n = 0;; n++) {
		struct ota_engine_status st;
		bool hit;
		int rc;

		restore(&w);
		open_flash(&w);
		ota_flash_file_fail_at(w.d.f, n, OTA_FLASH_OP_ALL);
		rc = run_phase(&w, ph_update);
		hit = ota_flash_file_op_count(w.d.f, OTA_FLASH_OP_ALL) > n;
		w.countdown_runs++;
		if (!hit) {
			assert_int_equal(rc, 0);
			break;
		}
		/* success despite the fault (e.g. a read retried) or -errno */
		if (rc) {
			failed_runs++;
			if (rc != -EIO && rc != -ENODEV && rc != -ENOEXEC &&
			    rc != -EILSEQ)
				fail_msg("fail at %llu: unexpected %d",
					 (unsigned long long)n, rc);
		} else {
			ok_runs++;
			if (getenv("BLEOTA_DEBUG"))
				printf("countdown: op %llu failed, run ok\n",
				       (unsigned long long)n);
		}
		check_boots_valid(&w, "countdown");
		assert_int_equal(ota_engine_status(&w.d.eng, &st), 0);
		if (rc)
			assert_string_equal(st.running_version, "1.0.0");
		/* and the update still goes through afterwards (sampled) */
		if (n % 16 == 0 && !strcmp(st.running_version, "1.0.0")) {
			rc = dev_update(&w.d, w.v2, w.v2_len, 0);
			if (rc)
				fail_msg("fail at %llu: retry: %s",
					 (unsigned long long)n,
					 ota_engine_last_detail(&w.d.eng));
			assert_int_equal(dev_power_on(&w.d), 1);
		}
	}
	printf("countdown: %llu runs over every flash op of an update of a "
	       "%zu-byte image (%lu failed cleanly, %lu succeeded despite the "
	       "fault, 1 without fault)\n",
	       (unsigned long long)w.countdown_runs, w.v2_len, failed_runs,
	       ok_runs);
	dev_power_off(&w.d);
	assert_true(failed_runs > 0);
}

static void use_images(uint8_t mmu_page_log2)
{
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .project = "demo",
				     .secure_version = 1,
				     .mmu_page_log2 = mmu_page_log2 };

	free(w.v1);
	free(w.v2);
	free(w.v3);
	sp.version = "3.0.0";
	sp.seed = 3;
	w.v3 = esp_image_build(&sp, &w.v3_len);
	sp.version = "1.0.0";
	sp.seed = 1;
	w.v1 = esp_image_build(&sp, &w.v1_len);
	sp.version = "2.0.0";
	sp.seed = 2;
	w.v2 = esp_image_build(&sp, &w.v2_len);
	dev_sha256(w.v1, w.v1_len, w.sha1);
	dev_sha256(w.v2, w.v2_len, w.sha2);
	free(w.patch);
	w.patch = dp_patch(w.v1, w.v1_len, w.v2, w.v2_len, true, &w.patch_len);
}

static int group_setup(void **state)
{
	(void)state;
	use_images(0); /* 64 KiB MMU pages: a 73 KiB image, 19 blocks */
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	printf("power cut: %lu cut points covered (%lu plain + %lu torn)\n",
	       w.cuts_plain + w.cuts_torn, w.cuts_plain, w.cuts_torn);
	printf("power cut: %lu tag checks (reported and bleota:fw_tag)\n",
	       w.tag_checks);
	printf("power cut: update completed by resume %lu, fresh retry %lu, "
	       "forced retry %lu; then confirm %lu, already valid %lu\n",
	       w.by_resume, w.by_retry, w.by_force, w.by_confirm, w.by_none);
	free(w.v1);
	free(w.v2);
	free(w.v3);
	free(w.patch);
	free(w.golden);
	tmpdir_cleanup();
	return 0;
}

int main(int argc, char **argv)
{
	static const struct CMUnitTest tests[] = {
		{ "/powercut/update-commit-boot-confirm", test_powercut_update,
		  NULL, NULL, NULL },
		{ "/powercut/update-with-log-compaction",
		  test_powercut_compaction, NULL, NULL, NULL },
		{ "/powercut/boot-rollback-boot", test_powercut_rollback, NULL,
		  NULL, NULL },
		{ "/powercut/delta-update-commit-boot-confirm",
		  test_powercut_delta, NULL, NULL, NULL },
		{ "/countdown/update", test_countdown_update, NULL, NULL,
		  NULL },
		{ "/powercut/tag/update-commit-boot-confirm",
		  test_powercut_tag_update, NULL, NULL, NULL },
		{ "/powercut/tag/boot-rollback-boot",
		  test_powercut_tag_rollback, NULL, NULL, NULL },
	};

	/* -t PATTERN runs a subset, e.g. -t '/countdown/update' */
	if (argc == 3 && !strcmp(argv[1], "-t"))
		cmocka_set_test_filter(argv[2]);
	return cmocka_run_group_tests_name("powercut", tests, group_setup,
					   group_teardown);
}
