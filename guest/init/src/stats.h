/*
 * STATS: what the container uses, as its cgroup counts it (CPU time, memory
 * and its limit, OOM kills, pids), and the guest's whole CPU time and CPU
 * count, against which a share of the CPU is computed (Docker's
 * system_cpu_usage and online_cpus). Answered as a STATS_RESULT record list;
 * a file that cannot be read leaves its records out.
 */
#ifndef HEARTH_STATS_H
#define HEARTH_STATS_H

#include "protocol.h"

#include <stdint.h>

/* The STATS_RESULT payload, reading /proc/stat at proc_stat; 0 on success, -1 out of memory. */
int stats_collect(const char *proc_stat, struct bytes *out);
/* The sum of the fields of /proc/stat's "cpu" line (every CPU, busy and idle), in ticks; 0 or 1. */
int stats_cpu_ticks(const char *text, uint64_t *ticks);

#endif
