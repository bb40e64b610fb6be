/* Signal names and numbers, as kill(1) and runc accept them. */
#include "core/signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int signal_parse(const char *s) {
  static const struct { const char *name; int sig; } sigs[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT},   {"ILL", SIGILL},
      {"TRAP", SIGTRAP}, {"ABRT", SIGABRT},   {"IOT", SIGIOT},     {"BUS", SIGBUS},
      {"FPE", SIGFPE},   {"KILL", SIGKILL},   {"USR1", SIGUSR1},   {"SEGV", SIGSEGV},
      {"USR2", SIGUSR2}, {"PIPE", SIGPIPE},   {"ALRM", SIGALRM},   {"TERM", SIGTERM},
      {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT}, {"STOP", SIGSTOP},
      {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU},   {"URG", SIGURG},
      {"XCPU", SIGXCPU}, {"XFSZ", SIGXFSZ},   {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
      {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},   {"PWR", SIGPWR},
      {"SYS", SIGSYS},
  };
  char *end;
  long n = strtol(s, &end, 10);
  if (*s && !*end) return n > 0 && n < NSIG ? (int)n : -1;
  const char *name = strncasecmp(s, "SIG", 3) ? s : s + 3;
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
    if (!strcasecmp(name, sigs[i].name)) return sigs[i].sig;
  if (!strncasecmp(name, "RTMIN", 5) || !strncasecmp(name, "RTMAX", 5)) {
    long off = name[5] ? strtol(name + 5, &end, 10) : 0;
    if (*end) return -1;
    int sig = !strncasecmp(name, "RTMIN", 5) ? SIGRTMIN + (int)off : SIGRTMAX + (int)off;
    return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -1;
  }
  return -1;
}
