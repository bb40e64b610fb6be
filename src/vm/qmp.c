/* A QMP client, as small as the vm engine needs: QEMU's machine protocol over a socketpair
 * (QEMU's end is `-chardev socket,fd=4 -mon mode=control`), one command at a time. QMP is
 * line-delimited JSON: a greeting, then for each command one reply holding "return" or
 * "error", with asynchronous events ({"event": ...}) in between, which are skipped.
 *
 * Only templates use it (template.c: saving a parked VM; monitor.c: restoring one). QEMU is
 * isola's own child here, but its replies are still bounded: a line longer than the buffer,
 * or no reply within the deadline, is an error.
 */
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/fdio.h"
#include "vm/vm.h"

/* The next line QEMU sends, parsed, within the deadline. */
static json_t *read_message(struct vm_qmp *q, struct isola_err *err) {
  for (;;) {
    char *nl = memchr(q->buf, '\n', q->len);
    if (nl) {
      size_t n = (size_t)(nl - q->buf) + 1;
      json_error_t je;
      json_t *msg = json_loadb(q->buf, n - 1, 0, &je);
      memmove(q->buf, q->buf + n, q->len - n);
      q->len -= n;
      if (!json_is_object(msg)) {
        json_decref(msg);
        isola_fail(err, EPROTO, "QMP: a reply that is not a JSON object");
        return NULL;
      }
      return msg;
    }
    if (q->len == sizeof q->buf) {
      isola_fail(err, EPROTO, "QMP: a reply longer than %zu bytes", sizeof q->buf);
      return NULL;
    }
    int64_t left = q->deadline - vm_now_ms();
    struct pollfd p = {.fd = q->fd, .events = POLLIN};
    int r = left > 0 ? poll(&p, 1, (int)left) : 0;
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      isola_fail(err, ETIMEDOUT, "QMP: no reply from QEMU in time");
      return NULL;
    }
    ssize_t got = r < 0 ? -1 : read(q->fd, q->buf + q->len, sizeof q->buf - q->len);
    if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (got <= 0) {
      isola_fail_errno(err, got < 0 ? errno : EPIPE, "QMP: read from QEMU%s",
                       got == 0 ? ": QEMU went away" : "");
      return NULL;
    }
    q->len += (size_t)got;
  }
}

int vm_qmp_open(struct vm_qmp *q, int fd, int timeout_ms, struct isola_err *err) {
  q->fd = fd;
  q->len = 0;
  q->timeout_ms = timeout_ms;
  q->deadline = vm_now_ms() + timeout_ms;
  json_t *greeting = read_message(q, err);
  if (!greeting) return -1;
  bool ok = json_object_get(greeting, "QMP") != NULL;
  json_decref(greeting);
  if (!ok) return isola_fail(err, EPROTO, "QMP: QEMU did not greet");
  return vm_qmp_call(q, "{\"execute\":\"qmp_capabilities\"}", -1, NULL, err);
}

int vm_qmp_call(struct vm_qmp *q, const char *command, int pass_fd, json_t **ret,
                struct isola_err *err) {
  q->deadline = vm_now_ms() + q->timeout_ms;
  size_t len = strlen(command);
  char line[1024];
  if (len + 2 > sizeof line) return isola_fail(err, E2BIG, "QMP: command too long");
  memcpy(line, command, len);
  line[len++] = '\n';
  if (pass_fd >= 0) {
    /* getfd: the descriptor travels with the command's bytes. */
    if (vm_send_fds(q->fd, line, len, &pass_fd, 1) < 0)
      return isola_fail_errno(err, errno ? errno : EIO, "QMP: send");
  } else if (write_all_fd(q->fd, line, len) < 0) {
    return isola_fail_errno(err, errno, "QMP: send");
  }
  for (;;) {
    json_t *msg = read_message(q, err);
    if (!msg) return -1;
    json_t *e = json_object_get(msg, "error");
    if (e) {
      const char *desc = json_string_value(json_object_get(e, "desc"));
      isola_fail(err, EIO, "QMP: %.*s: %s", (int)strcspn(command, ","), command,
                 desc ? desc : "error");
      json_decref(msg);
      return -1;
    }
    json_t *r = json_object_get(msg, "return");
    if (r) {
      if (ret) *ret = json_incref(r);
      json_decref(msg);
      return 0;
    }
    json_decref(msg); /* an event */
  }
}
