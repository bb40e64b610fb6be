/* fuzz_json: bytes -> json_parse() (src/core/json_parse.h), the reader of config.json and
 * state.json, against jansson's json_loadb() with JSON_REJECT_DUPLICATES, whose behaviour it
 * promises: both accept or both refuse, and what they accept is equal (json_equal: integers
 * and reals apart, key order aside). A refusal fills the error with a text and a position
 * inside the input. One exception, jansson's: a NUL byte right after a number or a literal
 * is skipped by its lexer (`[true\0]` reads as `[true]`); json_parse refuses every NUL. */
#include <string.h>

#include "core/json_parse.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t ref_err, err;
  json_t *ref = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &ref_err);
  memset(&err, 0, sizeof err);
  json_t *got = json_parse((const char *)data, size, &err);
  if (memchr(data, 0, size))
    FUZZ_ASSERT(!got);
  else
    FUZZ_ASSERT(!ref == !got);
  if (got) {
    FUZZ_ASSERT(ref && json_equal(ref, got));
  } else {
    FUZZ_ASSERT(err.text[0] != 0);
    FUZZ_ASSERT(err.position >= 0 && (size_t)err.position <= size);
    FUZZ_ASSERT(err.line >= 1 && err.column >= 1);
  }
  json_decref(ref);
  json_decref(got);
  return 0;
}
