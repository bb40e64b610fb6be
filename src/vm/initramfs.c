/* cpio newc writer (see initramfs.h). */
#include "vm/initramfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/cleanup.h"

static int put(struct cpio_writer *w, const void *buf, size_t len, struct isola_err *err) {
  const char *p = buf;
  while (len) {
    ssize_t n;
    if (w->gz) {
      unsigned chunk = len > (1u << 30) ? 1u << 30 : (unsigned)len;
      n = gzwrite(w->gz, p, chunk);
      if (n <= 0) return isola_fail(err, EIO, "write `%s`: compression failed", w->path);
    } else {
      n = write(w->fd, p, len);
    }
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return isola_fail_errno(err, errno ? errno : EIO, "write `%s`", w->path);
    p += n;
    len -= (size_t)n;
    w->off += (uint64_t)n;
  }
  return 0;
}

static int pad4(struct cpio_writer *w, struct isola_err *err) {
  static const char zeros[4];
  size_t n = (4 - (w->off & 3)) & 3;
  return n ? put(w, zeros, n, err) : 0;
}

/* One header + name (padded); the caller writes `size` bytes of data and pads. */
static int header(struct cpio_writer *w, const char *name, mode_t mode, uint32_t size,
                  unsigned rmaj, unsigned rmin, struct isola_err *err) {
  /* newc names are relative ("init", "dev/console"). */
  while (*name == '/') name++;
  size_t namesize = strlen(name) + 1;
  if (namesize > 4096) return isola_fail(err, ENAMETOOLONG, "cpio: name `%.64s...` too long", name);
  char h[111];
  snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
           ++w->ino, (unsigned)mode, 0u, 0u, S_ISDIR(mode) ? 2u : 1u, 0u, size, 0u, 0u, rmaj,
           rmin, (unsigned)namesize, 0u);
  if (put(w, h, 110, err) < 0 || put(w, name, namesize, err) < 0) return -1;
  return pad4(w, err);
}

int cpio_open(struct cpio_writer *w, const char *path, struct isola_err *err) {
  memset(w, 0, sizeof *w);
  w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (w->fd < 0) return isola_fail_errno(err, errno, "create `%s`", path);
  if (!(w->path = strdup(path))) {
    close(w->fd);
    return isola_fail_errno(err, ENOMEM, "cpio");
  }
  size_t n = strlen(path);
  if (n > 3 && !strcmp(path + n - 3, ".gz")) {
    int dupfd = dup(w->fd);
    if (dupfd < 0 || !(w->gz = gzdopen(dupfd, "wb9"))) {
      if (dupfd >= 0) close(dupfd);
      cpio_abort(w);
      return isola_fail(err, EIO, "`%s`: cannot start gzip", path);
    }
  }
  return 0;
}

int cpio_add_dir(struct cpio_writer *w, const char *name, mode_t perm, struct isola_err *err) {
  return header(w, name, S_IFDIR | (perm & 07777), 0, 0, 0, err);
}

int cpio_add_data(struct cpio_writer *w, const char *name, mode_t perm, const void *data,
                  size_t len, struct isola_err *err) {
  if (len > UINT32_MAX) return isola_fail(err, EFBIG, "cpio: `%s` is over 4 GiB", name);
  if (header(w, name, S_IFREG | (perm & 07777), (uint32_t)len, 0, 0, err) < 0 ||
      put(w, data, len, err) < 0)
    return -1;
  return pad4(w, err);
}

int cpio_add_file(struct cpio_writer *w, const char *name, mode_t perm, const char *src,
                  struct isola_err *err) {
  _cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) return isola_fail_errno(err, errno, "open `%s`", src);
  if (!S_ISREG(st.st_mode)) return isola_fail(err, EINVAL, "`%s` is not a regular file", src);
  if (st.st_size > UINT32_MAX) return isola_fail(err, EFBIG, "`%s` is over 4 GiB", src);
  if (header(w, name, S_IFREG | (perm & 07777), (uint32_t)st.st_size, 0, 0, err) < 0) return -1;
  char buf[65536];
  off_t left = st.st_size;
  while (left > 0) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return isola_fail_errno(err, n < 0 ? errno : EIO, "read `%s`", src);
    if (n > left) n = (ssize_t)left; /* the file grew: keep the size we announced */
    if (put(w, buf, (size_t)n, err) < 0) return -1;
    left -= n;
  }
  return pad4(w, err);
}

int cpio_add_node(struct cpio_writer *w, const char *name, mode_t perm, char type,
                  unsigned major, unsigned minor, struct isola_err *err) {
  if (type != 'c' && type != 'b') return isola_fail(err, EINVAL, "cpio: node `%s`: type must be c or b", name);
  return header(w, name, (type == 'c' ? S_IFCHR : S_IFBLK) | (perm & 07777), 0, major, minor, err);
}

int cpio_add_symlink(struct cpio_writer *w, const char *name, const char *target,
                     struct isola_err *err) {
  size_t len = strlen(target);
  if (header(w, name, S_IFLNK | 0777, (uint32_t)len, 0, 0, err) < 0 || put(w, target, len, err) < 0)
    return -1;
  return pad4(w, err);
}

void cpio_abort(struct cpio_writer *w) {
  if (w->gz) gzclose(w->gz);
  w->gz = NULL;
  if (w->fd >= 0) close(w->fd);
  w->fd = -1;
  if (w->path) unlink(w->path);
  free(w->path);
  w->path = NULL;
}

int cpio_finish(struct cpio_writer *w, struct isola_err *err) {
  static const char zeros[512];
  if (header(w, "TRAILER!!!", 0, 0, 0, 0, err) < 0 ||
      put(w, zeros, (512 - (w->off & 511)) & 511, err) < 0) {
    cpio_abort(w);
    return -1;
  }
  if (w->gz) {
    int zr = gzclose(w->gz);
    w->gz = NULL;
    if (zr != Z_OK) {
      isola_fail(err, EIO, "write `%s`: gzip failed", w->path);
      cpio_abort(w);
      return -1;
    }
  }
  int r = close(w->fd);
  w->fd = -1;
  if (r < 0) {
    isola_fail_errno(err, errno, "close `%s`", w->path);
    cpio_abort(w);
    return -1;
  }
  free(w->path);
  w->path = NULL;
  return 0;
}
