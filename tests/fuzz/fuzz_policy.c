/* fuzz_policy: bytes -> jansson -> policy_from_json(); a policy that loads is then matched
 * against a few fixed workloads (Kubernetes annotations, a wasm entrypoint, a plain container)
 * through policy_match() and select_engine(), so the globs run on fuzzer-chosen patterns. */
#include <string.h>

#include "core/oci_config.h"
#include "core/policy.h"
#include "core/select.h"
#include "fuzz.h"

/* Three workloads: a Kubernetes sandbox, a wasm entrypoint, a plain container. */
static const char *const workload_json[] = {
    ("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
     " \"process\": {\"args\": [\"/pause\"], \"cwd\": \"/\"},"
     " \"annotations\": {\"io.kubernetes.cri.container-type\": \"sandbox\","
     " \"io.kubernetes.cri.sandbox-namespace\": \"untrusted\","
     " \"io.kubernetes.cri.sandbox-name\": \"etl-7f9c\","
     " \"io.kubernetes.pod.name\": \"etl-7f9c\"}}"),
    ("{\"ociVersion\": \"1.0.2\", \"root\": {\"path\": \"rootfs\"},"
     " \"process\": {\"args\": [\"app.wasm\", \"--serve\"], \"cwd\": \"/srv\"},"
     " \"annotations\": {\"io.kubernetes.cri.container-name\": \"web\","
     " \"io.kubernetes.cri.runtime-handler\": \"isola\","
     " \"module.wasm.image/variant\": \"compat\"}}"),
    ("{\"ociVersion\": \"1.1.0\", \"root\": {\"path\": \"rootfs\"},"
     " \"process\": {\"args\": [\"sh\", \"-c\", \"true\"], \"cwd\": \"/\"}}"),
};
#define NWORKLOADS (sizeof workload_json / sizeof *workload_json)
static struct oci_config *workloads[NWORKLOADS];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  for (size_t i = 0; i < NWORKLOADS; i++) {
    json_t *j = json_loads(workload_json[i], 0, NULL);
    struct isola_err err;
    FUZZ_ASSERT(j && oci_config_from_json(j, "config.json", &workloads[i], &err) == 0);
    json_decref(j);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t jerr;
  json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc) return 0;
  struct policy pol;
  struct isola_err err = {0};
  if (policy_from_json(doc, "policy.json", &pol, &err) == 0) {
    for (size_t i = 0; i < NWORKLOADS; i++) {
      for (int wasm = 0; wasm < 2; wasm++) {
        struct policy_input in = {
            .cfg = workloads[i], .bundle = "/run/bundles/etl-7f9c", .entrypoint_is_wasm = wasm};
        size_t rule = SIZE_MAX;
        const char *engine = policy_match(&pol, &in, &rule);
        FUZZ_ASSERT(!engine || rule < json_array_size(pol.rules));
      }
      struct select_input sin = {.argv0 = "isola",
                                 .cfg = workloads[i],
                                 .bundle = "/run/bundles/etl-7f9c",
                                 .policy = &pol,
                                 .kvm = 0};
      struct engine_choice choice;
      struct isola_err serr = {0};
      if (select_engine(&sin, &choice, &serr) == 0) FUZZ_ASSERT(choice.engine[0] != 0);
    }
    policy_release(&pol);
  } else {
    FUZZ_ASSERT(strncmp(err.msg, "policy.json", 11) == 0);
    policy_release(&pol);
  }
  json_decref(doc);
  return 0;
}
