/* linux.seccomp, translated with libseccomp. Messages name the JSON path of the bad entry. */
#include "container/seccomp.h"

#include <ctype.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seccomp_filter {
  scmp_filter_ctx ctx;
};

static int parse_action(const char *name, json_t *errno_ret, int default_errno, uint32_t *out) {
  int e = json_is_integer(errno_ret) ? (int)json_integer_value(errno_ret) : default_errno;
  if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD"))
    *out = SCMP_ACT_KILL_THREAD;
  else if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) *out = SCMP_ACT_KILL_PROCESS;
  else if (!strcmp(name, "SCMP_ACT_TRAP")) *out = SCMP_ACT_TRAP;
  else if (!strcmp(name, "SCMP_ACT_ERRNO")) *out = SCMP_ACT_ERRNO((uint16_t)e);
  else if (!strcmp(name, "SCMP_ACT_TRACE")) *out = SCMP_ACT_TRACE((uint16_t)e);
  else if (!strcmp(name, "SCMP_ACT_ALLOW")) *out = SCMP_ACT_ALLOW;
  else if (!strcmp(name, "SCMP_ACT_LOG")) *out = SCMP_ACT_LOG;
  else return -1;
  return 0;
}

static int parse_op(const char *name, enum scmp_compare *out) {
  static const struct { const char *n; enum scmp_compare op; } ops[] = {
      {"SCMP_CMP_NE", SCMP_CMP_NE}, {"SCMP_CMP_LT", SCMP_CMP_LT},
      {"SCMP_CMP_LE", SCMP_CMP_LE}, {"SCMP_CMP_EQ", SCMP_CMP_EQ},
      {"SCMP_CMP_GE", SCMP_CMP_GE}, {"SCMP_CMP_GT", SCMP_CMP_GT},
      {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
  };
  for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
    if (!strcmp(ops[i].n, name)) return *out = ops[i].op, 0;
  return -1;
}

static uint64_t json_u64(json_t *v) {
  if (json_is_integer(v)) return (uint64_t)json_integer_value(v);
  if (json_is_real(v)) return (uint64_t)json_real_value(v);
  return 0;
}

static int add_arch(scmp_filter_ctx ctx, const char *name, const char *where,
                    struct isola_err *err) {
  char low[64];
  const char *s = strncmp(name, "SCMP_ARCH_", 10) ? name : name + 10;
  size_t i = 0;
  for (; s[i] && i < sizeof low - 1; i++) low[i] = (char)tolower((unsigned char)s[i]);
  low[i] = 0;
  uint32_t arch = seccomp_arch_resolve_name(low);
  if (!arch) return isola_fail(err, EINVAL, "%s: unknown architecture `%s`", where, name);
  int r = seccomp_arch_add(ctx, arch);
  if (r < 0 && r != -EEXIST) return isola_fail_errno(err, -r, "%s: add `%s`", where, name);
  return 0;
}

static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, json_t *args, const char *where,
                    struct isola_err *err) {
  struct scmp_arg_cmp cmp[6];
  size_t n = json_array_size(args);
  if (n > 6) return isola_fail(err, EINVAL, "%s.args: at most 6 conditions", where);
  bool repeated = false;
  for (size_t i = 0; i < n; i++) {
    json_t *a = json_array_get(args, i);
    const char *op = json_string_value(json_object_get(a, "op"));
    json_t *idx = json_object_get(a, "index");
    if (!json_is_integer(idx) || json_integer_value(idx) < 0 || json_integer_value(idx) > 5)
      return isola_fail(err, EINVAL, "%s.args[%zu].index: expected 0..5", where, i);
    enum scmp_compare c;
    if (!op || parse_op(op, &c) < 0)
      return isola_fail(err, EINVAL, "%s.args[%zu].op: unknown operator `%s`", where, i,
                        op ? op : "(none)");
    cmp[i] = (struct scmp_arg_cmp){(unsigned)json_integer_value(idx), c,
                                   json_u64(json_object_get(a, "value")),
                                   json_u64(json_object_get(a, "valueTwo"))};
    for (size_t k = 0; k < i; k++) repeated |= cmp[k].arg == cmp[i].arg;
  }
  int r;
  if (!repeated) {
    r = seccomp_rule_add_array(ctx, action, nr, (unsigned)n, n ? cmp : NULL);
  } else {
    /* Conditions on one argument cannot be ANDed by libseccomp: each becomes its own rule
     * (OR), as runc does. */
    r = 0;
    for (size_t i = 0; i < n && r >= 0; i++) r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp[i]);
  }
  if (r < 0) return isola_fail_errno(err, -r, "%s: add rule", where);
  return 0;
}

int seccomp_filter_compile(json_t *p, struct seccomp_filter **out, struct isola_err *err) {
  const char *w = "config.json: linux.seccomp";
  json_t *dre = json_object_get(p, "defaultErrnoRet");
  int default_errno = json_is_integer(dre) ? (int)json_integer_value(dre) : EPERM;
  const char *def = json_string_value(json_object_get(p, "defaultAction"));
  uint32_t defact;
  if (!def || parse_action(def, dre, default_errno, &defact) < 0)
    return isola_fail(err, EINVAL, "%s.defaultAction: unknown or unsupported action `%s`", w,
                      def ? def : "(none)");
  if (json_object_get(p, "listenerPath"))
    return isola_fail(err, ENOTSUP, "%s.listenerPath: seccomp notify is not supported yet", w);
  struct seccomp_filter *f = calloc(1, sizeof *f);
  if (!f || !(f->ctx = seccomp_init(defact))) {
    free(f);
    return isola_fail(err, ENOMEM, "%s: seccomp_init", w);
  }
  char where[256];
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(p, "architectures"), i, v) {
    snprintf(where, sizeof where, "%s.architectures[%zu]", w, i);
    if (!json_is_string(v) || add_arch(f->ctx, json_string_value(v), where, err) < 0) goto fail;
  }
  json_array_foreach(json_object_get(p, "flags"), i, v) {
    const char *fl = json_string_value(v);
    int r = 0;
    if (!fl) goto badflag;
    if (!strcmp(fl, "SECCOMP_FILTER_FLAG_LOG")) r = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_LOG, 1);
    else if (!strcmp(fl, "SECCOMP_FILTER_FLAG_SPEC_ALLOW"))
      r = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_SSB, 1);
    else if (!strcmp(fl, "SECCOMP_FILTER_FLAG_TSYNC"))
      r = seccomp_attr_set(f->ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    else goto badflag;
    if (r < 0) {
      isola_fail_errno(err, -r, "%s.flags[%zu]: `%s`", w, i, fl);
      goto fail;
    }
    continue;
  badflag:
    isola_fail(err, EINVAL, "%s.flags[%zu]: unknown flag `%s`", w, i, fl ? fl : "?");
    goto fail;
  }
  json_array_foreach(json_object_get(p, "syscalls"), i, v) {
    snprintf(where, sizeof where, "%s.syscalls[%zu]", w, i);
    const char *act = json_string_value(json_object_get(v, "action"));
    uint32_t action;
    if (!act || parse_action(act, json_object_get(v, "errnoRet"), default_errno, &action) < 0) {
      isola_fail(err, EINVAL, "%s.action: unknown or unsupported action `%s`", where,
                 act ? act : "(none)");
      goto fail;
    }
    if (action == defact) continue; /* libseccomp refuses rules equal to the default */
    size_t k;
    json_t *name;
    json_array_foreach(json_object_get(v, "names"), k, name) {
      if (!json_is_string(name)) {
        isola_fail(err, EINVAL, "%s.names[%zu]: expected a string", where, k);
        goto fail;
      }
      int nr = seccomp_syscall_resolve_name(json_string_value(name));
      if (nr == __NR_SCMP_ERROR) continue; /* unknown to this libseccomp: skipped, as runc does */
      if (add_rule(f->ctx, action, nr, json_object_get(v, "args"), where, err) < 0) goto fail;
    }
  }
  *out = f;
  return 0;
fail:
  seccomp_filter_free(f);
  return -1;
}

int seccomp_filter_load(const struct seccomp_filter *f, struct isola_err *err) {
  int r = seccomp_load(f->ctx);
  if (r < 0) return isola_fail_errno(err, -r, "linux.seccomp: load the filter");
  return 0;
}

void seccomp_filter_free(struct seccomp_filter *f) {
  if (!f) return;
  seccomp_release(f->ctx);
  free(f);
}
