# isola — one GNU Makefile. `make` builds build/isola (+ isola-vm, isola-wasm symlinks),
# `make check` runs every test suite and ends with "N passed, N failed", `make bench` the
# side-by-side benchmarks, `make install PREFIX=...` installs.

PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= -g
# Hardening/warnings: everything below is always on.
override CFLAGS += $(OPT) -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes \
                   -Wmissing-prototypes -Wno-unused-parameter -Wno-format-truncation -D_GNU_SOURCE \
                   -Iinclude -Isrc -MMD -MP
LDLIBS  := -lseccomp -ljansson
B       := build

# isola is linked statically (libseccomp, jansson, libc): it starts faster and maps less, which
# matters for a runtime started once per container. STATIC=0 links dynamically.
STATIC ?= 1
ifeq ($(SANITIZE),1)
STATIC := 0
endif
ifeq ($(STATIC),1)
ISOLA_LDFLAGS := -static
endif

ifeq ($(SANITIZE),1)
override CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override LDFLAGS += -fsanitize=address,undefined
B := build/san
# Every sanitized process of `check` (the CLI that pytest runs, and the children it forks,
# included) writes its reports to files in SAN_LOGS rather than to stderr: a test that expects
# a failure cannot mistake a report for one, and `check` fails when any file is there (see
# SAN_AFTER and tests/fuzz/README.md). The wasm engine's fault handler replaces ASan's and
# hands it the faults that are not a guest's (allow_user_segv_handler).
SAN_LOGS := $(abspath build/san/reports)
export ASAN_OPTIONS := allow_user_segv_handler=1:detect_leaks=1:exitcode=99:log_path=$(SAN_LOGS)/asan
export UBSAN_OPTIONS := print_stacktrace=1:halt_on_error=1:exitcode=99:log_path=$(SAN_LOGS)/ubsan
export LSAN_OPTIONS := suppressions=$(abspath tests/fuzz/lsan.supp):print_suppressions=0
# The vm engine looks for its image next to the binary (build/san/vm): point it at the one
# `vm-image` builds, so that the vm tests run sanitized too.
export ISOLA_VM_DIR ?= $(abspath build/vm)
SAN_BEFORE = rm -rf $(SAN_LOGS) && mkdir -p $(SAN_LOGS) && 
SAN_AFTER = ; rc=$$?; n=$$(ls $(SAN_LOGS) | wc -l); if [ $$n -ne 0 ]; then \
  for f in $(SAN_LOGS)/*; do echo "== $$f"; head -n 40 "$$f"; done; \
  echo "sanitizers: $$n report(s) in $(SAN_LOGS): counted as failed"; rc=1; fi; exit $$rc
endif

CORE_SRCS := $(wildcard src/core/*.c)
CONT_SRCS := $(wildcard src/container/*.c)
VM_SRCS   := $(wildcard src/vm/*.c)
WASMRT_SRCS := $(wildcard src/wasmrt/*.c)
CLI_SRCS  := $(wildcard src/cli/*.c)
WASM_SRCS := $(wildcard src/wasm/*.c)

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))

CORE_OBJS := $(call obj,$(CORE_SRCS))
CONT_OBJS := $(call obj,$(CONT_SRCS))
VM_OBJS   := $(call obj,$(VM_SRCS))
WASMRT_OBJS := $(call obj,$(WASMRT_SRCS))
CLI_OBJS  := $(call obj,$(CLI_SRCS))
WASM_OBJS := $(call obj,$(WASM_SRCS))

LIB_OBJS  := $(CORE_OBJS) $(CONT_OBJS) $(VM_OBJS) $(WASMRT_OBJS)

all: $(B)/isola $(B)/isola-vm $(B)/isola-wasm

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The wasm engine's hot loop wants its own flags (see src/wasm/README or interp.c).
WASM_CFLAGS ?= -O2 -fno-plt -ffp-contract=off
$(B)/obj/src/wasm/%.o: src/wasm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WASM_CFLAGS) -c $< -o $@

$(B)/libisola-wasm.a: $(WASM_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libisola.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/isola: $(CLI_OBJS) $(B)/libisola.a $(B)/libisola-wasm.a
	$(CC) $(LDFLAGS) $(ISOLA_LDFLAGS) -o $@ $(CLI_OBJS) $(B)/libisola.a $(B)/libisola-wasm.a $(LDLIBS) -lm

$(B)/isola-vm $(B)/isola-wasm: | $(B)/isola
	ln -sf isola $@

# ---- tests ---------------------------------------------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))

$(B)/tests/%: tests/unit/%.c $(B)/libisola.a $(B)/libisola-wasm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(B)/libisola.a $(B)/libisola-wasm.a $(LDLIBS) -lm

SPEC_SRCS := $(wildcard tests/spec/*.c)
$(B)/spec-runner: $(SPEC_SRCS) $(wildcard tests/spec/*.h) $(B)/libisola-wasm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(SPEC_SRCS) $(B)/libisola-wasm.a -ljansson -lm

unit: $(UNIT_BINS)
	@tests/run-suites.sh unit $(UNIT_BINS)

spec: $(B)/spec-runner
	@tests/run-suites.sh spec $(B)/spec-runner

deps:
	@scripts/deps.sh

# Every suite, one summary line at the end; exits non-zero when anything failed.
check: deps all $(UNIT_BINS) $(B)/spec-runner
	@$(SAN_BEFORE)ISOLA=$(abspath $(B)/isola) tests/run-suites.sh all $(UNIT_BINS) $(B)/spec-runner $(FUZZ_REPLAY)$(SAN_AFTER)

# ---- fuzzing (tests/fuzz/README.md) -----------------------------------------------------------
# `make fuzz FUZZ_SECONDS=N` builds every tests/fuzz/fuzz_*.c with clang, libFuzzer, ASan and
# UBSan (objects and libraries of their own in build/fuzz) and runs each for N seconds on its
# corpus: new inputs go to build/fuzz/work, crashes to build/fuzz/crashes; it fails on any.
# `check` replays every corpus once through the same targets built with $(CC) and a plain main
# (fuzz-corpus, one unit suite; sanitized too under SANITIZE=1).
FUZZ_SECONDS ?= 30
FUZZ_CC      ?= clang
FZ           := build/fuzz
FUZZ_NAMES   := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
# clang 14 counts a variable that exists only for its cleanup attribute as unused (gcc does not,
# and the gcc build keeps that warning).
FUZZ_CFLAGS  := $(filter-out -Wno-format-truncation -fsanitize=%,$(CFLAGS)) -Wno-unused-variable \
                -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all
FUZZ_LIB_OBJS  := $(patsubst %.c,$(FZ)/obj/%.o,$(CORE_SRCS) $(CONT_SRCS) $(VM_SRCS) $(WASMRT_SRCS))
FUZZ_WASM_OBJS := $(patsubst %.c,$(FZ)/obj/%.o,$(WASM_SRCS))
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FZ)/bin/%)

$(FZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@
$(FZ)/obj/src/wasm/%.o: src/wasm/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WASM_CFLAGS) $(FUZZ_FILE_CFLAGS) -c $< -o $@
# clang's UBSan takes about 6 minutes over the interpreter's one computed-goto function, 2 of
# them without these four checks (the SANITIZE=1 build keeps them, with gcc).
$(FZ)/obj/src/wasm/interp.o: FUZZ_FILE_CFLAGS := -fno-sanitize=pointer-overflow,alignment,null,object-size
$(FZ)/libisola.a: $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(FZ)/libisola-wasm.a: $(FUZZ_WASM_OBJS)
	@rm -f $@
	ar rcs $@ $^
$(FZ)/bin/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FZ)/libisola.a $(FZ)/libisola-wasm.a
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(filter-out -MMD -MP,$(FUZZ_CFLAGS)) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
	  $(FZ)/libisola.a \
	  $(FZ)/libisola-wasm.a $(LDLIBS) -lm

fuzz-build: $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FZ) $(FUZZ_NAMES)

# The replay: each target compiled with its entry points renamed, one main over all of them.
FUZZ_REPLAY := $(B)/tests/fuzz-corpus
$(B)/fuzz-replay/%.o: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz -DLLVMFuzzerTestOneInput=$*_one -DLLVMFuzzerInitialize=$*_init \
	  -c $< -o $@
$(FUZZ_REPLAY): tests/fuzz/replay.c $(FUZZ_NAMES:%=$(B)/fuzz-replay/%.o) $(B)/libisola.a \
                $(B)/libisola-wasm.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) '-DFUZZ_TARGETS=$(foreach t,$(FUZZ_NAMES),X($t))' \
	  -DFUZZ_CORPUS_DIR='"$(abspath tests/fuzz/corpus)"' -o $@ $< \
	  $(FUZZ_NAMES:%=$(B)/fuzz-replay/%.o) $(B)/libisola.a $(B)/libisola-wasm.a $(LDLIBS) -lm

check: $(FUZZ_REPLAY)
.PHONY: fuzz fuzz-build
-include $(shell find $(FZ)/obj $(B)/fuzz-replay -name '*.d' 2>/dev/null)

bench: deps all
	@ISOLA=$(abspath $(B)/isola) bench/run.sh

demo: deps all vm-image-try
	@ISOLA_VM_DIR=$(abspath build/vm) ISOLA=$(abspath $(B)/isola) scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(B)/isola $(DESTDIR)$(PREFIX)/bin/isola
	ln -sf isola $(DESTDIR)$(PREFIX)/bin/isola-vm
	ln -sf isola $(DESTDIR)$(PREFIX)/bin/isola-wasm

# ---- vm engine: the guest agent and the guest image --------------------------------------
# The agent is PID 1 of every VM: static, small, no libraries. `make vm-image` fetches
# Debian's kernel package and builds build/vm/{vmlinux,initramfs.cpio.gz} (scripts/vm-image.sh);
# `make install` copies them to $(PREFIX)/lib/isola/vm when they were built. `check` tries
# to build the image first and carries on without it (the vm tests then skip, saying why).
VM_OUT := build/vm
AGENT_CFLAGS := -static -Os -std=gnu11 -Wall -Wextra -Werror -Wstrict-prototypes \
                -Wmissing-prototypes -D_GNU_SOURCE -Iguest -Isrc

$(VM_OBJS): override CFLAGS += -DISOLA_PREFIX='"$(PREFIX)"'

$(VM_OUT)/agent: guest/agent.c guest/proto.h src/vm/proto.c src/core/fdio.h
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -o $@ guest/agent.c src/vm/proto.c
	strip $@

$(VM_OUT)/mkinitramfs: guest/mkinitramfs.c src/vm/initramfs.c src/vm/initramfs.h src/core/err.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ guest/mkinitramfs.c src/vm/initramfs.c src/core/err.c -lz

$(VM_OUT)/elfpack: guest/elfpack.c src/core/fdio.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ guest/elfpack.c

vm-image: $(VM_OUT)/agent $(VM_OUT)/mkinitramfs $(VM_OUT)/elfpack
	@scripts/vm-image.sh $(VM_OUT) $(VM_OUT)/agent $(VM_OUT)/mkinitramfs $(VM_OUT)/elfpack

# For `check`: never fails; says why there is no image.
vm-image-try:
	@$(MAKE) --no-print-directory vm-image || \
	  echo "vm-image: not built (reason above); the vm engine's tests will skip"

install-vm-image:
	@if [ -f $(VM_OUT)/vmlinux ] && [ -f $(VM_OUT)/initramfs.cpio.gz ]; then \
	  install -d $(DESTDIR)$(PREFIX)/lib/isola/vm && \
	  install -m 0644 $(VM_OUT)/vmlinux $(VM_OUT)/initramfs.cpio.gz $(VM_OUT)/kernel-release \
	    $(DESTDIR)$(PREFIX)/lib/isola/vm/ && \
	  if [ -f $(VM_OUT)/vmlinux.ram ] && [ -f $(VM_OUT)/vmlinux.pvh ]; then \
	    install -m 0644 $(VM_OUT)/vmlinux.pvh $(DESTDIR)$(PREFIX)/lib/isola/vm/ && \
	    cp --sparse=always $(VM_OUT)/vmlinux.ram $(DESTDIR)$(PREFIX)/lib/isola/vm/vmlinux.ram.tmp && \
	    chmod 0644 $(DESTDIR)$(PREFIX)/lib/isola/vm/vmlinux.ram.tmp && \
	    mv $(DESTDIR)$(PREFIX)/lib/isola/vm/vmlinux.ram.tmp $(DESTDIR)$(PREFIX)/lib/isola/vm/vmlinux.ram; \
	  fi; \
	else echo "install: no vm image in $(VM_OUT) (make vm-image); the vm engine will say so"; fi

install: install-vm-image
check: vm-image-try

.PHONY: vm-image vm-image-try install-vm-image

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

.PHONY: all unit spec deps check bench demo install format clean

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
