# smmsync - build the kernel, the SMM image and the ISO; run and test them.
#   make          build/kernel.elf + build/smmsync.iso
#   make run      boot the default configuration (q35, 4 vCPUs, SMM on)
#   make test     host unit tests, style and layer checks, model check, gdb check, fuzzers (bounded), every QEMU configuration
#   make layers   the folders are layers: no include or call goes up (tools/layers.sh)
#   make debug    QEMU halted with a gdb stub + gdb with symbols (tools/gdbinit)
#   make bench    the benchmarks, build/bench/results.json and plots (several minutes)
#   make bench-big the same, then 128 and 255 vCPUs (tens of minutes)
#   make mutants  the mutation suite: every mutant of tests/mutants/ must be killed
#   make conformance  docs/CONFORMANCE.md from the q35-4 and pc-4 runs (LOGS=dir adds dir/*.log)

CC      ?= gcc
NASM    ?= nasm
LD      ?= ld
OBJCOPY ?= objcopy
B       := build

WARN    := -Wall -Wextra -Werror
FREESTANDING := -std=c11 -ffreestanding -fno-builtin -nostdlib -mno-red-zone \
	-mgeneral-regs-only -fno-stack-protector -fno-pic -fno-pie \
	-fno-omit-frame-pointer -fno-asynchronous-unwind-tables -O2 -g $(WARN) -I. -MMD -MP
KCFLAGS := $(FREESTANDING) -mcmodel=small
SCFLAGS := $(FREESTANDING) -mcmodel=kernel -DSMMSYNC_SMM_IMAGE

# The kernel: everything in these folders except the SMM image.
KSRC := $(wildcard lib/*.c arch/*.c drivers/*.c kernel/*.c smp/*.c smm/*.c tests/*.c main/*.c)
KASM := boot/multiboot2.asm kernel/isr.asm kernel/ctx.asm kernel/blobs.asm smp/modetest.asm
KOBJ := $(KSRC:%.c=$(B)/k/%.o) $(KASM:%.asm=$(B)/k/%.o)

# The SMM image: its own binary; it shares only pure code with the kernel.
SSRC := $(wildcard smm/image/*.c) smm/savestate.c smm/cmd.c lib/string.c
SASM := $(wildcard smm/image/*.asm)
SOBJ := $(SSRC:%.c=$(B)/s/%.o) $(SASM:%.asm=$(B)/s/%.o)

BLOBS := $(B)/lowmem.bin $(B)/smm_stub.bin $(B)/smm_reloc.bin $(B)/smm.bin

.PHONY: all run test test-big debug clean deps host-test layers style model gdb-check bench bench-big bench-smoke stress mutants conformance
all: $(B)/kernel.elf $(B)/smmsync.iso

# The assembler's view of the C headers (tools/asm-offsets.c): compiled to
# assembly only, its "->NAME value" markers become %define lines. Every NASM
# source includes it through boot/layout.inc, so every one depends on both
# (named here: NASM 2.16's -MD leaves included files out of its list).
GEN_INC := $(B)/gen/asm-offsets.inc
NASMFLAGS := -I./ -I$(B)/gen/
ASM_DEPS := $(GEN_INC) boot/layout.inc

$(B)/gen/asm-offsets.s: tools/asm-offsets.c
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -S $< -o $@
$(GEN_INC): $(B)/gen/asm-offsets.s
	{ echo "; generated from tools/asm-offsets.c by the Makefile: do not edit"; \
	  sed -n 's/^[[:space:]]*\.ascii[[:space:]]*"->\([A-Za-z0-9_]*\) \$$\{0,1\}\(-\{0,1\}[0-9][0-9]*\)"$$/%define \1 \2/p' $<; \
	} >$@.tmp
	@test "$$(grep -c '^%define' $@.tmp)" = "$$(grep -c '\->' $<)" || { echo "$@: a marker was not converted" >&2; exit 1; }
	mv -f $@.tmp $@

$(B)/k/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(KCFLAGS) -c $< -o $@
$(B)/s/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(SCFLAGS) -c $< -o $@
$(B)/s/%.o: %.asm $(ASM_DEPS)
	@mkdir -p $(@D)
	$(NASM) -f elf64 $(NASMFLAGS) $< -o $@
$(B)/k/kernel/blobs.o: kernel/blobs.asm $(BLOBS) tests/deviations.cfg
	@mkdir -p $(@D)
	$(NASM) -f elf64 -I./ $< -o $@
$(B)/k/%.o: %.asm $(ASM_DEPS)
	@mkdir -p $(@D)
	$(NASM) -f elf64 $(NASMFLAGS) $< -o $@

$(B)/lowmem.bin: smp/lowmem.asm $(ASM_DEPS)
	@mkdir -p $(@D)
	$(NASM) -f bin $(NASMFLAGS) $< -o $@
$(B)/smm_stub.bin: smm/stub.asm $(ASM_DEPS)
	@mkdir -p $(@D)
	$(NASM) -f bin $(NASMFLAGS) $< -o $@
$(B)/smm_reloc.bin: smm/reloc.asm $(ASM_DEPS)
	@mkdir -p $(@D)
	$(NASM) -f bin $(NASMFLAGS) $< -o $@

$(B)/smm.elf: $(SOBJ) smm/image/smm.ld
	$(LD) -nostdlib -static -T smm/image/smm.ld -z noexecstack --no-warn-rwx-segments -o $@ $(SOBJ)
$(B)/smm.bin: $(B)/smm.elf
	$(OBJCOPY) -O binary -j .header -j .text -j .rodata -j .data $< $@

$(B)/kernel.elf: $(KOBJ) linker.ld
	$(LD) -nostdlib -static -T linker.ld -z max-page-size=0x1000 -z noexecstack -o $@ $(KOBJ)

$(B)/smmsync.iso: $(B)/kernel.elf boot/grub.cfg
	@mkdir -p $(B)/iso/boot/grub
	cp boot/grub.cfg $(B)/iso/boot/grub/grub.cfg
	cp $(B)/kernel.elf $(B)/iso/boot/kernel.elf
	grub-mkrescue -o $@.tmp $(B)/iso 2>$(B)/grub-mkrescue.log || { cat $(B)/grub-mkrescue.log; exit 1; }
	mv -f $@.tmp $@

deps:
	@tools/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	./run-qemu.sh $(RUN_ARGS)

debug: deps
	@$(MAKE) --no-print-directory all
	tools/debug.sh $(RUN_ARGS)

include tests/host/rules.mk
HOST_TESTS += test_layout test_savestate test_cmd test_deviations test_cpuset
test_cpuset_SRCS = lib/cpuset.c lib/printf.c
test_layout_SRCS = smm/layout.c lib/printf.c
test_savestate_SRCS = smm/savestate.c
test_cmd_SRCS = smm/cmd.c
test_deviations_SRCS = lib/deviations.c

# The folders are layers (README.md, "Layout of the tree"): no include and no
# call may go up the order; the checker reads the built objects.
layers: all
	tools/layers.sh

# The one C style (tools/style.sh): 4-space indent, no tabs, functions <= 60 lines.
style:
	tools/style.sh

model:
	tools/model-check.sh

gdb-check: all
	tools/gdb-check.sh

bench: deps
	@$(MAKE) --no-print-directory all
	tools/bench.sh

bench-big: deps
	@$(MAKE) --no-print-directory all
	tools/bench.sh --big

bench-smoke: all
	tools/bench.sh --smoke

# The full SMI storm: 100000 SMIs across 4 vCPUs (prints seed, counts, time).
stress: deps
	@$(MAKE) --no-print-directory all
	./run-qemu.sh --smp 4 --timeout 3600 --tests smm.storm --cmdline "storm_smis=$${STORM_SMIS:-100000} $(STRESS_ARGS)"

test: deps
	tools/test.sh

# The whole suite at 128 and 255 vCPUs (tests/configs.cfg group 'big'):
# minutes each under TCG, so not part of make test.
test-big: deps
	@$(MAKE) --no-print-directory all
	tests/run-configs.sh -g big $(or $(TEST_ARGS),-j 1)

# The SDM chapter 34 table (tools/conformance.sh): runs the two reference
# configurations, then writes docs/CONFORMANCE.md from their logs and LOGS/*.log.
conformance: deps
	@$(MAKE) --no-print-directory all
	tests/run-configs.sh -j 1 q35-4 pc-4
	tools/conformance.sh build/logs/q35-4.log build/logs/pc-4.log $(sort $(wildcard $(LOGS)/*.log))

# The whole mutation suite (tests/mutants/README.md): bounded, one QEMU at a time.
mutants: deps
	@$(MAKE) --no-print-directory all
	tools/mutants.sh $(MUTANTS)

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
