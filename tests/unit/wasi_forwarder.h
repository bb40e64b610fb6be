/* A WebAssembly module that reaches the WASI layer as a guest would, for tests/unit/test_wasi.c
 * and tests/fuzz/fuzz_wasi.c: it imports WASI functions and exports, under each one's name, a
 * function of the same type that passes its parameters straight on; with `memory`, one page
 * (min 1, max 1) exported as "memory". The module is built here, byte by byte, so the tests
 * need no wasm toolchain.
 */
#ifndef ISOLA_TEST_WASI_FORWARDER_H
#define ISOLA_TEST_WASI_FORWARDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct wasi_fn {
  const char *name, *params, *results; /* 'i' i32, 'I' i64 */
};

/* wasi_snapshot_preview1 (witx) as core wasm signatures, then one function preview 1 does not
 * have (the host links it to a stub that answers ENOSYS). */
static const struct wasi_fn wasi_fns[] = {
    {"args_get", "ii", "i"},
    {"args_sizes_get", "ii", "i"},
    {"environ_get", "ii", "i"},
    {"environ_sizes_get", "ii", "i"},
    {"clock_res_get", "ii", "i"},
    {"clock_time_get", "iIi", "i"},
    {"fd_advise", "iIIi", "i"},
    {"fd_allocate", "iII", "i"},
    {"fd_close", "i", "i"},
    {"fd_datasync", "i", "i"},
    {"fd_fdstat_get", "ii", "i"},
    {"fd_fdstat_set_flags", "ii", "i"},
    {"fd_fdstat_set_rights", "iII", "i"},
    {"fd_filestat_get", "ii", "i"},
    {"fd_filestat_set_size", "iI", "i"},
    {"fd_filestat_set_times", "iIIi", "i"},
    {"fd_pread", "iiiIi", "i"},
    {"fd_prestat_get", "ii", "i"},
    {"fd_prestat_dir_name", "iii", "i"},
    {"fd_pwrite", "iiiIi", "i"},
    {"fd_read", "iiii", "i"},
    {"fd_readdir", "iiiIi", "i"},
    {"fd_renumber", "ii", "i"},
    {"fd_seek", "iIii", "i"},
    {"fd_sync", "i", "i"},
    {"fd_tell", "ii", "i"},
    {"fd_write", "iiii", "i"},
    {"path_create_directory", "iii", "i"},
    {"path_filestat_get", "iiiii", "i"},
    {"path_filestat_set_times", "iiiiIIi", "i"},
    {"path_link", "iiiiiii", "i"},
    {"path_open", "iiiiiIIii", "i"},
    {"path_readlink", "iiiiii", "i"},
    {"path_remove_directory", "iii", "i"},
    {"path_rename", "iiiiii", "i"},
    {"path_symlink", "iiiii", "i"},
    {"path_unlink_file", "iii", "i"},
    {"poll_oneoff", "iiii", "i"},
    {"proc_exit", "i", ""},
    {"proc_raise", "i", "i"},
    {"sched_yield", "", "i"},
    {"random_get", "ii", "i"},
    {"sock_accept", "iii", "i"},
    {"sock_recv", "iiiiii", "i"},
    {"sock_send", "iiiii", "i"},
    {"sock_shutdown", "ii", "i"},
    {"not_in_preview1", "i", "i"},
};
#define WASI_NFNS (sizeof wasi_fns / sizeof wasi_fns[0])
#define WASI_NFNS_PREVIEW1 (WASI_NFNS - 1)

struct wasm_buf {
  uint8_t b[16384];
  size_t n;
};

static inline void wb_put(struct wasm_buf *b, uint8_t v) {
  if (b->n < sizeof b->b) b->b[b->n++] = v;
}
static inline void wb_leb(struct wasm_buf *b, uint32_t v) {
  do {
    wb_put(b, (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
    v >>= 7;
  } while (v);
}
static inline void wb_name(struct wasm_buf *b, const char *s) {
  wb_leb(b, (uint32_t)strlen(s));
  while (*s)
    wb_put(b, (uint8_t)*s++);
}
static inline void wb_types(struct wasm_buf *b, const char *sig) {
  wb_leb(b, (uint32_t)strlen(sig));
  for (; *sig; sig++)
    wb_put(b, *sig == 'I' ? 0x7e : 0x7f);
}
static inline void wb_section(struct wasm_buf *out, uint8_t id, const struct wasm_buf *payload) {
  wb_put(out, id);
  wb_leb(out, (uint32_t)payload->n);
  for (size_t i = 0; i < payload->n; i++)
    wb_put(out, payload->b[i]);
}

/* The forwarding module over the first n of wasi_fns (function i is import i, function n + i
 * its forwarder). Returns its length, or 0 when it does not fit in `size`. */
static inline size_t wasi_forwarder_module(uint8_t *out, size_t size, size_t n, bool memory) {
  static struct wasm_buf m, s;
  m = (struct wasm_buf){.b = {0, 'a', 's', 'm', 1, 0, 0, 0}, .n = 8};
  s.n = 0; /* types: one per function */
  wb_leb(&s, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    wb_put(&s, 0x60);
    wb_types(&s, wasi_fns[i].params);
    wb_types(&s, wasi_fns[i].results);
  }
  wb_section(&m, 1, &s);
  s.n = 0; /* imports */
  wb_leb(&s, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    wb_name(&s, "wasi_snapshot_preview1");
    wb_name(&s, wasi_fns[i].name);
    wb_put(&s, 0);
    wb_leb(&s, (uint32_t)i);
  }
  wb_section(&m, 2, &s);
  s.n = 0; /* functions */
  wb_leb(&s, (uint32_t)n);
  for (size_t i = 0; i < n; i++)
    wb_leb(&s, (uint32_t)i);
  wb_section(&m, 3, &s);
  if (memory) {
    s.n = 0; /* memory 0: one page, no more */
    wb_leb(&s, 1);
    wb_put(&s, 1);
    wb_leb(&s, 1);
    wb_leb(&s, 1);
    wb_section(&m, 5, &s);
  }
  s.n = 0; /* exports: the forwarders under the imports' names, and the memory */
  wb_leb(&s, (uint32_t)(n + (memory ? 1 : 0)));
  for (size_t i = 0; i < n; i++) {
    wb_name(&s, wasi_fns[i].name);
    wb_put(&s, 0);
    wb_leb(&s, (uint32_t)(n + i));
  }
  if (memory) {
    wb_name(&s, "memory");
    wb_put(&s, 2);
    wb_leb(&s, 0);
  }
  wb_section(&m, 7, &s);
  s.n = 0; /* code: local.get each param, call the import, end */
  wb_leb(&s, (uint32_t)n);
  for (size_t i = 0; i < n; i++) {
    size_t np = strlen(wasi_fns[i].params);
    struct wasm_buf body = {.n = 0};
    wb_put(&body, 0); /* no locals */
    for (size_t p = 0; p < np; p++) {
      wb_put(&body, 0x20);
      wb_leb(&body, (uint32_t)p);
    }
    wb_put(&body, 0x10);
    wb_leb(&body, (uint32_t)i);
    wb_put(&body, 0x0b);
    wb_leb(&s, (uint32_t)body.n);
    for (size_t k = 0; k < body.n; k++)
      wb_put(&s, body.b[k]);
  }
  wb_section(&m, 10, &s);
  if (m.n > size || m.n == sizeof m.b) return 0;
  memcpy(out, m.b, m.n);
  return m.n;
}

#endif
