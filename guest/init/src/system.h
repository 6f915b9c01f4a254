/*
 * The VM's own settings: the loopback interface, the hostname, and the files
 * in the container's /etc that describe the network (hostname, hosts,
 * resolv.conf) and the machine (machine-id).
 */
#ifndef HEARTH_SYSTEM_H
#define HEARTH_SYSTEM_H

#include <stddef.h>

/* Brings lo up if the kernel did not; 0 on success. */
int system_lo_up(void);
/* sethostname; 0 on success. */
int system_set_hostname(const char *name);
/*
 * Replaces root/etc/<name> with data. Neither /etc nor the file is followed
 * if it is a symlink (a symlinked file is replaced), so an image cannot make
 * PID 1 write outside its root. 0 on success, else 1 with a message.
 */
int system_write_etc(const char *root, const char *name, const char *data, size_t len, char *err,
		     size_t errlen);
/*
 * An empty root/etc/machine-id (systemd's "generate one at first boot") gets a random id, so that no two
 * containers of an image, nor two VMs resumed from one template, share one; a file with an id, or none,
 * is left as the image has it (as Docker does). Call after the kernel's pool is reseeded. 0 on success.
 */
int system_fill_machine_id(const char *root, char *err, size_t errlen);

#endif
