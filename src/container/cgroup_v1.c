/* cgroup v1: linux.resources as v1 controller files, the v1 freezer, v1 stats and the
 * memory.oom_control eventfd. Values follow runc's libcontainer/cgroups/fs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup_backend.h"
#include "core/cleanup.h"

#define W(ctrl, key, file, val, flags)                                                       \
  do {                                                                                       \
    if (!cg_plan_write(p, s, ctrl, key, file, val, flags, err)) return -1;                   \
  } while (0)

static void i64s(char *buf, size_t len, int64_t v) { snprintf(buf, len, "%" PRId64, v); }
static void u64s(char *buf, size_t len, uint64_t v) { snprintf(buf, len, "%" PRIu64, v); }

static int map_memory(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_MEMORY;
  struct cg_memory mm;
  int present = cg_read_memory(res, where, &mm, err);
  if (present <= 0) return present;
  const int64_t limit = mm.limit, swap = mm.swap, resv = mm.reservation, kern = mm.kernel,
                ktcp = mm.kernel_tcp, swappiness = mm.swappiness;
  const bool oom = mm.disable_oom, check = mm.check_before_update;
  const int hl = mm.has_limit, hs = mm.has_swap, hr = mm.has_reservation, hk = mm.has_kernel,
            ht = mm.has_kernel_tcp, hw = mm.has_swappiness, ho = mm.has_disable_oom,
            hh = mm.has_use_hierarchy, hc = mm.has_check;
  char v[32];
  if (hl && limit < -1) return isola_fail(err, EINVAL, "%s.memory.limit: %" PRId64 " is negative", where, limit);
  if (hs && swap < -1) return isola_fail(err, EINVAL, "%s.memory.swap: %" PRId64 " is negative", where, swap);
  /* memory.memsw counts memory plus swap: it cannot be below the memory limit. */
  if (hl && hs && swap > 0 && limit > 0 && swap < limit)
    return isola_fail(err, EINVAL, "%s.memory.swap: %" PRId64 " is below memory.limit %" PRId64
                      " (it counts memory plus swap)", where, swap, limit);
  bool write_swap = hs && swap != 0;
  if (hl) {
    i64s(v, sizeof v, limit);
    /* Raising both: the kernel refuses a memory limit above memory+swap, so on EINVAL the
     * swap goes first. */
    W("memory", "memory.limit", "memory.limit_in_bytes", v,
      write_swap || limit == -1 ? CGW_RETRY_AFTER : 0);
  }
  if (write_swap) {
    i64s(v, sizeof v, swap);
    W("memory", "memory.swap", "memory.memsw.limit_in_bytes", v, 0);
  } else if (hl && limit == -1) {
    /* runc: an unlimited memory with no swap given makes the swap unlimited too, where the
     * host accounts swap. */
    W("memory", "memory.swap", "memory.memsw.limit_in_bytes", "-1", CGW_OPTIONAL);
  }
  if (hr) {
    i64s(v, sizeof v, resv);
    W("memory", "memory.reservation", "memory.soft_limit_in_bytes", v, 0);
  }
  if (hk) {
    i64s(v, sizeof v, kern);
    struct cg_step *st = cg_plan_write(p, s, "memory", "memory.kernel", "memory.kmem.limit_in_bytes",
                                       v, CGW_NOTE | CGW_OLD_KERNEL, err);
    if (!st || !(st->note = strdup("Linux 5.16 and later do not enforce kernel memory limits")))
      return st ? isola_fail(err, ENOMEM, "plan") : -1;
  }
  if (ht) {
    i64s(v, sizeof v, ktcp);
    struct cg_step *st = cg_plan_write(p, s, "memory", "memory.kernelTCP", "memory.kmem.tcp.limit_in_bytes", v, CGW_NOTE, err);
    if (!st || !(st->note = strdup("kernel TCP memory limits are not supported by this kernel")))
      return st ? isola_fail(err, ENOMEM, "plan") : -1;
  }
  if (hw && swappiness != -1) {
    if (swappiness < 0 || swappiness > 100)
      return isola_fail(err, EINVAL, "%s.memory.swappiness: %" PRId64 " is out of range (0 to 100)",
                        where, swappiness);
    i64s(v, sizeof v, swappiness);
    W("memory", "memory.swappiness", "memory.swappiness", v, 0);
  }
  if (ho) W("memory", "memory.disableOOMKiller", "memory.oom_control", oom ? "1" : "0", 0);
  if (hh && cg_plan_note(p, s, "memory.useHierarchy", "hierarchical accounting is always on", err) < 0)
    return -1;
  if (hc && check && cg_plan_note(p, s, "memory.checkBeforeUpdate",
                                  "v1 refuses a limit below the usage by itself", err) < 0)
    return -1;
  return 0;
}

static int map_cpu(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_CPU;
  struct cg_cpu cc;
  int present = cg_read_cpu(res, where, &cc, err);
  if (present <= 0) return present;
  const uint64_t shares = cc.shares, period = cc.period, rtp = cc.realtime_period,
                 burst = cc.burst;
  const int64_t quota = cc.quota, rtr = cc.realtime_runtime, idle = cc.idle;
  const int hs = cc.has_shares, hp = cc.has_period, hq = cc.has_quota,
            hrp = cc.has_realtime_period, hrr = cc.has_realtime_runtime, hb = cc.has_burst,
            hi = cc.has_idle;
  char v[32];
  if (hs && shares) {
    u64s(v, sizeof v, shares);
    W("cpu", "cpu.shares", "cpu.shares", v, CGW_READBACK);
  }
  /* The kernel checks the quota against the period: a smaller period may be refused until the
   * quota is written (runc's order). */
  if (hp && period) {
    u64s(v, sizeof v, period);
    W("cpu", "cpu.period", "cpu.cfs_period_us", v, hq && quota ? CGW_RETRY_AFTER : 0);
  }
  if (hq && quota) {
    i64s(v, sizeof v, quota < 0 ? -1 : quota);
    W("cpu", "cpu.quota", "cpu.cfs_quota_us", v, 0);
  }
  if (hb) {
    u64s(v, sizeof v, burst);
    W("cpu", "cpu.burst", "cpu.cfs_burst_us", v, 0);
  }
  if (hrp && rtp) {
    u64s(v, sizeof v, rtp);
    W("cpu", "cpu.realtimePeriod", "cpu.rt_period_us", v, hrr && rtr ? CGW_RETRY_AFTER : 0);
  }
  if (hrr && rtr) {
    i64s(v, sizeof v, rtr);
    W("cpu", "cpu.realtimeRuntime", "cpu.rt_runtime_us", v, 0);
  }
  if (hi) {
    i64s(v, sizeof v, idle);
    W("cpu", "cpu.idle", "cpu.idle", v, 0);
  }
  return 0;
}

static int map_blkio(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_BLKIO;
  json_t *b = NULL;
  if (cg_get_obj(res, "blockIO", where, "", &b, err) < 0) return -1;
  if (!b) return 0;
  uint64_t weight = 0, leaf = 0;
  int hw, hl;
  if ((hw = cg_get_uint(b, "weight", where, "blockIO", 1000, &weight, err)) < 0 ||
      (hl = cg_get_uint(b, "leafWeight", where, "blockIO", 1000, &leaf, err)) < 0)
    return -1;
  char v[96];
  if (hw && weight) {
    if (weight < 10) return isola_fail(err, EINVAL, "%s.blockIO.weight: %" PRIu64 " is out of range (10 to 1000)", where, weight);
    u64s(v, sizeof v, weight);
    struct cg_step *st = cg_plan_write(p, s, "blkio", "blockIO.weight", "blkio.weight", v, 0, err);
    if (!st) return -1;
    snprintf(st->alt_file, sizeof st->alt_file, "blkio.bfq.weight"); /* BFQ, kernels >= 5.0 */
  }
  if (hl && leaf) {
    if (leaf < 10) return isola_fail(err, EINVAL, "%s.blockIO.leafWeight: %" PRIu64 " is out of range (10 to 1000)", where, leaf);
    u64s(v, sizeof v, leaf);
    W("blkio", "blockIO.leafWeight", "blkio.leaf_weight", v, 0);
  }
  struct dev_entry *e;
  size_t n;
  if (cg_dev_entries(b, "weightDevice", where, &e, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    uint64_t w = 0, lw = 0;
    int a, c;
    if ((a = cg_get_uint(e[i].obj, "weight", where, e[i].path, 1000, &w, err)) < 0 ||
        (c = cg_get_uint(e[i].obj, "leafWeight", where, e[i].path, 1000, &lw, err)) < 0) {
      free(e);
      return -1;
    }
    char key[128];
    if (a) {
      snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, e[i].major, e[i].minor, w);
      snprintf(key, sizeof key, "%s.weight", e[i].path);
      struct cg_step *st = cg_plan_write(p, s, "blkio", key, "blkio.weight_device", v, 0, err);
      if (!st) { free(e); return -1; }
      snprintf(st->alt_file, sizeof st->alt_file, "blkio.bfq.weight_device");
    }
    if (c) {
      snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, e[i].major, e[i].minor, lw);
      snprintf(key, sizeof key, "%s.leafWeight", e[i].path);
      if (!cg_plan_write(p, s, "blkio", key, "blkio.leaf_weight_device", v, 0, err)) { free(e); return -1; }
    }
  }
  free(e);
  static const char *const lists[][2] = {
      {"throttleReadBpsDevice", "blkio.throttle.read_bps_device"},
      {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
      {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device"},
      {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"},
  };
  for (size_t l = 0; l < 4; l++) {
    if (cg_dev_entries(b, lists[l][0], where, &e, &n, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) {
      uint64_t rate = 0;
      int h = cg_get_uint(e[i].obj, "rate", where, e[i].path, UINT64_MAX >> 1, &rate, err);
      if (h <= 0) {
        if (!h) isola_fail(err, EINVAL, "%s.%s.rate: is required", where, e[i].path);
        free(e);
        return -1;
      }
      snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, e[i].major, e[i].minor, rate);
      if (!cg_plan_write(p, s, "blkio", e[i].path, lists[l][1], v, 0, err)) { free(e); return -1; }
    }
    free(e);
  }
  return 0;
}

static int map_devices(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_DEVICES;
  struct cg_dev_rule *r;
  size_t n;
  if (cg_device_rules(json_object_get(res, "devices"), p->extra, p->nextra, where, &r, &n, err) < 0)
    return -1;
  for (size_t i = 0; i < n; i++) {
    char v[64];
    cg_dev_rule_format(&r[i], v, sizeof v);
    if (!cg_plan_write(p, s, "devices", "devices", r[i].allow ? "devices.allow" : "devices.deny",
                       v, 0, err)) {
      free(r);
      return -1;
    }
  }
  free(r);
  return 0;
}

static int map_network(enum cg_section s, json_t *res, const char *where, struct cg_plan *p,
                       struct isola_err *err) {
  json_t *net = NULL;
  if (cg_get_obj(res, "network", where, "", &net, err) < 0) return -1;
  if (!net) return 0;
  char v[160];
  if (s == CG_NET_CLS) {
    uint64_t id = 0;
    int h = cg_get_uint(net, "classID", where, "network", UINT32_MAX, &id, err);
    if (h < 0) return -1;
    if (h) {
      u64s(v, sizeof v, id);
      W("net_cls", "network.classID", "net_cls.classid", v, 0);
    }
    return 0;
  }
  json_t *a = NULL;
  if (cg_get_arr(net, "priorities", where, "network", &a, err) < 0) return -1;
  for (size_t i = 0; a && i < json_array_size(a); i++) {
    char path[64];
    snprintf(path, sizeof path, "network.priorities[%zu]", i);
    json_t *o = json_array_get(a, i);
    const char *name = NULL;
    uint64_t prio = 0;
    if (!json_is_object(o)) return isola_fail(err, EINVAL, "%s.%s: expected an object", where, path);
    int hn = cg_get_str(o, "name", where, path, &name, err);
    if (hn < 0 || cg_get_uint(o, "priority", where, path, UINT32_MAX, &prio, err) < 0) return -1;
    if (!hn || !name[0] || strlen(name) > 15 || strpbrk(name, " \n\t/"))
      return isola_fail(err, EINVAL, "%s.%s.name: expected an interface name", where, path);
    snprintf(v, sizeof v, "%s %" PRIu64, name, prio);
    W("net_prio", path, "net_prio.ifpriomap", v, 0);
  }
  return 0;
}

int cgroup_v1_map(enum cg_section s, json_t *res, const char *where, struct cg_plan *p,
                  struct isola_err *err) {
  switch (s) {
  case CG_MEMORY: return map_memory(res, where, p, err);
  case CG_CPU: return map_cpu(res, where, p, err);
  case CG_CPUSET: return cg_map_cpuset(res, where, p, err);
  case CG_PIDS: return cg_map_pids(res, where, p, err);
  case CG_BLKIO: return map_blkio(res, where, p, err);
  case CG_HUGETLB: return cg_map_hugetlb(res, where, "limit_in_bytes", "rsvd.limit_in_bytes", p, err);
  case CG_NET_CLS: case CG_NET_PRIO: return map_network(s, res, where, p, err);
  case CG_RDMA: return cg_map_rdma(res, where, p, err);
  case CG_DEVICES: return map_devices(res, where, p, err);
  case CG_UNIFIED: {
    char k[160];
    return isola_fail(err, ENOTSUP, "%s.%s: unified values need cgroup v2", where,
                      cg_section_first_key(res, s, k, sizeof k) ? k : "unified");
  }
  default: return 0;
  }
}

/* ---- freezer ----------------------------------------------------------------------------- */

int cgroup_v1_frozen(const char *dir, bool *frozen, struct isola_err *err) {
  char buf[32];
  if (cg_read_file(dir, "freezer.state", buf, sizeof buf) < 0)
    return isola_fail_errno(err, errno, "read `%s/freezer.state`", dir);
  *frozen = !strncmp(buf, "FROZEN", 6);
  return 0;
}

int cgroup_v1_freeze(const char *dir, bool frozen, struct isola_err *err) {
  const char *want = frozen ? "FROZEN" : "THAWED";
  char path[1100], buf[32];
  snprintf(path, sizeof path, "%s/freezer.state", dir);
  /* FREEZING may last while a task is in an uninterruptible sleep: write again, as runc does,
   * for up to ~5 s. */
  for (int i = 0; i < 1000; i++) {
    if (i % 50 == 0) {
      _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, want, strlen(want)) < 0)
        return isola_fail_errno(err, errno, "write %s to `%s`", want, path);
    }
    if (cg_read_file(dir, "freezer.state", buf, sizeof buf) < 0)
      return isola_fail_errno(err, errno, "read `%s`", path);
    if (!strncmp(buf, want, strlen(want))) return 0;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  if (frozen) {
    struct isola_err ignored;
    cgroup_v1_freeze(dir, false, &ignored);
  }
  return isola_fail(err, EBUSY, "`%s` did not become %s", path, want);
}

/* ---- stats ------------------------------------------------------------------------------- */

static json_t *u64_array(const char *dir, const char *file) {
  char buf[4096];
  json_t *a = json_array();
  if (cg_read_file(dir, file, buf, sizeof buf) <= 0) return a;
  char *p = buf, *end;
  for (;;) {
    unsigned long long v = strtoull(p, &end, 10);
    if (end == p) break;
    json_array_append_new(a, json_integer((json_int_t)v));
    p = end;
  }
  return a;
}

static void mem_entry(const char *dir, json_t *mem, const char *name, const char *prefix) {
  json_t *o = cg_json_obj(mem, name, NULL);
  char f[96];
  uint64_t v;
  static const char *const fields[][2] = {{"limit", "limit_in_bytes"}, {"usage", "usage_in_bytes"},
                                          {"max", "max_usage_in_bytes"}, {"failcnt", "failcnt"}};
  for (int i = 0; i < 4; i++) {
    snprintf(f, sizeof f, "%s%s", prefix, fields[i][1]);
    if (cg_read_u64(dir, f, &v) == 0)
      cg_json_set_u64(o, fields[i][0], v, i == 1 || i == 2);
  }
}

/* "8:0 Read 4096" lines into runc's blkio entries. */
static void blkio_list(const char *dir, const char *file, json_t *blkio, const char *name) {
  char path[1200], line[256];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f) return;
  json_t *a = json_array();
  while (fgets(line, sizeof line, f)) {
    unsigned long long maj, min, v;
    char op[32];
    if (sscanf(line, "%llu:%llu %31s %llu", &maj, &min, op, &v) != 4) continue;
    json_t *e = json_object();
    cg_json_set_u64(e, "major", maj, true);
    cg_json_set_u64(e, "minor", min, true);
    json_object_set_new(e, "op", json_string(op));
    cg_json_set_u64(e, "value", v, true);
    json_array_append_new(a, e);
  }
  if (json_array_size(a)) json_object_set_new(blkio, name, a);
  else json_decref(a);
}

int cgroup_v1_stats(const char *ctrl, const char *dir, json_t *d, struct isola_err *err) {
  uint64_t v;
  if (!strcmp(ctrl, "cpu")) {
    json_t *t = cg_json_obj(d, "cpu", "throttling");
    if (cg_read_keyed(dir, "cpu.stat", "nr_periods", &v) == 0) cg_json_set_u64(t, "periods", v, true);
    if (cg_read_keyed(dir, "cpu.stat", "nr_throttled", &v) == 0)
      cg_json_set_u64(t, "throttled_periods", v, true);
    if (cg_read_keyed(dir, "cpu.stat", "throttled_time", &v) == 0)
      cg_json_set_u64(t, "throttled_time", v, true);
  } else if (!strcmp(ctrl, "cpuacct")) {
    json_t *u = cg_json_obj(d, "cpu", "usage");
    if (cg_read_u64(dir, "cpuacct.usage", &v) == 0) cg_json_set_u64(u, "total", v, true);
    json_t *a = u64_array(dir, "cpuacct.usage_percpu");
    if (json_array_size(a)) json_object_set_new(u, "percpu", a);
    else json_decref(a);
    a = u64_array(dir, "cpuacct.usage_percpu_sys");
    if (json_array_size(a)) json_object_set_new(u, "percpu_kernel", a);
    else json_decref(a);
    a = u64_array(dir, "cpuacct.usage_percpu_user");
    if (json_array_size(a)) json_object_set_new(u, "percpu_user", a);
    else json_decref(a);
    /* cpuacct.stat is in clock ticks. */
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t ns = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
    if (cg_read_keyed(dir, "cpuacct.stat", "user", &v) == 0) cg_json_set_u64(u, "user", v * ns, false);
    if (cg_read_keyed(dir, "cpuacct.stat", "system", &v) == 0) cg_json_set_u64(u, "kernel", v * ns, false);
  } else if (!strcmp(ctrl, "memory")) {
    json_t *m = cg_json_obj(d, "memory", NULL);
    mem_entry(dir, m, "usage", "memory.");
    mem_entry(dir, m, "swap", "memory.memsw.");
    mem_entry(dir, m, "kernel", "memory.kmem.");
    mem_entry(dir, m, "kernelTCP", "memory.kmem.tcp.");
    char path[1200], line[256];
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    json_t *raw = json_object();
    while (f && fgets(line, sizeof line, f)) {
      char k[128];
      unsigned long long x;
      if (sscanf(line, "%127s %llu", k, &x) == 2) cg_json_set_u64(raw, k, x, false);
    }
    if (json_object_size(raw)) {
      json_t *c = json_object_get(raw, "cache");
      if (c) cg_json_set_u64(m, "cache", (uint64_t)json_integer_value(c), true);
      json_object_set_new(m, "raw", raw);
    } else {
      json_decref(raw);
    }
  } else if (!strcmp(ctrl, "pids")) {
    json_t *p = cg_json_obj(d, "pids", NULL);
    if (cg_read_u64(dir, "pids.current", &v) == 0) cg_json_set_u64(p, "current", v, true);
    if (cg_read_u64(dir, "pids.max", &v) == 0) cg_json_set_u64(p, "limit", v == UINT64_MAX ? 0 : v, true);
  } else if (!strcmp(ctrl, "blkio")) {
    json_t *b = cg_json_obj(d, "blkio", NULL);
    blkio_list(dir, "blkio.throttle.io_service_bytes_recursive", b, "ioServiceBytesRecursive");
    blkio_list(dir, "blkio.throttle.io_serviced_recursive", b, "ioServicedRecursive");
    if (!json_object_get(b, "ioServiceBytesRecursive"))
      blkio_list(dir, "blkio.bfq.io_service_bytes_recursive", b, "ioServiceBytesRecursive");
    if (!json_object_get(b, "ioServicedRecursive"))
      blkio_list(dir, "blkio.bfq.io_serviced_recursive", b, "ioServicedRecursive");
  } else if (!strcmp(ctrl, "hugetlb")) {
    json_t *h = cg_json_obj(d, "hugetlb", NULL);
    for (const char *const *ps = cg_hugepage_sizes(); *ps; ps++) {
      json_t *e = cg_json_obj(h, *ps, NULL);
      char f[96];
      snprintf(f, sizeof f, "hugetlb.%s.usage_in_bytes", *ps);
      if (cg_read_u64(dir, f, &v) == 0) cg_json_set_u64(e, "usage", v, true);
      snprintf(f, sizeof f, "hugetlb.%s.max_usage_in_bytes", *ps);
      if (cg_read_u64(dir, f, &v) == 0) cg_json_set_u64(e, "max", v, true);
      snprintf(f, sizeof f, "hugetlb.%s.failcnt", *ps);
      cg_json_set_u64(e, "failcnt", cg_read_u64(dir, f, &v) == 0 ? v : 0, false);
    }
  } else if (!strcmp(ctrl, "cpuset")) {
    cg_cpuset_stats(dir, d);
  }
  return 0;
}

/* ---- OOM --------------------------------------------------------------------------------- */

int cgroup_v1_oom_open(const char *dir, int *fd, uint64_t *state, struct isola_err *err) {
  char path[1200], line[64];
  snprintf(path, sizeof path, "%s/memory.oom_control", dir);
  _cleanup_close_ int ctl = open(path, O_RDONLY | O_CLOEXEC);
  if (ctl < 0) return isola_fail_errno(err, errno, "open `%s`", path);
  _cleanup_close_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (efd < 0) return isola_fail_errno(err, errno, "eventfd");
  snprintf(line, sizeof line, "%d %d", efd, ctl);
  snprintf(path, sizeof path, "%s/cgroup.event_control", dir);
  _cleanup_close_ int ec = open(path, O_WRONLY | O_CLOEXEC);
  if (ec < 0 || write(ec, line, strlen(line)) < 0)
    return isola_fail_errno(err, errno, "register for OOM events in `%s`", path);
  /* The registration holds its own reference to memory.oom_control. */
  *state = 0;
  *fd = take_fd(&efd);
  return 0;
}

int cgroup_v1_oom_read(int fd, const char *dir, uint64_t *state, unsigned *events, bool *gone) {
  uint64_t n = 0;
  char path[1200];
  /* The eventfd also fires when the cgroup is removed. */
  snprintf(path, sizeof path, "%s/memory.oom_control", dir);
  bool there = access(path, F_OK) == 0;
  if (read(fd, &n, sizeof n) == (ssize_t)sizeof n && there) *events = (unsigned)n;
  *gone = !there;
  (void)state;
  return 0;
}
