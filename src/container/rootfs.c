/* The container's filesystem view: the three steps of rootfs.h.
 *
 * Propagation, the one decision that shapes the rest:
 *  - During setup "/" is made rslave recursively (rprivate when linux.rootfsPropagation asks
 *    for private/rprivate). rslave is runc's default: mounts the host makes later still reach
 *    the container, nothing the container mounts ever reaches the host, and no mount stays
 *    shared, which pivot_root(2) requires (it fails with EINVAL when the new root, its parent
 *    or the current root is shared).
 *  - linux.rootfsPropagation itself (shared, slave, private, unbindable and their r-forms) is
 *    applied to the container's "/" last, in rootfs_finalize(), after pivot_root. Applying
 *    "rshared" before the pivot would make pivot_root fail and could send the container's
 *    mounts to the host's peers during setup. A "shared" root therefore is a new peer group
 *    that still receives the host's mounts (slave and shared), as with crun.
 */
#include "container/rootfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "container/devices.h"
#include "container/mounts.h"
#include "core/cleanup.h"

/* MS_* for linux.rootfsPropagation; 0 when unset. Fails on an unknown value. */
static int root_propagation(const struct oci_config *cfg, unsigned long *out,
                            struct isola_err *err) {
  *out = 0;
  if (!cfg->rootfs_propagation || !*cfg->rootfs_propagation) return 0;
  *out = mount_propagation_flag(cfg->rootfs_propagation);
  if (!*out)
    return isola_fail(err, EINVAL, "linux.rootfsPropagation: unknown value `%s`",
                      cfg->rootfs_propagation);
  return 0;
}

int rootfs_prepare(const struct rootfs_ctx *ctx, struct isola_err *err) {
  const struct oci_config *cfg = ctx->cfg;
  /* Every step below changes the mount table of the calling process's namespace. */
  if (!cfg->ns[OCI_NS_MNT].present)
    return isola_fail(err, EINVAL, "rootfs `%s`: linux.namespaces has no mount namespace",
                      ctx->rootfs);
  unsigned long prop;
  if (root_propagation(cfg, &prop, err) < 0) return -1;
  unsigned long setup = (prop & MS_PRIVATE) ? MS_PRIVATE : MS_SLAVE;
  if (mount(NULL, "/", NULL, MS_REC | setup, NULL) < 0)
    return isola_fail_errno(err, errno, "make `/` %s", setup == MS_PRIVATE ? "rprivate" : "rslave");
  /* pivot_root needs the new root to be a mount point; the bind also gives the container a
   * mount of its own whose flags (root.readonly) do not touch the host's. */
  if (mount(ctx->rootfs, ctx->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    return isola_fail_errno(err, errno, "bind-mount rootfs `%s` onto itself", ctx->rootfs);
  _cleanup_close_ int rootfd = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) return isola_fail_errno(err, errno, "open rootfs `%s`", ctx->rootfs);
  for (size_t i = 0; i < cfg->nmounts; i++)
    if (mount_entry(ctx, rootfd, i, err) < 0) return -1;
  return devices_setup(ctx, rootfd, err);
}

int rootfs_pivot(const struct rootfs_ctx *ctx, struct isola_err *err) {
  if (ctx->no_pivot) {
    /* For a rootfs on the initramfs (where pivot_root is EINVAL). The old root stays in
     * the mount namespace, reachable by a process that can chroot again: that is what
     * --no-pivot trades away. */
    if (chdir(ctx->rootfs) < 0) return isola_fail_errno(err, errno, "chdir `%s`", ctx->rootfs);
    if (mount(ctx->rootfs, "/", NULL, MS_MOVE, NULL) < 0)
      return isola_fail_errno(err, errno, "move rootfs `%s` to `/`", ctx->rootfs);
    if (chroot(".") < 0) return isola_fail_errno(err, errno, "chroot `%s`", ctx->rootfs);
    if (chdir("/") < 0) return isola_fail_errno(err, errno, "chdir `/`");
    return 0;
  }
  _cleanup_close_ int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (oldroot < 0) return isola_fail_errno(err, errno, "open `/`");
  _cleanup_close_ int newroot = open(ctx->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (newroot < 0) return isola_fail_errno(err, errno, "open rootfs `%s`", ctx->rootfs);
  /* pivot_root(".", "."): the old root is stacked on top of the new one at "/", so no
   * directory has to be made for it inside the rootfs (pivot_root(2), NOTES). */
  if (fchdir(newroot) < 0) return isola_fail_errno(err, errno, "chdir `%s`", ctx->rootfs);
  if (syscall(SYS_pivot_root, ".", ".") < 0)
    return isola_fail_errno(err, errno, "pivot_root `%s`", ctx->rootfs);
  /* The kernel does not promise where the cwd is now: go to the old root explicitly. */
  if (fchdir(oldroot) < 0) return isola_fail_errno(err, errno, "chdir to the old root");
  /* rslave first, so that detaching the old root (and every mount under it) is not
   * propagated to the host's peers. */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
    return isola_fail_errno(err, errno, "make the old root rslave");
  if (umount2(".", MNT_DETACH) < 0) return isola_fail_errno(err, errno, "detach the old root");
  if (chdir("/") < 0) return isola_fail_errno(err, errno, "chdir `/`");
  return 0;
}

/* The paths below are used as plain paths: after pivot_root the process's root is the
 * container's, so no symlink can lead outside it, and /proc may not even be mounted. */

static int readonly_path(const char *path, struct isola_err *err) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return 0; /* as runc: a path the kernel does not have */
    return isola_fail_errno(err, errno, "bind-mount");
  }
  /* keeps nosuid/nodev/noexec (proc has them all) and the atime of the mount */
  return mount_bind_remount(path, path, MS_RDONLY, 0, false, err);
}

static int masked_path(const char *path, struct isola_err *err) {
  struct stat st;
  if (stat(path, &st) < 0) {
    if (errno == ENOENT) return 0;
    return isola_fail_errno(err, errno, "stat");
  }
  if (S_ISDIR(st.st_mode)) {
    /* an empty read-only tmpfs hides the directory (flags as runc's, so mount tables match) */
    if (mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0)
      return isola_fail_errno(err, errno, "mount tmpfs");
    return 0;
  }
  if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0)
    return isola_fail_errno(err, errno, "bind-mount `/dev/null`");
  return 0;
}

int rootfs_finalize(const struct rootfs_ctx *ctx, struct isola_err *err) {
  const struct oci_config *cfg = ctx->cfg;
  /* The createRuntime/createContainer hooks could still write into them until now. */
  for (size_t i = 0; i < cfg->nmounts; i++)
    if (mount_entry_defers_readonly(cfg, i) && mount_entry_finish_readonly(cfg, i, err) < 0)
      return -1;
  /* runc's order: read-only first, then masked (a masked path under a read-only one still
   * gets its mount, mounting needs no write access). */
  for (size_t i = 0; i < cfg->nreadonly_paths; i++)
    if (readonly_path(cfg->readonly_paths[i], err) < 0)
      return isola_err_wrap(err, "linux.readonlyPaths[%zu] `%s`", i, cfg->readonly_paths[i]);
  for (size_t i = 0; i < cfg->nmasked_paths; i++)
    if (masked_path(cfg->masked_paths[i], err) < 0)
      return isola_err_wrap(err, "linux.maskedPaths[%zu] `%s`", i, cfg->masked_paths[i]);
  if (cfg->root_readonly && mount_bind_remount("/", "/", MS_RDONLY, 0, false, err) < 0)
    return isola_err_wrap(err, "root.readonly");
  unsigned long prop;
  if (root_propagation(cfg, &prop, err) < 0) return -1;
  if (prop && mount(NULL, "/", NULL, prop, NULL) < 0)
    return isola_fail_errno(err, errno, "linux.rootfsPropagation `%s`: set on `/`",
                            cfg->rootfs_propagation);
  return 0;
}
