#include "protocol.h"

#include <stdlib.h>
#include <string.h>

void frame_header_encode(uint8_t out[FRAME_HEADER_SIZE], uint8_t type, uint32_t session,
			 uint32_t length)
{
	out[0] = PROTO_VERSION;
	out[1] = type;
	put_u16(out + 2, 0);
	put_u32(out + 4, session);
	put_u32(out + 8, length);
}

int frame_header_decode(const uint8_t in[FRAME_HEADER_SIZE], struct frame_header *h)
{
	h->version = in[0];
	h->type = in[1];
	h->flags = get_u16(in + 2);
	h->session = get_u32(in + 4);
	h->length = get_u32(in + 8);
	if (h->version != PROTO_VERSION)
		return FRAME_BAD_VERSION;
	if (h->length > FRAME_MAX_PAYLOAD)
		return FRAME_TOO_LONG;
	return FRAME_OK;
}

void record_iter_init(struct record_iter *it, const uint8_t *data, size_t len)
{
	it->data = data;
	it->len = len;
	it->off = 0;
}

int record_next(struct record_iter *it, struct record *r)
{
	if (it->off == it->len)
		return 0;
	if (it->len - it->off < RECORD_HEADER_SIZE)
		return -1;
	const uint8_t *p = it->data + it->off;
	uint32_t len = get_u32(p + 2);
	if (len > it->len - it->off - RECORD_HEADER_SIZE)
		return -1;
	r->tag = get_u16(p);
	r->len = len;
	r->value = p + RECORD_HEADER_SIZE;
	it->off += RECORD_HEADER_SIZE + (size_t)len;
	return 1;
}

int bytes_reserve(struct bytes *b, size_t extra)
{
	if (b->cap - b->len >= extra)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap - b->len < extra)
		cap *= 2;
	uint8_t *data = realloc(b->data, cap);
	if (data == NULL)
		return -1;
	b->data = data;
	b->cap = cap;
	return 0;
}

int bytes_append(struct bytes *b, const void *data, size_t len)
{
	if (bytes_reserve(b, len) != 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void bytes_free(struct bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int record_put(struct bytes *b, uint16_t tag, const void *value, uint32_t len)
{
	uint8_t h[RECORD_HEADER_SIZE];
	put_u16(h, tag);
	put_u32(h + 2, len);
	if (bytes_append(b, h, sizeof(h)) != 0)
		return -1;
	return bytes_append(b, value, len);
}

int record_put_str(struct bytes *b, uint16_t tag, const char *s)
{
	return record_put(b, tag, s, (uint32_t)strlen(s));
}

int record_put_u32(struct bytes *b, uint16_t tag, uint32_t v)
{
	uint8_t p[4];
	put_u32(p, v);
	return record_put(b, tag, p, sizeof(p));
}

int record_put_u64(struct bytes *b, uint16_t tag, uint64_t v)
{
	uint8_t p[8];
	put_u64(p, v);
	return record_put(b, tag, p, sizeof(p));
}
