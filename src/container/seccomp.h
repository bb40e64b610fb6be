/* linux.seccomp: the OCI profile as a classic-BPF program.
 *
 * seccomp_filter_compile() runs in the runtime before the container process exists: libseccomp
 * translates the profile (every error names its JSON path and surfaces at create), the program
 * is exported as BPF, unsupported flags are found by asking the kernel, and with `listenerPath`
 * the runtime connects to the listener (while the host's paths are still visible).
 * seccomp_filter_load() runs in the container process just before execve: one seccomp(2) call
 * with the profile's flags, so the child needs nothing from libseccomp and no_new_privs is never
 * set behind the config's back. With a listener it then sends the notify fd and the "seccomp
 * state" JSON (OCI runtime-spec config-linux.md) over SCM_RIGHTS and closes both.
 *
 * Syscall names this libseccomp does not know are skipped, as runc does, with one debug note
 * (core/log.h) listing them. Loading needs noNewPrivileges or CAP_SYS_ADMIN. Compiling a large
 * profile costs libseccomp ~15 ms, several times a whole container start: hence the cache.
 */
#ifndef ISOLA_SECCOMP_H
#define ISOLA_SECCOMP_H

#include <stddef.h>
#include <jansson.h>

#include "core/err.h"
#include "core/state.h"

struct seccomp_filter;

int seccomp_filter_compile(json_t *profile, struct seccomp_filter **out, struct isola_err *err);
/* The container state a listener receives. `st` is read when the filter loads: in the
 * container process that is its own copy, which has the host pid by then. Without a state the
 * message carries pid 0 and an empty state. */
void seccomp_filter_set_state(struct seccomp_filter *f, const struct isola_state *st);
int seccomp_filter_load(const struct seccomp_filter *f, struct isola_err *err);
void seccomp_filter_free(struct seccomp_filter *f);
/* Compiled programs are cached in ROOT/.seccomp (created 0700 on the first store), one file per
 * profile, keyed by the profile's canonical text (compared in full on every hit), the libseccomp
 * version, its API level and the native architecture: a hit skips libseccomp. Without a root
 * (the default) nothing is cached. Process-wide; the CLI sets it once from --root. */
void seccomp_cache_set_root(const char *root);
/* Number of BPF instructions (for tests and debug notes). */
size_t seccomp_filter_length(const struct seccomp_filter *f);

/* The "seccomp" object of `isola features` (OCI features.json): actions, operators, the
 * architectures this libseccomp resolves, knownFlags and the supportedFlags this kernel takes. */
json_t *seccomp_features(void);

/* The profile `isola spec` writes (seccomp_default.c): an allowlist like the moby/podman
 * default for the capabilities spec grants. A new object. */
json_t *seccomp_default_profile(void);

static inline void seccomp_filter_freep(struct seccomp_filter **f) {
  if (*f) seccomp_filter_free(*f);
}
#define _cleanup_seccomp_ __attribute__((cleanup(seccomp_filter_freep)))

#endif
