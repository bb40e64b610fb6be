/* Traps on purpose: `trap div` divides by zero (i32.div_s traps), `trap unreachable` runs
 * `unreachable` (__builtin_trap), `trap stack` recurses without bound, `trap oob` loads from
 * the top of the 4 GiB address space, far past the memory (a guard page where the engine
 * reserves them). The functions are kept out of line so the trap is reported in a function
 * the name section names. */
#include <stdio.h>
#include <string.h>

volatile int zero = 0;

__attribute__((noinline)) int divide(int a, int b) {
  return a / b;
}

__attribute__((noinline)) void crash(void) {
  __builtin_trap();
}

__attribute__((noinline)) int load_far(void) {
  return *(volatile char *)0xfffffff0u;
}

/* Called through a volatile pointer so that the compiler can neither see the recursion nor
 * turn it into a loop: every call is a real wasm call, and nothing lands on the C stack in
 * linear memory. */
static int (*volatile next)(int);

__attribute__((noinline)) int recurse(int n) {
  return next(n + 1) + 1;
}

int main(int argc, char **argv) {
  printf("before\n");
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "div") == 0) return divide(1, zero);
  if (argc > 1 && strcmp(argv[1], "unreachable") == 0) crash();
  if (argc > 1 && strcmp(argv[1], "oob") == 0) return load_far();
  if (argc > 1 && strcmp(argv[1], "stack") == 0) {
    next = recurse;
    return recurse(0);
  }
  return 0;
}
