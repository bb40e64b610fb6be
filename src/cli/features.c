/* isola features: the OCI features document (runtime-spec features.md). */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/cleanup.h"

int cmd_features(int argc, char **argv) {
  if (argc > 1) {
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
      printf("usage: isola features\n\nPrints what this runtime supports, as the OCI features "
             "document.\n");
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
  _cleanup_json_ json_t *j = json_pack(
      "{s:s, s:s,"
      " s:[s,s,s,s,s,s],"
      " s:[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s],"
      " s:{s:[s,s,s,s,s,s,s,s], s:O,"
      "    s:{s:b, s:b, s:b, s:b, s:b},"
      "    s:{s:b, s:[s,s,s,s,s,s,s], s:[s,s,s,s,s,s,s], s:[s,s,s]},"
      "    s:{s:b}, s:{s:b}},"
      " s:{s:s, s:s, s:s}}",
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
      "io.isola.isolation", "container|vm|wasm: the engine for this bundle",
      "run.oci.handler", "krun -> vm, wasm -> wasm (crun compatible)");
  free(engines_text);
  char *text = json_dumps(j, JSON_INDENT(2));
  printf("%s\n", text);
  free(text);
  return 0;
}
