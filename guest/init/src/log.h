/*
 * Levelled diagnostics for hearth-init, in the style of tini's PRINT_* macros.
 *
 * Every line is written to /dev/console as "[LEVEL hearth-init] message" when
 * its level is within the verbosity (HEARTH_INIT_VERBOSITY on the kernel
 * command line, default INFO). Lines up to INFO are also handed to a sink,
 * which the agent uses to send them to the host as LOG frames.
 */
#ifndef HEARTH_LOG_H
#define HEARTH_LOG_H

#include <stddef.h>

enum log_level {
	LOG_LEVEL_FATAL = 0,
	LOG_LEVEL_ERROR = 1,
	LOG_LEVEL_WARN = 2,
	LOG_LEVEL_INFO = 3,
	LOG_LEVEL_DEBUG = 4,
	LOG_LEVEL_TRACE = 5,
};

#define LOG_VERBOSITY_ENV "HEARTH_INIT_VERBOSITY"
#define LOG_DEFAULT_VERBOSITY LOG_LEVEL_INFO

typedef void (*log_sink_fn)(const char *line, size_t len);

/* Opens /dev/console (falls back to stderr until then) and reads the verbosity. */
void log_init(void);
/* Where lines up to INFO also go (NULL: nowhere). */
void log_set_sink(log_sink_fn sink);
void log_write(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define PRINT_FATAL(...) log_write(LOG_LEVEL_FATAL, __VA_ARGS__)
#define PRINT_ERROR(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define PRINT_WARN(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define PRINT_INFO(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define PRINT_DEBUG(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define PRINT_TRACE(...) log_write(LOG_LEVEL_TRACE, __VA_ARGS__)

#endif
