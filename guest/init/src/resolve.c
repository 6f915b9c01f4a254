#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#define HEARTH_RESOLVE_NO_MAGICLINKS 0x02
#define HEARTH_RESOLVE_IN_ROOT 0x10

/* linux/openat2.h, which musl's headers do not carry. */
struct hearth_open_how {
	uint64_t flags;
	uint64_t mode;
	uint64_t resolve;
};

int resolve_open(int dirfd, const char *path, int flags, mode_t mode)
{
	struct hearth_open_how how = {
		.flags = (uint64_t)(unsigned)flags,
		.mode = (flags & O_CREAT) ? mode : 0,
		.resolve = HEARTH_RESOLVE_IN_ROOT | HEARTH_RESOLVE_NO_MAGICLINKS,
	};
	for (;;) {
		long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != EINTR && errno != EAGAIN)
			return -1;
	}
}

int path_split(const char *path, char parent[RESOLVE_PATH_MAX], char base[RESOLVE_PATH_MAX])
{
	size_t len = strlen(path);
	if (len >= RESOLVE_PATH_MAX)
		return 1;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 1 && path[0] == '/') {
		strcpy(parent, "/");
		strcpy(base, ".");
		return 0;
	}
	size_t slash = len;
	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	memcpy(base, path + slash, len - slash);
	base[len - slash] = '\0';
	if (base[0] == '\0')
		strcpy(base, ".");
	if (slash == 0) {
		strcpy(parent, ".");
		return 0;
	}
	size_t plen = slash;
	while (plen > 1 && path[plen - 1] == '/')
		plen--;
	memcpy(parent, path, plen);
	parent[plen] = '\0';
	return 0;
}

const char *path_entry_name(const char *name, char out[RESOLVE_PATH_MAX])
{
	for (;;) {
		if (name[0] == '/')
			name++;
		else if (name[0] == '.' && name[1] == '/')
			name += 2;
		else
			break;
	}
	size_t len = strlen(name);
	if (len >= RESOLVE_PATH_MAX)
		return NULL;
	while (len > 0 && name[len - 1] == '/')
		len--;
	if (len == 0 || (len == 1 && name[0] == '.'))
		return NULL;
	memcpy(out, name, len);
	out[len] = '\0';
	return out;
}
