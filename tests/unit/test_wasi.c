/* The WASI layer through the engine, for what a C program compiled with wasi-libc never does:
 * pointers past the end of memory, lengths that overflow, fds that were never opened.
 *
 * A module built here imports WASI functions and exports, for each, a function of the same type
 * that just forwards its arguments, plus its memory; each test writes guest structures into that
 * memory, calls the forwarder, and checks the errno and what was written back.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "isola/wasi.h"
#include "isola/wasm.h"
#include "unit.h"

/* ---- a forwarding module -------------------------------------------------------------- */

static const struct {
  const char *name, *params, *results; /* 'i' i32, 'I' i64 */
} fns[] = {
    {"args_get", "ii", "i"},
    {"args_sizes_get", "ii", "i"},
    {"environ_get", "ii", "i"},
    {"environ_sizes_get", "ii", "i"},
    {"fd_write", "iiii", "i"},
    {"fd_read", "iiii", "i"},
    {"fd_close", "i", "i"},
    {"fd_seek", "iIii", "i"},
    {"fd_fdstat_get", "ii", "i"},
    {"fd_prestat_get", "ii", "i"},
    {"fd_prestat_dir_name", "iii", "i"},
    {"clock_time_get", "iIi", "i"},
    {"clock_res_get", "ii", "i"},
    {"random_get", "ii", "i"},
    {"proc_exit", "i", ""},
    {"sched_yield", "", "i"},
    {"path_open", "iiiiiIIii", "i"},
    {"not_in_preview1", "i", "i"},
};
#define NFNS (sizeof fns / sizeof fns[0])

struct buf {
  uint8_t b[8192];
  size_t n;
};

static void put(struct buf *b, uint8_t v) {
  if (b->n < sizeof b->b) b->b[b->n++] = v;
}
static void leb(struct buf *b, uint32_t v) {
  do {
    put(b, (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0)));
    v >>= 7;
  } while (v);
}
static void name(struct buf *b, const char *s) {
  leb(b, (uint32_t)strlen(s));
  while (*s)
    put(b, (uint8_t)*s++);
}
static void types(struct buf *b, const char *sig) {
  leb(b, (uint32_t)strlen(sig));
  for (; *sig; sig++)
    put(b, *sig == 'I' ? 0x7e : 0x7f);
}
static void section(struct buf *out, uint8_t id, const struct buf *payload) {
  put(out, id);
  leb(out, (uint32_t)payload->n);
  for (size_t i = 0; i < payload->n; i++)
    put(out, payload->b[i]);
}

static size_t build_module(uint8_t *out, size_t size) {
  static struct buf m, s;
  m = (struct buf){.b = {0, 'a', 's', 'm', 1, 0, 0, 0}, .n = 8};
  s.n = 0; /* types: one per function */
  leb(&s, NFNS);
  for (size_t i = 0; i < NFNS; i++) {
    put(&s, 0x60);
    types(&s, fns[i].params);
    types(&s, fns[i].results);
  }
  section(&m, 1, &s);
  s.n = 0; /* imports */
  leb(&s, NFNS);
  for (size_t i = 0; i < NFNS; i++) {
    name(&s, "wasi_snapshot_preview1");
    name(&s, fns[i].name);
    put(&s, 0);
    leb(&s, (uint32_t)i);
  }
  section(&m, 2, &s);
  s.n = 0; /* functions */
  leb(&s, NFNS);
  for (size_t i = 0; i < NFNS; i++)
    leb(&s, (uint32_t)i);
  section(&m, 3, &s);
  s.n = 0; /* memory 0: one page */
  leb(&s, 1);
  put(&s, 0);
  leb(&s, 1);
  section(&m, 5, &s);
  s.n = 0; /* exports: the forwarders under the imports' names, and the memory */
  leb(&s, NFNS + 1);
  for (size_t i = 0; i < NFNS; i++) {
    name(&s, fns[i].name);
    put(&s, 0);
    leb(&s, (uint32_t)(NFNS + i));
  }
  name(&s, "memory");
  put(&s, 2);
  leb(&s, 0);
  section(&m, 7, &s);
  s.n = 0; /* code: local.get each param, call the import, end */
  leb(&s, NFNS);
  for (size_t i = 0; i < NFNS; i++) {
    size_t np = strlen(fns[i].params);
    struct buf body = {.n = 0};
    put(&body, 0); /* no locals */
    for (size_t p = 0; p < np; p++) {
      put(&body, 0x20);
      leb(&body, (uint32_t)p);
    }
    put(&body, 0x10);
    leb(&body, (uint32_t)i);
    put(&body, 0x0b);
    leb(&s, (uint32_t)body.n);
    for (size_t k = 0; k < body.n; k++)
      put(&s, body.b[k]);
  }
  section(&m, 10, &s);
  if (m.n > size || m.n == sizeof m.b) return 0;
  memcpy(out, m.b, m.n);
  return m.n;
}

/* ---- fixture ---------------------------------------------------------------------------- */

static iw_store *store;
static iw_instance *inst;
static iw_wasi *wasi;
static uint8_t *mem;
static uint64_t memsize;
static int pin[2], pout[2], errfile = -1;

static iw_func *fn(const char *n) {
  iw_extern e;
  return iw_instance_export(inst, n, &e) == 0 && e.kind == IW_EXTERN_FUNC ? e.of.func : NULL;
}

/* Calls forwarder `n` with i32/i64 arguments as the signature says; the errno, or -1 on a
 * failed call (err then says why). */
static int64_t callw(const char *n, const uint64_t *args, iw_error *err) {
  iw_val a[16], r[1];
  iw_error local;
  size_t np = 0, nr = 0;
  for (size_t i = 0; i < NFNS; i++)
    if (strcmp(fns[i].name, n) == 0) {
      np = strlen(fns[i].params);
      nr = strlen(fns[i].results);
      for (size_t k = 0; k < np; k++)
        a[k] = fns[i].params[k] == 'I' ? (iw_val){.type = IW_I64, .of.i64 = args[k]}
                                       : (iw_val){.type = IW_I32, .of.i32 = (uint32_t)args[k]};
    }
  if (!err) err = &local;
  if (iw_call(store, fn(n), a, np, r, nr, err) < 0) return -1;
  return nr ? r[0].of.i32 : 0;
}
#define CALL(n, ...) callw(n, (const uint64_t[]){__VA_ARGS__, 0}, NULL)

static uint32_t ld32(uint32_t p) {
  return (uint32_t)mem[p] | (uint32_t)mem[p + 1] << 8 | (uint32_t)mem[p + 2] << 16 |
         (uint32_t)mem[p + 3] << 24;
}
static uint64_t ld64(uint32_t p) {
  return ld32(p) | (uint64_t)ld32(p + 4) << 32;
}
static void st32(uint32_t p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    mem[p + i] = (uint8_t)(v >> (8 * i));
}

enum { EBADF_ = 8, EFAULT_ = 21, EINVAL_ = 28, ENAMETOOLONG_ = 37, ENOSYS_ = 52, ENOTCAP_ = 76 };

static int setup(void) {
  static char *argv[] = {"prog", "a1", "b two", NULL}, *envp[] = {"K=V", NULL};
  static const struct iw_wasi_dir dirs[] = {{"/", "/sandbox"}};
  static uint8_t bytes[8192];
  iw_error err;
  if (pipe(pin) < 0 || pipe(pout) < 0) return -1;
  errfile = open("/tmp", O_TMPFILE | O_RDWR, 0600); /* a seekable stderr */
  struct iw_wasi_config c = {.argc = 3,
                             .argv = argv,
                             .envp = envp,
                             .dirs = dirs,
                             .ndirs = 1,
                             .stdin_fd = pin[0],
                             .stdout_fd = pout[1],
                             .stderr_fd = errfile};
  size_t len = build_module(bytes, sizeof bytes);
  iw_module *m = len ? iw_module_new(bytes, len, &err) : NULL;
  iw_extern imports[NFNS];
  if (!m || !(store = iw_store_new(NULL, &err)) || !(wasi = iw_wasi_new(&c, &err)) ||
      iw_wasi_imports(wasi, store, m, imports, &err) < 0 ||
      !(inst = iw_instantiate(store, m, imports, NFNS, &err))) {
    fprintf(stderr, "setup: %s\n", len ? err.msg : "module too large");
    return -1;
  }
  iw_module_free(m);
  iw_extern e;
  if (iw_instance_export(inst, "memory", &e) < 0) return -1;
  mem = iw_memory_data(e.of.memory);
  memsize = iw_memory_size(e.of.memory);
  return memsize == 65536 ? 0 : -1;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void args_and_environ(void) {
  CHECK(CALL("args_sizes_get", 0, 4) == 0);
  CHECK(ld32(0) == 3 && ld32(4) == 14);
  CHECK(CALL("args_get", 100, 200) == 0);
  CHECK(ld32(100) == 200 && strcmp((char *)mem + ld32(104), "a1") == 0 &&
        strcmp((char *)mem + ld32(108), "b two") == 0);
  CHECK(CALL("args_get", 65530, 200) == EFAULT_); /* 3 pointers do not fit */
  CHECK(CALL("args_get", 100, 65530) == EFAULT_); /* 14 bytes do not fit */
  CHECK(CALL("args_sizes_get", 65533, 4) == EFAULT_);
  CHECK(CALL("environ_sizes_get", 0, 4) == 0 && ld32(0) == 1 && ld32(4) == 4);
  CHECK(CALL("environ_get", 100, 200) == 0 && strcmp((char *)mem + ld32(100), "K=V") == 0);
}

static void fd_write_checks_every_pointer(void) {
  char got[64] = {0};
  memcpy(mem + 1000, "hello ", 6);
  memcpy(mem + 2000, "world\n", 6);
  st32(300, 1000), st32(304, 6), st32(308, 2000), st32(312, 6);
  CHECK(CALL("fd_write", 1, 300, 2, 400) == 0 && ld32(400) == 12);
  CHECK(read(pout[0], got, sizeof got) == 12 && strcmp(got, "hello world\n") == 0);
  st32(308, 65535), st32(312, 2); /* one byte past the end */
  CHECK(CALL("fd_write", 1, 300, 2, 400) == EFAULT_);
  st32(308, 65534), st32(312, 2); /* exactly up to the end */
  CHECK(CALL("fd_write", 1, 300, 2, 400) == 0 && read(pout[0], got, sizeof got) == 8);
  st32(308, 0xffffffff), st32(312, 0xffffffff); /* wraps in 32 bits */
  CHECK(CALL("fd_write", 1, 300, 2, 400) == EFAULT_);
  CHECK(CALL("fd_write", 1, 300, 1, 65533) == EFAULT_);        /* result pointer */
  CHECK(CALL("fd_write", 1, 65530, 1, 400) == EFAULT_);        /* iovec array */
  CHECK(CALL("fd_write", 1, 300, 0x20000000, 400) == EINVAL_); /* more than IOV_MAX */
  CHECK(CALL("fd_write", 9, 300, 1, 400) == EBADF_);
  CHECK(CALL("fd_write", 0xffffffff, 300, 1, 400) == EBADF_);
  CHECK(CALL("fd_write", 0, 300, 1, 400) == ENOTCAP_); /* stdin is not writable */
  CHECK(CALL("fd_write", 3, 300, 1, 400) == ENOTCAP_); /* nor is a directory */
  CHECK(CALL("fd_write", 1, 300, 0, 400) == 0 && ld32(400) == 0);
}

static void fd_read_scatters(void) {
  CHECK(write(pin[1], "abcdef", 6) == 6);
  st32(300, 5000), st32(304, 4), st32(308, 6000), st32(312, 100);
  CHECK(CALL("fd_read", 0, 300, 2, 400) == 0 && ld32(400) == 6);
  CHECK(memcmp(mem + 5000, "abcd", 4) == 0 && memcmp(mem + 6000, "ef", 2) == 0);
  CHECK(CALL("fd_read", 1, 300, 2, 400) == ENOTCAP_);
}

static void preopens(void) {
  CHECK(CALL("fd_prestat_get", 3, 500) == 0 && mem[500] == 0 && ld32(504) == 8);
  memset(mem + 600, 'x', 16);
  CHECK(CALL("fd_prestat_dir_name", 3, 600, 8) == 0);
  CHECK(memcmp(mem + 600, "/sandbox", 8) == 0 && mem[608] == 'x'); /* no NUL written */
  CHECK(CALL("fd_prestat_dir_name", 3, 600, 7) == ENAMETOOLONG_);
  CHECK(CALL("fd_prestat_dir_name", 3, 65535, 8) == EFAULT_);
  CHECK(CALL("fd_prestat_get", 4, 500) == EBADF_);
  CHECK(CALL("fd_prestat_get", 1, 500) == EBADF_);
  CHECK(CALL("fd_prestat_get", 3, 65532) == EFAULT_);
  CHECK(CALL("path_open", 3, 0, 0, 0, 0, 0, 0, 0, 0) == ENOSYS_);
}

static void fdstat_and_seek(void) {
  CHECK(CALL("fd_fdstat_get", 1, 700) == 0);
  CHECK(mem[700] == 0 && (ld64(708) & (1u << 6)) && !(ld64(708) & 4)); /* pipe: write, no seek */
  CHECK(CALL("fd_fdstat_get", 3, 700) == 0 && mem[700] == 3 && (ld64(708) & (1u << 13)));
  CHECK(CALL("fd_fdstat_get", 5, 700) == EBADF_);
  CHECK(CALL("fd_fdstat_get", 1, 65530) == EFAULT_);
  CHECK(CALL("fd_seek", 1, 0, 0, 800) == ENOTCAP_);
  CHECK(CALL("fd_seek", 1, 0, 3, 800) == EINVAL_);
  CHECK(CALL("fd_seek", 2, 5, 0, 800) == 0 && ld64(800) == 5);
  CHECK(CALL("fd_seek", 2, 0, 1, 800) == 0 && ld64(800) == 5);
  CHECK(CALL("fd_seek", 2, (uint64_t)-10, 1, 800) == EINVAL_);
  CHECK(CALL("fd_seek", 2, 0, 1, 65530) == EFAULT_);
}

static void clocks_and_random(void) {
  CHECK(CALL("clock_time_get", 1, 1, 900) == 0 && ld64(900) > 0);
  CHECK(CALL("clock_time_get", 0, 1, 900) == 0 && ld64(900) > 1600000000ull * 1000000000ull);
  CHECK(CALL("clock_time_get", 9, 1, 900) == EINVAL_);
  CHECK(CALL("clock_time_get", 0, 1, 65529) == EFAULT_);
  CHECK(CALL("clock_res_get", 1, 900) == 0 && ld64(900) >= 1 && ld64(900) < 1000000);
  memset(mem + 10000, 0, 64);
  CHECK(CALL("random_get", 10000, 64) == 0);
  int nonzero = 0;
  for (int i = 0; i < 64; i++)
    nonzero += mem[10000 + i] != 0;
  CHECK(nonzero > 40);
  CHECK(CALL("random_get", 65500, 37) == EFAULT_);
  CHECK(CALL("random_get", 65500, 36) == 0);
  CHECK(CALL("sched_yield", 0) == 0);
  CHECK(CALL("not_in_preview1", 0) == ENOSYS_);
}

static void close_then_exit(void) {
  iw_error err;
  int code = -7;
  CHECK(CALL("fd_close", 3) == 0 && CALL("fd_prestat_get", 3, 500) == EBADF_);
  CHECK(CALL("fd_close", 3) == EBADF_);
  CHECK(CALL("fd_close", 1) == 0 && CALL("fd_write", 1, 300, 0, 400) == EBADF_);
  CHECK(fcntl(pout[1], F_GETFD) >= 0); /* a lent stdio fd stays open on the host */
  CHECK(!iw_wasi_exited(wasi, &code) && code == -7);
  CHECK(callw("proc_exit", (const uint64_t[]){42}, &err) == -1);
  CHECK(err.kind == IW_ERR_EXIT && err.exit_code == 42);
  CHECK(iw_wasi_exited(wasi, &code) && code == 42);
}

static void bad_configs(void) {
  struct iw_wasi_dir d[] = {{"/nonexistent-dir", "/x"}};
  struct iw_wasi_config c = IW_WASI_CONFIG_INIT;
  iw_error err;
  c.dirs = d, c.ndirs = 1;
  CHECK(iw_wasi_new(&c, &err) == NULL && err.kind == IW_ERR_RESOURCE);
  CHECK_STR_CONTAINS(err.msg, "preopen `/nonexistent-dir`: No such file or directory");
  d[0].host = "/etc/passwd";
  CHECK(iw_wasi_new(&c, &err) == NULL);
  CHECK_STR_CONTAINS(err.msg, "Not a directory");
  c.ndirs = 0, c.argc = 2, c.argv = NULL;
  CHECK(iw_wasi_new(&c, &err) == NULL && err.kind == IW_ERR_USAGE);
}

int main(void) {
  if (setup() < 0) {
    printf("0 passed, 1 failed\n");
    return 1;
  }
  RUN(args_and_environ);
  RUN(fd_write_checks_every_pointer);
  RUN(fd_read_scatters);
  RUN(preopens);
  RUN(fdstat_and_seek);
  RUN(clocks_and_random);
  RUN(bad_configs);
  RUN(close_then_exit);
  iw_store_free(store);
  iw_wasi_free(wasi);
  return UNIT_END();
}
