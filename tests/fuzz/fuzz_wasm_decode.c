/* fuzz_wasm_decode: bytes -> iw_module_new() (decoder and validator); for a module that is
 * accepted, its import and export descriptions, and every function body compiled to the
 * interpreter's code in both memory modes (guarded and explicit bounds), which is where a
 * validator gap would turn into a wild write. Nothing runs here: see fuzz_wasm_run. */
#include <string.h>

#include "fuzz.h"
#include "isola/wasm.h"
#include "wasm/module.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  iw_error err;
  memset(&err, 0, sizeof err);
  iw_module *m = iw_module_new(data, size, &err);
  if (!m) {
    FUZZ_ASSERT(err.kind == IW_ERR_MALFORMED || err.kind == IW_ERR_INVALID ||
                err.kind == IW_ERR_RESOURCE);
    FUZZ_ASSERT(err.msg[0] != 0 && memchr(err.msg, 0, sizeof err.msg));
    return 0;
  }
  for (size_t i = 0; i < iw_module_import_count(m); i++) {
    iw_importdesc d;
    iw_module_import(m, i, &d);
    FUZZ_ASSERT(d.module && d.name);
    if (d.kind == IW_EXTERN_FUNC) {
      const iw_functype *t = iw_module_import_functype(m, i);
      FUZZ_ASSERT(t && (t->nparams == 0 || t->params) && (t->nresults == 0 || t->results));
    }
  }
  for (size_t i = 0; i < iw_module_export_count(m); i++) {
    iw_exportdesc d;
    iw_module_export(m, i, &d);
    FUZZ_ASSERT(d.name);
  }
  for (uint32_t f = m->nimported_funcs; f < m->nfuncs; f++) {
    for (int mode = 0; mode < 2; mode++) {
      iw_error cerr;
      struct iw_code *c = iw_compile(m, f, mode, &cerr);
      if (c)
        iw_code_free(c);
      else
        FUZZ_ASSERT(cerr.kind == IW_ERR_RESOURCE);
    }
  }
  iw_module_free(m);
  return 0;
}
