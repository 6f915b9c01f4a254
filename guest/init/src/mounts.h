/*
 * Filesystems: the initramfs's own /dev, /proc and /sys; the container's root
 * (the image disk read-only, under an overlay whose upper and work directories
 * live on the VM's scratch disk); and the container's own /proc, /sys, /dev,
 * /dev/pts, /dev/shm and /tmp. Disks are found by virtio-blk serial.
 */
#ifndef HEARTH_MOUNTS_H
#define HEARTH_MOUNTS_H

#include <stddef.h>
#include <sys/types.h>

#define ROOT_DIR "/run/hearth/root"
#define ROOT_PTS_DIR ROOT_DIR "/dev/pts"
#define ROOTFS_DIR "/mnt/rootfs"
#define SCRATCH_DIR "/mnt/scratch"
#define DISK_SERIAL_ROOTFS "rootfs"
#define DISK_SERIAL_SCRATCH "scratch"

/* /dev (devtmpfs), /proc, /sys in the initramfs; 0 on success. */
int mounts_early(void);
/* Finds /dev/vdX whose virtio-blk serial is serial; 0 on success. */
int mounts_find_disk(const char *serial, char *dev, size_t len);
/* Mounts the container's root at ROOT_DIR; 0 on success, else 1 with a message. */
int mounts_container_root(const char *rootfs_type, char *err, size_t errlen);
/* mkdir -p; 0 on success, else -1 with errno. */
int mkdir_p(const char *path, mode_t mode);
/* Unmounts what can be, innermost first. */
void mounts_teardown(void);

#endif
