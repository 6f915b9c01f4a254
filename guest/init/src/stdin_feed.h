/*
 * A process's stdin as the host feeds it (STDIN, STDIN_EOF; the main process's
 * on session 0, an exec's or a copy's on its session): bytes wait here until
 * the pipe or pty takes them (non-blocking writes), and after an end of input
 * the pipe is closed once they are written.
 *
 * The buffer holds only what waits: bytes already written are dropped from
 * its front before more are appended, and a drained buffer is freed. The
 * agent reads the channel only while little waits (EXEC_STDIN_HIGH_WATER), so
 * a stream of any length then needs at most that plus one read of frames. (A
 * buffer that is only reset once drained grows by every frame that arrives
 * while the pipe is still busy: a 100 MB copy in held the whole file.)
 */
#ifndef HEARTH_STDIN_FEED_H
#define HEARTH_STDIN_FEED_H

#include "protocol.h"

#include <stddef.h>

struct stdin_feed {
	int fd; /* the write end (or the pty master); -1 when closed or absent */
	int tty; /* a terminal has no end of input: EOF is ignored */
	struct bytes buf;
	size_t off;
	int eof;
};

void stdin_feed_init(struct stdin_feed *f, int fd, int tty);
/* Queues bytes (dropped when there is no stdin or it ended). 0, or -1 out of memory (nothing queued). */
int stdin_feed_push(struct stdin_feed *f, const uint8_t *data, size_t len);
/* End of input: the pipe closes once what waits is written. Ignored for a tty. */
void stdin_feed_eof(struct stdin_feed *f);
/* The fd to poll for POLLOUT, or -1 when nothing waits. */
int stdin_feed_poll_fd(const struct stdin_feed *f);
/* Writes what the fd takes now. */
void stdin_feed_write(struct stdin_feed *f);
/* Bytes waiting. */
size_t stdin_feed_pending(const struct stdin_feed *f);
/* Closes the fd and drops what waits. */
void stdin_feed_close(struct stdin_feed *f);

#endif
