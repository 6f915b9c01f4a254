/* system_fill_machine_id: only an image's empty /etc/machine-id gets an id, and nothing is followed out of the root. */
#include "check.h"
#include "system.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static long read_into(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return (long)n;
}

static void remove_tree(const char *path)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	CHECK(system(cmd) == 0);
}

static void make_root(char *root, const char *etc_target)
{
	CHECK(mkdtemp(root) != NULL);
	char etc[256];
	snprintf(etc, sizeof(etc), "%s/etc", root);
	if (etc_target != NULL)
		CHECK(symlink(etc_target, etc) == 0);
	else
		CHECK(mkdir(etc, 0755) == 0);
}

static void test_empty_gets_an_id(void)
{
	char root[] = "/tmp/hearth-machine-id-XXXXXX", path[256], a[64], b[64], err[256];
	make_root(root, NULL);
	snprintf(path, sizeof(path), "%s/etc/machine-id", root);
	put(path, "");
	CHECK(system_fill_machine_id(root, err, sizeof(err)) == 0);
	CHECK(read_into(path, a, sizeof(a)) == 33);
	CHECK(a[32] == '\n' && strspn(a, "0123456789abcdef") == 32);
	CHECK(system_fill_machine_id(root, err, sizeof(err)) == 0);
	CHECK(read_into(path, b, sizeof(b)) == 33);
	CHECK_STR(a, b); /* set once: the container keeps it */
	put(path, "");
	CHECK(system_fill_machine_id(root, err, sizeof(err)) == 0);
	CHECK(read_into(path, b, sizeof(b)) == 33);
	CHECK(strcmp(a, b) != 0); /* another container (or clone) gets another */
	remove_tree(root);
}

static void test_others_left_alone(void)
{
	char root[] = "/tmp/hearth-machine-id-XXXXXX", path[256], buf[64], err[256];
	make_root(root, NULL);
	snprintf(path, sizeof(path), "%s/etc/machine-id", root);
	CHECK(system_fill_machine_id(root, err, sizeof(err)) == 0);
	CHECK(access(path, F_OK) != 0); /* none: none made */
	put(path, "0123456789abcdef0123456789abcdef\n");
	CHECK(system_fill_machine_id(root, err, sizeof(err)) == 0);
	CHECK(read_into(path, buf, sizeof(buf)) == 33);
	CHECK_STR(buf, "0123456789abcdef0123456789abcdef\n");

	/* A machine-id that is a link to an empty file elsewhere is not followed. */
	char outside[] = "/tmp/hearth-machine-id-out-XXXXXX";
	int fd = mkstemp(outside);
	CHECK(fd >= 0);
	close(fd);
	unlink(path);
	CHECK(symlink(outside, path) == 0);
	CHECK(system_fill_machine_id(root, err, sizeof(err)) == 0);
	struct stat st;
	CHECK(stat(outside, &st) == 0 && st.st_size == 0);

	/* Nor is an /etc that is a link out of the root. */
	char linked[] = "/tmp/hearth-machine-id-XXXXXX", target[] = "/tmp/hearth-machine-id-etc-XXXXXX";
	CHECK(mkdtemp(target) != NULL);
	snprintf(path, sizeof(path), "%s/machine-id", target);
	put(path, "");
	make_root(linked, target);
	CHECK(system_fill_machine_id(linked, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && st.st_size == 0);
	const char *made[] = {root, outside, linked, target};
	for (size_t i = 0; i < sizeof(made) / sizeof(made[0]); i++)
		remove_tree(made[i]);
}

int main(void)
{
	test_empty_gets_an_id();
	test_others_left_alone();
	CHECK_DONE();
}
