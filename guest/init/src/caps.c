#include "caps.h"

#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

void caps_plan(uint64_t mask, uint64_t bounding, int root, struct cap_plan *p)
{
	p->drop = bounding & ~mask;
	/* A capability the guest's kernel lacks (a newer one the host knows) cannot be granted. */
	p->permitted = root ? mask & bounding : 0;
}

/* capset(2)'s structures (linux/capability.h, which musl's headers lack); version 3 holds 64 bits. */
#define CAP_VERSION_3 0x20080522
struct cap_header {
	uint32_t version;
	int pid;
};
struct cap_data {
	uint32_t effective;
	uint32_t permitted;
	uint32_t inheritable;
};

uint64_t caps_bounding(void)
{
	uint64_t have = 0;
	for (unsigned c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			have |= (uint64_t)1 << c;
	return have;
}

int caps_drop_bounding(const struct cap_plan *p)
{
	for (unsigned c = 0; c < 64; c++)
		if ((p->drop >> c & 1) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0)
			return -1;
	return 0;
}

int caps_set(const struct cap_plan *p)
{
	struct cap_header h = {.version = CAP_VERSION_3, .pid = 0};
	struct cap_data d[2] = {
		{.permitted = (uint32_t)p->permitted, .effective = (uint32_t)p->permitted, .inheritable = 0},
		{.permitted = (uint32_t)(p->permitted >> 32), .effective = (uint32_t)(p->permitted >> 32), .inheritable = 0},
	};
	/* An empty inheritable set also empties the ambient one (the kernel keeps it within both). */
	return syscall(SYS_capset, &h, d) == 0 ? 0 : -1;
}
