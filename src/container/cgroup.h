/* Control groups: the container's cgroup on every hierarchy the host has, v1, v2 or hybrid, and
 * the limits of linux.resources applied to it.
 *
 * Hierarchies are found at run time from /proc/self/mountinfo and /proc/self/cgroup: on a
 * unified host there is one (cgroup2); on a v1 host one per mounted controller set; on a hybrid
 * host (this project's machines) both the v1 ones and the cgroup2 mount. An absolute
 * cgroupsPath is taken from each hierarchy's root, a relative one from the runtime's own cgroup
 * there; a systemd-style "slice:prefix:name" becomes "slice/prefix-name.scope" (cgroupfs only).
 * Without cgroupsPath the container gets "/isola/<id>", as runc gives it "/<id>".
 *
 * Each controller is used where the host has it: a v1 hierarchy that lists it, else the v2
 * hierarchy whose root offers it (cgroup_v1.c / cgroup_v2.c do the per-version work). A value for
 * a controller the host lacks is an error naming its JSON path, never a silent skip; the few
 * knobs that have no meaning on a version (v2: memory.kernel, kernelTCP, swappiness,
 * disableOOMKiller, blockIO leafWeight; v1 on Linux >= 5.16: memory.kernel; both:
 * memory.useHierarchy) are skipped with a --debug note, as runc does.
 *
 * Devices: as with runc and crun, a container reaches only the standard devices, linux.devices
 * and what linux.resources.devices allows (v1 devices.deny/allow; v2 an eBPF program attached
 * to the cgroup), whether or not the config has rules. A runtime that is not root in the
 * initial user namespace skips them: the kernel would refuse, and the user namespace already
 * confines devices.
 */
#ifndef ISOLA_CGROUP_H
#define ISOLA_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include "core/err.h"
#include "core/oci_config.h"

/* Creates the container's directory in every hierarchy, applies the config's linux.resources
 * and device rules (everything denied but the standard devices, linux.devices and what
 * linux.resources.devices allows; see cg_device_rules) and moves `pid` into it. `cfg` may be
 * NULL: the cgroup then only groups the process (no limits, no device rules). `dirs` receives a
 * JSON array of the directories (absolute paths) that the container owns: those to remove at
 * delete. On failure nothing created is left. */
int cgroup_enter(const char *cgroups_path, const char *id, pid_t pid,
                 const struct oci_config *cfg, json_t **dirs, struct isola_err *err);
/* The directories cgroup_enter would make the container's, without making anything: a runtime
 * records them before cgroup_enter, so that a delete after a create killed half-way knows
 * them (cgroup_remove tolerates the ones never made). */
int cgroup_dirs(const char *cgroups_path, const char *id, json_t **dirs, struct isola_err *err);
/* Removes the directories (deepest first); tolerates ones already gone. */
int cgroup_remove(json_t *dirs, struct isola_err *err);
/* Pids in the container's cgroup (the first directory's cgroup.procs); caller frees. */
int cgroup_pids(json_t *dirs, pid_t **pids, size_t *n, struct isola_err *err);

/* Applies a linux.resources object to a running container's cgroups (`isola update`): only
 * the values given change. New device rules keep linux.devices of `cfg` (the container's
 * config, may be NULL) allowed. `where` prefixes JSON paths in messages ("resources"). */
int cgroup_update(json_t *dirs, json_t *resources, const struct oci_config *cfg,
                  const char *where, struct isola_err *err);

/* Freezes (pause) or thaws (resume) every process of the container; returns once the kernel
 * reports the new state. */
int cgroup_freeze(json_t *dirs, bool frozen, struct isola_err *err);
/* Whether the freezer holds the container. */
int cgroup_frozen(json_t *dirs, bool *frozen, struct isola_err *err);

/* runc's stats object ("data" of `events --stats`: cpu, memory, pids, blkio, hugetlb, ...). */
int cgroup_stats(json_t *dirs, json_t **stats, struct isola_err *err);

/* OOM events of the container's memory cgroup: v1 memory.oom_control through an eventfd
 * (cgroup.event_control), v2 memory.events through inotify. */
struct cgroup_oom {
  int fd; /* poll it for POLLIN */
  bool v2;
  char dir[1024];
  uint64_t state;
};
int cgroup_oom_open(json_t *dirs, struct cgroup_oom *w, struct isola_err *err);
/* After `fd` became readable, or to check without waiting: OOM kills since the last call, and
 * whether the cgroup is gone. Never blocks. */
void cgroup_oom_read(struct cgroup_oom *w, unsigned *events, bool *gone);
void cgroup_oom_close(struct cgroup_oom *w);

#endif
