/* The control protocol between isola's vm monitor (host) and its agent (PID 1 of the guest),
 * shared by both sides. It runs over one virtio-serial port, `isola.ctl`.
 *
 * A frame is `u8 type, u32 little-endian length, payload`. Every frame a side receives is
 * checked against the table of its direction (vm_frame_check): an unknown type, a length over
 * that type's cap or a fixed-size payload of the wrong size is a protocol error, and the
 * connection is dropped. The host treats every guest frame as hostile: the decoder takes a
 * cursor and an end and never reads past them, and nothing it returns points outside the
 * buffer it was given.
 *
 * The conversation (the same numbers appear in guest/agent.c and src/vm/monitor.c):
 *   1. guest: HELLO (protocol version, kernel release) once the port is open.
 *   2. host:  CONFIG (the container to prepare: a list of records, see VM_C_*).
 *   3. guest: prepares it (rootfs over 9p, mounts, namespaces, user, ...), then READY, or
 *             ERROR with the reason. From here on it sends HEARTBEAT every VM_HEARTBEAT_MS.
 *   4. host:  RUN (on `isola start`).
 *   5. guest: STARTED once the program was executed (or ERROR).
 *   6. both:  STDIN (host, within the guest's credit) / STDIN_CREDIT (guest, as the program
 *             reads), STDOUT / STDERR (guest; an empty one is EOF), SIGNAL and WINSIZE (host).
 *   7. guest: EXIT with the status (0-255, 128+N after signal N) after both outputs reached EOF.
 *   8. host:  ACK, and stops QEMU: everything the guest had to say came before EXIT. (A guest
 *             that gets the ACK powers off; the ack makes sure nothing queued is lost, as
 *             power-off drops whatever the port still holds.)
 * SIGNAL is valid at any point after 2 (a created container can be killed).
 *
 * A template (src/vm/template.c) is a guest stopped between 1 and 2 and saved, which later
 * VMs start from instead of booting:
 *   T1. host:  PARK (after HELLO): the agent finishes what it does while waiting for CONFIG
 *              (the 9p modules, the loopback), answers PARKED and waits. The host saves the VM.
 *   T2. host:  RESUME, first thing to a VM restored from a template: the time (the saved
 *              guest's clock stopped when it was saved) and 64 random bytes the agent adds to
 *              the kernel's pool and reseeds its generator with (every VM restored from one
 *              template would otherwise draw the same random numbers). Then 2. as usual.
 *
 * `isola exec` adds processes to a prepared container, each with its own streams, named by
 * an id the host picks (1, 2, ...; never reused within a VM):
 *   E1. host:  EXEC (id, then the process as CONFIG records: args, env, cwd, user, umask,
 *              rlimits, terminal, noNewPrivileges), valid from READY until EXIT.
 *   E2. guest: EXEC_STARTED once it was executed in the container's namespaces, or
 *              EXEC_ERROR with the reason (the VM goes on).
 *   E3. both:  EXEC_STDIN (host, within the guest's credit) / EXEC_CREDIT, EXEC_STDOUT /
 *              EXEC_STDERR (guest; empty = EOF), EXEC_SIGNAL and EXEC_WINSIZE (host).
 *   E4. guest: EXEC_EXIT with its status after both its outputs reached EOF.
 * When the container's process exits, the kernel kills the rest of its pid namespace; the
 * guest sends EXEC_EXIT for every exec still there before step 7's EXIT.
 */
#ifndef ISOLA_VM_PROTO_H
#define ISOLA_VM_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define VM_PROTO_VERSION 3
#define VM_PORT_NAME "isola.ctl"
#define VM_FRAME_HEADER 5
#define VM_MAX_PAYLOAD (1u << 20) /* the largest frame of any type (CONFIG) */
#define VM_DATA_MAX (64u << 10)   /* STDIN / STDOUT / STDERR chunks */
#define VM_STDIN_WINDOW (256u << 10) /* stdin bytes the host may have in flight */
#define VM_TEXT_MAX 4096u         /* ERROR text */
#define VM_HEARTBEAT_MS 2000
#define VM_MAX_EXECS 16u          /* execs running at once in one VM */
#define VM_RESUME_ENTROPY 64u     /* random bytes in a RESUME */
#define VM_RESUME_LEN (12u + VM_RESUME_ENTROPY)

enum vm_frame_type {
  /* host -> guest */
  VM_CONFIG = 0x01,
  VM_RUN = 0x02,
  VM_STDIN = 0x03,   /* data; empty = EOF */
  VM_SIGNAL = 0x04,  /* u32 signal, u8 all */
  VM_WINSIZE = 0x05, /* u16 rows, u16 cols */
  VM_ACK = 0x06,
  VM_EXEC = 0x07,         /* u32 id, then CONFIG records */
  VM_EXEC_STDIN = 0x08,   /* u32 id, data; no data = EOF */
  VM_EXEC_SIGNAL = 0x09,  /* u32 id, u32 signal */
  VM_EXEC_WINSIZE = 0x0a, /* u32 id, u16 rows, u16 cols */
  VM_PARK = 0x0b,         /* T1 */
  VM_RESUME = 0x0c,       /* T2: u64 seconds, u32 nanoseconds (CLOCK_REALTIME), entropy */
  /* guest -> host */
  VM_HELLO = 0x81,        /* u32 version, then the kernel release (text) */
  VM_READY = 0x82,
  VM_STARTED = 0x83,
  VM_STDOUT = 0x84,       /* data; empty = EOF */
  VM_STDERR = 0x85,       /* data; empty = EOF */
  VM_STDIN_CREDIT = 0x86, /* u32 bytes the program consumed (or that were dropped) */
  VM_EXIT = 0x87,         /* u32 status as a shell reports it */
  VM_ERROR = 0x88,        /* text */
  VM_HEARTBEAT = 0x89,
  VM_EXEC_STARTED = 0x8a, /* u32 id */
  VM_EXEC_STDOUT = 0x8b,  /* u32 id, data; no data = EOF */
  VM_EXEC_STDERR = 0x8c,  /* u32 id, data; no data = EOF */
  VM_EXEC_CREDIT = 0x8d,  /* u32 id, u32 bytes consumed */
  VM_EXEC_EXIT = 0x8e,    /* u32 id, u32 status */
  VM_EXEC_ERROR = 0x8f,   /* u32 id, text: the exec could not be started */
  VM_PARKED = 0x90,       /* T1 */
};

enum vm_dir { VM_TO_GUEST, VM_TO_HOST };

struct vm_frame {
  uint8_t type;
  uint32_t len;
  const uint8_t *payload; /* points into the buffer given to vm_frame_parse */
};

/* Is a frame of `type` and `len` valid in direction `dir`? NULL if so, else why not. */
const char *vm_frame_check(enum vm_dir dir, uint8_t type, uint32_t len);

/* Parses one frame from buf[0..avail). Returns the bytes it takes (header + payload) with *f
 * filled, 0 when more bytes are needed, or -1 with *why set when the bytes can never form a
 * valid frame (checked as soon as the header is there, before the payload arrives). */
long vm_frame_parse(enum vm_dir dir, const uint8_t *buf, size_t avail, struct vm_frame *f,
                    const char **why);

/* Writes a frame header for `type` and `len` into out[0..VM_FRAME_HEADER). */
void vm_frame_header(uint8_t out[VM_FRAME_HEADER], uint8_t type, uint32_t len);

/* Little-endian helpers for payloads. */
static inline uint32_t vm_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t vm_get_u64(const uint8_t *p) {
  return (uint64_t)vm_get_u32(p) | (uint64_t)vm_get_u32(p + 4) << 32;
}
static inline void vm_put_u32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}
static inline void vm_put_u64(uint8_t *p, uint64_t v) {
  vm_put_u32(p, (uint32_t)v);
  vm_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* ---- CONFIG: a sequence of records `u8 tag, u32 LE length, value` ------------------------ */

enum vm_config_tag {
  VM_C_ARG = 1,        /* string, repeated: process.args */
  VM_C_ENV = 2,        /* string, repeated: process.env */
  VM_C_CWD = 3,        /* string */
  VM_C_UID = 4,        /* u32 */
  VM_C_GID = 5,        /* u32 */
  VM_C_GROUP = 6,      /* u32, repeated: additionalGids */
  VM_C_UMASK = 7,      /* u32 */
  VM_C_HOSTNAME = 8,   /* string */
  VM_C_DOMAINNAME = 9, /* string */
  VM_C_RLIMIT = 10,    /* u32 resource, u64 soft, u64 hard */
  VM_C_TERMINAL = 11,  /* u16 rows, u16 cols (0 = unknown) */
  VM_C_ROOT_RO = 12,   /* empty */
  VM_C_NAMESPACES = 13, /* u32 CLONE_NEW* flags beyond mount and pid (always made) */
  VM_C_MOUNT = 14,     /* u8 kind, u64 flags, u64 propagation, then strings (see below) */
  VM_C_MASKED = 15,    /* string: maskedPaths */
  VM_C_READONLY = 16,  /* string: readonlyPaths */
  VM_C_SYSCTL = 17,    /* "key\0value" */
  VM_C_NO_NEW_PRIVS = 18, /* empty */
};

/* VM_C_MOUNT value: u8 kind, u64 MS_* flags, u64 MS_* propagation, then four NUL-terminated
 * strings: destination, fstype, source, data; for VM_M_FILE the file's bytes follow. */
enum vm_mount_kind {
  VM_M_FS = 1,    /* mount(source, destination, fstype, flags, data) */
  VM_M_SHARE = 2, /* a host directory shared as 9p tag `source`, bind-mounted (flags: ro...) */
  VM_M_FILE = 3,  /* a host file, copied at create time */
};

#define VM_C_MAX_RECORDS 8192u
#define VM_MOUNT_FIXED 17u /* u8 + u64 + u64 */

struct vm_record {
  uint8_t tag;
  uint32_t len;
  const uint8_t *value;
};

/* Reads the next record at *pos of payload[0..len); returns 1 with *r filled, 0 at the end,
 * -1 (why set) when a record is truncated or runs past the end. */
int vm_record_next(const uint8_t *payload, size_t len, size_t *pos, struct vm_record *r,
                   const char **why);

/* A VM_C_MOUNT value, split. Strings point into the record (NUL-terminated there). */
struct vm_mount {
  uint8_t kind;
  uint64_t flags, propagation;
  const char *destination, *fstype, *source, *data;
  const uint8_t *content; /* VM_M_FILE */
  size_t content_len;
};
int vm_mount_decode(const struct vm_record *r, struct vm_mount *m, const char **why);

/* A string record's value must hold no NUL (the reader copies it and adds one). */
int vm_record_check_string(const struct vm_record *r, const char **why);

#endif
