#include "check.h"
#include "exec_request.h"
#include "protocol.h"
#include "top.h"

#include <string.h>

static void test_exec_request(void)
{
	struct bytes b = {0};
	struct exec_request x;
	char err[256];
	uint8_t rows[2], cols[2];
	put_u16(rows, 40);
	put_u16(cols, 120);

	record_put_str(&b, TAG_ARG, "sh");
	record_put_str(&b, TAG_ENV, "PATH=/bin");
	record_put_str(&b, TAG_USER, "nobody");
	record_put_str(&b, TAG_CWD, "/tmp");
	record_put(&b, TAG_TTY, "\1", 1);
	record_put(&b, TAG_STDIN, "\1", 1);
	record_put(&b, TAG_ROWS, rows, 2);
	record_put(&b, TAG_COLS, cols, 2);
	CHECK(exec_request_parse(b.data, b.len, &x, err, sizeof(err)) == 0);
	CHECK(x.tty == 1 && x.stdin_open == 1 && x.rows == 40 && x.cols == 120);
	CHECK_STR(x.run.argv[0], "sh");
	CHECK_STR(x.run.user, "nobody");
	CHECK_STR(x.run.cwd, "/tmp");
	CHECK_STR(env_lookup(x.run.envp, "TERM"), "xterm"); /* a tty gets TERM when absent */
	CHECK(x.run.envc == 2 && x.run.envp[2] == NULL);
	exec_request_free(&x);

	/* A TERM given is kept; no tty, no TERM added; defaults as for RUN. */
	b.len = 0;
	record_put_str(&b, TAG_ARG, "true");
	record_put_str(&b, TAG_ENV, "TERM=vt100");
	record_put(&b, TAG_TTY, "\1", 1);
	CHECK(exec_request_parse(b.data, b.len, &x, err, sizeof(err)) == 0);
	CHECK_STR(env_lookup(x.run.envp, "TERM"), "vt100");
	CHECK(x.run.envc == 1 && x.stdin_open == 0);
	exec_request_free(&x);
	b.len = 0;
	record_put_str(&b, TAG_ARG, "true");
	CHECK(exec_request_parse(b.data, b.len, &x, err, sizeof(err)) == 0);
	CHECK(x.tty == 0 && env_lookup(x.run.envp, "TERM") == NULL);
	CHECK_STR(x.run.cwd, "/");
	CHECK_STR(x.run.user, "0");
	CHECK(x.rows == 0 && x.cols == 0);
	exec_request_free(&x);

	/* Errors say EXEC, and a flag of the wrong size is refused. */
	b.len = 0;
	record_put_str(&b, TAG_ENV, "A=1");
	CHECK(exec_request_parse(b.data, b.len, &x, err, sizeof(err)) == 1);
	CHECK_STR(err, "EXEC: no command specified");
	b.len = 0;
	record_put_str(&b, TAG_ARG, "true");
	record_put(&b, TAG_ROWS, "\1\0\0", 3);
	CHECK(exec_request_parse(b.data, b.len, &x, err, sizeof(err)) == 1);
	CHECK(strstr(err, "bad length") != NULL);
	bytes_free(&b);

	uint16_t r, c;
	uint8_t p[4];
	put_u16(p, 24);
	put_u16(p + 2, 80);
	CHECK(resize_parse(p, 4, &r, &c) == 0 && r == 24 && c == 80);
	CHECK(resize_parse(p, 3, &r, &c) == 1);
	put_u16(p, 0);
	CHECK(resize_parse(p, 4, &r, &c) == 1); /* a zero size is refused */
}

static void test_top_parsing(void)
{
	struct proc_stat st;
	/* comm with a space and a parenthesis; utime 150, stime 50; flags without PF_KTHREAD; rss 300. */
	const char *stat = "42 (my (odd) cmd) S 7 42 42 0 -1 4194560 100 0 0 0 150 50 0 0 20 0 1 0 "
			   "500 1234567 300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0";
	CHECK(top_parse_stat(stat, &st) == 0);
	CHECK(st.ppid == 7 && st.ticks == 200 && st.rss_pages == 300 && !st.kernel_thread);
	CHECK_STR(st.comm, "my (odd) cmd");
	const char *kthread = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0 "
			      "18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0";
	CHECK(top_parse_stat(kthread, &st) == 0 && st.kernel_thread);
	CHECK(top_parse_stat("garbage", &st) == 1);
	CHECK(top_parse_stat("1 (x) S 0 1", &st) == 1);

	char cmd[] = "sh\0-c\0echo hi\0";
	CHECK(top_join_cmdline(cmd, sizeof(cmd) - 1) == 13);
	CHECK_STR(cmd, "sh -c echo hi");
	char empty[4] = {0};
	CHECK(top_join_cmdline(empty, 0) == 0);

	char name[64];
	FILE *passwd = tmpfile();
	fputs("root:x:0:0:root:/root:/bin/sh\nbad line\nnobody:x:65534:65534::/:/bin/false\n", passwd);
	top_user_name(passwd, 65534, name, sizeof(name));
	CHECK_STR(name, "nobody");
	top_user_name(passwd, 0, name, sizeof(name));
	CHECK_STR(name, "root");
	top_user_name(passwd, 1000, name, sizeof(name));
	CHECK_STR(name, "1000");
	top_user_name(NULL, 5, name, sizeof(name));
	CHECK_STR(name, "5");
	fclose(passwd);
}

int main(void)
{
	test_exec_request();
	test_top_parsing();
	CHECK_DONE();
}
