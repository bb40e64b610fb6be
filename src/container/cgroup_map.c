/* linux.resources read and checked: which section needs which controller, typed reads that
 * name the JSON path, device rules, the mappings that are the same on v1 and v2, and plans.
 * Nothing here touches a cgroup: cgroup.c writes the plans. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "container/cgroup_backend.h"
#include "core/cleanup.h"

/* ---- linux.resources: sections and typed reads ------------------------------------------- */

const char *cg_section_ctrl(enum cg_section s, bool v2) {
  static const char *const v1n[CG_NSECTIONS] = {
      [CG_CPUSET] = "cpuset", [CG_DEVICES] = "devices", [CG_MEMORY] = "memory",
      [CG_CPU] = "cpu",       [CG_PIDS] = "pids",       [CG_BLKIO] = "blkio",
      [CG_HUGETLB] = "hugetlb", [CG_NET_CLS] = "net_cls", [CG_NET_PRIO] = "net_prio",
      [CG_RDMA] = "rdma",     [CG_UNIFIED] = NULL};
  static const char *const v2n[CG_NSECTIONS] = {
      [CG_CPUSET] = "cpuset", [CG_DEVICES] = "",  [CG_MEMORY] = "memory", [CG_CPU] = "cpu",
      [CG_PIDS] = "pids",     [CG_BLKIO] = "io",  [CG_HUGETLB] = "hugetlb", [CG_NET_CLS] = NULL,
      [CG_NET_PRIO] = NULL,   [CG_RDMA] = "rdma", [CG_UNIFIED] = ""};
  return s < CG_NSECTIONS ? (v2 ? v2n[s] : v1n[s]) : NULL;
}

static bool is_set(json_t *v) {
  if (!v || json_is_null(v)) return false;
  if (json_is_array(v)) return json_array_size(v) > 0;
  if (json_is_object(v)) return json_object_size(v) > 0;
  return true;
}

/* The first member of res[sec] that is set, skipping or keeping (`only`) the names in `names`.
 * A res[sec] that is not an object is returned as "sec" when `report` (for the mapper to name
 * the wrong type: once, when two sections share the object). */
static const char *first_member(json_t *res, const char *sec, const char *const *names,
                                bool only, bool report, char *buf, size_t len) {
  json_t *o = json_object_get(res, sec);
  if (!o || json_is_null(o)) return NULL;
  if (!json_is_object(o)) { /* the mapper reports the type, once */
    snprintf(buf, len, "%s", sec);
    return report ? buf : NULL;
  }
  const char *k;
  json_t *v;
  json_object_foreach(o, k, v) {
    bool listed = false;
    for (size_t i = 0; names && names[i]; i++) listed |= !strcmp(k, names[i]);
    if (listed != only || !is_set(v)) continue;
    snprintf(buf, len, "%s.%s", sec, k);
    return buf;
  }
  return NULL;
}

const char *cg_section_first_key(json_t *res, enum cg_section s, char *buf, size_t len) {
  static const char *const cpuset_keys[] = {"cpus", "mems", NULL};
  static const char *const classid[] = {"classID", NULL}, *const prios[] = {"priorities", NULL};
  switch (s) {
  case CG_CPUSET: return first_member(res, "cpu", cpuset_keys, true, false, buf, len);
  case CG_CPU: return first_member(res, "cpu", cpuset_keys, false, true, buf, len);
  case CG_MEMORY: return first_member(res, "memory", NULL, false, true, buf, len);
  case CG_PIDS: return first_member(res, "pids", NULL, false, true, buf, len);
  case CG_BLKIO: return first_member(res, "blockIO", NULL, false, true, buf, len);
  case CG_NET_CLS: return first_member(res, "network", classid, true, true, buf, len);
  case CG_NET_PRIO: return first_member(res, "network", prios, true, false, buf, len);
  case CG_UNIFIED: return first_member(res, "unified", NULL, false, true, buf, len);
  case CG_HUGETLB: case CG_RDMA: case CG_DEVICES: {
    const char *name = s == CG_HUGETLB ? "hugepageLimits" : s == CG_RDMA ? "rdma" : "devices";
    json_t *v = json_object_get(res, name);
    bool right = s == CG_RDMA ? json_is_object(v) : json_is_array(v);
    if (!v || json_is_null(v) || (right && !is_set(v))) return NULL;
    snprintf(buf, len, "%s", name);
    return buf;
  }
  default: return NULL;
  }
}

static const char *full(char *buf, size_t len, const char *path, const char *key) {
  if (path && *path) snprintf(buf, len, "%s.%s", path, key);
  else snprintf(buf, len, "%s", key);
  return buf;
}

static json_t *member(json_t *obj, const char *key) {
  json_t *v = json_object_get(obj, key);
  return json_is_null(v) ? NULL : v;
}

int cg_get_int(json_t *obj, const char *key, const char *where, const char *path, int64_t *out,
               struct isola_err *err) {
  json_t *v = member(obj, key);
  char p[256];
  if (!v) return 0;
  if (!json_is_integer(v))
    return isola_fail(err, EINVAL, "%s.%s: expected an integer", where, full(p, sizeof p, path, key));
  *out = json_integer_value(v);
  return 1;
}

int cg_get_uint(json_t *obj, const char *key, const char *where, const char *path,
                uint64_t max, uint64_t *out, struct isola_err *err) {
  int64_t v;
  char p[256];
  int r = cg_get_int(obj, key, where, path, &v, err);
  if (r <= 0) return r;
  if (v < 0 || (uint64_t)v > max)
    return isola_fail(err, EINVAL, "%s.%s: %" PRId64 " is out of range (0 to %" PRIu64 ")", where,
                      full(p, sizeof p, path, key), v, max);
  *out = (uint64_t)v;
  return 1;
}

int cg_get_bool(json_t *obj, const char *key, const char *where, const char *path, bool *out,
                struct isola_err *err) {
  json_t *v = member(obj, key);
  char p[256];
  if (!v) return 0;
  if (!json_is_boolean(v))
    return isola_fail(err, EINVAL, "%s.%s: expected true or false", where, full(p, sizeof p, path, key));
  *out = json_is_true(v);
  return 1;
}

int cg_get_str(json_t *obj, const char *key, const char *where, const char *path,
               const char **out, struct isola_err *err) {
  json_t *v = member(obj, key);
  char p[256];
  if (!v) return 0;
  if (!json_is_string(v))
    return isola_fail(err, EINVAL, "%s.%s: expected a string", where, full(p, sizeof p, path, key));
  *out = json_string_value(v);
  return 1;
}

int cg_get_obj(json_t *obj, const char *key, const char *where, const char *path, json_t **out,
               struct isola_err *err) {
  json_t *v = member(obj, key);
  char p[256];
  if (!v) return 0;
  if (!json_is_object(v))
    return isola_fail(err, EINVAL, "%s.%s: expected an object", where, full(p, sizeof p, path, key));
  *out = v;
  return 1;
}

int cg_get_arr(json_t *obj, const char *key, const char *where, const char *path, json_t **out,
               struct isola_err *err) {
  json_t *v = member(obj, key);
  char p[256];
  if (!v) return 0;
  if (!json_is_array(v))
    return isola_fail(err, EINVAL, "%s.%s: expected an array", where, full(p, sizeof p, path, key));
  if (json_array_size(v) > 4096)
    return isola_fail(err, E2BIG, "%s.%s: more than 4096 entries", where, full(p, sizeof p, path, key));
  *out = v;
  return 1;
}

/* ---- device rules ------------------------------------------------------------------------ */

#define MAX_DEV_RULES 1024

/* runc's allowed devices, and /dev/console. */
static const struct cg_dev_rule default_rules[] = {
    {true, 'c', -1, -1, CG_DEV_MKNOD},
    {true, 'b', -1, -1, CG_DEV_MKNOD},
    {true, 'c', 1, 3, 7},   /* /dev/null */
    {true, 'c', 1, 8, 7},   /* /dev/random */
    {true, 'c', 1, 7, 7},   /* /dev/full */
    {true, 'c', 5, 0, 7},   /* /dev/tty */
    {true, 'c', 1, 5, 7},   /* /dev/zero */
    {true, 'c', 1, 9, 7},   /* /dev/urandom */
    {true, 'c', 5, 1, 7},   /* /dev/console */
    {true, 'c', 136, -1, 7}, /* /dev/pts/N */
    {true, 'c', 5, 2, 7},   /* /dev/ptmx */
    {true, 'c', 10, 200, 7}, /* /dev/net/tun */
};
#define NDEFAULT (sizeof default_rules / sizeof *default_rules)

static int parse_rule(json_t *o, const char *where, size_t i, struct cg_dev_rule *r,
                      struct isola_err *err) {
  char path[64];
  snprintf(path, sizeof path, "devices[%zu]", i);
  if (!json_is_object(o)) return isola_fail(err, EINVAL, "%s.%s: expected an object", where, path);
  int got = cg_get_bool(o, "allow", where, path, &r->allow, err);
  if (got < 0) return -1;
  if (!got) return isola_fail(err, EINVAL, "%s.%s.allow: is required", where, path);
  const char *type = "a", *access = "rwm";
  if (cg_get_str(o, "type", where, path, &type, err) < 0 ||
      cg_get_str(o, "access", where, path, &access, err) < 0)
    return -1;
  if (strlen(type) != 1 || !strchr("abc", type[0]))
    return isola_fail(err, EINVAL, "%s.%s.type: `%s` is not a, b or c", where, path,
                      cg_printable(type, (char[32]){0}, 32));
  r->type = type[0];
  r->major = r->minor = -1;
  if (cg_get_int(o, "major", where, path, &r->major, err) < 0 ||
      cg_get_int(o, "minor", where, path, &r->minor, err) < 0)
    return -1;
  if (r->major < -1 || r->minor < -1 || r->major > UINT32_MAX || r->minor > UINT32_MAX)
    return isola_fail(err, EINVAL, "%s.%s: major and minor must be between -1 (any) and 2^32-1",
                      where, path);
  r->access = 0;
  for (const char *a = access; *a; a++) {
    unsigned bit = *a == 'r' ? CG_DEV_READ : *a == 'w' ? CG_DEV_WRITE : *a == 'm' ? CG_DEV_MKNOD : 0;
    if (!bit)
      return isola_fail(err, EINVAL, "%s.%s.access: `%s` is not a subset of rwm", where, path,
                        cg_printable(access, (char[32]){0}, 32));
    r->access |= bit;
  }
  if (!r->access) r->access = 7;
  return 0;
}

static bool is_all(const struct cg_dev_rule *r) {
  return r->type == 'a' && r->access == 7 && r->major == -1 && r->minor == -1;
}

int cg_device_rules(json_t *devices, const struct cg_dev_rule *extra, size_t nextra,
                    const char *where, struct cg_dev_rule **rules, size_t *n,
                    struct isola_err *err) {
  *rules = NULL;
  *n = 0;
  if (devices && !json_is_array(devices))
    return isola_fail(err, EINVAL, "%s.devices: expected an array", where);
  size_t cnt = json_array_size(devices);
  if (cnt > MAX_DEV_RULES || nextra > MAX_DEV_RULES)
    return isola_fail(err, E2BIG, "%s.devices: more than %d rules", where, MAX_DEV_RULES);
  /* A type-a rule that is not "everything" becomes a b and a c rule: v1 reads any rule that
   * starts with "a" as all devices and all access. */
  _cleanup_free_ struct cg_dev_rule *in = calloc(2 * cnt + 1, sizeof *in);
  struct cg_dev_rule *out = calloc(2 * cnt + NDEFAULT + nextra + 2, sizeof *out);
  if (!in || !out) {
    free(out);
    return isola_fail(err, ENOMEM, "%s.devices", where);
  }
  size_t m = 0, after = 0; /* the rules after the last deny-all start at in[after] */
  for (size_t i = 0; i < cnt; i++) {
    struct cg_dev_rule r;
    if (parse_rule(json_array_get(devices, i), where, i, &r, err) < 0) {
      free(out);
      return -1;
    }
    if (r.type == 'a' && !is_all(&r)) {
      r.type = 'b';
      in[m++] = r;
      r.type = 'c';
    }
    in[m++] = r;
    if (is_all(&r) && !r.allow) after = m; /* what came before it no longer matters */
  }
  size_t k = 0;
  out[k++] = (struct cg_dev_rule){false, 'a', -1, -1, 7};
  for (size_t i = 0; i < NDEFAULT; i++) out[k++] = default_rules[i];
  for (size_t i = 0; i < nextra; i++) out[k++] = extra[i];
  for (size_t i = after; i < m; i++) out[k++] = in[i];
  *rules = out;
  *n = k;
  return 0;
}

void cg_dev_rule_format(const struct cg_dev_rule *r, char *buf, size_t len) {
  if (r->type == 'a') {
    snprintf(buf, len, "a");
    return;
  }
  char maj[24], min[24], acc[4];
  size_t a = 0;
  if (r->major < 0) snprintf(maj, sizeof maj, "*");
  else snprintf(maj, sizeof maj, "%" PRId64, r->major);
  if (r->minor < 0) snprintf(min, sizeof min, "*");
  else snprintf(min, sizeof min, "%" PRId64, r->minor);
  if (r->access & CG_DEV_READ) acc[a++] = 'r';
  if (r->access & CG_DEV_WRITE) acc[a++] = 'w';
  if (r->access & CG_DEV_MKNOD) acc[a++] = 'm';
  acc[a] = 0;
  snprintf(buf, len, "%c %s:%s %s", r->type, maj, min, acc);
}

/* ---- mappings that are the same on both versions ---------------------------------------- */

#define W(ctrl, key, file, val, flags)                                                       \
  do {                                                                                       \
    if (!cg_plan_write(p, s, ctrl, key, file, val, flags, err)) return -1;                   \
  } while (0)

static void i64s(char *buf, size_t len, int64_t v) { snprintf(buf, len, "%" PRId64, v); }
static void u64s(char *buf, size_t len, uint64_t v) { snprintf(buf, len, "%" PRIu64, v); }

/* cpuset lists go into files verbatim: nothing but what the kernel parses. */
static int check_list(const char *v, const char *where, const char *key, struct isola_err *err) {
  for (const char *c = v; *c; c++)
    if (!strchr("0123456789,- ", *c))
      return isola_fail(err, EINVAL, "%s.%s: `%s` is not a list like 0-3,5", where, key,
                        cg_printable(v, (char[64]){0}, 64));
  return 0;
}

int cg_check_pagesize(const char *ps, const char *where, const char *key, struct isola_err *err) {
  size_t i = 0;
  while (ps[i] >= '0' && ps[i] <= '9') i++;
  bool ok = i > 0 && i < 8;
  if (ok && ps[i] && strchr("KMGTP", ps[i])) i++;
  ok = ok && ps[i] == 'B' && ps[i + 1] == 0;
  if (!ok)
    return isola_fail(err, EINVAL, "%s.%s: `%s` is not a page size like 2MB", where, key,
                      cg_printable(ps, (char[64]){0}, 64));
  return 0;
}


int cg_map_cpuset(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_CPUSET;
  json_t *c = NULL;
  const char *cpus = NULL, *mems = NULL;
  if (cg_get_obj(res, "cpu", where, "", &c, err) < 0) return -1;
  if (!c) return 0;
  if (cg_get_str(c, "cpus", where, "cpu", &cpus, err) < 0 ||
      cg_get_str(c, "mems", where, "cpu", &mems, err) < 0)
    return -1;
  if (cpus && cpus[0]) {
    if (check_list(cpus, where, "cpu.cpus", err) < 0) return -1;
    W("cpuset", "cpu.cpus", "cpuset.cpus", cpus, 0);
  }
  if (mems && mems[0]) {
    if (check_list(mems, where, "cpu.mems", err) < 0) return -1;
    W("cpuset", "cpu.mems", "cpuset.mems", mems, 0);
  }
  return 0;
}

int cg_map_pids(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_PIDS;
  json_t *o = NULL;
  int64_t limit = 0;
  if (cg_get_obj(res, "pids", where, "", &o, err) < 0) return -1;
  if (!o) return 0;
  int h = cg_get_int(o, "limit", where, "pids", &limit, err);
  if (h < 0) return -1;
  if (!h || limit == 0) return 0; /* 0: unset, as runc reads it */
  char v[32] = "max";
  if (limit > 0) i64s(v, sizeof v, limit);
  W("pids", "pids.limit", "pids.max", v, 0);
  return 0;
}

int cg_dev_entries(json_t *bio, const char *name, const char *where, struct dev_entry **out,
                   size_t *n, struct isola_err *err) {
  json_t *a = NULL;
  *out = NULL;
  *n = 0;
  char path[64];
  snprintf(path, sizeof path, "blockIO");
  if (cg_get_arr(bio, name, where, path, &a, err) < 0) return -1;
  if (!a || !json_array_size(a)) return 0;
  struct dev_entry *e = calloc(json_array_size(a), sizeof *e);
  if (!e) return isola_fail(err, ENOMEM, "%s.blockIO.%s", where, name);
  for (size_t i = 0; i < json_array_size(a); i++) {
    snprintf(e[i].path, sizeof e[i].path, "blockIO.%s[%zu]", name, i);
    e[i].obj = json_array_get(a, i);
    int hm, hn;
    if (!json_is_object(e[i].obj)) {
      isola_fail(err, EINVAL, "%s.%s: expected an object", where, e[i].path);
      free(e);
      return -1;
    }
    if ((hm = cg_get_int(e[i].obj, "major", where, e[i].path, &e[i].major, err)) < 0 ||
        (hn = cg_get_int(e[i].obj, "minor", where, e[i].path, &e[i].minor, err)) < 0) {
      free(e);
      return -1;
    }
    if (!hm || !hn || e[i].major < 0 || e[i].minor < 0 || e[i].major > UINT32_MAX ||
        e[i].minor > UINT32_MAX) {
      isola_fail(err, EINVAL, "%s.%s: major and minor are required, 0 to 2^32-1", where, e[i].path);
      free(e);
      return -1;
    }
  }
  *out = e;
  *n = json_array_size(a);
  return 0;
}


/* hugepageLimits: `suffix` is "limit_in_bytes" (v1) or "max" (v2). */
int cg_map_hugetlb(json_t *res, const char *where, const char *suffix, const char *rsvd,
                   struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_HUGETLB;
  json_t *a = NULL;
  if (cg_get_arr(res, "hugepageLimits", where, "", &a, err) < 0) return -1;
  for (size_t i = 0; a && i < json_array_size(a); i++) {
    char path[64], file[96], key[96], v[32];
    snprintf(path, sizeof path, "hugepageLimits[%zu]", i);
    json_t *o = json_array_get(a, i);
    const char *ps = NULL;
    uint64_t limit = 0;
    int hp, hl;
    if (!json_is_object(o)) return isola_fail(err, EINVAL, "%s.%s: expected an object", where, path);
    if ((hp = cg_get_str(o, "pageSize", where, path, &ps, err)) < 0 ||
        (hl = cg_get_uint(o, "limit", where, path, UINT64_MAX >> 1, &limit, err)) < 0)
      return -1;
    snprintf(key, sizeof key, "%s.pageSize", path);
    if (!hp) return isola_fail(err, EINVAL, "%s.%s: is required", where, key);
    if (!hl) return isola_fail(err, EINVAL, "%s.%s.limit: is required", where, path);
    if (cg_check_pagesize(ps, where, key, err) < 0) return -1;
    u64s(v, sizeof v, limit);
    snprintf(key, sizeof key, "%s.limit", path);
    snprintf(file, sizeof file, "hugetlb.%s.%s", ps, suffix);
    W("hugetlb", key, file, v, 0);
    snprintf(file, sizeof file, "hugetlb.%s.%s", ps, rsvd); /* reservations, where present */
    W("hugetlb", key, file, v, CGW_OPTIONAL);
  }
  return 0;
}

int cg_map_rdma(json_t *res, const char *where, struct cg_plan *p, struct isola_err *err) {
  const enum cg_section s = CG_RDMA;
  json_t *o = NULL, *dev;
  const char *name;
  if (cg_get_obj(res, "rdma", where, "", &o, err) < 0) return -1;
  json_object_foreach(o, name, dev) {
    char path[160], v[256], hs[24] = "max", os[24] = "max", shown[100];
    snprintf(path, sizeof path, "rdma.%s", cg_printable(name, shown, sizeof shown));
    if (!name[0] || strpbrk(name, " \n\t=/"))
      return isola_fail(err, EINVAL, "%s.%s: not a device name", where, path);
    if (!json_is_object(dev)) return isola_fail(err, EINVAL, "%s.%s: expected an object", where, path);
    uint64_t h = 0, ob = 0;
    int a, b;
    if ((a = cg_get_uint(dev, "hcaHandles", where, path, UINT32_MAX, &h, err)) < 0 ||
        (b = cg_get_uint(dev, "hcaObjects", where, path, UINT32_MAX, &ob, err)) < 0)
      return -1;
    if (!a && !b) continue;
    if (a) u64s(hs, sizeof hs, h);
    if (b) u64s(os, sizeof os, ob);
    snprintf(v, sizeof v, "%s hca_handle=%s hca_object=%s", name, hs, os);
    W("rdma", path, "rdma.max", v, 0);
  }
  return 0;
}


/* ---- plans ------------------------------------------------------------------------------- */

void cg_plan_release(struct cg_plan *p) {
  for (size_t i = 0; i < p->n; i++) {
    free(p->s[i].value);
    free(p->s[i].alt_value);
    free(p->s[i].rules);
    free(p->s[i].note);
  }
  free(p->s);
  memset(p, 0, sizeof *p);
}

static struct cg_step *plan_add(struct cg_plan *p, enum cg_section sec, const char *key,
                                struct isola_err *err) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 16;
    struct cg_step *s = realloc(p->s, cap * sizeof *s);
    if (!s) {
      isola_fail(err, ENOMEM, "cgroup plan");
      return NULL;
    }
    p->s = s;
    p->cap = cap;
  }
  struct cg_step *s = &p->s[p->n++];
  memset(s, 0, sizeof *s);
  s->section = sec;
  snprintf(s->key, sizeof s->key, "%s", key);
  return s;
}

struct cg_step *cg_plan_write(struct cg_plan *p, enum cg_section sec, const char *ctrl,
                              const char *key, const char *file, const char *value,
                              unsigned flags, struct isola_err *err) {
  struct cg_step *s = plan_add(p, sec, key, err);
  if (!s) return NULL;
  s->kind = CGS_WRITE;
  s->ctrl = ctrl;
  snprintf(s->file, sizeof s->file, "%s", file);
  s->flags = flags;
  if (!(s->value = strdup(value))) {
    p->n--;
    isola_fail(err, ENOMEM, "cgroup plan");
    return NULL;
  }
  return s;
}

int cg_plan_note(struct cg_plan *p, enum cg_section sec, const char *key, const char *why,
                 struct isola_err *err) {
  struct cg_step *s = plan_add(p, sec, key, err);
  if (!s) return -1;
  s->kind = CGS_NOTE;
  if (!(s->note = strdup(why))) {
    p->n--;
    return isola_fail(err, ENOMEM, "cgroup plan");
  }
  return 0;
}

int cg_read_memory(json_t *res, const char *where, struct cg_memory *m, struct isola_err *err) {
  json_t *o = NULL;
  memset(m, 0, sizeof *m);
  m->swappiness = -1;
  int r;
  if ((r = cg_get_obj(res, "memory", where, "", &o, err)) <= 0) return r;
  int hl, hs, hr, hk, ht, hw, ho, hh, hc;
  if ((hl = cg_get_int(o, "limit", where, "memory", &m->limit, err)) < 0 ||
      (hs = cg_get_int(o, "swap", where, "memory", &m->swap, err)) < 0 ||
      (hr = cg_get_int(o, "reservation", where, "memory", &m->reservation, err)) < 0 ||
      (hk = cg_get_int(o, "kernel", where, "memory", &m->kernel, err)) < 0 ||
      (ht = cg_get_int(o, "kernelTCP", where, "memory", &m->kernel_tcp, err)) < 0 ||
      (hw = cg_get_int(o, "swappiness", where, "memory", &m->swappiness, err)) < 0 ||
      (ho = cg_get_bool(o, "disableOOMKiller", where, "memory", &m->disable_oom, err)) < 0 ||
      (hh = cg_get_bool(o, "useHierarchy", where, "memory", &m->use_hierarchy, err)) < 0 ||
      (hc = cg_get_bool(o, "checkBeforeUpdate", where, "memory", &m->check_before_update, err)) < 0)
    return -1;
  /* 0 is "not set", as runc reads it. */
  m->has_limit = hl && m->limit != 0;
  m->has_swap = hs;
  m->has_reservation = hr && m->reservation != 0;
  m->has_kernel = hk && m->kernel != 0;
  m->has_kernel_tcp = ht && m->kernel_tcp != 0;
  m->has_swappiness = hw;
  m->has_disable_oom = ho;
  m->has_use_hierarchy = hh;
  m->has_check = hc;
  return 1;
}

int cg_read_cpu(json_t *res, const char *where, struct cg_cpu *c, struct isola_err *err) {
  json_t *o = NULL;
  memset(c, 0, sizeof *c);
  int r;
  if ((r = cg_get_obj(res, "cpu", where, "", &o, err)) <= 0) return r;
  int hs, hp, hq, hrp, hrr, hb, hi;
  if ((hs = cg_get_uint(o, "shares", where, "cpu", UINT64_MAX >> 1, &c->shares, err)) < 0 ||
      (hp = cg_get_uint(o, "period", where, "cpu", UINT64_MAX >> 1, &c->period, err)) < 0 ||
      (hq = cg_get_int(o, "quota", where, "cpu", &c->quota, err)) < 0 ||
      (hb = cg_get_uint(o, "burst", where, "cpu", UINT64_MAX >> 1, &c->burst, err)) < 0 ||
      (hrp = cg_get_uint(o, "realtimePeriod", where, "cpu", UINT64_MAX >> 1, &c->realtime_period,
                         err)) < 0 ||
      (hrr = cg_get_int(o, "realtimeRuntime", where, "cpu", &c->realtime_runtime, err)) < 0 ||
      (hi = cg_get_int(o, "idle", where, "cpu", &c->idle, err)) < 0)
    return -1;
  c->has_shares = hs, c->has_period = hp, c->has_quota = hq, c->has_burst = hb;
  c->has_realtime_period = hrp, c->has_realtime_runtime = hrr, c->has_idle = hi;
  return 1;
}
