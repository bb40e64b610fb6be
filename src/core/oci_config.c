/* config.json -> struct oci_config. Every reader takes the JSON path of what it reads, so an
 * error can say exactly where the document is wrong. */
#include "core/oci_config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <linux/capability.h>

#include "core/cleanup.h"
#include "core/json_parse.h"
#include "core/jsonio.h"

/* A JSON path under construction: "config.json: linux.namespaces[2].type". */
struct jpath {
  char s[512];
};

static const char *jp(struct jpath *p, const char *base, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *jp(struct jpath *p, const char *base, const char *fmt, ...) {
  va_list ap;
  int n = snprintf(p->s, sizeof p->s, "%s", base);
  if (n < 0 || (size_t)n >= sizeof p->s) return p->s;
  va_start(ap, fmt);
  vsnprintf(p->s + n, sizeof p->s - n, fmt, ap);
  va_end(ap);
  return p->s;
}

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

static int type_error(const char *where, const char *want, const json_t *got,
                      struct isola_err *err) {
  return isola_fail(err, EINVAL, "%s: expected %s, got %s", where, want, json_kind(got));
}

/* Each get_* reads an optional member: absent (or JSON null) leaves *out alone and returns 0. */
static int get_string(json_t *obj, const char *key, const char *where, char **out,
                      struct isola_err *err) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return type_error(where, "a string", v, err);
  char *s = strdup(json_string_value(v));
  if (!s) return isola_fail_errno(err, ENOMEM, "%s", where);
  free(*out);
  *out = s;
  return 0;
}

static int get_bool(json_t *obj, const char *key, const char *where, bool *out,
                    struct isola_err *err) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_boolean(v)) return type_error(where, "a boolean", v, err);
  *out = json_is_true(v);
  return 0;
}

/* An integer in [min, max]. Returns 1 when present, 0 when absent. */
static int get_int(json_t *obj, const char *key, const char *where, int64_t min, int64_t max,
                   int64_t *out, struct isola_err *err) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (!json_is_integer(v)) return type_error(where, "an integer", v, err);
  json_int_t i = json_integer_value(v);
  if (i < min || i > max)
    return isola_fail(err, ERANGE, "%s: %lld is out of range [%lld, %lld]", where, (long long)i,
                      (long long)min, (long long)max);
  *out = i;
  return 1;
}

/* An unsigned 64-bit integer; jansson holds 63 bits, so larger values arrive as reals. */
static int get_u64(json_t *obj, const char *key, const char *where, uint64_t *out,
                   struct isola_err *err) {
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v)) return 0;
  if (json_is_integer(v) && json_integer_value(v) >= 0) {
    *out = (uint64_t)json_integer_value(v);
    return 1;
  }
  if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) <= 18446744073709551615.0) {
    double d = json_real_value(v);
    *out = d >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)d;
    return 1;
  }
  return type_error(where, "an unsigned integer", v, err);
}

static int get_object(json_t *obj, const char *key, const char *where, json_t **out,
                      struct isola_err *err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_object(v)) return type_error(where, "an object", v, err);
  *out = v;
  return 1;
}

static int get_array(json_t *obj, const char *key, const char *where, json_t **out,
                     struct isola_err *err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_array(v)) return type_error(where, "an array", v, err);
  *out = v;
  return 1;
}

static void free_strv(char **v) {
  if (!v) return;
  for (char **p = v; *p; p++) free(*p);
  free(v);
}

/* An array of strings -> NULL-terminated vector. */
static int get_strv(json_t *obj, const char *key, const char *where, char ***out, size_t *n,
                    struct isola_err *err) {
  json_t *arr;
  struct jpath p;
  int r = get_array(obj, key, where, &arr, err);
  if (r <= 0) return r;
  size_t len = json_array_size(arr);
  char **v = calloc(len + 1, sizeof *v);
  if (!v) return isola_fail_errno(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < len; i++) {
    json_t *s = json_array_get(arr, i);
    if (!json_is_string(s)) {
      free_strv(v);
      return type_error(jp(&p, where, "[%zu]", i), "a string", s, err);
    }
    if (!(v[i] = strdup(json_string_value(s)))) {
      free_strv(v);
      return isola_fail_errno(err, ENOMEM, "%s", where);
    }
  }
  free_strv(*out);
  *out = v;
  if (n) *n = len;
  return 0;
}

/* ---- capabilities ------------------------------------------------------------------------- */

static const char *const cap_names[] = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
    "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int oci_cap_last(void) { return (int)(sizeof cap_names / sizeof *cap_names) - 1; }

int oci_cap_from_name(const char *name) {
  for (int i = 0; i <= oci_cap_last(); i++)
    if (strcasecmp(name, cap_names[i]) == 0) return i;
  return -1;
}

const char *oci_cap_name(int cap) {
  return cap >= 0 && cap <= oci_cap_last() ? cap_names[cap] : "CAP_UNKNOWN";
}

/* ---- rlimits ------------------------------------------------------------------------------ */

static const struct {
  const char *name;
  int resource;
} rlimit_names[] = {
    {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

/* ---- names -------------------------------------------------------------------------------- */

static const char *const ns_names[OCI_NS_COUNT] = {
    [OCI_NS_PID] = "pid",   [OCI_NS_NET] = "network", [OCI_NS_MNT] = "mount",
    [OCI_NS_IPC] = "ipc",   [OCI_NS_UTS] = "uts",     [OCI_NS_USER] = "user",
    [OCI_NS_CGROUP] = "cgroup", [OCI_NS_TIME] = "time",
};

const char *oci_ns_name(enum oci_ns ns) { return ns < OCI_NS_COUNT ? ns_names[ns] : "?"; }

static const char *const hook_names[OCI_HOOK_COUNT] = {
    [OCI_HOOK_PRESTART] = "prestart",
    [OCI_HOOK_CREATE_RUNTIME] = "createRuntime",
    [OCI_HOOK_CREATE_CONTAINER] = "createContainer",
    [OCI_HOOK_START_CONTAINER] = "startContainer",
    [OCI_HOOK_POSTSTART] = "poststart",
    [OCI_HOOK_POSTSTOP] = "poststop",
};

const char *oci_hook_name(enum oci_hook_kind k) { return k < OCI_HOOK_COUNT ? hook_names[k] : "?"; }

const char *oci_annotation(const struct oci_config *cfg, const char *key) {
  json_t *v = cfg->annotations ? json_object_get(cfg->annotations, key) : NULL;
  return json_is_string(v) ? json_string_value(v) : NULL;
}

/* ---- process ------------------------------------------------------------------------------ */

static int parse_caps(json_t *obj, const char *where, struct oci_process *p,
                      struct isola_err *err) {
  static const char *const set_keys[OCI_CAP_SETS] = {"bounding", "effective", "inheritable",
                                                     "permitted", "ambient"};
  struct jpath p1, p2;
  for (int s = 0; s < OCI_CAP_SETS; s++) {
    json_t *arr;
    if (get_array(obj, set_keys[s], jp(&p1, where, ".%s", set_keys[s]), &arr, err) < 0) return -1;
    if (!arr) continue;
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
      const char *w = jp(&p2, p1.s, "[%zu]", i);
      if (!json_is_string(v)) return type_error(w, "a string", v, err);
      int cap = oci_cap_from_name(json_string_value(v));
      if (cap < 0)
        return isola_fail(err, EINVAL, "%s: unknown capability `%s`", w, json_string_value(v));
      p->caps[s] |= 1ULL << cap;
    }
  }
  p->has_caps = true;
  return 0;
}

static int parse_rlimits(json_t *arr, const char *where, struct oci_process *p,
                         struct isola_err *err) {
  struct jpath p1, p2;
  size_t n = json_array_size(arr);
  p->rlimits = calloc(n ? n : 1, sizeof *p->rlimits);
  if (!p->rlimits) return isola_fail_errno(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < n; i++) {
    json_t *o = json_array_get(arr, i);
    const char *w = jp(&p1, where, "[%zu]", i);
    if (!json_is_object(o)) return type_error(w, "an object", o, err);
    struct oci_rlimit *r = &p->rlimits[p->nrlimits++];
    if (get_string(o, "type", jp(&p2, w, ".type"), &r->name, err) < 0) return -1;
    if (!r->name) return isola_fail(err, EINVAL, "%s.type: required", w);
    r->resource = -1;
    for (size_t k = 0; k < sizeof rlimit_names / sizeof *rlimit_names; k++)
      if (strcmp(rlimit_names[k].name, r->name) == 0) r->resource = rlimit_names[k].resource;
    if (r->resource < 0)
      return isola_fail(err, EINVAL, "%s.type: unknown rlimit `%s`", w, r->name);
    int hs = get_u64(o, "soft", jp(&p2, w, ".soft"), &r->soft, err);
    if (hs < 0) return -1;
    int hh = get_u64(o, "hard", jp(&p2, w, ".hard"), &r->hard, err);
    if (hh < 0) return -1;
    if (!hs || !hh) return isola_fail(err, EINVAL, "%s: `soft` and `hard` are required", w);
    if (r->soft > r->hard)
      return isola_fail(err, EINVAL, "%s: soft limit %llu is above the hard limit %llu", w,
                        (unsigned long long)r->soft, (unsigned long long)r->hard);
    for (size_t k = 0; k + 1 < p->nrlimits; k++)
      if (p->rlimits[k].resource == r->resource)
        return isola_fail(err, EINVAL, "%s.type: `%s` is given twice", w, r->name);
  }
  return 0;
}

void oci_process_release(struct oci_process *p) {
  free(p->additional_gids);
  free_strv(p->args);
  free_strv(p->env);
  free(p->cwd);
  for (size_t i = 0; i < p->nrlimits; i++) free(p->rlimits[i].name);
  free(p->rlimits);
  free(p->apparmor_profile);
  free(p->selinux_label);
  memset(p, 0, sizeof *p);
}

int oci_process_parse(json_t *obj, const char *where, struct oci_process *p,
                      struct isola_err *err) {
  struct jpath p1, p2;
  json_t *o, *a;
  int64_t v;

  if (!json_is_object(obj)) return type_error(where, "an object", obj, err);
  if (get_bool(obj, "terminal", jp(&p1, where, ".terminal"), &p->terminal, err) < 0) return -1;
  if (get_object(obj, "consoleSize", jp(&p1, where, ".consoleSize"), &o, err) < 0) return -1;
  if (o) {
    if (get_int(o, "height", jp(&p2, p1.s, ".height"), 0, UINT16_MAX, &v, err) < 0) return -1;
    p->console_height = (uint32_t)v;
    v = 0;
    if (get_int(o, "width", jp(&p2, p1.s, ".width"), 0, UINT16_MAX, &v, err) < 0) return -1;
    p->console_width = (uint32_t)v;
    p->has_console_size = true;
  }
  if (get_object(obj, "user", jp(&p1, where, ".user"), &o, err) < 0) return -1;
  if (o) {
    v = 0;
    if (get_int(o, "uid", jp(&p2, p1.s, ".uid"), 0, UINT32_MAX - 1, &v, err) < 0) return -1;
    p->uid = (uint32_t)v;
    v = 0;
    if (get_int(o, "gid", jp(&p2, p1.s, ".gid"), 0, UINT32_MAX - 1, &v, err) < 0) return -1;
    p->gid = (uint32_t)v;
    int r = get_int(o, "umask", jp(&p2, p1.s, ".umask"), 0, 0777, &v, err);
    if (r < 0) return -1;
    if (r) p->umask = (uint32_t)v, p->has_umask = true;
    if (get_array(o, "additionalGids", jp(&p2, p1.s, ".additionalGids"), &a, err) < 0) return -1;
    if (a) {
      p->nadditional_gids = json_array_size(a);
      p->additional_gids = calloc(p->nadditional_gids + 1, sizeof *p->additional_gids);
      if (!p->additional_gids) return isola_fail_errno(err, ENOMEM, "%s", p2.s);
      for (size_t i = 0; i < p->nadditional_gids; i++) {
        json_t *g = json_array_get(a, i);
        const char *w = jp(&p1, p2.s, "[%zu]", i);
        if (!json_is_integer(g) || json_integer_value(g) < 0 ||
            json_integer_value(g) > UINT32_MAX - 1)
          return type_error(w, "a group id", g, err);
        p->additional_gids[i] = (uint32_t)json_integer_value(g);
      }
    }
  }
  if (get_strv(obj, "args", jp(&p1, where, ".args"), &p->args, &p->nargs, err) < 0) return -1;
  if (get_strv(obj, "env", jp(&p1, where, ".env"), &p->env, &p->nenv, err) < 0) return -1;
  for (size_t i = 0; i < p->nenv; i++)
    if (!strchr(p->env[i], '='))
      return isola_fail(err, EINVAL, "%s.env[%zu]: `%s` is not of the form KEY=VALUE", where, i,
                        p->env[i]);
  if (get_string(obj, "cwd", jp(&p1, where, ".cwd"), &p->cwd, err) < 0) return -1;
  if (p->cwd && p->cwd[0] != '/')
    return isola_fail(err, EINVAL, "%s.cwd: `%s` is not an absolute path", where, p->cwd);
  if (get_object(obj, "capabilities", jp(&p1, where, ".capabilities"), &o, err) < 0) return -1;
  if (o && parse_caps(o, p1.s, p, err) < 0) return -1;
  if (get_array(obj, "rlimits", jp(&p1, where, ".rlimits"), &a, err) < 0) return -1;
  if (a && parse_rlimits(a, p1.s, p, err) < 0) return -1;
  if (get_bool(obj, "noNewPrivileges", jp(&p1, where, ".noNewPrivileges"),
               &p->no_new_privileges, err) < 0)
    return -1;
  int r = get_int(obj, "oomScoreAdj", jp(&p1, where, ".oomScoreAdj"), -1000, 1000, &v, err);
  if (r < 0) return -1;
  if (r) p->oom_score_adj = (int)v, p->has_oom_score_adj = true;
  if (get_string(obj, "apparmorProfile", jp(&p1, where, ".apparmorProfile"), &p->apparmor_profile,
                 err) < 0 ||
      get_string(obj, "selinuxLabel", jp(&p1, where, ".selinuxLabel"), &p->selinux_label, err) < 0)
    return -1;
  return 0;
}

/* ---- linux -------------------------------------------------------------------------------- */

static int parse_namespaces(json_t *arr, const char *where, struct oci_config *c,
                            struct isola_err *err) {
  struct jpath p1, p2;
  size_t i;
  json_t *o;
  json_array_foreach(arr, i, o) {
    const char *w = jp(&p1, where, "[%zu]", i);
    if (!json_is_object(o)) return type_error(w, "an object", o, err);
    json_t *t = json_object_get(o, "type");
    if (!json_is_string(t)) return type_error(jp(&p2, w, ".type"), "a string", t ? t : json_null(), err);
    int ns = -1;
    for (int k = 0; k < OCI_NS_COUNT; k++)
      if (strcmp(json_string_value(t), ns_names[k]) == 0) ns = k;
    if (ns < 0)
      return isola_fail(err, EINVAL, "%s.type: unknown namespace `%s`", w, json_string_value(t));
    if (c->ns[ns].present)
      return isola_fail(err, EINVAL, "%s.type: namespace `%s` is given twice", w, ns_names[ns]);
    c->ns[ns].present = true;
    if (get_string(o, "path", jp(&p2, w, ".path"), &c->ns[ns].path, err) < 0) return -1;
    if (c->ns[ns].path && c->ns[ns].path[0] != '/')
      return isola_fail(err, EINVAL, "%s.path: `%s` is not an absolute path", w, c->ns[ns].path);
  }
  return 0;
}

static int parse_idmaps(json_t *arr, const char *where, struct oci_idmap **out, size_t *n,
                        struct isola_err *err) {
  struct jpath p1, p2;
  size_t len = json_array_size(arr);
  *out = calloc(len ? len : 1, sizeof **out);
  if (!*out) return isola_fail_errno(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < len; i++) {
    json_t *o = json_array_get(arr, i);
    const char *w = jp(&p1, where, "[%zu]", i);
    if (!json_is_object(o)) return type_error(w, "an object", o, err);
    int64_t cid = -1, hid = -1, sz = -1;
    if (get_int(o, "containerID", jp(&p2, w, ".containerID"), 0, UINT32_MAX, &cid, err) < 0 ||
        get_int(o, "hostID", jp(&p2, w, ".hostID"), 0, UINT32_MAX, &hid, err) < 0 ||
        get_int(o, "size", jp(&p2, w, ".size"), 1, UINT32_MAX, &sz, err) < 0)
      return -1;
    if (cid < 0 || hid < 0 || sz < 0)
      return isola_fail(err, EINVAL, "%s: containerID, hostID and size are required", w);
    (*out)[i] = (struct oci_idmap){(uint32_t)cid, (uint32_t)hid, (uint32_t)sz};
    (*n)++;
  }
  return 0;
}

static int parse_devices(json_t *arr, const char *where, struct oci_config *c,
                         struct isola_err *err) {
  struct jpath p1, p2;
  size_t len = json_array_size(arr);
  c->devices = calloc(len ? len : 1, sizeof *c->devices);
  if (!c->devices) return isola_fail_errno(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < len; i++) {
    json_t *o = json_array_get(arr, i);
    const char *w = jp(&p1, where, "[%zu]", i);
    if (!json_is_object(o)) return type_error(w, "an object", o, err);
    struct oci_device *d = &c->devices[c->ndevices++];
    _cleanup_free_ char *type = NULL;
    int64_t v;
    if (get_string(o, "path", jp(&p2, w, ".path"), &d->path, err) < 0 ||
        get_string(o, "type", jp(&p2, w, ".type"), &type, err) < 0)
      return -1;
    if (!d->path || d->path[0] != '/')
      return isola_fail(err, EINVAL, "%s.path: an absolute path is required", w);
    if (!type || strlen(type) != 1 || !strchr("cbup", type[0]))
      return isola_fail(err, EINVAL, "%s.type: expected one of c, b, u, p", w);
    d->type = type[0];
    d->major = d->minor = -1;
    if (get_int(o, "major", jp(&p2, w, ".major"), 0, INT32_MAX, &d->major, err) < 0 ||
        get_int(o, "minor", jp(&p2, w, ".minor"), 0, INT32_MAX, &d->minor, err) < 0)
      return -1;
    if (d->type != 'p' && (d->major < 0 || d->minor < 0))
      return isola_fail(err, EINVAL, "%s: major and minor are required for type `%c`", w,
                        d->type);
    int r = get_int(o, "fileMode", jp(&p2, w, ".fileMode"), 0, 07777, &v, err);
    if (r < 0) return -1;
    if (r) d->file_mode = (uint32_t)v, d->has_file_mode = true;
    r = get_int(o, "uid", jp(&p2, w, ".uid"), 0, UINT32_MAX - 1, &v, err);
    if (r < 0) return -1;
    if (r) d->uid = (uint32_t)v, d->has_uid = true;
    r = get_int(o, "gid", jp(&p2, w, ".gid"), 0, UINT32_MAX - 1, &v, err);
    if (r < 0) return -1;
    if (r) d->gid = (uint32_t)v, d->has_gid = true;
  }
  return 0;
}

static int parse_linux(json_t *lx, const char *where, struct oci_config *c,
                       struct isola_err *err) {
  struct jpath p1, p2;
  json_t *a, *o;
  if (get_array(lx, "namespaces", jp(&p1, where, ".namespaces"), &a, err) < 0) return -1;
  if (a && parse_namespaces(a, p1.s, c, err) < 0) return -1;
  if (get_array(lx, "uidMappings", jp(&p1, where, ".uidMappings"), &a, err) < 0) return -1;
  if (a && parse_idmaps(a, p1.s, &c->uid_mappings, &c->nuid_mappings, err) < 0) return -1;
  if (get_array(lx, "gidMappings", jp(&p1, where, ".gidMappings"), &a, err) < 0) return -1;
  if (a && parse_idmaps(a, p1.s, &c->gid_mappings, &c->ngid_mappings, err) < 0) return -1;
  if ((c->nuid_mappings || c->ngid_mappings) && !c->ns[OCI_NS_USER].present)
    return isola_fail(err, EINVAL, "%s.uidMappings: given without a user namespace", where);
  if (get_array(lx, "devices", jp(&p1, where, ".devices"), &a, err) < 0) return -1;
  if (a && parse_devices(a, p1.s, c, err) < 0) return -1;
  if (get_string(lx, "cgroupsPath", jp(&p1, where, ".cgroupsPath"), &c->cgroups_path, err) < 0)
    return -1;
  if (get_object(lx, "resources", jp(&p1, where, ".resources"), &c->resources, err) < 0)
    return -1;
  if (get_object(lx, "seccomp", jp(&p1, where, ".seccomp"), &c->seccomp, err) < 0) return -1;
  if (get_strv(lx, "maskedPaths", jp(&p1, where, ".maskedPaths"), &c->masked_paths,
               &c->nmasked_paths, err) < 0 ||
      get_strv(lx, "readonlyPaths", jp(&p1, where, ".readonlyPaths"), &c->readonly_paths,
               &c->nreadonly_paths, err) < 0)
    return -1;
  if (get_object(lx, "sysctl", jp(&p1, where, ".sysctl"), &o, err) < 0) return -1;
  if (o) {
    const char *k;
    json_t *v;
    c->sysctl = calloc(json_object_size(o) + 1, sizeof *c->sysctl);
    if (!c->sysctl) return isola_fail_errno(err, ENOMEM, "%s", p1.s);
    json_object_foreach(o, k, v) {
      if (!json_is_string(v)) return type_error(jp(&p2, p1.s, ".%s", k), "a string", v, err);
      if (strstr(k, "..") || k[0] == '/' || k[0] == '.')
        return isola_fail(err, EINVAL, "%s: invalid sysctl name `%s`", p1.s, k);
      struct oci_sysctl *s = &c->sysctl[c->nsysctl++];
      s->key = strdup(k);
      s->value = strdup(json_string_value(v));
      if (!s->key || !s->value) return isola_fail_errno(err, ENOMEM, "%s", p1.s);
    }
  }
  if (get_string(lx, "rootfsPropagation", jp(&p1, where, ".rootfsPropagation"),
                 &c->rootfs_propagation, err) < 0)
    return -1;
  if (c->rootfs_propagation) {
    static const char *const ok[] = {"private", "rprivate", "shared", "rshared", "slave",
                                     "rslave", "unbindable", "runbindable"};
    bool found = false;
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) found |= !strcmp(ok[i], c->rootfs_propagation);
    if (!found)
      return isola_fail(err, EINVAL, "%s: unknown propagation `%s`", p1.s, c->rootfs_propagation);
  }
  if (get_string(lx, "mountLabel", jp(&p1, where, ".mountLabel"), &c->mount_label, err) < 0)
    return -1;
  if (get_object(lx, "timeOffsets", jp(&p1, where, ".timeOffsets"), &o, err) < 0) return -1;
  if (o) {
    static const char *const clocks[2] = {"monotonic", "boottime"};
    for (int i = 0; i < 2; i++) {
      json_t *co;
      if (get_object(o, clocks[i], jp(&p2, p1.s, ".%s", clocks[i]), &co, err) < 0) return -1;
      if (!co) continue;
      struct jpath p3;
      if (get_int(co, "secs", jp(&p3, p2.s, ".secs"), INT64_MIN, INT64_MAX,
                  &c->time_offsets[i][0], err) < 0 ||
          get_int(co, "nanosecs", jp(&p3, p2.s, ".nanosecs"), 0, 999999999,
                  &c->time_offsets[i][1], err) < 0)
        return -1;
    }
    c->has_time_offsets = true;
    if (!c->ns[OCI_NS_TIME].present || c->ns[OCI_NS_TIME].path)
      return isola_fail(err, EINVAL, "%s: needs a new time namespace", p1.s);
  }
  if (get_object(lx, "personality", jp(&p1, where, ".personality"), &o, err) < 0) return -1;
  if (o) {
    c->has_personality = true;
    if (get_string(o, "domain", jp(&p2, p1.s, ".domain"), &c->personality_domain, err) < 0)
      return -1;
    if (!c->personality_domain || (strcmp(c->personality_domain, "LINUX") &&
                                   strcmp(c->personality_domain, "LINUX32")))
      return isola_fail(err, EINVAL, "%s.domain: expected LINUX or LINUX32", p1.s);
  }
  return 0;
}

/* ---- top level ---------------------------------------------------------------------------- */

static int parse_mounts(json_t *arr, const char *where, struct oci_config *c,
                        struct isola_err *err) {
  struct jpath p1, p2;
  size_t len = json_array_size(arr);
  c->mounts = calloc(len ? len : 1, sizeof *c->mounts);
  if (!c->mounts) return isola_fail_errno(err, ENOMEM, "%s", where);
  for (size_t i = 0; i < len; i++) {
    json_t *o = json_array_get(arr, i);
    const char *w = jp(&p1, where, "[%zu]", i);
    if (!json_is_object(o)) return type_error(w, "an object", o, err);
    struct oci_mount *m = &c->mounts[c->nmounts++];
    if (get_string(o, "destination", jp(&p2, w, ".destination"), &m->destination, err) < 0 ||
        get_string(o, "type", jp(&p2, w, ".type"), &m->type, err) < 0 ||
        get_string(o, "source", jp(&p2, w, ".source"), &m->source, err) < 0 ||
        get_strv(o, "options", jp(&p2, w, ".options"), &m->options, &m->noptions, err) < 0)
      return -1;
    if (!m->destination) return isola_fail(err, EINVAL, "%s.destination: required", w);
    if (m->destination[0] != '/')
      return isola_fail(err, EINVAL, "%s.destination: `%s` is not an absolute path", w,
                        m->destination);
  }
  return 0;
}

static int parse_hooks(json_t *obj, const char *where, struct oci_config *c,
                       struct isola_err *err) {
  struct jpath p1, p2, p3;
  for (int k = 0; k < OCI_HOOK_COUNT; k++) {
    json_t *arr;
    if (get_array(obj, hook_names[k], jp(&p1, where, ".%s", hook_names[k]), &arr, err) < 0)
      return -1;
    if (!arr) continue;
    size_t len = json_array_size(arr);
    c->hooks[k] = calloc(len ? len : 1, sizeof *c->hooks[k]);
    if (!c->hooks[k]) return isola_fail_errno(err, ENOMEM, "%s", p1.s);
    for (size_t i = 0; i < len; i++) {
      json_t *o = json_array_get(arr, i);
      const char *w = jp(&p2, p1.s, "[%zu]", i);
      if (!json_is_object(o)) return type_error(w, "an object", o, err);
      struct oci_hook *h = &c->hooks[k][c->nhooks[k]++];
      int64_t t = 0;
      if (get_string(o, "path", jp(&p3, w, ".path"), &h->path, err) < 0 ||
          get_strv(o, "args", jp(&p3, w, ".args"), &h->args, NULL, err) < 0 ||
          get_strv(o, "env", jp(&p3, w, ".env"), &h->env, NULL, err) < 0 ||
          get_int(o, "timeout", jp(&p3, w, ".timeout"), 1, INT32_MAX, &t, err) < 0)
        return -1;
      if (!h->path || h->path[0] != '/')
        return isola_fail(err, EINVAL, "%s.path: an absolute path is required", w);
      h->timeout = (int)t;
    }
  }
  return 0;
}

int oci_config_from_json(json_t *root, const char *name, struct oci_config **out,
                         struct isola_err *err) {
  struct jpath p1, p2;
  json_t *o, *a;
  struct oci_config *c = calloc(1, sizeof *c);
  if (!c) return isola_fail_errno(err, ENOMEM, "%s", name);
  c->json = json_incref(root);
  const char *base = jp(&p1, name, ": ");
  char top[256];
  snprintf(top, sizeof top, "%s", base);

  if (!json_is_object(root)) {
    type_error(name, "an object at the top", root, err);
    goto fail;
  }
  if (get_string(root, "ociVersion", jp(&p1, top, "ociVersion"), &c->oci_version, err) < 0)
    goto fail;
  if (!c->oci_version) {
    isola_fail(err, EINVAL, "%sociVersion: required", top);
    goto fail;
  }
  if (strncmp(c->oci_version, "1.", 2) != 0) {
    isola_fail(err, EINVAL, "%sociVersion: `%s` is not a 1.x version", top, c->oci_version);
    goto fail;
  }
  if (get_object(root, "root", jp(&p1, top, "root"), &o, err) < 0) goto fail;
  if (o) {
    if (get_string(o, "path", jp(&p2, p1.s, ".path"), &c->root_path, err) < 0 ||
        get_bool(o, "readonly", jp(&p2, p1.s, ".readonly"), &c->root_readonly, err) < 0)
      goto fail;
  }
  if (!c->root_path || !c->root_path[0]) {
    isola_fail(err, EINVAL, "%sroot.path: required", top);
    goto fail;
  }
  if (get_string(root, "hostname", jp(&p1, top, "hostname"), &c->hostname, err) < 0 ||
      get_string(root, "domainname", jp(&p1, top, "domainname"), &c->domainname, err) < 0)
    goto fail;
  if (get_object(root, "process", jp(&p1, top, "process"), &o, err) < 0) goto fail;
  if (o) {
    c->has_process = true;
    if (oci_process_parse(o, p1.s, &c->process, err) < 0) goto fail;
    if (!c->process.nargs) {
      isola_fail(err, EINVAL, "%sprocess.args: at least one argument is required", top);
      goto fail;
    }
    if (!c->process.cwd) {
      isola_fail(err, EINVAL, "%sprocess.cwd: required", top);
      goto fail;
    }
  }
  if (get_array(root, "mounts", jp(&p1, top, "mounts"), &a, err) < 0) goto fail;
  if (a && parse_mounts(a, p1.s, c, err) < 0) goto fail;
  if (get_object(root, "hooks", jp(&p1, top, "hooks"), &o, err) < 0) goto fail;
  if (o && parse_hooks(o, p1.s, c, err) < 0) goto fail;
  if (get_object(root, "annotations", jp(&p1, top, "annotations"), &c->annotations, err) < 0)
    goto fail;
  if (c->annotations) {
    const char *k;
    json_t *v;
    json_object_foreach(c->annotations, k, v) {
      if (!json_is_string(v)) {
        type_error(jp(&p2, p1.s, ".%s", k), "a string", v, err);
        goto fail;
      }
    }
  }
  if (get_object(root, "linux", jp(&p1, top, "linux"), &o, err) < 0) goto fail;
  if (o && parse_linux(o, p1.s, c, err) < 0) goto fail;
  if (c->hostname && c->hostname[0] && !c->ns[OCI_NS_UTS].present) {
    isola_fail(err, EINVAL, "%shostname: setting it needs a new uts namespace", top);
    goto fail;
  }
  *out = c;
  return 0;
fail:
  oci_config_free(c);
  return -1;
}

int oci_config_load(const char *path, struct oci_config **out, struct isola_err *err) {
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return isola_fail_errno(err, errno, "open `%s`", path);
  json_error_t jerr;
  size_t len;
  _cleanup_free_ char *text = read_text_fd(fd, &len, &jerr);
  if (!text) return isola_fail_errno(err, errno ? errno : EIO, "read `%s`", path);
  _cleanup_json_ json_t *root = json_parse(text, len, &jerr);
  if (!root)
    return isola_fail(err, EINVAL, "%s: line %d, column %d: %s", name, jerr.line, jerr.column,
                      jerr.text);
  if (oci_config_from_json(root, name, out, err) < 0) return -1;
  (*out)->text = steal_ptr(&text);
  (*out)->text_len = len;
  return 0;
}

void oci_config_free(struct oci_config *c) {
  if (!c) return;
  free(c->oci_version);
  free(c->root_path);
  free(c->hostname);
  free(c->domainname);
  oci_process_release(&c->process);
  for (size_t i = 0; i < c->nmounts; i++) {
    free(c->mounts[i].destination);
    free(c->mounts[i].type);
    free(c->mounts[i].source);
    free_strv(c->mounts[i].options);
  }
  free(c->mounts);
  for (int k = 0; k < OCI_HOOK_COUNT; k++) {
    for (size_t i = 0; i < c->nhooks[k]; i++) {
      free(c->hooks[k][i].path);
      free_strv(c->hooks[k][i].args);
      free_strv(c->hooks[k][i].env);
    }
    free(c->hooks[k]);
  }
  for (int i = 0; i < OCI_NS_COUNT; i++) free(c->ns[i].path);
  free(c->uid_mappings);
  free(c->gid_mappings);
  for (size_t i = 0; i < c->ndevices; i++) free(c->devices[i].path);
  free(c->devices);
  free(c->cgroups_path);
  free_strv(c->masked_paths);
  free_strv(c->readonly_paths);
  for (size_t i = 0; i < c->nsysctl; i++) free(c->sysctl[i].key), free(c->sysctl[i].value);
  free(c->sysctl);
  free(c->rootfs_propagation);
  free(c->mount_label);
  free(c->personality_domain);
  json_decref(c->json);
  free(c->text);
  free(c);
}
