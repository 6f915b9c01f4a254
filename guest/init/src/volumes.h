/*
 * The container's volumes (RUN's MOUNT records), mounted inside the
 * container's root before its process starts: ext4 disks found by their
 * virtio-blk serial, host directories shared over virtio-fs by their tag,
 * and tmpfs mounts (`docker run --tmpfs`), new and empty at every start.
 * A mount point missing from the image is created (root's, 0755); one the
 * image has gives a volume's first use its content, owner and mode, as
 * Docker copies them into a new volume.
 */
#ifndef HEARTH_VOLUMES_H
#define HEARTH_VOLUMES_H

#include <stddef.h>

#include "mount_list.h"

/* Mounts each volume in list order (the host puts parents first); 0, or 1 with a message. */
int volumes_mount(const struct mount_list *l, char *err, size_t errlen);
/* Unmounts what volumes_mount mounted, last first. */
void volumes_unmount(void);

#endif
