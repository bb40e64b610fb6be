/* Copies stdin to stdout with fd_read / fd_write through stdio, and reports the byte count on
 * stderr. */
#include <stdio.h>

int main(void) {
  static char buf[65536];
  size_t n, total = 0;
  while ((n = fread(buf, 1, sizeof buf, stdin)) > 0) {
    if (fwrite(buf, 1, n, stdout) != n) return 1;
    total += n;
  }
  if (ferror(stdin)) return 2;
  fprintf(stderr, "copied %zu bytes\n", total);
  return 0;
}
