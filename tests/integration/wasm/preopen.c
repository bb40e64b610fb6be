/* Lists the preopened directories the runtime reports (fd, name and filetype), then tries to
 * open a file beneath the first one through libc, which needs path_open. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <wasi/api.h>

int main(int argc, char **argv) {
  for (__wasi_fd_t fd = 3;; fd++) {
    __wasi_prestat_t ps;
    __wasi_fdstat_t st;
    char name[256];
    __wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
    if (e == __WASI_ERRNO_BADF) break;
    if (e != 0 || ps.u.dir.pr_name_len >= sizeof name) {
      printf("fd %d: prestat error %d\n", fd, e);
      return 1;
    }
    e = __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, ps.u.dir.pr_name_len);
    name[ps.u.dir.pr_name_len] = '\0';
    if (e == 0) e = __wasi_fd_fdstat_get(fd, &st);
    printf("preopen fd=%d name=%s type=%d err=%d\n", fd, name, e ? -1 : st.fs_filetype, e);
  }
  if (argc > 1) {
    FILE *f = fopen(argv[1], "r");
    printf("fopen %s: %s\n", argv[1], f ? "opened" : strerror(errno));
  }
  return 0;
}
