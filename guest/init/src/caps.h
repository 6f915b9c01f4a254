/*
 * The capabilities a container's processes run with (RUN's and EXEC's CAPABILITIES record, a mask the
 * host computed: Docker's default set, with cap_add and cap_drop, or every one when privileged). In the
 * child before its exec: the bounding set is cut to the mask before the user's ids are taken (a process
 * can never regain what it lacks there), then the permitted and effective sets are the mask for root
 * and empty for any other user, as Docker's; the inheritable set is empty and no ambient capability is
 * raised (Docker's since CVE-2022-24769), so an exec'd file's capabilities cannot add any.
 */
#ifndef HEARTH_CAPS_H
#define HEARTH_CAPS_H

#include <stdint.h>
#include <sys/types.h>

struct cap_plan {
	uint64_t drop;      /* bounding-set capabilities to drop */
	uint64_t permitted; /* = effective; inheritable is always empty */
};

/* Pure: what to do with `mask`, given the bounding set the process has and whether it will be root. */
void caps_plan(uint64_t mask, uint64_t bounding, int root, struct cap_plan *p);

/* The capabilities in this process's bounding set (PR_CAPBSET_READ for 0..63). */
uint64_t caps_bounding(void);
/* Drops p->drop from the bounding set; 0, or -1 with errno. */
int caps_drop_bounding(const struct cap_plan *p);
/* After the user's ids are taken: permitted = effective = p->permitted, inheritable none; 0, or -1 with errno. */
int caps_set(const struct cap_plan *p);

#endif
