/* cgroup v2: linux.resources as unified-hierarchy files (with runc's v1 -> v2 conversions), the
 * device filter as an eBPF program attached with raw bpf(2) calls, cgroup.freeze, stats from
 * cpu.stat, memory.* and io.stat, and OOM kills from memory.events. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup_backend.h"
#include "core/cleanup.h"

#define W(ctrl, key, file, val, flags)                                                       \
  do {                                                                                       \
    if (!cg_plan_write(p, s, ctrl, key, file, val, flags, err)) return -1;                   \
  } while (0)

static void u64s(char *buf, size_t len, uint64_t v) { snprintf(buf, len, "%" PRIu64, v); }

uint64_t cg_shares_to_weight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2; /* v1's range: the kernel clamps the same way */
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t cg_blkio_to_io_weight(uint64_t weight) {
  if (weight == 0) return 0;
  if (weight < 10) weight = 10;
  return 1 + ((weight - 10) * 9999) / 990;
}

int cg_swap_to_v2(int64_t swap, int64_t limit, bool has_limit, int64_t *out, const char *where,
                  struct isola_err *err) {
  if (has_limit && limit == -1 && swap == 0) return *out = -1, 0; /* both unlimited */
  if (swap == -1) return *out = -1, 0;
  if (swap == 0) return *out = -2, 0;
  if (swap < 0) return isola_fail(err, EINVAL, "%s.memory.swap: %" PRId64 " is negative", where, swap);
  if (!has_limit || limit <= 0)
    return isola_fail(err, EINVAL, "%s.memory.swap: a swap limit needs a memory.limit", where);
  if (swap < limit)
    return isola_fail(err, EINVAL, "%s.memory.swap: %" PRId64 " is below memory.limit %" PRId64
                      " (it counts memory plus swap)", where, swap, limit);
  *out = swap - limit;
  return 0;
}

static int note(struct cg_plan *p, enum cg_section s, const char *key, const char *why,
                struct isola_err *err) {
  return cg_plan_note(p, s, key, why, err);
}

static int map_memory(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_MEMORY;
  struct cg_memory mm;
  int present = cg_read_memory(res, where, &mm, err);
  if (present <= 0) return present;
  const int64_t limit = mm.limit, swap = mm.swap, resv = mm.reservation,
                swappiness = mm.swappiness;
  const bool oom = mm.disable_oom, check = mm.check_before_update;
  const int hl = mm.has_limit, hs = mm.has_swap, hr = mm.has_reservation, hk = mm.has_kernel,
            ht = mm.has_kernel_tcp, hw = mm.has_swappiness, ho = mm.has_disable_oom,
            hh = mm.has_use_hierarchy, hc = mm.has_check;
  char v[32];
  if (hl && limit < -1) return isola_fail(err, EINVAL, "%s.memory.limit: %" PRId64 " is negative", where, limit);
  if (hs || (hl && limit == -1)) {
    int64_t sw;
    if (cg_swap_to_v2(hs ? swap : 0, limit, hl, &sw, where, err) < 0) return -1;
    if (sw != -2) {
      if (sw == -1) snprintf(v, sizeof v, "max");
      else u64s(v, sizeof v, (uint64_t)sw);
      /* Without swap accounting, "no swap" and "unlimited swap" are what the host has. */
      W("memory", "memory.swap", "memory.swap.max", v, sw == -1 || sw == 0 ? CGW_OPTIONAL : 0);
    }
  }
  if (hl) {
    if (limit == -1) snprintf(v, sizeof v, "max");
    else u64s(v, sizeof v, (uint64_t)limit);
    struct cg_step *st = cg_plan_write(p, s, "memory", "memory.limit", "memory.max", v,
                                       hc && check ? CGW_CHECK_USAGE : 0, err);
    if (!st) return -1;
    snprintf(st->usage_file, sizeof st->usage_file, "memory.current");
  }
  if (hr) {
    if (resv == -1) snprintf(v, sizeof v, "max");
    else u64s(v, sizeof v, (uint64_t)(resv < 0 ? 0 : resv));
    W("memory", "memory.reservation", "memory.low", v, 0);
  }
  if (hk && note(p, s, "memory.kernel", "cgroup v2 has no kernel memory limit", err) < 0) return -1;
  if (ht && note(p, s, "memory.kernelTCP", "cgroup v2 has no kernel TCP memory limit", err) < 0)
    return -1;
  if (hw && swappiness != -1) {
    if (swappiness < 0 || swappiness > 100)
      return isola_fail(err, EINVAL, "%s.memory.swappiness: %" PRId64 " is out of range (0 to 100)",
                        where, swappiness);
    if (note(p, s, "memory.swappiness", "cgroup v2 has no per-cgroup swappiness", err) < 0) return -1;
  }
  if (ho && oom && note(p, s, "memory.disableOOMKiller", "cgroup v2 cannot disable the OOM killer", err) < 0)
    return -1;
  if (hh && note(p, s, "memory.useHierarchy", "hierarchical accounting is always on", err) < 0)
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
  if ((hrp && rtp) || (hrr && rtr))
    return isola_fail(err, ENOTSUP, "%s.cpu.%s: cgroup v2 has no realtime CPU controller", where,
                      hrr && rtr ? "realtimeRuntime" : "realtimePeriod");
  char v[64];
  if (hs && shares) {
    u64s(v, sizeof v, cg_shares_to_weight(shares));
    W("cpu", "cpu.shares", "cpu.weight", v, 0);
  }
  if ((hq && quota) || (hp && period)) {
    char q[24] = "max";
    if (hq && quota > 0) snprintf(q, sizeof q, "%" PRId64, quota);
    if (hp && period) snprintf(v, sizeof v, "%s %" PRIu64, q, period);
    else snprintf(v, sizeof v, "%s", q);
    W("cpu", hq && quota ? "cpu.quota" : "cpu.period", "cpu.max", v, 0);
  }
  if (hb) {
    u64s(v, sizeof v, burst);
    W("cpu", "cpu.burst", "cpu.max.burst", v, 0);
  }
  if (hi) {
    snprintf(v, sizeof v, "%" PRId64, idle);
    W("cpu", "cpu.idle", "cpu.idle", v, 0);
  }
  return 0;
}

static int map_io(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_BLKIO;
  json_t *b = NULL;
  if (cg_get_obj(res, "blockIO", where, "", &b, err) < 0) return -1;
  if (!b) return 0;
  uint64_t weight = 0, leaf = 0;
  int hw, hl;
  if ((hw = cg_get_uint(b, "weight", where, "blockIO", 1000, &weight, err)) < 0 ||
      (hl = cg_get_uint(b, "leafWeight", where, "blockIO", 1000, &leaf, err)) < 0)
    return -1;
  char v[128];
  if (hw && weight) {
    if (weight < 10)
      return isola_fail(err, EINVAL, "%s.blockIO.weight: %" PRIu64 " is out of range (10 to 1000)", where, weight);
    /* BFQ takes v1's scale; without it io.weight takes 1-10000. */
    u64s(v, sizeof v, weight);
    struct cg_step *st = cg_plan_write(p, s, "io", "blockIO.weight", "io.bfq.weight", v, 0, err);
    if (!st) return -1;
    snprintf(st->alt_file, sizeof st->alt_file, "io.weight");
    u64s(v, sizeof v, cg_blkio_to_io_weight(weight));
    if (!(st->alt_value = strdup(v))) return isola_fail(err, ENOMEM, "plan");
  }
  if (hl && leaf && note(p, s, "blockIO.leafWeight", "cgroup v2 has no leaf weight", err) < 0)
    return -1;
  struct dev_entry *e;
  size_t n;
  if (cg_dev_entries(b, "weightDevice", where, &e, &n, err) < 0) return -1;
  for (size_t i = 0; i < n; i++) {
    uint64_t w = 0, lw = 0;
    int a, c;
    char key[128];
    if ((a = cg_get_uint(e[i].obj, "weight", where, e[i].path, 1000, &w, err)) < 0 ||
        (c = cg_get_uint(e[i].obj, "leafWeight", where, e[i].path, 1000, &lw, err)) < 0) {
      free(e);
      return -1;
    }
    if (a) {
      /* Only BFQ has per-device weights. */
      snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %" PRIu64, e[i].major, e[i].minor, w);
      snprintf(key, sizeof key, "%s.weight", e[i].path);
      if (!cg_plan_write(p, s, "io", key, "io.bfq.weight", v, 0, err)) { free(e); return -1; }
    }
    snprintf(key, sizeof key, "%s.leafWeight", e[i].path);
    if (c && note(p, s, key, "cgroup v2 has no leaf weight", err) < 0) { free(e); return -1; }
  }
  free(e);
  static const char *const lists[][2] = {{"throttleReadBpsDevice", "rbps"},
                                         {"throttleWriteBpsDevice", "wbps"},
                                         {"throttleReadIOPSDevice", "riops"},
                                         {"throttleWriteIOPSDevice", "wiops"}};
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
      snprintf(v, sizeof v, "%" PRId64 ":%" PRId64 " %s=%" PRIu64, e[i].major, e[i].minor,
               lists[l][1], rate);
      if (!cg_plan_write(p, s, "io", e[i].path, "io.max", v, 0, err)) { free(e); return -1; }
    }
    free(e);
  }
  return 0;
}

static int map_unified(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_UNIFIED;
  json_t *u = NULL, *val;
  const char *k;
  if (cg_get_obj(res, "unified", where, "", &u, err) < 0) return -1;
  json_object_foreach(u, k, val) {
    char key[160], ctrl[64], shown[100];
    snprintf(key, sizeof key, "unified.%s", cg_printable(k, shown, sizeof shown));
    const char *dot = strchr(k, '.');
    bool ok = dot && dot != k && dot[1] && strlen(k) < 80;
    for (const char *c = k; ok && *c; c++)
      ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
           *c == '_' || *c == '.' || *c == '-';
    if (!ok) return isola_fail(err, EINVAL, "%s.%s: not a cgroup file name", where, key);
    if (!strcmp(k, "cgroup.procs") || !strcmp(k, "cgroup.threads"))
      return isola_fail(err, EINVAL, "%s.%s: moves processes, not a resource", where, key);
    if (!json_is_string(val)) return isola_fail(err, EINVAL, "%s.%s: expected a string", where, key);
    if (json_string_length(val) > 4096) return isola_fail(err, E2BIG, "%s.%s: longer than 4096 bytes", where, key);
    snprintf(ctrl, sizeof ctrl, "%.*s", (int)(dot - k), k);
    struct cg_step *st = cg_plan_write(p, s, NULL, key, k, json_string_value(val), 0, err);
    if (!st) return -1;
    if (strcmp(ctrl, "cgroup")) {
      /* Named for the missing-file message; static, as the plan keeps the pointer. */
      static const char *const known[] = {"cpu", "cpuset", "io", "memory", "pids", "hugetlb",
                                          "rdma", "misc", NULL};
      for (size_t i = 0; known[i]; i++)
        if (!strcmp(ctrl, known[i])) st->ctrl = known[i];
    }
  }
  return 0;
}

static int map_devices(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  struct cg_dev_rule *r;
  size_t n;
  if (cg_device_rules(json_object_get(res, "devices"), p->extra, p->nextra, where, &r, &n, err) < 0)
    return -1;
  /* Check the program builds now, before anything is written. */
  struct bpf_insn *prog;
  size_t len;
  if (cgroup_v2_device_program(r, n, &prog, &len, err) < 0) {
    free(r);
    return isola_err_wrap(err, "%s.devices", where);
  }
  free(prog);
  if (!cg_plan_write(p, CG_DEVICES, NULL, "devices", "", "", 0, err)) {
    free(r);
    return -1;
  }
  struct cg_step *st = &p->s[p->n - 1];
  st->kind = CGS_BPF_DEVICES;
  st->rules = r;
  st->nrules = n;
  return 0;
}

int cgroup_v2_map(enum cg_section s, json_t *res, const char *where, struct cg_plan *p,
                  struct isola_err *err) {
  char k[160];
  switch (s) {
  case CG_MEMORY: return map_memory(res, where, p, err);
  case CG_CPU: return map_cpu(res, where, p, err);
  case CG_CPUSET: return cg_map_cpuset(res, where, p, err);
  case CG_PIDS: return cg_map_pids(res, where, p, err);
  case CG_BLKIO: return map_io(res, where, p, err);
  case CG_HUGETLB: return cg_map_hugetlb(res, where, "max", "rsvd.max", p, err);
  case CG_RDMA: return cg_map_rdma(res, where, p, err);
  case CG_DEVICES: return map_devices(res, where, p, err);
  case CG_UNIFIED: return map_unified(res, where, p, err);
  case CG_NET_CLS: case CG_NET_PRIO:
    return isola_fail(err, ENOTSUP, "%s.%s: the %s controller does not exist on cgroup v2", where,
                      cg_section_first_key(res, s, k, sizeof k) ? k : "network",
                      s == CG_NET_CLS ? "net_cls" : "net_prio");
  default: return 0;
  }
}

/* ---- the device filter --------------------------------------------------------------------
 *
 * The program sees (access << 16 | type, major, minor). For each access bit the request has
 * (mknod, read, write), it walks the rules from last to first; the first rule that holds the
 * bit and matches type, major and minor decides: deny returns 0, allow goes on to the next bit.
 * No rule matching allows the bit. All bits allowed returns 1.
 *
 *   r2 = access_type; r3 = r2 & 0xffff (type); w2 >>= 16 (access); r4 = major; r5 = minor
 */

struct prog {
  struct bpf_insn *i;
  size_t n, cap;
};

static int emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 64;
    struct bpf_insn *x = realloc(p->i, cap * sizeof *x);
    if (!x) return -1;
    p->i = x;
    p->cap = cap;
  }
  p->i[p->n++] = (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
  return 0;
}

#define MAX_PROG 30000 /* jump offsets are 16-bit */

int cgroup_v2_device_program(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **out,
                             size_t *len, struct isola_err *err) {
  struct prog p = {0};
  static const unsigned bits[] = {CG_DEV_MKNOD, CG_DEV_READ, CG_DEV_WRITE};
  bool ok = !emit(&p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_2, BPF_REG_1, 0, 0) &&
            !emit(&p, BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_2, 0, 0) &&
            !emit(&p, BPF_ALU | BPF_AND | BPF_K, BPF_REG_3, 0, 0, 0xffff) &&
            !emit(&p, BPF_ALU | BPF_RSH | BPF_K, BPF_REG_2, 0, 0, 16) &&
            !emit(&p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_4, BPF_REG_1, 4, 0) &&
            !emit(&p, BPF_LDX | BPF_W | BPF_MEM, BPF_REG_5, BPF_REG_1, 8, 0);
  _cleanup_free_ size_t *fix = calloc(n + 2, sizeof *fix); /* jumps to the end of a block */
  if (!fix) ok = false;
  for (size_t b = 0; ok && b < 3; b++) {
    size_t nfix = 0;
    ok = !emit(&p, BPF_JMP | BPF_JSET | BPF_K, BPF_REG_2, 0, 1, (int32_t)bits[b]);
    fix[nfix++] = p.n;
    ok = ok && !emit(&p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
    for (size_t k = n; ok && k-- > 0;) {
      const struct cg_dev_rule *r = &rules[k];
      if (!(r->access & bits[b])) continue;
      int checks = (r->type != 'a') + (r->type != 'a' && r->major >= 0) + (r->type != 'a' && r->minor >= 0);
      int body = r->allow ? 1 : 2, j = 0;
      if (r->type != 'a')
        ok = ok && !emit(&p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_3, 0, (int16_t)(checks - ++j + body),
                         r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
      if (r->type != 'a' && r->major >= 0)
        ok = ok && !emit(&p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_4, 0, (int16_t)(checks - ++j + body),
                         (int32_t)(uint32_t)r->major);
      if (r->type != 'a' && r->minor >= 0)
        ok = ok && !emit(&p, BPF_JMP32 | BPF_JNE | BPF_K, BPF_REG_5, 0, (int16_t)(checks - ++j + body),
                         (int32_t)(uint32_t)r->minor);
      if (r->allow) {
        fix[nfix++] = p.n;
        ok = ok && !emit(&p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
      } else {
        ok = ok && !emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0) &&
             !emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
      }
      if (checks == 0) break; /* matches everything: earlier rules are unreachable */
      if (p.n > MAX_PROG) break;
    }
    for (size_t f = 0; ok && f < nfix; f++) p.i[fix[f]].off = (int16_t)(p.n - fix[f] - 1);
  }
  ok = ok && !emit(&p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1) &&
       !emit(&p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  if (!ok || p.n > MAX_PROG) {
    free(p.i);
    return isola_fail(err, ok ? E2BIG : ENOMEM, "device filter: %s", ok ? "too many rules" : "out of memory");
  }
  *out = p.i;
  *len = p.n;
  return 0;
}

static int bpf(int cmd, union bpf_attr *a) { return (int)syscall(SYS_bpf, cmd, a, sizeof *a); }

int cgroup_v2_devices_apply(const char *dir, const struct cg_dev_rule *rules, size_t n,
                            struct isola_err *err) {
  _cleanup_free_ struct bpf_insn *prog = NULL;
  size_t len;
  if (cgroup_v2_device_program(rules, n, &prog, &len, err) < 0) return -1;
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)prog;
  a.insn_cnt = (uint32_t)len;
  a.license = (uint64_t)(uintptr_t)"GPL";
  _cleanup_close_ int pfd = bpf(BPF_PROG_LOAD, &a);
  if (pfd < 0) {
    int e = errno;
    _cleanup_free_ char *log = calloc(1, 65536);
    const char *why = "";
    if (log && e != EPERM) { /* again, for the verifier's words: the line before "processed" */
      a.log_buf = (uint64_t)(uintptr_t)log;
      a.log_size = 65536;
      a.log_level = 1;
      bpf(BPF_PROG_LOAD, &a);
      char *end = strstr(log, "\nprocessed ");
      if (end) {
        *end = 0;
        why = strrchr(log, '\n') ? strrchr(log, '\n') + 1 : log;
      }
    }
    return isola_fail_errno(err, e, "load the device filter (eBPF)%s%s", why[0] ? ": " : "", why);
  }
  _cleanup_close_ int cg = open(dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (cg < 0) return isola_fail_errno(err, errno, "open `%s`", dir);
  /* The programs attached before (an update replaces them). */
  uint32_t ids[64], nids = 64;
  memset(&a, 0, sizeof a);
  a.query.target_fd = (uint32_t)cg;
  a.query.attach_type = BPF_CGROUP_DEVICE;
  a.query.prog_ids = (uint64_t)(uintptr_t)ids;
  a.query.prog_cnt = nids;
  nids = bpf(BPF_PROG_QUERY, &a) == 0 ? a.query.prog_cnt : 0;
  if (nids > 64) nids = 64;
  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)pfd;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  if (bpf(BPF_PROG_ATTACH, &a) < 0)
    return isola_fail_errno(err, errno, "attach the device filter to `%s`", dir);
  for (uint32_t i = 0; i < nids; i++) {
    memset(&a, 0, sizeof a);
    a.prog_id = ids[i];
    _cleanup_close_ int old = bpf(BPF_PROG_GET_FD_BY_ID, &a);
    if (old < 0) continue;
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)cg;
    a.attach_bpf_fd = (uint32_t)old;
    a.attach_type = BPF_CGROUP_DEVICE;
    if (bpf(BPF_PROG_DETACH, &a) < 0)
      return isola_fail_errno(err, errno, "detach the previous device filter from `%s`", dir);
  }
  return 0;
}

/* ---- freezer ----------------------------------------------------------------------------- */

int cgroup_v2_frozen(const char *dir, bool *frozen, struct isola_err *err) {
  uint64_t v;
  if (cg_read_keyed(dir, "cgroup.events", "frozen", &v) < 0)
    return isola_fail_errno(err, errno, "read `%s/cgroup.events`", dir);
  *frozen = v == 1;
  return 0;
}

int cgroup_v2_freeze(const char *dir, bool frozen, struct isola_err *err) {
  char path[1100];
  snprintf(path, sizeof path, "%s/cgroup.freeze", dir);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, frozen ? "1" : "0", 1) != 1)
    return isola_fail_errno(err, errno, "write `%s`", path);
  for (int i = 0; i < 1000; i++) {
    bool now;
    if (cgroup_v2_frozen(dir, &now, err) < 0) return -1;
    if (now == frozen) return 0;
    nanosleep(&(struct timespec){0, 5 * 1000 * 1000}, NULL);
  }
  if (frozen) write(fd, "0", 1);
  return isola_fail(err, EBUSY, "`%s` did not become %s", dir, frozen ? "frozen" : "thawed");
}

/* ---- stats ------------------------------------------------------------------------------- */

static void mem_entry(const char *dir, json_t *m, const char *name, const char *cur,
                      const char *max, const char *peak, uint64_t add_usage, uint64_t add_limit) {
  json_t *o = cg_json_obj(m, name, NULL);
  uint64_t v, lim;
  if (cg_read_u64(dir, cur, &v) == 0) cg_json_set_u64(o, "usage", v + add_usage, true);
  if (cg_read_u64(dir, max, &lim) == 0)
    cg_json_set_u64(o, "limit", lim == UINT64_MAX || add_limit == UINT64_MAX ? UINT64_MAX : lim + add_limit, false);
  if (peak && cg_read_u64(dir, peak, &v) == 0) cg_json_set_u64(o, "max", v, true);
}

static void io_stats(const char *dir, json_t *blkio) {
  char path[1200], line[512];
  snprintf(path, sizeof path, "%s/io.stat", dir);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f) return;
  json_t *bytes = json_array(), *ios = json_array();
  while (fgets(line, sizeof line, f)) {
    unsigned maj, min;
    int off;
    if (sscanf(line, "%u:%u%n", &maj, &min, &off) != 2) continue;
    char *save, *tok;
    for (tok = strtok_r(line + off, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
      static const char *const keys[][3] = {{"rbytes", "Read", "b"}, {"wbytes", "Write", "b"},
                                            {"rios", "Read", "i"},   {"wios", "Write", "i"}};
      for (int k = 0; k < 4; k++) {
        size_t kl = strlen(keys[k][0]);
        if (strncmp(tok, keys[k][0], kl) || tok[kl] != '=') continue;
        json_t *e = json_object();
        cg_json_set_u64(e, "major", maj, true);
        cg_json_set_u64(e, "minor", min, true);
        json_object_set_new(e, "op", json_string(keys[k][1]));
        cg_json_set_u64(e, "value", strtoull(tok + kl + 1, NULL, 10), true);
        json_array_append_new(keys[k][2][0] == 'b' ? bytes : ios, e);
      }
    }
  }
  if (json_array_size(bytes)) json_object_set(blkio, "ioServiceBytesRecursive", bytes);
  if (json_array_size(ios)) json_object_set(blkio, "ioServicedRecursive", ios);
  json_decref(bytes);
  json_decref(ios);
}

int cgroup_v2_stats(const char *ctrl, const char *dir, json_t *d, struct isola_err *err) {
  uint64_t v;
  if (!strcmp(ctrl, "cpu")) {
    json_t *u = cg_json_obj(d, "cpu", "usage"), *t = cg_json_obj(d, "cpu", "throttling");
    if (cg_read_keyed(dir, "cpu.stat", "usage_usec", &v) == 0) cg_json_set_u64(u, "total", v * 1000, true);
    if (cg_read_keyed(dir, "cpu.stat", "user_usec", &v) == 0) cg_json_set_u64(u, "user", v * 1000, false);
    if (cg_read_keyed(dir, "cpu.stat", "system_usec", &v) == 0) cg_json_set_u64(u, "kernel", v * 1000, false);
    if (cg_read_keyed(dir, "cpu.stat", "nr_periods", &v) == 0) cg_json_set_u64(t, "periods", v, true);
    if (cg_read_keyed(dir, "cpu.stat", "nr_throttled", &v) == 0) cg_json_set_u64(t, "throttled_periods", v, true);
    if (cg_read_keyed(dir, "cpu.stat", "throttled_usec", &v) == 0)
      cg_json_set_u64(t, "throttled_time", v * 1000, true);
  } else if (!strcmp(ctrl, "memory")) {
    json_t *m = cg_json_obj(d, "memory", NULL);
    uint64_t cur = 0, max = 0;
    cg_read_u64(dir, "memory.current", &cur);
    cg_read_u64(dir, "memory.max", &max);
    mem_entry(dir, m, "usage", "memory.current", "memory.max", "memory.peak", 0, 0);
    if (cg_read_keyed(dir, "memory.events", "max", &v) == 0)
      cg_json_set_u64(cg_json_obj(m, "usage", NULL), "failcnt", v, false);
    /* v1 reports swap as memory+swap: do the same. */
    mem_entry(dir, m, "swap", "memory.swap.current", "memory.swap.max", "memory.swap.peak", cur, max);
    char path[1200], line[256];
    snprintf(path, sizeof path, "%s/memory.stat", dir);
    _cleanup_fclose_ FILE *f = fopen(path, "re");
    json_t *raw = json_object();
    while (f && fgets(line, sizeof line, f)) {
      char k[128];
      unsigned long long x;
      if (sscanf(line, "%127s %llu", k, &x) == 2) cg_json_set_u64(raw, k, x, false);
    }
    json_t *file = json_object_get(raw, "file");
    if (file) cg_json_set_u64(m, "cache", (uint64_t)json_integer_value(file), true);
    if (json_object_size(raw)) json_object_set_new(m, "raw", raw);
    else json_decref(raw);
  } else if (!strcmp(ctrl, "pids")) {
    json_t *p = cg_json_obj(d, "pids", NULL);
    if (cg_read_u64(dir, "pids.current", &v) == 0) cg_json_set_u64(p, "current", v, true);
    if (cg_read_u64(dir, "pids.max", &v) == 0) cg_json_set_u64(p, "limit", v == UINT64_MAX ? 0 : v, true);
  } else if (!strcmp(ctrl, "io")) {
    io_stats(dir, cg_json_obj(d, "blkio", NULL));
  } else if (!strcmp(ctrl, "hugetlb")) {
    json_t *h = cg_json_obj(d, "hugetlb", NULL);
    for (const char *const *ps = cg_hugepage_sizes(); *ps; ps++) {
      json_t *e = cg_json_obj(h, *ps, NULL);
      char f[96];
      snprintf(f, sizeof f, "hugetlb.%s.current", *ps);
      if (cg_read_u64(dir, f, &v) == 0) cg_json_set_u64(e, "usage", v, true);
      snprintf(f, sizeof f, "hugetlb.%s.max", *ps);
      if (cg_read_u64(dir, f, &v) == 0) cg_json_set_u64(e, "max", v, true);
      snprintf(f, sizeof f, "hugetlb.%s.events", *ps);
      cg_json_set_u64(e, "failcnt", cg_read_keyed(dir, f, "max", &v) == 0 ? v : 0, false);
    }
  } else if (!strcmp(ctrl, "cpuset")) {
    cg_cpuset_stats(dir, d);
  }
  return 0;
}

/* ---- OOM --------------------------------------------------------------------------------- */

static int oom_kills(const char *dir, uint64_t *v) {
  char path[1200];
  snprintf(path, sizeof path, "%s/memory.events", dir);
  if (access(path, F_OK) < 0) return -1;
  return cg_read_keyed(dir, "memory.events", "oom_kill", v);
}

int cgroup_v2_oom_open(const char *dir, int *fd, uint64_t *state, struct isola_err *err) {
  char path[1200];
  snprintf(path, sizeof path, "%s/memory.events", dir);
  _cleanup_close_ int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in < 0) return isola_fail_errno(err, errno, "inotify");
  if (inotify_add_watch(in, path, IN_MODIFY) < 0)
    return isola_fail_errno(err, errno, "watch `%s`", path);
  if (oom_kills(dir, state) < 0) *state = 0;
  *fd = take_fd(&in);
  return 0;
}

int cgroup_v2_oom_read(int fd, const char *dir, uint64_t *state, unsigned *events, bool *gone) {
  char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (char *p = buf; p < buf + n; p += sizeof(struct inotify_event) + ((struct inotify_event *)p)->len)
      if (((struct inotify_event *)p)->mask & IN_IGNORED) *gone = true;
  uint64_t now;
  if (oom_kills(dir, &now) < 0) {
    *gone = true;
    return 0;
  }
  if (now > *state) *events = (unsigned)(now - *state);
  *state = now;
  return 0;
}
