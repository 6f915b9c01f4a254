#include "exec_request.h"

#include "protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds TERM=xterm unless the environment has a TERM (request_parse left room for it). */
static int add_term(struct run_request *r)
{
	if (env_lookup(r->envp, "TERM") != NULL)
		return 0;
	char *entry = strdup(EXEC_DEFAULT_TERM);
	if (entry == NULL)
		return -1;
	r->envp[r->envc++] = entry;
	r->envp[r->envc] = NULL;
	return 0;
}

int exec_request_parse(const uint8_t *payload, size_t len, struct exec_request *x, char *err,
		       size_t errlen)
{
	memset(x, 0, sizeof(*x));
	if (request_parse(payload, len, "EXEC", &x->run, err, errlen) != 0)
		return 1;
	struct record_iter it;
	struct record rec;
	record_iter_init(&it, payload, len);
	while (record_next(&it, &rec) == 1) {
		int bad = 0;
		switch (rec.tag) {
		case TAG_TTY: bad = rec.len != 1; x->tty = !bad && rec.value[0] != 0; break;
		case TAG_STDIN: bad = rec.len != 1; x->stdin_open = !bad && rec.value[0] != 0; break;
		case TAG_ROWS: bad = rec.len != 2; x->rows = bad ? 0 : get_u16(rec.value); break;
		case TAG_COLS: bad = rec.len != 2; x->cols = bad ? 0 : get_u16(rec.value); break;
		default: break;
		}
		if (bad) {
			snprintf(err, errlen, "EXEC: record %u has a bad length (%u)", rec.tag, rec.len);
			exec_request_free(x);
			return 1;
		}
	}
	if (x->tty && add_term(&x->run) != 0) {
		snprintf(err, errlen, "EXEC: out of memory");
		exec_request_free(x);
		return 1;
	}
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
