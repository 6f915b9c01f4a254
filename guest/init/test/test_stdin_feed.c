#include "check.h"
#include "stdin_feed.h"

#include <fcntl.h>
#include <unistd.h>

/* The main process's stdin: bytes wait until the pipe takes them; EOF closes it after them. */
int main(void)
{
	int p[2];
	char buf[16];
	struct stdin_feed f;
	CHECK(pipe2(p, O_NONBLOCK) == 0);

	stdin_feed_init(&f, p[1], 0);
	CHECK(stdin_feed_poll_fd(&f) == -1); /* nothing waits */
	CHECK(stdin_feed_push(&f, (const uint8_t *)"hi\n", 3) == 0);
	CHECK(stdin_feed_pending(&f) == 3 && stdin_feed_poll_fd(&f) == p[1]);
	stdin_feed_eof(&f);
	CHECK(f.fd == p[1]); /* still open: bytes wait */
	CHECK(stdin_feed_push(&f, (const uint8_t *)"late", 4) == 0);
	CHECK(stdin_feed_pending(&f) == 3); /* after EOF: dropped */
	stdin_feed_write(&f);
	CHECK(f.fd == -1 && stdin_feed_pending(&f) == 0);
	CHECK(read(p[0], buf, sizeof(buf)) == 3 && memcmp(buf, "hi\n", 3) == 0);
	CHECK(read(p[0], buf, sizeof(buf)) == 0); /* EOF */
	close(p[0]);

	/* No stdin: everything is dropped; a tty ignores EOF. */
	stdin_feed_init(&f, -1, 0);
	CHECK(stdin_feed_push(&f, (const uint8_t *)"x", 1) == 0 && stdin_feed_pending(&f) == 0);
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	stdin_feed_init(&f, p[1], 1);
	stdin_feed_eof(&f);
	CHECK(f.fd == p[1] && f.eof == 0);
	stdin_feed_close(&f);
	close(p[0]);
	CHECK_DONE();
}
