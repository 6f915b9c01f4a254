/*
 * Paths inside the container's root, resolved as Docker resolves them: `..`
 * and absolute symlinks never leave the root (openat2 RESOLVE_IN_ROOT, Linux
 * 5.6+), and /proc magic links are refused (RESOLVE_NO_MAGICLINKS).
 * musl has no openat2 wrapper: resolve_open calls the syscall itself.
 * path_split and path_entry_name are pure (test/test_resolve.c).
 */
#ifndef HEARTH_RESOLVE_H
#define HEARTH_RESOLVE_H

#include <stddef.h>
#include <sys/types.h>

#define RESOLVE_PATH_MAX 4096

/* openat2(dirfd, path, flags, mode) confined to dirfd; -1 with errno on failure. */
int resolve_open(int dirfd, const char *path, int flags, mode_t mode);

/*
 * Splits a path into its parent and its last component, ignoring trailing
 * slashes: "/a/b/" -> "/a", "b"; "b" -> ".", "b"; "/" -> "/", ".".
 * 0 on success, 1 when it does not fit (RESOLVE_PATH_MAX).
 */
int path_split(const char *path, char parent[RESOLVE_PATH_MAX], char base[RESOLVE_PATH_MAX]);

/*
 * A tar entry's name made relative: leading "/" and "./" dropped, trailing
 * "/" dropped. NULL when nothing is left (the destination itself). Writes
 * into out (RESOLVE_PATH_MAX); NULL too when it does not fit.
 */
const char *path_entry_name(const char *name, char out[RESOLVE_PATH_MAX]);

#endif
