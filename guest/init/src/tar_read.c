#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An octal (space or NUL terminated) or base-256 number; 0 on success. */
static int get_number(const uint8_t *field, size_t width, uint64_t *v)
{
	*v = 0;
	if (field[0] & 0x80) {
		for (size_t i = 1; i < width; i++) {
			if (*v >> 56)
				return 1;
			*v = (*v << 8) | field[i];
		}
		return (field[0] & 0x7f) != 0;
	}
	size_t i = 0;
	while (i < width && field[i] == ' ')
		i++;
	for (; i < width && field[i] >= '0' && field[i] <= '7'; i++) {
		if (*v >> 60)
			return 1;
		*v = (*v << 3) | (uint64_t)(field[i] - '0');
	}
	for (; i < width; i++)
		if (field[i] != ' ' && field[i] != '\0')
			return 1;
	return 0;
}

static void get_str(char *out, const uint8_t *field, size_t width)
{
	size_t len = strnlen((const char *)field, width);
	memcpy(out, field, len);
	out[len] = '\0';
}

int tar_header_parse(const uint8_t blk[TAR_BLOCK], struct tar_entry *e)
{
	unsigned sum = 0;
	int zero = 1;
	for (int i = 0; i < TAR_BLOCK; i++) {
		zero &= blk[i] == 0;
		sum += (i >= 148 && i < 156) ? ' ' : blk[i];
	}
	if (zero)
		return TAR_PARSE_ZERO;
	uint64_t chksum, mode, uid, gid, size, mtime;
	if (get_number(blk + 148, 8, &chksum) != 0 || chksum != sum ||
	    get_number(blk + 100, 8, &mode) != 0 || get_number(blk + 108, 8, &uid) != 0 ||
	    get_number(blk + 116, 8, &gid) != 0 || get_number(blk + 124, 12, &size) != 0 ||
	    get_number(blk + 136, 12, &mtime) != 0 || uid > UINT32_MAX || gid > UINT32_MAX)
		return TAR_PARSE_BAD;
	memset(e, 0, sizeof(*e));
	e->type = blk[156] == '\0' ? TAR_FILE : (char)blk[156];
	e->mode = (uint32_t)mode & 07777;
	e->uid = (uint32_t)uid;
	e->gid = (uint32_t)gid;
	e->size = size;
	e->mtime = (int64_t)mtime;
	char name[101], prefix[156];
	get_str(name, blk, 100);
	get_str(prefix, blk + 345, 155);
	if (memcmp(blk + 257, "ustar", 5) == 0 && prefix[0] != '\0')
		snprintf(e->name, sizeof(e->name), "%s/%s", prefix, name);
	else
		memcpy(e->name, name, sizeof(name));
	get_str(e->link, blk + 157, 100);
	/* Old tars mark a directory with a trailing slash only. */
	size_t len = strlen(e->name);
	if (e->type == TAR_FILE && len > 0 && e->name[len - 1] == '/')
		e->type = TAR_DIR;
	return TAR_PARSE_OK;
}

/* Copies a value of len bytes; 1 if it does not fit or holds a NUL. */
static int set_value(char out[RESOLVE_PATH_MAX], const char *value, size_t len)
{
	if (len >= RESOLVE_PATH_MAX || memchr(value, '\0', len) != NULL)
		return 1;
	memcpy(out, value, len);
	out[len] = '\0';
	return 0;
}

int tar_pax_parse(const char *data, size_t len, struct tar_pax *p)
{
	size_t off = 0;
	while (off < len) {
		size_t rec = 0, i = off;
		for (; i < len && data[i] >= '0' && data[i] <= '9'; i++) {
			rec = rec * 10 + (size_t)(data[i] - '0');
			if (rec > len)
				return 1;
		}
		if (i == off || i >= len || data[i] != ' ' || rec > len - off || rec < i - off + 3 ||
		    data[off + rec - 1] != '\n')
			return 1;
		const char *key = data + i + 1, *end = data + off + rec - 1;
		const char *eq = memchr(key, '=', (size_t)(end - key));
		if (eq == NULL)
			return 1;
		size_t klen = (size_t)(eq - key), vlen = (size_t)(end - eq - 1);
		if (klen == 4 && memcmp(key, "path", 4) == 0) {
			if (set_value(p->path, eq + 1, vlen) != 0)
				return 1;
			p->has_path = 1;
		} else if (klen == 8 && memcmp(key, "linkpath", 8) == 0) {
			if (set_value(p->link, eq + 1, vlen) != 0)
				return 1;
			p->has_link = 1;
		} else if (klen == 4 && memcmp(key, "size", 4) == 0) {
			char num[24];
			if (vlen == 0 || vlen >= sizeof(num))
				return 1;
			memcpy(num, eq + 1, vlen);
			num[vlen] = '\0';
			char *stop;
			p->size = strtoull(num, &stop, 10);
			if (*stop != '\0')
				return 1;
			p->has_size = 1;
		}
		off += rec;
	}
	return 0;
}

void tar_pax_apply(const struct tar_pax *p, struct tar_entry *e)
{
	if (p->has_path) {
		memcpy(e->name, p->path, sizeof(e->name));
		size_t len = strlen(e->name);
		if (e->type == TAR_FILE && len > 0 && e->name[len - 1] == '/')
			e->type = TAR_DIR;
	}
	if (p->has_link)
		memcpy(e->link, p->link, sizeof(e->link));
	if (p->has_size)
		e->size = p->size;
}
