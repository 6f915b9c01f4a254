/*
 * The copy frames (COPY_OUT, COPY_IN, STAT) of docs/guest-protocol.md.
 * COPY_OUT and COPY_IN become sessions of the exec table whose child runs
 * copy_out or copy_in (copy.h) instead of an exec: the tar travels as OUTPUT
 * (stream 1) or STDIN, a failure's message as OUTPUT stream 2, and EXIT
 * carries an enum copy_status. STAT is answered at once.
 */
#ifndef HEARTH_COPY_SESSION_H
#define HEARTH_COPY_SESSION_H

#include "exec.h"
#include "protocol.h"

/* Handles one copy frame; root is the container's root directory. */
void copy_session_frame(struct exec_table *t, const struct frame_header *h, const uint8_t *payload,
			const char *root);

#endif
