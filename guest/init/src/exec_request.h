/*
 * The EXEC request and the small per-session frames (RESIZE, SIGNAL), decoded.
 * EXEC is RUN's ARG, ENV, CWD and USER records plus TTY, STDIN, ROWS and COLS.
 */
#ifndef HEARTH_EXEC_REQUEST_H
#define HEARTH_EXEC_REQUEST_H

#include "run.h"

#include <stddef.h>
#include <stdint.h>

struct exec_request {
	struct run_request run; /* argv, envp (with TERM for a tty), cwd, user; the fields below */
	int tty;
	int stdin_open;
	uint16_t rows; /* 0: leave the kernel's default */
	uint16_t cols;
};

/* 0 on success; 1 with a message in err. */
int exec_request_parse(const uint8_t *payload, size_t len, struct exec_request *x, char *err,
		       size_t errlen);
void exec_request_free(struct exec_request *x);
/* RESIZE: u16 rows, u16 cols; 0 on success, 1 when malformed. */
int resize_parse(const uint8_t *payload, size_t len, uint16_t *rows, uint16_t *cols);

#endif
