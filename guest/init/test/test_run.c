#include "check.h"
#include <string.h>
#include "protocol.h"
#include "run.h"

int main(void)
{
	struct bytes b = {0};
	struct run_request r;
	char err[256];

	record_put_str(&b, TAG_ARG, "sh");
	record_put_str(&b, TAG_ENV, "PATH=/bin");
	record_put_str(&b, 999, "unknown tags are ignored");
	record_put_str(&b, TAG_ARG, "-c");
	record_put_str(&b, TAG_ENV, "A=1");
	record_put_str(&b, TAG_ARG, "echo hi");
	record_put(&b, TAG_HOSTS, "127.0.0.1 localhost\n\0x", 22);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.argc == 3 && r.envc == 2);
	CHECK_STR(r.argv[0], "sh");
	CHECK_STR(r.argv[2], "echo hi");
	CHECK(r.argv[3] == NULL && r.envp[2] == NULL);
	CHECK_STR(r.cwd, "/");
	CHECK_STR(r.user, "0");
	CHECK_STR(r.rootfs_type, "ext4");
	CHECK(r.hostname == NULL && r.resolv_conf == NULL);
	CHECK(r.hosts_len == 22 && r.hosts[21] == 'x');
	CHECK_STR(env_lookup(r.envp, "PATH"), "/bin");
	CHECK(env_lookup(r.envp, "PAT") == NULL);
	run_request_free(&r);

	b.len = 0;
	record_put_str(&b, TAG_ENV, "A=1");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: no command specified");

	record_put_str(&b, TAG_ARG, "x");
	record_put_str(&b, TAG_ROOTFS_TYPE, "btrfs");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: unsupported ROOTFS_TYPE \"btrfs\"");

	b.len = 0;
	record_put(&b, TAG_ARG, "a\0b", 3);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: ARG contains a NUL byte");

	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	record_put_str(&b, TAG_ENV, "NOEQUALS");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);

	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	record_put_str(&b, TAG_CWD, "/app");
	record_put_str(&b, TAG_USER, "nobody:nogroup");
	record_put_str(&b, TAG_ROOTFS_TYPE, "erofs");
	CHECK(run_request_parse(b.data, b.len - 1, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: truncated record list");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK_STR(r.cwd, "/app");
	CHECK_STR(r.user, "nobody:nogroup");
	CHECK_STR(r.rootfs_type, "erofs");
	run_request_free(&r);

	/* A hostname longer than Linux allows is refused, not truncated into /etc/hostname. */
	char name[HOSTNAME_MAX + 2];
	memset(name, 'h', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	record_put_str(&b, TAG_HOSTNAME, name);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: HOSTNAME is longer than 64 characters");
	name[HOSTNAME_MAX] = '\0';
	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	record_put_str(&b, TAG_HOSTNAME, name);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	run_request_free(&r);

	/* CLOCK is a u64; another length is ignored. */
	uint8_t ns[8] = {1, 2, 0, 0, 0, 0, 0, 0};
	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	record_put(&b, TAG_CLOCK, ns, 8);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.clock_ns == 0x0201);
	run_request_free(&r);
	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	record_put(&b, TAG_CLOCK, ns, 4);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.clock_ns == 0);
	run_request_free(&r);
	bytes_free(&b);
	CHECK_DONE();
}
