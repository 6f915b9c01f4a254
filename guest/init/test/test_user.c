#include "check.h"
#include "user.h"

static const char passwd_text[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"# a comment\n"
	"\n"
	"broken line without fields\n"
	"daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
	"app:x:1000:1000:App User:/home/app:/bin/sh\n"
	"nohome:x:1001:1001\n"
	"2000:x:3000:3000::/home/numeric:/bin/sh\n";

static const char group_text[] =
	"root:x:0:\n"
	"daemon:x:1:\n"
	"wheel:x:10:root,app\n"
	"app:x:1000:\n"
	"audio:x:29:other, app ,more\n"
	"staff:x:50:\n"
	"bad:x:notanumber:app\n";

static FILE *pw, *gr;
static struct exec_user u;
static char err[256];

static int resolve(const char *spec)
{
	err[0] = '\0';
	return user_resolve(spec, pw, gr, &u, err, sizeof(err));
}

int main(void)
{
	pw = fmemopen((void *)passwd_text, sizeof(passwd_text) - 1, "r");
	gr = fmemopen((void *)group_text, sizeof(group_text) - 1, "r");

	CHECK(resolve("app") == 0);
	CHECK(u.uid == 1000 && u.gid == 1000);
	CHECK_STR(u.home, "/home/app");
	CHECK(u.ngroups == 2 && u.groups[0] == 10 && u.groups[1] == 29);

	CHECK(resolve("1000") == 0); /* a uid in passwd: same as its name */
	CHECK(u.uid == 1000 && u.gid == 1000 && u.ngroups == 2);

	CHECK(resolve("root") == 0);
	CHECK(u.uid == 0 && u.gid == 0 && u.ngroups == 1 && u.groups[0] == 10);
	CHECK_STR(u.home, "/root");

	CHECK(resolve("") == 0 && u.uid == 0); /* default root */

	CHECK(resolve("4242") == 0); /* numeric, not in passwd: allowed */
	CHECK(u.uid == 4242 && u.gid == 0 && u.ngroups == 0);
	CHECK_STR(u.home, "/");

	CHECK(resolve("4242:4343") == 0);
	CHECK(u.uid == 4242 && u.gid == 4343 && u.ngroups == 0);

	CHECK(resolve("4242:staff") == 0);
	CHECK(u.uid == 4242 && u.gid == 50);

	CHECK(resolve("app:staff") == 0); /* an explicit group: no supplementary groups */
	CHECK(u.uid == 1000 && u.gid == 50 && u.ngroups == 0);
	CHECK_STR(u.home, "/home/app");

	CHECK(resolve("app:29") == 0 && u.gid == 29 && u.ngroups == 0);
	CHECK(resolve("daemon:0") == 0 && u.uid == 1 && u.gid == 0);

	CHECK(resolve("nohome") == 0 && u.uid == 1001);
	CHECK_STR(u.home, "/");

	CHECK(resolve("2000") == 0); /* a name that looks like a number comes first... */
	CHECK(u.uid == 3000);

	CHECK(resolve("nosuch") == 1);
	CHECK_STR(err, "unable to find user nosuch: no matching entries in passwd file");
	CHECK(resolve("app:nosuch") == 1);
	CHECK_STR(err, "unable to find group nosuch: no matching entries in group file");
	CHECK(resolve("-1") == 1);
	CHECK(resolve("2147483648") == 1);
	CHECK(resolve("2147483647") == 0 && u.uid == 2147483647u);

	/* No /etc/passwd or /etc/group at all (a scratch image). */
	CHECK(user_resolve("65534:65534", NULL, NULL, &u, err, sizeof(err)) == 0);
	CHECK(u.uid == 65534 && u.gid == 65534);
	CHECK(user_resolve("nobody", NULL, NULL, &u, err, sizeof(err)) == 1);
	CHECK(user_resolve("0:wheel", pw, NULL, &u, err, sizeof(err)) == 1);

	fclose(pw);
	fclose(gr);
	CHECK_DONE();
}
