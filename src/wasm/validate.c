/* Function bodies: the instruction decoder shared by every stage, and the validator (the
 * algorithm of the spec's appendix: an operand stack of types with an "unknown" bottom type,
 * and a control stack of blocks).
 *
 * A body that fails validation is decoded again without type checks so that a later malformed
 * instruction still wins (see decode.c). Stacks grow with the body, so their size is bounded by
 * the input.
 */
#include <stdlib.h>
#include <string.h>

#include "wasm/reader.h"
#include "wasm/simd_table.h"

enum { I32 = T_I32, I64 = T_I64, F32 = T_F32, F64 = T_F64, V128 = T_V128 };

#define U_(a, r) {a, 0, r}
#define B_(a, r) {a, a, r}
const iw_sig iw_numsig[0x108] = {
    [0x45] = U_(I32, I32),           [0x46 ... 0x4f] = B_(I32, I32), [0x50] = U_(I64, I32),
    [0x51 ... 0x5a] = B_(I64, I32),  [0x5b ... 0x60] = B_(F32, I32), [0x61 ... 0x66] = B_(F64, I32),
    [0x67 ... 0x69] = U_(I32, I32),  [0x6a ... 0x78] = B_(I32, I32), [0x79 ... 0x7b] = U_(I64, I64),
    [0x7c ... 0x8a] = B_(I64, I64),  [0x8b ... 0x91] = U_(F32, F32), [0x92 ... 0x98] = B_(F32, F32),
    [0x99 ... 0x9f] = U_(F64, F64),  [0xa0 ... 0xa6] = B_(F64, F64), [0xa7] = U_(I64, I32),
    [0xa8 ... 0xa9] = U_(F32, I32),  [0xaa ... 0xab] = U_(F64, I32), [0xac ... 0xad] = U_(I32, I64),
    [0xae ... 0xaf] = U_(F32, I64),  [0xb0 ... 0xb1] = U_(F64, I64), [0xb2 ... 0xb3] = U_(I32, F32),
    [0xb4 ... 0xb5] = U_(I64, F32),  [0xb6] = U_(F64, F32),          [0xb7 ... 0xb8] = U_(I32, F64),
    [0xb9 ... 0xba] = U_(I64, F64),  [0xbb] = U_(F32, F64),          [0xbc] = U_(F32, I32),
    [0xbd] = U_(F64, I64),           [0xbe] = U_(I32, F32),          [0xbf] = U_(I64, F64),
    [0xc0 ... 0xc1] = U_(I32, I32),  [0xc2 ... 0xc4] = U_(I64, I64),
    [0x100 ... 0x101] = U_(F32, I32), [0x102 ... 0x103] = U_(F64, I32),
    [0x104 ... 0x105] = U_(F32, I64), [0x106 ... 0x107] = U_(F64, I64),
};

const uint8_t iw_memop_align[0x3f] = {
    [0x28] = 2, [0x29] = 3, [0x2a] = 2, [0x2b] = 3, [0x2c] = 0, [0x2d] = 0, [0x2e] = 1,
    [0x2f] = 1, [0x30] = 0, [0x31] = 0, [0x32] = 1, [0x33] = 1, [0x34] = 2, [0x35] = 2,
    [0x36] = 2, [0x37] = 3, [0x38] = 2, [0x39] = 3, [0x3a] = 0, [0x3b] = 1, [0x3c] = 0,
    [0x3d] = 1, [0x3e] = 2,
};
/* Value type a load produces / a store consumes. */
static const uint8_t memop_type[0x3f] = {
    [0x28] = I32, [0x29] = I64, [0x2a] = F32, [0x2b] = F64, [0x2c ... 0x2f] = I32,
    [0x30 ... 0x35] = I64, [0x36] = I32, [0x37] = I64, [0x38] = F32, [0x39] = F64,
    [0x3a ... 0x3b] = I32, [0x3c ... 0x3e] = I64,
};

#define SIMD_INFO(OP, NAME, TEXT, SHAPE, LANES, MEMSIZE, ALIGN) \
  [OP] = {1, SHAPE, LANES, MEMSIZE, ALIGN},
const iw_simd_info iw_simd_infos[256] = {IW_SIMD_OPS(SIMD_INFO)};

static const iw_valtype vt_one[] = {IW_I32, IW_I64, IW_F32, IW_F64, IW_V128, IW_FUNCREF,
                                    IW_EXTERNREF};

bool iw_block_type(const iw_module *m, int64_t bt, iw_blocktype *out) {
  memset(out, 0, sizeof *out);
  if (bt == -64) return true;
  if (bt < 0) {
    int k;
    switch ((uint8_t)(bt & 0x7f)) {
    case T_I32: k = 0; break;
    case T_I64: k = 1; break;
    case T_F32: k = 2; break;
    case T_F64: k = 3; break;
    case T_V128: k = 4; break;
    case T_FUNCREF: k = 5; break;
    default: k = 6; break;
    }
    out->nr = 1;
    out->r = &vt_one[k];
    return true;
  }
  if ((uint64_t)bt >= m->ntypes) return false;
  const iw_ftype *t = &m->types[bt];
  out->np = t->pub.nparams, out->p = t->pub.params;
  out->nr = t->pub.nresults, out->r = t->pub.results;
  return true;
}

/* ---- the instruction decoder -------------------------------------------------------------- */

static int zero_byte(iw_rd *r) {
  const uint8_t *at = r->p;
  uint8_t b;
  if (rd_u8(r, &b) < 0) return -1;
  if (b != 0) return iw_malformed(r->c, at, "zero byte expected");
  return 0;
}

static int memarg(iw_rd *r, iw_ins *ins) {
  const uint8_t *at = r->p;
  if (rd_u32(r, &ins->x) < 0) return -1;
  /* Bit 6 would name a memory (multi-memory); 2.0 has none, and exponents past 31 mean
   * nothing: both are malformed flags rather than a too-large alignment. */
  if (ins->x >= 32) return iw_malformed(r->c, at, "malformed memop flags");
  return rd_u32(r, &ins->y);
}

int iw_read_instr(iw_rd *r, const iw_module *m, iw_ins *ins) {
  ins->at = r->p;
  uint8_t op;
  if (rd_u8(r, &op) < 0) return -1;
  ins->op = op;
  int64_t s;
  const uint8_t *b;
  switch (op) {
  case 0x00: case 0x01: case 0x05: case 0x0b: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
  case 0x45 ... 0xc4:
    return 0;
  case 0x02: case 0x03: case 0x04:
    if (rd_sleb(r, 33, &ins->bt) < 0) return -1;
    if (ins->bt < 0 && ins->bt != -64) {
      switch ((uint8_t)(ins->bt & 0x7f)) {
      case T_I32: case T_I64: case T_F32: case T_F64: case T_V128: case T_FUNCREF:
      case T_EXTERNREF:
        if (ins->bt >= -64) return 0;
      }
      return iw_malformed(r->c, ins->at + 1, "malformed block type");
    }
    return 0;
  case 0x0c: case 0x0d: case 0x10: case 0x20 ... 0x26: case 0xd2:
    return rd_u32(r, &ins->x);
  case 0x0e:
    if (rd_count(r, &ins->ntbl) < 0) return -1;
    ins->tbl = r->p;
    for (uint32_t i = 0; i <= ins->ntbl; i++)
      if (rd_u32(r, &ins->x) < 0) return -1;
    return 0; /* x = the default label */
  case 0x11:
    return rd_u32(r, &ins->x) < 0 || rd_u32(r, &ins->y) < 0 ? -1 : 0;
  case 0x1c: {
    if (rd_count(r, &ins->nsel) < 0) return -1;
    for (uint32_t i = 0; i < ins->nsel; i++) {
      const uint8_t *at = r->p;
      uint8_t t;
      if (rd_u8(r, &t) < 0) return -1;
      switch (t) {
      case T_I32: case T_I64: case T_F32: case T_F64: case T_V128: case T_FUNCREF:
      case T_EXTERNREF:
        break;
      default:
        return iw_malformed(r->c, at, "malformed value type");
      }
      if (i == 0) ins->t = t;
    }
    return 0;
  }
  case 0x28 ... 0x3e:
    return memarg(r, ins);
  case 0x3f: case 0x40:
    return zero_byte(r);
  case 0x41:
    if (rd_sleb(r, 32, &s) < 0) return -1;
    ins->v[0] = (uint32_t)s;
    return 0;
  case 0x42:
    if (rd_sleb(r, 64, &s) < 0) return -1;
    ins->v[0] = (uint64_t)s;
    return 0;
  case 0x43:
    if (rd_bytes(r, 4, &b) < 0) return -1;
    ins->v[0] = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
  case 0x44:
    if (rd_bytes(r, 8, &b) < 0) return -1;
    memcpy(&ins->v[0], b, 8);
    return 0;
  case 0xd0: {
    const uint8_t *at = r->p;
    if (rd_u8(r, &ins->t) < 0) return -1;
    if (!iw_is_ref(ins->t)) return iw_malformed(r->c, at, "malformed reference type");
    return 0;
  }
  case 0xfc: {
    uint32_t sub;
    if (rd_u32(r, &sub) < 0) return -1;
    ins->op = 0xfc00 + (sub > 0xff ? 0xff : sub);
    switch (sub) {
    case 0 ... 7: return 0;
    case 8:
      if (rd_u32(r, &ins->x) < 0) return -1;
      if (!m->has_datacount && m->ndatas) return iw_malformed(r->c, ins->at, "data count section required");
      return zero_byte(r);
    case 9:
      if (rd_u32(r, &ins->x) < 0) return -1;
      if (!m->has_datacount && m->ndatas) return iw_malformed(r->c, ins->at, "data count section required");
      return 0;
    case 10: return zero_byte(r) < 0 || zero_byte(r) < 0 ? -1 : 0;
    case 11: return zero_byte(r);
    case 12: case 14: return rd_u32(r, &ins->x) < 0 || rd_u32(r, &ins->y) < 0 ? -1 : 0;
    case 13: case 15: case 16: case 17: return rd_u32(r, &ins->x);
    }
    return iw_malformed(r->c, ins->at, "illegal opcode 0xfc %u", sub);
  }
  case 0xfd: {
    uint32_t sub;
    if (rd_u32(r, &sub) < 0) return -1;
    if (sub > 0xff || !iw_simd_infos[sub].valid)
      return iw_malformed(r->c, ins->at, "illegal opcode 0xfd %u", sub);
    ins->op = 0xfd00 + sub;
    switch (iw_simd_infos[sub].shape) {
    case IW_SIMD_CONST: case IW_SIMD_SHUFFLE:
      if (rd_bytes(r, 16, &b) < 0) return -1;
      memcpy(ins->v, b, 16);
      return 0;
    case IW_SIMD_EXTRACT_I32: case IW_SIMD_EXTRACT_I64: case IW_SIMD_EXTRACT_F32:
    case IW_SIMD_EXTRACT_F64: case IW_SIMD_REPLACE_I32: case IW_SIMD_REPLACE_I64:
    case IW_SIMD_REPLACE_F32: case IW_SIMD_REPLACE_F64:
      return rd_u8(r, &ins->lane);
    case IW_SIMD_LOAD: case IW_SIMD_LOAD_EXTEND: case IW_SIMD_LOAD_SPLAT: case IW_SIMD_LOAD_ZERO:
    case IW_SIMD_STORE:
      return memarg(r, ins);
    case IW_SIMD_LOAD_LANE: case IW_SIMD_STORE_LANE:
      return memarg(r, ins) < 0 ? -1 : rd_u8(r, &ins->lane);
    }
    return 0;
  }
  }
  return iw_malformed(r->c, ins->at, "illegal opcode 0x%02x", op);
}

/* Decode-only walk: block structure and immediates, no types. Stops after the `end` that
 * closes the expression the cursor starts in. */
int iw_decode_expr(iw_dctx *c, const iw_module *m, iw_rd *r) {
  uint8_t small[64], *kinds = small;
  size_t depth = 1, cap = sizeof small;
  int rc = 0;
  kinds[0] = 0;
  while (depth > 0) {
    iw_ins ins;
    if (r->p >= r->end) {
      rc = iw_malformed(c, r->p, "unexpected end of section or function");
      break;
    }
    if (iw_read_instr(r, m, &ins) < 0) {
      rc = -1;
      break;
    }
    if (ins.op == 0x02 || ins.op == 0x03 || ins.op == 0x04) {
      if (depth == cap) {
        uint8_t *n = malloc(cap * 2);
        if (!n) {
          iw_err_set(c->err, IW_ERR_RESOURCE, "out of memory");
          rc = -1;
          break;
        }
        memcpy(n, kinds, cap);
        if (kinds != small) free(kinds);
        kinds = n, cap *= 2;
      }
      kinds[depth++] = (uint8_t)ins.op;
    } else if (ins.op == 0x05) {
      if (kinds[depth - 1] != 0x04) {
        rc = iw_malformed(c, ins.at, "else without if");
        break;
      }
      kinds[depth - 1] = 0x05;
    } else if (ins.op == 0x0b) {
      depth--;
    }
  }
  if (kinds != small) free(kinds);
  return rc;
}

int iw_decode_body_only(iw_dctx *c, const iw_module *m, uint32_t fidx) {
  const iw_mfunc *f = &m->funcs[fidx - m->nimported_funcs];
  iw_rd r = {m->bytes + f->code, m->bytes + f->end, c};
  if (iw_decode_expr(c, m, &r) < 0) return -1;
  if (r.p != r.end) return iw_malformed(c, r.p, "section size mismatch: code after the final end");
  return 0;
}

/* ---- the validator -------------------------------------------------------------------------- */

typedef struct vctl {
  uint8_t op; /* 0x02 block, 0x03 loop, 0x04 if, 0x05 else, 0 function */
  bool unreachable;
  uint32_t height;
  iw_blocktype bt;
} vctl;

typedef struct vst {
  iw_dctx *c;
  const iw_module *m;
  uint8_t *vals;
  size_t nvals, capvals;
  vctl *ctls;
  size_t nctls, capctls;
  uint8_t *locals;
  uint32_t nlocals;
  const uint8_t *at;
} vst;

#define INVALID (-2)

static int inv(vst *v, const char *what) {
  iw_invalid(v->c, v->at, "%s", what);
  return INVALID;
}

static int oomv(vst *v) {
  iw_err_set(v->c->err, IW_ERR_RESOURCE, "out of memory while validating");
  return -1;
}

static int push(vst *v, uint8_t t) {
  if (v->nvals == v->capvals) {
    size_t n = v->capvals ? v->capvals * 2 : 64;
    uint8_t *p = realloc(v->vals, n);
    if (!p) return oomv(v);
    v->vals = p, v->capvals = n;
  }
  v->vals[v->nvals++] = t;
  return 0;
}

/* Pops one operand; *out is T_UNKNOWN when the stack is polymorphic. */
static int pop(vst *v, uint8_t *out) {
  vctl *c = &v->ctls[v->nctls - 1];
  if (v->nvals == c->height) {
    if (c->unreachable) {
      *out = T_UNKNOWN;
      return 0;
    }
    return inv(v, "type mismatch: operand stack underflow");
  }
  *out = v->vals[--v->nvals];
  return 0;
}

static int pop_expect(vst *v, uint8_t want) {
  uint8_t t;
  int rc = pop(v, &t);
  if (rc < 0) return rc;
  if (t != want && t != T_UNKNOWN && want != T_UNKNOWN) return inv(v, "type mismatch");
  return 0;
}

static int pop_types(vst *v, const iw_valtype *ts, uint32_t n) {
  for (uint32_t i = n; i-- > 0;) {
    int rc = pop_expect(v, (uint8_t)ts[i]);
    if (rc < 0) return rc;
  }
  return 0;
}

static int push_types(vst *v, const iw_valtype *ts, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    if (push(v, (uint8_t)ts[i]) < 0) return -1;
  return 0;
}

static int push_ctl(vst *v, uint8_t op, const iw_blocktype *bt) {
  if (v->nctls == v->capctls) {
    size_t n = v->capctls ? v->capctls * 2 : 16;
    vctl *p = realloc(v->ctls, n * sizeof *p);
    if (!p) return oomv(v);
    v->ctls = p, v->capctls = n;
  }
  v->ctls[v->nctls++] = (vctl){.op = op, .height = (uint32_t)v->nvals, .bt = *bt};
  return push_types(v, bt->p, bt->np);
}

static int pop_ctl(vst *v, vctl *out) {
  if (v->nctls == 0) return inv(v, "type mismatch: unbalanced end");
  vctl *c = &v->ctls[v->nctls - 1];
  int rc = pop_types(v, c->bt.r, c->bt.nr);
  if (rc < 0) return rc;
  if (v->nvals != c->height) return inv(v, "type mismatch: values remain at the end of a block");
  *out = *c;
  v->nctls--;
  return 0;
}

static void set_unreachable(vst *v) {
  vctl *c = &v->ctls[v->nctls - 1];
  v->nvals = c->height;
  c->unreachable = true;
}

static void label_types(const vctl *c, const iw_valtype **ts, uint32_t *n) {
  if (c->op == 0x03) *ts = c->bt.p, *n = c->bt.np;
  else *ts = c->bt.r, *n = c->bt.nr;
}

#define TRY(x)                                                                               \
  do {                                                                                       \
    int rc_ = (x);                                                                           \
    if (rc_ < 0) return rc_;                                                                 \
  } while (0)

static int need_mem(vst *v) { return v->m->nmems ? 0 : inv(v, "unknown memory 0"); }

static int need_table(vst *v, uint32_t t) {
  return t < v->m->ntables ? 0 : inv(v, "unknown table");
}

static int check_simd(vst *v, const iw_ins *ins) {
  const iw_simd_info *si = &iw_simd_infos[ins->op & 0xff];
  if (si->lanes && (si->shape != IW_SIMD_SHUFFLE) && ins->lane >= si->lanes)
    return inv(v, "invalid lane index");
  if (si->memsize) {
    TRY(need_mem(v));
    if (ins->x > si->align) return inv(v, "alignment must not be larger than natural");
  }
  switch (si->shape) {
  case IW_SIMD_CONST: return push(v, V128);
  case IW_SIMD_SHUFFLE: {
    const uint8_t *lanes = (const uint8_t *)ins->v;
    for (int i = 0; i < 16; i++)
      if (lanes[i] >= 32) return inv(v, "invalid lane index");
    TRY(pop_expect(v, V128));
    TRY(pop_expect(v, V128));
    return push(v, V128);
  }
  case IW_SIMD_UN: TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_BIN: TRY(pop_expect(v, V128)); TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_TERN:
    TRY(pop_expect(v, V128));
    TRY(pop_expect(v, V128));
    TRY(pop_expect(v, V128));
    return push(v, V128);
  case IW_SIMD_SHIFT: TRY(pop_expect(v, I32)); TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_TEST: TRY(pop_expect(v, V128)); return push(v, I32);
  case IW_SIMD_SPLAT_I32: TRY(pop_expect(v, I32)); return push(v, V128);
  case IW_SIMD_SPLAT_I64: TRY(pop_expect(v, I64)); return push(v, V128);
  case IW_SIMD_SPLAT_F32: TRY(pop_expect(v, F32)); return push(v, V128);
  case IW_SIMD_SPLAT_F64: TRY(pop_expect(v, F64)); return push(v, V128);
  case IW_SIMD_EXTRACT_I32: TRY(pop_expect(v, V128)); return push(v, I32);
  case IW_SIMD_EXTRACT_I64: TRY(pop_expect(v, V128)); return push(v, I64);
  case IW_SIMD_EXTRACT_F32: TRY(pop_expect(v, V128)); return push(v, F32);
  case IW_SIMD_EXTRACT_F64: TRY(pop_expect(v, V128)); return push(v, F64);
  case IW_SIMD_REPLACE_I32: TRY(pop_expect(v, I32)); TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_REPLACE_I64: TRY(pop_expect(v, I64)); TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_REPLACE_F32: TRY(pop_expect(v, F32)); TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_REPLACE_F64: TRY(pop_expect(v, F64)); TRY(pop_expect(v, V128)); return push(v, V128);
  case IW_SIMD_LOAD: case IW_SIMD_LOAD_EXTEND: case IW_SIMD_LOAD_SPLAT: case IW_SIMD_LOAD_ZERO:
    TRY(pop_expect(v, I32));
    return push(v, V128);
  case IW_SIMD_LOAD_LANE: TRY(pop_expect(v, V128)); TRY(pop_expect(v, I32)); return push(v, V128);
  case IW_SIMD_STORE: case IW_SIMD_STORE_LANE:
    TRY(pop_expect(v, V128));
    return pop_expect(v, I32);
  }
  return inv(v, "unknown SIMD shape");
}

static int check_instr(vst *v, const iw_ins *ins) {
  const iw_module *m = v->m;
  uint8_t t, t1, t2;
  iw_blocktype bt;
  const iw_valtype *lt;
  uint32_t ln;
  uint32_t op = ins->op;
  if ((op >= 0x45 && op <= 0xc4) || (op >= 0xfc00 && op <= 0xfc07)) {
    const iw_sig *s = &iw_numsig[op >= 0xfc00 ? 0x100 + (op & 0xff) : op];
    if (s->b) TRY(pop_expect(v, s->b));
    TRY(pop_expect(v, s->a));
    return push(v, s->r);
  }
  if (op >= 0xfd00) return check_simd(v, ins);
  switch (op) {
  case 0x00: set_unreachable(v); return 0;
  case 0x01: return 0;
  case 0x02: case 0x03: case 0x04:
    if (!iw_block_type(m, ins->bt, &bt)) return inv(v, "unknown type");
    if (op == 0x04) TRY(pop_expect(v, I32));
    TRY(pop_types(v, bt.p, bt.np));
    return push_ctl(v, (uint8_t)op, &bt);
  case 0x05: {
    vctl c;
    if (v->ctls[v->nctls - 1].op != 0x04) {
      iw_malformed(v->c, ins->at, "else without if");
      return -1;
    }
    TRY(pop_ctl(v, &c));
    return push_ctl(v, 0x05, &c.bt);
  }
  case 0x0b: {
    vctl c;
    TRY(pop_ctl(v, &c));
    if (c.op == 0x04) {
      /* An if without else passes its params through as results. */
      if (c.bt.np != c.bt.nr) return inv(v, "type mismatch: if without else");
      for (uint32_t i = 0; i < c.bt.np; i++)
        if (c.bt.p[i] != c.bt.r[i]) return inv(v, "type mismatch: if without else");
    }
    return push_types(v, c.bt.r, c.bt.nr);
  }
  case 0x0c:
    if (ins->x >= v->nctls) return inv(v, "unknown label");
    label_types(&v->ctls[v->nctls - 1 - ins->x], &lt, &ln);
    TRY(pop_types(v, lt, ln));
    set_unreachable(v);
    return 0;
  case 0x0d:
    if (ins->x >= v->nctls) return inv(v, "unknown label");
    TRY(pop_expect(v, I32));
    label_types(&v->ctls[v->nctls - 1 - ins->x], &lt, &ln);
    TRY(pop_types(v, lt, ln));
    return push_types(v, lt, ln);
  case 0x0e: {
    TRY(pop_expect(v, I32));
    if (ins->x >= v->nctls) return inv(v, "unknown label");
    label_types(&v->ctls[v->nctls - 1 - ins->x], &lt, &ln);
    uint32_t arity = ln;
    const uint8_t *p = ins->tbl;
    for (uint32_t i = 0; i < ins->ntbl; i++) {
      uint32_t l = u_u32(&p);
      const iw_valtype *lt2;
      uint32_t ln2;
      if (l >= v->nctls) return inv(v, "unknown label");
      label_types(&v->ctls[v->nctls - 1 - l], &lt2, &ln2);
      if (ln2 != arity) return inv(v, "type mismatch: br_table arity");
      /* The spec pops the label's types and pushes back what it popped: the stack is
       * unchanged, except that a polymorphic bottom may yield unknowns, which behave alike. */
      size_t save = v->nvals;
      TRY(pop_types(v, lt2, ln2));
      v->nvals = save;
    }
    TRY(pop_types(v, lt, ln));
    set_unreachable(v);
    return 0;
  }
  case 0x0f:
    label_types(&v->ctls[0], &lt, &ln);
    TRY(pop_types(v, lt, ln));
    set_unreachable(v);
    return 0;
  case 0x10: {
    if (ins->x >= m->nfuncs) return inv(v, "unknown function");
    const iw_ftype *ft = &m->types[m->func_type[ins->x]];
    TRY(pop_types(v, ft->pub.params, ft->pub.nparams));
    return push_types(v, ft->pub.results, ft->pub.nresults);
  }
  case 0x11: {
    TRY(need_table(v, ins->y));
    if (m->tables[ins->y].elem != T_FUNCREF) return inv(v, "type mismatch: table is not funcref");
    if (ins->x >= m->ntypes) return inv(v, "unknown type");
    const iw_ftype *ft = &m->types[ins->x];
    TRY(pop_expect(v, I32));
    TRY(pop_types(v, ft->pub.params, ft->pub.nparams));
    return push_types(v, ft->pub.results, ft->pub.nresults);
  }
  case 0x1a: return pop(v, &t);
  case 0x1b:
    TRY(pop_expect(v, I32));
    TRY(pop(v, &t1));
    TRY(pop(v, &t2));
    if (iw_is_ref(t1) || iw_is_ref(t2)) return inv(v, "type mismatch: select of references");
    if (t1 != t2 && t1 != T_UNKNOWN && t2 != T_UNKNOWN) return inv(v, "type mismatch");
    return push(v, t1 == T_UNKNOWN ? t2 : t1);
  case 0x1c:
    if (ins->nsel != 1) return inv(v, "invalid result arity");
    TRY(pop_expect(v, I32));
    TRY(pop_expect(v, ins->t));
    TRY(pop_expect(v, ins->t));
    return push(v, ins->t);
  case 0x20:
    if (ins->x >= v->nlocals) return inv(v, "unknown local");
    return push(v, v->locals[ins->x]);
  case 0x21:
    if (ins->x >= v->nlocals) return inv(v, "unknown local");
    return pop_expect(v, v->locals[ins->x]);
  case 0x22:
    if (ins->x >= v->nlocals) return inv(v, "unknown local");
    TRY(pop_expect(v, v->locals[ins->x]));
    return push(v, v->locals[ins->x]);
  case 0x23:
    if (ins->x >= m->nglobals) return inv(v, "unknown global");
    return push(v, m->globals[ins->x].type);
  case 0x24:
    if (ins->x >= m->nglobals) return inv(v, "unknown global");
    if (!m->globals[ins->x].mut) return inv(v, "global is immutable");
    return pop_expect(v, m->globals[ins->x].type);
  case 0x25:
    TRY(need_table(v, ins->x));
    TRY(pop_expect(v, I32));
    return push(v, m->tables[ins->x].elem);
  case 0x26:
    TRY(need_table(v, ins->x));
    TRY(pop_expect(v, m->tables[ins->x].elem));
    return pop_expect(v, I32);
  case 0x28 ... 0x35:
    TRY(need_mem(v));
    if (ins->x > iw_memop_align[op]) return inv(v, "alignment must not be larger than natural");
    TRY(pop_expect(v, I32));
    return push(v, memop_type[op]);
  case 0x36 ... 0x3e:
    TRY(need_mem(v));
    if (ins->x > iw_memop_align[op]) return inv(v, "alignment must not be larger than natural");
    TRY(pop_expect(v, memop_type[op]));
    return pop_expect(v, I32);
  case 0x3f: TRY(need_mem(v)); return push(v, I32);
  case 0x40: TRY(need_mem(v)); TRY(pop_expect(v, I32)); return push(v, I32);
  case 0x41: return push(v, I32);
  case 0x42: return push(v, I64);
  case 0x43: return push(v, F32);
  case 0x44: return push(v, F64);
  case 0xd0: return push(v, ins->t);
  case 0xd1:
    TRY(pop(v, &t));
    if (t != T_UNKNOWN && !iw_is_ref(t)) return inv(v, "type mismatch: ref.is_null of a number");
    return push(v, I32);
  case 0xd2:
    if (ins->x >= m->nfuncs) return inv(v, "unknown function");
    if (!(m->declared[ins->x / 8] & (1u << (ins->x % 8))))
      return inv(v, "undeclared function reference");
    return push(v, T_FUNCREF);
  case 0xfc08:
    TRY(need_mem(v));
    if (ins->x >= (m->has_datacount ? m->datacount : m->ndatas)) return inv(v, "unknown data segment");
    TRY(pop_expect(v, I32)); TRY(pop_expect(v, I32)); return pop_expect(v, I32);
  case 0xfc09:
    if (ins->x >= (m->has_datacount ? m->datacount : m->ndatas)) return inv(v, "unknown data segment");
    return 0;
  case 0xfc0a: case 0xfc0b:
    TRY(need_mem(v));
    TRY(pop_expect(v, I32)); TRY(pop_expect(v, I32)); return pop_expect(v, I32);
  case 0xfc0c:
    TRY(need_table(v, ins->y));
    if (ins->x >= m->nelems) return inv(v, "unknown elem segment");
    if (m->elems[ins->x].type != m->tables[ins->y].elem) return inv(v, "type mismatch");
    TRY(pop_expect(v, I32)); TRY(pop_expect(v, I32)); return pop_expect(v, I32);
  case 0xfc0d:
    if (ins->x >= m->nelems) return inv(v, "unknown elem segment");
    return 0;
  case 0xfc0e:
    TRY(need_table(v, ins->x));
    TRY(need_table(v, ins->y));
    if (m->tables[ins->x].elem != m->tables[ins->y].elem) return inv(v, "type mismatch");
    TRY(pop_expect(v, I32)); TRY(pop_expect(v, I32)); return pop_expect(v, I32);
  case 0xfc0f:
    TRY(need_table(v, ins->x));
    TRY(pop_expect(v, I32));
    TRY(pop_expect(v, m->tables[ins->x].elem));
    return push(v, I32);
  case 0xfc10: TRY(need_table(v, ins->x)); return push(v, I32);
  case 0xfc11:
    TRY(need_table(v, ins->x));
    TRY(pop_expect(v, I32));
    TRY(pop_expect(v, m->tables[ins->x].elem));
    return pop_expect(v, I32);
  }
  iw_malformed(v->c, ins->at, "illegal opcode");
  return -1;
}

/* Validates one body: 0, -1 malformed (err set), INVALID (recorded in the context). */
static int validate_func(vst *v, uint32_t fidx) {
  const iw_module *m = v->m;
  const iw_mfunc *f = &m->funcs[fidx - m->nimported_funcs];
  const iw_ftype *ft = &m->types[f->type];
  v->nvals = v->nctls = 0;
  /* Locals: params, then the declared runs (decode.c checked them). */
  v->nlocals = ft->pub.nparams + f->nlocals;
  v->locals = malloc(v->nlocals ? v->nlocals : 1);
  if (!v->locals) return oomv(v);
  for (uint32_t i = 0; i < ft->pub.nparams; i++) v->locals[i] = (uint8_t)ft->pub.params[i];
  const uint8_t *p = m->bytes + f->body;
  uint32_t runs = u_u32(&p), k = ft->pub.nparams;
  for (uint32_t i = 0; i < runs; i++) {
    uint32_t n = u_u32(&p);
    uint8_t t = *p++;
    memset(v->locals + k, t, n);
    k += n;
  }
  iw_blocktype fbt = {0, ft->pub.nresults, NULL, ft->pub.results};
  int rc = push_ctl(v, 0, &fbt);
  iw_rd r = {m->bytes + f->code, m->bytes + f->end, v->c};
  while (rc == 0) {
    if (r.p >= r.end) {
      rc = iw_malformed(v->c, r.p, "unexpected end of section or function");
      break;
    }
    iw_ins ins;
    if (iw_read_instr(&r, m, &ins) < 0) {
      rc = -1;
      break;
    }
    v->at = ins.at;
    rc = check_instr(v, &ins);
    if (rc == 0 && v->nctls == 0) {
      if (r.p != r.end) rc = iw_malformed(v->c, r.p, "section size mismatch: code after the final end");
      break;
    }
  }
  free(v->locals);
  v->locals = NULL;
  return rc;
}

int iw_validate_code(iw_dctx *c, iw_module *m) {
  vst v = {.c = c, .m = m};
  int rc = 0;
  c->section = "code";
  for (uint32_t i = m->nimported_funcs; i < m->nfuncs && rc == 0; i++) {
    c->func = i;
    if (c->invalid) {
      rc = iw_decode_body_only(c, m, i);
      continue;
    }
    rc = validate_func(&v, i);
    if (rc == INVALID) rc = iw_decode_body_only(c, m, i);
  }
  free(v.vals);
  free(v.ctls);
  c->func = -1;
  c->section = NULL;
  return rc < 0 ? -1 : 0;
}
