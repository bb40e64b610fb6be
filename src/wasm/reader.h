/* A bounds-checked cursor over module bytes: every read takes the cursor and its end, and a
 * failure is reported as malformed with the byte offset through the decoding context.
 *
 * Promise: no read goes past `end`; LEB128 values are checked for overlong encodings and unused
 * bits exactly as the spec's binary format says. Also fast unchecked readers (`u_*`) for code
 * that has already been validated (compile.c).
 */
#ifndef ISOLA_WASM_READER_H
#define ISOLA_WASM_READER_H

#include <string.h>

#include "wasm/module.h"

typedef struct iw_rd {
  const uint8_t *p, *end;
  iw_dctx *c;
} iw_rd;

static inline int rd_u8(iw_rd *r, uint8_t *out) {
  *out = 0;
  if (r->p >= r->end) return iw_malformed(r->c, r->p, "unexpected end");
  *out = *r->p++;
  return 0;
}

/* Unsigned LEB128 of at most `bits` bits. */
static inline int rd_uleb(iw_rd *r, unsigned bits, uint64_t *out) {
  uint64_t v = 0;
  *out = 0;
  unsigned shift = 0;
  const uint8_t *start = r->p;
  for (;;) {
    if (r->p >= r->end) return iw_malformed(r->c, r->p, "unexpected end");
    uint8_t b = *r->p++;
    if (shift + 7 >= bits && shift < bits) {
      /* The last byte: the continuation bit must be clear and unused bits zero. */
      if (b & 0x80) return iw_malformed(r->c, start, "integer representation too long");
      if (bits - shift < 7 && (b >> (bits - shift)) != 0)
        return iw_malformed(r->c, start, "integer too large");
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  *out = v;
  return 0;
}

static inline int rd_u32(iw_rd *r, uint32_t *out) {
  uint64_t v = 0;
  *out = 0;
  if (rd_uleb(r, 32, &v) < 0) return -1;
  *out = (uint32_t)v;
  return 0;
}

/* Signed LEB128 of at most `bits` bits. */
static inline int rd_sleb(iw_rd *r, unsigned bits, int64_t *out) {
  uint64_t v = 0;
  *out = 0;
  unsigned shift = 0;
  const uint8_t *start = r->p;
  uint8_t b;
  for (;;) {
    if (r->p >= r->end) return iw_malformed(r->c, r->p, "unexpected end");
    b = *r->p++;
    if (shift + 7 >= bits) {
      if (b & 0x80) return iw_malformed(r->c, start, "integer representation too long");
      /* Unused bits must all equal the sign bit. */
      unsigned used = bits - shift; /* 1..7 bits of this byte are significant */
      int8_t sb = (int8_t)(b << 1) >> 1; /* sign-extend the 7 payload bits */
      int64_t hi = (int64_t)sb >> (used - 1);
      if (hi != 0 && hi != -1) return iw_malformed(r->c, start, "integer too large");
    }
    v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
    if (!(b & 0x80)) break;
  }
  if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
  *out = (int64_t)v;
  return 0;
}

static inline int rd_bytes(iw_rd *r, size_t n, const uint8_t **out) {
  *out = r->p;
  if ((size_t)(r->end - r->p) < n) return iw_malformed(r->c, r->p, "unexpected end");
  *out = r->p;
  r->p += n;
  return 0;
}

/* A vector count: each element takes at least one byte, so a count past the remaining bytes is
 * malformed before anything is allocated for it. */
static inline int rd_count(iw_rd *r, uint32_t *out) {
  if (rd_u32(r, out) < 0) return -1;
  if (*out > (size_t)(r->end - r->p)) {
    *out = 0; /* callers store counts straight into the module, which is then freed */
    return iw_malformed(r->c, r->p, "length out of bounds");
  }
  return 0;
}

/* ---- unchecked readers for validated code -------------------------------------------- */

static inline uint64_t u_uleb(const uint8_t **pp) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    b = *p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  *pp = p;
  return v;
}

static inline int64_t u_sleb(const uint8_t **pp) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  unsigned shift = 0;
  uint8_t b;
  do {
    b = *p++;
    if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
    shift += 7;
  } while (b & 0x80);
  if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
  *pp = p;
  return (int64_t)v;
}

static inline uint32_t u_u32(const uint8_t **pp) { return (uint32_t)u_uleb(pp); }

/* ---- one instruction, decoded (validate.c) ----------------------------------------------- */

typedef struct iw_ins {
  uint32_t op;       /* the opcode byte; 0xfc00 + n and 0xfd00 + n for the prefixed ones */
  const uint8_t *at; /* its first byte */
  uint32_t x, y;     /* indices (label, local, global, func, type, table, elem, data); memarg:
                        x = align exponent, y = offset */
  uint8_t lane;      /* SIMD lane immediate */
  uint8_t t;         /* ref.null: ref type; select t: the type */
  uint32_t nsel;     /* select t: how many types were given */
  int64_t bt;        /* block type, raw s33 */
  uint64_t v[2];     /* constants (v128: 16 bytes; i8x16.shuffle: its 16 lane bytes) */
  const uint8_t *tbl; /* br_table: the label vector (ntbl LEBs, then the default) */
  uint32_t ntbl;
} iw_ins;

/* Decodes one instruction and its immediates; malformed input is reported through r->c. */
int iw_read_instr(iw_rd *r, const iw_module *m, iw_ins *ins);
/* Decodes instructions up to the `end` closing the current expression (decode only). */
int iw_decode_expr(iw_dctx *c, const iw_module *m, iw_rd *r);
/* Resolves a decoded block type; false if its type index is out of range. */
bool iw_block_type(const iw_module *m, int64_t bt, iw_blocktype *out);

/* SIMD sub-opcodes (simd_table.h), dense by sub-opcode. */
typedef struct iw_simd_info {
  uint8_t valid, shape, lanes, memsize, align;
} iw_simd_info;
extern const iw_simd_info iw_simd_infos[256];

#endif
