#include "volumes.h"

#include "log.h"
#include "mounts.h"
#include "resolve.h"
#include "tmpfs_options.h"
#include "tree_copy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#define STAGING_DIR "/mnt/volumes"

/* Where each mounted volume is, as init sees it, for the teardown. */
static char *mounted[MOUNTS_MAX];
static size_t nmounted;

/*
 * Opens the directory `target` inside the container root, creating what is
 * missing of it; every step is resolved inside the root, so a symlink in
 * the image (/var/run -> /run) is followed there and never out of it.
 */
static int open_target(int root, const char *target, char *err, size_t errlen)
{
	char prefix[RESOLVE_PATH_MAX];
	size_t len = strlen(target);
	if (len >= sizeof(prefix)) {
		snprintf(err, errlen, "volume mount point %.64s...: path too long", target);
		return -1;
	}
	for (size_t end = 1; end <= len; end++) {
		if (end < len && target[end] != '/')
			continue;
		memcpy(prefix, target, end);
		prefix[end] = '\0';
		int fd = resolve_open(root, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (fd >= 0) {
			close(fd);
			continue;
		}
		char parent[RESOLVE_PATH_MAX], base[RESOLVE_PATH_MAX];
		int pfd = -1;
		if (errno == ENOENT && path_split(prefix, parent, base) == 0)
			pfd = resolve_open(root, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		if (pfd < 0 || (mkdirat(pfd, base, 0755) != 0 && errno != EEXIST)) {
			snprintf(err, errlen, "volume mount point %s: %s %s", target,
				 errno == ENOTDIR ? "not a directory:" : "cannot create", prefix);
			if (pfd >= 0)
				close(pfd);
			return -1;
		}
		close(pfd);
	}
	int fd = resolve_open(root, target, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		snprintf(err, errlen, "volume mount point %s: %s", target, strerror(errno));
	return fd;
}

/* The image's directory's content, owner and mode, copied into a volume used for the first time. */
static int copy_up(int image_dir, const char *staging, char *err, size_t errlen)
{
	int vol = open(staging, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (vol < 0) {
		snprintf(err, errlen, "open %s: %s", staging, strerror(errno));
		return 1;
	}
	/* mkfs made it; Docker's volumes start empty. It stays if it is not empty (never so on a new volume). */
	unlinkat(vol, "lost+found", AT_REMOVEDIR);
	struct stat st;
	int rc = tree_copy(image_dir, vol, err, errlen);
	if (rc == 0 && (fstat(image_dir, &st) != 0 || fchown(vol, st.st_uid, st.st_gid) != 0 ||
			fchmod(vol, st.st_mode & 07777) != 0)) {
		snprintf(err, errlen, "setting the volume's owner and mode: %s", strerror(errno));
		rc = 1;
	}
	close(vol);
	return rc;
}

static int mount_one(int root, size_t index, const struct volume_mount *m, char *err, size_t errlen)
{
	int dir = open_target(root, m->target, err, errlen);
	if (dir < 0)
		return 1;
	char at[64], where[PATH_MAX], dev[64], staging[64];
	snprintf(at, sizeof(at), "/proc/self/fd/%d", dir);
	ssize_t n = readlink(at, where, sizeof(where) - 1);
	where[n < 0 ? 0 : n] = '\0';
	unsigned long flags = m->readonly ? MS_RDONLY : 0;
	int rc = 1;
	if (strcmp(m->fstype, "tmpfs") == 0) {
		char data[TMPFS_DATA_MAX];
		unsigned long tflags;
		/* Checked when RUN was parsed: it cannot fail here. */
		tmpfs_options_parse(m->options ? m->options : "", &tflags, data, sizeof(data), err, errlen);
		if (mount("tmpfs", at, "tmpfs", tflags, data) != 0) {
			snprintf(err, errlen, "mount a tmpfs on %s (%s): %s", m->target, m->options ? m->options : "",
				 strerror(errno));
			goto out;
		}
	} else if (strcmp(m->fstype, "virtiofs") == 0) {
		if (mount(m->source, at, "virtiofs", flags, NULL) != 0) {
			snprintf(err, errlen, "mount the host directory (virtio-fs tag %s) on %s: %s", m->source,
				 m->target, strerror(errno));
			goto out;
		}
	} else if (mounts_find_disk(m->source, dev, sizeof(dev)) != 0) {
		snprintf(err, errlen, "volume for %s: no virtio-blk disk with serial \"%s\"", m->target, m->source);
		goto out;
	} else if (m->copy_up) {
		/* Filled beside the container first, then moved over the image's directory it was filled from. */
		snprintf(staging, sizeof(staging), STAGING_DIR "/%zu", index);
		if (mkdir_p(staging, 0700) != 0 || mount(dev, staging, "ext4", 0, NULL) != 0) {
			snprintf(err, errlen, "mount the volume for %s (%s): %s", m->target, dev, strerror(errno));
			goto out;
		}
		if (copy_up(dir, staging, err, errlen) != 0 || mount(staging, at, NULL, MS_MOVE, NULL) != 0) {
			if (err[0] == '\0')
				snprintf(err, errlen, "move the volume onto %s: %s", m->target, strerror(errno));
			umount2(staging, MNT_DETACH);
			goto out;
		}
	} else if (mount(dev, at, "ext4", flags, NULL) != 0) {
		snprintf(err, errlen, "mount the volume for %s (%s%s): %s", m->target, dev,
			 m->readonly ? ", read-only" : "", strerror(errno));
		goto out;
	}
	PRINT_DEBUG("mounted %s (%s) on %s%s", m->source, m->fstype, m->target, m->readonly ? " read-only" : "");
	mounted[nmounted++] = strdup(where);
	rc = 0;
out:
	close(dir);
	return rc;
}

int volumes_mount(const struct mount_list *l, char *err, size_t errlen)
{
	int root = open(ROOT_DIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		snprintf(err, errlen, "open %s: %s", ROOT_DIR, strerror(errno));
		return 1;
	}
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < l->count; i++) {
		err[0] = '\0';
		rc = mount_one(root, i, &l->items[i], err, errlen);
	}
	close(root);
	return rc;
}

void volumes_unmount(void)
{
	while (nmounted > 0) {
		char *where = mounted[--nmounted];
		if (where != NULL && where[0] != '\0' && umount2(where, 0) != 0 && errno != EINVAL)
			PRINT_WARN("umount %s: %s", where, strerror(errno));
		free(where);
	}
}
