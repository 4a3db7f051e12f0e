/* SPDX-License-Identifier: MIT */
/*
 * A hostile environment around the real programs (issue 10): paths that
 * name a user's file, a full file system, a flash file shrunk or shared,
 * silent and numerous clients, a daemon that never accepts, malformed
 * datagrams, bytes from images that are terminal escapes, a permissive
 * umask. Each case fails on the code before its fix: the device keeps its
 * promise (a specific error, nothing lost, the running slot untouched).
 *
 * Waits are on conditions (a socket, a log line, a process exit), bounded;
 * nothing asserts on elapsed time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "host/transport.h"
#include "protocol/frame.h"
#include "protocol/status.h"
#include "tests/harness/device.h"
#include "tests/harness/e2e.h"
#include "tests/harness/esp_image_build.h"
#include "tests/harness/tmpdir.h"

struct fx {
	struct e2e_image v1, v2;
	char flash[512];
	struct e2e_periph per;
	char out[65536];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	e2e_image(&f->v1, "v1.bin", "1.0.0", DEV_CHIP, 0, 100000,
		  ESP_CORRUPT_NONE);
	e2e_image(&f->v2, "v2.bin", "2.0.0", DEV_CHIP, 0, 200000,
		  ESP_CORRUPT_NONE);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	free(f->v1.data);
	free(f->v2.data);
	free(f);
	return 0;
}

/* Wait (bounded) until the daemon's log holds @needle. */
static void wait_log(const struct e2e_periph *p, const char *needle)
{
	uint64_t until = e2e_mono_ms() + 60000;

	while (!e2e_log_contains(p, needle)) {
		if (e2e_mono_ms() > until)
			fail_msg("the daemon never logged '%s'", needle);
		usleep(20000);
	}
}

static bool periph_alive(const struct e2e_periph *p)
{
	int st;

	return waitpid(p->pid, &st, WNOHANG) == 0;
}

/* A blocking SEQPACKET connection with a 10 s receive bound. */
static int raw_connect(const char *sock)
{
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket_connect_unix(sock, 5000);

	assert_true(fd >= 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Send a request (+ @extra trailing bytes); the status of its response. */
static int raw_request(int fd, uint8_t op, uint8_t token, const uint8_t *p,
		       size_t plen, size_t extra)
{
	static uint8_t buf[70000];
	uint8_t rsp[OTA_MAX_VALUE + 1];
	struct ota_msg m;
	int n = ota_frame_encode_req(buf, sizeof(buf), op, token, p, plen);
	ssize_t r;

	assert_true(n > 0);
	memset(buf + n, 0xA5, extra);
	assert_int_equal(send(fd, buf, (size_t)n + extra, 0),
			 (ssize_t)((size_t)n + extra));
	for (;;) {
		r = recv(fd, rsp, sizeof(rsp), 0);
		if (r <= 0)
			return -1;
		if (ota_frame_decode_msg(rsp, (size_t)r, &m) || !m.is_rsp)
			continue; /* an EVENT */
		/* strictly in order: an answer to anything else is a failure */
		return m.token == token ? m.status : -2;
	}
}

static int read_info(int fd, uint8_t token)
{
	const uint8_t p[3] = { OTA_ATTR_INFO, 0, 0 };

	return raw_request(fd, OTA_OP_READ, token, p, sizeof(p), 0);
}

/* ---- data loss and crashes -------------------------------------------------- */

/* --listen never replaces a user's file, nor a live socket. */
static void test_listen_refuses_files(void **state)
{
	struct fx *f = *state;
	char victim[512], sock[512];
	uint8_t *before;
	size_t blen;
	struct stat st;

	e2e_flash(f->flash, sizeof(f->flash), "listen.flash", &f->v1);
	tmpdir_path(victim, sizeof(victim), "victim.txt");
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out), "printf 'precious' >%s", victim),
		0);
	/* a regular file, and the flash file itself */
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout 20 %s --flash %s --listen unix:%s",
				e2e_bin_periph, f->flash, victim),
			 1);
	assert_non_null(strstr(f->out, "exists and is not a socket"));
	before = e2e_read_all(victim, &blen);
	assert_int_equal(blen, 8);
	assert_memory_equal(before, "precious", 8);
	free(before);
	before = e2e_read_all(f->flash, &blen);
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout 20 %s --flash %s --listen unix:%s",
				e2e_bin_periph, f->flash, f->flash),
			 1);
	assert_non_null(strstr(f->out, "exists and is not a socket"));
	e2e_assert_file_unchanged(f->flash, before, blen);

	/* a live socket: a second daemon (own flash) must not steal it */
	e2e_periph_start(&f->per, f->flash, "live", "");
	e2e_flash(sock, sizeof(sock), "other.flash", &f->v1);
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout 20 %s --flash %s --listen unix:%s",
				e2e_bin_periph, sock, f->per.sock),
			 1);
	assert_non_null(strstr(f->out, "another program listens"));
	assert_int_equal(read_info(raw_connect(f->per.sock), 1), OTA_STATUS_OK);
	/* killed, it leaves a stale socket: that one may be replaced */
	e2e_periph_kill(&f->per);
	assert_int_equal(stat(f->per.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout -s TERM 3 %s --flash %s --listen "
				"unix:%s",
				e2e_bin_periph, f->flash, f->per.sock),
			 124);
	assert_non_null(strstr(f->out, "listening on unix:"));
	/* and, its own socket, unlinked at its exit */
	assert_int_equal(stat(f->per.sock, &st), -1);
}

/*
 * Setup failing after the socket exists (here BlueZ: no system bus) goes
 * through the same teardown as a clean stop: the daemon's own socket is
 * gone, not left behind as a stale one.
 */
static void test_listen_setup_failure_unlinks(void **state)
{
	struct fx *f = *state;
	char sock[512];
	struct stat st;

	e2e_flash(f->flash, sizeof(f->flash), "gattfail.flash", &f->v1);
	tmpdir_path(sock, sizeof(sock), "gattfail.sock");
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"DBUS_SYSTEM_BUS_ADDRESS=unix:path=%s.nobus "
				"timeout 20 %s --flash %s --listen unix:%s "
				"--adapter hci9",
				sock, e2e_bin_periph, f->flash, sock),
			 1);
	assert_non_null(strstr(f->out, "listening on unix:"));
	assert_non_null(strstr(f->out, "hci9: "));
	assert_int_equal(stat(sock, &st), -1);
	assert_int_equal(errno, ENOENT);
}

/* A full file system: ENOSPC reported, no partial file left behind. */
static void test_create_enospc(void **state)
{
	struct fx *f = *state;
	char dir[512];
	int rc;

	tmpdir_path(dir, sizeof(dir), "small-fs");
	mkdir(dir, 0755);
	rc = e2e_sh(
		f->out, sizeof(f->out),
		"unshare -rm sh -c 'mount -t tmpfs -o size=256k none %s' && "
		"echo ok",
		dir);
	if (rc != 0 || !strstr(f->out, "ok"))
		skip(); /* no user namespaces here: cannot make a full fs */
	rc = e2e_sh(f->out, sizeof(f->out),
		    "unshare -rm sh -c 'mount -t tmpfs -o size=256k none %s && "
		    "%s flash create --size 4M --layout two-ota %s/dev.flash; "
		    "echo rc=$?; "
		    "%s --flash %s/p.flash --create-layout two-ota "
		    "--listen unix:%s/p.sock; echo rc=$?; ls -A %s; echo end'",
		    dir, e2e_bin_bleota, dir, e2e_bin_periph, dir, dir, dir);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(f->out, "No space left on device"));
	assert_null(strstr(f->out, "rc=0"));
	assert_null(strstr(f->out, "rc=-1"));
	/* both failed with a message, and the directory is empty */
	assert_non_null(strstr(f->out, "rc=1\nend"));
	assert_non_null(strstr(f->out, "rc=1\nbleota"));
}

/* The flash file shrinks under the daemon: it survives and says so. */
static void test_flash_shrunk(void **state)
{
	struct fx *f = *state;

	e2e_flash(f->flash, sizeof(f->flash), "shrink.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "shrink", "");
	assert_int_equal(truncate(f->flash, 1 << 20), 0);
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v2.path),
			 1);
	/* the push says where to look and what to do, not "worn out" */
	assert_non_null(strstr(f->out, "could not write its flash"));
	assert_non_null(strstr(f->out, "if its flash file changed size under "
				       "it (truncated or overwritten), restore "
				       "the file and restart"));
	assert_null(strstr(f->out, "worn"));
	assert_true(periph_alive(&f->per));
	assert_true(e2e_log_contains(&f->per, "flash file shrank to 1048576"));
	assert_true(e2e_log_contains(&f->per, "-ESTALE, reported as "
					      "FLASH_ERROR"));
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	e2e_periph_stop(&f->per);
}

/* Two daemons on one flash file: the second is refused. */
static void test_flash_locked(void **state)
{
	struct fx *f = *state;

	e2e_flash(f->flash, sizeof(f->flash), "locked.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "locked", "");
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout 20 %s --flash %s --listen unix:%s.2",
				e2e_bin_periph, f->flash, f->per.sock),
			 1);
	assert_non_null(strstr(f->out, "has the flash open"));
	e2e_periph_stop(&f->per);
}

/*
 * `bleota flash create` over the flash a daemon runs on is refused too: it
 * would rename a new file over the path while the daemon keeps the old one,
 * and `info` and `flash info` would then describe two different devices.
 */
static void test_flash_create_locked(void **state)
{
	struct fx *f = *state;
	struct stat before, after;

	e2e_flash(f->flash, sizeof(f->flash), "recreate.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "recreate", "");
	assert_int_equal(stat(f->flash, &before), 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out),
			   "flash create %s --size 4M --layout two-ota",
			   f->flash),
		1);
	assert_non_null(strstr(f->out, "has the flash open"));
	assert_non_null(strstr(f->out, "stop it"));
	assert_int_equal(stat(f->flash, &after), 0);
	assert_true(before.st_ino == after.st_ino);
	e2e_periph_stop(&f->per);
	/* once the daemon has stopped, the same command replaces the file */
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out),
			   "flash create %s --size 4M --layout two-ota",
			   f->flash),
		0);
}

/* ---- availability ------------------------------------------------------------- */

/* A silent client is dropped after the idle timeout; BUSY says who. */
static void test_silent_client(void **state)
{
	struct fx *f = *state;
	int fd;

	e2e_flash(f->flash, sizeof(f->flash), "silent.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "silent", "--idle-timeout 5");
	fd = raw_connect(f->per.sock);
	wait_log(&f->per, "client connected");
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		4);
	assert_non_null(strstr(f->out, "no update in progress"));
	wait_log(&f->per, "client silent for");
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	close(fd);
	e2e_periph_stop(&f->per);
}

/* `bleota push` waits out a BUSY device (bounded back-off). */
static void test_push_busy_retry(void **state)
{
	struct fx *f = *state;
	int fd;

	e2e_flash(f->flash, sizeof(f->flash), "busy.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "busy", "--idle-timeout 3");
	fd = raw_connect(f->per.sock);
	wait_log(&f->per, "client connected");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "busy"));
	close(fd);
	e2e_periph_stop(&f->per);
}

/* Out of descriptors: no spin, a bounded log, recovery afterwards. */
static void test_accept_emfile(void **state)
{
	struct fx *f = *state;
	struct rlimit saved, low;
	int fds[40], i, lines;

	e2e_flash(f->flash, sizeof(f->flash), "emfile.flash", &f->v1);
	getrlimit(RLIMIT_NOFILE, &saved);
	low = saved;
	low.rlim_cur = 24; /* the daemon inherits it */
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	e2e_periph_start(&f->per, f->flash, "emfile", "--idle-timeout 600");
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
	/* more connections than it has descriptors, until it notices */
	for (i = 0; i < 40; i++) {
		fds[i] = socket_connect_unix(f->per.sock, 0);
		usleep(20000);
	}
	wait_log(&f->per, "accept failed");
	sleep(2); /* let a spinning daemon show itself */
	for (i = 0; i < 40; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* bounded: the daemon before the fix never accepted again */
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout 60 %s info unix:%s", e2e_bin_bleota,
				f->per.sock),
			 0);
	lines = e2e_sh(f->out, sizeof(f->out),
		       "exit $(grep -c 'accept failed' %s)", f->per.log);
	print_message("accept failures logged: %d lines\n", lines);
	assert_true(lines >= 1 && lines <= 3);
	e2e_periph_stop(&f->per);
}

/* A daemon that never accepts: connect gives up, it does not hang. */
static void test_connect_timeout(void **state)
{
	struct fx *f = *state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, fds[64], i;

	tmpdir_path(sa.sun_path, sizeof(sa.sun_path), "stuck.sock");
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	for (i = 0; i < 64; i++) {
		fds[i] = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
		if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0)
			break;
	}
	assert_true(i < 64); /* the backlog is full */
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"BLEOTA_CONNECT_TIMEOUT=1 timeout 30 %s info "
				"unix:%s",
				e2e_bin_bleota, sa.sun_path),
			 5);
	assert_non_null(strstr(f->out, "timed out"));
	while (i >= 0)
		close(fds[i--]);
	close(lfd);
}

/* ---- wrong answers to bad input ---------------------------------------------- */

/* Requests with trailing bytes are BAD_PDU; huge datagrams are dropped. */
static void test_trailing_and_oversized(void **state)
{
	static const uint8_t ops[] = { OTA_OP_FINISH,  OTA_OP_COMMIT,
				       OTA_OP_CONFIRM, OTA_OP_ROLLBACK,
				       OTA_OP_ABORT,   OTA_OP_REBOOT };
	struct fx *f = *state;
	const uint8_t rd[3] = { OTA_ATTR_INFO, 0, 0 };
	uint8_t big[600];
	size_t i;
	int fd, n;

	e2e_flash(f->flash, sizeof(f->flash), "trail.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "trail", "");
	fd = raw_connect(f->per.sock);
	for (i = 0; i < sizeof(ops); i++) {
		static uint8_t huge[65536];

		assert_int_equal(
			raw_request(fd, ops[i], (uint8_t)(10 + i), NULL, 0, 1),
			OTA_STATUS_BAD_PDU);
		/* 64 KiB of garbage after the op: never executed either */
		n = ota_frame_encode_req(huge, sizeof(huge), ops[i],
					 (uint8_t)(20 + i), NULL, 0);
		memset(huge + n, 0xA5, sizeof(huge) - (size_t)n);
		assert_int_equal(send(fd, huge, sizeof(huge), 0),
				 (ssize_t)sizeof(huge));
		assert_int_equal(read_info(fd, (uint8_t)(30 + i)),
				 OTA_STATUS_OK);
	}
	assert_false(e2e_log_contains(&f->per, "reboot requested"));
	/* a 600-byte datagram starting like a READ: dropped, not cut to one */
	n = ota_frame_encode_req(big, sizeof(big), OTA_OP_READ, 40, rd,
				 sizeof(rd));
	memset(big + n, 0, sizeof(big) - (size_t)n);
	assert_int_equal(send(fd, big, sizeof(big), 0), (ssize_t)sizeof(big));
	/* the next request's answer comes first: nothing answered token 40 */
	assert_int_equal(read_info(fd, 41), OTA_STATUS_OK);
	wait_log(&f->per, "dropped a 65536-byte value");
	close(fd);
	assert_true(periph_alive(&f->per));
	e2e_periph_stop(&f->per);
}

/* An empty datagram is not the end of the connection. */
static void test_empty_value(void **state)
{
	struct fx *f = *state;
	int fd;

	e2e_flash(f->flash, sizeof(f->flash), "empty.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "empty", "");
	fd = raw_connect(f->per.sock);
	assert_int_equal(send(fd, "", 0, 0), 0);
	assert_int_equal(read_info(fd, 7), OTA_STATUS_OK);
	close(fd);
	e2e_periph_stop(&f->per);
}

/* Bytes from an image reach neither the terminal nor the log raw. */
static void test_escapes(void **state)
{
	struct fx *f = *state;
	struct esp_image_spec sp = { .chip_id = DEV_CHIP,
				     .version = "6.6\x1b]0;pwned\x07",
				     .project = "ev\x1b[31mil\nFORGED: ok" };
	char path[512], *log;
	uint8_t *img;
	size_t len;
	FILE *fp;

	img = esp_image_build(&sp, &len);
	fp = fopen(tmpdir_path(path, sizeof(path), "evil.bin"), "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(img, 1, len, fp), len);
	fclose(fp);
	free(img);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "image info %s", path), 0);
	assert_null(strchr(f->out, 0x1b));
	assert_null(strstr(f->out, "\nFORGED"));
	assert_non_null(strstr(f->out, "ev\\x1b[31mil\\x0aFORGED: ok"));
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "image verify %s", path), 0);
	assert_null(strchr(f->out, 0x1b));
	assert_null(strchr(f->out, 0x07));

	e2e_flash(f->flash, sizeof(f->flash), "evil.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "evil", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --confirm unix:%s %s", f->per.sock,
				    path),
			 0);
	assert_null(strchr(f->out, 0x1b));
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	assert_null(strchr(f->out, 0x1b));
	assert_null(strstr(f->out, "\nFORGED"));
	/* JSON keeps the bytes, escaped as JSON */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "info --json unix:%s", f->per.sock),
			 0);
	assert_non_null(strstr(f->out, "ev\\u001b[31mil\\u000aFORGED: ok"));
	e2e_periph_stop(&f->per);
	log = (char *)e2e_read_all(f->per.log, &len);
	log = realloc(log, len + 1);
	log[len] = '\0';
	assert_non_null(strstr(log, "ev\\x1b[31mil"));
	assert_null(strchr(log, 0x1b));
	assert_null(strstr(log, "\nFORGED"));
	free(log);
}

/* The socket is 0600 whatever the umask; --socket-group makes it 0660. */
static void test_socket_mode(void **state)
{
	struct fx *f = *state;
	struct stat st;

	e2e_flash(f->flash, sizeof(f->flash), "mode.flash", &f->v1);
	umask(0);
	e2e_periph_start(&f->per, f->flash, "mode", "");
	umask(022);
	assert_int_equal(stat(f->per.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	e2e_periph_stop(&f->per);
	e2e_periph_start(&f->per, f->flash, "mode", "--socket-group 0");
	assert_int_equal(stat(f->per.sock, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(st.st_gid, 0);
	e2e_periph_stop(&f->per);
}

/*
 * A bad number names its option and the range, whatever the order of the
 * arguments: getopt permutes argv, so the option is not argv[optind - 1].
 */
static void test_periph_bad_number(void **state)
{
	static const struct {
		const char *args, *msg;
	} rows[] = {
		{ "--mtu 5 -f x -l unix:/nonexistent/s",
		  "bad value '5' for --mtu: use a number from 23 to 517\n" },
		{ "-f x --mtu=600 -l unix:/nonexistent/s",
		  "bad value '600' for --mtu: use a number from 23 to 517\n" },
		{ "-f x -l unix:/nonexistent/s --window 8",
		  "bad value '8' for --window: use a number from 64 to "
		  "65536\n" },
		{ "--idle-timeout x -f x -a hci0",
		  "bad value 'x' for --idle-timeout: use a number from 1 to "
		  "3600\n" },
	};
	struct fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		assert_int_equal(e2e_sh(f->out, sizeof(f->out), "%s %s",
					e2e_bin_periph, rows[i].args),
				 2);
		if (!strstr(f->out, rows[i].msg))
			fail_msg("%s: got '%s'", rows[i].args, f->out);
	}
}

/* No system bus: both programs say what Bluetooth needs, and the way out. */
static void test_no_system_bus(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out),
		       "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "
		       "%s scan --timeout 1",
		       e2e_bin_bleota),
		5);
	assert_non_null(strstr(f->out, "no D-Bus system bus"));
	assert_non_null(strstr(f->out, "systemctl start dbus bluetooth); a "
				       "unix:PATH device needs neither"));
	e2e_flash(f->flash, sizeof(f->flash), "nobus.flash", &f->v1);
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out),
		       "DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent "
		       "timeout 20 %s --flash %s --adapter hci0",
		       e2e_bin_periph, f->flash),
		1);
	assert_non_null(strstr(f->out, "hci0: no D-Bus system bus"));
	assert_non_null(strstr(f->out, "systemctl start dbus bluetooth); "
				       "--listen unix:PATH needs neither"));
}

/* scan: --help names every option and the exit codes; a bad one, usage. */
static void test_scan_usage(void **state)
{
	struct fx *f = *state;

	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "scan --help"), 0);
	assert_non_null(strstr(f->out, "--timeout S     scan for S seconds, "
				       "1..3600 (default 10)"));
	assert_non_null(strstr(f->out, "--adapter hciN"));
	assert_non_null(strstr(f->out, "5 no bluetoothd"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "scan --bogus"), 2);
	assert_non_null(strstr(f->out, "usage: bleota scan"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "scan extra"), 2);
	assert_non_null(strstr(f->out, "usage: bleota scan"));
}

/* A key file that is missing is told apart from one that holds no key. */
static void test_key_files(void **state)
{
	struct fx *f = *state;
	char out[600], missing[512];

	tmpdir_path(missing, sizeof(missing), "no-such-key.pem");
	tmpdir_path(out, sizeof(out), "signed-out.bin");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "image sign --key %s %s %s", missing,
				    f->v2.path, out),
			 1);
	assert_non_null(strstr(f->out, "no-such-key.pem: No such file or "
				       "directory"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "image sign --key %s %s %s", f->v1.path,
				    f->v2.path, out),
			 1);
	assert_non_null(strstr(f->out, "v1.bin: not a PEM or DER key (make "
				       "one with 'openssl ecparam"));
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"%s --flash x --listen unix:/nonexistent/s "
				"--trusted-key %s",
				e2e_bin_periph, missing),
			 2);
	assert_non_null(strstr(f->out, "--trusted-key "));
	assert_non_null(strstr(f->out, "no-such-key.pem: No such file or "
				       "directory"));
}

/* An app image where the flash belongs: told so, and how to make a flash. */
static void test_app_as_flash(void **state)
{
	struct fx *f = *state;

	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", f->v1.path),
		1);
	assert_non_null(strstr(f->out, "v1.bin: an ESP app image, not a device "
				       "flash: make a flash holding it with "
				       "'bleota flash create"));
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"timeout 20 %s --flash %s --listen "
				"unix:/nonexistent/s",
				e2e_bin_periph, f->v1.path),
			 1);
	assert_non_null(strstr(f->out, "v1.bin: an ESP app image, not a device "
				       "flash"));
	assert_null(strstr(f->out, "restore it"));
}

/* ---- device state after interruptions -------------------------------------- */

/*
 * Cut between COMMIT and CONFIRM: the device runs the image PENDING_VERIFY;
 * the same push --confirm confirms it instead of refusing.
 */
static void test_pending_repush(void **state)
{
	struct fx *f = *state;

	e2e_flash(f->flash, sizeof(f->flash), "pend.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "pend", "");
	/* --reboot and no confirm: what a push killed after REBOOT leaves */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --reboot unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "PENDING_VERIFY"));
	/* without --confirm: refused, and told exactly that */
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v2.path),
			 4);
	assert_non_null(strstr(f->out, "already runs"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --confirm unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	assert_non_null(strstr(f->out, "confirmed, it is VALID"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "status unix:%s",
				    f->per.sock),
			 0);
	assert_non_null(strstr(f->out, "ota_1 2.0.0, VALID"));
	e2e_periph_stop(&f->per);
}

/*
 * A power cut during the trial boot aborts the image; pushing it again is
 * SAME_AS_FAILED, and the advice names --force, which installs it.
 */
static void test_same_as_failed_force(void **state)
{
	struct fx *f = *state;

	e2e_flash(f->flash, sizeof(f->flash), "failed.flash", &f->v1);
	e2e_periph_start(&f->per, f->flash, "failed", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --reboot unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	e2e_periph_kill(&f->per); /* power cut before the confirmation */
	e2e_periph_start(&f->per, f->flash, "failed", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v2.path),
			 4);
	assert_non_null(strstr(f->out, "SAME_AS_FAILED") ||
					strstr(f->out,
					       "identical to the last image "
					       "that failed")
				? f->out
				: NULL);
	assert_non_null(strstr(f->out, "--force"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --force unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	e2e_periph_stop(&f->per);
}

/* Nothing bootable: status fails and says so. */
static void test_status_nothing_bootable(void **state)
{
	struct fx *f = *state;

	tmpdir_path(f->flash, sizeof(f->flash), "empty-dev.flash");
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out),
			   "flash create --size 4M --layout two-ota %s",
			   f->flash),
		0);
	e2e_periph_start(&f->per, f->flash, "noboot", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "status unix:%s",
				    f->per.sock),
			 1);
	assert_non_null(strstr(f->out, "nothing bootable"));
	assert_null(strstr(f->out, "no slot ,"));
	/* info and push say it in words too, not "running:   (no slot)" */
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "info unix:%s", f->per.sock),
		0);
	assert_non_null(strstr(f->out, "running:         nothing bootable (no "
				       "valid app in any slot)\n"));
	assert_non_null(strstr(f->out, "push an image: 'bleota push"));
	assert_null(strstr(f->out, "no slot"));
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out), "push unix:%s %s",
				    f->per.sock, f->v1.path),
			 0);
	assert_non_null(strstr(f->out, "running nothing bootable (no valid app "
				       "in any slot), update slot"));
	assert_true(e2e_log_contains(&f->per, "running nothing: no valid app"));
	assert_false(e2e_log_contains(&f->per, "ota_-2"));
	e2e_periph_stop(&f->per);
}

/* ---- flash files: read-only, truncated, damaged journal ----------------------- */

static void test_flash_info_files(void **state)
{
	struct fx *f = *state;
	char ro[512], cut[600];
	struct stat st;
	int rc;

	e2e_flash(f->flash, sizeof(f->flash), "info.flash", &f->v1);
	assert_int_equal(stat(f->flash, &st), 0);
	/* read-only: a read-only bind mount, so that root is refused too */
	tmpdir_path(ro, sizeof(ro), "");
	rc = e2e_sh(f->out, sizeof(f->out),
		    "unshare -rm sh -c 'mount --bind %s %s && mount -o "
		    "remount,bind,ro %s && %s flash info %s'",
		    ro, ro, ro, e2e_bin_bleota, f->flash);
	if (strstr(f->out, "mount"))
		print_message("(no user namespaces: read-only case skipped)\n");
	else
		assert_int_equal(rc, 0);

	/* truncated to a 4 KiB multiple: the table is intact, say so */
	snprintf(cut, sizeof(cut), "%s.cut", f->flash);
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"cp %s %s && truncate -s 1M %s", f->flash, cut,
				cut),
			 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", cut), 1);
	assert_non_null(strstr(f->out, "truncated"));
	assert_null(strstr(f->out, "()"));
	assert_null(strstr(f->out, "recreate it with"));
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out),
		       "timeout 20 %s --flash %s --listen unix:%s.sock",
		       e2e_bin_periph, cut, cut),
		1);
	assert_non_null(strstr(f->out, "truncated"));
	/* not a multiple of 4 KiB */
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out), "truncate -s 1000000 %s", cut),
		0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", cut), 1);
	assert_non_null(strstr(f->out, "truncated"));
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out),
		       "timeout 20 %s --flash %s --listen unix:%s.sock",
		       e2e_bin_periph, cut, cut),
		1);
	assert_null(strstr(f->out, "Invalid argument"));
	assert_non_null(strstr(f->out, "truncated"));

	/* a journal in use is valid: after a push --no-commit it holds a
	 * session and no log record yet (flash info said NOT VALID) */
	e2e_periph_start(&f->per, f->flash, "info", "");
	assert_int_equal(e2e_bleota(f->out, sizeof(f->out),
				    "push --no-commit unix:%s %s", f->per.sock,
				    f->v2.path),
			 0);
	e2e_periph_stop(&f->per);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", f->flash),
		0);
	assert_null(strstr(f->out, "NOT VALID"));
	assert_non_null(strstr(f->out, "journal (0x210000): "));

	/* a zeroed journal is not "no session in progress" */
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"dd if=/dev/zero of=%s bs=4096 seek=%u count=4 "
				"conv=notrunc",
				f->flash, 0x210000u / 4096),
			 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", f->flash),
		0);
	assert_non_null(strstr(f->out, "NOT VALID"));
	assert_null(strstr(f->out, "no session in progress"));
	/* and one overwritten with something else */
	assert_int_equal(e2e_sh(f->out, sizeof(f->out),
				"yes 'not a journal' | head -c 16384 | dd "
				"of=%s bs=4096 seek=%u conv=notrunc",
				f->flash, 0x210000u / 4096),
			 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "flash info %s", f->flash),
		0);
	assert_non_null(strstr(f->out, "NOT VALID"));
}

/* image verify: one message, whole digests, the real size limit. */
static void test_image_verify_messages(void **state)
{
	struct fx *f = *state;
	char path[512], *p;

	tmpdir_path(path, sizeof(path), "one-byte.bin");
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out), "printf '\\351' >%s", path), 0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "image verify %s", path), 1);
	p = strstr(f->out, "incomplete");
	assert_non_null(p);
	assert_null(strstr(p + 1, "incomplete"));

	/* a SHA-256 mismatch shows both digests whole */
	{
		struct e2e_image im;

		e2e_image(&im, "badsha.bin", "1.0.0", DEV_CHIP, 0, 0,
			  ESP_CORRUPT_SHA);
		snprintf(path, sizeof(path), "%s", im.path);
		free(im.data);
	}
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "image verify %s", path), 1);
	p = strstr(f->out, "(stored ");
	assert_non_null(p);
	assert_int_equal(strspn(p + 8, "0123456789abcdef"), 64);
	p = strstr(f->out, ", computed ");
	assert_non_null(p);
	assert_int_equal(strspn(p + 11, "0123456789abcdef"), 64);

	/* the limit is 16 MiB: a 16 MiB + 1 file says 16777216 */
	tmpdir_path(path, sizeof(path), "huge.bin");
	assert_int_equal(
		e2e_sh(f->out, sizeof(f->out), "truncate -s 16777217 %s", path),
		0);
	assert_int_equal(
		e2e_bleota(f->out, sizeof(f->out), "image verify %s", path), 1);
	assert_non_null(strstr(f->out, "larger than 16777216 bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(n, fn) { n, fn, NULL, NULL, NULL }
		T("/hostile/listen/refuses-files", test_listen_refuses_files),
		T("/hostile/listen/setup-failure-unlinks",
		  test_listen_setup_failure_unlinks),
		T("/hostile/flash/create-enospc", test_create_enospc),
		T("/hostile/flash/shrunk-under-daemon", test_flash_shrunk),
		T("/hostile/flash/second-daemon", test_flash_locked),
		T("/hostile/flash/create-over-daemon",
		  test_flash_create_locked),
		T("/hostile/avail/silent-client", test_silent_client),
		T("/hostile/avail/push-busy-retry", test_push_busy_retry),
		T("/hostile/avail/accept-emfile", test_accept_emfile),
		T("/hostile/avail/connect-timeout", test_connect_timeout),
		T("/hostile/input/trailing-and-oversized",
		  test_trailing_and_oversized),
		T("/hostile/input/empty-value", test_empty_value),
		T("/hostile/input/socket-mode", test_socket_mode),
		T("/hostile/input/escapes", test_escapes),
		T("/hostile/input/periph-bad-number", test_periph_bad_number),
		T("/hostile/input/no-system-bus", test_no_system_bus),
		T("/hostile/input/scan-usage", test_scan_usage),
		T("/hostile/input/key-files", test_key_files),
		T("/hostile/input/app-as-flash", test_app_as_flash),
		T("/hostile/state/pending-repush-confirms",
		  test_pending_repush),
		T("/hostile/state/same-as-failed-force",
		  test_same_as_failed_force),
		T("/hostile/state/status-nothing-bootable",
		  test_status_nothing_bootable),
		T("/hostile/input/flash-info-files", test_flash_info_files),
		T("/hostile/input/image-verify-messages",
		  test_image_verify_messages),
#undef T
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("hostile", tests, setup, teardown);
	tmpdir_cleanup();
	return rc;
}
