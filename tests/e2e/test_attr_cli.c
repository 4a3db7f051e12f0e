/* SPDX-License-Identifier: MIT */
/*
 * `bleota info` and `bleota status` read the device's attributes with
 * protocol/info.h's decoder: a scripted device on a UNIX SEQPACKET socket
 * serves INFO and STATUS bytes made by the encoder (the CLI shows every
 * field), or garbled ones (the CLI names the attribute and fails, instead
 * of showing what it read before the bad entry).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "protocol/frame.h"
#include "protocol/info.h"
#include "tests/harness/e2e.h"
#include "tests/harness/tmpdir.h"

struct fake {
	pid_t pid;
	char sock[300];
};

/*
 * Serve one connection: READ of attribute 1 or 2 is answered from @info or
 * @status in pages of at most 200 bytes; anything else is ignored.
 */
static void serve(int lfd, const uint8_t *info, size_t ilen,
		  const uint8_t *status, size_t slen)
{
	uint8_t in[600], out[256];
	int fd = accept(lfd, NULL, NULL);
	ssize_t n;

	while (fd >= 0 && (n = recv(fd, in, sizeof(in), 0)) > 0) {
		const uint8_t *a = in[2] == OTA_ATTR_INFO ? info : status;
		size_t len = in[2] == OTA_ATTR_INFO ? ilen : slen, off, k;

		if (in[0] != OTA_OP_READ || n != OTA_READ_REQ_LEN)
			continue;
		off = ota_get_le16(in + 3);
		k = len - off < 200 ? len - off : 200;
		out[0] = OTA_OP_READ | OTA_OP_RSP_BIT;
		out[1] = in[1];
		out[2] = 0;
		ota_put_le16(out + 3, (uint16_t)len);
		memcpy(out + OTA_READ_RSP_HDR, a + off, k);
		if (send(fd, out, OTA_READ_RSP_HDR + k, MSG_NOSIGNAL) < 0)
			break;
	}
	_exit(0);
}

static void fake_start(struct fake *f, const char *tag, const uint8_t *info,
		       size_t ilen, const uint8_t *status, size_t slen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

	assert_true(lfd >= 0);
	tmpdir_path(f->sock, sizeof(f->sock), tag);
	unlink(f->sock);
	assert_true(strlen(f->sock) < sizeof(sa.sun_path));
	strcpy(sa.sun_path, f->sock);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0)
		serve(lfd, info, ilen, status, slen);
	close(lfd);
}

static void fake_stop(struct fake *f)
{
	int st;

	kill(f->pid, SIGTERM);
	waitpid(f->pid, &st, 0);
	unlink(f->sock);
}

static void sample(struct ota_info_attr *i, struct ota_status_attr *s)
{
	memset(i, 0, sizeof(*i));
	i->proto_version = 1;
	i->max_value = 244;
	i->window = 32768;
	i->dev.slot_size = 1048576;
	i->dev.chip_id = 5;
	strcpy(i->dev.run_version, "7.7.7");
	strcpy(i->dev.run_project, "fakedev");
	i->dev.run_secure_version = 3;
	i->dev.run_slot = 1;
	i->dev.caps = OTA_CAP_RESUME | OTA_CAP_ROLLBACK | OTA_CAP_SIGNED;
	memset(i->dev.trusted_keys[0], 0xab, 32);
	i->dev.n_trusted_keys = 1;
	memset(s, 0, sizeof(*s));
	s->rx_state = 1;
	s->has_session = true;
	s->image_size = 5000;
	s->held = 4096;
	s->dev.run_slot = 1;
	s->dev.run_state = 2;
	s->dev.other_state = 0xffffffffu;
	strcpy(s->dev.run_version, "7.7.7");
	strcpy(s->dev.last_boot, "rolled back: not confirmed");
}

static void test_attrs_shown(void **state)
{
	struct ota_info_attr i;
	struct ota_status_attr s;
	uint8_t ib[256], sb[256];
	char out[4096];
	struct fake f;
	int il, sl;

	(void)state;
	sample(&i, &s);
	il = ota_info_encode(ib, sizeof(ib), &i);
	sl = ota_status_attr_encode(sb, sizeof(sb), &s);
	assert_true(il > 0 && sl > 0);
	fake_start(&f, "good.sock", ib, (size_t)il, sb, (size_t)sl);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "info --json unix:%s", f.sock), 0);
	assert_non_null(strstr(out, "\"running_slot\":1,\"version\":\"7.7.7\","
				    "\"project\":\"fakedev\","
				    "\"secure_version\":3,"
				    "\"slot_size\":1048576,\"rollback\":true,"
				    "\"max_value\":244,\"signed_only\":true,"
				    "\"trusted_keys\":[\"abababab"));
	fake_stop(&f);
	fake_start(&f, "good2.sock", ib, (size_t)il, sb, (size_t)sl);
	assert_int_equal(
		e2e_bleota(out, sizeof(out), "status --json unix:%s", f.sock),
		0);
	assert_non_null(strstr(out, "\"session\":\"receiving\","
				    "\"held\":4096,\"image_size\":5000,"));
	assert_non_null(strstr(out, "\"last_boot\":\"rolled back: not "
				    "confirmed\""));
	fake_stop(&f);
}

static void test_malformed_refused(void **state)
{
	/* SLOT_SIZE of 2 bytes: a u32 of the wrong width */
	static const uint8_t bad_info[] = { 0x01, 1, 1, 0x04, 2, 0, 0x10 };
	/* an entry that runs past the end */
	static const uint8_t bad_status[] = { 0x01, 1, 0, 0x07, 9, '1' };
	struct ota_info_attr i;
	struct ota_status_attr s;
	uint8_t ib[256];
	char out[4096];
	struct fake f;
	int il;

	(void)state;
	sample(&i, &s);
	il = ota_info_encode(ib, sizeof(ib), &i);
	fake_start(&f, "bad.sock", bad_info, sizeof(bad_info), bad_status,
		   sizeof(bad_status));
	assert_int_equal(e2e_bleota(out, sizeof(out), "info unix:%s", f.sock),
			 1);
	assert_non_null(strstr(out, "its INFO attribute is malformed"));
	fake_stop(&f);
	fake_start(&f, "bad2.sock", ib, (size_t)il, bad_status,
		   sizeof(bad_status));
	assert_int_equal(e2e_bleota(out, sizeof(out), "status unix:%s", f.sock),
			 1);
	assert_non_null(strstr(out, "its STATUS attribute is malformed"));
	fake_stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "/attr-cli/info-and-status-shown", test_attrs_shown, NULL,
		  NULL, NULL },
		{ "/attr-cli/malformed-refused", test_malformed_refused, NULL,
		  NULL, NULL },
	};
	int rc;

	e2e_init();
	rc = cmocka_run_group_tests_name("attr-cli", tests, NULL, NULL);
	tmpdir_cleanup();
	return rc;
}
