#include "exec_request.h"

#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int exec_request_parse(const uint8_t *payload, size_t len, struct exec_request *x, char *err,
		       size_t errlen)
{
	memset(x, 0, sizeof(*x));
	if (request_parse(payload, len, "EXEC", &x->run, err, errlen) != 0)
		return 1;
	/* request_parse decoded TTY, STDIN, ROWS and COLS (and added TERM for a tty). */
	x->tty = x->run.tty;
	x->stdin_open = x->run.stdin_open;
	x->rows = x->run.rows;
	x->cols = x->run.cols;
	return 0;
}

void exec_request_free(struct exec_request *x)
{
	run_request_free(&x->run);
	memset(x, 0, sizeof(*x));
}

int resize_parse(const uint8_t *payload, size_t len, uint16_t *rows, uint16_t *cols)
{
	if (len < 4)
		return 1;
	*rows = get_u16(payload);
	*cols = get_u16(payload + 2);
	return *rows == 0 || *cols == 0;
}
