/* A TCP echo server over a listening socket the runtime lent (`--listen`, or the annotation
 * io.isola.wasm.listen): finds it among its fds (a stream socket with the accept right),
 * serves argv[1] connections one after the other -- each gets back every line it sends,
 * upper-cased, until it shuts down its side -- and says how many bytes it served. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wasi/api.h>

static int find_listener(void) {
  for (__wasi_fd_t fd = 3; fd < 64; fd++) {
    __wasi_fdstat_t st;
    if (__wasi_fd_fdstat_get(fd, &st) != 0) continue;
    if (st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM &&
        (st.fs_rights_base & __WASI_RIGHTS_SOCK_ACCEPT))
      return (int)fd;
  }
  return -1;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  int lfd = find_listener();
  if (lfd < 0) {
    fprintf(stderr, "no listening socket\n");
    return 3;
  }
  printf("listening on fd %d\n", lfd);
  fflush(stdout);
  long total = 0;
  for (int i = 0; i < n; i++) {
    int c = accept(lfd, NULL, NULL);
    if (c < 0) {
      fprintf(stderr, "accept: %s\n", strerror(errno));
      return 4;
    }
    char buf[4096];
    ssize_t got;
    while ((got = recv(c, buf, sizeof buf, 0)) > 0) {
      for (ssize_t k = 0; k < got; k++)
        buf[k] = (char)toupper((unsigned char)buf[k]);
      for (ssize_t off = 0; off < got;) {
        ssize_t w = send(c, buf + off, (size_t)(got - off), 0);
        if (w <= 0) {
          fprintf(stderr, "send: %s\n", strerror(errno));
          return 5;
        }
        off += w;
      }
      total += got;
    }
    if (got < 0) {
      fprintf(stderr, "recv: %s\n", strerror(errno));
      return 6;
    }
    if (shutdown(c, SHUT_WR) < 0) fprintf(stderr, "shutdown: %s\n", strerror(errno));
    close(c);
  }
  printf("served %d connections, %ld bytes\n", n, total);
  return 0;
}
