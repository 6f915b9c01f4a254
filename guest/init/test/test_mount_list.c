#include "check.h"
#include <string.h>
#include "protocol.h"
#include "run.h"

/* One MOUNT record holding the fields given (NULL: left out). */
static void put_mount(struct bytes *b, const char *source, const char *fstype, const char *target, int ro, int copy_up)
{
	struct bytes m = {0};
	uint8_t one = 1;
	if (source)
		record_put_str(&m, TAG_MOUNT_SOURCE, source);
	if (fstype)
		record_put_str(&m, TAG_MOUNT_FSTYPE, fstype);
	if (target)
		record_put_str(&m, TAG_MOUNT_TARGET, target);
	if (ro)
		record_put(&m, TAG_MOUNT_READONLY, &one, 1);
	if (copy_up)
		record_put(&m, TAG_MOUNT_COPY_UP, &one, 1);
	record_put_str(&m, 999, "unknown tags are ignored");
	record_put(b, TAG_MOUNT, m.data, (uint32_t)m.len);
	bytes_free(&m);
}

static void put_tmpfs(struct bytes *b, const char *target, const char *options)
{
	struct bytes m = {0};
	record_put_str(&m, TAG_MOUNT_SOURCE, "tmpfs");
	record_put_str(&m, TAG_MOUNT_FSTYPE, "tmpfs");
	record_put_str(&m, TAG_MOUNT_TARGET, target);
	if (options)
		record_put_str(&m, TAG_MOUNT_OPTIONS, options);
	record_put(b, TAG_MOUNT, m.data, (uint32_t)m.len);
	bytes_free(&m);
}

static int parse(struct bytes *b, struct run_request *r, char *err)
{
	return run_request_parse(b->data, b->len, r, err, 256);
}

int main(void)
{
	struct bytes b = {0};
	struct run_request r;
	char err[256];

	record_put_str(&b, TAG_ARG, "sh");
	CHECK(parse(&b, &r, err) == 0);
	CHECK(r.mounts == NULL);
	run_request_free(&r);

	put_mount(&b, "vol0", "ext4", "/data", 0, 1);
	put_mount(&b, "fs0", "virtiofs", "/srv/shared", 1, 0);
	CHECK(parse(&b, &r, err) == 0);
	CHECK(r.mounts != NULL && r.mounts->count == 2);
	CHECK_STR(r.mounts->items[0].source, "vol0");
	CHECK_STR(r.mounts->items[0].fstype, "ext4");
	CHECK_STR(r.mounts->items[0].target, "/data");
	CHECK(r.mounts->items[0].readonly == 0 && r.mounts->items[0].copy_up == 1);
	CHECK_STR(r.mounts->items[1].target, "/srv/shared");
	CHECK(r.mounts->items[1].readonly == 1 && r.mounts->items[1].copy_up == 0);
	run_request_free(&r);
	CHECK(r.mounts == NULL);

	size_t good = b.len;
	put_mount(&b, "vol1", "btrfs", "/x", 0, 0);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: FSTYPE is not ext4, virtiofs or tmpfs");

	b.len = good;
	put_mount(&b, "vol1", "ext4", "relative", 0, 0);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: TARGET is not an absolute path below /");

	b.len = good;
	put_mount(&b, "vol1", "ext4", "/", 0, 0);
	CHECK(parse(&b, &r, err) == 1);

	b.len = good;
	put_mount(&b, NULL, "ext4", "/x", 0, 0);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: no SOURCE");

	b.len = good;
	put_mount(&b, "fs1", "virtiofs", "/x", 0, 1);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: COPY_UP is only for ext4 volumes");

	b.len = good;
	record_put(&b, TAG_MOUNT, "\x3f\x00\x05\x00\x00\x00/a", 8);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: truncated record list");

	b.len = good;
	{
		struct bytes m = {0};
		record_put_str(&m, TAG_MOUNT_SOURCE, "v");
		record_put_str(&m, TAG_MOUNT_FSTYPE, "ext4");
		record_put(&m, TAG_MOUNT_TARGET, "/a\0b", 4);
		record_put(&b, TAG_MOUNT, m.data, (uint32_t)m.len);
		bytes_free(&m);
	}
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: a field has a bad value");

	/* tmpfs: its OPTIONS are checked when RUN is parsed; other types take none. */
	b.len = good;
	put_tmpfs(&b, "/run", "rw,noexec,nosuid,nodev,size=65536k,mode=1777");
	put_tmpfs(&b, "/scratch", NULL);
	CHECK(parse(&b, &r, err) == 0);
	CHECK(r.mounts->count == 4);
	CHECK_STR(r.mounts->items[2].fstype, "tmpfs");
	CHECK_STR(r.mounts->items[2].options, "rw,noexec,nosuid,nodev,size=65536k,mode=1777");
	CHECK(r.mounts->items[3].options == NULL);
	run_request_free(&r);

	b.len = good;
	put_tmpfs(&b, "/run", "size=1m,context=system_u");
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: tmpfs option \"context=system_u\" is not allowed");

	b.len = good;
	{
		struct bytes m = {0};
		record_put_str(&m, TAG_MOUNT_SOURCE, "vol1");
		record_put_str(&m, TAG_MOUNT_FSTYPE, "ext4");
		record_put_str(&m, TAG_MOUNT_TARGET, "/x");
		record_put_str(&m, TAG_MOUNT_OPTIONS, "size=1m");
		record_put(&b, TAG_MOUNT, m.data, (uint32_t)m.len);
		bytes_free(&m);
	}
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: OPTIONS are only for tmpfs");

	b.len = good;
	put_mount(&b, "tmpfs", "tmpfs", "/x", 1, 0);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: MOUNT 2: a tmpfs is made read-only by its OPTIONS (ro), not READONLY");

	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	for (int i = 0; i <= MOUNTS_MAX; i++)
		put_mount(&b, "v", "ext4", "/x", 0, 0);
	CHECK(parse(&b, &r, err) == 1);
	CHECK_STR(err, "RUN: more than 192 MOUNT records");

	bytes_free(&b);
	CHECK_DONE();
}
