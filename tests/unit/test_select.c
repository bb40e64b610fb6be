/* Unit tests of engine selection (each rule of select.h) and the policy file. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/oci_config.h"
#include "core/policy.h"
#include "core/select.h"

static struct oci_config *config(const char *annotations) {
  char text[2048];
  snprintf(text, sizeof text,
           "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
           "\"process\":{\"args\":[\"/app/server\"],\"cwd\":\"/\"},"
           "\"annotations\":%s}",
           annotations);
  json_t *j = json_loads(text, 0, NULL);
  struct oci_config *c = NULL;
  struct isola_err err;
  if (j) oci_config_from_json(j, "config.json", &c, &err);
  json_decref(j);
  return c;
}

static struct policy policy(const char *text) {
  struct policy p = {0};
  struct isola_err err;
  json_t *j = json_loads(text, 0, NULL);
  if (!j || policy_from_json(j, "policy.json", &p, &err) < 0) p.rules = NULL;
  json_decref(j);
  return p;
}

/* The engine chosen, or "error: <message>". */
static const char *pick(const char *flag, const char *argv0, const char *ann, const struct policy *p,
                        int kvm, char *reason) {
  static char buf[600];
  struct oci_config *c = config(ann);
  if (!c) return "bad test config";
  struct select_input in = {.flag = flag, .argv0 = argv0, .cfg = c, .bundle = "/srv/b1",
                            .rootfs = "/nonexistent", .policy = p, .kvm = kvm};
  struct engine_choice ch;
  struct isola_err err;
  if (select_engine(&in, &ch, &err) < 0) snprintf(buf, sizeof buf, "error: %s", err.msg);
  else snprintf(buf, sizeof buf, "%s", ch.engine);
  if (reason) snprintf(reason, 160, "%s", ch.reason);
  oci_config_free(c);
  return buf;
}

static void test_precedence(void) {
  char why[160];
  CHECK(!strcmp(pick(NULL, "isola", "{}", NULL, 1, why), "container"));
  CHECK_STR_CONTAINS(why, "default");
  CHECK(!strcmp(pick("vm", "isola-wasm", "{\"io.isola.isolation\":\"wasm\"}", NULL, 1, why), "vm"));
  CHECK_STR_CONTAINS(why, "--isolation=vm");
  CHECK(!strcmp(pick(NULL, "/usr/bin/isola-wasm", "{\"io.isola.isolation\":\"vm\"}", NULL, 1, why), "wasm"));
  CHECK_STR_CONTAINS(why, "program name");
  CHECK(!strcmp(pick(NULL, "isola", "{\"io.isola.isolation\":\"wasm\"}", NULL, 1, why), "wasm"));
  CHECK(!strcmp(pick(NULL, "isola", "{\"run.oci.handler\":\"krun\"}", NULL, 1, why), "vm"));
  CHECK_STR_CONTAINS(why, "run.oci.handler=krun");
  CHECK(!strcmp(pick(NULL, "isola", "{\"run.oci.handler\":\"wasm\"}", NULL, 1, why), "wasm"));
  CHECK_STR_CONTAINS(pick("nope", "isola", "{}", NULL, 1, why), "unknown engine `nope`");
  CHECK_STR_CONTAINS(pick(NULL, "isola", "{\"io.isola.isolation\":\"bsd-jail\"}", NULL, 1, why),
                     "annotations.io.isola.isolation");
}

static void test_sandbox_stays_container(void) {
  char why[160];
  const char *sb = "{\"io.kubernetes.cri.container-type\":\"sandbox\",\"io.isola.isolation\":\"vm\"}";
  CHECK(!strcmp(pick(NULL, "isola", sb, NULL, 1, why), "container"));
  CHECK_STR_CONTAINS(why, "sandbox");
  /* Also under the handler's program name: a pod with runtimeClassName isola-wasm starts its
   * pause container through isola-wasm. */
  CHECK(!strcmp(pick(NULL, "/usr/local/bin/isola-wasm", sb, NULL, 1, why), "container"));
  CHECK(!strcmp(pick(NULL, "isola-vm", sb, NULL, 1, why), "container"));
  struct policy p = policy("{\"sandboxEngine\":\"vm\"}");
  CHECK(!strcmp(pick(NULL, "isola", sb, &p, 1, why), "vm"));
  policy_release(&p);
}

static void test_policy_rules(void) {
  char why[160];
  struct policy p = policy(
      "{\"rules\":["
      "{\"match\":{\"annotations\":{\"io.kubernetes.cri.sandbox-namespace\":\"untrusted\"}},\"engine\":\"vm\"},"
      "{\"match\":{\"namespace\":\"batch-*\",\"pod\":\"etl-*\"},\"engine\":\"wasm\"},"
      "{\"match\":{\"entrypoint\":\"/app/*\",\"bundle\":\"/srv/*\"},\"engine\":\"vm\"}"
      "]}");
  CHECK(p.rules != NULL);
  CHECK(!strcmp(pick(NULL, "isola", "{\"io.kubernetes.cri.sandbox-namespace\":\"untrusted\"}", &p, 1, why), "vm"));
  CHECK_STR_CONTAINS(why, "policy policy.json rule 0");
  CHECK(!strcmp(pick(NULL, "isola",
                     "{\"io.kubernetes.pod.namespace\":\"batch-7\",\"io.kubernetes.pod.name\":\"etl-1\"}",
                     &p, 1, why), "wasm"));
  CHECK_STR_CONTAINS(why, "rule 1");
  /* namespace matches but pod does not: rule 1 is skipped, rule 2 matches the entrypoint. */
  CHECK(!strcmp(pick(NULL, "isola", "{\"io.kubernetes.pod.namespace\":\"batch-7\"}", &p, 1, why), "vm"));
  CHECK_STR_CONTAINS(why, "rule 2");
  /* An annotation rule beats the policy. */
  CHECK(!strcmp(pick(NULL, "isola", "{\"io.isola.isolation\":\"container\"}", &p, 1, why), "container"));
  policy_release(&p);
}

static void test_kvm_fallback(void) {
  char why[160];
  const char *vm = "{\"io.isola.isolation\":\"vm\"}";
  CHECK(!strcmp(pick(NULL, "isola", vm, NULL, 0, why), "vm"));
  CHECK_STR_CONTAINS(why, "TCG");
  struct policy p = policy("{\"kvmFallback\":\"container\"}");
  CHECK(!strcmp(pick(NULL, "isola", vm, &p, 0, why), "container"));
  CHECK_STR_CONTAINS(why, "kvmFallback=container");
  CHECK(!strcmp(pick(NULL, "isola", vm, &p, 1, why), "vm"));
  policy_release(&p);
  p = policy("{\"kvmFallback\":\"refuse\"}");
  CHECK_STR_CONTAINS(pick(NULL, "isola", vm, &p, 0, why), "kvmFallback is `refuse`");
  policy_release(&p);
}

static void expect_bad(const char *text, const char *msg) {
  struct policy p;
  struct isola_err err = {0};
  json_t *j = json_loads(text, 0, NULL);
  CHECK(j && policy_from_json(j, "policy.json", &p, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, msg);
  json_decref(j);
}

static void test_bad_policies(void) {
  expect_bad("[]", "policy.json: expected an object");
  expect_bad("{\"rules\":{}}", "rules: expected an array");
  expect_bad("{\"rules\":[{\"match\":{},\"engine\":\"jail\"}]}", "rules[0].engine");
  expect_bad("{\"rules\":[{\"engine\":\"vm\"}]}", "rules[0].match: expected an object");
  expect_bad("{\"rules\":[{\"engine\":\"vm\",\"match\":{}},{\"engine\":\"vm\",\"match\":{\"bundle\":3}}]}",
             "rules[1].match.bundle: expected a string");
  expect_bad("{\"rules\":[{\"engine\":\"vm\",\"match\":{\"color\":\"red\"}}]}", "rules[0].match.color: unknown key");
  expect_bad("{\"rules\":[{\"engine\":\"vm\",\"match\":{\"annotations\":{\"a\":1}}}]}",
             "rules[0].match.annotations.a");
  expect_bad("{\"kvmFallback\":\"maybe\"}", "kvmFallback");
  struct policy p;
  struct isola_err err = {0};
  CHECK(policy_load("/nonexistent/policy.json", false, &p, &err) == 0);
  policy_release(&p);
  CHECK(policy_load("/nonexistent/policy.json", true, &p, &err) < 0);
  CHECK_STR_CONTAINS(err.msg, "/nonexistent/policy.json");
}

int main(void) {
  RUN(test_precedence);
  RUN(test_sandbox_stays_container);
  RUN(test_policy_rules);
  RUN(test_kvm_fallback);
  RUN(test_bad_policies);
  return UNIT_END();
}
