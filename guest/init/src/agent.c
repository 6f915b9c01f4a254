#include "agent.h"

#include "cgroup.h"
#include "copy_session.h"
#include "log.h"
#include "netconf.h"
#include "mounts.h"
#include "process.h"
#include "exec_request.h"
#include "protocol.h"
#include "pty.h"
#include "run.h"
#include "stats.h"
#include "system.h"
#include "top.h"
#include "volumes.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

static struct agent *log_agent; /* where LOG frames go */

static void send_log(const char *line, size_t len)
{
	if (log_agent != NULL && log_agent->ch.fd >= 0 &&
	    outq_pending(&log_agent->ch.out) < OUTQ_HIGH_WATER)
		channel_send(&log_agent->ch, FRAME_LOG, line, len, NULL, 0);
}

static void send_u32(struct agent *a, uint8_t type, uint32_t v)
{
	uint8_t p[4];
	put_u32(p, v);
	channel_send(&a->ch, type, p, sizeof(p), NULL, 0);
}

static void send_error(struct agent *a, uint32_t code, const char *message)
{
	uint8_t p[4];
	put_u32(p, code);
	channel_send(&a->ch, FRAME_ERROR, p, sizeof(p), message, strlen(message));
}

/* EXIT: code and signal, then OOM_KILLED when the OOM killer struck (a record list, for later additions). */
static void queue_exit(struct agent *a)
{
	uint8_t p[8 + RECORD_HEADER_SIZE + 1];
	size_t len = 8;
	put_u32(p, (uint32_t)a->exit_code);
	put_u32(p + 4, a->exit_signal);
	if (a->oom_killed) {
		put_u16(p + len, TAG_OOM_KILLED);
		put_u32(p + len + 2, 1);
		p[len + RECORD_HEADER_SIZE] = 1;
		len += RECORD_HEADER_SIZE + 1;
	}
	channel_send(&a->ch, FRAME_EXIT, p, len, NULL, 0);
}

static const char *state_name(enum agent_phase phase)
{
	switch (phase) {
	case PHASE_WAITING: return "waiting";
	case PHASE_EXITED: return "exited";
	default: return "running";
	}
}

/* channel_ops.connected: HELLO first, and EXIT again if it may have been lost. */
static void on_connected(void *ctx, struct channel *ch)
{
	struct agent *a = ctx;
	struct bytes hello = {0};
	int rc = record_put_str(&hello, TAG_AGENT_VERSION, AGENT_VERSION);
	rc |= record_put_str(&hello, TAG_STATE, state_name(a->phase));
	if (a->main_pid > 0)
		rc |= record_put_u32(&hello, TAG_PID, (uint32_t)a->main_pid);
	if (a->phase == PHASE_EXITED)
		rc |= record_put_u32(&hello, TAG_EXIT_CODE, (uint32_t)a->exit_code);
	if (rc != 0 || outq_push_front(&ch->out, FRAME_HELLO, 0, hello.data, hello.len) != 0)
		PRINT_ERROR("queueing HELLO: out of memory");
	bytes_free(&hello);
	if (a->phase == PHASE_EXITED && !a->acked && !outq_contains(&ch->out, FRAME_EXIT))
		queue_exit(a);
}

void agent_fail_setup(struct agent *a, uint32_t code, const char *message)
{
	PRINT_ERROR("%s", message);
	send_error(a, code, message);
	a->exit_code = EXIT_SETUP_FAILED;
	a->exit_signal = 0;
	a->phase = PHASE_EXITED;
	queue_exit(a);
}

/* Writes the RUN's network files, and a machine id where the image asks for one, into the container root. 0 on success. */
static int write_etc_files(const struct run_request *r, char *err, size_t errlen)
{
	if (r->hostname != NULL) {
		char line[HOSTNAME_MAX + 2];
		int n = snprintf(line, sizeof(line), "%s\n", r->hostname);
		system_set_hostname(r->hostname);
		if (system_write_etc(ROOT_DIR, "hostname", line, (size_t)n, err, errlen) != 0)
			return 1;
	}
	if (r->hosts != NULL &&
	    system_write_etc(ROOT_DIR, "hosts", r->hosts, r->hosts_len, err, errlen) != 0)
		return 1;
	if (r->resolv_conf != NULL &&
	    system_write_etc(ROOT_DIR, "resolv.conf", r->resolv_conf, r->resolv_conf_len, err,
			     errlen) != 0)
		return 1;
	return system_fill_machine_id(ROOT_DIR, err, errlen);
}

/*
 * The guest clock starts from the RTC's whole second (measured 0.67 s behind the host); the host's time
 * in RUN makes output timestamps agree with the host's to within the control channel's latency.
 */
static void set_clock(uint64_t clock_ns)
{
	if (clock_ns == 0)
		return;
	struct timespec ts = { .tv_sec = (time_t)(clock_ns / 1000000000u),
			       .tv_nsec = (long)(clock_ns % 1000000000u) };
	if (clock_settime(CLOCK_REALTIME, &ts) != 0)
		PRINT_WARN("setting the clock: %s", strerror(errno));
}

/*
 * Who this machine is, from the host: the same steps whether it booted or was restored from a snapshot
 * taken while it waited for RUN (then its clones share the template's random state, clock and network).
 */
static int become_itself(const struct run_request *r, char *err, size_t errlen)
{
	if (r->random_seed != NULL &&
	    netconf_reseed_random(r->random_seed, r->random_seed_len, err, errlen) != 0)
		return 1;
	set_clock(r->clock_ns);
	if (r->net_address == NULL)
		return 0;
	struct netconf n;
	return netconf_parse(r->net_address, r->net_gateway, r->net_mac, &n, err, errlen) != 0 ||
	       netconf_apply(&n, err, errlen) != 0;
}

static void start_container(struct agent *a, struct run_request *r)
{
	char err[512];
	err[0] = '\0';
	if (become_itself(r, err, sizeof(err)) != 0 ||
	    mounts_container_root(r->rootfs_type, err, sizeof(err)) != 0 ||
	    (r->mounts != NULL && volumes_mount(r->mounts, err, sizeof(err)) != 0) ||
	    write_etc_files(r, err, sizeof(err)) != 0 ||
	    cgroup_setup(r->memory_max, err, sizeof(err)) != 0) {
		agent_fail_setup(a, ERR_MOUNT, err);
		return;
	}

	struct spawn_result res;
	if (process_spawn(r, ROOT_DIR, ROOT_PTS_DIR, &res) != 0) {
		agent_fail_setup(a, ERR_MOUNT, res.message);
		return;
	}
	a->main_pid = res.pid;
	a->phase = PHASE_RUNNING;
	a->master = res.master;
	stdin_feed_init(&a->in, res.in_fd, r->tty);
	if (output_init(&a->out[0], res.out_fd, STREAM_STDOUT) != 0 ||
	    output_init(&a->out[1], res.err_fd, STREAM_STDERR) != 0)
		PRINT_ERROR("allocating output buffers: out of memory");
	/* A terminal's echo must not wait for a newline: its output goes as it is read. */
	a->out[0].raw = r->tty;
	if (res.error != 0) {
		PRINT_WARN("%s", res.message);
		send_error(a, res.error, res.message);
		return;
	}
	PRINT_INFO("started %s as pid %d (user %s, cwd %s)", r->argv[0], (int)res.pid, r->user,
		   r->cwd);
	send_u32(a, FRAME_STARTED, (uint32_t)res.pid);
}

static void arm_stop_timer(struct agent *a, uint32_t grace_ms)
{
	int64_t deadline = monotonic_ms() + grace_ms;
	if (a->stop_deadline_ms >= 0 && a->stop_deadline_ms <= deadline)
		return; /* an earlier STOP already kills sooner */
	struct itimerspec its = {
		.it_value = {.tv_sec = grace_ms / 1000, .tv_nsec = (long)(grace_ms % 1000) * 1000000},
	};
	if (timerfd_settime(a->stop_tfd, 0, &its, NULL) != 0) {
		PRINT_ERROR("timerfd_settime: %s", strerror(errno));
		return;
	}
	a->stop_deadline_ms = deadline;
}

static void signal_main(struct agent *a, int signo)
{
	if (kill(a->main_pid, signo) != 0 && errno != ESRCH)
		PRINT_WARN("kill %d signal %d: %s", (int)a->main_pid, signo, strerror(errno));
}

/* Sends signo (to the process, not its group, as Docker does), SIGKILL after grace_ms. */
static void stop_main(struct agent *a, int signo, uint32_t grace_ms)
{
	PRINT_INFO("stopping pid %d with signal %d, %u ms grace", (int)a->main_pid, signo,
		   grace_ms);
	signal_main(a, signo);
	if (signo == SIGKILL)
		return;
	if (grace_ms == 0)
		signal_main(a, SIGKILL);
	else
		arm_stop_timer(a, grace_ms);
}

static int valid_signal(uint32_t signo)
{
	return signo >= 1 && signo < (uint32_t)NSIG;
}

/* PROCESSES, in answer to TOP. */
static void send_processes(struct agent *a)
{
	struct bytes list = {0};
	if (top_collect("/proc", ROOT_DIR "/etc/passwd", &list) != 0)
		PRINT_WARN("TOP: listing the processes failed; the list may be short");
	channel_send(&a->ch, FRAME_PROCESSES, list.data, list.len, NULL, 0);
	bytes_free(&list);
}

/* STATS_RESULT, in answer to STATS. */
static void send_stats(struct agent *a)
{
	struct bytes list = {0};
	if (stats_collect("/proc/stat", &list) != 0)
		PRINT_WARN("STATS: out of memory; the answer may be short");
	channel_send(&a->ch, FRAME_STATS_RESULT, list.data, list.len, NULL, 0);
	bytes_free(&list);
}

/* Bytes of stdin waiting in the agent, the main process's and every exec's. */
static size_t stdin_pending(const struct agent *a)
{
	return stdin_feed_pending(&a->in) + exec_stdin_pending(&a->execs);
}

/* A frame for an exec session: EXEC, STDIN, STDIN_EOF, RESIZE, SIGNAL. */
static void on_session_frame(struct agent *a, const struct frame_header *h, const uint8_t *payload)
{
	switch (h->type) {
	case FRAME_EXEC:
		if (a->phase != PHASE_RUNNING)
			exec_send_error(&a->ch, h->session, ERR_BAD_REQUEST,
					"EXEC: the container is not running");
		else
			exec_start(&a->execs, h->session, payload, h->length, ROOT_DIR);
		return;
	case FRAME_COPY_OUT:
	case FRAME_COPY_IN:
	case FRAME_STAT:
		if (a->phase != PHASE_RUNNING)
			exec_send_error(&a->ch, h->session, ERR_BAD_REQUEST,
					"COPY: the container is not running");
		else
			copy_session_frame(&a->execs, h, payload, ROOT_DIR);
		return;
	case FRAME_STDIN:
		exec_stdin(&a->execs, h->session, payload, h->length);
		a->ch.hold_input = stdin_pending(a) > EXEC_STDIN_HIGH_WATER;
		return;
	case FRAME_STDIN_EOF:
		exec_stdin_eof(&a->execs, h->session);
		return;
	case FRAME_RESIZE:
		exec_resize(&a->execs, h->session, payload, h->length);
		return;
	case FRAME_SIGNAL: {
		uint32_t signo = h->length >= 4 ? get_u32(payload) : 0;
		if (!valid_signal(signo))
			exec_send_error(&a->ch, h->session, ERR_BAD_REQUEST, "SIGNAL: bad payload");
		else
			exec_signal(&a->execs, h->session, (int)signo);
		return;
	}
	default:
		PRINT_DEBUG("ignoring frame 0x%02x for session %u", h->type, h->session);
		return;
	}
}

/* STDIN, STDIN_EOF and RESIZE for the main process (session 0); dropped unless it runs. */
static void on_main_input(struct agent *a, const struct frame_header *h, const uint8_t *payload)
{
	uint16_t rows, cols;
	if (a->phase == PHASE_WAITING) {
		send_error(a, ERR_BAD_REQUEST, "STDIN/RESIZE: no process is running");
		return;
	}
	if (a->phase != PHASE_RUNNING)
		return;
	switch (h->type) {
	case FRAME_STDIN:
		if (stdin_feed_push(&a->in, payload, h->length) != 0)
			PRINT_ERROR("main stdin: out of memory");
		return;
	case FRAME_STDIN_EOF:
		stdin_feed_eof(&a->in);
		return;
	case FRAME_RESIZE:
		if (resize_parse(payload, h->length, &rows, &cols) != 0)
			send_error(a, ERR_BAD_REQUEST, "RESIZE: bad payload");
		else if (a->master >= 0)
			pty_resize(a->master, rows, cols);
		return;
	default:
		return;
	}
}

/* channel_ops.frame */
static void on_frame(void *ctx, const struct frame_header *h, const uint8_t *payload)
{
	struct agent *a = ctx;
	if (h->session != 0) {
		on_session_frame(a, h, payload);
		return;
	}
	switch (h->type) {
	case FRAME_RUN: {
		if (a->phase != PHASE_WAITING) {
			send_error(a, ERR_BAD_REQUEST, "RUN: a process was already started");
			return;
		}
		struct run_request r;
		char err[256];
		if (run_request_parse(payload, h->length, &r, err, sizeof(err)) != 0) {
			PRINT_WARN("%s", err);
			send_error(a, ERR_BAD_REQUEST, err);
			return;
		}
		start_container(a, &r);
		run_request_free(&r);
		return;
	}
	case FRAME_SIGNAL:
	case FRAME_STOP: {
		uint32_t signo = h->length >= 4 ? get_u32(payload) : 0;
		if (!valid_signal(signo) || h->length < (h->type == FRAME_STOP ? 8u : 4u)) {
			send_error(a, ERR_BAD_REQUEST, "SIGNAL/STOP: bad payload");
		} else if (a->phase == PHASE_WAITING) {
			send_error(a, ERR_BAD_REQUEST, "SIGNAL/STOP: no process is running");
		} else if (a->phase == PHASE_RUNNING) {
			if (h->type == FRAME_STOP)
				stop_main(a, (int)signo, get_u32(payload + 4));
			else
				signal_main(a, (int)signo);
		}
		return;
	}
	case FRAME_STDIN:
	case FRAME_STDIN_EOF:
	case FRAME_RESIZE:
		on_main_input(a, h, payload);
		a->ch.hold_input = stdin_pending(a) > EXEC_STDIN_HIGH_WATER;
		return;
	case FRAME_EXIT_ACK:
		if (a->phase == PHASE_EXITED)
			a->acked = 1;
		return;
	case FRAME_TOP:
		send_processes(a);
		return;
	case FRAME_STATS:
		send_stats(a);
		return;
	case FRAME_CLOCK:
		if (h->length >= 8)
			set_clock(get_u64(payload));
		return;
	default:
		return; /* unknown types are ignored */
	}
}

static const struct channel_ops agent_channel_ops = {
	.connected = on_connected,
	.frame = on_frame,
};

int agent_init(struct agent *a)
{
	memset(a, 0, sizeof(*a));
	a->sigfd = a->stop_tfd = -1;
	a->stop_deadline_ms = -1;
	a->ack_deadline_ms = -1;
	a->out[0].fd = a->out[1].fd = -1;
	a->ch.fd = -1;
	a->master = -1;
	stdin_feed_init(&a->in, -1, 0);

	/* Block everything but the synchronous faults, as tini does. */
	sigset_t all, watched;
	sigfillset(&all);
	static const int faults[] = {SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGABRT, SIGTRAP, SIGSYS};
	for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
		sigdelset(&all, faults[i]);
	if (sigprocmask(SIG_SETMASK, &all, NULL) != 0) {
		PRINT_FATAL("sigprocmask: %s", strerror(errno));
		return 1;
	}
	sigemptyset(&watched);
	static const int handled[] = {SIGCHLD, SIGIO, SIGTERM, SIGINT, SIGPWR};
	for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaddset(&watched, handled[i]);
	a->sigfd = signalfd(-1, &watched, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->sigfd < 0) {
		PRINT_FATAL("signalfd: %s", strerror(errno));
		return 1;
	}
	a->stop_tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (a->stop_tfd < 0) {
		PRINT_FATAL("timerfd_create: %s", strerror(errno));
		return 1;
	}
	return 0;
}

int agent_open_channel(struct agent *a, const char *path)
{
	log_agent = a;
	exec_table_init(&a->execs, &a->ch);
	if (channel_open(&a->ch, path, &agent_channel_ops, a) != 0)
		return 1;
	log_set_sink(send_log);
	return 0;
}

/* The main process is gone: kill the rest, as a container's PID namespace would. */
static void main_exited(struct agent *a, int status)
{
	a->exit_code = process_exit_code(status, &a->exit_signal);
	/* Docker's OOMKilled: any process of the container, not only this one (a shell's child, say). */
	a->oom_killed = cgroup_oom_kills() > 0;
	a->phase = PHASE_DRAINING;
	a->stop_deadline_ms = -1;
	timerfd_settime(a->stop_tfd, 0, &(struct itimerspec){0}, NULL);
	PRINT_INFO("pid %d exited with code %d", (int)a->main_pid, a->exit_code);
	/* Its stdin goes with it; the pty master stays readable (out[0]) until it reads EOF. */
	stdin_feed_close(&a->in);
	if (a->master >= 0)
		close(a->master);
	a->master = -1;
	if (kill(-1, SIGKILL) != 0 && errno != ESRCH)
		PRINT_WARN("kill -1: %s", strerror(errno));
}

static void reap(struct agent *a)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0 && errno != ECHILD)
			PRINT_WARN("waitpid: %s", strerror(errno));
		if (pid <= 0)
			return;
		if (pid == a->main_pid && a->phase == PHASE_RUNNING)
			main_exited(a, status);
		else if (!exec_reaped(&a->execs, pid, status))
			PRINT_DEBUG("reaped pid %d", (int)pid);
	}
}

static void shutdown_requested(struct agent *a, int signo)
{
	PRINT_INFO("signal %d: shutting down", signo);
	a->shutdown = 1;
	if (a->phase == PHASE_WAITING) {
		a->phase = PHASE_EXITED;
		a->acked = 1; /* nothing ran: nothing to report */
	} else if (a->phase == PHASE_RUNNING) {
		stop_main(a, SIGTERM, SHUTDOWN_GRACE_MS);
	}
}

static void handle_signals(struct agent *a)
{
	struct signalfd_siginfo si;
	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(a);
			break;
		case SIGIO:
			channel_check(&a->ch);
			break;
		default:
			shutdown_requested(a, (int)si.ssi_signo);
			break;
		}
	}
}

static void handle_stop_timer(struct agent *a)
{
	uint64_t expirations;
	if (read(a->stop_tfd, &expirations, sizeof(expirations)) != sizeof(expirations))
		return;
	a->stop_deadline_ms = -1;
	if (a->phase == PHASE_RUNNING) {
		PRINT_INFO("grace period over: killing pid %d", (int)a->main_pid);
		signal_main(a, SIGKILL);
	}
}

/* output_emit_fn: one OUTPUT frame. */
static void emit_output(void *ctx, uint8_t stream, uint64_t ts, const uint8_t *data, size_t len)
{
	struct agent *a = ctx;
	uint8_t head[OUTPUT_HEADER_SIZE] = {stream};
	put_u64(head + 4, ts);
	channel_send(&a->ch, FRAME_OUTPUT, head, sizeof(head), data, len);
}

static int64_t earliest(int64_t a, int64_t b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static int finished(const struct agent *a)
{
	if (a->phase != PHASE_EXITED)
		return 0;
	return a->acked || (a->ack_deadline_ms >= 0 && monotonic_ms() >= a->ack_deadline_ms);
}

void agent_run(struct agent *a)
{
	enum { P_SIG, P_STOP, P_CHANNEL, P_OUT, P_ERR, P_IN, P_EXEC, P_COUNT = P_EXEC + EXEC_POLL_FDS };
	while (!finished(a)) {
		struct pollfd p[P_COUNT];
		short ch_events = channel_poll_events(&a->ch);
		int reading = outq_pending(&a->ch.out) < OUTQ_HIGH_WATER;
		p[P_SIG] = (struct pollfd){.fd = a->sigfd, .events = POLLIN};
		p[P_STOP] = (struct pollfd){.fd = a->stop_tfd, .events = POLLIN};
		p[P_CHANNEL] = (struct pollfd){.fd = ch_events ? a->ch.fd : -1, .events = ch_events};
		for (int i = 0; i < 2; i++)
			p[P_OUT + i] = (struct pollfd){
				.fd = reading ? a->out[i].fd : -1, .events = POLLIN};
		p[P_IN] = (struct pollfd){.fd = stdin_feed_poll_fd(&a->in), .events = POLLOUT};
		exec_poll_fill(&a->execs, p + P_EXEC, reading);

		int64_t deadline = channel_deadline(&a->ch);
		for (int i = 0; i < 2; i++)
			deadline = earliest(deadline, output_deadline(&a->out[i]));
		if (a->phase == PHASE_EXITED)
			deadline = earliest(deadline, a->ack_deadline_ms);
		int timeout = -1;
		if (deadline >= 0) {
			int64_t wait = deadline - monotonic_ms();
			timeout = wait < 0 ? 0 : wait > 60000 ? 60000 : (int)wait;
		}

		if (poll(p, P_COUNT, timeout) < 0 && errno != EINTR) {
			PRINT_ERROR("poll: %s", strerror(errno));
			continue;
		}
		if (p[P_SIG].revents)
			handle_signals(a);
		if (p[P_STOP].revents)
			handle_stop_timer(a);
		if (p[P_CHANNEL].revents)
			channel_handle(&a->ch, p[P_CHANNEL].revents);
		for (int i = 0; i < 2; i++)
			if (p[P_OUT + i].revents)
				output_read(&a->out[i], emit_output, a);
		if (p[P_IN].fd >= 0 && p[P_IN].revents)
			stdin_feed_write(&a->in);
		exec_poll_handle(&a->execs, p + P_EXEC);
		a->ch.hold_input = stdin_pending(a) > EXEC_STDIN_HIGH_WATER;

		int64_t now = monotonic_ms();
		if (channel_deadline(&a->ch) >= 0 && now >= channel_deadline(&a->ch))
			channel_check(&a->ch);
		for (int i = 0; i < 2; i++)
			output_flush(&a->out[i], now, 0, emit_output, a);

		if (a->phase == PHASE_DRAINING && a->out[0].fd < 0 && a->out[1].fd < 0) {
			a->phase = PHASE_EXITED;
			queue_exit(a);
		}
		if (a->phase == PHASE_EXITED && a->shutdown && a->ack_deadline_ms < 0)
			a->ack_deadline_ms = now + SHUTDOWN_ACK_WAIT_MS;
		channel_flush(&a->ch);
	}
	PRINT_DEBUG("done (exit code %d, acknowledged: %s)", a->exit_code, a->acked ? "yes" : "no");
}
