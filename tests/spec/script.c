/* Loading a wast2json script: every command is parsed up front into a spec_cmd, so that the
 * command counts are known before the engine runs and a command the runner cannot read is a
 * counted failure rather than a silent gap.
 */
#include <libgen.h>
#include <string.h>

#include "spec.h"

const char *const spec_kind_names[K_COUNT] = {
    [K_MODULE] = "module",
    [K_REGISTER] = "register",
    [K_ACTION] = "action",
    [K_ASSERT_RETURN] = "assert_return",
    [K_ASSERT_TRAP] = "assert_trap",
    [K_ASSERT_EXHAUSTION] = "assert_exhaustion",
    [K_ASSERT_INVALID] = "assert_invalid",
    [K_ASSERT_MALFORMED] = "assert_malformed",
    [K_ASSERT_UNLINKABLE] = "assert_unlinkable",
    [K_ASSERT_UNINSTANTIABLE] = "assert_uninstantiable",
    [K_UNKNOWN] = "unknown",
};

const char *const spec_count_names[C_COUNT] = {
    [C_MODULE] = "module",
    [C_ASSERT_RETURN] = "assert_return",
    [C_ASSERT_TRAP] = "assert_trap",
    [C_ASSERT_EXHAUSTION] = "assert_exhaustion",
    [C_ASSERT_INVALID] = "assert_invalid",
    [C_ASSERT_MALFORMED_BINARY] = "assert_malformed_binary",
    [C_ASSERT_MALFORMED_TEXT] = "assert_malformed_text",
    [C_ASSERT_UNLINKABLE] = "assert_unlinkable",
    [C_ASSERT_UNINSTANTIABLE] = "assert_uninstantiable",
    [C_ACTION] = "action",
    [C_REGISTER] = "register",
};

static spec_kind kind_parse(const char *type) {
  for (int k = 0; k < K_UNKNOWN; k++)
    if (!strcmp(type, spec_kind_names[k])) return (spec_kind)k;
  return K_UNKNOWN;
}

static const char *str_field(json_t *obj, const char *key) {
  return json_string_value(json_object_get(obj, key));
}

static void cmd_bad(spec_cmd *c, const char *why) {
  if (!c->bad) c->bad = strdup(why);
}

static int action_parse(json_t *j, spec_action *a, char *why, size_t whylen) {
  const char *type = str_field(j, "type");
  a->module = str_field(j, "module");
  a->field = str_field(j, "field");
  if (!type || !a->field) {
    snprintf(why, whylen, "action without a type or field");
    return -1;
  }
  if (strlen(a->field) != json_string_length(json_object_get(j, "field"))) a->nul_in_field = true;
  if (!strcmp(type, "get")) {
    a->get = true;
    return 0;
  }
  if (strcmp(type, "invoke")) {
    snprintf(why, whylen, "unknown action type `%s`", type);
    return -1;
  }
  json_t *args = json_object_get(j, "args");
  if (args && !json_is_array(args)) {
    snprintf(why, whylen, "action args: expected an array");
    return -1;
  }
  a->nargs = args ? json_array_size(args) : 0;
  if (a->nargs) {
    a->args = calloc(a->nargs, sizeof *a->args);
    if (!a->args) {
      snprintf(why, whylen, "out of memory");
      return -1;
    }
  }
  for (size_t i = 0; i < a->nargs; i++) {
    spec_val v;
    char sub[200];
    if (spec_val_parse(json_array_get(args, i), &v, sub, sizeof sub) < 0) {
      snprintf(why, whylen, "argument %zu: %s", i, sub);
      return -1;
    }
    /* An argument must be a concrete value: a pattern, or a ref.func we cannot resolve to a
     * function, cannot be passed. */
    bool concrete = v.type == IW_V128 ? v.lane_bits != 0 : v.pat == PAT_EXACT;
    for (unsigned l = 0; concrete && v.type == IW_V128 && l < 128 / v.lane_bits; l++)
      concrete = v.lanes[l] == PAT_EXACT;
    if (!concrete) {
      snprintf(why, whylen, "argument %zu: not a concrete %s value", i, spec_valtype_name(v.type));
      return -1;
    }
    a->args[i] = v.v;
  }
  return 0;
}

static void cmd_parse(json_t *j, spec_cmd *c) {
  char why[256];
  const char *type = str_field(j, "type");
  c->type = type ? type : "(no type)";
  c->kind = type ? kind_parse(type) : K_UNKNOWN;
  c->line = json_integer_value(json_object_get(j, "line"));
  c->filename = str_field(j, "filename");
  c->name = str_field(j, "name");
  c->as = str_field(j, "as");
  c->text = str_field(j, "text");
  const char *mt = str_field(j, "module_type");
  c->text_module =
      (mt && !strcmp(mt, "text")) || (c->filename && strlen(c->filename) > 4 &&
                                      !strcmp(c->filename + strlen(c->filename) - 4, ".wat"));
  if (c->kind == K_UNKNOWN) {
    snprintf(why, sizeof why, "unknown command type `%s`", c->type);
    cmd_bad(c, why);
    return;
  }

  json_t *action = json_object_get(j, "action");
  if (action) {
    c->has_action = true;
    if (action_parse(action, &c->action, why, sizeof why) < 0) cmd_bad(c, why);
    /* iw_instance_export() takes a C string: an export name with a NUL in it (names.wast
     * has one) cannot be asked for. */
    if (c->action.nul_in_field)
      c->skip = "the export name contains NUL, which the API's C strings cannot carry";
  }
  json_t *expected = json_object_get(j, "expected");
  if (json_is_array(expected) && json_array_size(expected)) {
    c->nexpected = json_array_size(expected);
    c->expected = calloc(c->nexpected, sizeof *c->expected);
    if (!c->expected) {
      c->nexpected = 0;
      cmd_bad(c, "out of memory");
      return;
    }
    for (size_t i = 0; i < c->nexpected; i++) {
      char sub[200];
      if (spec_expect_parse(json_array_get(expected, i), &c->expected[i], sub, sizeof sub) < 0) {
        snprintf(why, sizeof why, "expected result %zu: %s", i, sub);
        cmd_bad(c, why);
      }
    }
  }

  /* What each kind needs. assert_trap may name a module (a trap while instantiating). */
  switch (c->kind) {
  case K_MODULE:
  case K_ASSERT_INVALID:
  case K_ASSERT_MALFORMED:
  case K_ASSERT_UNLINKABLE:
  case K_ASSERT_UNINSTANTIABLE:
    if (!c->filename) cmd_bad(c, "no module filename");
    break;
  case K_REGISTER:
    if (!c->as) cmd_bad(c, "register without `as`");
    break;
  case K_ACTION:
  case K_ASSERT_RETURN:
  case K_ASSERT_EXHAUSTION:
    if (!c->has_action) cmd_bad(c, "no action");
    break;
  case K_ASSERT_TRAP:
    if (!c->has_action && !c->filename) cmd_bad(c, "neither an action nor a module");
    break;
  default:
    break;
  }
  if (c->kind >= K_ASSERT_TRAP && c->kind <= K_ASSERT_UNINSTANTIABLE && !c->text)
    cmd_bad(c, "no expected failure text");
}

int spec_script_load(const char *path, spec_script *s, char *why, size_t whylen) {
  memset(s, 0, sizeof *s);
  json_error_t jerr;
  s->path = strdup(path);
  _cleanup_free_ char *d = strdup(path), *b = strdup(path);
  if (!s->path || !d || !b) {
    snprintf(why, whylen, "out of memory");
    goto fail;
  }
  s->dir = strdup(dirname(d));
  s->name = strdup(basename(b));
  if (!s->dir || !s->name) {
    snprintf(why, whylen, "out of memory");
    goto fail;
  }
  size_t nl = strlen(s->name);
  if (nl > 5 && !strcmp(s->name + nl - 5, ".json")) s->name[nl - 5] = 0;

  s->json = json_load_file(path, JSON_ALLOW_NUL, &jerr);
  if (!s->json) {
    snprintf(why, whylen, "%s:%d: %s", path, jerr.line, jerr.text);
    goto fail;
  }
  json_t *cmds = json_object_get(s->json, "commands");
  if (!json_is_array(cmds)) {
    snprintf(why, whylen, "%s: `commands`: expected an array", path);
    goto fail;
  }
  s->ncmds = json_array_size(cmds);
  s->cmds = calloc(s->ncmds ? s->ncmds : 1, sizeof *s->cmds);
  if (!s->cmds) {
    snprintf(why, whylen, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < s->ncmds; i++)
    cmd_parse(json_array_get(cmds, i), &s->cmds[i]);
  return 0;
fail:
  spec_script_free(s);
  return -1;
}

void spec_script_free(spec_script *s) {
  for (size_t i = 0; i < s->ncmds; i++) {
    spec_cmd *c = &s->cmds[i];
    free(c->action.args);
    for (size_t e = 0; e < c->nexpected; e++)
      spec_expect_free(&c->expected[e]);
    free(c->expected);
    free(c->bad);
  }
  free(s->cmds);
  json_decref(s->json);
  free(s->path);
  free(s->dir);
  free(s->name);
  memset(s, 0, sizeof *s);
}

void spec_script_counts(const spec_script *s, long counts[C_COUNT]) {
  static const int map[K_COUNT] = {
      [K_MODULE] = C_MODULE,
      [K_REGISTER] = C_REGISTER,
      [K_ACTION] = C_ACTION,
      [K_ASSERT_RETURN] = C_ASSERT_RETURN,
      [K_ASSERT_TRAP] = C_ASSERT_TRAP,
      [K_ASSERT_EXHAUSTION] = C_ASSERT_EXHAUSTION,
      [K_ASSERT_INVALID] = C_ASSERT_INVALID,
      [K_ASSERT_MALFORMED] = C_ASSERT_MALFORMED_BINARY,
      [K_ASSERT_UNLINKABLE] = C_ASSERT_UNLINKABLE,
      [K_ASSERT_UNINSTANTIABLE] = C_ASSERT_UNINSTANTIABLE,
      [K_UNKNOWN] = -1,
  };
  for (int i = 0; i < C_COUNT; i++)
    counts[i] = 0;
  for (size_t i = 0; i < s->ncmds; i++) {
    const spec_cmd *c = &s->cmds[i];
    int slot = map[c->kind];
    if (c->kind == K_ASSERT_MALFORMED && c->text_module) slot = C_ASSERT_MALFORMED_TEXT;
    if (slot >= 0) counts[slot]++;
  }
}
