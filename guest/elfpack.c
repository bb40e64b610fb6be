/* Build-time tool: rewrites the guest's vmlinux so that QEMU maps and copies less of it.
 *
 *   elfpack [--empty-btf] IN OUT
 *   elfpack --ram-image SIZE_MIB IN IMAGE STUB
 *
 * QEMU's ELF loader (PVH boot) mmaps the whole file and copies every PT_LOAD's file bytes
 * into guest RAM, so each file page of a segment ends up resident twice: in QEMU's mapping of
 * the file and in guest RAM. Debian's vmlinux has ~27 MiB of whole zero pages inside its
 * segments (.bss and .brk written out as file data because .init.scratch follows them, the
 * padding between sections, .orc_lookup). Guest RAM is zero when the VM starts, so those pages
 * need no loading at all: each PT_LOAD is split into the runs of pages that hold data, and
 * runs of at least ZERO_RUN_MIN zero pages are left out (the guest finds zeros there; the
 * kernel zeroes .bss itself anyway). The first and last page of the image stay covered, so
 * QEMU computes the same image bounds. Section headers are dropped (QEMU only reads them for
 * symbols, and this vmlinux has none); PT_NOTE is kept (the PVH entry point is a note).
 *
 * --ram-image lays the kernel out as guest RAM instead, so that QEMU need not copy it at all
 * (docs/vm.md, "Memory"): IMAGE is a sparse file of SIZE_MIB MiB holding each PT_LOAD's file
 * bytes at its physical address (zeros elsewhere: holes), which QEMU maps privately as the
 * guest's RAM (memory-backend-file, share=off): the guest reads the kernel straight from the
 * page cache, which all VMs share, and only the pages it writes become its own. STUB is what
 * QEMU is given as -kernel to boot it through PVH: an ELF with the kernel's notes (the PVH
 * entry point is one) and one PT_LOAD, the kernel's first page, which QEMU writes over the
 * same bytes in RAM.
 *
 * --empty-btf also empties .BTF (4 MiB of type information only BPF tooling reads; see
 * empty_btf() and docs/vm.md), whose pages then are zero and left out too.
 *
 * The input is hostile only in the sense of "not what we expect": anything but a 64-bit
 * little-endian x86-64 executable with sane program headers is refused, and every read is
 * checked against the file's size.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fdio.h"

#define PAGE 4096u
#define ZERO_RUN_MIN 16u /* pages: shorter zero runs stay in (fewer, larger segments) */
#define MAX_IN_PHDRS 64u
#define MAX_OUT_PHDRS 1024u

struct run {
  uint64_t off, len;    /* in the input file */
  uint64_t vaddr, paddr;
  uint64_t memsz;
  uint32_t flags;
};

static const uint8_t *in;
static size_t in_size;

static int fail(const char *what) {
  fprintf(stderr, "elfpack: %s\n", what);
  return 1;
}

static bool page_is_zero(uint64_t off, uint64_t len) {
  static const uint8_t zero[PAGE];
  return memcmp(in + off, zero, len) == 0;
}

/* --empty-btf: the section .BTF becomes a valid BTF blob of the same size that describes no
 * types (a header, then a string section of NUL bytes), so that its pages are zero and left
 * out. The kernel still parses it at boot (kfunc registration) and finds nothing to complain
 * about; BPF programs that need the kernel's types cannot be loaded in the guest. */
static int empty_btf(uint8_t *data, const Elf64_Ehdr *eh) {
  if (eh->e_shentsize != sizeof(Elf64_Shdr) || eh->e_shoff > in_size ||
      (in_size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum || eh->e_shstrndx >= eh->e_shnum)
    return fail("--empty-btf: bad section header table");
  Elf64_Shdr strtab;
  memcpy(&strtab, data + eh->e_shoff + eh->e_shstrndx * sizeof strtab, sizeof strtab);
  if (strtab.sh_offset > in_size || strtab.sh_size > in_size - strtab.sh_offset)
    return fail("--empty-btf: bad section name table");
  for (unsigned i = 0; i < eh->e_shnum; i++) {
    Elf64_Shdr sh;
    memcpy(&sh, data + eh->e_shoff + i * sizeof sh, sizeof sh);
    if (sh.sh_name >= strtab.sh_size) continue;
    const char *n = (const char *)data + strtab.sh_offset + sh.sh_name;
    size_t max = strtab.sh_size - sh.sh_name;
    if (strnlen(n, max) == max || strcmp(n, ".BTF")) continue;
    if (sh.sh_type == SHT_NOBITS || sh.sh_offset > in_size || sh.sh_size > in_size - sh.sh_offset ||
        sh.sh_size < 32 || sh.sh_size > UINT32_MAX)
      return fail("--empty-btf: .BTF has no usable file data");
    /* struct btf_header: u16 magic, u8 version, u8 flags, u32 hdr_len, type_off, type_len,
     * str_off, str_len (little-endian). */
    uint8_t *p = data + sh.sh_offset;
    memset(p, 0, sh.sh_size);
    uint32_t hdr[6] = {0x0001eb9fu /* magic 0xeb9f, version 1, flags 0 */, 24, 0, 0, 0,
                       (uint32_t)sh.sh_size - 24};
    memcpy(p, hdr, sizeof hdr);
    return 0;
  }
  return fail("--empty-btf: no section .BTF");
}

/* Appends the piece of segment `ph` at `at` (from its start) with `filesz` bytes of file data
 * and `memsz` bytes in memory; merged into the previous piece when they touch. */
static int add_run(struct run *runs, size_t *n, const Elf64_Phdr *ph, uint64_t at, uint64_t filesz,
                   uint64_t memsz) {
  struct run *prev = *n ? &runs[*n - 1] : NULL;
  if (prev && prev->len == prev->memsz && prev->off + prev->len == ph->p_offset + at &&
      prev->paddr + prev->memsz == ph->p_paddr + at && prev->flags == ph->p_flags && filesz) {
    prev->len += filesz;
    prev->memsz += memsz;
    return 0;
  }
  if (*n == MAX_OUT_PHDRS) return -1;
  runs[(*n)++] = (struct run){ph->p_offset + at, filesz, ph->p_vaddr + at, ph->p_paddr + at, memsz,
                              ph->p_flags};
  return 0;
}

/* A new file is written as `path`.tmp and renamed over `path` once complete. */
static int create_file(const char *path, int *fd, char *tmp, size_t tmplen) {
  snprintf(tmp, tmplen, "%s.tmp", path);
  *fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (*fd < 0) perror(tmp);
  return *fd < 0 ? -1 : 0;
}

static int finish_file(int fd, const char *tmp, const char *path, bool ok) {
  if (!ok || fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
    perror(path);
    unlink(tmp);
    return 1;
  }
  return 0;
}

/* --ram-image: see the top of the file. `eh` was checked, its program headers are not yet. */
static int ram_image(const Elf64_Ehdr *eh, uint64_t size, const char *image, const char *stub) {
  Elf64_Phdr first = {0}, note = {0};
  bool have_first = false, have_note = false;
  for (unsigned i = 0; i < eh->e_phnum; i++) {
    Elf64_Phdr ph;
    memcpy(&ph, in + eh->e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_offset > in_size || ph.p_filesz > in_size - ph.p_offset)
      return fail("a segment runs past the end of the file");
    if (ph.p_type == PT_NOTE && !have_note) note = ph, have_note = true;
    if (ph.p_type != PT_LOAD || !ph.p_filesz) continue;
    if (ph.p_paddr > size || ph.p_filesz > size - ph.p_paddr)
      return fail("--ram-image: the kernel does not fit in SIZE_MIB");
    if (!have_first || ph.p_paddr < first.p_paddr) first = ph, have_first = true;
  }
  if (!have_first || !have_note) return fail("--ram-image: no PT_LOAD with data, or no PT_NOTE");

  char tmp[4200];
  int fd;
  if (create_file(image, &fd, tmp, sizeof tmp) < 0) return 1;
  bool ok = ftruncate(fd, (off_t)size) == 0;
  uint64_t loaded = 0;
  for (unsigned i = 0; ok && i < eh->e_phnum; i++) {
    Elf64_Phdr ph;
    memcpy(&ph, in + eh->e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_type != PT_LOAD || !ph.p_filesz) continue;
    ok = pwrite(fd, in + ph.p_offset, ph.p_filesz, (off_t)ph.p_paddr) == (ssize_t)ph.p_filesz;
    loaded += ph.p_filesz;
  }
  if (finish_file(fd, tmp, image, ok)) return 1;

  /* The stub: header, two program headers, the notes, then the first page at an offset
   * congruent to its address modulo the page size. */
  uint64_t page_len = first.p_filesz < PAGE ? first.p_filesz : PAGE;
  uint64_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
  uint64_t page_off = (note_off + note.p_filesz + PAGE - 1) / PAGE * PAGE + first.p_vaddr % PAGE;
  Elf64_Ehdr oh = *eh;
  oh.e_phoff = sizeof(Elf64_Ehdr);
  oh.e_phnum = 2;
  oh.e_shoff = 0;
  oh.e_shnum = 0;
  oh.e_shstrndx = SHN_UNDEF;
  Elf64_Phdr ph[2] = {first, note};
  ph[0].p_offset = page_off;
  ph[0].p_filesz = ph[0].p_memsz = page_len;
  ph[1].p_offset = note_off;
  if (create_file(stub, &fd, tmp, sizeof tmp) < 0) return 1;
  ok = write_all_fd(fd, &oh, sizeof oh) == 0 && write_all_fd(fd, ph, sizeof ph) == 0 &&
       write_all_fd(fd, in + note.p_offset, note.p_filesz) == 0 &&
       pwrite(fd, in + first.p_offset, page_len, (off_t)page_off) == (ssize_t)page_len;
  if (finish_file(fd, tmp, stub, ok)) return 1;
  fprintf(stderr, "elfpack: %s: %.1f MiB of kernel in a %llu MiB RAM image; %s: its PVH entry\n",
          image, (double)loaded / (1 << 20), (unsigned long long)(size >> 20), stub);
  return 0;
}

int main(int argc, char **argv) {
  int a = 1;
  bool want_empty_btf = a < argc && !strcmp(argv[a], "--empty-btf");
  if (want_empty_btf) a++;
  unsigned long long ram_mib = 0;
  if (!want_empty_btf && a < argc && !strcmp(argv[a], "--ram-image")) {
    char *end = NULL;
    if (argc - a == 5) ram_mib = strtoull(argv[a + 1], &end, 10);
    if (!ram_mib || *end || ram_mib > (1ull << 24)) {
      fprintf(stderr, "usage: %s --ram-image SIZE_MIB IN-vmlinux OUT-image OUT-stub\n", argv[0]);
      return 2;
    }
    a += 2;
  } else if (argc - a != 2) {
    fprintf(stderr,
            "usage: %s [--empty-btf] IN-vmlinux OUT-vmlinux\n"
            "       %s --ram-image SIZE_MIB IN-vmlinux OUT-image OUT-stub\n",
            argv[0], argv[0]);
    return 2;
  }
  const char *in_path = argv[a], *out_path = argv[a + 1];
  int fd = open(in_path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) < 0) {
    perror(in_path);
    return 1;
  }
  in_size = (size_t)st.st_size;
  if (in_size < sizeof(Elf64_Ehdr)) return fail("input too small for an ELF header");
  /* Private and writable: --empty-btf edits the copy, never the file. */
  uint8_t *data = mmap(NULL, in_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  close(fd);
  in = data;
  if (data == MAP_FAILED) {
    perror("mmap");
    return 1;
  }
  Elf64_Ehdr eh;
  memcpy(&eh, in, sizeof eh);
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC)
    return fail("not a 64-bit little-endian x86-64 executable");
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > MAX_IN_PHDRS ||
      eh.e_phoff > in_size || (in_size - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
    return fail("bad program header table");
  if (want_empty_btf && empty_btf(data, &eh)) return 1;
  if (ram_mib) return ram_image(&eh, ram_mib << 20, out_path, argv[a + 2]);

  static struct run runs[MAX_OUT_PHDRS];
  size_t nruns = 0;
  Elf64_Phdr note = {0};
  bool have_note = false;
  uint64_t kept = 0, total = 0;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    memcpy(&ph, in + eh.e_phoff + i * sizeof ph, sizeof ph);
    if (ph.p_offset > in_size || ph.p_filesz > in_size - ph.p_offset)
      return fail("a segment runs past the end of the file");
    if (ph.p_type == PT_NOTE) {
      if (have_note) return fail("more than one PT_NOTE");
      note = ph;
      have_note = true;
      continue;
    }
    if (ph.p_type != PT_LOAD) continue;
    if (ph.p_memsz < ph.p_filesz) return fail("a segment's memsz is below its filesz");
    total += ph.p_filesz;
    /* Walk the file bytes page by page (pages counted from the segment's start), in runs of
     * zero and non-zero pages. */
    uint64_t pos = 0;
    while (pos < ph.p_filesz) {
      uint64_t len = ph.p_filesz - pos < PAGE ? ph.p_filesz - pos : PAGE;
      bool zero = page_is_zero(ph.p_offset + pos, len);
      uint64_t end = pos + len;
      while (end < ph.p_filesz) {
        uint64_t l = ph.p_filesz - end < PAGE ? ph.p_filesz - end : PAGE;
        if (page_is_zero(ph.p_offset + end, l) != zero) break;
        end += l;
      }
      if (!zero || end - pos < (uint64_t)ZERO_RUN_MIN * PAGE) {
        if (add_run(runs, &nruns, &ph, pos, end - pos, end - pos) < 0) return fail("too many segments");
        kept += end - pos;
      } else {
        /* Left out, but the segment's first and last pages stay covered (zero-filled by
         * QEMU): the image's bounds, which QEMU reports to the firmware, do not move. */
        if (pos == 0 && add_run(runs, &nruns, &ph, 0, 0, PAGE) < 0) return fail("too many segments");
        if (end == ph.p_filesz && ph.p_memsz == ph.p_filesz &&
            add_run(runs, &nruns, &ph, end - PAGE, 0, PAGE) < 0)
          return fail("too many segments");
      }
      pos = end;
    }
    /* memsz beyond filesz: zero-fill only, like the zero runs (guest RAM starts zeroed);
     * its last page stays covered so that the image ends where it did. */
    if (ph.p_memsz - ph.p_filesz >= PAGE &&
        add_run(runs, &nruns, &ph, (ph.p_memsz - PAGE) & ~(uint64_t)(PAGE - 1), 0,
                ph.p_memsz - ((ph.p_memsz - PAGE) & ~(uint64_t)(PAGE - 1))) < 0)
      return fail("too many segments");
  }
  if (!nruns) return fail("no PT_LOAD segment");
  if (!have_note) return fail("no PT_NOTE (the PVH entry point): QEMU cannot boot it");

  /* Layout: header, program headers, then each run's bytes at an offset congruent to its
   * address modulo the page size, then the note's bytes. */
  size_t nph = nruns + 1;
  uint64_t off = sizeof(Elf64_Ehdr) + nph * sizeof(Elf64_Phdr);
  static Elf64_Phdr out[MAX_OUT_PHDRS + 1];
  for (size_t i = 0; i < nruns; i++) {
    uint64_t want = runs[i].vaddr % PAGE;
    off = (off + PAGE - 1) / PAGE * PAGE + want;
    out[i] = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = runs[i].flags, .p_offset = off,
                          .p_vaddr = runs[i].vaddr, .p_paddr = runs[i].paddr,
                          .p_filesz = runs[i].len, .p_memsz = runs[i].memsz, .p_align = PAGE};
    off += runs[i].len;
  }
  out[nruns] = note;
  out[nruns].p_offset = off;
  off += note.p_filesz;
  Elf64_Ehdr oh = eh;
  oh.e_phoff = sizeof(Elf64_Ehdr);
  oh.e_phnum = (Elf64_Half)nph;
  oh.e_shoff = 0;
  oh.e_shnum = 0;
  oh.e_shstrndx = SHN_UNDEF;

  char tmp[4200];
  int o;
  if (create_file(out_path, &o, tmp, sizeof tmp) < 0) return 1;
  bool ok = write_all_fd(o, &oh, sizeof oh) == 0 && write_all_fd(o, out, nph * sizeof *out) == 0;
  for (size_t i = 0; ok && i < nph; i++) {
    const uint8_t *src = i < nruns ? in + runs[i].off : in + note.p_offset;
    ok = pwrite(o, src, out[i].p_filesz, (off_t)out[i].p_offset) == (ssize_t)out[i].p_filesz;
  }
  if (finish_file(o, tmp, out_path, ok)) return 1;
  fprintf(stderr, "elfpack: %s: %zu segments, %.1f of %.1f MiB of file data kept\n", out_path,
          nruns, (double)kept / (1 << 20), (double)total / (1 << 20));
  return 0;
}
