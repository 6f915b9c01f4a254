#include "top.h"

#include "log.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PF_KTHREAD_FLAG 0x00200000u

int top_parse_stat(const char *text, struct proc_stat *st)
{
	memset(st, 0, sizeof(*st));
	/* "pid (comm) state ppid ..."; comm may hold spaces and parentheses: it ends at the last ')'. */
	const char *open = strchr(text, '(');
	const char *close = strrchr(text, ')');
	if (open == NULL || close == NULL || close < open)
		return 1;
	size_t clen = (size_t)(close - open - 1);
	if (clen >= sizeof(st->comm))
		clen = sizeof(st->comm) - 1;
	memcpy(st->comm, open + 1, clen);
	st->comm[clen] = '\0';
	/* Fields from 3 (state) on; field n is at index n - 3. */
	unsigned long long f[22];
	char state;
	int n = sscanf(close + 1,
		       " %c %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
		       "%llu %llu %llu %llu %llu %llu %llu",
		       &state, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8],
		       &f[9], &f[10], &f[11], &f[12], &f[13], &f[14], &f[15], &f[16], &f[17],
		       &f[18], &f[19], &f[20]);
	if (n < 22)
		return 1;
	/* f[0] is field 4 (ppid), f[5] field 9 (flags), f[10..11] fields 14-15, f[20] field 24 (rss). */
	st->ppid = (pid_t)f[0];
	st->kernel_thread = (f[5] & PF_KTHREAD_FLAG) != 0;
	st->ticks = f[10] + f[11];
	st->rss_pages = f[20];
	return 0;
}

size_t top_join_cmdline(char *buf, size_t len)
{
	while (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	buf[len] = '\0';
	return len;
}

void top_user_name(FILE *passwd, uid_t uid, char *out, size_t outlen)
{
	char line[1024];
	snprintf(out, outlen, "%u", (unsigned)uid);
	if (passwd == NULL)
		return;
	rewind(passwd);
	while (fgets(line, sizeof(line), passwd) != NULL) {
		char *name = strtok(line, ":");
		char *pw = strtok(NULL, ":");
		char *id = strtok(NULL, ":");
		if (name == NULL || pw == NULL || id == NULL || !isdigit((unsigned char)id[0]))
			continue;
		if (strtoul(id, NULL, 10) == uid) {
			snprintf(out, outlen, "%s", name);
			return;
		}
	}
}

/* Reads a small /proc file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	ssize_t n;
	while (got < size - 1 && (n = read(fd, buf + got, size - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return (ssize_t)got;
}

static uid_t status_uid(const char *proc_dir, const char *pid)
{
	char path[128], buf[4096];
	snprintf(path, sizeof(path), "%s/%s/status", proc_dir, pid);
	if (read_small(path, buf, sizeof(buf)) < 0)
		return 0;
	const char *uid = strstr(buf, "\nUid:");
	return uid ? (uid_t)strtoul(uid + 5, NULL, 10) : 0;
}

/* One PROCESS record; 0 when added or skipped (gone, kernel thread, the agent). */
static int add_process(const char *proc_dir, const char *pid, FILE *passwd, struct bytes *out)
{
	char path[128], stat[1024], cmd[4096], user[64];
	struct proc_stat st;
	snprintf(path, sizeof(path), "%s/%s/stat", proc_dir, pid);
	if (read_small(path, stat, sizeof(stat)) <= 0 || top_parse_stat(stat, &st) != 0)
		return 0; /* it ended meanwhile */
	long id = strtol(pid, NULL, 10);
	if (id == 1 || st.kernel_thread)
		return 0;
	snprintf(path, sizeof(path), "%s/%s/cmdline", proc_dir, pid);
	ssize_t n = read_small(path, cmd, sizeof(cmd));
	if (n <= 0 || top_join_cmdline(cmd, (size_t)n) == 0)
		snprintf(cmd, sizeof(cmd), "[%s]", st.comm);
	top_user_name(passwd, status_uid(proc_dir, pid), user, sizeof(user));

	long tck = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	struct bytes rec = {0};
	int rc = record_put_u32(&rec, TAG_PID, (uint32_t)id);
	rc |= record_put_u32(&rec, TAG_PPID, (uint32_t)st.ppid);
	rc |= record_put_str(&rec, TAG_PROC_USER, user);
	rc |= record_put_str(&rec, TAG_CMDLINE, cmd);
	rc |= record_put_u64(&rec, TAG_CPU_MS, st.ticks * 1000u / (uint64_t)(tck > 0 ? tck : 100));
	rc |= record_put_u64(&rec, TAG_RSS, st.rss_pages * (uint64_t)(page > 0 ? page : 4096));
	if (rc == 0 && out->len + rec.len + RECORD_HEADER_SIZE <= FRAME_MAX_PAYLOAD)
		rc = record_put(out, TAG_PROCESS, rec.data, (uint32_t)rec.len);
	bytes_free(&rec);
	return rc;
}

int top_collect(const char *proc_dir, const char *passwd_path, struct bytes *out)
{
	DIR *dir = opendir(proc_dir);
	if (dir == NULL) {
		PRINT_WARN("opendir %s: %s", proc_dir, strerror(errno));
		return 1;
	}
	/* Non-blocking and regular only: a FIFO planted in the image must not stall the agent. */
	FILE *passwd = NULL;
	struct stat sb;
	int pfd = open(passwd_path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (pfd >= 0 && (fstat(pfd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
			 (passwd = fdopen(pfd, "r")) == NULL))
		close(pfd);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dir)) != NULL)
		if (isdigit((unsigned char)de->d_name[0]))
			rc = add_process(proc_dir, de->d_name, passwd, out);
	if (passwd != NULL)
		fclose(passwd);
	closedir(dir);
	return rc;
}
