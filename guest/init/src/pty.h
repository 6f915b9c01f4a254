/*
 * Pseudo-terminals for exec sessions and a main process with TTY, from the container's own devpts
 * instance (ROOT_DIR/dev/pts), so the command sees its /dev/pts/N.
 */
#ifndef HEARTH_PTY_H
#define HEARTH_PTY_H

#include <stddef.h>
#include <stdint.h>

/* A terminal's size when the host gives none (docker run -t without a size). */
#define PTY_DEFAULT_ROWS 24
#define PTY_DEFAULT_COLS 80

/* Opens a master (non-blocking, close-on-exec) and its slave; 0 on success, else 1 with err. */
int pty_open(const char *pts_dir, int *master, int *slave, char *err, size_t errlen);
/* TIOCSWINSZ on the master (the kernel tells the foreground group SIGWINCH). 0 on success. */
int pty_resize(int master, uint16_t rows, uint16_t cols);

#endif
