/* `isola wasm run`: run a WASI command module directly, without a bundle.
 *
 *   isola wasm run [--dir HOST[:GUEST]]... [--ro-dir HOST[:GUEST]]... [--listen ADDR:PORT]...
 *                  [--env K=V | --env K]... [--fuel N] [--timeout-ms N]
 *                  [--max-memory-pages N] FILE.wasm [ARGS...]
 *
 * Exit status, as wasmtime's CLI does on unix:
 *   - the module's proc_exit value (low 8 bits, as exit(3) keeps them), 0 when _start returns;
 *   - 128 + N when the module ends itself with proc_raise(signal N), as a shell reports a
 *     process killed by N (without raising it);
 *   - 134 (128 + SIGABRT, without raising the signal, so no core dump) when the module traps,
 *     runs out of fuel, passes its deadline or exhausts the call stack -- "killed by the
 *     runtime", distinct from any ordinary failure exit;
 *   - 1 when isola cannot run the module at all (unreadable file, malformed or invalid module,
 *     unknown import, bad --dir);
 *   - 2 for a bad command line.
 * The module sees only what the options grant: its arguments, the --env variables (never the
 * host environment), isola's stdio, the --dir / --ro-dir directories (guest fds 3, 4, ... in
 * command-line order) and then the --listen sockets, listening before the module starts.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "isola/wasi.h"
#include "isola/wasm.h"

enum { EXIT_TRAP = 134, EXIT_USAGE = 2 };

#define MAX_MODULE_BYTES (1u << 30) /* a module file larger than 1 GiB is refused */

static const char wasm_usage[] =
    "usage: isola wasm run [OPTIONS] FILE.wasm [ARGS...]\n"
    "\n"
    "Runs a WebAssembly module built for WASI (wasm32-wasi) with isola's own engine.\n"
    "\n"
    "commands:\n"
    "  run    run FILE.wasm's `_start`; the exit status is its proc_exit code\n";

static const char run_usage[] =
    "usage: isola wasm run [OPTIONS] FILE.wasm [ARGS...]\n"
    "\n"
    "Options stop at FILE; ARGS go to the module, whose argv[0] is FILE's base name.\n"
    "\n"
    "  --dir HOST[:GUEST]      let the module use directory HOST, named GUEST (default HOST)\n"
    "  --ro-dir HOST[:GUEST]   the same, read-only: nothing in it can be changed\n"
    "  --listen ADDR:PORT      a listening TCP socket the module can accept on (guest fds after\n"
    "                          the dirs); ADDR: an IPv4 address, [IPv6] or localhost\n"
    "  --env K=V               set a variable in the module's environment (repeatable);\n"
    "  --env K                 pass the host's K; nothing else of the host's environment is seen\n"
    "  --fuel N                stop the module after about N instructions\n"
    "  --timeout-ms N          stop the module after N milliseconds\n"
    "  --max-memory-pages N    cap linear memory at N pages of 64 KiB (1..65536)\n"
    "  -h, --help              show this help\n"
    "\n"
    "exit status: the module's (128+N after proc_raise of signal N), 134 if it traps or hits\n"
    "a limit, 1 if it cannot be run, 2 for a bad command line\n";

/* ---- small owned things --------------------------------------------------------------- */

struct strv {
  char **v; /* NULL-terminated */
  size_t n;
};

static void strv_freep(struct strv *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
}

/* Takes ownership of `str` (freed on failure too). */
static int strv_push(struct strv *s, char *str) {
  char **v = str ? realloc(s->v, (s->n + 2) * sizeof *v) : NULL;
  if (!v) {
    free(str);
    return -1;
  }
  v[s->n++] = str;
  v[s->n] = NULL;
  s->v = v;
  return 0;
}

struct dirs {
  struct iw_wasi_dir *v;
  bool *ro;
  char **owned; /* one "HOST\0GUEST" copy per entry */
  size_t n;
};

static void dirs_freep(struct dirs *d) {
  for (size_t i = 0; i < d->n; i++)
    free(d->owned[i]);
  free(d->owned);
  free(d->v);
  free(d->ro);
}

struct fds {
  int *v;
  size_t n;
};

static void fds_freep(struct fds *f) {
  for (size_t i = 0; i < f->n; i++)
    close(f->v[i]);
  free(f->v);
}

static void freep(void *p) {
  free(*(void **)p);
}
static void closep(int *fd) {
  if (*fd >= 0) close(*fd);
}

/* ---- parsing -------------------------------------------------------------------------- */

/* The value of option `name` at argv[*i], as "--name=V" or "--name V"; NULL if argv[*i] is not
 * that option. *missing is set when the option is there without its value. */
static const char *optval(int argc, char **argv, int *i, const char *name, int *missing) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = 1;
    return NULL;
  }
  return argv[++*i];
}

static int parse_u64(const char *opt, const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || s[0] == '-' || errno || v < min || v > max) {
    if (max == UINT64_MAX)
      fprintf(stderr, "isola wasm run: %s: `%s` is not a number from %" PRIu64 " up\n", opt, s,
              min);
    else
      fprintf(stderr, "isola wasm run: %s: `%s` is not a number in %" PRIu64 "..%" PRIu64 "\n", opt,
              s, min, max);
    return -1;
  }
  *out = v;
  return 0;
}

static int add_dir(struct dirs *d, const char *spec, bool ro) {
  char *copy = strdup(spec);
  struct iw_wasi_dir *v = realloc(d->v, (d->n + 1) * sizeof *v);
  if (v) d->v = v;
  char **owned = realloc(d->owned, (d->n + 1) * sizeof *owned);
  if (owned) d->owned = owned;
  bool *rov = realloc(d->ro, (d->n + 1) * sizeof *rov);
  if (rov) d->ro = rov;
  if (!copy || !v || !owned || !rov) {
    free(copy);
    fprintf(stderr, "isola: out of memory\n");
    return -1;
  }
  char *colon = strchr(copy, ':');
  const char *guest = copy;
  if (colon) {
    *colon = '\0';
    guest = colon + 1;
  }
  if (!copy[0] || !guest[0]) {
    free(copy);
    fprintf(stderr, "isola wasm run: %s `%s`: expected HOST[:GUEST]\n", ro ? "--ro-dir" : "--dir",
            spec);
    return -1;
  }
  d->ro[d->n] = ro;
  d->owned[d->n] = copy;
  d->v[d->n++] = (struct iw_wasi_dir){.host = copy, .guest = guest};
  return 0;
}

/* "--listen ADDR:PORT": a TCP socket bound and listening now, so that clients can connect as
 * soon as isola runs (the module accepts when it gets there). Returns 0, -1 for a bad spec
 * (usage), -2 when the socket cannot be made. */
static int add_listen(struct fds *f, const char *spec) {
  iw_error err;
  int fd = iw_wasi_listen(spec, &err);
  if (fd < 0) {
    fprintf(stderr, "isola%s: --%s\n", err.kind == IW_ERR_USAGE ? " wasm run" : "", err.msg);
    return err.kind == IW_ERR_USAGE ? -1 : -2;
  }
  int *v = realloc(f->v, (f->n + 1) * sizeof *v);
  if (!v) {
    close(fd);
    fprintf(stderr, "isola: out of memory\n");
    return -2;
  }
  f->v = v;
  f->v[f->n++] = fd;
  return 0;
}

/* "--env K=V" sets K; "--env K" passes the host's K if it has one (as wasmtime does). */
static int add_env(struct strv *env, const char *spec) {
  char *s = NULL;
  if (!spec[0] || spec[0] == '=') {
    fprintf(stderr, "isola wasm run: --env `%s`: expected K=V or K\n", spec);
    return -1;
  }
  if (strchr(spec, '=')) {
    s = strdup(spec);
  } else {
    const char *v = getenv(spec);
    if (!v) return 0;
    if (asprintf(&s, "%s=%s", spec, v) < 0) s = NULL;
  }
  if (strv_push(env, s) < 0) {
    fprintf(stderr, "isola: out of memory\n");
    return -1;
  }
  return 0;
}

/* ---- the module file ------------------------------------------------------------------ */

static uint8_t *read_file(const char *path, size_t *len) {
  __attribute__((cleanup(closep))) int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    fprintf(stderr, "isola: read `%s`: %s\n", path, strerror(errno));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    fprintf(stderr, "isola: read `%s`: not a regular file\n", path);
    return NULL;
  }
  if ((uint64_t)st.st_size > MAX_MODULE_BYTES) {
    fprintf(stderr, "isola: read `%s`: larger than %u MiB\n", path, MAX_MODULE_BYTES >> 20);
    return NULL;
  }
  size_t size = (size_t)st.st_size, got = 0;
  uint8_t *buf = malloc(size ? size : 1);
  if (!buf) {
    fprintf(stderr, "isola: read `%s`: out of memory\n", path);
    return NULL;
  }
  while (got < size) {
    ssize_t n = read(fd, buf + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      fprintf(stderr, "isola: read `%s`: %s\n", path, n ? strerror(errno) : "file shrank");
      free(buf);
      return NULL;
    }
    got += (size_t)n;
  }
  *len = size;
  return buf;
}

/* The name of function `index` (function index space, imports first) from the module's "name"
 * custom section, copied into `out` with unprintable bytes replaced; false when there is none.
 * Custom sections are not validated, so this reads them as hostile: every length is checked
 * against the end. (It belongs in the engine's API once the engine keeps names.) */
struct rd {
  const uint8_t *p, *end;
};

static int rd_u32(struct rd *r, uint32_t *v) {
  uint32_t x = 0;
  for (int shift = 0; shift < 35 && r->p < r->end; shift += 7) {
    uint8_t b = *r->p++;
    x |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

static int rd_bytes(struct rd *r, uint32_t n, struct rd *out) {
  if (n > (size_t)(r->end - r->p)) return -1;
  *out = (struct rd){r->p, r->p + n};
  r->p += n;
  return 0;
}

static bool func_name(const uint8_t *bytes, size_t len, int64_t index, char *out, size_t size) {
  struct rd r = {bytes, bytes + len}, sec, name, sub;
  uint32_t secsize, n;
  if (len < 8 || index < 0 || index > UINT32_MAX || size == 0) return false;
  r.p += 8;
  while (r.p < r.end) {
    uint8_t id = *r.p++;
    if (rd_u32(&r, &secsize) < 0 || rd_bytes(&r, secsize, &sec) < 0) return false;
    if (id != 0) continue;
    if (rd_u32(&sec, &n) < 0 || rd_bytes(&sec, n, &name) < 0) return false;
    if (n != 4 || memcmp(name.p, "name", 4) != 0) continue;
    while (sec.p < sec.end) {
      uint8_t subid = *sec.p++;
      uint32_t subsize, count;
      if (rd_u32(&sec, &subsize) < 0 || rd_bytes(&sec, subsize, &sub) < 0) return false;
      if (subid != 1) continue; /* 1: function names */
      if (rd_u32(&sub, &count) < 0) return false;
      for (uint32_t i = 0; i < count; i++) {
        uint32_t idx, nlen;
        if (rd_u32(&sub, &idx) < 0 || rd_u32(&sub, &nlen) < 0 || rd_bytes(&sub, nlen, &name) < 0)
          return false;
        if (idx != (uint64_t)index) continue;
        size_t k = 0;
        for (; k < nlen && k + 1 < size; k++)
          out[k] = name.p[k] >= 0x20 && name.p[k] < 0x7f ? (char)name.p[k] : '?';
        out[k] = '\0';
        return true;
      }
      return false;
    }
  }
  return false;
}

/* ---- reporting ------------------------------------------------------------------------ */

/* Module-supplied text (import and function names) reaches the messages: control bytes are
 * shown as '?' so that a module cannot write escape sequences to the user's terminal. */
static void printable(char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f) *s = '?';
}

static int report(const char *path, const uint8_t *bytes, size_t len, const iw_error *e) {
  iw_error copy = *e, *err = &copy;
  printable(err->msg);
  switch (err->kind) {
  case IW_ERR_TRAP:
  case IW_ERR_EXHAUSTED: {
    const char *what =
        err->trap != IW_TRAP_NONE && err->trap != IW_TRAP_HOST ? iw_trap_name(err->trap) : err->msg;
    char name[128];
    fprintf(stderr, "isola: wasm trap: %s", what);
    if (what != err->msg && err->msg[0] && !strstr(err->msg, what))
      fprintf(stderr, ": %s", err->msg);
    if (err->func_index >= 0) {
      fprintf(stderr, " in function %" PRId64, err->func_index);
      if (func_name(bytes, len, err->func_index, name, sizeof name)) fprintf(stderr, " (%s)", name);
    }
    fputc('\n', stderr);
    return EXIT_TRAP;
  }
  case IW_ERR_MALFORMED:
  case IW_ERR_INVALID:
    fprintf(stderr, "isola: %s: %s", path, err->msg);
    if (err->offset >= 0 && !strstr(err->msg, "offset"))
      fprintf(stderr, " (offset 0x%" PRIx64 ")", (uint64_t)err->offset);
    fputc('\n', stderr);
    return 1;
  default: /* unlinkable, no _start, a --dir that cannot be opened, no memory for it */
    fprintf(stderr, "isola: run `%s`: %s\n", path, err->msg[0] ? err->msg : "failed");
    return 1;
  }
}

/* ---- the command ---------------------------------------------------------------------- */

static int wasm_run(int argc, char **argv) {
  __attribute__((cleanup(strv_freep))) struct strv env = {0}, args = {0};
  __attribute__((cleanup(dirs_freep))) struct dirs dirs = {0};
  __attribute__((cleanup(fds_freep))) struct fds listen = {0};
  __attribute__((cleanup(freep))) uint8_t *bytes = NULL;
  iw_limits limits = {0};
  uint64_t v, timeout_ms = 0;
  int i = 1;

  for (; i < argc; i++) {
    const char *a = argv[i], *val;
    int missing = 0;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    }
    if (a[0] != '-' || a[1] == '\0') break; /* FILE: options end here */
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      fputs(run_usage, stdout);
      return 0;
    }
    if ((val = optval(argc, argv, &i, "--dir", &missing))) {
      if (add_dir(&dirs, val, false) < 0) return EXIT_USAGE;
    } else if ((val = optval(argc, argv, &i, "--ro-dir", &missing))) {
      if (add_dir(&dirs, val, true) < 0) return EXIT_USAGE;
    } else if ((val = optval(argc, argv, &i, "--listen", &missing))) {
      int r = add_listen(&listen, val);
      if (r < 0) return r == -1 ? EXIT_USAGE : 1;
    } else if ((val = optval(argc, argv, &i, "--env", &missing))) {
      if (add_env(&env, val) < 0) return EXIT_USAGE;
    } else if ((val = optval(argc, argv, &i, "--fuel", &missing))) {
      if (parse_u64("--fuel", val, 1, UINT64_MAX, &limits.fuel) < 0) return EXIT_USAGE;
    } else if ((val = optval(argc, argv, &i, "--timeout-ms", &missing))) {
      if (parse_u64("--timeout-ms", val, 1, UINT64_MAX / 1000000, &timeout_ms) < 0)
        return EXIT_USAGE;
    } else if ((val = optval(argc, argv, &i, "--max-memory-pages", &missing))) {
      if (parse_u64("--max-memory-pages", val, 1, 65536, &v) < 0) return EXIT_USAGE;
      limits.max_memory_pages = (uint32_t)v;
    } else {
      fprintf(stderr, "isola wasm run: %s `%s`\n%s",
              missing ? "missing value for" : "unknown option", a, run_usage);
      return EXIT_USAGE;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "isola wasm run: no module given\n%s", run_usage);
    return EXIT_USAGE;
  }
  const char *path = argv[i];
  const char *base = strrchr(path, '/');
  base = base && base[1] ? base + 1 : path;
  int oom = strv_push(&args, strdup(base)) < 0;
  for (int k = i + 1; k < argc && !oom; k++)
    oom = strv_push(&args, strdup(argv[k])) < 0;
  if (oom) {
    fprintf(stderr, "isola: out of memory\n");
    return 1;
  }

  size_t len = 0;
  bytes = read_file(path, &len);
  if (!bytes) return 1;

  if (timeout_ms) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    limits.deadline_ns =
        (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec + timeout_ms * 1000000u;
  }
  /* A guest writing to a closed pipe gets EPIPE from fd_write, as on any WASI host, instead of
   * isola dying of SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);

  struct iw_wasi_config config = IW_WASI_CONFIG_INIT;
  config.argc = (int)args.n;
  config.argv = args.v;
  config.envp = env.v;
  config.dirs = dirs.v;
  config.ndirs = dirs.n;
  config.dirs_readonly = dirs.ro;
  config.listen_fds = listen.v;
  config.nlisten = listen.n;
  iw_error err = {0};
  int code = 0;
  if (iw_wasi_run(bytes, len, &config, &limits, &code, &err) < 0)
    return report(path, bytes, len, &err);
  return code & 0xff;
}

int cmd_wasm(int argc, char **argv) {
  if (argc < 2) {
    fputs(wasm_usage, stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
      strcmp(argv[1], "help") == 0) {
    fputs(wasm_usage, stdout);
    return 0;
  }
  if (strcmp(argv[1], "run") == 0) return wasm_run(argc - 1, argv + 1);
  fprintf(stderr, "isola wasm: unknown command `%s`\n%s", argv[1], wasm_usage);
  return EXIT_USAGE;
}
