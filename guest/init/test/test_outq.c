#include "check.h"
#include "outq.h"
#include "protocol.h"

static uint8_t type_at(const struct outq *q, size_t off)
{
	return outq_next(q)[off + 1];
}

int main(void)
{
	struct outq q = {0};
	CHECK(outq_pending(&q) == 0);
	CHECK(outq_push(&q, FRAME_LOG, 0, "abc", 3, "de", 2) == 0);
	CHECK(outq_push(&q, FRAME_STARTED, 0, "1234", 4, NULL, 0) == 0);
	CHECK(outq_pending(&q) == 17 + 16);
	CHECK(memcmp(outq_next(&q) + 12, "abcde", 5) == 0);
	CHECK(outq_contains(&q, FRAME_STARTED) && !outq_contains(&q, FRAME_EXIT));

	/* Half of the first frame written, then the host goes away. */
	outq_consume(&q, 10);
	CHECK(outq_pending(&q) == 23);
	CHECK(outq_drop_partial(&q) == 7);
	CHECK(outq_pending(&q) == 16 && type_at(&q, 0) == FRAME_STARTED);
	CHECK(outq_drop_partial(&q) == 0);

	/* HELLO goes in front of what is left. */
	CHECK(outq_push_front(&q, FRAME_HELLO, 0, "hi", 2) == 0);
	CHECK(outq_pending(&q) == 14 + 16);
	CHECK(type_at(&q, 0) == FRAME_HELLO && type_at(&q, 14) == FRAME_STARTED);
	CHECK(memcmp(outq_next(&q) + 12, "hi", 2) == 0);

	/* Writing exactly whole frames moves the head along. */
	outq_consume(&q, 14);
	CHECK(outq_drop_partial(&q) == 0 && type_at(&q, 0) == FRAME_STARTED);
	outq_consume(&q, 16);
	CHECK(outq_pending(&q) == 0 && !outq_contains(&q, FRAME_STARTED));

	/* push_front refuses while a frame is half written. */
	CHECK(outq_push(&q, FRAME_EXIT, 0, "12345678", 8, NULL, 0) == 0);
	outq_consume(&q, 1);
	CHECK(outq_push_front(&q, FRAME_HELLO, 0, "", 0) == -1);
	CHECK(outq_drop_partial(&q) == 19 && outq_pending(&q) == 0);

	/* Many frames, drained in odd-sized writes, come out byte for byte. */
	uint8_t payload[1000];
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)i;
	size_t total = 0, written = 0;
	for (int i = 0; i < 3000; i++) {
		CHECK(outq_push(&q, FRAME_OUTPUT, 0, payload, (size_t)(i % 1000), NULL, 0) == 0);
		total += 12 + (size_t)(i % 1000);
		if (i % 7 == 0) {
			size_t n = outq_pending(&q) > 333 ? 333 : outq_pending(&q);
			written += n;
			outq_consume(&q, n);
		}
	}
	while (outq_pending(&q) > 0) {
		size_t n = outq_pending(&q) > 4097 ? 4097 : outq_pending(&q);
		written += n;
		outq_consume(&q, n);
	}
	CHECK(q.head == 0 && q.end == 0);
	CHECK(total == written);
	outq_free(&q);
	CHECK_DONE();
}
