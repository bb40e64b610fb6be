/* libisola-wasm WASI: the `wasi_snapshot_preview1` host functions for the engine in wasm.h.
 *
 * Promise: the guest sees only what the config grants -- its argv, the environment given (never
 * the host's), three stdio fds lent by the embedder, the listed preopened directories and
 * listening sockets. Guest fds are indices into the instance's own fd table, never host fds;
 * every guest pointer and length is checked against linear memory before it is used (an
 * out-of-range one is answered with EFAULT, not a trap). Every path resolves beneath the
 * directory fd it is given with openat2(2) RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS: `..` past
 * it, absolute paths and symlinks that lead out are EPERM (as wasmtime answers); the rights of
 * each fd are checked before any host call (ENOTCAPABLE). Every function of preview 1 is
 * implemented, with the spec's errno values; a function the module imports that preview 1
 * does not have still links and answers ENOSYS.
 *
 * Decisions a guest can observe (docs/wasm.md has the full list):
 *   - guest fds: 0..2 stdio, 3.. the preopened directories in config order, then the
 *     listening sockets (so wasi-libc, which scans preopens from 3 until EBADF, finds all dirs);
 *   - a read-only directory (dirs_readonly) and what is opened through it have no right
 *     that changes the filesystem;
 *   - path_symlink refuses (EPERM) a target that is absolute or whose `..`s climb above the
 *     preopened directory from where the link is made; wasmtime refuses the absolute ones;
 *   - device files other than null, zero, full, random and urandom, and anything on a kernel
 *     interface filesystem (proc, sys, cgroup, debugfs, tracefs, securityfs, bpf), cannot be
 *     opened (EACCES), whatever the preopen: a guest must not reach /proc/self/mem or a disk
 *     through a directory it was given;
 *   - proc_raise(sig) with a signal whose default action ends a process ends the run with
 *     exit code 128 + the Linux number of that signal (as a shell reports a process killed by
 *     it); signals that are ignored by default do nothing; SIGSTOP and friends are ENOTSUP;
 *   - blocking calls (poll_oneoff, reads and writes on pipes, terminals and sockets,
 *     sock_accept) stop at the store's deadline or iw_wasi_set_deadline()'s (IW_TRAP_DEADLINE)
 *     and at iw_store_interrupt() (IW_TRAP_INTERRUPTED).
 *
 * Assumes: one iw_wasi serves one instance (it holds that instance's fd table and exit state),
 * used from one thread. It must outlive every store it supplied imports to: free the store
 * first, then the iw_wasi.
 */
#ifndef ISOLA_WASI_H
#define ISOLA_WASI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isola/wasm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The import module name this layer provides. */
#define IW_WASI_MODULE "wasi_snapshot_preview1"

/* A directory the guest may use: `host` is opened (O_DIRECTORY) when iw_wasi_new() runs, and
 * appears to the guest as preopen `guest` (e.g. "/data", "/" or "."). */
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
  /* NULL, or one flag per dir: dirs_readonly[i] makes dirs[i] read-only (no right that writes,
   * creates, removes, renames or links, for it and for what is opened through it). */
  const bool *dirs_readonly;
  /* Listening stream sockets (host fds, duplicated: the embedder keeps its own) that the guest
   * may sock_accept on. They follow the dirs: guest fds 3 + ndirs, ... in this order. */
  const int *listen_fds;
  size_t nlisten;
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

/* A TCP socket bound to `spec` and listening (backlog 128, SO_REUSEADDR, close-on-exec), for
 * iw_wasi_config.listen_fds: "IPV4:PORT", "[IPV6]:PORT" or "localhost:PORT" (numeric: no name
 * lookups, which a static binary cannot do).
 * Returns the fd, or -1 with `err` filled (IW_ERR_USAGE for a malformed spec, IW_ERR_RESOURCE
 * when the socket cannot be made: "listen `127.0.0.1:80`: Address already in use"). */
int iw_wasi_listen(const char *spec, iw_error *err);

/* Blocking WASI calls give up at this CLOCK_MONOTONIC time (ns; 0: none) and trap with
 * IW_TRAP_DEADLINE, even when the store has no deadline of its own -- for an embedder that
 * stops the compute with iw_store_interrupt() from a timer instead. The store's own
 * limits.deadline_ns is honoured as well. */
void iw_wasi_set_deadline(iw_wasi *wasi, uint64_t deadline_ns);

/* Whether the guest has called proc_exit, or ended the run with proc_raise, and with what value
 * (`code` may be NULL). The call itself fails with IW_ERR_EXIT and err.exit_code holds the same
 * value: proc_exit's u32 as an int (a process exit status keeps its low 8 bits, as with
 * exit(3)), or 128 + the signal's Linux number after proc_raise. */
bool iw_wasi_exited(const iw_wasi *wasi, int *code);

/* Runs a WASI command: decode and validate `bytes`, make a store with `limits` (NULL: the
 * defaults), link the imports, instantiate, call `_start`. Returns 0 with `*exit_code` set
 * (proc_exit's value, or 128 + N after proc_raise; 0 when `_start` returns), or -1 with `err` filled: IW_ERR_MALFORMED /
 * IW_ERR_INVALID (bad module), IW_ERR_UNLINKABLE, IW_ERR_USAGE (no `_start` of type [] -> []),
 * IW_ERR_TRAP / IW_ERR_EXHAUSTED (a trap; err.func_index says where), IW_ERR_RESOURCE. */
int iw_wasi_run(const uint8_t *bytes, size_t len, const struct iw_wasi_config *config,
                const iw_limits *limits, int *exit_code, iw_error *err);

#ifdef __cplusplus
}
#endif

#endif
