/* SPDX-License-Identifier: MIT */
/*
 * make bench, the gateway: time for `bleota serve --once` to bring 8
 * loopback devices from v1 to v2 at a BLE-like link rate
 * (bleota-peripheral --impair rate=150K), with --jobs 1, 2, 4 and 8.
 *
 * Each round starts from fresh device flashes holding v1 (made by
 * `bleota flash create`), fresh peripherals and an empty state directory;
 * the time is from starting the gateway to its exit (every device checked,
 * pushed, rebooted, confirmed, and the gateway's own start-up included).
 * The image comes from tests/tools/mkimage. Wall-clock figures for the
 * reader; nothing is asserted beyond "every device reached v2".
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/harness/bgproc.h"

#define NDEV 8

static char build[256], dir[512];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int __attribute__((format(printf, 1, 2))) run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* One round: 8 fresh devices at v1, serve --once --jobs @jobs. */
static int round_trip(unsigned int jobs, double *secs, long *img_len)
{
	struct bgproc per[NDEV], gw;
	char path[700], sock[NDEV][700], cfg[700], state[700], log[700],
		line[4096];
	FILE *fp;
	struct stat st;
	int i, rc, w;

	snprintf(cfg, sizeof(cfg), "%s/desired.json", dir);
	snprintf(state, sizeof(state), "%s/state-%u", dir, jobs);
	snprintf(log, sizeof(log), "%s/serve-%u.log", dir, jobs);
	fp = fopen(cfg, "w");
	if (!fp)
		return -1;
	fprintf(fp, "{\"devices\": [\n");
	for (i = 0; i < NDEV; i++) {
		snprintf(path, sizeof(path), "%s/d%d.flash", dir, i);
		snprintf(sock[i], sizeof(sock[i]), "%s/d%d.sock", dir, i);
		unlink(path);
		unlink(sock[i]);
		if (run("%s/bleota flash create %s --size 4M --layout two-ota "
			"--app %s/v1.bin >/dev/null",
			build, path, dir))
			return -1;
		snprintf(line, sizeof(line), "%s/d%d.log", dir, i);
		bgproc_start(&per[i], line,
			     "exec %s/bleota-peripheral --flash %s --listen "
			     "unix:%s --impair rate=150K",
			     build, path, sock[i]);
		fprintf(fp,
			"  {\"match\": \"unix:%s\", \"file\": \"v2.bin\", "
			"\"version\": \"2.0.0\"}%s\n",
			sock[i], i + 1 < NDEV ? "," : "");
	}
	fprintf(fp, "]}\n");
	fclose(fp);
	for (i = 0; i < NDEV; i++)
		for (w = 0; stat(sock[i], &st) < 0 && w < 2000; w++)
			usleep(10000);
	run("rm -rf %s", state);
	*secs = now_s();
	bgproc_start(&gw, log,
		     "exec %s/bleota serve --once --json --listen none "
		     "--jobs %u --config %s --state-dir %s",
		     build, jobs, cfg, state);
	while (bgproc_line(&gw, line, sizeof(line), 600000))
		;
	rc = bgproc_wait(&gw, 600000);
	*secs = now_s() - *secs;
	for (i = 0; i < NDEV; i++)
		bgproc_stop(&per[i], SIGTERM);
	snprintf(path, sizeof(path), "%s/v2.bin", dir);
	if (stat(path, &st) == 0)
		*img_len = (long)st.st_size;
	return rc;
}

int main(void)
{
	static const unsigned int jobs[] = { 1, 2, 4, 8 };
	const char *b = getenv("BLEOTA_BUILD");
	double secs[4];
	long len = 0;
	size_t i;

	snprintf(build, sizeof(build), "%s", b && *b ? b : "build");
	snprintf(dir, sizeof(dir), "%s/bench-serve", build);
	if (run("rm -rf %s && mkdir -p %s", dir, dir) ||
	    run("%s/tests/tools/mkimage --project blinky --version 1.0.0 "
		"--segments drom:60000,irom:100000,dram:4096 %s/v1.bin "
		">/dev/null",
		build, dir) ||
	    run("%s/tests/tools/mkimage --project blinky --version 2.0.0 "
		"--segments drom:60000,irom:240000,dram:4096 %s/v2.bin "
		">/dev/null",
		build, dir)) {
		fprintf(stderr, "bench_serve: cannot make the images (build "
				"first: make all)\n");
		return 1;
	}
	for (i = 0; i < 4; i++) {
		int rc = round_trip(jobs[i], &secs[i], &len);

		if (rc) {
			fprintf(stderr,
				"bench_serve: --jobs %u: serve exited %d "
				"(log: %s/serve-%u.log)\n",
				jobs[i], rc, dir, jobs[i]);
			return 1;
		}
	}
	printf("bleota serve: 8 loopback devices at 150 KiB/s "
	       "(bleota-peripheral "
	       "--impair rate=150K),\n%ld-byte image, v1 -> v2 with push "
	       "--confirm, gateway start to exit\n",
	       len);
	printf("  %-8s %10s %14s %9s\n", "--jobs", "seconds", "MiB/s total",
	       "speed-up");
	for (i = 0; i < 4; i++)
		printf("  %-8u %10.1f %14.2f %9.2f\n", jobs[i], secs[i],
		       (double)len * NDEV / secs[i] / (1024.0 * 1024.0),
		       secs[0] / secs[i]);
	return 0;
}
