/* Compiles one validated function body into the internal register code (format: interp.c).
 *
 * One pass over the body with a compile-time operand stack whose entries say where each value
 * is: in its "home" slot (stack position i has a fixed frame offset), still a constant, or still
 * a local (or another fixed slot) that no instruction has copied yet. Consumers read constants
 * and locals directly, so `local.get`/`const` cost nothing; a value is copied to its home only
 * when it must be (control-flow merges, calls, a `local.set` of the local it aliases). A result
 * that is immediately stored with `local.set` is written straight into the local by patching the
 * producer's destination, and an integer compare feeding `br_if`/`if` becomes one
 * compare-and-branch instruction.
 *
 * Assumes the body passed validation: nothing here re-checks types or indices.
 */
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/ops.h"
#include "wasm/reader.h"

/* Where a compile-time stack value is: its home slot, a constant, a local's slot, another fixed
 * slot (K_TREF), or an i32 sum slot + constant not computed yet (K_ADDI: addresses, which loads
 * and stores take as base + immediate). */
enum { K_HOME, K_CONST, K_LOCAL, K_TREF, K_ADDI };

typedef struct cval {
  uint8_t type, kind;
  uint8_t lref;  /* reads a local's slot: a local.set of it must copy this value first */
  uint32_t home; /* frame offset of this stack position */
  uint32_t slot; /* K_LOCAL / K_TREF: where the value is */
  uint64_t c[2]; /* K_CONST */
} cval;

typedef struct patch {
  uint32_t field, ins; /* the int32 to fill, and the instruction it is relative to */
  int32_t next;
} patch;

typedef struct cctl {
  uint8_t op; /* 0 function, 0x02 block, 0x03 loop, 0x04 if, 0x05 else */
  bool unreachable;
  uint32_t height; /* stack entries below this belong to enclosing blocks */
  uint32_t base;   /* stack position of the label's values (params of a loop, else results) */
  iw_blocktype bt;
  uint32_t loop_pc;
  int32_t patches, else_patch;
} cctl;

typedef struct cs {
  const iw_module *m;
  const void *const *h; /* handler per op */
  int mode;
  jmp_buf oom;
  uint8_t *code;
  size_t len, cap;
  cval *st;
  uint32_t n, capst;
  cctl *ctl;
  uint32_t nctl, capctl;
  patch *pt;
  uint32_t npt, cappt;
  uint32_t *lslot;
  uint8_t *ltype;
  uint32_t nlocals, temp_base, max_bytes, nlocal_refs;
  const iw_ftype *ft;
  /* Peepholes: the last instruction with a destination at word 0, and the last compare. */
  size_t dst_ins, dst_end;
  uint32_t dst_home;
  struct {
    size_t ins, end;
    uint32_t op, a, b, home;
    uint64_t imm;
    bool is_imm;
  } cmp;
} cs;

#define NONE ((size_t)-1)

static void *xrealloc(cs *c, void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) longjmp(c->oom, 1);
  return q;
}

static inline uint32_t tsize(uint8_t t) { return t == T_V128 ? 16 : 8; }

/* ---- emission ------------------------------------------------------------------------------ */

static size_t emit(cs *c, int op, uint32_t nwords) {
  size_t sz = IW_INSN_SIZE(nwords);
  if (c->len + sz + 16 > c->cap) {
    size_t ncap = c->cap * 2 + sz + 256;
    c->code = xrealloc(c, c->code, ncap);
    c->cap = ncap;
  }
  size_t at = c->len;
  memset(c->code + at, 0, sz);
  const void *h = c->h[op];
  memcpy(c->code + at, &h, sizeof h);
  c->len += sz;
  return at;
}

static inline uint32_t *W(cs *c, size_t at) { return (uint32_t *)(c->code + at + 8); }

static void put64(cs *c, size_t at, uint32_t word, uint64_t v) { memcpy(W(c, at) + word, &v, 8); }

/* Marks a point that a branch may reach: peepholes must not reach across it. */
static void bind(cs *c) { c->dst_ins = c->cmp.ins = NONE; }

static void note_dst(cs *c, size_t at, uint32_t home) {
  c->dst_ins = at;
  c->dst_end = c->len;
  c->dst_home = home;
}

static void add_patch(cs *c, int32_t *head, size_t ins, uint32_t word) {
  if (c->npt == c->cappt) {
    c->cappt = c->cappt * 2 + 16;
    c->pt = xrealloc(c, c->pt, c->cappt * sizeof *c->pt);
  }
  c->pt[c->npt] = (patch){(uint32_t)(ins + 8 + 4 * word), (uint32_t)ins, *head};
  *head = (int32_t)c->npt++;
}

static void resolve(cs *c, int32_t head, size_t target) {
  for (int32_t k = head; k >= 0; k = c->pt[k].next) {
    int32_t off = (int32_t)((int64_t)target - c->pt[k].ins);
    memcpy(c->code + c->pt[k].field, &off, 4);
  }
}

static void set_target(cs *c, size_t ins, uint32_t word, size_t target) {
  W(c, ins)[word] = (uint32_t)(int32_t)((int64_t)target - (int64_t)ins);
}

/* ---- the compile-time stack ------------------------------------------------------------------- */

static uint32_t next_home(cs *c) {
  return c->n ? c->st[c->n - 1].home + tsize(c->st[c->n - 1].type) : c->temp_base;
}

static uint32_t home_at(cs *c, uint32_t pos) { return pos < c->n ? c->st[pos].home : next_home(c); }

static cval *push(cs *c, uint8_t type, uint8_t kind) {
  if (c->n == c->capst) {
    c->capst = c->capst * 2 + 32;
    c->st = xrealloc(c, c->st, c->capst * sizeof *c->st);
  }
  uint32_t h = next_home(c);
  cval *v = &c->st[c->n++];
  memset(v, 0, sizeof *v);
  v->type = type, v->kind = kind, v->home = h;
  if (h + tsize(type) > c->max_bytes) c->max_bytes = h + tsize(type);
  if (kind == K_LOCAL) c->nlocal_refs++, v->lref = 1;
  return v;
}

static void drop_to(cs *c, uint32_t n) {
  while (c->n > n)
    if (c->st[--c->n].lref) c->nlocal_refs--;
}

/* Emits dst <- v (v a constant or a slot). */
static void move_to(cs *c, uint32_t dst, const cval *v) {
  size_t at;
  if (v->kind == K_CONST) {
    if (v->type == T_V128) {
      at = emit(c, OP_const128, 5);
      W(c, at)[0] = dst;
      memcpy(W(c, at) + 1, v->c, 16);
    } else if (v->type == T_I32 || v->type == T_F32) {
      at = emit(c, OP_const32, 2);
      W(c, at)[0] = dst, W(c, at)[1] = (uint32_t)v->c[0];
    } else {
      at = emit(c, OP_const64, 3);
      W(c, at)[0] = dst;
      put64(c, at, 1, v->c[0]);
    }
  } else if (v->kind == K_ADDI) {
    at = emit(c, OP_i32_add_ri, 3);
    W(c, at)[0] = dst, W(c, at)[1] = v->slot, W(c, at)[2] = (uint32_t)v->c[0];
  } else {
    uint32_t src = v->kind == K_HOME ? v->home : v->slot;
    if (src == dst) return;
    at = emit(c, v->type == T_V128 ? OP_mov128 : OP_mov, 2);
    W(c, at)[0] = dst, W(c, at)[1] = src;
  }
  note_dst(c, at, dst);
}

static void mat(cs *c, uint32_t i) {
  cval *v = &c->st[i];
  if (v->kind == K_HOME) return;
  move_to(c, v->home, v);
  if (v->lref) c->nlocal_refs--, v->lref = 0;
  v->kind = K_HOME;
}

/* The slot holding stack entry i (a constant is first copied to its home). */
static uint32_t slot_of(cs *c, uint32_t i) {
  cval *v = &c->st[i];
  if (v->kind == K_CONST || v->kind == K_ADDI) mat(c, i);
  return v->kind == K_HOME ? v->home : v->slot;
}

static void mat_local_refs(cs *c, uint32_t slot_or_all, bool all) {
  if (!c->nlocal_refs) return;
  for (uint32_t i = 0; i < c->n; i++)
    if (c->st[i].lref && (all || c->st[i].slot == slot_or_all)) mat(c, i);
}

/* Parallel move: dst[i] <- src[i]. Sources may overlap other destinations; then everything goes
 * through scratch slots above the stack first. */
typedef struct mv {
  uint32_t dst;
  cval src;
} mv;

static bool overlaps(uint32_t a, uint32_t as, uint32_t b, uint32_t bs) {
  return a < b + bs && b < a + as;
}

static void pmove(cs *c, mv *mvs, uint32_t k) {
  bool conflict = false;
  for (uint32_t i = 0; i < k && !conflict; i++) {
    for (uint32_t j = 0; j < k; j++) {
      const cval *s = &mvs[j].src;
      if (i == j || s->kind == K_CONST) continue;
      uint32_t sl = s->kind == K_HOME ? s->home : s->slot;
      if (overlaps(mvs[i].dst, tsize(mvs[i].src.type), sl, tsize(s->type))) {
        conflict = true;
        break;
      }
    }
  }
  if (conflict) {
    uint32_t scratch = next_home(c);
    for (uint32_t i = 0; i < k; i++) {
      cval *s = &mvs[i].src;
      if (s->kind == K_CONST) continue;
      move_to(c, scratch, s);
      s->kind = K_TREF, s->slot = scratch;
      scratch += tsize(s->type);
    }
    if (scratch > c->max_bytes) c->max_bytes = scratch;
  }
  for (uint32_t i = 0; i < k; i++) move_to(c, mvs[i].dst, &mvs[i].src);
}

/* Label values: the top `n` stack values go to the homes starting at stack position `base`
 * (typed `ts`); or, for the function's label, to the result area at offset 0. */
static void move_values(cs *c, uint32_t base, const iw_valtype *ts, uint32_t n, bool to_results) {
  if (!n) return;
  mv small[8], *mvs = n <= 8 ? small : xrealloc(c, NULL, n * sizeof *mvs);
  uint32_t d = to_results ? 0 : home_at(c, base);
  for (uint32_t i = 0; i < n; i++) {
    mvs[i].dst = d;
    mvs[i].src = c->st[c->n - n + i];
    d += tsize((uint8_t)ts[i]);
  }
  if (to_results && d > c->max_bytes) c->max_bytes = d;
  pmove(c, mvs, n);
  if (mvs != small) free(mvs);
}

static bool values_in_place(cs *c, uint32_t base, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    const cval *v = &c->st[c->n - n + i];
    if (v->kind != K_HOME || c->n - n + i != base + i) return false;
  }
  return true;
}

/* ---- branches --------------------------------------------------------------------------------- */

static void label_types(const cctl *t, const iw_valtype **ts, uint32_t *n) {
  if (t->op == 0x03) *ts = t->bt.p, *n = t->bt.np;
  else *ts = t->bt.r, *n = t->bt.nr;
}

static void emit_return(cs *c) {
  const cval *v = c->n ? &c->st[c->n - 1] : NULL;
  if (c->ft->pub.nresults == 1 && v && v->kind == K_HOME && c->dst_ins != NONE &&
      c->dst_end == c->len && c->dst_home == v->home) {
    /* The result was just computed: compute it into the result slot instead. */
    W(c, c->dst_ins)[0] = 0;
    c->dst_ins = c->cmp.ins = NONE;
    emit(c, OP_ret, 0);
    return;
  }
  move_values(c, 0, c->ft->pub.results, c->ft->pub.nresults, true);
  emit(c, OP_ret, 0);
}

/* An unconditional jump to t's label (values already moved). */
static void jump(cs *c, cctl *t) {
  if (t->op == 0x03) {
    size_t at = emit(c, OP_br_b, 1);
    set_target(c, at, 0, t->loop_pc);
  } else {
    size_t at = emit(c, OP_br, 1);
    add_patch(c, &t->patches, at, 0);
  }
}

static const uint8_t cmp_index[0x5b] = {
    [0x46] = 0, [0x47] = 1, [0x48] = 2, [0x49] = 3, [0x4a] = 4, [0x4b] = 5, [0x4c] = 6,
    [0x4d] = 7, [0x4e] = 8, [0x4f] = 9, [0x51] = 0, [0x52] = 1, [0x53] = 2, [0x54] = 3,
    [0x55] = 4, [0x56] = 5, [0x57] = 6, [0x58] = 7, [0x59] = 8, [0x5a] = 9};
/* eq<->ne, lt_s<->ge_s, lt_u<->ge_u, gt_s<->le_s, gt_u<->le_u */
static const uint8_t cmp_negate[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};

/* Pops the condition and emits a branch taken when it is `when`; returns the instruction, with
 * *word the index of its target field. */
static size_t cond_branch(cs *c, bool when, bool back, uint32_t *word) {
  cval *v = &c->st[c->n - 1];
  size_t at;
  if (c->cmp.ins != NONE && c->cmp.end == c->len && v->kind == K_HOME && v->home == c->cmp.home) {
    uint32_t op = c->cmp.op, a = c->cmp.a, b = c->cmp.b;
    uint64_t imm = c->cmp.imm;
    bool is_imm = c->cmp.is_imm;
    c->len = c->cmp.ins; /* drop the compare */
    drop_to(c, c->n - 1);
    bind(c);
    if (op == 0x45 || op == 0x50) {
      int o = op == 0x45 ? (when ? OP_br_z : OP_br_nz) : (when ? OP_br_z64 : OP_br_nz64);
      if (back) o += op == 0x45 ? (OP_br_nz_b - OP_br_nz) : (OP_br_nz64_b - OP_br_nz64);
      at = emit(c, o, 2);
      W(c, at)[0] = a;
      *word = 1;
      return at;
    }
    uint32_t k = cmp_index[op];
    if (!when) k = cmp_negate[k];
    bool i64 = op >= 0x51;
    int o = OP_br_i32_eq + (int)k * 8 + (i64 ? 2 : 0) + (is_imm ? 1 : 0) + (back ? 4 : 0);
    if (i64 && is_imm) {
      at = emit(c, o, 4);
      W(c, at)[0] = a;
      put64(c, at, 2, imm);
      *word = 1;
    } else {
      at = emit(c, o, 3);
      W(c, at)[0] = a;
      W(c, at)[1] = is_imm ? (uint32_t)imm : b;
      *word = 2;
    }
    return at;
  }
  uint32_t s = slot_of(c, c->n - 1);
  drop_to(c, c->n - 1);
  int o = when ? OP_br_nz : OP_br_z;
  if (back) o += OP_br_nz_b - OP_br_nz;
  at = emit(c, o, 2);
  W(c, at)[0] = s;
  *word = 1;
  return at;
}

static void set_unreachable(cs *c) {
  cctl *t = &c->ctl[c->nctl - 1];
  drop_to(c, t->height);
  t->unreachable = true;
}

static void br(cs *c, uint32_t depth) {
  cctl *t = &c->ctl[c->nctl - 1 - depth];
  const iw_valtype *ts;
  uint32_t n;
  label_types(t, &ts, &n);
  if (t->op == 0) {
    emit_return(c);
  } else {
    move_values(c, t->base, ts, n, false);
    jump(c, t);
  }
  set_unreachable(c);
}

static void br_if(cs *c, uint32_t depth) {
  cctl *t = &c->ctl[c->nctl - 1 - depth];
  const iw_valtype *ts;
  uint32_t n, word;
  label_types(t, &ts, &n);
  /* Decide with the condition still on the stack: the values are below it. */
  bool direct = t->op != 0;
  for (uint32_t i = 0; direct && i < n; i++) {
    const cval *v = &c->st[c->n - 1 - n + i];
    if (v->kind != K_HOME || c->n - 1 - n + i != t->base + i) direct = false;
  }
  if (direct) {
    size_t at = cond_branch(c, true, t->op == 0x03, &word);
    if (t->op == 0x03) set_target(c, at, word, t->loop_pc);
    else add_patch(c, &t->patches, at, word);
    return;
  }
  size_t skip = cond_branch(c, false, false, &word);
  if (t->op == 0) {
    emit_return(c);
  } else {
    move_values(c, t->base, ts, n, false);
    jump(c, t);
  }
  set_target(c, skip, word, c->len);
  bind(c);
}

static void br_table(cs *c, const iw_ins *ins) {
  uint32_t idx = slot_of(c, c->n - 1);
  drop_to(c, c->n - 1);
  uint32_t cnt = ins->ntbl + 1;
  size_t at = emit(c, OP_br_table, 2 + cnt);
  W(c, at)[0] = idx;
  W(c, at)[1] = ins->ntbl;
  /* Targets that need moves (or a back-edge check, or a return) get a stub after the table;
   * one stub per distinct label. */
  uint32_t *depths = xrealloc(c, NULL, cnt * sizeof *depths);
  const uint8_t *p = ins->tbl;
  for (uint32_t i = 0; i < cnt; i++) depths[i] = u_u32(&p);
  uint32_t *stub_of = xrealloc(c, NULL, c->nctl * sizeof *stub_of);
  for (uint32_t i = 0; i < c->nctl; i++) stub_of[i] = UINT32_MAX;
  for (uint32_t i = 0; i < cnt; i++) {
    uint32_t d = depths[i];
    cctl *t = &c->ctl[c->nctl - 1 - d];
    const iw_valtype *ts;
    uint32_t n;
    label_types(t, &ts, &n);
    if (t->op != 0 && t->op != 0x03 && values_in_place(c, t->base, n)) {
      add_patch(c, &c->ctl[c->nctl - 1 - d].patches, at, 2 + i);
      continue;
    }
    if (stub_of[d] == UINT32_MAX) {
      stub_of[d] = (uint32_t)c->len;
      bind(c);
      t = &c->ctl[c->nctl - 1 - d];
      if (t->op == 0) {
        emit_return(c);
      } else {
        move_values(c, t->base, ts, n, false);
        jump(c, &c->ctl[c->nctl - 1 - d]);
      }
    }
    set_target(c, at, 2 + i, stub_of[d]);
  }
  free(depths);
  free(stub_of);
  set_unreachable(c);
}

/* ---- blocks ----------------------------------------------------------------------------------- */

static cctl *push_ctl(cs *c, uint8_t op, const iw_blocktype *bt) {
  if (c->nctl == c->capctl) {
    c->capctl = c->capctl * 2 + 8;
    c->ctl = xrealloc(c, c->ctl, c->capctl * sizeof *c->ctl);
  }
  cctl *t = &c->ctl[c->nctl++];
  memset(t, 0, sizeof *t);
  t->op = op;
  t->bt = *bt;
  t->patches = t->else_patch = -1;
  t->height = t->base = c->n - bt->np;
  return t;
}

static void block_entry(cs *c, uint8_t op, const iw_blocktype *bt) {
  /* A local read lazily outside the block may be written inside it, and the copy would then
   * happen on one path only: copy them all now. */
  mat_local_refs(c, 0, true);
  uint32_t word = 0;
  size_t at = NONE;
  if (op == 0x03 || op == 0x04) {
    /* Params must be in their homes: a loop's back-edges and an if's else arm start there. */
    uint32_t top = c->n - (op == 0x04 ? 1 : 0);
    for (uint32_t i = top - bt->np; i < top; i++) mat(c, i);
  }
  if (op == 0x04) at = cond_branch(c, false, false, &word);
  cctl *t = push_ctl(c, op, bt);
  if (op == 0x03) {
    bind(c);
    t->loop_pc = (uint32_t)c->len;
  }
  if (op == 0x04) {
    int32_t head = -1;
    add_patch(c, &head, at, word);
    t->else_patch = head;
    /* The else arm needs the params again: keep the originals below the if's height and let
     * the then arm work on references to them. */
    t->height = c->n;
    for (uint32_t i = 0; i < bt->np; i++) {
      uint32_t h = c->st[t->base + i].home;
      cval *v = push(c, (uint8_t)bt->p[i], K_TREF);
      v->slot = h;
    }
  }
}

static void do_else(cs *c) {
  cctl *t = &c->ctl[c->nctl - 1];
  if (!t->unreachable) {
    move_values(c, t->base, t->bt.r, t->bt.nr, false);
    size_t at = emit(c, OP_br, 1);
    add_patch(c, &t->patches, at, 0);
  }
  resolve(c, t->else_patch, c->len);
  t->else_patch = -1;
  bind(c);
  drop_to(c, t->height);
  for (uint32_t i = 0; i < t->bt.np; i++) {
    uint32_t h = c->st[t->base + i].home;
    cval *v = push(c, (uint8_t)t->bt.p[i], K_TREF);
    v->slot = h;
  }
  t->op = 0x05;
  t->unreachable = false;
}

/* Returns true at the function's final end. */
static bool do_end(cs *c) {
  cctl *t = &c->ctl[c->nctl - 1];
  if (t->op == 0) {
    if (!t->unreachable) emit_return(c);
    return true;
  }
  if (!t->unreachable) move_values(c, t->base, t->bt.r, t->bt.nr, false);
  resolve(c, t->patches, c->len);
  resolve(c, t->else_patch, c->len);
  bind(c);
  uint32_t base = t->base;
  iw_blocktype bt = t->bt;
  c->nctl--;
  drop_to(c, base);
  for (uint32_t i = 0; i < bt.nr; i++) push(c, (uint8_t)bt.r[i], K_HOME);
  return false;
}

/* ---- straight-line instructions ---------------------------------------------------------------- */

#define IW_OPMAP_BIN(OP, NAME, T, R, E) [OP] = OP_##NAME,
#define IW_OPMAP_UN(OP, NAME, T, R, E) [OP] = OP_##NAME,
#define IW_OPMAP_MEM(OP, NAME, T, M) [OP] = OP_##NAME,
static const uint16_t binop[0xa7] = {IW_BINOPS_INT(IW_OPMAP_BIN) IW_BINOPS_FLOAT(IW_OPMAP_BIN)};
static const uint16_t unop[0x108] = {IW_UNOPS(IW_OPMAP_UN)};
static const uint16_t memop[0x3f] = {IW_LOADS(IW_OPMAP_MEM) IW_STORES(IW_OPMAP_MEM)};
#define IW_OPMAP_SIMD(OP, NAME, TEXT, SHAPE, LANES, MEMSIZE, ALIGN) [OP] = OP_simd_##NAME,
static const uint16_t simdop[256] = {IW_SIMD_OPS(IW_OPMAP_SIMD)};

static bool is_int_binop(uint32_t op) {
  return (op >= 0x46 && op <= 0x5a && op != 0x50) || (op >= 0x6a && op <= 0x8a && op != 0x79 &&
                                                      op != 0x7a && op != 0x7b);
}
static bool commutes(uint32_t op) {
  switch (op) {
  case 0x46: case 0x47: case 0x51: case 0x52: case 0x6a: case 0x6c: case 0x71: case 0x72:
  case 0x73: case 0x7c: case 0x7e: case 0x83: case 0x84: case 0x85:
    return true;
  }
  return false;
}
/* lt_s(c, x) = gt_s(x, c) and so on: the compare with its operands swapped. */
static uint32_t swapped_cmp(uint32_t op) {
  static const uint8_t sw[10] = {0, 1, 4, 5, 2, 3, 8, 9, 6, 7}; /* by cmp_index */
  uint32_t base = op >= 0x51 ? 0x51 : 0x46;
  return base + sw[op - base];
}

static void binary(cs *c, uint32_t op) {
  cval *a = &c->st[c->n - 2], *b = &c->st[c->n - 1];
  bool is_cmp = (op >= 0x46 && op <= 0x4f) || (op >= 0x51 && op <= 0x5a);
  if (is_int_binop(op) && a->kind == K_CONST && b->kind != K_CONST) {
    if (commutes(op) || is_cmp) {
      /* A value that sits in its home keeps living there: refer to it by slot. */
      if (b->kind == K_HOME) b->kind = K_TREF, b->slot = b->home;
      cval t = *a;
      *a = *b, *b = t;
      uint32_t h = a->home;
      a->home = b->home, b->home = h;
      if (is_cmp) op = swapped_cmp(op);
    }
  }
  if ((op == 0x6a || op == 0x6b) && b->kind == K_CONST && a->kind != K_CONST) {
    /* x + c stays lazy: a load or store folds it into its address. */
    uint32_t k = op == 0x6a ? (uint32_t)b->c[0] : 0u - (uint32_t)b->c[0];
    drop_to(c, c->n - 1);
    if (a->kind == K_ADDI) {
      a->c[0] = (uint32_t)(a->c[0] + k);
    } else {
      if (a->kind == K_HOME) a->slot = a->home;
      a->kind = K_ADDI;
      a->c[0] = k;
    }
    return;
  }
  uint32_t d = a->home;
  size_t at;
  uint32_t sa = slot_of(c, c->n - 2), sb = 0;
  uint64_t imm = 0;
  bool ri = is_int_binop(op) && b->kind == K_CONST;
  if (ri) {
    imm = b->c[0];
    bool i64 = (op >= 0x51 && op <= 0x5a) || op >= 0x7c;
    int o = binop[op] + (OP_i32_eq_ri - OP_i32_eq);
    if (i64) {
      at = emit(c, o, 4);
      W(c, at)[0] = d, W(c, at)[1] = sa;
      put64(c, at, 2, imm);
    } else {
      at = emit(c, o, 3);
      W(c, at)[0] = d, W(c, at)[1] = sa, W(c, at)[2] = (uint32_t)imm;
    }
  } else {
    sb = slot_of(c, c->n - 1);
    at = emit(c, binop[op], 3);
    W(c, at)[0] = d, W(c, at)[1] = sa, W(c, at)[2] = sb;
  }
  drop_to(c, c->n - 2);
  push(c, iw_numsig[op].r, K_HOME);
  note_dst(c, at, d);
  if (is_cmp) {
    c->cmp.ins = at, c->cmp.end = c->len, c->cmp.op = op, c->cmp.a = sa, c->cmp.b = sb;
    c->cmp.imm = imm, c->cmp.is_imm = ri, c->cmp.home = d;
  }
}

static void unary(cs *c, uint32_t op) {
  uint32_t sa = slot_of(c, c->n - 1), d = c->st[c->n - 1].home;
  size_t at = emit(c, unop[op], 2);
  W(c, at)[0] = d, W(c, at)[1] = sa;
  drop_to(c, c->n - 1);
  push(c, iw_numsig[op].r, K_HOME);
  note_dst(c, at, d);
  if (op == 0x45 || op == 0x50) {
    c->cmp.ins = at, c->cmp.end = c->len, c->cmp.op = op, c->cmp.a = sa, c->cmp.home = d;
    c->cmp.is_imm = false;
  }
}

static void local_set(cs *c, uint32_t x, bool tee) {
  uint32_t slot = c->lslot[x];
  cval v = c->st[c->n - 1];
  drop_to(c, c->n - 1);
  bool others = false;
  for (uint32_t i = 0; c->nlocal_refs && i < c->n; i++)
    if (c->st[i].lref && c->st[i].slot == slot) others = true;
  if (!(v.kind == K_LOCAL && v.slot == slot)) {
    if (!others && v.kind == K_HOME && c->dst_ins != NONE && c->dst_end == c->len &&
        c->dst_home == v.home) {
      /* The value was just computed into its home: compute it into the local instead. */
      W(c, c->dst_ins)[0] = slot;
      if (c->cmp.ins == c->dst_ins) c->cmp.home = slot, c->cmp.ins = NONE;
      c->dst_ins = NONE;
    } else {
      if (others) mat_local_refs(c, slot, false);
      move_to(c, slot, &v);
      c->dst_ins = NONE;
    }
  }
  if (tee) {
    cval *t = push(c, v.type, K_LOCAL);
    t->slot = slot;
  }
}

static void load(cs *c, const iw_ins *ins) {
  cval *v = &c->st[c->n - 1];
  uint32_t d = v->home;
  size_t at;
  if (v->kind == K_ADDI) {
    at = emit(c, memop[ins->op] + (c->mode ? 3 : 2), 4);
    W(c, at)[0] = d, W(c, at)[1] = v->slot, W(c, at)[2] = (uint32_t)v->c[0], W(c, at)[3] = ins->y;
  } else {
    uint32_t a = slot_of(c, c->n - 1);
    at = emit(c, memop[ins->op] + (c->mode ? 1 : 0), 3);
    W(c, at)[0] = d, W(c, at)[1] = a, W(c, at)[2] = ins->y;
  }
  drop_to(c, c->n - 1);
  static const uint8_t rt[0x36] = {[0x28] = T_I32, [0x29] = T_I64, [0x2a] = T_F32, [0x2b] = T_F64,
                                   [0x2c ... 0x2f] = T_I32, [0x30 ... 0x35] = T_I64};
  push(c, rt[ins->op], K_HOME);
  note_dst(c, at, d);
}

static void store(cs *c, const iw_ins *ins) {
  uint32_t v = slot_of(c, c->n - 1);
  cval *a = &c->st[c->n - 2];
  size_t at;
  if (a->kind == K_ADDI) {
    at = emit(c, memop[ins->op] + (c->mode ? 3 : 2), 4);
    W(c, at)[0] = a->slot, W(c, at)[1] = v, W(c, at)[2] = (uint32_t)a->c[0], W(c, at)[3] = ins->y;
  } else {
    uint32_t s = slot_of(c, c->n - 2);
    at = emit(c, memop[ins->op] + (c->mode ? 1 : 0), 3);
    W(c, at)[0] = s, W(c, at)[1] = v, W(c, at)[2] = ins->y;
  }
  drop_to(c, c->n - 2);
}

static void call(cs *c, const iw_ftype *ft, int op, uint32_t x, uint32_t table, bool indirect) {
  uint32_t idx = 0;
  /* The index is read before the callee's frame is set up, and argument moves only write
   * argument homes, so it may stay where it is. */
  if (indirect) idx = slot_of(c, c->n - 1);
  uint32_t top = c->n - (indirect ? 1 : 0), np = ft->pub.nparams;
  /* Arguments go to their homes, consecutive from the first: that is the callee's frame. */
  mv small[8], *mvs = np <= 8 ? small : xrealloc(c, NULL, np * sizeof *mvs);
  for (uint32_t i = 0; i < np; i++) {
    mvs[i].src = c->st[top - np + i];
    mvs[i].dst = c->st[top - np + i].home;
  }
  pmove(c, mvs, np);
  if (mvs != small) free(mvs);
  for (uint32_t i = top - np; i < top; i++) {
    if (c->st[i].lref) c->nlocal_refs--, c->st[i].lref = 0;
    c->st[i].kind = K_HOME;
  }
  uint32_t frame = home_at(c, top - np);
  size_t at;
  if (indirect) {
    at = emit(c, OP_call_indirect, 4);
    W(c, at)[0] = x, W(c, at)[1] = table, W(c, at)[2] = idx, W(c, at)[3] = frame;
  } else {
    at = emit(c, op, 2);
    W(c, at)[0] = x, W(c, at)[1] = frame;
  }
  drop_to(c, top - np);
  for (uint32_t i = 0; i < ft->pub.nresults; i++) push(c, (uint8_t)ft->pub.results[i], K_HOME);
  bind(c);
}

static void simd(cs *c, const iw_ins *ins) {
  uint32_t sub = ins->op & 0xff;
  const iw_simd_info *si = &iw_simd_infos[sub];
  uint32_t w[IW_SIMD_WORDS] = {0};
  uint32_t nin, rt;
  switch (si->shape) {
  case IW_SIMD_CONST: {
    cval *v = push(c, T_V128, K_CONST);
    memcpy(v->c, ins->v, 16);
    return;
  }
  case IW_SIMD_SHUFFLE: case IW_SIMD_BIN: nin = 2, rt = T_V128; break;
  case IW_SIMD_UN: case IW_SIMD_SPLAT_I32: case IW_SIMD_SPLAT_I64: case IW_SIMD_SPLAT_F32:
  case IW_SIMD_SPLAT_F64: case IW_SIMD_LOAD: case IW_SIMD_LOAD_EXTEND: case IW_SIMD_LOAD_SPLAT:
  case IW_SIMD_LOAD_ZERO:
    nin = 1, rt = T_V128;
    break;
  case IW_SIMD_TERN: nin = 3, rt = T_V128; break;
  case IW_SIMD_SHIFT: case IW_SIMD_REPLACE_I32: case IW_SIMD_REPLACE_I64:
  case IW_SIMD_REPLACE_F32: case IW_SIMD_REPLACE_F64: case IW_SIMD_LOAD_LANE:
    nin = 2, rt = T_V128;
    break;
  case IW_SIMD_TEST: case IW_SIMD_EXTRACT_I32: nin = 1, rt = T_I32; break;
  case IW_SIMD_EXTRACT_I64: nin = 1, rt = T_I64; break;
  case IW_SIMD_EXTRACT_F32: nin = 1, rt = T_F32; break;
  case IW_SIMD_EXTRACT_F64: nin = 1, rt = T_F64; break;
  case IW_SIMD_STORE: case IW_SIMD_STORE_LANE: nin = 2, rt = 0; break;
  default: nin = 1, rt = T_V128; break;
  }
  uint32_t base = c->n - nin;
  for (uint32_t i = 0; i < nin; i++) w[1 + i] = slot_of(c, base + i);
  uint32_t d = c->st[base].home;
  w[0] = d;
  w[4] = ins->y;
  w[5] = ins->lane;
  size_t at = emit(c, simdop[sub] + (c->mode && si->memsize ? 1 : 0),
                   IW_SIMD_WORDS + (si->shape == IW_SIMD_SHUFFLE ? 4 : 0));
  memcpy(W(c, at), w, sizeof w);
  if (si->shape == IW_SIMD_SHUFFLE) memcpy(W(c, at) + IW_SIMD_WORDS, ins->v, 16);
  drop_to(c, base);
  if (rt) {
    push(c, (uint8_t)rt, K_HOME);
    note_dst(c, at, d);
  }
}

static int instr(cs *c, const iw_ins *ins) {
  const iw_module *m = c->m;
  uint32_t op = ins->op;
  size_t at;
  uint32_t d;
  iw_blocktype bt;
  if ((op >= 0x46 && op <= 0x66 && op != 0x50) || (op >= 0x6a && op <= 0x78) ||
      (op >= 0x7c && op <= 0x8a) || (op >= 0x92 && op <= 0x98) || (op >= 0xa0 && op <= 0xa6)) {
    binary(c, op);
    return 0;
  }
  if (op >= 0xbc && op <= 0xbf) {
    /* Reinterpretations change the type, not the bits. */
    c->st[c->n - 1].type = iw_numsig[op].r;
    return 0;
  }
  if ((op >= 0x45 && op <= 0xc4) || (op >= 0xfc00 && op <= 0xfc07)) {
    unary(c, op >= 0xfc00 ? 0x100 + (op & 0xff) : op);
    return 0;
  }
  if (op >= 0xfd00) {
    simd(c, ins);
    return 0;
  }
  switch (op) {
  case 0x00:
    emit(c, OP_unreachable, 0);
    set_unreachable(c);
    return 0;
  case 0x01: return 0;
  case 0x02: case 0x03: case 0x04:
    iw_block_type(m, ins->bt, &bt);
    block_entry(c, (uint8_t)op, &bt);
    return 0;
  case 0x05: do_else(c); return 0;
  case 0x0b: return do_end(c) ? 1 : 0;
  case 0x0c: br(c, ins->x); return 0;
  case 0x0d: br_if(c, ins->x); return 0;
  case 0x0e: br_table(c, ins); return 0;
  case 0x0f:
    emit_return(c);
    set_unreachable(c);
    return 0;
  case 0x10: call(c, &m->types[m->func_type[ins->x]], OP_call, ins->x, 0, false); return 0;
  case 0x11: call(c, &m->types[ins->x], OP_call_indirect, ins->x, ins->y, true); return 0;
  case 0x1a: drop_to(c, c->n - 1); return 0;
  case 0x1b: case 0x1c: {
    uint32_t sc = slot_of(c, c->n - 1), sb = slot_of(c, c->n - 2), sa = slot_of(c, c->n - 3);
    uint8_t t = c->st[c->n - 3].type;
    d = c->st[c->n - 3].home;
    at = emit(c, t == T_V128 ? OP_select128 : OP_select, 4);
    W(c, at)[0] = d, W(c, at)[1] = sc, W(c, at)[2] = sa, W(c, at)[3] = sb;
    drop_to(c, c->n - 3);
    push(c, t, K_HOME);
    note_dst(c, at, d);
    return 0;
  }
  case 0x20: {
    cval *v = push(c, c->ltype[ins->x], K_LOCAL);
    v->slot = c->lslot[ins->x];
    return 0;
  }
  case 0x21: local_set(c, ins->x, false); return 0;
  case 0x22: local_set(c, ins->x, true); return 0;
  case 0x23: {
    uint8_t t = m->globals[ins->x].type;
    cval *v = push(c, t, K_HOME);
    d = v->home;
    at = emit(c, t == T_V128 ? OP_global_get128 : OP_global_get, 2);
    W(c, at)[0] = d, W(c, at)[1] = ins->x;
    note_dst(c, at, d);
    return 0;
  }
  case 0x24: {
    uint8_t t = m->globals[ins->x].type;
    uint32_t s = slot_of(c, c->n - 1);
    at = emit(c, t == T_V128 ? OP_global_set128 : OP_global_set, 2);
    W(c, at)[0] = ins->x, W(c, at)[1] = s;
    drop_to(c, c->n - 1);
    return 0;
  }
  case 0x25: {
    uint32_t i = slot_of(c, c->n - 1);
    d = c->st[c->n - 1].home;
    at = emit(c, OP_table_get, 3);
    W(c, at)[0] = d, W(c, at)[1] = ins->x, W(c, at)[2] = i;
    drop_to(c, c->n - 1);
    push(c, m->tables[ins->x].elem, K_HOME);
    note_dst(c, at, d);
    return 0;
  }
  case 0x26: {
    uint32_t i = slot_of(c, c->n - 2), v = slot_of(c, c->n - 1);
    at = emit(c, OP_table_set, 3);
    W(c, at)[0] = ins->x, W(c, at)[1] = i, W(c, at)[2] = v;
    drop_to(c, c->n - 2);
    return 0;
  }
  case 0x28 ... 0x35: load(c, ins); return 0;
  case 0x36 ... 0x3e: store(c, ins); return 0;
  case 0x3f: {
    cval *v = push(c, T_I32, K_HOME);
    at = emit(c, OP_memory_size, 1);
    W(c, at)[0] = v->home;
    note_dst(c, at, v->home);
    return 0;
  }
  case 0x40: {
    uint32_t s = slot_of(c, c->n - 1);
    d = c->st[c->n - 1].home;
    at = emit(c, OP_memory_grow, 2);
    W(c, at)[0] = d, W(c, at)[1] = s;
    drop_to(c, c->n - 1);
    push(c, T_I32, K_HOME);
    note_dst(c, at, d);
    return 0;
  }
  case 0x41: push(c, T_I32, K_CONST)->c[0] = ins->v[0]; return 0;
  case 0x42: push(c, T_I64, K_CONST)->c[0] = ins->v[0]; return 0;
  case 0x43: push(c, T_F32, K_CONST)->c[0] = ins->v[0]; return 0;
  case 0x44: push(c, T_F64, K_CONST)->c[0] = ins->v[0]; return 0;
  case 0xd0: push(c, ins->t, K_CONST); return 0;
  case 0xd1: {
    uint32_t s = slot_of(c, c->n - 1);
    d = c->st[c->n - 1].home;
    at = emit(c, OP_ref_is_null, 2);
    W(c, at)[0] = d, W(c, at)[1] = s;
    drop_to(c, c->n - 1);
    push(c, T_I32, K_HOME);
    note_dst(c, at, d);
    return 0;
  }
  case 0xd2: {
    cval *v = push(c, T_FUNCREF, K_HOME);
    at = emit(c, OP_ref_func, 2);
    W(c, at)[0] = v->home, W(c, at)[1] = ins->x;
    note_dst(c, at, v->home);
    return 0;
  }
  case 0xfc08: case 0xfc0a: case 0xfc0b: case 0xfc0c: case 0xfc0e: case 0xfc11: {
    /* Three i32 operands (table.fill: i32, ref, i32). */
    uint32_t s0 = slot_of(c, c->n - 3), s1 = slot_of(c, c->n - 2), s2 = slot_of(c, c->n - 1);
    switch (op) {
    case 0xfc08:
      at = emit(c, OP_memory_init, 4);
      W(c, at)[0] = ins->x, W(c, at)[1] = s0, W(c, at)[2] = s1, W(c, at)[3] = s2;
      break;
    case 0xfc0a:
      at = emit(c, OP_memory_copy, 3);
      W(c, at)[0] = s0, W(c, at)[1] = s1, W(c, at)[2] = s2;
      break;
    case 0xfc0b:
      at = emit(c, OP_memory_fill, 3);
      W(c, at)[0] = s0, W(c, at)[1] = s1, W(c, at)[2] = s2;
      break;
    case 0xfc0c:
      at = emit(c, OP_table_init, 5);
      W(c, at)[0] = ins->y, W(c, at)[1] = ins->x, W(c, at)[2] = s0, W(c, at)[3] = s1;
      W(c, at)[4] = s2;
      break;
    case 0xfc0e:
      at = emit(c, OP_table_copy, 5);
      W(c, at)[0] = ins->x, W(c, at)[1] = ins->y, W(c, at)[2] = s0, W(c, at)[3] = s1;
      W(c, at)[4] = s2;
      break;
    default:
      at = emit(c, OP_table_fill, 4);
      W(c, at)[0] = ins->x, W(c, at)[1] = s0, W(c, at)[2] = s1, W(c, at)[3] = s2;
      break;
    }
    drop_to(c, c->n - 3);
    return 0;
  }
  case 0xfc09:
    at = emit(c, OP_data_drop, 1);
    W(c, at)[0] = ins->x;
    return 0;
  case 0xfc0d:
    at = emit(c, OP_elem_drop, 1);
    W(c, at)[0] = ins->x;
    return 0;
  case 0xfc0f: {
    uint32_t s0 = slot_of(c, c->n - 2), s1 = slot_of(c, c->n - 1);
    d = c->st[c->n - 2].home;
    at = emit(c, OP_table_grow, 4);
    W(c, at)[0] = d, W(c, at)[1] = ins->x, W(c, at)[2] = s0, W(c, at)[3] = s1;
    drop_to(c, c->n - 2);
    push(c, T_I32, K_HOME);
    note_dst(c, at, d);
    return 0;
  }
  case 0xfc10: {
    cval *v = push(c, T_I32, K_HOME);
    at = emit(c, OP_table_size, 2);
    W(c, at)[0] = v->home, W(c, at)[1] = ins->x;
    note_dst(c, at, v->home);
    return 0;
  }
  }
  return 0;
}

/* Skips unreachable code up to the else/end that closes the current block. */
static void skip_dead(cs *c, iw_rd *r, iw_ins *ins) {
  uint32_t depth = 0;
  for (;;) {
    iw_read_instr(r, c->m, ins);
    if (ins->op == 0x02 || ins->op == 0x03 || ins->op == 0x04) depth++;
    else if (ins->op == 0x0b && depth-- == 0) return;
    else if (ins->op == 0x05 && depth == 0) return;
  }
}

iw_code *iw_compile(const iw_module *m, uint32_t fidx, int mode, iw_error *err) {
  cs *volatile c = calloc(1, sizeof *c);
  iw_code *volatile code = calloc(1, sizeof *code);
  if (!c || !code) {
    free(c), free(code);
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory compiling function %u", fidx);
    return NULL;
  }
  c->m = m;
  c->mode = mode;
  c->h = iw_interp_handlers();
  c->dst_ins = c->cmp.ins = NONE;
  if (setjmp(c->oom)) {
    free(c->code), free(c->st), free(c->ctl), free(c->pt), free(c->lslot), free(c->ltype);
    free(c), free(code);
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory compiling function %u", fidx);
    return NULL;
  }
  const iw_mfunc *f = &m->funcs[fidx - m->nimported_funcs];
  const iw_ftype *ft = c->ft = &m->types[f->type];
  c->nlocals = ft->pub.nparams + f->nlocals;
  c->lslot = xrealloc(c, NULL, (c->nlocals + 1) * sizeof *c->lslot);
  c->ltype = xrealloc(c, NULL, c->nlocals + 1);
  uint32_t off = 0;
  for (uint32_t i = 0; i < ft->pub.nparams; i++) {
    c->ltype[i] = (uint8_t)ft->pub.params[i];
    c->lslot[i] = off;
    off += tsize(c->ltype[i]);
  }
  code->param_bytes = off;
  const uint8_t *p = m->bytes + f->body;
  uint32_t runs = u_u32(&p), k = ft->pub.nparams;
  for (uint32_t i = 0; i < runs; i++) {
    uint32_t n = u_u32(&p);
    uint8_t t = *p++;
    for (uint32_t j = 0; j < n; j++, k++) {
      c->ltype[k] = t;
      c->lslot[k] = off;
      off += tsize(t);
    }
  }
  code->local_bytes = off - code->param_bytes;
  c->temp_base = c->max_bytes = off;
  iw_blocktype fbt = {0, ft->pub.nresults, NULL, ft->pub.results};
  push_ctl(c, 0, &fbt);
  iw_error dummy;
  iw_dctx dc = {.err = &dummy, .m = m, .base = m->bytes, .func = -1};
  iw_rd r = {m->bytes + f->code, m->bytes + f->end, &dc};
  iw_ins ins;
  for (;;) {
    if (c->ctl[c->nctl - 1].unreachable) {
      skip_dead(c, &r, &ins);
    } else {
      iw_read_instr(&r, m, &ins);
    }
    if (instr(c, &ins)) break;
  }
  if (c->len > INT32_MAX || c->max_bytes > (1u << 30)) {
    free(c->code), free(c->st), free(c->ctl), free(c->pt), free(c->lslot), free(c->ltype);
    free(c), free(code);
    iw_err_set(err, IW_ERR_RESOURCE, "function %u is too large to compile", fidx);
    return NULL;
  }
  code->frame_bytes = (c->max_bytes + 15) & ~15u;
  code->func_index = fidx;
  code->len = c->len;
  code->ops = c->code;
  free(c->st), free(c->ctl), free(c->pt), free(c->lslot), free(c->ltype);
  free(c);
  return code;
}

void iw_code_free(iw_code *code) {
  if (!code) return;
  free(code->ops);
  free(code);
}
