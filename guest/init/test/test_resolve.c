/* Path handling (resolve.c) and confinement of resolve_open on the host's kernel. */
#include "check.h"
#include "resolve.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void split(const char *path, const char *parent, const char *base)
{
	char p[RESOLVE_PATH_MAX], b[RESOLVE_PATH_MAX];
	CHECK(path_split(path, p, b) == 0);
	CHECK_STR(p, parent);
	CHECK_STR(b, base);
}

static void entry(const char *name, const char *want)
{
	char out[RESOLVE_PATH_MAX];
	const char *got = path_entry_name(name, out);
	if (want == NULL)
		CHECK(got == NULL);
	else
		CHECK_STR(got, want);
}

static void test_split(void)
{
	split("/a/b", "/a", "b");
	split("/a/b/", "/a", "b");
	split("/a//b", "/a", "b");
	split("b", ".", "b");
	split("/", "/", ".");
	split("/b", "/", "b");
	split("../../etc/x", "../../etc", "x");
}

static void test_entry_names(void)
{
	entry("a/b", "a/b");
	entry("./a/b/", "a/b");
	entry("/etc/x", "etc/x");
	entry("./", NULL);
	entry(".", NULL);
	entry("//./x", "x");
	entry("../../x", "../../x"); /* resolved inside the destination by resolve_open */
}

/* ../.. and an absolute symlink stay inside the root. */
static void test_confinement(void)
{
	char root[] = "/tmp/hearth-resolve-XXXXXX";
	CHECK(mkdtemp(root) != NULL);
	int rootfd = open(root, O_PATH | O_DIRECTORY);
	CHECK(rootfd >= 0);
	CHECK(mkdirat(rootfd, "etc", 0755) == 0);
	CHECK(symlinkat("/", rootfd, "up") == 0);
	int fd = resolve_open(rootfd, "../../etc", O_PATH | O_DIRECTORY, 0);
	if (fd < 0 && errno == ENOSYS) {
		printf("openat2 missing on this kernel: confinement not checked\n");
		return;
	}
	CHECK(fd >= 0);
	struct stat a, b;
	CHECK(fstat(fd, &a) == 0 && fstatat(rootfd, "etc", &b, 0) == 0);
	CHECK(a.st_ino == b.st_ino);
	close(fd);
	fd = resolve_open(rootfd, "up/etc/created", O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK(fstatat(rootfd, "etc/created", &b, 0) == 0);
	CHECK(resolve_open(rootfd, "/proc/self/root/etc", O_PATH, 0) < 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	test_split();
	test_entry_names();
	test_confinement();
	CHECK_DONE();
}
