#include "mount_list.h"

#include "protocol.h"
#include "tmpfs_options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *string_of(const struct record *r)
{
	if (memchr(r->value, '\0', r->len) != NULL)
		return NULL;
	char *s = malloc((size_t)r->len + 1);
	if (s != NULL) {
		memcpy(s, r->value, r->len);
		s[r->len] = '\0';
	}
	return s;
}

static void item_free(struct volume_mount *m)
{
	free(m->source);
	free(m->fstype);
	free(m->target);
	free(m->options);
	memset(m, 0, sizeof(*m));
}

/* Replaces a string field (a repeated tag: the last wins); 0, or 1 for a NUL byte or no memory. */
static int set_field(char **slot, const struct record *r)
{
	char *s = string_of(r);
	if (s == NULL)
		return 1;
	free(*slot);
	*slot = s;
	return 0;
}

static const char *check(const struct volume_mount *m, char *why, size_t whylen)
{
	if (m->source == NULL || m->source[0] == '\0')
		return "no SOURCE";
	if (m->fstype == NULL ||
	    (strcmp(m->fstype, "ext4") != 0 && strcmp(m->fstype, "virtiofs") != 0 && strcmp(m->fstype, "tmpfs") != 0))
		return "FSTYPE is not ext4, virtiofs or tmpfs";
	if (m->target == NULL || m->target[0] != '/' || m->target[1] == '\0')
		return "TARGET is not an absolute path below /";
	if (m->copy_up && strcmp(m->fstype, "ext4") != 0)
		return "COPY_UP is only for ext4 volumes";
	int tmpfs = strcmp(m->fstype, "tmpfs") == 0;
	if (m->options != NULL && !tmpfs)
		return "OPTIONS are only for tmpfs";
	if (tmpfs && m->readonly)
		return "a tmpfs is made read-only by its OPTIONS (ro), not READONLY";
	unsigned long flags;
	char data[TMPFS_DATA_MAX];
	if (tmpfs && tmpfs_options_parse(m->options ? m->options : "", &flags, data, sizeof(data), why, whylen) != 0)
		return why;
	return NULL;
}

int mount_list_add(struct mount_list *l, const uint8_t *value, size_t len, char *err, size_t errlen)
{
	if (l->count >= MOUNTS_MAX) {
		snprintf(err, errlen, "RUN: more than %d MOUNT records", MOUNTS_MAX);
		return 1;
	}
	struct volume_mount m = {0};
	struct record_iter it;
	struct record rec;
	int rc = 0, bad = 0;
	record_iter_init(&it, value, len);
	while (!bad && (rc = record_next(&it, &rec)) == 1) {
		switch (rec.tag) {
		case TAG_MOUNT_SOURCE: bad = set_field(&m.source, &rec); break;
		case TAG_MOUNT_FSTYPE: bad = set_field(&m.fstype, &rec); break;
		case TAG_MOUNT_TARGET: bad = set_field(&m.target, &rec); break;
		case TAG_MOUNT_OPTIONS: bad = set_field(&m.options, &rec); break;
		case TAG_MOUNT_READONLY:
		case TAG_MOUNT_COPY_UP:
			bad = rec.len != 1;
			*(rec.tag == TAG_MOUNT_READONLY ? &m.readonly : &m.copy_up) = !bad && rec.value[0] != 0;
			break;
		default:
			break; /* unknown tags are ignored */
		}
	}
	char reason[128];
	const char *why = bad ? "a field has a bad value" : rc < 0 ? "truncated record list" : check(&m, reason, sizeof(reason));
	if (why != NULL) {
		snprintf(err, errlen, "RUN: MOUNT %zu: %s", l->count, why);
		item_free(&m);
		return 1;
	}
	l->items[l->count++] = m;
	return 0;
}

void mount_list_free(struct mount_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		item_free(&l->items[i]);
	l->count = 0;
}
