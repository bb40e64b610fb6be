/* fuzz_vm_proto: the vm control protocol's decoder (guest/proto.h, src/vm/proto.c), which the
 * host runs on every byte a guest sends. Input: a flags byte (bit 0: direction; bit 1: treat
 * the rest as one CONFIG payload instead of a frame stream), then the bytes.
 *
 * Checked: a frame is either taken whole, waited for, or refused as soon as its header is
 * there; what is returned points inside the buffer; a frame one byte short is waited for, not
 * misread; a re-encoded header is byte-identical; CONFIG records and mount values stay inside
 * their frame and their strings are terminated inside it. */
#include <stdbool.h>
#include <string.h>

#include "../../guest/proto.h"
#include "fuzz.h"

static bool inside(const uint8_t *p, size_t n, const uint8_t *base, size_t len) {
  return p >= base && (size_t)(p - base) <= len && n <= len - (size_t)(p - base);
}

static bool cstr_inside(const char *s, const uint8_t *base, size_t len) {
  const uint8_t *p = (const uint8_t *)s;
  if (!inside(p, 1, base, len)) return false;
  return memchr(p, 0, len - (size_t)(p - base)) != NULL;
}

static void check_records(const uint8_t *payload, size_t len) {
  size_t pos = 0, n = 0;
  struct vm_record r;
  const char *why = NULL;
  int got;
  while ((got = vm_record_next(payload, len, &pos, &r, &why)) == 1) {
    FUZZ_ASSERT(inside(r.value, r.len, payload, len));
    FUZZ_ASSERT(pos <= len && ++n <= len / VM_FRAME_HEADER);
    if (r.tag == VM_C_MOUNT) {
      struct vm_mount mt;
      if (vm_mount_decode(&r, &mt, &why) == 0) {
        FUZZ_ASSERT(cstr_inside(mt.destination, r.value, r.len) && mt.destination[0] == '/');
        FUZZ_ASSERT(cstr_inside(mt.fstype, r.value, r.len));
        FUZZ_ASSERT(cstr_inside(mt.source, r.value, r.len));
        FUZZ_ASSERT(cstr_inside(mt.data, r.value, r.len));
        FUZZ_ASSERT(inside(mt.content, mt.content_len, r.value, r.len));
        FUZZ_ASSERT(mt.kind == VM_M_FILE || mt.content_len == 0);
      } else {
        FUZZ_ASSERT(why != NULL);
      }
    } else if (vm_record_check_string(&r, &why) == 0) {
      FUZZ_ASSERT(!memchr(r.value, 0, r.len));
    }
  }
  FUZZ_ASSERT(got == 0 || (got == -1 && why != NULL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  enum vm_dir dir = (data[0] & 1) ? VM_TO_HOST : VM_TO_GUEST;
  const uint8_t *buf = data + 1;
  size_t len = size - 1;
  if (data[0] & 2) {
    check_records(buf, len);
    return 0;
  }
  size_t pos = 0;
  for (;;) {
    struct vm_frame f;
    const char *why = NULL;
    long used = vm_frame_parse(dir, buf + pos, len - pos, &f, &why);
    if (used == 0) {
      FUZZ_ASSERT(len - pos < VM_FRAME_HEADER ||
                  len - pos - VM_FRAME_HEADER < vm_get_u32(buf + pos + 1));
      break;
    }
    if (used < 0) {
      FUZZ_ASSERT(why != NULL && len - pos >= VM_FRAME_HEADER);
      FUZZ_ASSERT(vm_frame_check(dir, buf[pos], vm_get_u32(buf + pos + 1)) != NULL);
      break;
    }
    FUZZ_ASSERT((size_t)used == VM_FRAME_HEADER + (size_t)f.len && (size_t)used <= len - pos);
    FUZZ_ASSERT(f.payload == buf + pos + VM_FRAME_HEADER && f.type == buf[pos]);
    FUZZ_ASSERT(vm_frame_check(dir, f.type, f.len) == NULL);
    uint8_t hdr[VM_FRAME_HEADER];
    vm_frame_header(hdr, f.type, f.len);
    FUZZ_ASSERT(memcmp(hdr, buf + pos, VM_FRAME_HEADER) == 0);
    /* Streaming: one byte fewer must mean "wait", never a different frame. */
    struct vm_frame g;
    FUZZ_ASSERT(vm_frame_parse(dir, buf + pos, (size_t)used - 1, &g, &why) == 0);
    if (f.type == VM_CONFIG) check_records(f.payload, f.len);
    pos += (size_t)used;
  }
  return 0;
}
