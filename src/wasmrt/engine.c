/* The wasm engine: an OCI bundle whose entrypoint is a WebAssembly module, run by isola's own
 * interpreter with WASI as the boundary. workload.c has the mapping from config.json; this
 * file is the lifecycle, in one of two sandboxes (annotation io.isola.wasm.sandbox):
 *
 *   wasm (default)  the module runs in a process of its own, in the runtime's namespaces: the
 *                   filesystem it sees is its preopens (WASI), the process joins the
 *                   container's cgroup (linux.resources apply, except memory: see below), and
 *                   nothing else of the container spec applies (namespaces, seccomp,
 *                   capabilities, rlimits, devices, sysctl, hostname: accepted and ignored,
 *                   so that podman's and containerd's configs run as they are).
 *   container       the container engine builds a full container (namespaces, mounts, cgroup,
 *                   seccomp, user, capabilities), and in its process, where it would execve,
 *                   the module is loaded (at create) and run (at start) -- defense in depth.
 *                   The state keeps engine "wasm" and records {"wasmSandbox": "container"}
 *                   in its engine data, so that start, kill, exec and delete go to the
 *                   container engine.
 *
 * Memory: linux.resources.memory.limit caps the module's linear memory (whole 64 KiB pages).
 * In sandbox=wasm that is the memory limit, and the cgroup gets the rest of linux.resources
 * without the memory section: the engine's own few MiB are not the module's to pay for, and a
 * module at its cap must see memory.grow fail (malloc returns NULL), not be OOM-killed. In
 * sandbox=container the cgroup applies memory.limit to the whole container as well.
 *
 * The handshake of sandbox=wasm (the container engine has its own, with the same steps):
 *   1. runtime: fork the workload process; record its pid.
 *   2. runtime: record the pid; put it in its cgroup; run the prestart, createRuntime and
 *      createContainer hooks (the module has no namespaces of its own: they run in the
 *      runtime's); send GO. With no cgroup to join and no such hook, GO comes first, so that
 *      step 3 overlaps the rest of this one.
 *   3. workload: read, decode, validate and instantiate the module, make the listening
 *      sockets; send READY (or the error's text).
 *   4. runtime: record "created"; `create` exits.
 *   5. workload: wait at the start gate; run the startContainer hooks; answer the gate; call
 *      `_start`; exit with its status (workload.c: wasm_run).
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/container.h"
#include "container/rootless.h"
#include "core/cleanup.h"
#include "core/engine.h"
#include "core/gate.h"
#include "wasmrt/wasmrt.h"

#define SANDBOX_KEY "wasmSandbox"

static bool in_container(const struct isola_state *st) {
  json_t *v = st->extra ? json_object_get(st->extra, SANDBOX_KEY) : NULL;
  return json_is_string(v) && !strcmp(json_string_value(v), "container");
}

/* ---- sandbox=container: the module as the container's workload ------------------------ */

static int container_prepare(void *ctx, const struct oci_config *cfg, struct isola_err *err) {
  return wasm_prepare(cfg, "/", true, ctx, err);
}

static int container_run(void *ctx, const struct oci_config *cfg) {
  (void)cfg;
  return wasm_run(ctx);
}

static int create_in_container(const struct create_opts *o, const struct oci_config *cfg,
                               struct state_dir *d, struct isola_state *st,
                               struct isola_err *err) {
  /* The context is filled in the container's process (a copy of ours, made by clone). */
  static struct wasm_workload w;
  static const struct workload_ops ops = {
      .prepare = container_prepare, .run = container_run, .ctx = &w};
  struct create_opts co = *o;
  co.workload = &ops;
  if (!st->extra) st->extra = json_object();
  json_object_set_new(st->extra, SANDBOX_KEY, json_string("container"));
  return engine_container.create(&co, cfg, d, st, err);
}

/* ---- sandbox=wasm ---------------------------------------------------------------------- */

/* Closes every fd but stdio and `keep`: the workload holds nothing of the runtime's (the
 * caller's other fds, the state directory's lock). */
static void close_others(const int *keep, size_t n) {
  int hi = 3;
  for (;;) {
    int next = INT_MAX;
    for (size_t i = 0; i < n; i++)
      if (keep[i] >= hi && keep[i] < next) next = keep[i];
    if (next == INT_MAX) {
      syscall(SYS_close_range, (unsigned)hi, ~0u, 0);
      return;
    }
    if (next > hi) syscall(SYS_close_range, (unsigned)hi, (unsigned)next - 1, 0);
    hi = next + 1;
  }
}

/* Steps 3 and 5, in the workload process. Never returns. */
static _Noreturn void workload_main(const struct oci_config *cfg, const char *rootfs,
                                    struct gate *gate, int sock, struct isola_state *st) {
  const int keep[] = {gate->go, gate->result, sock};
  close_others(keep, sizeof keep / sizeof keep[0]);
  /* `run` blocks every signal while it sets up: the module starts with none blocked. */
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  struct isola_err e = {0};
  static struct wasm_workload w;
  char go;
  /* `ps`, `top`: the module's name rather than "isola" (comm holds 15 bytes). */
  const char *base = strrchr(cfg->process.args[0], '/');
  prctl(PR_SET_NAME, base ? base + 1 : cfg->process.args[0], 0, 0, 0);
  if (read(sock, &go, 1) != 1) _exit(1);
  if (wasm_prepare(cfg, rootfs, false, &w, &e) < 0 || wasm_set_user(&cfg->process, &e) < 0) {
    if (send(sock, e.msg, strlen(e.msg) + 1, MSG_NOSIGNAL) < 0) _exit(1);
    _exit(1);
  }
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0); /* from READY on, the runtime may exit */
  if (send(sock, "", 1, MSG_NOSIGNAL) < 0) _exit(1);
  close(sock);
  if (gate_wait(gate) < 0) _exit(1);
  st->status = ST_CREATED;
  st->pid = getpid(); /* the runtime learnt it after the fork: our copy of `st` has 0 */
  if (hooks_run(cfg, OCI_HOOK_START_CONTAINER, st, false, &e) < 0) {
    gate_answer(gate, &e);
    _exit(1);
  }
  gate_answer(gate, NULL);
  gate_close(gate);
  _exit(wasm_run(&w));
}

/* Is there a cgroupsPath, or a resource other than devices (which WASI enforces itself)? */
static bool cgroup_wanted(const char *cgroups_path, json_t *resources) {
  if (cgroups_path && cgroups_path[0]) return true;
  const char *key;
  json_t *v;
  json_object_foreach(resources, key, v) if (strcmp(key, "devices")) return true;
  return false;
}

static int create_wasm(const struct create_opts *o, const struct oci_config *cfg,
                       struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  if (cfg->process.terminal)
    return isola_fail(err, ENOTSUP,
                      "config.json: process.terminal: the wasm engine gives the module the "
                      "caller's stdio; a terminal needs annotations." WASM_ANN_SANDBOX
                      "=container");
  char rootfs[PATH_MAX], joined[PATH_MAX];
  if (cfg->root_path[0] == '/') snprintf(joined, sizeof joined, "%s", cfg->root_path);
  else snprintf(joined, sizeof joined, "%s/%s", o->bundle, cfg->root_path);
  if (!realpath(joined, rootfs))
    return isola_fail_errno(err, errno, "config.json: root.path: `%s`", joined);

  /* The cgroup gets linux.resources without memory (see the top of this file). */
  _cleanup_json_ json_t *resources = cfg->resources ? json_deep_copy(cfg->resources) : NULL;
  if (resources) json_object_del(resources, "memory");
  struct oci_config cgcfg = *cfg;
  cgcfg.resources = resources;

  _cleanup_gate_ struct gate gate = {-1, -1};
  if (gate_create(d, &gate, err) < 0) return -1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return isola_fail_errno(err, errno, "socketpair");
  _cleanup_close_ int sock = sv[0];
  _cleanup_close_ int child_sock = sv[1];
  st->status = ST_CREATING;
  st->created = malloc(48);
  if (st->created) state_timestamp(st->created, 48);

  /* Step 1. */
  pid_t pid = fork();
  if (pid < 0) return isola_fail_errno(err, errno, "fork the wasm process");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    workload_main(cfg, rootfs, &gate, child_sock, st);
  }
  _cleanup_kill_ pid_t child = pid;
  close(take_fd(&child_sock));
  st->pid = pid;
  bool zombie;
  st->pid_start = proc_start_time(pid, &zombie);

  /* Step 2. A cgroup only when one is asked for (cgroupsPath, as podman and containerd always
   * give) or a limit needs it: the module can reach no device and holds no other process, so
   * without either a cgroup adds nothing but its cost, which on a v1 host is most of a wasm
   * bundle's start (one cgroup.procs write per hierarchy). */
  bool cgroup = cgroup_wanted(cfg->cgroups_path, resources);
  bool hooks = cfg->nhooks[OCI_HOOK_PRESTART] || cfg->nhooks[OCI_HOOK_CREATE_RUNTIME] ||
               cfg->nhooks[OCI_HOOK_CREATE_CONTAINER];
  /* With no cgroup to join and no hook to run first, nothing has to precede the module's
   * loading: GO at once, so that the module loads while we record the pid. */
  bool go_now = !cgroup && !hooks;
  if (go_now && send(sock, "g", 1, MSG_NOSIGNAL) != 1)
    return isola_fail_errno(err, errno, "the wasm process");
  if (!st->extra) st->extra = json_object();
  json_t *dirs = NULL;
  if (cgroup) {
    /* Recorded before they exist: a create killed from here on leaves dirs delete knows. */
    if (cgroup_dirs(cfg->cgroups_path, o->id, &dirs, err) < 0) return -1;
  } else {
    dirs = json_array();
  }
  json_object_set_new(st->extra, "cgroupDirs", dirs);
  /* The pid (and the planned cgroup) on disk: from here on `state` shows the container. */
  if (state_save(d, st, err) < 0) return -1;
  if (cgroup) {
    dirs = NULL;
    if (cgroup_enter(cfg->cgroups_path, o->id, pid, &cgcfg, &dirs, err) < 0 &&
        rootless_cgroup_fallback(&cgcfg, &dirs, err) < 0)
      return -1;
    json_object_set_new(st->extra, "cgroupDirs", dirs);
    if (state_save(d, st, err) < 0) goto undo;
  }
  if (hooks_run(cfg, OCI_HOOK_PRESTART, st, false, err) < 0 ||
      hooks_run(cfg, OCI_HOOK_CREATE_RUNTIME, st, false, err) < 0 ||
      hooks_run(cfg, OCI_HOOK_CREATE_CONTAINER, st, false, err) < 0)
    goto undo;
  if (!go_now && send(sock, "g", 1, MSG_NOSIGNAL) != 1) {
    isola_fail_errno(err, errno, "the wasm process");
    goto undo;
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
    goto undo;
  }
  st->status = ST_CREATED;
  if (state_save(d, st, err) < 0) goto undo;
  take_pid(&child);
  return 0;
undo:
  kill(pid, SIGKILL);
  waitpid(take_pid(&child), NULL, 0);
  struct isola_err ignored;
  cgroup_remove(json_object_get(st->extra, "cgroupDirs"), &ignored);
  return -1;
}

/* ---- the engine table ------------------------------------------------------------------ */

static int wasm_create(const struct create_opts *o, const struct oci_config *cfg,
                       struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  struct wasm_plan plan;
  if (!cfg->has_process || !cfg->process.nargs)
    return isola_fail(err, EINVAL, "config.json: process.args: the module to run is required");
  if (wasm_plan(cfg, &plan, err) < 0) return -1;
  if (plan.sandbox == WASM_SANDBOX_CONTAINER) return create_in_container(o, cfg, d, st, err);
  return create_wasm(o, cfg, d, st, err);
}

static int wasm_start(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                      struct isola_err *err) {
  if (in_container(st)) return engine_container.start(d, st, cfg, err);
  if (gate_release(d, st->id, err) < 0) return -1;
  /* The gate's marker records the release (see gate.h): state.json is not written again. */
  st->started = true;
  st->status = ST_RUNNING;
  struct isola_err warn;
  if (cfg && hooks_run(cfg, OCI_HOOK_POSTSTART, st, true, &warn) < 0)
    fprintf(stderr, "isola: warning: %s\n", warn.msg); /* the spec: log, and carry on */
  return 0;
}

/* One process: --all is the same as without. */
static int wasm_kill(struct state_dir *d, struct isola_state *st, int sig, bool all,
                     struct isola_err *err) {
  if (in_container(st)) return engine_container.kill(d, st, sig, all, err);
  if (kill(st->pid, sig) < 0)
    return isola_fail_errno(err, errno, "container `%s`: kill pid %d", st->id, st->pid);
  return 0;
}

static int wasm_exec(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                     const struct exec_opts *o, pid_t *pid, struct isola_err *err) {
  if (in_container(st)) return engine_container.exec(d, st, cfg, o, pid, err);
  return isola_fail(err, ENOTSUP,
                    "container `%s`: the wasm engine cannot exec a process: the workload is one "
                    "module with no container around it (annotations." WASM_ANN_SANDBOX
                    "=container gives it one)",
                    st->id);
}

static int wasm_destroy(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                        struct isola_err *err) {
  if (in_container(st)) return engine_container.destroy(d, st, cfg, err);
  state_refresh(st);
  if (st->pid > 0 && st->status != ST_STOPPED) {
    kill(st->pid, SIGKILL);
    if (!proc_wait_gone(st->pid, st->pid_start, 5000))
      return isola_fail(err, EBUSY, "container `%s`: pid %d did not exit after SIGKILL", st->id,
                        st->pid);
  }
  json_t *dirs = json_object_get(st->extra, "cgroupDirs");
  if (dirs && cgroup_remove(dirs, err) < 0) return -1;
  st->status = ST_STOPPED;
  struct isola_err warn;
  if (cfg && hooks_run(cfg, OCI_HOOK_POSTSTOP, st, true, &warn) < 0)
    fprintf(stderr, "isola: warning: %s\n", warn.msg);
  return 0;
}

const struct isola_engine engine_wasm = {
    .name = "wasm",
    .create = wasm_create,
    .start = wasm_start,
    .kill = wasm_kill,
    .exec = wasm_exec,
    .destroy = wasm_destroy,
};
