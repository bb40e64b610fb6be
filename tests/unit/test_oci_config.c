/* Unit tests of the config.json parser, engine selection and state helpers. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "core/oci_config.h"
#include "core/state.h"
#include "core/signals.h"

static const char *base =
    "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"rootfs\"},"
    "\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",\"env\":[\"A=1\"]},"
    "\"linux\":{\"namespaces\":[{\"type\":\"mount\"}]}}";

/* Parses `text`; returns NULL and fills err on failure. */
static struct oci_config *parse(const char *text, struct isola_err *err) {
  json_error_t jerr;
  json_t *j = json_loads(text, 0, &jerr);
  if (!j) {
    snprintf(err->msg, sizeof err->msg, "bad test json: %s", jerr.text);
    return NULL;
  }
  struct oci_config *c = NULL;
  oci_config_from_json(j, "config.json", &c, err);
  json_decref(j);
  return c;
}

/* Replaces the member at dotted `path` of the base config with `value` (JSON text). */
static char *with(const char *path, const char *value) {
  json_t *root = json_loads(base, 0, NULL), *o = root;
  char buf[256], *save, *tok, *next;
  snprintf(buf, sizeof buf, "%s", path);
  tok = strtok_r(buf, ".", &save);
  while ((next = strtok_r(NULL, ".", &save))) {
    json_t *child = json_object_get(o, tok);
    if (!child) json_object_set_new(o, tok, child = json_object());
    o = child;
    tok = next;
  }
  json_object_set_new(o, tok, json_loads(value, JSON_DECODE_ANY, NULL));
  char *s = json_dumps(root, 0);
  json_decref(root);
  return s;
}

static void expect_error(const char *path, const char *value, const char *msg) {
  struct isola_err err = {0};
  char *text = with(path, value);
  struct oci_config *c = parse(text, &err);
  CHECK(c == NULL);
  CHECK_STR_CONTAINS(err.msg, msg);
  oci_config_free(c);
  free(text);
}

static void test_valid(void) {
  struct isola_err err = {0};
  struct oci_config *c = parse(base, &err);
  CHECK(c != NULL);
  if (!c) return;
  CHECK(c->process.nargs == 1 && !strcmp(c->process.args[0], "sh"));
  CHECK(c->ns[OCI_NS_MNT].present && !c->ns[OCI_NS_PID].present);
  CHECK(!strcmp(c->root_path, "rootfs"));
  oci_config_free(c);
}

static void test_type_errors(void) {
  expect_error("process.args", "[1]", "config.json: process.args[0]: expected a string");
  expect_error("process.cwd", "\"relative\"", "process.cwd: `relative` is not an absolute path");
  expect_error("process.env", "[\"NOEQUALS\"]", "process.env[0]");
  expect_error("root", "5", "config.json: root: expected an object");
  expect_error("ociVersion", "\"2.0\"", "ociVersion");
  expect_error("process.user.uid", "-1", "process.user.uid");
  expect_error("process.capabilities.bounding", "[\"CAP_NOPE\"]", "unknown capability `CAP_NOPE`");
  expect_error("process.rlimits", "[{\"type\":\"RLIMIT_NOFILE\",\"soft\":10,\"hard\":5}]",
               "soft limit 10 is above the hard limit 5");
  expect_error("process.rlimits", "[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]",
               "unknown rlimit");
  expect_error("mounts", "[{\"destination\":\"rel\"}]", "mounts[0].destination");
  expect_error("hooks.prestart", "[{\"path\":\"x\"}]", "hooks.prestart[0].path");
  expect_error("annotations", "{\"a\":1}", "annotations.a: expected a string");
  expect_error("hostname", "\"h\"", "needs a new uts namespace");
}

static void test_namespaces(void) {
  expect_error("linux.namespaces", "[{\"type\":\"bogus\"}]",
               "linux.namespaces[0].type: unknown namespace `bogus`");
  expect_error("linux.namespaces", "[{\"type\":\"pid\"},{\"type\":\"pid\"}]", "given twice");
  expect_error("linux.namespaces", "[{\"type\":\"net\"}]", "unknown namespace `net`");
  struct isola_err err = {0};
  char *text = with("linux.namespaces",
                    "[{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"user\"}]");
  struct oci_config *c = parse(text, &err);
  CHECK(c && c->ns[OCI_NS_NET].path && !strcmp(c->ns[OCI_NS_NET].path, "/proc/1/ns/net"));
  CHECK(c && c->ns[OCI_NS_USER].present && !c->ns[OCI_NS_USER].path);
  oci_config_free(c);
  free(text);
}

static void test_devices_sysctl(void) {
  expect_error("linux.devices", "[{\"path\":\"/dev/x\",\"type\":\"q\"}]", "linux.devices[0].type");
  expect_error("linux.devices", "[{\"path\":\"/dev/x\",\"type\":\"c\"}]", "major and minor");
  expect_error("linux.sysctl", "{\"../x\":\"1\"}", "invalid sysctl name");
  expect_error("linux.rootfsPropagation", "\"sideways\"", "unknown propagation");
}

static void test_ids(void) {
  struct isola_err err;
  CHECK(state_check_id("web-1_a.b+c", &err) == 0);
  CHECK(state_check_id("", &err) < 0);
  CHECK(state_check_id("..", &err) < 0);
  CHECK(state_check_id("../x", &err) < 0);
  CHECK(state_check_id("a/b", &err) < 0);
}

static void test_signals(void) {
  CHECK(signal_parse("KILL") == SIGKILL);
  CHECK(signal_parse("SIGTERM") == SIGTERM);
  CHECK(signal_parse("sigusr1") == SIGUSR1);
  CHECK(signal_parse("9") == 9);
  CHECK(signal_parse("RTMIN+1") == SIGRTMIN + 1);
  CHECK(signal_parse("0") == -1);
  CHECK(signal_parse("NOPE") == -1);
}

int main(void) {
  RUN(test_valid);
  RUN(test_type_errors);
  RUN(test_namespaces);
  RUN(test_devices_sysctl);
  RUN(test_ids);
  RUN(test_signals);
  return UNIT_END();
}
