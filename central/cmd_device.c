/* SPDX-License-Identifier: MIT */
/*
 * The commands that talk to a device: push, and the small ones (info,
 * status, confirm, rollback, reboot, abort).
 *
 * push checks the file locally before connecting (an invalid image never
 * leaves the host), builds the manifest from the image's own header and
 * app descriptor, shows what the device runs, sends, and on a dropped
 * connection reconnects and resumes (bounded). Every failure names what
 * happened and what to do, and picks an exit code from commands.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "central/bluez.h"
#include "central/client.h"
#include "central/commands.h"
#include "host/fileutil.h"
#include "central/manifest.h"
#include "central/report.h"
#include "ota_engine/image.h"
#include "ota_engine/otadata.h"
#include "host/hlog.h"
#include "host/pump.h"
#include "protocol/frame.h"
#include "protocol/receiver.h"
#include "protocol/status.h"

/* ---- device attributes ---------------------------------------------------- */

struct dev_info {
	unsigned int proto;
	uint32_t slot_size;
	uint16_t chip_id;
	char version[33];
	char project[33];
	uint32_t secure_version;
	int slot;
	uint32_t caps;
	uint32_t window;
	unsigned int max_value;
	uint8_t keys[OTA_INFO_MAX_KEYS][OTA_SHA256_LEN]; /* trusted keys */
	unsigned int nkeys;
};

struct dev_status {
	unsigned int rx_state;
	uint32_t image_size;
	uint32_t held;
	bool has_session;
	int run_slot;
	uint32_t run_state;
	uint32_t other_state;
	char run_version[33];
	unsigned int last_status;
	char last_detail[80];
};

/* The attributes are protocol/info.h's; these copy what the CLI shows. */
static int parse_info(const uint8_t *buf, size_t len, struct dev_info *d)
{
	struct ota_info_attr a;
	int r = ota_info_decode(buf, len, &a);

	memset(d, 0, sizeof(*d));
	d->proto = a.proto_version;
	d->max_value = a.max_value;
	d->window = a.window;
	d->slot_size = a.dev.slot_size;
	d->chip_id = a.dev.chip_id;
	memcpy(d->version, a.dev.run_version, sizeof(d->version));
	memcpy(d->project, a.dev.run_project, sizeof(d->project));
	d->secure_version = a.dev.run_secure_version;
	d->slot = a.dev.run_slot == 0xff ? -1 : a.dev.run_slot;
	d->caps = a.dev.caps;
	d->nkeys = a.dev.n_trusted_keys;
	memcpy(d->keys, a.dev.trusted_keys, sizeof(d->keys));
	return r;
}

static int parse_status(const uint8_t *buf, size_t len, struct dev_status *d)
{
	struct ota_status_attr a;
	int r = ota_status_attr_decode(buf, len, &a);

	memset(d, 0, sizeof(*d));
	d->rx_state = a.rx_state;
	d->image_size = a.image_size;
	d->held = a.held;
	d->has_session = a.has_session;
	d->run_slot = a.dev.run_slot == 0xff ? -1 : a.dev.run_slot;
	d->run_state = a.dev.run_state;
	d->other_state = a.dev.other_state;
	memcpy(d->run_version, a.dev.run_version, sizeof(d->run_version));
	d->last_status = a.last_status;
	snprintf(d->last_detail, sizeof(d->last_detail), "%s", a.dev.last_boot);
	return r;
}

static void slot_name(char *buf, size_t cap, int slot)
{
	if (slot < 0)
		snprintf(buf, cap, "no slot");
	else
		snprintf(buf, cap, "ota_%d", slot);
}

static void human_size(char *out, size_t cap, uint64_t v)
{
	if (v >= 1024 * 1024)
		snprintf(out, cap, "%.2f MiB", (double)v / (1024.0 * 1024.0));
	else if (v >= 1024)
		snprintf(out, cap, "%.1f KiB", (double)v / 1024.0);
	else
		snprintf(out, cap, "%llu B", (unsigned long long)v);
}

/* ---- errors --------------------------------------------------------------- */

static int exit_for_status(uint8_t st)
{
	switch (st) {
	case OTA_STATUS_TOO_LARGE:
	case OTA_STATUS_WRONG_CHIP:
	case OTA_STATUS_DOWNGRADE:
	case OTA_STATUS_SAME_AS_FAILED:
	case OTA_STATUS_SAME_AS_RUNNING:
	case OTA_STATUS_PENDING_CONFIRM:
	case OTA_STATUS_REBOOT_REQUIRED:
	case OTA_STATUS_NO_SLOT:
	case OTA_STATUS_SIGNATURE_REQUIRED:
	case OTA_STATUS_BAD_SIGNATURE:
	case OTA_STATUS_UNTRUSTED_KEY:
	case OTA_STATUS_BUSY:
		return BLEOTA_EXIT_REFUSED;
	case OTA_STATUS_HASH_MISMATCH:
	case OTA_STATUS_BAD_IMAGE:
	case OTA_STATUS_MANIFEST_MISMATCH:
		return BLEOTA_EXIT_VERIFY;
	case OTA_STATUS_TIMEOUT:
	case OTA_STATUS_BLOCK_RETRIES:
		return BLEOTA_EXIT_TRANSPORT;
	default:
		return BLEOTA_EXIT_FAIL;
	}
}

/* Explain a device status; @img may be NULL outside push. */
static int device_error(const char *device, const char *doing,
			const struct ota_tx_event *ev,
			const struct ota_image_verify *img)
{
	char what[512], extra[160] = "", a[32], b[32];
	int code;

	if (ev->err == -ETIMEDOUT) {
		snprintf(what, sizeof(what),
			 "%s: the device stopped responding while %s", device,
			 doing);
		report_error(BLEOTA_EXIT_TRANSPORT, "TIMEOUT", what,
			     "check that it is powered and in range, then run "
			     "the same command again: a push resumes where it "
			     "stopped");
		return BLEOTA_EXIT_TRANSPORT;
	}
	if (ev->err != -EREMOTEIO) {
		snprintf(what, sizeof(what), "%s: protocol error while %s (%s)",
			 device, doing, strerror(-ev->err));
		report_error(BLEOTA_EXIT_FAIL, "PROTOCOL", what,
			     "check that bleota and the device firmware are "
			     "compatible versions");
		return BLEOTA_EXIT_FAIL;
	}
	switch (ev->status) {
	case OTA_STATUS_TOO_LARGE:
		human_size(a, sizeof(a), img ? img->info.image_len : 0);
		human_size(b, sizeof(b), ev->detail);
		snprintf(extra, sizeof(extra), " (%s image, %s slot)", a, b);
		break;
	case OTA_STATUS_WRONG_CHIP:
		snprintf(extra, sizeof(extra),
			 " (image for %s, the device is %s)",
			 img ? ota_image_chip_name(img->info.chip_id) : "?",
			 ota_image_chip_name((uint16_t)ev->detail));
		break;
	case OTA_STATUS_DOWNGRADE:
		snprintf(extra, sizeof(extra),
			 " (image secure_version %u, device requires %u)",
			 img ? img->info.desc.secure_version : 0, ev->detail);
		break;
	default:
		break;
	}
	code = exit_for_status(ev->status);
	snprintf(what, sizeof(what), "%s %s while %s: %s%s", device,
		 code == BLEOTA_EXIT_REFUSED ? "refused" : "failed", doing,
		 ota_status_str(ev->status), extra);
	report_error(code, ota_status_name(ev->status), what,
		     ota_status_hint(ev->status));
	return code;
}

static int connect_error(const char *device, int err)
{
	const char *why = client_last_error();
	char what[640];
	const char *hint;

	if (err == -EINVAL) {
		snprintf(what, sizeof(what),
			 "%s: no socket path after unix:", device);
		report_error(BLEOTA_EXIT_USAGE, "USAGE", what,
			     "give the socket of a bleota-peripheral, e.g. "
			     "unix:/run/bleota.sock");
		return BLEOTA_EXIT_USAGE;
	}
	if (why && *why) {
		/* Bluetooth: the message already says what to do */
		report_error(BLEOTA_EXIT_TRANSPORT, "CONNECT", why, "");
		return BLEOTA_EXIT_TRANSPORT;
	}
	if (err == -ENOENT || err == -ECONNREFUSED)
		hint = "is bleota-peripheral running? start it with "
		       "'bleota-peripheral --flash FILE --listen unix:PATH'";
	else
		hint = "check the device path and permissions";
	snprintf(what, sizeof(what), "cannot connect to %s: %s", device,
		 strerror(-err));
	report_error(BLEOTA_EXIT_TRANSPORT, "CONNECT", what, hint);
	return BLEOTA_EXIT_TRANSPORT;
}

static int lost_error(const char *device, const char *doing)
{
	char what[256];

	snprintf(what, sizeof(what), "%s: the connection was lost while %s",
		 device, doing);
	report_error(BLEOTA_EXIT_TRANSPORT, "DISCONNECTED", what,
		     "run the same command again: a push resumes where the "
		     "device is");
	return BLEOTA_EXIT_TRANSPORT;
}

/* ---- reading attributes ----------------------------------------------------- */

static int read_attr(struct client *c, const char *device, uint8_t attr,
		     uint8_t *buf, size_t *len)
{
	struct ota_tx tx;
	struct ota_tx_event done;
	const uint8_t *d;
	int r;

	r = client_request(c, &tx, OTA_OP_READ, attr, &done);
	if (r == -ENOTCONN)
		return lost_error(device, "reading its state");
	if (r)
		return BLEOTA_EXIT_FAIL;
	if (done.err)
		return device_error(device, "reading its state", &done, NULL);
	d = ota_tx_read_data(&tx, len);
	memcpy(buf, d, *len);
	return BLEOTA_EXIT_OK;
}

/* A device that sends a garbled attribute: nothing it says can be used. */
static int malformed(const char *device, const char *attr)
{
	char what[256];

	snprintf(what, sizeof(what), "%s: its %s attribute is malformed",
		 device, attr);
	report_error(BLEOTA_EXIT_FAIL, "PROTOCOL", what,
		     "the device's firmware and bleota disagree on the "
		     "protocol: update one of them");
	return BLEOTA_EXIT_FAIL;
}

static int read_info(struct client *c, const char *device, struct dev_info *i)
{
	uint8_t buf[256];
	size_t len;
	int r = read_attr(c, device, OTA_ATTR_INFO, buf, &len);

	if (!r && parse_info(buf, len, i))
		return malformed(device, "INFO");
	return r;
}

static int read_status(struct client *c, const char *device,
		       struct dev_status *s)
{
	uint8_t buf[256];
	size_t len;
	int r = read_attr(c, device, OTA_ATTR_STATUS, buf, &len);

	if (!r && parse_status(buf, len, s))
		return malformed(device, "STATUS");
	return r;
}

/* "ab12cd34…, …": the first 8 hex digits of each trusted key digest */
static void key_list(char *out, size_t cap, const struct dev_info *i,
		     const char *sep, const char *quote)
{
	size_t len = 0;
	unsigned int k, b;

	out[0] = '\0';
	for (k = 0; k < i->nkeys && len < cap; k++) {
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
					k ? sep : "", quote);
		for (b = 0; b < OTA_SHA256_LEN && len < cap; b++)
			len += (size_t)snprintf(out + len, cap - len, "%02x",
						i->keys[k][b]);
		if (len < cap)
			len += (size_t)snprintf(out + len, cap - len, "%s",
						quote);
	}
}

static void print_info(const struct dev_info *i)
{
	char slot[16], size[32], esc[2][80], keys[256];

	if (report_mode() == REPORT_JSON) {
		json_escape(esc[0], sizeof(esc[0]), i->version);
		json_escape(esc[1], sizeof(esc[1]), i->project);
		key_list(keys, sizeof(keys), i, ",", "\"");
		printf("{\"event\":\"info\",\"protocol\":%u,\"chip\":\"%s\","
		       "\"chip_id\":%u,\"running_slot\":%d,\"version\":\"%s\","
		       "\"project\":\"%s\",\"secure_version\":%u,"
		       "\"slot_size\":%u,\"rollback\":%s,\"max_value\":%u,"
		       "\"signed_only\":%s,\"trusted_keys\":[%s]}\n",
		       i->proto, ota_image_chip_name(i->chip_id), i->chip_id,
		       i->slot, esc[0], esc[1], i->secure_version, i->slot_size,
		       i->caps & OTA_CAP_ROLLBACK ? "true" : "false",
		       i->max_value,
		       i->caps & OTA_CAP_SIGNED ? "true" : "false", keys);
		return;
	}
	slot_name(slot, sizeof(slot), i->slot);
	human_size(size, sizeof(size), i->slot_size);
	printf("chip:            %s\n", ota_image_chip_name(i->chip_id));
	printf("running:         %s %s (%s)\n", i->project, i->version, slot);
	printf("secure_version:  %u\n", i->secure_version);
	printf("update slot:     %s\n", size);
	printf("rollback:        %s\n", i->caps & OTA_CAP_ROLLBACK
						? "enabled (new images must be "
						  "confirmed)"
						: "disabled");
	if (!(i->caps & OTA_CAP_SIGNED))
		printf("signed images:   optional\n");
	else if (!i->nkeys)
		printf("signed images:   required (block 0 key of the running "
		       "app)\n");
	else {
		key_list(keys, sizeof(keys), i, "\n                 ", "");
		printf("signed images:   required, trusted key digests:\n"
		       "                 %s\n",
		       keys);
	}
	printf("protocol:        bleota %u, values up to %u bytes\n", i->proto,
	       i->max_value);
}

static void print_status(const struct dev_status *s)
{
	char slot[16], esc[2][160];

	if (report_mode() == REPORT_JSON) {
		json_escape(esc[0], sizeof(esc[0]), s->run_version);
		json_escape(esc[1], sizeof(esc[1]), s->last_detail);
		printf("{\"event\":\"status\",\"running_slot\":%d,"
		       "\"version\":\"%s\",\"state\":\"%s\","
		       "\"other_state\":\"%s\",\"session\":\"%s\","
		       "\"held\":%u,\"image_size\":%u,\"last_result\":\"%s\","
		       "\"last_boot\":\"%s\"}\n",
		       s->run_slot, esc[0], ota_otadata_state_str(s->run_state),
		       ota_otadata_state_str(s->other_state),
		       ota_rx_state_name(s->rx_state), s->held, s->image_size,
		       ota_status_name((uint8_t)s->last_status), esc[1]);
		return;
	}
	slot_name(slot, sizeof(slot), s->run_slot);
	printf("running:         %s %s, %s\n", slot, s->run_version,
	       ota_otadata_state_str(s->run_state));
	printf("other slot:      %s\n", ota_otadata_state_str(s->other_state));
	if (s->has_session)
		printf("update session:  %s, %u of %u bytes held\n",
		       ota_rx_state_name(s->rx_state), s->held, s->image_size);
	else
		printf("update session:  none\n");
	if (s->last_status)
		printf("last update:     %s: %s\n",
		       ota_status_name((uint8_t)s->last_status),
		       ota_status_str((uint8_t)s->last_status));
	if (s->last_detail[0])
		printf("last boot:       %s\n", s->last_detail);
}

/* ---- push --------------------------------------------------------------------- */

struct push {
	const char *device;
	const char *file;
	uint8_t *img;
	size_t len;
	struct ota_image_verify v;
	struct ota_manifest m;
	struct manifest_sig sig;
	uint8_t flags;
	bool reboot;
	bool confirm;
	unsigned int retries;
	size_t value_max;
	uint64_t t0;
	uint32_t first_held;
	bool begun;
	bool verified;
	uint64_t resent;
};

static void push_usage(FILE *fp)
{
	fprintf(fp,
		"usage: bleota push [OPTIONS] DEVICE FILE\n"
		"\n"
		"Send an ESP-IDF app image to DEVICE (a Bluetooth address or "
		"name, or\n"
		"unix:PATH for a local bleota-peripheral), have it verified, "
		"and\n"
		"select it for the next boot. An interrupted push resumes "
		"where the device is.\n"
		"\n"
		"  --no-commit     upload and verify only; keep the running "
		"image selected\n"
		"  --reboot        reboot the device into the new image after "
		"the commit\n"
		"  --confirm       reboot, check the new image runs, and "
		"confirm it\n"
		"  --force         install even if the device already runs "
		"this image\n"
		"  --fresh         start over instead of resuming a partial "
		"upload\n"
		"  --mtu N         use values of at most N-3 bytes "
		"(23..517)\n"
		"  --retries N     reconnect and resume up to N times after a "
		"lost link (3)\n"
		"  -i, --adapter hciN  the Bluetooth adapter to use\n"
		"  --no-acquire    Bluetooth: WriteValue and StartNotify "
		"instead of "
		"the\n"
		"                  AcquireWrite/AcquireNotify sockets "
		"(slower)\n"
		"  --json          one JSON object per line on stdout\n"
		"  -v              more detail on stderr; -vvv traces every "
		"PDU\n"
		"\n"
		"exit: 0 done, 2 usage, 3 invalid file, 4 refused by the "
		"device,\n"
		"      5 connection failed or lost, 6 verification failed, "
		"1 other\n");
}

static int load_image(struct push *p)
{
	char what[512], desc[200];
	int r;

	p->img = fileutil_read(p->file, OTA_MAX_IMAGE, &p->len);
	if (!p->img)
		return BLEOTA_EXIT_BAD_IMAGE;
	r = manifest_from_image(p->img, p->len, &p->v, &p->m, &p->sig);
	if (r == -EILSEQ) {
		snprintf(what, sizeof(what), "%s: not a valid app image: %s",
			 p->file,
			 ota_image_describe(&p->v, desc, sizeof(desc)));
		report_error(BLEOTA_EXIT_BAD_IMAGE, "BAD_IMAGE", what,
			     "nothing was sent; rebuild the image, 'bleota "
			     "image info FILE' shows its contents");
		return BLEOTA_EXIT_BAD_IMAGE;
	}
	if (r == -EBADMSG) {
		snprintf(what, sizeof(what),
			 "%s: ends in a signature sector with no valid block",
			 p->file);
		report_error(BLEOTA_EXIT_BAD_IMAGE, "BAD_SIGNATURE", what,
			     "nothing was sent; sign the image again with "
			     "'bleota image sign' ('bleota image info FILE' "
			     "shows each block)");
		return BLEOTA_EXIT_BAD_IMAGE;
	}
	if (r) {
		snprintf(what, sizeof(what),
			 "%s: %zu bytes follow the image's end (%u bytes)",
			 p->file, p->len - p->v.info.image_len,
			 p->v.info.image_len);
		report_error(BLEOTA_EXIT_BAD_IMAGE, "BAD_IMAGE", what,
			     "nothing was sent; push the app image itself, not "
			     "a merged or padded binary");
		return BLEOTA_EXIT_BAD_IMAGE;
	}
	return BLEOTA_EXIT_OK;
}

static void push_event(const struct ota_tx_event *ev, const struct ota_tx *tx,
		       void *user_data)
{
	struct push *p = user_data;
	const struct ota_tx_progress *pr = ota_tx_get_progress(tx);
	char fields[160], a[32], b[32];

	switch (ev->type) {
	case OTA_TX_EV_BEGUN:
		if (!p->begun)
			p->first_held = ev->value;
		p->begun = true;
		if (ev->value) {
			human_size(a, sizeof(a), ev->value);
			human_size(b, sizeof(b), pr->image_size);
			snprintf(fields, sizeof(fields),
				 "\"held\":%u,\"total\":%u", ev->value,
				 pr->image_size);
			report_event("resumed", fields,
				     "resuming: the device already holds %s of "
				     "%s",
				     a, b);
		} else {
			snprintf(fields, sizeof(fields),
				 "\"chunk\":%u,\"window\":%u", pr->chunk_size,
				 pr->window);
			report_event("started", fields,
				     "sending in %u-byte chunks, up to %u in "
				     "flight",
				     pr->chunk_size, pr->window);
		}
		break;
	case OTA_TX_EV_VERIFIED:
		report_progress(pr->image_size, pr->image_size);
		p->verified = true;
		report_event("verified", NULL,
			     "verified by the device (SHA-256 and image "
			     "format)");
		break;
	case OTA_TX_EV_COMMITTED:
		report_event("committed", NULL,
			     "committed: the device boots %s %s next",
			     p->m.project, p->m.version);
		break;
	case OTA_TX_EV_DONE:
		break;
	}
}

static void push_tick(const struct ota_tx *tx, void *user_data)
{
	const struct ota_tx_progress *pr = ota_tx_get_progress(tx);
	struct push *p = user_data;

	if (pr->image_size && pr->window && !p->verified)
		report_progress(pr->acked_bytes, pr->image_size);
}

/* One attempt on a fresh connection; *lost set if it dropped. */
static int push_attempt(struct push *p, bool *lost)
{
	struct ota_tx_cfg cfg = { 0 };
	struct ota_tx_event done;
	struct dev_info info;
	struct ota_tx tx;
	struct client *c;
	char fields[256], slot[16], size[32];
	int r;

	*lost = false;
	c = client_connect(p->device, p->value_max, &r);
	if (!c)
		return connect_error(p->device, r);
	r = read_info(c, p->device, &info);
	if (r) {
		*lost = r == BLEOTA_EXIT_TRANSPORT;
		client_free(c);
		return r;
	}
	if (!p->begun) {
		slot_name(slot, sizeof(slot), info.slot);
		human_size(size, sizeof(size), info.slot_size);
		snprintf(fields, sizeof(fields),
			 "\"device\":\"%s\",\"running\":\"%s\",\"slot\":%d",
			 p->device, info.version, info.slot);
		report_event("connected", fields,
			     "%s: %s, running %s %s (%s), update slot %s",
			     p->device, ota_image_chip_name(info.chip_id),
			     info.project, info.version, slot, size);
	}
	if (p->sig.region) {
		int b = manifest_pick_block(
			&p->sig, (const uint8_t(*)[OTA_SHA256_LEN])info.keys,
			info.nkeys, &p->m);

		if (!p->begun && b >= 0)
			hlog_dbg("sending signature block %d (%s)", b,
				 ota_sig_scheme_name(p->sig.blk[b].scheme));
		else if (!p->begun)
			hlog_info(
				"none of the image's signing keys is among the "
				"%u the device lists; sending the first block",
				info.nkeys);
	}
	cfg.max_value = client_value_max(c);
	if (info.max_value && info.max_value < cfg.max_value)
		cfg.max_value = info.max_value;
	cfg.first_token = client_token(c);
	if (ota_tx_init(&tx, &cfg) || ota_tx_push(&tx, p->img, p->m.image_size,
						  &p->m, p->flags, now_ms())) {
		client_free(c);
		report_error(BLEOTA_EXIT_FAIL, "INTERNAL",
			     "cannot start the push", "");
		return BLEOTA_EXIT_FAIL;
	}
	r = client_run(c, &tx, push_event, push_tick, p, &done);
	p->resent += ota_tx_get_progress(&tx)->resent_bytes;
	if (r == -ENOTCONN) {
		*lost = true;
		client_free(c);
		return BLEOTA_EXIT_TRANSPORT;
	}
	if (done.err) {
		client_free(c);
		if (done.err == -ETIMEDOUT)
			*lost = true;
		return device_error(p->device, "receiving the image", &done,
				    &p->v);
	}
	if (p->reboot || p->confirm) {
		struct ota_tx rt;

		r = client_request(c, &rt, OTA_OP_REBOOT, 0, &done);
		if (r == 0 && done.err)
			r = device_error(p->device, "rebooting", &done, NULL);
		else if (r)
			r = lost_error(p->device, "rebooting");
		if (!r) {
			report_event("rebooting", NULL,
				     "rebooting the device into the new image");
			client_wait_closed(c, 5000);
		}
		client_free(c);
		return r;
	}
	client_free(c);
	return BLEOTA_EXIT_OK;
}

/* After the reboot: reconnect, show what runs, confirm if asked. */
static int after_reboot(struct push *p)
{
	struct dev_status st;
	struct ota_tx_event done;
	struct ota_tx tx;
	struct client *c = NULL;
	char fields[200];
	int r, i;

	for (i = 0; i < 50 && !c; i++) {
		c = client_connect(p->device, p->value_max, &r);
		if (!c)
			usleep(100 * 1000);
	}
	if (!c)
		return connect_error(p->device, r);
	r = read_status(c, p->device, &st);
	if (r)
		goto out;
	snprintf(fields, sizeof(fields),
		 "\"slot\":%d,\"version\":\"%s\",\"state\":\"%s\"", st.run_slot,
		 st.run_version, ota_otadata_state_str(st.run_state));
	report_event("booted", fields, "the device runs ota_%d %s, %s",
		     st.run_slot, st.run_version,
		     ota_otadata_state_str(st.run_state));
	if (strcmp(st.run_version, p->m.version)) {
		char what[256];

		snprintf(what, sizeof(what),
			 "%s booted %s, not the pushed %s%s%s", p->device,
			 st.run_version, p->m.version,
			 st.last_detail[0] ? ": " : "", st.last_detail);
		report_error(BLEOTA_EXIT_FAIL, "NOT_RUNNING", what,
			     "the bootloader rejected the new image; check it "
			     "with 'bleota image verify'");
		r = BLEOTA_EXIT_FAIL;
		goto out;
	}
	if (!p->confirm)
		goto out;
	r = client_request(c, &tx, OTA_OP_CONFIRM, 0, &done);
	if (r) {
		r = lost_error(p->device, "confirming");
		goto out;
	}
	if (done.err && !(done.err == -EREMOTEIO &&
			  done.status == OTA_STATUS_NOTHING_PENDING)) {
		r = device_error(p->device, "confirming", &done, NULL);
		goto out;
	}
	r = read_status(c, p->device, &st);
	if (r)
		goto out;
	snprintf(fields, sizeof(fields), "\"state\":\"%s\"",
		 ota_otadata_state_str(st.run_state));
	report_event("confirmed", fields, "confirmed: ota_%d %s is %s",
		     st.run_slot, st.run_version,
		     ota_otadata_state_str(st.run_state));
out:
	client_free(c);
	return r;
}

int cmd_push(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-commit", no_argument, NULL, 'n' },
		{ "reboot", no_argument, NULL, 'r' },
		{ "confirm", no_argument, NULL, 'c' },
		{ "force", no_argument, NULL, 'f' },
		{ "fresh", no_argument, NULL, 'F' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "retries", required_argument, NULL, 'R' },
		{ "adapter", required_argument, NULL, 'i' },
		{ "no-acquire", no_argument, NULL, 'A' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct push p = { .flags = OTA_TX_F_COMMIT, .retries = 3 };
	bool json = false, lost;
	int c, verbose = HLOG_WARN, r, attempt;
	unsigned long v;
	char *end;
	double secs;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			client_set_adapter(optarg);
			break;
		case 'A':
			client_set_no_acquire(true);
			break;
		case 'n':
			p.flags &= (uint8_t)~OTA_TX_F_COMMIT;
			break;
		case 'r':
			p.reboot = true;
			break;
		case 'c':
			p.confirm = true;
			break;
		case 'f':
			p.flags |= OTA_TX_F_FORCE;
			break;
		case 'F':
			p.flags |= OTA_TX_F_FRESH;
			break;
		case 'm':
			v = strtoul(optarg, &end, 0);
			if (*end || v < OTA_MIN_MTU || v > OTA_MAX_MTU) {
				fprintf(stderr,
					"bleota: --mtu %s: use 23..517\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			p.value_max = ota_frame_value_max((uint16_t)v);
			break;
		case 'R':
			v = strtoul(optarg, &end, 0);
			if (*end || v > 100) {
				fprintf(stderr,
					"bleota: --retries %s: use 0..100\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			p.retries = (unsigned int)v;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			push_usage(stdout);
			return BLEOTA_EXIT_OK;
		default:
			push_usage(stderr);
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (optind + 2 != argc) {
		push_usage(stderr);
		return BLEOTA_EXIT_USAGE;
	}
	if ((p.reboot || p.confirm) && !(p.flags & OTA_TX_F_COMMIT)) {
		fprintf(stderr, "bleota: --reboot and --confirm need the "
				"commit: drop --no-commit\n");
		return BLEOTA_EXIT_USAGE;
	}
	hlog_init("bleota", verbose);
	report_init(json);
	p.device = argv[optind];
	p.file = argv[optind + 1];
	r = load_image(&p);
	if (r)
		goto out;

	p.t0 = now_ms();
	for (attempt = 0;; attempt++) {
		r = push_attempt(&p, &lost);
		if (!r || !lost || attempt >= (int)p.retries)
			break;
		report_event("reconnecting", NULL,
			     "connection lost; reconnecting to resume (%d of "
			     "%u)",
			     attempt + 1, p.retries);
		sleep(1);
	}
	if (r && lost && attempt > 0 && r == BLEOTA_EXIT_TRANSPORT &&
	    report_mode() != REPORT_JSON)
		lost_error(p.device, "sending the image");
	if (r)
		goto out;
	report_progress_end();
	secs = (double)(now_ms() - p.t0) / 1000.0;
	{
		char fields[200], sz[32], rate[32];
		uint64_t sent = p.len - p.first_held;

		human_size(sz, sizeof(sz), p.len);
		human_size(rate, sizeof(rate),
			   secs > 0 ? (uint64_t)((double)sent / secs) : 0);
		snprintf(fields, sizeof(fields),
			 "\"bytes\":%zu,\"seconds\":%.3f,\"resumed_from\":%u,"
			 "\"resent\":%llu,\"committed\":%s",
			 p.len, secs, p.first_held,
			 (unsigned long long)p.resent,
			 p.flags & OTA_TX_F_COMMIT ? "true" : "false");
		report_event("done", fields,
			     "pushed %s %s (%s) in %.1f s, %s/s%s%s",
			     p.m.project, p.m.version, sz, secs, rate,
			     p.first_held ? ", resumed" : "",
			     p.flags & OTA_TX_F_COMMIT
				     ? "; it boots next"
				     : "; not committed (--no-commit)");
	}
	if (p.reboot || p.confirm)
		r = after_reboot(&p);
out:
	free(p.img);
	return r;
}

/* ---- info, status, confirm, rollback, reboot, abort ----------------------- */

static void device_usage(FILE *fp, const char *cmd)
{
	fprintf(fp,
		"usage: bleota %s [--json] [--adapter hciN] [-v] DEVICE\n"
		"\n"
		"  info      what the device is and runs\n"
		"  status    boot state, update session, last outcome\n"
		"  confirm   keep the new image (PENDING_VERIFY -> VALID)\n"
		"  rollback  reject the running image; the previous one "
		"boots next\n"
		"  reboot    restart the device\n"
		"  abort     end the update session and drop the partial "
		"image\n"
		"\nDEVICE is a Bluetooth address or name, or unix:PATH.\n"
		"exit: 0 done, 4 refused, 5 no connection, 2 usage, 1 other\n",
		cmd);
}

int cmd_device(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "adapter", required_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		uint8_t op;
		const char *doing;
		const char *done;
	} ops[] = {
		{ "confirm", OTA_OP_CONFIRM, "confirming",
		  "confirmed: the running image is VALID" },
		{ "rollback", OTA_OP_ROLLBACK, "rolling back",
		  "rolled back: the previous image boots at the next reboot" },
		{ "reboot", OTA_OP_REBOOT, "rebooting", "the device reboots" },
		{ "abort", OTA_OP_ABORT, "aborting",
		  "update session ended; the partial image is dropped" },
	};
	const char *cmd = argv[0], *device;
	struct ota_tx_event done;
	struct ota_tx tx;
	struct client *c;
	bool json = false;
	int ch, verbose = HLOG_WARN, r = BLEOTA_EXIT_USAGE;
	size_t i;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'i':
			client_set_adapter(optarg);
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			device_usage(stdout, cmd);
			return BLEOTA_EXIT_OK;
		default:
			device_usage(stderr, cmd);
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		device_usage(stderr, cmd);
		return BLEOTA_EXIT_USAGE;
	}
	hlog_init("bleota", verbose);
	report_init(json);
	device = argv[optind];
	c = client_connect(device, 0, &r);
	if (!c)
		return connect_error(device, r);
	if (!strcmp(cmd, "info")) {
		struct dev_info info;

		r = read_info(c, device, &info);
		if (!r)
			print_info(&info);
		goto out;
	}
	if (!strcmp(cmd, "status")) {
		struct dev_status st;

		r = read_status(c, device, &st);
		if (!r)
			print_status(&st);
		goto out;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (strcmp(cmd, ops[i].name))
			continue;
		r = client_request(c, &tx, ops[i].op, 0, &done);
		if (r)
			r = lost_error(device, ops[i].doing);
		else if (done.err)
			r = device_error(device, ops[i].doing, &done, NULL);
		else
			report_event(ops[i].name, NULL, "%s", ops[i].done);
		goto out;
	}
	device_usage(stderr, cmd);
	r = BLEOTA_EXIT_USAGE;
out:
	client_free(c);
	return r;
}

/* ---- scan ------------------------------------------------------------------ */

int cmd_scan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "timeout", required_argument, NULL, 't' },
		{ "adapter", required_argument, NULL, 'i' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bluez_opts o = { .timeout_s = 10 };
	bool json = false;
	int ch, verbose = HLOG_WARN;
	unsigned long v;
	char *end;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "i:t:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			v = strtoul(optarg, &end, 0);
			if (*end || v < 1 || v > 3600) {
				fprintf(stderr,
					"bleota: --timeout %s: seconds, "
					"1..3600\n",
					optarg);
				return BLEOTA_EXIT_USAGE;
			}
			o.timeout_s = (unsigned int)v;
			break;
		case 'i':
			o.adapter = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			printf("usage: bleota scan [--timeout S] [--adapter "
			       "hciN] [--json]\n\nList Bluetooth devices "
			       "advertising the bleota service: address, "
			       "name, RSSI.\n");
			return BLEOTA_EXIT_OK;
		default:
			return BLEOTA_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: bleota scan [--timeout S] [--adapter "
				"hciN] [--json]\n");
		return BLEOTA_EXIT_USAGE;
	}
	hlog_init("bleota", verbose);
	return bluez_scan(&o, json);
}
