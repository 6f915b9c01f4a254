/* A tiny assertion helper for the host-run unit tests. */
#ifndef HEARTH_TEST_CHECK_H
#define HEARTH_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, \
				#cond);                                                 \
			check_failures++;                                               \
		}                                                                       \
	} while (0)

#define CHECK_STR(a, b)                                                                     \
	do {                                                                                \
		const char *a_ = (a), *b_ = (b);                                             \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                       \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n", __FILE__, __LINE__,     \
				a_ ? a_ : "(null)", b_ ? b_ : "(null)");                     \
			check_failures++;                                                   \
		}                                                                           \
	} while (0)

#define CHECK_DONE()                                                          \
	do {                                                                  \
		if (check_failures) {                                         \
			fprintf(stderr, "%d check(s) failed\n", check_failures); \
			return 1;                                             \
		}                                                             \
		printf("ok\n");                                               \
		return 0;                                                     \
	} while (0)

#endif
