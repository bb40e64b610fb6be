/* Engine selection; see select.h for the rules. */
#include "core/select.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/cleanup.h"

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

int select_engine(const char *flag, const char *argv0, const struct oci_config *cfg,
                  const char *rootfs, struct engine_choice *out, struct isola_err *err) {
  if (flag) {
    if (!known(flag))
      return isola_fail(err, EINVAL, "--isolation: unknown engine `%s` (container, vm, wasm)", flag);
    return choose(out, flag, "--isolation=%s", flag);
  }
  const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
  if (!strcmp(base, "isola-vm")) return choose(out, "vm", "program name %s", base);
  if (!strcmp(base, "isola-wasm")) return choose(out, "wasm", "program name %s", base);

  const char *v = oci_annotation(cfg, "io.kubernetes.cri.container-type");
  if (v && !strcmp(v, "sandbox"))
    return choose(out, "container", "%s", "Kubernetes sandbox container");
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
  bool wasm = entrypoint_is_wasm(cfg, rootfs);
  if ((v = oci_annotation(cfg, "module.wasm.image/variant")) &&
      (!strcmp(v, "compat") || !strcmp(v, "compat-smart")) && wasm)
    return choose(out, "wasm", "annotation module.wasm.image/variant=%s", v);
  if (wasm) return choose(out, "wasm", "%s", "entrypoint is a wasm module");
  return choose(out, "container", "%s", "default");
}
