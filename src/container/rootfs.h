/* The container's filesystem view: mounts, devices, pivot_root, masked and read-only paths.
 *
 * Runs inside the container's init process, in its new mount namespace (and user namespace,
 * if any), before the user program. Destinations are resolved inside the rootfs with
 * openat2(RESOLVE_IN_ROOT), and mounts go onto /proc/self/fd/N of the resolved O_PATH fd, so a
 * symlink in the rootfs can never redirect a mount outside it. Errors name the mount by its
 * index and destination ("mounts[3] `/proc`: mount proc: Permission denied").
 *
 * The three steps follow the OCI order: rootfs_prepare() before the createRuntime hooks
 * (mounts and devices in place, still in the runtime's root), rootfs_pivot() after the
 * createContainer hooks, rootfs_finalize() last (paths masked, made read-only, / read-only).
 */
#ifndef ISOLA_ROOTFS_H
#define ISOLA_ROOTFS_H

#include <stdbool.h>

#include "core/err.h"
#include "core/oci_config.h"

struct rootfs_ctx {
  const struct oci_config *cfg;
  const char *rootfs; /* absolute, canonical path of the bundle's rootfs on the host */
  bool userns;        /* in a new user namespace: devices are bind-mounted, not mknod'ed */
  bool no_pivot;      /* --no-pivot: MS_MOVE + chroot instead of pivot_root */
  /* v1 cgroup dirs of the container (hierarchy mount dir, path inside) for `cgroup` mounts
   * without a cgroup namespace; NULL-terminated lists, may be NULL. */
  const char *const *cgroup_v1_roots;
  const char *const *cgroup_v1_paths;
};

/* Sets rootfs propagation, makes the rootfs a mount point, performs every mount of config.json
 * in order, creates the default devices and the config's devices in /dev, and the /dev
 * symlinks (fd, stdin, stdout, stderr, ptmx, core). */
int rootfs_prepare(const struct rootfs_ctx *ctx, struct isola_err *err);
/* Makes the rootfs the process's / (pivot_root, or MS_MOVE+chroot with no_pivot) and detaches
 * the old root. Afterwards the cwd is the new "/". */
int rootfs_pivot(const struct rootfs_ctx *ctx, struct isola_err *err);
/* Masked paths, read-only paths, `root.readonly`, and the final propagation of "/". */
int rootfs_finalize(const struct rootfs_ctx *ctx, struct isola_err *err);

#endif
