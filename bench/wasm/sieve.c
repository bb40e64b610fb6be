/* Sieve of Eratosthenes over a byte array: tight loops of loads and stores. argv[1] = limit in
 * millions (default 8), sieved 12 times. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  size_t n = (argc > 1 ? (size_t)atoi(argv[1]) : 8) * 1000000;
  unsigned char *composite = malloc(n + 1);
  size_t count = 0;
  if (!composite) return 1;
  for (int round = 0; round < 12; round++) {
    memset(composite, 0, n + 1);
    count = 0;
    for (size_t i = 2; i <= n; i++) {
      if (composite[i]) continue;
      count++;
      for (uint64_t j = (uint64_t)i * i; j <= n; j += i) /* i * i overflows a 32-bit size_t */
        composite[j] = 1;
    }
  }
  printf("checksum: %zu primes up to %zu\n", count, n);
  free(composite);
  return 0;
}
