/* The wasm engine: an OCI bundle whose entrypoint is a WebAssembly module, run by isola's own
 * interpreter with WASI as the boundary (no namespaces: the module can touch only what WASI
 * grants it).
 *
 * Mapping from config.json: process.args -> WASI args (args[0] names the module inside the
 * rootfs); process.env -> environ; the rootfs -> preopen "/"; each bind mount -> a preopen at its
 * destination; linux.resources.memory.limit -> the engine's memory cap (whole 64 KiB pages);
 * annotations io.isola.wasm.fuel / io.isola.wasm.timeout_ms -> fuel and a deadline counted from
 * `start`; the process joins the container's cgroup, so cpu and pids limits hold as for a
 * container. Stdio is the caller's.
 *
 * The process that runs the module is the container's pid. The handshake:
 *   1. runtime: fork the workload process.
 *   2. runtime: put it in its cgroup; send GO.
 *   3. workload: read, decode, validate and instantiate the module; send READY (or ERROR).
 *   4. runtime: record "created"; `create` exits.
 *   5. workload: wait at the start gate; answer it; call `_start`; exit with proc_exit's code
 *      (134 after a trap, which is reported on stderr, as `isola wasm run` does).
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "container/cgroup.h"
#include "core/cleanup.h"
#include "core/engine.h"
#include "core/gate.h"
#include "isola/wasi.h"
#include "isola/wasm.h"

enum { EXIT_TRAP = 134 };
#define MAX_MODULE_BYTES (1u << 30)

/* Everything the workload process holds between create and start. */
struct workload {
  iw_store *store;
  iw_module *module;
  iw_wasi *wasi;
  iw_instance *instance;
  iw_func *start;
};

static iw_store *volatile running_store;

static void on_deadline(int sig) {
  (void)sig;
  if (running_store) iw_store_interrupt(running_store);
}

/* Opens args[0] inside the rootfs, never outside it (RESOLVE_IN_ROOT): relative names are
 * taken from process.cwd. */
static int open_module(const char *rootfs, const struct oci_process *p, struct isola_err *err) {
  _cleanup_close_ int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return isola_fail_errno(err, errno, "rootfs `%s`", rootfs);
  char path[PATH_MAX];
  const char *prog = p->args[0];
  if (prog[0] == '/') snprintf(path, sizeof path, "%s", prog);
  else snprintf(path, sizeof path, "%s/%s", p->cwd ? p->cwd : "/", prog);
  struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
  int fd = (int)syscall(SYS_openat2, root, path, &how, sizeof how);
  if (fd < 0) return isola_fail_errno(err, errno, "process.args[0]: open module `%s`", prog);
  return fd;
}

static int read_all(int fd, uint8_t **out, size_t *len, struct isola_err *err) {
  struct stat sb;
  if (fstat(fd, &sb) < 0) return isola_fail_errno(err, errno, "stat module");
  if (!S_ISREG(sb.st_mode) || sb.st_size > MAX_MODULE_BYTES)
    return isola_fail(err, EINVAL, "module: not a regular file of at most 1 GiB");
  uint8_t *buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
  if (!buf) return isola_fail_errno(err, ENOMEM, "module");
  size_t off = 0;
  while (off < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + off, (size_t)sb.st_size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      free(buf);
      return isola_fail_errno(err, n < 0 ? errno : EIO, "read module");
    }
    off += (size_t)n;
  }
  *out = buf;
  *len = off;
  return 0;
}

static int wasm_fail(const iw_error *e, struct isola_err *err) {
  return isola_fail(err, EINVAL, "%s", e->msg);
}

/* The limits config.json and annotations ask for. */
static int limits_from(const struct oci_config *cfg, iw_limits *lim, struct isola_err *err) {
  memset(lim, 0, sizeof *lim);
  json_t *mem = cfg->resources ? json_object_get(cfg->resources, "memory") : NULL;
  json_t *limit = mem ? json_object_get(mem, "limit") : NULL;
  if (json_is_integer(limit) && json_integer_value(limit) > 0) {
    json_int_t pages = json_integer_value(limit) / 65536;
    if (pages < 1)
      return isola_fail(err, EINVAL,
                        "config.json: linux.resources.memory.limit: %lld bytes is less than one "
                        "64 KiB wasm page",
                        (long long)json_integer_value(limit));
    lim->max_memory_pages = pages > 65536 ? 65536 : (uint32_t)pages;
  }
  const char *fuel = oci_annotation(cfg, "io.isola.wasm.fuel");
  if (fuel) {
    char *end;
    unsigned long long f = strtoull(fuel, &end, 10);
    if (*end || !*fuel || f == 0)
      return isola_fail(err, EINVAL,
                        "config.json: annotations.io.isola.wasm.fuel: `%s` is not a positive "
                        "integer",
                        fuel);
    lim->fuel = f;
  }
  return 0;
}

static int timeout_ms(const struct oci_config *cfg, long *out, struct isola_err *err) {
  const char *t = oci_annotation(cfg, "io.isola.wasm.timeout_ms");
  *out = 0;
  if (!t) return 0;
  char *end;
  long v = strtol(t, &end, 10);
  if (*end || !*t || v <= 0)
    return isola_fail(err, EINVAL,
                      "config.json: annotations.io.isola.wasm.timeout_ms: `%s` is not a "
                      "positive integer",
                      t);
  *out = v;
  return 0;
}

/* Step 3: everything up to an instance whose `_start` can be called. */
static int prepare(const struct oci_config *cfg, const char *rootfs, struct workload *w,
                   struct isola_err *err) {
  const struct oci_process *p = &cfg->process;
  iw_error e = {0};
  iw_limits lim;
  if (limits_from(cfg, &lim, err) < 0) return -1;
  _cleanup_close_ int fd = open_module(rootfs, p, err);
  if (fd < 0) return -1;
  _cleanup_free_ uint8_t *bytes = NULL;
  size_t len = 0;
  if (read_all(fd, &bytes, &len, err) < 0) return -1;
  if (!(w->module = iw_module_new(bytes, len, &e)))
    return isola_fail(err, EINVAL, "module `%s`: %s", p->args[0], e.msg);

  /* Preopens: the rootfs as "/", each bind mount at its destination. */
  struct iw_wasi_dir dirs[64];
  size_t ndirs = 0;
  dirs[ndirs++] = (struct iw_wasi_dir){rootfs, "/"};
  for (size_t i = 0; i < cfg->nmounts && ndirs < 64; i++) {
    const struct oci_mount *m = &cfg->mounts[i];
    bool bind = m->type && !strcmp(m->type, "bind");
    for (size_t k = 0; k < m->noptions; k++)
      bind |= !strcmp(m->options[k], "bind") || !strcmp(m->options[k], "rbind");
    if (bind && m->source) dirs[ndirs++] = (struct iw_wasi_dir){m->source, m->destination};
  }
  struct iw_wasi_config wc = IW_WASI_CONFIG_INIT;
  wc.argc = (int)p->nargs;
  wc.argv = p->args;
  wc.envp = p->env;
  wc.dirs = dirs;
  wc.ndirs = ndirs;
  if (!(w->wasi = iw_wasi_new(&wc, &e))) return wasm_fail(&e, err);
  if (!(w->store = iw_store_new(&lim, &e))) return wasm_fail(&e, err);
  size_t nimports = iw_module_import_count(w->module);
  _cleanup_free_ iw_extern *imports = calloc(nimports ? nimports : 1, sizeof *imports);
  if (!imports) return isola_fail_errno(err, ENOMEM, "imports");
  if (iw_wasi_imports(w->wasi, w->store, w->module, imports, &e) < 0) return wasm_fail(&e, err);
  if (!(w->instance = iw_instantiate(w->store, w->module, imports, nimports, &e)))
    return wasm_fail(&e, err);
  iw_extern ex;
  if (iw_instance_export(w->instance, "_start", &ex) < 0 || ex.kind != IW_EXTERN_FUNC)
    return isola_fail(err, EINVAL, "module `%s` exports no `_start` function", p->args[0]);
  w->start = ex.of.func;
  return 0;
}

/* Step 5: returns the exit status. */
static int run(const struct oci_config *cfg, struct workload *w) {
  long ms = 0;
  struct isola_err ignored;
  if (timeout_ms(cfg, &ms, &ignored) == 0 && ms > 0) {
    running_store = w->store;
    struct sigaction sa = {.sa_handler = on_deadline};
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {.it_value = {ms / 1000, (ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
  }
  iw_error e = {0};
  if (iw_call(w->store, w->start, NULL, 0, NULL, 0, &e) == 0) return 0;
  if (e.kind == IW_ERR_EXIT) return e.exit_code & 0xff;
  const char *what = e.trap != IW_TRAP_NONE && e.trap != IW_TRAP_HOST ? iw_trap_name(e.trap) : e.msg;
  if (e.trap == IW_TRAP_INTERRUPTED) what = "deadline exceeded (io.isola.wasm.timeout_ms)";
  fprintf(stderr, "isola: wasm trap: %s", what);
  if (e.func_index >= 0) fprintf(stderr, " in function %lld", (long long)e.func_index);
  fputc('\n', stderr);
  return EXIT_TRAP;
}

static int wasm_create(const struct create_opts *o, const struct oci_config *cfg,
                       struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  if (!cfg->has_process) return isola_fail(err, EINVAL, "config.json: process: required");
  if (cfg->process.terminal)
    return isola_fail(err, ENOTSUP,
                      "config.json: process.terminal: the wasm engine gives the module the "
                      "caller's stdio; a terminal is not supported");
  char rootfs[PATH_MAX], joined[PATH_MAX];
  if (cfg->root_path[0] == '/') snprintf(joined, sizeof joined, "%s", cfg->root_path);
  else snprintf(joined, sizeof joined, "%s/%s", o->bundle, cfg->root_path);
  if (!realpath(joined, rootfs))
    return isola_fail_errno(err, errno, "config.json: root.path: `%s`", joined);
  iw_limits lim;
  long ms;
  if (limits_from(cfg, &lim, err) < 0 || timeout_ms(cfg, &ms, err) < 0) return -1;

  _cleanup_gate_ struct gate gate = {-1, -1};
  if (gate_create(d, &gate, err) < 0) return -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return isola_fail_errno(err, errno, "socketpair");
  _cleanup_close_ int sock = sv[0];
  _cleanup_close_ int child_sock = sv[1];
  st->status = ST_CREATING;

  /* Step 1. */
  pid_t pid = fork();
  if (pid < 0) return isola_fail_errno(err, errno, "fork the wasm process");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    close(d->dirfd); /* our copy would hold the state dir's lock */
    close(sock);
    struct isola_err e = {0};
    struct workload w = {0};
    char go;
    if (read(child_sock, &go, 1) != 1) _exit(1);
    if (prepare(cfg, rootfs, &w, &e) < 0) {
      if (send(child_sock, e.msg, strlen(e.msg) + 1, MSG_NOSIGNAL) < 0) _exit(1);
      _exit(1);
    }
    prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
    if (send(child_sock, "", 1, MSG_NOSIGNAL) < 0) _exit(1); /* READY */
    close(child_sock);
    if (gate_wait(&gate) < 0) _exit(1);
    gate_answer(&gate, NULL);
    gate_close(&gate);
    _exit(run(cfg, &w));
  }
  _cleanup_kill_ pid_t child = pid;
  close(take_fd(&child_sock));
  st->pid = pid;
  bool zombie;
  st->pid_start = proc_start_time(pid, &zombie);
  if (state_save(d, st, err) < 0) return -1;

  /* Step 2. */
  json_t *dirs = NULL;
  if (cgroup_enter(cfg->cgroups_path, o->id, pid, NULL, &dirs, err) < 0) return -1;
  if (!st->extra) st->extra = json_object();
  json_object_set_new(st->extra, "cgroupDirs", dirs);
  struct isola_err ignored;
  if (state_save(d, st, err) < 0 || send(sock, "g", 1, MSG_NOSIGNAL) != 1) {
    if (!err->msg[0]) isola_fail_errno(err, errno, "wasm process");
    cgroup_remove(dirs, &ignored);
    return -1;
  }
  /* Step 4: READY is an empty message, ERROR carries its text, EOF means it died. */
  char msg[sizeof err->msg];
  ssize_t n;
  while ((n = recv(sock, msg, sizeof msg - 1, 0)) < 0 && errno == EINTR) {
  }
  if (n != 1 || msg[0] != 0) {
    if (n > 0) {
      msg[n] = 0;
      isola_fail(err, EINVAL, "%s", msg);
    } else {
      isola_fail(err, ECHILD, "the wasm process died while loading the module");
    }
    kill(pid, SIGKILL);
    waitpid(take_pid(&child), NULL, 0);
    cgroup_remove(dirs, &ignored);
    return -1;
  }
  st->status = ST_CREATED;
  if (state_save(d, st, err) < 0) {
    cgroup_remove(dirs, &ignored);
    return -1;
  }
  take_pid(&child);
  return 0;
}

static int wasm_start(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                      struct isola_err *err) {
  if (gate_release(d, st->id, err) < 0) return -1;
  st->started = true;
  st->status = ST_RUNNING;
  return state_save(d, st, err);
}

static int wasm_kill(struct state_dir *d, struct isola_state *st, int sig, bool all,
                     struct isola_err *err) {
  if (kill(st->pid, sig) < 0)
    return isola_fail_errno(err, errno, "container `%s`: kill pid %d", st->id, st->pid);
  return 0;
}

static int wasm_destroy(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                        struct isola_err *err) {
  state_refresh(st);
  if (st->pid > 0 && st->status != ST_STOPPED) {
    kill(st->pid, SIGKILL);
    int fd = (int)syscall(SYS_pidfd_open, st->pid, 0);
    if (fd >= 0) {
      struct pollfd p = {.fd = fd, .events = POLLIN};
      poll(&p, 1, 5000);
      close(fd);
    }
    waitpid(st->pid, NULL, WNOHANG);
  }
  json_t *dirs = json_object_get(st->extra, "cgroupDirs");
  if (dirs && cgroup_remove(dirs, err) < 0) return -1;
  st->status = ST_STOPPED;
  return 0;
}

const struct isola_engine engine_wasm = {
    .name = "wasm",
    .create = wasm_create,
    .start = wasm_start,
    .kill = wasm_kill,
    .destroy = wasm_destroy,
};
