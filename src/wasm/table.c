/* Tables and globals: the two small kinds of store object.
 *
 * Promise: a table never holds more than IW_MAX_TABLE elements (growth past that fails the way
 * the spec lets table.grow fail, returning -1), and every element is a reference of the
 * table's type (an iw_func * for funcref, the host's pointer for externref; NULL is null).
 */
#include <stdlib.h>
#include <string.h>

#include "wasm/module.h"

iw_table *iw_table_create(iw_store *s, uint8_t elem, uint32_t min, uint32_t max, iw_error *err) {
  (void)s;
  if (min > IW_MAX_TABLE) {
    iw_err_set(err, IW_ERR_RESOURCE, "table of %u elements exceeds the limit of %u", min,
               IW_MAX_TABLE);
    return NULL;
  }
  iw_table *t = calloc(1, sizeof *t);
  if (!t || !(t->elems = calloc(min ? min : 1, sizeof *t->elems))) {
    free(t);
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  t->elem = elem;
  t->size = t->cap = min;
  t->max = max;
  return t;
}

void iw_table_destroy(iw_table *t) {
  if (!t) return;
  free(t->elems);
  free(t);
}

int64_t iw_table_grow_by(iw_table *t, uint32_t delta, void *init) {
  uint64_t old = t->size, n = old + delta;
  if (n > t->max || n > IW_MAX_TABLE) return -1;
  if (n > t->cap) {
    uint64_t cap = t->cap * 2 > n ? t->cap * 2 : n;
    if (cap > IW_MAX_TABLE) cap = IW_MAX_TABLE;
    void **e = realloc(t->elems, cap * sizeof *e);
    if (!e) return -1;
    t->elems = e;
    t->cap = (uint32_t)cap;
  }
  for (uint64_t i = old; i < n; i++) t->elems[i] = init;
  t->size = (uint32_t)n;
  return (int64_t)old;
}

static bool is_ref(iw_valtype t) { return t == IW_FUNCREF || t == IW_EXTERNREF; }

iw_table *iw_table_new(iw_store *store, iw_valtype elemtype, uint32_t min, uint32_t max,
                       const iw_val *init, iw_error *err) {
  if (!is_ref(elemtype) || min > max) {
    iw_err_set(err, IW_ERR_USAGE, "invalid table type");
    return NULL;
  }
  iw_table *t = iw_table_create(store, (uint8_t)elemtype, min, max, err);
  if (!t) return NULL;
  void *v = init ? init->of.externref : NULL;
  for (uint32_t i = 0; i < min; i++) t->elems[i] = v;
  if (iw_store_own(store, OBJ_TABLE, t, err) < 0) {
    iw_table_destroy(t);
    return NULL;
  }
  return t;
}

uint32_t iw_table_size(const iw_table *table) { return table->size; }

int iw_table_get(const iw_table *table, uint32_t index, iw_val *out, iw_error *err) {
  if (index >= table->size) {
    iw_err_trap(err, IW_TRAP_TABLE_OOB);
    return -1;
  }
  memset(out, 0, sizeof *out);
  out->type = (iw_valtype)table->elem;
  out->of.externref = table->elems[index];
  return 0;
}

int iw_table_set(iw_table *table, uint32_t index, const iw_val *val, iw_error *err) {
  if (val->type != (iw_valtype)table->elem) {
    iw_err_set(err, IW_ERR_USAGE, "table element of the wrong type");
    return -1;
  }
  if (index >= table->size) {
    iw_err_trap(err, IW_TRAP_TABLE_OOB);
    return -1;
  }
  table->elems[index] = val->of.externref;
  return 0;
}

/* ---- globals ----------------------------------------------------------------------------- */

iw_global *iw_global_new(iw_store *store, iw_valtype type, bool mutable_, const iw_val *init,
                         iw_error *err) {
  iw_global *g = calloc(1, sizeof *g);
  if (!g) {
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  g->type = (uint8_t)type;
  g->mut = mutable_;
  if (init) iw_slots_from_vals(g->val.b, &type, 1, init);
  if (iw_store_own(store, OBJ_GLOBAL, g, err) < 0) {
    free(g);
    return NULL;
  }
  return g;
}

void iw_global_get(const iw_global *global, iw_val *out) {
  iw_valtype t = (iw_valtype)global->type;
  iw_vals_from_slots(out, &t, 1, global->val.b);
}

int iw_global_set(iw_global *global, const iw_val *val, iw_error *err) {
  if (!global->mut) {
    iw_err_set(err, IW_ERR_USAGE, "global is immutable");
    return -1;
  }
  if (val->type != (iw_valtype)global->type) {
    iw_err_set(err, IW_ERR_USAGE, "global value of the wrong type");
    return -1;
  }
  iw_valtype t = (iw_valtype)global->type;
  iw_slots_from_vals(global->val.b, &t, 1, val);
  return 0;
}
