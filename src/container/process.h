/* The container's init process: spawned in its namespaces, set up in lockstep with the runtime,
 * and parked before execve until `start` writes to the exec fifo (see process.c). */
#ifndef ISOLA_PROCESS_H
#define ISOLA_PROCESS_H

#include "core/engine.h"

/* Spawns and sets up the container process; on success it waits on `<state dir>/exec.fifo`
 * and st has its pid, cgroup dirs and status "created". On failure nothing runs any more and
 * its cgroups are gone. */
int container_spawn(const struct create_opts *o, const struct oci_config *cfg, const char *rootfs,
                    struct state_dir *d, struct isola_state *st, struct isola_err *err);

#endif
