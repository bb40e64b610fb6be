/* Cold start: the smallest program that does something visible. */
#include <stdio.h>

int main(void) {
  printf("hello, world\n");
  return 0;
}
