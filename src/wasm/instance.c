/* Instantiation: linking imports, creating tables, memories and globals, evaluating constant
 * expressions, initialising element and data segments, and running the start function.
 *
 * Promise: imports are checked against the module's declared types (the spec's import
 * subtyping for limits) before anything is created. An instance is owned by its store from the
 * moment it exists, so a trap in a segment or in the start function leaves no leak, and the
 * effects on imported tables and memories stay, as the spec says.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/module.h"

void iw_instance_destroy(iw_instance *inst);

int iw_eval_cexpr(const iw_instance *inst, const iw_cexpr *e, iw_v128u *out) {
  memset(out, 0, sizeof *out);
  switch (e->op) {
  case 0xd0: break;
  case 0xd2: out->d[0] = (uint64_t)(uintptr_t)inst->funcs[e->index]; break;
  case 0x23: *out = inst->globals[e->index]->val; break;
  default: out->d[0] = e->v[0], out->d[1] = e->v[1]; break;
  }
  return 0;
}

static void *ref_of(const iw_v128u *v) { return (void *)(uintptr_t)v->d[0]; }

static int unlinkable(iw_error *err, const iw_mimport *im, const char *why) {
  iw_err_set(err, IW_ERR_UNLINKABLE, "import `%s` `%s`: %s", im->module, im->name, why);
  return -1;
}

static bool limits_match(uint64_t size, uint64_t max, bool has_max, const iw_lim *want) {
  if (size < want->min) return false;
  if (want->has_max && (!has_max || max > want->max)) return false;
  return true;
}

static int link_imports(iw_instance *inst, const iw_extern *imports, iw_error *err) {
  const iw_module *m = inst->module;
  uint32_t nf = 0, nt = 0, nm = 0, ng = 0;
  for (uint32_t i = 0; i < m->nimports; i++) {
    const iw_mimport *im = &m->imports[i];
    const iw_extern *ex = &imports[i];
    if (ex->kind != im->kind || !ex->of.func) return unlinkable(err, im, "incompatible import type");
    switch (im->kind) {
    case IW_EXTERN_FUNC:
      if (!iw_ftype_eq(ex->of.func->type, &m->types[im->type]))
        return unlinkable(err, im, "incompatible import type: function type");
      inst->funcs[nf++] = ex->of.func;
      break;
    case IW_EXTERN_TABLE: {
      iw_table *t = ex->of.table;
      if (t->elem != im->vtype || !limits_match(t->size, t->max, t->max != UINT32_MAX, &im->lim))
        return unlinkable(err, im, "incompatible import type: table");
      inst->tables[nt++] = t;
      break;
    }
    case IW_EXTERN_MEMORY: {
      iw_memory *mm = ex->of.memory;
      if (!limits_match(mm->size / IW_PAGE, mm->decl_max, mm->decl_has_max, &im->lim))
        return unlinkable(err, im, "incompatible import type: memory");
      inst->mems[nm++] = mm;
      break;
    }
    case IW_EXTERN_GLOBAL: {
      iw_global *g = ex->of.global;
      if (g->type != im->vtype || g->mut != im->mut)
        return unlinkable(err, im, "incompatible import type: global");
      inst->globals[ng++] = g;
      break;
    }
    }
  }
  return 0;
}

static iw_instance *alloc_instance(iw_store *s, iw_module *m, iw_error *err) {
  iw_instance *inst = calloc(1, sizeof *inst);
  if (!inst) goto oom;
  inst->store = s;
  inst->module = m;
  atomic_fetch_add(&m->refs, 1);
  if (iw_store_own(s, OBJ_INSTANCE, inst, err) < 0) {
    iw_instance_destroy(inst);
    return NULL;
  }
  inst->funcs = calloc(m->nfuncs + 1, sizeof *inst->funcs);
  inst->tables = calloc(m->ntables + 1, sizeof *inst->tables);
  inst->mems = calloc(m->nmems + 1, sizeof *inst->mems);
  inst->globals = calloc(m->nglobals + 1, sizeof *inst->globals);
  inst->type_ids = calloc(m->ntypes + 1, sizeof *inst->type_ids);
  inst->elem_len = calloc(m->nelems + 1, sizeof *inst->elem_len);
  inst->elem_items = calloc(m->nelems + 1, sizeof *inst->elem_items);
  inst->data_dropped = calloc(m->ndatas + 1, sizeof *inst->data_dropped);
  if (!inst->funcs || !inst->tables || !inst->mems || !inst->globals || !inst->type_ids ||
      !inst->elem_len || !inst->elem_items || !inst->data_dropped)
    goto oom;
  return inst;
oom:
  iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
  return NULL;
}

void iw_instance_destroy(iw_instance *inst) {
  if (!inst) return;
  const iw_module *m = inst->module;
  if (inst->funcs)
    for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++) free(inst->funcs[i]);
  if (inst->elem_items)
    for (uint32_t i = 0; i < m->nelems; i++) free(inst->elem_items[i]);
  free(inst->funcs);
  free(inst->tables);
  free(inst->mems);
  free(inst->globals);
  free(inst->type_ids);
  free(inst->elem_len);
  free(inst->elem_items);
  free(inst->data_dropped);
  iw_module_release(inst->module);
  free(inst);
}

static int segment_trap(iw_error *err, iw_trap t, const char *what, uint32_t i) {
  iw_err_trap(err, t);
  size_t l = strlen(err->msg);
  snprintf(err->msg + l, sizeof err->msg - l, " (initialising %s segment %u)", what, i);
  return -1;
}

iw_instance *iw_instantiate(iw_store *store, const iw_module *module, const iw_extern *imports,
                            size_t nimports, iw_error *err) {
  iw_error tmp;
  if (!err) err = &tmp;
  iw_module *m = (iw_module *)module;
  if (nimports != m->nimports) {
    iw_err_set(err, IW_ERR_USAGE, "module needs %u imports, %zu given", m->nimports, nimports);
    return NULL;
  }
  iw_instance *inst = alloc_instance(store, m, err);
  if (!inst) return NULL;
  inst->mode = store->lim.explicit_bounds ? 1 : 0;
  if (link_imports(inst, imports, err) < 0) return NULL;
  for (uint32_t i = 0; i < m->ntypes; i++)
    if (iw_intern_type(store, &m->types[i], &inst->type_ids[i], err) < 0) return NULL;
  for (uint32_t i = m->nimported_funcs; i < m->nfuncs; i++) {
    iw_func *f = calloc(1, sizeof *f);
    if (!f) {
      iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
      return NULL;
    }
    f->type = &m->types[m->func_type[i]];
    f->type_id = inst->type_ids[m->func_type[i]];
    f->inst = inst;
    f->index = i;
    inst->funcs[i] = f;
  }
  for (uint32_t i = m->nimported_tables; i < m->ntables; i++) {
    const iw_mtable *mt = &m->tables[i];
    iw_table *t = iw_table_create(store, mt->elem, mt->lim.min,
                                  mt->lim.has_max ? mt->lim.max : UINT32_MAX, err);
    if (!t) return NULL;
    if (iw_store_own(store, OBJ_TABLE, t, err) < 0) {
      iw_table_destroy(t);
      return NULL;
    }
    inst->tables[i] = t;
  }
  for (uint32_t i = m->nimported_mems; i < m->nmems; i++) {
    iw_memory *mm = iw_memory_create(store, m->mems[i].min, m->mems[i].max, m->mems[i].has_max, err);
    if (!mm) return NULL;
    if (iw_store_own(store, OBJ_MEMORY, mm, err) < 0) {
      iw_memory_destroy(mm);
      return NULL;
    }
    inst->mems[i] = mm;
  }
  inst->mem0 = m->nmems ? inst->mems[0] : &store->empty_mem;
  /* Code compiled for guarded memory would skip the checks an explicit-bounds memory needs
   * (one imported from an explicit store, or one whose reservation failed). */
  if (m->nmems && !inst->mem0->guarded) inst->mode = 1;
  for (uint32_t i = m->nimported_globals; i < m->nglobals; i++) {
    iw_global *g = calloc(1, sizeof *g);
    if (!g || iw_store_own(store, OBJ_GLOBAL, g, err) < 0) {
      free(g);
      iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
      return NULL;
    }
    g->type = m->globals[i].type;
    g->mut = m->globals[i].mut;
    iw_eval_cexpr(inst, &m->globals[i].init, &g->val);
    inst->globals[i] = g;
  }
  /* Element segments become arrays of references now; active ones are copied in below. */
  for (uint32_t i = 0; i < m->nelems; i++) {
    const iw_melem *e = &m->elems[i];
    void **items = calloc(e->count ? e->count : 1, sizeof *items);
    if (!items) {
      iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
      return NULL;
    }
    for (uint32_t k = 0; k < e->count; k++) {
      iw_v128u v;
      iw_eval_cexpr(inst, &e->items[k], &v);
      items[k] = ref_of(&v);
    }
    inst->elem_items[i] = items;
    inst->elem_len[i] = e->mode == SEG_DECLARATIVE ? 0 : e->count;
  }
  for (uint32_t i = 0; i < m->nelems; i++) {
    const iw_melem *e = &m->elems[i];
    if (e->mode != SEG_ACTIVE) continue;
    iw_v128u off;
    iw_eval_cexpr(inst, &e->offset, &off);
    iw_table *t = inst->tables[e->table];
    uint64_t d = (uint32_t)off.d[0];
    if (d + e->count > t->size) {
      segment_trap(err, IW_TRAP_TABLE_OOB, "element", i);
      return NULL;
    }
    memcpy(t->elems + d, inst->elem_items[i], sizeof(void *) * e->count);
    inst->elem_len[i] = 0;
  }
  for (uint32_t i = 0; i < m->ndatas; i++) {
    const iw_mdata *dd = &m->datas[i];
    if (dd->mode != SEG_ACTIVE) continue;
    iw_v128u off;
    iw_eval_cexpr(inst, &dd->offset, &off);
    iw_memory *mm = inst->mems[dd->mem];
    uint64_t d = (uint32_t)off.d[0];
    if (d + dd->len > mm->size) {
      segment_trap(err, IW_TRAP_MEM_OOB, "data", i);
      return NULL;
    }
    memcpy(mm->base + d, m->bytes + dd->off, dd->len);
    inst->data_dropped[i] = true;
  }
  if (m->has_start) {
    if (iw_call(store, inst->funcs[m->start], NULL, 0, NULL, 0, err) < 0) return NULL;
  }
  return inst;
}

int iw_instance_export(const iw_instance *inst, const char *name, iw_extern *out) {
  const iw_module *m = inst->module;
  size_t len = strlen(name);
  for (uint32_t i = 0; i < m->nexports; i++) {
    const iw_mexport *e = &m->exports[i];
    if (e->name_len != len || memcmp(e->name, name, len) != 0) continue;
    out->kind = e->kind;
    switch (e->kind) {
    case IW_EXTERN_FUNC: out->of.func = inst->funcs[e->index]; break;
    case IW_EXTERN_TABLE: out->of.table = inst->tables[e->index]; break;
    case IW_EXTERN_MEMORY: out->of.memory = inst->mems[e->index]; break;
    case IW_EXTERN_GLOBAL: out->of.global = inst->globals[e->index]; break;
    }
    return 0;
  }
  return -1;
}

const iw_module *iw_instance_module(const iw_instance *instance) { return instance->module; }
