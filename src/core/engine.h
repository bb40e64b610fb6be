/* The engine interface: each isolation model (container, vm, wasm) is one table of function
 * pointers. The CLI only ever calls through this table; adding an engine is adding a file and
 * an entry in engines[] (engine.c), never an `if (engine == ...)` elsewhere.
 *
 * Contract shared by all engines: create() prepares everything and leaves the workload paused
 * before its first instruction, with st->pid the process a shim waits on; start() releases it;
 * that pid exits with the workload's status (128+N after a signal); kill() delivers a signal to
 * the workload; destroy() removes every trace except the state directory, which the caller
 * removes. Stdio given to create() is the workload's stdio.
 */
#ifndef ISOLA_ENGINE_H
#define ISOLA_ENGINE_H

#include <stdbool.h>

#include "core/err.h"
#include "core/oci_config.h"
#include "core/state.h"

/* A workload that is not a program to execve: the container engine builds the container as
 * usual and then, in the container's process, calls prepare() where it would look up the
 * executable (an error fails `create`), and run() after `start` where it would execve; run()'s
 * return value is the process's exit status. The wasm engine uses it to run a module inside a
 * container's namespaces, cgroup and seccomp filter (io.isola.wasm.sandbox=container). */
struct workload_ops {
  int (*prepare)(void *ctx, const struct oci_config *cfg, struct isola_err *err);
  int (*run)(void *ctx, const struct oci_config *cfg);
  void *ctx;
};

struct create_opts {
  const char *id;
  const char *bundle; /* absolute */
  const char *root;   /* --root */
  const char *pid_file;
  const char *console_socket;
  int console_fd; /* a connected socket used instead of console_socket when >= 0 (`run`) */
  bool no_pivot, no_new_keyring;
  int preserve_fds;
  bool foreground; /* `run` without -d: the caller stays the parent and waits */
  const struct workload_ops *workload; /* NULL: execve process.args */
};

struct exec_opts {
  const struct oci_process *process;
  const char *console_socket;
  int console_fd; /* a connected socket used instead of console_socket when >= 0 */
  int preserve_fds;
};

struct isola_engine {
  const char *name;
  /* The state dir exists and is locked; st has id, bundle, engine, annotations. On success
   * st->pid is set and the workload waits for start(). On failure nothing is left but the
   * state dir (which the caller removes). */
  int (*create)(const struct create_opts *o, const struct oci_config *cfg, struct state_dir *d,
                struct isola_state *st, struct isola_err *err);
  /* Releases the workload; `cfg` is the config saved at create (for startContainer/poststart
   * hooks). */
  int (*start)(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
               struct isola_err *err);
  int (*kill)(struct state_dir *d, struct isola_state *st, int sig, bool all,
              struct isola_err *err);
  /* One more process in the running workload; *pid is the process the caller waits on. */
  int (*exec)(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
              const struct exec_opts *o, pid_t *pid, struct isola_err *err);
  /* Stops whatever still runs (SIGKILL) and releases the engine's resources (cgroups, VMs);
   * runs poststop hooks. */
  int (*destroy)(struct state_dir *d, struct isola_state *st, const struct oci_config *cfg,
                 struct isola_err *err);
};

extern const struct isola_engine engine_container;
extern const struct isola_engine engine_vm;
extern const struct isola_engine engine_wasm; /* src/wasmrt/engine.c */

/* NULL when no engine of that name is built in. */
const struct isola_engine *engine_find(const char *name);
/* Names of the built-in engines, NULL-terminated. */
const char *const *engine_names(void);

#endif
