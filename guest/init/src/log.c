#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int console_fd = STDERR_FILENO;
static int verbosity = LOG_DEFAULT_VERBOSITY;
static log_sink_fn log_sink;

static const char *const level_names[] = {
	"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE",
};

void log_init(void)
{
	const char *env = getenv(LOG_VERBOSITY_ENV);
	if (env != NULL && env[0] >= '0' && env[0] <= '5' && env[1] == '\0')
		verbosity = env[0] - '0';

	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		console_fd = fd;
}

void log_set_sink(log_sink_fn sink)
{
	log_sink = sink;
}

void log_write(enum log_level level, const char *fmt, ...)
{
	if ((int)level > verbosity && !(log_sink != NULL && level <= LOG_LEVEL_INFO))
		return;

	int saved_errno = errno;
	char line[1024];
	int prefix = snprintf(line, sizeof(line), "[%s hearth-init] ", level_names[level]);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line + prefix, sizeof(line) - prefix - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)prefix + (n < 0 ? 0 : (size_t)n);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	line[len++] = '\n';

	if ((int)level <= verbosity) {
		ssize_t w;
		do
			w = write(console_fd, line, len);
		while (w < 0 && errno == EINTR);
	}
	if (log_sink != NULL && level <= LOG_LEVEL_INFO)
		log_sink(line + prefix, len - prefix - 1);
	errno = saved_errno;
}
