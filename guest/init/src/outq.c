#include "outq.h"

#include "protocol.h"

#include <stdlib.h>
#include <string.h>

static size_t frame_len_at(const struct outq *q, size_t pos)
{
	return FRAME_HEADER_SIZE + (size_t)get_u32(q->data + pos + 8);
}

/* Moves the unwritten frames to the front and makes room for extra bytes. */
static int make_room(struct outq *q, size_t extra)
{
	if (q->head > 0 && q->cap - q->end < extra) {
		memmove(q->data, q->data + q->head, q->end - q->head);
		q->end -= q->head;
		q->sent -= q->head;
		q->head = 0;
	}
	if (q->cap - q->end >= extra)
		return 0;
	size_t cap = q->cap ? q->cap : 64 * 1024;
	while (cap - q->end < extra)
		cap *= 2;
	uint8_t *data = realloc(q->data, cap);
	if (data == NULL)
		return -1;
	q->data = data;
	q->cap = cap;
	return 0;
}

int outq_push(struct outq *q, uint8_t type, uint32_t session, const void *a, size_t alen,
	      const void *b, size_t blen)
{
	size_t len = alen + blen;
	if (len > FRAME_MAX_PAYLOAD || make_room(q, FRAME_HEADER_SIZE + len) != 0)
		return -1;
	frame_header_encode(q->data + q->end, type, session, (uint32_t)len);
	q->end += FRAME_HEADER_SIZE;
	if (alen > 0)
		memcpy(q->data + q->end, a, alen);
	q->end += alen;
	if (blen > 0)
		memcpy(q->data + q->end, b, blen);
	q->end += blen;
	return 0;
}

int outq_push_front(struct outq *q, uint8_t type, uint32_t session, const void *payload,
		    size_t len)
{
	size_t flen = FRAME_HEADER_SIZE + len;
	if (q->sent != q->head || len > FRAME_MAX_PAYLOAD || make_room(q, flen) != 0)
		return -1;
	if (q->head >= flen) {
		q->head -= flen;
	} else {
		memmove(q->data + q->head + flen, q->data + q->head, q->end - q->head);
		q->end += flen;
	}
	q->sent = q->head;
	frame_header_encode(q->data + q->head, type, session, (uint32_t)len);
	if (len > 0)
		memcpy(q->data + q->head + FRAME_HEADER_SIZE, payload, len);
	return 0;
}

size_t outq_pending(const struct outq *q)
{
	return q->end - q->sent;
}

const uint8_t *outq_next(const struct outq *q)
{
	return q->data + q->sent;
}

void outq_consume(struct outq *q, size_t n)
{
	q->sent += n;
	while (q->head < q->end && q->head + frame_len_at(q, q->head) <= q->sent)
		q->head += frame_len_at(q, q->head);
	if (q->head == q->end)
		q->head = q->sent = q->end = 0;
}

size_t outq_drop_partial(struct outq *q)
{
	if (q->sent == q->head)
		return 0;
	size_t frame_end = q->head + frame_len_at(q, q->head);
	size_t dropped = frame_end - q->sent;
	q->sent = frame_end;
	outq_consume(q, 0);
	return dropped;
}

int outq_contains(const struct outq *q, uint8_t type)
{
	for (size_t pos = q->head; pos < q->end; pos += frame_len_at(q, pos))
		if (q->data[pos + 1] == type)
			return 1;
	return 0;
}

void outq_free(struct outq *q)
{
	free(q->data);
	memset(q, 0, sizeof(*q));
}
