#include "channel.h"

#include "log.h"
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int read_name(const char *entry, char *name, size_t len)
{
	char path[320];
	snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", entry);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, name, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	return 0;
}

/* One scan of /sys/class/virtio-ports; 0 when found. */
static int scan_ports(char *path, size_t len)
{
	DIR *dir = opendir("/sys/class/virtio-ports");
	if (dir == NULL)
		return -1;
	int found = -1;
	struct dirent *de;
	while (found != 0 && (de = readdir(dir)) != NULL) {
		char name[128];
		if (de->d_name[0] == '.' || read_name(de->d_name, name, sizeof(name)) != 0)
			continue;
		if (strcmp(name, CHANNEL_NAME) == 0) {
			snprintf(path, len, "/dev/%s", de->d_name);
			found = 0;
		}
	}
	closedir(dir);
	return found;
}

int channel_find(char *path, size_t len)
{
	/* The port's name arrives in a control message after the port itself: retry a while. */
	int64_t give_up = monotonic_ms() + CHANNEL_FIND_TIMEOUT_MS;
	while (scan_ports(path, len) != 0) {
		if (monotonic_ms() >= give_up) {
			PRINT_FATAL("no virtio-serial port named %s in /sys/class/virtio-ports",
				    CHANNEL_NAME);
			return 1;
		}
		nanosleep(&(struct timespec){.tv_nsec = 20 * 1000000}, NULL);
	}
	return 0;
}

/* Opens the device and asks for SIGIO on host connection changes. */
static int port_open(const char *path)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		PRINT_ERROR("open %s: %s", path, strerror(errno));
		return -1;
	}
	/* O_ASYNC given to open() is ignored; only F_SETFL registers the owner. */
	int flags = fcntl(fd, F_GETFL);
	if (fcntl(fd, F_SETOWN, getpid()) != 0 || flags < 0 ||
	    fcntl(fd, F_SETFL, flags | O_ASYNC) != 0)
		PRINT_WARN("O_ASYNC on %s: %s (falling back to re-checks every %d ms)", path,
			   strerror(errno), CHANNEL_RETRY_MS);
	return fd;
}

static int host_connected(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT};
	if (poll(&p, 1, 0) < 0)
		return 0;
	return !(p.revents & (POLLHUP | POLLERR | POLLNVAL));
}

static void become_connected(struct channel *ch)
{
	ch->state = CHANNEL_CONNECTED;
	ch->in_len = 0;
	outq_drop_partial(&ch->out);
	ch->ops->connected(ch->ctx, ch);
	channel_flush(ch);
}

static void become_waiting(struct channel *ch)
{
	size_t dropped = outq_drop_partial(&ch->out);
	if (ch->state == CHANNEL_CONNECTED)
		PRINT_DEBUG("host disconnected (%zu bytes of a frame dropped, %zu queued)", dropped,
			    outq_pending(&ch->out));
	ch->state = CHANNEL_WAITING;
	ch->in_len = 0;
	ch->retry_at_ms = monotonic_ms() + CHANNEL_RETRY_MS;
}

/* Close and open again: the kernel then drops whatever an earlier host left unread. */
static int reopen(struct channel *ch)
{
	close(ch->fd);
	ch->fd = port_open(ch->path);
	if (ch->fd < 0) {
		ch->state = CHANNEL_CLOSED;
		ch->retry_at_ms = monotonic_ms() + CHANNEL_RETRY_MS;
		return -1;
	}
	return 0;
}

int channel_open(struct channel *ch, const char *path, const struct channel_ops *ops, void *ctx)
{
	memset(ch, 0, sizeof(*ch));
	snprintf(ch->path, sizeof(ch->path), "%s", path);
	ch->ops = ops;
	ch->ctx = ctx;
	ch->in = malloc(FRAME_HEADER_SIZE + FRAME_MAX_PAYLOAD);
	if (ch->in == NULL) {
		PRINT_FATAL("allocating the channel buffer: %s", strerror(errno));
		return 1;
	}
	ch->fd = port_open(path);
	if (ch->fd < 0)
		return 1;
	ch->state = CHANNEL_WAITING;
	if (host_connected(ch->fd))
		become_connected(ch);
	else
		become_waiting(ch);
	return 0;
}

short channel_poll_events(const struct channel *ch)
{
	if (ch->state != CHANNEL_CONNECTED)
		return 0;
	short in = ch->hold_input ? 0 : POLLIN; /* POLLHUP is reported anyway */
	return (short)(in | (outq_pending(&ch->out) > 0 ? POLLOUT : 0));
}

/* Dispatches the complete frames in the input buffer; -1 on a frame it cannot parse. */
static int dispatch_frames(struct channel *ch)
{
	size_t off = 0;
	int rc = 0;
	while (ch->state == CHANNEL_CONNECTED && ch->in_len - off >= FRAME_HEADER_SIZE) {
		struct frame_header h;
		int check = frame_header_decode(ch->in + off, &h);
		if (check != FRAME_OK) {
			PRINT_ERROR("bad frame from the host (version %u, length %u): resynchronising",
				    h.version, h.length);
			rc = -1;
			break;
		}
		if (ch->in_len - off < FRAME_HEADER_SIZE + (size_t)h.length)
			break;
		ch->ops->frame(ch->ctx, &h, ch->in + off + FRAME_HEADER_SIZE);
		off += FRAME_HEADER_SIZE + h.length;
	}
	if (rc == 0 && off > 0) {
		memmove(ch->in, ch->in + off, ch->in_len - off);
		ch->in_len -= off;
	}
	return rc;
}

/* Reads until EAGAIN; 1 when read() says the host is gone, -1 on a bad frame. */
static int read_input(struct channel *ch)
{
	for (;;) {
		size_t room = FRAME_HEADER_SIZE + FRAME_MAX_PAYLOAD - ch->in_len;
		ssize_t n = read(ch->fd, ch->in + ch->in_len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0) {
			PRINT_WARN("read %s: %s", ch->path, strerror(errno));
			return 1;
		}
		if (n == 0)
			return 1;
		ch->in_len += (size_t)n;
		if (dispatch_frames(ch) != 0)
			return -1;
		if (ch->state != CHANNEL_CONNECTED || ch->hold_input)
			return 0;
	}
}

void channel_flush(struct channel *ch)
{
	while (ch->state == CHANNEL_CONNECTED && outq_pending(&ch->out) > 0) {
		ssize_t n = write(ch->fd, outq_next(&ch->out), outq_pending(&ch->out));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			PRINT_WARN("write %s: %s", ch->path, strerror(errno));
		if (n <= 0)
			return;
		outq_consume(&ch->out, (size_t)n);
	}
}

void channel_handle(struct channel *ch, short revents)
{
	if (ch->state != CHANNEL_CONNECTED)
		return;
	int gone = 0;
	/* Read before acting on POLLHUP: a host may send EXIT_ACK and close at once. */
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		int rc = read_input(ch);
		if (rc < 0) {
			/* The guest cannot close the host's socket: start over with a clean input. */
			if (reopen(ch) == 0)
				become_connected(ch);
			return;
		}
		gone = rc > 0;
	}
	if (gone || (revents & (POLLHUP | POLLERR | POLLNVAL))) {
		become_waiting(ch);
		return;
	}
	if (revents & POLLOUT)
		channel_flush(ch);
}

void channel_check(struct channel *ch)
{
	if (ch->state == CHANNEL_CLOSED) {
		ch->fd = port_open(ch->path);
		if (ch->fd < 0) {
			ch->retry_at_ms = monotonic_ms() + CHANNEL_RETRY_MS;
			return;
		}
		ch->state = CHANNEL_WAITING;
	}
	if (ch->state != CHANNEL_WAITING)
		return;
	if (!host_connected(ch->fd)) {
		ch->retry_at_ms = monotonic_ms() + CHANNEL_RETRY_MS;
		return;
	}
	if (reopen(ch) != 0)
		return;
	PRINT_DEBUG("host connected");
	become_connected(ch);
}

int64_t channel_deadline(const struct channel *ch)
{
	return ch->state == CHANNEL_CONNECTED ? -1 : ch->retry_at_ms;
}

int channel_send(struct channel *ch, uint8_t type, const void *a, size_t alen, const void *b,
		 size_t blen)
{
	return channel_send_session(ch, type, 0, a, alen, b, blen);
}

int channel_send_session(struct channel *ch, uint8_t type, uint32_t session, const void *a,
			 size_t alen, const void *b, size_t blen)
{
	if (outq_push(&ch->out, type, session, a, alen, b, blen) != 0) {
		PRINT_ERROR("queueing a frame of type 0x%02x: out of memory", type);
		return -1;
	}
	return 0;
}
