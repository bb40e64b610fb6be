/* /dev inside the container: the default devices, linux.devices, and the /dev symlinks.
 *
 * Private to src/container/. Runs in rootfs_prepare() after the mounts of config.json, before
 * pivot_root, with `rootfd` an O_PATH fd of the rootfs; every node is created relative to a
 * parent directory resolved inside the rootfs (see mounts.h).
 */
#ifndef ISOLA_CONTAINER_DEVICES_H
#define ISOLA_CONTAINER_DEVICES_H

#include <stdbool.h>

#include "container/rootfs.h"
#include "core/err.h"

/* True when config.json bind-mounts something on /dev (the host's /dev, typically): then the
 * runtime creates no device and no symlink there, as runc does. */
bool devices_dev_is_bind(const struct oci_config *cfg);

/* Creates /dev/{null,zero,full,random,urandom,tty} (unless linux.devices redefines them) and
 * every linux.devices entry: mknod, or in a user namespace (or when mknod is refused) a bind
 * mount of the host's node onto an empty file. Then the symlinks /dev/fd, stdin, stdout,
 * stderr, core, and /dev/ptmx -> pts/ptmx when a devpts is mounted at /dev/pts.
 * Errors read "device `/dev/fuse`: mknod: Operation not permitted". */
int devices_setup(const struct rootfs_ctx *ctx, int rootfd, struct isola_err *err);

#endif
