/* The start gate: how a prepared workload waits for `start` across processes (runc's exec-fifo
 * idea, with an answer). Two fifos in the container's state dir:
 *   exec.fifo    start -> workload: one byte releases it;
 *   result.fifo  workload -> start: "0" just before the program begins, or "1<error>".
 * The workload holds both open read-write, so `start` can always open them while it lives and
 * gets ENXIO / EOF once it is gone. Both are close-on-exec: an exec'd program holds neither.
 */
#ifndef ISOLA_GATE_H
#define ISOLA_GATE_H

#include "core/err.h"
#include "core/state.h"

struct gate {
  int go, result;
};

/* Runtime, before forking the workload: makes and opens both fifos. */
int gate_create(struct state_dir *d, struct gate *g, struct isola_err *err);
void gate_close(struct gate *g);
#define _cleanup_gate_ __attribute__((cleanup(gate_close)))

/* Workload: blocks until `start`; -1 when the gate broke (nobody will start us). */
int gate_wait(struct gate *g);
/* Workload: the answer to `start` (`err` NULL: all is well, the program begins now). */
void gate_answer(struct gate *g, const struct isola_err *err);

/* `start`: releases the workload and waits for its answer; then removes the fifos. Once the
 * byte is written, exec.fifo is renamed to GATE_OPENED: a state dir holding it belongs to a
 * released workload. That rename is the only record of the release: state_load reads a
 * "created" state.json beside the marker as running and started, so `start` need not write
 * state.json again (a file write, ~30-150 µs where --root is not a tmpfs), and a `start` killed
 * right after the release leaves a state that says so. */
int gate_release(struct state_dir *d, const char *id, struct isola_err *err);
#define GATE_OPENED "exec.fifo.opened"
/* True when a `start` has released this state dir's workload. */
bool gate_opened(const struct state_dir *d);

#endif
