/* Dense double-precision matrix multiply, 200x200, repeated: f64 loads, multiplies and adds.
 * argv[1] = repetitions (default 120). The checksum is exact: no FMA contraction on either side
 * (x86-64 baseline and wasm both round each operation). */
#include <stdio.h>
#include <stdlib.h>

#define N 200

static double a[N][N], b[N][N], c[N][N];

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 120;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (double)((i * 31 + j * 17) % 100) / 100.0;
      b[i][j] = (double)((i * 7 + j * 13) % 100) / 50.0 - 1.0;
    }
  double sum = 0;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) {
        double s = 0;
        for (int k = 0; k < N; k++)
          s += a[i][k] * b[k][j];
        c[i][j] = s;
      }
    a[r % N][(r * 7) % N] += c[(r * 3) % N][r % N] * 1e-3; /* keep the rounds dependent */
    for (int i = 0; i < N; i++)
      sum += c[i][(i + r) % N];
  }
  printf("checksum: %.17g\n", sum);
  return 0;
}
