#include "process.h"

#include "caps.h"
#include "cgroup.h"
#include "log.h"
#include "mounts.h"
#include "protocol.h"
#include "pty.h"
#include "user.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct child_status {
	uint32_t error;
	char message[508];
};

/* Reports a failure to the parent and exits; only for the child. */
static __attribute__((noreturn)) void child_fail(int status_fd, uint32_t error, int exit_code,
						 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void child_fail(int status_fd, uint32_t error, int exit_code, const char *fmt, ...)
{
	struct child_status st = {.error = error};
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st.message, sizeof(st.message), fmt, ap);
	va_end(ap);
	size_t len = sizeof(st.error) + strlen(st.message);
	if (write(status_fd, &st, len) < 0)
		PRINT_ERROR("%s (and reporting it: %s)", st.message, strerror(errno));
	_exit(exit_code);
}

/* Go-style lowercase texts, as Docker prints them. */
static const char *errno_text(int e)
{
	switch (e) {
	case ENOENT: return "no such file or directory";
	case ENOTDIR: return "not a directory";
	case EACCES: return "permission denied";
	case EPERM: return "operation not permitted";
	case ENOEXEC: return "exec format error";
	case EISDIR: return "is a directory";
	case ELOOP: return "too many levels of symbolic links";
	case ENAMETOOLONG: return "file name too long";
	default: return strerror(e);
	}
}

static int exec_exit_code(int e)
{
	return e == ENOENT || e == ENOTDIR ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE;
}

/* execvpe with Docker's messages; returns only on failure, after reporting it. */
static __attribute__((noreturn)) void exec_command(int status_fd, char *const argv[],
						   char *const envp[])
{
	const char *file = argv[0];
	if (strchr(file, '/') != NULL) {
		execve(file, argv, envp);
		int e = errno;
		struct stat st;
		if (e == ENOENT && stat(file, &st) != 0)
			child_fail(status_fd, ERR_EXEC, EXIT_NOT_FOUND, "exec: \"%s\": stat %s: %s",
				   file, file, errno_text(errno));
		child_fail(status_fd, ERR_EXEC, exec_exit_code(e), "exec: \"%s\": %s", file,
			   errno_text(e));
	}

	const char *path = env_lookup(envp, "PATH");
	if (path == NULL)
		path = DEFAULT_PATH;
	int seen_eacces = 0;
	size_t flen = strlen(file);
	for (const char *p = path;; p++) {
		const char *end = strchrnul(p, ':');
		size_t dlen = (size_t)(end - p);
		char candidate[4096];
		if (dlen + flen + 2 <= sizeof(candidate)) {
			memcpy(candidate, p, dlen);
			candidate[dlen] = '/';
			memcpy(candidate + dlen + 1, file, flen + 1);
			/* An empty PATH element is the current directory. */
			execve(dlen ? candidate : file, argv, envp);
			switch (errno) {
			case EACCES:
				seen_eacces = 1;
				/* fallthrough */
			case ENOENT:
			case ENOTDIR:
			case ENAMETOOLONG:
				break;
			default:
				child_fail(status_fd, ERR_EXEC, EXIT_CANNOT_EXECUTE,
					   "exec: \"%s\": %s", file, errno_text(errno));
			}
		}
		if (*end == '\0')
			break;
		p = end;
	}
	if (seen_eacces)
		child_fail(status_fd, ERR_EXEC, EXIT_CANNOT_EXECUTE, "exec: \"%s\": permission denied",
			   file);
	child_fail(status_fd, ERR_EXEC, EXIT_NOT_FOUND,
		   "exec: \"%s\": executable file not found in $PATH", file);
}

/* Puts HOME=home in the environment unless it has one (envp has room for it). */
static void set_home(struct run_request *r, const char *home)
{
	if (env_lookup(r->envp, "HOME") != NULL)
		return;
	size_t len = strlen(home) + 6;
	char *entry = malloc(len);
	if (entry == NULL)
		return;
	snprintf(entry, len, "HOME=%s", home);
	r->envp[r->envc++] = entry;
	r->envp[r->envc] = NULL;
}

/* fopen for a regular file only: a FIFO planted in the image must not block the parent. */
static FILE *open_regular(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (f == NULL)
		close(fd);
	return f;
}

static void restore_signals(void)
{
	sigset_t none;
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL); /* fails harmlessly for SIGKILL, SIGSTOP and libc's own */
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static __attribute__((noreturn)) void child(struct run_request *r, const char *root,
					    int status_fd, const struct spawn_io *io)
{
	log_set_sink(NULL); /* the channel belongs to the parent */

	/* Before anything it allocates, so that all of it counts against the container's limit. */
	if (cgroup_enter() != 0)
		child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "joining the container's cgroup: %s",
			   strerror(errno));

	if (setsid() < 0)
		child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "setsid: %s", strerror(errno));
	if (io->ctty && ioctl(io->in, TIOCSCTTY, 0) != 0)
		child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "TIOCSCTTY: %s", strerror(errno));
	int null_fd = io->in < 0 ? open("/dev/null", O_RDONLY | O_CLOEXEC) : io->in;
	if (null_fd < 0 || dup2(null_fd, STDIN_FILENO) < 0 || dup2(io->out, STDOUT_FILENO) < 0 ||
	    dup2(io->err, STDERR_FILENO) < 0)
		child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "setting up stdio: %s",
			   strerror(errno));

	if (chdir(root) != 0 || chroot(".") != 0 || chdir("/") != 0)
		child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "chroot %s: %s", root,
			   strerror(errno));

	struct exec_user user;
	char message[400];
	FILE *passwd = open_regular("/etc/passwd");
	FILE *group = open_regular("/etc/group");
	if (user_resolve(r->user, passwd, group, &user, message, sizeof(message)) != 0)
		child_fail(status_fd, ERR_USER, EXIT_SETUP_FAILED, "%s", message);
	if (passwd != NULL)
		fclose(passwd);
	if (group != NULL)
		fclose(group);

	if (mkdir_p(r->cwd, 0755) != 0 || chdir(r->cwd) != 0)
		child_fail(status_fd, ERR_CWD, EXIT_SETUP_FAILED,
			   "chdir to cwd (\"%s\") set in config failed: %s", r->cwd,
			   errno_text(errno));

	set_home(r, user.home);
	struct cap_plan caps;
	if (r->has_capabilities) {
		caps_plan(r->capabilities, caps_bounding(), user.uid == 0, &caps);
		if (caps_drop_bounding(&caps) != 0)
			child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "dropping capabilities: %s",
				   strerror(errno));
	}
	if (setgroups(user.ngroups, user.groups) != 0 || setgid(user.gid) != 0 ||
	    setuid(user.uid) != 0)
		child_fail(status_fd, ERR_USER, EXIT_SETUP_FAILED,
			   "setting user %s (uid %u, gid %u): %s", r->user, (unsigned)user.uid,
			   (unsigned)user.gid, strerror(errno));
	if (r->has_capabilities && caps_set(&caps) != 0)
		child_fail(status_fd, ERR_MOUNT, EXIT_SETUP_FAILED, "setting capabilities: %s",
			   strerror(errno));

	restore_signals();
	exec_command(status_fd, r->argv, r->envp);
}

/* Reads the child's report until its exec or exit closes the pipe. */
static void read_status(int fd, struct spawn_result *res)
{
	struct child_status st;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, (char *)&st + got, sizeof(st) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got >= sizeof(st.error)) {
		((char *)&st)[got] = '\0';
		res->error = st.error;
		snprintf(res->message, sizeof(res->message), "%s", st.message);
	}
}

int process_fork(struct run_request *r, const char *root, const struct spawn_io *io,
		 struct spawn_result *res)
{
	int status[2] = {-1, -1};
	memset(res, 0, sizeof(*res));
	res->out_fd = res->err_fd = -1;
	if (pipe2(status, O_CLOEXEC) != 0) {
		snprintf(res->message, sizeof(res->message), "pipe: %s", strerror(errno));
		return 1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(res->message, sizeof(res->message), "fork: %s", strerror(errno));
		close(status[0]);
		close(status[1]);
		return 1;
	}
	if (pid == 0) {
		close(status[0]);
		child(r, root, status[1], io);
	}
	close(status[1]);
	read_status(status[0], res);
	close(status[0]);
	res->pid = pid;
	return 0;
}

/* A pty for the main process: the parent keeps dups of the master to read and to write. */
static int spawn_tty(struct run_request *r, const char *root, const char *pts_dir,
		     struct spawn_result *res)
{
	int master, slave;
	char err[256];
	memset(res, 0, sizeof(*res));
	res->out_fd = res->err_fd = res->in_fd = res->master = -1;
	if (pty_open(pts_dir, &master, &slave, err, sizeof(err)) != 0) {
		snprintf(res->message, sizeof(res->message), "%s", err);
		return 1;
	}
	pty_resize(master, r->rows && r->cols ? r->rows : PTY_DEFAULT_ROWS,
		   r->rows && r->cols ? r->cols : PTY_DEFAULT_COLS);
	int out = fcntl(master, F_DUPFD_CLOEXEC, 3);
	int in = r->stdin_open ? fcntl(master, F_DUPFD_CLOEXEC, 3) : -1;
	if (out < 0 || (r->stdin_open && in < 0)) {
		snprintf(res->message, sizeof(res->message), "dup: %s", strerror(errno));
		goto fail;
	}
	struct spawn_io io = {.in = slave, .out = slave, .err = slave, .ctty = 1};
	if (process_fork(r, root, &io, res) != 0)
		goto fail;
	close(slave);
	res->out_fd = out;
	res->in_fd = in;
	res->master = master;
	return 0;

fail:
	close(slave);
	close(master);
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	res->out_fd = res->err_fd = res->in_fd = res->master = -1;
	return 1;
}

int process_spawn(struct run_request *r, const char *root, const char *pts_dir,
		  struct spawn_result *res)
{
	if (r->tty)
		return spawn_tty(r, root, pts_dir, res);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	memset(res, 0, sizeof(*res));
	if ((r->stdin_open && pipe2(in, O_CLOEXEC) != 0) || pipe2(out, O_CLOEXEC) != 0 ||
	    pipe2(err, O_CLOEXEC) != 0) {
		snprintf(res->message, sizeof(res->message), "pipe: %s", strerror(errno));
		goto fail;
	}
	struct spawn_io io = {.in = in[0], .out = out[1], .err = err[1]};
	if (process_fork(r, root, &io, res) != 0)
		goto fail;
	if (in[0] >= 0)
		close(in[0]);
	close(out[1]);
	close(err[1]);
	if (in[1] >= 0)
		fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	res->out_fd = out[0];
	res->err_fd = err[0];
	res->in_fd = in[1];
	res->master = -1;
	return 0;

fail:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	res->out_fd = res->err_fd = res->in_fd = res->master = -1;
	return 1;
}

int process_exit_code(int status, uint32_t *signo)
{
	if (WIFSIGNALED(status)) {
		*signo = (uint32_t)WTERMSIG(status);
		return 128 + WTERMSIG(status);
	}
	*signo = 0;
	return WEXITSTATUS(status);
}
