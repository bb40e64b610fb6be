/* Engine availability on this host; see avail.h. */
#include "core/avail.h"

#include <stdio.h>
#include <string.h>

#include "core/engine.h"
#include "vm/vm.h"

void vm_host_probe(struct vm_host *out) {
  memset(out, 0, sizeof *out);
  out->kvm = vm_kvm_usable(out->no_kvm, sizeof out->no_kvm);
  if (!vm_template_root(out->templates, sizeof out->templates)) out->templates[0] = 0;
  struct isola_err err;
  if (vm_qemu_find(out->qemu, sizeof out->qemu, &err) < 0) {
    out->qemu[0] = 0;
    snprintf(out->qemu_missing, sizeof out->qemu_missing, "%s", err.msg);
  }
  struct vm_image img;
  if (vm_image_find(&img, &err) < 0) {
    snprintf(out->missing, sizeof out->missing, "%s", err.msg);
    return;
  }
  snprintf(out->dir, sizeof out->dir, "%s", img.dir);
  snprintf(out->kernel, sizeof out->kernel, "%s", img.vmlinux);
  snprintf(out->initrd, sizeof out->initrd, "%s", img.initramfs);
  snprintf(out->release, sizeof out->release, "%s", img.release);
}

void engine_avail(const char *name, struct engine_avail *out) {
  memset(out, 0, sizeof *out);
  out->name = name;
  out->built = engine_find(name) != NULL;
  if (!out->built) {
    snprintf(out->reason, sizeof out->reason, "engine %s is not built into this isola", name);
    return;
  }
  if (strcmp(name, "vm")) {
    out->runnable = true;
    return;
  }
  struct vm_host h;
  vm_host_probe(&h);
  if (!h.qemu[0]) {
    snprintf(out->reason, sizeof out->reason, "%s", h.qemu_missing);
    return;
  }
  if (!h.dir[0]) {
    snprintf(out->reason, sizeof out->reason, "%s", h.missing);
    return;
  }
  out->runnable = true;
  if (h.kvm) snprintf(out->reason, sizeof out->reason, "KVM");
  else snprintf(out->reason, sizeof out->reason, "TCG (%.200s)", h.no_kvm);
}
