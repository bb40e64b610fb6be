/* Import resolution for spec scripts: the `spectest` host module and the instances that
 * `register` made importable by name. Every extern lives in the script's store; the registry
 * only keeps names.
 *
 * `spectest` is the one every spec suite assumes (see the reference interpreter's
 * spectest.ml): print functions that do nothing here, four immutable globals of 666 / 666.6,
 * a funcref table of 10..20 and a memory of 1..2 pages. It is created on first import, so a
 * script that never imports it does not depend on the engine's host-extern API.
 */
#include <stdarg.h>
#include <string.h>

#include "spec.h"

typedef struct host_export {
  const char *name;
  iw_extern ext;
} host_export;

typedef struct reg_entry {
  char *as;
  iw_instance *inst;
} reg_entry;

struct spec_registry {
  iw_store *store;
  bool spectest_made;
  size_t nspectest;
  host_export spectest[16];
  size_t nregs, cap;
  reg_entry *regs;
};

static int print_fn(iw_caller *caller, void *env, const iw_val *args, iw_val *results,
                    iw_error *err) {
  return 0;
}

static int spectest_make(spec_registry *r, iw_error *err) {
  static const iw_valtype i32[] = {IW_I32}, i64[] = {IW_I64}, f32[] = {IW_F32}, f64[] = {IW_F64},
                          i32_f32[] = {IW_I32, IW_F32}, f64_f64[] = {IW_F64, IW_F64};
  static const struct {
    const char *name;
    iw_functype type;
  } funcs[] = {
      {"print", {0, 0, NULL, NULL}},
      {"print_i32", {1, 0, i32, NULL}},
      {"print_i64", {1, 0, i64, NULL}},
      {"print_f32", {1, 0, f32, NULL}},
      {"print_f64", {1, 0, f64, NULL}},
      {"print_i32_f32", {2, 0, i32_f32, NULL}},
      {"print_f64_f64", {2, 0, f64_f64, NULL}},
  };
  float f32v = 666.6f;
  double f64v = 666.6;
  iw_val gi32 = {.type = IW_I32, .of.i32 = 666}, gi64 = {.type = IW_I64, .of.i64 = 666};
  iw_val gf32 = {.type = IW_F32}, gf64 = {.type = IW_F64};
  memcpy(&gf32.of.f32, &f32v, sizeof f32v);
  memcpy(&gf64.of.f64, &f64v, sizeof f64v);
  const struct {
    const char *name;
    const iw_val *init;
  } globals[] = {
      {"global_i32", &gi32},
      {"global_i64", &gi64},
      {"global_f32", &gf32},
      {"global_f64", &gf64},
  };

  size_t n = 0;
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
    iw_func *f = iw_func_new_host(r->store, &funcs[i].type, print_fn, NULL, err);
    if (!f) return -1;
    r->spectest[n++] = (host_export){funcs[i].name, {.kind = IW_EXTERN_FUNC, .of.func = f}};
  }
  for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++) {
    iw_global *g = iw_global_new(r->store, globals[i].init->type, false, globals[i].init, err);
    if (!g) return -1;
    r->spectest[n++] = (host_export){globals[i].name, {.kind = IW_EXTERN_GLOBAL, .of.global = g}};
  }
  iw_table *t = iw_table_new(r->store, IW_FUNCREF, 10, 20, NULL, err);
  if (!t) return -1;
  r->spectest[n++] = (host_export){"table", {.kind = IW_EXTERN_TABLE, .of.table = t}};
  iw_memory *m = iw_memory_new(r->store, 1, 2, err);
  if (!m) return -1;
  r->spectest[n++] = (host_export){"memory", {.kind = IW_EXTERN_MEMORY, .of.memory = m}};
  r->nspectest = n;
  r->spectest_made = true;
  return 0;
}

spec_registry *spec_registry_new(iw_store *store, iw_error *err) {
  spec_registry *r = calloc(1, sizeof *r);
  if (!r) {
    memset(err, 0, sizeof *err);
    err->kind = IW_ERR_RESOURCE;
    snprintf(err->msg, sizeof err->msg, "registry: out of memory");
    return NULL;
  }
  r->store = store;
  return r;
}

void spec_registry_free(spec_registry *r) {
  if (!r) return;
  for (size_t i = 0; i < r->nregs; i++)
    free(r->regs[i].as);
  free(r->regs);
  free(r);
}

int spec_registry_add(spec_registry *r, const char *as, iw_instance *inst) {
  if (r->nregs == r->cap) {
    size_t cap = r->cap ? 2 * r->cap : 8;
    reg_entry *n = realloc(r->regs, cap * sizeof *n);
    if (!n) return -1;
    r->regs = n;
    r->cap = cap;
  }
  char *copy = strdup(as);
  if (!copy) return -1;
  r->regs[r->nregs++] = (reg_entry){copy, inst};
  return 0;
}

static const char *kind_name(iw_externkind k) {
  switch (k) {
  case IW_EXTERN_FUNC:
    return "func";
  case IW_EXTERN_TABLE:
    return "table";
  case IW_EXTERN_MEMORY:
    return "memory";
  case IW_EXTERN_GLOBAL:
    return "global";
  }
  return "?";
}

static int unlinkable(iw_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int unlinkable(iw_error *err, const char *fmt, ...) {
  memset(err, 0, sizeof *err);
  err->kind = IW_ERR_UNLINKABLE;
  err->func_index = err->offset = -1;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return -1;
}

/* Finds export `name` of module `module`: the latest registration wins over spectest. */
static int lookup(spec_registry *r, const char *module, const char *name, iw_extern *out,
                  iw_error *err) {
  for (size_t i = r->nregs; i-- > 0;) {
    if (strcmp(r->regs[i].as, module)) continue;
    if (iw_instance_export(r->regs[i].inst, name, out) == 0) return 1;
    return 0;
  }
  if (strcmp(module, "spectest")) return 0;
  if (!r->spectest_made && spectest_make(r, err) < 0) return -1;
  for (size_t i = 0; i < r->nspectest; i++)
    if (!strcmp(r->spectest[i].name, name)) {
      *out = r->spectest[i].ext;
      return 1;
    }
  return 0;
}

int spec_registry_link(spec_registry *r, const iw_module *m, iw_extern *imports, iw_error *err) {
  size_t n = iw_module_import_count(m);
  for (size_t i = 0; i < n; i++) {
    iw_importdesc d;
    iw_module_import(m, i, &d);
    int found = lookup(r, d.module, d.name, &imports[i], err);
    if (found < 0) return -1;
    if (!found) return unlinkable(err, "unknown import `%s`.`%s`", d.module, d.name);
    if (imports[i].kind != d.kind)
      return unlinkable(err, "incompatible import type: `%s`.`%s` is a %s, the module imports a %s",
                        d.module, d.name, kind_name(imports[i].kind), kind_name(d.kind));
  }
  return 0;
}
