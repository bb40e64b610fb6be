/* The runner's own checks, without the engine: values parsed from wast2json's JSON must match
 * (or not) the results an engine could return. Run by --parse-only. A matcher that accepts
 * everything would make every assert_return pass, so the negative cases matter most.
 */
#include <string.h>

#include "spec.h"

typedef struct probe {
  const char *json; /* an expected value as wast2json writes it */
  iw_val got;       /* a result */
  bool match;
} probe;

static iw_val v32(iw_valtype t, uint32_t bits) {
  iw_val v = {.type = t};
  v.of.i32 = bits;
  return v;
}

static iw_val v64(iw_valtype t, uint64_t bits) {
  iw_val v = {.type = t};
  v.of.i64 = bits;
  return v;
}

static iw_val vref(iw_valtype t, void *p) {
  iw_val v = {.type = t};
  if (t == IW_FUNCREF)
    v.of.funcref = p;
  else
    v.of.externref = p;
  return v;
}

/* A v128 from four little-endian u32 lanes. */
static iw_val vv(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  iw_val v = {.type = IW_V128};
  uint32_t l[4] = {a, b, c, d};
  for (int i = 0; i < 16; i++)
    v.of.v128[i] = (uint8_t)(l[i / 4] >> (8 * (i % 4)));
  return v;
}

int spec_selftest(void) {
  static int dummy_func;
  const probe probes[] = {
      {"{\"type\":\"i32\",\"value\":\"4294967295\"}", v32(IW_I32, 0xffffffffu), true},
      {"{\"type\":\"i32\",\"value\":\"4294967295\"}", v32(IW_I32, 0x7fffffffu), false},
      {"{\"type\":\"i32\",\"value\":\"1\"}", v64(IW_I64, 1), false}, /* wrong type */
      {"{\"type\":\"i64\",\"value\":\"18446744073709551615\"}", v64(IW_I64, UINT64_MAX), true},
      {"{\"type\":\"i64\",\"value\":\"1\"}", v64(IW_I64, 1 | (UINT64_C(1) << 32)), false},
      /* floats are compared as bits: -0 is not 0, NaN payloads count */
      {"{\"type\":\"f32\",\"value\":\"2147483648\"}", v32(IW_F32, 0x80000000u), true},
      {"{\"type\":\"f32\",\"value\":\"0\"}", v32(IW_F32, 0x80000000u), false},
      {"{\"type\":\"f32\",\"value\":\"2143289344\"}", v32(IW_F32, 0x7fc00001u), false},
      {"{\"type\":\"f32\",\"value\":\"nan:canonical\"}", v32(IW_F32, 0x7fc00000u), true},
      {"{\"type\":\"f32\",\"value\":\"nan:canonical\"}", v32(IW_F32, 0xffc00000u), true},
      {"{\"type\":\"f32\",\"value\":\"nan:canonical\"}", v32(IW_F32, 0x7fc00001u), false},
      {"{\"type\":\"f32\",\"value\":\"nan:canonical\"}", v32(IW_F32, 0x7fa00000u), false},
      {"{\"type\":\"f32\",\"value\":\"nan:arithmetic\"}", v32(IW_F32, 0x7fc00001u), true},
      {"{\"type\":\"f32\",\"value\":\"nan:arithmetic\"}", v32(IW_F32, 0xffe00000u), true},
      {"{\"type\":\"f32\",\"value\":\"nan:arithmetic\"}", v32(IW_F32, 0x7f800001u), false},
      {"{\"type\":\"f32\",\"value\":\"nan:arithmetic\"}", v32(IW_F32, 0x7f800000u), false},
      {"{\"type\":\"f64\",\"value\":\"nan:canonical\"}", v64(IW_F64, UINT64_C(0xfff8000000000000)),
       true},
      {"{\"type\":\"f64\",\"value\":\"nan:canonical\"}", v64(IW_F64, UINT64_C(0x7ff8000000000001)),
       false},
      {"{\"type\":\"f64\",\"value\":\"nan:arithmetic\"}", v64(IW_F64, UINT64_C(0x7ffc000000000000)),
       true},
      {"{\"type\":\"f64\",\"value\":\"nan:arithmetic\"}", v64(IW_F64, UINT64_C(0x7ff4000000000000)),
       false},
      {"{\"type\":\"f64\",\"value\":\"nan:arithmetic\"}", v32(IW_F32, 0x7fc00000u), false},
      {"{\"type\":\"f64\",\"value\":\"4607182418800017408\"}",
       v64(IW_F64, UINT64_C(0x3ff0000000000000)), true},
      /* v128: lanes by lane type, NaN patterns per lane */
      {"{\"type\":\"v128\",\"lane_type\":\"i32\",\"value\":[\"1\",\"2\",\"3\",\"4294967295\"]}",
       vv(1, 2, 3, 0xffffffffu), true},
      {"{\"type\":\"v128\",\"lane_type\":\"i32\",\"value\":[\"1\",\"2\",\"3\",\"4\"]}",
       vv(1, 2, 3, 5), false},
      {"{\"type\":\"v128\",\"lane_type\":\"i8\",\"value\":[\"1\",\"0\",\"0\",\"0\",\"2\",\"0\","
       "\"0\",\"0\",\"3\",\"0\",\"0\",\"0\",\"255\",\"0\",\"0\",\"128\"]}",
       vv(1, 2, 3, 0x800000ffu), true},
      {"{\"type\":\"v128\",\"lane_type\":\"i16\",\"value\":[\"1\",\"0\",\"2\",\"0\",\"3\",\"0\","
       "\"65535\",\"65535\"]}",
       vv(1, 2, 3, 0xffffffffu), true},
      {"{\"type\":\"v128\",\"lane_type\":\"i64\",\"value\":[\"8589934593\",\"1\"]}", vv(1, 2, 1, 0),
       true},
      {"{\"type\":\"v128\",\"lane_type\":\"i64\",\"value\":[\"8589934593\",\"1\"]}", vv(1, 2, 1, 1),
       false},
      {"{\"type\":\"v128\",\"lane_type\":\"f32\",\"value\":[\"nan:canonical\",\"nan:arithmetic\","
       "\"0\",\"1065353216\"]}",
       vv(0x7fc00000u, 0xffc00001u, 0, 0x3f800000u), true},
      {"{\"type\":\"v128\",\"lane_type\":\"f32\",\"value\":[\"nan:canonical\",\"nan:arithmetic\","
       "\"0\",\"1065353216\"]}",
       vv(0x7fc00001u, 0xffc00001u, 0, 0x3f800000u), false},
      {"{\"type\":\"v128\",\"lane_type\":\"f32\",\"value\":[\"nan:canonical\",\"nan:arithmetic\","
       "\"0\",\"1065353216\"]}",
       vv(0x7fc00000u, 0xffc00001u, 0x80000000u, 0x3f800000u), false},
      {"{\"type\":\"v128\",\"lane_type\":\"f64\",\"value\":[\"nan:canonical\",\"0\"]}",
       vv(0, 0xfff80000u, 0, 0), true},
      {"{\"type\":\"v128\",\"lane_type\":\"f64\",\"value\":[\"nan:canonical\",\"0\"]}",
       vv(0, 0xfff80000u, 0, 1), false},
      {"{\"type\":\"v128\",\"lane_type\":\"f64\",\"value\":[\"nan:arithmetic\",\"0\"]}",
       vv(0, 0x7ff40000u, 0, 0), false},
      {"{\"type\":\"v128\"}", vv(9, 9, 9, 9), true},
      {"{\"type\":\"v128\"}", v32(IW_I32, 0), false},
      /* references: externref N is SPEC_EXTERN(N) */
      {"{\"type\":\"externref\",\"value\":\"null\"}", vref(IW_EXTERNREF, NULL), true},
      {"{\"type\":\"externref\",\"value\":\"null\"}", vref(IW_EXTERNREF, SPEC_EXTERN(0)), false},
      {"{\"type\":\"externref\",\"value\":\"0\"}", vref(IW_EXTERNREF, SPEC_EXTERN(0)), true},
      {"{\"type\":\"externref\",\"value\":\"0\"}", vref(IW_EXTERNREF, NULL), false},
      {"{\"type\":\"externref\",\"value\":\"2\"}", vref(IW_EXTERNREF, SPEC_EXTERN(1)), false},
      {"{\"type\":\"externref\",\"value\":\"null\"}", vref(IW_FUNCREF, NULL), false},
      {"{\"type\":\"funcref\",\"value\":\"null\"}", vref(IW_FUNCREF, NULL), true},
      {"{\"type\":\"funcref\",\"value\":\"null\"}", vref(IW_FUNCREF, &dummy_func), false},
      {"{\"type\":\"funcref\",\"value\":\"3\"}", vref(IW_FUNCREF, &dummy_func), true},
      {"{\"type\":\"funcref\",\"value\":\"3\"}", vref(IW_FUNCREF, NULL), false},
      {"{\"type\":\"funcref\"}", vref(IW_FUNCREF, &dummy_func), true},
      /* either */
      {"{\"type\":\"either\",\"values\":[{\"type\":\"i32\",\"value\":\"1\"},{\"type\":\"i32\","
       "\"value\":\"2\"}]}",
       v32(IW_I32, 2), true},
      {"{\"type\":\"either\",\"values\":[{\"type\":\"i32\",\"value\":\"1\"},{\"type\":\"i32\","
       "\"value\":\"2\"}]}",
       v32(IW_I32, 3), false},
  };
  static const char *const unparsable[] = {
      "{\"type\":\"i32\",\"value\":\"4294967296\"}",
      "{\"type\":\"i32\",\"value\":\"12x\"}",
      "{\"type\":\"i32\",\"value\":\"nan:canonical\"}",
      "{\"type\":\"v128\",\"lane_type\":\"i8\",\"value\":[\"256\",\"0\",\"0\",\"0\",\"0\",\"0\","
      "\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\",\"0\"]}",
      "{\"type\":\"v128\",\"lane_type\":\"i32\",\"value\":[\"1\",\"2\",\"3\"]}",
      "{\"type\":\"v128\",\"value\":[\"1\",\"2\",\"3\",\"4\"]}",
      "{\"type\":\"i128\",\"value\":\"0\"}",
      "{\"type\":\"either\",\"values\":[]}",
  };
  int failed = 0;
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    json_error_t jerr;
    json_t *j = json_loads(probes[i].json, 0, &jerr);
    spec_expect e;
    char why[256];
    if (!j || spec_expect_parse(j, &e, why, sizeof why) < 0) {
      printf("selftest: cannot parse %s\n", probes[i].json);
      failed++;
      json_decref(j);
      continue;
    }
    if (spec_expect_matches(&e, &probes[i].got) != probes[i].match) {
      char got[600];
      spec_val_format(got, sizeof got, &probes[i].got, &e.alt[0]);
      printf("selftest: %s %s %s\n", probes[i].json, probes[i].match ? "does not match" : "matches",
             got);
      failed++;
    }
    spec_expect_free(&e);
    json_decref(j);
  }
  for (size_t i = 0; i < sizeof unparsable / sizeof unparsable[0]; i++) {
    json_error_t jerr;
    json_t *j = json_loads(unparsable[i], 0, &jerr);
    spec_expect e;
    char why[256];
    if (j && spec_expect_parse(j, &e, why, sizeof why) == 0) {
      printf("selftest: %s parsed, expected an error\n", unparsable[i]);
      spec_expect_free(&e);
      failed++;
    }
    json_decref(j);
  }
  return failed;
}
