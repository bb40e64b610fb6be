/* The workload `isola compare` measures in the tests and the demo: one small C program built
 * natively and for wasm32-wasi, so that the container, vm and wasm engines run the same
 * code. workload.sh computes the same thing with busybox sh, for bundles without a C build.
 *
 *   workload [ITERATIONS [STATUS]]
 *
 * It prints a marker line first — compare's start time ends at the first byte on stdout —
 * then iterates acc = (acc * 31 + i) mod 1000003 for i = 1..ITERATIONS (default 1000), prints
 * the result and its arguments, and exits with STATUS (default 0).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
  static const char marker[] = "isola-compare: started\n";
  /* write(2), not stdio: stdout to a pipe is fully buffered, and the marker must go now. */
  if (write(1, marker, sizeof marker - 1) < 0) return 111;
  int64_t n = argc > 1 ? strtoll(argv[1], NULL, 10) : 1000, acc = 1;
  int status = argc > 2 ? atoi(argv[2]) : 0;
  for (int64_t i = 1; i <= n; i++) acc = (acc * 31 + i) % 1000003;
  printf("result=%lld\nargs: ", (long long)acc);
  for (int i = 1; i < argc; i++) printf("%s%s", i > 1 ? " " : "", argv[i]);
  printf("\n");
  fflush(stdout);
  return status;
}
