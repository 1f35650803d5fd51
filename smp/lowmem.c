#include "smp/lowmem.h"
#include "lib/kstring.h"
#include "arch/x86.h"
#include "kernel/panic.h"

extern const uint8_t lowmem_blob[], lowmem_blob_end[];   /* kernel/blobs.asm */

static uint32_t entries[LM_ENTRY_COUNT];

void lowmem_install(void)
{
    size_t n = (size_t)(lowmem_blob_end - lowmem_blob);
    BUG_ON(n > LOWMEM_PD32 - LOWMEM_BASE - 0x1000 || n < 0x200);
    memcpy((void *)(uintptr_t)LOWMEM_BASE, lowmem_blob, n);
    uint32_t table_off;
    memcpy(&table_off, lowmem_blob + n - 4, 4);
    const uint64_t *t = (const uint64_t *)(uintptr_t)(LOWMEM_BASE + table_off);
    for (unsigned i = 0; i < LM_ENTRY_COUNT; i++)
        entries[i] = (uint32_t)t[i];
    struct lowmem_params *p = LOWMEM_PARAMS;
    p->cr3 = (uint32_t)read_cr3();
    p->cr4 = (uint32_t)read_cr4();
    /* Identity map of 4 GiB with 4 MiB pages for mode 3 (32-bit paging:
     * the same low bits as the 64-bit entries, 32 bits wide). */
    uint32_t *pd = (uint32_t *)(uintptr_t)LOWMEM_PD32;
    for (uint32_t i = 0; i < 1024; i++)
        pd[i] = (uint32_t)idmap_large_pde((uint64_t)i << 22);
    p->pd32 = LOWMEM_PD32;
}

uint32_t lowmem_entry(enum lowmem_entry e) { return entries[e]; }

void lowmem_mode_test(enum lowmem_mode m)
{
    LOWMEM_PARAMS->mode = m;
    LOWMEM_PARAMS->cr4 = (uint32_t)read_cr4();
    ((void (*)(void))(uintptr_t)entries[LM_MODE_TEST64])();
}
