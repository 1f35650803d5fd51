/* SMBASE relocation: every CPU in turn, including the BSP that SeaBIOS moved
 * to 0xA0000, while the APs are still halted where SeaBIOS left them; the
 * relocation handler (smm/reloc.asm) sets the new SMBASE, and a completion
 * hook after RSM says when the shared default save state is free again. */
#include "smm/relocate.h"
#include "smm/state.h"
#include "smp/smp.h"
#include "smp/lowmem.h"
#include "drivers/chipset.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "kernel/config.h"
#include "kernel/console.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "arch/x86.h"

#define RELOC_AT_AP  (SMM_DEFAULT_SMBASE + SMM_ENTRY_OFFSET)   /* 0x38000 */
#define RELOC_AT_BSP (ASEG_BASE + SMM_ENTRY_OFFSET)            /* 0xA8000 */

static uint8_t saved_ap_entry[512], saved_bsp_entry[512];

extern char __kernel_start[], __kernel_end[];

unsigned fixed_ranges(const struct fixed_range **r)
{
    static struct fixed_range f[3];
    f[0] = (struct fixed_range){ "the kernel image", (uintptr_t)__kernel_start, (uintptr_t)__kernel_end };
    f[1] = (struct fixed_range){ "the AP trampoline (smp/lowmem.asm)", LOWMEM_BASE, LOWMEM_BASE + LOWMEM_SIZE };
    f[2] = (struct fixed_range){ "the default SMBASE's entry and save state", RELOC_AT_AP,
                                 SMM_DEFAULT_SMBASE + SMM_WINDOW_SIZE };
    *r = f;
    return 3;
}

bool reloc_window_ok(const struct mb2_info *mi, char *why, size_t len)
{
    const struct fixed_range *f;
    fixed_ranges(&f);
    uint64_t bad;
    if (mb2_ram_covers(mi, f[2].lo, f[2].hi, &bad))
        return true;
    ksnprintf(why, len, "%s [0x%lx, 0x%lx) is not RAM in the firmware's memory map (0x%lx is not): "
              "the firmware uses it", f[2].what, f[2].lo, f[2].hi, bad);
    return false;
}

bool fixed_ranges_ok(const struct mb2_info *mi, char *why, size_t len)
{
    const struct fixed_range *f;
    unsigned n = fixed_ranges(&f) - 1;          /* the relocation window: reloc_window_ok */
    for (unsigned i = 0; i < n; i++) {
        uint64_t bad;
        if (!mb2_ram_covers(mi, f[i].lo, f[i].hi, &bad)) {
            ksnprintf(why, len, "%s [0x%lx, 0x%lx) is not all RAM in the firmware's memory map: 0x%lx is not",
                      f[i].what, f[i].lo, f[i].hi, bad);
            return false;
        }
    }
    return true;
}

static bool relocate_one(unsigned i)
{
    struct lowmem_params *p = LOWMEM_PARAMS;
    p->reloc_new = (uint32_t)smm.layout.smbase[i];
    p->reloc_old = p->reloc_rev = p->reloc_apic = 0;
    p->reloc_ack = 0;
    p->reloc_done = 0;
    p->reloc_from = 0;
    if (i == cpu_index())
        lapic_send_ipi(0, ICR_DEST_SELF | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    else
        lapic_send_ipi(cpus[i].apic_id, ICR_DM_SMI | ICR_LEVEL_ASSERT);
    WAIT_UNTIL(p->reloc_done, 500000);
    smm.reloc_old[i] = p->reloc_old;
    smm.reloc_rev[i] = p->reloc_rev;
    smm.reloc_apic[i] = p->reloc_apic;
    smm.reloc_from[i] = p->reloc_from;
    smm.reloc_done_by[i] = p->reloc_done;
    /* Done only when the hook of the mode the handler found said so, after RSM. */
    return p->reloc_done && p->reloc_done == p->reloc_from && p->reloc_ack && p->reloc_apic == cpus[i].apic_id;
}

/* Test-only, ap_real_mode=N: start AP N (still where the firmware left it)
 * in a real-mode halt loop, so its relocation takes the real-mode path.
 * smp_boot_aps() starts it properly afterwards with INIT-SIPI-SIPI. */
static void park_ap_real_mode(void)
{
    uint64_t n = config.ap_real_mode.v;
    if (!config.ap_real_mode.set || n == 0 || n >= ncpus)
        return;
    uint32_t apic = cpus[n].apic_id, page = lowmem_entry(LM_HALT_PAGE16);
    lapic_send_ipi(apic, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
    lapic_send_ipi(apic, ICR_DM_INIT | ICR_TRIGGER_LEVEL);
    mdelay(10);
    lapic_send_ipi(apic, ICR_DM_STARTUP | (page >> 12));
    mdelay(10);
    kprintf("# smm: CPU %lu (APIC ID %u) parked in real mode at 0x%x before relocation (ap_real_mode)\n", n,
            apic, page);
}

/* One CPU at a time: every CPU with the default SMBASE shares one save
 * state at 0x3FE00. */
static void relocate_each(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        unsigned skip;
        if (config_fault("skip-reloc", &skip) && skip == i)
            continue;
        smm.relocated[i] = relocate_one(i);
        if (!smm.relocated[i])
            kprintf("# smm: CPU %u (APIC ID %u) was not relocated (done=%u from=%u ack=%u apic=%u)\n", i,
                    cpus[i].apic_id, LOWMEM_PARAMS->reloc_done, LOWMEM_PARAMS->reloc_from,
                    LOWMEM_PARAMS->reloc_ack, LOWMEM_PARAMS->reloc_apic);
    }
}

void smm_relocate_all(void)
{
    size_t n = (size_t)(smm_reloc_blob_end - smm_reloc_blob);
    void *ap_at = (void *)(uintptr_t)RELOC_AT_AP, *bsp_at = (void *)(uintptr_t)RELOC_AT_BSP;
    struct lowmem_params *p = LOWMEM_PARAMS;
    park_ap_real_mode();
    p->reloc_hook32 = lowmem_entry(LM_RELOC_HOOK32);
    p->reloc_hook64 = lowmem_entry(LM_RELOC_HOOK64);
    p->reloc_hook16 = lowmem_entry(LM_RELOC_HOOK16);
    memcpy(saved_ap_entry, ap_at, n);
    memcpy(ap_at, smm_reloc_blob, n);
    bool aseg_open = smram_open_aseg();
    if (aseg_open) {
        memcpy(saved_bsp_entry, bsp_at, n);
        memcpy(bsp_at, smm_reloc_blob, n);
    }
    relocate_each();
    memcpy(ap_at, saved_ap_entry, n);
    if (aseg_open)
        memcpy(bsp_at, saved_bsp_entry, n);
}
