/* The spec testsuite runner: reads wast2json scripts (NAME.json + NAME.N.wasm) and checks
 * isola's wasm engine against them through include/isola/wasm.h only.
 *
 * Promise: a script is parsed in full before anything runs (script.c), so the command counts
 * are known even when the engine crashes half-way; every command ends as exactly one of
 * passed / failed / skipped. Assumes the JSON was written by wabt's wast2json (1.0.41 format).
 */
#ifndef ISOLA_SPEC_H
#define ISOLA_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "isola/wasm.h"

/* ---- cleanup helpers (the same shape as src/core/cleanup.h on main) -------------------- */

#ifndef ISOLA_CLEANUP_H
static inline void cleanup_freep(void *p) {
  free(*(void **)p);
}
static inline void cleanup_fclosep(FILE **f) {
  if (*f) fclose(*f);
}
static inline void cleanup_json_decrefp(json_t **j) {
  if (*j) json_decref(*j);
}
#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_json_ __attribute__((cleanup(cleanup_json_decrefp)))
#endif

/* ---- values (values.c) ----------------------------------------------------------------- */

/* How one scalar (or one v128 lane) of an expected result is matched. */
typedef enum spec_pat {
  PAT_EXACT,     /* bit-exact */
  PAT_NAN_CANON, /* nan:canonical */
  PAT_NAN_ARITH, /* nan:arithmetic */
  PAT_ANY,       /* no value given (e.g. the result types of assert_trap) */
  PAT_NONNULL,   /* a non-null reference (ref.func without an index we could resolve) */
} spec_pat;

typedef struct spec_val {
  iw_valtype type;
  unsigned lane_bits; /* v128: 8, 16, 32, 64; 0 when the JSON gave no lane type */
  bool lane_float;    /* v128: f32 / f64 lanes */
  spec_pat pat;       /* scalars and references */
  spec_pat lanes[16]; /* v128: per lane (only the first 128 / lane_bits are used) */
  iw_val v;           /* the value (externref N is (void *)(N + 1), see SPEC_EXTERN) */
} spec_val;

/* One expected result: one value, or several alternatives (`either`). */
typedef struct spec_expect {
  size_t nalt;
  spec_val *alt;
} spec_expect;

/* The host pointer that stands for `ref.extern N`: never NULL, the same in args and results. */
#define SPEC_EXTERN(n) ((void *)(uintptr_t)((n) + 1))

/* Parses a JSON value ({"type": ..., "value": ...}). Returns 0, or -1 with `why` filled. */
int spec_val_parse(json_t *j, spec_val *out, char *why, size_t whylen);
int spec_expect_parse(json_t *j, spec_expect *out, char *why, size_t whylen);
void spec_expect_free(spec_expect *e);
bool spec_val_matches(const spec_val *expected, const iw_val *got);
bool spec_expect_matches(const spec_expect *expected, const iw_val *got);
/* Appends a readable form ("i32:3", "f32:nan:canonical", "v128:i32x4 1 2 3 4") to buf.
 * `like` (may be NULL) picks the lane shape for a v128 result. */
void spec_val_format(char *buf, size_t len, const iw_val *v, const spec_val *like);
void spec_pattern_format(char *buf, size_t len, const spec_val *v);
void spec_expect_format(char *buf, size_t len, const spec_expect *e);
const char *spec_valtype_name(iw_valtype t);
/* Checks the matcher on known values (selftest.c); returns the number of wrong answers. */
int spec_selftest(void);

/* ---- scripts (script.c) ---------------------------------------------------------------- */

typedef enum spec_kind {
  K_MODULE,
  K_REGISTER,
  K_ACTION,
  K_ASSERT_RETURN,
  K_ASSERT_TRAP,
  K_ASSERT_EXHAUSTION,
  K_ASSERT_INVALID,
  K_ASSERT_MALFORMED,
  K_ASSERT_UNLINKABLE,
  K_ASSERT_UNINSTANTIABLE,
  K_UNKNOWN,
  K_COUNT
} spec_kind;

extern const char *const spec_kind_names[K_COUNT];

typedef struct spec_action {
  bool get;           /* "get" (a global's value) rather than "invoke" */
  const char *module; /* "$name" or NULL for the current instance */
  const char *field;
  bool nul_in_field; /* the JSON field has a NUL in it: `field` is cut short there */
  size_t nargs;
  iw_val *args;
} spec_action;

/* One command. Strings point into the script's JSON, which outlives the commands. */
typedef struct spec_cmd {
  spec_kind kind;
  long line;
  const char *type;     /* the JSON "type", for messages */
  const char *filename; /* module file, relative to the script's directory */
  const char *name;     /* module: its "$name"; register: the instance's "$name" */
  const char *as;       /* register */
  const char *text;     /* the expected failure text */
  bool text_module;     /* module_type "text": a .wat file this runner cannot load */
  bool has_action;
  spec_action action;
  size_t nexpected;
  spec_expect *expected;
  char *bad;        /* non-NULL: why the command could not be parsed (it fails) */
  const char *skip; /* non-NULL: why the command cannot be run here (it is skipped) */
} spec_cmd;

typedef struct spec_script {
  char *path; /* the .json file */
  char *dir;  /* its directory, for the module files */
  char *name; /* "i32" for .../i32/i32.json */
  json_t *json;
  size_t ncmds;
  spec_cmd *cmds;
} spec_script;

/* Loads and parses a script. Returns 0, or -1 with `why` filled (the file cannot be used at
 * all). Commands that cannot be parsed are kept with `bad` set. */
int spec_script_load(const char *path, spec_script *out, char *why, size_t whylen);
void spec_script_free(spec_script *s);

/* Per-command counts in the layout of wasm-spec/assertion-counts.tsv. */
enum {
  C_MODULE,
  C_ASSERT_RETURN,
  C_ASSERT_TRAP,
  C_ASSERT_EXHAUSTION,
  C_ASSERT_INVALID,
  C_ASSERT_MALFORMED_BINARY,
  C_ASSERT_MALFORMED_TEXT,
  C_ASSERT_UNLINKABLE,
  C_ASSERT_UNINSTANTIABLE,
  C_ACTION,
  C_REGISTER,
  C_COUNT
};
extern const char *const spec_count_names[C_COUNT];
void spec_script_counts(const spec_script *s, long counts[C_COUNT]);

/* ---- running (exec.c, spectest.c) ------------------------------------------------------ */

typedef enum spec_result { R_PASS = 'p', R_FAIL = 'f', R_SKIP = 's' } spec_result;

typedef struct spec_run_opts {
  bool verbose;    /* every failure, with the engine's message */
  int max_details; /* failures shown per file when not verbose */
} spec_run_opts;

/* Called once per command, in order, with its result. */
typedef void (*spec_report_fn)(void *ctx, const spec_cmd *cmd, spec_result r);

/* Runs every command of `s` in a fresh store, printing failure details to stdout; returns the
 * number of commands that failed. Everything it creates is freed before it returns. */
long spec_script_run(const spec_script *s, const spec_run_opts *opts, spec_report_fn report,
                     void *ctx);

/* The `spectest` module and the registry of named instances (spectest.c). */
typedef struct spec_registry spec_registry;
spec_registry *spec_registry_new(iw_store *store, iw_error *err);
void spec_registry_free(spec_registry *r);
/* Makes `inst`'s exports importable as module `as`. */
int spec_registry_add(spec_registry *r, const char *as, iw_instance *inst);
/* Resolves every import of `m` into `imports` (caller allocates iw_module_import_count()).
 * On failure returns -1 with err->kind = IW_ERR_UNLINKABLE ("unknown import" or
 * "incompatible import type" when the kinds differ). */
int spec_registry_link(spec_registry *r, const iw_module *m, iw_extern *imports, iw_error *err);

const char *spec_errkind_name(iw_errkind k);

#endif
