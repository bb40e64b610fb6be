/* Stores, errors, function types, host functions and calls: the parts of include/isola/wasm.h
 * that are not a module, an instance or a memory.
 *
 * Promise: a store owns every object created in it and frees them all at once; iw_call checks
 * its arguments against the function's type before anything runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "wasm/module.h"

/* ---- errors ---------------------------------------------------------------------------- */

const char *iw_trap_name(iw_trap trap) {
  switch (trap) {
  case IW_TRAP_NONE: return "no trap";
  case IW_TRAP_UNREACHABLE: return "unreachable";
  case IW_TRAP_MEM_OOB: return "out of bounds memory access";
  case IW_TRAP_TABLE_OOB: return "out of bounds table access";
  case IW_TRAP_UNDEFINED_ELEMENT: return "undefined element";
  case IW_TRAP_UNINITIALIZED_ELEMENT: return "uninitialized element";
  case IW_TRAP_INDIRECT_MISMATCH: return "indirect call type mismatch";
  case IW_TRAP_DIV_ZERO: return "integer divide by zero";
  case IW_TRAP_INT_OVERFLOW: return "integer overflow";
  case IW_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
  case IW_TRAP_NULL_REFERENCE: return "null reference";
  case IW_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
  case IW_TRAP_OUT_OF_FUEL: return "out of fuel";
  case IW_TRAP_DEADLINE: return "deadline exceeded";
  case IW_TRAP_INTERRUPTED: return "interrupted";
  case IW_TRAP_HOST: return "host function failed";
  }
  return "unknown trap";
}

void iw_err_set(iw_error *err, iw_errkind kind, const char *fmt, ...) {
  if (!err) return;
  va_list ap;
  va_start(ap, fmt);
  err->kind = kind;
  err->trap = IW_TRAP_NONE;
  err->exit_code = 0;
  err->func_index = -1;
  err->offset = -1;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

void iw_err_trap(iw_error *err, iw_trap trap) {
  bool exhausted = trap == IW_TRAP_STACK_EXHAUSTED || trap == IW_TRAP_OUT_OF_FUEL ||
                   trap == IW_TRAP_DEADLINE;
  iw_err_set(err, exhausted ? IW_ERR_EXHAUSTED : IW_ERR_TRAP, "%s", iw_trap_name(trap));
  err->trap = trap;
}

/* ---- function types ------------------------------------------------------------------------ */

int iw_ftype_copy(iw_ftype *d, const iw_valtype *params, uint32_t np, const iw_valtype *results,
                  uint32_t nr) {
  memset(d, 0, sizeof *d);
  d->types = malloc(sizeof *d->types * ((size_t)np + nr + 1));
  if (!d->types) return -1;
  if (np) memcpy(d->types, params, sizeof *params * np);
  if (nr) memcpy(d->types + np, results, sizeof *results * nr);
  d->pub.nparams = np, d->pub.nresults = nr;
  d->pub.params = d->types, d->pub.results = d->types + np;
  for (uint32_t i = 0; i < np; i++) d->param_slots += params[i] == IW_V128 ? 2 : 1;
  for (uint32_t i = 0; i < nr; i++) d->result_slots += results[i] == IW_V128 ? 2 : 1;
  return 0;
}

bool iw_ftype_eq(const iw_ftype *a, const iw_ftype *b) {
  return a->pub.nparams == b->pub.nparams && a->pub.nresults == b->pub.nresults &&
         memcmp(a->types, b->types, sizeof *a->types * (a->pub.nparams + a->pub.nresults)) == 0;
}

int iw_intern_type(iw_store *s, const iw_ftype *t, uint32_t *id, iw_error *err) {
  for (uint32_t i = 0; i < s->nitypes; i++)
    if (iw_ftype_eq(&s->itypes[i], t)) {
      *id = i;
      return 0;
    }
  if (s->nitypes == s->capitypes) {
    uint32_t cap = s->capitypes * 2 + 16;
    iw_ftype *n = realloc(s->itypes, cap * sizeof *n);
    if (!n) goto oom;
    s->itypes = n, s->capitypes = cap;
  }
  if (iw_ftype_copy(&s->itypes[s->nitypes], t->pub.params, t->pub.nparams, t->pub.results,
                    t->pub.nresults) < 0)
    goto oom;
  *id = s->nitypes++;
  return 0;
oom:
  iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
  return -1;
}

/* ---- stores -------------------------------------------------------------------------------- */

iw_store *iw_store_new(const iw_limits *limits, iw_error *err) {
  iw_error tmp;
  if (!err) err = &tmp;
  if (iw_signals_init(err) < 0) return NULL;
  iw_store *s = calloc(1, sizeof *s);
  if (!s) {
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  if (limits) s->lim = *limits;
  s->max_depth = s->lim.max_call_depth ? s->lim.max_call_depth : IW_DEFAULT_DEPTH;
  s->fuel_left = s->lim.fuel;
  /* Reserved, not committed: pages appear as calls go deeper. */
  void *st = mmap(NULL, IW_VALUE_STACK, PROT_READ | PROT_WRITE,
                  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  size_t fsz = ((size_t)s->max_depth + 2) * sizeof(iw_frame);
  void *fr = mmap(NULL, fsz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                  -1, 0);
  if (st == MAP_FAILED || fr == MAP_FAILED) {
    if (st != MAP_FAILED) munmap(st, IW_VALUE_STACK);
    if (fr != MAP_FAILED) munmap(fr, fsz);
    free(s);
    iw_err_set(err, IW_ERR_RESOURCE, "cannot reserve the wasm stack");
    return NULL;
  }
  s->stack = s->stack_top = st;
  s->stack_end = s->stack + IW_VALUE_STACK;
  s->frames = fr;
  return s;
}

int iw_store_own(iw_store *s, int kind, void *obj, iw_error *err) {
  if (s->nobjs == s->capobjs) {
    size_t cap = s->capobjs * 2 + 32;
    void **o = realloc(s->objs, cap * sizeof *o);
    if (!o) goto oom;
    s->objs = o;
    uint8_t *k = realloc(s->obj_kinds, cap);
    if (!k) goto oom;
    s->obj_kinds = k;
    s->capobjs = cap;
  }
  s->objs[s->nobjs] = obj;
  s->obj_kinds[s->nobjs++] = (uint8_t)kind;
  if (kind == OBJ_MEMORY) {
    iw_memory *m = obj;
    m->next_in_store = s->mems;
    s->mems = m;
  }
  return 0;
oom:
  iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
  return -1;
}

void iw_instance_destroy(iw_instance *inst);

void iw_store_free(iw_store *s) {
  if (!s) return;
  for (size_t i = s->nobjs; i-- > 0;) {
    void *o = s->objs[i];
    switch (s->obj_kinds[i]) {
    case OBJ_FUNC: {
      iw_func *f = o;
      free(f->own.types);
      free(f);
      break;
    }
    case OBJ_TABLE: iw_table_destroy(o); break;
    case OBJ_MEMORY: iw_memory_destroy(o); break;
    case OBJ_GLOBAL: free(o); break;
    case OBJ_INSTANCE: iw_instance_destroy(o); break;
    }
  }
  free(s->objs);
  free(s->obj_kinds);
  for (uint32_t i = 0; i < s->nitypes; i++) free(s->itypes[i].types);
  free(s->itypes);
  munmap(s->stack, IW_VALUE_STACK);
  munmap(s->frames, ((size_t)s->max_depth + 2) * sizeof(iw_frame));
  free(s);
}

void iw_store_interrupt(iw_store *store) { store->interrupted = 1; }

/* ---- functions ------------------------------------------------------------------------------- */

iw_func *iw_func_new_host(iw_store *store, const iw_functype *type, iw_host_fn fn, void *env,
                          iw_error *err) {
  iw_func *f = calloc(1, sizeof *f);
  if (!f || iw_ftype_copy(&f->own, type->params, type->nparams, type->results, type->nresults) < 0) {
    free(f);
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  f->host = true;
  f->type = &f->own;
  f->fn = fn;
  f->env = env;
  if (iw_intern_type(store, &f->own, &f->type_id, err) < 0 ||
      iw_store_own(store, OBJ_FUNC, f, err) < 0) {
    free(f->own.types);
    free(f);
    return NULL;
  }
  return f;
}

const iw_functype *iw_func_type(const iw_func *func) { return &func->type->pub; }

iw_instance *iw_caller_instance(iw_caller *caller) { return caller ? caller->inst : NULL; }

iw_memory *iw_caller_memory(iw_caller *caller) {
  if (!caller || !caller->inst || caller->inst->module->nmems == 0) return NULL;
  return caller->inst->mem0;
}

int iw_call(iw_store *store, iw_func *func, const iw_val *args, size_t nargs, iw_val *results,
            size_t nresults, iw_error *err) {
  iw_error tmp;
  if (!err) err = &tmp;
  const iw_functype *t = &func->type->pub;
  if (nargs != t->nparams || nresults != t->nresults) {
    iw_err_set(err, IW_ERR_USAGE, "call with %zu arguments and %zu results; the function takes %u and returns %u",
               nargs, nresults, t->nparams, t->nresults);
    return -1;
  }
  for (size_t i = 0; i < nargs; i++)
    if (args[i].type != t->params[i]) {
      iw_err_set(err, IW_ERR_USAGE, "argument %zu has the wrong type", i);
      return -1;
    }
  if (func->host) {
    iw_caller caller = {store, NULL};
    for (size_t i = 0; i < nresults; i++) memset(&results[i], 0, sizeof results[i]), results[i].type = t->results[i];
    err->kind = IW_OK;
    if (func->fn(&caller, func->env, args, results, err) < 0) {
      if (err->kind == IW_OK) iw_err_trap(err, IW_TRAP_HOST);
      return -1;
    }
    return 0;
  }
  if (iw_signals_init(err) < 0) return -1;
  uint8_t *fp = (uint8_t *)(((uintptr_t)store->stack_top + 15) & ~(uintptr_t)15);
  size_t need = 16 * ((size_t)t->nparams + t->nresults + 2);
  if (fp + need > store->stack_end) {
    iw_err_trap(err, IW_TRAP_STACK_EXHAUSTED);
    return -1;
  }
  iw_slots_from_vals(fp, t->params, t->nparams, args);
  int rc = iw_invoke(store, func, fp, err);
  if (rc == 0) iw_vals_from_slots(results, t->results, t->nresults, fp);
  return rc;
}
