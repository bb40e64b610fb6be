/* The wasm engine's pieces: workload.c turns config.json into an instantiated WASI module and
 * runs it (the mapping from OCI to WASI); engine.c is the engine table and the two sandbox
 * modes (the module alone in a process of its own, or inside a full container).
 *
 * Promise: everything config.json asks of the workload is checked in the runtime before any
 * process exists (wasm_plan), so a bad annotation fails `create` with its JSON path. The
 * workload itself is prepared in the process that will run it, and that process never touches
 * the host except through WASI.
 */
#ifndef ISOLA_WASMRT_H
#define ISOLA_WASMRT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "core/oci_config.h"
#include "isola/wasi.h"
#include "isola/wasm.h"

/* Annotations the engine reads (docs/wasm.md has the table). */
#define WASM_ANN_FUEL "io.isola.wasm.fuel"
#define WASM_ANN_TIMEOUT "io.isola.wasm.timeout_ms"
#define WASM_ANN_SANDBOX "io.isola.wasm.sandbox"
#define WASM_ANN_LISTEN "io.isola.wasm.listen"

#define WASM_MAX_PREOPENS 256 /* "/" and the exposed mounts */
#define WASM_MAX_LISTEN 16

enum wasm_sandbox {
  WASM_SANDBOX_WASM,      /* a plain process: WASI is the only boundary (the default) */
  WASM_SANDBOX_CONTAINER, /* inside the container's namespaces, cgroup and seccomp as well */
};

/* What config.json asks of the engine, parsed and checked. */
struct wasm_plan {
  enum wasm_sandbox sandbox;
  iw_limits limits;          /* max_memory_pages from memory.limit, fuel */
  uint64_t timeout_ms;       /* 0: none; counted from `start` */
  const char *listen[WASM_MAX_LISTEN]; /* "ADDR:PORT", pointing into listen_buf */
  size_t nlisten;
  char listen_buf[1024];
};

/* Checks the annotations and limits. Errors name the JSON path. */
int wasm_plan(const struct oci_config *cfg, struct wasm_plan *plan, struct isola_err *err);

/* One module, ready for _start. */
struct wasm_workload {
  struct wasm_plan plan;
  iw_store *store;
  iw_module *module;
  iw_wasi *wasi;
  iw_instance *instance;
  iw_func *start;
  int listen_fds[WASM_MAX_LISTEN];
  size_t nlisten;
};

/* In the workload's process: reads process.args[0] beneath `root` (the directory the guest
 * sees as "/": the bundle's rootfs, or "/" inside a container), maps config.json to WASI
 * (args, env, preopens, listening sockets) and instantiates the module. `in_container`:
 * mount destinations are already mounted beneath `root` (sandbox=container); otherwise bind
 * mount sources on the host are preopened at their destinations. */
int wasm_prepare(const struct oci_config *cfg, const char *root, bool in_container,
                 struct wasm_workload *w, struct isola_err *err);

/* sandbox=wasm, in the workload's process once it is prepared: becomes process.user (groups,
 * gid, uid; a non-zero uid has no capabilities left), so files the module creates belong to
 * that user and permissions apply to it, as in a container. */
int wasm_set_user(const struct oci_process *p, struct isola_err *err);

/* In the workload's process, after `start`: default signal handling (SIGPIPE ignored, so a
 * closed pipe is EPIPE for the guest), the timeout armed, then `_start`. Returns the exit
 * status: proc_exit's code (low 8 bits), 128 + N after proc_raise, 134 after a trap (reported
 * on stderr). */
int wasm_run(struct wasm_workload *w);

#endif
