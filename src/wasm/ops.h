/* The internal instruction set that compile.c emits and interp.c executes (format: interp.c's
 * opening comment). One X-macro list, so that numbering, operand counts and handlers agree.
 *
 * Numeric operations are listed with their semantics as C expressions over `a` and `b`, typed
 * by the tags I32 (uint32_t), I64 (uint64_t), F32 (float), F64 (double); trapping ones use
 * helpers from numeric.h that report the trap through `TRAP(kind)`.
 */
#ifndef ISOLA_WASM_OPS_H
#define ISOLA_WASM_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "wasm/simd_table.h"

/* clang-format off */
/* Binary: X(wasm opcode, name, operand type, result type, expression) */
#define IW_BINOPS_INT(X) \
  X(0x46, i32_eq,   I32, I32, a == b) \
  X(0x47, i32_ne,   I32, I32, a != b) \
  X(0x48, i32_lt_s, I32, I32, (int32_t)a < (int32_t)b) \
  X(0x49, i32_lt_u, I32, I32, a < b) \
  X(0x4a, i32_gt_s, I32, I32, (int32_t)a > (int32_t)b) \
  X(0x4b, i32_gt_u, I32, I32, a > b) \
  X(0x4c, i32_le_s, I32, I32, (int32_t)a <= (int32_t)b) \
  X(0x4d, i32_le_u, I32, I32, a <= b) \
  X(0x4e, i32_ge_s, I32, I32, (int32_t)a >= (int32_t)b) \
  X(0x4f, i32_ge_u, I32, I32, a >= b) \
  X(0x51, i64_eq,   I64, I32, a == b) \
  X(0x52, i64_ne,   I64, I32, a != b) \
  X(0x53, i64_lt_s, I64, I32, (int64_t)a < (int64_t)b) \
  X(0x54, i64_lt_u, I64, I32, a < b) \
  X(0x55, i64_gt_s, I64, I32, (int64_t)a > (int64_t)b) \
  X(0x56, i64_gt_u, I64, I32, a > b) \
  X(0x57, i64_le_s, I64, I32, (int64_t)a <= (int64_t)b) \
  X(0x58, i64_le_u, I64, I32, a <= b) \
  X(0x59, i64_ge_s, I64, I32, (int64_t)a >= (int64_t)b) \
  X(0x5a, i64_ge_u, I64, I32, a >= b) \
  X(0x6a, i32_add,  I32, I32, a + b) \
  X(0x6b, i32_sub,  I32, I32, a - b) \
  X(0x6c, i32_mul,  I32, I32, a * b) \
  X(0x6d, i32_div_s, I32, I32, DIV_S32(a, b)) \
  X(0x6e, i32_div_u, I32, I32, DIV_U32(a, b)) \
  X(0x6f, i32_rem_s, I32, I32, REM_S32(a, b)) \
  X(0x70, i32_rem_u, I32, I32, REM_U32(a, b)) \
  X(0x71, i32_and,  I32, I32, a & b) \
  X(0x72, i32_or,   I32, I32, a | b) \
  X(0x73, i32_xor,  I32, I32, a ^ b) \
  X(0x74, i32_shl,  I32, I32, a << (b & 31)) \
  X(0x75, i32_shr_s, I32, I32, (uint32_t)((int32_t)a >> (b & 31))) \
  X(0x76, i32_shr_u, I32, I32, a >> (b & 31)) \
  X(0x77, i32_rotl, I32, I32, (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31))) \
  X(0x78, i32_rotr, I32, I32, (a >> (b & 31)) | (a << ((32 - (b & 31)) & 31))) \
  X(0x7c, i64_add,  I64, I64, a + b) \
  X(0x7d, i64_sub,  I64, I64, a - b) \
  X(0x7e, i64_mul,  I64, I64, a * b) \
  X(0x7f, i64_div_s, I64, I64, DIV_S64(a, b)) \
  X(0x80, i64_div_u, I64, I64, DIV_U64(a, b)) \
  X(0x81, i64_rem_s, I64, I64, REM_S64(a, b)) \
  X(0x82, i64_rem_u, I64, I64, REM_U64(a, b)) \
  X(0x83, i64_and,  I64, I64, a & b) \
  X(0x84, i64_or,   I64, I64, a | b) \
  X(0x85, i64_xor,  I64, I64, a ^ b) \
  X(0x86, i64_shl,  I64, I64, a << (b & 63)) \
  X(0x87, i64_shr_s, I64, I64, (uint64_t)((int64_t)a >> (b & 63))) \
  X(0x88, i64_shr_u, I64, I64, a >> (b & 63)) \
  X(0x89, i64_rotl, I64, I64, (a << (b & 63)) | (a >> ((64 - (b & 63)) & 63))) \
  X(0x8a, i64_rotr, I64, I64, (a >> (b & 63)) | (a << ((64 - (b & 63)) & 63)))

#define IW_BINOPS_FLOAT(X) \
  X(0x5b, f32_eq, F32, I32, a == b) \
  X(0x5c, f32_ne, F32, I32, a != b) \
  X(0x5d, f32_lt, F32, I32, a < b) \
  X(0x5e, f32_gt, F32, I32, a > b) \
  X(0x5f, f32_le, F32, I32, a <= b) \
  X(0x60, f32_ge, F32, I32, a >= b) \
  X(0x61, f64_eq, F64, I32, a == b) \
  X(0x62, f64_ne, F64, I32, a != b) \
  X(0x63, f64_lt, F64, I32, a < b) \
  X(0x64, f64_gt, F64, I32, a > b) \
  X(0x65, f64_le, F64, I32, a <= b) \
  X(0x66, f64_ge, F64, I32, a >= b) \
  X(0x92, f32_add, F32, F32, a + b) \
  X(0x93, f32_sub, F32, F32, a - b) \
  X(0x94, f32_mul, F32, F32, a * b) \
  X(0x95, f32_div, F32, F32, a / b) \
  X(0x96, f32_min, F32, F32, iw_fmin32(a, b)) \
  X(0x97, f32_max, F32, F32, iw_fmax32(a, b)) \
  X(0x98, f32_copysign, F32, F32, __builtin_copysignf(a, b)) \
  X(0xa0, f64_add, F64, F64, a + b) \
  X(0xa1, f64_sub, F64, F64, a - b) \
  X(0xa2, f64_mul, F64, F64, a * b) \
  X(0xa3, f64_div, F64, F64, a / b) \
  X(0xa4, f64_min, F64, F64, iw_fmin64(a, b)) \
  X(0xa5, f64_max, F64, F64, iw_fmax64(a, b)) \
  X(0xa6, f64_copysign, F64, F64, __builtin_copysign(a, b))

/* Rounding must return a quiet NaN for a signalling one; libm may keep the payload as is. */
#define IW_QNAN(a, e) ((a) != (a) ? (a) + (a) : (e))

/* Unary: X(wasm opcode (0x100 + n for 0xfc n), name, operand type, result type, expression) */
#define IW_UNOPS(X) \
  X(0x45, i32_eqz, I32, I32, a == 0) \
  X(0x50, i64_eqz, I64, I32, a == 0) \
  X(0x67, i32_clz, I32, I32, a ? (uint32_t)__builtin_clz(a) : 32u) \
  X(0x68, i32_ctz, I32, I32, a ? (uint32_t)__builtin_ctz(a) : 32u) \
  X(0x69, i32_popcnt, I32, I32, (uint32_t)__builtin_popcount(a)) \
  X(0x79, i64_clz, I64, I64, a ? (uint64_t)__builtin_clzll(a) : 64u) \
  X(0x7a, i64_ctz, I64, I64, a ? (uint64_t)__builtin_ctzll(a) : 64u) \
  X(0x7b, i64_popcnt, I64, I64, (uint64_t)__builtin_popcountll(a)) \
  X(0x8b, f32_abs, F32, F32, __builtin_fabsf(a)) \
  X(0x8c, f32_neg, F32, F32, -a) \
  X(0x8d, f32_ceil, F32, F32, IW_QNAN(a, __builtin_ceilf(a))) \
  X(0x8e, f32_floor, F32, F32, IW_QNAN(a, __builtin_floorf(a))) \
  X(0x8f, f32_trunc, F32, F32, IW_QNAN(a, __builtin_truncf(a))) \
  X(0x90, f32_nearest, F32, F32, IW_QNAN(a, __builtin_rintf(a))) \
  X(0x91, f32_sqrt, F32, F32, __builtin_sqrtf(a)) \
  X(0x99, f64_abs, F64, F64, __builtin_fabs(a)) \
  X(0x9a, f64_neg, F64, F64, -a) \
  X(0x9b, f64_ceil, F64, F64, IW_QNAN(a, __builtin_ceil(a))) \
  X(0x9c, f64_floor, F64, F64, IW_QNAN(a, __builtin_floor(a))) \
  X(0x9d, f64_trunc, F64, F64, IW_QNAN(a, __builtin_trunc(a))) \
  X(0x9e, f64_nearest, F64, F64, IW_QNAN(a, __builtin_rint(a))) \
  X(0x9f, f64_sqrt, F64, F64, __builtin_sqrt(a)) \
  X(0xa7, i32_wrap_i64, I64, I32, (uint32_t)a) \
  X(0xa8, i32_trunc_f32_s, F32, I32, TRUNC(i32_f32_s, a)) \
  X(0xa9, i32_trunc_f32_u, F32, I32, TRUNC(u32_f32, a)) \
  X(0xaa, i32_trunc_f64_s, F64, I32, TRUNC(i32_f64_s, a)) \
  X(0xab, i32_trunc_f64_u, F64, I32, TRUNC(u32_f64, a)) \
  X(0xac, i64_extend_i32_s, I32, I64, (uint64_t)(int64_t)(int32_t)a) \
  X(0xad, i64_extend_i32_u, I32, I64, (uint64_t)a) \
  X(0xae, i64_trunc_f32_s, F32, I64, TRUNC(i64_f32_s, a)) \
  X(0xaf, i64_trunc_f32_u, F32, I64, TRUNC(u64_f32, a)) \
  X(0xb0, i64_trunc_f64_s, F64, I64, TRUNC(i64_f64_s, a)) \
  X(0xb1, i64_trunc_f64_u, F64, I64, TRUNC(u64_f64, a)) \
  X(0xb2, f32_convert_i32_s, I32, F32, (float)(int32_t)a) \
  X(0xb3, f32_convert_i32_u, I32, F32, (float)a) \
  X(0xb4, f32_convert_i64_s, I64, F32, (float)(int64_t)a) \
  X(0xb5, f32_convert_i64_u, I64, F32, (float)a) \
  X(0xb6, f32_demote_f64, F64, F32, (float)a) \
  X(0xb7, f64_convert_i32_s, I32, F64, (double)(int32_t)a) \
  X(0xb8, f64_convert_i32_u, I32, F64, (double)a) \
  X(0xb9, f64_convert_i64_s, I64, F64, (double)(int64_t)a) \
  X(0xba, f64_convert_i64_u, I64, F64, (double)a) \
  X(0xbb, f64_promote_f32, F32, F64, (double)a) \
  X(0xc0, i32_extend8_s, I32, I32, (uint32_t)(int32_t)(int8_t)a) \
  X(0xc1, i32_extend16_s, I32, I32, (uint32_t)(int32_t)(int16_t)a) \
  X(0xc2, i64_extend8_s, I64, I64, (uint64_t)(int64_t)(int8_t)a) \
  X(0xc3, i64_extend16_s, I64, I64, (uint64_t)(int64_t)(int16_t)a) \
  X(0xc4, i64_extend32_s, I64, I64, (uint64_t)(int64_t)(int32_t)a) \
  X(0x100, i32_trunc_sat_f32_s, F32, I32, iw_sat_i32_f32_s(a)) \
  X(0x101, i32_trunc_sat_f32_u, F32, I32, iw_sat_u32_f32(a)) \
  X(0x102, i32_trunc_sat_f64_s, F64, I32, iw_sat_i32_f64_s(a)) \
  X(0x103, i32_trunc_sat_f64_u, F64, I32, iw_sat_u32_f64(a)) \
  X(0x104, i64_trunc_sat_f32_s, F32, I64, iw_sat_i64_f32_s(a)) \
  X(0x105, i64_trunc_sat_f32_u, F32, I64, iw_sat_u64_f32(a)) \
  X(0x106, i64_trunc_sat_f64_s, F64, I64, iw_sat_i64_f64_s(a)) \
  X(0x107, i64_trunc_sat_f64_u, F64, I64, iw_sat_u64_f64(a))

/* Loads and stores: X(wasm opcode, name, value type, C memory type) */
#define IW_LOADS(X) \
  X(0x28, i32_load, I32, uint32_t) \
  X(0x29, i64_load, I64, uint64_t) \
  X(0x2a, f32_load, I32, uint32_t) \
  X(0x2b, f64_load, I64, uint64_t) \
  X(0x2c, i32_load8_s, I32, int8_t) \
  X(0x2d, i32_load8_u, I32, uint8_t) \
  X(0x2e, i32_load16_s, I32, int16_t) \
  X(0x2f, i32_load16_u, I32, uint16_t) \
  X(0x30, i64_load8_s, I64, int8_t) \
  X(0x31, i64_load8_u, I64, uint8_t) \
  X(0x32, i64_load16_s, I64, int16_t) \
  X(0x33, i64_load16_u, I64, uint16_t) \
  X(0x34, i64_load32_s, I64, int32_t) \
  X(0x35, i64_load32_u, I64, uint32_t)
#define IW_STORES(X) \
  X(0x36, i32_store, I32, uint32_t) \
  X(0x37, i64_store, I64, uint64_t) \
  X(0x38, f32_store, I32, uint32_t) \
  X(0x39, f64_store, I64, uint64_t) \
  X(0x3a, i32_store8, I32, uint8_t) \
  X(0x3b, i32_store16, I32, uint16_t) \
  X(0x3c, i64_store8, I64, uint8_t) \
  X(0x3d, i64_store16, I64, uint16_t) \
  X(0x3e, i64_store32, I64, uint32_t)

/* Compare-and-branch fusions: X(name, C type, operator) for i32 and i64. */
#define IW_CMPS(X) \
  X(eq, uint, ==) X(ne, uint, !=) X(lt_s, int, <) X(lt_u, uint, <) X(gt_s, int, >) \
  X(gt_u, uint, >) X(le_s, int, <=) X(le_u, uint, <=) X(ge_s, int, >=) X(ge_u, uint, >=)

/* Every internal op: IW_OPX(name, operand words after the handler), where IW_OPX is defined by
 * the user of IW_OPS (the families below expand to it when IW_OPS is expanded). */
#define IW_X_BIN(OP, NAME, T, R, E) IW_OPX(NAME, 3)
#define IW_X_BINRI(OP, NAME, T, R, E) IW_OPX(NAME##_ri, 4)
#define IW_X_UN(OP, NAME, T, R, E) IW_OPX(NAME, 2)
#define IW_X_MEM(OP, NAME, T, M) \
  IW_OPX(NAME, 3) IW_OPX(NAME##_x, 3) IW_OPX(NAME##_ai, 4) IW_OPX(NAME##_ai_x, 4)
#define IW_X_CMPBR(NAME, CT, O) \
  IW_OPX(br_i32_##NAME, 3) IW_OPX(br_i32_##NAME##_ri, 3) IW_OPX(br_i64_##NAME, 3) \
  IW_OPX(br_i64_##NAME##_ri, 4) IW_OPX(br_i32_##NAME##_b, 3) IW_OPX(br_i32_##NAME##_ri_b, 3) \
  IW_OPX(br_i64_##NAME##_b, 3) IW_OPX(br_i64_##NAME##_ri_b, 4)
#define IW_X_SIMD(OP, NAME, TEXT, SHAPE, LANES, MEMSIZE, ALIGN) \
  IW_OPX(simd_##NAME, 4) IW_OPX(simd_##NAME##_x, 4)

#define IW_OPS \
  IW_OPX(exit, 0) IW_OPX(unreachable, 0) IW_OPX(trap, 1) \
  IW_OPX(br, 1) IW_OPX(br_b, 1) IW_OPX(br_nz, 2) IW_OPX(br_z, 2) IW_OPX(br_nz_b, 2) \
  IW_OPX(br_z_b, 2) IW_OPX(br_nz64, 2) IW_OPX(br_z64, 2) IW_OPX(br_nz64_b, 2) \
  IW_OPX(br_z64_b, 2) IW_OPX(br_table, 2) IW_OPX(call, 2) IW_OPX(call_indirect, 4) \
  IW_OPX(ret, 0) IW_OPX(mov, 2) IW_OPX(mov128, 2) IW_OPX(const32, 2) IW_OPX(const64, 3) \
  IW_OPX(const128, 5) IW_OPX(select, 4) IW_OPX(select128, 4) IW_OPX(global_get, 2) \
  IW_OPX(global_set, 2) IW_OPX(global_get128, 2) IW_OPX(global_set128, 2) \
  IW_OPX(memory_size, 1) IW_OPX(memory_grow, 2) IW_OPX(memory_init, 4) IW_OPX(data_drop, 1) \
  IW_OPX(memory_copy, 3) IW_OPX(memory_fill, 3) IW_OPX(table_get, 3) IW_OPX(table_set, 3) \
  IW_OPX(table_size, 2) IW_OPX(table_grow, 4) IW_OPX(table_fill, 4) IW_OPX(table_copy, 5) \
  IW_OPX(table_init, 5) IW_OPX(elem_drop, 1) IW_OPX(ref_func, 2) IW_OPX(ref_is_null, 2) \
  IW_BINOPS_INT(IW_X_BIN) IW_BINOPS_INT(IW_X_BINRI) IW_BINOPS_FLOAT(IW_X_BIN) \
  IW_UNOPS(IW_X_UN) IW_LOADS(IW_X_MEM) IW_STORES(IW_X_MEM) IW_CMPS(IW_X_CMPBR) \
  IW_SIMD_OPS(IW_X_SIMD)
/* clang-format on */

#define IW_OPX(NAME, N) OP_##NAME,
enum iw_op { IW_OPS OP_COUNT };
#undef IW_OPX

/* A compiled function. */
typedef struct iw_code {
  uint32_t param_bytes; /* params live at fp[0, param_bytes) */
  uint32_t local_bytes; /* declared locals at fp[param_bytes, +local_bytes), zeroed per call */
  uint32_t frame_bytes; /* everything the frame uses, operand temporaries included */
  uint32_t func_index;
  size_t len;
  uint8_t *ops; /* 8-byte aligned instructions */
} iw_code;

/* Layout of every SIMD instruction: words d, a, b, c, offset, lane (shuffle: 16 lane bytes
 * follow). */
#define IW_SIMD_WORDS 6

/* Bytes an instruction with n operand words takes: the handler, then 4-byte words, padded so
 * that every handler is 8-byte aligned. */
#define IW_INSN_SIZE(n) ((8u + 4u * (n) + 7u) & ~7u)

#endif
