#include "exec.h"

#include "exec_request.h"
#include "log.h"
#include "mounts.h"
#include "process.h"
#include "pty.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <sys/syscall.h>
#include <unistd.h>

void exec_table_init(struct exec_table *t, struct channel *ch)
{
	memset(t, 0, sizeof(*t));
	t->ch = ch;
}

void exec_send_error(struct channel *ch, uint32_t id, uint32_t code, const char *message)
{
	uint8_t p[4];
	put_u32(p, code);
	channel_send_session(ch, FRAME_ERROR, id, p, sizeof(p), message, strlen(message));
}

static struct exec_session *find(struct exec_table *t, uint32_t id)
{
	for (int i = 0; id != 0 && i < EXEC_MAX_SESSIONS; i++)
		if (t->s[i].id == id)
			return &t->s[i];
	return NULL;
}

/* The session, or NULL after telling the host it does not exist. */
static struct exec_session *live(struct exec_table *t, uint32_t id, const char *what)
{
	struct exec_session *s = find(t, id);
	if (s == NULL) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%s: no exec session %u", what, id);
		exec_send_error(t->ch, id, ERR_BAD_REQUEST, msg);
	}
	return s;
}

/* output_emit_fn: OUTPUT frames of the session. */
static void emit(void *ctx, uint8_t stream, uint64_t ts, const uint8_t *data, size_t len)
{
	struct exec_session *s = ctx;
	uint8_t head[OUTPUT_HEADER_SIZE] = {stream};
	put_u64(head + 4, ts);
	channel_send_session(s->ch, FRAME_OUTPUT, s->id, head, sizeof(head), data, len);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void session_free(struct exec_session *s)
{
	for (int i = 0; i < 2; i++) {
		output_close(&s->out[i]);
		free(s->out[i].buf);
	}
	stdin_feed_close(&s->in);
	close_fd(&s->master);
	memset(s, 0, sizeof(*s));
}

static void queue_exit(struct exec_session *s)
{
	uint8_t p[8];
	put_u32(p, (uint32_t)s->exit_code);
	put_u32(p + 4, s->exit_signal);
	channel_send_session(s->ch, FRAME_EXIT, s->id, p, sizeof(p), NULL, 0);
	PRINT_DEBUG("exec session %u: exit code %d", s->id, s->exit_code);
	session_free(s);
}

/* Pipes or a pty for the child; the session keeps the parent's ends. 0 on success. */
static int make_stdio(struct exec_session *s, const struct exec_request *x, struct spawn_io *io,
		      char *err, size_t errlen)
{
	int fds[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
	*io = (struct spawn_io){.in = -1, .out = -1, .err = -1};
	if (x->tty) {
		int slave;
		if (pty_open(ROOT_PTS_DIR, &s->master, &slave, err, errlen) != 0)
			return 1;
		if (x->rows && x->cols)
			pty_resize(s->master, x->rows, x->cols);
		s->out[0].fd = fcntl(s->master, F_DUPFD_CLOEXEC, 3);
		stdin_feed_init(&s->in, x->stdin_open ? fcntl(s->master, F_DUPFD_CLOEXEC, 3) : -1, 1);
		*io = (struct spawn_io){.in = slave, .out = slave, .err = slave, .ctty = 1};
		if (s->out[0].fd < 0 || (x->stdin_open && s->in.fd < 0)) {
			snprintf(err, errlen, "dup: %s", strerror(errno));
			close(slave);
			return 1;
		}
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		if (i == 0 && !x->stdin_open)
			continue;
		if (pipe2(fds[i], O_CLOEXEC) != 0) {
			snprintf(err, errlen, "pipe: %s", strerror(errno));
			for (int j = 0; j < i; j++) {
				close_fd(&fds[j][0]);
				close_fd(&fds[j][1]);
			}
			return 1;
		}
	}
	stdin_feed_init(&s->in, fds[0][1], 0);
	s->out[0].fd = fds[1][0];
	s->out[1].fd = fds[2][0];
	for (int fd = 0; fd < 3; fd++)
		if (fds[fd][fd == 0 ? 1 : 0] >= 0)
			fcntl(fds[fd][fd == 0 ? 1 : 0], F_SETFL, O_NONBLOCK);
	*io = (struct spawn_io){.in = fds[0][0], .out = fds[1][1], .err = fds[2][1]};
	return 0;
}

static void close_child_ends(const struct spawn_io *io)
{
	int fds[3] = {io->in, io->out, io->err};
	for (int i = 0; i < 3; i++) {
		int dup_of_earlier = (i > 0 && fds[i] == fds[0]) || (i > 1 && fds[i] == fds[1]);
		if (fds[i] >= 0 && !dup_of_earlier)
			close(fds[i]);
	}
}

/* A free slot for a new session id, or NULL after telling the host why not. */
static struct exec_session *claim(struct exec_table *t, uint32_t id, const char *what)
{
	char err[96];
	if (id == 0 || find(t, id) != NULL) {
		snprintf(err, sizeof(err), "%s: session %u is %s", what, id, id ? "in use" : "reserved");
		exec_send_error(t->ch, id, ERR_BAD_REQUEST, err);
		return NULL;
	}
	for (int i = 0; i < EXEC_MAX_SESSIONS; i++)
		if (t->s[i].id == 0)
			return &t->s[i];
	snprintf(err, sizeof(err), "%s: too many sessions", what);
	exec_send_error(t->ch, id, ERR_BAD_REQUEST, err);
	return NULL;
}

void exec_start(struct exec_table *t, uint32_t id, const uint8_t *payload, size_t len,
		const char *root)
{
	char err[512];
	struct exec_session *s = claim(t, id, "EXEC");
	if (s == NULL)
		return;
	struct exec_request x;
	if (exec_request_parse(payload, len, &x, err, sizeof(err)) != 0) {
		PRINT_WARN("%s", err);
		exec_send_error(t->ch, id, ERR_BAD_REQUEST, err);
		return;
	}

	memset(s, 0, sizeof(*s));
	*s = (struct exec_session){.id = id, .ch = t->ch, .master = -1};
	stdin_feed_init(&s->in, -1, 0);
	s->out[0].fd = s->out[1].fd = -1;
	struct spawn_io io;
	struct spawn_result res;
	if (output_init(&s->out[0], -1, STREAM_STDOUT) != 0 ||
	    output_init(&s->out[1], -1, STREAM_STDERR) != 0) {
		snprintf(err, sizeof(err), "EXEC: out of memory");
		goto fail;
	}
	s->out[0].raw = s->out[1].raw = 1;
	if (make_stdio(s, &x, &io, err, sizeof(err)) != 0)
		goto fail;
	int rc = process_fork(&x.run, root, &io, &res);
	close_child_ends(&io);
	if (rc != 0) {
		memcpy(err, res.message, sizeof(err));
		goto fail;
	}
	s->pid = res.pid;
	if (res.error != 0) {
		PRINT_INFO("exec session %u: %s", id, res.message);
		exec_send_error(t->ch, id, res.error, res.message);
	} else {
		PRINT_DEBUG("exec session %u: %s as pid %d", id, x.run.argv[0], (int)res.pid);
		uint8_t p[4];
		put_u32(p, (uint32_t)res.pid);
		channel_send_session(t->ch, FRAME_STARTED, id, p, sizeof(p), NULL, 0);
	}
	exec_request_free(&x);
	return;

fail:
	PRINT_WARN("exec session %u: %s", id, err);
	exec_send_error(t->ch, id, ERR_MOUNT, err);
	s->exit_code = EXIT_SETUP_FAILED;
	queue_exit(s);
	exec_request_free(&x);
}

void exec_stdin(struct exec_table *t, uint32_t id, const uint8_t *data, size_t len)
{
	struct exec_session *s = live(t, id, "STDIN");
	if (s == NULL || stdin_feed_push(&s->in, data, len) == 0)
		return;
	/* A hole in the middle of its input (half a tar) must not pass for the whole: the command goes. */
	PRINT_ERROR("exec session %u: stdin: out of memory, killing pid %d", id, (int)s->pid);
	stdin_feed_close(&s->in);
	if (!s->reaped && s->pid > 0 && kill(s->pid, SIGKILL) != 0 && errno != ESRCH)
		PRINT_WARN("exec session %u: kill %d: %s", id, (int)s->pid, strerror(errno));
}

void exec_stdin_eof(struct exec_table *t, uint32_t id)
{
	struct exec_session *s = live(t, id, "STDIN_EOF");
	if (s == NULL)
		return;
	stdin_feed_eof(&s->in);
}

void exec_resize(struct exec_table *t, uint32_t id, const uint8_t *payload, size_t len)
{
	uint16_t rows, cols;
	struct exec_session *s = live(t, id, "RESIZE");
	if (s == NULL)
		return;
	if (resize_parse(payload, len, &rows, &cols) != 0)
		exec_send_error(t->ch, id, ERR_BAD_REQUEST, "RESIZE: bad payload");
	else if (s->master >= 0)
		pty_resize(s->master, rows, cols);
}

void exec_signal(struct exec_table *t, uint32_t id, int signo)
{
	struct exec_session *s = live(t, id, "SIGNAL");
	if (s == NULL || s->reaped)
		return;
	pid_t target = s->pid;
	if (s->master >= 0) {
		/* A terminal signals its foreground process group. */
		pid_t fg = tcgetpgrp(s->master);
		if (fg > 0)
			target = -fg;
		else if (errno != ENOTTY)
			PRINT_DEBUG("tcgetpgrp: %s", strerror(errno));
	}
	if (kill(target, signo) != 0 && errno != ESRCH)
		PRINT_WARN("exec session %u: kill %d signal %d: %s", id, (int)target, signo,
			   strerror(errno));
}

static int done(const struct exec_session *s)
{
	return s->id != 0 && s->reaped && s->out[0].fd < 0 && s->out[1].fd < 0;
}

int exec_reaped(struct exec_table *t, pid_t pid, int status)
{
	for (int i = 0; i < EXEC_MAX_SESSIONS; i++) {
		struct exec_session *s = &t->s[i];
		if (s->id == 0 || s->reaped || s->pid != pid)
			continue;
		s->reaped = 1;
		s->exit_code = process_exit_code(status, &s->exit_signal);
		stdin_feed_close(&s->in);
		if (done(s))
			queue_exit(s);
		return 1;
	}
	return 0;
}

void exec_poll_fill(struct exec_table *t, struct pollfd *p, int reading)
{
	for (int i = 0; i < EXEC_MAX_SESSIONS; i++) {
		const struct exec_session *s = &t->s[i];
		p[3 * i] = (struct pollfd){.fd = stdin_feed_poll_fd(&s->in), .events = POLLOUT};
		for (int k = 0; k < 2; k++)
			p[3 * i + 1 + k] = (struct pollfd){
				.fd = reading && s->id ? s->out[k].fd : -1, .events = POLLIN};
	}
}

void exec_poll_handle(struct exec_table *t, const struct pollfd *p)
{
	for (int i = 0; i < EXEC_MAX_SESSIONS; i++) {
		struct exec_session *s = &t->s[i];
		if (s->id == 0)
			continue;
		if (p[3 * i].fd >= 0 && p[3 * i].revents)
			stdin_feed_write(&s->in);
		for (int k = 0; k < 2; k++)
			if (p[3 * i + 1 + k].fd >= 0 && p[3 * i + 1 + k].revents)
				output_read(&s->out[k], emit, s);
		if (done(s))
			queue_exit(s);
	}
}

size_t exec_stdin_pending(const struct exec_table *t)
{
	size_t total = 0;
	for (int i = 0; i < EXEC_MAX_SESSIONS; i++)
		total += stdin_feed_pending(&t->s[i].in);
	return total;
}

/* The child of exec_start_fn: stdio in place, every other descriptor closed, then fn. */
static void run_fn(const struct spawn_io *io, exec_fn fn, void *arg)
{
	int in = io->in >= 0 ? io->in : open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (in < 0 || dup2(in, 0) < 0 || dup2(io->out, 1) < 0 || dup2(io->err, 2) < 0)
		_exit(EXIT_SETUP_FAILED);
	/* The agent's channel and other sessions' pipes must not stay open in here. */
	if (syscall(SYS_close_range, 3, ~0u, 0) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	_exit(fn(arg, 0, 1, 2));
}

void exec_start_fn(struct exec_table *t, uint32_t id, int stdin_open, exec_fn fn, void *arg)
{
	char err[512];
	struct exec_session *s = claim(t, id, "COPY");
	if (s == NULL)
		return;
	*s = (struct exec_session){.id = id, .ch = t->ch, .master = -1};
	stdin_feed_init(&s->in, -1, 0);
	s->out[0].fd = s->out[1].fd = -1;
	struct exec_request x = {.stdin_open = stdin_open};
	struct spawn_io io;
	if (output_init(&s->out[0], -1, STREAM_STDOUT) != 0 ||
	    output_init(&s->out[1], -1, STREAM_STDERR) != 0) {
		snprintf(err, sizeof(err), "COPY: out of memory");
		goto fail;
	}
	s->out[0].raw = s->out[1].raw = 1;
	if (make_stdio(s, &x, &io, err, sizeof(err)) != 0)
		goto fail;
	pid_t pid = fork();
	if (pid == 0)
		run_fn(&io, fn, arg);
	int saved = errno;
	close_child_ends(&io);
	if (pid < 0) {
		snprintf(err, sizeof(err), "fork: %s", strerror(saved));
		goto fail;
	}
	s->pid = pid;
	PRINT_DEBUG("copy session %u: pid %d", id, (int)pid);
	return;

fail:
	PRINT_WARN("copy session %u: %s", id, err);
	exec_send_error(t->ch, id, ERR_MOUNT, err);
	s->exit_code = EXIT_SETUP_FAILED;
	queue_exit(s);
}
