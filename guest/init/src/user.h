/*
 * Resolving an image's USER (name, uid, name:group, uid:gid, uid:group,
 * name:gid) against the container's /etc/passwd and /etc/group, with
 * Docker's (runc's) rules:
 *  - a name must exist in passwd; a numeric uid need not (gid 0, HOME /);
 *  - an explicit group must exist in group unless it is numeric, and then
 *    there are no supplementary groups;
 *  - without an explicit group the primary group comes from passwd and the
 *    supplementary groups are those of /etc/group that list the user.
 */
#ifndef HEARTH_USER_H
#define HEARTH_USER_H

#include <stdio.h>
#include <sys/types.h>

#define USER_MAX_GROUPS 256
#define USER_HOME_MAX 512

struct exec_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[USER_MAX_GROUPS];
	size_t ngroups;
	char home[USER_HOME_MAX];
};

/*
 * Resolves spec; passwd and group may be NULL (missing files).
 * 0 on success; 1 with a Docker-like message in err.
 */
int user_resolve(const char *spec, FILE *passwd, FILE *group, struct exec_user *u, char *err,
		 size_t errlen);

#endif
