/*
 * Forwarding the main process's stdout and stderr pipes as OUTPUT frames.
 *
 * Each stream keeps the bytes of its unfinished line. A frame ends at a
 * newline (it may hold several lines), unless the unfinished line reaches
 * OUTPUT_LINE_MAX, has waited OUTPUT_PARTIAL_FLUSH_MS (a prompt or a progress
 * bar without a newline), or the pipe is at EOF. The timestamp of a frame is
 * CLOCK_REALTIME when its first byte was read. A raw stream (an exec's)
 * emits what each read gives at once. A pty master's EIO is its EOF.
 */
#ifndef HEARTH_OUTPUT_H
#define HEARTH_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#define OUTPUT_LINE_MAX (64 * 1024)
#define OUTPUT_PARTIAL_FLUSH_MS 100

struct output_stream {
	int fd; /* -1 after EOF */
	uint8_t id; /* STREAM_STDOUT or STREAM_STDERR */
	int raw; /* emit what each read gives, without waiting for a newline (exec sessions) */
	uint8_t *buf; /* OUTPUT_LINE_MAX bytes */
	size_t len;
	uint64_t ts; /* realtime ns when buf[0] was read */
	int64_t since_ms; /* monotonic ms when buf[0] was read */
};

typedef void (*output_emit_fn)(void *ctx, uint8_t stream, uint64_t ts, const uint8_t *data,
			       size_t len);

/* How many leading bytes of buf form a frame now: up to the last newline, or all at max. */
size_t output_split(const uint8_t *buf, size_t len, size_t max);

int output_init(struct output_stream *s, int fd, uint8_t id);
/* Reads once and emits what is complete. 1 at EOF (the rest is flushed), else 0. */
int output_read(struct output_stream *s, output_emit_fn emit, void *ctx);
/* Emits an unfinished line whose time is up (or any when force). */
void output_flush(struct output_stream *s, int64_t now_ms, int force, output_emit_fn emit,
		  void *ctx);
/* When output_flush has something to do (monotonic ms), or -1. */
int64_t output_deadline(const struct output_stream *s);
void output_close(struct output_stream *s);

int64_t monotonic_ms(void);
uint64_t realtime_ns(void);

#endif
