#include "tmpfs_options.h"

#include <stdio.h>
#include <string.h>
#include <sys/mount.h>

struct flag_word {
	const char *word;
	unsigned long flag;
	int set; /* 1: the word sets the flag; 0: it clears it */
};

static const struct flag_word flag_words[] = {
	{"ro", MS_RDONLY, 1},     {"rw", MS_RDONLY, 0},   {"noexec", MS_NOEXEC, 1}, {"exec", MS_NOEXEC, 0},
	{"nosuid", MS_NOSUID, 1}, {"suid", MS_NOSUID, 0}, {"nodev", MS_NODEV, 1},   {"dev", MS_NODEV, 0},
};

/* digits, then (suffixes) at most one of these characters */
static int is_number(const char *s, size_t len, const char *digits, const char *suffixes)
{
	size_t n = 0;
	while (n < len && strchr(digits, s[n]) != NULL)
		n++;
	if (n == 0 || n > 20)
		return 0;
	return n == len || (n + 1 == len && suffixes != NULL && strchr(suffixes, s[n]) != NULL);
}

static int data_ok(const char *item, size_t len)
{
	const char *eq = memchr(item, '=', len);
	if (eq == NULL)
		return 0;
	size_t klen = (size_t)(eq - item), vlen = len - klen - 1;
	const char *v = eq + 1;
	if ((klen == 4 && memcmp(item, "size", 4) == 0) || (klen == 9 && memcmp(item, "nr_inodes", 9) == 0))
		return is_number(v, vlen, "0123456789", "kmgKMG%");
	if (klen == 4 && memcmp(item, "mode", 4) == 0)
		return vlen <= 4 && is_number(v, vlen, "01234567", NULL);
	if ((klen == 3 && memcmp(item, "uid", 3) == 0) || (klen == 3 && memcmp(item, "gid", 3) == 0))
		return vlen <= 10 && is_number(v, vlen, "0123456789", NULL);
	return 0;
}

static int apply_flag(const char *item, size_t len, unsigned long *flags)
{
	for (size_t i = 0; i < sizeof(flag_words) / sizeof(flag_words[0]); i++) {
		const struct flag_word *w = &flag_words[i];
		if (strlen(w->word) == len && memcmp(w->word, item, len) == 0) {
			*flags = w->set ? (*flags | w->flag) : (*flags & ~w->flag);
			return 1;
		}
	}
	return 0;
}

int tmpfs_options_parse(const char *options, unsigned long *flags, char *data, size_t datalen, char *err,
			size_t errlen)
{
	size_t used = 0;
	*flags = 0;
	data[0] = '\0';
	for (const char *p = options; *p != '\0';) {
		const char *end = strchrnul(p, ',');
		size_t len = (size_t)(end - p);
		if (len > 0 && !apply_flag(p, len, flags)) {
			if (!data_ok(p, len)) {
				snprintf(err, errlen, "tmpfs option \"%.*s\" is not allowed", (int)(len > 64 ? 64 : len), p);
				return 1;
			}
			if (used + len + 2 > datalen) {
				snprintf(err, errlen, "tmpfs options are too long");
				return 1;
			}
			if (used > 0)
				data[used++] = ',';
			memcpy(data + used, p, len);
			data[used += len] = '\0';
		}
		p = *end == ',' ? end + 1 : end;
	}
	return 0;
}
