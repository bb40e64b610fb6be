/* The table of built-in engines. */
#include "core/engine.h"

#include <string.h>

static const struct isola_engine *const engines[] = {
    &engine_container,
    &engine_wasm,
    &engine_vm,
};

static const char *const names[] = {"container", "wasm", "vm", NULL};

const struct isola_engine *engine_find(const char *name) {
  for (size_t i = 0; i < sizeof engines / sizeof *engines; i++)
    if (!strcmp(engines[i]->name, name)) return engines[i];
  return NULL;
}

const char *const *engine_names(void) { return names; }
