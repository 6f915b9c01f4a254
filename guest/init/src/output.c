#include "output.h"

#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

size_t output_split(const uint8_t *buf, size_t len, size_t max)
{
	const uint8_t *nl = len ? memrchr(buf, '\n', len) : NULL;
	if (nl != NULL)
		return (size_t)(nl - buf) + 1;
	return len >= max ? len : 0;
}

int output_init(struct output_stream *s, int fd, uint8_t id)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->id = id;
	s->buf = malloc(OUTPUT_LINE_MAX);
	return s->buf == NULL ? -1 : 0;
}

/* Emits the first n pending bytes; what remains was read at ts/since. */
static void emit_front(struct output_stream *s, size_t n, uint64_t ts, int64_t since,
		       output_emit_fn emit, void *ctx)
{
	emit(ctx, s->id, s->ts, s->buf, n);
	memmove(s->buf, s->buf + n, s->len - n);
	s->len -= n;
	s->ts = ts;
	s->since_ms = since;
}

int output_read(struct output_stream *s, output_emit_fn emit, void *ctx)
{
	if (s->fd < 0)
		return 1;
	ssize_t n = read(s->fd, s->buf + s->len, OUTPUT_LINE_MAX - s->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0) {
		if (n < 0 && errno != EIO) /* EIO: a pty whose slave is closed */
			PRINT_WARN("reading the %s pipe: %s", s->id == 1 ? "stdout" : "stderr",
				   strerror(errno));
		output_flush(s, 0, 1, emit, ctx);
		output_close(s);
		return 1;
	}
	uint64_t ts = realtime_ns();
	int64_t since = monotonic_ms();
	if (s->len == 0) {
		s->ts = ts;
		s->since_ms = since;
	}
	s->len += (size_t)n;
	size_t ready = s->raw ? s->len : output_split(s->buf, s->len, OUTPUT_LINE_MAX);
	if (ready > 0)
		emit_front(s, ready, ts, since, emit, ctx);
	return 0;
}

void output_flush(struct output_stream *s, int64_t now_ms, int force, output_emit_fn emit,
		  void *ctx)
{
	if (s->len > 0 && (force || now_ms >= s->since_ms + OUTPUT_PARTIAL_FLUSH_MS))
		emit_front(s, s->len, 0, 0, emit, ctx);
}

int64_t output_deadline(const struct output_stream *s)
{
	return s->len > 0 ? s->since_ms + OUTPUT_PARTIAL_FLUSH_MS : -1;
}

void output_close(struct output_stream *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}
