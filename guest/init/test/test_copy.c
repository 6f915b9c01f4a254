/* copy_out and copy_in (copy.c) on the host's filesystem: a tree round-trips, and nothing escapes. */
#include "check.h"
#include "copy.h"
#include "tar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char base[] = "/tmp/hearth-copy-XXXXXX";

static int dir_fd(const char *sub)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/%s", base, sub);
	mkdir(p, 0755);
	return open(p, O_PATH | O_DIRECTORY);
}

static void put_file(int dirfd, const char *name, const char *data, mode_t mode)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC, mode);
	CHECK(fd >= 0 && write(fd, data, strlen(data)) == (ssize_t)strlen(data));
	fchmod(fd, mode);
	close(fd);
}

static void check_file(int dirfd, const char *name, const char *data, mode_t mode)
{
	char buf[256] = {0};
	struct stat st;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW);
	CHECK(fd >= 0);
	if (fd < 0) {
		fprintf(stderr, "  missing %s\n", name);
		return;
	}
	CHECK(read(fd, buf, sizeof(buf) - 1) == (ssize_t)strlen(data));
	CHECK_STR(buf, data);
	CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == mode);
	close(fd);
}

static int scratch(void)
{
	char p[256];
	snprintf(p, sizeof(p), "%s/tar-XXXXXX", base);
	int fd = mkstemp(p);
	unlink(p);
	return fd;
}

static void test_round_trip(void)
{
	int src = dir_fd("src"), dst = dir_fd("dst");
	CHECK(mkdirat(src, "tree", 0750) == 0);
	int tree = openat(src, "tree", O_PATH | O_DIRECTORY);
	put_file(tree, "a.txt", "hello\n", 0640);
	put_file(tree, "run.sh", "#!/bin/sh\n", 04755);
	CHECK(mkdirat(tree, "sub", 0700) == 0);
	char longname[200];
	memset(longname, 'x', 150);
	strcpy(longname + 150, ".txt");
	int sub = openat(tree, "sub", O_PATH | O_DIRECTORY);
	put_file(sub, longname, "long\n", 0600);
	CHECK(symlinkat("../a.txt", sub, "link") == 0);
	CHECK(symlinkat("/etc/passwd", tree, "abs") == 0);
	CHECK(linkat(tree, "a.txt", tree, "hard", 0) == 0);

	int tar = scratch(), err = scratch();
	CHECK(copy_out(src, "/tree", tar, err) == COPY_OK);
	CHECK(lseek(tar, 0, SEEK_SET) == 0);
	CHECK(copy_in(dst, "/", tar, err) == COPY_OK);
	int out = openat(dst, "tree", O_PATH | O_DIRECTORY);
	CHECK(out >= 0);
	check_file(out, "a.txt", "hello\n", 0640);
	check_file(out, "run.sh", "#!/bin/sh\n", 04755);
	char target[64] = {0};
	CHECK(readlinkat(out, "abs", target, sizeof(target)) == 11);
	CHECK_STR(target, "/etc/passwd");
	memset(target, 0, sizeof(target));
	CHECK(readlinkat(out, "sub/link", target, sizeof(target)) == 8);
	CHECK_STR(target, "../a.txt");
	struct stat a, h, d;
	CHECK(fstatat(out, "a.txt", &a, 0) == 0 && fstatat(out, "hard", &h, 0) == 0);
	CHECK(a.st_ino == h.st_ino);
	CHECK(fstatat(out, "sub", &d, 0) == 0 && (d.st_mode & 07777) == 0700);
	int osub = openat(out, "sub", O_PATH | O_DIRECTORY);
	check_file(osub, longname, "long\n", 0600);
	close(tar);
	close(err);
}

static void put_entry(int tar, char type, const char *name, const char *link, const char *data)
{
	struct tar_entry e;
	uint8_t blk[TAR_BLOCK], pad[TAR_BLOCK] = {0};
	memset(&e, 0, sizeof(e));
	e.type = type;
	snprintf(e.name, sizeof(e.name), "%s", name);
	snprintf(e.link, sizeof(e.link), "%s", link);
	e.mode = 0644;
	e.size = data ? strlen(data) : 0;
	tar_header_encode(&e, blk);
	CHECK(write(tar, blk, sizeof(blk)) == sizeof(blk));
	if (data) {
		CHECK(write(tar, data, e.size) == (ssize_t)e.size);
		CHECK(write(tar, pad, tar_padding(e.size)) == (ssize_t)tar_padding(e.size));
	}
}

/* A file copied over another is never missing nor half-written for a reader (the host rewrites /etc/hosts). */
static void test_replace_is_atomic(void)
{
	enum { SIZE = 64 * 1024, ROUNDS = 300 };
	static char data[SIZE];
	int root = dir_fd("atomic");
	memset(data, 'a', sizeof(data));
	int fd = openat(root, "f", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && write(fd, data, SIZE) == SIZE);
	close(fd);
	memset(data, 'b', sizeof(data));
	data[SIZE - 1] = '\0';
	int tar = scratch(), err = scratch();
	put_entry(tar, TAR_FILE, "f", "", data);
	uint8_t end[2 * TAR_BLOCK] = {0};
	CHECK(write(tar, end, sizeof(end)) == sizeof(end));
	pid_t writer = fork();
	if (writer == 0) {
		for (int i = 0; i < ROUNDS; i++) {
			if (lseek(tar, 0, SEEK_SET) != 0 || copy_in(root, "/", tar, err) != COPY_OK)
				_exit(1);
		}
		_exit(0);
	}
	int torn = 0, reads = 0, status = 0;
	while (waitpid(writer, &status, WNOHANG) == 0) {
		struct stat st;
		int rfd = openat(root, "f", O_RDONLY);
		torn += rfd < 0 || fstat(rfd, &st) != 0 || st.st_size < SIZE - 1;
		reads++;
		if (rfd >= 0)
			close(rfd);
	}
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (torn)
		fprintf(stderr, "  %d of %d reads found the file missing or short\n", torn, reads);
	CHECK(torn == 0);
	close(tar);
	close(err);
}

static void test_escapes(void)
{
	int root = dir_fd("root");
	CHECK(mkdirat(root, "dest", 0755) == 0);
	CHECK(mkdirat(root, "etc", 0755) == 0);
	int tar = scratch(), err = scratch();
	put_entry(tar, TAR_FILE, "../../x", "", "dotdot\n");
	put_entry(tar, TAR_SYMLINK, "l", "/", NULL);
	put_entry(tar, TAR_FILE, "l/etc/through", "", "through\n");
	put_entry(tar, TAR_SYMLINK, "up", "../../..", NULL);
	put_entry(tar, TAR_FILE, "up/y", "", "up\n");
	put_entry(tar, TAR_FILE, "/abs", "", "abs\n");
	CHECK(lseek(tar, 0, SEEK_SET) == 0);
	CHECK(copy_in(root, "/../dest", tar, err) == COPY_OK);
	int dest = openat(root, "dest", O_PATH | O_DIRECTORY);
	check_file(dest, "x", "dotdot\n", 0644);
	check_file(dest, "etc/through", "through\n", 0644);
	check_file(dest, "y", "up\n", 0644);
	check_file(dest, "abs", "abs\n", 0644);
	struct stat st;
	CHECK(fstatat(root, "x", &st, 0) != 0 && errno == ENOENT);
	CHECK(fstatat(root, "etc/through", &st, 0) != 0 && errno == ENOENT);
	char outside[256];
	snprintf(outside, sizeof(outside), "%s/x", base);
	CHECK(stat(outside, &st) != 0);
	CHECK(stat("/x", &st) != 0 || st.st_size != 7);
	close(tar);
	close(err);

	/* Copying out through a symlink to "/" reads the root's own files. */
	CHECK(symlinkat("/", root, "toroot") == 0);
	put_file(root, "inroot", "mine\n", 0644);
	struct copy_stat cs;
	char msg[256];
	CHECK(copy_stat(root, "/toroot/../../inroot", &cs, msg, sizeof(msg)) == COPY_OK);
	CHECK(cs.st.st_size == 5);
	CHECK(copy_stat(root, "/nope", &cs, msg, sizeof(msg)) == COPY_NOT_FOUND);
	CHECK_STR(msg, "Could not find the file /nope in container");
	CHECK(copy_stat(root, "/toroot", &cs, msg, sizeof(msg)) == COPY_OK);
	CHECK(S_ISLNK(cs.st.st_mode));
	CHECK_STR(cs.link, "/");
}

static void test_errors(void)
{
	int root = dir_fd("errs");
	put_file(root, "file", "f", 0644);
	int tar = scratch(), err = scratch();
	CHECK(copy_out(root, "/missing", tar, err) == COPY_NOT_FOUND);
	CHECK(copy_in(root, "/missing", tar, err) == COPY_NOT_FOUND);
	CHECK(copy_in(root, "/file", tar, err) == COPY_BAD);
	CHECK(write(tar, "garbage garbage", 15) == 15);
	uint8_t zero[TAR_BLOCK] = {0};
	CHECK(write(tar, zero, sizeof(zero)) == sizeof(zero));
	CHECK(lseek(tar, 0, SEEK_SET) == 0);
	CHECK(copy_in(root, "/", tar, err) == COPY_BAD);
	char msg[512] = {0};
	CHECK(lseek(err, 0, SEEK_SET) == 0 && read(err, msg, sizeof(msg) - 1) > 0);
	CHECK(strstr(msg, "Could not find the file /missing in container") != NULL);
	CHECK(strstr(msg, "extraction point is not a directory") != NULL);
	CHECK(strstr(msg, "not a tar file") != NULL);
}

int main(void)
{
	if (geteuid() != 0 || mkdtemp(base) == NULL) {
		printf("skipped: needs root (chown) and /tmp\n");
		return 0;
	}
	test_round_trip();
	test_escapes();
	test_errors();
	test_replace_is_atomic();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
	CHECK(system(cmd) == 0);
	CHECK_DONE();
}
