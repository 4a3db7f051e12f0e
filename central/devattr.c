/* SPDX-License-Identifier: MIT */
/*
 * Device attributes and errors for the commands that talk to a device.
 *
 * The INFO and STATUS attributes are protocol/info.h's; parse_info() and
 * parse_status() copy what the CLI shows. read_info()/read_status() READ
 * them over a client and decode them; a garbled value is a protocol error,
 * never half-used. Every failure (no connection, lost connection, a status
 * from the device) becomes one report_error() message that names what
 * happened and what to do, with the exit code from commands.h that
 * exit_for_status() maps the device status to.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "central/commands.h"
#include "central/devattr.h"
#include "central/report.h"
#include "protocol/frame.h"
#include "protocol/status.h"

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
	memcpy(d->tag, a.dev.run_tag, sizeof(d->tag));
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
	memcpy(d->tag, a.dev.run_tag, sizeof(d->tag));
	return r;
}

void slot_name(char *buf, size_t cap, int slot)
{
	if (slot < 0)
		snprintf(buf, cap, "no slot");
	else
		snprintf(buf, cap, "ota_%d", slot);
}

void human_size(char *out, size_t cap, uint64_t v)
{
	if (v >= 1024 * 1024)
		snprintf(out, cap, "%.2f MiB", (double)v / (1024.0 * 1024.0));
	else if (v >= 1024)
		snprintf(out, cap, "%.1f KiB", (double)v / 1024.0);
	else
		snprintf(out, cap, "%llu B", (unsigned long long)v);
}

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
int device_error(const char *device, const char *doing,
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
	if (ev->status == OTA_STATUS_BUSY) {
		/* BUSY's detail says whether the other client is updating */
		snprintf(what, sizeof(what), "%s refused while %s: %s", device,
			 doing,
			 ev->detail ? "another client is updating the device"
				    : "another client is connected to the "
				      "device (no update in progress)");
		report_error(BLEOTA_EXIT_REFUSED, "BUSY", what,
			     ev->detail ? "wait for that update to end, then "
					  "run the same command again"
					: "the device drops a client that "
					  "stays silent for its idle timeout; "
					  "run the same command again");
		return BLEOTA_EXIT_REFUSED;
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
		     ev->status == OTA_STATUS_SAME_AS_FAILED
			     ? "if it failed for another reason than the "
			       "image (a power cut during its trial boot, a "
			       "missed confirmation), push it again with "
			       "--force; otherwise fix the image"
			     : ota_status_hint(ev->status));
	return code;
}

int connect_error(const char *device, int err)
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
	else if (err == -ETIMEDOUT)
		hint = "the daemon accepts no connections (its queue stayed "
		       "full): is it stopped or hung? "
		       "$BLEOTA_CONNECT_TIMEOUT sets the wait in seconds";
	else
		hint = "check the device path and permissions";
	snprintf(what, sizeof(what), "cannot connect to %s: %s", device,
		 strerror(-err));
	report_error(BLEOTA_EXIT_TRANSPORT, "CONNECT", what, hint);
	return BLEOTA_EXIT_TRANSPORT;
}

int lost_error(const char *device, const char *doing)
{
	char what[256];

	snprintf(what, sizeof(what), "%s: the connection was lost while %s",
		 device, doing);
	report_error(BLEOTA_EXIT_TRANSPORT, "DISCONNECTED", what,
		     "run the same command again: a push resumes where the "
		     "device is");
	return BLEOTA_EXIT_TRANSPORT;
}

bool busy_quiet;
uint32_t busy_detail;

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
	if (done.err == -EREMOTEIO && done.status == OTA_STATUS_BUSY &&
	    busy_quiet) {
		busy_detail = done.detail;
		return BUSY_RETRY;
	}
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

int read_info(struct client *c, const char *device, struct dev_info *i)
{
	uint8_t buf[OTA_ATTR_MAX_LEN];
	size_t len;
	int r = read_attr(c, device, OTA_ATTR_INFO, buf, &len);

	if (!r && parse_info(buf, len, i))
		return malformed(device, "INFO");
	return r;
}

int read_status(struct client *c, const char *device, struct dev_status *s)
{
	uint8_t buf[OTA_ATTR_MAX_LEN];
	size_t len;
	int r = read_attr(c, device, OTA_ATTR_STATUS, buf, &len);

	if (!r && parse_status(buf, len, s))
		return malformed(device, "STATUS");
	return r;
}
