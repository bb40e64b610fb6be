/* Control groups: the container's cgroup on every hierarchy the host has, v1, v2 or hybrid.
 *
 * Hierarchies are found at run time from /proc/self/mountinfo and /proc/self/cgroup: on a
 * unified host there is one (cgroup2); on a v1 host one per mounted controller set; on a hybrid
 * host (this project's machines) both the v1 ones and the cgroup2 mount. An absolute
 * cgroupsPath is taken from each hierarchy's root, a relative one from the runtime's own cgroup
 * there; a systemd-style "slice:prefix:name" becomes "slice/prefix-name.scope" (cgroupfs only).
 * Without cgroupsPath the container gets "/isola/<id>", as runc gives it "/<id>".
 */
#ifndef ISOLA_CGROUP_H
#define ISOLA_CGROUP_H

#include <stdbool.h>
#include <sys/types.h>
#include <jansson.h>

#include "core/err.h"

/* Creates the container's directory in every hierarchy and moves `pid` into it. `dirs` receives
 * a JSON array of the directories (absolute paths) that the container owns: those to remove at
 * delete. */
int cgroup_enter(const char *cgroups_path, const char *id, pid_t pid, json_t **dirs,
                 struct isola_err *err);
/* Removes the directories (deepest first); tolerates ones already gone. */
int cgroup_remove(json_t *dirs, struct isola_err *err);
/* Pids in the container's cgroup (the first directory's cgroup.procs); caller frees. */
int cgroup_pids(json_t *dirs, pid_t **pids, size_t *n, struct isola_err *err);

#endif
