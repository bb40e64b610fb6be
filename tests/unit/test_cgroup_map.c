/* Unit tests for the mapping of linux.resources to cgroup files, v1 and v2 (cgroup_v1.c,
 * cgroup_v2.c): which file gets which value, runc's v1 -> v2 conversions, the documented skips
 * and the messages for bad values. Pure: no cgroup is touched. */
#include <stdlib.h>
#include <string.h>

#include "container/cgroup_backend.h"
#include "unit.h"

static char text[8192];
static struct isola_err err;

/* Maps every section of `json` as an all-v1 or all-v2 host would; returns 0 or -1 and renders
 * the plan into `text`, one step a line: "file=value", "file=value|alt=value" for a fallback,
 * "?file=value" for an optional write, "note key", "bpf N". */
static int plan(const char *json, bool v2) {
  json_error_t jerr;
  json_t *res = json_loads(json, 0, &jerr);
  text[0] = 0;
  memset(&err, 0, sizeof err);
  if (!res) {
    fprintf(stderr, "  bad test JSON: %s: %s\n", json, jerr.text);
    return -2;
  }
  struct cg_plan p = {0};
  int r = 0;
  for (int s = 0; s < CG_NSECTIONS && r == 0; s++) {
    char k[160];
    if (!cg_section_first_key(res, (enum cg_section)s, k, sizeof k)) continue;
    r = (v2 ? cgroup_v2_map : cgroup_v1_map)((enum cg_section)s, res, "config.json: linux.resources",
                                             &p, &err);
  }
  size_t o = 0;
  for (size_t i = 0; r == 0 && i < p.n; i++) {
    const struct cg_step *st = &p.s[i];
    if (st->kind == CGS_NOTE)
      o += (size_t)snprintf(text + o, sizeof text - o, "note %s\n", st->key);
    else if (st->kind == CGS_BPF_DEVICES)
      o += (size_t)snprintf(text + o, sizeof text - o, "bpf %zu\n", st->nrules);
    else if (st->alt_file[0])
      o += (size_t)snprintf(text + o, sizeof text - o, "%s=%s|%s=%s\n", st->file, st->value,
                            st->alt_file, st->alt_value ? st->alt_value : st->value);
    else
      o += (size_t)snprintf(text + o, sizeof text - o, "%s%s=%s\n",
                            st->flags & CGW_OPTIONAL ? "?" : "", st->file, st->value);
  }
  cg_plan_release(&p);
  json_decref(res);
  return r;
}

#define PLAN_IS(json, v2, want)                                                              \
  do {                                                                                       \
    int r_ = plan(json, v2);                                                                 \
    CHECK(r_ == 0);                                                                          \
    if (r_ == 0 && strcmp(text, want)) {                                                     \
      fprintf(stderr, "  %s:%d: plan is\n%s  want\n%s", __FILE__, __LINE__, text, want);     \
      unit_case_failed = 1;                                                                  \
    } else if (r_) {                                                                         \
      fprintf(stderr, "  %s:%d: %s\n", __FILE__, __LINE__, err.msg);                        \
    }                                                                                        \
  } while (0)

#define PLAN_FAILS(json, v2, want_msg)                                                            \
  do {                                                                                       \
    CHECK(plan(json, v2) == -1);                                                             \
    CHECK_STR_CONTAINS(err.msg, want_msg);                                                      \
  } while (0)

static void test_sections(void) {
  char k[160];
  json_t *r = json_loads("{\"memory\":{}, \"cpu\":{\"shares\":null,\"cpus\":\"0\"}, \"pids\":{\"limit\":5},"
                         "\"hugepageLimits\":[], \"network\":{\"priorities\":[{}]}}", 0, NULL);
  CHECK(cg_section_first_key(r, CG_MEMORY, k, sizeof k) == NULL);
  CHECK(cg_section_first_key(r, CG_CPU, k, sizeof k) == NULL);
  CHECK(cg_section_first_key(r, CG_CPUSET, k, sizeof k) && !strcmp(k, "cpu.cpus"));
  CHECK(cg_section_first_key(r, CG_PIDS, k, sizeof k) && !strcmp(k, "pids.limit"));
  CHECK(cg_section_first_key(r, CG_HUGETLB, k, sizeof k) == NULL);
  CHECK(cg_section_first_key(r, CG_NET_CLS, k, sizeof k) == NULL);
  CHECK(cg_section_first_key(r, CG_NET_PRIO, k, sizeof k) && !strcmp(k, "network.priorities"));
  CHECK(cg_section_first_key(r, CG_UNIFIED, k, sizeof k) == NULL);
  json_decref(r);
  CHECK(!strcmp(cg_section_ctrl(CG_BLKIO, false), "blkio"));
  CHECK(!strcmp(cg_section_ctrl(CG_BLKIO, true), "io"));
  CHECK(cg_section_ctrl(CG_NET_CLS, true) == NULL);
  CHECK(cg_section_ctrl(CG_UNIFIED, false) == NULL);
}

/* ---- v1 ---- */

static void test_v1_memory(void) {
  PLAN_IS("{\"memory\":{\"limit\":16777216,\"swap\":33554432,\"reservation\":8388608,"
          "\"kernel\":1048576,\"swappiness\":10,\"disableOOMKiller\":true}}", false,
          "memory.limit_in_bytes=16777216\n"
          "memory.memsw.limit_in_bytes=33554432\n"
          "memory.soft_limit_in_bytes=8388608\n"
          "memory.kmem.limit_in_bytes=1048576\n"
          "memory.swappiness=10\n"
          "memory.oom_control=1\n");
  /* Raising both limits: on EINVAL the swap goes first. */
  plan("{\"memory\":{\"limit\":16777216,\"swap\":33554432}}", false);
  CHECK_STR_CONTAINS(text, "memory.limit_in_bytes=16777216");
  /* Unlimited memory, swap not given: swap unlimited too, where the host accounts it. */
  PLAN_IS("{\"memory\":{\"limit\":-1}}", false,
          "memory.limit_in_bytes=-1\n?memory.memsw.limit_in_bytes=-1\n");
  PLAN_IS("{\"memory\":{\"useHierarchy\":true,\"swappiness\":-1}}", false, "note memory.useHierarchy\n");
  /* 0 is "not set" (runc). */
  PLAN_IS("{\"memory\":{\"limit\":0,\"reservation\":0,\"kernel\":0,\"swap\":0}}", false, "");
  PLAN_IS("{\"memory\":{\"limit\":0,\"reservation\":0,\"swap\":0}}", true, "");
}

static void test_v1_memory_errors(void) {
  PLAN_FAILS("{\"memory\":{\"limit\":\"16m\"}}", false,
             "config.json: linux.resources.memory.limit: expected an integer");
  PLAN_FAILS("{\"memory\":{\"limit\":33554432,\"swap\":16777216}}", false,
             "config.json: linux.resources.memory.swap: 16777216 is below memory.limit");
  PLAN_FAILS("{\"memory\":{\"swappiness\":101}}", false,
             "linux.resources.memory.swappiness: 101 is out of range (0 to 100)");
  PLAN_FAILS("{\"memory\":{\"disableOOMKiller\":1}}", false,
             "linux.resources.memory.disableOOMKiller: expected true or false");
  PLAN_FAILS("{\"memory\":[]}", false, "linux.resources.memory: expected an object");
  PLAN_FAILS("{\"memory\":{\"limit\":-5}}", false, "memory.limit: -5 is negative");
}

static void test_v1_cpu(void) {
  PLAN_IS("{\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"realtimeRuntime\":950,"
          "\"realtimePeriod\":1000,\"cpus\":\"0-1\",\"mems\":\"0\",\"burst\":1000,\"idle\":1}}", false,
          "cpuset.cpus=0-1\n"
          "cpuset.mems=0\n"
          "cpu.shares=1024\n"
          "cpu.cfs_period_us=100000\n"
          "cpu.cfs_quota_us=50000\n"
          "cpu.cfs_burst_us=1000\n"
          "cpu.rt_period_us=1000\n"
          "cpu.rt_runtime_us=950\n"
          "cpu.idle=1\n");
  PLAN_IS("{\"cpu\":{\"quota\":-1}}", false, "cpu.cfs_quota_us=-1\n");
  PLAN_FAILS("{\"cpu\":{\"cpus\":\"0-1\\n\"}}", false, "linux.resources.cpu.cpus: `0-1\\n` is not a list");
  PLAN_FAILS("{\"cpu\":{\"shares\":-2}}", false, "cpu.shares: -2 is out of range");
}

static void test_v1_pids_blkio_hugetlb(void) {
  PLAN_IS("{\"pids\":{\"limit\":10}}", false, "pids.max=10\n");
  PLAN_IS("{\"pids\":{\"limit\":-1}}", false, "pids.max=max\n");
  PLAN_IS("{\"pids\":{\"limit\":0}}", false, "");
  PLAN_IS("{\"blockIO\":{\"weight\":500,\"leafWeight\":300,"
          "\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":600,\"leafWeight\":200}],"
          "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
          "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":100}]}}", false,
          "blkio.weight=500|blkio.bfq.weight=500\n"
          "blkio.leaf_weight=300\n"
          "blkio.weight_device=8:0 600|blkio.bfq.weight_device=8:0 600\n"
          "blkio.leaf_weight_device=8:0 200\n"
          "blkio.throttle.read_bps_device=8:0 1048576\n"
          "blkio.throttle.write_iops_device=8:16 100\n");
  PLAN_FAILS("{\"blockIO\":{\"weight\":5}}", false, "blockIO.weight: 5 is out of range (10 to 1000)");
  PLAN_FAILS("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"rate\":1}]}}", false,
             "linux.resources.blockIO.throttleReadBpsDevice[0]: major and minor are required");
  PLAN_FAILS("{\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0}]}}", false,
             "blockIO.throttleReadBpsDevice[0].rate: is required");
  PLAN_IS("{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]}", false,
          "hugetlb.2MB.limit_in_bytes=4194304\n?hugetlb.2MB.rsvd.limit_in_bytes=4194304\n");
  PLAN_FAILS("{\"hugepageLimits\":[{\"pageSize\":\"../2MB\",\"limit\":1}]}", false,
             "hugepageLimits[0].pageSize: `../2MB` is not a page size");
  PLAN_FAILS("{\"hugepageLimits\":[{\"limit\":1}]}", false, "hugepageLimits[0].pageSize: is required");
}

static void test_v1_network_rdma_unified(void) {
  PLAN_IS("{\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\",\"priority\":5}]}}",
          false, "net_cls.classid=1048577\nnet_prio.ifpriomap=eth0 5\n");
  PLAN_FAILS("{\"network\":{\"priorities\":[{\"name\":\"eth0 7\",\"priority\":5}]}}", false,
             "network.priorities[0].name: expected an interface name");
  PLAN_IS("{\"rdma\":{\"mlx5_1\":{\"hcaHandles\":3}}}", false,
          "rdma.max=mlx5_1 hca_handle=3 hca_object=max\n");
  PLAN_FAILS("{\"unified\":{\"memory.high\":\"1G\"}}", false,
             "linux.resources.unified.memory.high: unified values need cgroup v2");
}

static void test_v1_devices(void) {
  PLAN_IS("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},"
          "{\"allow\":true,\"type\":\"c\",\"major\":10,\"minor\":229,\"access\":\"rw\"}]}", false,
          "devices.deny=a\n"
          "devices.allow=c *:* m\ndevices.allow=b *:* m\n"
          "devices.allow=c 1:3 rwm\ndevices.allow=c 1:8 rwm\ndevices.allow=c 1:7 rwm\n"
          "devices.allow=c 5:0 rwm\ndevices.allow=c 1:5 rwm\ndevices.allow=c 1:9 rwm\n"
          "devices.allow=c 5:1 rwm\ndevices.allow=c 136:* rwm\ndevices.allow=c 5:2 rwm\n"
          "devices.allow=c 10:200 rwm\n"
          "devices.allow=c 10:229 rw\n");
  /* Without a deny-all the cgroup still starts from one; a rule after the defaults can deny
   * one of them. */
  plan("{\"devices\":[{\"allow\":false,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"r\"}]}", false);
  CHECK_STR_CONTAINS(text, "devices.allow=c 10:200 rwm\ndevices.deny=c 1:3 r\n");
  CHECK(!strncmp(text, "devices.deny=a\ndevices.allow=c *:* m\n", 37));
  /* Rules before the last deny-all cannot matter: they are dropped. */
  plan("{\"devices\":[{\"allow\":true,\"type\":\"b\"},{\"allow\":false},"
       "{\"allow\":true,\"type\":\"c\",\"major\":4}]}", false);
  CHECK(!strstr(text, "devices.allow=b *:* rwm"));
  CHECK_STR_CONTAINS(text, "devices.allow=c 10:200 rwm\ndevices.allow=c 4:* rwm\n");
  /* A partial type-a rule is spelled for b and c: v1 reads "a ..." as everything. */
  plan("{\"devices\":[{\"allow\":false,\"type\":\"a\",\"major\":7,\"access\":\"r\"}]}", false);
  CHECK_STR_CONTAINS(text, "devices.deny=b 7:* r\ndevices.deny=c 7:* r\n");
  PLAN_FAILS("{\"devices\":[{\"type\":\"c\"}]}", false, "linux.resources.devices[0].allow: is required");
  PLAN_FAILS("{\"devices\":[{\"allow\":true,\"type\":\"x\"}]}", false, "devices[0].type: `x` is not a, b or c");
  PLAN_FAILS("{\"devices\":[{\"allow\":true,\"access\":\"rwx\"}]}", false, "devices[0].access: `rwx` is not a subset of rwm");
  PLAN_FAILS("{\"devices\":[{\"allow\":true,\"major\":-7}]}", false, "devices[0]: major and minor");
}

/* ---- v2 ---- */

static void test_conversions(void) {
  CHECK(cg_shares_to_weight(0) == 0);
  CHECK(cg_shares_to_weight(2) == 1);
  CHECK(cg_shares_to_weight(1024) == 39);
  CHECK(cg_shares_to_weight(262144) == 10000);
  CHECK(cg_shares_to_weight(1) == 1);          /* clamped as v1 clamps */
  CHECK(cg_shares_to_weight(1000000) == 10000);
  CHECK(cg_blkio_to_io_weight(10) == 1);
  CHECK(cg_blkio_to_io_weight(500) == 4950);
  CHECK(cg_blkio_to_io_weight(1000) == 10000);
  int64_t out;
  CHECK(cg_swap_to_v2(0, -1, true, &out, "w", &err) == 0 && out == -1);
  CHECK(cg_swap_to_v2(-1, 100, true, &out, "w", &err) == 0 && out == -1);
  CHECK(cg_swap_to_v2(0, 100, true, &out, "w", &err) == 0 && out == -2);
  CHECK(cg_swap_to_v2(300, 100, true, &out, "w", &err) == 0 && out == 200);
  CHECK(cg_swap_to_v2(100, 100, true, &out, "w", &err) == 0 && out == 0);
  CHECK(cg_swap_to_v2(50, 100, true, &out, "w", &err) == -1);
  CHECK_STR_CONTAINS(err.msg, "w.memory.swap: 50 is below memory.limit 100");
  CHECK(cg_swap_to_v2(50, 0, false, &out, "w", &err) == -1);
  CHECK_STR_CONTAINS(err.msg, "needs a memory.limit");
}

static void test_v2_memory(void) {
  PLAN_IS("{\"memory\":{\"limit\":16777216,\"swap\":33554432,\"reservation\":8388608}}", true,
          "memory.swap.max=16777216\nmemory.max=16777216\nmemory.low=8388608\n");
  PLAN_IS("{\"memory\":{\"limit\":-1}}", true, "?memory.swap.max=max\nmemory.max=max\n");
  PLAN_IS("{\"memory\":{\"limit\":16777216,\"swap\":16777216}}", true,
          "?memory.swap.max=0\nmemory.max=16777216\n");
  PLAN_IS("{\"memory\":{\"kernel\":1,\"kernelTCP\":1,\"swappiness\":5,\"disableOOMKiller\":true}}",
          true, "note memory.kernel\nnote memory.kernelTCP\nnote memory.swappiness\n"
                "note memory.disableOOMKiller\n");
  PLAN_FAILS("{\"memory\":{\"swap\":33554432}}", true,
             "config.json: linux.resources.memory.swap: a swap limit needs a memory.limit");
  PLAN_FAILS("{\"memory\":{\"swappiness\":200}}", true, "memory.swappiness: 200 is out of range");
}

static void test_v2_cpu(void) {
  PLAN_IS("{\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,\"cpus\":\"1\",\"burst\":10,"
          "\"idle\":0}}", true,
          "cpuset.cpus=1\ncpu.weight=39\ncpu.max=50000 100000\ncpu.max.burst=10\ncpu.idle=0\n");
  PLAN_IS("{\"cpu\":{\"quota\":-1,\"period\":100000}}", true, "cpu.max=max 100000\n");
  PLAN_IS("{\"cpu\":{\"quota\":20000}}", true, "cpu.max=20000\n");
  PLAN_FAILS("{\"cpu\":{\"realtimeRuntime\":950}}", true,
             "linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime CPU controller");
}

static void test_v2_io_hugetlb_pids(void) {
  PLAN_IS("{\"blockIO\":{\"weight\":500,\"leafWeight\":300,"
          "\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":600}],"
          "\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1048576}],"
          "\"throttleWriteBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":2}],"
          "\"throttleReadIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":3}],"
          "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":0,\"rate\":4}]}}", true,
          "io.bfq.weight=500|io.weight=4950\n"
          "note blockIO.leafWeight\n"
          "io.bfq.weight=8:0 600\n"
          "io.max=8:0 rbps=1048576\nio.max=8:0 wbps=2\nio.max=8:0 riops=3\nio.max=8:0 wiops=4\n");
  PLAN_IS("{\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":0}]}", true,
          "hugetlb.1GB.max=0\n?hugetlb.1GB.rsvd.max=0\n");
  PLAN_IS("{\"pids\":{\"limit\":64}}", true, "pids.max=64\n");
}

static void test_v2_unified_network_devices(void) {
  PLAN_IS("{\"unified\":{\"memory.high\":\"1G\",\"cgroup.max.depth\":\"3\"}}", true,
          "memory.high=1G\ncgroup.max.depth=3\n");
  PLAN_FAILS("{\"unified\":{\"../memory.high\":\"1\"}}", true,
             "linux.resources.unified.../memory.high: not a cgroup file name");
  PLAN_FAILS("{\"unified\":{\"memoryhigh\":\"1\"}}", true, "not a cgroup file name");
  PLAN_FAILS("{\"unified\":{\"cgroup.procs\":\"1\"}}", true, "moves processes, not a resource");
  PLAN_FAILS("{\"unified\":{\"memory.high\":5}}", true, "unified.memory.high: expected a string");
  PLAN_FAILS("{\"network\":{\"classID\":1}}", true,
             "linux.resources.network.classID: the net_cls controller does not exist on cgroup v2");
  PLAN_IS("{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}", true, "bpf 13\n");
  PLAN_FAILS("{\"devices\":{}}", true, "linux.resources.devices: expected an array");
}

int main(void) {
  RUN(test_sections);
  RUN(test_v1_memory);
  RUN(test_v1_memory_errors);
  RUN(test_v1_cpu);
  RUN(test_v1_pids_blkio_hugetlb);
  RUN(test_v1_network_rdma_unified);
  RUN(test_v1_devices);
  RUN(test_conversions);
  RUN(test_v2_memory);
  RUN(test_v2_cpu);
  RUN(test_v2_io_hugetlb_pids);
  RUN(test_v2_unified_network_devices);
  return UNIT_END();
}
