/* Which engines can run on this host, and why not when one cannot: what `isola features`
 * reports and what `isola compare` checks before it runs an engine.
 *
 *   container  always (it is the base engine);
 *   wasm       when built in (its interpreter is isola's own);
 *   vm         when built in, QEMU is found and the guest kernel and initramfs are found; it
 *              runs with KVM when KVM can run the guest, else under TCG.
 * The vm answers are the vm engine's own (vm_image_find, vm_qemu_find, vm_kvm_usable in
 * src/vm/kernel.c), so that what is reported is what the engine will do. Reads the host only.
 */
#ifndef ISOLA_AVAIL_H
#define ISOLA_AVAIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

struct vm_host {
  bool kvm;               /* the vm engine will use KVM (else TCG) */
  char no_kvm[256];       /* why not, when !kvm */
  char qemu[PATH_MAX];    /* the QEMU binary, "" when not found */
  char qemu_missing[512]; /* why, when not found */
  char dir[PATH_MAX];     /* the directory holding the guest image, "" when not found */
  char kernel[PATH_MAX + 16], initrd[PATH_MAX + 32], release[128];
  char missing[1024];     /* why the image was not found: every place looked at */
  char templates[PATH_MAX]; /* where VM templates are kept, "" when they are off */
};

struct engine_avail {
  const char *name;
  bool built;       /* compiled into this binary */
  bool runnable;    /* can run a workload on this host */
  char reason[1024]; /* why it cannot run; when it can, a detail ("KVM", "TCG: ...") or "" */
};

/* Finds QEMU and the guest image, and whether KVM is usable. Never fails: what is missing is
 * left empty and described. */
void vm_host_probe(struct vm_host *out);

/* Availability of engine `name` (container, vm or wasm) on this host. */
void engine_avail(const char *name, struct engine_avail *out);

#endif
