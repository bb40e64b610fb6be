/* fuzz_wasm_run: bytes -> a module that validates -> instantiated against dummy imports
 * (functions that return zeros; tables, memories and globals of the declared types) -> every
 * exported function called with zero arguments, under fuel, a call-depth limit, a memory cap and
 * a deadline. Whatever the module does, the host must come back: a result, a trap or an
 * exhausted limit, never a crash, a hang or a sanitizer report.
 *
 * The same run happens twice, once with guarded memories (faults become traps through the
 * signal handler) and once with explicit bounds checks; both must agree on every outcome and
 * every result, which catches a bounds check that one of the two paths gets wrong.
 *
 * Reads the module's import types from the engine's internal model (wasm/module.h): the public
 * API describes imports by name and kind only. */
#include <string.h>
#include <time.h>

#include "fuzz.h"
#include "isola/wasm.h"
#include "wasm/module.h"

#define FUEL 20000
#define MAX_DEPTH 500
#define MAX_PAGES 16             /* 1 MiB per memory: bulk ops cost one unit of fuel each */
#define MAX_IMPORTED_TABLE 65536 /* bigger imported tables only cost time */
#define DEADLINE_NS 2000000000ull
#define MAX_CALLS 64

/* What one call did: its error kind and trap, and a digest of its results. */
struct outcome {
  iw_errkind kind;
  iw_trap trap;
  uint64_t digest;
};

struct run {
  struct outcome inst;
  struct outcome calls[MAX_CALLS];
  size_t ncalls;
  bool skipped; /* a resource the harness would not give, or the deadline: nothing to compare */
};

static int zeros(iw_caller *caller, void *env, const iw_val *args, iw_val *results, iw_error *err) {
  const iw_functype *t = env;
  for (uint32_t i = 0; i < t->nresults; i++) {
    memset(&results[i], 0, sizeof results[i]);
    results[i].type = t->results[i];
  }
  return 0;
}

static uint64_t digest(const iw_val *v, uint32_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (uint32_t i = 0; i < n; i++) {
    uint8_t b[17] = {(uint8_t)v[i].type};
    switch (v[i].type) {
    case IW_I32:
    case IW_F32:
      memcpy(b + 1, &v[i].of.i32, 4);
      break;
    case IW_I64:
    case IW_F64:
      memcpy(b + 1, &v[i].of.i64, 8);
      break;
    case IW_V128:
      memcpy(b + 1, v[i].of.v128, 16);
      break;
    /* References differ between stores; only null-ness is comparable. */
    case IW_FUNCREF:
      b[1] = v[i].of.funcref != NULL;
      break;
    case IW_EXTERNREF:
      b[1] = v[i].of.externref != NULL;
      break;
    }
    for (size_t k = 0; k < sizeof b; k++)
      h = (h ^ b[k]) * 0x100000001b3ull;
  }
  return h;
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool make_import(iw_store *s, const iw_module *m, size_t i, iw_extern *out, iw_error *err) {
  const iw_mimport *im = &m->imports[i];
  out->kind = im->kind;
  switch (im->kind) {
  case IW_EXTERN_FUNC: {
    const iw_functype *t = iw_module_import_functype(m, i);
    out->of.func = iw_func_new_host(s, t, zeros, (void *)t, err);
    return out->of.func != NULL;
  }
  case IW_EXTERN_TABLE:
    if (im->lim.min > MAX_IMPORTED_TABLE) return false;
    out->of.table = iw_table_new(s, (iw_valtype)im->vtype, im->lim.min,
                                 im->lim.has_max ? im->lim.max : UINT32_MAX, NULL, err);
    return out->of.table != NULL;
  case IW_EXTERN_MEMORY:
    out->of.memory = iw_memory_new(s, im->lim.min, im->lim.has_max ? im->lim.max : UINT32_MAX, err);
    return out->of.memory != NULL;
  case IW_EXTERN_GLOBAL: {
    iw_val zero;
    memset(&zero, 0, sizeof zero);
    zero.type = (iw_valtype)im->vtype;
    out->of.global = iw_global_new(s, (iw_valtype)im->vtype, im->mut, &zero, err);
    return out->of.global != NULL;
  }
  }
  return false;
}

static void run_module(const iw_module *m, bool explicit_bounds, struct run *r) {
  memset(r, 0, sizeof *r);
  iw_limits lim = {.max_memory_pages = MAX_PAGES,
                   .max_call_depth = MAX_DEPTH,
                   .fuel = FUEL,
                   .deadline_ns = now_ns() + DEADLINE_NS,
                   .explicit_bounds = explicit_bounds};
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_store *s = iw_store_new(&lim, &err);
  FUZZ_ASSERT(s != NULL);
  size_t nimp = iw_module_import_count(m);
  iw_extern *imports = calloc(nimp + 1, sizeof *imports);
  FUZZ_ASSERT(imports != NULL);
  for (size_t i = 0; i < nimp; i++) {
    if (!make_import(s, m, i, &imports[i], &err)) {
      r->skipped = true;
      goto out;
    }
  }
  iw_instance *inst = iw_instantiate(s, m, imports, nimp, &err);
  r->inst.kind = inst ? IW_OK : err.kind;
  r->inst.trap = inst ? IW_TRAP_NONE : err.trap;
  if (!inst) {
    FUZZ_ASSERT(err.kind != IW_ERR_MALFORMED && err.kind != IW_ERR_INVALID &&
                err.kind != IW_ERR_UNLINKABLE && err.kind != IW_ERR_USAGE);
    if (err.kind == IW_ERR_RESOURCE || err.trap == IW_TRAP_DEADLINE) r->skipped = true;
    goto out;
  }
  for (uint32_t e = 0; e < m->nexports && r->ncalls < MAX_CALLS; e++) {
    if (m->exports[e].kind != IW_EXTERN_FUNC) continue;
    iw_func *f = inst->funcs[m->exports[e].index];
    const iw_functype *t = iw_func_type(f);
    iw_val *args = calloc(t->nparams + 1, sizeof *args);
    iw_val *res = calloc(t->nresults + 1, sizeof *res);
    FUZZ_ASSERT(args && res);
    for (uint32_t k = 0; k < t->nparams; k++)
      args[k].type = t->params[k];
    struct outcome *o = &r->calls[r->ncalls++];
    memset(&err, 0, sizeof err);
    if (iw_call(s, f, args, t->nparams, res, t->nresults, &err) == 0) {
      for (uint32_t k = 0; k < t->nresults; k++)
        FUZZ_ASSERT(res[k].type == t->results[k]);
      o->digest = digest(res, t->nresults);
    } else {
      FUZZ_ASSERT(err.kind == IW_ERR_TRAP || err.kind == IW_ERR_EXHAUSTED ||
                  err.kind == IW_ERR_RESOURCE);
      o->kind = err.kind;
      o->trap = err.trap;
      if (err.kind == IW_ERR_RESOURCE || err.trap == IW_TRAP_DEADLINE) r->skipped = true;
    }
    free(args);
    free(res);
  }
out:
  iw_store_free(s);
  free(imports);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  iw_error err;
  iw_module *m = iw_module_new(data, size, &err);
  if (!m) return 0;
  struct run guarded, checked;
  run_module(m, false, &guarded);
  run_module(m, true, &checked);
  if (!guarded.skipped && !checked.skipped) {
    FUZZ_ASSERT(guarded.inst.kind == checked.inst.kind && guarded.inst.trap == checked.inst.trap);
    FUZZ_ASSERT(guarded.ncalls == checked.ncalls);
    for (size_t i = 0; i < guarded.ncalls; i++) {
      FUZZ_ASSERT(guarded.calls[i].kind == checked.calls[i].kind);
      FUZZ_ASSERT(guarded.calls[i].trap == checked.calls[i].trap);
      FUZZ_ASSERT(guarded.calls[i].digest == checked.calls[i].digest);
      /* A fault in a guarded memory leaves the interpreter by siglongjmp, which cannot give
       * back the unused part of the fuel chunk it took (interp.c): from here on the guarded
       * store has less fuel than the checked one, and outcomes may differ by that alone. */
      if (guarded.calls[i].trap == IW_TRAP_MEM_OOB) break;
    }
  }
  iw_module_free(m);
  return 0;
}
