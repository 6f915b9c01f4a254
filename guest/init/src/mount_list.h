/*
 * The volumes and tmpfs mounts of a RUN request: one MOUNT record each, decoded
 * into a list (no I/O; test/test_mount_list.c). volumes.c mounts them.
 */
#ifndef HEARTH_MOUNT_LIST_H
#define HEARTH_MOUNT_LIST_H

#include <stddef.h>
#include <stdint.h>

/* More than a request may carry (64 volumes, 64 tmpfs mounts and the image's VOLUMEs). */
#define MOUNTS_MAX 192

struct volume_mount {
	char *source;  /* a virtio-blk serial (ext4), a virtio-fs tag, or "tmpfs" */
	char *fstype;  /* "ext4", "virtiofs" or "tmpfs" */
	char *options; /* tmpfs only (NULL: none): Docker's comma list, checked by tmpfs_options_parse */
	char *target;  /* absolute, in the container */
	int readonly;
	int copy_up;   /* first use: the image directory's content, owner and mode go into the volume */
};

struct mount_list {
	struct volume_mount items[MOUNTS_MAX];
	size_t count;
};

/* Decodes one MOUNT record's value and appends it; 0, or 1 with a message in err. */
int mount_list_add(struct mount_list *l, const uint8_t *value, size_t len, char *err, size_t errlen);
void mount_list_free(struct mount_list *l);

#endif
