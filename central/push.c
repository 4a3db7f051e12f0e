/* SPDX-License-Identifier: MIT */
/*
 * bleota push DEVICE FILE: send an image to a device.
 *
 * push checks the file locally before connecting (an invalid image never
 * leaves the host), builds the manifest from the image's own header and
 * app descriptor, shows what the device runs, sends, and on a dropped
 * connection reconnects and resumes (bounded). A device busy with another
 * client is waited out (busy_quiet in devattr.h). After the transfer it
 * optionally reboots the device and confirms the new image. Every failure
 * names what happened and what to do (devattr.c) and picks an exit code
 * from commands.h.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "central/client.h"
#include "central/commands.h"
#include "central/devattr.h"
#include "host/fileutil.h"
#include "central/manifest.h"
#include "central/report.h"
#include "ota_engine/image.h"
#include "ota_engine/otadata.h"
#include "host/hlog.h"
#include "host/pump.h"
#include "protocol/frame.h"
#include "protocol/status.h"

struct push {
	const char *device;
	const char *file;
	uint8_t *img;
	size_t len;
	struct ota_image_verify v;
	struct ota_manifest m;
	struct manifest_sig sig;
	uint8_t flags;
	const char *tag; /* --tag, or NULL */
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
		"  --tag TAG       the version tag (1..128 bytes) the device "
		"stores with the\n"
		"                  image and reports while it runs "
		"(bleota:fw_tag in NVS)\n"
		"  --mtu N         use values of at most N-3 bytes "
		"(23..517)\n"
		"  --retries N     reconnect and resume up to N times after a "
		"lost link (3)\n"
		"  -i, --adapter hciN  the Bluetooth adapter to use\n"
		"  --write-value   Bluetooth: data through WriteValue, not "
		"the AcquireWrite\n"
		"                  socket (slower; AcquireWrite is the "
		"default)\n"
		"  --no-acquire    Bluetooth: no Acquire* sockets at all: "
		"WriteValue and\n"
		"                  StartNotify (slowest)\n"
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

#define PUSH_ALREADY (-1001) /* the image runs already: nothing to send */

/*
 * An earlier push of this image was cut between COMMIT and CONFIRM (the
 * CLI killed): the device runs it PENDING_VERIFY and would refuse another
 * BEGIN. Same project, version and secure_version as FILE: confirm it when
 * asked to (what the interrupted push was doing), else say how. The wire
 * carries no running-image hash, so these fields stand for identity.
 * Return: 0 to go on with the push, PUSH_ALREADY, or an exit code.
 */
static int pending_same(struct client *c, struct push *p,
			const struct dev_info *info)
{
	struct dev_status st;
	struct ota_tx_event done;
	struct ota_tx tx;
	char what[300], fields[200];
	int r = read_status(c, p->device, &st);

	if (r)
		return r;
	if (st.run_slot < 0 || st.run_state != OTA_IMG_PENDING_VERIFY ||
	    strcmp(st.run_version, p->m.version) ||
	    strcmp(info->project, p->m.project) ||
	    info->secure_version != p->m.secure_version)
		return 0;
	if (!p->confirm) {
		snprintf(what, sizeof(what),
			 "%s already runs %s %s (ota_%d) from an earlier push, "
			 "waiting for confirmation",
			 p->device, p->m.project, p->m.version, st.run_slot);
		report_error(BLEOTA_EXIT_REFUSED, "PENDING_CONFIRM", what,
			     "confirm it with 'bleota confirm DEVICE' (or "
			     "push again with --confirm), or reject it with "
			     "'bleota rollback DEVICE'");
		return BLEOTA_EXIT_REFUSED;
	}
	r = client_request(c, &tx, OTA_OP_CONFIRM, 0, &done);
	if (r)
		return lost_error(p->device, "confirming");
	if (done.err)
		return device_error(p->device, "confirming", &done, NULL);
	snprintf(fields, sizeof(fields), "\"slot\":%d,\"version\":\"%s\"",
		 st.run_slot, p->m.version);
	report_event("confirmed", fields,
		     "the device already ran %s %s (ota_%d) from an earlier "
		     "push, waiting for confirmation: confirmed, it is VALID",
		     p->m.project, p->m.version, st.run_slot);
	return PUSH_ALREADY;
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
	if (p->tag && !(info.caps & OTA_CAP_TAG)) {
		snprintf(fields, sizeof(fields),
			 "%s: its firmware does not store version tags (no "
			 "TAG capability in INFO)",
			 p->device);
		report_error(BLEOTA_EXIT_REFUSED, "NO_TAG", fields,
			     "nothing was sent; push without --tag, or update "
			     "the device's firmware to one that stores tags");
		client_free(c);
		return BLEOTA_EXIT_REFUSED;
	}
	if (!p->begun && !(p->flags & OTA_TX_F_FORCE)) {
		r = pending_same(c, p, &info);
		if (r) {
			client_free(c);
			return r;
		}
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

/* The push went through: the summary, then reboot and confirm if asked. */
static int finish_push(struct push *p)
{
	double secs;
	int r = BLEOTA_EXIT_OK;

	report_progress_end();
	secs = (double)(now_ms() - p->t0) / 1000.0;
	{
		char fields[200], sz[32], rate[32];
		uint64_t sent = p->len - p->first_held;

		human_size(sz, sizeof(sz), p->len);
		human_size(rate, sizeof(rate),
			   secs > 0 ? (uint64_t)((double)sent / secs) : 0);
		snprintf(fields, sizeof(fields),
			 "\"bytes\":%zu,\"seconds\":%.3f,\"resumed_from\":%u,"
			 "\"resent\":%llu,\"committed\":%s",
			 p->len, secs, p->first_held,
			 (unsigned long long)p->resent,
			 p->flags & OTA_TX_F_COMMIT ? "true" : "false");
		report_event("done", fields,
			     "pushed %s %s (%s) in %.1f s, %s/s%s%s",
			     p->m.project, p->m.version, sz, secs, rate,
			     p->first_held ? ", resumed" : "",
			     p->flags & OTA_TX_F_COMMIT
				     ? "; it boots next"
				     : "; not committed (--no-commit)");
	}
	if (p->reboot || p->confirm)
		r = after_reboot(p);
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
		{ "tag", required_argument, NULL, 'T' },
		{ "mtu", required_argument, NULL, 'm' },
		{ "retries", required_argument, NULL, 'R' },
		{ "adapter", required_argument, NULL, 'i' },
		{ "no-acquire", no_argument, NULL, 'A' },
		{ "write-value", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct push p = { .flags = OTA_TX_F_COMMIT, .retries = 3 };
	bool json = false, lost;
	int c, verbose = HLOG_WARN, r, attempt, busy;
	unsigned long v;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "i:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			client_set_adapter(optarg);
			break;
		case 'A':
			client_set_no_acquire(true);
			break;
		case 'W':
			client_set_write_value(true);
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
		case 'T':
			if (!*optarg || strlen(optarg) > OTA_TAG_MAX) {
				fprintf(stderr,
					"bleota: --tag: use 1..%u bytes (leave "
					"--tag out for an image without one)\n",
					OTA_TAG_MAX);
				return BLEOTA_EXIT_USAGE;
			}
			p.tag = optarg;
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
	if (p.tag) {
		p.m.tag = p.tag;
		p.m.tag_len = (uint16_t)strlen(p.tag);
	}

	p.t0 = now_ms();
	for (attempt = 0, busy = 0;; attempt++) {
		/* BUSY: wait 1, 2, 4, 8, 8... s, at most 8 times (~60 s) */
		busy_quiet = busy < 8;
		r = push_attempt(&p, &lost);
		if (r == BUSY_RETRY) {
			unsigned int wait = busy < 3 ? 1u << busy : 8u;

			report_event("busy", NULL,
				     "the device is busy: another client is "
				     "%s; trying again in %u s (%d of 8)",
				     busy_detail ? "updating it"
						 : "connected to it",
				     wait, busy + 1);
			busy++;
			attempt--;
			sleep(wait);
			continue;
		}
		if (!r || !lost || attempt >= (int)p.retries)
			break;
		report_event("reconnecting", NULL,
			     "connection lost; reconnecting to resume (%d of "
			     "%u)",
			     attempt + 1, p.retries);
		sleep(1);
	}
	if (r && lost && (attempt > 0 || !p.retries) &&
	    r == BLEOTA_EXIT_TRANSPORT && report_mode() != REPORT_JSON)
		lost_error(p.device, "sending the image");
	if (r == PUSH_ALREADY)
		r = BLEOTA_EXIT_OK;
	else if (r)
		goto out;
	else
		r = finish_push(&p);
out:
	free(p.img);
	return r;
}
