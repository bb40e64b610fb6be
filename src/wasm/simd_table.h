/* isola wasm: the WebAssembly 2.0 fixed-width SIMD (v128) opcode table.
 *
 * Every instruction is encoded as the prefix byte 0xFD followed by a LEB128 u32 sub-opcode
 * (e.g. i8x16.add = 0xFD 0x6E, f64x2.convert_low_i32x4_u = 0xFD 0xFF 0x01), then the
 * immediates that its SHAPE names below. The table lists all 236 sub-opcodes of Wasm 2.0
 * (0x00..0xFF minus the 20 unassigned: 0x9A 0xA2 0xA5 0xA6 0xAF 0xB0 0xB2 0xB3 0xB4 0xBB
 * 0xC2 0xC5 0xC6 0xCF 0xD0 0xD2 0xD3 0xD4 0xE2 0xEE); anything else after 0xFD is an
 * illegal opcode. Relaxed SIMD (0x100+) is not part of 2.0 and is absent.
 *
 *   X(OP, NAME, TEXT, SHAPE, LANES, MEMSIZE, ALIGN)
 *
 *   OP       sub-opcode (the u32 after 0xFD), spelled in hex.
 *   NAME     C identifier: the semantic function is iw_simd_##NAME (src/wasm/simd_ops.h).
 *   TEXT     the text-format mnemonic, a string literal.
 *   SHAPE    one of the IW_SIMD_* tokens below (operand/result types and immediates).
 *   LANES    exclusive upper bound of each lane-index immediate (validation: laneidx < LANES);
 *            16/8/4/2 for extract/replace/load_lane/store_lane, 32 for i8x16.shuffle,
 *            0 for ops without a lane immediate.
 *   MEMSIZE  bytes accessed in linear memory (16 for v128.load/store, 8 for load8x8_s..., N for
 *            the splat/zero/lane forms); 0 for non-memory ops. Bounds check: ea+MEMSIZE <= len.
 *   ALIGN    log2 of the natural alignment = the largest valid memarg align exponent
 *            (validation: memarg.align <= ALIGN); 0 for non-memory ops.
 *
 * Immediates: `memarg` is u32 align-exponent then u32 offset (both LEB128); `laneidx` is ONE
 * raw byte (not LEB); v128.const and i8x16.shuffle take 16 raw bytes.
 *
 * SHAPE vocabulary (stack effect; "i32" etc. are wasm value types; the C signature of
 * iw_simd_##NAME follows in brackets; v = iw_v128, scalars are raw bits: uint32_t for
 * i32/f32, uint64_t for i64/f64, lane index `unsigned`):
 *
 *   IW_SIMD_CONST       [] -> v128                 imm: 16 bytes   [v f(const uint8_t b[16])]
 *   IW_SIMD_SHUFFLE     v128 v128 -> v128          imm: 16 laneidx bytes, each < 32
 *                                                  [v f(v a, v b, const uint8_t idx[16])]
 *   IW_SIMD_UN          v128 -> v128                                    [v f(v a)]
 *   IW_SIMD_BIN         v128 v128 -> v128  (first-pushed is a)         [v f(v a, v b)]
 *   IW_SIMD_TERN        v128 v128 v128 -> v128 (bitselect: v1 v2 c)    [v f(v a, v b, v c)]
 *   IW_SIMD_SHIFT       v128 i32 -> v128                                [v f(v a, uint32_t n)]
 *   IW_SIMD_TEST        v128 -> i32  (any_true, all_true, bitmask)      [uint32_t f(v a)]
 *   IW_SIMD_SPLAT_I32   i32 -> v128                                     [v f(uint32_t x)]
 *   IW_SIMD_SPLAT_I64   i64 -> v128                                     [v f(uint64_t x)]
 *   IW_SIMD_SPLAT_F32   f32 -> v128                                     [v f(uint32_t bits)]
 *   IW_SIMD_SPLAT_F64   f64 -> v128                                     [v f(uint64_t bits)]
 *   IW_SIMD_EXTRACT_I32 v128 -> i32          imm: laneidx    [uint32_t f(v a, unsigned lane)]
 *   IW_SIMD_EXTRACT_I64 v128 -> i64          imm: laneidx    [uint64_t f(v a, unsigned lane)]
 *   IW_SIMD_EXTRACT_F32 v128 -> f32          imm: laneidx    [uint32_t f(v a, unsigned lane)]
 *   IW_SIMD_EXTRACT_F64 v128 -> f64          imm: laneidx    [uint64_t f(v a, unsigned lane)]
 *   IW_SIMD_REPLACE_I32 v128 i32 -> v128     imm: laneidx    [v f(v a, unsigned lane, uint32_t x)]
 *   IW_SIMD_REPLACE_I64 v128 i64 -> v128     imm: laneidx    [v f(v a, unsigned lane, uint64_t x)]
 *   IW_SIMD_REPLACE_F32 v128 f32 -> v128     imm: laneidx    [v f(v a, unsigned lane, uint32_t x)]
 *   IW_SIMD_REPLACE_F64 v128 f64 -> v128     imm: laneidx    [v f(v a, unsigned lane, uint64_t x)]
 *
 *   Memory forms (address operand is i32 in Wasm 2.0; p points at MEMSIZE bytes of linear
 *   memory that the interpreter has already bounds-checked; p need not be aligned):
 *   IW_SIMD_LOAD        i32 -> v128          imm: memarg     [v f(const void *p)]  (v128.load)
 *   IW_SIMD_LOAD_EXTEND i32 -> v128          imm: memarg     [v f(const void *p)]  8 bytes,
 *                                            lanes widened (load8x8_s ... load32x2_u)
 *   IW_SIMD_LOAD_SPLAT  i32 -> v128          imm: memarg     [v f(const void *p)]  MEMSIZE
 *                                            bytes replicated into every lane
 *   IW_SIMD_LOAD_ZERO   i32 -> v128          imm: memarg     [v f(const void *p)]  MEMSIZE
 *                                            bytes into lane 0, the rest zero
 *   IW_SIMD_LOAD_LANE   i32 v128 -> v128     imm: memarg laneidx
 *                                            [v f(v a, const void *p, unsigned lane)]
 *   IW_SIMD_STORE       i32 v128 -> []       imm: memarg     [void f(void *p, v a)]
 *   IW_SIMD_STORE_LANE  i32 v128 -> []       imm: memarg laneidx
 *                                            [void f(void *p, v a, unsigned lane)]
 *
 * Every entry, memory forms included, has its iw_simd_##NAME in simd_ops.h.
 */
#ifndef ISOLA_WASM_SIMD_TABLE_H
#define ISOLA_WASM_SIMD_TABLE_H

/* clang-format off */
#define IW_SIMD_OPS(X) \
  /* ---- memory, constants, shuffles, splats, lanes (0x00-0x22) ---- */                        \
  X(0x00, v128_load,              "v128.load",              IW_SIMD_LOAD,        0, 16, 4)     \
  X(0x01, v128_load8x8_s,         "v128.load8x8_s",         IW_SIMD_LOAD_EXTEND, 0,  8, 3)     \
  X(0x02, v128_load8x8_u,         "v128.load8x8_u",         IW_SIMD_LOAD_EXTEND, 0,  8, 3)     \
  X(0x03, v128_load16x4_s,        "v128.load16x4_s",        IW_SIMD_LOAD_EXTEND, 0,  8, 3)     \
  X(0x04, v128_load16x4_u,        "v128.load16x4_u",        IW_SIMD_LOAD_EXTEND, 0,  8, 3)     \
  X(0x05, v128_load32x2_s,        "v128.load32x2_s",        IW_SIMD_LOAD_EXTEND, 0,  8, 3)     \
  X(0x06, v128_load32x2_u,        "v128.load32x2_u",        IW_SIMD_LOAD_EXTEND, 0,  8, 3)     \
  X(0x07, v128_load8_splat,       "v128.load8_splat",       IW_SIMD_LOAD_SPLAT,  0,  1, 0)     \
  X(0x08, v128_load16_splat,      "v128.load16_splat",      IW_SIMD_LOAD_SPLAT,  0,  2, 1)     \
  X(0x09, v128_load32_splat,      "v128.load32_splat",      IW_SIMD_LOAD_SPLAT,  0,  4, 2)     \
  X(0x0a, v128_load64_splat,      "v128.load64_splat",      IW_SIMD_LOAD_SPLAT,  0,  8, 3)     \
  X(0x0b, v128_store,             "v128.store",             IW_SIMD_STORE,       0, 16, 4)     \
  X(0x0c, v128_const,             "v128.const",             IW_SIMD_CONST,       0,  0, 0)     \
  X(0x0d, i8x16_shuffle,          "i8x16.shuffle",          IW_SIMD_SHUFFLE,    32,  0, 0)     \
  X(0x0e, i8x16_swizzle,          "i8x16.swizzle",          IW_SIMD_BIN,         0,  0, 0)     \
  X(0x0f, i8x16_splat,            "i8x16.splat",            IW_SIMD_SPLAT_I32,   0,  0, 0)     \
  X(0x10, i16x8_splat,            "i16x8.splat",            IW_SIMD_SPLAT_I32,   0,  0, 0)     \
  X(0x11, i32x4_splat,            "i32x4.splat",            IW_SIMD_SPLAT_I32,   0,  0, 0)     \
  X(0x12, i64x2_splat,            "i64x2.splat",            IW_SIMD_SPLAT_I64,   0,  0, 0)     \
  X(0x13, f32x4_splat,            "f32x4.splat",            IW_SIMD_SPLAT_F32,   0,  0, 0)     \
  X(0x14, f64x2_splat,            "f64x2.splat",            IW_SIMD_SPLAT_F64,   0,  0, 0)     \
  X(0x15, i8x16_extract_lane_s,   "i8x16.extract_lane_s",   IW_SIMD_EXTRACT_I32,16,  0, 0)     \
  X(0x16, i8x16_extract_lane_u,   "i8x16.extract_lane_u",   IW_SIMD_EXTRACT_I32,16,  0, 0)     \
  X(0x17, i8x16_replace_lane,     "i8x16.replace_lane",     IW_SIMD_REPLACE_I32,16,  0, 0)     \
  X(0x18, i16x8_extract_lane_s,   "i16x8.extract_lane_s",   IW_SIMD_EXTRACT_I32, 8,  0, 0)     \
  X(0x19, i16x8_extract_lane_u,   "i16x8.extract_lane_u",   IW_SIMD_EXTRACT_I32, 8,  0, 0)     \
  X(0x1a, i16x8_replace_lane,     "i16x8.replace_lane",     IW_SIMD_REPLACE_I32, 8,  0, 0)     \
  X(0x1b, i32x4_extract_lane,     "i32x4.extract_lane",     IW_SIMD_EXTRACT_I32, 4,  0, 0)     \
  X(0x1c, i32x4_replace_lane,     "i32x4.replace_lane",     IW_SIMD_REPLACE_I32, 4,  0, 0)     \
  X(0x1d, i64x2_extract_lane,     "i64x2.extract_lane",     IW_SIMD_EXTRACT_I64, 2,  0, 0)     \
  X(0x1e, i64x2_replace_lane,     "i64x2.replace_lane",     IW_SIMD_REPLACE_I64, 2,  0, 0)     \
  X(0x1f, f32x4_extract_lane,     "f32x4.extract_lane",     IW_SIMD_EXTRACT_F32, 4,  0, 0)     \
  X(0x20, f32x4_replace_lane,     "f32x4.replace_lane",     IW_SIMD_REPLACE_F32, 4,  0, 0)     \
  X(0x21, f64x2_extract_lane,     "f64x2.extract_lane",     IW_SIMD_EXTRACT_F64, 2,  0, 0)     \
  X(0x22, f64x2_replace_lane,     "f64x2.replace_lane",     IW_SIMD_REPLACE_F64, 2,  0, 0)     \
  /* ---- comparisons (0x23-0x4c) ---- */                                                      \
  X(0x23, i8x16_eq,               "i8x16.eq",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x24, i8x16_ne,               "i8x16.ne",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x25, i8x16_lt_s,             "i8x16.lt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x26, i8x16_lt_u,             "i8x16.lt_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x27, i8x16_gt_s,             "i8x16.gt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x28, i8x16_gt_u,             "i8x16.gt_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x29, i8x16_le_s,             "i8x16.le_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x2a, i8x16_le_u,             "i8x16.le_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x2b, i8x16_ge_s,             "i8x16.ge_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x2c, i8x16_ge_u,             "i8x16.ge_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x2d, i16x8_eq,               "i16x8.eq",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x2e, i16x8_ne,               "i16x8.ne",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x2f, i16x8_lt_s,             "i16x8.lt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x30, i16x8_lt_u,             "i16x8.lt_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x31, i16x8_gt_s,             "i16x8.gt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x32, i16x8_gt_u,             "i16x8.gt_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x33, i16x8_le_s,             "i16x8.le_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x34, i16x8_le_u,             "i16x8.le_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x35, i16x8_ge_s,             "i16x8.ge_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x36, i16x8_ge_u,             "i16x8.ge_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x37, i32x4_eq,               "i32x4.eq",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x38, i32x4_ne,               "i32x4.ne",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x39, i32x4_lt_s,             "i32x4.lt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x3a, i32x4_lt_u,             "i32x4.lt_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x3b, i32x4_gt_s,             "i32x4.gt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x3c, i32x4_gt_u,             "i32x4.gt_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x3d, i32x4_le_s,             "i32x4.le_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x3e, i32x4_le_u,             "i32x4.le_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x3f, i32x4_ge_s,             "i32x4.ge_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x40, i32x4_ge_u,             "i32x4.ge_u",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0x41, f32x4_eq,               "f32x4.eq",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x42, f32x4_ne,               "f32x4.ne",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x43, f32x4_lt,               "f32x4.lt",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x44, f32x4_gt,               "f32x4.gt",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x45, f32x4_le,               "f32x4.le",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x46, f32x4_ge,               "f32x4.ge",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x47, f64x2_eq,               "f64x2.eq",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x48, f64x2_ne,               "f64x2.ne",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x49, f64x2_lt,               "f64x2.lt",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x4a, f64x2_gt,               "f64x2.gt",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x4b, f64x2_le,               "f64x2.le",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x4c, f64x2_ge,               "f64x2.ge",               IW_SIMD_BIN,         0,  0, 0)     \
  /* ---- bitwise (0x4d-0x53) ---- */                                                          \
  X(0x4d, v128_not,               "v128.not",               IW_SIMD_UN,          0,  0, 0)     \
  X(0x4e, v128_and,               "v128.and",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x4f, v128_andnot,            "v128.andnot",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x50, v128_or,                "v128.or",                IW_SIMD_BIN,         0,  0, 0)     \
  X(0x51, v128_xor,               "v128.xor",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0x52, v128_bitselect,         "v128.bitselect",         IW_SIMD_TERN,        0,  0, 0)     \
  X(0x53, v128_any_true,          "v128.any_true",          IW_SIMD_TEST,        0,  0, 0)     \
  /* ---- lane loads/stores, zero loads (0x54-0x5d) ---- */                                    \
  X(0x54, v128_load8_lane,        "v128.load8_lane",        IW_SIMD_LOAD_LANE,  16,  1, 0)     \
  X(0x55, v128_load16_lane,       "v128.load16_lane",       IW_SIMD_LOAD_LANE,   8,  2, 1)     \
  X(0x56, v128_load32_lane,       "v128.load32_lane",       IW_SIMD_LOAD_LANE,   4,  4, 2)     \
  X(0x57, v128_load64_lane,       "v128.load64_lane",       IW_SIMD_LOAD_LANE,   2,  8, 3)     \
  X(0x58, v128_store8_lane,       "v128.store8_lane",       IW_SIMD_STORE_LANE, 16,  1, 0)     \
  X(0x59, v128_store16_lane,      "v128.store16_lane",      IW_SIMD_STORE_LANE,  8,  2, 1)     \
  X(0x5a, v128_store32_lane,      "v128.store32_lane",      IW_SIMD_STORE_LANE,  4,  4, 2)     \
  X(0x5b, v128_store64_lane,      "v128.store64_lane",      IW_SIMD_STORE_LANE,  2,  8, 3)     \
  X(0x5c, v128_load32_zero,       "v128.load32_zero",       IW_SIMD_LOAD_ZERO,   0,  4, 2)     \
  X(0x5d, v128_load64_zero,       "v128.load64_zero",       IW_SIMD_LOAD_ZERO,   0,  8, 3)     \
  /* ---- 0x5e-0x7f: conversions, i8x16 ops, rounding, extadd ---- */                          \
  X(0x5e, f32x4_demote_f64x2_zero, "f32x4.demote_f64x2_zero", IW_SIMD_UN,      0,  0, 0)     \
  X(0x5f, f64x2_promote_low_f32x4, "f64x2.promote_low_f32x4", IW_SIMD_UN,      0,  0, 0)     \
  X(0x60, i8x16_abs,              "i8x16.abs",              IW_SIMD_UN,          0,  0, 0)     \
  X(0x61, i8x16_neg,              "i8x16.neg",              IW_SIMD_UN,          0,  0, 0)     \
  X(0x62, i8x16_popcnt,           "i8x16.popcnt",           IW_SIMD_UN,          0,  0, 0)     \
  X(0x63, i8x16_all_true,         "i8x16.all_true",         IW_SIMD_TEST,        0,  0, 0)     \
  X(0x64, i8x16_bitmask,          "i8x16.bitmask",          IW_SIMD_TEST,        0,  0, 0)     \
  X(0x65, i8x16_narrow_i16x8_s,   "i8x16.narrow_i16x8_s",   IW_SIMD_BIN,         0,  0, 0)     \
  X(0x66, i8x16_narrow_i16x8_u,   "i8x16.narrow_i16x8_u",   IW_SIMD_BIN,         0,  0, 0)     \
  X(0x67, f32x4_ceil,             "f32x4.ceil",             IW_SIMD_UN,          0,  0, 0)     \
  X(0x68, f32x4_floor,            "f32x4.floor",            IW_SIMD_UN,          0,  0, 0)     \
  X(0x69, f32x4_trunc,            "f32x4.trunc",            IW_SIMD_UN,          0,  0, 0)     \
  X(0x6a, f32x4_nearest,          "f32x4.nearest",          IW_SIMD_UN,          0,  0, 0)     \
  X(0x6b, i8x16_shl,              "i8x16.shl",              IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0x6c, i8x16_shr_s,            "i8x16.shr_s",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0x6d, i8x16_shr_u,            "i8x16.shr_u",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0x6e, i8x16_add,              "i8x16.add",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0x6f, i8x16_add_sat_s,        "i8x16.add_sat_s",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x70, i8x16_add_sat_u,        "i8x16.add_sat_u",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x71, i8x16_sub,              "i8x16.sub",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0x72, i8x16_sub_sat_s,        "i8x16.sub_sat_s",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x73, i8x16_sub_sat_u,        "i8x16.sub_sat_u",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x74, f64x2_ceil,             "f64x2.ceil",             IW_SIMD_UN,          0,  0, 0)     \
  X(0x75, f64x2_floor,            "f64x2.floor",            IW_SIMD_UN,          0,  0, 0)     \
  X(0x76, i8x16_min_s,            "i8x16.min_s",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x77, i8x16_min_u,            "i8x16.min_u",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x78, i8x16_max_s,            "i8x16.max_s",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x79, i8x16_max_u,            "i8x16.max_u",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x7a, f64x2_trunc,            "f64x2.trunc",            IW_SIMD_UN,          0,  0, 0)     \
  X(0x7b, i8x16_avgr_u,           "i8x16.avgr_u",           IW_SIMD_BIN,         0,  0, 0)     \
  X(0x7c, i16x8_extadd_pairwise_i8x16_s, "i16x8.extadd_pairwise_i8x16_s", IW_SIMD_UN, 0, 0, 0) \
  X(0x7d, i16x8_extadd_pairwise_i8x16_u, "i16x8.extadd_pairwise_i8x16_u", IW_SIMD_UN, 0, 0, 0) \
  X(0x7e, i32x4_extadd_pairwise_i16x8_s, "i32x4.extadd_pairwise_i16x8_s", IW_SIMD_UN, 0, 0, 0) \
  X(0x7f, i32x4_extadd_pairwise_i16x8_u, "i32x4.extadd_pairwise_i16x8_u", IW_SIMD_UN, 0, 0, 0) \
  /* ---- i16x8 (0x80-0x9f; 0x9a unassigned) ---- */                                           \
  X(0x80, i16x8_abs,              "i16x8.abs",              IW_SIMD_UN,          0,  0, 0)     \
  X(0x81, i16x8_neg,              "i16x8.neg",              IW_SIMD_UN,          0,  0, 0)     \
  X(0x82, i16x8_q15mulr_sat_s,    "i16x8.q15mulr_sat_s",    IW_SIMD_BIN,         0,  0, 0)     \
  X(0x83, i16x8_all_true,         "i16x8.all_true",         IW_SIMD_TEST,        0,  0, 0)     \
  X(0x84, i16x8_bitmask,          "i16x8.bitmask",          IW_SIMD_TEST,        0,  0, 0)     \
  X(0x85, i16x8_narrow_i32x4_s,   "i16x8.narrow_i32x4_s",   IW_SIMD_BIN,         0,  0, 0)     \
  X(0x86, i16x8_narrow_i32x4_u,   "i16x8.narrow_i32x4_u",   IW_SIMD_BIN,         0,  0, 0)     \
  X(0x87, i16x8_extend_low_i8x16_s,  "i16x8.extend_low_i8x16_s",  IW_SIMD_UN,    0,  0, 0)     \
  X(0x88, i16x8_extend_high_i8x16_s, "i16x8.extend_high_i8x16_s", IW_SIMD_UN,    0,  0, 0)     \
  X(0x89, i16x8_extend_low_i8x16_u,  "i16x8.extend_low_i8x16_u",  IW_SIMD_UN,    0,  0, 0)     \
  X(0x8a, i16x8_extend_high_i8x16_u, "i16x8.extend_high_i8x16_u", IW_SIMD_UN,    0,  0, 0)     \
  X(0x8b, i16x8_shl,              "i16x8.shl",              IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0x8c, i16x8_shr_s,            "i16x8.shr_s",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0x8d, i16x8_shr_u,            "i16x8.shr_u",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0x8e, i16x8_add,              "i16x8.add",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0x8f, i16x8_add_sat_s,        "i16x8.add_sat_s",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x90, i16x8_add_sat_u,        "i16x8.add_sat_u",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x91, i16x8_sub,              "i16x8.sub",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0x92, i16x8_sub_sat_s,        "i16x8.sub_sat_s",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x93, i16x8_sub_sat_u,        "i16x8.sub_sat_u",        IW_SIMD_BIN,         0,  0, 0)     \
  X(0x94, f64x2_nearest,          "f64x2.nearest",          IW_SIMD_UN,          0,  0, 0)     \
  X(0x95, i16x8_mul,              "i16x8.mul",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0x96, i16x8_min_s,            "i16x8.min_s",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x97, i16x8_min_u,            "i16x8.min_u",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x98, i16x8_max_s,            "i16x8.max_s",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x99, i16x8_max_u,            "i16x8.max_u",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0x9b, i16x8_avgr_u,           "i16x8.avgr_u",           IW_SIMD_BIN,         0,  0, 0)     \
  X(0x9c, i16x8_extmul_low_i8x16_s,  "i16x8.extmul_low_i8x16_s",  IW_SIMD_BIN,   0,  0, 0)     \
  X(0x9d, i16x8_extmul_high_i8x16_s, "i16x8.extmul_high_i8x16_s", IW_SIMD_BIN,   0,  0, 0)     \
  X(0x9e, i16x8_extmul_low_i8x16_u,  "i16x8.extmul_low_i8x16_u",  IW_SIMD_BIN,   0,  0, 0)     \
  X(0x9f, i16x8_extmul_high_i8x16_u, "i16x8.extmul_high_i8x16_u", IW_SIMD_BIN,   0,  0, 0)     \
  /* ---- i32x4 (0xa0-0xbf; 0xa2 0xa5 0xa6 0xaf 0xb0 0xb2-0xb4 0xbb unassigned) ---- */        \
  X(0xa0, i32x4_abs,              "i32x4.abs",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xa1, i32x4_neg,              "i32x4.neg",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xa3, i32x4_all_true,         "i32x4.all_true",         IW_SIMD_TEST,        0,  0, 0)     \
  X(0xa4, i32x4_bitmask,          "i32x4.bitmask",          IW_SIMD_TEST,        0,  0, 0)     \
  X(0xa7, i32x4_extend_low_i16x8_s,  "i32x4.extend_low_i16x8_s",  IW_SIMD_UN,    0,  0, 0)     \
  X(0xa8, i32x4_extend_high_i16x8_s, "i32x4.extend_high_i16x8_s", IW_SIMD_UN,    0,  0, 0)     \
  X(0xa9, i32x4_extend_low_i16x8_u,  "i32x4.extend_low_i16x8_u",  IW_SIMD_UN,    0,  0, 0)     \
  X(0xaa, i32x4_extend_high_i16x8_u, "i32x4.extend_high_i16x8_u", IW_SIMD_UN,    0,  0, 0)     \
  X(0xab, i32x4_shl,              "i32x4.shl",              IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0xac, i32x4_shr_s,            "i32x4.shr_s",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0xad, i32x4_shr_u,            "i32x4.shr_u",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0xae, i32x4_add,              "i32x4.add",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xb1, i32x4_sub,              "i32x4.sub",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xb5, i32x4_mul,              "i32x4.mul",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xb6, i32x4_min_s,            "i32x4.min_s",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0xb7, i32x4_min_u,            "i32x4.min_u",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0xb8, i32x4_max_s,            "i32x4.max_s",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0xb9, i32x4_max_u,            "i32x4.max_u",            IW_SIMD_BIN,         0,  0, 0)     \
  X(0xba, i32x4_dot_i16x8_s,      "i32x4.dot_i16x8_s",      IW_SIMD_BIN,         0,  0, 0)     \
  X(0xbc, i32x4_extmul_low_i16x8_s,  "i32x4.extmul_low_i16x8_s",  IW_SIMD_BIN,   0,  0, 0)     \
  X(0xbd, i32x4_extmul_high_i16x8_s, "i32x4.extmul_high_i16x8_s", IW_SIMD_BIN,   0,  0, 0)     \
  X(0xbe, i32x4_extmul_low_i16x8_u,  "i32x4.extmul_low_i16x8_u",  IW_SIMD_BIN,   0,  0, 0)     \
  X(0xbf, i32x4_extmul_high_i16x8_u, "i32x4.extmul_high_i16x8_u", IW_SIMD_BIN,   0,  0, 0)     \
  /* ---- i64x2 (0xc0-0xdf; 0xc2 0xc5 0xc6 0xcf 0xd0 0xd2-0xd4 unassigned) ---- */             \
  X(0xc0, i64x2_abs,              "i64x2.abs",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xc1, i64x2_neg,              "i64x2.neg",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xc3, i64x2_all_true,         "i64x2.all_true",         IW_SIMD_TEST,        0,  0, 0)     \
  X(0xc4, i64x2_bitmask,          "i64x2.bitmask",          IW_SIMD_TEST,        0,  0, 0)     \
  X(0xc7, i64x2_extend_low_i32x4_s,  "i64x2.extend_low_i32x4_s",  IW_SIMD_UN,    0,  0, 0)     \
  X(0xc8, i64x2_extend_high_i32x4_s, "i64x2.extend_high_i32x4_s", IW_SIMD_UN,    0,  0, 0)     \
  X(0xc9, i64x2_extend_low_i32x4_u,  "i64x2.extend_low_i32x4_u",  IW_SIMD_UN,    0,  0, 0)     \
  X(0xca, i64x2_extend_high_i32x4_u, "i64x2.extend_high_i32x4_u", IW_SIMD_UN,    0,  0, 0)     \
  X(0xcb, i64x2_shl,              "i64x2.shl",              IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0xcc, i64x2_shr_s,            "i64x2.shr_s",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0xcd, i64x2_shr_u,            "i64x2.shr_u",            IW_SIMD_SHIFT,       0,  0, 0)     \
  X(0xce, i64x2_add,              "i64x2.add",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xd1, i64x2_sub,              "i64x2.sub",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xd5, i64x2_mul,              "i64x2.mul",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xd6, i64x2_eq,               "i64x2.eq",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0xd7, i64x2_ne,               "i64x2.ne",               IW_SIMD_BIN,         0,  0, 0)     \
  X(0xd8, i64x2_lt_s,             "i64x2.lt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xd9, i64x2_gt_s,             "i64x2.gt_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xda, i64x2_le_s,             "i64x2.le_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xdb, i64x2_ge_s,             "i64x2.ge_s",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xdc, i64x2_extmul_low_i32x4_s,  "i64x2.extmul_low_i32x4_s",  IW_SIMD_BIN,   0,  0, 0)     \
  X(0xdd, i64x2_extmul_high_i32x4_s, "i64x2.extmul_high_i32x4_s", IW_SIMD_BIN,   0,  0, 0)     \
  X(0xde, i64x2_extmul_low_i32x4_u,  "i64x2.extmul_low_i32x4_u",  IW_SIMD_BIN,   0,  0, 0)     \
  X(0xdf, i64x2_extmul_high_i32x4_u, "i64x2.extmul_high_i32x4_u", IW_SIMD_BIN,   0,  0, 0)     \
  /* ---- f32x4 / f64x2 arithmetic (0xe0-0xf7; 0xe2 0xee unassigned) ---- */                   \
  X(0xe0, f32x4_abs,              "f32x4.abs",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xe1, f32x4_neg,              "f32x4.neg",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xe3, f32x4_sqrt,             "f32x4.sqrt",             IW_SIMD_UN,          0,  0, 0)     \
  X(0xe4, f32x4_add,              "f32x4.add",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xe5, f32x4_sub,              "f32x4.sub",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xe6, f32x4_mul,              "f32x4.mul",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xe7, f32x4_div,              "f32x4.div",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xe8, f32x4_min,              "f32x4.min",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xe9, f32x4_max,              "f32x4.max",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xea, f32x4_pmin,             "f32x4.pmin",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xeb, f32x4_pmax,             "f32x4.pmax",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xec, f64x2_abs,              "f64x2.abs",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xed, f64x2_neg,              "f64x2.neg",              IW_SIMD_UN,          0,  0, 0)     \
  X(0xef, f64x2_sqrt,             "f64x2.sqrt",             IW_SIMD_UN,          0,  0, 0)     \
  X(0xf0, f64x2_add,              "f64x2.add",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf1, f64x2_sub,              "f64x2.sub",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf2, f64x2_mul,              "f64x2.mul",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf3, f64x2_div,              "f64x2.div",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf4, f64x2_min,              "f64x2.min",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf5, f64x2_max,              "f64x2.max",              IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf6, f64x2_pmin,             "f64x2.pmin",             IW_SIMD_BIN,         0,  0, 0)     \
  X(0xf7, f64x2_pmax,             "f64x2.pmax",             IW_SIMD_BIN,         0,  0, 0)     \
  /* ---- int/float conversions (0xf8-0xff; sub-opcodes >= 0x80 take 2 LEB bytes) ---- */     \
  X(0xf8, i32x4_trunc_sat_f32x4_s,      "i32x4.trunc_sat_f32x4_s",      IW_SIMD_UN, 0, 0, 0)   \
  X(0xf9, i32x4_trunc_sat_f32x4_u,      "i32x4.trunc_sat_f32x4_u",      IW_SIMD_UN, 0, 0, 0)   \
  X(0xfa, f32x4_convert_i32x4_s,        "f32x4.convert_i32x4_s",        IW_SIMD_UN, 0, 0, 0)   \
  X(0xfb, f32x4_convert_i32x4_u,        "f32x4.convert_i32x4_u",        IW_SIMD_UN, 0, 0, 0)   \
  X(0xfc, i32x4_trunc_sat_f64x2_s_zero, "i32x4.trunc_sat_f64x2_s_zero", IW_SIMD_UN, 0, 0, 0)   \
  X(0xfd, i32x4_trunc_sat_f64x2_u_zero, "i32x4.trunc_sat_f64x2_u_zero", IW_SIMD_UN, 0, 0, 0)   \
  X(0xfe, f64x2_convert_low_i32x4_s,    "f64x2.convert_low_i32x4_s",    IW_SIMD_UN, 0, 0, 0)   \
  X(0xff, f64x2_convert_low_i32x4_u,    "f64x2.convert_low_i32x4_u",    IW_SIMD_UN, 0, 0, 0)
/* clang-format on */

/* The SHAPE tokens are also enumerators, so a generated table can store SHAPE as a value
 * (e.g. `{OP, SHAPE, LANES, MEMSIZE, ALIGN}`) and switch on it; they can equally be pasted
 * (SHAPE##_FN is the function-pointer typedef of that shape in simd_ops.h). */
enum iw_simd_shape {
  IW_SIMD_CONST,
  IW_SIMD_SHUFFLE,
  IW_SIMD_UN,
  IW_SIMD_BIN,
  IW_SIMD_TERN,
  IW_SIMD_SHIFT,
  IW_SIMD_TEST,
  IW_SIMD_SPLAT_I32,
  IW_SIMD_SPLAT_I64,
  IW_SIMD_SPLAT_F32,
  IW_SIMD_SPLAT_F64,
  IW_SIMD_EXTRACT_I32,
  IW_SIMD_EXTRACT_I64,
  IW_SIMD_EXTRACT_F32,
  IW_SIMD_EXTRACT_F64,
  IW_SIMD_REPLACE_I32,
  IW_SIMD_REPLACE_I64,
  IW_SIMD_REPLACE_F32,
  IW_SIMD_REPLACE_F64,
  IW_SIMD_LOAD,
  IW_SIMD_LOAD_EXTEND,
  IW_SIMD_LOAD_SPLAT,
  IW_SIMD_LOAD_ZERO,
  IW_SIMD_LOAD_LANE,
  IW_SIMD_STORE,
  IW_SIMD_STORE_LANE,
  IW_SIMD_SHAPE_COUNT
};

/* Number of entries in IW_SIMD_OPS, and one past the largest sub-opcode (for dense tables
 * indexed by sub-opcode: any index < IW_SIMD_OP_LIMIT not in the table is illegal). */
#define IW_SIMD_OP_COUNT 236
#define IW_SIMD_OP_LIMIT 0x100

#endif /* ISOLA_WASM_SIMD_TABLE_H */
