/* The start gate; see gate.h. */
#include "core/gate.h"

#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"

static int make_fifo(struct state_dir *d, const char *name, struct isola_err *err) {
  if (mkfifoat(d->dirfd, name, 0600) < 0)
    return isola_fail_errno(err, errno, "create `%s/%s`", d->path, name);
  int fd = openat(d->dirfd, name, O_RDWR | O_CLOEXEC);
  if (fd < 0) isola_fail_errno(err, errno, "open `%s/%s`", d->path, name);
  return fd;
}

int gate_create(struct state_dir *d, struct gate *g, struct isola_err *err) {
  g->go = g->result = -1;
  if ((g->go = make_fifo(d, "exec.fifo", err)) < 0) return -1;
  if ((g->result = make_fifo(d, "result.fifo", err)) < 0) {
    gate_close(g);
    return -1;
  }
  return 0;
}

void gate_close(struct gate *g) {
  if (g->go >= 0) close(g->go);
  if (g->result >= 0) close(g->result);
  g->go = g->result = -1;
}

int gate_wait(struct gate *g) {
  char c;
  ssize_t n;
  while ((n = read(g->go, &c, 1)) < 0 && errno == EINTR) {
  }
  close(g->go);
  g->go = -1;
  return n == 1 ? 0 : -1;
}

void gate_answer(struct gate *g, const struct isola_err *err) {
  char buf[sizeof err->msg + 1];
  int len = err ? snprintf(buf, sizeof buf, "1%s", err->msg) : snprintf(buf, sizeof buf, "0");
  if (write(g->result, buf, (size_t)len) < 0) {
    /* start is gone: nobody to tell */
  }
}

bool gate_opened(const struct state_dir *d) {
  return faccessat(d->dirfd, GATE_OPENED, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int gate_release(struct state_dir *d, const char *id, struct isola_err *err) {
  /* Non-blocking: with the workload gone there is no reader and open fails with ENXIO. */
  _cleanup_close_ int go = openat(d->dirfd, "exec.fifo", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  if (go < 0) {
    if (errno == ENOENT) return isola_fail(err, EINVAL, "container `%s` was started already", id);
    if (errno == ENXIO) return isola_fail(err, ECHILD, "container `%s`: its process is gone", id);
    return isola_fail_errno(err, errno, "container `%s`: open exec fifo", id);
  }
  /* Open the answer's fifo before releasing, so the answer cannot be missed. */
  _cleanup_close_ int res = openat(d->dirfd, "result.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (res < 0) return isola_fail_errno(err, errno, "container `%s`: open result fifo", id);
  if (write(go, "0", 1) != 1)
    return isola_fail_errno(err, errno, "container `%s`: release the process", id);
  /* Released: say so on disk at once (a SIGKILL may end us any time now; see gate.h). */
  if (renameat(d->dirfd, "exec.fifo", d->dirfd, GATE_OPENED) < 0) unlinkat(d->dirfd, "exec.fifo", 0);
  unlinkat(d->dirfd, "result.fifo", 0);

  char buf[1100];
  size_t len = 0;
  struct pollfd p = {.fd = res, .events = POLLIN};
  while (len < sizeof buf - 1 && poll(&p, 1, -1) >= 0) {
    ssize_t n = read(res, buf + len, sizeof buf - 1 - len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    len += (size_t)n;
    if (buf[0] == '0') break;
  }
  buf[len] = 0;
  if (len == 0) return isola_fail(err, ECHILD, "container `%s`: the process died before it began", id);
  if (buf[0] != '0') return isola_fail(err, EINVAL, "start container `%s`: %s", id, buf + 1);
  return 0;
}
