/* Allocates argv[1] MiB and touches every page: exits 0 when that worked, 3 when malloc failed
 * (so --max-memory-pages is visible as a status, not a crash). The pages are read back so the
 * compiler cannot drop the allocation. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 1, sum = 0;
  char *p = malloc(mib << 20);
  if (!p) {
    printf("malloc failed\n");
    return 3;
  }
  memset(p, 1, mib << 20);
  for (size_t i = 0; i < mib << 20; i += 4096)
    sum += (size_t)p[i];
  printf("allocated %zu MiB (%zu pages touched)\n", mib, sum);
  free(p);
  return 0;
}
