/*
 * TOP: the guest's processes as `docker top` lists them, read from /proc.
 * The agent itself (PID 1) and kernel threads are left out. User names come
 * from the container's /etc/passwd.
 */
#ifndef HEARTH_TOP_H
#define HEARTH_TOP_H

#include "protocol.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct proc_stat {
	pid_t ppid;
	uint64_t ticks; /* utime + stime */
	uint64_t rss_pages;
	int kernel_thread; /* PF_KTHREAD */
	char comm[32];
};

/* Parses the content of /proc/<pid>/stat; 0 on success. */
int top_parse_stat(const char *text, struct proc_stat *st);
/* Turns a NUL-separated /proc/<pid>/cmdline into one line joined by spaces (in place); its length. */
size_t top_join_cmdline(char *buf, size_t len);
/* The name of uid in a passwd file (NULL: none), else the number, into out. */
void top_user_name(FILE *passwd, uid_t uid, char *out, size_t outlen);
/* The PROCESSES payload for every process in proc_dir; 0 on success. */
int top_collect(const char *proc_dir, const char *passwd_path, struct bytes *out);

#endif
