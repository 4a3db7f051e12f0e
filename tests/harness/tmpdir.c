/* SPDX-License-Identifier: MIT */
/* Scratch directory for test files: mkdtemp once, remove at the end. */
#include "tests/harness/tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[256];

const char *tmpdir_path(char *buf, size_t cap, const char *name)
{
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");

		snprintf(dir, sizeof(dir), "%s/bleota-test-XXXXXX",
			 t && *t ? t : "/tmp");
		if (!mkdtemp(dir)) {
			perror("mkdtemp");
			abort();
		}
	}
	snprintf(buf, cap, "%s/%s", dir, name);
	return buf;
}

void tmpdir_cleanup(void)
{
	char path[512];
	struct dirent *de;
	DIR *d;

	if (!dir[0])
		return;
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	dir[0] = '\0';
}
