/* fuzz_config: bytes -> json_parse() -> oci_config_from_json(), the whole config.json model, as
 * oci_config_load() reads it (fuzz_json holds json_parse to jansson's behaviour); for a
 * config that parses, the engine selection that reads it (no policy, no rootfs, so no file is
 * opened), and the `process` object alone as `exec --process` parses it.
 *
 * Bad input must fail with a message that names the file; nothing may crash, leak or read out
 * of bounds. */
#include <string.h>

#include "core/json_parse.h"
#include "core/oci_config.h"
#include "core/select.h"
#include "fuzz.h"

static void check_failure(const struct isola_err *err, const char *name) {
  FUZZ_ASSERT(err->msg[0] != 0);
  FUZZ_ASSERT(strncmp(err->msg, name, strlen(name)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t jerr;
  json_t *root = json_parse((const char *)data, size, &jerr);
  if (!root) return 0;

  struct oci_config *cfg = NULL;
  struct isola_err err = {0};
  if (oci_config_from_json(root, "config.json", &cfg, &err) == 0) {
    FUZZ_ASSERT(cfg != NULL);
    FUZZ_ASSERT(!cfg->process.args || cfg->process.args[cfg->process.nargs] == NULL);
    struct select_input in = {.argv0 = "isola", .cfg = cfg, .bundle = "/fuzz/bundle", .kvm = 1};
    struct engine_choice choice;
    struct isola_err serr = {0};
    if (select_engine(&in, &choice, &serr) == 0) FUZZ_ASSERT(choice.engine[0] != 0);
    oci_config_free(cfg);
  } else {
    check_failure(&err, "config.json");
  }

  json_t *proc = json_is_object(root) ? json_object_get(root, "process") : NULL;
  if (proc) {
    struct oci_process p;
    memset(&p, 0, sizeof p);
    struct isola_err perr = {0};
    if (oci_process_parse(proc, "process.json", &p, &perr) < 0)
      check_failure(&perr, "process.json");
    oci_process_release(&p);
  }
  json_decref(root);
  return 0;
}
