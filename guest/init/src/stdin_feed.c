#include "stdin_feed.h"

#include "log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

void stdin_feed_init(struct stdin_feed *f, int fd, int tty)
{
	memset(f, 0, sizeof(*f));
	f->fd = fd;
	f->tty = tty;
}

int stdin_feed_push(struct stdin_feed *f, const uint8_t *data, size_t len)
{
	if (f->fd < 0 || f->eof)
		return 0; /* no stdin (or it ended): dropped, as /dev/null would */
	if (f->off > 0) {
		memmove(f->buf.data, f->buf.data + f->off, f->buf.len - f->off);
		f->buf.len -= f->off;
		f->off = 0;
	}
	return bytes_append(&f->buf, data, len);
}

void stdin_feed_eof(struct stdin_feed *f)
{
	if (f->tty || f->fd < 0)
		return; /* a terminal has no end of input: the host sends ^D as bytes */
	f->eof = 1;
	if (f->buf.len == f->off)
		stdin_feed_close(f);
}

int stdin_feed_poll_fd(const struct stdin_feed *f)
{
	return f->fd >= 0 && f->buf.len > f->off ? f->fd : -1;
}

void stdin_feed_write(struct stdin_feed *f)
{
	if (f->fd < 0)
		return;
	ssize_t n = write(f->fd, f->buf.data + f->off, f->buf.len - f->off);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		/* EPIPE: the process closed its stdin; what waits can never be read. */
		PRINT_DEBUG("stdin: %s", strerror(errno));
		f->off = f->buf.len;
		f->eof = 1;
	} else {
		f->off += (size_t)n;
	}
	if (f->off == f->buf.len) {
		bytes_free(&f->buf);
		f->off = 0;
		if (f->eof)
			stdin_feed_close(f);
	}
}

size_t stdin_feed_pending(const struct stdin_feed *f)
{
	return f->buf.len - f->off;
}

void stdin_feed_close(struct stdin_feed *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	bytes_free(&f->buf);
	f->off = 0;
}
