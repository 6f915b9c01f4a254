#include "stats.h"

#include "cgroup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USEC_PER_SEC 1000000u

int stats_cpu_ticks(const char *text, uint64_t *ticks)
{
	if (strncmp(text, "cpu ", 4) != 0)
		return 1;
	const char *p = text + 4;
	uint64_t total = 0;
	int fields = 0;
	for (;;) {
		char *end;
		unsigned long long v = strtoull(p, &end, 10);
		if (end == p)
			break;
		total += v;
		fields++;
		p = end;
		if (*p == '\n' || *p == '\0')
			break;
	}
	if (fields < 4) /* user nice system idle, at least */
		return 1;
	*ticks = total;
	return 0;
}

/* Reads a whole (small) file into buf; 0 on success. */
static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return 1;
	buf[n] = '\0';
	return 0;
}

/* The records read from one keyed cgroup file. */
struct keyed {
	const char *file;
	const char *key;
	uint16_t tag;
};

static const struct keyed keyed_records[] = {
	{"cpu.stat", "usage_usec", TAG_CPU_USAGE_USEC},
	{"cpu.stat", "user_usec", TAG_CPU_USER_USEC},
	{"cpu.stat", "system_usec", TAG_CPU_SYSTEM_USEC},
	{"memory.stat", "anon", TAG_MEMORY_ANON},
	{"memory.stat", "file", TAG_MEMORY_FILE},
	{"memory.stat", "inactive_file", TAG_MEMORY_INACTIVE_FILE},
	{"memory.events", "oom_kill", TAG_OOM_KILLS},
};

static const struct {
	const char *file;
	uint16_t tag;
} single_records[] = {
	{"memory.current", TAG_MEMORY_CURRENT},
	{"memory.max", TAG_MEMORY_MAX},
	{"pids.current", TAG_PIDS_CURRENT},
};

int stats_collect(const char *proc_stat, struct bytes *out)
{
	/* memory.stat is the longest, about 1.2 KB on 6.1. */
	char text[4096];
	const char *loaded = NULL;
	uint64_t v;
	int rc = 0;
	for (size_t i = 0; i < sizeof(keyed_records) / sizeof(keyed_records[0]); i++) {
		const struct keyed *k = &keyed_records[i];
		if (loaded == NULL || strcmp(loaded, k->file) != 0) {
			loaded = cgroup_read(k->file, text, sizeof(text)) < 0 ? NULL : k->file;
			if (loaded == NULL)
				continue;
		}
		if (cgroup_keyed_value(text, k->key, &v) == 0)
			rc |= record_put_u64(out, k->tag, v);
	}
	for (size_t i = 0; i < sizeof(single_records) / sizeof(single_records[0]); i++) {
		if (cgroup_read(single_records[i].file, text, sizeof(text)) >= 0 &&
		    cgroup_single_value(text, &v) == 0 && v != CGROUP_NO_LIMIT)
			rc |= record_put_u64(out, single_records[i].tag, v);
	}
	long tck = sysconf(_SC_CLK_TCK);
	if (read_small(proc_stat, text, sizeof(text)) == 0 && stats_cpu_ticks(text, &v) == 0)
		rc |= record_put_u64(out, TAG_GUEST_CPU_USEC, v * USEC_PER_SEC / (uint64_t)(tck > 0 ? tck : 100));
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus > 0)
		rc |= record_put_u32(out, TAG_ONLINE_CPUS, (uint32_t)cpus);
	return rc ? -1 : 0;
}
