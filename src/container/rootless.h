/* Running as an unprivileged user ("rootless"): what the runtime does differently.
 *
 * Id maps: a user may map only its own uid and gid into a new user namespace by writing
 * uid_map/gid_map itself (gid_map after setgroups is denied). Anything more — subordinate ids
 * from /etc/subuid and /etc/subgid — goes through the setuid helpers newuidmap/newgidmap
 * (package uidmap), which check those files; setgroups then stays allowed.
 *
 * Cgroups: without a writable (delegated) cgroup the container simply has none. That is fine
 * when linux.resources asks for nothing enforceable (absent, or only `devices`, which the
 * user namespace already confines: no mknod, device nodes are bind mounts) and noted with
 * --debug; otherwise it is an error that says why.
 */
#ifndef ISOLA_ROOTLESS_H
#define ISOLA_ROOTLESS_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "core/err.h"
#include "core/oci_config.h"

/* True when the runtime itself is not root (the effective uid). */
bool rootless_runtime(void);

/* Whether `file` ("uid_map"/"gid_map") needs newuidmap/newgidmap: the runtime is not root and
 * the maps hold more than the caller's own id. */
bool rootless_needs_helper(const struct oci_idmap *m, size_t n, bool gid);

/* Runs newuidmap (gid false) or newgidmap (gid true) on `pid` with the maps; waits for it.
 * Failures quote the helper's own message. */
int rootless_run_idmap_helper(pid_t pid, const struct oci_idmap *m, size_t n, bool gid,
                              struct isola_err *err);

/* Called when cgroup_enter() failed with `err`: returns 0 with `*dirs` an empty array (and a
 * debug note) when the runtime is rootless, the failure is a permission one and the config
 * needs no cgroup; otherwise -1 with `err` explained. */
int rootless_cgroup_fallback(const struct oci_config *cfg, json_t **dirs, struct isola_err *err);

#endif
