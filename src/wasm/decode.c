/* Binary decoding of a module: sections, in order, into the model of module.h.
 *
 * Malformed input stops decoding at once; a validation error found on the way (an index out of
 * range, a bad limit) is recorded and decoding goes on, because the spec decodes the whole
 * binary before validating it: a module that is both invalid and malformed is malformed.
 * Function bodies are walked by validate.c once every section is in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/reader.h"

/* ---- error helpers ------------------------------------------------------------------------ */

static void vfmt(iw_dctx *c, iw_error *e, iw_errkind kind, const uint8_t *at, const char *fmt,
                 va_list ap) {
  char what[256];
  vsnprintf(what, sizeof what, fmt, ap);
  int64_t off = at ? (int64_t)(at - c->base) : -1;
  e->kind = kind;
  e->trap = IW_TRAP_NONE;
  e->func_index = c->func;
  e->offset = off;
  const char *name = c->func >= 0 && c->m ? iw_func_name(c->m, (uint32_t)c->func) : NULL;
  if (c->func >= 0 && name)
    snprintf(e->msg, sizeof e->msg, "%s section, function %lld `%s`, offset 0x%llx: %s", c->section,
             (long long)c->func, name, (long long)off, what);
  else if (c->func >= 0)
    snprintf(e->msg, sizeof e->msg, "%s section, function %lld, offset 0x%llx: %s", c->section,
             (long long)c->func, (long long)off, what);
  else if (c->section)
    snprintf(e->msg, sizeof e->msg, "%s section, offset 0x%llx: %s", c->section, (long long)off,
             what);
  else
    snprintf(e->msg, sizeof e->msg, "offset 0x%llx: %s", (long long)off, what);
}

int iw_malformed(iw_dctx *c, const uint8_t *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfmt(c, c->err, IW_ERR_MALFORMED, at, fmt, ap);
  va_end(ap);
  return -1;
}

int iw_invalid(iw_dctx *c, const uint8_t *at, const char *fmt, ...) {
  if (!c->invalid) {
    va_list ap;
    va_start(ap, fmt);
    vfmt(c, &c->first_invalid, IW_ERR_INVALID, at, fmt, ap);
    va_end(ap);
    c->invalid = true;
  }
  return -1;
}

static int oom(iw_dctx *c) {
  iw_err_set(c->err, IW_ERR_RESOURCE, "out of memory while decoding");
  return -1;
}

const char *iw_func_name(const iw_module *m, uint32_t fidx) {
  if (!m->func_names || fidx >= m->nfuncs) return NULL;
  return m->func_names[fidx];
}

/* ---- small readers --------------------------------------------------------------------------- */

static bool utf8_ok(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = s[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    uint32_t cp;
    size_t len;
    if ((b & 0xe0) == 0xc0) cp = b & 0x1f, len = 2;
    else if ((b & 0xf0) == 0xe0) cp = b & 0x0f, len = 3;
    else if ((b & 0xf8) == 0xf0) cp = b & 0x07, len = 4;
    else return false;
    if (n - i < len) return false;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
      return false; /* overlong */
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

static int rd_name(iw_rd *r, char **out) {
  uint32_t n;
  const uint8_t *s;
  if (rd_count(r, &n) < 0 || rd_bytes(r, n, &s) < 0) return -1;
  if (!utf8_ok(s, n)) return iw_malformed(r->c, s, "malformed UTF-8 encoding");
  if (out) {
    *out = malloc((size_t)n + 1);
    if (!*out) return oom(r->c);
    memcpy(*out, s, n);
    (*out)[n] = 0;
  }
  return 0;
}

static int rd_valtype(iw_rd *r, uint8_t *t) {
  const uint8_t *at = r->p;
  if (rd_u8(r, t) < 0) return -1;
  switch (*t) {
  case T_I32: case T_I64: case T_F32: case T_F64: case T_V128: case T_FUNCREF: case T_EXTERNREF:
    return 0;
  }
  return iw_malformed(r->c, at, "malformed value type 0x%02x", *t);
}

static int rd_reftype(iw_rd *r, uint8_t *t) {
  const uint8_t *at = r->p;
  if (rd_u8(r, t) < 0) return -1;
  if (!iw_is_ref(*t)) return iw_malformed(r->c, at, "malformed reference type 0x%02x", *t);
  return 0;
}

static int rd_limits(iw_rd *r, iw_lim *l, bool memory) {
  const uint8_t *at = r->p;
  uint8_t flag;
  if (rd_u8(r, &flag) < 0) return -1;
  if (flag > 1) return iw_malformed(r->c, at, "integer too large: limits flags 0x%02x", flag);
  l->has_max = flag == 1;
  l->max = UINT32_MAX;
  if (rd_u32(r, &l->min) < 0) return -1;
  if (l->has_max && rd_u32(r, &l->max) < 0) return -1;
  if (memory) {
    if (l->min > IW_MAX_PAGES || (l->has_max && l->max > IW_MAX_PAGES))
      iw_invalid(r->c, at, "memory size must be at most 65536 pages (4GiB)");
  }
  if (l->has_max && l->min > l->max)
    iw_invalid(r->c, at, "size minimum must not be greater than maximum");
  return 0;
}

/* A constant expression whose value must have type `expect`. Only imported globals are
 * visible (WebAssembly 2.0). */
static int rd_cexpr(iw_rd *r, iw_module *m, uint8_t expect, iw_cexpr *out) {
  iw_dctx *c = r->c;
  const uint8_t *start = r->p;
  uint32_t n = 0;
  bool bad = false;
  memset(out, 0, sizeof *out);
  for (;;) {
    const uint8_t *at = r->p;
    uint8_t op;
    if (rd_u8(r, &op) < 0) return -1;
    if (op == 0x0b) break;
    iw_cexpr e = {.op = op};
    int64_t s;
    const uint8_t *b;
    switch (op) {
    case 0x41:
      if (rd_sleb(r, 32, &s) < 0) return -1;
      e.type = T_I32, e.v[0] = (uint32_t)s;
      break;
    case 0x42:
      if (rd_sleb(r, 64, &s) < 0) return -1;
      e.type = T_I64, e.v[0] = (uint64_t)s;
      break;
    case 0x43:
      if (rd_bytes(r, 4, &b) < 0) return -1;
      e.type = T_F32, e.v[0] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
                               (uint32_t)b[3] << 24;
      break;
    case 0x44:
      if (rd_bytes(r, 8, &b) < 0) return -1;
      e.type = T_F64;
      memcpy(&e.v[0], b, 8);
      break;
    case 0xd0:
      if (rd_reftype(r, &e.type) < 0) return -1;
      break;
    case 0xd2:
      if (rd_u32(r, &e.index) < 0) return -1;
      e.type = T_FUNCREF;
      if (e.index >= m->nfuncs) bad = true, iw_invalid(c, at, "unknown function %u", e.index);
      else m->declared[e.index / 8] |= (uint8_t)(1u << (e.index % 8));
      break;
    case 0x23:
      if (rd_u32(r, &e.index) < 0) return -1;
      if (e.index >= m->nimported_globals) {
        bad = true, iw_invalid(c, at, "unknown global %u", e.index);
      } else {
        /* Imported globals come first in m->globals. */
        e.type = m->globals[e.index].type;
        if (m->globals[e.index].mut) bad = true, iw_invalid(c, at, "constant expression required");
      }
      break;
    case 0xfd: {
      uint32_t sub;
      if (rd_u32(r, &sub) < 0) return -1;
      if (sub == 12) {
        if (rd_bytes(r, 16, &b) < 0) return -1;
        e.type = T_V128;
        memcpy(e.v, b, 16);
        break;
      }
    }
      /* fallthrough */
    default:
      /* Not constant: decode the rest as ordinary instructions, so that an illegal opcode is
       * still reported as malformed. */
      r->p = at;
      iw_invalid(c, at, "constant expression required");
      return iw_decode_expr(c, m, r);
    }
    if (n++ == 0) *out = e;
  }
  if (bad) return 0;
  if (n != 1 || (out->type != expect && out->type != 0))
    iw_invalid(c, start, "type mismatch in constant expression");
  return 0;
}

/* ---- sections ---------------------------------------------------------------------------- */

static int sec_type(iw_rd *r, iw_module *m) {
  if (rd_count(r, &m->ntypes) < 0) return -1;
  m->types = calloc(m->ntypes ? m->ntypes : 1, sizeof *m->types);
  if (!m->types) return oom(r->c);
  for (uint32_t i = 0; i < m->ntypes; i++) {
    const uint8_t *at = r->p;
    uint8_t form;
    if (rd_u8(r, &form) < 0) return -1;
    if (form != 0x60) return iw_malformed(r->c, at, "integer representation too long: type form");
    uint32_t np, nr;
    uint8_t buf[2][64], *tp[2] = {buf[0], buf[1]};
    uint8_t *heap[2] = {NULL, NULL};
    uint32_t cnt[2];
    int rc = 0;
    for (int k = 0; k < 2 && rc == 0; k++) {
      if (rd_count(r, &cnt[k]) < 0) { rc = -1; break; }
      if (cnt[k] > 64) {
        heap[k] = malloc(cnt[k]);
        if (!heap[k]) { rc = oom(r->c); break; }
        tp[k] = heap[k];
      }
      for (uint32_t j = 0; j < cnt[k]; j++)
        if (rd_valtype(r, &tp[k][j]) < 0) { rc = -1; break; }
    }
    if (rc == 0) {
      np = cnt[0], nr = cnt[1];
      iw_valtype *ps = malloc(sizeof *ps * (np ? np : 1)), *rs = malloc(sizeof *rs * (nr ? nr : 1));
      if (!ps || !rs) rc = oom(r->c);
      else {
        for (uint32_t j = 0; j < np; j++) ps[j] = tp[0][j];
        for (uint32_t j = 0; j < nr; j++) rs[j] = tp[1][j];
        rc = iw_ftype_copy(&m->types[i], ps, np, rs, nr);
        if (rc < 0) oom(r->c);
      }
      free(ps), free(rs);
    }
    free(heap[0]), free(heap[1]);
    if (rc < 0) return -1;
  }
  return 0;
}

static int sec_import(iw_rd *r, iw_module *m) {
  if (rd_count(r, &m->nimports) < 0) return -1;
  m->imports = calloc(m->nimports ? m->nimports : 1, sizeof *m->imports);
  if (!m->imports) return oom(r->c);
  /* Imports also populate the index spaces; grow those arrays as we go (bounded by count). */
  uint32_t n = m->nimports;
  free(m->func_type);
  m->func_type = calloc(n ? n : 1, sizeof *m->func_type);
  m->tables = calloc(n ? n : 1, sizeof *m->tables);
  m->mems = calloc(n ? n : 1, sizeof *m->mems);
  m->globals = calloc(n ? n : 1, sizeof *m->globals);
  if (!m->func_type || !m->tables || !m->mems || !m->globals) return oom(r->c);
  for (uint32_t i = 0; i < n; i++) {
    iw_mimport *im = &m->imports[i];
    if (rd_name(r, &im->module) < 0 || rd_name(r, &im->name) < 0) return -1;
    const uint8_t *at = r->p;
    uint8_t kind;
    if (rd_u8(r, &kind) < 0) return -1;
    switch (kind) {
    case 0:
      im->kind = IW_EXTERN_FUNC;
      if (rd_u32(r, &im->type) < 0) return -1;
      if (im->type >= m->ntypes) iw_invalid(r->c, at, "unknown type %u", im->type), im->type = 0;
      m->func_type[m->nimported_funcs++] = im->type;
      break;
    case 1:
      im->kind = IW_EXTERN_TABLE;
      if (rd_reftype(r, &im->vtype) < 0 || rd_limits(r, &im->lim, false) < 0) return -1;
      m->tables[m->nimported_tables].elem = im->vtype;
      m->tables[m->nimported_tables++].lim = im->lim;
      break;
    case 2:
      im->kind = IW_EXTERN_MEMORY;
      if (rd_limits(r, &im->lim, true) < 0) return -1;
      if (m->nimported_mems >= 1) iw_invalid(r->c, at, "multiple memories");
      m->mems[m->nimported_mems++] = im->lim;
      break;
    case 3: {
      im->kind = IW_EXTERN_GLOBAL;
      uint8_t mut;
      if (rd_valtype(r, &im->vtype) < 0) return -1;
      const uint8_t *mat = r->p;
      if (rd_u8(r, &mut) < 0) return -1;
      if (mut > 1) return iw_malformed(r->c, mat, "malformed mutability");
      im->mut = mut;
      m->globals[m->nimported_globals].type = im->vtype;
      m->globals[m->nimported_globals++].mut = mut;
      break;
    }
    default:
      return iw_malformed(r->c, at, "malformed import kind 0x%02x", kind);
    }
  }
  m->nfuncs = m->nimported_funcs;
  m->ntables = m->nimported_tables;
  m->nmems = m->nimported_mems;
  m->nglobals = m->nimported_globals;
  return 0;
}

/* Appends n zeroed elements to an index-space array. */
static int grow_space(iw_dctx *c, void **arr, uint32_t have, uint32_t n, size_t elsize) {
  void *p = realloc(*arr, ((size_t)have + n + 1) * elsize);
  if (!p) return oom(c);
  memset((char *)p + (size_t)have * elsize, 0, ((size_t)n + 1) * elsize);
  *arr = p;
  return 0;
}

static int sec_function(iw_rd *r, iw_module *m) {
  uint32_t n;
  if (rd_count(r, &n) < 0) return -1;
  if (grow_space(r->c, (void **)&m->func_type, m->nfuncs, n, sizeof *m->func_type) < 0) return -1;
  m->funcs = calloc(n ? n : 1, sizeof *m->funcs);
  if (!m->funcs) return oom(r->c);
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *at = r->p;
    uint32_t t;
    if (rd_u32(r, &t) < 0) return -1;
    if (t >= m->ntypes) iw_invalid(r->c, at, "unknown type %u", t), t = 0;
    m->funcs[i].type = t;
    m->func_type[m->nfuncs++] = t;
  }
  return 0;
}

static int sec_table(iw_rd *r, iw_module *m) {
  uint32_t n;
  if (rd_count(r, &n) < 0) return -1;
  if (grow_space(r->c, (void **)&m->tables, m->ntables, n, sizeof *m->tables) < 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    iw_mtable *t = &m->tables[m->ntables++];
    if (rd_reftype(r, &t->elem) < 0 || rd_limits(r, &t->lim, false) < 0) return -1;
  }
  return 0;
}

static int sec_memory(iw_rd *r, iw_module *m) {
  uint32_t n;
  if (rd_count(r, &n) < 0) return -1;
  if (grow_space(r->c, (void **)&m->mems, m->nmems, n, sizeof *m->mems) < 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    const uint8_t *at = r->p;
    if (rd_limits(r, &m->mems[m->nmems], true) < 0) return -1;
    if (++m->nmems > 1) iw_invalid(r->c, at, "multiple memories");
  }
  return 0;
}

static int sec_global(iw_rd *r, iw_module *m) {
  uint32_t n;
  if (rd_count(r, &n) < 0) return -1;
  if (grow_space(r->c, (void **)&m->globals, m->nglobals, n, sizeof *m->globals) < 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    iw_mglobal *g = &m->globals[m->nglobals];
    uint8_t mut;
    if (rd_valtype(r, &g->type) < 0) return -1;
    const uint8_t *at = r->p;
    if (rd_u8(r, &mut) < 0) return -1;
    if (mut > 1) return iw_malformed(r->c, at, "malformed mutability");
    g->mut = mut;
    if (rd_cexpr(r, m, g->type, &g->init) < 0) return -1;
    m->nglobals++;
  }
  return 0;
}

static int cmp_export(const void *a, const void *b) {
  const iw_mexport *x = *(const iw_mexport *const *)a, *y = *(const iw_mexport *const *)b;
  int c = memcmp(x->name, y->name, x->name_len < y->name_len ? x->name_len : y->name_len);
  return c ? c : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int sec_export(iw_rd *r, iw_module *m) {
  if (rd_count(r, &m->nexports) < 0) return -1;
  m->exports = calloc(m->nexports ? m->nexports : 1, sizeof *m->exports);
  if (!m->exports) return oom(r->c);
  for (uint32_t i = 0; i < m->nexports; i++) {
    iw_mexport *e = &m->exports[i];
    const uint8_t *nat = r->p;
    if (rd_name(r, &e->name) < 0) return -1;
    e->name_len = (uint32_t)strlen(e->name);
    {
      /* The length as encoded: rd_name copied all of it, NULs included. */
      iw_rd t = {nat, r->p, r->c};
      uint32_t n;
      if (rd_u32(&t, &n) == 0) e->name_len = n;
    }
    const uint8_t *at = r->p;
    uint8_t kind;
    if (rd_u8(r, &kind) < 0) return -1;
    if (kind > 3) return iw_malformed(r->c, at, "malformed export kind 0x%02x", kind);
    e->kind = kind;
    if (rd_u32(r, &e->index) < 0) return -1;
    static const char *const what[] = {"function", "table", "memory", "global"};
    uint32_t lim = kind == 0 ? m->nfuncs : kind == 1 ? m->ntables : kind == 2 ? m->nmems : m->nglobals;
    if (e->index >= lim) iw_invalid(r->c, at, "unknown %s %u", what[kind], e->index);
    else if (kind == 0) m->declared[e->index / 8] |= (uint8_t)(1u << (e->index % 8));
  }
  /* Duplicate names: sort pointers, compare neighbours. */
  if (m->nexports > 1) {
    iw_mexport **v = malloc(sizeof *v * m->nexports);
    if (!v) return oom(r->c);
    for (uint32_t i = 0; i < m->nexports; i++) v[i] = &m->exports[i];
    qsort(v, m->nexports, sizeof *v, cmp_export);
    for (uint32_t i = 1; i < m->nexports; i++)
      if (cmp_export(&v[i - 1], &v[i]) == 0) {
        iw_invalid(r->c, NULL, "duplicate export name `%s`", v[i]->name);
        break;
      }
    free(v);
  }
  return 0;
}

static int sec_start(iw_rd *r, iw_module *m) {
  const uint8_t *at = r->p;
  if (rd_u32(r, &m->start) < 0) return -1;
  m->has_start = true;
  if (m->start >= m->nfuncs) {
    iw_invalid(r->c, at, "unknown function %u", m->start);
    m->has_start = false;
  } else if (m->func_type[m->start] < m->ntypes) {
    const iw_ftype *t = &m->types[m->func_type[m->start]];
    if (t->pub.nparams || t->pub.nresults) iw_invalid(r->c, at, "start function must be [] -> []");
  }
  return 0;
}

static int sec_elem(iw_rd *r, iw_module *m) {
  if (rd_count(r, &m->nelems) < 0) return -1;
  m->elems = calloc(m->nelems ? m->nelems : 1, sizeof *m->elems);
  if (!m->elems) return oom(r->c);
  for (uint32_t i = 0; i < m->nelems; i++) {
    iw_melem *e = &m->elems[i];
    const uint8_t *at = r->p;
    uint32_t flags;
    if (rd_u32(r, &flags) < 0) return -1;
    if (flags > 7) return iw_malformed(r->c, at, "malformed elements segment kind %u", flags);
    e->mode = (flags & 1) ? ((flags & 2) ? SEG_DECLARATIVE : SEG_PASSIVE) : SEG_ACTIVE;
    e->type = T_FUNCREF;
    const uint8_t *tat = r->p;
    if (e->mode == SEG_ACTIVE) {
      if ((flags & 2) && rd_u32(r, &e->table) < 0) return -1;
      if (rd_cexpr(r, m, T_I32, &e->offset) < 0) return -1;
    }
    bool exprs = flags & 4;
    if (flags & 3) {
      /* An element kind (0x00 = funcref) or a reference type follows. */
      const uint8_t *kat = r->p;
      if (exprs) {
        if (rd_reftype(r, &e->type) < 0) return -1;
      } else {
        uint8_t k;
        if (rd_u8(r, &k) < 0) return -1;
        if (k != 0) return iw_malformed(r->c, kat, "malformed element kind 0x%02x", k);
      }
    }
    if (rd_count(r, &e->count) < 0) return -1;
    e->items = calloc(e->count ? e->count : 1, sizeof *e->items);
    if (!e->items) return oom(r->c);
    for (uint32_t j = 0; j < e->count; j++) {
      const uint8_t *iat = r->p;
      if (exprs) {
        if (rd_cexpr(r, m, e->type, &e->items[j]) < 0) return -1;
      } else {
        uint32_t f;
        if (rd_u32(r, &f) < 0) return -1;
        e->items[j] = (iw_cexpr){.op = 0xd2, .type = T_FUNCREF, .index = f};
        if (f >= m->nfuncs) iw_invalid(r->c, iat, "unknown function %u", f);
        else m->declared[f / 8] |= (uint8_t)(1u << (f % 8));
      }
    }
    if (e->mode == SEG_ACTIVE) {
      if (e->table >= m->ntables) iw_invalid(r->c, tat, "unknown table %u", e->table);
      else if (m->tables[e->table].elem != e->type) iw_invalid(r->c, tat, "type mismatch in element segment");
    }
  }
  return 0;
}

static int sec_datacount(iw_rd *r, iw_module *m) {
  if (rd_u32(r, &m->datacount) < 0) return -1;
  m->has_datacount = true;
  return 0;
}

static int sec_code(iw_rd *r, iw_module *m, uint32_t ndefined) {
  uint32_t n;
  const uint8_t *at = r->p;
  if (rd_count(r, &n) < 0) return -1;
  if (n != ndefined) return iw_malformed(r->c, at, "function and code section have inconsistent lengths");
  for (uint32_t i = 0; i < n; i++) {
    iw_mfunc *f = &m->funcs[i];
    r->c->func = m->nimported_funcs + i;
    uint32_t size;
    const uint8_t *body;
    if (rd_u32(r, &size) < 0 || rd_bytes(r, size, &body) < 0) return -1;
    iw_rd b = {body, body + size, r->c};
    uint32_t runs;
    uint64_t total = 0;
    if (rd_count(&b, &runs) < 0) return -1;
    for (uint32_t k = 0; k < runs; k++) {
      const uint8_t *lat = b.p;
      uint32_t cnt;
      uint8_t t;
      if (rd_u32(&b, &cnt) < 0) return -1;
      total += cnt;
      if (total > IW_MAX_LOCALS) return iw_malformed(r->c, lat, "too many locals");
      if (rd_valtype(&b, &t) < 0) return -1;
    }
    f->body = (uint32_t)(body - r->c->base);
    f->code = (uint32_t)(b.p - r->c->base);
    f->end = (uint32_t)(body + size - r->c->base);
    f->nlocals = (uint32_t)total;
    if (b.p >= b.end) return iw_malformed(r->c, b.p, "unexpected end of section or function");
  }
  r->c->func = -1;
  return 0;
}

static int sec_data(iw_rd *r, iw_module *m) {
  const uint8_t *at = r->p;
  if (rd_count(r, &m->ndatas) < 0) return -1;
  if (m->has_datacount && m->ndatas != m->datacount)
    return iw_malformed(r->c, at, "data count and data section have inconsistent lengths");
  m->datas = calloc(m->ndatas ? m->ndatas : 1, sizeof *m->datas);
  if (!m->datas) return oom(r->c);
  for (uint32_t i = 0; i < m->ndatas; i++) {
    iw_mdata *d = &m->datas[i];
    const uint8_t *fat = r->p;
    uint32_t flags;
    if (rd_u32(r, &flags) < 0) return -1;
    if (flags > 2) return iw_malformed(r->c, fat, "malformed data segment kind %u", flags);
    d->mode = flags == 1 ? SEG_PASSIVE : SEG_ACTIVE;
    if (flags == 2 && rd_u32(r, &d->mem) < 0) return -1;
    if (d->mode == SEG_ACTIVE) {
      if (d->mem >= m->nmems) iw_invalid(r->c, fat, "unknown memory %u", d->mem);
      if (rd_cexpr(r, m, T_I32, &d->offset) < 0) return -1;
    }
    uint32_t len;
    const uint8_t *bytes;
    if (rd_count(r, &len) < 0 || rd_bytes(r, len, &bytes) < 0) return -1;
    d->off = (uint32_t)(bytes - r->c->base);
    d->len = len;
  }
  return 0;
}

/* The `name` custom section: only function names are kept, and any damage in it is ignored,
 * as the spec asks of custom sections. */
static void sec_names(const uint8_t *p, const uint8_t *end, iw_module *m) {
  iw_error dummy;
  iw_dctx c = {.err = &dummy, .base = p, .func = -1};
  iw_rd r = {p, end, &c};
  while (r.p < r.end) {
    uint8_t id;
    uint32_t size;
    const uint8_t *sub;
    if (rd_u8(&r, &id) < 0 || rd_u32(&r, &size) < 0 || rd_bytes(&r, size, &sub) < 0) return;
    if (id != 1) continue;
    iw_rd s = {sub, sub + size, &c};
    uint32_t n;
    if (rd_count(&s, &n) < 0) return;
    if (!m->func_names) {
      m->func_names = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_names);
      if (!m->func_names) return;
    }
    for (uint32_t i = 0; i < n; i++) {
      uint32_t idx;
      char *name;
      if (rd_u32(&s, &idx) < 0 || rd_name(&s, &name) < 0) return;
      if (idx < m->nfuncs && !m->func_names[idx]) m->func_names[idx] = name;
      else free(name);
    }
  }
}

/* ---- the module ---------------------------------------------------------------------------- */

void iw_module_release(iw_module *m) {
  if (!m || atomic_fetch_sub(&m->refs, 1) != 1) return;
  for (uint32_t i = 0; i < m->ntypes; i++) free(m->types[i].types);
  free(m->types);
  for (uint32_t i = 0; i < m->nimports; i++) free(m->imports[i].module), free(m->imports[i].name);
  free(m->imports);
  free(m->func_type);
  free(m->funcs);
  free(m->tables);
  free(m->mems);
  free(m->globals);
  for (uint32_t i = 0; i < m->nexports; i++) free(m->exports[i].name);
  free(m->exports);
  for (uint32_t i = 0; i < m->nelems; i++) free(m->elems[i].items);
  free(m->elems);
  free(m->datas);
  free(m->declared);
  if (m->func_names) {
    for (uint32_t i = 0; i < m->nfuncs; i++) free(m->func_names[i]);
    free(m->func_names);
  }
  for (int k = 0; k < 2; k++) {
    if (!m->code[k]) continue;
    for (uint32_t i = 0; i < m->nfuncs - m->nimported_funcs; i++) iw_code_free(m->code[k][i]);
    free(m->code[k]);
  }
  free(m->bytes);
  free(m);
}

void iw_module_free(iw_module *module) { iw_module_release(module); }

/* Section ids in the order the binary format requires (custom sections aside). */
static int section_order(uint8_t id) {
  static const int8_t ord[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
  return id <= 12 ? ord[id] : -1;
}

static const char *section_name(uint8_t id) {
  static const char *const n[13] = {"custom", "type", "import", "function", "table", "memory",
                                    "global", "export", "start", "element", "code", "data",
                                    "data count"};
  return id <= 12 ? n[id] : "unknown";
}

static int decode(iw_dctx *c, iw_module *m) {
  const uint8_t *p = m->bytes, *end = m->bytes + m->len;
  iw_rd r = {p, end, c};
  const uint8_t *hdr;
  if (rd_bytes(&r, 4, &hdr) < 0) return -1;
  if (memcmp(hdr, "\0asm", 4) != 0) return iw_malformed(c, hdr, "magic header not detected");
  if (rd_bytes(&r, 4, &hdr) < 0) return iw_malformed(c, hdr, "unknown binary version");
  if (memcmp(hdr, "\1\0\0\0", 4) != 0) return iw_malformed(c, hdr, "unknown binary version");
  int last = 0;
  uint32_t ndefined = 0;
  bool have_func = false, have_code = false;
  while (r.p < r.end) {
    const uint8_t *at = r.p;
    uint8_t id;
    uint32_t size;
    if (rd_u8(&r, &id) < 0) return -1;
    int ord = section_order(id);
    if (ord < 0) return iw_malformed(c, at, "malformed section id %u", id);
    c->section = section_name(id);
    if (rd_u32(&r, &size) < 0) return -1;
    if (size > (size_t)(r.end - r.p)) return iw_malformed(c, r.p, "length out of bounds: section size");
    if (id != 0) {
      if (ord <= last) return iw_malformed(c, at, "unexpected content after last section");
      last = ord;
    }
    c->section = section_name(id);
    iw_rd s = {r.p, r.p + size, c};
    int rc = 0;
    switch (id) {
    case 0: {
      const uint8_t *nat = s.p;
      uint32_t n;
      const uint8_t *name;
      rc = rd_count(&s, &n);
      if (rc == 0) rc = rd_bytes(&s, n, &name);
      if (rc == 0 && !utf8_ok(name, n)) rc = iw_malformed(c, nat, "malformed UTF-8 encoding");
      if (rc == 0 && n == 4 && memcmp(name, "name", 4) == 0) sec_names(s.p, s.end, m);
      s.p = s.end;
      break;
    }
    case 1: rc = sec_type(&s, m); break;
    case 2: rc = sec_import(&s, m); break;
    case 3:
      ndefined = m->nfuncs;
      rc = sec_function(&s, m);
      ndefined = m->nfuncs - ndefined;
      have_func = true;
      break;
    case 4: rc = sec_table(&s, m); break;
    case 5: rc = sec_memory(&s, m); break;
    case 6: rc = sec_global(&s, m); break;
    case 7: rc = sec_export(&s, m); break;
    case 8: rc = sec_start(&s, m); break;
    case 9: rc = sec_elem(&s, m); break;
    case 10: rc = sec_code(&s, m, ndefined); have_code = true; break;
    case 11: rc = sec_data(&s, m); break;
    case 12: rc = sec_datacount(&s, m); break;
    }
    if (rc < 0) return -1;
    if (s.p != s.end) return iw_malformed(c, s.p, "section size mismatch");
    r.p = s.end;
    /* `declared` is sized once the function count is known (imports, then functions). */
    if (id == 2 || id == 3) {
      free(m->declared);
      m->declared = calloc(m->nfuncs / 8 + 1, 1);
      if (!m->declared) return oom(c);
    }
  }
  c->section = NULL;
  if (have_func && ndefined > 0 && !have_code)
    return iw_malformed(c, r.p, "function and code section have inconsistent lengths");
  if (m->has_datacount && m->ndatas != m->datacount)
    return iw_malformed(c, r.p, "data count and data section have inconsistent lengths");
  return 0;
}

iw_module *iw_module_new(const uint8_t *bytes, size_t len, iw_error *err) {
  iw_error tmp;
  if (!err) err = &tmp;
  memset(err, 0, sizeof *err);
  err->func_index = err->offset = -1;
  if (len > UINT32_MAX) {
    iw_err_set(err, IW_ERR_RESOURCE, "module of %zu bytes is too large", len);
    return NULL;
  }
  iw_module *m = calloc(1, sizeof *m);
  if (!m) {
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  atomic_init(&m->refs, 1);
  m->bytes = malloc(len ? len : 1);
  m->declared = calloc(1, 1);
  if (!m->bytes || !m->declared) {
    iw_module_release(m);
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
    return NULL;
  }
  memcpy(m->bytes, bytes, len);
  m->len = len;
  /* Arrays every later stage may index without checking for NULL. */
  if (!m->func_type) m->func_type = calloc(1, sizeof *m->func_type);
  iw_dctx c = {.err = err, .m = m, .base = m->bytes, .func = -1};
  int rc = decode(&c, m);
  if (rc == 0) rc = iw_validate_code(&c, m);
  if (rc == 0 && c.invalid) {
    *err = c.first_invalid;
    rc = -1;
  }
  if (rc < 0) {
    iw_module_release(m);
    return NULL;
  }
  for (int k = 0; k < 2; k++) {
    m->code[k] = calloc((m->nfuncs - m->nimported_funcs) + 1, sizeof *m->code[k]);
    if (!m->code[k]) {
      iw_module_release(m);
      iw_err_set(err, IW_ERR_RESOURCE, "out of memory");
      return NULL;
    }
  }
  return m;
}

/* ---- introspection -------------------------------------------------------------------------- */

size_t iw_module_import_count(const iw_module *m) { return m->nimports; }

void iw_module_import(const iw_module *m, size_t i, iw_importdesc *out) {
  out->module = m->imports[i].module;
  out->name = m->imports[i].name;
  out->kind = m->imports[i].kind;
}

size_t iw_module_export_count(const iw_module *m) { return m->nexports; }

void iw_module_export(const iw_module *m, size_t i, iw_exportdesc *out) {
  out->name = m->exports[i].name;
  out->kind = m->exports[i].kind;
}

const iw_functype *iw_module_import_functype(const iw_module *m, size_t i) {
  if (i >= m->nimports || m->imports[i].kind != IW_EXTERN_FUNC) return NULL;
  return &m->types[m->imports[i].type].pub;
}
