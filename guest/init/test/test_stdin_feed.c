#include "check.h"
#include "stdin_feed.h"

#include <fcntl.h>
#include <unistd.h>

/* A process's stdin: bytes wait until the pipe takes them; EOF closes it after them. */
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

	/*
	 * A stream longer than memory: frames keep coming while the pipe still holds earlier bytes (the agent
	 * reads the channel again once little waits). The buffer keeps only what waits, never what was written.
	 */
	enum { FRAME = 256 << 10, LOW = 64 << 10, FRAMES = 64 };
	static uint8_t frame[FRAME], sink[FRAME];
	size_t sent = 0, got = 0, most = 0;
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	stdin_feed_init(&f, p[1], 0);
	for (int i = 0; i < FRAMES; i++) {
		memset(frame, i, sizeof(frame));
		CHECK(stdin_feed_push(&f, frame, sizeof(frame)) == 0);
		sent += sizeof(frame);
		most = f.buf.cap > most ? f.buf.cap : most;
		while (stdin_feed_pending(&f) > LOW) {
			stdin_feed_write(&f);
			ssize_t n = read(p[0], sink, sizeof(sink));
			CHECK(n > 0 && sink[0] == (uint8_t)((got + 0) / FRAME));
			got += n > 0 ? (size_t)n : 0;
		}
	}
	CHECK(stdin_feed_pending(&f) > 0); /* it never drained between frames */
	CHECK(most <= 2 * (FRAME + LOW)); /* not FRAMES * FRAME */
	stdin_feed_close(&f);
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
