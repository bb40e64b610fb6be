/* libisola-wasm: a WebAssembly 2.0 engine (decoder, validator, interpreter).
 *
 * Promise: every module is decoded and validated in full before anything runs; a module that
 * passes validation can only trap, exhaust a limit, or finish -- it never touches host memory
 * outside its own linear memories and tables. Every failure is reported through `iw_error`,
 * with the spec's name for traps and the section / function / byte offset for bad modules.
 *
 * Assumes: one thread uses a store (and everything created in it) at a time. Stores are
 * independent of each other. Values cross the API as `iw_val`; floats travel as raw bits so
 * that NaN payloads survive.
 */
#ifndef ISOLA_WASM_H
#define ISOLA_WASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- values ---------------------------------------------------------------------------- */

typedef enum iw_valtype {
  IW_I32 = 0x7f,
  IW_I64 = 0x7e,
  IW_F32 = 0x7d,
  IW_F64 = 0x7c,
  IW_V128 = 0x7b,
  IW_FUNCREF = 0x70,
  IW_EXTERNREF = 0x6f,
} iw_valtype;

typedef struct iw_func iw_func;
typedef struct iw_table iw_table;
typedef struct iw_memory iw_memory;
typedef struct iw_global iw_global;
typedef struct iw_module iw_module;
typedef struct iw_instance iw_instance;
typedef struct iw_store iw_store;
typedef struct iw_caller iw_caller;

typedef struct iw_val {
  iw_valtype type;
  union {
    uint32_t i32;
    uint64_t i64;
    uint32_t f32; /* IEEE-754 bits */
    uint64_t f64; /* IEEE-754 bits */
    uint8_t v128[16]; /* little-endian lane order, as in linear memory */
    iw_func *funcref; /* NULL is ref.null func */
    void *externref; /* NULL is ref.null extern; any other value is the host's */
  } of;
} iw_val;

typedef struct iw_functype {
  uint32_t nparams, nresults;
  const iw_valtype *params, *results;
} iw_functype;

/* ---- errors ---------------------------------------------------------------------------- */

typedef enum iw_errkind {
  IW_OK = 0,
  IW_ERR_MALFORMED,     /* binary decoding failed (spec: assert_malformed) */
  IW_ERR_INVALID,       /* validation failed (spec: assert_invalid) */
  IW_ERR_UNLINKABLE,    /* import missing or of the wrong type (spec: assert_unlinkable) */
  IW_ERR_TRAP,          /* a trap; `trap` says which (spec: assert_trap, assert_uninstantiable) */
  IW_ERR_EXHAUSTED,     /* call depth limit (spec: assert_exhaustion); also fuel, deadline */
  IW_ERR_EXIT,          /* a host function asked to end the run (WASI proc_exit); see exit_code */
  IW_ERR_RESOURCE,      /* the host could not provide memory, or a configured cap was hit */
  IW_ERR_USAGE,         /* the API was misused: wrong argument count or type, unknown export */
} iw_errkind;

typedef enum iw_trap {
  IW_TRAP_NONE = 0,
  IW_TRAP_UNREACHABLE,          /* "unreachable" */
  IW_TRAP_MEM_OOB,              /* "out of bounds memory access" */
  IW_TRAP_TABLE_OOB,            /* "out of bounds table access" */
  IW_TRAP_UNDEFINED_ELEMENT,    /* "undefined element" (call_indirect index past the table) */
  IW_TRAP_UNINITIALIZED_ELEMENT,/* "uninitialized element" (call_indirect of a null entry) */
  IW_TRAP_INDIRECT_MISMATCH,    /* "indirect call type mismatch" */
  IW_TRAP_DIV_ZERO,             /* "integer divide by zero" */
  IW_TRAP_INT_OVERFLOW,         /* "integer overflow" */
  IW_TRAP_INVALID_CONVERSION,   /* "invalid conversion to integer" */
  IW_TRAP_NULL_REFERENCE,       /* "null reference" (reserved; 2.0 has no null-deref op) */
  IW_TRAP_STACK_EXHAUSTED,      /* "call stack exhausted" (with IW_ERR_EXHAUSTED) */
  IW_TRAP_OUT_OF_FUEL,          /* "out of fuel" (with IW_ERR_EXHAUSTED) */
  IW_TRAP_DEADLINE,             /* "deadline exceeded" (with IW_ERR_EXHAUSTED) */
  IW_TRAP_INTERRUPTED,          /* "interrupted" (iw_store_interrupt) */
  IW_TRAP_HOST,                 /* a host function failed; msg says why */
} iw_trap;

typedef struct iw_error {
  iw_errkind kind;
  iw_trap trap;         /* for IW_ERR_TRAP / IW_ERR_EXHAUSTED */
  int exit_code;        /* for IW_ERR_EXIT */
  int64_t func_index;   /* function the failure is in, -1 if none */
  int64_t offset;       /* byte offset in the module binary, -1 if none */
  char msg[512];        /* one line, complete: "code section, function 3, offset 0x1f2: type mismatch" */
} iw_error;

/* The spec's text for a trap ("integer divide by zero", ...). */
const char *iw_trap_name(iw_trap trap);

/* ---- stores and limits ----------------------------------------------------------------- */

typedef struct iw_limits {
  uint32_t max_memory_pages; /* cap on every memory of the store (64 KiB pages); 0 = 65536 */
  uint32_t max_call_depth;   /* wasm frames; 0 = default (about 10,000 deep for ordinary frames) */
  uint64_t fuel;             /* instructions (approximately: per block / call / loop); 0 = unlimited */
  uint64_t deadline_ns;      /* CLOCK_MONOTONIC time after which calls stop; 0 = none */
  bool explicit_bounds;      /* check every access instead of relying on guard pages */
} iw_limits;

/* A store owns every instance, function, table, memory and global created in it; they all go
 * away with iw_store_free(). `limits` may be NULL for the defaults. */
iw_store *iw_store_new(const iw_limits *limits, iw_error *err);
void iw_store_free(iw_store *store);
/* May be called from a signal handler or another thread: the running call traps soon with
 * IW_TRAP_INTERRUPTED. */
void iw_store_interrupt(iw_store *store);

/* ---- modules --------------------------------------------------------------------------- */

typedef enum iw_externkind {
  IW_EXTERN_FUNC = 0,
  IW_EXTERN_TABLE = 1,
  IW_EXTERN_MEMORY = 2,
  IW_EXTERN_GLOBAL = 3,
} iw_externkind;

/* Decodes and validates. The module does not keep `bytes`. */
iw_module *iw_module_new(const uint8_t *bytes, size_t len, iw_error *err);
void iw_module_free(iw_module *module);

typedef struct iw_importdesc {
  const char *module, *name; /* NUL-terminated copies owned by the module */
  iw_externkind kind;
} iw_importdesc;

typedef struct iw_exportdesc {
  const char *name;
  iw_externkind kind;
} iw_exportdesc;

size_t iw_module_import_count(const iw_module *module);
void iw_module_import(const iw_module *module, size_t i, iw_importdesc *out);
size_t iw_module_export_count(const iw_module *module);
void iw_module_export(const iw_module *module, size_t i, iw_exportdesc *out);
/* The function type of import `i` (kind must be IW_EXTERN_FUNC). */
const iw_functype *iw_module_import_functype(const iw_module *module, size_t i);

/* ---- externs --------------------------------------------------------------------------- */

typedef struct iw_extern {
  iw_externkind kind;
  union {
    iw_func *func;
    iw_table *table;
    iw_memory *memory;
    iw_global *global;
  } of;
} iw_extern;

/* A host function. Reads `args` (the function type's params), writes `results`. Returns 0, or
 * -1 with `err` filled (IW_ERR_TRAP with IW_TRAP_HOST, or IW_ERR_EXIT for proc_exit). */
typedef int (*iw_host_fn)(iw_caller *caller, void *env, const iw_val *args, iw_val *results,
                          iw_error *err);

/* The type is copied. */
iw_func *iw_func_new_host(iw_store *store, const iw_functype *type, iw_host_fn fn, void *env,
                          iw_error *err);
const iw_functype *iw_func_type(const iw_func *func);

/* The instance of the wasm function that called the host function (NULL if called from the
 * embedder directly), and its memory 0 (NULL if it has none). */
iw_instance *iw_caller_instance(iw_caller *caller);
iw_memory *iw_caller_memory(iw_caller *caller);

iw_global *iw_global_new(iw_store *store, iw_valtype type, bool mutable_, const iw_val *init,
                         iw_error *err);
void iw_global_get(const iw_global *global, iw_val *out);
int iw_global_set(iw_global *global, const iw_val *val, iw_error *err); /* immutable: IW_ERR_USAGE */

/* max_pages: UINT32_MAX for none. */
iw_memory *iw_memory_new(iw_store *store, uint32_t min_pages, uint32_t max_pages, iw_error *err);
uint8_t *iw_memory_data(iw_memory *memory);
uint64_t iw_memory_size(const iw_memory *memory); /* bytes */
/* Returns the old size in pages, or -1 when the memory cannot grow by `delta` pages. */
int64_t iw_memory_grow(iw_memory *memory, uint32_t delta);

/* max: UINT32_MAX for none. `init` fills the new elements (NULL = null refs). */
iw_table *iw_table_new(iw_store *store, iw_valtype elemtype, uint32_t min, uint32_t max,
                       const iw_val *init, iw_error *err);
uint32_t iw_table_size(const iw_table *table);
int iw_table_get(const iw_table *table, uint32_t index, iw_val *out, iw_error *err);
int iw_table_set(iw_table *table, uint32_t index, const iw_val *val, iw_error *err);

/* ---- instances and calls --------------------------------------------------------------- */

/* Links `imports` (one per module import, in the module's import order), initialises tables,
 * memories and globals, and runs the start function. On IW_ERR_TRAP from the start function or
 * a segment, effects on imported memories and tables remain, as the spec says. */
iw_instance *iw_instantiate(iw_store *store, const iw_module *module, const iw_extern *imports,
                            size_t nimports, iw_error *err);
/* 0 and `out` filled, or -1 when the instance has no export of that name. */
int iw_instance_export(const iw_instance *instance, const char *name, iw_extern *out);
const iw_module *iw_instance_module(const iw_instance *instance);

/* Calls `func` with `args` (count and types must match its type, else IW_ERR_USAGE) and stores
 * its results. Returns 0, or -1 with `err` filled. Re-entrant from host functions. */
int iw_call(iw_store *store, iw_func *func, const iw_val *args, size_t nargs, iw_val *results,
            size_t nresults, iw_error *err);

#ifdef __cplusplus
}
#endif

#endif
