#include "cgroup.h"

#include "mounts.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Set once the container's cgroup exists; a forked child sees its copy. */
static int ready;

/* Writes text to path (a cgroup control file); 0, or -1 with errno. */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)len ? 0 : -1;
}

int cgroup_setup(uint64_t memory_max, char *err, size_t errlen)
{
	const char *step = CGROUP_MOUNT;
	if (mkdir_p(CGROUP_MOUNT, 0755) != 0 ||
	    (mount("cgroup2", CGROUP_MOUNT, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0 &&
	     errno != EBUSY))
		goto fail;
	step = CGROUP_MOUNT "/cgroup.subtree_control";
	if (write_file(step, "+memory +pids") != 0)
		goto fail;
	step = CGROUP_DIR;
	if (mkdir(CGROUP_DIR, 0755) != 0 && errno != EEXIST)
		goto fail;
	if (memory_max != 0) {
		char value[32];
		snprintf(value, sizeof(value), "%" PRIu64, memory_max);
		step = CGROUP_DIR "/memory.max";
		if (write_file(step, value) != 0)
			goto fail;
	}
	ready = 1;
	return 0;

fail:
	snprintf(err, errlen, "setting up the container's cgroup (%s): %s", step, strerror(errno));
	return 1;
}

int cgroup_enter(void)
{
	return ready ? write_file(CGROUP_DIR "/cgroup.procs", "0") : 0;
}

long cgroup_read(const char *name, char *buf, size_t len)
{
	if (!ready)
		return -1;
	char path[128];
	snprintf(path, sizeof(path), CGROUP_DIR "/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, buf + got, len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	return (long)got;
}

uint64_t cgroup_oom_kills(void)
{
	char text[512];
	uint64_t kills = 0;
	if (cgroup_read("memory.events", text, sizeof(text)) < 0)
		return 0;
	cgroup_keyed_value(text, "oom_kill", &kills);
	return kills;
}

int cgroup_keyed_value(const char *text, const char *key, uint64_t *value)
{
	size_t klen = strlen(key);
	for (const char *line = text; *line != '\0';) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (errno != 0 || end == line + klen + 1)
				return 1;
			*value = v;
			return 0;
		}
		const char *next = strchr(line, '\n');
		if (next == NULL)
			break;
		line = next + 1;
	}
	return 1;
}

int cgroup_single_value(const char *text, uint64_t *value)
{
	if (strncmp(text, "max", 3) == 0 && (text[3] == '\n' || text[3] == '\0')) {
		*value = CGROUP_NO_LIMIT;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno != 0 || end == text || (*end != '\n' && *end != '\0'))
		return 1;
	*value = v;
	return 0;
}
