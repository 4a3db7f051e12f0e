/* SPDX-License-Identifier: MIT */
/*
 * soak: SOAK_COUNT (default 100) pushes to one simulated device over the
 * loopback socket, each with a mix drawn from SOAK_SEED (printed; the same
 * seed replays the same choices): a lossy and corrupting link (the
 * daemon's --impair), the client killed mid-transfer, the device killed
 * mid-transfer (a power cut: SIGKILL), or power cut during the new image's
 * trial boot (before its confirmation). After each push the device must
 * boot a valid image, and a committed image must be the running one, VALID
 * and byte-identical to the file. Prints the counts at the end.
 *
 *   make soak [SOAK_COUNT=N] [SOAK_SEED=S]
 *
 * The real programs run as processes (tests/harness/e2e.c, $BLEOTA_BUILD);
 * kill points are progress events, not times, so only the scheduling of
 * the processes varies between two runs with one seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

enum fault {
	F_NONE,
	F_CLIENT_KILL, /* bleota killed mid-transfer, then run again */
	F_DEVICE_KILL, /* the device loses power mid-transfer */
	F_TRIAL_CUT,   /* power cut while the new image awaits confirmation */
	F_COUNT,
};

static const char *const fault_names[F_COUNT] = { "clean", "client killed",
						  "device killed",
						  "power cut in trial boot" };

struct counts {
	unsigned int pushes, impaired, attempts, forced;
	unsigned int fault[F_COUNT];
	unsigned long long bytes;
};

static uint64_t rng;

/* splitmix64, as tests/harness/link.c */
static uint64_t next(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned int pick(unsigned int n)
{
	return (unsigned int)(next() % n);
}

static char out[65536];

/*
 * Push until the device runs @im confirmed (bounded). An image a power cut
 * aborted in its trial boot is SAME_AS_FAILED: pushed again with --force.
 * A push that had already finished before its kill leaves the image
 * running: SAME_AS_RUNNING is then the end.
 */
static void push_to_the_end(struct e2e_periph *per, const struct e2e_image *im,
			    struct counts *c)
{
	const char *force = "";
	int i, rc = -1;

	for (i = 0; i < 6 && rc; i++) {
		c->attempts++;
		rc = e2e_bleota(out, sizeof(out),
				"push --confirm %s unix:%s %s", force,
				per->sock, im->path);
		if (rc == 4 && strstr(out, "identical to the running image"))
			rc = 0;
		if (rc == 4 && strstr(out, "failed on this device")) {
			force = "--force";
			c->forced++;
		}
	}
	if (rc)
		fail_msg("push of %s never completed: %s", im->path, out);
}

static void check_device(const char *flash, const struct e2e_image *im,
			 const char *version)
{
	struct e2e_flash_view v;

	e2e_view_flash(flash, im->len, &v);
	if (v.running_slot < 0 || v.running_state != 2 /* VALID */ ||
	    strcmp(v.running_version, version))
		fail_msg("the device runs slot %d, state %u, version '%s'; "
			 "expected %s VALID",
			 v.running_slot, v.running_state, v.running_version,
			 version);
	e2e_assert_slot_holds(flash, v.running_slot, im);
}

static void test_soak(void **state)
{
	const char *s = getenv("SOAK_COUNT");
	unsigned long count = s ? strtoul(s, NULL, 10) : 100;
	unsigned long seed =
		(s = getenv("SOAK_SEED")) ? strtoul(s, NULL, 0) : 20261207;
	struct counts c = { 0 };
	struct e2e_image cur, im;
	struct e2e_periph per;
	char flash[512], name[64], version[32], cur_version[32], opts[160];
	unsigned long i;

	(void)state;
	rng = seed;
	printf("soak: %lu pushes, seed %lu (replay: SOAK_SEED=%lu)\n", count,
	       seed, seed);
	e2e_image(&cur, "soak-0.bin", "soak-0", DEV_CHIP, 0, 8192,
		  ESP_CORRUPT_NONE);
	e2e_flash(flash, sizeof(flash), "soak.flash", &cur);
	snprintf(cur_version, sizeof(cur_version), "soak-0");
	for (i = 1; i <= count; i++) {
		enum fault f = (enum fault)pick(F_COUNT);
		bool impaired = pick(2);
		struct e2e_bg bg;
		unsigned long at;

		snprintf(version, sizeof(version), "soak-%lu", i);
		snprintf(name, sizeof(name), "soak-%lu.bin", i);
		e2e_image(&im, name, version, DEV_CHIP, 0,
			  4096 * (2 + pick(60)), ESP_CORRUPT_NONE);
		if (impaired)
			snprintf(opts, sizeof(opts),
				 "--impair drop=%u.%u%%,corrupt=0.%u%%,seed=%u",
				 pick(2), pick(10), pick(3), pick(1000));
		else
			opts[0] = '\0';
		printf("soak: push %lu/%lu: %zu bytes, %s%s%s\n", i, count,
		       im.len, fault_names[f], impaired ? ", " : "", opts);
		e2e_periph_start(&per, flash, "soak", opts);
		at = 4096 + pick((unsigned int)(im.len / 2));
		switch (f) {
		case F_NONE:
			break;
		case F_CLIENT_KILL:
			e2e_bg_push(&bg, per.sock, im.path, "--confirm");
			e2e_bg_wait_progress(&bg, at);
			e2e_bg_kill(&bg);
			break;
		case F_DEVICE_KILL:
			e2e_bg_push(&bg, per.sock, im.path,
				    "--confirm --retries 0");
			e2e_bg_wait_progress(&bg, at);
			e2e_periph_kill(&per);
			e2e_bg_finish(&bg, out, sizeof(out));
			e2e_periph_start(&per, flash, "soak", opts);
			break;
		case F_TRIAL_CUT:
			c.attempts++;
			assert_int_equal(e2e_bleota(out, sizeof(out),
						    "push --reboot unix:%s %s",
						    per.sock, im.path),
					 0);
			e2e_periph_kill(&per);
			e2e_periph_start(&per, flash, "soak", opts);
			/* the bootloader rolled back: the previous image */
			e2e_periph_stop(&per);
			check_device(flash, &cur, cur_version);
			e2e_periph_start(&per, flash, "soak", opts);
			break;
		case F_COUNT:
			break;
		}
		push_to_the_end(&per, &im, &c);
		e2e_periph_stop(&per);
		check_device(flash, &im, version);
		c.pushes++;
		c.impaired += impaired;
		c.fault[f]++;
		c.bytes += im.len;
		free(cur.data);
		cur = im;
		snprintf(cur_version, sizeof(cur_version), "%s", version);
	}
	free(cur.data);
	printf("soak: %u pushes (%llu bytes), %u over an impaired link, "
	       "%u bleota runs, %u forced after SAME_AS_FAILED\n",
	       c.pushes, c.bytes, c.impaired, c.attempts, c.forced);
	for (i = 0; i < F_COUNT; i++)
		printf("soak:   %-24s %u\n", fault_names[i], c.fault[i]);
	printf("soak: every push ended with the device booting the pushed "
	       "image, VALID and byte-identical; seed %lu\n",
	       seed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/soak/pushes", test_soak, NULL, NULL, NULL },
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("soak", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
