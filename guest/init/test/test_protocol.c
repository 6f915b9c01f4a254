#include "check.h"
#include "protocol.h"

static void test_header(void)
{
	uint8_t h[FRAME_HEADER_SIZE];
	struct frame_header fh;
	frame_header_encode(h, FRAME_OUTPUT, 7, 0x01020304);
	const uint8_t want[] = {1, 0x83, 0, 0, 7, 0, 0, 0, 4, 3, 2, 1};
	CHECK(memcmp(h, want, sizeof(want)) == 0);
	frame_header_encode(h, FRAME_RUN, 0, 12);
	CHECK(frame_header_decode(h, &fh) == FRAME_OK);
	CHECK(fh.type == FRAME_RUN && fh.session == 0 && fh.length == 12);
	frame_header_encode(h, FRAME_RUN, 0, FRAME_MAX_PAYLOAD);
	CHECK(frame_header_decode(h, &fh) == FRAME_OK);
	frame_header_encode(h, FRAME_RUN, 0, FRAME_MAX_PAYLOAD + 1);
	CHECK(frame_header_decode(h, &fh) == FRAME_TOO_LONG);
	h[0] = 2;
	CHECK(frame_header_decode(h, &fh) == FRAME_BAD_VERSION);
}

static void test_records(void)
{
	struct bytes b = {0};
	CHECK(record_put_str(&b, TAG_ARG, "echo") == 0);
	CHECK(record_put_str(&b, TAG_ARG, "") == 0);
	CHECK(record_put_u32(&b, TAG_PID, 42) == 0);
	CHECK(b.len == 6 + 4 + 6 + 0 + 6 + 4);
	const uint8_t want[] = {1, 0, 4, 0, 0, 0, 'e', 'c', 'h', 'o'};
	CHECK(memcmp(b.data, want, sizeof(want)) == 0);

	struct record_iter it;
	struct record r;
	record_iter_init(&it, b.data, b.len);
	CHECK(record_next(&it, &r) == 1 && r.tag == TAG_ARG && r.len == 4 &&
	      memcmp(r.value, "echo", 4) == 0);
	CHECK(record_next(&it, &r) == 1 && r.tag == TAG_ARG && r.len == 0);
	CHECK(record_next(&it, &r) == 1 && r.tag == TAG_PID && get_u32(r.value) == 42);
	CHECK(record_next(&it, &r) == 0);

	/* A record whose length runs past the end, and a partial record header. */
	record_iter_init(&it, b.data, b.len - 1);
	CHECK(record_next(&it, &r) == 1 && record_next(&it, &r) == 1);
	CHECK(record_next(&it, &r) == -1);
	record_iter_init(&it, b.data, 3);
	CHECK(record_next(&it, &r) == -1);
	bytes_free(&b);
}

int main(void)
{
	test_header();
	test_records();
	CHECK_DONE();
}
