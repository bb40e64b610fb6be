/* SHA-256 (FIPS 180-4), streaming. Used by `isola compare` to checksum a workload's output;
 * small enough that isola needs no crypto library for it. */
#ifndef ISOLA_SHA256_H
#define ISOLA_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
  uint32_t h[8];
  uint64_t len; /* bytes hashed so far */
  uint8_t buf[64];
  size_t nbuf;
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
/* Writes the digest as 64 lowercase hex digits and a NUL into `hex`. */
void sha256_final_hex(struct sha256 *s, char hex[65]);

#endif
