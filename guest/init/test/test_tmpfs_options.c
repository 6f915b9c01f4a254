#include "check.h"
#include <sys/mount.h>
#include "tmpfs_options.h"

static int parse(const char *options, unsigned long *flags, char *data, char *err)
{
	return tmpfs_options_parse(options, flags, data, TMPFS_DATA_MAX, err, 256);
}

int main(void)
{
	unsigned long flags;
	char data[TMPFS_DATA_MAX], err[256];

	CHECK(parse("", &flags, data, err) == 0);
	CHECK(flags == 0);
	CHECK_STR(data, "");

	/* Docker's defaults with the user's after them: the last of a pair wins. */
	CHECK(parse("noexec,nosuid,nodev,rw,size=64m,mode=1777", &flags, data, err) == 0);
	CHECK(flags == (MS_NOEXEC | MS_NOSUID | MS_NODEV));
	CHECK_STR(data, "size=64m,mode=1777");
	CHECK(parse("noexec,nosuid,nodev,exec,ro,uid=1000,gid=1000,nr_inodes=4k", &flags, data, err) == 0);
	CHECK(flags == (MS_NOSUID | MS_NODEV | MS_RDONLY));
	CHECK_STR(data, "uid=1000,gid=1000,nr_inodes=4k");
	CHECK(parse("size=50%", &flags, data, err) == 0);
	CHECK_STR(data, "size=50%");

	/* Anything else never reaches the kernel. */
	const char *bad[] = {"size=", "size=1x", "size=-1", "mode=8", "mode=17777", "uid=a", "uid=12345678901",
			     "mpol=default", "remount", "bind", "size", "huge=always", "size=1m size=2m"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse(bad[i], &flags, data, err) == 1);
	CHECK(parse("rw,mpol=default", &flags, data, err) == 1);
	CHECK_STR(err, "tmpfs option \"mpol=default\" is not allowed");
	CHECK_DONE();
}
