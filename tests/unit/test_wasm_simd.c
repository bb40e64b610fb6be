/* Unit tests for the wasm SIMD (v128) opcode table and semantics library:
 * src/wasm/simd_table.h and src/wasm/simd_ops.h. Expectations are hand-computed from the
 * WebAssembly 2.0 spec; the cases aim at the edges (wrap, saturation, sign, NaN, -0,
 * out-of-range indices, rounding ties). */
#include <stdint.h>
#include <string.h>

#include "unit.h"
#include "wasm/simd_ops.h"

/* ---- helpers --------------------------------------------------------------------------- */

static iw_v128 v_u8(const uint8_t b[16]) {
  iw_v128 r;
  memcpy(r.u8, b, 16);
  return r;
}
#define V8(...) v_u8((const uint8_t[16]){__VA_ARGS__})
static iw_v128 v_i16(int16_t a, int16_t b, int16_t c, int16_t d, int16_t e, int16_t f,
                     int16_t g, int16_t h) {
  iw_v128 r;
  r.i16[0] = a, r.i16[1] = b, r.i16[2] = c, r.i16[3] = d;
  r.i16[4] = e, r.i16[5] = f, r.i16[6] = g, r.i16[7] = h;
  return r;
}
static iw_v128 v_i32(int32_t a, int32_t b, int32_t c, int32_t d) {
  iw_v128 r;
  r.i32[0] = a, r.i32[1] = b, r.i32[2] = c, r.i32[3] = d;
  return r;
}
static iw_v128 v_u32(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  iw_v128 r;
  r.u32[0] = a, r.u32[1] = b, r.u32[2] = c, r.u32[3] = d;
  return r;
}
static iw_v128 v_i64(int64_t a, int64_t b) {
  iw_v128 r;
  r.i64[0] = a, r.i64[1] = b;
  return r;
}
static iw_v128 v_u64(uint64_t a, uint64_t b) { return iw_simd_make_u64x2(a, b); }
static uint32_t fb(float f) {
  uint32_t b;
  memcpy(&b, &f, 4);
  return b;
}
static uint64_t db(double f) {
  uint64_t b;
  memcpy(&b, &f, 8);
  return b;
}
static iw_v128 v_f32(float a, float b, float c, float d) {
  return v_u32(fb(a), fb(b), fb(c), fb(d));
}
static iw_v128 v_f64(double a, double b) { return v_u64(db(a), db(b)); }

static int veq(iw_v128 a, iw_v128 b) { return iw_simd_bits_equal(a, b); }
/* f32 NaN kinds: canonical = any sign, quiet bit only; arithmetic = quiet bit set */
static int nan32_canon(uint32_t b) { return (b & 0x7fffffffu) == 0x7fc00000u; }
static int nan32_arith(uint32_t b) { return (b & 0x7fc00000u) == 0x7fc00000u; }
static int nan64_canon(uint64_t b) {
  return (b & 0x7fffffffffffffffull) == 0x7ff8000000000000ull;
}
static int nan64_arith(uint64_t b) {
  return (b & 0x7ff8000000000000ull) == 0x7ff8000000000000ull;
}

#define F32_SNAN 0x7fa00001u /* signalling NaN with a payload */
#define F32_QNAN_PAY 0x7fc12345u
#define F64_SNAN 0x7ff4000000000001ull
#define F32_NEG0 0x80000000u
#define F64_NEG0 0x8000000000000000ull

/* ---- the table ------------------------------------------------------------------------- */

struct entry {
  unsigned op;
  const char *name, *text;
  enum iw_simd_shape shape;
  unsigned lanes, mem, align;
};
#define ENTRY(OP, N, T, S, L, M, A) {OP, #N, T, S, L, M, A},
static const struct entry table[] = {IW_SIMD_OPS(ENTRY)};
#define NTABLE (sizeof table / sizeof table[0])

static int is_mem_shape(enum iw_simd_shape s) {
  return s == IW_SIMD_LOAD || s == IW_SIMD_LOAD_EXTEND || s == IW_SIMD_LOAD_SPLAT ||
         s == IW_SIMD_LOAD_ZERO || s == IW_SIMD_LOAD_LANE || s == IW_SIMD_STORE ||
         s == IW_SIMD_STORE_LANE;
}
static int is_lane_shape(enum iw_simd_shape s) {
  return (s >= IW_SIMD_EXTRACT_I32 && s <= IW_SIMD_REPLACE_F64) || s == IW_SIMD_LOAD_LANE ||
         s == IW_SIMD_STORE_LANE;
}

static const struct entry *find(unsigned op) {
  for (unsigned i = 0; i < NTABLE; i++)
    if (table[i].op == op) return &table[i];
  return NULL;
}

static void test_table_shape(void) {
  static const unsigned unassigned[] = {0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2,
                                        0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf,
                                        0xd0, 0xd2, 0xd3, 0xd4, 0xe2, 0xee};
  CHECK(NTABLE == 236);
  CHECK(NTABLE == IW_SIMD_OP_COUNT);
  for (unsigned i = 1; i < NTABLE; i++) CHECK(table[i].op > table[i - 1].op);
  CHECK(table[NTABLE - 1].op < IW_SIMD_OP_LIMIT);
  /* every sub-opcode 0..0xff is in the table unless it is one of the 20 unassigned */
  for (unsigned op = 0; op < 0x100; op++) {
    int un = 0;
    for (unsigned k = 0; k < sizeof unassigned / sizeof unassigned[0]; k++)
      if (unassigned[k] == op) un = 1;
    CHECK((find(op) == NULL) == un);
  }
  for (unsigned i = 0; i < NTABLE; i++) {
    const struct entry *e = &table[i];
    /* NAME is TEXT with '.' -> '_' */
    char buf[64];
    size_t n = strlen(e->text);
    CHECK(n < sizeof buf);
    for (size_t k = 0; k <= n; k++) buf[k] = e->text[k] == '.' ? '_' : e->text[k];
    CHECK(strcmp(buf, e->name) == 0);
    if (is_mem_shape(e->shape)) {
      CHECK(e->mem == 1 || e->mem == 2 || e->mem == 4 || e->mem == 8 || e->mem == 16);
      CHECK((1u << e->align) == e->mem);
    } else {
      CHECK(e->mem == 0 && e->align == 0);
    }
    if (is_lane_shape(e->shape)) CHECK(e->lanes == 2 || e->lanes == 4 || e->lanes == 8 || e->lanes == 16);
    else if (e->shape == IW_SIMD_SHUFFLE) CHECK(e->lanes == 32);
    else CHECK(e->lanes == 0);
    if (e->shape == IW_SIMD_LOAD_LANE || e->shape == IW_SIMD_STORE_LANE)
      CHECK(e->lanes * e->mem == 16);
  }
}

static void test_table_spot(void) {
  /* a few entries checked against the spec's binary encoding */
  const struct entry *e;
  CHECK((e = find(0x0d)) && strcmp(e->text, "i8x16.shuffle") == 0 && e->shape == IW_SIMD_SHUFFLE);
  CHECK((e = find(0x0c)) && e->shape == IW_SIMD_CONST);
  CHECK((e = find(0x52)) && e->shape == IW_SIMD_TERN);
  CHECK((e = find(0x53)) && strcmp(e->text, "v128.any_true") == 0 && e->shape == IW_SIMD_TEST);
  CHECK((e = find(0x15)) && e->shape == IW_SIMD_EXTRACT_I32 && e->lanes == 16);
  CHECK((e = find(0x1d)) && e->shape == IW_SIMD_EXTRACT_I64 && e->lanes == 2);
  CHECK((e = find(0x22)) && e->shape == IW_SIMD_REPLACE_F64 && e->lanes == 2);
  CHECK((e = find(0x57)) && strcmp(e->text, "v128.load64_lane") == 0 && e->lanes == 2 &&
        e->mem == 8 && e->align == 3);
  CHECK((e = find(0x5c)) && strcmp(e->text, "v128.load32_zero") == 0 && e->mem == 4);
  CHECK((e = find(0x82)) && strcmp(e->text, "i16x8.q15mulr_sat_s") == 0);
  CHECK((e = find(0x94)) && strcmp(e->text, "f64x2.nearest") == 0);
  CHECK((e = find(0xba)) && strcmp(e->text, "i32x4.dot_i16x8_s") == 0);
  CHECK((e = find(0xd6)) && strcmp(e->text, "i64x2.eq") == 0);
  CHECK((e = find(0xcd)) && e->shape == IW_SIMD_SHIFT);
  CHECK((e = find(0xa4)) && e->shape == IW_SIMD_TEST);
  CHECK((e = find(0xfd)) && strcmp(e->text, "i32x4.trunc_sat_f64x2_u_zero") == 0);
  CHECK((e = find(0xff)) && strcmp(e->text, "f64x2.convert_low_i32x4_u") == 0);
  CHECK((e = find(0x00)) && e->shape == IW_SIMD_LOAD && e->mem == 16 && e->align == 4);
  CHECK((e = find(0x0b)) && e->shape == IW_SIMD_STORE && e->mem == 16);
  CHECK((e = find(0x05)) && e->shape == IW_SIMD_LOAD_EXTEND && e->mem == 8 && e->align == 3);
  CHECK((e = find(0x07)) && e->shape == IW_SIMD_LOAD_SPLAT && e->mem == 1 && e->align == 0);
}

/* Every entry has iw_simd_<NAME> with exactly its shape's signature (a mismatch is a
 * compile error under -Werror); also count them through the X-macro. */
static void test_table_functions(void) {
  unsigned n = 0;
#define SIG(OP, N, T, S, L, M, A)                                                            \
  {                                                                                          \
    S##_FN fp = iw_simd_##N;                                                                 \
    CHECK(fp != NULL);                                                                       \
    n++;                                                                                     \
  }
  IW_SIMD_OPS(SIG)
#undef SIG
  CHECK(n == 236);
}

/* ---- const / shuffle / swizzle / splat / lanes ----------------------------------------- */

static void test_const_shuffle_swizzle(void) {
  const uint8_t bytes[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xff};
  iw_v128 a = iw_simd_v128_const(bytes);
  CHECK(memcmp(a.u8, bytes, 16) == 0);
  CHECK(a.u32[0] == 0x03020100u); /* little-endian lanes */
  iw_v128 b = V8(100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115);
  const uint8_t idx[16] = {31, 0, 16, 15, 1, 17, 30, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  iw_v128 r = iw_simd_i8x16_shuffle(a, b, idx);
  CHECK(veq(r, V8(115, 0, 100, 0xff, 1, 101, 114, 2, 3, 4, 5, 6, 7, 8, 9, 10)));

  /* swizzle: index >= 16 (including "negative" bytes) gives 0 */
  iw_v128 s = V8(15, 0, 16, 17, 0x7f, 0x80, 0xff, 1, 2, 3, 14, 13, 0x10, 0x20, 5, 6);
  r = iw_simd_i8x16_swizzle(b, s);
  CHECK(veq(r, V8(115, 100, 0, 0, 0, 0, 0, 101, 102, 103, 114, 113, 0, 0, 105, 106)));
}

static void test_splat_extract_replace(void) {
  CHECK(veq(iw_simd_i8x16_splat(0x1234abcdu), V8(0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd,
                                                 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd)));
  CHECK(veq(iw_simd_i16x8_splat(0x12348001u), v_i16(-32767, -32767, -32767, -32767, -32767,
                                                    -32767, -32767, -32767)));
  CHECK(veq(iw_simd_i32x4_splat(0xdeadbeefu), v_u32(0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu, 0xdeadbeefu)));
  CHECK(veq(iw_simd_i64x2_splat(0x8000000000000001ull), v_u64(0x8000000000000001ull, 0x8000000000000001ull)));
  /* float splats are bit-exact, even for signalling NaNs */
  CHECK(veq(iw_simd_f32x4_splat(F32_SNAN), v_u32(F32_SNAN, F32_SNAN, F32_SNAN, F32_SNAN)));
  CHECK(veq(iw_simd_f64x2_splat(F64_SNAN), v_u64(F64_SNAN, F64_SNAN)));

  iw_v128 a = V8(0x80, 0x7f, 0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81);
  CHECK(iw_simd_i8x16_extract_lane_s(a, 0) == 0xffffff80u);
  CHECK(iw_simd_i8x16_extract_lane_u(a, 0) == 0x80u);
  CHECK(iw_simd_i8x16_extract_lane_s(a, 1) == 0x7fu);
  CHECK(iw_simd_i8x16_extract_lane_s(a, 2) == 0xffffffffu);
  CHECK(iw_simd_i8x16_extract_lane_u(a, 2) == 0xffu);
  CHECK(iw_simd_i8x16_extract_lane_s(a, 15) == 0xffffff81u);
  iw_v128 h = v_i16(-32768, 32767, -1, 0, 1, 2, 3, 0x1234);
  CHECK(iw_simd_i16x8_extract_lane_s(h, 0) == 0xffff8000u);
  CHECK(iw_simd_i16x8_extract_lane_u(h, 0) == 0x8000u);
  CHECK(iw_simd_i16x8_extract_lane_s(h, 2) == 0xffffffffu);
  CHECK(iw_simd_i16x8_extract_lane_u(h, 2) == 0xffffu);
  CHECK(iw_simd_i16x8_extract_lane_u(h, 7) == 0x1234u);
  iw_v128 w = v_u32(1, 2, 0x80000000u, 4);
  CHECK(iw_simd_i32x4_extract_lane(w, 2) == 0x80000000u);
  CHECK(iw_simd_i64x2_extract_lane(v_u64(5, 0xffffffffffffffffull), 1) == 0xffffffffffffffffull);
  CHECK(iw_simd_f32x4_extract_lane(v_u32(0, F32_SNAN, 0, 0), 1) == F32_SNAN);
  CHECK(iw_simd_f64x2_extract_lane(v_u64(F64_SNAN, 0), 0) == F64_SNAN);

  /* replace truncates the scalar to the lane width and touches only that lane */
  CHECK(veq(iw_simd_i8x16_replace_lane(a, 3, 0xabcd1234u),
            V8(0x80, 0x7f, 0xff, 0x34, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81)));
  CHECK(veq(iw_simd_i16x8_replace_lane(h, 7, 0xffff8888u), v_i16(-32768, 32767, -1, 0, 1, 2, 3, (int16_t)0x8888)));
  CHECK(veq(iw_simd_i32x4_replace_lane(w, 0, 0xcafef00du), v_u32(0xcafef00du, 2, 0x80000000u, 4)));
  CHECK(veq(iw_simd_i64x2_replace_lane(w, 1, 7), v_u64(w.u64[0], 7)));
  CHECK(veq(iw_simd_f32x4_replace_lane(w, 3, F32_SNAN), v_u32(1, 2, 0x80000000u, F32_SNAN)));
  CHECK(veq(iw_simd_f64x2_replace_lane(w, 0, F64_SNAN), v_u64(F64_SNAN, w.u64[1])));
}

/* ---- memory forms ---------------------------------------------------------------------- */

static void test_memory_forms(void) {
  uint8_t mem[40];
  for (unsigned i = 0; i < sizeof mem; i++) mem[i] = (uint8_t)(0x80 + i); /* 0x80.. */
  /* v128.load / store at an unaligned address */
  iw_v128 v = iw_simd_v128_load(mem + 3);
  CHECK(v.u8[0] == 0x83 && v.u8[15] == 0x92);
  CHECK(v.u32[0] == 0x86858483u);
  uint8_t out[20];
  memset(out, 0xee, sizeof out);
  iw_simd_v128_store(out + 1, v);
  CHECK(out[0] == 0xee && out[17] == 0xee && memcmp(out + 1, mem + 3, 16) == 0);

  /* extending loads: 8 bytes, sign/zero widened */
  const uint8_t src[8] = {0x80, 0x7f, 0xff, 0x00, 0x01, 0xfe, 0x00, 0x80};
  CHECK(veq(iw_simd_v128_load8x8_s(src), v_i16(-128, 127, -1, 0, 1, -2, 0, -128)));
  CHECK(veq(iw_simd_v128_load8x8_u(src), v_i16(128, 127, 255, 0, 1, 254, 0, 128)));
  CHECK(veq(iw_simd_v128_load16x4_s(src), v_i32(0x7f80, 0xff, (int16_t)0xfe01, (int16_t)0x8000)));
  CHECK(veq(iw_simd_v128_load16x4_u(src), v_i32(0x7f80, 0xff, 0xfe01, 0x8000)));
  CHECK(veq(iw_simd_v128_load32x2_s(src), v_i64(0x00ff7f80, (int32_t)0x8000fe01)));
  CHECK(veq(iw_simd_v128_load32x2_u(src), v_i64(0x00ff7f80, 0x8000fe01)));

  /* splat loads */
  CHECK(veq(iw_simd_v128_load8_splat(src), iw_simd_i8x16_splat(0x80)));
  CHECK(veq(iw_simd_v128_load16_splat(src + 1), iw_simd_i16x8_splat(0xff7f)));
  CHECK(veq(iw_simd_v128_load32_splat(src + 1), iw_simd_i32x4_splat(0x0100ff7fu)));
  CHECK(veq(iw_simd_v128_load64_splat(src), iw_simd_i64x2_splat(0x8000fe0100ff7f80ull)));

  /* zero loads */
  CHECK(veq(iw_simd_v128_load32_zero(src), v_u32(0x00ff7f80u, 0, 0, 0)));
  CHECK(veq(iw_simd_v128_load64_zero(src), v_u64(0x8000fe0100ff7f80ull, 0)));

  /* lane loads replace exactly one lane */
  iw_v128 base = iw_simd_i8x16_splat(0x11);
  CHECK(veq(iw_simd_v128_load8_lane(base, src, 15),
            V8(0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x80)));
  CHECK(veq(iw_simd_v128_load16_lane(base, src + 1, 1),
            V8(0x11, 0x11, 0x7f, 0xff, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11)));
  CHECK(veq(iw_simd_v128_load32_lane(base, src, 2), v_u32(0x11111111u, 0x11111111u, 0x00ff7f80u, 0x11111111u)));
  CHECK(veq(iw_simd_v128_load64_lane(base, src, 1), v_u64(0x1111111111111111ull, 0x8000fe0100ff7f80ull)));

  /* lane stores write exactly the lane's bytes */
  iw_v128 s = V8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  memset(out, 0xee, sizeof out);
  iw_simd_v128_store8_lane(out + 1, s, 9);
  CHECK(out[0] == 0xee && out[1] == 9 && out[2] == 0xee);
  memset(out, 0xee, sizeof out);
  iw_simd_v128_store16_lane(out + 1, s, 7);
  CHECK(out[0] == 0xee && out[1] == 14 && out[2] == 15 && out[3] == 0xee);
  memset(out, 0xee, sizeof out);
  iw_simd_v128_store32_lane(out + 1, s, 1);
  CHECK(out[0] == 0xee && out[1] == 4 && out[4] == 7 && out[5] == 0xee);
  memset(out, 0xee, sizeof out);
  iw_simd_v128_store64_lane(out + 1, s, 1);
  CHECK(out[0] == 0xee && out[1] == 8 && out[8] == 15 && out[9] == 0xee);
}

/* ---- bitwise --------------------------------------------------------------------------- */

static void test_bitwise(void) {
  iw_v128 a = v_u64(0xff00ff00f0f0f0f0ull, 0x0123456789abcdefull);
  iw_v128 b = v_u64(0x0ff00ff00ff00ff0ull, 0xffffffff00000000ull);
  CHECK(veq(iw_simd_v128_not(a), v_u64(0x00ff00ff0f0f0f0full, 0xfedcba9876543210ull)));
  CHECK(veq(iw_simd_v128_and(a, b), v_u64(0x0f000f0000f000f0ull, 0x0123456700000000ull)));
  CHECK(veq(iw_simd_v128_andnot(a, b), v_u64(0xf000f000f000f000ull, 0x0000000089abcdefull)));
  CHECK(veq(iw_simd_v128_or(a, b), v_u64(0xfff0fff0fff0fff0ull, 0xffffffff89abcdefull)));
  CHECK(veq(iw_simd_v128_xor(a, b), v_u64(0xf0f0f0f0ff00ff00ull, 0xfedcba9889abcdefull)));
  /* bitselect(v1, v2, c): v1 where c is 1, v2 where c is 0 */
  iw_v128 c = v_u64(0xffffffff00000000ull, 0x00ff00ff00ff00ffull);
  CHECK(veq(iw_simd_v128_bitselect(a, b, c), v_u64(0xff00ff000ff00ff0ull, 0xff23ff6700ab00efull)));
  CHECK(iw_simd_v128_any_true(iw_simd_zero()) == 0);
  CHECK(iw_simd_v128_any_true(v_u64(0, 0x8000000000000000ull)) == 1);
  CHECK(iw_simd_v128_any_true(v_u64(1, 0)) == 1);
}

/* ---- integer comparisons --------------------------------------------------------------- */

static void test_int_compare(void) {
  iw_v128 a = V8(0x80, 0x7f, 0, 0xff, 5, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  iw_v128 b = V8(0x7f, 0x80, 0xff, 0, 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  /* lanes 6..15 are equal (0 == 0) */
  CHECK(veq(iw_simd_i8x16_eq(a, b), V8(0, 0, 0, 0, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
  CHECK(veq(iw_simd_i8x16_ne(a, b), V8(0xff, 0xff, 0xff, 0xff, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_lt_s(a, b), V8(0xff, 0, 0, 0xff, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_lt_u(a, b), V8(0, 0xff, 0xff, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_gt_s(a, b), V8(0, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_gt_u(a, b), V8(0xff, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_le_s(a, b), V8(0xff, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
  CHECK(veq(iw_simd_i8x16_le_u(a, b), V8(0, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
  CHECK(veq(iw_simd_i8x16_ge_s(a, b), V8(0, 0xff, 0xff, 0, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));
  CHECK(veq(iw_simd_i8x16_ge_u(a, b), V8(0xff, 0, 0, 0xff, 0xff, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)));

  iw_v128 h1 = v_i16(-32768, 32767, 0, -1, 7, 7, 0, 0);
  iw_v128 h2 = v_i16(32767, -32768, -1, 0, 7, 8, 0, 0);
  CHECK(veq(iw_simd_i16x8_lt_s(h1, h2), v_i16(-1, 0, 0, -1, 0, -1, 0, 0)));
  CHECK(veq(iw_simd_i16x8_lt_u(h1, h2), v_i16(0, -1, -1, 0, 0, -1, 0, 0)));
  CHECK(veq(iw_simd_i16x8_ge_u(h1, h2), v_i16(-1, 0, 0, -1, -1, 0, -1, -1)));
  CHECK(veq(iw_simd_i16x8_gt_s(h1, h2), v_i16(0, -1, -1, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_eq(h1, h2), v_i16(0, 0, 0, 0, -1, 0, -1, -1)));
  CHECK(veq(iw_simd_i16x8_ne(h1, h2), v_i16(-1, -1, -1, -1, 0, -1, 0, 0)));
  CHECK(veq(iw_simd_i16x8_le_s(h1, h2), v_i16(-1, 0, 0, -1, -1, -1, -1, -1)));
  CHECK(veq(iw_simd_i16x8_le_u(h1, h2), v_i16(0, -1, -1, 0, -1, -1, -1, -1)));
  CHECK(veq(iw_simd_i16x8_gt_u(h1, h2), v_i16(-1, 0, 0, -1, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_ge_s(h1, h2), v_i16(0, -1, -1, 0, -1, 0, -1, -1)));

  iw_v128 w1 = v_i32(INT32_MIN, INT32_MAX, -1, 3);
  iw_v128 w2 = v_i32(INT32_MAX, INT32_MIN, 0, 3);
  CHECK(veq(iw_simd_i32x4_lt_s(w1, w2), v_i32(-1, 0, -1, 0)));
  CHECK(veq(iw_simd_i32x4_lt_u(w1, w2), v_i32(0, -1, 0, 0)));
  CHECK(veq(iw_simd_i32x4_gt_s(w1, w2), v_i32(0, -1, 0, 0)));
  CHECK(veq(iw_simd_i32x4_gt_u(w1, w2), v_i32(-1, 0, -1, 0)));
  CHECK(veq(iw_simd_i32x4_le_s(w1, w2), v_i32(-1, 0, -1, -1)));
  CHECK(veq(iw_simd_i32x4_le_u(w1, w2), v_i32(0, -1, 0, -1)));
  CHECK(veq(iw_simd_i32x4_ge_s(w1, w2), v_i32(0, -1, 0, -1)));
  CHECK(veq(iw_simd_i32x4_ge_u(w1, w2), v_i32(-1, 0, -1, -1)));
  CHECK(veq(iw_simd_i32x4_eq(w1, w2), v_i32(0, 0, 0, -1)));
  CHECK(veq(iw_simd_i32x4_ne(w1, w2), v_i32(-1, -1, -1, 0)));

  iw_v128 q1 = v_i64(INT64_MIN, 5), q2 = v_i64(INT64_MAX, 5);
  CHECK(veq(iw_simd_i64x2_lt_s(q1, q2), v_i64(-1, 0)));
  CHECK(veq(iw_simd_i64x2_gt_s(q1, q2), v_i64(0, 0)));
  CHECK(veq(iw_simd_i64x2_le_s(q1, q2), v_i64(-1, -1)));
  CHECK(veq(iw_simd_i64x2_ge_s(q1, q2), v_i64(0, -1)));
  CHECK(veq(iw_simd_i64x2_eq(q1, q2), v_i64(0, -1)));
  CHECK(veq(iw_simd_i64x2_ne(q1, q2), v_i64(-1, 0)));
  CHECK(veq(iw_simd_i64x2_lt_s(v_i64(-1, 1), v_i64(0, -1)), v_i64(-1, 0)));
}

/* ---- float comparisons ----------------------------------------------------------------- */

static void test_float_compare(void) {
  iw_v128 a = v_u32(fb(NAN), F32_NEG0, fb(1.0f), fb(-INFINITY));
  iw_v128 b = v_u32(fb(NAN), 0, fb(2.0f), fb(-INFINITY));
  CHECK(veq(iw_simd_f32x4_eq(a, b), v_i32(0, -1, 0, -1)));
  CHECK(veq(iw_simd_f32x4_ne(a, b), v_i32(-1, 0, -1, 0)));
  CHECK(veq(iw_simd_f32x4_lt(a, b), v_i32(0, 0, -1, 0)));
  CHECK(veq(iw_simd_f32x4_gt(a, b), v_i32(0, 0, 0, 0)));
  CHECK(veq(iw_simd_f32x4_le(a, b), v_i32(0, -1, -1, -1)));
  CHECK(veq(iw_simd_f32x4_ge(a, b), v_i32(0, -1, 0, -1)));
  /* NaN against a number */
  iw_v128 n = v_u32(F32_SNAN, fb(1.0f), 0xffc00000u, 0);
  iw_v128 m = v_f32(1.0f, NAN, 0.0f, 0.0f);
  CHECK(veq(iw_simd_f32x4_lt(n, m), v_i32(0, 0, 0, 0)));
  CHECK(veq(iw_simd_f32x4_ge(n, m), v_i32(0, 0, 0, -1)));
  CHECK(veq(iw_simd_f32x4_ne(n, m), v_i32(-1, -1, -1, 0)));

  iw_v128 c = v_u64(db(NAN), F64_NEG0), d = v_u64(db(1.0), 0);
  CHECK(veq(iw_simd_f64x2_eq(c, d), v_i64(0, -1)));
  CHECK(veq(iw_simd_f64x2_ne(c, d), v_i64(-1, 0)));
  CHECK(veq(iw_simd_f64x2_lt(c, d), v_i64(0, 0)));
  CHECK(veq(iw_simd_f64x2_le(c, d), v_i64(0, -1)));
  CHECK(veq(iw_simd_f64x2_gt(c, d), v_i64(0, 0)));
  CHECK(veq(iw_simd_f64x2_ge(c, d), v_i64(0, -1)));
  CHECK(veq(iw_simd_f64x2_lt(v_f64(-INFINITY, 1.0), v_f64(-1e308, 1.0 + 0x1p-52)), v_i64(-1, -1)));
}

/* ---- integer arithmetic ---------------------------------------------------------------- */

static void test_int_add_sub_mul(void) {
  iw_v128 a = V8(0xff, 0x7f, 0x80, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
  iw_v128 b = V8(1, 1, 0xff, 0xff, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xf4);
  CHECK(veq(iw_simd_i8x16_add(a, b), V8(0, 0x80, 0x7f, 0xff, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0)));
  CHECK(veq(iw_simd_i8x16_sub(a, b), V8(0xfe, 0x7e, 0x81, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0x18)));
  CHECK(veq(iw_simd_i16x8_add(v_i16(-1, 32767, -32768, 0, 1, 2, 3, 4), v_i16(1, 1, -1, -1, 1, 1, 1, 1)),
            v_i16(0, -32768, 32767, -1, 2, 3, 4, 5)));
  CHECK(veq(iw_simd_i16x8_sub(v_i16(-32768, 0, 0, 0, 0, 0, 0, 0), v_i16(1, 1, 0, 0, 0, 0, 0, 0)),
            v_i16(32767, -1, 0, 0, 0, 0, 0, 0)));
  /* i16x8.mul wraps: 0xffff * 0xffff = 1, 0x8000 * 2 = 0, 300 * 300 = 90000 mod 2^16 */
  CHECK(veq(iw_simd_i16x8_mul(v_i16(-1, -32768, 300, 3, -3, 0, 1, 256), v_i16(-1, 2, 300, -5, -5, 7, -1, 256)),
            v_i16(1, 0, (int16_t)(90000 - 65536), -15, 15, 0, -1, 0)));
  CHECK(veq(iw_simd_i32x4_add(v_i32(INT32_MAX, -1, 5, 0), v_i32(1, 1, -10, 0)), v_i32(INT32_MIN, 0, -5, 0)));
  CHECK(veq(iw_simd_i32x4_sub(v_i32(INT32_MIN, 0, 5, 0), v_i32(1, 1, -10, 0)), v_i32(INT32_MAX, -1, 15, 0)));
  CHECK(veq(iw_simd_i32x4_mul(v_u32(0xffffffffu, 0x10000u, 0x12345678u, 7), v_u32(0xffffffffu, 0x10000u, 0x10u, 0xffffffffu)),
            v_u32(1, 0, 0x23456780u, 0xfffffff9u)));
  CHECK(veq(iw_simd_i64x2_add(v_i64(INT64_MAX, -1), v_i64(1, 1)), v_i64(INT64_MIN, 0)));
  CHECK(veq(iw_simd_i64x2_sub(v_i64(INT64_MIN, 0), v_i64(1, 1)), v_i64(INT64_MAX, -1)));
  CHECK(veq(iw_simd_i64x2_mul(v_u64(0xffffffffffffffffull, 0x100000000ull), v_u64(0xffffffffffffffffull, 0x100000000ull)),
            v_u64(1, 0)));
  CHECK(veq(iw_simd_i64x2_mul(v_u64(0x123456789ull, 3), v_u64(0x10000ull, 0x5555555555555556ull)),
            v_u64(0x1234567890000ull, 2)));
}

static void test_int_saturating(void) {
  iw_v128 a = V8(0x7f, 0x80, 0x80, 0x7f, 0xff, 0, 100, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0);
  iw_v128 b = V8(1, 0xff, 1, 0xff, 1, 0xff, 100, 0x9c, 0, 0, 0, 0, 0, 0, 0, 0);
  /* signed: 127+1=127, -128+-1=-128, -128+1=-127, 127+-1=126, -1+1=0, 0+-1=-1,
   *         100+100=127, -100+-100=-128 */
  CHECK(veq(iw_simd_i8x16_add_sat_s(a, b), V8(0x7f, 0x80, 0x81, 0x7e, 0, 0xff, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0, 0)));
  /* unsigned: 127+1=128, 128+255=255, 129, 255+... */
  CHECK(veq(iw_simd_i8x16_add_sat_u(a, b), V8(0x80, 0xff, 0x81, 0xff, 0xff, 0xff, 200, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)));
  /* signed sub: 127-1=126, -128-(-1)=-127, -128-1=-128, 127-(-1)=127, -1-1=-2, 0-(-1)=1,
   *             0, 0 */
  CHECK(veq(iw_simd_i8x16_sub_sat_s(a, b), V8(0x7e, 0x81, 0x80, 0x7f, 0xfe, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  /* unsigned sub clamps at 0 */
  CHECK(veq(iw_simd_i8x16_sub_sat_u(a, b), V8(0x7e, 0, 0x7f, 0, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));

  iw_v128 h1 = v_i16(32767, -32768, -32768, 32767, -1, 0, 20000, -20000);
  iw_v128 h2 = v_i16(1, -1, 1, -1, 1, -1, 20000, -20000);
  CHECK(veq(iw_simd_i16x8_add_sat_s(h1, h2), v_i16(32767, -32768, -32767, 32766, 0, -1, 32767, -32768)));
  CHECK(veq(iw_simd_i16x8_add_sat_u(h1, h2), v_i16(-32768, -1, -32767, -1, -1, -1, -25536, -1)));
  CHECK(veq(iw_simd_i16x8_sub_sat_s(h1, h2), v_i16(32766, -32767, -32768, 32767, -2, 1, 0, 0)));
  CHECK(veq(iw_simd_i16x8_sub_sat_u(h1, h2), v_i16(32766, 0, 32767, 0, -2, 0, 0, 0)));
}

static void test_int_minmax_avgr(void) {
  iw_v128 a = V8(0x80, 0x7f, 0xff, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  iw_v128 b = V8(0x7f, 0x80, 0, 0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  CHECK(veq(iw_simd_i8x16_min_s(a, b), V8(0x80, 0x80, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_min_u(a, b), V8(0x7f, 0x7f, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_max_s(a, b), V8(0x7f, 0x7f, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_max_u(a, b), V8(0x80, 0x80, 0xff, 0xff, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  iw_v128 h1 = v_i16(-32768, 32767, -1, 0, 0, 0, 0, 0), h2 = v_i16(32767, -32768, 0, -1, 0, 0, 0, 0);
  CHECK(veq(iw_simd_i16x8_min_s(h1, h2), v_i16(-32768, -32768, -1, -1, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_min_u(h1, h2), v_i16(32767, 32767, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_max_s(h1, h2), v_i16(32767, 32767, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_max_u(h1, h2), v_i16(-32768, -32768, -1, -1, 0, 0, 0, 0)));
  iw_v128 w1 = v_i32(INT32_MIN, -1, 0, 9), w2 = v_i32(INT32_MAX, 0, -1, 9);
  CHECK(veq(iw_simd_i32x4_min_s(w1, w2), v_i32(INT32_MIN, -1, -1, 9)));
  CHECK(veq(iw_simd_i32x4_min_u(w1, w2), v_i32(INT32_MAX, 0, 0, 9)));
  CHECK(veq(iw_simd_i32x4_max_s(w1, w2), v_i32(INT32_MAX, 0, 0, 9)));
  CHECK(veq(iw_simd_i32x4_max_u(w1, w2), v_i32(INT32_MIN, -1, -1, 9)));

  /* avgr_u = (a + b + 1) >> 1 computed without overflow */
  CHECK(veq(iw_simd_i8x16_avgr_u(V8(0xff, 0, 1, 0, 0x80, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xfe),
                                 V8(0xff, 1, 2, 0, 0x7f, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff)),
            V8(0xff, 1, 2, 0, 0x80, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff)));
  CHECK(veq(iw_simd_i16x8_avgr_u(v_i16(-1, 0, 1, -32768, 0, 0, 0, 0), v_i16(-1, 1, 2, 32767, 0, 0, 0, 0)),
            v_i16(-1, 1, 2, -32768, 0, 0, 0, 0)));
}

static void test_int_unary(void) {
  CHECK(veq(iw_simd_i8x16_abs(V8(0x80, 0x81, 0xff, 0, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
            V8(0x80, 0x7f, 1, 0, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_neg(V8(0x80, 0x81, 0xff, 0, 1, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)),
            V8(0x80, 0x7f, 1, 0, 0xff, 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_abs(v_i16(-32768, -32767, -1, 0, 1, 32767, 0, 0)), v_i16(-32768, 32767, 1, 0, 1, 32767, 0, 0)));
  CHECK(veq(iw_simd_i16x8_neg(v_i16(-32768, -32767, -1, 0, 1, 32767, 0, 0)), v_i16(-32768, 32767, 1, 0, -1, -32767, 0, 0)));
  CHECK(veq(iw_simd_i32x4_abs(v_i32(INT32_MIN, -5, 0, INT32_MAX)), v_i32(INT32_MIN, 5, 0, INT32_MAX)));
  CHECK(veq(iw_simd_i32x4_neg(v_i32(INT32_MIN, -5, 0, INT32_MAX)), v_i32(INT32_MIN, 5, 0, -INT32_MAX)));
  CHECK(veq(iw_simd_i64x2_abs(v_i64(INT64_MIN, -7)), v_i64(INT64_MIN, 7)));
  CHECK(veq(iw_simd_i64x2_neg(v_i64(INT64_MIN, -7)), v_i64(INT64_MIN, 7)));
  CHECK(veq(iw_simd_i64x2_neg(v_i64(0, 1)), v_i64(0, -1)));
  CHECK(veq(iw_simd_i8x16_popcnt(V8(0, 1, 0x80, 0xff, 0x55, 0xaa, 0x0f, 0xf0, 3, 7, 0x7f, 0xfe, 0x11, 0x88, 0x42, 0x24)),
            V8(0, 1, 1, 8, 4, 4, 4, 4, 2, 3, 7, 7, 2, 2, 2, 2)));
}

static void test_all_true_bitmask(void) {
  iw_v128 ones = iw_simd_i8x16_splat(1);
  CHECK(iw_simd_i8x16_all_true(ones) == 1);
  CHECK(iw_simd_i8x16_all_true(iw_simd_i8x16_replace_lane(ones, 15, 0)) == 0);
  CHECK(iw_simd_i8x16_all_true(iw_simd_zero()) == 0);
  /* 0x0100 as i16 is nonzero though its low byte is 0 */
  CHECK(iw_simd_i16x8_all_true(iw_simd_i16x8_splat(0x0100)) == 1);
  CHECK(iw_simd_i8x16_all_true(iw_simd_i16x8_splat(0x0100)) == 0);
  CHECK(iw_simd_i16x8_all_true(iw_simd_i16x8_replace_lane(iw_simd_i16x8_splat(0x8000), 3, 0)) == 0);
  CHECK(iw_simd_i32x4_all_true(iw_simd_i32x4_splat(0x00010000u)) == 1);
  CHECK(iw_simd_i32x4_all_true(v_u32(1, 1, 1, 0)) == 0);
  CHECK(iw_simd_i64x2_all_true(v_u64(0x8000000000000000ull, 1)) == 1);
  CHECK(iw_simd_i64x2_all_true(v_u64(0xffffffff00000000ull, 0)) == 0);

  CHECK(iw_simd_i8x16_bitmask(V8(0x80, 0, 0xff, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x81)) == 0x8005u);
  CHECK(iw_simd_i8x16_bitmask(iw_simd_i8x16_splat(0xff)) == 0xffffu);
  CHECK(iw_simd_i16x8_bitmask(v_i16(-1, 1, -32768, 32767, 0, 0, 0, -2)) == 0x85u);
  CHECK(iw_simd_i32x4_bitmask(v_i32(0, INT32_MIN, INT32_MAX, -1)) == 0xau);
  CHECK(iw_simd_i64x2_bitmask(v_i64(-1, 0)) == 1u);
  CHECK(iw_simd_i64x2_bitmask(v_i64(INT64_MAX, INT64_MIN)) == 2u);
}

static void test_shifts(void) {
  iw_v128 a = V8(0x80, 0x81, 0x7f, 1, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0f);
  /* i8: count mod 8, so 9 == 1 and 8 == 0 */
  CHECK(veq(iw_simd_i8x16_shl(a, 9), V8(0, 2, 0xfe, 2, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x1e)));
  CHECK(veq(iw_simd_i8x16_shl(a, 8), a));
  CHECK(veq(iw_simd_i8x16_shr_s(a, 7), V8(0xff, 0xff, 0, 0, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_shr_u(a, 7), V8(1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i8x16_shr_s(a, 0xfffffff9u), iw_simd_i8x16_shr_s(a, 1)));
  CHECK(veq(iw_simd_i8x16_shr_s(a, 1), V8(0xc0, 0xc0, 0x3f, 0, 0xff, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7)));
  iw_v128 h = v_i16(-32768, 1, -1, 0x4000, 0, 0, 0, 0x1234);
  CHECK(veq(iw_simd_i16x8_shl(h, 17), v_i16(0, 2, -2, -32768, 0, 0, 0, 0x2468)));
  CHECK(veq(iw_simd_i16x8_shr_s(h, 15), v_i16(-1, 0, -1, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_shr_u(h, 15), v_i16(1, 0, 1, 0, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_shr_u(h, 16), h));
  iw_v128 w = v_i32(INT32_MIN, 1, -1, 0x12345678);
  CHECK(veq(iw_simd_i32x4_shl(w, 32), w));
  CHECK(veq(iw_simd_i32x4_shl(w, 33), v_i32(0, 2, -2, 0x2468acf0)));
  CHECK(veq(iw_simd_i32x4_shr_s(w, 31), v_i32(-1, 0, -1, 0)));
  CHECK(veq(iw_simd_i32x4_shr_u(w, 31), v_i32(1, 0, 1, 0)));
  CHECK(veq(iw_simd_i32x4_shr_s(w, 4), v_i32((int32_t)0xf8000000, 0, -1, 0x01234567)));
  iw_v128 q = v_i64(INT64_MIN, 3);
  CHECK(veq(iw_simd_i64x2_shl(q, 64), q));
  CHECK(veq(iw_simd_i64x2_shl(q, 65), v_i64(0, 6)));
  CHECK(veq(iw_simd_i64x2_shr_s(q, 63), v_i64(-1, 0)));
  CHECK(veq(iw_simd_i64x2_shr_u(q, 63), v_i64(1, 0)));
  CHECK(veq(iw_simd_i64x2_shr_s(q, 0xffffffffu), v_i64(-1, 0)));
  CHECK(veq(iw_simd_i64x2_shr_u(q, 1), v_u64(0x4000000000000000ull, 1)));
}

static void test_narrow_extend(void) {
  iw_v128 a = v_i16(300, -300, 127, -128, 128, -129, 255, 256);
  iw_v128 b = v_i16(0, -1, 1, 32767, -32768, 100, -100, 200);
  CHECK(veq(iw_simd_i8x16_narrow_i16x8_s(a, b),
            V8(0x7f, 0x80, 0x7f, 0x80, 0x7f, 0x80, 0x7f, 0x7f, 0, 0xff, 1, 0x7f, 0x80, 100, 0x9c, 0x7f)));
  CHECK(veq(iw_simd_i8x16_narrow_i16x8_u(a, b),
            V8(0xff, 0, 127, 0, 128, 0, 255, 255, 0, 0, 1, 255, 0, 100, 0, 200)));
  iw_v128 c = v_i32(70000, -70000, 32767, -32768), d = v_i32(32768, -32769, 65535, 65536);
  CHECK(veq(iw_simd_i16x8_narrow_i32x4_s(c, d), v_i16(32767, -32768, 32767, -32768, 32767, -32768, 32767, 32767)));
  CHECK(veq(iw_simd_i16x8_narrow_i32x4_u(c, d), v_i16(-1, 0, 32767, 0, -32768, 0, -1, -1)));

  iw_v128 e = V8(0x80, 0x7f, 0xff, 0, 1, 2, 3, 4, 0xfe, 0x81, 5, 6, 7, 8, 9, 0xf0);
  CHECK(veq(iw_simd_i16x8_extend_low_i8x16_s(e), v_i16(-128, 127, -1, 0, 1, 2, 3, 4)));
  CHECK(veq(iw_simd_i16x8_extend_low_i8x16_u(e), v_i16(128, 127, 255, 0, 1, 2, 3, 4)));
  CHECK(veq(iw_simd_i16x8_extend_high_i8x16_s(e), v_i16(-2, -127, 5, 6, 7, 8, 9, -16)));
  CHECK(veq(iw_simd_i16x8_extend_high_i8x16_u(e), v_i16(254, 129, 5, 6, 7, 8, 9, 240)));
  iw_v128 h = v_i16(-32768, 32767, -1, 0, -2, 2, 1, -3);
  CHECK(veq(iw_simd_i32x4_extend_low_i16x8_s(h), v_i32(-32768, 32767, -1, 0)));
  CHECK(veq(iw_simd_i32x4_extend_low_i16x8_u(h), v_i32(32768, 32767, 65535, 0)));
  CHECK(veq(iw_simd_i32x4_extend_high_i16x8_s(h), v_i32(-2, 2, 1, -3)));
  CHECK(veq(iw_simd_i32x4_extend_high_i16x8_u(h), v_i32(65534, 2, 1, 65533)));
  iw_v128 w = v_i32(INT32_MIN, 1, -1, INT32_MAX);
  CHECK(veq(iw_simd_i64x2_extend_low_i32x4_s(w), v_i64(INT32_MIN, 1)));
  CHECK(veq(iw_simd_i64x2_extend_low_i32x4_u(w), v_i64(0x80000000ll, 1)));
  CHECK(veq(iw_simd_i64x2_extend_high_i32x4_s(w), v_i64(-1, INT32_MAX)));
  CHECK(veq(iw_simd_i64x2_extend_high_i32x4_u(w), v_i64(0xffffffffll, INT32_MAX)));
}

static void test_extadd_extmul(void) {
  iw_v128 e = V8(0x80, 0x80, 0xff, 0xff, 0x7f, 0x7f, 0x80, 0x7f, 1, 0xff, 0, 0, 3, 4, 0xfe, 0x02);
  CHECK(veq(iw_simd_i16x8_extadd_pairwise_i8x16_s(e), v_i16(-256, -2, 254, -1, 0, 0, 7, 0)));
  CHECK(veq(iw_simd_i16x8_extadd_pairwise_i8x16_u(e), v_i16(256, 510, 254, 255, 256, 0, 7, 256)));
  iw_v128 h = v_i16(-32768, -32768, -1, -1, 32767, 32767, 5, -6);
  CHECK(veq(iw_simd_i32x4_extadd_pairwise_i16x8_s(h), v_i32(-65536, -2, 65534, -1)));
  CHECK(veq(iw_simd_i32x4_extadd_pairwise_i16x8_u(h), v_i32(65536, 131070, 65534, 65535)));

  iw_v128 a = V8(0x80, 0xff, 0x7f, 2, 0, 0, 0, 0, 0xff, 0x80, 3, 0, 0, 0, 0, 0x10);
  iw_v128 b = V8(0x80, 0xff, 0x80, 0xfe, 0, 0, 0, 0, 0xff, 0x7f, 0xfd, 0, 0, 0, 0, 0x10);
  CHECK(veq(iw_simd_i16x8_extmul_low_i8x16_s(a, b), v_i16(16384, 1, -16256, -4, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_extmul_low_i8x16_u(a, b), v_i16(16384, (int16_t)65025, 127 * 128, 2 * 254, 0, 0, 0, 0)));
  CHECK(veq(iw_simd_i16x8_extmul_high_i8x16_s(a, b), v_i16(1, -16256, -9, 0, 0, 0, 0, 256)));
  CHECK(veq(iw_simd_i16x8_extmul_high_i8x16_u(a, b), v_i16((int16_t)65025, 128 * 127, 3 * 253, 0, 0, 0, 0, 256)));

  iw_v128 c = v_i16(-32768, -1, 32767, 2, -32768, -1, 3, 0);
  iw_v128 d = v_i16(-32768, -1, -32768, -2, 32767, -1, -3, 9);
  CHECK(veq(iw_simd_i32x4_extmul_low_i16x8_s(c, d), v_i32(0x40000000, 1, -1073709056, -4)));
  CHECK(veq(iw_simd_i32x4_extmul_low_i16x8_u(c, d), v_u32(0x40000000u, 0xfffe0001u, 32767u * 32768u, 2u * 65534u)));
  CHECK(veq(iw_simd_i32x4_extmul_high_i16x8_s(c, d), v_i32(-1073709056, 1, -9, 0)));
  CHECK(veq(iw_simd_i32x4_extmul_high_i16x8_u(c, d), v_u32(32768u * 32767u, 0xfffe0001u, 3u * 65533u, 0)));

  iw_v128 w1 = v_i32(INT32_MIN, -1, -1, 7), w2 = v_i32(INT32_MIN, -1, INT32_MAX, -7);
  CHECK(veq(iw_simd_i64x2_extmul_low_i32x4_s(w1, w2), v_i64(0x4000000000000000ll, 1)));
  CHECK(veq(iw_simd_i64x2_extmul_low_i32x4_u(w1, w2), v_u64(0x4000000000000000ull, 0xfffffffe00000001ull)));
  CHECK(veq(iw_simd_i64x2_extmul_high_i32x4_s(w1, w2), v_i64(-(int64_t)INT32_MAX, -49)));
  CHECK(veq(iw_simd_i64x2_extmul_high_i32x4_u(w1, w2), v_u64(0xffffffffull * 0x7fffffffull, 7ull * 0xfffffff9ull)));
}

static void test_q15mulr_dot(void) {
  /* (x*y + 0x4000) >> 15 with an arithmetic shift, saturated */
  iw_v128 a = v_i16(-32768, 16384, 1, -1, -3, -1, 32767, -32768);
  iw_v128 b = v_i16(-32768, 16384, 16384, 16384, 16384, 16385, 32767, 32767);
  /* -32768^2 -> 32767 (saturates); 2^28+2^14 >> 15 = 8192; (16384+16384)>>15 = 1;
   * (-16384+16384)>>15 = 0; (-49152+16384)>>15 = -1; (-16385+16384)>>15 = -1 (floor);
   * (32767^2+16384)>>15 = 32766; (-32768*32767+16384)>>15 = -32767 */
  CHECK(veq(iw_simd_i16x8_q15mulr_sat_s(a, b), v_i16(32767, 8192, 1, 0, -1, -1, 32766, -32767)));

  iw_v128 c = v_i16(-32768, -32768, 1, 2, -1, 2, 32767, 32767);
  iw_v128 d = v_i16(-32768, -32768, 3, 4, 5, 6, 32767, 32767);
  /* 2^30 + 2^30 wraps to INT32_MIN; 3+8; -5+12; 2*32767^2 */
  CHECK(veq(iw_simd_i32x4_dot_i16x8_s(c, d), v_i32(INT32_MIN, 11, 7, 2147352578)));
  CHECK(veq(iw_simd_i32x4_dot_i16x8_s(v_i16(-32768, 32767, 0, 0, 0, 0, 0, 0), v_i16(-32768, -32768, 0, 0, 0, 0, 0, 0)),
            v_i32(32768, 0, 0, 0)));
}

/* ---- float arithmetic ------------------------------------------------------------------ */

static void test_float_arith(void) {
  iw_v128 r = iw_simd_f32x4_add(v_f32(1.5f, INFINITY, 0x1p127f, -0.0f), v_f32(2.25f, -INFINITY, 0x1p127f, -0.0f));
  CHECK(r.u32[0] == fb(3.75f));
  CHECK(nan32_canon(r.u32[1])); /* inf + -inf: invalid */
  CHECK(r.u32[2] == fb(INFINITY));
  CHECK(r.u32[3] == F32_NEG0);
  r = iw_simd_f32x4_sub(v_f32(0.0f, INFINITY, 1.0f, 0.0f), v_f32(0.0f, INFINITY, 0x1p-30f, -0.0f));
  CHECK(r.u32[0] == 0 && nan32_canon(r.u32[1]) && r.u32[2] == fb(1.0f - 0x1p-30f) && r.u32[3] == 0);
  r = iw_simd_f32x4_mul(v_f32(0.0f, -2.0f, 0x1p-100f, 3.0f), v_f32(INFINITY, 0.0f, 0x1p-100f, -1.0f / 3.0f));
  CHECK(nan32_canon(r.u32[0]) && r.u32[1] == F32_NEG0 && r.u32[2] == 0 && r.u32[3] == fb(-1.0f));
  r = iw_simd_f32x4_div(v_f32(1.0f, -1.0f, 0.0f, 1.0f), v_f32(0.0f, 0.0f, 0.0f, 3.0f));
  CHECK(r.u32[0] == fb(INFINITY) && r.u32[1] == fb(-INFINITY) && nan32_canon(r.u32[2]) &&
        r.u32[3] == fb(1.0f / 3.0f));
  /* NaN operands propagate as (at least) arithmetic NaNs */
  r = iw_simd_f32x4_add(v_u32(F32_SNAN, F32_QNAN_PAY, 0x7fc00000u, fb(1.0f)), v_f32(1.0f, 1.0f, 1.0f, NAN));
  CHECK(nan32_arith(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_canon(r.u32[2]) && nan32_canon(r.u32[3]));
  r = iw_simd_f32x4_sqrt(v_f32(4.0f, -1.0f, -0.0f, 2.0f));
  CHECK(r.u32[0] == fb(2.0f) && nan32_canon(r.u32[1]) && r.u32[2] == F32_NEG0 && r.u32[3] == fb(1.41421356f));
  r = iw_simd_f32x4_sqrt(v_u32(F32_SNAN, fb(INFINITY), fb(-INFINITY), 0));
  CHECK(nan32_arith(r.u32[0]) && r.u32[1] == fb(INFINITY) && nan32_canon(r.u32[2]) && r.u32[3] == 0);

  iw_v128 d = iw_simd_f64x2_add(v_f64(0.1, INFINITY), v_f64(0.2, -INFINITY));
  CHECK(d.u64[0] == db(0.1 + 0.2) && nan64_canon(d.u64[1]));
  d = iw_simd_f64x2_sub(v_f64(1.0, -0.0), v_f64(0x1p-60, 0.0));
  CHECK(d.u64[0] == db(1.0) && d.u64[1] == F64_NEG0);
  d = iw_simd_f64x2_mul(v_f64(0x1p1000, -0.0), v_f64(0x1p1000, INFINITY));
  CHECK(d.u64[0] == db(INFINITY) && nan64_canon(d.u64[1]));
  d = iw_simd_f64x2_div(v_f64(-0.0, 1.0), v_f64(0.0, -0.0));
  CHECK(nan64_canon(d.u64[0]) && d.u64[1] == db(-INFINITY));
  d = iw_simd_f64x2_sqrt(v_u64(F64_SNAN, db(-0.0)));
  CHECK(nan64_arith(d.u64[0]) && d.u64[1] == F64_NEG0);
  d = iw_simd_f64x2_sqrt(v_f64(2.0, -1e-300));
  CHECK(d.u64[0] == db(1.4142135623730951) && nan64_canon(d.u64[1]));
}

static void test_float_abs_neg(void) {
  /* sign-bit ops: NaN payloads (and signalling bits) survive */
  iw_v128 a = v_u32(F32_SNAN, 0xffc00000u, F32_NEG0, fb(-1.5f));
  CHECK(veq(iw_simd_f32x4_abs(a), v_u32(F32_SNAN, 0x7fc00000u, 0, fb(1.5f))));
  CHECK(veq(iw_simd_f32x4_neg(a), v_u32(0xffa00001u, 0x7fc00000u, 0, fb(1.5f))));
  iw_v128 b = v_u64(F64_SNAN | F64_NEG0, 0);
  CHECK(veq(iw_simd_f64x2_abs(b), v_u64(F64_SNAN, 0)));
  CHECK(veq(iw_simd_f64x2_neg(b), v_u64(F64_SNAN, F64_NEG0)));
}

static void test_float_minmax(void) {
  /* -0 < +0 in both argument orders */
  iw_v128 z1 = v_u32(F32_NEG0, 0, F32_NEG0, 0), z2 = v_u32(0, F32_NEG0, F32_NEG0, 0);
  CHECK(veq(iw_simd_f32x4_min(z1, z2), v_u32(F32_NEG0, F32_NEG0, F32_NEG0, 0)));
  CHECK(veq(iw_simd_f32x4_max(z1, z2), v_u32(0, 0, F32_NEG0, 0)));
  iw_v128 a = v_u32(fb(NAN), fb(1.0f), F32_SNAN, fb(-INFINITY));
  iw_v128 b = v_u32(fb(1.0f), F32_QNAN_PAY, fb(1.0f), fb(INFINITY));
  iw_v128 r = iw_simd_f32x4_min(a, b);
  CHECK(nan32_canon(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_arith(r.u32[2]) && r.u32[3] == fb(-INFINITY));
  r = iw_simd_f32x4_max(a, b);
  CHECK(nan32_canon(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_arith(r.u32[2]) && r.u32[3] == fb(INFINITY));
  CHECK(veq(iw_simd_f32x4_min(v_f32(1, -2, 3, 0x1p-149f), v_f32(2, -3, 3, 0)), v_f32(1, -3, 3, 0)));
  CHECK(veq(iw_simd_f32x4_max(v_f32(1, -2, 3, 0x1p-149f), v_f32(2, -3, 3, 0)), v_f32(2, -2, 3, 0x1p-149f)));

  iw_v128 dz1 = v_u64(F64_NEG0, 0), dz2 = v_u64(0, F64_NEG0);
  CHECK(veq(iw_simd_f64x2_min(dz1, dz2), v_u64(F64_NEG0, F64_NEG0)));
  CHECK(veq(iw_simd_f64x2_max(dz1, dz2), v_u64(0, 0)));
  iw_v128 d = iw_simd_f64x2_min(v_u64(F64_SNAN, db(2.0)), v_f64(-1.0, NAN));
  CHECK(nan64_arith(d.u64[0]) && nan64_canon(d.u64[1]));
  d = iw_simd_f64x2_max(v_u64(F64_SNAN, db(2.0)), v_f64(-1.0, NAN));
  CHECK(nan64_arith(d.u64[0]) && nan64_canon(d.u64[1]));
  CHECK(veq(iw_simd_f64x2_min(v_f64(-1e308, 5), v_f64(1e308, -INFINITY)), v_f64(-1e308, -INFINITY)));
  CHECK(veq(iw_simd_f64x2_max(v_f64(-1e308, 5), v_f64(1e308, -INFINITY)), v_f64(1e308, 5)));
}

static void test_float_pminmax(void) {
  /* pmin(a, b) = b < a ? b : a ; pmax(a, b) = a < b ? b : a; bit copies */
  iw_v128 a = v_u32(F32_SNAN, fb(1.0f), F32_NEG0, 0);
  iw_v128 b = v_u32(fb(1.0f), F32_SNAN, 0, F32_NEG0);
  CHECK(veq(iw_simd_f32x4_pmin(a, b), v_u32(F32_SNAN, fb(1.0f), F32_NEG0, 0)));
  CHECK(veq(iw_simd_f32x4_pmax(a, b), v_u32(F32_SNAN, fb(1.0f), F32_NEG0, 0)));
  CHECK(veq(iw_simd_f32x4_pmin(v_f32(2, -1, -INFINITY, 5), v_f32(1, 3, INFINITY, 5)), v_f32(1, -1, -INFINITY, 5)));
  CHECK(veq(iw_simd_f32x4_pmax(v_f32(2, -1, -INFINITY, 5), v_f32(1, 3, INFINITY, 5)), v_f32(2, 3, INFINITY, 5)));
  iw_v128 c = v_u64(F64_SNAN, db(1.0)), d = v_u64(db(-1.0), F64_SNAN);
  CHECK(veq(iw_simd_f64x2_pmin(c, d), c));
  CHECK(veq(iw_simd_f64x2_pmax(c, d), c));
  CHECK(veq(iw_simd_f64x2_pmin(v_u64(F64_NEG0, db(3.0)), v_u64(0, db(-3.0))), v_u64(F64_NEG0, db(-3.0))));
  CHECK(veq(iw_simd_f64x2_pmax(v_u64(F64_NEG0, db(3.0)), v_u64(0, db(-3.0))), v_u64(F64_NEG0, db(3.0))));
}

static void test_float_rounding(void) {
  iw_v128 x = v_f32(-0.5f, 1.5f, -1.5f, 2.5f);
  CHECK(veq(iw_simd_f32x4_ceil(x), v_u32(F32_NEG0, fb(2.0f), fb(-1.0f), fb(3.0f))));
  CHECK(veq(iw_simd_f32x4_floor(x), v_f32(-1.0f, 1.0f, -2.0f, 2.0f)));
  CHECK(veq(iw_simd_f32x4_trunc(x), v_u32(F32_NEG0, fb(1.0f), fb(-1.0f), fb(2.0f))));
  CHECK(veq(iw_simd_f32x4_nearest(x), v_u32(F32_NEG0, fb(2.0f), fb(-2.0f), fb(2.0f))));
  /* ties to even near 2^23, and values already integral */
  iw_v128 y = v_f32(8388607.5f, 3.5f, 0.5f, 16777216.0f);
  CHECK(veq(iw_simd_f32x4_nearest(y), v_f32(8388608.0f, 4.0f, 0.0f, 16777216.0f)));
  CHECK(veq(iw_simd_f32x4_nearest(v_f32(-0.0f, 0.49999997f, -2.5f, 1e30f)),
            v_u32(F32_NEG0, 0, fb(-2.0f), fb(1e30f))));
  CHECK(veq(iw_simd_f32x4_floor(v_f32(-0.0f, 0x1p-149f, -0x1p-149f, INFINITY)),
            v_u32(F32_NEG0, 0, fb(-1.0f), fb(INFINITY))));
  CHECK(veq(iw_simd_f32x4_ceil(v_f32(-0.0f, 0x1p-149f, -0x1p-149f, -INFINITY)),
            v_u32(F32_NEG0, fb(1.0f), F32_NEG0, fb(-INFINITY))));
  /* NaNs come back quiet */
  iw_v128 n = v_u32(F32_SNAN, 0xffa00000u, 0x7fc00000u, F32_QNAN_PAY);
  iw_v128 r;
  r = iw_simd_f32x4_ceil(n);
  CHECK(nan32_arith(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_canon(r.u32[2]) && nan32_arith(r.u32[3]));
  r = iw_simd_f32x4_floor(n);
  CHECK(nan32_arith(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_canon(r.u32[2]) && nan32_arith(r.u32[3]));
  r = iw_simd_f32x4_trunc(n);
  CHECK(nan32_arith(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_canon(r.u32[2]) && nan32_arith(r.u32[3]));
  r = iw_simd_f32x4_nearest(n);
  CHECK(nan32_arith(r.u32[0]) && nan32_arith(r.u32[1]) && nan32_canon(r.u32[2]) && nan32_arith(r.u32[3]));

  iw_v128 d = v_f64(-0.5, 2.5);
  CHECK(veq(iw_simd_f64x2_ceil(d), v_u64(F64_NEG0, db(3.0))));
  CHECK(veq(iw_simd_f64x2_floor(d), v_f64(-1.0, 2.0)));
  CHECK(veq(iw_simd_f64x2_trunc(d), v_u64(F64_NEG0, db(2.0))));
  CHECK(veq(iw_simd_f64x2_nearest(d), v_u64(F64_NEG0, db(2.0))));
  CHECK(veq(iw_simd_f64x2_nearest(v_f64(4503599627370495.5, -4503599627370494.5)),
            v_f64(4503599627370496.0, -4503599627370494.0)));
  CHECK(veq(iw_simd_f64x2_trunc(v_f64(-0x1p-1074, 1e300)), v_u64(F64_NEG0, db(1e300))));
  iw_v128 dn = v_u64(F64_SNAN, 0xfff8000000000000ull);
  r = iw_simd_f64x2_ceil(dn);
  CHECK(nan64_arith(r.u64[0]) && nan64_canon(r.u64[1]));
  r = iw_simd_f64x2_floor(dn);
  CHECK(nan64_arith(r.u64[0]) && nan64_canon(r.u64[1]));
  r = iw_simd_f64x2_trunc(dn);
  CHECK(nan64_arith(r.u64[0]) && nan64_canon(r.u64[1]));
  r = iw_simd_f64x2_nearest(dn);
  CHECK(nan64_arith(r.u64[0]) && nan64_canon(r.u64[1]));
}

/* ---- conversions ----------------------------------------------------------------------- */

static void test_trunc_sat(void) {
  CHECK(veq(iw_simd_i32x4_trunc_sat_f32x4_s(v_u32(fb(NAN), 0xffc00000u, F32_SNAN, fb(-0.9f))), v_i32(0, 0, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f32x4_s(v_f32(2147483648.0f, -2147483904.0f, INFINITY, -INFINITY)),
            v_i32(INT32_MAX, INT32_MIN, INT32_MAX, INT32_MIN)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f32x4_s(v_f32(2147483520.0f, -2147483648.0f, -1.9f, 1.9f)),
            v_i32(2147483520, INT32_MIN, -1, 1)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f32x4_u(v_u32(fb(NAN), 0xffc00000u, fb(-1.0f), fb(-0.99f))), v_i32(0, 0, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f32x4_u(v_f32(4294967296.0f, 4294967040.0f, INFINITY, -INFINITY)),
            v_u32(UINT32_MAX, 4294967040u, UINT32_MAX, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f32x4_u(v_f32(1.9f, 2147483648.0f, -0.0f, 0x1p-149f)),
            v_u32(1, 0x80000000u, 0, 0)));

  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_s_zero(v_f64(2147483647.9, -2147483648.9)), v_i32(INT32_MAX, INT32_MIN, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_s_zero(v_f64(2147483648.0, -2147483649.0)), v_i32(INT32_MAX, INT32_MIN, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_s_zero(v_u64(F64_SNAN, db(-1.5))), v_i32(0, -1, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_s_zero(v_f64(INFINITY, -INFINITY)), v_i32(INT32_MAX, INT32_MIN, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_u_zero(v_f64(4294967295.9, 4294967296.0)), v_u32(UINT32_MAX, UINT32_MAX, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_u_zero(v_f64(-0.999, -1.0)), v_u32(0, 0, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_u_zero(v_f64(NAN, 1e10)), v_u32(0, UINT32_MAX, 0, 0)));
  CHECK(veq(iw_simd_i32x4_trunc_sat_f64x2_u_zero(v_f64(3.99, -INFINITY)), v_u32(3, 0, 0, 0)));
}

static void test_convert(void) {
  /* int -> f32 rounds to nearest, ties to even */
  CHECK(veq(iw_simd_f32x4_convert_i32x4_s(v_i32(16777217, 16777219, INT32_MIN, -1)),
            v_f32(16777216.0f, 16777220.0f, -2147483648.0f, -1.0f)));
  CHECK(veq(iw_simd_f32x4_convert_i32x4_s(v_i32(INT32_MAX, 0, -16777217, 123456789)),
            v_f32(2147483648.0f, 0.0f, -16777216.0f, 123456792.0f)));
  CHECK(veq(iw_simd_f32x4_convert_i32x4_u(v_u32(UINT32_MAX, 0x80000000u, 16777217u, 0x80000081u)),
            v_f32(4294967296.0f, 2147483648.0f, 16777216.0f, 2147483904.0f)));
  /* 0x7fffffc0 is a tie between 2147483520 (odd) and 2^31 (even) */
  CHECK(veq(iw_simd_f32x4_convert_i32x4_u(v_u32(0x7fffffc0u, 0, 0, 0)), v_f32(2147483648.0f, 0, 0, 0)));
  CHECK(veq(iw_simd_f32x4_convert_i32x4_u(v_u32(0, 1, 0x7fffffbfu, 0xffffff7fu)),
            v_f32(0.0f, 1.0f, 2147483520.0f, 4294967040.0f)));
  CHECK(veq(iw_simd_f64x2_convert_low_i32x4_s(v_i32(INT32_MIN, -1, 99, 99)), v_f64(-2147483648.0, -1.0)));
  CHECK(veq(iw_simd_f64x2_convert_low_i32x4_u(v_u32(UINT32_MAX, 0x80000000u, 99, 99)), v_f64(4294967295.0, 2147483648.0)));

  /* demote: round to nearest, lanes 2,3 = 0 */
  iw_v128 r = iw_simd_f32x4_demote_f64x2_zero(v_f64(1e300, 0.1));
  CHECK(veq(r, v_u32(fb(INFINITY), fb(0.1f), 0, 0)));
  r = iw_simd_f32x4_demote_f64x2_zero(v_f64(1.0 + 0x1p-24, 1.0 + 3 * 0x1p-24));
  CHECK(veq(r, v_f32(1.0f, 1.0f + 0x1p-22f, 0, 0)));
  r = iw_simd_f32x4_demote_f64x2_zero(v_f64(-0x1p-1074, 0x1.fffffefffffffp127));
  CHECK(veq(r, v_u32(F32_NEG0, fb(0x1.fffffep127f), 0, 0)));
  r = iw_simd_f32x4_demote_f64x2_zero(v_u64(F64_SNAN, 0x7ff8000000000000ull));
  CHECK(nan32_arith(r.u32[0]) && nan32_canon(r.u32[1]) && r.u32[2] == 0 && r.u32[3] == 0);
  r = iw_simd_f32x4_demote_f64x2_zero(v_f64(0x1.fffffffp127, -0x1p-150));
  CHECK(veq(r, v_u32(fb(INFINITY), F32_NEG0, 0, 0))); /* overflow; tie to even -> -0 */

  /* promote: exact, from lanes 0 and 1 */
  r = iw_simd_f64x2_promote_low_f32x4(v_u32(F32_NEG0, fb(0x1p-149f), fb(1.0f), fb(2.0f)));
  CHECK(veq(r, v_u64(F64_NEG0, db(0x1p-149))));
  r = iw_simd_f64x2_promote_low_f32x4(v_u32(F32_SNAN, 0x7fc00000u, 0, 0));
  CHECK(nan64_arith(r.u64[0]) && nan64_canon(r.u64[1]));
  r = iw_simd_f64x2_promote_low_f32x4(v_f32(-INFINITY, 0.1f, 0, 0));
  CHECK(veq(r, v_f64(-INFINITY, (double)0.1f)));
}

int main(void) {
  RUN(test_table_shape);
  RUN(test_table_spot);
  RUN(test_table_functions);
  RUN(test_const_shuffle_swizzle);
  RUN(test_splat_extract_replace);
  RUN(test_memory_forms);
  RUN(test_bitwise);
  RUN(test_int_compare);
  RUN(test_float_compare);
  RUN(test_int_add_sub_mul);
  RUN(test_int_saturating);
  RUN(test_int_minmax_avgr);
  RUN(test_int_unary);
  RUN(test_all_true_bitmask);
  RUN(test_shifts);
  RUN(test_narrow_extend);
  RUN(test_extadd_extmul);
  RUN(test_q15mulr_dot);
  RUN(test_float_arith);
  RUN(test_float_abs_neg);
  RUN(test_float_minmax);
  RUN(test_float_pminmax);
  RUN(test_float_rounding);
  RUN(test_trunc_sat);
  RUN(test_convert);
  return UNIT_END();
}
