#include "cgroup.h"
#include "check.h"
#include "protocol.h"
#include "stats.h"

#include <stdint.h>
#include <string.h>

/* The files as a 6.1 guest kernel writes them (cut short). */
static const char cpu_stat[] = "usage_usec 1520331\nuser_usec 1200000\nsystem_usec 320331\n";
static const char memory_stat[] =
	"anon 52428800\nfile 1048576\nkernel 307200\nkernel_stack 16384\nfile_mapped 4096\n"
	"anon_thp 0\ninactive_anon 52420608\nactive_anon 8192\ninactive_file 786432\nactive_file 262144\n";
static const char memory_events[] = "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n";

static void test_keyed(void)
{
	uint64_t v = 0;
	CHECK(cgroup_keyed_value(cpu_stat, "usage_usec", &v) == 0 && v == 1520331);
	CHECK(cgroup_keyed_value(cpu_stat, "system_usec", &v) == 0 && v == 320331);
	/* A key is a whole word: "file" is not "file_mapped", "anon" not "inactive_anon". */
	CHECK(cgroup_keyed_value(memory_stat, "file", &v) == 0 && v == 1048576);
	CHECK(cgroup_keyed_value(memory_stat, "anon", &v) == 0 && v == 52428800);
	CHECK(cgroup_keyed_value(memory_stat, "inactive_file", &v) == 0 && v == 786432);
	CHECK(cgroup_keyed_value(memory_events, "oom_kill", &v) == 0 && v == 1);
	CHECK(cgroup_keyed_value(memory_events, "oom", &v) == 0 && v == 1);
	CHECK(cgroup_keyed_value(memory_events, "max", &v) == 0 && v == 12);
	CHECK(cgroup_keyed_value(memory_events, "oom_kil", &v) == 1);
	CHECK(cgroup_keyed_value("", "usage_usec", &v) == 1);
	CHECK(cgroup_keyed_value("usage_usec x\n", "usage_usec", &v) == 1);
	/* The last line may lack its newline. */
	CHECK(cgroup_keyed_value("a 1\nb 2", "b", &v) == 0 && v == 2);
}

static void test_single(void)
{
	uint64_t v = 0;
	CHECK(cgroup_single_value("67108864\n", &v) == 0 && v == 67108864);
	CHECK(cgroup_single_value("max\n", &v) == 0 && v == CGROUP_NO_LIMIT);
	CHECK(cgroup_single_value("0", &v) == 0 && v == 0);
	CHECK(cgroup_single_value("maximum\n", &v) == 1);
	CHECK(cgroup_single_value("12 34\n", &v) == 1);
	CHECK(cgroup_single_value("", &v) == 1);
}

static void test_cpu_ticks(void)
{
	uint64_t t = 0;
	/* user nice system idle iowait irq softirq steal guest guest_nice */
	CHECK(stats_cpu_ticks("cpu  100 2 30 5000 4 0 1 0 0 0\ncpu0 100 2 30 5000 4 0 1 0 0 0\n", &t) == 0);
	CHECK(t == 5137);
	CHECK(stats_cpu_ticks("cpu0 1 2 3 4\n", &t) == 1);
	CHECK(stats_cpu_ticks("cpu  1 2\n", &t) == 1);
	CHECK(stats_cpu_ticks("intr 5\n", &t) == 1);
}

/* Outside a VM there is no container cgroup: the answer still carries the guest's CPU time and count. */
static void test_collect_without_cgroup(void)
{
	struct bytes b = {0};
	CHECK(stats_collect("/proc/stat", &b) == 0);
	struct record_iter it;
	struct record r;
	int cpu = 0, online = 0, other = 0;
	record_iter_init(&it, b.data, b.len);
	while (record_next(&it, &r) == 1) {
		if (r.tag == TAG_GUEST_CPU_USEC && r.len == 8 && get_u64(r.value) > 0)
			cpu++;
		else if (r.tag == TAG_ONLINE_CPUS && r.len == 4 && get_u32(r.value) >= 1)
			online++;
		else
			other++;
	}
	CHECK(cpu == 1 && online == 1 && other == 0);
	bytes_free(&b);
}

int main(void)
{
	test_keyed();
	test_single();
	test_cpu_ticks();
	test_collect_without_cgroup();
	CHECK_DONE();
}
