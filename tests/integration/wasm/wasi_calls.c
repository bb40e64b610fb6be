/* Calls WASI functions directly (not through libc) to check what the runtime answers for
 * hostile or unsupported requests. Prints "name=errno" lines; the test compares them with the
 * WASI preview 1 errno values. */
#include <stdint.h>
#include <stdio.h>
#include <wasi/api.h>

int main(void) {
  __wasi_size_t n = 0;
  __wasi_filesize_t off = 0;
  __wasi_fdstat_t st;
  __wasi_prestat_t ps;
  char buf[16];
  __wasi_ciovec_t good = {(const uint8_t *)"x", 0};
  /* An iovec array, a buffer and a result pointer that all point past linear memory. */
  const __wasi_ciovec_t *far_iov = (const __wasi_ciovec_t *)(uintptr_t)0xfffffff0u;
  __wasi_ciovec_t far_buf = {(const uint8_t *)(uintptr_t)0xfffffff0u, 64};

  printf("write_far_iovs=%d\n", __wasi_fd_write(1, far_iov, 1, &n));
  printf("write_far_buf=%d\n", __wasi_fd_write(1, &far_buf, 1, &n));
  printf("write_far_result=%d\n",
         __wasi_fd_write(1, &good, 1, (__wasi_size_t *)(uintptr_t)0xfffffffcu));
  printf("write_bad_fd=%d\n", __wasi_fd_write(77, &good, 1, &n));
  printf("write_stdin=%d\n", __wasi_fd_write(0, &good, 1, &n));
  printf("random_far=%d\n", __wasi_random_get((uint8_t *)(uintptr_t)0xffffff00u, 0x200));
  printf("clock_bad_id=%d\n", __wasi_clock_time_get(99, 1, &off));
  printf("seek_bad_whence=%d\n", __wasi_fd_seek(1, 0, 7, &off));
  printf("fdstat_bad_fd=%d\n", __wasi_fd_fdstat_get(99, &st));
  printf("prestat_stdout=%d\n", __wasi_fd_prestat_get(1, &ps));
  printf("prestat_past_end=%d\n", __wasi_fd_prestat_get(40, &ps));
  printf("dir_name_bad_fd=%d\n", __wasi_fd_prestat_dir_name(40, (uint8_t *)buf, sizeof buf));
  printf("poll_oneoff=%d\n", __wasi_poll_oneoff(0, 0, 0, &n));
  printf("sock_shutdown=%d\n", __wasi_sock_shutdown(1, __WASI_SDFLAGS_WR));
  printf("sched_yield=%d\n", __wasi_sched_yield());
  printf("close_bad_fd=%d\n", __wasi_fd_close(55));
  return 0;
}
