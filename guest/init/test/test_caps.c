#include "check.h"
#include "caps.h"

/* Docker's default set, as /proc/self/status shows it in a container (CapEff). */
#define DOCKER_DEFAULT 0xa80425fbull
/* CAP_CHOWN (0) ... CAP_CHECKPOINT_RESTORE (40): what a 6.x kernel has. */
#define ALL_41 ((1ull << 41) - 1)

int main(void)
{
	struct cap_plan p;

	caps_plan(DOCKER_DEFAULT, ALL_41, 1, &p);
	CHECK(p.permitted == DOCKER_DEFAULT);
	CHECK(p.drop == (ALL_41 & ~DOCKER_DEFAULT));

	/* Not root: the bounding set is the same, but nothing is permitted or effective. */
	caps_plan(DOCKER_DEFAULT, ALL_41, 0, &p);
	CHECK(p.permitted == 0);
	CHECK(p.drop == (ALL_41 & ~DOCKER_DEFAULT));

	/* Privileged: every capability the guest's kernel has, and no more (the host may know newer ones). */
	caps_plan(~0ull, ALL_41, 1, &p);
	CHECK(p.permitted == ALL_41 && p.drop == 0);
	caps_plan(ALL_41, (1ull << 38) - 1, 1, &p);
	CHECK(p.permitted == (1ull << 38) - 1 && p.drop == 0);

	/* None at all (cap_drop ALL). */
	caps_plan(0, ALL_41, 1, &p);
	CHECK(p.permitted == 0 && p.drop == ALL_41);
	CHECK_DONE();
}
