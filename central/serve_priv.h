/* SPDX-License-Identifier: MIT */
/*
 * What the files of `bleota serve` share (not an interface outside them):
 * the device and firmware records, the gateway's single context `serve_gw`, and
 * the functions one file calls in another. The files, by responsibility:
 *
 *   serve.c           the command: options, the main loop, scanning, signals
 *   serve_sched.c     per device: INFO -> compare -> firmware -> pre-flight
 *                     -> push -> outcome; slots, back-off, the scheduler
 *   serve_firmware.c  shared downloads, the cache, pre-flight checks
 *   serve_desired.c   the desired state: file watching, URL polling
 *   serve_persist.c   STATE/devices.json: save and restore
 *   serve_events.c    event lines (--json or text) and the devices document
 *   serve_api.c       the handlers behind the HTTP API (serve_http.h)
 *
 * Everything runs on the one GLib main loop thread, except the body of
 * serve_fetch_thread(), which touches only its struct fetch_job.
 */
#ifndef BLEOTA_CENTRAL_SERVE_PRIV_H
#define BLEOTA_CENTRAL_SERVE_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include <gio/gio.h>

#include "central/serve_config.h"
#include "central/serve_device.h"
#include "central/serve_http.h"
#include "host/http_fetch.h"

/* json-glib's own typedef, so this header needs no json-glib include path. */
typedef struct _JsonBuilder JsonBuilder;
struct ota_manifest;
struct manifest_sig;
struct ota_image_verify;

enum dev_state {
	DS_NEW,
	DS_CHECKING,
	DS_FETCHING,
	DS_PUSHING,
	DS_IN_SYNC,
	DS_REFUSED,
	DS_FAILED,
	DS_NO_RULE,
};

/* Each state's name in events and devices.json (serve_events.c). */
extern const char *const serve_state_names[];

enum fw_state {
	FW_IDLE,
	FW_FETCHING,
	FW_READY,
	FW_FAILED,
};

struct firmware {
	char *url;
	char *file;
	char *want_sha;
	enum fw_state state;
	char path[HTTP_FETCH_PATH_MAX];
	char sha256[65];
	uint64_t size;
	int err;
	char *error;
	GPtrArray *waiters; /* struct device * */
};

struct device {
	char *id;      /* what the CLI is given: unix:PATH or an address */
	char *name;    /* advertised name (scan), or NULL */
	char *adapter; /* hciN, or NULL */
	enum dev_state state;
	char *message;
	bool busy;
	bool due;
	gint64 next_try;   /* monotonic µs */
	gint64 last_check; /* monotonic µs */
	unsigned int attempts;
	struct serve_dev_info info;
	bool has_info;
	char *want_version;
	char *want_source;
	char *want_sha;
	bool pushing;    /* persisted: a push started and did not end */
	bool retag;      /* this push is --force: same image, new tag */
	char *push_sha;  /* persisted: the image being pushed */
	char *installed; /* persisted: the version this gateway installed */
	uint64_t bytes;
	uint64_t total;
	uint32_t resumed_from;
	char img_version[33]; /* the firmware's own app version, project */
	char img_project[33];
	char *reached_msg; /* what to say once the boot state is checked */
	struct serve_op *op;
	/* the page's Update (POST /api/update) of this device to this image:
	 * pre-flight warns instead of refusing (chip, slot size), so the
	 * device itself decides; cleared when that push starts */
	char *explicit_sha;
	char *warning;    /* what the gateway warned before that push */
	char *dev_status; /* the device's status name that ended the last
			   * push (WRONG_CHIP, ...), from the push's error
			   * event; NULL: none */
	char *boot_state; /* the device's STATUS: running image's otadata
			   * state, as last read (`bleota status`) */
	char *last_boot;  /* STATUS last_boot detail ("ota_1 was rejected
			   * (...)": the last update rolled back), or "" */
	enum dev_state after_boot; /* serve_read_boot(): state to settle in */
	/* the current or last push's plan (its "plan" event): what went on
	 * the air for the image; NULL/0 before this gateway's first push */
	char *encoding;     /* "plain", "compressed", "delta" */
	char *plan;         /* the push's one line: what and why */
	uint64_t air_bytes; /* bytes on the air acknowledged so far */
	uint64_t air_total; /* bytes on the air in all (the stream) */
};

/* The gateway: one per process, defined in serve.c. */
struct serve_gw {
	GMainLoop *loop;
	bool json;
	int verbose;
	bool once;
	int exit_code;
	char *exe;
	char *config;
	bool config_is_url;
	char *state_dir;
	char *cache_dir;
	char *images_dir; /* STATE/images: the pushes' image cache */
	bool no_delta;    /* --no-delta: push --full */
	char *bearer;
	char *ca_file;
	char **adapters;
	unsigned int jobs;
	unsigned int per_adapter;
	unsigned int retry_max_s;
	unsigned int recheck_s;
	unsigned int poll_s;
	unsigned int scan_s;
	struct serve_desired *desired;
	char *desired_text;
	char desired_sha[65];
	char *desired_from;
	struct stat config_st;
	bool config_fetching;
	gint64 next_poll;
	gint64 next_scan;
	unsigned int scans_running;
	unsigned int scans_done;
	unsigned int scan_failures; /* in a row: the next scan comes sooner */
	GPtrArray *devices;         /* struct device *, in discovery order */
	GHashTable *firmware;       /* key -> struct firmware * */
	GHashTable *per_adapter_running; /* adapter -> count */
	unsigned int running;
	struct serve_http *http;
	bool schedule_queued;
	bool restored;
};

extern struct serve_gw serve_gw;

/* A download run on a GLib worker thread (firmware and desired state). */
struct fetch_job {
	struct http_fetch_opts o;
	char *url;
	char *sha;
	struct http_fetch_result r;
	int err;
	struct firmware *fw;
};

/* serve_events.c: JSON event lines, the devices document */
JsonBuilder *ev_begin(const char *name);
void serve_ev_str(JsonBuilder *b, const char *key, const char *val);
void serve_ev_int(JsonBuilder *b, const char *key, gint64 val);
char *serve_builder_text(JsonBuilder *b);
void G_GNUC_PRINTF(3, 4)
	serve_ev_end(JsonBuilder *b, const char *name, const char *fmt, ...);
char *serve_devices_text(void);

/* serve_sched.c: the per-device state machine and the scheduler */
struct device *serve_dev_find(const char *id);
struct device *serve_dev_add(const char *id, const char *name,
			     const char *adapter);
void serve_dev_free(gpointer p);
void serve_set_str(char **dst, const char *src);
void G_GNUC_PRINTF(3, 4) serve_set_state(struct device *d, enum dev_state s,
					 const char *fmt, ...);
void serve_settle(struct device *d, enum dev_state s, const char *msg);
void serve_fail_retry(struct device *d, const char *msg);
void serve_reached(struct device *d, const char *msg);
void serve_start_push(struct device *d, const struct firmware *fw);
void serve_read_boot(struct device *d, enum dev_state then, const char *msg);
void serve_schedule(void);

/* serve_firmware.c: firmware download/cache and pre-flight */
int serve_image_problem(const uint8_t *img, size_t len, const char *what,
			struct ota_image_verify *v, struct ota_manifest *m,
			struct manifest_sig *sig, char *msg, size_t cap);
void serve_fetch_thread(GTask *task, gpointer src, gpointer data,
			GCancellable *c);
void serve_fetch_job_free(gpointer p);
void serve_fw_free(gpointer p);
gboolean serve_fw_forgettable(gpointer key, gpointer value, gpointer data);
void serve_need_firmware(struct device *d, const struct serve_rule *rule);

/* serve_persist.c: STATE/devices.json */
void serve_persist(void);
void serve_restore(void);

/* serve_desired.c: the desired-state source */
bool serve_load_config_file(bool initial);
bool serve_config_changed(void);
void serve_poll_config_url(void);

/* serve_api.c: the HTTP API's handlers (serve_http.h callbacks) */
char *api_devices(void *user_data);
char *api_desired(void *user_data);
int api_push(const char *id, void *user_data);
size_t api_upload_limit(void *user_data);
char *api_upload(const void *body, size_t len, unsigned int *status,
		 void *user_data);
char *api_put_desired(const void *body, size_t len, unsigned int *status,
		      void *user_data);
char *api_update(const void *body, size_t len, unsigned int *status,
		 void *user_data);

#endif /* BLEOTA_CENTRAL_SERVE_PRIV_H */
