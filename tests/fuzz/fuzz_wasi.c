/* fuzz_wasi: random WASI preview 1 calls against a scratch preopen, through the public API only
 * (isola/wasi.h): a small module built here imports every `wasi_snapshot_preview1` function and
 * exports a wrapper for each that passes its arguments straight through, so every call arrives
 * from wasm as a guest's would, with the guest's memory behind it.
 *
 * Input: one flags byte (0x80: the module has no memory; 0x40: one preopen, not two; 0x20:
 * no stderr; 0x10: the first preopen is read-only; 0x08: a listening socket), a memory image (u16
 * length, then that many bytes at address 0 of the guest's one page), then calls: a function byte
 * and an encoded value per parameter (see read_i32/read_i64: small numbers, pointers into the page
 * and raw values are all likely).
 *
 * The scratch tree lives in a temporary directory next to an `outside` directory with a canary
 * file; symlinks in the tree lead there (relative and absolute). After every input the target
 * checks what a sandbox promises: every call answered with a WASI errno, nothing outside the
 * preopens changed, and no host fd left open. The tree is rebuilt before each input. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"
#include "../unit/wasi_forwarder.h"
#include "isola/wasi.h"
#include "isola/wasm.h"

#define NFNS WASI_NFNS_PREVIEW1 /* the module imports preview 1 only */
#define MAX_CALLS 48
#define DEADLINE_NS 100000000ull /* 100 ms per input */
#define WASI_ERRNO_MAX 76        /* ENOTCAPABLE, the last errno preview 1 defines */

/* ---- the scratch tree ------------------------------------------------------------------ */

static char top[64], scratch[128], data[160], outside[128], canary[160];
static int null_fd = -1, listen_fd = -1;
static uint8_t module_bytes[2][8192];
static size_t module_len[2];

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Whatever the guest left there (the target runs as root in CI, so modes do not stop it). */
static void remove_tree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  FUZZ_ASSERT(fd >= 0);
  FUZZ_ASSERT(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
  close(fd);
}

static void make_tree(void) {
  char p[256];
  remove_tree(scratch);
  FUZZ_ASSERT(mkdir(scratch, 0755) == 0);
  snprintf(p, sizeof p, "%s/hello.txt", scratch);
  write_file(p, "hello, sandbox\n");
  snprintf(p, sizeof p, "%s/sub", scratch);
  FUZZ_ASSERT(mkdir(p, 0755) == 0);
  snprintf(p, sizeof p, "%s/sub/inner.txt", scratch);
  write_file(p, "inner\n");
  FUZZ_ASSERT(mkdir(data, 0755) == 0);
  snprintf(p, sizeof p, "%s/d.bin", data);
  write_file(p, "0123456789abcdef");
  /* Ways out that a sandbox must refuse: all lead to places checked after every input. */
  snprintf(p, sizeof p, "%s/up", scratch);
  FUZZ_ASSERT(symlink("..", p) == 0);
  snprintf(p, sizeof p, "%s/out", scratch);
  FUZZ_ASSERT(symlink("../outside/canary", p) == 0);
  snprintf(p, sizeof p, "%s/abs", scratch);
  FUZZ_ASSERT(symlink(outside, p) == 0);
  snprintf(p, sizeof p, "%s/sub/loop", scratch);
  FUZZ_ASSERT(symlink("loop", p) == 0);
}

/* Nothing outside the preopens changed: the canary's bytes, the two directories' entries. */
static void check_outside(void) {
  char buf[64];
  int fd = open(canary, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  FUZZ_ASSERT(fd >= 0);
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  FUZZ_ASSERT(n == 7 && memcmp(buf, "canary\n", 7) == 0);
  struct stat sb;
  FUZZ_ASSERT(stat(canary, &sb) == 0 && (sb.st_mode & 07777) == 0644 && sb.st_nlink == 1);
  const char *dirs[] = {top, outside};
  for (int i = 0; i < 2; i++) {
    DIR *d = opendir(dirs[i]);
    FUZZ_ASSERT(d);
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      if (i == 0)
        FUZZ_ASSERT(!strcmp(e->d_name, "scratch") || !strcmp(e->d_name, "outside"));
      else
        FUZZ_ASSERT(!strcmp(e->d_name, "canary"));
    }
    closedir(d);
  }
}

static void cleanup(void) {
  if (top[0]) remove_tree(top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  /* tmpfs when there is one: the tree is rebuilt for every input. */
  struct stat sb;
  const char *tmp = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) && !access("/dev/shm", W_OK)
                        ? "/dev/shm"
                        : "/tmp";
  snprintf(top, sizeof top, "%s/isola-fuzz-wasi.XXXXXX", tmp);
  FUZZ_ASSERT(mkdtemp(top));
  atexit(cleanup);
  snprintf(scratch, sizeof scratch, "%s/scratch", top);
  snprintf(data, sizeof data, "%s/sub/data", scratch);
  snprintf(outside, sizeof outside, "%s/outside", top);
  snprintf(canary, sizeof canary, "%s/canary", outside);
  FUZZ_ASSERT(mkdir(outside, 0755) == 0);
  write_file(canary, "canary\n");
  FUZZ_ASSERT(chmod(canary, 0644) == 0);
  null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  FUZZ_ASSERT(null_fd >= 0);
  iw_error err;
  listen_fd = iw_wasi_listen("127.0.0.1:0", &err);
  FUZZ_ASSERT(listen_fd >= 0);
  module_len[0] = wasi_forwarder_module(module_bytes[0], sizeof module_bytes[0], NFNS, true);
  module_len[1] = wasi_forwarder_module(module_bytes[1], sizeof module_bytes[1], NFNS, false);
  return 0;
}

/* ---- calls ----------------------------------------------------------------------------- */

static uint32_t read_i32(struct fuzz_in *in) {
  uint8_t tag = fuzz_u8(in);
  switch (tag & 7) {
  case 0:
    return fuzz_u8(in); /* small: counts, flags, lengths */
  case 1: {             /* anywhere in the page */
    uint32_t lo = fuzz_u8(in);
    return lo | (uint32_t)fuzz_u8(in) << 8;
  }
  case 2:
    return fuzz_u8(in) & 7; /* an fd that may well be open */
  case 3:
    return 65536u - fuzz_u8(in); /* at the end of the page */
  case 4:
    return UINT32_MAX - fuzz_u8(in); /* wraps */
  case 5:
    return 0;
  default:
    return fuzz_u32(in);
  }
}

static uint64_t read_i64(struct fuzz_in *in) {
  uint8_t tag = fuzz_u8(in);
  switch (tag & 3) {
  case 0:
    return fuzz_u8(in);
  case 1:
    return ~0ull >> (fuzz_u8(in) & 63); /* rights masks, huge sizes and offsets */
  case 2:
    return (uint64_t)(int64_t)(int8_t)fuzz_u8(in); /* small negatives */
  default:
    return fuzz_u64(in);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size) {
  struct fuzz_in in = {bytes, bytes + size};
  uint8_t flags = fuzz_u8(&in);
  bool memory = !(flags & 0x80);
  make_tree();
  int fd_probe = dup(null_fd);
  FUZZ_ASSERT(fd_probe >= 0);
  close(fd_probe);

  char *argv[] = {"prog.wasm", "--flag", "arg with spaces", NULL};
  char *envp[] = {"HOME=/", "LANG=C.UTF-8", "EMPTY=", NULL};
  struct iw_wasi_dir dirs[] = {{scratch, "."}, {data, "/data"}};
  const bool readonly[] = {(flags & 0x10) != 0, false};
  struct iw_wasi_config cfg = {.argc = 3,
                               .argv = argv,
                               .envp = envp,
                               .dirs = dirs,
                               .ndirs = (flags & 0x40) ? 1 : 2,
                               .stdin_fd = null_fd,
                               .stdout_fd = null_fd,
                               .stderr_fd = (flags & 0x20) ? -1 : null_fd,
                               .dirs_readonly = readonly,
                               .listen_fds = &listen_fd,
                               .nlisten = (flags & 0x08) ? 1 : 0};
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_wasi *w = iw_wasi_new(&cfg, &err);
  FUZZ_ASSERT(w != NULL);
  /* The deadline bounds the calls that may wait (poll_oneoff's clocks, blocking reads). */
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  iw_limits lim = {.max_memory_pages = 1,
                   .fuel = 100000,
                   .deadline_ns =
                       (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec + DEADLINE_NS};
  iw_store *s = iw_store_new(&lim, &err);
  FUZZ_ASSERT(s != NULL);
  iw_module *m = iw_module_new(module_bytes[!memory], module_len[!memory], &err);
  FUZZ_ASSERT(m != NULL);
  iw_extern imports[NFNS];
  FUZZ_ASSERT(iw_module_import_count(m) == NFNS);
  FUZZ_ASSERT(iw_wasi_imports(w, s, m, imports, &err) == 0);
  iw_instance *inst = iw_instantiate(s, m, imports, NFNS, &err);
  FUZZ_ASSERT(inst != NULL);

  iw_extern mem;
  size_t image_len = fuzz_u8(&in), got;
  image_len |= (size_t)fuzz_u8(&in) << 8;
  const uint8_t *image = fuzz_bytes(&in, image_len, &got);
  if (memory) {
    FUZZ_ASSERT(iw_instance_export(inst, "memory", &mem) == 0);
    memcpy(iw_memory_data(mem.of.memory), image, got);
  }

  for (int call = 0; call < MAX_CALLS && fuzz_more(&in); call++) {
    size_t k = fuzz_u8(&in) % NFNS;
    iw_extern f;
    FUZZ_ASSERT(iw_instance_export(inst, wasi_fns[k].name, &f) == 0);
    iw_val args[9], res[1];
    size_t np = strlen(wasi_fns[k].params);
    for (size_t i = 0; i < np; i++) {
      memset(&args[i], 0, sizeof args[i]);
      if (wasi_fns[k].params[i] == 'I')
        args[i].type = IW_I64, args[i].of.i64 = read_i64(&in);
      else
        args[i].type = IW_I32, args[i].of.i32 = read_i32(&in);
    }
    size_t nr = strlen(wasi_fns[k].results);
    memset(&err, 0, sizeof err);
    int rc = iw_call(s, f.of.func, args, np, res, nr, &err);
    if (rc == 0) {
      FUZZ_ASSERT(nr == 1 && res[0].type == IW_I32 && res[0].of.i32 <= WASI_ERRNO_MAX);
      continue;
    }
    /* proc_exit ends the run, and so does the deadline; a call that needs memory traps
     * without it; nothing else fails. */
    if (err.kind == IW_ERR_EXIT) {
      FUZZ_ASSERT(!strcmp(wasi_fns[k].name, "proc_exit") || !strcmp(wasi_fns[k].name, "proc_raise"));
      int code = -1;
      FUZZ_ASSERT(iw_wasi_exited(w, &code) && code == err.exit_code);
      break;
    }
    if (err.trap == IW_TRAP_DEADLINE) break;
    FUZZ_ASSERT(!memory && err.kind == IW_ERR_TRAP);
  }

  iw_store_free(s);
  iw_module_free(m);
  iw_wasi_free(w);
  check_outside();
  /* Every host fd the layer opened is closed again: the next fd is the one we probed. */
  int fd_after = dup(null_fd);
  FUZZ_ASSERT(fd_after == fd_probe);
  close(fd_after);
  return 0;
}
