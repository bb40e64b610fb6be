/* The policy file: ordered rules that pick an engine per workload (rule 4 of the selection,
 * see select.h), and what to do when the vm engine has no KVM.
 *
 * Format (JSON; /etc/isola/policy.json or --policy FILE):
 *   {
 *     "rules": [
 *       { "match": { "annotations": { "io.kubernetes.cri.sandbox-namespace": "untrusted" } },
 *         "engine": "vm" },
 *       { "match": { "entrypoint": "*.wasm" }, "engine": "wasm" },
 *       { "match": { "namespace": "batch-*", "pod": "etl-*" }, "engine": "container" }
 *     ],
 *     "kvmFallback": "tcg" | "container" | "refuse",       (default "tcg")
 *     "sandboxEngine": "container"                           (Kubernetes pause containers)
 *   }
 * A rule's `match` holds any of: `annotations` (key -> exact value or glob), `entrypoint`
 * (glob on process.args[0]), `wasm` (true: the entrypoint starts with "\0asm"), `bundle` (glob
 * on the bundle path), and the Kubernetes metadata that containerd and CRI-O pass as
 * annotations: `namespace`, `pod`, `container`, `handler`. Every key given must match; the
 * first rule that matches wins. Errors name the rule index and field:
 * "policy.json: rules[2].match.bundle: expected a string".
 */
#ifndef ISOLA_POLICY_H
#define ISOLA_POLICY_H

#include <stdbool.h>
#include <jansson.h>

#include "core/err.h"
#include "core/oci_config.h"

enum kvm_fallback { KVM_FALLBACK_TCG, KVM_FALLBACK_CONTAINER, KVM_FALLBACK_REFUSE };

struct policy {
  json_t *rules; /* validated array */
  enum kvm_fallback kvm_fallback;
  char sandbox_engine[16]; /* "" = container */
  char name[256];          /* the file, for messages */
};

/* What a rule is matched against. */
struct policy_input {
  const struct oci_config *cfg;
  const char *bundle;
  bool entrypoint_is_wasm;
};

/* Loads and validates; a missing default file (`required` false) gives an empty policy. */
int policy_load(const char *path, bool required, struct policy *out, struct isola_err *err);
/* Same, from a document in memory (tests). */
int policy_from_json(json_t *doc, const char *name, struct policy *out, struct isola_err *err);
void policy_release(struct policy *p);

/* The engine of the first matching rule (and its index), or NULL when none matches. */
const char *policy_match(const struct policy *p, const struct policy_input *in, size_t *rule);

#endif
