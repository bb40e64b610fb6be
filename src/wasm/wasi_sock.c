/* WASI sock_* calls (see wasi_host.h). Preview 1 has no socket(), bind() or connect(): a guest
 * only ever has the listening sockets the embedder lent it (iw_wasi_config.listen_fds) and the
 * connections it accepts on them. Every call checks that the fd is a socket (ENOTSOCK) before
 * its rights (ENOTCAPABLE), and waits through wasi_wait_ready() so that it stops at the
 * deadline. Sends never raise SIGPIPE (MSG_NOSIGNAL): a closed peer is EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wasm/wasi_host.h"

static wasi_errno sock_get(struct wasi_fdtable *t, uint32_t fd, uint64_t need, struct wasi_fd **f) {
  wasi_errno e = wasi_fd_get(t, fd, 0, f);
  if (e) return e;
  if ((*f)->filetype != WASI_FILETYPE_SOCKET_STREAM &&
      (*f)->filetype != WASI_FILETYPE_SOCKET_DGRAM)
    return WASI_ENOTSOCK;
  return ((*f)->rights & need) == need ? WASI_ESUCCESS : WASI_ENOTCAPABLE;
}

/* The new connection gets the listening socket's inheriting rights; flags: only NONBLOCK. */
wasi_errno wasi_host_sock_accept(struct wasi_fdtable *t, uint32_t fd, uint32_t flags,
                                 uint32_t *newfd) {
  struct wasi_fd *f;
  if (flags & ~(uint32_t)WASI_FDFLAG_NONBLOCK) return WASI_EINVAL;
  wasi_errno e = sock_get(t, fd, WASI_RIGHT_SOCK_ACCEPT, &f);
  if (e || (e = wasi_wait_ready(t, f, POLLIN))) return e;
  int c;
  int hflags = SOCK_CLOEXEC | ((flags & WASI_FDFLAG_NONBLOCK) ? SOCK_NONBLOCK : 0);
  while ((c = accept4(f->host, NULL, NULL, hflags)) < 0 && errno == EINTR)
    if ((e = wasi_after_eintr(t))) return e;
  if (c < 0) return wasi_errno_from_host(errno);
  struct wasi_fd nf = {.host = c,
                       .owned = true,
                       .filetype = WASI_FILETYPE_SOCKET_STREAM,
                       .rights = f->inheriting & WASI_RIGHTS_SOCK,
                       .inheriting = 0};
  return wasi_fd_insert(t, &nf, newfd);
}

wasi_errno wasi_host_sock_recv(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                               int iovcnt, uint32_t riflags, size_t *nread, uint16_t *roflags) {
  struct wasi_fd *f;
  if (riflags & ~(uint32_t)(WASI_RECV_PEEK | WASI_RECV_WAITALL)) return WASI_EINVAL;
  wasi_errno e = sock_get(t, fd, WASI_RIGHT_FD_READ, &f);
  if (e || (e = wasi_wait_ready(t, f, POLLIN))) return e;
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
  int hflags = ((riflags & WASI_RECV_PEEK) ? MSG_PEEK : 0) |
               ((riflags & WASI_RECV_WAITALL) ? MSG_WAITALL : 0);
  ssize_t n;
  while ((n = recvmsg(f->host, &m, hflags)) < 0 && errno == EINTR)
    if ((e = wasi_after_eintr(t))) return e;
  if (n < 0) return wasi_errno_from_host(errno);
  *nread = (size_t)n;
  *roflags = (m.msg_flags & MSG_TRUNC) ? WASI_RECV_DATA_TRUNCATED : 0;
  return WASI_ESUCCESS;
}

/* siflags: preview 1 defines none. */
wasi_errno wasi_host_sock_send(struct wasi_fdtable *t, uint32_t fd, const struct iovec *iov,
                               int iovcnt, uint32_t siflags, size_t *nwritten) {
  struct wasi_fd *f;
  if (siflags) return WASI_EINVAL;
  wasi_errno e = sock_get(t, fd, WASI_RIGHT_FD_WRITE, &f);
  if (e || (e = wasi_wait_ready(t, f, POLLOUT))) return e;
  struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt};
  ssize_t n;
  while ((n = sendmsg(f->host, &m, MSG_NOSIGNAL)) < 0 && errno == EINTR)
    if ((e = wasi_after_eintr(t))) return e;
  if (n < 0) return wasi_errno_from_host(errno);
  *nwritten = (size_t)n;
  return WASI_ESUCCESS;
}

wasi_errno wasi_host_sock_shutdown(struct wasi_fdtable *t, uint32_t fd, uint32_t how) {
  static const int host_how[] = {[WASI_SHUT_RD] = SHUT_RD, [WASI_SHUT_WR] = SHUT_WR,
                                 [WASI_SHUT_RD | WASI_SHUT_WR] = SHUT_RDWR};
  struct wasi_fd *f;
  if (how == 0 || how > (WASI_SHUT_RD | WASI_SHUT_WR)) return WASI_EINVAL;
  wasi_errno e = sock_get(t, fd, WASI_RIGHT_SOCK_SHUTDOWN, &f);
  if (e) return e;
  if (shutdown(f->host, host_how[how]) < 0) return wasi_errno_from_host(errno);
  return WASI_ESUCCESS;
}

/* ---- the embedder's side: making a listening socket ------------------------------------ */

/* Numeric addresses only (isola may be linked statically, where name lookups through NSS do
 * not work), plus "localhost". */
int iw_wasi_listen(const char *spec, iw_error *err) {
  const char *given = spec;
  char host[64];
  const char *port;
  size_t hlen;
  bool v6 = spec[0] == '[';
  if (v6) { /* [IPv6]:PORT */
    const char *close_ = strchr(spec, ']');
    if (!close_ || close_[1] != ':') goto bad;
    hlen = (size_t)(close_ - spec - 1);
    port = close_ + 2;
    spec++;
  } else {
    const char *colon = strrchr(spec, ':');
    if (!colon) goto bad;
    hlen = (size_t)(colon - spec);
    port = colon + 1;
  }
  if (hlen == 0 || hlen >= sizeof host || !*port || strlen(port) > 5 ||
      strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535)
    goto bad;
  memcpy(host, spec, hlen);
  host[hlen] = '\0';
  struct sockaddr_storage ss = {0};
  socklen_t sslen;
  if (v6) {
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)atoi(port));
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) != 1) goto bad;
    sslen = sizeof *a6;
  } else {
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)atoi(port));
    if (!strcmp(host, "localhost")) a4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    else if (inet_pton(AF_INET, host, &a4->sin_addr) != 1) goto bad;
    sslen = sizeof *a4;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
      bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, 128) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return wasi_fail(err, IW_ERR_RESOURCE, "listen `%s%s%s:%s`: %s", v6 ? "[" : "", host,
                     v6 ? "]" : "", port, strerror(e));
  }
  return fd;
bad:
  return wasi_fail(err, IW_ERR_USAGE,
                   "listen `%.200s`: expected IPV4:PORT, [IPV6]:PORT or localhost:PORT",
                   given);
}
