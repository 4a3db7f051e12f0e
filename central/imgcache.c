/* SPDX-License-Identifier: MIT */
/*
 * The image cache of bleota push (imgcache.h). Plain files in one
 * directory, no index: the file name is the key, the mtime the recency.
 * Writers never leave a partial file under a final name (temporary file
 * in the same directory, then rename), so two pushes sharing the cache
 * at worst store the same image twice.
 */
#include "central/imgcache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/delta_diff.h"
#include "host/fileutil.h"
#include "ota_engine/crypto.h"

#define KEY_HEX 64
#define SUFFIX  ".bin"

int imgcache_open(struct imgcache *c, const char *dir, bool disable)
{
	const char *env = getenv("BLEOTA_IMAGE_CACHE");
	const char *max = getenv("BLEOTA_IMAGE_CACHE_MAX");
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	unsigned long v;

	memset(c, 0, sizeof(*c));
	c->max_bytes = IMGCACHE_DEFAULT_MAX;
	if (!dir && env && *env)
		dir = env;
	if (disable || (dir && !strcmp(dir, "off"))) {
		c->off = true;
		return 0;
	}
	if (max && *max) {
		if (fileutil_parse_size(max, &v)) {
			c->off = true;
			return -EINVAL;
		}
		c->max_bytes = v;
	}
	if (!c->max_bytes) {
		c->off = true;
		return 0;
	}
	if (dir)
		snprintf(c->dir, sizeof(c->dir), "%s", dir);
	else if (xdg && *xdg == '/')
		snprintf(c->dir, sizeof(c->dir), "%s/bleota/images", xdg);
	else if (home && *home)
		snprintf(c->dir, sizeof(c->dir), "%s/.cache/bleota/images",
			 home);
	else
		c->off = true;
	return 0;
}

void imgcache_path(const struct imgcache *c, const uint8_t sha[32], char *out,
		   size_t cap)
{
	char hex[KEY_HEX + 1];
	int i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	snprintf(out, cap, "%s/%s" SUFFIX, c->dir, hex);
}

/* The whole file, quietly (a miss is not an error). */
static uint8_t *read_quiet(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *fp = fopen(path, "rb");

	if (!fp)
		return NULL;
	if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > 64 * 1024 * 1024) {
		fclose(fp);
		return NULL;
	}
	buf = malloc((size_t)st.st_size);
	if (buf &&
	    fread(buf, 1, (size_t)st.st_size, fp) != (size_t)st.st_size) {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	*len = (size_t)st.st_size;
	return buf;
}

uint8_t *imgcache_get(const struct imgcache *c, const uint8_t sha[32],
		      size_t *len)
{
	char path[1200];
	uint8_t got[32], *img;
	bool is_app;

	if (c->off)
		return NULL;
	imgcache_path(c, sha, path, sizeof(path));
	img = read_quiet(path, len);
	if (!img)
		return NULL;
	delta_esp_base_hash(img, *len, got, &is_app);
	if (!is_app || memcmp(got, sha, 32)) {
		free(img);
		return NULL;
	}
	utimensat(AT_FDCWD, path, NULL, 0); /* most recently used */
	return img;
}

/* mkdir -p, private. */
static int make_dirs(const char *dir)
{
	char p[1024];
	size_t i;

	snprintf(p, sizeof(p), "%s", dir);
	for (i = 1; p[i]; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			return -errno;
		p[i] = '/';
	}
	if (mkdir(p, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

struct entry {
	char name[KEY_HEX + sizeof(SUFFIX)];
	struct timespec mtime;
	uint64_t size;
};

static bool is_key_name(const char *n)
{
	size_t i;

	if (strlen(n) != KEY_HEX + strlen(SUFFIX) ||
	    strcmp(n + KEY_HEX, SUFFIX))
		return false;
	for (i = 0; i < KEY_HEX; i++)
		if (!strchr("0123456789abcdef", n[i]))
			return false;
	return true;
}

static int by_age(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Remove the oldest images (never @keep) until the total fits. */
static void evict(const struct imgcache *c, const char *keep)
{
	struct entry *e = NULL, *ne;
	size_t n = 0, i;
	uint64_t total = 0;
	struct dirent *d;
	char path[1200];
	struct stat st;
	DIR *dir = opendir(c->dir);

	if (!dir)
		return;
	while ((d = readdir(dir))) {
		if (!is_key_name(d->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->dir, d->d_name);
		if (stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		ne = realloc(e, (n + 1) * sizeof(*e));
		if (!ne)
			break;
		e = ne;
		snprintf(e[n].name, sizeof(e[n].name), "%s", d->d_name);
		e[n].mtime = st.st_mtim;
		e[n].size = (uint64_t)st.st_size;
		total += e[n].size;
		n++;
	}
	closedir(dir);
	if (n)
		qsort(e, n, sizeof(*e), by_age);
	for (i = 0; i < n && total > c->max_bytes; i++) {
		if (!strcmp(e[i].name, keep))
			continue;
		snprintf(path, sizeof(path), "%s/%s", c->dir, e[i].name);
		if (!unlink(path))
			total -= e[i].size;
	}
	free(e);
}

int imgcache_put(const struct imgcache *c, const uint8_t *img, size_t len)
{
	char path[1200], tmp[1200];
	uint8_t sha[32];
	bool is_app;
	size_t off = 0;
	ssize_t w;
	int fd, r;

	if (c->off || len > c->max_bytes)
		return 0;
	delta_esp_base_hash(img, len, sha, &is_app);
	if (!is_app)
		return 0;
	r = make_dirs(c->dir);
	if (r)
		return r;
	imgcache_path(c, sha, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", c->dir);
	fd = mkstemp(tmp);
	if (fd < 0)
		return -errno;
	while (off < len) {
		w = write(fd, img + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)w;
	}
	if (close(fd) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	if (r) {
		unlink(tmp);
		return r;
	}
	evict(c, strrchr(path, '/') + 1);
	return 0;
}
