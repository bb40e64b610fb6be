/* Writes a line, then exits through proc_exit with the status given as argv[1]. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  printf("exiting with %s\n", argc > 1 ? argv[1] : "0");
  exit(argc > 1 ? atoi(argv[1]) : 0);
}
