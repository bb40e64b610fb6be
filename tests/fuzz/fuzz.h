/* What every fuzz target shares: the libFuzzer entry points, a cursor over the input for targets
 * that read structured bytes, and the assertion that turns a broken invariant into a crash.
 *
 * Each tests/fuzz/fuzz_*.c is built twice: with clang and libFuzzer for `make fuzz`, and with the
 * project's compiler and replay.c as main for `make check`, which runs every file of the corpus
 * through it once (there the entry points are renamed per target; see the Makefile).
 * A target must be deterministic, must not print, and must undo everything it did to the
 * process before it returns (memory, fds, files): the replay and the fuzzer both check.
 */
#ifndef ISOLA_FUZZ_H
#define ISOLA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property the code under test promises: a failure is a finding, reported like a crash. */
#define FUZZ_ASSERT(cond)                                                                          \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #cond);            \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

/* A reader over the input: past the end every read gives zeros, so a target never has to check
 * lengths and a short input is just one that ends early. */
struct fuzz_in {
  const uint8_t *p, *end;
};

static inline int fuzz_more(const struct fuzz_in *in) {
  return in->p < in->end;
}

static inline uint8_t fuzz_u8(struct fuzz_in *in) {
  return in->p < in->end ? *in->p++ : 0;
}

static inline uint32_t fuzz_u32(struct fuzz_in *in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)fuzz_u8(in) << (8 * i);
  return v;
}

static inline uint64_t fuzz_u64(struct fuzz_in *in) {
  uint64_t lo = fuzz_u32(in);
  return lo | (uint64_t)fuzz_u32(in) << 32;
}

/* Up to `max` bytes (fewer at the end): a pointer into the input and the length taken. */
static inline const uint8_t *fuzz_bytes(struct fuzz_in *in, size_t max, size_t *len) {
  size_t left = (size_t)(in->end - in->p);
  *len = left < max ? left : max;
  const uint8_t *r = in->p;
  in->p += *len;
  return r;
}

#endif
