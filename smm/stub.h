/* The SMM entry stub (smm/stub.asm) and the parameter block the installer
 * (smm/install.c, install_stub) fills in each CPU's copy. smm/stub.asm sees this
 * header through build/gen/asm-offsets.inc (tools/asm-offsets.c): STUB_<FIELD>
 * is each field's offset in the block, which starts SMM_STUB_PARAMS_OFF bytes
 * into the stub, after its first instruction (a short jump over it). */
#ifndef SMMSYNC_SMM_STUB_H
#define SMMSYNC_SMM_STUB_H
#include <stdint.h>

#define SMM_STUB_PARAMS_OFF 8u
#define SMM_STUB_MAGIC      0x42555453u   /* "STUB" */

struct smm_stub_params {
    uint32_t magic;                 /* SMM_STUB_MAGIC */
    uint32_t cpu;                   /* logical CPU number */
    uint32_t base;                  /* linear address of this stub (SMBASE + 0x8000) */
    uint32_t cr3;                   /* SMM page tables (in SMRAM) */
    uint16_t gdt_limit;             /* with gdt_base: the operand of LGDT */
    uint32_t gdt_base;              /* linear, in SMRAM */
    uint16_t pad0;
    uint32_t jmp32_off;             /* far pointer to the 32-bit code: the template */
    uint16_t jmp32_sel, pad1;       /* holds stub-relative offsets, the installer adds 'base' */
    uint32_t jmp64_off;             /* far pointer to the 64-bit code, likewise */
    uint16_t jmp64_sel, pad2;
    uint64_t stack;                 /* top of this CPU's SMM stack (physical = virtual) */
    uint64_t handler;               /* C handler, virtual address in the SMM image */
} __attribute__((packed));

#endif
