/*
 * Tar as `docker cp` speaks it: ustar headers, pax extended headers for what
 * ustar cannot hold (long names and link targets, sizes of 8 GiB and more),
 * and, when reading, GNU long names (L, K) too. Entries: regular files,
 * directories, symlinks and hard links, with mode, uid/gid and mtime.
 * Only encoding and decoding of 512-byte blocks here: no I/O (copy.c streams).
 */
#ifndef HEARTH_TAR_H
#define HEARTH_TAR_H

#include "protocol.h"
#include "resolve.h"

#include <stdint.h>

#define TAR_BLOCK 512
/* A pax or GNU long-name entry larger than this is refused. */
#define TAR_META_MAX (1u << 20)

enum tar_type {
	TAR_FILE = '0',
	TAR_HARDLINK = '1',
	TAR_SYMLINK = '2',
	TAR_DIR = '5',
	TAR_PAX = 'x',
	TAR_PAX_GLOBAL = 'g',
	TAR_GNU_LONGNAME = 'L',
	TAR_GNU_LONGLINK = 'K',
};

struct tar_entry {
	char type; /* enum tar_type, or another type flag as read */
	char name[RESOLVE_PATH_MAX];
	char link[RESOLVE_PATH_MAX];
	uint32_t mode; /* permission bits, 07777 */
	uint32_t uid, gid;
	uint64_t size;
	int64_t mtime; /* seconds since the epoch */
};

/* Padding after size bytes of data. */
static inline uint64_t tar_padding(uint64_t size)
{
	return (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;
}

/* tar_write.c: the ustar header of e; 1 when a pax header (tar_pax_encode) must come first. */
int tar_header_encode(const struct tar_entry *e, uint8_t blk[TAR_BLOCK]);
/* The pax records e needs ("%d path=...\n", ...), appended to out; 0 on success. */
int tar_pax_encode(const struct tar_entry *e, struct bytes *out);
/* The header of a pax entry of len bytes. */
void tar_pax_header(uint64_t len, uint8_t blk[TAR_BLOCK]);

enum tar_parse {
	TAR_PARSE_OK = 0,
	TAR_PARSE_ZERO = 1, /* an all-zero block: the end of the archive */
	TAR_PARSE_BAD = -1, /* bad checksum or number */
};

/* tar_read.c: decodes a header block; an enum tar_parse. */
int tar_header_parse(const uint8_t blk[TAR_BLOCK], struct tar_entry *e);

/* What a pax header sets for the next entry. */
struct tar_pax {
	int has_path, has_link, has_size;
	char path[RESOLVE_PATH_MAX];
	char link[RESOLVE_PATH_MAX];
	uint64_t size;
};

/* Reads pax records into p (path, linkpath, size; others ignored); 0 on success, 1 malformed. */
int tar_pax_parse(const char *data, size_t len, struct tar_pax *p);
/* Applies p to e. */
void tar_pax_apply(const struct tar_pax *p, struct tar_entry *e);

#endif
