/* All of a buffer to a file descriptor, through short writes and EINTR: one loop for isola, its
 * guest agent and its build tools (header-only: the agent and elfpack link nothing of isola's).
 * 0, or -1 with errno set (EIO for a write that took nothing). */
#ifndef ISOLA_FDIO_H
#define ISOLA_FDIO_H

#include <errno.h>
#include <stddef.h>
#include <unistd.h>

static inline int write_all_fd(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return n < 0 ? -1 : (errno = EIO, -1);
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

#endif
