/* fuzz_seccomp: bytes -> jansson -> seccomp_filter_compile(), the linux.seccomp translator
 * (actions, architectures, argument conditions, flags, libseccomp, BPF export). The program is
 * never loaded. A string listenerPath is pointed at a socket this target listens on (and whose
 * connections it drains), so the listener path runs without touching anything of the host's.
 * The compile cache stays off (no root): it would make runs depend on earlier inputs. */
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "container/seccomp.h"
#include "core/log.h"
#include "fuzz.h"

static char sock_dir[64], sock_path[128];
static int listener = -1;

static void drop_note(const char *msg) {
  (void)msg;
}

static void cleanup(void) {
  if (listener >= 0) close(listener);
  if (sock_path[0]) unlink(sock_path);
  if (sock_dir[0]) rmdir(sock_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  snprintf(sock_dir, sizeof sock_dir, "/tmp/isola-fuzz-seccomp.XXXXXX");
  FUZZ_ASSERT(mkdtemp(sock_dir));
  snprintf(sock_path, sizeof sock_path, "%s/listener.sock", sock_dir);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
  listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  FUZZ_ASSERT(listener >= 0);
  FUZZ_ASSERT(bind(listener, (struct sockaddr *)&sa, sizeof sa) == 0);
  FUZZ_ASSERT(listen(listener, 16) == 0);
  atexit(cleanup);
  /* Debug notes are built only when someone listens: listen, to run that code too. */
  isola_log_set_debug(drop_note);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  json_error_t jerr;
  json_t *p = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
  if (!p) return 0;
  if (json_is_string(json_object_get(p, "listenerPath")))
    json_object_set_new(p, "listenerPath", json_string(sock_path));

  struct seccomp_filter *f = NULL;
  struct isola_err err = {0};
  if (seccomp_filter_compile(p, &f, &err) == 0) {
    size_t n = seccomp_filter_length(f);
    FUZZ_ASSERT(n >= 1 && n <= 4096);
    seccomp_filter_free(f);
  } else {
    FUZZ_ASSERT(strncmp(err.msg, "config.json: linux.seccomp", 26) == 0);
  }
  for (int c; (c = accept4(listener, NULL, NULL, SOCK_CLOEXEC)) >= 0;)
    close(c);
  json_decref(p);
  return 0;
}
