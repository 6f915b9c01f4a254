#include "tree_copy.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Deeper trees fail rather than exhaust the agent's stack (each level holds two fds). */
#define DEPTH_MAX 128

struct walk {
	char *err;
	size_t errlen;
};

static int fail(struct walk *w, const char *what, const char *name)
{
	snprintf(w->err, w->errlen, "copying the image's content into the volume: %s %s: %s", what, name,
		 strerror(errno));
	return 1;
}

/* Owner before mode: chown clears the set-id bits chmod then restores. */
static int set_attrs(int fd, const struct stat *st)
{
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (fchown(fd, st->st_uid, st->st_gid) != 0 || fchmod(fd, st->st_mode & 07777) != 0)
		return -1;
	return futimens(fd, times);
}

static int copy_file(struct walk *w, int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return fail(w, "open", name);
	int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return fail(w, "create", name);
	}
	char buf[65536];
	ssize_t n;
	int rc = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t done = 0; done < n;) {
			ssize_t put = write(out, buf + done, (size_t)(n - done));
			if (put < 0) {
				rc = fail(w, "write", name);
				goto out;
			}
			done += put;
		}
	}
	if (n < 0)
		rc = fail(w, "read", name);
	else if (set_attrs(out, st) != 0)
		rc = fail(w, "set the owner, mode or times of", name);
out:
	close(in);
	close(out);
	return rc;
}

static int copy_link(struct walk *w, int src_dir, int dst_dir, const char *name, const struct stat *st)
{
	char target[4096];
	ssize_t n = readlinkat(src_dir, name, target, sizeof(target) - 1);
	if (n < 0)
		return fail(w, "readlink", name);
	target[n] = '\0';
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (symlinkat(target, dst_dir, name) != 0 ||
	    fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
	    utimensat(dst_dir, name, times, AT_SYMLINK_NOFOLLOW) != 0)
		return fail(w, "symlink", name);
	return 0;
}

static int copy_node(struct walk *w, int dst_dir, const char *name, const struct stat *st)
{
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	if (mknodat(dst_dir, name, st->st_mode, st->st_rdev) != 0 ||
	    fchownat(dst_dir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) != 0 ||
	    fchmodat(dst_dir, name, st->st_mode & 07777, 0) != 0 || utimensat(dst_dir, name, times, 0) != 0)
		return fail(w, "mknod", name);
	return 0;
}

static int copy_dir(struct walk *w, int src_dir, int dst_dir, int depth);

static int copy_subdir(struct walk *w, int src_dir, int dst_dir, const char *name, const struct stat *st,
		       int depth)
{
	if (mkdirat(dst_dir, name, 0700) != 0 && errno != EEXIST)
		return fail(w, "mkdir", name);
	int from = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (from < 0)
		return fail(w, "open", name);
	int to = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (to < 0) {
		close(from);
		return fail(w, "open", name);
	}
	int rc = copy_dir(w, from, to, depth + 1);
	if (rc == 0 && set_attrs(to, st) != 0)
		rc = fail(w, "set the owner, mode or times of", name);
	close(from);
	close(to);
	return rc;
}

/* An existing entry of another kind is removed first; a directory is merged into. */
static int make_room(struct walk *w, int dst_dir, const char *name, const struct stat *src)
{
	struct stat st;
	if (fstatat(dst_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : fail(w, "stat", name);
	if (S_ISDIR(st.st_mode) && S_ISDIR(src->st_mode))
		return 0;
	if (unlinkat(dst_dir, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0)
		return fail(w, "replace", name);
	return 0;
}

static int copy_dir(struct walk *w, int src_dir, int dst_dir, int depth)
{
	if (depth > DEPTH_MAX) {
		errno = ELOOP;
		return fail(w, "descend into", "a directory nested too deep");
	}
	int fd = dup(src_dir);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return fail(w, "read", "a directory");
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			rc = fail(w, "stat", name);
			break;
		}
		if (S_ISSOCK(st.st_mode))
			continue;
		if ((rc = make_room(w, dst_dir, name, &st)) != 0)
			break;
		if (S_ISDIR(st.st_mode))
			rc = copy_subdir(w, src_dir, dst_dir, name, &st, depth);
		else if (S_ISREG(st.st_mode))
			rc = copy_file(w, src_dir, dst_dir, name, &st);
		else if (S_ISLNK(st.st_mode))
			rc = copy_link(w, src_dir, dst_dir, name, &st);
		else
			rc = copy_node(w, dst_dir, name, &st);
	}
	closedir(dir);
	return rc;
}

int tree_copy(int src_dir, int dst_dir, char *err, size_t errlen)
{
	struct walk w = {err, errlen};
	return copy_dir(&w, src_dir, dst_dir, 0);
}
