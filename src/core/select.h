/* Choosing the engine for a bundle: the precedence of ../DESIGN.md ("Choosing the engine"),
 * first match wins, and the reason recorded for `state`:
 *   1. --isolation=NAME            2. the program name (isola-vm, isola-wasm)
 *   3. annotations: io.isola.isolation, run.oci.handler (krun -> vm, wasm -> wasm),
 *      module.wasm.image/variant=compat|compat-smart (-> wasm when the entrypoint is wasm);
 *      a Kubernetes sandbox (io.kubernetes.cri.container-type=sandbox) stays a container
 *   4. the policy file's first matching rule (policy.h)
 *   5. an entrypoint starting with "\0asm" -> wasm
 *   6. container
 * A Kubernetes sandbox takes the policy's sandboxEngine (default: container) before rule 2:
 * containerd and CRI-O run a pod's pause container with the pod's runtime handler.
 * When the choice is vm and /dev/kvm is not usable, the policy's kvmFallback applies: run
 * under TCG (default), fall back to a container, or refuse.
 */
#ifndef ISOLA_SELECT_H
#define ISOLA_SELECT_H

#include "core/err.h"
#include "core/oci_config.h"
#include "core/policy.h"

struct engine_choice {
  char engine[16];
  char reason[160];
};

struct select_input {
  const char *flag;   /* --isolation, or NULL */
  const char *argv0;  /* how isola was called */
  const struct oci_config *cfg;
  const char *bundle; /* absolute */
  const char *rootfs; /* absolute (to look at the entrypoint) */
  const struct policy *policy; /* may be NULL */
  int kvm;            /* 1 usable, 0 not, -1 find out (/dev/kvm) */
};

int select_engine(const struct select_input *in, struct engine_choice *out,
                  struct isola_err *err);
/* Can this process use /dev/kvm? */
bool kvm_usable(void);

#endif
