#include "pty.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

int pty_open(const char *pts_dir, int *master, int *slave, char *err, size_t errlen)
{
	char ptmx[128];
	snprintf(ptmx, sizeof(ptmx), "%s/ptmx", pts_dir);
	*master = *slave = -1;
	*master = open(ptmx, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (*master < 0) {
		snprintf(err, errlen, "open %s: %s", ptmx, strerror(errno));
		return 1;
	}
	if (grantpt(*master) != 0 || unlockpt(*master) != 0) {
		snprintf(err, errlen, "unlockpt: %s", strerror(errno));
		goto fail;
	}
	/* The peer ioctl opens the slave of this very devpts instance, whatever paths say. */
	*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (*slave < 0) {
		snprintf(err, errlen, "TIOCGPTPEER: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(*master);
	*master = -1;
	return 1;
}

int pty_resize(int master, uint16_t rows, uint16_t cols)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	if (ioctl(master, TIOCSWINSZ, &ws) != 0) {
		PRINT_WARN("TIOCSWINSZ: %s", strerror(errno));
		return 1;
	}
	return 0;
}
