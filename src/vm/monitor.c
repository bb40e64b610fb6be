/* The monitor: the process `create` forks for a vm container, whose pid is the container's.
 *
 * It owns QEMU (its child; QEMU dies with it), the host end of the control port, the
 * workload's stdio (the fds `create` was given, or a pty whose master went to the console
 * socket), and a unix socket `vm.sock` in the state dir through which `start` and `kill`
 * reach it. It exits with the workload's status (128+N after signal N), or with
 * VM_EXIT_FAILURE after the VM failed: QEMU exited early, the guest panicked, hung (no
 * heartbeat) or broke the protocol. The reason then goes to stderr and to monitor.log, and
 * the guest's console stays in console.log, both in the state dir until `delete`.
 *
 * Steps, numbered as in guest/proto.h:
 *   0. start QEMU; wait for HELLO (boot timeout);
 *   2. send CONFIG; 3. wait for READY; tell `create` "ok QEMU_PID" (or "error TEXT");
 *   4. on `start` (vm.sock) send RUN; 5. STARTED -> answer `start`;
 *   6. relay stdio (stdin within the guest's credit) and signals (from `kill` and from
 *      signals sent to the monitor itself, as `run` forwards them);
 *   7. EXIT -> 8. ACK, flush what is buffered, stop and reap QEMU, exit with the status.
 * and for `isola exec` (E1-E4 of guest/proto.h): a client of vm.sock sends "exec LEN TTY"
 * with its stdin, stdout and stderr (SCM_RIGHTS), then LEN bytes of process records; the
 * monitor gives it an id, sends EXEC, answers "ok" on EXEC_STARTED (or "error TEXT"), relays
 * the exec's streams to and from those fds, takes "signal N" / "winsize ROWS COLS" lines, and
 * ends with "exit STATUS" once EXEC_EXIT came and its output is written. A client that goes
 * away kills its exec (SIGKILL in the guest).
 *
 * Every guest frame is checked (size and type by vm_frame_parse, then against the current
 * step); anything unexpected ends the VM. Nothing the guest sends can make the monitor
 * buffer more than a few MiB: outputs above OUT_HIGH stop reads from the guest until the
 * consumer catches up.
 */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../guest/proto.h"
#include "core/cleanup.h"
#include "core/fdio.h"
#include "vm/vm.h"

#define OUT_HIGH (1u << 20) /* stop reading the guest above this much unwritten output */
#define MAX_CLIENTS 8

enum phase { P_BOOT, P_CONFIG, P_CREATED, P_STARTING, P_RUNNING, P_EXITING };

struct out_stream {
  int fd;       /* -1 once closed */
  bool small;   /* a pipe: write at most PIPE_BUF per wakeup, so a write never blocks */
  bool eof;     /* the guest sent EOF: close once drained */
  bool broken;  /* the reader went away: drop what comes */
  uint8_t *buf;
  size_t len, cap;
};

struct client {
  int fd;
  char req[128];
  size_t len;
  int fds[3]; /* received with an exec request */
  int nfds;
  uint8_t *payload; /* an exec request's records, being read */
  size_t plen, pneed;
  bool tty;
};

/* An exec (E1-E4): its client connection and the streams it handed over. */
struct exec_session {
  bool used;
  uint32_t id;
  int client;         /* the connection; -1 once it went away */
  char line[128];     /* its requests after "ok" */
  size_t linelen;
  bool started, exited;
  int status;
  int in_fd;          /* -1 once at EOF */
  uint32_t inflight;
  struct out_stream out, err;
  bool tty;
};

struct mon {
  const struct vm_monitor_args *a;
  enum phase phase;
  pid_t qemu;
  int qemu_status; /* wait status once reaped */
  bool qemu_reaped;
  struct rusage qemu_usage;
  int ctl;      /* our end of the control port */
  struct vm_launch launch; /* how QEMU was started (its fds closed once it runs) */
  struct vm_template tmpl;
  bool restoring;   /* restored from tmpl, and the guest has not spoken yet */
  uint8_t in[2 * (VM_FRAME_HEADER + VM_DATA_MAX)];
  size_t inlen;
  uint8_t *ctl_out; /* frames not yet written to QEMU */
  size_t ctl_len, ctl_cap;
  int listen_fd, sigfd, log_fd;
  struct client clients[MAX_CLIENTS];
  int start_client; /* index of the `start` waiting for STARTED, -1 */
  struct out_stream out, err;
  int in_fd;        /* the workload's stdin (or the pty slave); -1 once at EOF */
  uint32_t inflight; /* stdin bytes the guest has not credited yet */
  int tty;          /* the pty slave in terminal mode, -1 otherwise */
  int status;       /* from EXIT */
  int64_t t0, deadline, last_guest;
  int hang_ms;
  struct exec_session execs[VM_MAX_EXECS];
  uint32_t next_exec_id;
  int console_fd;        /* console.log read-write (QEMU appends to it); see console_bound */
  int64_t console_check; /* when console_bound looks next */
};

/* The guest's console log is kept for diagnosis, in the state dir (often a tmpfs, so host
 * memory): past CONSOLE_MAX a guest that floods its serial port is cut to the last
 * CONSOLE_KEEP bytes after a marker. QEMU writes with O_APPEND, so it goes on at the new end;
 * what it writes during the cut itself may be lost, which a diagnostic log can afford. */
#define CONSOLE_MAX (1 << 20)
#define CONSOLE_KEEP (256 << 10)

static void console_bound(struct mon *m) {
  struct stat sb;
  if (m->console_fd < 0 || fstat(m->console_fd, &sb) < 0 || sb.st_size <= CONSOLE_MAX) return;
  static char tail[CONSOLE_KEEP];
  ssize_t n = pread(m->console_fd, tail, sizeof tail, sb.st_size - (off_t)sizeof tail);
  if (n <= 0) return;
  char mark[128];
  int k = snprintf(mark, sizeof mark, "[isola: console output cut to its last %d KiB]\n",
                   CONSOLE_KEEP >> 10);
  if (pwrite(m->console_fd, mark, (size_t)k, 0) != k ||
      pwrite(m->console_fd, tail, (size_t)n, k) != n || ftruncate(m->console_fd, k + n) < 0) {
    /* the log stays as it is: nothing else depends on it */
  }
}

static void logf_(struct mon *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct mon *m, const char *fmt, ...) {
  if (m->log_fd < 0) return;
  char buf[2048];
  int n = snprintf(buf, sizeof buf, "%7.3f ", (double)(vm_now_ms() - m->t0) / 1000.0);
  va_list ap;
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  if (n >= (int)sizeof buf) n = sizeof buf - 1;
  buf[n++] = '\n';
  if (write(m->log_fd, buf, (size_t)n) < 0) {
  }
}

static int env_ms(const char *name, int def_ms) {
  const char *v = getenv(name);
  if (!v || !v[0]) return def_ms;
  char *end;
  double s = strtod(v, &end);
  return (*end || s <= 0 || s > 86400) ? def_ms : (int)(s * 1000);
}

/* Copies s[0..len) printable (other bytes as '?') to out at *o, leaving room for the NUL. */
static void put_printable(char *out, size_t max, size_t *o, const char *s, size_t len) {
  for (size_t j = 0; j < len && *o + 1 < max; j++)
    out[(*o)++] = (s[j] >= 0x20 && s[j] < 0x7f) ? s[j] : '?';
}

void vm_console_tail(const char *state_path, char *out, size_t max) {
  out[0] = 0;
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", state_path, VM_CONSOLE_LOG);
  _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || max < 8) return;
  char buf[8192];
  off_t size = lseek(fd, 0, SEEK_END);
  off_t from = size > (off_t)sizeof buf - 1 ? size - (off_t)sizeof buf + 1 : 0;
  ssize_t n = pread(fd, buf, sizeof buf - 1, from);
  if (n <= 0) return;
  buf[n] = 0;
  for (ssize_t i = 0; i < n; i++)
    if (!buf[i]) buf[i] = ' ';
  /* A panic says it best: "Kernel panic - not syncing: ...", without the timestamp. */
  char *panic = strstr(buf, "Kernel panic - not syncing");
  if (panic) {
    size_t o = 0;
    put_printable(out, max, &o, panic, strcspn(panic, "\r\n"));
    out[o] = 0;
    return;
  }
  /* Else the last three non-empty lines, joined by " | ". */
  const char *lines[3] = {0};
  size_t lens[3] = {0}, k = 0;
  for (char *p = buf; *p;) {
    char *e = p + strcspn(p, "\r\n");
    size_t len = (size_t)(e - p);
    while (len && p[len - 1] == ' ') len--;
    if (len) {
      lines[k % 3] = p;
      lens[k % 3] = len;
      k++;
    }
    p = *e ? e + 1 : e;
  }
  size_t o = 0;
  for (size_t i = k > 3 ? k - 3 : 0; i < k && o + 4 < max; i++) {
    if (o) put_printable(out, max, &o, " | ", 3);
    put_printable(out, max, &o, lines[i % 3], lens[i % 3]);
  }
  out[o] = 0;
}

/* ---- frames to the guest ------------------------------------------------------------- */

/* Queues a frame whose payload is pre[0..prelen) then payload[0..len). */
static void ctl_queue2(struct mon *m, uint8_t type, const void *pre, uint32_t prelen,
                       const void *payload, uint32_t len) {
  size_t need = m->ctl_len + VM_FRAME_HEADER + prelen + len;
  if (need > m->ctl_cap) {
    size_t cap = m->ctl_cap ? m->ctl_cap : 65536;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(m->ctl_out, cap);
    if (!p) {
      logf_(m, "out of memory queueing a frame");
      return;
    }
    m->ctl_out = p;
    m->ctl_cap = cap;
  }
  vm_frame_header(m->ctl_out + m->ctl_len, type, prelen + len);
  if (prelen) memcpy(m->ctl_out + m->ctl_len + VM_FRAME_HEADER, pre, prelen);
  if (len) memcpy(m->ctl_out + m->ctl_len + VM_FRAME_HEADER + prelen, payload, len);
  m->ctl_len = need;
}

static void ctl_queue(struct mon *m, uint8_t type, const void *payload, uint32_t len) {
  ctl_queue2(m, type, NULL, 0, payload, len);
}

/* A frame about exec `id`: the id, then the data. */
static void ctl_queue_id(struct mon *m, uint8_t type, uint32_t id, const void *data, uint32_t len) {
  uint8_t b[4];
  vm_put_u32(b, id);
  ctl_queue2(m, type, b, 4, data, len);
}

static void send_signal(struct mon *m, int sig, bool all) {
  uint8_t b[5];
  vm_put_u32(b, (uint32_t)sig);
  b[4] = all;
  ctl_queue(m, VM_SIGNAL, b, 5);
}

/* ---- ending ---------------------------------------------------------------------------- */

static void reap_qemu(struct mon *m, int wait_ms) {
  if (m->qemu_reaped || m->qemu <= 0) return;
  int64_t end = vm_now_ms() + wait_ms;
  for (;;) {
    int st;
    pid_t r = wait4(m->qemu, &st, WNOHANG, &m->qemu_usage);
    if (r == m->qemu || (r < 0 && errno == ECHILD)) {
      m->qemu_reaped = true;
      m->qemu_status = r == m->qemu ? st : 0;
      break;
    }
    if (vm_now_ms() >= end) {
      kill(m->qemu, SIGKILL);
      wait_ms = 1000, end = vm_now_ms() + 5000; /* it cannot refuse SIGKILL */
    }
    /* Short: `run` returns when QEMU is gone, which takes ~5 ms after SIGKILL. */
    nanosleep(&(struct timespec){0, 500 * 1000}, NULL);
  }
  logf_(m, "qemu: %s %d%s, peak RSS %ld KiB",
        WIFSIGNALED(m->qemu_status) ? "killed by signal" : "exited with status",
        WIFSIGNALED(m->qemu_status) ? WTERMSIG(m->qemu_status) : WEXITSTATUS(m->qemu_status),
        m->phase == P_EXITING ? " (stopped after the workload's exit)" : "",
        m->qemu_usage.ru_maxrss);
}

/* Forgets a client's request (its fds, its partial exec payload). */
static void client_reset(struct client *c) {
  for (int k = 0; k < c->nfds; k++) close(c->fds[k]);
  free(c->payload);
  c->payload = NULL;
  c->nfds = 0;
  c->len = c->plen = c->pneed = 0;
  c->tty = false;
}

static void reply(struct mon *m, int i, const char *text) {
  if (m->clients[i].fd < 0) return;
  if (write_all_fd(m->clients[i].fd, text, strlen(text)) < 0) {
  }
  close(m->clients[i].fd);
  m->clients[i].fd = -1;
  client_reset(&m->clients[i]);
}

/* The VM failed: stop it, tell whoever waits, keep the logs, exit. */
static void fail(struct mon *m, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
static void fail(struct mon *m, const char *fmt, ...) {
  char why[1024], tail[600], text[1800];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  if (m->qemu > 0 && !m->qemu_reaped) kill(m->qemu, SIGKILL);
  reap_qemu(m, 5000);
  vm_console_tail(m->a->state_path, tail, sizeof tail);
  snprintf(text, sizeof text, "vm `%s`: %s; guest console %s/%s%s%s", m->a->id, why,
           m->a->state_path, VM_CONSOLE_LOG, tail[0] ? ": " : " (empty)", tail);
  logf_(m, "failed: %s", text);
  if (m->phase < P_CREATED) {
    char line[2048];
    int n = snprintf(line, sizeof line, "error %s\n", text);
    if (write_all_fd(m->a->report_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
    }
    _exit(VM_EXIT_FAILURE);
  }
  if (m->start_client >= 0) {
    char line[2048];
    snprintf(line, sizeof line, "error %s\n", text);
    reply(m, m->start_client, line);
  }
  for (size_t i = 0; i < VM_MAX_EXECS; i++)
    if (m->execs[i].used && m->execs[i].client >= 0) dprintf(m->execs[i].client, "error %s\n", text);
  dprintf(2, "isola: %s\n", text);
  _exit(VM_EXIT_FAILURE);
}

/* ---- outputs ----------------------------------------------------------------------------- */

static void out_init(struct out_stream *o, int fd) {
  memset(o, 0, sizeof *o);
  o->fd = fd;
  struct stat st;
  o->small = fd >= 0 && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void out_close(struct out_stream *o) {
  if (o->fd < 0) return;
  /* Keep the fd number taken (it is 1 or 2): the reader must see EOF, not a reused fd. */
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null >= 0 && o->fd <= 2) dup2(null, o->fd);
  else close(o->fd);
  if (null >= 0) close(null);
  o->fd = -1;
}

static void out_append(struct mon *m, struct out_stream *o, const uint8_t *p, size_t n) {
  if (o->broken || o->fd < 0) return;
  if (o->len + n > o->cap) {
    size_t cap = o->cap ? o->cap : 65536;
    while (cap < o->len + n) cap *= 2;
    uint8_t *b = realloc(o->buf, cap);
    if (!b) {
      logf_(m, "out of memory buffering output: dropped");
      return;
    }
    o->buf = b;
    o->cap = cap;
  }
  memcpy(o->buf + o->len, p, n);
  o->len += n;
}

static void out_flush(struct out_stream *o) {
  while (o->len && o->fd >= 0) {
    size_t n = o->small && o->len > 4096 ? 4096 : o->len;
    ssize_t w = write(o->fd, o->buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) return;
    if (w <= 0) { /* EPIPE and friends: nobody reads any more */
      o->broken = true;
      o->len = 0;
      break;
    }
    memmove(o->buf, o->buf + w, o->len - (size_t)w);
    o->len -= (size_t)w;
    if (o->small) return; /* one write per wakeup: the next poll says whether there is room */
  }
  if (!o->len && o->eof) out_close(o);
}

/* ---- execs ------------------------------------------------------------------------------ */

static struct exec_session *exec_find(struct mon *m, uint32_t id) {
  for (size_t i = 0; i < VM_MAX_EXECS; i++)
    if (m->execs[i].used && m->execs[i].id == id) return &m->execs[i];
  return NULL;
}

/* A line to the exec's client (best effort: the lines are short, its socket has room). */
static void exec_tell(struct exec_session *s, const char *line) {
  if (s->client >= 0 && write_all_fd(s->client, line, strlen(line)) < 0) {
  }
}

static void stream_release(struct out_stream *o) {
  if (o->fd >= 0) close(o->fd);
  o->fd = -1;
  free(o->buf);
  o->buf = NULL;
  o->len = o->cap = 0;
}

static void exec_release(struct exec_session *s) {
  if (s->client >= 0) close(s->client);
  if (s->in_fd >= 0) close(s->in_fd);
  stream_release(&s->out);
  stream_release(&s->err);
  memset(s, 0, sizeof *s);
  s->client = s->in_fd = s->out.fd = s->err.fd = -1;
}

static bool drained(const struct out_stream *o) { return o->fd < 0 || o->broken || !o->len; }

/* E4: once the exec exited and its output is written, its client learns the status. */
static void exec_check_done(struct mon *m, struct exec_session *s) {
  if (!s->used || !s->exited || !drained(&s->out) || !drained(&s->err)) return;
  char line[32];
  snprintf(line, sizeof line, "exit %d\n", s->status);
  exec_tell(s, line);
  logf_(m, "exec %u: exit %d", s->id, s->status);
  exec_release(s);
}

static size_t execs_active(const struct mon *m) {
  size_t n = 0;
  for (size_t i = 0; i < VM_MAX_EXECS; i++) n += m->execs[i].used;
  return n;
}

/* E1: the client's request is complete; it becomes an exec session. */
static void exec_begin(struct mon *m, struct client *c) {
  struct exec_session *s = NULL;
  for (size_t i = 0; i < VM_MAX_EXECS && !s; i++)
    if (!m->execs[i].used) s = &m->execs[i];
  if (!s || c->nfds != 3) {
    const char *why = !s ? "error too many execs at once in this VM\n"
                         : "error an exec request must carry its stdin, stdout and stderr\n";
    if (write_all_fd(c->fd, why, strlen(why)) < 0) {
    }
    return;
  }
  memset(s, 0, sizeof *s);
  s->used = true;
  s->id = m->next_exec_id++;
  s->client = c->fd;
  s->in_fd = c->fds[0];
  out_init(&s->out, c->fds[1]);
  out_init(&s->err, c->fds[2]);
  s->tty = c->tty;
  c->fd = -1;
  c->nfds = 0;
  logf_(m, "exec %u%s", s->id, s->tty ? " (terminal)" : "");
  ctl_queue_id(m, VM_EXEC, s->id, c->payload, (uint32_t)c->plen);
}

/* Lines from an exec's client: "signal N", "winsize ROWS COLS". EOF: it went away, and its
 * process is killed. */
static void exec_on_client(struct mon *m, struct exec_session *s) {
  ssize_t n = read(s->client, s->line + s->linelen, sizeof s->line - 1 - s->linelen);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(s->client);
    s->client = -1;
    if (!s->exited) {
      logf_(m, "exec %u: its client went away: SIGKILL", s->id);
      uint8_t b[4];
      vm_put_u32(b, SIGKILL);
      ctl_queue_id(m, VM_EXEC_SIGNAL, s->id, b, 4);
    }
    return;
  }
  s->linelen += (size_t)n;
  s->line[s->linelen] = 0;
  char *nl;
  while ((nl = strchr(s->line, '\n'))) {
    *nl = 0;
    int a, b;
    if (sscanf(s->line, "signal %d", &a) == 1 && a > 0 && a < NSIG && !s->exited) {
      uint8_t v[4];
      vm_put_u32(v, (uint32_t)a);
      ctl_queue_id(m, VM_EXEC_SIGNAL, s->id, v, 4);
    } else if (sscanf(s->line, "winsize %d %d", &a, &b) == 2 && a >= 0 && b >= 0 && a < 65536 &&
               b < 65536 && !s->exited) {
      uint8_t v[4] = {(uint8_t)a, (uint8_t)(a >> 8), (uint8_t)b, (uint8_t)(b >> 8)};
      ctl_queue_id(m, VM_EXEC_WINSIZE, s->id, v, 4);
    }
    size_t used = (size_t)(nl - s->line) + 1;
    memmove(s->line, nl + 1, s->linelen - used + 1);
    s->linelen -= used;
  }
  if (s->linelen == sizeof s->line - 1) s->linelen = 0; /* an over-long line: dropped */
}

/* EXEC_* frames from the guest. Ids the monitor never gave out are a protocol error; frames
 * for an exec already forgotten (its client went, it ended) are dropped. */
static void on_exec_frame(struct mon *m, const struct vm_frame *f) {
  uint32_t id = vm_get_u32(f->payload);
  if (m->phase < P_CREATED) fail(m, "protocol: exec frame out of turn");
  if (id == 0 || id >= m->next_exec_id) fail(m, "protocol: frame for exec %u, which was never started", id);
  struct exec_session *s = exec_find(m, id);
  if (!s) return;
  const uint8_t *data = f->payload + 4;
  uint32_t len = f->len - 4;
  switch (f->type) {
  case VM_EXEC_STARTED:
    if (s->started) fail(m, "protocol: exec %u started twice", id);
    s->started = true;
    logf_(m, "exec %u: started", id);
    exec_tell(s, "ok\n");
    return;
  case VM_EXEC_ERROR: {
    char text[VM_TEXT_MAX + 16];
    size_t o = 0;
    put_printable(text, sizeof text, &o, "error ", 6);
    put_printable(text, sizeof text - 1, &o, (const char *)data, len);
    text[o++] = '\n';
    text[o] = 0;
    logf_(m, "exec %u: %.*s", id, (int)o - 1, text);
    exec_tell(s, text);
    exec_release(s);
    return;
  }
  case VM_EXEC_STDOUT:
  case VM_EXEC_STDERR: {
    if (!s->started || s->exited) fail(m, "protocol: output of exec %u out of turn", id);
    struct out_stream *o = f->type == VM_EXEC_STDOUT || s->tty ? &s->out : &s->err;
    if (len == 0) {
      if (f->type == VM_EXEC_STDOUT || !s->tty) o->eof = true;
    } else if (!o->eof) {
      out_append(m, o, data, len);
    }
    return;
  }
  case VM_EXEC_CREDIT: {
    uint32_t n = vm_get_u32(data);
    s->inflight -= n > s->inflight ? s->inflight : n;
    return;
  }
  case VM_EXEC_EXIT: {
    uint32_t st = vm_get_u32(data);
    if (!s->started || s->exited) fail(m, "protocol: exit of exec %u out of turn", id);
    if (st > 255) fail(m, "protocol: exit status %u out of range", st);
    s->exited = true;
    s->status = (int)st;
    exec_check_done(m, s);
    return;
  }
  }
}

/* ---- frames from the guest -------------------------------------------------------------- */

static void restore_failed(struct mon *m);

static void on_frame(struct mon *m, const struct vm_frame *f) {
  m->last_guest = vm_now_ms();
  m->restoring = false;
  enum phase p = m->phase;
  bool created = p == P_CREATED || p == P_STARTING || p == P_RUNNING;
  switch (f->type) {
  case VM_HELLO:
    if (p != P_BOOT) fail(m, "protocol: HELLO out of turn");
    if (vm_get_u32(f->payload) != VM_PROTO_VERSION)
      fail(m, "protocol: the agent speaks version %u, isola %u (rebuild the image with `make "
              "vm-image`)", vm_get_u32(f->payload), VM_PROTO_VERSION);
    char rel[260];
    size_t o = 0;
    put_printable(rel, sizeof rel, &o, (const char *)f->payload + 4, f->len - 4);
    rel[o] = 0;
    logf_(m, "hello: guest kernel %s", rel);
    /* 2. */
    ctl_queue(m, VM_CONFIG, m->a->guest->payload, (uint32_t)m->a->guest->len);
    m->phase = P_CONFIG;
    return;
  case VM_READY: {
    if (p != P_CONFIG) fail(m, "protocol: READY out of turn");
    logf_(m, "ready");
    char line[64];
    int n = snprintf(line, sizeof line, "ok %d %s\n", m->qemu,
                     m->launch.boot == VM_BOOT_RESTORE ? "template" : "boot");
    if (write_all_fd(m->a->report_fd, line, (size_t)n) < 0) {
      m->phase = P_CREATED; /* nobody waits: `create` died; end quietly */
      fail(m, "create went away before the VM was ready");
    }
    close(m->a->report_fd);
    m->phase = P_CREATED;
    return;
  }
  case VM_STARTED:
    if (p != P_STARTING) fail(m, "protocol: STARTED out of turn");
    logf_(m, "started");
    m->phase = P_RUNNING;
    if (m->start_client >= 0) reply(m, m->start_client, "ok\n");
    m->start_client = -1;
    return;
  case VM_STDOUT:
  case VM_STDERR: {
    if (!created) fail(m, "protocol: output out of turn");
    struct out_stream *o = f->type == VM_STDOUT || m->tty >= 0 ? &m->out : &m->err;
    if (f->len == 0) {
      if (f->type == VM_STDOUT || m->tty < 0) o->eof = true;
      if (!o->len && o->eof) out_close(o);
    } else if (!o->eof) {
      out_append(m, o, f->payload, f->len);
    }
    return;
  }
  case VM_STDIN_CREDIT: {
    uint32_t n = vm_get_u32(f->payload);
    m->inflight -= n > m->inflight ? m->inflight : n;
    return;
  }
  case VM_EXIT: {
    if (!created) fail(m, "protocol: EXIT out of turn");
    uint32_t st = vm_get_u32(f->payload);
    if (st > 255) fail(m, "protocol: exit status %u out of range", st);
    m->status = (int)st;
    logf_(m, "exit: status %d", m->status);
    /* 8. */
    ctl_queue(m, VM_ACK, NULL, 0);
    m->phase = P_EXITING;
    if (m->start_client >= 0) { /* it exited before it could run */
      reply(m, m->start_client, "error the container process exited before it started\n");
      m->start_client = -1;
    }
    /* The guest reported every exec's end before this; those it never started end here. */
    for (size_t i = 0; i < VM_MAX_EXECS; i++) {
      struct exec_session *s = &m->execs[i];
      if (!s->used || s->exited) continue;
      exec_tell(s, "error the container process has exited\n");
      exec_release(s);
    }
    return;
  }
  case VM_ERROR: { /* the guest's words reach a terminal: printable bytes only */
    char text[VM_TEXT_MAX + 1];
    size_t o = 0;
    put_printable(text, sizeof text, &o, (const char *)f->payload, f->len);
    text[o] = 0;
    fail(m, "guest: %s", text);
  }
  case VM_HEARTBEAT:
    return;
  case VM_EXEC_STARTED:
  case VM_EXEC_STDOUT:
  case VM_EXEC_STDERR:
  case VM_EXEC_CREDIT:
  case VM_EXEC_EXIT:
  case VM_EXEC_ERROR:
    on_exec_frame(m, f);
    return;
  }
  fail(m, "protocol: unexpected frame 0x%02x", f->type);
}

/* One read from the control port; its frames are handled. Returns 0, or -1 at EOF (or
 * nothing more to read) when `draining`. */
static int read_guest(struct mon *m, bool draining) {
  ssize_t n = read(m->ctl, m->in + m->inlen, sizeof m->in - m->inlen);
  if (n < 0 && errno == EINTR) return 0;
  if (n < 0 && errno == EAGAIN) return draining ? -1 : 0;
  if (n <= 0) {
    if (m->phase == P_EXITING || draining) return -1;
    /* QEMU is gone or going: its status tells more. */
    reap_qemu(m, 2000);
    if (m->restoring) {
      restore_failed(m);
      return 0;
    }
    int st = m->qemu_status;
    fail(m, "QEMU %s %d before the workload's exit was reported%s",
         WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? " (the guest powered off or panicked)" : "");
  }
  m->inlen += (size_t)n;
  size_t pos = 0;
  for (;;) {
    struct vm_frame f;
    const char *why = NULL;
    long used = vm_frame_parse(VM_TO_HOST, m->in + pos, m->inlen - pos, &f, &why);
    if (used < 0) fail(m, "protocol: at byte %zu of a read: %s", pos, why);
    if (used == 0) break;
    pos += (size_t)used;
    on_frame(m, &f);
  }
  memmove(m->in, m->in + pos, m->inlen - pos);
  m->inlen -= pos;
  return 0;
}

static void flush_ctl(struct mon *m) {
  while (m->ctl_len) {
    ssize_t n = write(m->ctl, m->ctl_out, m->ctl_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      m->ctl_len = 0; /* QEMU is gone; the read side reports it */
      return;
    }
    memmove(m->ctl_out, m->ctl_out + n, m->ctl_len - (size_t)n);
    m->ctl_len -= (size_t)n;
  }
}

/* ---- stdin -------------------------------------------------------------------------------- */

/* One read of a stdin (the workload's, id 0, or an exec's) into a frame, within the guest's
 * credit. At EOF (or EIO from a pty whose master closed) the guest is told once, and the fd
 * closed unless `keep` (the terminal is also the output). */
static void read_input(struct mon *m, int *fd, uint32_t *inflight, uint32_t id, bool keep) {
  static uint8_t buf[VM_DATA_MAX];
  size_t room = VM_STDIN_WINDOW - *inflight;
  if (room > sizeof buf) room = sizeof buf;
  ssize_t n = read(*fd, buf, room);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n < 0) n = 0;
  if (id) ctl_queue_id(m, VM_EXEC_STDIN, id, buf, (uint32_t)n);
  else ctl_queue(m, VM_STDIN, buf, (uint32_t)n);
  if (n > 0) {
    *inflight += (uint32_t)n;
    return;
  }
  if (!keep) close(*fd);
  *fd = -1;
}

/* ---- vm.sock: start and kill ------------------------------------------------------------ */

/* Reads from client i, keeping fds that come along (at most 3: an exec's stdio). */
static ssize_t client_read(struct client *c, void *buf, size_t len) {
  union {
    char b[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
                      .msg_controllen = sizeof u.b};
  ssize_t n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); n >= 0 && h; h = CMSG_NXTHDR(&mh, h)) {
    if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t j = 0; j < k; j++) {
      int fd;
      memcpy(&fd, CMSG_DATA(h) + j * sizeof(int), sizeof fd);
      if (c->nfds < 3) c->fds[c->nfds++] = fd;
      else close(fd);
    }
  }
  return n;
}

static void on_request(struct mon *m, int i) {
  struct client *c = &m->clients[i];
  if (c->pneed) { /* the rest of an exec request's records */
    ssize_t n = client_read(c, c->payload + c->plen, c->pneed - c->plen);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
      reply(m, i, "");
      return;
    }
    c->plen += (size_t)n;
    if (c->plen == c->pneed) {
      exec_begin(m, c);
      if (c->fd >= 0) reply(m, i, "");
      else client_reset(c);
    }
    return;
  }
  ssize_t n = client_read(c, c->req + c->len, sizeof c->req - 1 - c->len);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
  if (n <= 0) {
    close(c->fd);
    c->fd = -1;
    client_reset(c);
    if (m->start_client == i) m->start_client = -1;
    return;
  }
  c->len += (size_t)n;
  c->req[c->len] = 0;
  char *nl = memchr(c->req, '\n', c->len);
  if (!nl) {
    if (c->len == sizeof c->req - 1) reply(m, i, "error request too long\n");
    return;
  }
  *nl = 0;
  int sig, all, tty;
  unsigned long plen;
  if (!strcmp(c->req, "start")) {
    if (m->phase != P_CREATED || m->start_client >= 0) {
      reply(m, i, m->phase == P_EXITING ? "error the container process has exited\n"
                                        : "error the container was started already\n");
      return;
    }
    logf_(m, "start");
    ctl_queue(m, VM_RUN, NULL, 0);
    m->phase = P_STARTING;
    m->start_client = i;
    return;
  }
  if (sscanf(c->req, "kill %d %d", &sig, &all) == 2 && sig > 0 && sig < NSIG) {
    if (m->phase == P_EXITING) {
      reply(m, i, "error the container process has exited\n");
      return;
    }
    logf_(m, "kill %d%s", sig, all ? " (all)" : "");
    send_signal(m, sig, all);
    reply(m, i, "ok\n");
    return;
  }
  if (sscanf(c->req, "exec %lu %d", &plen, &tty) == 2) {
    if (m->phase == P_EXITING || m->phase < P_CREATED) {
      reply(m, i, m->phase == P_EXITING ? "error the container process has exited\n"
                                        : "error the container is not created yet\n");
      return;
    }
    if (plen == 0 || plen > VM_MAX_PAYLOAD - 4) {
      reply(m, i, "error exec request too large\n");
      return;
    }
    if (!(c->payload = malloc(plen))) {
      reply(m, i, "error out of memory\n");
      return;
    }
    c->pneed = plen;
    c->tty = tty != 0;
    /* What came after the line is the start of the records. */
    size_t extra = c->len - (size_t)(nl + 1 - c->req);
    if (extra > plen) extra = plen;
    memcpy(c->payload, nl + 1, extra);
    c->plen = extra;
    c->len = 0;
    if (c->plen == c->pneed) {
      exec_begin(m, c);
      if (c->fd >= 0) reply(m, i, "");
      else client_reset(c);
    }
    return;
  }
  reply(m, i, "error unknown request\n");
}

static void accept_client(struct mon *m) {
  int fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  if (fd < 0) return;
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd < 0) {
      m->clients[i].fd = fd;
      client_reset(&m->clients[i]);
      return;
    }
  if (write_all_fd(fd, "error busy\n", 11) < 0) {
  }
  close(fd);
}

/* ---- signals ------------------------------------------------------------------------------ */

static void on_signal(struct mon *m, const struct signalfd_siginfo *si) {
  int sig = (int)si->ssi_signo;
  if (sig == SIGCHLD) {
    if (m->qemu_reaped) return;
    int st;
    pid_t r = wait4(m->qemu, &st, WNOHANG, &m->qemu_usage);
    if (r != m->qemu) return;
    m->qemu_reaped = true;
    m->qemu_status = st;
    /* Read what it still said before judging: an EXIT may be in the socket. */
    for (int i = 0; i < 64 && m->phase != P_EXITING && read_guest(m, true) == 0; i++) {
    }
    if (m->phase == P_EXITING) return;
    if (m->restoring) {
      restore_failed(m);
      return;
    }
    fail(m, "QEMU %s %d before the workload's exit was reported%s",
         WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
         WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? " (the guest powered off or panicked)" : "");
  }
  if (sig == SIGWINCH) {
    struct winsize ws;
    if (m->tty >= 0 && ioctl(m->tty, TIOCGWINSZ, &ws) == 0) {
      uint8_t b[4] = {(uint8_t)ws.ws_row, (uint8_t)(ws.ws_row >> 8), (uint8_t)ws.ws_col,
                      (uint8_t)(ws.ws_col >> 8)};
      ctl_queue(m, VM_WINSIZE, b, 4);
    }
    return;
  }
  /* Everything else is for the workload (`run` forwards what it gets to us). */
  if (m->phase < P_CREATED) fail(m, "interrupted by signal %d while booting", sig);
  if (m->phase != P_EXITING) {
    logf_(m, "forward signal %d", sig);
    send_signal(m, sig, false);
  }
}

/* ---- setup ------------------------------------------------------------------------------ */

/* The terminal: a host pty whose master goes to the console socket; the slave, in raw mode
 * (the guest's pty does the line discipline), is the workload's stdio on this side and our
 * controlling terminal, so that SIGWINCH tells us of resizes. */
static int setup_terminal(struct mon *m, struct isola_err *err) {
  int master, slave;
  struct winsize ws = {.ws_row = m->a->rows, .ws_col = m->a->cols};
  if (openpty(&master, &slave, NULL, NULL, ws.ws_row ? &ws : NULL) < 0)
    return isola_fail_errno(err, errno, "terminal: openpty");
  _cleanup_close_ int mfd = master;
  fcntl(slave, F_SETFD, FD_CLOEXEC);
  struct termios t;
  if (tcgetattr(slave, &t) == 0) {
    cfmakeraw(&t);
    tcsetattr(slave, TCSANOW, &t);
  }
  ioctl(slave, TIOCSCTTY, 0);
  _cleanup_close_ int sock = -1;
  if (m->a->console_socket) {
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(m->a->console_socket) >= sizeof sa.sun_path)
      return isola_fail(err, ENAMETOOLONG, "--console-socket `%s`: path too long", m->a->console_socket);
    memcpy(sa.sun_path, m->a->console_socket, strlen(m->a->console_socket));
    if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0)
      return isola_fail_errno(err, errno, "--console-socket `%s`", m->a->console_socket);
  } else if (m->a->console_fd >= 0) {
    sock = dup(m->a->console_fd);
  } else {
    return isola_fail(err, EINVAL, "config.json: process.terminal is true but no "
                                   "--console-socket was given");
  }
  char byte = 0;
  if (vm_send_fds(sock, &byte, 1, &master, 1) < 0)
    return isola_fail_errno(err, errno, "terminal: send the pty master");
  m->tty = slave;
  return 0;
}

static int listen_socket(struct mon *m, struct isola_err *err) {
  _cleanup_close_ int dir = open(m->a->state_path, O_DIRECTORY | O_PATH | O_CLOEXEC);
  if (dir < 0) return isola_fail_errno(err, errno, "open `%s`", m->a->state_path);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  snprintf(sa.sun_path, sizeof sa.sun_path, "/proc/self/fd/%d/%s", dir, VM_SOCKET_NAME);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
    int e = errno;
    if (fd >= 0) close(fd);
    return isola_fail_errno(err, e, "listen on `%s/%s`", m->a->state_path, VM_SOCKET_NAME);
  }
  m->listen_fd = fd;
  return 0;
}

static int open_logs(struct mon *m, int *console, struct isola_err *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", m->a->state_path, VM_CONSOLE_LOG);
  *console = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (*console < 0) return isola_fail_errno(err, errno, "create `%s`", path);
  snprintf(path, sizeof path, "%s/%s", m->a->state_path, VM_MONITOR_LOG);
  m->log_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  return 0;
}

/* ---- starting QEMU -------------------------------------------------------------------------- */

/* Launches QEMU as m->launch says, its console appending to console.log; closes QEMU's ends
 * of the sockets. */
static int spawn(struct mon *m, struct isola_err *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", m->a->state_path, VM_CONSOLE_LOG);
  m->launch.console_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (m->launch.console_fd < 0) return isola_fail_errno(err, errno, "open `%s`", path);
  m->qemu = vm_qemu_spawn(&m->launch, err);
  close(m->launch.console_fd);
  close(m->launch.ctl_fd);
  m->launch.console_fd = m->launch.ctl_fd = -1;
  m->qemu_reaped = false;
  if (m->qemu < 0) {
    m->qemu = 0;
    return -1;
  }
  return 0;
}

/* A fresh control port, for a second QEMU. */
static void new_control_port(struct mon *m) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
    fail(m, "socketpair: %s", strerror(errno));
  close(m->ctl);
  m->ctl = sv[0];
  m->launch.ctl_fd = sv[1];
  fcntl(m->ctl, F_SETFL, fcntl(m->ctl, F_GETFL) | O_NONBLOCK);
  m->inlen = m->ctl_len = 0;
}

/* 0. Booted: the guest says HELLO (1.) when its agent runs. */
static void boot(struct mon *m) {
  struct isola_err err;
  if (m->launch.ctl_fd < 0) new_control_port(m);
  m->launch.boot = VM_BOOT_COLD;
  if (spawn(m, &err) < 0) fail(m, "%s", err.msg);
  m->phase = P_BOOT;
}

/* 0. Restored from m->tmpl: QEMU loads the saved state (QMP: migrate-incoming, x-ignore-shared:
 * the RAM is the template's file), the guest goes on parked where the template left it, and
 * gets RESUME (T2) and its CONFIG (2.) at once. */
static int restore(struct mon *m, struct isola_err *err) {
  int qmp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, qmp) < 0)
    return isola_fail_errno(err, errno, "socketpair");
  _cleanup_close_ int qmp_fd = qmp[0];
  _cleanup_close_ int state = open(m->tmpl.state, O_RDONLY | O_CLOEXEC);
  if (state < 0) {
    close(qmp[1]);
    return isola_fail_errno(err, errno, "open `%s`", m->tmpl.state);
  }
  uint8_t resume[VM_RESUME_LEN];
  struct timespec now;
  if (getrandom(resume + 12, VM_RESUME_ENTROPY, 0) != VM_RESUME_ENTROPY) {
    close(qmp[1]);
    return isola_fail_errno(err, errno, "getrandom");
  }
  m->launch.boot = VM_BOOT_RESTORE;
  m->launch.template_ram = m->tmpl.ram;
  m->launch.empty_dir = m->tmpl.empty;
  m->launch.qmp_fd = qmp[1];
  m->launch.incoming_fd = state;
  int r = spawn(m, err);
  close(qmp[1]);
  struct vm_qmp q;
  if (r == 0 &&
      (vm_qmp_open(&q, qmp_fd, 10000, err) < 0 ||
       vm_qmp_call(&q, VM_QMP_IGNORE_SHARED, -1, NULL, err) < 0 ||
       vm_qmp_call(&q, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"fd:5\"}}", -1,
                   NULL, err) < 0))
    r = -1;
  if (r < 0) {
    if (m->qemu > 0) kill(m->qemu, SIGKILL);
    reap_qemu(m, 5000);
    return -1;
  }
  clock_gettime(CLOCK_REALTIME, &now);
  vm_put_u64(resume, (uint64_t)now.tv_sec);
  vm_put_u32(resume + 8, (uint32_t)now.tv_nsec);
  ctl_queue(m, VM_RESUME, resume, sizeof resume);
  explicit_bzero(resume, sizeof resume);
  ctl_queue(m, VM_CONFIG, m->a->guest->payload, (uint32_t)m->a->guest->len);
  m->phase = P_CONFIG;
  m->restoring = true;
  logf_(m, "hello: guest kernel %s (restored)", m->tmpl.release);
  return 0;
}

/* QEMU ended before the restored guest said anything: the template cannot be restored (a QEMU
 * that changed in place, a damaged file). It is set aside and this VM boots instead. */
static void restore_failed(struct mon *m) {
  char tail[600], why[800];
  vm_console_tail(m->a->state_path, tail, sizeof tail);
  snprintf(why, sizeof why, "QEMU %s %d while restoring it%s%s",
           WIFSIGNALED(m->qemu_status) ? "was killed by signal" : "exited with status",
           WIFSIGNALED(m->qemu_status) ? WTERMSIG(m->qemu_status) : WEXITSTATUS(m->qemu_status),
           tail[0] ? ": " : "", tail);
  logf_(m, "template: %s", why);
  vm_template_discard(&m->tmpl, why);
  m->restoring = false;
  boot(m);
}

/* ---- the loop --------------------------------------------------------------------------- */

void vm_monitor_main(const struct vm_monitor_args *a) {
  static struct mon mon;
  struct mon *m = &mon;
  m->a = a;
  m->t0 = vm_now_ms();
  m->log_fd = m->listen_fd = m->sigfd = m->in_fd = m->tty = -1;
  m->start_client = -1;
  m->next_exec_id = 1;
  for (int i = 0; i < MAX_CLIENTS; i++) m->clients[i].fd = -1;
  m->phase = P_BOOT;
  m->ctl = a->ctl_fd;

  /* Our own session: a terminal's signals reach us only through `run`, which forwards them. */
  setsid();
  signal(SIGPIPE, SIG_IGN);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  sigset_t want;
  sigfillset(&want);
  sigdelset(&want, SIGPIPE);
  sigdelset(&want, SIGTTIN);
  sigdelset(&want, SIGTTOU);
  sigdelset(&want, SIGTSTP);
  m->sigfd = signalfd(-1, &want, SFD_CLOEXEC | SFD_NONBLOCK);

  struct isola_err err;
  int console = -1;
  if (open_logs(m, &console, &err) < 0 || listen_socket(m, &err) < 0 ||
      (a->terminal && setup_terminal(m, &err) < 0) || m->sigfd < 0) {
    if (m->sigfd < 0) isola_fail_errno(&err, errno, "signalfd");
    char line[1200];
    int n = snprintf(line, sizeof line, "error %s\n", err.msg);
    if (write_all_fd(a->report_fd, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) {
    }
    _exit(VM_EXIT_FAILURE);
  }
  if (a->console_fd >= 0) close(a->console_fd); /* the master went through it, or never will */
  logf_(m, "qemu: %s, %u MiB, %u vCPU, %s", a->launch.qemu, a->launch.res->memory_mib,
        a->launch.res->cpus, a->launch.kvm ? "kvm" : "tcg");
  close(console); /* created; QEMU appends to it */
  {
    /* Our own descriptor, without O_APPEND (pwrite would append): to keep the log bounded. */
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", m->a->state_path, VM_CONSOLE_LOG);
    m->console_fd = open(path, O_RDWR | O_CLOEXEC);
  }

  /* 0. QEMU: restored from this machine shape's template (built now if there is none yet),
   * else booted. */
  m->launch = a->launch;
  char why[800];
  int64_t t = vm_now_ms();
  if (vm_template_get(&m->launch, a->boot_timeout_ms, &m->tmpl, why, sizeof why) == 1) {
    logf_(m, "template: %s (%lld ms to find or build)", m->tmpl.dir, (long long)(vm_now_ms() - t));
    if (restore(m, &err) < 0) {
      /* QEMU refused the template (or could not start): set it aside. A QMP reply that was
       * late says nothing about the template. */
      logf_(m, "template: restore failed: %s", err.msg);
      if (err.errnum != ETIMEDOUT) vm_template_discard(&m->tmpl, err.msg);
      boot(m);
    }
  } else {
    logf_(m, "template: none: %s", why);
    boot(m);
  }
  fcntl(m->ctl, F_SETFL, fcntl(m->ctl, F_GETFL) | O_NONBLOCK);

  if (m->tty >= 0) {
    out_init(&m->out, m->tty);
    m->err.fd = -1;
    m->in_fd = m->tty;
  } else {
    out_init(&m->out, 1);
    out_init(&m->err, 2);
    m->in_fd = 0;
  }
  m->hang_ms = env_ms("ISOLA_VM_HANG_TIMEOUT", 60000);
  /* One deadline for the VM to get ready, a template's build included. */
  m->deadline = m->t0 + a->boot_timeout_ms;
  m->last_guest = vm_now_ms();

  for (;;) {
    if (m->phase == P_EXITING && !execs_active(m) && !m->ctl_len &&
        ((!m->out.len && !m->err.len) ||
         ((m->out.broken || m->out.fd < 0) && (m->err.broken || m->err.fd < 0))))
      break;
    struct pollfd p[6 + MAX_CLIENTS + 4 * VM_MAX_EXECS];
    int n = 0;
    int i_ctl = n++, i_sig = n++, i_lis = n++, i_out = -1, i_err = -1, i_in = -1;
    size_t buffered = m->out.len + m->err.len;
    for (size_t i = 0; i < VM_MAX_EXECS; i++) buffered += m->execs[i].out.len + m->execs[i].err.len;
    bool backlog = buffered > OUT_HIGH;
    p[i_ctl] = (struct pollfd){.fd = m->ctl,
                               .events = (short)((backlog ? 0 : POLLIN) | (m->ctl_len ? POLLOUT : 0))};
    p[i_sig] = (struct pollfd){.fd = m->sigfd, .events = POLLIN};
    p[i_lis] = (struct pollfd){.fd = m->listen_fd, .events = POLLIN};
    if (m->out.len && m->out.fd >= 0) p[i_out = n++] = (struct pollfd){.fd = m->out.fd, .events = POLLOUT};
    if (m->err.len && m->err.fd >= 0) p[i_err = n++] = (struct pollfd){.fd = m->err.fd, .events = POLLOUT};
    if (m->phase == P_RUNNING && m->in_fd >= 0 && m->inflight < VM_STDIN_WINDOW)
      p[i_in = n++] = (struct pollfd){.fd = m->in_fd, .events = POLLIN};
    int i_cli = n;
    for (int i = 0; i < MAX_CLIENTS; i++)
      p[n++] = (struct pollfd){.fd = m->clients[i].fd, .events = POLLIN};
    /* Each exec: its client, its stdin (within its credit), its two outputs. */
    int i_exec = n;
    for (size_t i = 0; i < VM_MAX_EXECS; i++) {
      struct exec_session *e = &m->execs[i];
      bool in = e->used && e->started && !e->exited && e->in_fd >= 0 && e->inflight < VM_STDIN_WINDOW;
      p[n++] = (struct pollfd){.fd = e->used ? e->client : -1, .events = POLLIN};
      p[n++] = (struct pollfd){.fd = in ? e->in_fd : -1, .events = POLLIN};
      p[n++] = (struct pollfd){.fd = e->used && e->out.len ? e->out.fd : -1, .events = POLLOUT};
      p[n++] = (struct pollfd){.fd = e->used && e->err.len ? e->err.fd : -1, .events = POLLOUT};
    }

    /* Deadlines: booting and preparing have one; afterwards the guest's heartbeat. */
    int64_t now = vm_now_ms(), until;
    if (m->phase < P_CREATED) until = m->deadline;
    else if (m->phase == P_EXITING) until = now + 1000;
    else if (backlog) until = now + 1000, m->last_guest = now; /* we are not listening */
    else until = m->last_guest + m->hang_ms;
    if (now >= until) {
      if (m->phase < P_CREATED)
        fail(m, "the guest did not get ready within %d ms (%s)", a->boot_timeout_ms,
             m->phase == P_BOOT ? "no HELLO from the agent: the kernel did not boot"
                                : "the agent did not finish preparing the container");
      if (m->phase != P_EXITING)
        fail(m, "the guest stopped responding (no message for %d ms)", m->hang_ms);
    }
    if (now >= m->console_check) {
      console_bound(m);
      m->console_check = now + 250;
    }
    int64_t wait = until - now < 250 ? until - now : 250; /* console_bound's pace */
    int r = poll(p, (nfds_t)n, (int)wait);
    if (r < 0 && errno != EINTR) fail(m, "poll: %s", strerror(errno));
    if (r <= 0) continue;
    if (p[i_sig].revents) {
      struct signalfd_siginfo si;
      while (read(m->sigfd, &si, sizeof si) == sizeof si) on_signal(m, &si);
    }
    if (p[i_ctl].revents & POLLOUT) flush_ctl(m);
    if (p[i_ctl].revents & (POLLIN | POLLHUP | POLLERR)) read_guest(m, false);
    if (i_out >= 0 && p[i_out].revents) out_flush(&m->out);
    if (i_err >= 0 && p[i_err].revents) out_flush(&m->err);
    if (i_in >= 0 && p[i_in].revents) read_input(m, &m->in_fd, &m->inflight, 0, m->in_fd == m->tty);
    if (p[i_lis].revents) accept_client(m);
    for (int i = 0; i < MAX_CLIENTS; i++)
      if (m->clients[i].fd >= 0 && p[i_cli + i].revents) on_request(m, i);
    for (size_t i = 0; i < VM_MAX_EXECS; i++) {
      struct exec_session *e = &m->execs[i];
      struct pollfd *q = &p[i_exec + 4 * (int)i];
      /* Each handler may end the session: check it still holds the fd polled. */
      if (q[0].revents && e->used && e->client == q[0].fd) exec_on_client(m, e);
      if (q[1].revents && e->used && e->in_fd == q[1].fd)
        read_input(m, &e->in_fd, &e->inflight, e->id, false);
      if (q[2].revents && e->used && e->out.fd == q[2].fd) out_flush(&e->out);
      if (q[3].revents && e->used && e->err.fd == q[3].fd) out_flush(&e->err);
      exec_check_done(m, e);
    }
    if (m->ctl_len) flush_ctl(m);
  }

  /* 8. The ACK is out. Everything the guest had to say arrived before its EXIT, and nothing
   * it holds needs saving (9p writes are synchronous, the rest of the guest is discarded):
   * QEMU is stopped rather than waited for while the guest powers itself off, which saves
   * the guest's shutdown path (~0.1 s under TCG). */
  for (int i = 0; i < MAX_CLIENTS; i++)
    if (m->clients[i].fd >= 0) reply(m, i, "error the container process has exited\n");
  for (size_t i = 0; i < VM_MAX_EXECS; i++)
    if (m->execs[i].used) exec_release(&m->execs[i]);
  if (m->qemu > 0 && !m->qemu_reaped) kill(m->qemu, SIGKILL);
  reap_qemu(m, 1000);
  _exit(m->status);
}
