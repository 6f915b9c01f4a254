/*
 * docker cp inside the guest: a tar of a path out, a tar extracted into a
 * directory, and a path's stat. Every path is resolved inside the container's
 * root (resolve.h); extraction creates each entry relative to the destination
 * directory, so neither `..` nor a symlink (in the container or in the tar)
 * can place anything outside it.
 *
 * copy_out and copy_in run in a forked child of the agent (an exec session
 * without an exec, exec_start_fn) and do blocking I/O: the agent's pipes and
 * the channel's back-pressure pace them. They return the child's exit status
 * (enum copy_status) after writing a message to err when it is not COPY_OK.
 */
#ifndef HEARTH_COPY_H
#define HEARTH_COPY_H

#include "resolve.h"

#include <stddef.h>
#include <sys/stat.h>

enum copy_status {
	COPY_OK = 0,
	COPY_BAD = 1,       /* a bad path or archive */
	COPY_NOT_FOUND = 2, /* "Could not find the file ... in container" */
	COPY_FAILED = 3,    /* an I/O error */
};

/* Writes a tar of path (named by its last component) to out. */
int copy_out(int rootfd, const char *path, int out, int err);
/* Extracts the tar read from in into the directory dir. */
int copy_in(int rootfd, const char *dir, int in, int err);

struct copy_stat {
	char name[RESOLVE_PATH_MAX];
	char link[RESOLVE_PATH_MAX]; /* a symlink's target, else empty */
	struct stat st;
};

/* lstat of path inside the root; an enum copy_status, with a message in msg. */
int copy_stat(int rootfd, const char *path, struct copy_stat *out, char *msg, size_t msglen);

#endif
