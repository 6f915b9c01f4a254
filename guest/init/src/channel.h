/*
 * The control channel: the virtio-serial port named "hearth.control".
 *
 * What virtio_console does (drivers/char/virtio_console.c):
 *  - while the host side is not connected, poll() reports POLLHUP (and POLLIN,
 *    with read() returning 0) continuously, and writes would block;
 *  - a host connect or disconnect sends SIGIO to the owner of an O_ASYNC open
 *    file. Only an open file gets it: closing the port removes the owner, so
 *    the port stays open while the host is away;
 *  - closing the port discards whatever the host sent that was not read.
 *
 * So on POLLHUP the channel stops polling the port and waits for SIGIO (or a
 * timed re-check, CHANNEL_RETRY_MS, in case a signal is missed). When the host
 * is back it reopens the port, to start from an empty input, drops the rest
 * of a frame cut by the disconnect, and lets its owner queue HELLO in front of
 * the frames still waiting.
 */
#ifndef HEARTH_CHANNEL_H
#define HEARTH_CHANNEL_H

#include "outq.h"
#include "protocol.h"

#include <stddef.h>
#include <stdint.h>

#define CHANNEL_NAME "hearth.control"
#define CHANNEL_FIND_TIMEOUT_MS 5000
#define CHANNEL_RETRY_MS 1000

enum channel_state {
	CHANNEL_CLOSED,
	CHANNEL_WAITING, /* open, host side not connected */
	CHANNEL_CONNECTED,
};

struct channel;

struct channel_ops {
	/* A host has connected: queue HELLO with outq_push_front. */
	void (*connected)(void *ctx, struct channel *ch);
	/* One complete frame from the host. */
	void (*frame)(void *ctx, const struct frame_header *h, const uint8_t *payload);
};

struct channel {
	int fd;
	char path[64];
	enum channel_state state;
	struct outq out;
	uint8_t *in; /* FRAME_HEADER_SIZE + FRAME_MAX_PAYLOAD bytes */
	size_t in_len;
	int64_t retry_at_ms;
	int hold_input; /* set by the owner: do not read frames for now (back-pressure) */
	const struct channel_ops *ops;
	void *ctx;
};

/* Finds the port's device node; 0 on success. */
int channel_find(char *path, size_t len);
/* Opens the port; 0 on success. */
int channel_open(struct channel *ch, const char *path, const struct channel_ops *ops, void *ctx);
/* The poll events to wait for, or 0 when the port is not to be polled. */
short channel_poll_events(const struct channel *ch);
/* Handles what poll reported for the port. */
void channel_handle(struct channel *ch, short revents);
/* Writes what it can without blocking. */
void channel_flush(struct channel *ch);
/* After SIGIO or at the retry deadline: has the host (re)connected? */
void channel_check(struct channel *ch);
/* When channel_check is due (monotonic ms), or -1. */
int64_t channel_deadline(const struct channel *ch);
/* Queues a frame with payload a||b; 0 on success. */
int channel_send(struct channel *ch, uint8_t type, const void *a, size_t alen, const void *b,
		 size_t blen);

/* The same for a session's frame. */
int channel_send_session(struct channel *ch, uint8_t type, uint32_t session, const void *a,
			 size_t alen, const void *b, size_t blen);

#endif
