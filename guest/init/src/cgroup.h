/*
 * The container's cgroup (cgroup v2, mounted by the agent at /sys/fs/cgroup).
 *
 * Every process of the container, the main process and its execs, runs in
 * /sys/fs/cgroup/container, whose memory.max is RUN's MEMORY_MAX. The agent
 * stays in the root cgroup, so when the container's processes reach the limit
 * the kernel's OOM killer picks one of them (the largest), never the agent,
 * and the VM goes on. memory.events counts those kills (oom_kill): a count
 * above zero at the main process's exit is Docker's OOMKilled. Copy sessions
 * run outside it: they are the agent's work, not the container's.
 */
#ifndef HEARTH_CGROUP_H
#define HEARTH_CGROUP_H

#include <stddef.h>
#include <stdint.h>

#define CGROUP_MOUNT "/sys/fs/cgroup"
#define CGROUP_DIR CGROUP_MOUNT "/container"
/* A limit file's "max". */
#define CGROUP_NO_LIMIT UINT64_MAX

/*
 * Mounts cgroup2, enables the memory and pids controllers for children and
 * makes the container's cgroup, with memory.max = memory_max when it is not
 * 0. 0 on success, else 1 with a message in err.
 */
int cgroup_setup(uint64_t memory_max, char *err, size_t errlen);
/* In a forked child: moves it into the container's cgroup (a no-op before cgroup_setup). 0 or -1 (errno). */
int cgroup_enter(void);
/* Reads the container cgroup's file `name` into buf (NUL-terminated); its length, or -1 (also before cgroup_setup). */
long cgroup_read(const char *name, char *buf, size_t len);
/* memory.events' oom_kill of the container's cgroup; 0 when there is none to read. */
uint64_t cgroup_oom_kills(void);

/* Pure parsers of cgroup files (no I/O). */
/* In "key value" lines (cpu.stat, memory.stat, memory.events): the value of key; 0, or 1 if absent. */
int cgroup_keyed_value(const char *text, const char *key, uint64_t *value);
/* A single-value file (memory.max, memory.current): a number, or "max" as CGROUP_NO_LIMIT; 0 or 1. */
int cgroup_single_value(const char *text, uint64_t *value);

#endif
