/* Values in wast2json scripts: parsing, matching against the engine's results, printing.
 *
 * wast2json writes every number as a decimal string of its bits (i32 -1 is "4294967295",
 * f32 1.0 is "1065353216"), so floats are compared bit for bit unless the expectation is a
 * NaN pattern. A v128 carries a lane type and one string per lane.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

#include "spec.h"

static void bappend(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void bappend(char *buf, size_t len, const char *fmt, ...) {
  size_t used = strnlen(buf, len);
  if (used + 1 >= len) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

const char *spec_valtype_name(iw_valtype t) {
  switch (t) {
  case IW_I32:
    return "i32";
  case IW_I64:
    return "i64";
  case IW_F32:
    return "f32";
  case IW_F64:
    return "f64";
  case IW_V128:
    return "v128";
  case IW_FUNCREF:
    return "funcref";
  case IW_EXTERNREF:
    return "externref";
  }
  return "?";
}

static int valtype_parse(const char *s, iw_valtype *out) {
  static const struct {
    const char *name;
    iw_valtype t;
  } types[] = {
      {"i32", IW_I32},
      {"i64", IW_I64},
      {"f32", IW_F32},
      {"f64", IW_F64},
      {"v128", IW_V128},
      {"funcref", IW_FUNCREF},
      {"externref", IW_EXTERNREF},
  };
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (!strcmp(s, types[i].name)) {
      *out = types[i].t;
      return 0;
    }
  return -1;
}

/* A decimal number of at most `bits` bits; a leading '-' means two's complement. */
static int parse_bits(const char *s, unsigned bits, uint64_t *out) {
  bool neg = *s == '-';
  const char *p = neg ? s + 1 : s;
  if (*p < '0' || *p > '9') return -1;
  uint64_t v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) return -1;
    v = v * 10 + d;
  }
  uint64_t mask = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
  if (neg) {
    if (v > (UINT64_C(1) << (bits - 1))) return -1;
    v = (0 - v) & mask;
  } else if (v > mask) {
    return -1;
  }
  *out = v;
  return 0;
}

static int parse_pat(const char *s, spec_pat *pat) {
  if (!strcmp(s, "nan:canonical"))
    *pat = PAT_NAN_CANON;
  else if (!strcmp(s, "nan:arithmetic"))
    *pat = PAT_NAN_ARITH;
  else
    return 0;
  return 1;
}

static void lane_put(uint8_t *v128, unsigned bits, unsigned i, uint64_t x) {
  for (unsigned b = 0; b < bits / 8; b++)
    v128[i * (bits / 8) + b] = (uint8_t)(x >> (8 * b));
}

static uint64_t lane_get(const uint8_t *v128, unsigned bits, unsigned i) {
  uint64_t x = 0;
  for (unsigned b = 0; b < bits / 8; b++)
    x |= (uint64_t)v128[i * (bits / 8) + b] << (8 * b);
  return x;
}

static int parse_v128(json_t *j, spec_val *out, char *why, size_t whylen) {
  const char *lt = json_string_value(json_object_get(j, "lane_type"));
  json_t *value = json_object_get(j, "value");
  if (!lt) {
    if (value) {
      snprintf(why, whylen, "v128 value without a lane_type");
      return -1;
    }
    for (unsigned i = 0; i < 16; i++)
      out->lanes[i] = PAT_ANY;
    return 0;
  }
  if (!strcmp(lt, "i8"))
    out->lane_bits = 8;
  else if (!strcmp(lt, "i16"))
    out->lane_bits = 16;
  else if (!strcmp(lt, "i32"))
    out->lane_bits = 32;
  else if (!strcmp(lt, "i64"))
    out->lane_bits = 64;
  else if (!strcmp(lt, "f32"))
    out->lane_bits = 32, out->lane_float = true;
  else if (!strcmp(lt, "f64"))
    out->lane_bits = 64, out->lane_float = true;
  else {
    snprintf(why, whylen, "unknown lane_type `%s`", lt);
    return -1;
  }
  unsigned n = 128 / out->lane_bits;
  if (!value) {
    for (unsigned i = 0; i < n; i++)
      out->lanes[i] = PAT_ANY;
    return 0;
  }
  if (!json_is_array(value) || json_array_size(value) != n) {
    snprintf(why, whylen, "v128 %s value: expected an array of %u lanes", lt, n);
    return -1;
  }
  for (unsigned i = 0; i < n; i++) {
    const char *s = json_string_value(json_array_get(value, i));
    uint64_t x = 0;
    out->lanes[i] = PAT_EXACT;
    if (!s || (!(out->lane_float && parse_pat(s, &out->lanes[i])) &&
               parse_bits(s, out->lane_bits, &x) < 0)) {
      snprintf(why, whylen, "v128 %s lane %u: bad value `%s`", lt, i, s ? s : "(not a string)");
      return -1;
    }
    lane_put(out->v.of.v128, out->lane_bits, i, x);
  }
  return 0;
}

int spec_val_parse(json_t *j, spec_val *out, char *why, size_t whylen) {
  memset(out, 0, sizeof *out);
  const char *type = json_string_value(json_object_get(j, "type"));
  if (!type || valtype_parse(type, &out->type) < 0) {
    snprintf(why, whylen, "unknown value type `%s`", type ? type : "(none)");
    return -1;
  }
  out->v.type = out->type;
  if (out->type == IW_V128) return parse_v128(j, out, why, whylen);

  json_t *value = json_object_get(j, "value");
  if (!value) {
    out->pat = PAT_ANY;
    return 0;
  }
  const char *s = json_string_value(value);
  if (!s) {
    snprintf(why, whylen, "%s value is not a string", type);
    return -1;
  }
  uint64_t x = 0;
  switch (out->type) {
  case IW_I32:
  case IW_F32:
    if (out->type == IW_F32 && parse_pat(s, &out->pat)) return 0;
    if (parse_bits(s, 32, &x) < 0) goto bad;
    out->v.of.i32 = (uint32_t)x;
    return 0;
  case IW_I64:
  case IW_F64:
    if (out->type == IW_F64 && parse_pat(s, &out->pat)) return 0;
    if (parse_bits(s, 64, &x) < 0) goto bad;
    out->v.of.i64 = x;
    return 0;
  case IW_FUNCREF:
    if (!strcmp(s, "null")) return 0;
    /* A function index: which function it names depends on the module; any non-null
     * reference matches. */
    if (parse_bits(s, 32, &x) < 0) goto bad;
    out->pat = PAT_NONNULL;
    return 0;
  case IW_EXTERNREF:
    if (!strcmp(s, "null")) return 0;
    if (parse_bits(s, 32, &x) < 0) goto bad;
    out->v.of.externref = SPEC_EXTERN(x);
    return 0;
  default:
    break;
  }
bad:
  snprintf(why, whylen, "bad %s value `%s`", type, s);
  return -1;
}

int spec_expect_parse(json_t *j, spec_expect *out, char *why, size_t whylen) {
  memset(out, 0, sizeof *out);
  const char *type = json_string_value(json_object_get(j, "type"));
  json_t *alts = NULL;
  size_t n = 1;
  if (type && !strcmp(type, "either")) {
    alts = json_object_get(j, "values");
    if (!json_is_array(alts) || json_array_size(alts) == 0 || json_array_size(alts) > 64) {
      snprintf(why, whylen, "either: expected a non-empty array `values`");
      return -1;
    }
    n = json_array_size(alts);
  }
  out->alt = calloc(n, sizeof *out->alt);
  if (!out->alt) {
    snprintf(why, whylen, "out of memory");
    return -1;
  }
  out->nalt = n;
  for (size_t i = 0; i < n; i++)
    if (spec_val_parse(alts ? json_array_get(alts, i) : j, &out->alt[i], why, whylen) < 0) {
      spec_expect_free(out);
      return -1;
    }
  return 0;
}

void spec_expect_free(spec_expect *e) {
  free(e->alt);
  e->alt = NULL;
  e->nalt = 0;
}

/* ---- matching -------------------------------------------------------------------------- */

static bool f32_matches(spec_pat pat, uint32_t want, uint32_t got) {
  switch (pat) {
  case PAT_NAN_CANON:
    return (got & 0x7fffffffu) == 0x7fc00000u;
  case PAT_NAN_ARITH:
    return (got & 0x7fc00000u) == 0x7fc00000u;
  case PAT_ANY:
    return true;
  default:
    return got == want;
  }
}

static bool f64_matches(spec_pat pat, uint64_t want, uint64_t got) {
  const uint64_t quiet = UINT64_C(0x7ff8000000000000);
  switch (pat) {
  case PAT_NAN_CANON:
    return (got & ~(UINT64_C(1) << 63)) == quiet;
  case PAT_NAN_ARITH:
    return (got & quiet) == quiet;
  case PAT_ANY:
    return true;
  default:
    return got == want;
  }
}

bool spec_val_matches(const spec_val *e, const iw_val *got) {
  if (got->type != e->type) return false;
  switch (e->type) {
  case IW_I32:
    return e->pat == PAT_ANY || got->of.i32 == e->v.of.i32;
  case IW_I64:
    return e->pat == PAT_ANY || got->of.i64 == e->v.of.i64;
  case IW_F32:
    return f32_matches(e->pat, e->v.of.f32, got->of.f32);
  case IW_F64:
    return f64_matches(e->pat, e->v.of.f64, got->of.f64);
  case IW_FUNCREF:
    if (e->pat == PAT_ANY) return true;
    if (e->pat == PAT_NONNULL) return got->of.funcref != NULL;
    return got->of.funcref == e->v.of.funcref;
  case IW_EXTERNREF:
    if (e->pat == PAT_ANY) return true;
    if (e->pat == PAT_NONNULL) return got->of.externref != NULL;
    return got->of.externref == e->v.of.externref;
  case IW_V128:
    if (!e->lane_bits) return true; /* no lane type: no value was given */
    for (unsigned i = 0; i < 128 / e->lane_bits; i++) {
      uint64_t w = lane_get(e->v.of.v128, e->lane_bits, i);
      uint64_t g = lane_get(got->of.v128, e->lane_bits, i);
      bool ok;
      if (e->lane_float && e->lane_bits == 32)
        ok = f32_matches(e->lanes[i], (uint32_t)w, (uint32_t)g);
      else if (e->lane_float)
        ok = f64_matches(e->lanes[i], w, g);
      else
        ok = e->lanes[i] == PAT_ANY || w == g;
      if (!ok) return false;
    }
    return true;
  }
  return false;
}

bool spec_expect_matches(const spec_expect *e, const iw_val *got) {
  for (size_t i = 0; i < e->nalt; i++)
    if (spec_val_matches(&e->alt[i], got)) return true;
  return false;
}

/* ---- printing -------------------------------------------------------------------------- */

static void fmt_f32(char *buf, size_t len, uint32_t bits) {
  float f;
  memcpy(&f, &bits, sizeof f);
  if (isnan(f))
    bappend(buf, len, "%snan:0x%06" PRIx32, bits >> 31 ? "-" : "", bits & 0x7fffffu);
  else
    bappend(buf, len, "%.9g", (double)f);
}

static void fmt_f64(char *buf, size_t len, uint64_t bits) {
  double d;
  memcpy(&d, &bits, sizeof d);
  if (isnan(d))
    bappend(buf, len, "%snan:0x%013" PRIx64, bits >> 63 ? "-" : "",
            bits & UINT64_C(0xfffffffffffff));
  else
    bappend(buf, len, "%.17g", d);
}

static void fmt_pat(char *buf, size_t len, spec_pat pat) {
  if (pat == PAT_NAN_CANON)
    bappend(buf, len, "nan:canonical");
  else if (pat == PAT_NAN_ARITH)
    bappend(buf, len, "nan:arithmetic");
  else if (pat == PAT_ANY)
    bappend(buf, len, "_");
  else
    bappend(buf, len, "non-null");
}

/* Prints `v` (bits in `raw`) with the lane shape of `like` (or i32 lanes in hex). */
static void fmt_v128(char *buf, size_t len, const uint8_t *raw, const spec_val *like,
                     bool use_pats) {
  unsigned bits = like && like->lane_bits ? like->lane_bits : 32;
  bool fl = like && like->lane_bits ? like->lane_float : false;
  bool hex = !(like && like->lane_bits);
  bappend(buf, len, "v128:%c%ux%u", fl ? 'f' : 'i', bits, 128 / bits);
  for (unsigned i = 0; i < 128 / bits; i++) {
    uint64_t x = lane_get(raw, bits, i);
    bappend(buf, len, " ");
    if (use_pats && like->lanes[i] != PAT_EXACT)
      fmt_pat(buf, len, like->lanes[i]);
    else if (fl && bits == 32)
      fmt_f32(buf, len, (uint32_t)x);
    else if (fl)
      fmt_f64(buf, len, x);
    else if (hex)
      bappend(buf, len, "0x%08" PRIx64, x);
    else
      bappend(buf, len, "%" PRIu64, x);
  }
}

static void fmt_val(char *buf, size_t len, const iw_val *v, const spec_val *like) {
  switch (v->type) {
  case IW_I32:
    bappend(buf, len, "i32:%" PRIu32, v->of.i32);
    break;
  case IW_I64:
    bappend(buf, len, "i64:%" PRIu64, v->of.i64);
    break;
  case IW_F32:
    bappend(buf, len, "f32:"), fmt_f32(buf, len, v->of.f32);
    break;
  case IW_F64:
    bappend(buf, len, "f64:"), fmt_f64(buf, len, v->of.f64);
    break;
  case IW_V128:
    fmt_v128(buf, len, v->of.v128, like, false);
    break;
  case IW_FUNCREF:
    if (!v->of.funcref)
      bappend(buf, len, "ref.null func");
    else
      bappend(buf, len, "ref.func");
    break;
  case IW_EXTERNREF:
    if (!v->of.externref)
      bappend(buf, len, "ref.null extern");
    else
      bappend(buf, len, "ref.extern %" PRIuPTR, (uintptr_t)v->of.externref - 1);
    break;
  default:
    bappend(buf, len, "<type 0x%x>", (unsigned)v->type);
    break;
  }
}

void spec_val_format(char *buf, size_t len, const iw_val *v, const spec_val *like) {
  if (len) buf[0] = 0;
  fmt_val(buf, len, v, like && like->type == v->type ? like : NULL);
}

static void fmt_pattern(char *buf, size_t len, const spec_val *v) {
  if (v->type == IW_V128) {
    if (!v->lane_bits)
      bappend(buf, len, "v128:_");
    else
      fmt_v128(buf, len, v->v.of.v128, v, true);
  } else if (v->pat == PAT_EXACT) {
    fmt_val(buf, len, &v->v, v);
  } else if (v->pat == PAT_NONNULL) {
    bappend(buf, len, v->type == IW_FUNCREF ? "ref.func" : "ref.extern");
  } else {
    bappend(buf, len, "%s:", spec_valtype_name(v->type));
    fmt_pat(buf, len, v->pat);
  }
}

void spec_pattern_format(char *buf, size_t len, const spec_val *v) {
  if (len) buf[0] = 0;
  fmt_pattern(buf, len, v);
}

void spec_expect_format(char *buf, size_t len, const spec_expect *e) {
  if (len) buf[0] = 0;
  for (size_t i = 0; i < e->nalt; i++) {
    if (i) bappend(buf, len, " or ");
    fmt_pattern(buf, len, &e->alt[i]);
  }
}
