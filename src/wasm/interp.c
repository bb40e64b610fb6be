/* The interpreter: runs the internal code that compile.c produces.
 *
 * Internal code format (design note)
 * ----------------------------------
 * A function compiles to an array of instructions, each 8-byte aligned:
 *
 *     [handler address: 8 bytes][operand words: 4 bytes each][padding to 8]
 *
 * The handler address is the `&&label` of the op's code in iw_run() (direct threading: every
 * handler ends with `goto **pc`), or the op number when built with -DIW_SWITCH_DISPATCH (one
 * `switch`; the OPCASE/DISPATCH macro pair below hides the difference). Operand words are
 * frame offsets in bytes ("slots"), immediates, or branch offsets (int32, relative to the
 * start of the branching instruction). The destination, when there is one, is word 0: the
 * compiler relies on that to retarget a result into a local.
 *
 * Frames live on the store's value stack: [params | locals | operand temporaries]. Every
 * value takes one 8-byte slot (v128 two); i32/f32 use the low 4 bytes. Operand-stack
 * positions have fixed slots, so there is no push or pop at run time, and a call passes its
 * arguments by starting the callee's frame where the caller's arguments already are; results
 * come back in the same place. Return addresses go on a separate frame array (iw_frame), whose
 * depth is the call-depth limit.
 *
 * Branches to a loop head are "_b" variants that also count down the store's budget (fuel,
 * deadline and interrupt checks happen when it runs out), as do calls. Memory accesses come in
 * two variants: guarded (the 8 GiB reservation catches any 33-bit effective address, a fault
 * becomes a trap through memory.c's signal handler) and "_x" with explicit bounds checks.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasm/module.h"
#include "wasm/ops.h"
#include "wasm/simd_ops.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* ---- numeric helpers (the spec's exact semantics) ------------------------------------------ */

static inline float iw_fmin32(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return __builtin_signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline float iw_fmax32(float a, float b) {
  if (a != a || b != b) return a + b;
  if (a == b) return __builtin_signbit(a) ? b : a;
  return a > b ? a : b;
}
static inline double iw_fmin64(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return __builtin_signbit(a) ? a : b;
  return a < b ? a : b;
}
static inline double iw_fmax64(double a, double b) {
  if (a != a || b != b) return a + b;
  if (a == b) return __builtin_signbit(a) ? b : a;
  return a > b ? a : b;
}

/* Truncations: NaN is an invalid conversion, out of range an overflow. The bounds are the
 * first values whose truncation does not fit. */
#define TRUNC_FN(NAME, FT, RT, ST, LO, HI)                                                    \
  static inline RT iw_trunc_##NAME(FT a, int *trap) {                                         \
    if (a != a) {                                                                             \
      *trap = IW_TRAP_INVALID_CONVERSION;                                                     \
      return 0;                                                                               \
    }                                                                                         \
    if (!(a > (LO) && a < (HI))) {                                                            \
      *trap = IW_TRAP_INT_OVERFLOW;                                                           \
      return 0;                                                                               \
    }                                                                                         \
    return (RT)(ST)a;                                                                         \
  }
TRUNC_FN(i32_f32_s, float, uint32_t, int32_t, -2147483904.0f, 2147483648.0f)
TRUNC_FN(u32_f32, float, uint32_t, uint32_t, -1.0f, 4294967296.0f)
TRUNC_FN(i32_f64_s, double, uint32_t, int32_t, -2147483649.0, 2147483648.0)
TRUNC_FN(u32_f64, double, uint32_t, uint32_t, -1.0, 4294967296.0)
TRUNC_FN(i64_f32_s, float, uint64_t, int64_t, -9223373136366403584.0f, 9223372036854775808.0f)
TRUNC_FN(u64_f32, float, uint64_t, uint64_t, -1.0f, 18446744073709551616.0f)
TRUNC_FN(i64_f64_s, double, uint64_t, int64_t, -9223372036854777856.0, 9223372036854775808.0)
TRUNC_FN(u64_f64, double, uint64_t, uint64_t, -1.0, 18446744073709551616.0)

#define SAT_FN(NAME, FT, RT, ST, LO, HI, MINV, MAXV)                                          \
  static inline RT iw_sat_##NAME(FT a) {                                                      \
    if (a != a) return 0;                                                                     \
    if (!(a > (LO))) return (RT)(MINV);                                                       \
    if (!(a < (HI))) return (RT)(MAXV);                                                       \
    return (RT)(ST)a;                                                                         \
  }
SAT_FN(i32_f32_s, float, uint32_t, int32_t, -2147483904.0f, 2147483648.0f, INT32_MIN, INT32_MAX)
SAT_FN(u32_f32, float, uint32_t, uint32_t, -1.0f, 4294967296.0f, 0, UINT32_MAX)
SAT_FN(i32_f64_s, double, uint32_t, int32_t, -2147483649.0, 2147483648.0, INT32_MIN, INT32_MAX)
SAT_FN(u32_f64, double, uint32_t, uint32_t, -1.0, 4294967296.0, 0, UINT32_MAX)
SAT_FN(i64_f32_s, float, uint64_t, int64_t, -9223373136366403584.0f, 9223372036854775808.0f,
       INT64_MIN, INT64_MAX)
SAT_FN(u64_f32, float, uint64_t, uint64_t, -1.0f, 18446744073709551616.0f, 0, UINT64_MAX)
SAT_FN(i64_f64_s, double, uint64_t, int64_t, -9223372036854777856.0, 9223372036854775808.0,
       INT64_MIN, INT64_MAX)
SAT_FN(u64_f64, double, uint64_t, uint64_t, -1.0, 18446744073709551616.0, 0, UINT64_MAX)

/* ---- slot access ---------------------------------------------------------------------------- */

typedef uint32_t ty_I32;
typedef uint64_t ty_I64;
typedef float ty_F32;
typedef double ty_F64;

static inline uint32_t ld_I32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t ld_I64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static inline float ld_F32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }
static inline double ld_F64(const uint8_t *p) { double v; memcpy(&v, p, 8); return v; }
/* 32-bit values are stored as whole 8-byte slots: slot copies read 8 bytes, and a load wider
 * than the store before it defeats store-to-load forwarding (a stall of a dozen cycles). */
static inline void st_I32(uint8_t *p, uint32_t v) { uint64_t w = v; memcpy(p, &w, 8); }
static inline void st_I64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline void st_F32(uint8_t *p, float v) {
  uint32_t b;
  memcpy(&b, &v, 4);
  st_I32(p, b);
}
static inline void st_F64(uint8_t *p, double v) { memcpy(p, &v, 8); }
static inline iw_v128 ldv(const uint8_t *p) { iw_v128 v; memcpy(&v, p, 16); return v; }
static inline void stv(uint8_t *p, iw_v128 v) { memcpy(p, &v, 16); }
static inline void *ld_ptr(const uint8_t *p) { void *v; memcpy(&v, p, sizeof v); return v; }
static inline void st_ptr(uint8_t *p, void *v) { memcpy(p, &v, sizeof v); }

/* ---- budget: fuel, deadline, interrupt --------------------------------------------------------- */

#define CHUNK 65536

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Called when the budget runs out: returns a trap, or refills it. */
static __attribute__((noinline)) int refill(iw_store *S, int64_t *budget) {
  if (S->interrupted) {
    S->interrupted = 0;
    return IW_TRAP_INTERRUPTED;
  }
  if (S->lim.deadline_ns && (uint64_t)now_ns() >= S->lim.deadline_ns) return IW_TRAP_DEADLINE;
  int64_t chunk = S->lim.deadline_ns ? 4096 : CHUNK;
  if (S->lim.fuel) {
    if (S->fuel_left == 0) return IW_TRAP_OUT_OF_FUEL;
    if ((uint64_t)chunk > S->fuel_left) chunk = (int64_t)S->fuel_left;
    S->fuel_left -= (uint64_t)chunk;
  }
  *budget = chunk - 1;
  return 0;
}

/* ---- the interpreter loop ------------------------------------------------------------------ */

#ifdef IW_SWITCH_DISPATCH
#define OPCASE(n) case OP_##n:
#define DISPATCH() goto dispatch
#define HANDLER_ADDR(n) ((const void *)(uintptr_t)OP_##n)
#else
#define OPCASE(n) L_##n:
#define DISPATCH() goto **(void *const *)pc
#define HANDLER_ADDR(n) (&&L_##n)
#endif

#define A(i) (((const uint32_t *)(pc + 8))[i])
#define IMM64(w) ({ uint64_t v_; memcpy(&v_, pc + 8 + 4 * (w), 8); v_; })
#define LD(T, off) ld_##T(fp + (off))
#define ST(T, off, v) st_##T(fp + (off), (v))
#define IMM_I32(w) A(w)
#define IMM_I64(w) IMM64(w)
#define NEXT(n)                                                                               \
  do {                                                                                        \
    pc += IW_INSN_SIZE(n);                                                                    \
    DISPATCH();                                                                               \
  } while (0)
#define TRAP(k)                                                                               \
  do {                                                                                        \
    trap = (k);                                                                               \
    goto do_trap;                                                                             \
  } while (0)
#define JUMP(off)                                                                             \
  do {                                                                                        \
    pc += (int32_t)(off);                                                                     \
    DISPATCH();                                                                               \
  } while (0)
#define BUDGET()                                                                              \
  do {                                                                                        \
    if (unlikely(--budget < 0) && (trap = refill(S, &budget)) != 0) goto do_trap;             \
  } while (0)
#define JUMPB(off)                                                                            \
  do {                                                                                        \
    pc += (int32_t)(off);                                                                     \
    BUDGET();                                                                                 \
    DISPATCH();                                                                               \
  } while (0)
#define LOAD_MEM()                                                                            \
  do {                                                                                        \
    mem = inst->mem0->base;                                                                   \
    msize = inst->mem0->size;                                                                 \
  } while (0)

#define DIV_S32(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); \
  if (unlikely(a == 0x80000000u && b == 0xffffffffu)) TRAP(IW_TRAP_INT_OVERFLOW); \
  (uint32_t)((int32_t)a / (int32_t)b); })
#define DIV_U32(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); a / b; })
#define REM_S32(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); \
  b == 0xffffffffu ? 0u : (uint32_t)((int32_t)a % (int32_t)b); })
#define REM_U32(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); a % b; })
#define DIV_S64(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); \
  if (unlikely(a == 0x8000000000000000ull && b == ~0ull)) TRAP(IW_TRAP_INT_OVERFLOW); \
  (uint64_t)((int64_t)a / (int64_t)b); })
#define DIV_U64(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); a / b; })
#define REM_S64(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); \
  b == ~0ull ? 0ull : (uint64_t)((int64_t)a % (int64_t)b); })
#define REM_U64(a, b) ({ if (unlikely(b == 0)) TRAP(IW_TRAP_DIV_ZERO); a % b; })
#define TRUNC(k, a) ({ int t_ = 0; __typeof__(iw_trunc_##k(a, &t_)) r_ = iw_trunc_##k(a, &t_); \
  if (unlikely(t_)) TRAP(t_); r_; })

#define EA(slot, off, size, X)                                                                \
  ({                                                                                          \
    uint64_t ea_ = (uint64_t)LD(I32, slot) + (off);                                           \
    if ((X) && unlikely(ea_ + (size) > msize)) TRAP(IW_TRAP_MEM_OOB);                         \
    mem + ea_;                                                                                \
  })

/* The address (slot + k) mod 2^32, plus the static offset: i32.add folded into the access. */
#define EAI(slot, k, off, size, X)                                                            \
  ({                                                                                          \
    uint64_t ea_ = (uint64_t)(uint32_t)(LD(I32, slot) + (k)) + (off);                         \
    if ((X) && unlikely(ea_ + (size) > msize)) TRAP(IW_TRAP_MEM_OOB);                         \
    mem + ea_;                                                                                \
  })

static const void *const *handlers;
static const void *exit_stub[1];


static int call_host(iw_store *S, iw_instance *inst, iw_func *f, uint8_t *fp, iw_error *err);
static iw_code *get_code(iw_func *f, iw_error *err);
static int table_op(iw_instance *inst, int op, const uint32_t *w, uint8_t *fp);

/* With S == NULL, only publishes the handler table. */
static int iw_run(iw_store *S, iw_func *entry, uint8_t *fp0, iw_error *err) {
#define IW_OPX(N, W) [OP_##N] = HANDLER_ADDR(N),
  static const void *const labels[OP_COUNT] = {IW_OPS};
#undef IW_OPX
  if (!S) {
    handlers = labels;
    exit_stub[0] = labels[OP_exit];
    return 0;
  }
  const uint8_t *pc;
  uint8_t *fp = fp0, *mem;
  uint64_t msize;
  iw_func *cur = entry, *callee;
  iw_instance *inst = entry->inst;
  int64_t budget = 0;
  int trap = 0;
  uint32_t entry_depth = S->depth;
  uint8_t *nfp;
  const uint8_t *retpc = (const uint8_t *)exit_stub;
  iw_code *code;

  LOAD_MEM();
  callee = entry;
  nfp = fp0;
  goto do_call;

#ifdef IW_SWITCH_DISPATCH
dispatch:
  switch ((int)*(const uintptr_t *)pc) {
#endif

  OPCASE(exit) {
    S->depth = entry_depth;
    if (S->lim.fuel && budget > 0) S->fuel_left += (uint64_t)budget;
    return 0;
  }
  OPCASE(unreachable) TRAP(IW_TRAP_UNREACHABLE);
  OPCASE(trap) TRAP((int)A(0));
  OPCASE(br) JUMP(A(0));
  OPCASE(br_b) JUMPB(A(0));
  OPCASE(br_nz) { if (LD(I32, A(0))) JUMP(A(1)); NEXT(2); }
  OPCASE(br_z) { if (!LD(I32, A(0))) JUMP(A(1)); NEXT(2); }
  OPCASE(br_nz_b) { if (LD(I32, A(0))) JUMPB(A(1)); NEXT(2); }
  OPCASE(br_z_b) { if (!LD(I32, A(0))) JUMPB(A(1)); NEXT(2); }
  OPCASE(br_nz64) { if (LD(I64, A(0))) JUMP(A(1)); NEXT(2); }
  OPCASE(br_z64) { if (!LD(I64, A(0))) JUMP(A(1)); NEXT(2); }
  OPCASE(br_nz64_b) { if (LD(I64, A(0))) JUMPB(A(1)); NEXT(2); }
  OPCASE(br_z64_b) { if (!LD(I64, A(0))) JUMPB(A(1)); NEXT(2); }
  OPCASE(br_table) {
    uint32_t i = LD(I32, A(0)), n = A(1);
    if (i > n) i = n;
    JUMP(A(2 + i));
  }

#define H_CMPBR(NAME, CT, O)                                                                  \
  OPCASE(br_i32_##NAME) { if ((CT##32_t)LD(I32, A(0)) O (CT##32_t)LD(I32, A(1))) JUMP(A(2)); NEXT(3); } \
  OPCASE(br_i32_##NAME##_ri) { if ((CT##32_t)LD(I32, A(0)) O (CT##32_t)A(1)) JUMP(A(2)); NEXT(3); } \
  OPCASE(br_i64_##NAME) { if ((CT##64_t)LD(I64, A(0)) O (CT##64_t)LD(I64, A(1))) JUMP(A(2)); NEXT(3); } \
  OPCASE(br_i64_##NAME##_ri) { if ((CT##64_t)LD(I64, A(0)) O (CT##64_t)IMM64(2)) JUMP(A(1)); NEXT(4); } \
  OPCASE(br_i32_##NAME##_b) { if ((CT##32_t)LD(I32, A(0)) O (CT##32_t)LD(I32, A(1))) JUMPB(A(2)); NEXT(3); } \
  OPCASE(br_i32_##NAME##_ri_b) { if ((CT##32_t)LD(I32, A(0)) O (CT##32_t)A(1)) JUMPB(A(2)); NEXT(3); } \
  OPCASE(br_i64_##NAME##_b) { if ((CT##64_t)LD(I64, A(0)) O (CT##64_t)LD(I64, A(1))) JUMPB(A(2)); NEXT(3); } \
  OPCASE(br_i64_##NAME##_ri_b) { if ((CT##64_t)LD(I64, A(0)) O (CT##64_t)IMM64(2)) JUMPB(A(1)); NEXT(4); }
  IW_CMPS(H_CMPBR)

  OPCASE(call) {
    callee = inst->funcs[A(0)];
    nfp = fp + A(1);
    retpc = pc + IW_INSN_SIZE(2);
    goto do_call;
  }
  OPCASE(call_indirect) {
    iw_table *t = inst->tables[A(1)];
    uint32_t i = LD(I32, A(2));
    if (unlikely(i >= t->size)) TRAP(IW_TRAP_UNDEFINED_ELEMENT);
    callee = (iw_func *)t->elems[i];
    if (unlikely(!callee)) TRAP(IW_TRAP_UNINITIALIZED_ELEMENT);
    if (unlikely(callee->type_id != inst->type_ids[A(0)])) TRAP(IW_TRAP_INDIRECT_MISMATCH);
    nfp = fp + A(3);
    retpc = pc + IW_INSN_SIZE(4);
    goto do_call;
  }
  OPCASE(ret) {
    iw_frame *fr = &S->frames[--S->depth];
    pc = fr->ret_pc;
    fp = fr->fp;
    cur = fr->func;
    inst = cur->inst;
    LOAD_MEM();
    DISPATCH();
  }

  OPCASE(mov) { memcpy(fp + A(0), fp + A(1), 8); NEXT(2); }
  OPCASE(mov128) { memmove(fp + A(0), fp + A(1), 16); NEXT(2); }
  OPCASE(const32) { ST(I32, A(0), A(1)); NEXT(2); }
  OPCASE(const64) { ST(I64, A(0), IMM64(1)); NEXT(3); }
  OPCASE(const128) { memcpy(fp + A(0), pc + 12, 16); NEXT(5); }
  OPCASE(select) {
    uint32_t s = LD(I32, A(1)) ? A(2) : A(3);
    memcpy(fp + A(0), fp + s, 8);
    NEXT(4);
  }
  OPCASE(select128) {
    uint32_t s = LD(I32, A(1)) ? A(2) : A(3);
    memmove(fp + A(0), fp + s, 16);
    NEXT(4);
  }
  OPCASE(global_get) { memcpy(fp + A(0), &inst->globals[A(1)]->val, 8); NEXT(2); }
  OPCASE(global_set) { memcpy(&inst->globals[A(0)]->val, fp + A(1), 8); NEXT(2); }
  OPCASE(global_get128) { memcpy(fp + A(0), &inst->globals[A(1)]->val, 16); NEXT(2); }
  OPCASE(global_set128) { memcpy(&inst->globals[A(0)]->val, fp + A(1), 16); NEXT(2); }
  OPCASE(memory_size) { ST(I32, A(0), (uint32_t)(inst->mem0->size / IW_PAGE)); NEXT(1); }
  OPCASE(memory_grow) {
    int64_t r = iw_memory_grow_pages(inst->mem0, LD(I32, A(1)));
    ST(I32, A(0), (uint32_t)r);
    LOAD_MEM();
    NEXT(2);
  }
  OPCASE(memory_init) {
    const iw_mdata *d = &inst->module->datas[A(0)];
    uint64_t len = inst->data_dropped[A(0)] ? 0 : d->len;
    uint64_t dst = LD(I32, A(1)), src = LD(I32, A(2)), n = LD(I32, A(3));
    if (unlikely(src + n > len || dst + n > msize)) TRAP(IW_TRAP_MEM_OOB);
    memcpy(mem + dst, inst->module->bytes + d->off + src, n);
    NEXT(4);
  }
  OPCASE(data_drop) { inst->data_dropped[A(0)] = true; NEXT(1); }
  OPCASE(memory_copy) {
    uint64_t dst = LD(I32, A(0)), src = LD(I32, A(1)), n = LD(I32, A(2));
    if (unlikely(src + n > msize || dst + n > msize)) TRAP(IW_TRAP_MEM_OOB);
    memmove(mem + dst, mem + src, n);
    NEXT(3);
  }
  OPCASE(memory_fill) {
    uint64_t dst = LD(I32, A(0)), n = LD(I32, A(2));
    if (unlikely(dst + n > msize)) TRAP(IW_TRAP_MEM_OOB);
    memset(mem + dst, (int)(uint8_t)LD(I32, A(1)), n);
    NEXT(3);
  }
  OPCASE(table_get) {
    iw_table *t = inst->tables[A(1)];
    uint32_t i = LD(I32, A(2));
    if (unlikely(i >= t->size)) TRAP(IW_TRAP_TABLE_OOB);
    st_ptr(fp + A(0), t->elems[i]);
    NEXT(3);
  }
  OPCASE(table_set) {
    iw_table *t = inst->tables[A(0)];
    uint32_t i = LD(I32, A(1));
    if (unlikely(i >= t->size)) TRAP(IW_TRAP_TABLE_OOB);
    t->elems[i] = ld_ptr(fp + A(2));
    NEXT(3);
  }
  OPCASE(table_size) { ST(I32, A(0), inst->tables[A(1)]->size); NEXT(2); }
  OPCASE(table_grow) {
    int64_t r = iw_table_grow_by(inst->tables[A(1)], LD(I32, A(3)), ld_ptr(fp + A(2)));
    ST(I32, A(0), (uint32_t)r);
    NEXT(4);
  }
  OPCASE(table_fill) {
    if ((trap = table_op(inst, OP_table_fill, &A(0), fp))) goto do_trap;
    NEXT(4);
  }
  OPCASE(table_copy) {
    if ((trap = table_op(inst, OP_table_copy, &A(0), fp))) goto do_trap;
    NEXT(5);
  }
  OPCASE(table_init) {
    if ((trap = table_op(inst, OP_table_init, &A(0), fp))) goto do_trap;
    NEXT(5);
  }
  OPCASE(elem_drop) { inst->elem_len[A(0)] = 0; NEXT(1); }
  OPCASE(ref_func) { st_ptr(fp + A(0), inst->funcs[A(1)]); NEXT(2); }
  OPCASE(ref_is_null) { ST(I32, A(0), ld_ptr(fp + A(1)) == NULL); NEXT(2); }

#define H_BIN(OP, NAME, T, R, E)                                                              \
  OPCASE(NAME) {                                                                              \
    ty_##T a = LD(T, A(1)), b = LD(T, A(2));                                                  \
    ST(R, A(0), (ty_##R)(E));                                                                 \
    NEXT(3);                                                                                  \
  }
#define H_BINRI(OP, NAME, T, R, E)                                                            \
  OPCASE(NAME##_ri) {                                                                         \
    ty_##T a = LD(T, A(1)), b = (ty_##T)IMM_##T(2);                                           \
    ST(R, A(0), (ty_##R)(E));                                                                 \
    NEXT(4);                                                                                  \
  }
#define H_UN(OP, NAME, T, R, E)                                                               \
  OPCASE(NAME) {                                                                              \
    ty_##T a = LD(T, A(1));                                                                   \
    ST(R, A(0), (ty_##R)(E));                                                                 \
    NEXT(2);                                                                                  \
  }
  IW_BINOPS_INT(H_BIN)
  IW_BINOPS_INT(H_BINRI)
  IW_BINOPS_FLOAT(H_BIN)
  IW_UNOPS(H_UN)

#define H_LOAD(OP, NAME, T, M)                                                                \
  OPCASE(NAME) {                                                                              \
    M v;                                                                                      \
    memcpy(&v, EA(A(1), A(2), sizeof(M), 0), sizeof v);                                       \
    ST(T, A(0), (ty_##T)v);                                                                   \
    NEXT(3);                                                                                  \
  }                                                                                           \
  OPCASE(NAME##_x) {                                                                          \
    M v;                                                                                      \
    memcpy(&v, EA(A(1), A(2), sizeof(M), 1), sizeof v);                                       \
    ST(T, A(0), (ty_##T)v);                                                                   \
    NEXT(3);                                                                                  \
  }                                                                                           \
  OPCASE(NAME##_ai) {                                                                         \
    M v;                                                                                      \
    memcpy(&v, EAI(A(1), A(2), A(3), sizeof(M), 0), sizeof v);                                \
    ST(T, A(0), (ty_##T)v);                                                                   \
    NEXT(4);                                                                                  \
  }                                                                                           \
  OPCASE(NAME##_ai_x) {                                                                       \
    M v;                                                                                      \
    memcpy(&v, EAI(A(1), A(2), A(3), sizeof(M), 1), sizeof v);                                \
    ST(T, A(0), (ty_##T)v);                                                                   \
    NEXT(4);                                                                                  \
  }
#define H_STORE(OP, NAME, T, M)                                                               \
  OPCASE(NAME) {                                                                              \
    M v = (M)LD(T, A(1));                                                                     \
    memcpy(EA(A(0), A(2), sizeof(M), 0), &v, sizeof v);                                       \
    NEXT(3);                                                                                  \
  }                                                                                           \
  OPCASE(NAME##_x) {                                                                          \
    M v = (M)LD(T, A(1));                                                                     \
    memcpy(EA(A(0), A(2), sizeof(M), 1), &v, sizeof v);                                       \
    NEXT(3);                                                                                  \
  }                                                                                           \
  OPCASE(NAME##_ai) {                                                                         \
    M v = (M)LD(T, A(1));                                                                     \
    memcpy(EAI(A(0), A(2), A(3), sizeof(M), 0), &v, sizeof v);                                \
    NEXT(4);                                                                                  \
  }                                                                                           \
  OPCASE(NAME##_ai_x) {                                                                       \
    M v = (M)LD(T, A(1));                                                                     \
    memcpy(EAI(A(0), A(2), A(3), sizeof(M), 1), &v, sizeof v);                                \
    NEXT(4);                                                                                  \
  }
  IW_LOADS(H_LOAD)
  IW_STORES(H_STORE)

  /* SIMD: one body per shape; `X` selects explicit bounds checks for the memory forms. */
#define V(off) ldv(fp + (off))
#define SETV(off, v) stv(fp + (off), (v))
#define SIMD_IW_SIMD_CONST(N, MS, X) SETV(A(0), iw_simd_##N(pc + 8 + 4 * IW_SIMD_WORDS));
#define SIMD_IW_SIMD_SHUFFLE(N, MS, X) \
  SETV(A(0), iw_simd_##N(V(A(1)), V(A(2)), pc + 8 + 4 * IW_SIMD_WORDS));
#define SIMD_IW_SIMD_UN(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1))));
#define SIMD_IW_SIMD_BIN(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), V(A(2))));
#define SIMD_IW_SIMD_TERN(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), V(A(2)), V(A(3))));
#define SIMD_IW_SIMD_SHIFT(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), LD(I32, A(2))));
#define SIMD_IW_SIMD_TEST(N, MS, X) ST(I32, A(0), iw_simd_##N(V(A(1))));
#define SIMD_IW_SIMD_SPLAT_I32(N, MS, X) SETV(A(0), iw_simd_##N(LD(I32, A(1))));
#define SIMD_IW_SIMD_SPLAT_F32(N, MS, X) SETV(A(0), iw_simd_##N(LD(I32, A(1))));
#define SIMD_IW_SIMD_SPLAT_I64(N, MS, X) SETV(A(0), iw_simd_##N(LD(I64, A(1))));
#define SIMD_IW_SIMD_SPLAT_F64(N, MS, X) SETV(A(0), iw_simd_##N(LD(I64, A(1))));
#define SIMD_IW_SIMD_EXTRACT_I32(N, MS, X) ST(I32, A(0), iw_simd_##N(V(A(1)), A(5)));
#define SIMD_IW_SIMD_EXTRACT_F32(N, MS, X) ST(I32, A(0), iw_simd_##N(V(A(1)), A(5)));
#define SIMD_IW_SIMD_EXTRACT_I64(N, MS, X) ST(I64, A(0), iw_simd_##N(V(A(1)), A(5)));
#define SIMD_IW_SIMD_EXTRACT_F64(N, MS, X) ST(I64, A(0), iw_simd_##N(V(A(1)), A(5)));
#define SIMD_IW_SIMD_REPLACE_I32(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), A(5), LD(I32, A(2))));
#define SIMD_IW_SIMD_REPLACE_F32(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), A(5), LD(I32, A(2))));
#define SIMD_IW_SIMD_REPLACE_I64(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), A(5), LD(I64, A(2))));
#define SIMD_IW_SIMD_REPLACE_F64(N, MS, X) SETV(A(0), iw_simd_##N(V(A(1)), A(5), LD(I64, A(2))));
#define SIMD_IW_SIMD_LOAD(N, MS, X) SETV(A(0), iw_simd_##N(EA(A(1), A(4), MS, X)));
#define SIMD_IW_SIMD_LOAD_EXTEND(N, MS, X) SETV(A(0), iw_simd_##N(EA(A(1), A(4), MS, X)));
#define SIMD_IW_SIMD_LOAD_SPLAT(N, MS, X) SETV(A(0), iw_simd_##N(EA(A(1), A(4), MS, X)));
#define SIMD_IW_SIMD_LOAD_ZERO(N, MS, X) SETV(A(0), iw_simd_##N(EA(A(1), A(4), MS, X)));
#define SIMD_IW_SIMD_LOAD_LANE(N, MS, X) \
  { uint8_t *p_ = EA(A(1), A(4), MS, X); SETV(A(0), iw_simd_##N(V(A(2)), p_, A(5))); }
#define SIMD_IW_SIMD_STORE(N, MS, X) \
  { uint8_t *p_ = EA(A(1), A(4), MS, X); iw_simd_##N(p_, V(A(2))); }
#define SIMD_IW_SIMD_STORE_LANE(N, MS, X) \
  { uint8_t *p_ = EA(A(1), A(4), MS, X); iw_simd_##N(p_, V(A(2)), A(5)); }
#define H_SIMD(OP, NAME, TEXT, SHAPE, LANES, MEMSIZE, ALIGN)                                  \
  OPCASE(simd_##NAME) {                                                                       \
    SIMD_##SHAPE(NAME, MEMSIZE, 0)                                                            \
    NEXT(IW_SIMD_WORDS + ((SHAPE) == IW_SIMD_SHUFFLE ? 4 : 0));                               \
  }                                                                                           \
  OPCASE(simd_##NAME##_x) {                                                                   \
    SIMD_##SHAPE(NAME, MEMSIZE, 1)                                                            \
    NEXT(IW_SIMD_WORDS + ((SHAPE) == IW_SIMD_SHUFFLE ? 4 : 0));                               \
  }
  IW_SIMD_OPS(H_SIMD)

#ifdef IW_SWITCH_DISPATCH
  default:
    __builtin_unreachable();
  }
#endif

do_call:
  if (callee->host) {
    if (call_host(S, inst, callee, nfp, err) < 0) goto do_error;
    LOAD_MEM();
    pc = retpc;
    DISPATCH();
  }
  code = callee->code;
  if (unlikely(!code)) {
    code = get_code(callee, err);
    if (!code) goto do_error;
  }
  if (unlikely(S->depth >= S->max_depth || nfp + code->frame_bytes > S->stack_end))
    TRAP(IW_TRAP_STACK_EXHAUSTED);
  {
    iw_frame *fr = &S->frames[S->depth++];
    fr->ret_pc = retpc;
    fr->fp = fp;
    fr->func = cur;
  }
  /* Locals start at zero. An inline loop: most functions have a handful, and a memset call
   * costs more than clearing them. */
  for (uint32_t i = 0; i < code->local_bytes; i += 8) st_I64(nfp + code->param_bytes + i, 0);
  fp = nfp;
  cur = callee;
  pc = code->ops;
  if (cur->inst != inst) {
    inst = cur->inst;
    LOAD_MEM();
  }
  BUDGET();
  DISPATCH();

do_trap:
  iw_err_trap(err, (iw_trap)trap);
  err->func_index = cur->index;
  {
    const char *name = iw_func_name(cur->inst->module, cur->index);
    size_t l = strlen(err->msg);
    if (name)
      snprintf(err->msg + l, sizeof err->msg - l, " (in function %u `%s`)", cur->index, name);
    else
      snprintf(err->msg + l, sizeof err->msg - l, " (in function %u)", cur->index);
  }
do_error:
  S->depth = entry_depth;
  if (S->lim.fuel && budget > 0) S->fuel_left += (uint64_t)budget;
  return -1;
}

/* ---- out-of-line pieces ------------------------------------------------------------------- */

static iw_code *get_code(iw_func *f, iw_error *err) {
  iw_instance *inst = f->inst;
  iw_module *m = inst->module;
  uint32_t k = f->index - m->nimported_funcs;
  struct iw_code *_Atomic *slot = &m->code[inst->mode][k];
  iw_code *c = atomic_load(slot);
  if (!c) {
    c = iw_compile(m, f->index, inst->mode, err);
    if (!c) return NULL;
    iw_code *expected = NULL;
    if (!atomic_compare_exchange_strong(slot, &expected, c)) {
      iw_code_free(c); /* another thread compiled it first */
      c = expected;
    }
  }
  f->code = c;
  return c;
}

static void val_from_slot(iw_val *v, iw_valtype t, const uint8_t *p) {
  memset(v, 0, sizeof *v);
  v->type = t;
  switch (t) {
  case IW_I32: case IW_F32: memcpy(&v->of.i32, p, 4); break;
  case IW_V128: memcpy(v->of.v128, p, 16); break;
  case IW_FUNCREF: case IW_EXTERNREF: memcpy(&v->of.externref, p, sizeof(void *)); break;
  default: memcpy(&v->of.i64, p, 8); break;
  }
}

static void val_to_slot(uint8_t *p, const iw_val *v, iw_valtype t) {
  switch (t) {
  case IW_I32: case IW_F32: memcpy(p, &v->of.i32, 4); break;
  case IW_V128: memcpy(p, v->of.v128, 16); break;
  case IW_FUNCREF: case IW_EXTERNREF: memcpy(p, &v->of.externref, sizeof(void *)); break;
  default: memcpy(p, &v->of.i64, 8); break;
  }
}

void iw_slots_from_vals(uint8_t *fp, const iw_valtype *ts, uint32_t n, const iw_val *vals) {
  for (uint32_t i = 0; i < n; i++) {
    val_to_slot(fp, &vals[i], ts[i]);
    fp += ts[i] == IW_V128 ? 16 : 8;
  }
}

void iw_vals_from_slots(iw_val *vals, const iw_valtype *ts, uint32_t n, const uint8_t *fp) {
  for (uint32_t i = 0; i < n; i++) {
    val_from_slot(&vals[i], ts[i], fp);
    fp += ts[i] == IW_V128 ? 16 : 8;
  }
}

static int call_host(iw_store *S, iw_instance *inst, iw_func *f, uint8_t *fp, iw_error *err) {
  const iw_functype *t = &f->type->pub;
  iw_val small_a[8], small_r[8];
  iw_val *args = t->nparams <= 8 ? small_a : calloc(t->nparams, sizeof *args);
  iw_val *res = t->nresults <= 8 ? small_r : calloc(t->nresults, sizeof *res);
  int rc = -1;
  if (!args || !res) {
    iw_err_set(err, IW_ERR_RESOURCE, "out of memory calling a host function");
    goto out;
  }
  iw_vals_from_slots(args, t->params, t->nparams, fp);
  for (uint32_t i = 0; i < t->nresults; i++) memset(&res[i], 0, sizeof res[i]), res[i].type = t->results[i];
  uint8_t *saved_top = S->stack_top;
  /* Nested calls from the host function run above the arguments. */
  S->stack_top = fp + ((f->type->param_slots > f->type->result_slots ? f->type->param_slots
                                                                      : f->type->result_slots) * 8);
  iw_caller caller = {S, inst};
  err->kind = IW_OK;
  rc = f->fn(&caller, f->env, args, res, err);
  S->stack_top = saved_top;
  if (rc < 0) {
    if (err->kind == IW_OK) {
      iw_err_trap(err, IW_TRAP_HOST);
    }
    rc = -1;
    goto out;
  }
  iw_slots_from_vals(fp, t->results, t->nresults, res);
  rc = 0;
out:
  if (args != small_a) free(args);
  if (res != small_r) free(res);
  return rc;
}

static int table_op(iw_instance *inst, int op, const uint32_t *w, uint8_t *fp) {
  switch (op) {
  case OP_table_fill: {
    iw_table *t = inst->tables[w[0]];
    uint64_t i = ld_I32(fp + w[1]), n = ld_I32(fp + w[3]);
    void *v = ld_ptr(fp + w[2]);
    if (i + n > t->size) return IW_TRAP_TABLE_OOB;
    for (uint64_t k = 0; k < n; k++) t->elems[i + k] = v;
    return 0;
  }
  case OP_table_copy: {
    iw_table *dt = inst->tables[w[0]], *st = inst->tables[w[1]];
    uint64_t d = ld_I32(fp + w[2]), s = ld_I32(fp + w[3]), n = ld_I32(fp + w[4]);
    if (s + n > st->size || d + n > dt->size) return IW_TRAP_TABLE_OOB;
    memmove(dt->elems + d, st->elems + s, n * sizeof(void *));
    return 0;
  }
  case OP_table_init: {
    iw_table *t = inst->tables[w[0]];
    uint32_t e = w[1];
    uint64_t d = ld_I32(fp + w[2]), s = ld_I32(fp + w[3]), n = ld_I32(fp + w[4]);
    if (s + n > inst->elem_len[e] || d + n > t->size) return IW_TRAP_TABLE_OOB;
    memcpy(t->elems + d, inst->elem_items[e] + s, n * sizeof(void *));
    return 0;
  }
  }
  return 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void init_handlers(void) { iw_run(NULL, NULL, NULL, NULL); }

const void *const *iw_interp_handlers(void) {
  pthread_once(&once, init_handlers);
  return handlers;
}

/* Runs wasm function f with its arguments already at fp. Memory faults in the guarded
 * reservation come back here through siglongjmp as traps. */
int iw_invoke(iw_store *S, iw_func *f, uint8_t *fp, iw_error *err) {
  iw_interp_handlers();
  iw_jmp j, *saved_jmp;
  iw_store *saved_store;
  volatile uint32_t depth = S->depth;
  uint8_t *volatile saved_top = S->stack_top;
  iw_signals_enter(S, &j, &saved_jmp, &saved_store);
  int rc;
  if (sigsetjmp(j.buf, 0) == 0) {
    rc = iw_run(S, f, fp, err);
  } else {
    iw_err_trap(err, IW_TRAP_MEM_OOB);
    S->depth = depth;
    rc = -1;
  }
  S->stack_top = saved_top;
  iw_signals_leave(saved_jmp, saved_store);
  return rc;
}
