/* The control protocol's framing and record decoding (see guest/proto.h). Built into isola
 * and into the static guest agent: plain C, no allocation, no I/O. */
#include "../../guest/proto.h"

#include <string.h>

/* Per type: the direction it travels, and its payload's minimum and maximum length. */
static const struct {
  uint8_t type;
  enum vm_dir dir;
  uint32_t min, max;
} frame_table[] = {
    {VM_CONFIG, VM_TO_GUEST, 0, VM_MAX_PAYLOAD},
    {VM_RUN, VM_TO_GUEST, 0, 0},
    {VM_STDIN, VM_TO_GUEST, 0, VM_DATA_MAX},
    {VM_SIGNAL, VM_TO_GUEST, 5, 5},
    {VM_WINSIZE, VM_TO_GUEST, 4, 4},
    {VM_ACK, VM_TO_GUEST, 0, 0},
    {VM_EXEC, VM_TO_GUEST, 4, VM_MAX_PAYLOAD},
    {VM_EXEC_STDIN, VM_TO_GUEST, 4, 4 + VM_DATA_MAX},
    {VM_EXEC_SIGNAL, VM_TO_GUEST, 8, 8},
    {VM_EXEC_WINSIZE, VM_TO_GUEST, 8, 8},
    {VM_PARK, VM_TO_GUEST, 0, 0},
    {VM_RESUME, VM_TO_GUEST, VM_RESUME_LEN, VM_RESUME_LEN},
    {VM_HELLO, VM_TO_HOST, 4, 4 + 256},
    {VM_READY, VM_TO_HOST, 0, 0},
    {VM_STARTED, VM_TO_HOST, 0, 0},
    {VM_STDOUT, VM_TO_HOST, 0, VM_DATA_MAX},
    {VM_STDERR, VM_TO_HOST, 0, VM_DATA_MAX},
    {VM_STDIN_CREDIT, VM_TO_HOST, 4, 4},
    {VM_EXIT, VM_TO_HOST, 4, 4},
    {VM_ERROR, VM_TO_HOST, 0, VM_TEXT_MAX},
    {VM_HEARTBEAT, VM_TO_HOST, 0, 0},
    {VM_EXEC_STARTED, VM_TO_HOST, 4, 4},
    {VM_EXEC_STDOUT, VM_TO_HOST, 4, 4 + VM_DATA_MAX},
    {VM_EXEC_STDERR, VM_TO_HOST, 4, 4 + VM_DATA_MAX},
    {VM_EXEC_CREDIT, VM_TO_HOST, 8, 8},
    {VM_EXEC_EXIT, VM_TO_HOST, 8, 8},
    {VM_EXEC_ERROR, VM_TO_HOST, 4, 4 + VM_TEXT_MAX},
    {VM_PARKED, VM_TO_HOST, 0, 0},
};

const char *vm_frame_check(enum vm_dir dir, uint8_t type, uint32_t len) {
  for (size_t i = 0; i < sizeof frame_table / sizeof *frame_table; i++) {
    if (frame_table[i].type != type) continue;
    if (frame_table[i].dir != dir) return "frame type sent in the wrong direction";
    if (len < frame_table[i].min) return "frame shorter than its type requires";
    if (len > frame_table[i].max) return "frame longer than its type allows";
    return NULL;
  }
  return "unknown frame type";
}

long vm_frame_parse(enum vm_dir dir, const uint8_t *buf, size_t avail, struct vm_frame *f,
                    const char **why) {
  if (avail < VM_FRAME_HEADER) return 0;
  uint8_t type = buf[0];
  uint32_t len = vm_get_u32(buf + 1);
  /* Judge the header before waiting for the payload: a hostile length must not make the
   * reader buffer up to 4 GiB. */
  const char *bad = vm_frame_check(dir, type, len);
  if (bad) {
    *why = bad;
    return -1;
  }
  if (avail - VM_FRAME_HEADER < len) return 0;
  f->type = type;
  f->len = len;
  f->payload = buf + VM_FRAME_HEADER;
  return (long)(VM_FRAME_HEADER + (size_t)len);
}

void vm_frame_header(uint8_t out[VM_FRAME_HEADER], uint8_t type, uint32_t len) {
  out[0] = type;
  vm_put_u32(out + 1, len);
}

int vm_record_next(const uint8_t *payload, size_t len, size_t *pos, struct vm_record *r,
                   const char **why) {
  if (*pos == len) return 0;
  if (*pos > len || len - *pos < VM_FRAME_HEADER) {
    *why = "config record header truncated";
    return -1;
  }
  const uint8_t *p = payload + *pos;
  uint32_t n = vm_get_u32(p + 1);
  if (n > len - *pos - VM_FRAME_HEADER) {
    *why = "config record runs past the end of the frame";
    return -1;
  }
  r->tag = p[0];
  r->len = n;
  r->value = p + VM_FRAME_HEADER;
  *pos += VM_FRAME_HEADER + (size_t)n;
  return 1;
}

int vm_record_check_string(const struct vm_record *r, const char **why) {
  if (memchr(r->value, 0, r->len)) {
    *why = "config string holds a NUL byte";
    return -1;
  }
  return 0;
}

/* The NUL-terminated string at *pos of v[0..len); advances past its NUL. */
static const char *take_string(const uint8_t *v, size_t len, size_t *pos) {
  if (*pos >= len) return NULL;
  const uint8_t *nul = memchr(v + *pos, 0, len - *pos);
  if (!nul) return NULL;
  const char *s = (const char *)v + *pos;
  *pos = (size_t)(nul - v) + 1;
  return s;
}

int vm_mount_decode(const struct vm_record *r, struct vm_mount *m, const char **why) {
  if (r->tag != VM_C_MOUNT || r->len < VM_MOUNT_FIXED) {
    *why = "mount record too short";
    return -1;
  }
  const uint8_t *v = r->value;
  m->kind = v[0];
  m->flags = vm_get_u64(v + 1);
  m->propagation = vm_get_u64(v + 9);
  size_t pos = VM_MOUNT_FIXED;
  m->destination = take_string(v, r->len, &pos);
  m->fstype = m->destination ? take_string(v, r->len, &pos) : NULL;
  m->source = m->fstype ? take_string(v, r->len, &pos) : NULL;
  m->data = m->source ? take_string(v, r->len, &pos) : NULL;
  if (!m->data) {
    *why = "mount record: a string is not terminated";
    return -1;
  }
  if (m->kind != VM_M_FS && m->kind != VM_M_SHARE && m->kind != VM_M_FILE) {
    *why = "mount record: unknown kind";
    return -1;
  }
  if (m->destination[0] != '/') {
    *why = "mount record: destination is not absolute";
    return -1;
  }
  m->content = v + pos;
  m->content_len = r->len - pos;
  if (m->kind != VM_M_FILE && m->content_len) {
    *why = "mount record: trailing bytes";
    return -1;
  }
  return 0;
}
