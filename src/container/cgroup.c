/* Control groups: finding hierarchies, creating, entering and removing the container's, and
 * dispatching resources, freezer, stats and OOM events to the backend of each hierarchy. */
#include "container/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup_backend.h"
#include "core/cleanup.h"
#include "core/log.h"

struct hier {
  char mount[256];     /* where the hierarchy is mounted */
  char self[512];      /* the runtime's own cgroup in it */
  char opts[256];      /* controllers ("cpu,cpuacct"), "" for cgroup2 */
  char ctrls[256];     /* usable controllers: v1 the same, v2 the root's cgroup.controllers */
  bool v2;
};

#define MAX_HIER 16

/* A hierarchy and the container's directory in it. */
struct cg_hier {
  char mount[256];
  char dir[1400];
  char ctrls[256];
  bool v2;
};

struct cg_set {
  struct cg_hier h[MAX_HIER];
  size_t n;
};

/* Does the comma list `opts` contain every controller of the comma list `ctrls`? */
static bool opts_have(const char *opts, const char *ctrls) {
  char buf[256];
  snprintf(buf, sizeof buf, "%s", ctrls);
  char *save, *tok;
  for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    size_t n = strlen(tok);
    const char *p = opts;
    bool found = false;
    while ((p = strstr(p, tok))) {
      if ((p == opts || p[-1] == ',') && (p[n] == ',' || p[n] == 0)) { found = true; break; }
      p += n;
    }
    if (!found) return false;
  }
  return true;
}

/* cgroup.controllers ("cpu io memory") as a comma list. */
static void read_controllers(const char *dir, char *out, size_t len) {
  out[0] = 0;
  if (cg_read_file(dir, "cgroup.controllers", out, len) < 0) return;
  out[strcspn(out, "\n")] = 0;
  for (char *p = out; *p; p++)
    if (*p == ' ') *p = ',';
}

static int find_hierarchies(struct hier *h, size_t *n, struct isola_err *err) {
  _cleanup_fclose_ FILE *cg = fopen("/proc/self/cgroup", "re");
  _cleanup_fclose_ FILE *mi = fopen("/proc/self/mountinfo", "re");
  if (!cg || !mi) return isola_fail_errno(err, errno, "cgroups: read /proc/self");
  struct { char ctrls[256], path[512]; } own[MAX_HIER];
  size_t nown = 0;
  char line[4096];
  while (nown < MAX_HIER && fgets(line, sizeof line, cg)) {
    char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    if (!b) continue;
    *b = 0;
    line[strcspn(line, "\n")] = 0;
    b[1 + strcspn(b + 1, "\n")] = 0;
    snprintf(own[nown].ctrls, sizeof own[nown].ctrls, "%s", a + 1);
    snprintf(own[nown].path, sizeof own[nown].path, "%s", b + 1);
    nown++;
  }
  *n = 0;
  while (*n < MAX_HIER && fgets(line, sizeof line, mi)) {
    /* id parent maj:min root mountpoint opts [optional...] - fstype source superopts */
    char *dash = strstr(line, " - ");
    if (!dash) continue;
    char fstype[32], source[256], super[512], root[512], mnt[256];
    if (sscanf(dash + 3, "%31s %255s %511s", fstype, source, super) < 3) continue;
    if (sscanf(line, "%*s %*s %*s %511s %255s", root, mnt) < 2) continue;
    bool v2 = !strcmp(fstype, "cgroup2");
    if (!v2 && strcmp(fstype, "cgroup")) continue;
    if (strcmp(root, "/")) continue; /* a bind of a sub-cgroup, not the hierarchy root */
    struct hier *x = &h[*n];
    memset(x, 0, sizeof *x);
    x->v2 = v2;
    snprintf(x->mount, sizeof x->mount, "%s", mnt);
    for (size_t i = 0; i < nown; i++) {
      bool match = v2 ? own[i].ctrls[0] == 0
                      : own[i].ctrls[0] && opts_have(super, own[i].ctrls);
      if (!match) continue;
      snprintf(x->self, sizeof x->self, "%s", own[i].path);
      snprintf(x->opts, sizeof x->opts, "%s", own[i].ctrls);
      /* Skip duplicates: the same hierarchy mounted twice. */
      bool dup = false;
      for (size_t k = 0; k < *n; k++) dup |= h[k].v2 == v2 && !strcmp(h[k].opts, x->opts);
      if (dup) break;
      if (v2) read_controllers(x->mount, x->ctrls, sizeof x->ctrls);
      else snprintf(x->ctrls, sizeof x->ctrls, "%s", x->opts);
      (*n)++;
      break;
    }
  }
  return 0;
}

/* 0, or the errno of opening or writing. */
static int write_value(const char *dir, const char *file, const char *val) {
  char path[1600];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  ssize_t len = (ssize_t)strlen(val);
  ssize_t w = write(fd, val, (size_t)len);
  return w == len ? 0 : w < 0 ? errno : EIO;
}

static int write_file(const char *dir, const char *file, const char *val) {
  int e = write_value(dir, file, val);
  return e ? (errno = e, -1) : 0;
}

/* A v1 cpuset cgroup starts with no cpus and mems: copy the parent's, or no task can join. */
static void cpuset_inherit(const char *dir) {
  char parent[1024], buf[256];
  snprintf(parent, sizeof parent, "%s", dir);
  char *slash = strrchr(parent, '/');
  if (!slash) return;
  *slash = 0;
  static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};
  for (int i = 0; i < 2; i++) {
    if (cg_read_file(dir, files[i], buf, sizeof buf) > 0 && buf[0] != '\n') continue;
    if (cg_read_file(parent, files[i], buf, sizeof buf) > 0) write_file(dir, files[i], buf);
  }
}

/* mkdir -p below `mount`, recording what was created in `made`; cpuset dirs inherit. */
static int make_dirs(const char *mount, const char *rel, bool cpuset, json_t *made) {
  char path[1024];
  int n = snprintf(path, sizeof path, "%s/%s", mount, rel);
  if (n < 0 || (size_t)n >= sizeof path) return errno = ENAMETOOLONG, -1;
  for (char *p = path + strlen(mount) + 1; ; p++) {
    if (*p != '/' && *p != 0) continue;
    char c = *p;
    *p = 0;
    if (mkdir(path, 0755) == 0) {
      json_array_append_new(made, json_string(path));
      if (cpuset) cpuset_inherit(path);
    } else if (errno != EEXIST) {
      return -1;
    }
    if (!c) break;
    *p = '/';
  }
  return 0;
}

/* v2: a controller shows up in a cgroup only when every ancestor lists it in
 * cgroup.subtree_control. Enable what the hierarchy's root offers on the way from the root to
 * the container's parent, as runc does; a refusal (a parent holding processes) is left for the
 * write that needs the controller to report. */
static void v2_enable_controllers(const char *mount, const char *dir, const char *ctrls) {
  char path[1400];
  snprintf(path, sizeof path, "%s", dir);
  size_t mlen = strlen(mount);
  char *leaf = strrchr(path, '/');
  if (!leaf || leaf < path + mlen) return;
  *leaf = 0; /* from the root down to the container's parent */
  for (char *p = path + mlen;;) {
    char save = *p;
    *p = 0;
    char cur[512];
    if (cg_read_file(path, "cgroup.subtree_control", cur, sizeof cur) < 0) cur[0] = 0;
    cur[strcspn(cur, "\n")] = 0;
    for (char *q = cur; *q; q++)
      if (*q == ' ') *q = ',';
    char list[256], *save_ptr, *c;
    snprintf(list, sizeof list, "%s", ctrls);
    for (c = strtok_r(list, ",", &save_ptr); c; c = strtok_r(NULL, ",", &save_ptr)) {
      if (opts_have(cur, c)) continue;
      char plus[64];
      snprintf(plus, sizeof plus, "+%s", c);
      int e = write_value(path, "cgroup.subtree_control", plus);
      if (e) isola_debug("cgroup: enable %s in `%s`: %s", c, path, strerror(e));
    }
    *p = save;
    if (!save) break;
    char *next = strchr(p + 1, '/');
    p = next ? next : p + strlen(p);
  }
}

/* The path below each hierarchy, before joining with the runtime's own cgroup. */
static void normalize(const char *cgroups_path, const char *id, char *out, size_t len) {
  if (!cgroups_path || !cgroups_path[0]) {
    snprintf(out, len, "/isola/%s", id);
    return;
  }
  const char *c1 = strchr(cgroups_path, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
  if (c2 && cgroups_path[0] != '/') { /* slice:prefix:name */
    snprintf(out, len, "/%.*s/%.*s-%s.scope", (int)(c1 - cgroups_path), cgroups_path,
             (int)(c2 - c1 - 1), c1 + 1, c2 + 1);
    return;
  }
  snprintf(out, len, "%s", cgroups_path);
}

/* The hierarchies of the container from its recorded directories. */
static int set_from_dirs(json_t *dirs, struct cg_set *set, struct isola_err *err) {
  struct hier h[MAX_HIER];
  size_t n = 0;
  set->n = 0;
  if (find_hierarchies(h, &n, err) < 0) return -1;
  for (size_t i = 0; i < json_array_size(dirs) && set->n < MAX_HIER; i++) {
    const char *d = json_string_value(json_array_get(dirs, i));
    if (!d) continue;
    int best = -1;
    size_t best_len = 0;
    for (size_t k = 0; k < n; k++) {
      size_t ml = strlen(h[k].mount);
      if (!strncmp(d, h[k].mount, ml) && d[ml] == '/' && ml > best_len) {
        best = (int)k;
        best_len = ml;
      }
    }
    if (best < 0) continue;
    struct cg_hier *x = &set->h[set->n++];
    snprintf(x->mount, sizeof x->mount, "%s", h[best].mount);
    snprintf(x->dir, sizeof x->dir, "%s", d);
    snprintf(x->ctrls, sizeof x->ctrls, "%s", h[best].ctrls);
    x->v2 = h[best].v2;
  }
  if (set->n == 0)
    return isola_fail(err, ENOENT, "the container has no cgroup on this host's hierarchies");
  return 0;
}

/* The hierarchy that holds controller `ctrl` (v1 first), -1 when none. "" means any v2. */
static int set_find(const struct cg_set *set, const char *v1, const char *v2) {
  for (size_t i = 0; v1 && i < set->n; i++)
    if (!set->h[i].v2 && opts_have(set->h[i].ctrls, v1)) return (int)i;
  for (size_t i = 0; v2 && i < set->n; i++)
    if (set->h[i].v2 && (!v2[0] || opts_have(set->h[i].ctrls, v2))) return (int)i;
  return -1;
}

static bool set_has_v1(const struct cg_set *set) {
  for (size_t i = 0; i < set->n; i++)
    if (!set->h[i].v2) return true;
  return false;
}

/* A file write failed with `e`: the message names the JSON path, the file and the cause. */
static int step_error(const struct cg_set *set, const struct cg_step *s, const char *file,
                      const char *val, int e, const char *where, struct isola_err *err) {
  const struct cg_hier *h = &set->h[s->hier];
  if (e == ENOENT) {
    char have[256];
    if (h->v2 && s->ctrl && !opts_have(h->ctrls, s->ctrl))
      return isola_fail(err, ENOENT, "%s.%s: the %s controller is not available in this host's "
                        "cgroup v2 hierarchy%s", where, s->key, s->ctrl,
                        set_find(set, s->ctrl, NULL) >= 0 ? " (it is a cgroup v1 controller here)" : "");
    if (h->v2 && s->ctrl) {
      read_controllers(h->dir, have, sizeof have);
      if (!opts_have(have, s->ctrl))
        return isola_fail(err, ENOENT,
                          "%s.%s: the %s controller is not enabled for `%s` (a parent's "
                          "cgroup.subtree_control lacks it)", where, s->key, s->ctrl, h->dir);
    }
    if (s->ctrl)
      return isola_fail(err, ENOENT, "%s.%s: the %s controller on this host has no `%s`", where,
                        s->key, s->ctrl, file);
    return isola_fail(err, ENOENT, "%s.%s: this host's cgroup v2 has no `%s`", where, s->key, file);
  }
  if (e == EBUSY && !strcmp(file, "memory.limit_in_bytes")) {
    uint64_t use = 0, peak = 0;
    cg_read_u64(h->dir, "memory.usage_in_bytes", &use);
    cg_read_u64(h->dir, "memory.max_usage_in_bytes", &peak);
    return isola_fail(err, EBUSY, "%s.%s: unable to set memory limit to %s (current usage: %" PRIu64
                      ", peak usage: %" PRIu64 ")", where, s->key, val, use, peak);
  }
  if (e == EINVAL && !strcmp(file, "memory.limit_in_bytes")) {
    uint64_t sw;
    if (cg_read_u64(h->dir, "memory.memsw.limit_in_bytes", &sw) == 0 && strtoull(val, NULL, 10) > sw)
      return isola_fail(err, EINVAL, "%s.%s: %s is above the memory+swap limit %" PRIu64
                        " (set memory.swap too, --memory-swap for update)", where, s->key, val, sw);
  }
  return isola_fail_errno(err, e, "%s.%s: write `%s` to `%s/%s`", where, s->key,
                          cg_printable(val, (char[128]){0}, 128), h->dir, file);
}

/* Linux 5.16 or later (memory.kmem.limit_in_bytes is accepted there but not enforced). */
static bool kernel_5_16(void) {
  struct utsname u;
  unsigned major = 0, minor = 0;
  if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2) return true;
  return major > 5 || (major == 5 && minor >= 16);
}

/* Does one step. With `may_defer`, an EINVAL sets *deferred instead of failing. */
static int do_step(const struct cg_set *set, const struct cg_step *s, const char *where,
                   bool may_defer, bool *deferred, struct isola_err *err) {
  const struct cg_hier *h = &set->h[s->hier];
  if (s->kind == CGS_NOTE) {
    isola_debug("%s.%s: ignored: %s", where, s->key, s->note);
    return 0;
  }
  if (s->kind == CGS_BPF_DEVICES) {
    if (cgroup_v2_devices_apply(h->dir, s->rules, s->nrules, err) < 0)
      return isola_err_wrap(err, "%s.devices", where);
    return 0;
  }
  if (s->flags & CGW_CHECK_USAGE) {
    uint64_t use;
    char *end;
    unsigned long long v = strtoull(s->value, &end, 10);
    if (!*end && cg_read_u64(h->dir, s->usage_file, &use) == 0 && use > v)
      return isola_fail(err, EBUSY, "%s.%s: the limit %s is below the current usage %" PRIu64
                        " (checkBeforeUpdate)", where, s->key, s->value, use);
  }
  if ((s->flags & CGW_OLD_KERNEL) && kernel_5_16()) {
    isola_debug("%s.%s: ignored: %s", where, s->key, s->note ? s->note : "not enforced");
    return 0;
  }
  const char *file = s->file, *val = s->value;
  int e = write_value(h->dir, file, val);
  if (e == ENOENT && s->alt_file[0]) {
    file = s->alt_file;
    val = s->alt_value ? s->alt_value : s->value;
    e = write_value(h->dir, file, val);
  }
  if (e == 0) {
    char back[128];
    if ((s->flags & CGW_READBACK) && cg_read_file(h->dir, file, back, sizeof back) > 0) {
      back[strcspn(back, "\n")] = 0;
      if (strcmp(back, val))
        return isola_fail(err, ERANGE, "%s.%s: the kernel set `%s` to %s, not %s (out of its range)",
                          where, s->key, file, back, val);
    }
    return 0;
  }
  if (e == ENOENT && (s->flags & CGW_OPTIONAL)) return 0;
  if ((s->flags & CGW_NOTE) && (e == ENOENT || e == EOPNOTSUPP || e == EINVAL)) {
    isola_debug("%s.%s: ignored: %s (%s)", where, s->key, s->note ? s->note : "unsupported",
                strerror(e));
    return 0;
  }
  if (e == EINVAL && may_defer) {
    *deferred = true;
    return 0;
  }
  return step_error(set, s, file, val, e, where, err);
}

static int run_plan(const struct cg_set *set, const struct cg_plan *p, const char *where,
                    struct isola_err *err) {
  for (size_t i = 0; i < p->n; i++) {
    bool deferred = false;
    bool may = (p->s[i].flags & CGW_RETRY_AFTER) && i + 1 < p->n;
    if (do_step(set, &p->s[i], where, may, &deferred, err) < 0) return -1;
    if (!deferred) continue;
    /* The kernel checks each value against the others (memory <= memory+swap, quota against
     * period): the next step first, then this one again. */
    if (do_step(set, &p->s[i + 1], where, false, NULL, err) < 0 ||
        do_step(set, &p->s[i], where, false, NULL, err) < 0)
      return -1;
    i++;
  }
  return 0;
}

/* Not root in the initial user namespace: devices.allow and eBPF device programs are refused
 * there, and the user namespace already keeps the container from devices it may not use (as
 * runc, the devices section is then skipped). */
static bool unprivileged(void) {
  if (geteuid() != 0) return true;
  char buf[128];
  unsigned a, b, c;
  if (cg_read_file("/proc/self", "uid_map", buf, sizeof buf) <= 0) return false;
  return !(sscanf(buf, "%u %u %u", &a, &b, &c) == 3 && a == 0 && b == 0 && c == 4294967295u);
}

/* linux.devices as rules that allow them (a fifo needs none). Caller frees. */
static struct cg_dev_rule *config_devices(const struct oci_config *cfg, size_t *n) {
  *n = 0;
  if (!cfg || !cfg->ndevices) return NULL;
  struct cg_dev_rule *r = calloc(cfg->ndevices, sizeof *r);
  for (size_t i = 0; r && i < cfg->ndevices; i++) {
    const struct oci_device *d = &cfg->devices[i];
    if (d->type != 'c' && d->type != 'u' && d->type != 'b') continue;
    r[(*n)++] = (struct cg_dev_rule){true, d->type == 'b' ? 'b' : 'c', d->major, d->minor, 7};
  }
  return r;
}

/* Plans and applies `res` (NULL: nothing) on the hierarchies of `set`. With `devices`, the
 * device rules are applied even when `res` has none (the default set and linux.devices). */
static int apply_resources(const struct cg_set *set, json_t *res, const struct oci_config *cfg,
                           bool devices, const char *where, struct isola_err *err) {
  if (res && !json_is_object(res)) return isola_fail(err, EINVAL, "%s: expected an object", where);
  _cleanup_json_ json_t *empty = res ? NULL : json_object();
  if (!res) res = empty;
  struct cg_plan plan = {0};
  _cleanup_free_ struct cg_dev_rule *extra = config_devices(cfg, &plan.nextra);
  plan.extra = extra;
  int r = -1;
  for (int s = 0; s < CG_NSECTIONS; s++) {
    char key[160];
    const char *first = cg_section_first_key(res, (enum cg_section)s, key, sizeof key);
    if (!first && s == CG_DEVICES && devices) first = "devices";
    if (!first) continue;
    if (s == CG_DEVICES && unprivileged()) {
      isola_debug("%s.devices: skipped: not root in the initial user namespace", where);
      continue;
    }
    const char *v1 = cg_section_ctrl((enum cg_section)s, false);
    const char *v2 = cg_section_ctrl((enum cg_section)s, true);
    int hi = set_find(set, v1, v2);
    if (hi < 0) {
      if (s == CG_UNIFIED)
        isola_fail(err, ENOTSUP, "%s.%s: this host has no cgroup v2 hierarchy", where, first);
      else
        isola_fail(err, ENOTSUP, "%s.%s: the %s controller is not available on this host", where,
                   first, (set_has_v1(set) && v1) || !v2 || !v2[0] ? v1 : v2);
      goto out;
    }
    size_t from = plan.n;
    if ((set->h[hi].v2 ? cgroup_v2_map : cgroup_v1_map)((enum cg_section)s, res, where, &plan,
                                                          err) < 0)
      goto out;
    for (size_t k = from; k < plan.n; k++) plan.s[k].hier = hi;
  }
  r = run_plan(set, &plan, where, err);
out:
  cg_plan_release(&plan);
  return r;
}

/* ---- the container's cgroups -------------------------------------------------------------- */

/* The hierarchies, and the container's path below each one's mount (`rel`, normalized). */
static int container_paths(const char *cgroups_path, const char *id, struct hier *h, size_t *n,
                           char *rel, size_t len, struct isola_err *err) {
  if (find_hierarchies(h, n, err) < 0) return -1;
  normalize(cgroups_path, id, rel, len);
  size_t rl = strlen(rel);
  if (strstr(rel, "/../") || !strncmp(rel, "../", 3) || !strcmp(rel, "..") ||
      (rl >= 3 && !strcmp(rel + rl - 3, "/..")))
    return isola_fail(err, EINVAL, "linux.cgroupsPath: `%s` may not contain `..`", rel);
  return 0;
}

/* The container's directory below the mount of `h`, without leading slashes. */
static const char *below_mount(const struct hier *h, const char *rel, char *buf, size_t len) {
  if (rel[0] == '/') snprintf(buf, len, "%s", rel + 1);
  else snprintf(buf, len, "%s/%s", h->self[1] ? h->self + 1 : "", rel);
  while (*buf == '/') buf++;
  return buf;
}

int cgroup_dirs(const char *cgroups_path, const char *id, json_t **dirs_out,
                struct isola_err *err) {
  struct hier h[MAX_HIER];
  size_t n = 0;
  char rel[1024];
  if (container_paths(cgroups_path, id, h, &n, rel, sizeof rel, err) < 0) return -1;
  json_t *dirs = json_array();
  for (size_t i = 0; dirs && i < n; i++) {
    char buf[1024], dir[1300];
    snprintf(dir, sizeof dir, "%s/%s", h[i].mount, below_mount(&h[i], rel, buf, sizeof buf));
    json_array_append_new(dirs, json_string(dir));
  }
  if (!dirs) return isola_fail(err, ENOMEM, "cgroups");
  *dirs_out = dirs;
  return 0;
}

int cgroup_enter(const char *cgroups_path, const char *id, pid_t pid,
                 const struct oci_config *cfg, json_t **dirs_out, struct isola_err *err) {
  struct hier h[MAX_HIER];
  size_t n = 0;
  char rel[1024], pidstr[32];
  if (container_paths(cgroups_path, id, h, &n, rel, sizeof rel, err) < 0) return -1;
  snprintf(pidstr, sizeof pidstr, "%d", pid);
  _cleanup_free_ struct cg_set *set = calloc(1, sizeof *set);
  if (!set) return isola_fail(err, ENOMEM, "cgroups");
  json_t *made = json_array(), *dirs = json_array();
  for (size_t i = 0; i < n; i++) {
    char rel_full[1024];
    const char *f = below_mount(&h[i], rel, rel_full, sizeof rel_full);
    bool cpuset = !h[i].v2 && opts_have(h[i].opts, "cpuset");
    struct cg_hier *x = &set->h[set->n++];
    snprintf(x->dir, sizeof x->dir, "%s/%s", h[i].mount, f);
    snprintf(x->mount, sizeof x->mount, "%s", h[i].mount);
    snprintf(x->ctrls, sizeof x->ctrls, "%s", h[i].ctrls);
    x->v2 = h[i].v2;
    if (make_dirs(h[i].mount, f, cpuset, made) < 0) {
      isola_fail_errno(err, errno, "linux.cgroupsPath: create cgroup `%s`", x->dir);
      goto fail;
    }
    if (x->v2 && x->ctrls[0]) v2_enable_controllers(x->mount, x->dir, x->ctrls);
    json_array_append_new(dirs, json_string(x->dir));
  }
  /* Limits before the process joins: it never runs unconfined, and a v1 cpuset has its cpus
   * before a task needs them. */
  if (cfg && apply_resources(set, cfg->resources, cfg, true, "config.json: linux.resources", err) < 0)
    goto fail;
  for (size_t i = 0; i < set->n; i++)
    if (write_file(set->h[i].dir, "cgroup.procs", pidstr) < 0) {
      isola_fail_errno(err, errno, "linux.cgroupsPath: enter cgroup `%s`", set->h[i].dir);
      goto fail;
    }
  /* Only the container's own directories are removed at delete: shared parents ("/isola")
   * may hold other containers. The leaf of each hierarchy is the container's. */
  json_decref(made);
  *dirs_out = dirs;
  return 0;
fail:;
  struct isola_err ignored;
  cgroup_remove(made, &ignored);
  json_decref(made);
  json_decref(dirs);
  return -1;
}

int cgroup_remove(json_t *dirs, struct isola_err *err) {
  int r = 0;
  for (size_t i = json_array_size(dirs); i-- > 0;) {
    const char *d = json_string_value(json_array_get(dirs, i));
    if (!d) continue;
    /* The last task may still be exiting: retry EBUSY briefly. */
    for (int tries = 0; rmdir(d) < 0; tries++) {
      if (errno == ENOENT) break;
      if (errno != EBUSY || tries == 100) {
        r = isola_fail_errno(err, errno, "remove cgroup `%s`", d);
        break;
      }
      nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
    }
  }
  return r;
}

int cgroup_pids(json_t *dirs, pid_t **pids, size_t *n, struct isola_err *err) {
  *pids = NULL;
  *n = 0;
  const char *d = json_string_value(json_array_get(dirs, 0));
  if (!d) return 0;
  char path[1100];
  snprintf(path, sizeof path, "%s/cgroup.procs", d);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f) return errno == ENOENT ? 0 : isola_fail_errno(err, errno, "read `%s`", path);
  size_t cap = 0;
  int pid;
  while (fscanf(f, "%d", &pid) == 1) {
    if (*n == cap) {
      pid_t *np = realloc(*pids, (cap = cap ? cap * 2 : 16) * sizeof *np);
      if (!np) return isola_fail_errno(err, ENOMEM, "read `%s`", path);
      *pids = np;
    }
    (*pids)[(*n)++] = pid;
  }
  return 0;
}

int cgroup_update(json_t *dirs, json_t *resources, const struct oci_config *cfg,
                  const char *where, struct isola_err *err) {
  _cleanup_free_ struct cg_set *set = calloc(1, sizeof *set);
  if (!set) return isola_fail(err, ENOMEM, "cgroups");
  if (set_from_dirs(dirs, set, err) < 0) return -1;
  if (!json_is_object(resources)) return isola_fail(err, EINVAL, "%s: expected an object", where);
  _cleanup_json_ json_t *res = json_deep_copy(resources);
  if (!res) return isola_fail(err, ENOMEM, "%s", where);
  /* v2 takes swap alone (memory.swap.max = swap - limit): an update that gives only the swap
   * uses the limit in force. */
  json_t *mem = json_object_get(res, "memory");
  int hi = set_find(set, "memory", "memory");
  json_t *swap = json_object_get(mem, "swap"), *limit = json_object_get(mem, "limit");
  if (hi >= 0 && set->h[hi].v2 && json_is_object(mem) && swap && !json_is_null(swap) &&
      (!limit || json_is_null(limit))) {
    uint64_t cur;
    if (cg_read_u64(set->h[hi].dir, "memory.max", &cur) == 0)
      json_object_set_new(mem, "limit", json_integer(cur == UINT64_MAX ? -1 : (json_int_t)cur));
  }
  return apply_resources(set, res, cfg, false, where, err);
}

/* The freezer: v1's freezer hierarchy, else cgroup v2's cgroup.freeze. */
static int find_freezer(const struct cg_set *set, struct isola_err *err) {
  int i = set_find(set, "freezer", NULL);
  if (i >= 0) return i;
  for (size_t k = 0; k < set->n; k++) {
    char path[1500];
    snprintf(path, sizeof path, "%s/cgroup.freeze", set->h[k].dir);
    if (set->h[k].v2 && access(path, F_OK) == 0) return (int)k;
  }
  return isola_fail(err, ENOTSUP, "this host has no cgroup freezer (no v1 freezer hierarchy, no "
                    "cgroup v2 cgroup.freeze)");
}

int cgroup_freeze(json_t *dirs, bool frozen, struct isola_err *err) {
  _cleanup_free_ struct cg_set *set = calloc(1, sizeof *set);
  if (!set) return isola_fail(err, ENOMEM, "cgroups");
  if (set_from_dirs(dirs, set, err) < 0) return -1;
  int i = find_freezer(set, err);
  if (i < 0) return -1;
  return (set->h[i].v2 ? cgroup_v2_freeze : cgroup_v1_freeze)(set->h[i].dir, frozen, err);
}

int cgroup_frozen(json_t *dirs, bool *frozen, struct isola_err *err) {
  _cleanup_free_ struct cg_set *set = calloc(1, sizeof *set);
  *frozen = false;
  if (!set) return isola_fail(err, ENOMEM, "cgroups");
  if (set_from_dirs(dirs, set, err) < 0) return -1;
  int i = find_freezer(set, err);
  if (i < 0) return -1;
  return (set->h[i].v2 ? cgroup_v2_frozen : cgroup_v1_frozen)(set->h[i].dir, frozen, err);
}

int cgroup_stats(json_t *dirs, json_t **stats, struct isola_err *err) {
  _cleanup_free_ struct cg_set *set = calloc(1, sizeof *set);
  if (!set) return isola_fail(err, ENOMEM, "cgroups");
  if (set_from_dirs(dirs, set, err) < 0) return -1;
  /* runc's shape, with the members it always has. */
  json_t *d = json_pack(
      "{s:{s:{s:I,s:I}, s:{}}, s:{}, s:{s:{s:I,s:I}, s:{s:I,s:I}, s:{s:I,s:I}, s:{s:I,s:I}},"
      " s:{}, s:{}, s:{}, s:{}, s:n}",
      "cpu", "usage", "kernel", (json_int_t)0, "user", (json_int_t)0, "throttling", "cpuset",
      "memory", "usage", "limit", (json_int_t)0, "failcnt", (json_int_t)0, "swap", "limit",
      (json_int_t)0, "failcnt", (json_int_t)0, "kernel", "limit", (json_int_t)0, "failcnt",
      (json_int_t)0, "kernelTCP", "limit", (json_int_t)0, "failcnt", (json_int_t)0, "pids",
      "blkio", "hugetlb", "intel_rdt", "network_interfaces");
  if (!d) return isola_fail(err, ENOMEM, "stats");
  for (size_t i = 0; i < set->n; i++) {
    char list[256], *save, *c;
    snprintf(list, sizeof list, "%s", set->h[i].ctrls);
    for (c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
      if ((set->h[i].v2 ? cgroup_v2_stats : cgroup_v1_stats)(c, set->h[i].dir, d, err) < 0) {
        json_decref(d);
        return -1;
      }
  }
  *stats = d;
  return 0;
}

int cgroup_oom_open(json_t *dirs, struct cgroup_oom *w, struct isola_err *err) {
  memset(w, 0, sizeof *w);
  w->fd = -1;
  _cleanup_free_ struct cg_set *set = calloc(1, sizeof *set);
  if (!set) return isola_fail(err, ENOMEM, "cgroups");
  if (set_from_dirs(dirs, set, err) < 0) return -1;
  int i = set_find(set, "memory", "memory");
  if (i < 0) return isola_fail(err, ENOTSUP, "this host has no memory controller: no OOM events");
  w->v2 = set->h[i].v2;
  snprintf(w->dir, sizeof w->dir, "%s", set->h[i].dir);
  return (w->v2 ? cgroup_v2_oom_open : cgroup_v1_oom_open)(w->dir, &w->fd, &w->state, err);
}

void cgroup_oom_read(struct cgroup_oom *w, unsigned *events, bool *gone) {
  *events = 0;
  *gone = false;
  if (w->fd < 0) return;
  (w->v2 ? cgroup_v2_oom_read : cgroup_v1_oom_read)(w->fd, w->dir, &w->state, events, gone);
}

void cgroup_oom_close(struct cgroup_oom *w) {
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
}

/* ---- helpers shared by the backends -------------------------------------------------------- */

const char *cg_printable(const char *s, char *buf, size_t len) {
  size_t o = 0;
  for (; *s && o + 5 < len; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x20 && c != 0x7f) buf[o++] = (char)c;
    else o += (size_t)snprintf(buf + o, len - o, c == '\n' ? "\\n" : "\\x%02x", c);
  }
  if (*s) snprintf(buf + o, len - o, "..."); /* o <= len - 5: room for it */
  else buf[o] = 0;
  return buf;
}

int cg_read_file(const char *dir, const char *file, char *buf, size_t len) {
  char path[1600];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t off = 0;
  while (off + 1 < len) {
    ssize_t n = read(fd, buf + off, len - 1 - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (n == 0) break;
    off += (size_t)n;
  }
  buf[off] = 0;
  return (int)off;
}

int cg_read_u64(const char *dir, const char *file, uint64_t *out) {
  char buf[64], *end;
  if (cg_read_file(dir, file, buf, sizeof buf) <= 0) return -1;
  buf[strcspn(buf, "\n")] = 0;
  if (!strcmp(buf, "max")) {
    *out = UINT64_MAX;
    return 0;
  }
  errno = 0;
  unsigned long long v = strtoull(buf, &end, 10);
  if (errno || end == buf || *end) {
    /* v1 reports "-1" nowhere, but some files say "-1" for no limit (cfs_quota_us). */
    long long s = strtoll(buf, &end, 10);
    if (*end || s >= 0) return -1;
    v = UINT64_MAX;
  }
  *out = v;
  return 0;
}

int cg_read_keyed(const char *dir, const char *file, const char *key, uint64_t *out) {
  char path[1600], line[256];
  *out = 0;
  snprintf(path, sizeof path, "%s/%s", dir, file);
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (!f) return -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, key, kl) && line[kl] == ' ') {
      *out = strtoull(line + kl + 1, NULL, 10);
      return 0;
    }
  return 0;
}

const char *const *cg_hugepage_sizes(void) {
  static char names[8][16];
  static const char *list[9];
  static bool done;
  if (done) return list;
  done = true;
  _cleanup_closedir_ DIR *d = opendir("/sys/kernel/mm/hugepages");
  struct dirent *e;
  size_t n = 0;
  while (d && n < 8 && (e = readdir(d))) {
    unsigned long kb;
    if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1) continue;
    if (kb % (1024 * 1024) == 0) snprintf(names[n], sizeof names[n], "%luGB", kb / 1024 / 1024);
    else if (kb % 1024 == 0) snprintf(names[n], sizeof names[n], "%luMB", kb / 1024);
    else snprintf(names[n], sizeof names[n], "%luKB", kb);
    list[n] = names[n];
    n++;
  }
  list[n] = NULL;
  return list;
}

json_t *cg_json_obj(json_t *root, const char *k1, const char *k2) {
  json_t *o = root;
  const char *keys[2] = {k1, k2};
  for (int i = 0; i < 2 && keys[i]; i++) {
    json_t *c = json_object_get(o, keys[i]);
    if (!json_is_object(c)) {
      c = json_object();
      json_object_set_new(o, keys[i], c);
    }
    o = c;
  }
  return o;
}

void cg_json_set_u64(json_t *obj, const char *key, uint64_t v, bool omit_zero) {
  if (omit_zero && v == 0) return;
  /* JSON integers here are signed 64-bit: "no limit" (2^64-1) is written as runc prints it
   * only when it fits; otherwise as the largest value jansson holds. */
  json_object_set_new(obj, key, json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t)v));
}

/* "0-2,4" as a list of numbers (runc's cpuset stats). */
static json_t *range_list(const char *dir, const char *file) {
  char buf[512];
  json_t *a = json_array();
  if (cg_read_file(dir, file, buf, sizeof buf) <= 0) return a;
  char *save, *tok;
  for (tok = strtok_r(buf, ",\n", &save); tok && json_array_size(a) < 4096;
       tok = strtok_r(NULL, ",\n", &save)) {
    unsigned lo, hi;
    int n = sscanf(tok, "%u-%u", &lo, &hi);
    if (n < 1) continue;
    if (n == 1) hi = lo;
    for (unsigned i = lo; i <= hi && i - lo < 4096; i++) json_array_append_new(a, json_integer(i));
  }
  return a;
}

int cg_cpuset_stats(const char *dir, json_t *d) {
  json_t *c = cg_json_obj(d, "cpuset", NULL);
  json_t *a = range_list(dir, "cpuset.effective_cpus");
  if (!json_array_size(a)) {
    json_decref(a);
    a = range_list(dir, "cpuset.cpus.effective");
  }
  if (json_array_size(a)) json_object_set_new(c, "cpus", a);
  else json_decref(a);
  a = range_list(dir, "cpuset.effective_mems");
  if (!json_array_size(a)) {
    json_decref(a);
    a = range_list(dir, "cpuset.mems.effective");
  }
  if (json_array_size(a)) json_object_set_new(c, "mems", a);
  else json_decref(a);
  /* v1's flags, as runc reports them. */
  static const char *const flags[] = {"cpu_exclusive", "mem_hardwall", "mem_exclusive",
                                      "memory_migrate", "memory_spread_page",
                                      "memory_spread_slab", "memory_pressure",
                                      "sched_load_balance", NULL};
  for (size_t i = 0; flags[i]; i++) {
    char f[64];
    uint64_t v;
    snprintf(f, sizeof f, "cpuset.%s", flags[i]);
    if (cg_read_u64(dir, f, &v) == 0) cg_json_set_u64(c, flags[i], v, false);
  }
  char buf[32];
  if (cg_read_file(dir, "cpuset.sched_relax_domain_level", buf, sizeof buf) > 0)
    json_object_set_new(c, "sched_relax_domain_level", json_integer(strtoll(buf, NULL, 10)));
  return 0;
}
