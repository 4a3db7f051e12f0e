/* SPDX-License-Identifier: MIT */
/*
 * bleota-peripheral: a simulated device. It opens (or creates) a flash
 * file, runs the simulated ESP-IDF bootloader, and serves the bleota
 * protocol on a UNIX SEQPACKET socket. Event loop glue only: the protocol
 * lives in protocol/, the device in ota_engine/, the rest in server.c.
 *
 * main() is the sequence: parse_options() into a struct config, signal
 * handlers, open_flash(), start_server(), listen_socket() and/or
 * start_gatt(), run(), and teardown(): the one cleanup path, taken by a
 * clean stop and by every setup failure alike (each step undoes only what
 * was done, so a daemon that made its socket removes it on any exit).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>

#include "host/fileutil.h"
#include "host/flashimg.h"
#include "host/imgsign.h"
#include "host/pump.h"
#include "ota_engine/flash_file.h"
#include "ota_engine/image.h"
#include "ota_engine/parttable.h"
#include "peripheral/gatt_bluez.h"
#include "host/hlog.h"
#include "peripheral/server.h"
#include "version.h" /* generated: $(O)/version.h */
#include "host/transport.h"
#include "host/transport_impair.h"

struct app {
	GMainLoop *loop;
	struct server *server;
	int listen_fd;
	guint accept_watch;
	guint accept_retry;
	unsigned int accept_backoff_ms;
	unsigned long accept_failures;
	uint64_t accept_logged_ms;
	const char *listen_path;
	struct stat listen_st; /* the socket we made, unlinked only if ours */
	size_t value_max;
	bool impair;
	struct impair_cfg impair_cfg;
	unsigned int clients;
	int exit_code;
	struct gatt_app *gatt;
	struct ota_flash_file *flash;
	struct ota_flash_ops fops; /* the flash file's, guarded */
};

/* The command line, as parse_options() leaves it. */
struct config {
	const char *flash;
	const char *layout; /* --create-layout */
	unsigned long flash_size;
	const char *listen_on;
	unsigned long sock_mode; /* 0: 0600, or 0660 with a group */
	int sock_gid;            /* -1: the process's */
	const char *adapter;
	const char *name;
	bool insecure;
	uint16_t chip;
	size_t value_max;
	bool impair;
	struct impair_cfg impair_cfg;
	int verbose;
	struct server_cfg scfg;
};

static void usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota-peripheral --flash FILE (--listen unix:PATH | "
		"--adapter hciN) [OPTIONS]\n"
		"\n"
		"A simulated ESP-IDF device that receives bleota updates.\n"
		"\n"
		"  -f, --flash FILE          the device's flash image\n"
		"      --create-layout two-ota\n"
		"                            create FILE with this partition "
		"layout if missing\n"
		"      --flash-size SIZE     size of a created flash (default "
		"4M)\n"
		"  -l, --listen unix:PATH    serve on a UNIX SEQPACKET socket\n"
		"                            (PATH must not exist, or be a "
		"stale socket)\n"
		"      --socket-mode MODE    its file mode (octal, default "
		"0600)\n"
		"      --socket-group GROUP  its group; with the default mode "
		"this\n"
		"                            makes it 0660\n"
		"  -a, --adapter hciN        serve over Bluetooth LE through "
		"BlueZ\n"
		"      --name NAME           advertised name (default "
		"bleota)\n"
		"      --insecure            allow unencrypted links (no "
		"pairing)\n"
		"      --chip NAME|ID        the device's chip (default "
		"esp32c3)\n"
		"      --chip-rev N          its revision, major*100+minor "
		"(default 0)\n"
		"      --secure-version N    anti-rollback eFuse value "
		"(default "
		"0)\n"
		"      --no-rollback         new images boot VALID, no "
		"confirmation\n"
		"      --trusted-key KEY.pem accept only images signed with "
		"this key\n"
		"                            (RSA-3072/ECDSA PEM, public or "
		"private;\n"
		"                            up to 3 times)\n"
		"      --trust-running-app   accept only images signed with "
		"the "
		"key of\n"
		"                            the running app's signature block "
		"0\n"
		"      --mtu N               behave as over an ATT MTU of N "
		"(23..517)\n"
		"      --window BYTES        credit budget, 64..65536 (default "
		"32768)\n"
		"      --idle-timeout SEC    end a silent session after SEC, "
		"1..3600\n"
		"                            (default 30)\n"
		"      --impair SPEC         damage received data, e.g.\n"
		"                            "
		"drop=1%%,dup=1%%,corrupt=0.1%%,seed=7,rate=150K\n"
		"  -v, --verbose             more logs; -vvv traces every PDU\n"
		"  -h, --help\n"
		"      --version\n"
		"\n"
		"SIGINT or SIGTERM stops the device cleanly.\n");
}

static gboolean on_signal(gpointer data)
{
	struct app *a = data;

	hlog_info("stopping");
	g_main_loop_quit(a->loop);
	return G_SOURCE_CONTINUE;
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data);

static gboolean accept_again(gpointer data)
{
	struct app *a = data;

	a->accept_retry = 0;
	a->accept_watch = g_unix_fd_add(a->listen_fd, G_IO_IN, on_accept, a);
	return G_SOURCE_REMOVE;
}

/*
 * accept() failed for want of a resource (no file descriptors, no
 * memory): stop watching the listening socket for a while instead of
 * spinning on it, and log the first failure, then at most one line every
 * 10 s with the count, so a flood cannot fill the log.
 */
static void accept_failed(struct app *a, int err)
{
	uint64_t now = now_ms();

	a->accept_failures++;
	if (!a->accept_logged_ms || now - a->accept_logged_ms >= 10000) {
		hlog_warn("accept failed: %s (%lu times so far); pausing new "
			  "connections for %u ms",
			  strerror(err), a->accept_failures,
			  a->accept_backoff_ms ? a->accept_backoff_ms * 2 : 50);
		a->accept_logged_ms = now;
	}
	if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM)
		return;
	a->accept_backoff_ms =
		a->accept_backoff_ms ? a->accept_backoff_ms * 2 : 50;
	if (a->accept_backoff_ms > 1000)
		a->accept_backoff_ms = 1000;
	a->accept_watch = 0;
	a->accept_retry = g_timeout_add(a->accept_backoff_ms, accept_again, a);
}

static gboolean on_accept(gint fd, GIOCondition cond, gpointer data)
{
	struct app *a = data;
	struct transport *t;
	int c;

	(void)cond;
	c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (c < 0) {
		if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
			return G_SOURCE_CONTINUE;
		accept_failed(a, errno);
		return a->accept_watch ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
	}
	a->accept_backoff_ms = 0;
	t = transport_socket_new(c, a->value_max);
	if (t && a->impair)
		t = transport_impair_new(t, &a->impair_cfg);
	if (!t) {
		close(c);
		return G_SOURCE_CONTINUE;
	}
	a->clients++;
	server_attach(a->server, t);
	return G_SOURCE_CONTINUE;
}

/*
 * The flash file as the engine sees it, plus one log line when the file
 * was shrunk under the device (every op then fails with -ESTALE instead of
 * a SIGBUS): the operator learns what happened rather than a flash error.
 */
static const char *flash_path;

static int guard(void *ctx, int r)
{
	static bool told;

	if (r == -ESTALE && !told) {
		hlog_err("%s: the flash file shrank to %llu bytes under the "
			 "device (it has %u; another program truncated or "
			 "overwrote it): every flash operation fails (-ESTALE, "
			 "reported as FLASH_ERROR) until the file is restored "
			 "and bleota-peripheral restarted",
			 flash_path,
			 (unsigned long long)ota_flash_file_current_size(ctx),
			 ota_flash_file_ops.size(ctx));
		told = true;
	}
	return r;
}

static int guarded_read(void *ctx, uint32_t off, void *dst, size_t len)
{
	return guard(ctx, ota_flash_file_ops.read(ctx, off, dst, len));
}

static int guarded_write(void *ctx, uint32_t off, const void *src, size_t len)
{
	return guard(ctx, ota_flash_file_ops.write(ctx, off, src, len));
}

static int guarded_erase(void *ctx, uint32_t off, size_t len)
{
	return guard(ctx, ota_flash_file_ops.erase(ctx, off, len));
}

static void on_gatt_client(struct transport *t, void *user_data)
{
	struct app *a = user_data;

	if (a->impair)
		t = transport_impair_new(t, &a->impair_cfg);
	if (!t)
		return;
	a->clients++;
	server_attach(a->server, t);
}

static int gatt_read_info(uint8_t *buf, size_t cap, void *user_data)
{
	struct app *a = user_data;

	return server_read_info(a->server, buf, cap);
}

static int parse_chip(const char *s, uint16_t *out)
{
	unsigned long v;
	char *end;

	for (v = 0; v < 64; v++) {
		if (!strcmp(s, ota_image_chip_name((uint16_t)v))) {
			*out = (uint16_t)v;
			return 0;
		}
	}
	v = strtoul(s, &end, 0);
	if (end == s || *end || v > 0xffff)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 0);
	return (end == s || *end || errno || *out > max) ? -1 : 0;
}

/*
 * A number in [@lo, @hi] for an option; on failure the range stays in
 * range_lo/range_hi for the message at bad_number.
 */
static unsigned long range_lo, range_hi;

static int parse_range(const char *s, unsigned long lo, unsigned long hi,
		       unsigned long *out)
{
	range_lo = lo;
	range_hi = hi;
	return parse_uint(s, hi, out) || *out < lo ? -1 : 0;
}

/* --trusted-key: the key's digest as a signature block's key digest. */
static int trusted_key(struct ota_engine_cfg *cfg, const char *path)
{
	mbedtls_pk_context pk;
	int err;

	if (cfg->trusted_key_count == OTA_ENGINE_MAX_TRUSTED_KEYS) {
		fprintf(stderr, "bleota-peripheral: at most %u --trusted-key\n",
			OTA_ENGINE_MAX_TRUSTED_KEYS);
		return -1;
	}
	mbedtls_pk_init(&pk);
	err = imgsign_load_key(&pk, path, NULL);
	if (!err)
		err = imgsign_key_digest(
			&pk, cfg->trusted_key_digest[cfg->trusted_key_count]);
	mbedtls_pk_free(&pk);
	if (err) {
		fprintf(stderr, "bleota-peripheral: --trusted-key %s: %s\n",
			path,
			err == -ENOTSUP   ? "not an RSA-3072, ECDSA P-256 or "
					    "P-384 key"
			: err == -EBADMSG ? IMGSIGN_NOT_A_KEY
					  : strerror(-err));
		return -1;
	}
	cfg->trusted_key_count++;
	return 0;
}

/*
 * The long name of option @c, for messages. Not argv[optind - 1]: getopt
 * permutes argv and an option's value may be a separate argument, so that
 * is not reliably the option (it was "5" in "--mtu 5").
 */
static const char *opt_name(const struct option *opts, int c)
{
	for (; opts->name; opts++)
		if (opts->val == c)
			return opts->name;
	return "?";
}

/*
 * Fill @cfg from the command line. Return: true to go on, false to exit
 * with *@code (0 after --help or --version, 2 after a usage error, with
 * its message printed).
 */
static bool parse_options(int argc, char **argv, struct config *cfg, int *code)
{
	static const struct option opts[] = {
		{ "flash", required_argument, NULL, 'f' },
		{ "create-layout", required_argument, NULL, 'C' },
		{ "flash-size", required_argument, NULL, 'S' },
		{ "listen", required_argument, NULL, 'l' },
		{ "socket-mode", required_argument, NULL, 'M' },
		{ "socket-group", required_argument, NULL, 'G' },
		{ "adapter", required_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'N' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "chip", required_argument, NULL, 'c' },
		{ "chip-rev", required_argument, NULL, 'R' },
		{ "secure-version", required_argument, NULL, 's' },
		{ "no-rollback", no_argument, NULL, 'n' },
		{ "trusted-key", required_argument, NULL, 'T' },
		{ "trust-running-app", no_argument, NULL, 'P' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "window", required_argument, NULL, 'w' },
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "impair", required_argument, NULL, 'I' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct server_cfg *scfg = &cfg->scfg;
	unsigned long v;
	int c;

	memset(cfg, 0, sizeof(*cfg));
	cfg->flash_size = 4ul << 20;
	cfg->sock_gid = -1;
	cfg->name = "bleota";
	cfg->chip = OTA_CHIP_ESP32C3;
	cfg->value_max = OTA_MAX_VALUE;
	cfg->verbose = HLOG_INFO;
	*code = 2;
	while ((c = getopt_long(argc, argv, "f:l:a:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			cfg->flash = optarg;
			break;
		case 'C':
			cfg->layout = optarg;
			break;
		case 'S':
			if (fileutil_parse_size(optarg, &cfg->flash_size)) {
				fprintf(stderr,
					"bleota-peripheral: bad --flash-size "
					"'%s': e.g. 4M\n",
					optarg);
				return false;
			}
			break;
		case 'l':
			cfg->listen_on = optarg;
			break;
		case 'M': {
			char *end;

			cfg->sock_mode = strtoul(optarg, &end, 8);
			if (end == optarg || *end || !cfg->sock_mode ||
			    cfg->sock_mode > 0777) {
				fprintf(stderr,
					"bleota-peripheral: bad --socket-mode "
					"'%s': an octal mode such as 0660\n",
					optarg);
				return false;
			}
			break;
		}
		case 'G': {
			struct group *g = getgrnam(optarg);

			if (g)
				cfg->sock_gid = (int)g->gr_gid;
			else if (parse_uint(optarg, 0x7fffffff, &v) == 0)
				cfg->sock_gid = (int)v;
			else {
				fprintf(stderr,
					"bleota-peripheral: unknown group "
					"'%s' for --socket-group\n",
					optarg);
				return false;
			}
			break;
		}
		case 'a':
			cfg->adapter = optarg;
			break;
		case 'N':
			cfg->name = optarg;
			break;
		case 'k':
			cfg->insecure = true;
			break;
		case 'c':
			if (parse_chip(optarg, &cfg->chip)) {
				fprintf(stderr,
					"bleota-peripheral: unknown chip "
					"'%s': use a name such as esp32c3 or "
					"a number\n",
					optarg);
				return false;
			}
			break;
		case 'R':
			if (parse_range(optarg, 0, 0xffff, &v))
				goto bad_number;
			scfg->engine.chip_rev = (uint16_t)v;
			break;
		case 's':
			if (parse_range(optarg, 0, 0xffffffffu, &v))
				goto bad_number;
			scfg->engine.secure_version = (uint32_t)v;
			break;
		case 'n':
			scfg->engine.rollback_disabled = true;
			break;
		case 'T':
			if (trusted_key(&scfg->engine, optarg))
				return false;
			break;
		case 'P':
			scfg->engine.trust_running_app_key = true;
			break;
		case 'm':
			if (parse_range(optarg, OTA_MIN_MTU, OTA_MAX_MTU, &v))
				goto bad_number;
			cfg->value_max = ota_frame_value_max((uint16_t)v);
			break;
		case 'w':
			if (parse_range(optarg, 64, 65536, &v))
				goto bad_number;
			scfg->window_bytes = (uint32_t)v;
			break;
		case 'i':
			if (parse_range(optarg, 1, 3600, &v))
				goto bad_number;
			scfg->idle_timeout_ms = (uint32_t)v * 1000;
			break;
		case 'I':
			if (impair_parse(optarg, &cfg->impair_cfg)) {
				fprintf(stderr,
					"bleota-peripheral: bad --impair "
					"'%s': e.g. drop=1%%,corrupt=0.1%%\n",
					optarg);
				return false;
			}
			cfg->impair = true;
			break;
		case 'v':
			cfg->verbose++;
			break;
		case 'V':
			printf("bleota-peripheral %s%s%s%s\n", BLEOTA_VERSION,
			       *BLEOTA_GIT ? " (git " : "", BLEOTA_GIT,
			       *BLEOTA_GIT ? ")" : "");
			*code = 0;
			return false;
		case 'h':
			usage(stdout);
			*code = 0;
			return false;
		default:
			usage(stderr);
			return false;
		}
	}
	if (!cfg->flash || (!cfg->listen_on && !cfg->adapter) ||
	    optind != argc) {
		usage(stderr);
		return false;
	}
	if (scfg->engine.trust_running_app_key &&
	    scfg->engine.trusted_key_count) {
		fprintf(stderr, "bleota-peripheral: --trusted-key and "
				"--trust-running-app exclude each other\n");
		return false;
	}
	if (cfg->listen_on && !unix_path_of(cfg->listen_on)) {
		fprintf(stderr,
			"bleota-peripheral: --listen '%s': use unix:PATH "
			"(for Bluetooth use --adapter hciN)\n",
			cfg->listen_on);
		return false;
	}
	return true;

bad_number:
	fprintf(stderr,
		"bleota-peripheral: bad value '%s' for --%s: use a number from "
		"%lu to %lu\n",
		optarg, opt_name(opts, c), range_lo, range_hi);
	return false;
}

/* Open the flash file into a->flash, creating it with --create-layout. */
static int open_flash(struct app *a, const struct config *cfg)
{
	const char *flash = cfg->flash;
	struct stat st;
	int r;

	if (stat(flash, &st) < 0) {
		if (!cfg->layout) {
			hlog_err("%s: %s: create it with 'bleota flash create' "
				 "or "
				 "pass --create-layout two-ota",
				 flash, strerror(errno));
			return -1;
		}
		if (flashimg_create(flash, cfg->flash_size, NULL, cfg->layout,
				    NULL))
			return -1;
		hlog_info("created %s (%lu bytes, %s layout, no app yet)",
			  flash, cfg->flash_size, cfg->layout);
	}
	a->flash = ota_flash_file_open(flash, 0, 0, &r);
	if (!a->flash) {
		if (r == -EBUSY)
			hlog_err("%s: another program (a second "
				 "bleota-peripheral?) has the flash open: one "
				 "device per flash file",
				 flash);
		else if (r == -EINVAL && flashimg_is_app_image(flash))
			hlog_err("%s: %s", flash, FLASHIMG_APP_NOT_FLASH);
		else if (r == -EINVAL && !stat(flash, &st))
			hlog_err("%s: %lld bytes, not a multiple of 4096: the "
				 "file is truncated or not a flash image; "
				 "restore it (recreating it erases the device)",
				 flash, (long long)st.st_size);
		else
			hlog_err("%s: cannot open the flash: %s", flash,
				 strerror(-r));
		return -1;
	}
	return 0;
}

/* The device: the engine over the guarded flash file, with its trust keys. */
static int start_server(struct app *a, struct config *cfg)
{
	struct server_cfg *scfg = &cfg->scfg;
	int r;

	flash_path = cfg->flash;
	a->fops = ota_flash_file_ops;
	a->fops.read = guarded_read;
	a->fops.write = guarded_write;
	a->fops.erase = guarded_erase;
	scfg->engine.flash = &a->fops;
	scfg->engine.flash_ctx = a->flash;
	scfg->engine.chip_id = cfg->chip;
	a->server = server_new(scfg, &r);
	if (!a->server) {
		uint8_t bin[OTA_PARTTABLE_MAX_LEN];
		char why[400];

		if (r == -ENODEV &&
		    !ota_flash_file_ops.read(a->flash, OTA_PARTTABLE_OFFSET,
					     bin, sizeof(bin)))
			flashimg_explain_table(
				bin, ota_flash_file_ops.size(a->flash), why,
				sizeof(why));
		else
			snprintf(why, sizeof(why), "%s", strerror(-r));
		hlog_err("%s: %s", cfg->flash, why);
		return -1;
	}
	return 0;
}

/*
 * --listen unix:PATH: the listening socket, mode 0600 (0660 with
 * --socket-group) unless --socket-mode; a path that exists and is not a
 * socket is refused, never replaced.
 */
static int listen_socket(struct app *a, const struct config *cfg)
{
	unsigned long sock_mode = cfg->sock_mode;

	a->listen_path = unix_path_of(cfg->listen_on);
	if (!sock_mode)
		sock_mode = cfg->sock_gid >= 0 ? 0660 : 0600;
	a->listen_fd = socket_listen_unix(
		a->listen_path, (unsigned int)sock_mode, cfg->sock_gid);
	if (a->listen_fd >= 0 && lstat(a->listen_path, &a->listen_st) < 0)
		memset(&a->listen_st, 0, sizeof(a->listen_st));
	if (a->listen_fd < 0) {
		if (a->listen_fd == -EEXIST)
			hlog_err("%s: exists and is not a socket: "
				 "refusing to replace it; choose "
				 "another --listen path",
				 a->listen_path);
		else if (a->listen_fd == -EADDRINUSE)
			hlog_err("%s: another program listens on this "
				 "socket: stop it or choose another "
				 "--listen path",
				 a->listen_path);
		else
			hlog_err("%s: cannot listen: %s", a->listen_path,
				 strerror(-a->listen_fd));
		return -1;
	}
	hlog_info("listening on unix:%s (values up to %zu bytes)",
		  a->listen_path, a->value_max);
	return 0;
}

/* --adapter hciN: the GATT service and advertisement through BlueZ. */
static int start_gatt(struct app *a, const struct config *cfg)
{
	struct gatt_app_cfg gcfg = { .adapter = cfg->adapter,
				     .name = cfg->name,
				     .insecure = cfg->insecure,
				     .new_client = on_gatt_client,
				     .read_info = gatt_read_info,
				     .user_data = a };
	char why[256];

	a->gatt = gatt_app_new(&gcfg, why, sizeof(why));
	if (!a->gatt) {
		hlog_err("%s: %s", cfg->adapter, why);
		return -1;
	}
	return 0;
}

static void run(struct app *a)
{
	if (a->listen_fd >= 0)
		a->accept_watch =
			g_unix_fd_add(a->listen_fd, G_IO_IN, on_accept, a);
	g_main_loop_run(a->loop);
}

/* Every exit after setup began comes here; each step undoes what was done. */
static void teardown(struct app *a)
{
	struct stat st;

	/* the flash file is consistent after every operation: just close */
	server_free(a->server);
	gatt_app_free(a->gatt);
	if (a->accept_watch)
		g_source_remove(a->accept_watch);
	if (a->accept_retry)
		g_source_remove(a->accept_retry);
	if (a->listen_fd >= 0) {
		/* only our own socket: the path may have been replaced since */
		if (!lstat(a->listen_path, &st) && S_ISSOCK(st.st_mode) &&
		    st.st_ino == a->listen_st.st_ino &&
		    st.st_dev == a->listen_st.st_dev)
			unlink(a->listen_path);
		close(a->listen_fd);
	}
	ota_flash_file_close(a->flash);
	g_main_loop_unref(a->loop);
}

int main(int argc, char **argv)
{
	/* static: reachable (no leak report) if an exit skips teardown() */
	static struct app a = { .listen_fd = -1 };
	struct config cfg;
	int code;

	if (!parse_options(argc, argv, &cfg, &code))
		return code;
	a.value_max = cfg.value_max;
	a.impair = cfg.impair;
	a.impair_cfg = cfg.impair_cfg;
	hlog_init("bleota-peripheral", cfg.verbose);
	/*
	 * Signals first: whoever sees the socket appear may stop the daemon
	 * at once, and that must be a clean stop, not the default action.
	 */
	a.loop = g_main_loop_new(NULL, FALSE);
	g_unix_signal_add(SIGINT, on_signal, &a);
	g_unix_signal_add(SIGTERM, on_signal, &a);

	if (open_flash(&a, &cfg) || start_server(&a, &cfg) ||
	    (cfg.listen_on && listen_socket(&a, &cfg)) ||
	    (cfg.adapter && start_gatt(&a, &cfg)))
		a.exit_code = 1;
	else
		run(&a);
	teardown(&a);
	return a.exit_code;
}
