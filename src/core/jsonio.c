/* JSON through file descriptors; see jsonio.h. */
#include "core/jsonio.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/json_parse.h"

#define JSON_MAX_BYTES (64u << 20) /* state and config files; anything larger is not ours */

char *read_text_fd(int fd, size_t *len_out, json_error_t *jerr) {
  struct stat sb;
  /* The size and one: the read that returns 0 then finds room, with no realloc. */
  size_t cap = fstat(fd, &sb) == 0 && sb.st_size > 0 ? (size_t)sb.st_size + 2 : 4096, len = 0;
  _cleanup_free_ char *buf = NULL;
  for (;;) {
    if (cap > JSON_MAX_BYTES) {
      snprintf(jerr->text, sizeof jerr->text, "larger than %u bytes", JSON_MAX_BYTES);
      errno = EFBIG;
      return NULL;
    }
    char *nb = realloc(buf, cap);
    if (!nb) {
      snprintf(jerr->text, sizeof jerr->text, "out of memory");
      errno = ENOMEM;
      return NULL;
    }
    buf = nb;
    ssize_t n = read(fd, buf + len, cap - 1 - len); /* one byte kept for the NUL */
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snprintf(jerr->text, sizeof jerr->text, "read: %s", strerror(errno));
      return NULL;
    }
    if (n == 0) break;
    len += (size_t)n;
    if (len == cap - 1) cap *= 2;
  }
  buf[len] = 0;
  *len_out = len;
  return steal_ptr(&buf);
}

json_t *json_read_fd(int fd, json_error_t *jerr) {
  size_t len;
  _cleanup_free_ char *buf = read_text_fd(fd, &len, jerr);
  return buf ? json_parse(buf, len, jerr) : NULL;
}

int json_write_fd(int fd, const json_t *j, size_t flags) {
  _cleanup_free_ char *text = json_dumps(j, flags);
  if (!text) return errno = ENOMEM, -1;
  return write_all_fd(fd, text, strlen(text));
}
