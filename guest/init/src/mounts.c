#include "mounts.h"

#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

struct mount_spec {
	const char *source;
	const char *target; /* relative to the container root when inside it */
	const char *type;
	unsigned long flags;
	const char *data;
};

static const struct mount_spec early_mounts[] = {
	{"devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"},
	{"proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	{"sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
};

/* Mounted inside the container root, in this order (Docker's defaults, plus /tmp). */
static const struct mount_spec container_mounts[] = {
	{"proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL},
	{"sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL},
	{"devtmpfs", "dev", "devtmpfs", MS_NOSUID, "mode=0755"},
	{"devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
	 "newinstance,ptmxmode=0666,mode=0620,gid=5"},
	{"shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k"},
	{"tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777"},
};

/* Symlinks Docker puts in /dev. */
static const char *const dev_links[][2] = {
	{"/proc/self/fd", "dev/fd"},
	{"/proc/self/fd/0", "dev/stdin"},
	{"/proc/self/fd/1", "dev/stdout"},
	{"/proc/self/fd/2", "dev/stderr"},
	{"/proc/kcore", "dev/core"},
};

int mkdir_p(const char *path, mode_t mode)
{
	char buf[512];
	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, mode) != 0 && errno != EEXIST ? -1 : 0;
}

int mounts_early(void)
{
	int rc = 0;
	for (size_t i = 0; i < sizeof(early_mounts) / sizeof(early_mounts[0]); i++) {
		const struct mount_spec *m = &early_mounts[i];
		if (mkdir_p(m->target, 0755) != 0 ||
		    (mount(m->source, m->target, m->type, m->flags, m->data) != 0 && errno != EBUSY)) {
			PRINT_FATAL("mount %s on %s: %s", m->type, m->target, strerror(errno));
			rc = 1;
		}
	}
	return rc;
}

/*
 * A VM restored from a snapshot has in its page cache what the kernel read from the snapshot's stand-in
 * disks (the partition scan at boot); the disk now behind the device is another: that is dropped before
 * anything mounts it.
 */
static void forget_cached_blocks(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKFLSBUF, 0) != 0)
		PRINT_WARN("dropping the cached blocks of %s: %s", dev, strerror(errno));
	if (fd >= 0)
		close(fd);
}

int mounts_find_disk(const char *serial, char *dev, size_t len)
{
	DIR *dir = opendir("/sys/block");
	if (dir == NULL) {
		PRINT_ERROR("opendir /sys/block: %s", strerror(errno));
		return 1;
	}
	int rc = 1;
	struct dirent *de;
	while (rc != 0 && (de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, "vd", 2) != 0)
			continue;
		char path[300], value[64];
		snprintf(path, sizeof(path), "/sys/block/%s/serial", de->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = read(fd, value, sizeof(value) - 1);
		close(fd);
		if (n < 0)
			continue;
		value[n] = '\0';
		value[strcspn(value, "\n")] = '\0';
		if (strcmp(value, serial) == 0) {
			snprintf(dev, len, "/dev/%s", de->d_name);
			forget_cached_blocks(dev);
			rc = 0;
		}
	}
	closedir(dir);
	return rc;
}

static int mount_disk(const char *serial, const char *target, const char *type,
		      unsigned long flags, const char *data, char *err, size_t errlen)
{
	char dev[64];
	if (mounts_find_disk(serial, dev, sizeof(dev)) != 0) {
		snprintf(err, errlen, "no virtio-blk disk with serial \"%s\"", serial);
		return 1;
	}
	if (mkdir_p(target, 0755) != 0 || mount(dev, target, type, flags, data) != 0) {
		snprintf(err, errlen, "mount %s (%s, %s) on %s: %s", dev, serial, type, target,
			 strerror(errno));
		return 1;
	}
	PRINT_DEBUG("mounted %s (%s) on %s", dev, serial, target);
	return 0;
}

/* A mount point inside the container root must be a real directory, not a symlink. */
static int prepare_target(const char *target, char *err, size_t errlen)
{
	struct stat st;
	if (mkdir(target, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", target, strerror(errno));
		return 1;
	}
	if (lstat(target, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "mount point %s is not a directory", target);
		return 1;
	}
	return 0;
}

int mounts_container_root(const char *rootfs_type, char *err, size_t errlen)
{
	int ext4 = strcmp(rootfs_type, "ext4") == 0;
	/* The image disk is shared read-only: no journal replay (noload). */
	if (mount_disk(DISK_SERIAL_ROOTFS, ROOTFS_DIR, rootfs_type, MS_RDONLY,
		       ext4 ? "noload" : NULL, err, errlen) != 0)
		return 1;
	if (mount_disk(DISK_SERIAL_SCRATCH, SCRATCH_DIR, "ext4", MS_NOATIME, NULL, err, errlen) != 0)
		return 1;
	if (mkdir_p(SCRATCH_DIR "/upper", 0755) != 0 || mkdir_p(SCRATCH_DIR "/work", 0755) != 0 ||
	    mkdir_p(ROOT_DIR, 0755) != 0) {
		snprintf(err, errlen, "creating the overlay directories: %s", strerror(errno));
		return 1;
	}
	if (mount("overlay", ROOT_DIR, "overlay", 0,
		  "lowerdir=" ROOTFS_DIR ",upperdir=" SCRATCH_DIR "/upper,workdir=" SCRATCH_DIR
		  "/work") != 0) {
		snprintf(err, errlen, "mount overlay on %s: %s", ROOT_DIR, strerror(errno));
		return 1;
	}

	char target[256];
	for (size_t i = 0; i < sizeof(container_mounts) / sizeof(container_mounts[0]); i++) {
		const struct mount_spec *m = &container_mounts[i];
		snprintf(target, sizeof(target), ROOT_DIR "/%s", m->target);
		if (prepare_target(target, err, errlen) != 0)
			return 1;
		if (mount(m->source, target, m->type, m->flags, m->data) != 0) {
			snprintf(err, errlen, "mount %s on %s: %s", m->type, target, strerror(errno));
			return 1;
		}
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		snprintf(target, sizeof(target), ROOT_DIR "/%s", dev_links[i][1]);
		if (symlink(dev_links[i][0], target) != 0 && errno != EEXIST)
			PRINT_WARN("symlink %s: %s", target, strerror(errno));
	}
	return 0;
}

void mounts_teardown(void)
{
	static const char *const targets[] = {
		ROOT_DIR "/tmp", ROOT_DIR "/dev/shm", ROOT_DIR "/dev/pts", ROOT_DIR "/dev",
		ROOT_DIR "/sys", ROOT_DIR "/proc", ROOT_DIR, SCRATCH_DIR, ROOTFS_DIR,
	};
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		if (umount2(targets[i], 0) != 0 && errno != EINVAL && errno != ENOENT)
			PRINT_WARN("umount %s: %s", targets[i], strerror(errno));
}
