/*
 * A tmpfs MOUNT's options, Docker's comma list (`rw,noexec,size=64m,mode=1777`), split into mount(2)'s
 * flags and its data string (no I/O; test/test_tmpfs_options.c). The host checks the list against the
 * same whitelist and puts Docker's defaults in; the guest refuses anything else all the same, so that no
 * option reaches the kernel that the host did not mean.
 */
#ifndef HEARTH_TMPFS_OPTIONS_H
#define HEARTH_TMPFS_OPTIONS_H

#include <stddef.h>

/* Longer than any list the host sends (it caps options at 1024 characters). */
#define TMPFS_DATA_MAX 1100

/*
 * Flags: rw/ro, exec/noexec, suid/nosuid, dev/nodev (the last of a pair wins). Data: size=, mode=,
 * uid=, gid=, nr_inodes= with a number (size and nr_inodes may end in k, m, g or %; mode is octal).
 * 0, or 1 with a message in err.
 */
int tmpfs_options_parse(const char *options, unsigned long *flags, char *data, size_t datalen, char *err,
			size_t errlen);

#endif
