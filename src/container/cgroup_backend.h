/* What cgroup.c asks of its two backends (cgroup_v1.c, cgroup_v2.c), chosen per hierarchy at
 * run time, and the pure mapping from linux.resources to cgroup files that the unit tests call
 * (the parts the same on both versions: cgroup_map.c).
 *
 * Applying resources is two phases. First each backend maps a section of linux.resources to a
 * plan: a list of (controller, file, value) steps, with no file touched, so every malformed
 * value is reported before anything changes. Then cgroup.c writes the plan, in order, into
 * the directory of the hierarchy that holds each controller (on a hybrid host memory is v1 and
 * hugetlb v2 within one plan).
 */
#ifndef ISOLA_CGROUP_BACKEND_H
#define ISOLA_CGROUP_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <linux/bpf.h>

#include "core/err.h"

/* Sections of linux.resources, in the order they are applied (runc's order; unified last so
 * that it overrides). Each maps to one controller. */
enum cg_section {
  CG_CPUSET,   /* cpu.cpus, cpu.mems */
  CG_DEVICES,  /* devices */
  CG_MEMORY,   /* memory */
  CG_CPU,      /* cpu.* except cpus and mems */
  CG_PIDS,     /* pids */
  CG_BLKIO,    /* blockIO: v1 blkio, v2 io */
  CG_HUGETLB,  /* hugepageLimits */
  CG_NET_CLS,  /* network.classID (v1 only) */
  CG_NET_PRIO, /* network.priorities (v1 only) */
  CG_RDMA,     /* rdma */
  CG_UNIFIED,  /* unified (v2 only) */
  CG_NSECTIONS
};

/* The controller a section needs on v1 and on v2 (NULL: none exists there). Devices on v2 need
 * no controller (an eBPF program), unified needs a v2 hierarchy. */
const char *cg_section_ctrl(enum cg_section s, bool v2);
/* The JSON path (below linux.resources) of the first value the section sets, in `buf`; NULL when
 * the section sets nothing (absent, null, or empty). */
const char *cg_section_first_key(json_t *res, enum cg_section s, char *buf, size_t len);

/* Step flags. */
#define CGW_OPTIONAL 1u      /* a missing file is skipped without a word ("where present") */
#define CGW_NOTE 2u          /* missing file, EOPNOTSUPP or EINVAL: a debug note, not an error */
#define CGW_RETRY_AFTER 4u   /* on EINVAL, do the next step first, then retry this one */
#define CGW_READBACK 8u      /* read back; a value the kernel changed is an error (cpu.shares) */
#define CGW_CHECK_USAGE 16u  /* refuse a limit below `usage_file` (memory.checkBeforeUpdate) */
#define CGW_OLD_KERNEL 32u   /* only before Linux 5.16, which stopped enforcing it: else a note */

enum cg_step_kind { CGS_WRITE, CGS_BPF_DEVICES, CGS_NOTE };

struct cg_step {
  enum cg_step_kind kind;
  enum cg_section section;
  int hier;            /* index into the hierarchy set; filled in by cgroup.c */
  const char *ctrl;    /* controller that owns the file, NULL for core files (cgroup.*) */
  char file[96];
  char *value;         /* owned */
  char alt_file[96];   /* tried when `file` does not exist ("" for none) */
  char *alt_value;     /* owned; NULL: same value */
  char key[160];       /* JSON path below linux.resources, for messages ("memory.limit") */
  unsigned flags;
  char usage_file[48]; /* CGW_CHECK_USAGE */
  struct cg_dev_rule *rules; /* CGS_BPF_DEVICES: owned */
  size_t nrules;
  char *note;          /* CGS_NOTE (a documented skip) and CGW_NOTE's text; owned */
};

struct cg_plan {
  struct cg_step *s;
  size_t n, cap;
  /* Input for the devices section: allowed besides the defaults (linux.devices). */
  const struct cg_dev_rule *extra;
  size_t nextra;
};

void cg_plan_release(struct cg_plan *p);
/* Appends a write step; returns it (NULL on ENOMEM, with err filled). */
struct cg_step *cg_plan_write(struct cg_plan *p, enum cg_section sec, const char *ctrl,
                              const char *key, const char *file, const char *value,
                              unsigned flags, struct isola_err *err);
/* Appends a documented skip: `key` is not applied, and --debug says why. */
int cg_plan_note(struct cg_plan *p, enum cg_section sec, const char *key, const char *why,
                 struct isola_err *err);

/* Typed reads of obj[key] with messages naming `where`.`path`.`key`. Each returns 1 when the
 * value is there, 0 when absent or null, -1 on a wrong type or range. */
int cg_get_int(json_t *obj, const char *key, const char *where, const char *path, int64_t *out,
               struct isola_err *err);
int cg_get_uint(json_t *obj, const char *key, const char *where, const char *path,
                uint64_t max, uint64_t *out, struct isola_err *err);
int cg_get_bool(json_t *obj, const char *key, const char *where, const char *path, bool *out,
                struct isola_err *err);
int cg_get_str(json_t *obj, const char *key, const char *where, const char *path,
               const char **out, struct isola_err *err);
/* obj[key] as an object / array (0 when absent or null). */
int cg_get_obj(json_t *obj, const char *key, const char *where, const char *path, json_t **out,
               struct isola_err *err);
int cg_get_arr(json_t *obj, const char *key, const char *where, const char *path, json_t **out,
               struct isola_err *err);

/* Device rules (linux.resources.devices), with access bits as the eBPF context has them. */
#define CG_DEV_MKNOD 1u
#define CG_DEV_READ 2u
#define CG_DEV_WRITE 4u

struct cg_dev_rule {
  bool allow;
  char type;           /* 'a', 'b', 'c' */
  int64_t major, minor; /* -1: any */
  unsigned access;     /* CG_DEV_* */
};

/* The container's device rules: everything denied; then the devices every container needs
 * (runc's list: /dev/null, zero, full, random, urandom, tty, console, ptmx, pts, tun, and mknod
 * of anything) and `extra` (linux.devices) allowed; then the rules of `devices` (may be NULL)
 * that come after the last one denying everything. They read as "for each access bit, the last
 * rule that matches decides" — what v1's devices.allow/deny sequence does and what the v2
 * program implements. The usual "deny all, then allow some" lists end as with runc, while a
 * rule can still deny a default device (runc appends its defaults last, so there it cannot). */
int cg_device_rules(json_t *devices, const struct cg_dev_rule *extra, size_t nextra,
                    const char *where, struct cg_dev_rule **rules, size_t *n,
                    struct isola_err *err);
/* "c 1:3 rwm", as devices.allow takes it. */
void cg_dev_rule_format(const struct cg_dev_rule *r, char *buf, size_t len);

/* Mappings that are the same on both versions (cgroup_map.c). */
int cg_map_cpuset(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err);
int cg_map_pids(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err);
int cg_map_rdma(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err);
/* hugepageLimits into hugetlb.<size>.<suffix> (and .<rsvd> where present). */
int cg_map_hugetlb(json_t *res, const char *where, const char *suffix, const char *rsvd,
                   struct cg_plan *p, struct isola_err *err);
/* "2MB", "1GB", "64KB". */
int cg_check_pagesize(const char *ps, const char *where, const char *key, struct isola_err *err);
/* One entry of a blockIO per-device list (weightDevice, throttle*Device). */
struct dev_entry {
  int64_t major, minor;
  json_t *obj;
  char path[96]; /* "blockIO.weightDevice[2]" */
};
/* blockIO[name] checked and split into entries; caller frees *out. */
int cg_dev_entries(json_t *bio, const char *name, const char *where, struct dev_entry **out,
                   size_t *n, struct isola_err *err);
/* cpuset stats from cpuset.effective_cpus (v1) or cpuset.cpus.effective (v2) (cgroup.c). */
int cg_cpuset_stats(const char *dir, json_t *d);

/* The mappers: append to `p` the steps that apply section `s` of `res`. `where` prefixes every
 * JSON path in messages ("config.json: linux.resources"). Pure: no file is read. */
int cgroup_v1_map(enum cg_section s, json_t *res, const char *where, struct cg_plan *p,
                  struct isola_err *err);
int cgroup_v2_map(enum cg_section s, json_t *res, const char *where, struct cg_plan *p,
                  struct isola_err *err);

/* runc's conversions from v1 values to v2 ones. */
uint64_t cg_shares_to_weight(uint64_t shares);
uint64_t cg_blkio_to_io_weight(uint64_t weight);
/* memory.swap.max from OCI swap (memory+swap, v1 style) and limit; -1 means "max", -2 "unset".
 * Fails on swap below limit or a swap without a limit. */
/* linux.resources.memory and .cpu as read, for both backends: each value with its `has_`
 * flag (a value of 0 counts as not given where runc reads it so: memory limit, reservation,
 * kernel, kernelTCP). Readers return 1 when the object is there, 0 when not, -1 on a type
 * error; what is valid depends on the cgroup version and is checked by the backend. */
struct cg_memory {
  int64_t limit, swap, reservation, kernel, kernel_tcp, swappiness;
  bool disable_oom, use_hierarchy, check_before_update;
  bool has_limit, has_swap, has_reservation, has_kernel, has_kernel_tcp, has_swappiness,
      has_disable_oom, has_use_hierarchy, has_check;
};
int cg_read_memory(json_t *res, const char *where, struct cg_memory *m, struct isola_err *err);

struct cg_cpu {
  uint64_t shares, period, realtime_period, burst;
  int64_t quota, realtime_runtime, idle;
  bool has_shares, has_period, has_quota, has_realtime_period, has_realtime_runtime, has_burst,
      has_idle;
};
int cg_read_cpu(json_t *res, const char *where, struct cg_cpu *c, struct isola_err *err);

int cg_swap_to_v2(int64_t swap, int64_t limit, bool has_limit, int64_t *out, const char *where,
                  struct isola_err *err);

/* The v2 device filter: an eBPF program of type BPF_PROG_TYPE_CGROUP_DEVICE implementing
 * `rules` as described at cg_device_rules. Caller frees *prog. */
int cgroup_v2_device_program(const struct cg_dev_rule *rules, size_t n, struct bpf_insn **prog,
                             size_t *len, struct isola_err *err);
/* Loads the program and attaches it to the v2 cgroup `dir` (BPF_F_ALLOW_MULTI), then detaches
 * the programs that were attached before, so an update replaces the filter. */
int cgroup_v2_devices_apply(const char *dir, const struct cg_dev_rule *rules, size_t n,
                            struct isola_err *err);

/* Freezer: v1 freezer.state, v2 cgroup.freeze. Waits until the kernel reports the new state. */
int cgroup_v1_freeze(const char *dir, bool frozen, struct isola_err *err);
int cgroup_v2_freeze(const char *dir, bool frozen, struct isola_err *err);
int cgroup_v1_frozen(const char *dir, bool *frozen, struct isola_err *err);
int cgroup_v2_frozen(const char *dir, bool *frozen, struct isola_err *err);

/* Stats of controller `ctrl` (as the hierarchy names it) into runc's stats object `data`. */
int cgroup_v1_stats(const char *ctrl, const char *dir, json_t *data, struct isola_err *err);
int cgroup_v2_stats(const char *ctrl, const char *dir, json_t *data, struct isola_err *err);

/* OOM notification. open: an fd that becomes readable on an OOM event; read: after it did (or
 * on a timeout), how many OOM kills happened since the last read, and whether the cgroup is
 * gone. `state` is the backend's bookkeeping. */
int cgroup_v1_oom_open(const char *dir, int *fd, uint64_t *state, struct isola_err *err);
int cgroup_v1_oom_read(int fd, const char *dir, uint64_t *state, unsigned *events, bool *gone);
int cgroup_v2_oom_open(const char *dir, int *fd, uint64_t *state, struct isola_err *err);
int cgroup_v2_oom_read(int fd, const char *dir, uint64_t *state, unsigned *events, bool *gone);

/* `s` for a one-line message: control characters as \n, \xNN; cut at `len`. */
const char *cg_printable(const char *s, char *buf, size_t len);

/* Small file helpers shared by the backends (cgroup.c). */
int cg_read_file(const char *dir, const char *file, char *buf, size_t len);
int cg_read_u64(const char *dir, const char *file, uint64_t *out); /* "max" reads as UINT64_MAX */
/* "key value" lines (memory.stat, cpu.stat): the value of `key`, 0 when missing. */
int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out);
/* The host's huge page sizes as runc names them ("2MB", "1GB"), NULL-terminated, static. */
const char *const *cg_hugepage_sizes(void);
/* obj[k1][k2]..., created as objects when missing. */
json_t *cg_json_obj(json_t *root, const char *k1, const char *k2);
void cg_json_set_u64(json_t *obj, const char *key, uint64_t v, bool omit_zero);

#endif
