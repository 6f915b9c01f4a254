/*
 * Starting the container's main process.
 *
 * The child becomes a session leader with stdin on /dev/null (or a pipe the
 * host feeds, with STDIN) and stdout and stderr on two pipes; with TTY all
 * three are a pty slave that is its controlling terminal. It then enters the container root (chroot), creates and enters
 * the working directory, cuts its capabilities to CAPABILITIES (caps.h) around
 * taking the user's ids and groups, restores the
 * default signal mask and dispositions, and execs argv[0] looked up in the
 * PATH of its own environment. When a step fails, it tells the parent why over
 * a close-on-exec status pipe (so an empty read means the exec succeeded) and
 * exits: 127 when the command is not found, 126 when it cannot be executed,
 * 125 when the setup failed (Docker's codes).
 */
#ifndef HEARTH_PROCESS_H
#define HEARTH_PROCESS_H

#include "run.h"

#include <stdint.h>
#include <sys/types.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define EXIT_SETUP_FAILED 125
#define EXIT_CANNOT_EXECUTE 126
#define EXIT_NOT_FOUND 127

struct spawn_result {
	pid_t pid;
	int out_fd; /* read ends, non-blocking; with a tty out_fd reads the pty master, err_fd is -1 */
	int err_fd;
	int in_fd;  /* stdin's write end (non-blocking) with STDIN, else -1 */
	int master; /* the pty master with TTY (for RESIZE), else -1 */
	uint32_t error; /* 0: the exec succeeded; else an ERR_* code */
	char message[512];
};

/* The child's stdio: in -1 for /dev/null; with ctty, in is a tty slave made the controlling terminal. */
struct spawn_io {
	int in;
	int out;
	int err;
	int ctty;
};

/*
 * Forks and execs with the given stdio (the caller closes its copies). 0 when a child exists
 * (check error); 1 when none could be started (message).
 */
int process_fork(struct run_request *r, const char *root, const struct spawn_io *io,
		 struct spawn_result *res);

/*
 * Forks and execs the main process: stdin /dev/null (a pipe with r->stdin_open), stdout and stderr
 * pipes; with r->tty a pty from pts_dir (size r->rows x r->cols, else 24x80) for all three. 0 when a
 * child exists (check error: it may have failed before its exec and be exiting); 1 when none could
 * be started (message).
 */
int process_spawn(struct run_request *r, const char *root, const char *pts_dir,
		  struct spawn_result *res);

/* The exit code of a wait status: its exit status, or 128 + the signal. */
int process_exit_code(int status, uint32_t *signo);

#endif
