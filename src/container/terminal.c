/* process.terminal: a pty whose master goes to the caller's --console-socket (SCM_RIGHTS, as
 * runc does) and whose slave becomes the container process's controlling terminal. */
#include "container/container.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include "core/cleanup.h"

static int send_fd(int sock, int fd, const char *name, struct isola_err *err) {
  char buf[CMSG_SPACE(sizeof(int))];
  memset(buf, 0, sizeof buf);
  struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = buf,
                       .msg_controllen = sizeof buf};
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
    if (errno != EINTR) return isola_fail_errno(err, errno, "send the pty to --console-socket");
  return 0;
}

int terminal_setup(const char *unused, int console_fd, const struct oci_process *p,
                   struct isola_err *err) {
  _cleanup_close_ int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return isola_fail_errno(err, errno, "process.terminal: open /dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
    return isola_fail_errno(err, errno, "process.terminal: unlock pty");
  _cleanup_close_ int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) return isola_fail_errno(err, errno, "process.terminal: open pty peer");
  if (p->has_console_size) {
    struct winsize ws = {.ws_row = (unsigned short)p->console_height,
                         .ws_col = (unsigned short)p->console_width};
    if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
      return isola_fail_errno(err, errno, "process.consoleSize: set window size");
  }
  /* /dev/console is the pty too, as runc makes it: bind the peer over it. */
  char peer[64];
  int ptn;
  if (ioctl(master, TIOCGPTN, &ptn) == 0) {
    snprintf(peer, sizeof peer, "/dev/pts/%d", ptn);
    _cleanup_close_ int c = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (c >= 0 && mount(peer, "/dev/console", NULL, MS_BIND, NULL) < 0)
      return isola_fail_errno(err, errno, "process.terminal: bind `%s` on /dev/console", peer);
  }
  if (send_fd(console_fd, master, "/dev/ptmx", err) < 0) return -1;
  close(console_fd);
  if (setsid() < 0) return isola_fail_errno(err, errno, "process.terminal: setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0)
    return isola_fail_errno(err, errno, "process.terminal: set controlling terminal");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) return isola_fail_errno(err, errno, "process.terminal: dup2");
  return 0;
}
