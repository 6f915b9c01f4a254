#include "copy_session.h"

#include "copy.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct copy_args {
	int out; /* 1: COPY_OUT, 0: COPY_IN */
	const char *root;
	char path[RESOLVE_PATH_MAX];
};

/* exec_fn: runs in the session's child. */
static int run_copy(void *arg, int in, int out, int err)
{
	const struct copy_args *c = arg;
	int rootfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		dprintf(err, "open %s: %s", c->root, strerror(errno));
		return COPY_FAILED;
	}
	return c->out ? copy_out(rootfd, c->path, out, err) : copy_in(rootfd, c->path, in, err);
}

/* The payload as a C string; 1 (ERROR sent) when it is empty, too long or holds a NUL. */
static int get_path(struct channel *ch, const struct frame_header *h, const uint8_t *payload,
		    char path[RESOLVE_PATH_MAX])
{
	if (h->length == 0 || h->length >= RESOLVE_PATH_MAX || memchr(payload, '\0', h->length)) {
		exec_send_error(ch, h->session, ERR_BAD_REQUEST, "COPY/STAT: bad path");
		return 1;
	}
	memcpy(path, payload, h->length);
	path[h->length] = '\0';
	return 0;
}

static void send_stat(struct channel *ch, uint32_t session, const char *root, const char *path)
{
	struct copy_stat cs;
	char msg[RESOLVE_PATH_MAX + 64];
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc = rootfd < 0 ? COPY_FAILED : copy_stat(rootfd, path, &cs, msg, sizeof(msg));
	if (rootfd < 0)
		snprintf(msg, sizeof(msg), "open %s: %s", root, strerror(errno));
	else
		close(rootfd);
	if (rc != COPY_OK) {
		exec_send_error(ch, session, rc == COPY_NOT_FOUND ? ERR_NOT_FOUND : ERR_BAD_REQUEST, msg);
		return;
	}
	struct bytes b = {0};
	uint64_t mtime = (uint64_t)cs.st.st_mtim.tv_sec * 1000000000u + (uint64_t)cs.st.st_mtim.tv_nsec;
	int err = record_put_str(&b, TAG_NAME, cs.name) | record_put_u64(&b, TAG_SIZE, (uint64_t)cs.st.st_size) |
		  record_put_u32(&b, TAG_MODE, cs.st.st_mode) | record_put_u64(&b, TAG_MTIME, mtime);
	if (cs.link[0] != '\0')
		err |= record_put_str(&b, TAG_LINK_TARGET, cs.link);
	if (err != 0)
		exec_send_error(ch, session, ERR_BAD_REQUEST, "STAT: out of memory");
	else
		channel_send_session(ch, FRAME_STAT_RESULT, session, b.data, b.len, NULL, 0);
	bytes_free(&b);
}

void copy_session_frame(struct exec_table *t, const struct frame_header *h, const uint8_t *payload,
			const char *root)
{
	/* Static: the forked child reads it from its copy of the agent's memory. */
	static struct copy_args args;
	char path[RESOLVE_PATH_MAX];
	if (get_path(t->ch, h, payload, path) != 0)
		return;
	if (h->type == FRAME_STAT) {
		send_stat(t->ch, h->session, root, path);
		return;
	}
	args.out = h->type == FRAME_COPY_OUT;
	args.root = root;
	memcpy(args.path, path, sizeof(path));
	PRINT_DEBUG("copy session %u: %s %s", h->session, args.out ? "out of" : "into", path);
	exec_start_fn(t, h->session, !args.out, run_copy, &args);
}
