/* isola wasm: semantics of the WebAssembly 2.0 fixed-width SIMD (v128) instructions.
 *
 * One `static inline` function iw_simd_<NAME> per entry of IW_SIMD_OPS (simd_table.h), with
 * the C signature that the entry's SHAPE gives (the table's header lists them; the
 * IW_SIMD_<SHAPE>_FN typedefs below spell them as function-pointer types). Scalars travel as
 * raw bits: i32/f32 as uint32_t, i64/f64 as uint64_t; a lane index is `unsigned` and has
 * already been validated (< LANES) -- the functions mask it anyway, so a bad index can never
 * index outside the vector.
 *
 * Memory forms take a pointer to MEMSIZE bytes of linear memory that the interpreter has
 * bounds-checked (effective address = i32 operand + memarg.offset, computed in 64 bits);
 * the pointer need not be aligned (memarg.align is only a hint).
 *
 * Layout: lane i of an NxM vector is bytes [i*M/8, (i+1)*M/8) read little-endian, exactly as
 * v128.load lays memory into the vector; the union below relies on a little-endian host.
 *
 * Floats: results that are NaN are produced by the host FPU (or by `a + b` on a NaN input),
 * which yields a canonical NaN for canonical NaN inputs / invalid operations and an
 * arithmetic (quiet) NaN otherwise, as the spec allows. abs/neg/copy-like ops (pmin, pmax,
 * extract, replace, splat) are bit-exact. Rounding is the default round-to-nearest-even; the
 * engine must not change the FP environment.
 *
 * Define IW_SIMD_PORTABLE to force the plain-C path (the default uses GCC/Clang vector
 * extensions for the ops where they are exactly the wasm semantics).
 */
#ifndef ISOLA_WASM_SIMD_OPS_H
#define ISOLA_WASM_SIMD_OPS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "simd_table.h"

#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) &&                           \
    __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "simd_ops.h assumes a little-endian host"
#endif

typedef union iw_v128 {
  uint8_t u8[16];
  int8_t i8[16];
  uint16_t u16[8];
  int16_t i16[8];
  uint32_t u32[4];
  int32_t i32[4];
  uint64_t u64[2];
  int64_t i64[2];
  float f32[4];
  double f64[2];
} iw_v128;

_Static_assert(sizeof(iw_v128) == 16, "iw_v128 must be 16 bytes");

/* Function-pointer type of each shape: SHAPE##_FN. */
typedef iw_v128 (*IW_SIMD_CONST_FN)(const uint8_t *bytes16);
typedef iw_v128 (*IW_SIMD_SHUFFLE_FN)(iw_v128, iw_v128, const uint8_t *idx16);
typedef iw_v128 (*IW_SIMD_UN_FN)(iw_v128);
typedef iw_v128 (*IW_SIMD_BIN_FN)(iw_v128, iw_v128);
typedef iw_v128 (*IW_SIMD_TERN_FN)(iw_v128, iw_v128, iw_v128);
typedef iw_v128 (*IW_SIMD_SHIFT_FN)(iw_v128, uint32_t);
typedef uint32_t (*IW_SIMD_TEST_FN)(iw_v128);
typedef iw_v128 (*IW_SIMD_SPLAT_I32_FN)(uint32_t);
typedef iw_v128 (*IW_SIMD_SPLAT_I64_FN)(uint64_t);
typedef iw_v128 (*IW_SIMD_SPLAT_F32_FN)(uint32_t);
typedef iw_v128 (*IW_SIMD_SPLAT_F64_FN)(uint64_t);
typedef uint32_t (*IW_SIMD_EXTRACT_I32_FN)(iw_v128, unsigned);
typedef uint64_t (*IW_SIMD_EXTRACT_I64_FN)(iw_v128, unsigned);
typedef uint32_t (*IW_SIMD_EXTRACT_F32_FN)(iw_v128, unsigned);
typedef uint64_t (*IW_SIMD_EXTRACT_F64_FN)(iw_v128, unsigned);
typedef iw_v128 (*IW_SIMD_REPLACE_I32_FN)(iw_v128, unsigned, uint32_t);
typedef iw_v128 (*IW_SIMD_REPLACE_I64_FN)(iw_v128, unsigned, uint64_t);
typedef iw_v128 (*IW_SIMD_REPLACE_F32_FN)(iw_v128, unsigned, uint32_t);
typedef iw_v128 (*IW_SIMD_REPLACE_F64_FN)(iw_v128, unsigned, uint64_t);
typedef iw_v128 (*IW_SIMD_LOAD_FN)(const void *);
typedef iw_v128 (*IW_SIMD_LOAD_EXTEND_FN)(const void *);
typedef iw_v128 (*IW_SIMD_LOAD_SPLAT_FN)(const void *);
typedef iw_v128 (*IW_SIMD_LOAD_ZERO_FN)(const void *);
typedef iw_v128 (*IW_SIMD_LOAD_LANE_FN)(iw_v128, const void *, unsigned);
typedef void (*IW_SIMD_STORE_FN)(void *, iw_v128);
typedef void (*IW_SIMD_STORE_LANE_FN)(void *, iw_v128, unsigned);

/* ---- small helpers --------------------------------------------------------------------- */

static inline iw_v128 iw_simd_zero(void) {
  iw_v128 r;
  r.u64[0] = 0;
  r.u64[1] = 0;
  return r;
}

/* Build from two u64 halves: lo = bytes 0..7, hi = bytes 8..15. */
static inline iw_v128 iw_simd_make_u64x2(uint64_t lo, uint64_t hi) {
  iw_v128 r;
  r.u64[0] = lo;
  r.u64[1] = hi;
  return r;
}

static inline int iw_simd_bits_equal(iw_v128 a, iw_v128 b) {
  return a.u64[0] == b.u64[0] && a.u64[1] == b.u64[1];
}

static inline float iw__f32_from_bits(uint32_t b) {
  float f;
  memcpy(&f, &b, 4);
  return f;
}
static inline uint32_t iw__f32_bits(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}
static inline double iw__f64_from_bits(uint64_t b) {
  double f;
  memcpy(&f, &b, 8);
  return f;
}
static inline uint64_t iw__f64_bits(double f) {
  uint64_t b;
  memcpy(&b, &f, 8);
  return b;
}

#if (defined(__GNUC__) || defined(__clang__)) && !defined(IW_SIMD_PORTABLE)
#define IW_SIMD_VECEXT 1
typedef int8_t iw__vi8 __attribute__((vector_size(16)));
typedef uint8_t iw__vu8 __attribute__((vector_size(16)));
typedef int16_t iw__vi16 __attribute__((vector_size(16)));
typedef uint16_t iw__vu16 __attribute__((vector_size(16)));
typedef int32_t iw__vi32 __attribute__((vector_size(16)));
typedef uint32_t iw__vu32 __attribute__((vector_size(16)));
typedef int64_t iw__vi64 __attribute__((vector_size(16)));
typedef uint64_t iw__vu64 __attribute__((vector_size(16)));
typedef float iw__vf32 __attribute__((vector_size(16)));
typedef double iw__vf64 __attribute__((vector_size(16)));
#define IW__VCONV(T)                                                                         \
  static inline iw__##T iw__to_##T(iw_v128 v) {                                              \
    iw__##T r;                                                                               \
    memcpy(&r, &v, 16);                                                                      \
    return r;                                                                                \
  }                                                                                          \
  static inline iw_v128 iw__from_##T(iw__##T v) {                                            \
    iw_v128 r;                                                                               \
    memcpy(&r, &v, 16);                                                                      \
    return r;                                                                                \
  }
IW__VCONV(vi8)
IW__VCONV(vu8)
IW__VCONV(vi16)
IW__VCONV(vu16)
IW__VCONV(vi32)
IW__VCONV(vu32)
IW__VCONV(vi64)
IW__VCONV(vu64)
IW__VCONV(vf32)
IW__VCONV(vf64)
#undef IW__VCONV
#endif

/* ---- generators -------------------------------------------------------------------------
 * IW__BIN:  r.OM[i] = EXPR over x = a.IM[i], y = b.IM[i] (both of type T), i < N.
 * IW__UN:   r.OM[i] = EXPR over x = a.IM[i].
 * IW__CMP:  lane mask of COND over x = a.M[i], y = b.M[i]; mask written through unsigned UM.
 */
#define IW__BIN(NAME, N, T, IM, OM, EXPR)                                                    \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a, iw_v128 b) {                               \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) {                                                     \
      const T x = a.IM[i], y = b.IM[i];                                                      \
      r.OM[i] = (EXPR);                                                                      \
    }                                                                                        \
    return r;                                                                                \
  }
#define IW__UN(NAME, N, T, IM, OM, EXPR)                                                     \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a) {                                          \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) {                                                     \
      const T x = a.IM[i];                                                                   \
      r.OM[i] = (EXPR);                                                                      \
    }                                                                                        \
    return r;                                                                                \
  }
#define IW__CMP(NAME, N, T, M, UT, UM, COND)                                                 \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a, iw_v128 b) {                               \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) {                                                     \
      const T x = a.M[i], y = b.M[i];                                                        \
      r.UM[i] = (COND) ? (UT) ~(UT)0 : (UT)0;                                                \
    }                                                                                        \
    return r;                                                                                \
  }

#ifdef IW_SIMD_VECEXT
/* Vector-extension versions: lane-wise ops whose GCC/Clang vector semantics are exactly the
 * wasm ones (wrapping integer arithmetic on unsigned lanes, -1/0 comparison masks, IEEE
 * float arithmetic and ordered/unordered comparisons). */
#define IW__VBIN(NAME, VT, OP)                                                               \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a, iw_v128 b) {                               \
    return iw__from_##VT(iw__to_##VT(a) OP iw__to_##VT(b));                                  \
  }
#define IW__VCMP(NAME, VT, MT, OP)                                                           \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a, iw_v128 b) {                               \
    return iw__from_##MT((iw__##MT)(iw__to_##VT(a) OP iw__to_##VT(b)));                      \
  }
#define IW__ARITH(NAME, N, T, M, VT, OP) IW__VBIN(NAME, VT, OP)
#define IW__ICMP(NAME, N, T, M, UT, UM, VT, MT, OP) IW__VCMP(NAME, VT, MT, OP)
#else
#define IW__ARITH(NAME, N, T, M, VT, OP) IW__BIN(NAME, N, T, M, M, (T)(x OP y))
#define IW__ICMP(NAME, N, T, M, UT, UM, VT, MT, OP) IW__CMP(NAME, N, T, M, UT, UM, x OP y)
#endif

/* ======================================================================================= */
/* Constants, shuffles, splats, lanes                                                      */
/* ======================================================================================= */

static inline iw_v128 iw_simd_v128_const(const uint8_t *bytes16) {
  iw_v128 r;
  memcpy(&r, bytes16, 16);
  return r;
}

/* idx[i] < 32 (validated): 0..15 pick from a, 16..31 from b. */
static inline iw_v128 iw_simd_i8x16_shuffle(iw_v128 a, iw_v128 b, const uint8_t *idx16) {
  uint8_t cat[32];
  iw_v128 r;
  memcpy(cat, &a, 16);
  memcpy(cat + 16, &b, 16);
  for (unsigned i = 0; i < 16; i++) r.u8[i] = cat[idx16[i] & 31];
  return r;
}

/* r[i] = b[i] < 16 ? a[b[i]] : 0 */
static inline iw_v128 iw_simd_i8x16_swizzle(iw_v128 a, iw_v128 b) {
  iw_v128 r;
  for (unsigned i = 0; i < 16; i++) r.u8[i] = b.u8[i] < 16 ? a.u8[b.u8[i]] : 0;
  return r;
}

static inline iw_v128 iw_simd_i8x16_splat(uint32_t x) {
  iw_v128 r;
  memset(&r, (int)(x & 0xff), 16);
  return r;
}
static inline iw_v128 iw_simd_i16x8_splat(uint32_t x) {
  iw_v128 r;
  for (unsigned i = 0; i < 8; i++) r.u16[i] = (uint16_t)x;
  return r;
}
static inline iw_v128 iw_simd_i32x4_splat(uint32_t x) {
  iw_v128 r;
  for (unsigned i = 0; i < 4; i++) r.u32[i] = x;
  return r;
}
static inline iw_v128 iw_simd_i64x2_splat(uint64_t x) { return iw_simd_make_u64x2(x, x); }
static inline iw_v128 iw_simd_f32x4_splat(uint32_t bits) { return iw_simd_i32x4_splat(bits); }
static inline iw_v128 iw_simd_f64x2_splat(uint64_t bits) { return iw_simd_make_u64x2(bits, bits); }

static inline uint32_t iw_simd_i8x16_extract_lane_s(iw_v128 a, unsigned lane) {
  return (uint32_t)(int32_t)a.i8[lane & 15];
}
static inline uint32_t iw_simd_i8x16_extract_lane_u(iw_v128 a, unsigned lane) {
  return a.u8[lane & 15];
}
static inline iw_v128 iw_simd_i8x16_replace_lane(iw_v128 a, unsigned lane, uint32_t x) {
  a.u8[lane & 15] = (uint8_t)x;
  return a;
}
static inline uint32_t iw_simd_i16x8_extract_lane_s(iw_v128 a, unsigned lane) {
  return (uint32_t)(int32_t)a.i16[lane & 7];
}
static inline uint32_t iw_simd_i16x8_extract_lane_u(iw_v128 a, unsigned lane) {
  return a.u16[lane & 7];
}
static inline iw_v128 iw_simd_i16x8_replace_lane(iw_v128 a, unsigned lane, uint32_t x) {
  a.u16[lane & 7] = (uint16_t)x;
  return a;
}
static inline uint32_t iw_simd_i32x4_extract_lane(iw_v128 a, unsigned lane) {
  return a.u32[lane & 3];
}
static inline iw_v128 iw_simd_i32x4_replace_lane(iw_v128 a, unsigned lane, uint32_t x) {
  a.u32[lane & 3] = x;
  return a;
}
static inline uint64_t iw_simd_i64x2_extract_lane(iw_v128 a, unsigned lane) {
  return a.u64[lane & 1];
}
static inline iw_v128 iw_simd_i64x2_replace_lane(iw_v128 a, unsigned lane, uint64_t x) {
  a.u64[lane & 1] = x;
  return a;
}
static inline uint32_t iw_simd_f32x4_extract_lane(iw_v128 a, unsigned lane) {
  return a.u32[lane & 3];
}
static inline iw_v128 iw_simd_f32x4_replace_lane(iw_v128 a, unsigned lane, uint32_t bits) {
  a.u32[lane & 3] = bits;
  return a;
}
static inline uint64_t iw_simd_f64x2_extract_lane(iw_v128 a, unsigned lane) {
  return a.u64[lane & 1];
}
static inline iw_v128 iw_simd_f64x2_replace_lane(iw_v128 a, unsigned lane, uint64_t bits) {
  a.u64[lane & 1] = bits;
  return a;
}

/* ======================================================================================= */
/* Memory forms (p: bounds-checked, possibly unaligned)                                    */
/* ======================================================================================= */

static inline iw_v128 iw_simd_v128_load(const void *p) {
  iw_v128 r;
  memcpy(&r, p, 16);
  return r;
}
static inline void iw_simd_v128_store(void *p, iw_v128 a) { memcpy(p, &a, 16); }

#define IW__LOADEXT(NAME, N, ST, OM)                                                         \
  static inline iw_v128 iw_simd_##NAME(const void *p) {                                      \
    ST t[N];                                                                                 \
    iw_v128 r;                                                                               \
    memcpy(t, p, 8);                                                                         \
    for (unsigned i = 0; i < (N); i++) r.OM[i] = t[i];                                       \
    return r;                                                                                \
  }
IW__LOADEXT(v128_load8x8_s, 8, int8_t, i16)
IW__LOADEXT(v128_load8x8_u, 8, uint8_t, u16)
IW__LOADEXT(v128_load16x4_s, 4, int16_t, i32)
IW__LOADEXT(v128_load16x4_u, 4, uint16_t, u32)
IW__LOADEXT(v128_load32x2_s, 2, int32_t, i64)
IW__LOADEXT(v128_load32x2_u, 2, uint32_t, u64)
#undef IW__LOADEXT

static inline iw_v128 iw_simd_v128_load8_splat(const void *p) {
  uint8_t x;
  memcpy(&x, p, 1);
  return iw_simd_i8x16_splat(x);
}
static inline iw_v128 iw_simd_v128_load16_splat(const void *p) {
  uint16_t x;
  memcpy(&x, p, 2);
  return iw_simd_i16x8_splat(x);
}
static inline iw_v128 iw_simd_v128_load32_splat(const void *p) {
  uint32_t x;
  memcpy(&x, p, 4);
  return iw_simd_i32x4_splat(x);
}
static inline iw_v128 iw_simd_v128_load64_splat(const void *p) {
  uint64_t x;
  memcpy(&x, p, 8);
  return iw_simd_i64x2_splat(x);
}

static inline iw_v128 iw_simd_v128_load32_zero(const void *p) {
  iw_v128 r = iw_simd_zero();
  memcpy(&r.u32[0], p, 4);
  return r;
}
static inline iw_v128 iw_simd_v128_load64_zero(const void *p) {
  iw_v128 r = iw_simd_zero();
  memcpy(&r.u64[0], p, 8);
  return r;
}

#define IW__LANEMEM(BITS, SZ, NL)                                                            \
  static inline iw_v128 iw_simd_v128_load##BITS##_lane(iw_v128 a, const void *p,             \
                                                       unsigned lane) {                      \
    memcpy(&a.u8[(lane & ((NL) - 1)) * (SZ)], p, (SZ));                                      \
    return a;                                                                                \
  }                                                                                          \
  static inline void iw_simd_v128_store##BITS##_lane(void *p, iw_v128 a, unsigned lane) {    \
    memcpy(p, &a.u8[(lane & ((NL) - 1)) * (SZ)], (SZ));                                      \
  }
IW__LANEMEM(8, 1, 16)
IW__LANEMEM(16, 2, 8)
IW__LANEMEM(32, 4, 4)
IW__LANEMEM(64, 8, 2)
#undef IW__LANEMEM

/* ======================================================================================= */
/* Bitwise                                                                                 */
/* ======================================================================================= */

static inline iw_v128 iw_simd_v128_not(iw_v128 a) {
  return iw_simd_make_u64x2(~a.u64[0], ~a.u64[1]);
}
static inline iw_v128 iw_simd_v128_and(iw_v128 a, iw_v128 b) {
  return iw_simd_make_u64x2(a.u64[0] & b.u64[0], a.u64[1] & b.u64[1]);
}
/* a & ~b */
static inline iw_v128 iw_simd_v128_andnot(iw_v128 a, iw_v128 b) {
  return iw_simd_make_u64x2(a.u64[0] & ~b.u64[0], a.u64[1] & ~b.u64[1]);
}
static inline iw_v128 iw_simd_v128_or(iw_v128 a, iw_v128 b) {
  return iw_simd_make_u64x2(a.u64[0] | b.u64[0], a.u64[1] | b.u64[1]);
}
static inline iw_v128 iw_simd_v128_xor(iw_v128 a, iw_v128 b) {
  return iw_simd_make_u64x2(a.u64[0] ^ b.u64[0], a.u64[1] ^ b.u64[1]);
}
/* (a & c) | (b & ~c): bits of a where c is 1, of b where c is 0. */
static inline iw_v128 iw_simd_v128_bitselect(iw_v128 a, iw_v128 b, iw_v128 c) {
  return iw_simd_make_u64x2((a.u64[0] & c.u64[0]) | (b.u64[0] & ~c.u64[0]),
                            (a.u64[1] & c.u64[1]) | (b.u64[1] & ~c.u64[1]));
}
static inline uint32_t iw_simd_v128_any_true(iw_v128 a) {
  return (a.u64[0] | a.u64[1]) != 0;
}

/* ======================================================================================= */
/* Integer comparisons                                                                     */
/* ======================================================================================= */

IW__ICMP(i8x16_eq, 16, uint8_t, u8, uint8_t, u8, vu8, vi8, ==)
IW__ICMP(i8x16_ne, 16, uint8_t, u8, uint8_t, u8, vu8, vi8, !=)
IW__ICMP(i8x16_lt_s, 16, int8_t, i8, uint8_t, u8, vi8, vi8, <)
IW__ICMP(i8x16_lt_u, 16, uint8_t, u8, uint8_t, u8, vu8, vi8, <)
IW__ICMP(i8x16_gt_s, 16, int8_t, i8, uint8_t, u8, vi8, vi8, >)
IW__ICMP(i8x16_gt_u, 16, uint8_t, u8, uint8_t, u8, vu8, vi8, >)
IW__ICMP(i8x16_le_s, 16, int8_t, i8, uint8_t, u8, vi8, vi8, <=)
IW__ICMP(i8x16_le_u, 16, uint8_t, u8, uint8_t, u8, vu8, vi8, <=)
IW__ICMP(i8x16_ge_s, 16, int8_t, i8, uint8_t, u8, vi8, vi8, >=)
IW__ICMP(i8x16_ge_u, 16, uint8_t, u8, uint8_t, u8, vu8, vi8, >=)
IW__ICMP(i16x8_eq, 8, uint16_t, u16, uint16_t, u16, vu16, vi16, ==)
IW__ICMP(i16x8_ne, 8, uint16_t, u16, uint16_t, u16, vu16, vi16, !=)
IW__ICMP(i16x8_lt_s, 8, int16_t, i16, uint16_t, u16, vi16, vi16, <)
IW__ICMP(i16x8_lt_u, 8, uint16_t, u16, uint16_t, u16, vu16, vi16, <)
IW__ICMP(i16x8_gt_s, 8, int16_t, i16, uint16_t, u16, vi16, vi16, >)
IW__ICMP(i16x8_gt_u, 8, uint16_t, u16, uint16_t, u16, vu16, vi16, >)
IW__ICMP(i16x8_le_s, 8, int16_t, i16, uint16_t, u16, vi16, vi16, <=)
IW__ICMP(i16x8_le_u, 8, uint16_t, u16, uint16_t, u16, vu16, vi16, <=)
IW__ICMP(i16x8_ge_s, 8, int16_t, i16, uint16_t, u16, vi16, vi16, >=)
IW__ICMP(i16x8_ge_u, 8, uint16_t, u16, uint16_t, u16, vu16, vi16, >=)
IW__ICMP(i32x4_eq, 4, uint32_t, u32, uint32_t, u32, vu32, vi32, ==)
IW__ICMP(i32x4_ne, 4, uint32_t, u32, uint32_t, u32, vu32, vi32, !=)
IW__ICMP(i32x4_lt_s, 4, int32_t, i32, uint32_t, u32, vi32, vi32, <)
IW__ICMP(i32x4_lt_u, 4, uint32_t, u32, uint32_t, u32, vu32, vi32, <)
IW__ICMP(i32x4_gt_s, 4, int32_t, i32, uint32_t, u32, vi32, vi32, >)
IW__ICMP(i32x4_gt_u, 4, uint32_t, u32, uint32_t, u32, vu32, vi32, >)
IW__ICMP(i32x4_le_s, 4, int32_t, i32, uint32_t, u32, vi32, vi32, <=)
IW__ICMP(i32x4_le_u, 4, uint32_t, u32, uint32_t, u32, vu32, vi32, <=)
IW__ICMP(i32x4_ge_s, 4, int32_t, i32, uint32_t, u32, vi32, vi32, >=)
IW__ICMP(i32x4_ge_u, 4, uint32_t, u32, uint32_t, u32, vu32, vi32, >=)
IW__ICMP(i64x2_eq, 2, uint64_t, u64, uint64_t, u64, vu64, vi64, ==)
IW__ICMP(i64x2_ne, 2, uint64_t, u64, uint64_t, u64, vu64, vi64, !=)
IW__ICMP(i64x2_lt_s, 2, int64_t, i64, uint64_t, u64, vi64, vi64, <)
IW__ICMP(i64x2_gt_s, 2, int64_t, i64, uint64_t, u64, vi64, vi64, >)
IW__ICMP(i64x2_le_s, 2, int64_t, i64, uint64_t, u64, vi64, vi64, <=)
IW__ICMP(i64x2_ge_s, 2, int64_t, i64, uint64_t, u64, vi64, vi64, >=)

/* ======================================================================================= */
/* Float comparisons (NaN: eq/lt/gt/le/ge false, ne true)                                  */
/* ======================================================================================= */

IW__ICMP(f32x4_eq, 4, float, f32, uint32_t, u32, vf32, vi32, ==)
IW__ICMP(f32x4_ne, 4, float, f32, uint32_t, u32, vf32, vi32, !=)
IW__ICMP(f32x4_lt, 4, float, f32, uint32_t, u32, vf32, vi32, <)
IW__ICMP(f32x4_gt, 4, float, f32, uint32_t, u32, vf32, vi32, >)
IW__ICMP(f32x4_le, 4, float, f32, uint32_t, u32, vf32, vi32, <=)
IW__ICMP(f32x4_ge, 4, float, f32, uint32_t, u32, vf32, vi32, >=)
IW__ICMP(f64x2_eq, 2, double, f64, uint64_t, u64, vf64, vi64, ==)
IW__ICMP(f64x2_ne, 2, double, f64, uint64_t, u64, vf64, vi64, !=)
IW__ICMP(f64x2_lt, 2, double, f64, uint64_t, u64, vf64, vi64, <)
IW__ICMP(f64x2_gt, 2, double, f64, uint64_t, u64, vf64, vi64, >)
IW__ICMP(f64x2_le, 2, double, f64, uint64_t, u64, vf64, vi64, <=)
IW__ICMP(f64x2_ge, 2, double, f64, uint64_t, u64, vf64, vi64, >=)

/* ======================================================================================= */
/* Integer arithmetic                                                                      */
/* ======================================================================================= */

/* wrapping add/sub/mul on unsigned lanes (products widened to avoid int overflow) */
IW__ARITH(i8x16_add, 16, uint8_t, u8, vu8, +)
IW__ARITH(i8x16_sub, 16, uint8_t, u8, vu8, -)
IW__ARITH(i16x8_add, 8, uint16_t, u16, vu16, +)
IW__ARITH(i16x8_sub, 8, uint16_t, u16, vu16, -)
IW__ARITH(i32x4_add, 4, uint32_t, u32, vu32, +)
IW__ARITH(i32x4_sub, 4, uint32_t, u32, vu32, -)
IW__ARITH(i32x4_mul, 4, uint32_t, u32, vu32, *)
IW__ARITH(i64x2_add, 2, uint64_t, u64, vu64, +)
IW__ARITH(i64x2_sub, 2, uint64_t, u64, vu64, -)
IW__ARITH(i64x2_mul, 2, uint64_t, u64, vu64, *)
#ifdef IW_SIMD_VECEXT
IW__VBIN(i16x8_mul, vu16, *)
#else
IW__BIN(i16x8_mul, 8, uint16_t, u16, u16, (uint16_t)((uint32_t)x * (uint32_t)y))
#endif

/* saturating add/sub */
static inline int32_t iw__clamp_i32(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : v > hi ? hi : (int32_t)v;
}
IW__BIN(i8x16_add_sat_s, 16, int8_t, i8, i8, (int8_t)iw__clamp_i32((int64_t)x + y, INT8_MIN, INT8_MAX))
IW__BIN(i8x16_add_sat_u, 16, uint8_t, u8, u8, (uint8_t)iw__clamp_i32((int64_t)x + y, 0, UINT8_MAX))
IW__BIN(i8x16_sub_sat_s, 16, int8_t, i8, i8, (int8_t)iw__clamp_i32((int64_t)x - y, INT8_MIN, INT8_MAX))
IW__BIN(i8x16_sub_sat_u, 16, uint8_t, u8, u8, (uint8_t)(x > y ? x - y : 0))
IW__BIN(i16x8_add_sat_s, 8, int16_t, i16, i16, (int16_t)iw__clamp_i32((int64_t)x + y, INT16_MIN, INT16_MAX))
IW__BIN(i16x8_add_sat_u, 8, uint16_t, u16, u16, (uint16_t)iw__clamp_i32((int64_t)x + y, 0, UINT16_MAX))
IW__BIN(i16x8_sub_sat_s, 8, int16_t, i16, i16, (int16_t)iw__clamp_i32((int64_t)x - y, INT16_MIN, INT16_MAX))
IW__BIN(i16x8_sub_sat_u, 8, uint16_t, u16, u16, (uint16_t)(x > y ? x - y : 0))

/* min/max */
IW__BIN(i8x16_min_s, 16, int8_t, i8, i8, x < y ? x : y)
IW__BIN(i8x16_min_u, 16, uint8_t, u8, u8, x < y ? x : y)
IW__BIN(i8x16_max_s, 16, int8_t, i8, i8, x > y ? x : y)
IW__BIN(i8x16_max_u, 16, uint8_t, u8, u8, x > y ? x : y)
IW__BIN(i16x8_min_s, 8, int16_t, i16, i16, x < y ? x : y)
IW__BIN(i16x8_min_u, 8, uint16_t, u16, u16, x < y ? x : y)
IW__BIN(i16x8_max_s, 8, int16_t, i16, i16, x > y ? x : y)
IW__BIN(i16x8_max_u, 8, uint16_t, u16, u16, x > y ? x : y)
IW__BIN(i32x4_min_s, 4, int32_t, i32, i32, x < y ? x : y)
IW__BIN(i32x4_min_u, 4, uint32_t, u32, u32, x < y ? x : y)
IW__BIN(i32x4_max_s, 4, int32_t, i32, i32, x > y ? x : y)
IW__BIN(i32x4_max_u, 4, uint32_t, u32, u32, x > y ? x : y)

/* rounding average: (x + y + 1) / 2 without overflow */
IW__BIN(i8x16_avgr_u, 16, uint8_t, u8, u8, (uint8_t)(((uint32_t)x + y + 1) >> 1))
IW__BIN(i16x8_avgr_u, 8, uint16_t, u16, u16, (uint16_t)(((uint32_t)x + y + 1) >> 1))

/* abs (wrapping: abs(MIN) = MIN), neg (wrapping) */
IW__UN(i8x16_abs, 16, int8_t, i8, u8, (uint8_t)(x < 0 ? 0u - (uint8_t)x : (uint8_t)x))
IW__UN(i16x8_abs, 8, int16_t, i16, u16, (uint16_t)(x < 0 ? 0u - (uint16_t)x : (uint16_t)x))
IW__UN(i32x4_abs, 4, int32_t, i32, u32, x < 0 ? 0u - (uint32_t)x : (uint32_t)x)
IW__UN(i64x2_abs, 2, int64_t, i64, u64, x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x)
IW__UN(i8x16_neg, 16, uint8_t, u8, u8, (uint8_t)(0u - x))
IW__UN(i16x8_neg, 8, uint16_t, u16, u16, (uint16_t)(0u - x))
IW__UN(i32x4_neg, 4, uint32_t, u32, u32, 0u - x)
IW__UN(i64x2_neg, 2, uint64_t, u64, u64, (uint64_t)0 - x)

static inline uint8_t iw__popcnt8(uint8_t x) {
  x = (uint8_t)(x - ((x >> 1) & 0x55));
  x = (uint8_t)((x & 0x33) + ((x >> 2) & 0x33));
  return (uint8_t)((x + (x >> 4)) & 0x0f);
}
IW__UN(i8x16_popcnt, 16, uint8_t, u8, u8, iw__popcnt8(x))

/* q15 rounding saturating multiply: sat16((x*y + 0x4000) >> 15) (arithmetic shift) */
static inline int16_t iw__q15mulr(int16_t x, int16_t y) {
  int32_t p = (int32_t)x * (int32_t)y + 0x4000; /* |p| <= 2^30 + 2^14: no overflow */
  return (int16_t)iw__clamp_i32(p >> 15, INT16_MIN, INT16_MAX);
}
IW__BIN(i16x8_q15mulr_sat_s, 8, int16_t, i16, i16, iw__q15mulr(x, y))

/* dot: r[i] = a[2i]*b[2i] + a[2i+1]*b[2i+1], wrapping (only -32768^2*2 wraps) */
static inline iw_v128 iw_simd_i32x4_dot_i16x8_s(iw_v128 a, iw_v128 b) {
  iw_v128 r;
  for (unsigned i = 0; i < 4; i++) {
    uint32_t p0 = (uint32_t)((int32_t)a.i16[2 * i] * b.i16[2 * i]);
    uint32_t p1 = (uint32_t)((int32_t)a.i16[2 * i + 1] * b.i16[2 * i + 1]);
    r.u32[i] = p0 + p1;
  }
  return r;
}

/* ---- all_true / bitmask ---- */
#define IW__TESTS(SH, N, UM, SM, BITS)                                                       \
  static inline uint32_t iw_simd_##SH##_all_true(iw_v128 a) {                                \
    for (unsigned i = 0; i < (N); i++)                                                       \
      if (a.UM[i] == 0) return 0;                                                            \
    return 1;                                                                                \
  }                                                                                          \
  static inline uint32_t iw_simd_##SH##_bitmask(iw_v128 a) {                                 \
    uint32_t m = 0;                                                                          \
    for (unsigned i = 0; i < (N); i++) m |= (uint32_t)(a.UM[i] >> ((BITS) - 1)) << i;        \
    return m;                                                                                \
  }
IW__TESTS(i8x16, 16, u8, i8, 8)
IW__TESTS(i16x8, 8, u16, i16, 16)
IW__TESTS(i32x4, 4, u32, i32, 32)
IW__TESTS(i64x2, 2, u64, i64, 64)
#undef IW__TESTS

/* ---- shifts: count taken modulo the lane width ---- */
#define IW__SHIFTS(SH, N, UT, UM, SM, BITS)                                                  \
  static inline iw_v128 iw_simd_##SH##_shl(iw_v128 a, uint32_t n) {                          \
    iw_v128 r;                                                                               \
    n &= (BITS) - 1;                                                                         \
    for (unsigned i = 0; i < (N); i++) r.UM[i] = (UT)(a.UM[i] << n);                         \
    return r;                                                                                \
  }                                                                                          \
  static inline iw_v128 iw_simd_##SH##_shr_s(iw_v128 a, uint32_t n) {                        \
    iw_v128 r;                                                                               \
    n &= (BITS) - 1;                                                                         \
    /* arithmetic shift: GCC/Clang define >> on negative signed values as arithmetic */      \
    for (unsigned i = 0; i < (N); i++) r.SM[i] = a.SM[i] >> n;                               \
    return r;                                                                                \
  }                                                                                          \
  static inline iw_v128 iw_simd_##SH##_shr_u(iw_v128 a, uint32_t n) {                        \
    iw_v128 r;                                                                               \
    n &= (BITS) - 1;                                                                         \
    for (unsigned i = 0; i < (N); i++) r.UM[i] = (UT)(a.UM[i] >> n);                         \
    return r;                                                                                \
  }
IW__SHIFTS(i8x16, 16, uint8_t, u8, i8, 8)
IW__SHIFTS(i16x8, 8, uint16_t, u16, i16, 16)
IW__SHIFTS(i32x4, 4, uint32_t, u32, i32, 32)
IW__SHIFTS(i64x2, 2, uint64_t, u64, i64, 64)
#undef IW__SHIFTS

/* ---- narrowing with saturation: lanes of a then lanes of b ---- */
#define IW__NARROW(NAME, N, IM, OM, OT, LO, HI)                                              \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a, iw_v128 b) {                               \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) {                                                     \
      r.OM[i] = (OT)iw__clamp_i32(a.IM[i], LO, HI);                                          \
      r.OM[i + (N)] = (OT)iw__clamp_i32(b.IM[i], LO, HI);                                    \
    }                                                                                        \
    return r;                                                                                \
  }
IW__NARROW(i8x16_narrow_i16x8_s, 8, i16, i8, int8_t, INT8_MIN, INT8_MAX)
IW__NARROW(i8x16_narrow_i16x8_u, 8, i16, u8, uint8_t, 0, UINT8_MAX)
IW__NARROW(i16x8_narrow_i32x4_s, 4, i32, i16, int16_t, INT16_MIN, INT16_MAX)
IW__NARROW(i16x8_narrow_i32x4_u, 4, i32, u16, uint16_t, 0, UINT16_MAX)
#undef IW__NARROW

/* ---- extend low/high ---- */
#define IW__EXTEND(NAME, N, IM, OM, OFF)                                                     \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a) {                                          \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) r.OM[i] = a.IM[i + (OFF)];                            \
    return r;                                                                                \
  }
IW__EXTEND(i16x8_extend_low_i8x16_s, 8, i8, i16, 0)
IW__EXTEND(i16x8_extend_high_i8x16_s, 8, i8, i16, 8)
IW__EXTEND(i16x8_extend_low_i8x16_u, 8, u8, u16, 0)
IW__EXTEND(i16x8_extend_high_i8x16_u, 8, u8, u16, 8)
IW__EXTEND(i32x4_extend_low_i16x8_s, 4, i16, i32, 0)
IW__EXTEND(i32x4_extend_high_i16x8_s, 4, i16, i32, 4)
IW__EXTEND(i32x4_extend_low_i16x8_u, 4, u16, u32, 0)
IW__EXTEND(i32x4_extend_high_i16x8_u, 4, u16, u32, 4)
IW__EXTEND(i64x2_extend_low_i32x4_s, 2, i32, i64, 0)
IW__EXTEND(i64x2_extend_high_i32x4_s, 2, i32, i64, 2)
IW__EXTEND(i64x2_extend_low_i32x4_u, 2, u32, u64, 0)
IW__EXTEND(i64x2_extend_high_i32x4_u, 2, u32, u64, 2)
#undef IW__EXTEND

/* ---- extadd_pairwise: r[i] = ext(a[2i]) + ext(a[2i+1]) (never overflows) ---- */
#define IW__EXTADD(NAME, N, IM, OM, WT)                                                      \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a) {                                          \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) r.OM[i] = (WT)((WT)a.IM[2 * i] + (WT)a.IM[2 * i + 1]); \
    return r;                                                                                \
  }
IW__EXTADD(i16x8_extadd_pairwise_i8x16_s, 8, i8, i16, int16_t)
IW__EXTADD(i16x8_extadd_pairwise_i8x16_u, 8, u8, u16, uint16_t)
IW__EXTADD(i32x4_extadd_pairwise_i16x8_s, 4, i16, i32, int32_t)
IW__EXTADD(i32x4_extadd_pairwise_i16x8_u, 4, u16, u32, uint32_t)
#undef IW__EXTADD

/* ---- extmul low/high: r[i] = ext(a[i+off]) * ext(b[i+off]) (exact in the wide lane) ---- */
#define IW__EXTMUL(NAME, N, IM, OM, PT, OFF)                                                 \
  static inline iw_v128 iw_simd_##NAME(iw_v128 a, iw_v128 b) {                               \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) r.OM[i] = (PT)a.IM[i + (OFF)] * (PT)b.IM[i + (OFF)];  \
    return r;                                                                                \
  }
IW__EXTMUL(i16x8_extmul_low_i8x16_s, 8, i8, i16, int32_t, 0)
IW__EXTMUL(i16x8_extmul_high_i8x16_s, 8, i8, i16, int32_t, 8)
IW__EXTMUL(i16x8_extmul_low_i8x16_u, 8, u8, u16, uint32_t, 0)
IW__EXTMUL(i16x8_extmul_high_i8x16_u, 8, u8, u16, uint32_t, 8)
IW__EXTMUL(i32x4_extmul_low_i16x8_s, 4, i16, i32, int32_t, 0)
IW__EXTMUL(i32x4_extmul_high_i16x8_s, 4, i16, i32, int32_t, 4)
IW__EXTMUL(i32x4_extmul_low_i16x8_u, 4, u16, u32, uint32_t, 0)
IW__EXTMUL(i32x4_extmul_high_i16x8_u, 4, u16, u32, uint32_t, 4)
IW__EXTMUL(i64x2_extmul_low_i32x4_s, 2, i32, i64, int64_t, 0)
IW__EXTMUL(i64x2_extmul_high_i32x4_s, 2, i32, i64, int64_t, 2)
IW__EXTMUL(i64x2_extmul_low_i32x4_u, 2, u32, u64, uint64_t, 0)
IW__EXTMUL(i64x2_extmul_high_i32x4_u, 2, u32, u64, uint64_t, 2)
#undef IW__EXTMUL

/* ======================================================================================= */
/* Float arithmetic                                                                        */
/* ======================================================================================= */

/* abs/neg: sign-bit operations, NaN payloads untouched */
IW__UN(f32x4_abs, 4, uint32_t, u32, u32, x & 0x7fffffffu)
IW__UN(f32x4_neg, 4, uint32_t, u32, u32, x ^ 0x80000000u)
IW__UN(f64x2_abs, 2, uint64_t, u64, u64, x & 0x7fffffffffffffffull)
IW__UN(f64x2_neg, 2, uint64_t, u64, u64, x ^ 0x8000000000000000ull)

IW__UN(f32x4_sqrt, 4, float, f32, f32, sqrtf(x))
IW__UN(f64x2_sqrt, 2, double, f64, f64, sqrt(x))

#ifdef IW_SIMD_VECEXT
IW__VBIN(f32x4_add, vf32, +)
IW__VBIN(f32x4_sub, vf32, -)
IW__VBIN(f32x4_mul, vf32, *)
IW__VBIN(f32x4_div, vf32, /)
IW__VBIN(f64x2_add, vf64, +)
IW__VBIN(f64x2_sub, vf64, -)
IW__VBIN(f64x2_mul, vf64, *)
IW__VBIN(f64x2_div, vf64, /)
#else
IW__BIN(f32x4_add, 4, float, f32, f32, x + y)
IW__BIN(f32x4_sub, 4, float, f32, f32, x - y)
IW__BIN(f32x4_mul, 4, float, f32, f32, x * y)
IW__BIN(f32x4_div, 4, float, f32, f32, x / y)
IW__BIN(f64x2_add, 2, double, f64, f64, x + y)
IW__BIN(f64x2_sub, 2, double, f64, f64, x - y)
IW__BIN(f64x2_mul, 2, double, f64, f64, x * y)
IW__BIN(f64x2_div, 2, double, f64, f64, x / y)
#endif

/* min/max: NaN if either is NaN; -0 < +0. Non-NaN results are bit copies of an operand
 * (or the OR/AND of two equal-valued operands, which only differs for +-0). */
static inline uint32_t iw__fmin32(uint32_t xb, uint32_t yb) {
  float x = iw__f32_from_bits(xb), y = iw__f32_from_bits(yb);
  if (x != x || y != y) return iw__f32_bits(x + y);
  if (x == y) return xb | yb;
  return x < y ? xb : yb;
}
static inline uint32_t iw__fmax32(uint32_t xb, uint32_t yb) {
  float x = iw__f32_from_bits(xb), y = iw__f32_from_bits(yb);
  if (x != x || y != y) return iw__f32_bits(x + y);
  if (x == y) return xb & yb;
  return x > y ? xb : yb;
}
static inline uint64_t iw__fmin64(uint64_t xb, uint64_t yb) {
  double x = iw__f64_from_bits(xb), y = iw__f64_from_bits(yb);
  if (x != x || y != y) return iw__f64_bits(x + y);
  if (x == y) return xb | yb;
  return x < y ? xb : yb;
}
static inline uint64_t iw__fmax64(uint64_t xb, uint64_t yb) {
  double x = iw__f64_from_bits(xb), y = iw__f64_from_bits(yb);
  if (x != x || y != y) return iw__f64_bits(x + y);
  if (x == y) return xb & yb;
  return x > y ? xb : yb;
}
IW__BIN(f32x4_min, 4, uint32_t, u32, u32, iw__fmin32(x, y))
IW__BIN(f32x4_max, 4, uint32_t, u32, u32, iw__fmax32(x, y))
IW__BIN(f64x2_min, 2, uint64_t, u64, u64, iw__fmin64(x, y))
IW__BIN(f64x2_max, 2, uint64_t, u64, u64, iw__fmax64(x, y))

/* pmin(a, b) = b < a ? b : a;  pmax(a, b) = a < b ? b : a  (bit copies, NaN not special) */
#define IW__PMINMAX(SH, N, FM, UM)                                                           \
  static inline iw_v128 iw_simd_##SH##_pmin(iw_v128 a, iw_v128 b) {                          \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) r.UM[i] = b.FM[i] < a.FM[i] ? b.UM[i] : a.UM[i];      \
    return r;                                                                                \
  }                                                                                          \
  static inline iw_v128 iw_simd_##SH##_pmax(iw_v128 a, iw_v128 b) {                          \
    iw_v128 r;                                                                               \
    for (unsigned i = 0; i < (N); i++) r.UM[i] = a.FM[i] < b.FM[i] ? b.UM[i] : a.UM[i];      \
    return r;                                                                                \
  }
IW__PMINMAX(f32x4, 4, f32, u32)
IW__PMINMAX(f64x2, 2, f64, u64)
#undef IW__PMINMAX

/* rounding to integral: ceil/floor/trunc, nearest = ties-to-even (default rounding mode).
 * NaN inputs go through `x + x` because libm may hand a signalling NaN back unquieted
 * (glibc's generic ceilf/floorf/truncf do), and the spec requires an arithmetic NaN. */
IW__UN(f32x4_ceil, 4, float, f32, f32, x != x ? x + x : ceilf(x))
IW__UN(f32x4_floor, 4, float, f32, f32, x != x ? x + x : floorf(x))
IW__UN(f32x4_trunc, 4, float, f32, f32, x != x ? x + x : truncf(x))
IW__UN(f32x4_nearest, 4, float, f32, f32, x != x ? x + x : nearbyintf(x))
IW__UN(f64x2_ceil, 2, double, f64, f64, x != x ? x + x : ceil(x))
IW__UN(f64x2_floor, 2, double, f64, f64, x != x ? x + x : floor(x))
IW__UN(f64x2_trunc, 2, double, f64, f64, x != x ? x + x : trunc(x))
IW__UN(f64x2_nearest, 2, double, f64, f64, x != x ? x + x : nearbyint(x))

/* ======================================================================================= */
/* Conversions                                                                             */
/* ======================================================================================= */

/* trunc_sat: NaN -> 0, out of range -> the nearest bound, else truncate toward zero */
static inline int32_t iw__trunc_sat_s32(double x) {
  if (x != x) return 0;
  if (x >= 2147483648.0) return INT32_MAX;
  if (x <= -2147483649.0) return INT32_MIN;
  return (int32_t)x;
}
static inline uint32_t iw__trunc_sat_u32(double x) {
  if (!(x > -1.0)) return 0; /* NaN, or truncates to <= -1 */
  if (x >= 4294967296.0) return UINT32_MAX;
  return x < 1.0 ? 0 : (uint32_t)x;
}
/* An f32 widens to f64 exactly, so the f64 helpers serve both. */
IW__UN(i32x4_trunc_sat_f32x4_s, 4, float, f32, i32, iw__trunc_sat_s32(x))
IW__UN(i32x4_trunc_sat_f32x4_u, 4, float, f32, u32, iw__trunc_sat_u32(x))
static inline iw_v128 iw_simd_i32x4_trunc_sat_f64x2_s_zero(iw_v128 a) {
  iw_v128 r = iw_simd_zero();
  r.i32[0] = iw__trunc_sat_s32(a.f64[0]);
  r.i32[1] = iw__trunc_sat_s32(a.f64[1]);
  return r;
}
static inline iw_v128 iw_simd_i32x4_trunc_sat_f64x2_u_zero(iw_v128 a) {
  iw_v128 r = iw_simd_zero();
  r.u32[0] = iw__trunc_sat_u32(a.f64[0]);
  r.u32[1] = iw__trunc_sat_u32(a.f64[1]);
  return r;
}

/* int -> float: round to nearest even (one rounding; uint32 -> float goes via a wider
 * exact integer conversion on every sane ABI) */
IW__UN(f32x4_convert_i32x4_s, 4, int32_t, i32, f32, (float)x)
IW__UN(f32x4_convert_i32x4_u, 4, uint32_t, u32, f32, (float)x)
static inline iw_v128 iw_simd_f64x2_convert_low_i32x4_s(iw_v128 a) {
  iw_v128 r;
  r.f64[0] = (double)a.i32[0];
  r.f64[1] = (double)a.i32[1];
  return r;
}
static inline iw_v128 iw_simd_f64x2_convert_low_i32x4_u(iw_v128 a) {
  iw_v128 r;
  r.f64[0] = (double)a.u32[0];
  r.f64[1] = (double)a.u32[1];
  return r;
}

/* demote: lanes 0,1 = (float)a.f64[0..1] (round to nearest), lanes 2,3 = 0;
 * promote: r.f64[0..1] = a.f32[0..1] (exact). NaN stays NaN (quieted). */
static inline iw_v128 iw_simd_f32x4_demote_f64x2_zero(iw_v128 a) {
  iw_v128 r = iw_simd_zero();
  r.f32[0] = (float)a.f64[0];
  r.f32[1] = (float)a.f64[1];
  return r;
}
static inline iw_v128 iw_simd_f64x2_promote_low_f32x4(iw_v128 a) {
  iw_v128 r;
  r.f64[0] = (double)a.f32[0];
  r.f64[1] = (double)a.f32[1];
  return r;
}

#undef IW__BIN
#undef IW__UN
#undef IW__CMP
#undef IW__ARITH
#undef IW__ICMP
#ifdef IW_SIMD_VECEXT
#undef IW__VBIN
#undef IW__VCMP
#endif

#endif /* ISOLA_WASM_SIMD_OPS_H */
