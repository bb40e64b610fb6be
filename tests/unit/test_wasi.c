/* The WASI layer through the engine, for what a C program compiled with wasi-libc never does:
 * pointers past the end of memory, lengths that overflow, fds that were never opened, flags
 * with undefined bits, paths that try to leave the sandbox, and calls that block past the
 * deadline.
 *
 * A module built here imports every WASI preview 1 function and exports, for each, a function
 * of the same type that just forwards its arguments, plus its memory; each test writes guest
 * structures into that memory, calls the forwarder, and checks the errno and what was written
 * back. The sandbox is a fresh directory `outer/sb` (guest fd 3, "/sandbox"); `outer` holds a
 * canary the guest must never reach. The last case throws many thousands of random calls at
 * the layer and then checks that nothing appeared or changed outside the sandbox.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "isola/wasi.h"
#include "isola/wasm.h"
#include "unit.h"
#include "wasi_forwarder.h"

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
  for (size_t i = 0; i < WASI_NFNS; i++)
    if (strcmp(wasi_fns[i].name, n) == 0) {
      np = strlen(wasi_fns[i].params);
      nr = strlen(wasi_fns[i].results);
      for (size_t k = 0; k < np; k++)
        a[k] = wasi_fns[i].params[k] == 'I' ? (iw_val){.type = IW_I64, .of.i64 = args[k]}
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

static void st64(uint32_t p, uint64_t v) {
  st32(p, (uint32_t)v);
  st32(p + 4, (uint32_t)(v >> 32));
}
/* A guest string at `p` (no NUL needed by WASI; one is written for convenience). */
static uint32_t gstr(uint32_t p, const char *s) {
  memcpy(mem + p, s, strlen(s) + 1);
  return (uint32_t)strlen(s);
}

enum {
  EBADF_ = 8, EEXIST_ = 20, EFAULT_ = 21, EFBIG_ = 22, EINVAL_ = 28, EISDIR_ = 31, ELOOP_ = 32,
  ENAMETOOLONG_ = 37, ENOENT_ = 44, ENOSYS_ = 52, ENOTDIR_ = 54, ENOTEMPTY_ = 55, ENOTSOCK_ = 57,
  ENOTSUP_ = 58, EPERM_ = 63, ENOTCAP_ = 76
};
#define RIGHTS_RW ((1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 21) | (1u << 22))
#define RIGHTS_DIR_ALL (0x3fffffffull)

static char outer[256], sandbox[300];

static void write_host(const char *rel, const char *text) {
  char p[512];
  snprintf(p, sizeof p, "%s/%s", outer, rel);
  FILE *f = fopen(p, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

/* A store, a WASI instance and the forwarding module's instance over the sandbox. */
static int instantiate(void) {
  static char *argv[] = {"prog", "a1", "b two", NULL}, *envp[] = {"K=V", NULL};
  static struct iw_wasi_dir dirs[] = {{NULL, "/sandbox"}};
  static uint8_t bytes[16384];
  iw_error err;
  dirs[0].host = sandbox;
  struct iw_wasi_config c = {.argc = 3,
                             .argv = argv,
                             .envp = envp,
                             .dirs = dirs,
                             .ndirs = 1,
                             .stdin_fd = pin[0],
                             .stdout_fd = pout[1],
                             .stderr_fd = errfile};
  size_t len = wasi_forwarder_module(bytes, sizeof bytes, WASI_NFNS, true);
  iw_module *m = len ? iw_module_new(bytes, len, &err) : NULL;
  iw_extern imports[WASI_NFNS];
  if (!m || !(store = iw_store_new(NULL, &err)) || !(wasi = iw_wasi_new(&c, &err)) ||
      iw_wasi_imports(wasi, store, m, imports, &err) < 0 ||
      !(inst = iw_instantiate(store, m, imports, WASI_NFNS, &err))) {
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

static int setup(void) {
  snprintf(outer, sizeof outer, "/tmp/isola-test-wasi-XXXXXX");
  if (!mkdtemp(outer)) return -1;
  snprintf(sandbox, sizeof sandbox, "%s/sb", outer);
  if (mkdir(sandbox, 0755) < 0) return -1;
  write_host("canary", "outside\n");
  write_host("sb/file", "0123456789");
  if (pipe(pin) < 0 || pipe(pout) < 0) return -1;
  errfile = open("/tmp", O_TMPFILE | O_RDWR, 0600); /* a seekable stderr */
  return instantiate();
}

/* path_open(3, follow, path, oflags, rights, rights) -> errno; the new fd at guest 60000. */
static int64_t open_at(uint32_t dirfd, const char *path, uint32_t oflags, uint64_t rights) {
  uint32_t len = gstr(20000, path);
  return CALL("path_open", dirfd, 1, 20000, len, oflags, rights, rights, 0, 60000);
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
  /* positioned: pipes cannot seek; offsets past INT64_MAX are refused before the host */
  CHECK(CALL("fd_pwrite", 1, 300, 1, 0, 400) == ENOTCAP_);
  CHECK(CALL("fd_pwrite", 2, 300, 1, 0x8000000000000000ull, 400) == EINVAL_);
  CHECK(CALL("fd_pwrite", 2, 300, 1, 0, 65534) == EFAULT_);
  CHECK(CALL("fd_pread", 2, 300, 1, 0, 400) == ENOTCAP_); /* stderr: no read right */
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
  CHECK(CALL("fd_tell", 2, 800) == 0 && ld64(800) == 5);
  CHECK(CALL("fd_tell", 1, 800) == ENOTCAP_);
  CHECK(CALL("fd_tell", 2, 65535) == EFAULT_);
  /* flags: undefined bits, and sync flags that Linux cannot change after open */
  CHECK(CALL("fd_fdstat_set_flags", 2, 0x20) == EINVAL_);
  CHECK(CALL("fd_fdstat_set_flags", 2, 2) == ENOTSUP_);
  CHECK(CALL("fd_fdstat_set_flags", 2, 1) == 0 && CALL("fd_fdstat_get", 2, 700) == 0 &&
        (ld32(702) & 0xffff) == 1);
  CHECK(CALL("fd_fdstat_set_flags", 2, 0) == 0);
  CHECK(CALL("fd_fdstat_set_flags", 9, 0) == EBADF_);
}

static void clocks_and_random(void) {
  CHECK(CALL("clock_time_get", 1, 1, 900) == 0 && ld64(900) > 0);
  CHECK(CALL("clock_time_get", 0, 1, 900) == 0 && ld64(900) > 1600000000ull * 1000000000ull);
  CHECK(CALL("clock_time_get", 2, 1, 900) == 0 && CALL("clock_time_get", 3, 1, 900) == 0);
  CHECK(CALL("clock_time_get", 9, 1, 900) == EINVAL_);
  CHECK(CALL("clock_time_get", 0, 1, 65529) == EFAULT_);
  CHECK(CALL("clock_res_get", 1, 900) == 0 && ld64(900) >= 1 && ld64(900) < 1000000);
  CHECK(CALL("clock_res_get", 4, 900) == EINVAL_);
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

/* Paths: the pointer and length checks of the thin layer, then the sandbox. */
static void path_arguments(void) {
  CHECK(CALL("path_open", 3, 1, 65530, 10, 0, 2, 0, 0, 60000) == EFAULT_);
  CHECK(CALL("path_open", 3, 1, 100, 0xffffffff, 0, 2, 0, 0, 60000) == EFAULT_);
  memset(mem + 20000, 'a', 5000);
  CHECK(CALL("path_open", 3, 1, 20000, 4096, 0, 2, 0, 0, 60000) == ENAMETOOLONG_);
  CHECK(CALL("path_open", 3, 1, 20000, 300, 0, 2, 0, 0, 60000) == ENAMETOOLONG_); /* NAME_MAX */
  memcpy(mem + 20000, "file\0x", 6);
  CHECK(CALL("path_open", 3, 1, 20000, 6, 0, 2, 0, 0, 60000) == EINVAL_); /* NUL inside */
  CHECK(CALL("path_open", 3, 1, 20000, 4, 0, 2, 0, 0, 65533) == EFAULT_); /* result */
  CHECK(CALL("path_open", 3, 1, 20000, 0, 0, 2, 0, 0, 60000) == ENOENT_);  /* "" */
  CHECK(CALL("path_open", 3, 2, 20000, 4, 0, 2, 0, 0, 60000) == EINVAL_);  /* lookupflags */
  CHECK(CALL("path_open", 3, 1, 20000, 4, 0x10, 2, 0, 0, 60000) == EINVAL_); /* oflags */
  CHECK(CALL("path_open", 3, 1, 20000, 4, 0, 2, 0, 0x20, 60000) == EINVAL_); /* fdflags */
  CHECK(CALL("path_open", 1, 1, 20000, 4, 0, 2, 0, 0, 60000) == ENOTCAP_);   /* a pipe */
  CHECK(CALL("path_open", 77, 1, 20000, 4, 0, 2, 0, 0, 60000) == EBADF_);
  CHECK(CALL("path_open", 3, 1, 20000, 4, 0, 1ull << 40, 0, 0, 60000) == ENOTCAP_);
  uint32_t n = gstr(21000, "file");
  CHECK(CALL("path_filestat_get", 3, 0, 21000, n, 65500) == EFAULT_);
  CHECK(CALL("path_filestat_get", 3, 2, 21000, n, 30000) == EINVAL_);
  CHECK(CALL("path_readlink", 3, 21000, n, 65530, 100, 30000) == EFAULT_);
  CHECK(CALL("path_readlink", 3, 21000, n, 30000, 100, 65534) == EFAULT_);
  CHECK(CALL("path_readlink", 3, 21000, n, 30000, 100, 30200) == EINVAL_); /* not a link */
  CHECK(CALL("path_filestat_set_times", 3, 0, 21000, n, 0, 0, 3) == EINVAL_); /* ATIM|NOW */
  CHECK(CALL("path_filestat_set_times", 3, 0, 21000, n, 0, 0, 0x10) == EINVAL_);
  CHECK(CALL("path_rename", 3, 21000, n, 3, 65530, 20) == EFAULT_);
  CHECK(CALL("path_link", 3, 0, 21000, n, 3, 65530, 20) == EFAULT_);
  CHECK(CALL("path_link", 3, 4, 21000, n, 3, 21000, n) == EINVAL_);
  CHECK(CALL("path_symlink", 65530, 20, 3, 21000, n) == EFAULT_);
}

static void path_sandbox(void) {
  CHECK(open_at(3, "file", 0, RIGHTS_RW) == 0 && ld32(60000) == 4);
  CHECK(CALL("fd_close", 4) == 0);
  CHECK(open_at(3, "..", 2, 0) == EPERM_);
  CHECK(open_at(3, "../canary", 0, 2) == EPERM_);
  CHECK(open_at(3, "/etc/passwd", 0, 2) == EPERM_);
  CHECK(open_at(3, "./.././canary", 0, 2) == EPERM_);
  CHECK(open_at(3, "./x/../../canary", 0, 2) == ENOENT_); /* x is looked up first */
  char p[600];
  snprintf(p, sizeof p, "%s/canary", outer);
  char link_abs[512], link_rel[512];
  snprintf(link_abs, sizeof link_abs, "%s/abs", sandbox);
  snprintf(link_rel, sizeof link_rel, "%s/rel", sandbox);
  CHECK(symlink(p, link_abs) == 0);
  CHECK(symlink("../canary", link_rel) == 0);
  CHECK(open_at(3, "abs", 0, 2) == EPERM_);
  CHECK(open_at(3, "rel", 0, 2) == EPERM_);
  uint32_t n = gstr(21000, "rel");
  CHECK(CALL("path_open", 3, 0, 21000, n, 0, 2, 0, 0, 60000) == ELOOP_); /* nofollow */
  CHECK(CALL("path_filestat_get", 3, 1, 21000, n, 30000) == EPERM_);
  CHECK(CALL("path_filestat_get", 3, 0, 21000, n, 30000) == 0 && mem[30016] == 7);
  CHECK(CALL("path_readlink", 3, 21000, n, 30000, 3, 30200) == 0 && ld32(30200) == 3 &&
        !memcmp(mem + 30000, "../", 3)); /* cut to the buffer, no NUL */
  uint32_t t = gstr(22000, "../canary");
  n = gstr(21000, "newlink");
  CHECK(CALL("path_symlink", 22000, t, 3, 21000, n) == EPERM_);
  t = gstr(22000, "/etc");
  CHECK(CALL("path_symlink", 22000, t, 3, 21000, n) == EPERM_);
  t = gstr(22000, "file");
  CHECK(CALL("path_symlink", 22000, t, 3, 21000, n) == 0);
  CHECK(CALL("path_symlink", 22000, t, 3, 21000, n) == EEXIST_);
  n = gstr(21000, "d/");
  CHECK(CALL("path_create_directory", 3, 21000, n) == 0);
  CHECK(CALL("path_create_directory", 3, 21000, n) == EEXIST_);
  n = gstr(21000, "d/..");
  CHECK(CALL("path_create_directory", 3, 21000, n) == EEXIST_);
  CHECK(CALL("path_remove_directory", 3, 21000, n) == EINVAL_);
  n = gstr(21000, "file/");
  CHECK(CALL("path_unlink_file", 3, 21000, n) == ENOTDIR_);
  n = gstr(21000, "d");
  CHECK(CALL("path_unlink_file", 3, 21000, n) == EISDIR_);
  t = gstr(22000, "../../canary");
  n = gstr(21000, "d/up");
  CHECK(CALL("path_symlink", 22000, t, 3, 21000, n) == EPERM_);
  t = gstr(22000, "../file");
  CHECK(CALL("path_symlink", 22000, t, 3, 21000, n) == 0);
  n = gstr(21000, "d");
  t = gstr(22000, "../moved");
  CHECK(CALL("path_rename", 3, 21000, n, 3, 22000, t) == EPERM_);
  n = gstr(21000, "file");
  CHECK(CALL("path_link", 3, 0, 21000, n, 3, 22000, t) == EPERM_);
  n = gstr(21000, "d");
  CHECK(CALL("path_remove_directory", 3, 21000, n) == ENOTEMPTY_);
  /* rights: a directory fd opened with fewer rights passes on no more */
  CHECK(open_at(3, "d", 2, (1u << 13) | (1u << 14)) == 0);
  uint32_t dfd = ld32(60000);
  n = gstr(20000, "up");
  CHECK(CALL("path_open", dfd, 1, 20000, n, 0, 2, 2, 0, 60000) == ENOTCAP_);
  n = gstr(20000, "new");
  CHECK(CALL("path_create_directory", dfd, 20000, n) == ENOTCAP_);
  CHECK(CALL("fd_fdstat_set_rights", dfd, RIGHTS_DIR_ALL, 0) == ENOTCAP_); /* cannot grow */
  CHECK(CALL("fd_fdstat_set_rights", dfd, 1u << 14, 0) == 0);
  CHECK(CALL("fd_close", dfd) == 0);
}

/* fd_readdir: the dirent layout, cookies, and the last entry cut at the buffer's end. */
static void readdir_cookies(void) {
  char p[600];
  snprintf(p, sizeof p, "%s/ls", sandbox);
  CHECK(mkdir(p, 0755) == 0);
  for (int i = 0; i < 5; i++) {
    snprintf(p, sizeof p, "sb/ls/f%d", i);
    write_host(p, "");
  }
  CHECK(open_at(3, "ls", 2, 1u << 14) == 0);
  uint32_t fd = ld32(60000);
  memset(mem + 30000, 0xee, 4096);
  CHECK(CALL("fd_readdir", fd, 30000, 4096, 0, 29000) == 0);
  uint32_t used = ld32(29000), off = 0, count = 0;
  int names = 0;
  while (off + 24 <= used) {
    uint64_t next = ld64(30000 + off);
    uint32_t namlen = ld32(30000 + off + 16);
    uint8_t type = mem[30000 + off + 20];
    CHECK(next == count + 1); /* cookies count entries */
    const char *nm = (const char *)mem + 30000 + off + 24;
    if (namlen == 2 && nm[0] == 'f') names += type == 4;
    if (namlen == 2 && !memcmp(nm, "..", 2)) CHECK(ld64(30000 + off + 8) == 0);
    off += 24 + namlen;
    count++;
  }
  CHECK(off == used && count == 7 && names == 5);
  CHECK(mem[30000 + used] == 0xee); /* nothing written past what it says */
  /* From cookie 3: the other four entries, numbered on from 4. Past the end: nothing. */
  CHECK(CALL("fd_readdir", fd, 30000, 4096, 3, 29000) == 0);
  used = ld32(29000), off = 0, count = 0;
  while (off + 24 <= used) {
    CHECK(ld64(30000 + off) == 4 + count);
    off += 24 + ld32(30000 + off + 16);
    count++;
  }
  CHECK(off == used && count == 4);
  CHECK(CALL("fd_readdir", fd, 30000, 4096, 99, 29000) == 0 && ld32(29000) == 0);
  /* A buffer smaller than one entry: filled to the brim, so the guest knows there is more. */
  CHECK(CALL("fd_readdir", fd, 30000, 10, 0, 29000) == 0 && ld32(29000) == 10);
  CHECK(CALL("fd_readdir", fd, 30000, 25, 0, 29000) == 0 && ld32(29000) == 25);
  CHECK(CALL("fd_readdir", fd, 30000, 0, 0, 29000) == 0 && ld32(29000) == 0);
  CHECK(CALL("fd_readdir", fd, 65530, 100, 0, 29000) == EFAULT_);
  CHECK(CALL("fd_readdir", fd, 30000, 100, 0, 65534) == EFAULT_);
  CHECK(CALL("fd_readdir", 1, 30000, 100, 0, 29000) == ENOTCAP_);
  CHECK(CALL("fd_close", fd) == 0);
}

/* Calls on a file: sizes, times, advice, allocation, renumbering. */
static void file_calls(void) {
  CHECK(open_at(3, "f2", 1, RIGHTS_RW | (1u << 0) | (1u << 4) | (1u << 7) | (1u << 8) |
                               (1u << 23)) == 0);
  uint32_t fd = ld32(60000);
  CHECK(CALL("fd_filestat_set_size", fd, 100) == 0);
  CHECK(CALL("fd_filestat_get", fd, 31000) == 0 && ld64(31032) == 100 && mem[31016] == 4);
  CHECK(CALL("fd_filestat_get", fd, 65500) == EFAULT_);
  CHECK(CALL("fd_filestat_set_size", fd, 0x8000000000000000ull) == EFBIG_);
  CHECK(CALL("fd_filestat_set_times", fd, 5000000000ull, 7000000000ull, 1 | 4) == 0);
  CHECK(CALL("fd_filestat_get", fd, 31000) == 0 && ld64(31040) == 5000000000ull &&
        ld64(31048) == 7000000000ull);
  CHECK(CALL("fd_filestat_set_times", fd, 0, 0, 4 | 8) == EINVAL_);
  CHECK(CALL("fd_advise", fd, 0, 100, 6) == EINVAL_);
  CHECK(CALL("fd_advise", fd, 0, 100, 2) == 0);
  CHECK(CALL("fd_allocate", fd, 0, 4096) == 0);
  CHECK(CALL("fd_allocate", fd, 0x7fffffffffffffffull, 2) == EFBIG_);
  CHECK(CALL("fd_sync", fd) == 0 && CALL("fd_datasync", fd) == 0);
  CHECK(CALL("fd_sync", 1) == ENOTCAP_);
  /* renumber: both must be open; the moved fd keeps its rights, the old number is free */
  CHECK(open_at(3, "file", 0, 2) == 0);
  uint32_t other = ld32(60000);
  CHECK(CALL("fd_renumber", fd, 9999) == EBADF_);
  CHECK(CALL("fd_renumber", fd, other) == 0);
  CHECK(CALL("fd_filestat_get", other, 31000) == 0 && ld64(31032) == 4096);
  CHECK(CALL("fd_close", fd) == EBADF_);
  CHECK(CALL("fd_renumber", other, other) == 0);
  CHECK(CALL("fd_close", other) == 0);
}

static void poll_and_sockets(void) {
  /* subscription: userdata @0, tag @8, clock id @16, timeout @24, flags @40 */
  memset(mem + 40000, 0, 48 * 2);
  st64(40000, 77), mem[40008] = 0, st32(40016, 1), st64(40024, 1000000);
  CHECK(CALL("poll_oneoff", 40000, 41000, 1, 42000) == 0 && ld32(42000) == 1 &&
        ld64(41000) == 77 && mem[41010] == 0 && (ld32(41008) & 0xffff) == 0);
  CHECK(CALL("poll_oneoff", 40000, 41000, 0, 42000) == EINVAL_);
  CHECK(CALL("poll_oneoff", 40000, 41000, 100000, 42000) == EINVAL_);
  CHECK(CALL("poll_oneoff", 65500, 41000, 1, 42000) == EFAULT_);
  CHECK(CALL("poll_oneoff", 40000, 65510, 1, 42000) == EFAULT_);
  CHECK(CALL("poll_oneoff", 40000, 41000, 1, 65534) == EFAULT_);
  mem[40008] = 3; /* no such event type */
  CHECK(CALL("poll_oneoff", 40000, 41000, 1, 42000) == EINVAL_);
  mem[40008] = 1, st32(40016, 55); /* fd_read on a closed fd: an event with EBADF */
  CHECK(CALL("poll_oneoff", 40000, 41000, 1, 42000) == 0 && ld32(42000) == 1 &&
        (ld32(41008) & 0xffff) == EBADF_);
  CHECK(write(pin[1], "z", 1) == 1);
  st32(40016, 0); /* stdin has a byte */
  CHECK(CALL("poll_oneoff", 40000, 41000, 1, 42000) == 0 && ld32(42000) == 1 &&
        ld64(41016) == 1 && mem[41010] == 1);
  st32(300, 5000), st32(304, 1);
  CHECK(CALL("fd_read", 0, 300, 1, 400) == 0);
  /* sockets: fds that are not sockets, and flags preview 1 does not define */
  CHECK(CALL("sock_accept", 1, 0, 400) == ENOTSOCK_);
  CHECK(CALL("sock_accept", 99, 0, 400) == EBADF_);
  CHECK(CALL("sock_accept", 1, 2, 400) == EINVAL_);
  CHECK(CALL("sock_recv", 1, 300, 1, 0, 400, 404) == ENOTSOCK_);
  CHECK(CALL("sock_recv", 1, 300, 1, 8, 400, 404) == EINVAL_);
  CHECK(CALL("sock_recv", 1, 300, 1, 0, 65534, 404) == EFAULT_);
  CHECK(CALL("sock_send", 1, 300, 1, 1, 400) == EINVAL_);
  CHECK(CALL("sock_send", 1, 300, 1, 0, 400) == ENOTSOCK_);
  CHECK(CALL("sock_shutdown", 1, 0) == EINVAL_);
  CHECK(CALL("sock_shutdown", 1, 2) == ENOTSOCK_);
}

/* A wait never outlives the deadline, and an interrupt ends it. */
static iw_store *alarm_store;
static void on_alarm(int sig) {
  (void)sig;
  iw_store_interrupt(alarm_store);
}

static void blocking_calls_stop(void) {
  iw_error err;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  iw_wasi_set_deadline(wasi, (uint64_t)t0.tv_sec * 1000000000u + (uint64_t)t0.tv_nsec + 50000000);
  memset(mem + 40000, 0, 48);
  st32(40016, 1), st64(40024, 60000000000ull); /* a minute */
  CHECK(callw("poll_oneoff", (const uint64_t[]){40000, 41000, 1, 42000}, &err) == -1);
  CHECK(err.kind == IW_ERR_EXHAUSTED && err.trap == IW_TRAP_DEADLINE);
  st32(300, 5000), st32(304, 10); /* stdin is an empty pipe */
  CHECK(callw("fd_read", (const uint64_t[]){0, 300, 1, 400}, &err) == -1);
  CHECK(err.kind == IW_ERR_EXHAUSTED && err.trap == IW_TRAP_DEADLINE);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  CHECK(t1.tv_sec - t0.tv_sec < 5);
  iw_wasi_set_deadline(wasi, 0);
  /* No deadline, an interrupt from a signal handler 50 ms in. */
  alarm_store = store;
  struct sigaction sa = {.sa_handler = on_alarm}, old;
  sigaction(SIGALRM, &sa, &old);
  setitimer(ITIMER_REAL, &(struct itimerval){.it_value = {0, 50000}}, NULL);
  CHECK(callw("poll_oneoff", (const uint64_t[]){40000, 41000, 1, 42000}, &err) == -1);
  CHECK(err.kind == IW_ERR_TRAP && err.trap == IW_TRAP_INTERRUPTED);
  sigaction(SIGALRM, &old, NULL);
  CHECK(CALL("sched_yield", 0) == 0); /* the interrupt was reported once, not kept */
}

static void close_then_exit(void) {
  iw_error err;
  int code = -7;
  CHECK(CALL("fd_close", 3) == 0 && CALL("fd_prestat_get", 3, 500) == EBADF_);
  CHECK(CALL("fd_close", 3) == EBADF_);
  CHECK(CALL("fd_close", 1) == 0 && CALL("fd_write", 1, 300, 0, 400) == EBADF_);
  CHECK(fcntl(pout[1], F_GETFD) >= 0); /* a lent stdio fd stays open on the host */
  CHECK(!iw_wasi_exited(wasi, &code) && code == -7);
  CHECK(CALL("proc_raise", 99) == EINVAL_);
  CHECK(CALL("proc_raise", 19) == ENOTSUP_); /* SIGTSTP: no stopping */
  CHECK(CALL("proc_raise", 17) == 0);        /* SIGCONT: ignored by default */
  CHECK(!iw_wasi_exited(wasi, NULL));
  CHECK(callw("proc_exit", (const uint64_t[]){42}, &err) == -1);
  CHECK(err.kind == IW_ERR_EXIT && err.exit_code == 42);
  CHECK(iw_wasi_exited(wasi, &code) && code == 42);
  CHECK(callw("proc_raise", (const uint64_t[]){15}, &err) == -1); /* SIGTERM ends the run */
  CHECK(err.kind == IW_ERR_EXIT && err.exit_code == 128 + 15);
  CHECK(CALL("proc_raise", 16) == 0); /* witx 16 is SIGCHLD (Linux 17): ignored */
  CHECK(callw("proc_raise", (const uint64_t[]){30}, &err) == -1 && err.exit_code == 128 + 31);
}

/* Thousands of random calls (pointers anywhere, lengths and flags of every size, paths built
 * from "..", "/", names and links) with a short deadline so that nothing blocks. Every call
 * must come back with a WASI errno or a deadline trap, and the host outside the sandbox must
 * be as it was. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

static uint64_t rnd_arg(char kind) {
  switch (rnd() % 6) {
  case 0: return rnd() % 8;                       /* small: fds, flags, whence */
  case 1: return 50000 + rnd() % 64;              /* a pointer to the path area */
  case 2: return rnd() % 65536;                   /* anywhere in memory */
  case 3: return kind == 'I' ? rnd() : (uint32_t)rnd();
  case 4: return 65536 - rnd() % 64;              /* near the end */
  default: return kind == 'I' ? ~0ull >> (rnd() % 64) : 0xffffffffu - rnd() % 4;
  }
}

static int outside_count;
static int count_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)p, (void)st, (void)flag;
  outside_count += f->level == 1;
  return 0;
}

static void hostile_calls(void) {
  static const char *parts[] = {"..", "/", "sb", "x", "file", "d", ".", "abs", "rel", "//", "ls"};
  iw_error err;
  int bad = 0, calls = 0, succeeded = 0;
  iw_store_free(store); /* a fresh instance: the sandbox preopened again as fd 3 */
  iw_wasi_free(wasi);
  CHECK(instantiate() == 0);
  for (int round = 0; round < 20000; round++) {
    if (round % 64 == 0) { /* fresh paths in the path area */
      char path[64] = {0};
      for (int k = 0; k < 6; k++) {
        strncat(path, parts[rnd() % (sizeof parts / sizeof parts[0])], sizeof path - strlen(path) - 1);
        if (rnd() % 2) strncat(path, "/", sizeof path - strlen(path) - 1);
      }
      memcpy(mem + 50000, path, sizeof path);
      for (int k = 0; k < 64; k++) /* plus random iovecs, subscriptions and the like */
        mem[51000 + k] = (uint8_t)rnd();
    }
    size_t k = rnd() % WASI_NFNS;
    if (!strcmp(wasi_fns[k].name, "proc_exit")) continue;
    bool closes = !strcmp(wasi_fns[k].name, "fd_close") || !strcmp(wasi_fns[k].name, "fd_renumber");
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    iw_wasi_set_deadline(wasi, (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec + 2000000);
    uint64_t args[9];
    for (size_t i = 0; i < strlen(wasi_fns[k].params); i++)
      args[i] = rnd_arg(wasi_fns[k].params[i]);
    if (wasi_fns[k].params[0] == 'i' && rnd() % 2) args[0] = 3; /* mostly the sandbox */
    if (closes && (args[0] <= 3 || args[1] <= 3)) continue; /* keep stdio and the sandbox */
    calls++;
    int64_t r = callw(wasi_fns[k].name, args, &err);
    succeeded += r == 0;
    if (r < 0) {
      bool ok = (err.kind == IW_ERR_EXHAUSTED && err.trap == IW_TRAP_DEADLINE) ||
                (err.kind == IW_ERR_EXIT && !strcmp(wasi_fns[k].name, "proc_raise"));
      if (!ok && bad++ < 5) fprintf(stderr, "  %s failed: %s\n", wasi_fns[k].name, err.msg);
    } else if (r > 76 && strcmp(wasi_fns[k].name, "not_in_preview1") != 0) {
      if (bad++ < 5) fprintf(stderr, "  %s returned %lld\n", wasi_fns[k].name, (long long)r);
    }
  }
  iw_wasi_set_deadline(wasi, 0);
  CHECK(bad == 0);
  CHECK(calls > 10000 && succeeded > 500); /* the calls did reach the host, many of them */
  /* Outside the sandbox: still just the canary and the sandbox itself, canary unchanged. */
  outside_count = 0;
  nftw(outer, count_entry, 16, FTW_PHYS);
  CHECK(outside_count == 2);
  char buf[64] = {0}, p[600];
  snprintf(p, sizeof p, "%s/canary", outer);
  FILE *f = fopen(p, "r");
  CHECK(f && fgets(buf, sizeof buf, f) && !strcmp(buf, "outside\n"));
  if (f) fclose(f);
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
  int notlistening = 0; /* stdin: not a listening socket */
  c = (struct iw_wasi_config)IW_WASI_CONFIG_INIT;
  c.listen_fds = &notlistening, c.nlisten = 1;
  CHECK(iw_wasi_new(&c, &err) == NULL && err.kind == IW_ERR_USAGE);
  CHECK_STR_CONTAINS(err.msg, "not a listening stream socket");
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  return remove(p);
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
  RUN(path_arguments);
  RUN(path_sandbox);
  RUN(readdir_cookies);
  RUN(file_calls);
  RUN(poll_and_sockets);
  RUN(blocking_calls_stop);
  RUN(bad_configs);
  RUN(close_then_exit);
  RUN(hostile_calls);
  iw_store_free(store);
  iw_wasi_free(wasi);
  nftw(outer, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return UNIT_END();
}
