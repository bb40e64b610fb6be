/* The engine's internal model: a decoded module, and the runtime objects a store owns.
 *
 * Promise: an iw_module that exists has passed decoding and validation in full; every index it
 * holds is in range and every body type-checks, so later stages (compile.c, instance.c) may trust
 * it and only guard against resource limits. Runtime objects (functions, tables, memories,
 * globals, instances) are allocated in a store and freed with it.
 * Assumes: one thread per store at a time; modules are immutable after load except for their
 * lazily compiled code, which is installed with an atomic compare-and-swap.
 */
#ifndef ISOLA_WASM_MODULE_H
#define ISOLA_WASM_MODULE_H

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>

#include "isola/wasm.h"

#define IW_PAGE 65536u
#define IW_MAX_PAGES 65536u
#define IW_MAX_LOCALS 50000u     /* per function: an implementation limit, as in browsers */
#define IW_MAX_TABLE 10000000u   /* elements per table: an implementation limit */
#define IW_DEFAULT_DEPTH 10000u
#define IW_VALUE_STACK (256u << 20) /* reserved (not committed) bytes of value stack per store */

/* A value type in validation: the binary encoding, or 0 for "unknown" (the bottom type that
 * unreachable code produces). */
enum { T_UNKNOWN = 0, T_I32 = 0x7f, T_I64 = 0x7e, T_F32 = 0x7d, T_F64 = 0x7c, T_V128 = 0x7b,
       T_FUNCREF = 0x70, T_EXTERNREF = 0x6f };

static inline int iw_is_ref(uint8_t t) { return t == T_FUNCREF || t == T_EXTERNREF; }
/* Slots (8 bytes each) a value of type t takes in a frame. */
static inline uint32_t iw_slots(uint8_t t) { return t == T_V128 ? 2 : 1; }

typedef struct iw_lim {
  uint32_t min, max;
  bool has_max;
} iw_lim;

typedef struct iw_ftype {
  iw_functype pub;   /* params/results point into `types` */
  iw_valtype *types; /* params, then results */
  uint32_t param_slots, result_slots;
} iw_ftype;

/* A constant expression: in 2.0 always one instruction then `end`. */
typedef struct iw_cexpr {
  uint8_t op;     /* 0x41..0x44 t.const, 0xfd v128.const, 0xd0 ref.null, 0xd2 ref.func, 0x23 global.get */
  uint8_t type;   /* the value type it produces */
  uint32_t index; /* ref.func / global.get */
  uint64_t v[2];
} iw_cexpr;

typedef struct iw_mimport {
  char *module, *name;
  iw_externkind kind;
  uint32_t type;  /* func: type index */
  uint8_t vtype;  /* table: element type; global: value type */
  bool mut;       /* global */
  iw_lim lim;     /* table, memory */
} iw_mimport;

typedef struct iw_mfunc {
  uint32_t type;
  uint32_t body;     /* offset of the body (after its size), i.e. the locals vector */
  uint32_t code;     /* offset of the first instruction */
  uint32_t end;      /* offset one past the final `end` */
  uint32_t nlocals;  /* declared locals, not counting params */
} iw_mfunc;

typedef struct iw_mtable {
  uint8_t elem;
  iw_lim lim;
} iw_mtable;

typedef struct iw_mglobal {
  uint8_t type;
  bool mut;
  iw_cexpr init;
} iw_mglobal;

typedef struct iw_mexport {
  char *name;
  uint32_t name_len; /* names may hold NUL bytes */
  iw_externkind kind;
  uint32_t index;
} iw_mexport;

enum { SEG_ACTIVE = 0, SEG_PASSIVE = 1, SEG_DECLARATIVE = 2 };

typedef struct iw_melem {
  uint8_t mode, type;
  uint32_t table;
  iw_cexpr offset;
  uint32_t count;
  iw_cexpr *items;
} iw_melem;

typedef struct iw_mdata {
  uint8_t mode;
  uint32_t mem;
  iw_cexpr offset;
  uint32_t off, len; /* bytes, in module->bytes */
} iw_mdata;

struct iw_code;

struct iw_module {
  atomic_int refs; /* the embedder's handle + one per instance */
  uint8_t *bytes;  /* our own copy of the binary: bodies and data segments point into it */
  size_t len;
  uint32_t ntypes, nimports, nfuncs, nimported_funcs, ntables, nimported_tables, nmems,
      nimported_mems, nglobals, nimported_globals, nexports, nelems, ndatas;
  iw_ftype *types;
  iw_mimport *imports;
  uint32_t *func_type; /* all functions, imported first */
  iw_mfunc *funcs;     /* defined functions: funcs[i - nimported_funcs] */
  iw_mtable *tables;
  iw_lim *mems;
  iw_mglobal *globals;
  iw_mexport *exports;
  iw_melem *elems;
  iw_mdata *datas;
  bool has_start, has_datacount;
  uint32_t start, datacount;
  uint8_t *declared; /* bitmap over functions: may be named by ref.func in a body */
  char **func_names; /* from the name section; NULL or an array of nfuncs (entries may be NULL) */
  /* Compiled code, one array per memory-access mode (0 guarded, 1 explicit bounds), filled on
   * first call of each function. */
  struct iw_code *_Atomic *code[2];
};

/* ---- errors (api.c) --------------------------------------------------------------------- */

void iw_err_set(iw_error *err, iw_errkind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void iw_err_trap(iw_error *err, iw_trap trap);

/* Decoding context: where we are, for messages; the first validation error seen (decoding goes
 * on after it, because a malformed module must be reported as malformed even when an earlier
 * part was merely invalid). */
typedef struct iw_dctx {
  iw_error *err;
  const iw_module *m;
  const uint8_t *base;
  const char *section;
  int64_t func;     /* function index, -1 outside the code section */
  bool invalid;     /* first_invalid holds an error */
  iw_error first_invalid;
} iw_dctx;

int iw_malformed(iw_dctx *c, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a validation error (the first one wins); returns -1 so callers can stop checking. */
int iw_invalid(iw_dctx *c, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- decode.c / validate.c ------------------------------------------------------------- */

void iw_module_release(iw_module *m);
/* Validates every function body (decode.c calls it once all sections are decoded). Returns -1
 * only for a malformed body; validation errors are recorded in c. */
int iw_validate_code(iw_dctx *c, iw_module *m);
/* Walks one body without type checking, to find a malformed instruction after an invalid one. */
int iw_decode_body_only(iw_dctx *c, const iw_module *m, uint32_t fidx);
/* Reads a block type at *p; sets params/results. -1 if malformed; sets *bad_index if the type
 * index is out of range (an invalid, not malformed, module). */
typedef struct iw_blocktype {
  uint32_t np, nr;
  const iw_valtype *p, *r;
} iw_blocktype;

/* Numeric instructions with a fixed signature (0x45..0xc4, and 0xfc 0..7 at 0x100+n): operand
 * types a, b (0 when absent) and result r. */
typedef struct iw_sig {
  uint8_t a, b, r;
} iw_sig;
extern const iw_sig iw_numsig[0x108];
/* Natural alignment (log2) and access size of loads/stores 0x28..0x3e. */
extern const uint8_t iw_memop_align[0x3f];

const char *iw_func_name(const iw_module *m, uint32_t fidx);

/* ---- runtime objects -------------------------------------------------------------------- */

typedef union iw_v128u {
  uint8_t b[16];
  uint64_t d[2];
} iw_v128u;

struct iw_func {
  const iw_ftype *type;
  uint32_t type_id; /* interned in the store: equal ids <=> equal types */
  bool host;
  iw_instance *inst; /* wasm: the defining instance */
  uint32_t index;    /* wasm: function index in its module */
  struct iw_code *code; /* wasm: compiled code, NULL until first call */
  iw_host_fn fn;
  void *env;
  iw_ftype own; /* host: our copy of the type */
};

struct iw_table {
  uint8_t elem;
  uint32_t size, max; /* max: UINT32_MAX for none */
  void **elems;
  uint32_t cap;
};

struct iw_memory {
  uint8_t *base;
  uint64_t size;      /* bytes, a multiple of 64 KiB */
  uint32_t max_pages; /* after the store's cap */
  bool decl_has_max;
  uint32_t decl_max;
  bool guarded;       /* base..base+8GiB reserved; accesses need no checks */
  size_t reserved;    /* bytes of address space reserved at base */
  struct iw_memory *next_in_store;
};

struct iw_global {
  uint8_t type;
  bool mut;
  iw_v128u val; /* i32/f32 in the low 4 bytes; refs as pointers in d[0] */
};

struct iw_instance {
  iw_store *store;
  iw_module *module;
  iw_func **funcs;
  iw_table **tables;
  iw_memory **mems;
  iw_global **globals;
  iw_memory *mem0; /* never NULL: a zero-sized memory when the module has none */
  uint32_t *type_ids;
  uint32_t *elem_len;
  void ***elem_items;
  bool *data_dropped;
  uint8_t mode; /* code variant: 0 guarded memory, 1 explicit bounds */
};

typedef struct iw_frame {
  const uint8_t *ret_pc;
  uint8_t *fp;
  iw_func *func;
} iw_frame;

struct iw_caller {
  iw_store *store;
  iw_instance *inst; /* NULL when the embedder calls a host function directly */
};

/* A longjmp target for traps raised from the signal handler (memory faults). */
typedef struct iw_jmp {
  sigjmp_buf buf;
  struct iw_jmp *prev;
} iw_jmp;

struct iw_store {
  iw_limits lim;
  uint32_t max_depth;
  /* Value stack: reserved address space, touched as calls go deeper. */
  uint8_t *stack, *stack_end, *stack_top;
  iw_frame *frames;
  uint32_t depth;
  volatile sig_atomic_t interrupted;
  uint64_t fuel_left;
  /* Objects to free with the store. */
  void **objs;
  uint8_t *obj_kinds;
  size_t nobjs, capobjs;
  iw_memory *mems; /* list, for the fault handler */
  /* Interned function types. */
  iw_ftype *itypes;
  uint32_t nitypes, capitypes;
  iw_memory empty_mem;
  iw_jmp *jmp; /* innermost active call */
};

enum { OBJ_FUNC, OBJ_TABLE, OBJ_MEMORY, OBJ_GLOBAL, OBJ_INSTANCE };
int iw_store_own(iw_store *s, int kind, void *obj, iw_error *err);
int iw_intern_type(iw_store *s, const iw_ftype *t, uint32_t *id, iw_error *err);
int iw_ftype_copy(iw_ftype *dst, const iw_valtype *params, uint32_t np, const iw_valtype *results,
                  uint32_t nr);
bool iw_ftype_eq(const iw_ftype *a, const iw_ftype *b);

/* memory.c */
iw_memory *iw_memory_create(iw_store *s, uint32_t min, uint32_t max, bool has_max, iw_error *err);
void iw_memory_destroy(iw_memory *m);
/* Grows by delta pages; the old size in pages, or -1. */
int64_t iw_memory_grow_pages(iw_memory *m, uint32_t delta);
/* Installs the fault handler and this thread's alternate signal stack (idempotent). */
int iw_signals_init(iw_error *err);
/* The fault handler's view of the running call (thread-local). */
void iw_signals_enter(iw_store *s, iw_jmp *j, iw_jmp **saved_jmp, iw_store **saved_store);
void iw_signals_leave(iw_jmp *saved_jmp, iw_store *saved_store);

/* table.c */
iw_table *iw_table_create(iw_store *s, uint8_t elem, uint32_t min, uint32_t max, iw_error *err);
void iw_table_destroy(iw_table *t);
int64_t iw_table_grow_by(iw_table *t, uint32_t delta, void *init);

/* compile.c: compiles function fidx of m for memory mode `mode`; the result is cached in the
 * module. */
struct iw_code *iw_compile(const iw_module *m, uint32_t fidx, int mode, iw_error *err);
void iw_code_free(struct iw_code *c);

/* interp.c */
int iw_invoke(iw_store *s, iw_func *f, uint8_t *fp, iw_error *err);
/* Values to and from frame slots (8 bytes each, v128 16), in order. */
void iw_slots_from_vals(uint8_t *fp, const iw_valtype *ts, uint32_t n, const iw_val *vals);
void iw_vals_from_slots(iw_val *vals, const iw_valtype *ts, uint32_t n, const uint8_t *fp);
/* Handler addresses (computed goto) or op numbers (switch build), indexed by internal op. */
const void *const *iw_interp_handlers(void);

/* instance.c */
int iw_eval_cexpr(const iw_instance *inst, const iw_cexpr *e, iw_v128u *out);

#endif
