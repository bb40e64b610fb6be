/* Running one script against the engine: one store per script, the commands in order.
 *
 * State the commands share: the current instance (the last `module`), instances by "$name",
 * the registry of importable names, and every module decoded so far. Modules are freed only
 * after the store, since the store's instances and functions (even those of a failed
 * instantiation, left in an imported table) may refer to them.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "spec.h"

typedef struct named {
  const char *name;
  iw_instance *inst;
} named;

typedef struct run {
  const spec_script *s;
  const spec_run_opts *opts;
  iw_store *store;
  spec_registry *reg;
  iw_instance *current;
  size_t nnamed, capnamed;
  named *names;
  size_t nmods, capmods;
  iw_module **mods;
  long failed;
} run;

const char *spec_errkind_name(iw_errkind k) {
  switch (k) {
  case IW_OK:
    return "ok";
  case IW_ERR_MALFORMED:
    return "malformed";
  case IW_ERR_INVALID:
    return "invalid";
  case IW_ERR_UNLINKABLE:
    return "unlinkable";
  case IW_ERR_TRAP:
    return "trap";
  case IW_ERR_EXHAUSTED:
    return "exhausted";
  case IW_ERR_EXIT:
    return "exit";
  case IW_ERR_RESOURCE:
    return "resource";
  case IW_ERR_USAGE:
    return "usage";
  }
  return "unknown error kind";
}

static void bappend(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bappend(char *buf, size_t len, const char *fmt, ...) {
  size_t used = strnlen(buf, len);
  if (used + 1 >= len) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

/* A runner-side failure (no such module, file unreadable) in the engine's error shape. */
static void usage_err(iw_error *err, iw_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void usage_err(iw_error *err, iw_errkind kind, const char *fmt, ...) {
  memset(err, 0, sizeof *err);
  err->kind = kind;
  err->func_index = err->offset = -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

/* "trap: integer divide by zero (code section, function 3, ...)" */
static void err_format(char *buf, size_t len, const iw_error *err) {
  bappend(buf, len, "%s", spec_errkind_name(err->kind));
  if (err->kind == IW_ERR_TRAP || err->kind == IW_ERR_EXHAUSTED)
    bappend(buf, len, " `%s`", iw_trap_name(err->trap));
  if (err->msg[0]) bappend(buf, len, ": %s", err->msg);
}

/* The spec's texts are matched by prefix, in either direction: "uninitialized element 2"
 * (the reference interpreter appends the index) matches "uninitialized element". */
static bool text_matches(const char *got, const char *want) {
  if (!got || !*got || !want) return false;
  size_t g = strlen(got), w = strlen(want);
  return !strncmp(got, want, g < w ? g : w);
}

/* ---- modules and instances ------------------------------------------------------------- */

static int keep_module(run *r, iw_module *m) {
  if (r->nmods == r->capmods) {
    size_t cap = r->capmods ? 2 * r->capmods : 16;
    iw_module **n = realloc(r->mods, cap * sizeof *n);
    if (!n) return -1;
    r->mods = n;
    r->capmods = cap;
  }
  r->mods[r->nmods++] = m;
  return 0;
}

static int set_named(run *r, const char *name, iw_instance *inst) {
  if (r->nnamed == r->capnamed) {
    size_t cap = r->capnamed ? 2 * r->capnamed : 8;
    named *n = realloc(r->names, cap * sizeof *n);
    if (!n) return -1;
    r->names = n;
    r->capnamed = cap;
  }
  r->names[r->nnamed++] = (named){name, inst};
  return 0;
}

/* The instance a command names ("$M") or the current one; NULL with err filled. */
static iw_instance *find_instance(run *r, const char *name, iw_error *err) {
  if (!name) {
    if (!r->current) usage_err(err, IW_ERR_USAGE, "no current instance (its module failed)");
    return r->current;
  }
  for (size_t i = r->nnamed; i-- > 0;)
    if (!strcmp(r->names[i].name, name)) {
      if (!r->names[i].inst)
        usage_err(err, IW_ERR_USAGE, "no instance `%s` (its module failed)", name);
      return r->names[i].inst;
    }
  usage_err(err, IW_ERR_USAGE, "no module named `%s`", name);
  return NULL;
}

/* Reads and decodes a module file; the module is kept until the script ends. */
static iw_module *load_module(run *r, const char *filename, iw_error *err) {
  _cleanup_free_ char *path = NULL;
  _cleanup_free_ uint8_t *bytes = NULL;
  if (asprintf(&path, "%s/%s", r->s->dir, filename) < 0) {
    path = NULL;
    usage_err(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  _cleanup_fclose_ FILE *f = fopen(path, "rb");
  if (!f) {
    usage_err(err, IW_ERR_RESOURCE, "open `%s`: %s", path, strerror(errno));
    return NULL;
  }
  size_t len = 0, cap = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? 2 * cap : 65536;
      uint8_t *n = realloc(bytes, cap);
      if (!n) {
        usage_err(err, IW_ERR_RESOURCE, "read `%s`: out of memory", path);
        return NULL;
      }
      bytes = n;
    }
    size_t got = fread(bytes + len, 1, cap - len, f);
    len += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    usage_err(err, IW_ERR_RESOURCE, "read `%s`: %s", path, strerror(errno));
    return NULL;
  }
  iw_module *m = iw_module_new(bytes, len, err);
  if (m && keep_module(r, m) < 0) {
    iw_module_free(m);
    usage_err(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  return m;
}

static iw_instance *instantiate(run *r, const iw_module *m, iw_error *err) {
  size_t n = iw_module_import_count(m);
  _cleanup_free_ iw_extern *imports = calloc(n ? n : 1, sizeof *imports);
  if (!imports) {
    usage_err(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  if (spec_registry_link(r->reg, m, imports, err) < 0) return NULL;
  return iw_instantiate(r->store, m, imports, n, err);
}

/* ---- actions --------------------------------------------------------------------------- */

static void arg_format(char *buf, size_t len, const iw_val *v) {
  char one[400];
  spec_val_format(one, sizeof one, v, NULL);
  const char *colon = strchr(one, ':');
  bool scalar = v->type == IW_I32 || v->type == IW_I64 || v->type == IW_F32 || v->type == IW_F64;
  bappend(buf, len, "%s", scalar && colon ? colon + 1 : one);
}

/* "$M.field(1, 2)" or "get $M.field" */
static void action_format(char *buf, size_t len, const spec_action *a) {
  bappend(buf, len, "%s%s%s%s", a->get ? "get " : "", a->module ? a->module : "",
          a->module ? "." : "", a->field);
  if (a->get) return;
  bappend(buf, len, "(");
  for (size_t i = 0; i < a->nargs; i++) {
    if (i) bappend(buf, len, ", ");
    arg_format(buf, len, &a->args[i]);
  }
  bappend(buf, len, ")");
}

/* Runs an action; on success *results (malloc'd, may be NULL when there are none) holds
 * *nresults values. */
static int do_action(run *r, const spec_action *a, iw_val **results, size_t *nresults,
                     iw_error *err) {
  *results = NULL;
  *nresults = 0;
  iw_instance *inst = find_instance(r, a->module, err);
  if (!inst) return -1;
  iw_extern ext;
  if (iw_instance_export(inst, a->field, &ext) < 0) {
    usage_err(err, IW_ERR_USAGE, "no export `%s`", a->field);
    return -1;
  }
  if (a->get) {
    if (ext.kind != IW_EXTERN_GLOBAL) {
      usage_err(err, IW_ERR_USAGE, "export `%s` is not a global", a->field);
      return -1;
    }
    *results = calloc(1, sizeof **results);
    if (!*results) {
      usage_err(err, IW_ERR_RESOURCE, "out of memory");
      return -1;
    }
    iw_global_get(ext.of.global, *results);
    *nresults = 1;
    return 0;
  }
  if (ext.kind != IW_EXTERN_FUNC) {
    usage_err(err, IW_ERR_USAGE, "export `%s` is not a function", a->field);
    return -1;
  }
  const iw_functype *ft = iw_func_type(ext.of.func);
  size_t n = ft ? ft->nresults : 0;
  iw_val *res = calloc(n ? n : 1, sizeof *res);
  if (!res) {
    usage_err(err, IW_ERR_RESOURCE, "out of memory");
    return -1;
  }
  memset(err, 0, sizeof *err);
  if (iw_call(r->store, ext.of.func, a->args, a->nargs, res, n, err) < 0) {
    free(res);
    return -1;
  }
  *results = res;
  *nresults = n;
  return 0;
}

/* ---- commands -------------------------------------------------------------------------- */

/* Each returns the command's result; on failure `why` says what happened (after the
 * "file:line: type" prefix the caller prints). */

static spec_result cmd_module(run *r, const spec_cmd *c, char *why, size_t len) {
  iw_error err = {0};
  iw_instance *inst = NULL;
  spec_result res = R_FAIL;
  if (c->text_module) {
    bappend(why, len, "%s: text module skipped", c->filename);
    res = R_SKIP;
  } else {
    iw_module *m = load_module(r, c->filename, &err);
    if (m) inst = instantiate(r, m, &err);
    if (inst)
      res = R_PASS;
    else {
      bappend(why, len, "%s: ", c->filename);
      err_format(why, len, &err);
    }
  }
  /* A failed module leaves no current instance: later commands that use it fail. */
  r->current = inst;
  if (c->name && set_named(r, c->name, inst) < 0) {
    bappend(why, len, "out of memory");
    return R_FAIL;
  }
  return res;
}

static spec_result cmd_register(run *r, const spec_cmd *c, char *why, size_t len) {
  iw_error err;
  iw_instance *inst = find_instance(r, c->name, &err);
  if (!inst) {
    bappend(why, len, "as `%s`: %s", c->as, err.msg);
    return R_FAIL;
  }
  if (spec_registry_add(r->reg, c->as, inst) < 0) {
    bappend(why, len, "out of memory");
    return R_FAIL;
  }
  return R_PASS;
}

/* assert_trap / assert_exhaustion that failed: is it the failure expected? */
static spec_result check_trap(const spec_cmd *c, const iw_error *err, iw_errkind want, char *why,
                              size_t len) {
  if (err->kind == want && text_matches(iw_trap_name(err->trap), c->text)) return R_PASS;
  bappend(why, len, "got ");
  err_format(why, len, err);
  bappend(why, len, ", expected %s `%s`", spec_errkind_name(want), c->text);
  return R_FAIL;
}

static spec_result check_return(const spec_cmd *c, const iw_val *res, size_t n, char *why,
                                size_t len) {
  if (n != c->nexpected) {
    bappend(why, len, "got %zu results, expected %zu", n, c->nexpected);
    return R_FAIL;
  }
  for (size_t i = 0; i < n; i++) {
    if (spec_expect_matches(&c->expected[i], &res[i])) continue;
    char got[600], want[600];
    spec_val_format(got, sizeof got, &res[i], &c->expected[i].alt[0]);
    spec_expect_format(want, sizeof want, &c->expected[i]);
    if (n > 1) bappend(why, len, "result %zu: ", i);
    bappend(why, len, "got %s, expected %s", got, want);
    return R_FAIL;
  }
  return R_PASS;
}

/* action, assert_return, and assert_trap / assert_exhaustion of an action. */
static spec_result cmd_invoke(run *r, const spec_cmd *c, char *why, size_t len) {
  iw_error err = {0};
  iw_val *res;
  size_t n;
  bool want_failure = c->kind == K_ASSERT_TRAP || c->kind == K_ASSERT_EXHAUSTION;
  iw_errkind want = c->kind == K_ASSERT_EXHAUSTION ? IW_ERR_EXHAUSTED : IW_ERR_TRAP;
  bappend(why, len, " ");
  action_format(why, len, &c->action);
  bappend(why, len, ": ");
  if (do_action(r, &c->action, &res, &n, &err) < 0) {
    if (want_failure) return check_trap(c, &err, want, why, len);
    err_format(why, len, &err);
    return R_FAIL;
  }
  spec_result out = R_PASS;
  if (c->kind == K_ASSERT_RETURN) {
    out = check_return(c, res, n, why, len);
  } else if (want_failure) {
    bappend(why, len, "returned");
    for (size_t i = 0; i < n; i++) {
      char got[600];
      spec_val_format(got, sizeof got, &res[i], NULL);
      bappend(why, len, "%s%s", i ? ", " : " ", got);
    }
    bappend(why, len, ", expected %s `%s`", spec_errkind_name(want), c->text);
    out = R_FAIL;
  }
  free(res);
  return out;
}

/* assert_trap on a module: instantiation (start function or segments) must trap. */
static spec_result cmd_trap_module(run *r, const spec_cmd *c, char *why, size_t len) {
  iw_error err = {0};
  bappend(why, len, " %s: ", c->filename);
  iw_module *m = load_module(r, c->filename, &err);
  if (m && instantiate(r, m, &err)) {
    bappend(why, len, "instantiated, expected trap `%s`", c->text);
    return R_FAIL;
  }
  return check_trap(c, &err, IW_ERR_TRAP, why, len);
}

static spec_result cmd_assert_module(run *r, const spec_cmd *c, char *why, size_t len) {
  iw_errkind want = c->kind == K_ASSERT_INVALID      ? IW_ERR_INVALID
                    : c->kind == K_ASSERT_MALFORMED  ? IW_ERR_MALFORMED
                    : c->kind == K_ASSERT_UNLINKABLE ? IW_ERR_UNLINKABLE
                                                     : IW_ERR_TRAP;
  if (c->text_module) return R_SKIP;
  iw_error err = {0};
  bappend(why, len, " %s: ", c->filename);
  iw_module *m = load_module(r, c->filename, &err);
  bool decode_only = want == IW_ERR_INVALID || want == IW_ERR_MALFORMED;
  if (m && decode_only) {
    bappend(why, len, "module loaded, expected %s `%s`", spec_errkind_name(want), c->text);
    return R_FAIL;
  }
  if (m && instantiate(r, m, &err)) {
    bappend(why, len, "instantiated, expected %s `%s`", spec_errkind_name(want), c->text);
    return R_FAIL;
  }
  /* The kind is what the spec checks; texts differ between engines except for traps. */
  if (err.kind == want && (want != IW_ERR_TRAP || text_matches(iw_trap_name(err.trap), c->text)))
    return R_PASS;
  bappend(why, len, "got ");
  err_format(why, len, &err);
  bappend(why, len, ", expected %s `%s`", spec_errkind_name(want), c->text);
  return R_FAIL;
}

static spec_result cmd_run(run *r, const spec_cmd *c, char *why, size_t len) {
  if (c->bad) {
    bappend(why, len, ": cannot parse the command: %s", c->bad);
    if (c->kind == K_MODULE) {
      r->current = NULL;
      if (c->name) set_named(r, c->name, NULL);
    }
    return R_FAIL;
  }
  if (c->skip) {
    bappend(why, len, ": skipped: %s", c->skip);
    return R_SKIP;
  }
  switch (c->kind) {
  case K_MODULE:
    bappend(why, len, " ");
    return cmd_module(r, c, why, len);
  case K_REGISTER:
    bappend(why, len, " ");
    return cmd_register(r, c, why, len);
  case K_ASSERT_TRAP:
    if (!c->has_action) return cmd_trap_module(r, c, why, len);
    /* fall through */
  case K_ACTION:
  case K_ASSERT_RETURN:
  case K_ASSERT_EXHAUSTION:
    return cmd_invoke(r, c, why, len);
  case K_ASSERT_INVALID:
  case K_ASSERT_MALFORMED:
  case K_ASSERT_UNLINKABLE:
  case K_ASSERT_UNINSTANTIABLE:
    return cmd_assert_module(r, c, why, len);
  default:
    bappend(why, len, ": unknown command");
    return R_FAIL;
  }
}

long spec_script_run(const spec_script *s, const spec_run_opts *opts, spec_report_fn report,
                     void *ctx) {
  run r = {.s = s, .opts = opts};
  iw_error err = {0};
  r.store = iw_store_new(NULL, &err);
  if (r.store) r.reg = spec_registry_new(r.store, &err);
  long shown = 0, failed = 0;
  size_t maxlen = opts->verbose ? 4096 : 300;

  for (size_t i = 0; i < s->ncmds; i++) {
    const spec_cmd *c = &s->cmds[i];
    char why[4096] = "";
    spec_result res;
    if (!r.reg) {
      bappend(why, sizeof why, ": no store: ");
      err_format(why, sizeof why, &err);
      res = R_FAIL;
    } else {
      res = cmd_run(&r, c, why, sizeof why);
    }
    if (res == R_SKIP && c->skip) /* a skip that is not just a text module: say why */
      printf("%s.json:%ld: %s%s\n", s->name, c->line, c->type, why);
    if (res == R_FAIL) {
      failed++;
      if (opts->verbose || shown < opts->max_details) {
        if (strlen(why) > maxlen) memcpy(why + maxlen - 4, "...", 4);
        printf("%s.json:%ld: %s%s\n", s->name, c->line, c->type, why);
        shown++;
      }
    }
    if (report) report(ctx, c, res);
  }
  if (failed > shown)
    printf("%s.json: %ld more failures (-v shows all)\n", s->name, failed - shown);
  fflush(stdout);

  spec_registry_free(r.reg);
  if (r.store) iw_store_free(r.store);
  for (size_t i = 0; i < r.nmods; i++)
    iw_module_free(r.mods[i]);
  free(r.mods);
  free(r.names);
  return failed;
}
