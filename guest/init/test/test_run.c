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

	/* Without TTY and STDIN nothing changes: no tty, stdin /dev/null, no TERM added. */
	b.len = 0;
	record_put_str(&b, TAG_ARG, "x");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.tty == 0 && r.stdin_open == 0 && r.rows == 0 && r.cols == 0);
	CHECK(env_lookup(r.envp, "TERM") == NULL && r.envc == 0);
	run_request_free(&r);

	/* TTY, STDIN, ROWS and COLS (docker run -it): a tty gets TERM=xterm when the env has none. */
	uint8_t rows[2], cols[2];
	put_u16(rows, 50);
	put_u16(cols, 132);
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put_str(&b, TAG_ENV, "PATH=/bin");
	record_put(&b, TAG_TTY, "\1", 1);
	record_put(&b, TAG_STDIN, "\1", 1);
	record_put(&b, TAG_ROWS, rows, 2);
	record_put(&b, TAG_COLS, cols, 2);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.tty == 1 && r.stdin_open == 1 && r.rows == 50 && r.cols == 132);
	CHECK_STR(env_lookup(r.envp, "TERM"), "xterm");
	CHECK(r.envc == 2 && r.envp[2] == NULL);
	run_request_free(&r);

	/* A TERM given is kept; STDIN alone (docker run -i) has no tty and no TERM; a zero flag is off. */
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put_str(&b, TAG_ENV, "TERM=vt100");
	record_put(&b, TAG_TTY, "\1", 1);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK_STR(env_lookup(r.envp, "TERM"), "vt100");
	CHECK(r.envc == 1 && r.stdin_open == 0);
	run_request_free(&r);
	b.len = 0;
	record_put_str(&b, TAG_ARG, "cat");
	record_put(&b, TAG_TTY, "\0", 1);
	record_put(&b, TAG_STDIN, "\1", 1);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.tty == 0 && r.stdin_open == 1 && env_lookup(r.envp, "TERM") == NULL);
	run_request_free(&r);

	/* A flag or a size of the wrong length is a bad RUN, named as such. */
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put(&b, TAG_TTY, "\1\0", 2);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: record 20 has a bad length (2)");
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put(&b, TAG_COLS, "\1\0\0\0", 4);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: record 23 has a bad length (4)");
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put(&b, TAG_STDIN, "", 0);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);

	/* MEMORY_MAX: the container cgroup's limit, a u64 of bytes; absent, none; another length is a bad RUN. */
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.memory_max == 0);
	run_request_free(&r);
	record_put_u64(&b, TAG_MEMORY_MAX, 64ull << 20);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.memory_max == 64ull << 20);
	run_request_free(&r);
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put_u32(&b, TAG_MEMORY_MAX, 1);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: MEMORY_MAX has a bad length (4)");

	/* CAPABILITIES: a u64 mask; absent, the process keeps the agent's own. */
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.has_capabilities == 0);
	run_request_free(&r);
	record_put_u64(&b, TAG_CAPABILITIES, 0xa80425fbull);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 0);
	CHECK(r.has_capabilities == 1 && r.capabilities == 0xa80425fbull);
	run_request_free(&r);
	b.len = 0;
	record_put_str(&b, TAG_ARG, "sh");
	record_put_u32(&b, TAG_CAPABILITIES, 1);
	CHECK(run_request_parse(b.data, b.len, &r, err, sizeof(err)) == 1);
	CHECK_STR(err, "RUN: CAPABILITIES has a bad length (4)");
	bytes_free(&b);
	CHECK_DONE();
}
