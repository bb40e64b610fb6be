/* The container engine: the table of operations the CLI calls (see core/engine.h). */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "container/cgroup.h"
#include "container/container.h"
#include "container/exec.h"
#include "container/process.h"
#include "core/cleanup.h"
#include "core/engine.h"
#include "core/gate.h"

static int container_create(const struct create_opts *o, const struct oci_config *cfg,
                            struct state_dir *d, struct isola_state *st, struct isola_err *err) {
  char rootfs[PATH_MAX], joined[PATH_MAX];
  if (cfg->root_path[0] == '/') snprintf(joined, sizeof joined, "%s", cfg->root_path);
  else snprintf(joined, sizeof joined, "%s/%s", o->bundle, cfg->root_path);
  if (!realpath(joined, rootfs))
    return isola_fail_errno(err, errno, "config.json: root.path: `%s`", joined);
  return container_spawn(o, cfg, rootfs, d, st, err);
}

static int container_start(struct state_dir *d, struct isola_state *st,
                           const struct oci_config *cfg, struct isola_err *err) {
  if (gate_release(d, st->id, err) < 0) {
    /* The process answered with an error and exits: let `state` after us see it stopped. */
    proc_wait_gone(st->pid, st->pid_start, 2000);
    return -1;
  }
  /* The gate's marker records the release (see gate.h): state.json is not written again. */
  st->started = true;
  st->status = ST_RUNNING;
  struct isola_err warn;
  if (hooks_run(cfg, OCI_HOOK_POSTSTART, st, true, &warn) < 0)
    fprintf(stderr, "isola: warning: %s\n", warn.msg); /* the spec: log, and carry on */
  return 0;
}

static int container_kill(struct state_dir *d, struct isola_state *st, int sig, bool all,
                          struct isola_err *err) {
  if (all) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n;
    if (cgroup_pids(json_object_get(st->extra, "cgroupDirs"), &pids, &n, err) < 0) return -1;
    for (size_t i = 0; i < n; i++) kill(pids[i], sig);
  }
  if (kill(st->pid, sig) < 0 && !(all && errno == ESRCH))
    return isola_fail_errno(err, errno, "container `%s`: kill pid %d", st->id, st->pid);
  return 0;
}

static int container_destroy(struct state_dir *d, struct isola_state *st,
                             const struct oci_config *cfg, struct isola_err *err) {
  json_t *dirs = json_object_get(st->extra, "cgroupDirs");
  state_refresh(st);
  if (st->pid > 0 && st->status != ST_STOPPED) {
    kill(st->pid, SIGKILL);
    /* A frozen task cannot die: thaw a paused container after the signal is queued (runc does
     * the same), so SIGKILL is the first thing its processes see. */
    struct isola_err ignored;
    if (dirs) cgroup_freeze(dirs, false, &ignored);
    if (!proc_wait_gone(st->pid, st->pid_start, 5000))
      return isola_fail(err, EBUSY, "container `%s`: pid %d did not exit after SIGKILL", st->id,
                        st->pid);
  }
  /* Without a pid namespace, other processes of the container may remain: kill the cgroup. */
  for (int round = 0; dirs && round < 50; round++) {
    _cleanup_free_ pid_t *pids = NULL;
    size_t n = 0;
    if (cgroup_pids(dirs, &pids, &n, err) < 0 || n == 0) break;
    for (size_t i = 0; i < n; i++) kill(pids[i], SIGKILL);
    nanosleep(&(struct timespec){0, 2 * 1000 * 1000}, NULL);
  }
  if (dirs && cgroup_remove(dirs, err) < 0) return -1;
  st->status = ST_STOPPED;
  if (cfg) {
    struct isola_err warn;
    if (hooks_run(cfg, OCI_HOOK_POSTSTOP, st, true, &warn) < 0)
      fprintf(stderr, "isola: warning: %s\n", warn.msg);
  }
  return 0;
}

static int container_exec_op(struct state_dir *d, struct isola_state *st,
                             const struct oci_config *cfg, const struct exec_opts *o, pid_t *pid,
                             struct isola_err *err) {
  struct exec_request r = {.st = st, .process = o->process, .seccomp = cfg->seccomp,
                           .console_socket = o->console_socket, .console_fd = o->console_fd,
                           .preserve_fds = o->preserve_fds};
  return container_exec(&r, pid, err);
}

const struct isola_engine engine_container = {
    .name = "container",
    .create = container_create,
    .start = container_start,
    .kill = container_kill,
    .exec = container_exec_op,
    .destroy = container_destroy,
};
