/* Choosing the engine for a bundle: the precedence of ../DESIGN.md ("Choosing the engine"),
 * first match wins, and the reason recorded for `state`:
 *   1. --isolation=NAME            2. the program name (isola-vm, isola-wasm)
 *   3. annotations: io.isola.isolation, run.oci.handler (krun -> vm, wasm -> wasm),
 *      module.wasm.image/variant=compat|compat-smart (-> wasm when the entrypoint is wasm);
 *      a Kubernetes sandbox (io.kubernetes.cri.container-type=sandbox) stays a container
 *   4. (the policy file: not yet)  5. an entrypoint starting with "\0asm" -> wasm
 *   6. container
 */
#ifndef ISOLA_SELECT_H
#define ISOLA_SELECT_H

#include "core/err.h"
#include "core/oci_config.h"

struct engine_choice {
  char engine[16];
  char reason[160];
};

/* `flag`: the --isolation value or NULL; `argv0`: how isola was called; `rootfs`: absolute path
 * of the bundle's rootfs (to look at the entrypoint). */
int select_engine(const char *flag, const char *argv0, const struct oci_config *cfg,
                  const char *rootfs, struct engine_choice *out, struct isola_err *err);

#endif
