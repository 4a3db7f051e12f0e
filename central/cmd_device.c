/* SPDX-License-Identifier: MIT */
/*
 * The small commands that talk to a device: info, status, confirm,
 * rollback, reboot, abort (one handler, cmd_device(), picked by argv[0]).
 *
 * info and status READ an attribute and print it, as text or as one JSON
 * line (--json); the others send one request and report its outcome.
 * Reading attributes and explaining failures are shared with push
 * (devattr.c).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "central/client.h"
#include "central/commands.h"
#include "central/devattr.h"
#include "central/report.h"
#include "ota_engine/image.h"
#include "ota_engine/otadata.h"
#include "host/hlog.h"
#include "protocol/frame.h"
#include "protocol/receiver.h"
#include "protocol/status.h"

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

/*
 * The version tag as a JSON member: ,"tag":"v1" or ,"tag":null (none
 * stored); nothing at all when the device does not store tags (@stores).
 */
static void json_tag(char *out, size_t cap, const char *tag, bool stores)
{
	char esc[6 * OTA_INFO_TAG_MAX + 8]; /* json_escape() wants 7 spare */

	out[0] = '\0';
	if (!stores)
		return;
	if (!tag[0]) {
		snprintf(out, cap, ",\"tag\":null");
		return;
	}
	json_escape(esc, sizeof(esc), tag);
	snprintf(out, cap, ",\"tag\":\"%s\"", esc);
}

/* The human line for a tag: its text, or what "no tag" means here. */
static const char *tag_text(const char *tag, bool stores)
{
	if (!stores)
		return "not stored (the device's firmware keeps no tags)";
	if (!tag[0])
		return "none (the running image was installed without a tag)";
	return tty_text(tag);
}

static void print_info(const struct dev_info *i)
{
	char slot[16], size[32], esc[2][80], keys[256];
	char tag[6 * OTA_INFO_TAG_MAX + 24];
	bool stores = i->caps & OTA_CAP_TAG;

	if (report_mode() == REPORT_JSON) {
		json_escape(esc[0], sizeof(esc[0]), i->version);
		json_escape(esc[1], sizeof(esc[1]), i->project);
		key_list(keys, sizeof(keys), i, ",", "\"");
		json_tag(tag, sizeof(tag), i->tag, stores);
		printf("{\"event\":\"info\",\"protocol\":%u,\"chip\":\"%s\","
		       "\"chip_id\":%u,\"running_slot\":%d,\"version\":\"%s\","
		       "\"project\":\"%s\",\"secure_version\":%u,"
		       "\"slot_size\":%u,\"rollback\":%s,\"max_value\":%u,"
		       "\"signed_only\":%s,\"trusted_keys\":[%s]%s}\n",
		       i->proto, ota_image_chip_name(i->chip_id), i->chip_id,
		       i->slot, esc[0], esc[1], i->secure_version, i->slot_size,
		       i->caps & OTA_CAP_ROLLBACK ? "true" : "false",
		       i->max_value,
		       i->caps & OTA_CAP_SIGNED ? "true" : "false", keys, tag);
		return;
	}
	slot_name(slot, sizeof(slot), i->slot);
	human_size(size, sizeof(size), i->slot_size);
	printf("chip:            %s\n", ota_image_chip_name(i->chip_id));
	printf("running:         %s %s (%s)\n", tty_text(i->project),
	       tty_text(i->version), slot);
	printf("version tag:     %s\n", tag_text(i->tag, stores));
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
	char slot[16], esc[2][160], tag[6 * OTA_INFO_TAG_MAX + 24];

	if (report_mode() == REPORT_JSON) {
		json_escape(esc[0], sizeof(esc[0]), s->run_version);
		json_escape(esc[1], sizeof(esc[1]), s->last_detail);
		/* STATUS has no caps: "none" and "not stored" read alike */
		json_tag(tag, sizeof(tag), s->tag, true);
		printf("{\"event\":\"status\",\"running_slot\":%d,"
		       "\"version\":\"%s\",\"state\":\"%s\","
		       "\"other_state\":\"%s\",\"session\":\"%s\","
		       "\"held\":%u,\"image_size\":%u,\"last_result\":\"%s\","
		       "\"last_boot\":\"%s\"%s}\n",
		       s->run_slot, esc[0], ota_otadata_state_str(s->run_state),
		       ota_otadata_state_str(s->other_state),
		       ota_rx_state_name(s->rx_state), s->held, s->image_size,
		       ota_status_name((uint8_t)s->last_status), esc[1], tag);
		return;
	}
	slot_name(slot, sizeof(slot), s->run_slot);
	/* the wire says 0xff for both the factory app and nothing */
	if (s->run_slot < 0 && !s->run_version[0])
		printf("running:         nothing (no bootable app)\n");
	else if (s->run_slot < 0)
		printf("running:         factory %s\n",
		       tty_text(s->run_version));
	else
		printf("running:         %s %s, %s\n", slot,
		       tty_text(s->run_version),
		       ota_otadata_state_str(s->run_state));
	printf("version tag:     %s\n", s->tag[0] ? tty_text(s->tag) : "none");
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
		printf("last boot:       %s\n", tty_text(s->last_detail));
}

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
		if (!r && st.run_slot < 0 && !st.run_version[0]) {
			char what[300];

			snprintf(what, sizeof(what),
				 "%s: nothing bootable: no valid app in any "
				 "slot",
				 device);
			report_error(BLEOTA_EXIT_FAIL, "NOTHING_BOOTABLE", what,
				     "push an image to it: 'bleota push "
				     "DEVICE FILE'");
			r = BLEOTA_EXIT_FAIL;
		}
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
