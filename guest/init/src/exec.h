/*
 * Exec sessions: commands run beside the main process (docker exec), each
 * under a session id the host chose. A command runs as the main process does
 * (process_fork: chroot, USER, CWD, PATH, Docker's 126/127), with either
 * pipes (stdout and stderr apart; stdin a pipe or /dev/null) or a
 * pseudo-terminal that is its controlling terminal (one output stream).
 *
 * A session ends when its process was reaped and its output reached EOF;
 * then EXIT is queued once (not acknowledged, not repeated) and the slot is
 * free again. Output is forwarded as it is read (no line buffering) and
 * under the same back-pressure as the main process's. Stdin waits in a
 * buffer; while more than EXEC_STDIN_HIGH_WATER waits in all sessions, the
 * agent stops reading the channel.
 */
#ifndef HEARTH_EXEC_H
#define HEARTH_EXEC_H

#include "channel.h"
#include "output.h"
#include "protocol.h"
#include "stdin_feed.h"

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#define EXEC_MAX_SESSIONS 32
#define EXEC_STDIN_HIGH_WATER (256u << 10)
#define EXEC_POLL_FDS (3 * EXEC_MAX_SESSIONS)

struct exec_session {
	uint32_t id; /* 0: a free slot */
	struct channel *ch;
	pid_t pid;
	int master; /* tty: the pty master, for RESIZE and the foreground group; else -1 */
	struct stdin_feed in; /* fd -1: closed, or /dev/null */
	struct output_stream out[2];
	int reaped;
	int exit_code;
	uint32_t exit_signal;
};

struct exec_table {
	struct exec_session s[EXEC_MAX_SESSIONS];
	struct channel *ch;
};

void exec_table_init(struct exec_table *t, struct channel *ch);
/* EXEC for session id: STARTED, or ERROR (then EXIT when the child's exit is reaped). */
void exec_start(struct exec_table *t, uint32_t id, const uint8_t *payload, size_t len,
		const char *root);
/*
 * A session whose child runs fn (no exec) with stdin (a pipe fed by STDIN
 * when stdin_open, else /dev/null), stdout and stderr at 0, 1 and 2; its
 * return value is the session's exit code. Used by COPY_OUT and COPY_IN.
 */
typedef int (*exec_fn)(void *arg, int in, int out, int err);
void exec_start_fn(struct exec_table *t, uint32_t id, int stdin_open, exec_fn fn, void *arg);
/* The per-session frames; each answers ERROR 1 itself for an unknown session. */
void exec_stdin(struct exec_table *t, uint32_t id, const uint8_t *data, size_t len);
void exec_stdin_eof(struct exec_table *t, uint32_t id);
void exec_resize(struct exec_table *t, uint32_t id, const uint8_t *payload, size_t len);
void exec_signal(struct exec_table *t, uint32_t id, int signo);
/* A reaped child: 1 when it was an exec's. */
int exec_reaped(struct exec_table *t, pid_t pid, int status);
/* Fills EXEC_POLL_FDS entries (fd -1 where nothing is polled). */
void exec_poll_fill(struct exec_table *t, struct pollfd *p, int reading);
/* Handles what poll reported, then queues the EXIT of every finished session. */
void exec_poll_handle(struct exec_table *t, const struct pollfd *p);
/* Bytes of stdin waiting in every session. */
size_t exec_stdin_pending(const struct exec_table *t);
/* Sends an ERROR frame for a session (shared with the agent). */
void exec_send_error(struct channel *ch, uint32_t id, uint32_t code, const char *message);

#endif
