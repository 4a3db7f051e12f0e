/* SPDX-License-Identifier: MIT */
/*
 * Transports move whole GATT values between bleota and bleota-peripheral.
 * Implementations: a SEQPACKET socket (loopback; the same kind of fd BlueZ
 * hands out for AcquireWrite/AcquireNotify) and BlueZ over D-Bus. Both
 * programs run them on a GLib main loop. A transport never makes protocol
 * decisions: it delivers values with the characteristic they came on and
 * reports when the peer is gone.
 */
#ifndef BLEOTA_HOST_TRANSPORT_H
#define BLEOTA_HOST_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/frame.h"

struct transport;

struct transport_cbs {
	/* one received value; @buf is valid for the call only */
	void (*recv)(enum ota_chan chan, const uint8_t *buf, size_t len,
		     void *user_data);
	/* sending may go on after transport_send() returned -EAGAIN */
	void (*writable)(void *user_data);
	/* the peer is gone (@err 0) or the link failed; only free follows */
	void (*closed)(int err, void *user_data);
	/*
	 * optional: a burst of recv calls has ended (only transports that set
	 * @batches call it, after every burst): what a consumer does once per
	 * burst (send, re-arm timers) may wait for it
	 */
	void (*drained)(void *user_data);
};

struct transport_ops {
	const char *name;
	int (*send)(struct transport *t, enum ota_chan chan, const uint8_t *buf,
		    size_t len);
	void (*destroy)(struct transport *t);
	/* optional: false if the peer has certainly gone (hang-up pending) */
	bool (*alive)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	struct transport_cbs cbs;
	void *user_data;
	size_t value_max;      /* longest value the link carries */
	unsigned long dropped; /* values dropped: empty or oversized */
	bool closed;
	bool batches; /* calls cbs.drained after every burst of recv */
};

/** transport_set_cbs() - where received values and closure go. */
void transport_set_cbs(struct transport *t, const struct transport_cbs *cbs,
		       void *user_data);

/**
 * transport_send() - send one value on @chan.
 * Return: 0; -EAGAIN if the link is full (wait for the writable callback);
 * -EMSGSIZE if @len exceeds value_max; -ENOTCONN once closed; -errno.
 */
int transport_send(struct transport *t, enum ota_chan chan, const uint8_t *buf,
		   size_t len);

/**
 * transport_alive() - whether the peer may still be there. False once
 * closed, or when a hang-up is already pending but not yet dispatched.
 */
bool transport_alive(struct transport *t);

/** transport_free() - close and free; no callback runs afterwards. */
void transport_free(struct transport *t);

/* For implementations: report closure once. */
void transport_closed(struct transport *t, int err);

/**
 * transport_socket_new() - a transport over one SOCK_SEQPACKET fd carrying
 * every characteristic; the opcode names the characteristic. Takes
 * ownership of @fd (made non-blocking).
 */
struct transport *transport_socket_new(int fd, size_t value_max);

/**
 * unix_path_of() - the PATH of a "unix:PATH" device string, or NULL.
 */
const char *unix_path_of(const char *device);

/**
 * socket_connect_unix() - connected SEQPACKET fd (non-blocking), or -errno:
 * -ETIMEDOUT when the listener's backlog stayed full for @timeout_ms.
 */
int socket_connect_unix(const char *path, unsigned int timeout_ms);

/**
 * socket_listen_unix() - listening SEQPACKET fd at @path with file mode
 * @mode (e.g. 0660) and, if @gid >= 0, that group; or -errno. Refuses a
 * @path that exists and is not a socket (-EEXIST) or is a socket something
 * listens on (-EADDRINUSE); only a stale socket is replaced.
 */
int socket_listen_unix(const char *path, unsigned int mode, int gid);

#endif /* BLEOTA_HOST_TRANSPORT_H */
