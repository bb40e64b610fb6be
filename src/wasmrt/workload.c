/* config.json -> a WASI instance, and running it (see wasmrt.h).
 *
 * The mapping (docs/wasm.md has the user's version):
 *   process.args       WASI args; args[0] names the module inside the root (relative names are
 *                      taken from process.cwd), opened with RESOLVE_IN_ROOT
 *   process.env        WASI environ, plus PWD=process.cwd when env has no PWD: wasi-libc starts
 *                      every program in "/" (it has no way to be told otherwise), so a program
 *                      that wants its OCI cwd does chdir(getenv("PWD"))
 *   process.cwd        must exist in the root (as for a container)
 *   root.path          preopen "/" (read-only with root.readonly)
 *   mounts             each bind mount of a directory: a preopen at its destination, read-only
 *                      with "ro"; other mounts (proc, tmpfs, sysfs, devpts, mqueue, cgroup) and
 *                      bind mounts of files (podman's /etc/hosts, /etc/resolv.conf) are not
 *                      exposed: a WASI preopen is a directory, and the kernel's own file
 *                      systems have nothing for a wasm module
 *   memory.limit       the linear memory cap: limit / 64 KiB pages
 *   annotations        io.isola.wasm.fuel, io.isola.wasm.timeout_ms, io.isola.wasm.listen
 *   process.user       sandbox=wasm: the workload process takes uid, gid and additionalGids
 *                      once the module is loaded and the preopens are open (wasm_set_user)
 *   stdio              the caller's fds 0, 1, 2
 */
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/openat2.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "wasmrt/wasmrt.h"

enum { EXIT_TRAP = 134 };
#define MAX_MODULE_BYTES (1u << 30)

/* ---- the plan --------------------------------------------------------------------------- */

static int parse_u64(const char *key, const char *v, uint64_t max, uint64_t *out,
                     struct isola_err *err) {
  char *end;
  errno = 0;
  unsigned long long x = strtoull(v, &end, 10);
  if (!*v || *end || v[0] == '-' || errno || x == 0 || x > max)
    return isola_fail(err, EINVAL,
                      "config.json: annotations.%s: `%s` is not a positive integer (at most %llu)",
                      key, v, (unsigned long long)max);
  *out = x;
  return 0;
}

int wasm_plan(const struct oci_config *cfg, struct wasm_plan *plan, struct isola_err *err) {
  memset(plan, 0, sizeof *plan);
  const char *v = oci_annotation(cfg, WASM_ANN_SANDBOX);
  if (v && strcmp(v, "wasm") && strcmp(v, "container"))
    return isola_fail(err, EINVAL,
                      "config.json: annotations." WASM_ANN_SANDBOX ": `%s` is not `wasm` or "
                      "`container`",
                      v);
  plan->sandbox = v && !strcmp(v, "container") ? WASM_SANDBOX_CONTAINER : WASM_SANDBOX_WASM;

  json_t *mem = cfg->resources ? json_object_get(cfg->resources, "memory") : NULL;
  json_t *limit = mem ? json_object_get(mem, "limit") : NULL;
  if (json_is_integer(limit) && json_integer_value(limit) > 0) {
    json_int_t pages = json_integer_value(limit) / 65536;
    if (pages < 1)
      return isola_fail(err, EINVAL,
                        "config.json: linux.resources.memory.limit: %lld bytes is less than one "
                        "64 KiB wasm page",
                        (long long)json_integer_value(limit));
    plan->limits.max_memory_pages = pages > 65536 ? 65536 : (uint32_t)pages;
  }
  if ((v = oci_annotation(cfg, WASM_ANN_FUEL)) &&
      parse_u64(WASM_ANN_FUEL, v, UINT64_MAX, &plan->limits.fuel, err) < 0)
    return -1;
  if ((v = oci_annotation(cfg, WASM_ANN_TIMEOUT)) &&
      parse_u64(WASM_ANN_TIMEOUT, v, UINT64_MAX / 1000000, &plan->timeout_ms, err) < 0)
    return -1;

  /* "ADDR:PORT[,ADDR:PORT]...": checked for form here, bound by the workload. */
  if ((v = oci_annotation(cfg, WASM_ANN_LISTEN))) {
    if (strlen(v) >= sizeof plan->listen_buf)
      return isola_fail(err, EINVAL, "config.json: annotations." WASM_ANN_LISTEN ": too long");
    memcpy(plan->listen_buf, v, strlen(v) + 1);
    char *save = NULL;
    for (char *tok = strtok_r(plan->listen_buf, ", ", &save); tok;
         tok = strtok_r(NULL, ", ", &save)) {
      if (plan->nlisten == WASM_MAX_LISTEN)
        return isola_fail(err, EINVAL,
                          "config.json: annotations." WASM_ANN_LISTEN ": more than %d sockets",
                          WASM_MAX_LISTEN);
      if (!strchr(tok, ':'))
        return isola_fail(err, EINVAL,
                          "config.json: annotations." WASM_ANN_LISTEN ": `%s`: expected "
                          "ADDR:PORT",
                          tok);
      plan->listen[plan->nlisten++] = tok;
    }
  }
  return 0;
}

/* ---- the module ------------------------------------------------------------------------- */

static int open_in_root(int rootfd, const char *path, int flags, const char *what,
                        struct isola_err *err) {
  struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .resolve = RESOLVE_IN_ROOT};
  int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  if (fd < 0) return isola_fail_errno(err, errno, "%s `%s`", what, path);
  return fd;
}

static int read_module(int fd, const char *name, uint8_t **out, size_t *len,
                       struct isola_err *err) {
  struct stat sb;
  if (fstat(fd, &sb) < 0) return isola_fail_errno(err, errno, "module `%s`", name);
  if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > MAX_MODULE_BYTES)
    return isola_fail(err, EINVAL, "module `%s`: not a regular file of at most 1 GiB", name);
  uint8_t *buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
  if (!buf) return isola_fail_errno(err, ENOMEM, "module `%s`", name);
  size_t off = 0;
  while (off < (size_t)sb.st_size) {
    ssize_t n = read(fd, buf + off, (size_t)sb.st_size - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      free(buf);
      return isola_fail_errno(err, n < 0 ? errno : EIO, "read module `%s`", name);
    }
    off += (size_t)n;
  }
  *out = buf;
  *len = off;
  return 0;
}

/* ---- the preopens ----------------------------------------------------------------------- */

struct preopens {
  struct iw_wasi_dir dirs[WASM_MAX_PREOPENS];
  bool ro[WASM_MAX_PREOPENS];
  char *owned[WASM_MAX_PREOPENS]; /* guest names we made (destinations without trailing '/') */
  size_t n;
};

static void preopens_free(struct preopens *p) {
  for (size_t i = 0; i < p->n; i++)
    free(p->owned[i]);
}

static bool has_option(const struct oci_mount *m, const char *opt) {
  for (size_t k = 0; k < m->noptions; k++)
    if (!strcmp(m->options[k], opt)) return true;
  return false;
}

/* Mounts whose destination is a directory the guest gets as a preopen: bind mounts of
 * directories. Returns 0, or -1 when a bind source is missing (as a container would fail). */
static int add_mounts(const struct oci_config *cfg, bool in_container, struct preopens *p,
                      struct isola_err *err) {
  for (size_t i = 0; i < cfg->nmounts; i++) {
    const struct oci_mount *m = &cfg->mounts[i];
    bool bind = (m->type && !strcmp(m->type, "bind")) || has_option(m, "bind") ||
                has_option(m, "rbind");
    if (!bind || !m->destination || m->destination[0] != '/') {
      isola_debug("wasm: mounts[%zu] (%s on %s): not a bind mount, not exposed to the module", i,
                  m->type ? m->type : "?", m->destination ? m->destination : "?");
      continue;
    }
    const char *host = in_container ? m->destination : m->source;
    struct stat st;
    if (!host) return isola_fail(err, EINVAL, "config.json: mounts[%zu].source: required", i);
    if (stat(host, &st) < 0)
      return isola_fail_errno(err, errno, "config.json: mounts[%zu]: %s `%s`", i,
                              in_container ? "destination" : "source", host);
    if (!S_ISDIR(st.st_mode)) {
      isola_debug("wasm: mounts[%zu] (%s): a file, not exposed (a preopen is a directory)", i,
                  m->destination);
      continue;
    }
    char *guest = strdup(m->destination);
    if (!guest) return isola_fail_errno(err, ENOMEM, "mounts");
    for (size_t len = strlen(guest); len > 1 && guest[len - 1] == '/'; len--)
      guest[len - 1] = '\0';
    if (!strcmp(guest, "/")) { /* a bind mount on the root itself: "/" is already there */
      free(guest);
      continue;
    }
    if (p->n == WASM_MAX_PREOPENS) {
      free(guest);
      return isola_fail(err, EINVAL, "config.json: mounts: more than %d directories to expose",
                        WASM_MAX_PREOPENS - 1);
    }
    p->owned[p->n] = guest;
    p->ro[p->n] = has_option(m, "ro") || has_option(m, "rro");
    p->dirs[p->n++] = (struct iw_wasi_dir){host, guest};
  }
  return 0;
}

/* ---- prepare ---------------------------------------------------------------------------- */

static void strv_free(char **v) {
  for (size_t i = 0; v && v[i]; i++)
    free(v[i]);
  free(v);
}
static void strv_freep(char ***v) { strv_free(*v); }

/* process.env plus PWD=cwd when it has none. */
static char **guest_env(const struct oci_process *p) {
  bool has_pwd = false;
  for (size_t i = 0; i < p->nenv; i++)
    has_pwd |= !strncmp(p->env[i], "PWD=", 4);
  char **env = calloc(p->nenv + 2, sizeof *env);
  if (!env) return NULL;
  size_t n = 0;
  for (size_t i = 0; i < p->nenv; i++)
    if (!(env[n++] = strdup(p->env[i]))) goto fail;
  if (!has_pwd && asprintf(&env[n++], "PWD=%s", p->cwd ? p->cwd : "/") < 0) {
    env[n - 1] = NULL;
    goto fail;
  }
  return env;
fail:
  strv_free(env);
  return NULL;
}

int wasm_prepare(const struct oci_config *cfg, const char *root, bool in_container,
                 struct wasm_workload *w, struct isola_err *err) {
  const struct oci_process *p = &cfg->process;
  const char *name = p->args[0];
  iw_error e = {0};
  for (size_t i = 0; i < WASM_MAX_LISTEN; i++)
    w->listen_fds[i] = -1;
  if (wasm_plan(cfg, &w->plan, err) < 0) return -1;

  _cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return isola_fail_errno(err, errno, "root `%s`", root);
  const char *cwd = p->cwd ? p->cwd : "/";
  _cleanup_close_ int cwdfd = open_in_root(rootfd, cwd, O_PATH | O_DIRECTORY, "process.cwd", err);
  if (cwdfd < 0) return -1;

  /* The module: an absolute name from the root, a relative one from the cwd. */
  _cleanup_close_ int fd = name[0] == '/' ? open_in_root(rootfd, name, O_RDONLY, "process.args[0]", err)
                                          : -1;
  if (name[0] != '/') {
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", cwd, name) >= (int)sizeof path)
      return isola_fail(err, ENAMETOOLONG, "process.args[0] `%s`: too long", name);
    fd = open_in_root(rootfd, path, O_RDONLY, "process.args[0]", err);
  }
  if (fd < 0) return -1;
  _cleanup_free_ uint8_t *bytes = NULL;
  size_t len = 0;
  if (read_module(fd, name, &bytes, &len, err) < 0) return -1;
  if (!(w->module = iw_module_new(bytes, len, &e)))
    return isola_fail(err, EINVAL, "module `%s`: %s", name, e.msg);

  /* Preopens: the root as "/", then the mounts. */
  __attribute__((cleanup(preopens_free))) struct preopens pre = {.n = 1};
  pre.dirs[0] = (struct iw_wasi_dir){root, "/"};
  pre.ro[0] = cfg->root_readonly;
  if (add_mounts(cfg, in_container, &pre, err) < 0) return -1;

  for (size_t i = 0; i < w->plan.nlisten; i++) {
    if ((w->listen_fds[i] = iw_wasi_listen(w->plan.listen[i], &e)) < 0)
      return isola_fail(err, EINVAL, "annotations." WASM_ANN_LISTEN ": %s", e.msg);
    w->nlisten++;
  }

  __attribute__((cleanup(strv_freep))) char **env = guest_env(p);
  if (!env) return isola_fail_errno(err, ENOMEM, "process.env");
  struct iw_wasi_config wc = IW_WASI_CONFIG_INIT;
  wc.argc = (int)p->nargs;
  wc.argv = p->args;
  wc.envp = env;
  wc.dirs = pre.dirs;
  wc.ndirs = pre.n;
  wc.dirs_readonly = pre.ro;
  wc.listen_fds = w->listen_fds;
  wc.nlisten = w->nlisten;
  if (!(w->wasi = iw_wasi_new(&wc, &e))) return isola_fail(err, EINVAL, "WASI: %s", e.msg);
  if (!(w->store = iw_store_new(&w->plan.limits, &e)))
    return isola_fail(err, ENOMEM, "wasm store: %s", e.msg);
  size_t nimports = iw_module_import_count(w->module);
  _cleanup_free_ iw_extern *imports = calloc(nimports ? nimports : 1, sizeof *imports);
  if (!imports) return isola_fail_errno(err, ENOMEM, "imports");
  if (iw_wasi_imports(w->wasi, w->store, w->module, imports, &e) < 0)
    return isola_fail(err, EINVAL, "module `%s`: %s", name, e.msg);
  if (!(w->instance = iw_instantiate(w->store, w->module, imports, nimports, &e)))
    return isola_fail(err, EINVAL, "module `%s`: instantiate: %s", name, e.msg);
  iw_extern ex;
  const iw_functype *t;
  if (iw_instance_export(w->instance, "_start", &ex) < 0 || ex.kind != IW_EXTERN_FUNC ||
      (t = iw_func_type(ex.of.func), t->nparams != 0 || t->nresults != 0))
    return isola_fail(err, EINVAL,
                      "module `%s`: no function `_start` of type () -> () (not a WASI command)",
                      name);
  w->start = ex.of.func;
  return 0;
}

/* ---- the user --------------------------------------------------------------------------- */

int wasm_set_user(const struct oci_process *p, struct isola_err *err) {
  if (p->uid == getuid() && p->gid == getgid() && !p->nadditional_gids) return 0;
  gid_t groups[256];
  size_t n = p->nadditional_gids < 256 ? p->nadditional_gids : 256;
  for (size_t i = 0; i < n; i++)
    groups[i] = p->additional_gids[i];
  if (setgroups(n, groups) < 0)
    return isola_fail_errno(err, errno, "process.user.additionalGids: setgroups");
  if (setresgid(p->gid, p->gid, p->gid) < 0)
    return isola_fail_errno(err, errno, "process.user.gid: setgid %u", p->gid);
  if (setresuid(p->uid, p->uid, p->uid) < 0)
    return isola_fail_errno(err, errno, "process.user.uid: setuid %u", p->uid);
  return 0;
}

/* ---- run -------------------------------------------------------------------------------- */

static iw_store *volatile running_store;

static void on_deadline(int sig) {
  (void)sig;
  if (running_store) iw_store_interrupt(running_store);
}

static void on_terminate(int sig) { _exit(128 + sig); }

/* The runtime may have blocked signals or set handlers (`isola run` forwards them). A process
 * with pid 1 in its pid namespace (sandbox=container) gets no default action for signals it
 * does not handle, so there the usual terminating ones end it as they would anywhere else.
 * SIGSEGV and SIGBUS keep the engine's handler, installed when the module was instantiated:
 * it makes an access to a memory's guard pages a trap (status 134) and hands any other fault
 * to the default action. (Reset, such an access killed the process with SIGSEGV, 139.) */
static void reset_signals(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGSEGV && s != SIGBUS) signal(s, SIG_DFL);
  signal(SIGPIPE, SIG_IGN);
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (getpid() == 1) {
    static const int term[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof term / sizeof term[0]; i++)
      signal(term[i], on_terminate);
  }
}

int wasm_run(struct wasm_workload *w) {
  reset_signals();
  if (w->plan.timeout_ms) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    iw_wasi_set_deadline(w->wasi, (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec +
                                      w->plan.timeout_ms * 1000000u);
    running_store = w->store;
    struct sigaction sa = {.sa_handler = on_deadline};
    sigaction(SIGALRM, &sa, NULL);
    uint64_t ms = w->plan.timeout_ms;
    struct itimerval it = {.it_value = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
  }
  iw_error e = {0};
  if (iw_call(w->store, w->start, NULL, 0, NULL, 0, &e) == 0) return 0;
  if (e.kind == IW_ERR_EXIT) return e.exit_code & 0xff;
  const char *what =
      e.trap != IW_TRAP_NONE && e.trap != IW_TRAP_HOST ? iw_trap_name(e.trap) : e.msg;
  if (e.trap == IW_TRAP_INTERRUPTED || e.trap == IW_TRAP_DEADLINE)
    what = "deadline exceeded (" WASM_ANN_TIMEOUT ")";
  fprintf(stderr, "isola: wasm trap: %s", what);
  if (e.func_index >= 0) fprintf(stderr, " in function %lld", (long long)e.func_index);
  fputc('\n', stderr);
  return EXIT_TRAP;
}
