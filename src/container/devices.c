/* /dev inside the container: default devices, linux.devices, /dev symlinks (see devices.h). */
#include "container/devices.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "container/mounts.h"
#include "core/cleanup.h"

struct dev_node {
  const char *path;
  char type; /* 'c', 'u' (unbuffered char: the same node), 'b', 'p' */
  int64_t major, minor;
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

/* The devices every container receives (runtime-spec, config-linux.md "Default Devices").
 * /dev/console belongs to the terminal setup, /dev/ptmx is the symlink made below. */
static const struct dev_node default_devices[] = {
    {"/dev/null", 'c', 1, 3, 0666, 0, 0},    {"/dev/zero", 'c', 1, 5, 0666, 0, 0},
    {"/dev/full", 'c', 1, 7, 0666, 0, 0},    {"/dev/random", 'c', 1, 8, 0666, 0, 0},
    {"/dev/urandom", 'c', 1, 9, 0666, 0, 0}, {"/dev/tty", 'c', 5, 0, 0666, 0, 0},
};

static const struct {
  const char *target, *name;
} dev_links[] = {
    {"/proc/self/fd", "fd"},
    {"/proc/self/fd/0", "stdin"},
    {"/proc/self/fd/1", "stdout"},
    {"/proc/self/fd/2", "stderr"},
};

static bool same_path(const char *a, const char *b) {
  char ca[PATH_MAX], cb[PATH_MAX];
  struct isola_err ignored;
  if (path_clean(a, ca, sizeof ca, &ignored) < 0 || path_clean(b, cb, sizeof cb, &ignored) < 0)
    return false;
  return strcmp(ca, cb) == 0;
}

bool devices_dev_is_bind(const struct oci_config *cfg) {
  for (size_t i = 0; i < cfg->nmounts; i++) {
    const struct oci_mount *m = &cfg->mounts[i];
    if (!m->destination || !same_path(m->destination, "/dev")) continue;
    if (m->type && strcmp(m->type, "bind") == 0) return true;
    for (size_t j = 0; j < m->noptions; j++)
      if (m->options[j] && (!strcmp(m->options[j], "bind") || !strcmp(m->options[j], "rbind")))
        return true;
  }
  return false;
}

/* mknod is not permitted in a user namespace (and a node made there would not work on its
 * nodev superblock anyway): bind-mount the host's node onto an empty file instead, as runc
 * does. The host node has the same path as the container's. */
static int bind_host_node(int rootfd, int parent, const char *last, const struct dev_node *d,
                          struct isola_err *err) {
  int f = openat(parent, last, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (f < 0 && errno != EEXIST) return isola_fail_errno(err, errno, "create mount point");
  if (f >= 0) close(f);
  _cleanup_close_ int fd = path_open_in_root(rootfd, d->path, O_PATH);
  if (fd < 0) return isola_fail_errno(err, errno, "open mount point");
  if (mount(d->path, fd_path(fd).s, NULL, MS_BIND, NULL) < 0)
    return isola_fail_errno(err, errno, "bind-mount the host's `%s`", d->path);
  return 0;
}

static int create_node(const struct rootfs_ctx *ctx, int rootfd, const struct dev_node *d,
                       struct isola_err *err) {
  mode_t kind;
  switch (d->type) {
  case 'c':
  case 'u':
    kind = S_IFCHR;
    break;
  case 'b':
    kind = S_IFBLK;
    break;
  case 'p':
    kind = S_IFIFO;
    break;
  default:
    return isola_fail(err, EINVAL, "unknown type `%c`", d->type);
  }
  /* The kernel's dev_t holds a 12-bit major and a 20-bit minor. */
  if (kind != S_IFIFO && (d->major < 0 || d->major > 0xfff || d->minor < 0 || d->minor > 0xfffff))
    return isola_fail(err, EINVAL, "major %lld / minor %lld out of range", (long long)d->major,
                      (long long)d->minor);
  char last[NAME_MAX + 1];
  _cleanup_close_ int parent = path_parent(rootfd, d->path, last, sizeof last, err);
  if (parent < 0) return -1;
  /* A fifo needs no privilege, in a user namespace too. */
  if (kind == S_IFIFO || !ctx->userns) {
    dev_t dev = kind == S_IFIFO ? 0 : makedev((unsigned)d->major, (unsigned)d->minor);
    if (mknodat(parent, last, kind | (d->mode & 07777), dev) == 0) {
      if (fchownat(parent, last, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
        return isola_fail_errno(err, errno, "chown %u:%u", (unsigned)d->uid, (unsigned)d->gid);
      return 0;
    }
    /* Already there: a rootfs that ships its own /dev (no tmpfs mounted on it). */
    if (errno == EEXIST) return 0;
    /* EPERM: no CAP_MKNOD (a user namespace the caller did not tell us about). */
    if (errno != EPERM || kind == S_IFIFO) return isola_fail_errno(err, errno, "mknod");
  }
  return bind_host_node(rootfd, parent, last, d, err);
}

static bool config_has_device(const struct oci_config *cfg, const char *path) {
  for (size_t i = 0; i < cfg->ndevices; i++)
    if (cfg->devices[i].path && same_path(cfg->devices[i].path, path)) return true;
  return false;
}

static int make_links(int rootfd, struct isola_err *err) {
  _cleanup_close_ int dev = path_mkdir_all(rootfd, "/dev", err);
  if (dev < 0) return -1;
  for (size_t i = 0; i < sizeof dev_links / sizeof dev_links[0]; i++)
    if (symlinkat(dev_links[i].target, dev, dev_links[i].name) < 0 && errno != EEXIST)
      return isola_fail_errno(err, errno, "symlink `/dev/%s`", dev_links[i].name);
  /* /proc/kcore is missing on kernels built without it: no dangling link then. */
  if (access("/proc/kcore", F_OK) == 0 && symlinkat("/proc/kcore", dev, "core") < 0 &&
      errno != EEXIST)
    return isola_fail_errno(err, errno, "symlink `/dev/core`");
  /* With a devpts of its own at /dev/pts, /dev/ptmx must be that instance's ptmx; a node
   * from the rootfs would open the initial devpts instance. */
  _cleanup_close_ int ptmx = path_open_in_root(rootfd, "/dev/pts/ptmx", O_PATH);
  if (ptmx >= 0) {
    if (unlinkat(dev, "ptmx", 0) < 0 && errno != ENOENT) {
      if (errno == EBUSY) return 0; /* linux.devices bind-mounted one there: keep it */
      return isola_fail_errno(err, errno, "remove `/dev/ptmx`");
    }
    if (symlinkat("pts/ptmx", dev, "ptmx") < 0)
      return isola_fail_errno(err, errno, "symlink `/dev/ptmx`");
  }
  return 0;
}

static int setup(const struct rootfs_ctx *ctx, int rootfd, struct isola_err *err) {
  const struct oci_config *cfg = ctx->cfg;
  for (size_t i = 0; i < sizeof default_devices / sizeof default_devices[0]; i++) {
    const struct dev_node *d = &default_devices[i];
    if (config_has_device(cfg, d->path)) continue; /* linux.devices wins */
    if (create_node(ctx, rootfd, d, err) < 0) return isola_err_wrap(err, "device `%s`", d->path);
  }
  for (size_t i = 0; i < cfg->ndevices; i++) {
    const struct oci_device *c = &cfg->devices[i];
    if (!c->path || !*c->path) return isola_fail(err, EINVAL, "linux.devices[%zu]: no path", i);
    struct dev_node d = {
        .path = c->path,
        .type = c->type,
        .major = c->major,
        .minor = c->minor,
        .mode = c->has_file_mode ? (mode_t)c->file_mode : 0666,
        .uid = c->has_uid ? c->uid : 0,
        .gid = c->has_gid ? c->gid : 0,
    };
    if (create_node(ctx, rootfd, &d, err) < 0) return isola_err_wrap(err, "device `%s`", c->path);
  }
  return make_links(rootfd, err);
}

int devices_setup(const struct rootfs_ctx *ctx, int rootfd, struct isola_err *err) {
  if (devices_dev_is_bind(ctx->cfg)) return 0;
  /* fileMode is the node's exact mode: no umask in between. */
  mode_t old = umask(0);
  int r = setup(ctx, rootfd, err);
  umask(old);
  return r;
}
