/* The engine through include/isola/wasm.h: calls, host imports and re-entry, traps of each
 * kind, both memory modes (guard pages and explicit bounds), the call-depth limit, fuel, deadline
 * and interrupt, multi-value, SIMD, and the shape of error messages. The spec testsuite
 * (tests/spec) covers the instruction semantics; this covers what the API promises around them.
 *
 * The test module (source in the comment below, bytes from wat2wasm 1.0.32):
 *   fib, div, load/store/grow on a 1..2 page memory, rec (unbounded recursion), spin (an
 *   endless loop), callhost / viahost (host imports, the second re-entering the engine),
 *   indirect (call_indirect through a 2-slot table holding fib), swap (multi-value), sum (a
 *   loop with locals), splat_sum (SIMD).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isola/wasm.h"
#include "unit.h"

/*
(module
  (import "host" "add" (func $hadd (param i32 i32) (result i32)))
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (memory (export "mem") 1 2)
  (global $g (export "g") (mut i32) (i32.const 7))
  (table 2 funcref)
  (elem (i32.const 0) $fib)
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
                     (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "div") (param i32 i32) (result i32) (i32.div_s (local.get 0) (local.get 1)))
  (func (export "load") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func $rec (export "rec") (param i32) (result i32) (i32.add (call $rec (local.get 0)) (i32.const 1)))
  (func (export "spin") (loop $l (br $l)))
  (func (export "callhost") (param i32 i32) (result i32) (call $hadd (local.get 0) (local.get 1)))
  (func (export "viahost") (param i32) (result i32) (call $reenter (local.get 0)))
  (func (export "indirect") (param i32 i32) (result i32) (call_indirect (param i32) (result i32) (local.get 0) (local.get 1)))
  (func (export "swap") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func (export "sum") (param i32) (result i32) (local i32)
    (block $done (loop $l
      (br_if $done (i32.eqz (local.get 0)))
      (local.set 1 (i32.add (local.get 1) (local.get 0)))
      (local.set 0 (i32.sub (local.get 0) (i32.const 1)))
      (br $l)))
    (local.get 1))
  (func (export "splat_sum") (param i32) (result i32)
    (i32x4.extract_lane 3 (i32x4.add (i32x4.splat (local.get 0)) (v128.const i32x4 1 2 3 4))))
)
*/
static const unsigned char mod_bytes[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x1b, 0x05, 0x60,
  0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x01, 0x7f, 0x60, 0x02,
  0x7f, 0x7f, 0x00, 0x60, 0x00, 0x00, 0x60, 0x02, 0x7e, 0x7c, 0x02, 0x7c,
  0x7e, 0x02, 0x1b, 0x02, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x03, 0x61, 0x64,
  0x64, 0x00, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x07, 0x72, 0x65, 0x65,
  0x6e, 0x74, 0x65, 0x72, 0x00, 0x01, 0x03, 0x0e, 0x0d, 0x01, 0x00, 0x01,
  0x02, 0x01, 0x01, 0x03, 0x00, 0x01, 0x00, 0x04, 0x01, 0x01, 0x04, 0x04,
  0x01, 0x70, 0x00, 0x02, 0x05, 0x04, 0x01, 0x01, 0x01, 0x02, 0x06, 0x06,
  0x01, 0x7f, 0x01, 0x41, 0x07, 0x0b, 0x07, 0x73, 0x0f, 0x03, 0x6d, 0x65,
  0x6d, 0x02, 0x00, 0x01, 0x67, 0x03, 0x00, 0x03, 0x66, 0x69, 0x62, 0x00,
  0x02, 0x03, 0x64, 0x69, 0x76, 0x00, 0x03, 0x04, 0x6c, 0x6f, 0x61, 0x64,
  0x00, 0x04, 0x05, 0x73, 0x74, 0x6f, 0x72, 0x65, 0x00, 0x05, 0x04, 0x67,
  0x72, 0x6f, 0x77, 0x00, 0x06, 0x03, 0x72, 0x65, 0x63, 0x00, 0x07, 0x04,
  0x73, 0x70, 0x69, 0x6e, 0x00, 0x08, 0x08, 0x63, 0x61, 0x6c, 0x6c, 0x68,
  0x6f, 0x73, 0x74, 0x00, 0x09, 0x07, 0x76, 0x69, 0x61, 0x68, 0x6f, 0x73,
  0x74, 0x00, 0x0a, 0x08, 0x69, 0x6e, 0x64, 0x69, 0x72, 0x65, 0x63, 0x74,
  0x00, 0x0b, 0x04, 0x73, 0x77, 0x61, 0x70, 0x00, 0x0c, 0x03, 0x73, 0x75,
  0x6d, 0x00, 0x0d, 0x09, 0x73, 0x70, 0x6c, 0x61, 0x74, 0x5f, 0x73, 0x75,
  0x6d, 0x00, 0x0e, 0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x02,
  0x0a, 0xb3, 0x01, 0x0d, 0x1c, 0x00, 0x20, 0x00, 0x41, 0x02, 0x49, 0x04,
  0x7f, 0x20, 0x00, 0x05, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x02, 0x20,
  0x00, 0x41, 0x02, 0x6b, 0x10, 0x02, 0x6a, 0x0b, 0x0b, 0x07, 0x00, 0x20,
  0x00, 0x20, 0x01, 0x6d, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x28, 0x02, 0x00,
  0x0b, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x36, 0x02, 0x00, 0x0b, 0x06,
  0x00, 0x20, 0x00, 0x40, 0x00, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x10, 0x07,
  0x41, 0x01, 0x6a, 0x0b, 0x07, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b,
  0x08, 0x00, 0x20, 0x00, 0x20, 0x01, 0x10, 0x00, 0x0b, 0x06, 0x00, 0x20,
  0x00, 0x10, 0x01, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x11, 0x01,
  0x00, 0x0b, 0x06, 0x00, 0x20, 0x01, 0x20, 0x00, 0x0b, 0x21, 0x01, 0x01,
  0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x45, 0x0d, 0x01, 0x20, 0x01,
  0x20, 0x00, 0x6a, 0x21, 0x01, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00,
  0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x01, 0x0b, 0x1e, 0x00, 0x20, 0x00, 0xfd,
  0x11, 0xfd, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x03,
  0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0xfd, 0xae, 0x01, 0xfd, 0x1b,
  0x03, 0x0b
};


/* (module (func (result i32) (i64.const 1))): a type error in function 0. */
static const unsigned char bad_bytes[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
  0x00, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00, 0x0a, 0x06, 0x01, 0x04, 0x00,
  0x42, 0x01, 0x0b
};


typedef struct env {
  iw_store *store;
  iw_instance *inst;
  int host_calls;
} env;

static int host_add(iw_caller *caller, void *e, const iw_val *args, iw_val *results,
                    iw_error *err) {
  env *en = e;
  en->host_calls++;
  if (iw_caller_instance(caller) != en->inst && en->inst) return -1;
  results[0].type = IW_I32;
  results[0].of.i32 = args[0].of.i32 + args[1].of.i32;
  return 0;
}

/* Calls back into the engine: fib(args[0]). */
static int host_reenter(iw_caller *caller, void *e, const iw_val *args, iw_val *results,
                        iw_error *err) {
  env *en = e;
  iw_extern fib;
  if (iw_instance_export(iw_caller_instance(caller), "fib", &fib) < 0) return -1;
  iw_memory *mem = iw_caller_memory(caller);
  if (!mem || iw_memory_size(mem) != 65536) return -1;
  en->host_calls++;
  return iw_call(en->store, fib.of.func, args, 1, results, 1, err);
}

static const iw_valtype ii_i[] = {IW_I32, IW_I32};

static iw_instance *setup(env *en, const iw_limits *lim) {
  iw_error err;
  memset(en, 0, sizeof *en);
  en->store = iw_store_new(lim, &err);
  if (!en->store) return NULL;
  iw_module *m = iw_module_new(mod_bytes, sizeof mod_bytes, &err);
  if (!m) {
    fprintf(stderr, "  module: %s\n", err.msg);
    return NULL;
  }
  iw_functype t_add = {2, 1, ii_i, ii_i};
  iw_functype t_re = {1, 1, ii_i, ii_i};
  iw_extern imports[2] = {
      {IW_EXTERN_FUNC, {.func = iw_func_new_host(en->store, &t_add, host_add, en, &err)}},
      {IW_EXTERN_FUNC, {.func = iw_func_new_host(en->store, &t_re, host_reenter, en, &err)}},
  };
  en->inst = iw_instantiate(en->store, m, imports, 2, &err);
  iw_module_free(m); /* instances keep what they need */
  if (!en->inst) fprintf(stderr, "  instantiate: %s\n", err.msg);
  return en->inst;
}

static iw_func *fn(env *en, const char *name) {
  iw_extern ex;
  if (iw_instance_export(en->inst, name, &ex) < 0 || ex.kind != IW_EXTERN_FUNC) return NULL;
  return ex.of.func;
}

static iw_val i32(uint32_t v) { return (iw_val){.type = IW_I32, .of.i32 = v}; }

/* Calls an (i32...) -> i32 export; returns 0/-1 like iw_call. */
static int call_i32(env *en, const char *name, const iw_val *args, size_t n, uint32_t *out,
                    iw_error *err) {
  iw_val r[1];
  iw_func *f = fn(en, name);
  if (!f) return -2;
  int rc = iw_call(en->store, f, args, n, r, 1, err);
  if (rc == 0) *out = r[0].of.i32;
  return rc;
}

static void calls_and_host_imports(void) {
  env en;
  CHECK(setup(&en, NULL));
  if (!en.inst) return;
  iw_error err;
  uint32_t r = 0;
  iw_val a[2] = {i32(20), i32(22)};
  CHECK(call_i32(&en, "fib", a, 1, &r, &err) == 0 && r == 6765);
  CHECK(call_i32(&en, "callhost", a, 2, &r, &err) == 0 && r == 42);
  CHECK(call_i32(&en, "viahost", a, 1, &r, &err) == 0 && r == 6765);
  CHECK(en.host_calls == 2);
  iw_val s[1] = {i32(100)};
  CHECK(call_i32(&en, "sum", s, 1, &r, &err) == 0 && r == 5050);
  CHECK(call_i32(&en, "splat_sum", s, 1, &r, &err) == 0 && r == 104);
  iw_val ind[2] = {i32(10), i32(0)};
  CHECK(call_i32(&en, "indirect", ind, 2, &r, &err) == 0 && r == 55);
  /* Multi-value: (i64, f64) -> (f64, i64). */
  iw_val sw[2] = {{.type = IW_I64, .of.i64 = 1ull << 40}, {.type = IW_F64, .of.f64 = 0x400921fb54442d18ull}};
  iw_val res[2];
  CHECK(iw_call(en.store, fn(&en, "swap"), sw, 2, res, 2, &err) == 0);
  CHECK(res[0].type == IW_F64 && res[0].of.f64 == 0x400921fb54442d18ull);
  CHECK(res[1].type == IW_I64 && res[1].of.i64 == 1ull << 40);
  /* Wrong argument count or type: a usage error, nothing runs. */
  CHECK(call_i32(&en, "fib", a, 2, &r, &err) == -1 && err.kind == IW_ERR_USAGE);
  iw_val wrong = {.type = IW_I64, .of.i64 = 3};
  CHECK(call_i32(&en, "fib", &wrong, 1, &r, &err) == -1 && err.kind == IW_ERR_USAGE);
  /* Globals through the API. */
  iw_extern g;
  CHECK(iw_instance_export(en.inst, "g", &g) == 0 && g.kind == IW_EXTERN_GLOBAL);
  iw_val gv;
  iw_global_get(g.of.global, &gv);
  CHECK(gv.type == IW_I32 && gv.of.i32 == 7);
  iw_val nv = i32(9);
  CHECK(iw_global_set(g.of.global, &nv, &err) == 0);
  iw_global_get(g.of.global, &gv);
  CHECK(gv.of.i32 == 9);
  CHECK(iw_instance_export(en.inst, "nope", &g) == -1);
  iw_store_free(en.store);
}

static void traps_of_each_kind(bool explicit_bounds) {
  iw_limits lim = {.explicit_bounds = explicit_bounds};
  env en;
  CHECK(setup(&en, &lim));
  if (!en.inst) return;
  iw_error err;
  uint32_t r;
  iw_val a[2] = {i32(1), i32(0)};
  CHECK(call_i32(&en, "div", a, 2, &r, &err) == -1);
  CHECK(err.kind == IW_ERR_TRAP && err.trap == IW_TRAP_DIV_ZERO);
  CHECK_STR_CONTAINS(err.msg, "integer divide by zero");
  a[0] = i32(0x80000000u), a[1] = i32(0xffffffffu);
  CHECK(call_i32(&en, "div", a, 2, &r, &err) == -1 && err.trap == IW_TRAP_INT_OVERFLOW);
  /* The last four bytes of the page load; one byte further traps. */
  a[0] = i32(65532);
  CHECK(call_i32(&en, "load", a, 1, &r, &err) == 0);
  a[0] = i32(65533);
  CHECK(call_i32(&en, "load", a, 1, &r, &err) == -1);
  CHECK(err.kind == IW_ERR_TRAP && err.trap == IW_TRAP_MEM_OOB);
  a[0] = i32(0xfffffffcu);
  CHECK(call_i32(&en, "load", a, 1, &r, &err) == -1 && err.trap == IW_TRAP_MEM_OOB);
  /* After a trap the store is usable, and growing makes the address valid. */
  a[0] = i32(1);
  CHECK(call_i32(&en, "grow", a, 1, &r, &err) == 0 && r == 1);
  CHECK(call_i32(&en, "grow", a, 1, &r, &err) == 0 && r == 0xffffffffu); /* max is 2 */
  iw_val st[2] = {i32(65536 + 100), i32(1234)};
  CHECK(iw_call(en.store, fn(&en, "store"), st, 2, NULL, 0, &err) == 0);
  CHECK(call_i32(&en, "load", st, 1, &r, &err) == 0 && r == 1234);
  iw_extern mem;
  CHECK(iw_instance_export(en.inst, "mem", &mem) == 0 && iw_memory_size(mem.of.memory) == 131072);
  CHECK(memcmp(iw_memory_data(mem.of.memory) + 65536 + 100, &(uint32_t){1234}, 4) == 0);
  /* call_indirect: an empty slot, an index past the table, a type mismatch. */
  iw_val ind[2] = {i32(1), i32(1)};
  CHECK(call_i32(&en, "indirect", ind, 2, &r, &err) == -1 && err.trap == IW_TRAP_UNINITIALIZED_ELEMENT);
  ind[1] = i32(2);
  CHECK(call_i32(&en, "indirect", ind, 2, &r, &err) == -1 && err.trap == IW_TRAP_UNDEFINED_ELEMENT);
  iw_store_free(en.store);
}

static void traps_guarded(void) { traps_of_each_kind(false); }
static void traps_explicit(void) { traps_of_each_kind(true); }

static void call_depth_limit(void) {
  iw_limits lim = {.max_call_depth = 500};
  env en;
  CHECK(setup(&en, &lim));
  if (!en.inst) return;
  iw_error err;
  uint32_t r;
  iw_val a[1] = {i32(1)};
  CHECK(call_i32(&en, "rec", a, 1, &r, &err) == -1);
  CHECK(err.kind == IW_ERR_EXHAUSTED && err.trap == IW_TRAP_STACK_EXHAUSTED);
  CHECK_STR_CONTAINS(err.msg, "call stack exhausted");
  /* Depth 500 is enough for fib(20) and the store still works. */
  a[0] = i32(20);
  CHECK(call_i32(&en, "fib", a, 1, &r, &err) == 0 && r == 6765);
  iw_store_free(en.store);
}

static void fuel_and_deadline(void) {
  iw_limits lim = {.fuel = 100000};
  env en;
  CHECK(setup(&en, &lim));
  if (!en.inst) return;
  iw_error err;
  CHECK(iw_call(en.store, fn(&en, "spin"), NULL, 0, NULL, 0, &err) == -1);
  CHECK(err.kind == IW_ERR_EXHAUSTED && err.trap == IW_TRAP_OUT_OF_FUEL);
  iw_store_free(en.store);

  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lim = (iw_limits){.deadline_ns = (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec + 50000000u};
  CHECK(setup(&en, &lim));
  if (!en.inst) return;
  CHECK(iw_call(en.store, fn(&en, "spin"), NULL, 0, NULL, 0, &err) == -1);
  CHECK(err.kind == IW_ERR_EXHAUSTED && err.trap == IW_TRAP_DEADLINE);
  iw_store_free(en.store);
}

static void *interrupter(void *s) {
  usleep(30000);
  iw_store_interrupt(s);
  return NULL;
}

static void interrupt_from_another_thread(void) {
  env en;
  CHECK(setup(&en, NULL));
  if (!en.inst) return;
  pthread_t t;
  pthread_create(&t, NULL, interrupter, en.store);
  iw_error err;
  CHECK(iw_call(en.store, fn(&en, "spin"), NULL, 0, NULL, 0, &err) == -1);
  CHECK(err.trap == IW_TRAP_INTERRUPTED);
  pthread_join(t, NULL);
  uint32_t r;
  iw_val a[1] = {i32(10)};
  CHECK(call_i32(&en, "fib", a, 1, &r, &err) == 0 && r == 55);
  iw_store_free(en.store);
}

static void error_messages(void) {
  iw_error err;
  CHECK(iw_module_new(bad_bytes, sizeof bad_bytes, &err) == NULL);
  CHECK(err.kind == IW_ERR_INVALID);
  CHECK_STR_CONTAINS(err.msg, "code section, function 0, offset 0x");
  CHECK_STR_CONTAINS(err.msg, "type mismatch");
  CHECK(err.func_index == 0 && err.offset > 0);
  CHECK(iw_module_new(mod_bytes, 20, &err) == NULL && err.kind == IW_ERR_MALFORMED);
  /* Linking: a missing import is unlinkable. */
  iw_store *s = iw_store_new(NULL, &err);
  iw_module *m = iw_module_new(mod_bytes, sizeof mod_bytes, &err);
  CHECK(m && iw_module_import_count(m) == 2);
  iw_extern none[2] = {{IW_EXTERN_FUNC, {.func = NULL}}, {IW_EXTERN_FUNC, {.func = NULL}}};
  CHECK(iw_instantiate(s, m, none, 2, &err) == NULL && err.kind == IW_ERR_UNLINKABLE);
  iw_module_free(m);
  iw_store_free(s);
  CHECK(strcmp(iw_trap_name(IW_TRAP_INDIRECT_MISMATCH), "indirect call type mismatch") == 0);
}

int main(void) {
  RUN(calls_and_host_imports);
  RUN(traps_guarded);
  RUN(traps_explicit);
  RUN(call_depth_limit);
  RUN(fuel_and_deadline);
  RUN(interrupt_from_another_thread);
  RUN(error_messages);
  return UNIT_END();
}
