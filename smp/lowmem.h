/* The low-memory blob (smp/lowmem.asm) and its parameter block. The NASM
 * sources (smp/lowmem.asm, smm/reloc.asm) see this header through
 * build/gen/asm-offsets.inc (tools/asm-offsets.c): LMP_<FIELD> is the offset
 * of every field they use, LOWMEM_PARAMS the block's address. */
#ifndef SMMSYNC_LOWMEM_H
#define SMMSYNC_LOWMEM_H
#include <stdint.h>
#include <stdbool.h>

#define LOWMEM_BASE   0x8000u
#define LOWMEM_SIZE   0x4000u          /* 0x8000-0xBFFF reserved for it */
#define LOWMEM_PD32   0xB000u          /* 4-MiB-page directory for mode tests */
#define SIPI_VECTOR   (LOWMEM_BASE >> 12)

#define LOWMEM_PARAMS_OFF 0x100u       /* the block, from LOWMEM_BASE */

/* The context a mode test waits in, as its own code saw it just before the
 * wait (smm.state compares the save state with it, SDM 34.4.1). GDTR and
 * IDTR: SGDT/SIDT's bytes (limit, then base: 6 bytes from 16/32-bit code,
 * 10 from 64-bit code). */
struct mode_ctx {
    uint8_t gdtr[10], idtr[10];
    uint16_t ldtr, tr;                 /* SLDT/STR (none in real mode: 0xFFFF) */
    uint16_t ds, es, ss, fs, gs, pad;
    uint32_t cr4, dr7, efer;
    uint64_t fs_base, gs_base;         /* the 64-bit modes only (IA32_FS/GS_BASE) */
};

struct lowmem_params {                 /* at LOWMEM_BASE + LOWMEM_PARAMS_OFF */
    uint32_t cr3, cr4;
    uint64_t ap_entry, ap_stack, ap_arg;
    volatile uint32_t ap_alive, pad0;
    uint64_t reloc_rip;
    volatile uint32_t reloc_done;
    uint32_t mode;
    uint64_t saved_rsp;
    uint8_t saved_idtr[12];
    uint32_t pd32;
    volatile uint32_t ready, go, spins, timedout;
    uint32_t pat[8];                   /* eax ebx ecx edx esi edi ebp esp */
    volatile uint32_t out[8];
    uint32_t saved_esp;
    uint32_t wait_rip;
    /* relocation mailbox (smm/reloc.asm) */
    uint32_t reloc_new, reloc_old, reloc_rev, reloc_apic;
    volatile uint32_t reloc_ack;
    uint32_t reloc_hook32, reloc_hook64, reloc_hook16;
    volatile uint32_t reloc_from;      /* 16/32/64: the mode the handler found */
    uint32_t pad1;
    struct mode_ctx ctx;               /* the mode test's context (above) */
};
/* reloc_done: written by the completion hook of that mode, after RSM. */
enum { RELOC_DONE16 = 16, RELOC_DONE32 = 32, RELOC_DONE64 = 64 };

#define LOWMEM_PARAMS ((struct lowmem_params *)(uintptr_t)(LOWMEM_BASE + LOWMEM_PARAMS_OFF))

enum lowmem_entry {
    LM_MODE_TEST64, LM_RELOC_HOOK32, LM_RELOC_HOOK64, LM_PARK_REAL16,
    LM_WAIT32, LM_WAIT16, LM_RELOC_HOOK16, LM_HALT_PAGE16, LM_ENTRY_COUNT
};

enum lowmem_mode { LM_MODE_REAL = 1, LM_MODE_PROT32 = 2, LM_MODE_PROT32_PG = 3 };

void lowmem_install(void);               /* copy the blob, fill the params */
uint32_t lowmem_entry(enum lowmem_entry e);
/* Runs the mode test on the calling CPU (interrupts off throughout). */
void lowmem_mode_test(enum lowmem_mode m);
#endif
