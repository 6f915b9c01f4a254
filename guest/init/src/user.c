#include "user.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX 2147483647u /* runc refuses ids above INT32_MAX */

/* A decimal id without sign or spaces. 0 on success. */
static int parse_id(const char *s, unsigned *out)
{
	if (*s == '\0')
		return -1;
	unsigned long long v = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
		if (v > ID_MAX)
			return -1;
	}
	*out = (unsigned)v;
	return 0;
}

/* Splits line at ':' into at most max fields; missing fields are "". */
static void split_fields(char *line, char **fields, int max)
{
	static char empty[1];
	line[strcspn(line, "\r\n")] = '\0';
	for (int i = 0; i < max; i++) {
		if (line == NULL) {
			fields[i] = empty;
			continue;
		}
		fields[i] = line;
		char *colon = strchr(line, ':');
		if (colon != NULL)
			*colon = '\0';
		line = colon != NULL ? colon + 1 : NULL;
	}
}

struct passwd_entry {
	char name[256];
	unsigned uid;
	unsigned gid;
	char home[USER_HOME_MAX];
};

/* Finds the first passwd line whose name is key, or whose uid is key when numeric. */
static int find_passwd(FILE *f, const char *key, struct passwd_entry *out)
{
	unsigned want;
	int numeric = parse_id(key, &want) == 0;
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	rewind(f);
	while (!found && getline(&line, &cap, f) >= 0) {
		char *fld[7];
		if (line[0] == '#' || line[0] == '\n')
			continue;
		split_fields(line, fld, 7);
		unsigned uid, gid;
		if (parse_id(fld[2], &uid) != 0 || parse_id(fld[3], &gid) != 0)
			continue;
		if (strcmp(fld[0], key) != 0 && !(numeric && uid == want))
			continue;
		snprintf(out->name, sizeof(out->name), "%s", fld[0]);
		snprintf(out->home, sizeof(out->home), "%s", fld[5][0] ? fld[5] : "/");
		out->uid = uid;
		out->gid = gid;
		found = 1;
	}
	free(line);
	return found;
}

/* Finds the first group line whose name is key, or whose gid is key when numeric. */
static int find_group(FILE *f, const char *key, unsigned *gid_out)
{
	unsigned want;
	int numeric = parse_id(key, &want) == 0;
	char *line = NULL;
	size_t cap = 0;
	int found = 0;

	rewind(f);
	while (!found && getline(&line, &cap, f) >= 0) {
		char *fld[4];
		unsigned gid;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		split_fields(line, fld, 4);
		if (parse_id(fld[2], &gid) != 0)
			continue;
		if (strcmp(fld[0], key) == 0 || (numeric && gid == want)) {
			*gid_out = gid;
			found = 1;
		}
	}
	free(line);
	return found;
}

/* Adds every group that lists name as a member. */
static void add_member_groups(FILE *f, const char *name, struct exec_user *u)
{
	char *line = NULL;
	size_t cap = 0;

	rewind(f);
	while (u->ngroups < USER_MAX_GROUPS && getline(&line, &cap, f) >= 0) {
		char *fld[4];
		unsigned gid;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		split_fields(line, fld, 4);
		if (parse_id(fld[2], &gid) != 0)
			continue;
		for (char *save = NULL, *m = strtok_r(fld[3], ",", &save); m != NULL;
		     m = strtok_r(NULL, ",", &save)) {
			m += strspn(m, " \t");
			m[strcspn(m, " \t\r")] = '\0';
			if (strcmp(m, name) == 0) {
				u->groups[u->ngroups++] = (gid_t)gid;
				break;
			}
		}
	}
	free(line);
}

int user_resolve(const char *spec, FILE *passwd, FILE *group, struct exec_user *u, char *err,
		 size_t errlen)
{
	char user_part[256], group_part[256] = "";
	const char *colon = strchr(spec, ':');
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	if (ulen >= sizeof(user_part) || (colon && strlen(colon + 1) >= sizeof(group_part))) {
		snprintf(err, errlen, "invalid user \"%s\"", spec);
		return 1;
	}
	memcpy(user_part, spec, ulen);
	user_part[ulen] = '\0';
	if (colon)
		strcpy(group_part, colon + 1);
	if (user_part[0] == '\0')
		strcpy(user_part, "0");

	memset(u, 0, sizeof(*u));
	strcpy(u->home, "/");

	struct passwd_entry pw;
	int matched = passwd != NULL && find_passwd(passwd, user_part, &pw);
	unsigned id;
	if (matched) {
		u->uid = pw.uid;
		u->gid = pw.gid;
		snprintf(u->home, sizeof(u->home), "%s", pw.home);
	} else if (parse_id(user_part, &id) == 0) {
		u->uid = id;
	} else {
		snprintf(err, errlen, "unable to find user %s: no matching entries in passwd file",
			 user_part);
		return 1;
	}

	if (group_part[0] != '\0') {
		if (group != NULL && find_group(group, group_part, &id)) {
			u->gid = id;
		} else if (parse_id(group_part, &id) == 0) {
			u->gid = id;
		} else {
			snprintf(err, errlen,
				 "unable to find group %s: no matching entries in group file",
				 group_part);
			return 1;
		}
	} else if (matched && group != NULL) {
		add_member_groups(group, pw.name, u);
	}
	return 0;
}
