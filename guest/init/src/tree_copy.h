/*
 * Docker's copy of an image directory into a new volume: the tree under one
 * directory copied into another, with owners, modes and times.
 */
#ifndef HEARTH_TREE_COPY_H
#define HEARTH_TREE_COPY_H

#include <stddef.h>

/*
 * Copies what is under the directory src_dir into the directory dst_dir:
 * directories, regular files, symlinks, fifos and device nodes (sockets are
 * skipped), each with its owner, mode and times; an entry of the same name in
 * dst_dir is replaced. A hard-linked file becomes separate copies and extended
 * attributes are not copied. 0, or 1 with a message naming the entry.
 */
int tree_copy(int src_dir, int dst_dir, char *err, size_t errlen);

#endif
