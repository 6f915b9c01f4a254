/*
 * The agent: one poll() loop that serves the control channel, runs the
 * container's main process, forwards its output, reaps every child and
 * decides when the VM may power off.
 *
 * Phases: WAITING (no RUN yet) -> RUNNING (main process alive) -> DRAINING
 * (main process reaped, the rest killed, its pipes read to EOF) -> EXITED
 * (EXIT queued, waiting for EXIT_ACK). A failed setup goes to EXITED with 125.
 */
#ifndef HEARTH_AGENT_H
#define HEARTH_AGENT_H

#include "channel.h"
#include "exec.h"
#include "output.h"
#include "stdin_feed.h"

#include <stdint.h>
#include <sys/types.h>

#define AGENT_VERSION "hearth-init/0.1.0"
/* Stop reading the process's pipes while this much waits for the host. */
#define OUTQ_HIGH_WATER (1u << 20)
/* A shutdown signal (SIGTERM, SIGINT from Ctrl-Alt-Del, SIGPWR): grace and ACK wait. */
#define SHUTDOWN_GRACE_MS 10000
#define SHUTDOWN_ACK_WAIT_MS 3000

enum agent_phase {
	PHASE_WAITING,
	PHASE_RUNNING,
	PHASE_DRAINING,
	PHASE_EXITED,
};

struct agent {
	enum agent_phase phase;
	struct channel ch;
	int sigfd;
	int stop_tfd;
	int64_t stop_deadline_ms; /* -1: no STOP pending */
	pid_t main_pid;
	int exit_code;
	uint32_t exit_signal;
	int oom_killed; /* the OOM killer killed a process of the container's cgroup (EXIT's OOM_KILLED) */
	struct output_stream out[2]; /* with a tty only out[0], the pty master */
	struct stdin_feed in; /* the main process's stdin with STDIN (session 0's STDIN frames) */
	int master; /* the main process's pty master with TTY (RESIZE on session 0), else -1 */
	int acked;
	int shutdown; /* a shutdown signal arrived */
	int64_t ack_deadline_ms; /* -1: wait for EXIT_ACK forever */
	struct exec_table execs;
};

/* Blocks signals and creates the signalfd and the STOP timer; 0 on success. */
int agent_init(struct agent *a);
/* Opens the control channel (HELLO is queued on connection); 0 on success. */
int agent_open_channel(struct agent *a, const char *path);
/* Reports a setup failure: ERROR code, then EXIT 125. */
void agent_fail_setup(struct agent *a, uint32_t code, const char *message);
/* Serves until the host acknowledged EXIT (or a shutdown stopped waiting). */
void agent_run(struct agent *a);

#endif
