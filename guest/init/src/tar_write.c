#include "tar.h"

#include <stdio.h>
#include <string.h>

#define NAME_LEN 100
#define SIZE_OCTAL_MAX 077777777777ULL /* 11 octal digits */

/* An octal field of width bytes (width - 1 digits and a NUL); 1 if v does not fit. */
static int put_octal(uint8_t *field, size_t width, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), (unsigned long long)v);
	if (n < 0 || (size_t)n > width - 1)
		return 1;
	memcpy(field, tmp, width);
	return 0;
}

/* Base-256 (GNU): the high bit of the first byte set, then big-endian. */
static void put_base256(uint8_t *field, size_t width, uint64_t v)
{
	memset(field, 0, width);
	field[0] = 0x80;
	for (size_t i = width - 1; i > 0 && v; i--, v >>= 8)
		field[i] = (uint8_t)v;
}

static void put_str(uint8_t *field, size_t width, const char *s)
{
	size_t len = strlen(s);
	memcpy(field, s, len < width ? len : width);
}

/* The name as it goes into the archive: directories end with "/". */
static int full_name(const struct tar_entry *e, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s", e->name, e->type == TAR_DIR ? "/" : "");
	return n < 0 || (size_t)n >= outlen;
}

static void finish_header(uint8_t blk[TAR_BLOCK])
{
	memcpy(blk + 257, "ustar", 6);
	memcpy(blk + 263, "00", 2);
	memset(blk + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < TAR_BLOCK; i++)
		sum += blk[i];
	snprintf((char *)blk + 148, 8, "%06o", sum);
	blk[155] = ' ';
}

int tar_header_encode(const struct tar_entry *e, uint8_t blk[TAR_BLOCK])
{
	char name[RESOLVE_PATH_MAX + 1];
	int pax = full_name(e, name, sizeof(name)) != 0 || strlen(name) > NAME_LEN ||
		  strlen(e->link) > NAME_LEN;
	memset(blk, 0, TAR_BLOCK);
	put_str(blk, NAME_LEN, name);
	put_octal(blk + 100, 8, e->mode & 07777);
	if (put_octal(blk + 108, 8, e->uid) != 0)
		put_base256(blk + 108, 8, e->uid);
	if (put_octal(blk + 116, 8, e->gid) != 0)
		put_base256(blk + 116, 8, e->gid);
	uint64_t size = e->type == TAR_FILE ? e->size : 0;
	if (size > SIZE_OCTAL_MAX) {
		put_base256(blk + 124, 12, size);
		pax = 1;
	} else {
		put_octal(blk + 124, 12, size);
	}
	put_octal(blk + 136, 12, e->mtime < 0 ? 0 : (uint64_t)e->mtime);
	blk[156] = (uint8_t)e->type;
	put_str(blk + 157, NAME_LEN, e->link);
	put_str(blk + 265, 32, e->uid == 0 ? "root" : "");
	put_str(blk + 297, 32, e->gid == 0 ? "root" : "");
	finish_header(blk);
	return pax;
}

/* One pax record "<len> key=value\n", whose len counts its own digits. */
static int put_record(struct bytes *out, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
	size_t len = body + 1;
	for (;;) {
		char digits[24];
		size_t d = (size_t)snprintf(digits, sizeof(digits), "%zu", len);
		if (body + d == len)
			break;
		len = body + d;
	}
	char head[24];
	snprintf(head, sizeof(head), "%zu ", len);
	return bytes_append(out, head, strlen(head)) || bytes_append(out, key, strlen(key)) ||
	       bytes_append(out, "=", 1) || bytes_append(out, value, strlen(value)) ||
	       bytes_append(out, "\n", 1);
}

int tar_pax_encode(const struct tar_entry *e, struct bytes *out)
{
	char name[RESOLVE_PATH_MAX + 1];
	if (full_name(e, name, sizeof(name)) != 0)
		return 1;
	if (strlen(name) > NAME_LEN && put_record(out, "path", name) != 0)
		return 1;
	if (strlen(e->link) > NAME_LEN && put_record(out, "linkpath", e->link) != 0)
		return 1;
	if (e->type == TAR_FILE && e->size > SIZE_OCTAL_MAX) {
		char size[24];
		snprintf(size, sizeof(size), "%llu", (unsigned long long)e->size);
		if (put_record(out, "size", size) != 0)
			return 1;
	}
	return 0;
}

void tar_pax_header(uint64_t len, uint8_t blk[TAR_BLOCK])
{
	memset(blk, 0, TAR_BLOCK);
	put_str(blk, NAME_LEN, "PaxHeader");
	put_octal(blk + 100, 8, 0644);
	put_octal(blk + 108, 8, 0);
	put_octal(blk + 116, 8, 0);
	put_octal(blk + 124, 12, len);
	put_octal(blk + 136, 12, 0);
	blk[156] = TAR_PAX;
	finish_header(blk);
}
