/* The policy file: loading, validation with rule-and-field errors, and matching. */
#include "core/policy.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#include "core/cleanup.h"

/* Kubernetes metadata keys, as containerd (CRI) and CRI-O set them. */
static const struct {
  const char *field;
  const char *keys[3];
} k8s[] = {
    {"namespace", {"io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace", NULL}},
    {"pod", {"io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name", NULL}},
    {"container", {"io.kubernetes.cri.container-name", "io.kubernetes.container.name", NULL}},
    {"handler", {"io.kubernetes.cri.runtime-handler", "io.kubernetes.cri-o.RuntimeHandler", NULL}},
};

static bool engine_name_ok(const char *e) {
  return e && (!strcmp(e, "container") || !strcmp(e, "vm") || !strcmp(e, "wasm"));
}

static int check_rule(json_t *rule, const char *name, size_t i, struct isola_err *err) {
  if (!json_is_object(rule)) return isola_fail(err, EINVAL, "%s: rules[%zu]: expected an object", name, i);
  const char *engine = json_string_value(json_object_get(rule, "engine"));
  if (!engine_name_ok(engine))
    return isola_fail(err, EINVAL, "%s: rules[%zu].engine: expected container, vm or wasm", name, i);
  json_t *m = json_object_get(rule, "match");
  if (!json_is_object(m)) return isola_fail(err, EINVAL, "%s: rules[%zu].match: expected an object", name, i);
  const char *key;
  json_t *v;
  json_object_foreach(m, key, v) {
    if (!strcmp(key, "annotations")) {
      if (!json_is_object(v))
        return isola_fail(err, EINVAL, "%s: rules[%zu].match.annotations: expected an object", name, i);
      const char *ak;
      json_t *av;
      json_object_foreach(v, ak, av) if (!json_is_string(av)) return isola_fail(
          err, EINVAL, "%s: rules[%zu].match.annotations.%s: expected a string", name, i, ak);
      continue;
    }
    if (!strcmp(key, "wasm")) {
      if (!json_is_boolean(v))
        return isola_fail(err, EINVAL, "%s: rules[%zu].match.wasm: expected a boolean", name, i);
      continue;
    }
    bool known = !strcmp(key, "entrypoint") || !strcmp(key, "bundle");
    for (size_t k = 0; k < sizeof k8s / sizeof *k8s; k++) known |= !strcmp(key, k8s[k].field);
    if (!known)
      return isola_fail(err, EINVAL,
                        "%s: rules[%zu].match.%s: unknown key (annotations, entrypoint, wasm, "
                        "bundle, namespace, pod, container, handler)",
                        name, i, key);
    if (!json_is_string(v))
      return isola_fail(err, EINVAL, "%s: rules[%zu].match.%s: expected a string", name, i, key);
  }
  return 0;
}

int policy_from_json(json_t *doc, const char *name, struct policy *out, struct isola_err *err) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", name);
  if (!json_is_object(doc)) return isola_fail(err, EINVAL, "%s: expected an object", name);
  json_t *rules = json_object_get(doc, "rules");
  if (rules && !json_is_array(rules))
    return isola_fail(err, EINVAL, "%s: rules: expected an array", name);
  size_t i;
  json_t *r;
  json_array_foreach(rules, i, r) if (check_rule(r, name, i, err) < 0) return -1;
  json_t *fb = json_object_get(doc, "kvmFallback");
  if (fb) {
    const char *s = json_string_value(fb);
    if (s && !strcmp(s, "tcg")) out->kvm_fallback = KVM_FALLBACK_TCG;
    else if (s && !strcmp(s, "container")) out->kvm_fallback = KVM_FALLBACK_CONTAINER;
    else if (s && !strcmp(s, "refuse")) out->kvm_fallback = KVM_FALLBACK_REFUSE;
    else return isola_fail(err, EINVAL, "%s: kvmFallback: expected tcg, container or refuse", name);
  }
  json_t *sb = json_object_get(doc, "sandboxEngine");
  if (sb) {
    if (!engine_name_ok(json_string_value(sb)))
      return isola_fail(err, EINVAL, "%s: sandboxEngine: expected container, vm or wasm", name);
    snprintf(out->sandbox_engine, sizeof out->sandbox_engine, "%s", json_string_value(sb));
  }
  out->rules = rules ? json_incref(rules) : json_array();
  return 0;
}

int policy_load(const char *path, bool required, struct policy *out, struct isola_err *err) {
  const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  json_error_t jerr;
  _cleanup_json_ json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc) {
    if (jerr.line < 0 || strstr(jerr.text, "unable to open")) {
      if (!required && errno == ENOENT) {
        memset(out, 0, sizeof *out);
        out->rules = json_array();
        return 0;
      }
      return isola_fail_errno(err, errno ? errno : ENOENT, "policy: open `%s`", path);
    }
    return isola_fail(err, EINVAL, "%s: line %d, column %d: %s", name, jerr.line, jerr.column,
                      jerr.text);
  }
  return policy_from_json(doc, name, out, err);
}

void policy_release(struct policy *p) {
  if (p->rules) json_decref(p->rules);
  p->rules = NULL;
}

static bool glob(const char *pattern, const char *s) {
  return s && fnmatch(pattern, s, 0) == 0;
}

static bool k8s_match(const struct oci_config *cfg, const char *field, const char *pattern) {
  for (size_t k = 0; k < sizeof k8s / sizeof *k8s; k++) {
    if (strcmp(k8s[k].field, field)) continue;
    for (int i = 0; k8s[k].keys[i]; i++)
      if (glob(pattern, oci_annotation(cfg, k8s[k].keys[i]))) return true;
  }
  return false;
}

static bool rule_matches(json_t *m, const struct policy_input *in) {
  const char *key;
  json_t *v;
  json_object_foreach(m, key, v) {
    if (!strcmp(key, "annotations")) {
      const char *ak;
      json_t *av;
      json_object_foreach(v, ak, av) if (!glob(json_string_value(av), oci_annotation(in->cfg, ak)))
          return false;
    } else if (!strcmp(key, "wasm")) {
      if (json_is_true(v) != in->entrypoint_is_wasm) return false;
    } else if (!strcmp(key, "entrypoint")) {
      const char *ep = in->cfg->has_process && in->cfg->process.nargs ? in->cfg->process.args[0] : NULL;
      if (!glob(json_string_value(v), ep)) return false;
    } else if (!strcmp(key, "bundle")) {
      if (!glob(json_string_value(v), in->bundle)) return false;
    } else if (!k8s_match(in->cfg, key, json_string_value(v))) {
      return false;
    }
  }
  return true;
}

const char *policy_match(const struct policy *p, const struct policy_input *in, size_t *rule) {
  size_t i;
  json_t *r;
  json_array_foreach(p->rules, i, r) {
    if (!rule_matches(json_object_get(r, "match"), in)) continue;
    if (rule) *rule = i;
    return json_string_value(json_object_get(r, "engine"));
  }
  return NULL;
}
