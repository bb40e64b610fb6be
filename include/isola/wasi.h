/* libisola-wasm WASI: the `wasi_snapshot_preview1` host functions for the engine in wasm.h.
 *
 * Promise: the guest sees only what the config grants -- its argv, the environment given (never
 * the host's), three stdio fds lent by the embedder and the listed preopened directories. Guest
 * fds are indices into the instance's own fd table, never host fds; every guest pointer and
 * length is checked against linear memory before it is used (an out-of-range one is answered
 * with EFAULT, not a trap). Every function the module imports from `wasi_snapshot_preview1`
 * links, so ordinary wasm32-wasi programs load; the ones not implemented yet return ENOSYS.
 *
 * Implemented now: args_get, args_sizes_get, environ_get, environ_sizes_get, fd_write, fd_read,
 * fd_close, fd_seek, fd_fdstat_get, fd_prestat_get, fd_prestat_dir_name, clock_time_get,
 * clock_res_get, random_get, proc_exit, sched_yield. Not yet (ENOSYS, 52): every path_* call
 * (path_open included: preopened directories are recorded and reported, but nothing beneath
 * them can be opened yet), fd_readdir, fd_filestat_*, fd_pread/fd_pwrite, fd_tell, fd_renumber,
 * fd_fdstat_set_*, fd_advise/allocate/sync/datasync, poll_oneoff, proc_raise, sock_*.
 *
 * Assumes: one iw_wasi serves one instance (it holds that instance's fd table and exit state),
 * used from one thread. It must outlive every store it supplied imports to: free the store
 * first, then the iw_wasi.
 */
#ifndef ISOLA_WASI_H
#define ISOLA_WASI_H

#include <stddef.h>
#include <stdint.h>

#include "isola/wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The import module name this layer provides. */
#define IW_WASI_MODULE "wasi_snapshot_preview1"

/* A directory the guest may use: `host` is opened (O_PATH|O_DIRECTORY) when iw_wasi_new() runs,
 * and appears to the guest as preopen `guest` (e.g. "/data" or "."). */
struct iw_wasi_dir {
  const char *host, *guest;
};

struct iw_wasi_config {
  int argc; /* argv[0] is the program name the guest sees */
  char *const *argv;
  char *const *envp;              /* "K=V" strings, NULL-terminated; NULL = empty environment */
  const struct iw_wasi_dir *dirs; /* guest fds 3, 4, ... in this order */
  size_t ndirs;
  /* Host fds lent as guest fds 0, 1, 2. They stay the embedder's: guest fd_close only drops
   * them from the guest's table. -1 leaves that guest fd closed (EBADF). */
  int stdin_fd, stdout_fd, stderr_fd;
};

/* The usual config: host stdio lent as guest stdio, nothing else. */
#define IW_WASI_CONFIG_INIT                                                                        \
  { .stdin_fd = 0, .stdout_fd = 1, .stderr_fd = 2 }

typedef struct iw_wasi iw_wasi;

/* Copies everything it needs from `config` (strings included) and opens the preopens.
 * NULL with `err` filled (IW_ERR_RESOURCE: "preopen `/srv`: No such file or directory",
 * or IW_ERR_USAGE for a bad config). */
iw_wasi *iw_wasi_new(const struct iw_wasi_config *config, iw_error *err);
/* Closes the preopens (and whatever the guest opened); never the lent stdio fds. NULL is fine. */
void iw_wasi_free(iw_wasi *wasi);

/* Fills `out` with one extern per import of `module`, in the module's import order, ready for
 * iw_instantiate(). Every `wasi_snapshot_preview1` function import links; a WASI function
 * imported with the wrong type, a non-function WASI import or any import from another module
 * is IW_ERR_UNLINKABLE ("unknown import `env.foo`"). Returns 0 or -1. `out` needs room for
 * iw_module_import_count(module) entries. */
int iw_wasi_imports(iw_wasi *wasi, iw_store *store, const iw_module *module, iw_extern *out,
                    iw_error *err);

/* Whether the guest has called proc_exit, and with what value (`code` may be NULL). The call
 * itself fails with IW_ERR_EXIT and err.exit_code holds the same value. The value is the guest's
 * u32 as an int; a process exit status keeps its low 8 bits, as with exit(3). */
bool iw_wasi_exited(const iw_wasi *wasi, int *code);

/* Runs a WASI command: decode and validate `bytes`, make a store with `limits` (NULL: the
 * defaults), link the imports, instantiate, call `_start`. Returns 0 with `*exit_code` set
 * (proc_exit's value; 0 when `_start` returns), or -1 with `err` filled: IW_ERR_MALFORMED /
 * IW_ERR_INVALID (bad module), IW_ERR_UNLINKABLE, IW_ERR_USAGE (no `_start` of type [] -> []),
 * IW_ERR_TRAP / IW_ERR_EXHAUSTED (a trap; err.func_index says where), IW_ERR_RESOURCE. */
int iw_wasi_run(const uint8_t *bytes, size_t len, const struct iw_wasi_config *config,
                const iw_limits *limits, int *exit_code, iw_error *err);

#ifdef __cplusplus
}
#endif

#endif
