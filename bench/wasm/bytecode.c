/* A small stack-machine interpreter (a switch in a loop): unpredictable indirect branches,
 * the workload of every scripting language. Its program sums the Collatz path lengths of
 * 1..N. argv[1] = N (default 150000). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum op { PUSH, LOAD, STORE, ADD, SUB, MUL, DIV, MOD, LT, EQ, JMP, JZ, DUP, DROP, HALT };

struct insn {
  uint8_t op;
  int32_t arg;
};

static int64_t run(const struct insn *code, int64_t *vars) {
  int64_t stack[64], *sp = stack;
  for (const struct insn *pc = code;; pc++) {
    switch (pc->op) {
    case PUSH:
      *sp++ = pc->arg;
      break;
    case LOAD:
      *sp++ = vars[pc->arg];
      break;
    case STORE:
      vars[pc->arg] = *--sp;
      break;
    case ADD:
      sp--, sp[-1] += sp[0];
      break;
    case SUB:
      sp--, sp[-1] -= sp[0];
      break;
    case MUL:
      sp--, sp[-1] *= sp[0];
      break;
    case DIV:
      sp--, sp[-1] /= sp[0];
      break;
    case MOD:
      sp--, sp[-1] %= sp[0];
      break;
    case LT:
      sp--, sp[-1] = sp[-1] < sp[0];
      break;
    case EQ:
      sp--, sp[-1] = sp[-1] == sp[0];
      break;
    case JMP:
      pc = code + pc->arg - 1;
      break;
    case JZ:
      if (*--sp == 0) pc = code + pc->arg - 1;
      break;
    case DUP:
      sp[0] = sp[-1], sp++;
      break;
    case DROP:
      sp--;
      break;
    case HALT:
      return vars[0];
    }
  }
}

int main(int argc, char **argv) {
  int32_t n = argc > 1 ? atoi(argv[1]) : 150000;
  /* vars: 0 total, 1 i, 2 x, 3 n */
  /* clang-format off */
  const struct insn prog[] = {
      /*  0 */ {PUSH, 1}, {STORE, 1},                        /* i = 1 */
      /*  2 */ {LOAD, 1}, {LOAD, 3}, {LT, 0}, {JZ, 36},      /* while (i < n) */
      /*  6 */ {LOAD, 1}, {STORE, 2},                        /*   x = i */
      /*  8 */ {LOAD, 2}, {PUSH, 1}, {EQ, 0}, {JZ, 14},      /*   while (x != 1) */
      /* 12 */ {JMP, 31}, {HALT, 0},
      /* 14 */ {LOAD, 2}, {PUSH, 2}, {MOD, 0}, {JZ, 25},     /*     if (x % 2) */
      /* 18 */ {LOAD, 2}, {PUSH, 3}, {MUL, 0}, {PUSH, 1}, {ADD, 0}, {STORE, 2},
      /*      */ {JMP, 26},                                  /*       x = 3x + 1 */
      /* 25 */ {JMP, 40},                                    /*     else x /= 2 */
      /* 26 */ {LOAD, 0}, {PUSH, 1}, {ADD, 0}, {STORE, 0},   /*     total++ */
      /* 30 */ {JMP, 8},
      /* 31 */ {LOAD, 1}, {PUSH, 1}, {ADD, 0}, {STORE, 1},   /*   i++ */
      /* 35 */ {JMP, 2},
      /* 36 */ {HALT, 0}, {HALT, 0}, {HALT, 0}, {HALT, 0},
      /* 40 */ {LOAD, 2}, {PUSH, 2}, {DIV, 0}, {STORE, 2}, {JMP, 26},
  };
  /* clang-format on */
  int64_t vars[4] = {0, 0, 0, n};
  printf("checksum: collatz steps below %d = %lld\n", n, (long long)run(prog, vars));
  return 0;
}
