/* Mount options, paths resolved inside the rootfs, and the mounts of config.json.
 *
 * Private to src/container/. Every path inside the container is resolved with
 * openat2(RESOLVE_IN_ROOT) relative to an O_PATH fd of the rootfs, and every mount goes onto
 * /proc/self/fd/N of the resolved fd: a symlink in the rootfs ("evil -> /etc") resolves inside
 * the rootfs, never on the host. Assumes /proc of the calling process is a procfs.
 */
#ifndef ISOLA_CONTAINER_MOUNTS_H
#define ISOLA_CONTAINER_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container/rootfs.h"
#include "core/err.h"

/* ---- option parsing ------------------------------------------------------------------- */

#define MOUNT_OPTS_MAX_PROP 8    /* propagation changes kept per mount (more is an error) */
#define MOUNT_OPTS_MAX_DATA 4096 /* the kernel copies one page of data for mount(2) */

/* One mount's `options`, split the way mount(8) does. */
struct mount_opts {
  unsigned long flags; /* MS_* to set, MS_BIND|MS_REC for "rbind" */
  unsigned long clear; /* MS_* named as cleared ("rw", "suid", "dev", ...) */
  bool atime_given;    /* an atime option was named: do not keep the source's atime */
  /* "rro", "rnosuid", ...: mount_setattr(AT_RECURSIVE) on the whole tree, MOUNT_ATTR_* */
  uint64_t rec_set, rec_clr;
  unsigned long prop[MOUNT_OPTS_MAX_PROP]; /* MS_SHARED|MS_REC, ... in the order given */
  size_t nprop;
  bool tmpcopyup; /* tmpfs: copy what the destination held into the new tmpfs */
  char *data;     /* everything else, comma-joined ("mode=755,size=65536k"); NULL if none */
};

/* Parses `options[0..n)`. Unknown options go into `data`; "idmap"/"ridmap" fail as not
 * supported. On failure names the option: "option `idmap`: idmapped mounts are not
 * supported". */
int mount_opts_parse(char *const *options, size_t n, struct mount_opts *out, struct isola_err *err);
void mount_opts_release(struct mount_opts *o);
/* MS_* propagation flags for "rshared" etc.; 0 when `s` is no propagation name. */
unsigned long mount_propagation_flag(const char *s);

/* ---- paths inside the rootfs ---------------------------------------------------------- */

/* Lexically cleans `path` into `out` ("/a/./b/../c//" -> "/a/c"; ".." stops at "/"); the
 * result is always absolute. Fails with ENAMETOOLONG. */
int path_clean(const char *path, char *out, size_t outsz, struct isola_err *err);
/* openat2(rootfd, path, flags|O_CLOEXEC, RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS); retries
 * EAGAIN. Returns the fd, or -1 with errno set (no message: callers decide what is fatal). */
int path_open_in_root(int rootfd, const char *path, int flags);
/* O_PATH fd of directory `path` inside the root, creating missing directories (0755). */
int path_mkdir_all(int rootfd, const char *path, struct isola_err *err);
/* O_PATH fd of the parent directory of `path` (created as needed); its last component is
 * copied to `last`. Fails with EINVAL for "/". */
int path_parent(int rootfd, const char *path, char *last, size_t lastsz, struct isola_err *err);

enum path_kind { PATH_DIR, PATH_FILE };
/* O_PATH fd of `path` inside the root; when missing, created as an empty directory or
 * regular file (parents too). An existing node is returned whatever its type. */
int path_create(int rootfd, const char *path, enum path_kind kind, struct isola_err *err);

/* "/proc/self/fd/N" for `fd`, the target every mount goes onto. */
struct fd_path {
  char s[32];
};
struct fd_path fd_path(int fd);

/* Bind-remounts the mount at `target` (a /proc/self/fd/N of an fd opened after the mount, or,
 * after pivot_root, a plain path) with `flags` (MS_RDONLY, MS_NOSUID, ...). The mount keeps
 * its nosuid/nodev/noexec unless `clear` names them ("suid", "dev", "exec"), and its atime
 * unless `atime_given`. When the kernel refuses (EPERM: flags locked by a more privileged
 * mount namespace), retries keeping every lockable flag the mount has, as runc does.
 * Messages name `name`. */
int mount_bind_remount(const char *target, const char *name, unsigned long flags,
                       unsigned long clear, bool atime_given, struct isola_err *err);

/* ---- the mounts of config.json -------------------------------------------------------- */

/* Performs cfg->mounts[idx] inside the root `rootfd`. Errors read
 * "mounts[3] `/proc`: mount proc: Operation not permitted". */
int mount_entry(const struct rootfs_ctx *ctx, int rootfd, size_t idx, struct isola_err *err);
/* True when mounts[idx] is a tmpfs asked read-only: it is mounted read-write so later mounts
 * and devices can be created in it, and mount_entry_finish_readonly() (in rootfs_finalize)
 * makes it read-only, as runc does. */
bool mount_entry_defers_readonly(const struct oci_config *cfg, size_t idx);
/* Runs after pivot_root: paths are plain, they cannot leave the new root. */
int mount_entry_finish_readonly(const struct oci_config *cfg, size_t idx, struct isola_err *err);

#endif
