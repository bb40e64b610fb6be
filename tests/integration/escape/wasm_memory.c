/* wasm_memory: a module that goes after the host's memory from inside the sandbox.
 *
 *   wasm_memory oob ADDRESS   prints "before", then reads 4 bytes at ADDRESS (decimal or 0x)
 *                             of linear memory and prints them: past the end it must trap
 *   wasm_memory exhaust       allocates and touches 1 MiB blocks until malloc fails; prints
 *                             "allocated N MiB" (the cap, not the host, must stop it)
 *   wasm_memory grow PAGES    memory.grow(PAGES) straight; prints the result (-1 = refused)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc > 2 && !strcmp(argv[1], "oob")) {
    unsigned long addr = strtoul(argv[2], NULL, 0);
    printf("before\n");
    fflush(stdout);
    volatile unsigned *p = (volatile unsigned *)addr;
    printf("read %08x\n", *p);
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "exhaust")) {
    /* Kept in a volatile and read back: otherwise the compiler may drop allocations nobody
     * uses, and with them the loop's way out. */
    static char *volatile last;
    size_t mib = 0, sum = 0;
    for (;;) {
      char *b = malloc(1 << 20);
      if (!b) break;
      memset(b, 0x5a, 1 << 20); /* touched: really backed by the host */
      last = b;
      sum += (unsigned char)last[mib % (1 << 20)];
      mib++;
    }
    printf("allocated %zu MiB (%zu)\n", mib, sum / 0x5a);
    return 0;
  }
  if (argc > 2 && !strcmp(argv[1], "grow")) {
    long r = (long)__builtin_wasm_memory_grow(0, (unsigned long)strtol(argv[2], NULL, 0));
    printf("grow=%ld\n", r);
    return 0;
  }
  fprintf(stderr, "usage: wasm_memory oob ADDR | exhaust | grow PAGES\n");
  return 2;
}
