/* isola features: the OCI features document (runtime-spec features.md), with isola's own
 * section: the engines and whether each can run on this host ("io.isola.engines"), and the
 * annotations isola reads or writes ("io.isola.annotations"). The OCI-defined keys keep their
 * meaning; clients ignore keys they do not know. */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/avail.h"
#include "core/cleanup.h"

/* The annotations isola understands: what each does, and whether isola reads it from
 * config.json ("input") or writes it into the state ("output"). */
static const struct {
  const char *key, *dir, *doc;
} known_annotations[] = {
    {"io.isola.isolation", "input, output",
     "container|vm|wasm: the engine for this bundle; in `state`: the engine that runs it"},
    {"io.isola.isolation.reason", "output",
     "in `state`: which rule chose the engine (flag, program name, annotation, policy rule, "
     "detection, default)"},
    {"run.oci.handler", "input", "crun compatible: krun -> vm, wasm -> wasm"},
    {"module.wasm.image/variant", "input",
     "compat or compat-smart: wasm when the entrypoint is a wasm module (crun compatible)"},
    {"io.isola.wasm.fuel", "input", "wasm: instructions the module may run before it traps"},
    {"io.isola.wasm.timeout_ms", "input", "wasm: wall-clock limit from start, in ms"},
    {"io.isola.wasm.sandbox", "input",
     "wasm: `container` runs the module inside the container's namespaces and cgroup too"},
    {"io.isola.vm.memory_mib", "input", "vm: guest RAM in MiB (default from memory.limit)"},
    {"io.isola.vm.cpus", "input", "vm: vCPUs (default from cpu quota/period or cpus)"},
    {"io.isola.vm.template", "input",
     "vm: `off` boots the VM even when a template of its machine shape exists (default `on`)"},
    {"io.isola.vm.start", "output",
     "vm, in `state`: `template` (restored from its machine shape's template) or `boot`"},
    {"io.isola.compare.native", "input",
     "isola compare: the native entrypoint (inside the rootfs) for the container and vm engines"},
    {"io.isola.compare.wasm", "input",
     "isola compare: the wasm entrypoint (inside the rootfs) for the wasm engine"},
};

static const char *const boundary[][2] = {
    {"container", "kernel: namespaces, cgroups, capabilities, seccomp"},
    {"vm", "hardware (KVM) or emulation (QEMU TCG): its own guest kernel"},
    {"wasm", "language: WASI grants only (preopened dirs, args, env, clocks, random)"},
};

/* {"container": {...}, "vm": {...}, "wasm": {...}}: built, runnable, why not, and for vm the
 * pieces it needs. Also fills `runnable` with the names that can run here. */
static json_t *engines_section(json_t *runnable) {
  json_t *out = json_object();
  for (size_t i = 0; i < sizeof boundary / sizeof *boundary; i++) {
    struct engine_avail a;
    engine_avail(boundary[i][0], &a);
    json_t *e = json_pack("{s:b, s:b, s:s}", "built", a.built, "runnable", a.runnable,
                          "boundary", boundary[i][1]);
    if (a.reason[0]) json_object_set_new(e, a.runnable ? "detail" : "reason", json_string(a.reason));
    if (a.runnable) json_array_append_new(runnable, json_string(a.name));
    if (!strcmp(a.name, "vm")) {
      struct vm_host h;
      vm_host_probe(&h);
      json_object_set_new(e, "accelerator", json_string(h.kvm ? "kvm" : "tcg"));
      json_object_set_new(e, "kvm", json_boolean(h.kvm));
      if (!h.kvm) json_object_set_new(e, "noKvm", json_string(h.no_kvm));
      json_object_set_new(e, "qemu", h.qemu[0] ? json_string(h.qemu) : json_null());
      json_t *img = h.dir[0] ? json_pack("{s:s, s:s, s:s, s:s}", "dir", h.dir, "kernel", h.kernel,
                                         "initramfs", h.initrd, "release", h.release)
                             : json_pack("{s:s}", "missing", h.missing);
      json_object_set_new(e, "image", img);
      /* Where VMs of a machine shape are restored from (TCG only, for now), or null when off. */
      json_object_set_new(e, "templates", h.templates[0] && !h.kvm ? json_string(h.templates)
                                                                    : json_null());
    }
    json_object_set_new(out, a.name, e);
  }
  return out;
}

int cmd_features(int argc, char **argv) {
  if (argc > 1) {
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
      printf("usage: isola features\n\nPrints what this runtime supports, as the OCI features "
             "document, with\nisola's own keys: \"io.isola.engines\" (each engine: built in, "
             "runnable on this host\nor why not; for vm: KVM or TCG, QEMU, the guest image) and "
             "\"io.isola.annotations\"\n(the annotations isola reads or writes).\n");
      return 0;
    }
    return cli_errorf("features: takes no arguments");
  }
  _cleanup_json_ json_t *caps = json_array();
  for (int c = 0; c <= oci_cap_last(); c++) json_array_append_new(caps, json_string(oci_cap_name(c)));
  json_t *engines = json_array();
  for (const char *const *n = engine_names(); *n; n++) json_array_append_new(engines, json_string(*n));
  char *engines_text = json_dumps(engines, JSON_COMPACT);
  json_decref(engines);
  json_t *runnable = json_array();
  json_t *section = engines_section(runnable);
  char *runnable_text = json_dumps(runnable, JSON_COMPACT);
  json_decref(runnable);
  _cleanup_json_ json_t *j = json_pack(
      "{s:s, s:s,"
      " s:[s,s,s,s,s,s],"
      " s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s],"
      " s:{s:[s,s,s,s,s,s,s,s], s:O,"
      "    s:{s:b, s:b, s:b, s:b, s:b},"
      "    s:{s:b, s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s], s:[s,s,s]},"
      "    s:{s:b}, s:{s:b}},"
      " s:{s:s, s:s}}",
      "ociVersionMin", "1.0.0", "ociVersionMax", "1.1.0",
      "hooks", "prestart", "createRuntime", "createContainer", "startContainer", "poststart",
      "poststop",
      "mountOptions", "async", "atime", "bind", "dev", "diratime", "dirsync", "exec", "mand",
      "noatime", "nodev", "nodiratime", "noexec", "nomand", "norelatime", "nostrictatime",
      "nosuid", "nosymfollow", "private", "rbind", "relatime", "remount", "ro", "rprivate",
      "rshared", "rslave", "runbindable", "rw", "shared", "slave", "strictatime", "suid", "sync",
      "linux", "namespaces", "cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts",
      "capabilities", caps,
      "cgroup", "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "rdma", 0,
      "seccomp", "enabled", 1, "actions", "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
      "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_TRAP",
      "operators", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
      "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE", "archs", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64",
      "SCMP_ARCH_X32",
      "apparmor", "enabled", 0, "selinux", "enabled", 0,
      "annotations", "io.isola.engines", engines_text ? engines_text : "[]",
      "io.isola.engines.runnable", runnable_text ? runnable_text : "[]");
  free(engines_text);
  free(runnable_text);
  json_object_set_new(j, "io.isola.engines", section);
  json_t *ann = json_object();
  for (size_t i = 0; i < sizeof known_annotations / sizeof *known_annotations; i++)
    json_object_set_new(ann, known_annotations[i].key,
                        json_pack("{s:s, s:s}", "use", known_annotations[i].dir, "doc",
                                  known_annotations[i].doc));
  json_object_set_new(j, "io.isola.annotations", ann);
  char *text = json_dumps(j, JSON_INDENT(2));
  printf("%s\n", text);
  free(text);
  return 0;
}
