/* isola events: a container's OOM events and resource stats as JSON lines, in runc's format:
 *   {"type":"oom","id":"web"}
 *   {"type":"stats","id":"web","data":{"cpu":{...},"memory":{...},"pids":{...},...}}
 * With --stats, one stats line and exit; else OOM events as they happen and stats every
 * --interval, until the container's process exits. */
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "container/cgroup.h"
#include "core/cleanup.h"

/* A Go-style duration ("5s", "250ms", "1m30s" is not needed: one number and a unit) or plain
 * seconds; in milliseconds. */
static int parse_interval(const char *s, long *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || v <= 0 || isnan(v)) return -1;
  static const struct { const char *unit; double ms; } units[] = {
      {"", 1000}, {"ns", 1e-6}, {"us", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
  for (size_t i = 0; i < sizeof units / sizeof *units; i++)
    if (!strcmp(end, units[i].unit)) {
      double t = v * units[i].ms;
      if (t > 86400000.0 * 365) return -1;
      *ms = t < 1 ? 1 : (long)t;
      return 0;
    }
  return -1;
}

static void emit(const char *type, const char *id, json_t *data) {
  _cleanup_json_ json_t *ev = json_pack("{s:s, s:s}", "type", type, "id", id);
  if (!ev) return;
  if (data) json_object_set(ev, "data", data);
  _cleanup_free_ char *text = json_dumps(ev, JSON_COMPACT);
  if (text) printf("%s\n", text);
  fflush(stdout);
}

static int print_stats(json_t *dirs, const char *id, struct isola_err *err) {
  json_t *stats;
  if (cgroup_stats(dirs, &stats, err) < 0) return -1;
  emit("stats", id, stats);
  json_decref(stats);
  return 0;
}

static long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static bool gone(pid_t pid, uint64_t start) {
  bool zombie;
  uint64_t s = proc_start_time(pid, &zombie);
  return !s || zombie || (start && s != start);
}

int cmd_events(int argc, char **argv) {
  static const struct option opts[] = {{"stats", no_argument, 0, 's'},
                                       {"interval", required_argument, 0, 'i'},
                                       {"help", no_argument, 0, 'h'},
                                       {0, 0, 0, 0}};
  bool once = false;
  long interval = 5000;
  int c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case 's': once = true; break;
    case 'i':
      if (parse_interval(optarg, &interval) < 0)
        return cli_errorf("events: --interval: `%s` is not a duration like 5s or 500ms", optarg);
      break;
    case 'h':
      printf("usage: isola events [--stats] [--interval DURATION] ID\n\nPrints the container's "
             "events as JSON lines, as runc does: OOM kills as they\nhappen ({\"type\":\"oom\"}) "
             "and resource stats ({\"type\":\"stats\"}) every --interval\n(default 5s), until "
             "the container's process exits. --stats prints the stats\nonce and exits.\n");
      return 0;
    default: return cli_errorf("events: unknown option `%s` (see isola events --help)", argv[optind - 1]);
    }
  }
  if (argc - optind != 1)
    return cli_errorf("events: expected exactly one container id (see isola events --help)");
  const char *id = argv[optind];
  struct isola_err err;
  struct state_dir d;
  struct isola_state st;
  if (cli_open(id, &d, &st, &err) < 0) return cli_error(&err);
  json_t *found = cli_cgroup_dirs(&st, "events", &err);
  _cleanup_json_ json_t *dirs = found ? json_deep_copy(found) : NULL;
  pid_t pid = st.pid;
  uint64_t start = st.pid_start;
  bool stopped = st.status == ST_STOPPED;
  /* Do not hold the container's lock while we watch: kill and delete must go on. */
  state_release(&st);
  state_dir_close(&d);
  if (!dirs) return cli_error(&err);
  if (stopped) return cli_errorf("events: container `%s` is not running", id);
  if (once) return print_stats(dirs, id, &err) < 0 ? cli_error(&err) : 0;

  struct cgroup_oom oom;
  if (cgroup_oom_open(dirs, &oom, &err) < 0) {
    cli_debug("events: no OOM events: %s", err.msg);
    oom.fd = -1;
  }
  _cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  /* The pid may have been reused between the state check and pidfd_open. */
  if (pidfd >= 0 && gone(pid, start)) {
    cgroup_oom_close(&oom);
    return 0;
  }
  long next = now_ms() + interval;
  int r = 0;
  for (;;) {
    struct pollfd p[2] = {{.fd = oom.fd, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};
    long wait = next - now_ms();
    if (pidfd < 0 && wait > 100) wait = 100; /* no pidfd: look at the process now and then */
    int n = poll(p, 2, wait < 0 ? 0 : (int)wait);
    if (n < 0 && errno != EINTR) {
      r = cli_errorf("events: poll: %s", strerror(errno));
      break;
    }
    bool exited = pidfd >= 0 ? n > 0 && (p[1].revents & POLLIN) : gone(pid, start);
    if (oom.fd >= 0 && (exited || (n > 0 && p[0].revents))) {
      unsigned ev;
      bool cg_gone;
      cgroup_oom_read(&oom, &ev, &cg_gone);
      for (unsigned i = 0; i < ev; i++) emit("oom", id, NULL);
      if (cg_gone) break;
    }
    if (exited) break;
    if (now_ms() >= next) {
      if (print_stats(dirs, id, &err) < 0) {
        r = cli_error(&err);
        break;
      }
      next = now_ms() + interval;
    }
  }
  cgroup_oom_close(&oom);
  return r;
}
