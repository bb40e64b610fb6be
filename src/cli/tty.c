/* `isola run` with process.terminal and no --console-socket: the pty master comes to us and we
 * relay it to our stdio, our terminal in raw mode, window size changes passed on. */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

int tty_receive(int sock) {
  char data[64], ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
                       .msg_controllen = sizeof ctl};
  if (recvmsg(sock, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) <= 0) return -1;
  struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static void copy_winsize(int master) {
  struct winsize ws;
  if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

static int pump(int from, int to) {
  char buf[16384];
  ssize_t n = read(from, buf, sizeof buf);
  if (n <= 0) return n < 0 && errno == EINTR ? 0 : -1;
  for (ssize_t off = 0; off < n;) {
    ssize_t w = write(to, buf + off, (size_t)(n - off));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return -1;
    off += w;
  }
  return 0;
}

void tty_relay(int master, pid_t pid, int *status) {
  struct termios saved, raw;
  bool is_tty = tcgetattr(STDIN_FILENO, &saved) == 0;
  if (is_tty) {
    raw = saved;
    cfmakeraw(&raw);
    tcsetattr(STDIN_FILENO, TCSANOW, &raw);
    copy_winsize(master);
  }
  int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  struct pollfd p[3] = {{.fd = master, .events = POLLIN},
                        {.fd = STDIN_FILENO, .events = POLLIN},
                        {.fd = pidfd, .events = POLLIN}};
  bool in_open = true;
  for (;;) {
    p[1].fd = in_open ? STDIN_FILENO : -1;
    if (poll(p, 3, -1) < 0) {
      if (errno == EINTR) {
        if (is_tty) copy_winsize(master);
        continue;
      }
      break;
    }
    if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
      if (pump(master, STDOUT_FILENO) < 0) break;
    if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
      if (pump(STDIN_FILENO, master) < 0) in_open = false;
    if (p[2].revents & POLLIN) {
      /* Drain what the program wrote before it exited. */
      while (poll(p, 1, 20) > 0 && (p[0].revents & POLLIN) && pump(master, STDOUT_FILENO) == 0) {
      }
      break;
    }
  }
  if (is_tty) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  if (pidfd >= 0) close(pidfd);
  close(master);
}
