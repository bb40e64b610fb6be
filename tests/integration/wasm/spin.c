/* Never finishes on its own: for --fuel and --timeout-ms. */
int main(void) {
  volatile unsigned x = 0;
  for (;;)
    x++;
}
