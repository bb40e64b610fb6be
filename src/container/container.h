/* The container engine's internal pieces, one file per kernel facility. Each runs either in the
 * runtime (parent) or in the container's init process (child); the comment on each says which.
 */
#ifndef ISOLA_CONTAINER_H
#define ISOLA_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/oci_config.h"
#include "core/state.h"

/* namespaces.c */
int ns_clone_flag(enum oci_ns ns);
/* Flags for the namespaces to create (present, no path) at clone time. The cgroup namespace
 * is left out: the child unshares it after the parent has placed it in its cgroup. */
int ns_clone_flags(const struct oci_config *cfg);
/* Parent, before clone: joins the pid and time namespaces given by path, and unshares a new
 * time namespace with its offsets, so the child is born in them (both apply to children
 * only). */
int ns_prepare_parent(const struct oci_config *cfg, struct isola_err *err);
/* Child: joins the namespaces given by path (user first), then unshares cgroup. */
int ns_join_child(const struct oci_config *cfg, struct isola_err *err);
/* Parent: writes uid_map, setgroups and gid_map of the child. */
int ns_write_idmaps(pid_t pid, const struct oci_config *cfg, struct isola_err *err);

/* caps.c (child) */
/* Capabilities the runtime itself may hand out (its bounding set). */
uint64_t caps_available(void);
/* Drops from the bounding set what cfg's does not hold. Needs CAP_SETPCAP: call before setuid. */
int caps_drop_bounding(const struct oci_process *p, struct isola_err *err);
/* Sets effective, permitted, inheritable and ambient. Call after setuid with PR_SET_KEEPCAPS
 * on. Capabilities the runtime lacks are left out (create warns about them). */
int caps_apply(const struct oci_process *p, struct isola_err *err);

/* rlimits.c (child) */
int rlimits_apply(const struct oci_process *p, struct isola_err *err);

/* hooks.c (parent or child) */
/* Runs cfg's hooks of `kind` in order, each with the state JSON on stdin and its timeout.
 * Returns -1 at the first failure; with `keep_going` (poststart, poststop: failures are only
 * warnings there) runs the rest anyway and reports the first failure. */
int hooks_run(const struct oci_config *cfg, enum oci_hook_kind kind, const struct isola_state *st,
              bool keep_going, struct isola_err *err);

/* terminal.c (child) */
/* Opens a new pty in the container's /dev/pts, sends the master to `console_socket` over
 * SCM_RIGHTS, and makes the slave the process's controlling terminal and stdio. */
int terminal_setup(const char *console_socket_fd_path, int console_fd,
                   const struct oci_process *p, struct isola_err *err);

/* process.c (child) */
/* Looks `prog` up in PATH of `env` (as execvp would, inside the new root). */
int find_executable(const char *prog, char *const env[], char *out, size_t outlen,
                    struct isola_err *err);
/* additionalGids, gid, uid (keeping capabilities for caps_apply). */
int process_set_user(const struct oci_process *p, bool userns, struct isola_err *err);
/* `env` plus HOME from /etc/passwd when it has none (as runc does); `env` itself otherwise. */
char **process_env_with_home(char **env, size_t n, uid_t uid);
/* process.c (runtime): a connected --console-socket. */
int console_connect(const char *path, struct isola_err *err);

/* sysctl, hostname (child) */
int sysctl_apply(const struct oci_config *cfg, struct isola_err *err);

#endif
