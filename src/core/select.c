/* Engine selection; see select.h for the rules. */
#include "core/select.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "vm/vm.h"

static bool known(const char *name) {
  return !strcmp(name, "container") || !strcmp(name, "vm") || !strcmp(name, "wasm");
}

static int choose(struct engine_choice *out, const char *engine, const char *fmt, const char *arg) {
  snprintf(out->engine, sizeof out->engine, "%s", engine);
  snprintf(out->reason, sizeof out->reason, fmt, arg);
  return 0;
}

/* Does the entrypoint (process.args[0], looked up in the rootfs; PATH is not searched)
 * start with the wasm magic? */
static bool entrypoint_is_wasm(const struct oci_config *cfg, const char *rootfs) {
  if (!cfg->has_process || !cfg->process.nargs || !rootfs) return false;
  const char *prog = cfg->process.args[0];
  char path[4096];
  if (prog[0] == '/') snprintf(path, sizeof path, "%s%s", rootfs, prog);
  else snprintf(path, sizeof path, "%s/%s/%s", rootfs, cfg->process.cwd ? cfg->process.cwd : "", prog);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  unsigned char magic[4];
  return fd >= 0 && read(fd, magic, 4) == 4 && !memcmp(magic, "\0asm", 4);
}

static int choose_first(const struct select_input *in, struct engine_choice *out,
                        struct isola_err *err) {
  const struct oci_config *cfg = in->cfg;
  if (in->flag) {
    if (!known(in->flag))
      return isola_fail(err, EINVAL, "--isolation: unknown engine `%s` (container, vm, wasm)",
                        in->flag);
    return choose(out, in->flag, "--isolation=%s", in->flag);
  }
  /* A Kubernetes sandbox (pause) container comes with the pod's runtime handler, so also
   * under the isola-vm / isola-wasm names: it stays a container (as crun does), or takes the
   * policy's sandboxEngine, so that a pod whose handler is isola-wasm can start. */
  const char *v = oci_annotation(cfg, "io.kubernetes.cri.container-type");
  if (!v) v = oci_annotation(cfg, "io.kubernetes.cri-o.ContainerType");
  if (v && !strcmp(v, "sandbox")) {
    const char *e = in->policy && in->policy->sandbox_engine[0] ? in->policy->sandbox_engine
                                                                 : "container";
    return choose(out, e, "%s", e[0] == 'c' ? "Kubernetes sandbox container"
                                             : "Kubernetes sandbox container, policy sandboxEngine");
  }
  const char *base = strrchr(in->argv0, '/') ? strrchr(in->argv0, '/') + 1 : in->argv0;
  if (!strcmp(base, "isola-vm")) return choose(out, "vm", "program name %s", base);
  if (!strcmp(base, "isola-wasm")) return choose(out, "wasm", "program name %s", base);

  if ((v = oci_annotation(cfg, "io.isola.isolation"))) {
    if (!known(v))
      return isola_fail(err, EINVAL,
                        "config.json: annotations.io.isola.isolation: unknown engine `%s`", v);
    return choose(out, v, "annotation io.isola.isolation=%s", v);
  }
  if ((v = oci_annotation(cfg, "run.oci.handler"))) {
    if (!strcmp(v, "krun")) return choose(out, "vm", "annotation run.oci.handler=%s", v);
    if (!strcmp(v, "wasm")) return choose(out, "wasm", "annotation run.oci.handler=%s", v);
  }
  bool wasm = entrypoint_is_wasm(cfg, in->rootfs);
  if ((v = oci_annotation(cfg, "module.wasm.image/variant")) &&
      (!strcmp(v, "compat") || !strcmp(v, "compat-smart")) && wasm)
    return choose(out, "wasm", "annotation module.wasm.image/variant=%s", v);
  if (in->policy) {
    struct policy_input pi = {.cfg = cfg, .bundle = in->bundle, .entrypoint_is_wasm = wasm};
    size_t rule;
    const char *e = policy_match(in->policy, &pi, &rule);
    if (e) {
      char why[128];
      snprintf(why, sizeof why, "policy %s rule %zu", in->policy->name, rule);
      return choose(out, e, "%s", why);
    }
  }
  if (wasm) return choose(out, "wasm", "%s", "entrypoint is a wasm module");
  return choose(out, "container", "%s", "default");
}

/* The vm engine's own test, so that selection and the engine agree (a /dev/kvm that opens
 * is not enough: see vm_kvm_usable). */
bool kvm_usable(void) {
  char why[256];
  return vm_kvm_usable(why, sizeof why);
}

int select_engine(const struct select_input *in, struct engine_choice *out,
                  struct isola_err *err) {
  if (choose_first(in, out, err) < 0) return -1;
  if (strcmp(out->engine, "vm")) return 0;
  bool kvm = in->kvm >= 0 ? in->kvm == 1 : kvm_usable();
  if (kvm) return 0;
  enum kvm_fallback fb = in->policy ? in->policy->kvm_fallback : KVM_FALLBACK_TCG;
  char why[sizeof out->reason];
  snprintf(why, sizeof why, "%s", out->reason);
  if (fb == KVM_FALLBACK_REFUSE)
    return isola_fail(err, ENODEV,
                      "engine vm (chosen by %s): /dev/kvm is not usable and the policy's "
                      "kvmFallback is `refuse`",
                      why);
  if (fb == KVM_FALLBACK_CONTAINER) {
    snprintf(out->engine, sizeof out->engine, "container");
    snprintf(out->reason, sizeof out->reason, "%.100s; no KVM: policy kvmFallback=container", why);
    return 0;
  }
  snprintf(out->reason, sizeof out->reason, "%.120s; no KVM: TCG", why);
  return 0;
}
