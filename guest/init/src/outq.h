/*
 * The queue of frames waiting to be written to the host.
 *
 * It is a byte buffer that always holds whole frames, and it remembers where
 * the first frame that has not been written completely begins. When the host
 * disconnects in the middle of a frame, the rest of that frame is dropped
 * (outq_drop_partial), so the next connection starts on a frame boundary; the
 * frames behind it are kept and sent on the next connection.
 */
#ifndef HEARTH_OUTQ_H
#define HEARTH_OUTQ_H

#include <stddef.h>
#include <stdint.h>

struct outq {
	uint8_t *data;
	size_t cap;
	size_t head; /* start of the first frame not completely written */
	size_t sent; /* first byte not yet written: head <= sent <= end */
	size_t end;
};

/* Appends one frame whose payload is a followed by b (either may be empty). */
int outq_push(struct outq *q, uint8_t type, uint32_t session, const void *a, size_t alen,
	      const void *b, size_t blen);
/* Puts one frame in front of every queued frame. Call outq_drop_partial first. */
int outq_push_front(struct outq *q, uint8_t type, uint32_t session, const void *payload,
		    size_t len);
/* Bytes not yet written. */
size_t outq_pending(const struct outq *q);
/* The bytes to write next (outq_pending of them). */
const uint8_t *outq_next(const struct outq *q);
/* Records that n bytes from outq_next were written. */
void outq_consume(struct outq *q, size_t n);
/* Drops what is left of a partly written frame; returns the bytes dropped. */
size_t outq_drop_partial(struct outq *q);
/* Whether a frame of this type waits (not completely written) in the queue. */
int outq_contains(const struct outq *q, uint8_t type);
void outq_free(struct outq *q);

#endif
