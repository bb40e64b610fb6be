/* proc_raise(argv[1]) (a WASI signal number); prints what it returned when it does return.
 * wasi-libc's header no longer declares proc_raise, so the import is named here. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int32_t raw_proc_raise(int32_t sig)
    __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__("proc_raise")));

int main(int argc, char **argv) {
  int sig = argc > 1 ? atoi(argv[1]) : 0;
  printf("raising %d\n", sig);
  fflush(stdout);
  printf("proc_raise=%d\n", raw_proc_raise(sig));
  return 0;
}
