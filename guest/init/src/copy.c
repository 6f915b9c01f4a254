#include "copy.h"

#include "tar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (64 * 1024)
/* Hard links remembered while writing (files with more than one link). */
#define LINKS_MAX 4096

static int say(int err, int status, const char *fmt, ...)
{
	char msg[RESOLVE_PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > 0 && write(err, msg, strnlen(msg, sizeof(msg))) < 0)
		return status; /* nobody to tell */
	return status;
}

static int not_found(int err, const char *path)
{
	return say(err, COPY_NOT_FOUND, "Could not find the file %s in container", path);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads len bytes; 0 on success, 1 at a short read (EOF) or error. */
static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ---- copy out ---- */

struct writer {
	int out, err;
	uint8_t *buf; /* CHUNK */
	struct { dev_t dev; ino_t ino; char *name; } links[LINKS_MAX];
	size_t nlinks;
};

static int put_header(struct writer *w, const struct tar_entry *e)
{
	uint8_t blk[TAR_BLOCK];
	if (tar_header_encode(e, blk)) {
		struct bytes pax = {0};
		uint8_t head[TAR_BLOCK], pad[TAR_BLOCK] = {0};
		int rc = tar_pax_encode(e, &pax);
		tar_pax_header(pax.len, head);
		rc = rc || write_all(w->out, head, sizeof(head)) || write_all(w->out, pax.data, pax.len) ||
		     write_all(w->out, pad, tar_padding(pax.len));
		bytes_free(&pax);
		if (rc)
			return 1;
	}
	return write_all(w->out, blk, sizeof(blk));
}

/* A file's data: exactly e->size bytes (zeros if it shrank meanwhile), then padding. */
static int put_data(struct writer *w, int fd, uint64_t size)
{
	uint64_t left = size;
	while (left > 0) {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		ssize_t n = read(fd, w->buf, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return 1;
		if (n == 0) {
			memset(w->buf, 0, want);
			n = (ssize_t)want;
		}
		if (write_all(w->out, w->buf, (size_t)n) != 0)
			return 1;
		left -= (uint64_t)n;
	}
	memset(w->buf, 0, TAR_BLOCK);
	return write_all(w->out, w->buf, tar_padding(size));
}

/* A file seen before under another name: its first name, else NULL (and it is remembered). */
static const char *seen_link(struct writer *w, const struct stat *st, const char *name)
{
	if (st->st_nlink < 2)
		return NULL;
	for (size_t i = 0; i < w->nlinks; i++)
		if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
			return w->links[i].name;
	if (w->nlinks < LINKS_MAX && (w->links[w->nlinks].name = strdup(name)) != NULL) {
		w->links[w->nlinks].dev = st->st_dev;
		w->links[w->nlinks].ino = st->st_ino;
		w->nlinks++;
	}
	return NULL;
}

static int put_tree(struct writer *w, int dirfd, const char *leaf, const char *name);

/*
 * One entry. fd is an O_PATH|O_NOFOLLOW descriptor of it; reopen opens it for
 * reading (the parent and a single name, or the confined path at the top).
 */
static int put_entry(struct writer *w, int fd, int parent, const char *leaf, const char *name)
{
	struct stat st;
	struct tar_entry e;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH) != 0)
		return say(w->err, COPY_FAILED, "stat %s: %s", name, strerror(errno));
	memset(&e, 0, sizeof(e));
	if (snprintf(e.name, sizeof(e.name), "%s", name) >= (int)sizeof(e.name))
		return say(w->err, COPY_BAD, "%s: the name is too long", name);
	e.mode = st.st_mode & 07777;
	e.uid = st.st_uid;
	e.gid = st.st_gid;
	e.mtime = st.st_mtim.tv_sec;
	if (S_ISLNK(st.st_mode)) {
		e.type = TAR_SYMLINK;
		ssize_t n = readlinkat(fd, "", e.link, sizeof(e.link) - 1);
		if (n < 0)
			return say(w->err, COPY_FAILED, "readlink %s: %s", name, strerror(errno));
		e.link[n] = '\0';
		return put_header(w, &e) ? COPY_FAILED : COPY_OK;
	}
	if (S_ISDIR(st.st_mode)) {
		e.type = TAR_DIR;
		if (put_header(w, &e) != 0)
			return COPY_FAILED;
		return put_tree(w, parent, leaf, name);
	}
	if (!S_ISREG(st.st_mode))
		return COPY_OK; /* devices, fifos and sockets are left out */
	const char *first = seen_link(w, &st, name);
	if (first != NULL) {
		e.type = TAR_HARDLINK;
		snprintf(e.link, sizeof(e.link), "%s", first);
		return put_header(w, &e) ? COPY_FAILED : COPY_OK;
	}
	e.type = TAR_FILE;
	e.size = (uint64_t)st.st_size;
	int data = openat(parent, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (data < 0)
		return say(w->err, COPY_FAILED, "open %s: %s", name, strerror(errno));
	int rc = put_header(w, &e) || put_data(w, data, e.size);
	close(data);
	return rc ? COPY_FAILED : COPY_OK;
}

/* The entries of the directory leaf in dirfd, named name/child. */
static int put_tree(struct writer *w, int parent, const char *leaf, const char *name)
{
	int fd = openat(parent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return say(w->err, COPY_FAILED, "open %s: %s", name, strerror(errno));
	}
	int rc = COPY_OK;
	struct dirent *d;
	while (rc == COPY_OK && (errno = 0, d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		char child[RESOLVE_PATH_MAX];
		if (snprintf(child, sizeof(child), "%s/%s", name, d->d_name) >= (int)sizeof(child)) {
			rc = say(w->err, COPY_BAD, "%s/%s: the name is too long", name, d->d_name);
			break;
		}
		int cfd = openat(dirfd(dir), d->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			if (errno == ENOENT)
				continue; /* removed meanwhile */
			rc = say(w->err, COPY_FAILED, "open %s: %s", child, strerror(errno));
			break;
		}
		rc = put_entry(w, cfd, dirfd(dir), d->d_name, child);
		close(cfd);
	}
	if (rc == COPY_OK && d == NULL && errno != 0)
		rc = say(w->err, COPY_FAILED, "reading %s: %s", name, strerror(errno));
	closedir(dir);
	return rc;
}

int copy_out(int rootfd, const char *path, int out, int err)
{
	char parent[RESOLVE_PATH_MAX], base[RESOLVE_PATH_MAX];
	if (path[0] == '\0' || path_split(path, parent, base) != 0)
		return say(err, COPY_BAD, "invalid path %s", path);
	/* The parent is followed (inside the root); the last component is not, as Docker does. */
	int pfd = resolve_open(rootfd, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (pfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? not_found(err, path)
							   : say(err, COPY_FAILED, "%s: %s", path, strerror(errno));
	int is_dot = strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
	int fd = resolve_open(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	struct writer *w = calloc(1, sizeof(*w));
	uint8_t *buf = malloc(CHUNK);
	int rc;
	if (fd < 0) {
		rc = errno == ENOENT || errno == ENOTDIR ? not_found(err, path)
							: say(err, COPY_FAILED, "%s: %s", path, strerror(errno));
	} else if (w == NULL || buf == NULL) {
		rc = say(err, COPY_FAILED, "out of memory");
	} else {
		w->out = out;
		w->err = err;
		w->buf = buf;
		rc = put_entry(w, fd, pfd, base, is_dot ? "." : base);
		uint8_t end[2 * TAR_BLOCK] = {0};
		if (rc == COPY_OK && write_all(out, end, sizeof(end)) != 0)
			rc = COPY_FAILED;
	}
	if (fd >= 0)
		close(fd);
	close(pfd);
	if (w != NULL)
		for (size_t i = 0; i < w->nlinks; i++)
			free(w->links[i].name);
	free(w);
	free(buf);
	return rc;
}

/* ---- copy in ---- */

struct reader {
	int in, err;
	int dest; /* the destination directory: every entry is resolved in it */
	uint8_t buf[CHUNK];
};

/* Skips n bytes of the archive. */
static int skip(struct reader *r, uint64_t n)
{
	while (n > 0) {
		size_t want = n < CHUNK ? (size_t)n : CHUNK;
		if (read_full(r->in, r->buf, want) != 0)
			return 1;
		n -= want;
	}
	return 0;
}

/* The directory that holds rel (made, with its parents, if missing); -1 with errno. */
static int open_parent(struct reader *r, const char *parent)
{
	int fd = resolve_open(r->dest, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* Make each missing component under the (confined) one before it. */
	char prefix[RESOLVE_PATH_MAX];
	int cur = dup(r->dest);
	for (size_t i = 0; cur >= 0; i++) {
		if (parent[i] != '/' && parent[i] != '\0')
			continue;
		memcpy(prefix, parent, i);
		prefix[i] = '\0';
		size_t start = i;
		while (start > 0 && prefix[start - 1] != '/')
			start--;
		const char *comp = prefix + start;
		if (comp[0] != '\0' && strcmp(comp, ".") != 0 && strcmp(comp, "..") != 0) {
			if (mkdirat(cur, comp, 0755) != 0 && errno != EEXIST) {
				close(cur);
				return -1;
			}
			int next = resolve_open(r->dest, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
			close(cur);
			cur = next;
		}
		if (parent[i] == '\0')
			break;
	}
	return cur;
}

/* Removes what is at base unless it is a directory (tar replaces files and links). */
static void clear(int parent, const char *base)
{
	struct stat st;
	if (fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		unlinkat(parent, base, 0);
}

/*
 * A file is written under a temporary name beside its place and renamed over it, so that a reader (a
 * resolver reading the /etc/hosts the host rewrites while the container runs) sees the old file or the new
 * one, never none or half of one. What was there goes, as with tar: other hard links to it keep the old data.
 */
static int open_temporary(int parent, char *name, size_t len)
{
	static unsigned serial;
	for (int attempt = 0; attempt < 100; attempt++) {
		snprintf(name, len, ".hearth-copy.%d.%u", (int)getpid(), serial++);
		int fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

static int extract_file(struct reader *r, int parent, const char *base, const struct tar_entry *e)
{
	char temporary[64];
	int fd = open_temporary(parent, temporary, sizeof(temporary));
	if (fd < 0)
		return say(r->err, COPY_FAILED, "creating %s: %s", e->name, strerror(errno));
	uint64_t left = e->size;
	int rc = COPY_OK;
	while (rc == COPY_OK && left > 0) {
		size_t want = left < CHUNK ? (size_t)left : CHUNK;
		if (read_full(r->in, r->buf, want) != 0)
			rc = say(r->err, COPY_BAD, "the archive ends inside %s", e->name);
		else if (write_all(fd, r->buf, want) != 0)
			rc = say(r->err, COPY_FAILED, "writing %s: %s", e->name, strerror(errno));
		left -= want;
	}
	if (rc == COPY_OK && (fchown(fd, e->uid, e->gid) != 0 || fchmod(fd, e->mode) != 0 ||
			      futimens(fd, (struct timespec[]){{.tv_sec = e->mtime}, {.tv_sec = e->mtime}}) != 0))
		rc = say(r->err, COPY_FAILED, "setting the attributes of %s: %s", e->name, strerror(errno));
	close(fd);
	if (rc == COPY_OK && renameat(parent, temporary, parent, base) != 0)
		rc = say(r->err, COPY_FAILED, "creating %s: %s", e->name, strerror(errno));
	if (rc != COPY_OK)
		unlinkat(parent, temporary, 0);
	return rc;
}

static int extract_dir(struct reader *r, int parent, const char *base, const struct tar_entry *e)
{
	if (mkdirat(parent, base, 0700) != 0 && errno != EEXIST)
		return say(r->err, COPY_FAILED, "creating %s: %s", e->name, strerror(errno));
	int fd = resolve_open(parent, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0)
		return say(r->err, COPY_FAILED, "creating %s: %s", e->name, strerror(errno));
	int rc = fchown(fd, e->uid, e->gid) != 0 || fchmod(fd, e->mode) != 0;
	close(fd);
	return rc ? say(r->err, COPY_FAILED, "setting the attributes of %s: %s", e->name, strerror(errno))
		  : COPY_OK;
}

static int extract_symlink(struct reader *r, int parent, const char *base, const struct tar_entry *e)
{
	clear(parent, base);
	if (symlinkat(e->link, parent, base) != 0)
		return say(r->err, COPY_FAILED, "creating %s: %s", e->name, strerror(errno));
	if (fchownat(parent, base, e->uid, e->gid, AT_SYMLINK_NOFOLLOW) != 0)
		return say(r->err, COPY_FAILED, "chown %s: %s", e->name, strerror(errno));
	struct timespec t[2] = {{.tv_sec = e->mtime}, {.tv_sec = e->mtime}};
	utimensat(parent, base, t, AT_SYMLINK_NOFOLLOW); /* best effort, as tar does */
	return COPY_OK;
}

static int extract_hardlink(struct reader *r, int parent, const char *base, const struct tar_entry *e)
{
	char rel[RESOLVE_PATH_MAX];
	const char *target = path_entry_name(e->link, rel);
	if (target == NULL)
		return say(r->err, COPY_BAD, "%s: a hard link to nothing", e->name);
	int tfd = resolve_open(r->dest, target, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (tfd < 0)
		return say(r->err, COPY_BAD, "%s: hard link target %s: %s", e->name, e->link, strerror(errno));
	clear(parent, base);
	int rc = linkat(tfd, "", parent, base, AT_EMPTY_PATH);
	int saved = errno;
	close(tfd);
	return rc != 0 ? say(r->err, COPY_FAILED, "linking %s: %s", e->name, strerror(saved)) : COPY_OK;
}

/* One entry whose header was read: its data is consumed whatever happens. */
static int extract(struct reader *r, const struct tar_entry *e)
{
	char relbuf[RESOLVE_PATH_MAX], parent[RESOLVE_PATH_MAX], base[RESOLVE_PATH_MAX];
	uint64_t data = e->type == TAR_FILE ? e->size : 0;
	const char *rel = path_entry_name(e->name, relbuf);
	int known = e->type == TAR_FILE || e->type == TAR_DIR || e->type == TAR_SYMLINK ||
		    e->type == TAR_HARDLINK;
	if (rel == NULL || !known || path_split(rel, parent, base) != 0 ||
	    strcmp(base, "..") == 0 || strcmp(base, ".") == 0) {
		/* The destination itself, a name that is only "..", or a type not carried (devices): skipped. */
		if (skip(r, e->size + tar_padding(e->size)) != 0)
			return say(r->err, COPY_BAD, "the archive ends inside %s", e->name);
		return COPY_OK;
	}
	int pfd = open_parent(r, parent);
	if (pfd < 0)
		return say(r->err, COPY_FAILED, "creating the parent of %s: %s", e->name, strerror(errno));
	int rc;
	switch (e->type) {
	case TAR_FILE: rc = extract_file(r, pfd, base, e); break;
	case TAR_DIR: rc = extract_dir(r, pfd, base, e); break;
	case TAR_SYMLINK: rc = extract_symlink(r, pfd, base, e); break;
	default: rc = extract_hardlink(r, pfd, base, e); break;
	}
	close(pfd);
	if (rc == COPY_OK && skip(r, tar_padding(data)) != 0)
		rc = say(r->err, COPY_BAD, "the archive ends inside %s", e->name);
	return rc;
}

/* The data of a pax or GNU long-name entry, NUL-terminated, in a malloc'd buffer. */
static char *read_meta(struct reader *r, uint64_t size)
{
	if (size > TAR_META_MAX)
		return NULL;
	char *meta = malloc((size_t)size + 1);
	if (meta == NULL || read_full(r->in, meta, (size_t)size) != 0 || skip(r, tar_padding(size)) != 0) {
		free(meta);
		return NULL;
	}
	meta[size] = '\0';
	return meta;
}

/* A GNU long name or link (L, K); 1 when it does not fit. */
static int set_long(char out[RESOLVE_PATH_MAX], int *has, const char *meta)
{
	*has = 1;
	return snprintf(out, RESOLVE_PATH_MAX, "%s", meta) >= RESOLVE_PATH_MAX;
}

static int extract_all(struct reader *r)
{
	struct tar_pax pending;
	struct tar_entry e;
	uint8_t blk[TAR_BLOCK];
	memset(&pending, 0, sizeof(pending));
	for (;;) {
		if (read_full(r->in, blk, sizeof(blk)) != 0)
			return COPY_OK; /* EOF without the end blocks: tolerated, as tar does */
		int p = tar_header_parse(blk, &e);
		if (p == TAR_PARSE_ZERO)
			return COPY_OK;
		if (p == TAR_PARSE_BAD)
			return say(r->err, COPY_BAD, "the archive is not a tar file (bad header)");
		if (e.type == TAR_PAX || e.type == TAR_PAX_GLOBAL || e.type == TAR_GNU_LONGNAME ||
		    e.type == TAR_GNU_LONGLINK) {
			char *meta = read_meta(r, e.size);
			if (meta == NULL)
				return say(r->err, COPY_BAD, "the archive has a bad extended header");
			int bad = 0;
			if (e.type == TAR_PAX)
				bad = tar_pax_parse(meta, (size_t)e.size, &pending);
			else if (e.type == TAR_GNU_LONGNAME)
				bad = set_long(pending.path, &pending.has_path, meta);
			else if (e.type == TAR_GNU_LONGLINK)
				bad = set_long(pending.link, &pending.has_link, meta);
			free(meta);
			if (bad)
				return say(r->err, COPY_BAD, "the archive has a bad extended header");
			continue;
		}
		tar_pax_apply(&pending, &e);
		memset(&pending, 0, sizeof(pending));
		int rc = extract(r, &e);
		if (rc != COPY_OK)
			return rc;
	}
}

int copy_in(int rootfd, const char *dir, int in, int err)
{
	if (dir[0] == '\0')
		return say(err, COPY_BAD, "invalid path %s", dir);
	struct reader *r = malloc(sizeof(*r));
	if (r == NULL)
		return say(err, COPY_FAILED, "out of memory");
	r->in = in;
	r->err = err;
	r->dest = resolve_open(rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	int rc;
	if (r->dest < 0 && errno == ENOTDIR)
		rc = say(err, COPY_BAD, "extraction point is not a directory");
	else if (r->dest < 0 && errno == ENOENT)
		rc = not_found(err, dir);
	else if (r->dest < 0)
		rc = say(err, COPY_FAILED, "%s: %s", dir, strerror(errno));
	else
		rc = extract_all(r);
	if (r->dest >= 0)
		close(r->dest);
	free(r);
	return rc;
}

int copy_stat(int rootfd, const char *path, struct copy_stat *out, char *msg, size_t msglen)
{
	char parent[RESOLVE_PATH_MAX];
	memset(out, 0, sizeof(*out));
	if (path[0] == '\0' || path_split(path, parent, out->name) != 0) {
		snprintf(msg, msglen, "invalid path %s", path);
		return COPY_BAD;
	}
	int fd = resolve_open(rootfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0);
	if (fd < 0) {
		int missing = errno == ENOENT || errno == ENOTDIR;
		if (missing)
			snprintf(msg, msglen, "Could not find the file %s in container", path);
		else
			snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return missing ? COPY_NOT_FOUND : COPY_FAILED;
	}
	int rc = fstatat(fd, "", &out->st, AT_EMPTY_PATH);
	if (rc == 0 && S_ISLNK(out->st.st_mode)) {
		ssize_t n = readlinkat(fd, "", out->link, sizeof(out->link) - 1);
		out->link[n > 0 ? n : 0] = '\0';
	}
	if (rc != 0)
		snprintf(msg, msglen, "stat %s: %s", path, strerror(errno));
	close(fd);
	if (strcmp(out->name, "..") == 0)
		strcpy(out->name, ".");
	return rc == 0 ? COPY_OK : COPY_FAILED;
}
