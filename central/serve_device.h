/* SPDX-License-Identifier: MIT */
/*
 * The gateway's narrow interface to one device: read its INFO, push an
 * image (reboot, confirm), list devices a Bluetooth adapter sees. This
 * phase implements it by running the bleota CLI itself as a child process
 * per operation (`bleota info --json`, `bleota push --json --confirm`,
 * `bleota scan --json`) and reading its JSON event lines from the GLib
 * main loop (docs/architecture.md, "bleota serve"). A crash or hang in one
 * operation never reaches the gateway, and the CLI's resume comes for free.
 */
#ifndef BLEOTA_CENTRAL_SERVE_DEVICE_H
#define BLEOTA_CENTRAL_SERVE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

struct serve_op;

struct serve_dev_cfg {
	const char *exe;     /* the bleota program (/proc/self/exe resolved) */
	const char *adapter; /* hciN, or NULL: BlueZ's default / unix: */
	int verbose;         /* pass -v to the children */
	/* push only: the image cache its delta bases come from and the
	 * images it delivers go to (`push --image-cache DIR`); NULL: the
	 * CLI's default. @full: `push --full`, the plain image. @force:
	 * `push --force`, install even the image the device runs (to store
	 * another version tag with it). */
	const char *image_cache;
	bool full;
	bool force;
};

/* What `bleota info --json` reports. */
struct serve_dev_info {
	char chip[24];
	unsigned int chip_id;
	char version[33]; /* the running app's esp_app_desc_t version */
	char project[33];
	char tag[129]; /* the stored version tag, if the device has one */
	bool has_tag;
	uint32_t slot_size;
	int running_slot;
	bool signed_only;   /* accepts only signed images */
	unsigned int nkeys; /* trusted key digests listed (INFO 0x0b) */
	char keys[3][65];   /* each in hex */
};

/* How an operation ended. */
struct serve_dev_result {
	int code; /* the CLI's exit status (docs/bleota.1.md); -1 killed */
	char status[40]; /* the device's status name from an error event */
	char message[512];
	char hint[256];
	bool resumed;
	uint32_t resumed_from;
	char booted[33]; /* the version that runs after the reboot */
	char state[24];  /* otadata state: after confirm, or from status */
	bool confirmed;
	struct serve_dev_info info; /* info: what was read */
	char last_boot[64];         /* status: the last_boot detail ("" none) */
	char run_version[33];       /* status: the running app's version */
	char run_tag[129];          /* status: its stored version tag, if any */
	bool has_run_tag;
	char encoding[12];  /* push: what the "done" event says was sent */
	uint64_t air_bytes; /* push: of it, bytes on the air */
};

/* One event line of a push: "plan" (encoding, air_total = bytes on the
 * air, total = image bytes, base), "progress" (bytes, total: image bytes;
 * air, air_total for a patch), "resumed" (bytes = held), "verified",
 * "committed", "rebooting", "booted", "confirmed", "reconnecting", ... */
struct serve_dev_event {
	const char *event;
	uint64_t bytes;
	uint64_t total;
	const char *message;
	const char *encoding; /* plan: "plain", "compressed", "delta" */
	const char *base;     /* plan, delta: "cache" or "file" */
	uint64_t air;
	uint64_t air_total;
};

typedef void (*serve_dev_event_cb_t)(const struct serve_dev_event *ev,
				     void *user_data);
typedef void (*serve_dev_done_cb_t)(const struct serve_dev_result *r,
				    void *user_data);
typedef void (*serve_dev_found_cb_t)(const char *address, const char *name,
				     void *user_data);

/**
 * serve_dev_info() - read @device's INFO. @done is called once, from the
 * main loop, with r->code 0 and r->info filled, or the failure.
 * Return: the running operation (for serve_op_cancel()), or NULL if the
 * child could not be started (then @done has already been called).
 */
struct serve_op *serve_dev_info(const struct serve_dev_cfg *cfg,
				const char *device, serve_dev_done_cb_t done,
				void *user_data);

/**
 * serve_dev_push() - push @file to @device, reboot into it and confirm it
 * (`push --confirm`): resumes whatever the device already holds. @tag: the
 * version tag to store (`push --tag`), only for devices whose INFO has a
 * tag (a CLI that reports tags accepts the option); NULL: none. @event
 * gets every event line; @done is called once at the end.
 */
struct serve_op *serve_dev_push(const struct serve_dev_cfg *cfg,
				const char *device, const char *file,
				const char *tag, serve_dev_event_cb_t event,
				serve_dev_done_cb_t done, void *user_data);

/**
 * serve_dev_status() - `bleota status`: r->state gets the running image's
 * otadata state (NEW, PENDING_VERIFY, VALID, ...).
 */
struct serve_op *serve_dev_status(const struct serve_dev_cfg *cfg,
				  const char *device, serve_dev_done_cb_t done,
				  void *user_data);

/**
 * serve_dev_confirm() - `bleota confirm`: keep the running image
 * (PENDING_VERIFY -> VALID; a VALID image stays VALID).
 */
struct serve_op *serve_dev_confirm(const struct serve_dev_cfg *cfg,
				   const char *device, serve_dev_done_cb_t done,
				   void *user_data);

/**
 * serve_dev_scan() - list bleota devices seen by cfg->adapter for
 * @timeout_s seconds: @found per device, then @done.
 */
struct serve_op *serve_dev_scan(const struct serve_dev_cfg *cfg,
				unsigned int timeout_s,
				serve_dev_found_cb_t found,
				serve_dev_done_cb_t done, void *user_data);

/**
 * serve_op_cancel() - stop the child (SIGTERM). The callbacks are not
 * called any more; the operation is freed once the child has exited.
 */
void serve_op_cancel(struct serve_op *op);

#endif /* BLEOTA_CENTRAL_SERVE_DEVICE_H */
