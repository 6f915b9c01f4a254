#include "check.h"
#include "output.h"
#include "protocol.h"

#include <fcntl.h>
#include <unistd.h>

struct captured {
	int frames;
	size_t bytes;
	char last[OUTPUT_LINE_MAX + 1];
	size_t last_len;
	int all_end_in_newline;
	uint8_t stream;
	uint64_t ts;
};

static void capture(void *ctx, uint8_t stream, uint64_t ts, const uint8_t *data, size_t len)
{
	struct captured *c = ctx;
	c->frames++;
	c->bytes += len;
	memcpy(c->last, data, len);
	c->last_len = len;
	c->last[len] = '\0';
	if (len == 0 || data[len - 1] != '\n')
		c->all_end_in_newline = 0;
	c->stream = stream;
	c->ts = ts;
}

static void test_split(void)
{
	const uint8_t *s = (const uint8_t *)"ab\ncd\nef";
	CHECK(output_split(s, 8, 100) == 6);
	CHECK(output_split(s, 2, 100) == 0);
	CHECK(output_split(s, 2, 2) == 2);
	CHECK(output_split(s, 3, 100) == 3);
	CHECK(output_split(s, 0, 100) == 0);
}

static void test_pipe(void)
{
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK) == 0);
	struct output_stream s;
	struct captured c = {.all_end_in_newline = 1};
	CHECK(output_init(&s, p[0], STREAM_STDERR) == 0);

	/* Nothing to read yet. */
	CHECK(output_read(&s, capture, &c) == 0 && c.frames == 0);

	CHECK(write(p[1], "one\ntw", 6) == 6);
	CHECK(output_read(&s, capture, &c) == 0);
	CHECK(c.frames == 1 && c.stream == STREAM_STDERR && c.ts > 0);
	CHECK_STR(c.last, "one\n");
	CHECK(s.len == 2 && output_deadline(&s) >= 0);

	/* Not yet due: nothing; due: the partial line goes out. */
	output_flush(&s, s.since_ms + OUTPUT_PARTIAL_FLUSH_MS - 1, 0, capture, &c);
	CHECK(c.frames == 1);
	CHECK(write(p[1], "o\nthree\nfo", 10) == 10);
	CHECK(output_read(&s, capture, &c) == 0);
	CHECK(c.frames == 2);
	CHECK_STR(c.last, "two\nthree\n");
	output_flush(&s, s.since_ms + OUTPUT_PARTIAL_FLUSH_MS, 0, capture, &c);
	CHECK(c.frames == 3);
	CHECK_STR(c.last, "fo");
	CHECK(output_deadline(&s) == -1);
	c.all_end_in_newline = 1;

	/* A line longer than the limit is cut at the limit. */
	static char big[OUTPUT_LINE_MAX + 100];
	memset(big, 'x', sizeof(big));
	size_t off = 0;
	while (off < sizeof(big)) {
		ssize_t n = write(p[1], big + off, sizeof(big) - off);
		if (n > 0)
			off += (size_t)n;
		output_read(&s, capture, &c);
	}
	CHECK(c.frames == 4 && c.last_len == OUTPUT_LINE_MAX);
	CHECK(s.len == 100);

	/* EOF flushes the rest. */
	close(p[1]);
	CHECK(output_read(&s, capture, &c) == 1);
	CHECK(c.frames == 5 && c.last_len == 100 && s.fd == -1);
	CHECK(c.bytes == 4 + 10 + 2 + sizeof(big));
	free(s.buf);
}

int main(void)
{
	test_split();
	test_pipe();
	CHECK_DONE();
}
