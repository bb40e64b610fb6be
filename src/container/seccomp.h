/* linux.seccomp -> a BPF filter through libseccomp, compiled in the runtime (so profile errors
 * surface at create time) and loaded by the container process just before execve. */
#ifndef ISOLA_SECCOMP_H
#define ISOLA_SECCOMP_H

#include <jansson.h>

#include "core/err.h"

struct seccomp_filter;

int seccomp_filter_compile(json_t *profile, struct seccomp_filter **out, struct isola_err *err);
int seccomp_filter_load(const struct seccomp_filter *f, struct isola_err *err);
void seccomp_filter_free(struct seccomp_filter *f);

static inline void seccomp_filter_freep(struct seccomp_filter **f) {
  if (*f) seccomp_filter_free(*f);
}
#define _cleanup_seccomp_ __attribute__((cleanup(seccomp_filter_freep)))

#endif
