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
	@ISOLA=$(abspath $(B)/isola) tests/run-suites.sh all $(UNIT_BINS) $(B)/spec-runner

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
                -Wmissing-prototypes -D_GNU_SOURCE -Iguest

$(VM_OBJS): override CFLAGS += -DISOLA_PREFIX='"$(PREFIX)"'

$(VM_OUT)/agent: guest/agent.c guest/proto.h src/vm/proto.c
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -o $@ guest/agent.c src/vm/proto.c
	strip $@

$(VM_OUT)/mkinitramfs: guest/mkinitramfs.c src/vm/initramfs.c src/vm/initramfs.h src/core/err.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -o $@ guest/mkinitramfs.c src/vm/initramfs.c src/core/err.c -lz

$(VM_OUT)/elfpack: guest/elfpack.c
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
	    $(DESTDIR)$(PREFIX)/lib/isola/vm/; \
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
