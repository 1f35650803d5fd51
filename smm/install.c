/* Installing the SMM image into SMRAM: the image, the configuration it
 * reads (struct smm_config), SMRAM's own page tables and every CPU's entry
 * stub (smm/stub.asm) with its parameters. */
#include "smm/install.h"
#include "smm/state.h"
#include "smm/stub.h"
#include "drivers/ich9_tco.h"
#include "smp/smp.h"
#include "smp/lowmem.h"
#include "drivers/chipset.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "kernel/config.h"
#include "kernel/idt.h"
#include "lib/kstring.h"
#include "arch/x86.h"

/* Accessed and dirty set in advance: the page walker then never writes
 * SMRAM's page tables, so they hash the same after every SMI. */
#define PTE_AD (PTE_A | PTE_D)
#define PTE_TABLE (PTE_P | PTE_W | PTE_AD)   /* a table or a 4 KiB page */

static void build_page_tables(uint64_t pt, uint64_t image, uint32_t image_mem)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)pt;
    uint64_t *pdpt_lo = pml4 + 512, *pd = pml4 + 1024;          /* 4 PDs */
    uint64_t *pdpt_hi = pml4 + 3072, *pd_hi = pml4 + 3584, *ptab = pml4 + 4096;
    memset(pml4, 0, SMM_PT_SIZE);
    for (unsigned i = 0; i < 4 * 512; i++)            /* 4 GiB identity, 2 MiB pages */
        pd[i] = idmap_large_pde((uint64_t)i << 21) | PTE_AD;
    for (unsigned i = 0; i < 4; i++)
        pdpt_lo[i] = (pt + 8192 + 4096ull * i) | PTE_TABLE;
    pml4[0] = (pt + 4096) | PTE_TABLE;
    /* SMM_IMAGE_VBASE -> the image in SMRAM, 4 KiB pages. */
    pml4[511] = (pt + 6 * 4096) | PTE_TABLE;
    pdpt_hi[511] = (pt + 7 * 4096) | PTE_TABLE;
    pd_hi[0] = (pt + 8 * 4096) | PTE_TABLE;
    for (uint32_t off = 0; off < image_mem && off / 4096 < 512; off += 4096)
        ptab[off / 4096] = (image + off) | PTE_TABLE;
}

static void install_stub(unsigned i, uint64_t cr3, uint64_t gdt_phys, uint32_t gdt_size,
                         uint64_t entry_virt)
{
    size_t n = (size_t)(smm_stub_blob_end - smm_stub_blob);
    uint8_t *at = (uint8_t *)(uintptr_t)smm.layout.stub[i];
    memcpy(at, smm_stub_blob, n);
    struct smm_stub_params *sp = (struct smm_stub_params *)(at + SMM_STUB_PARAMS_OFF);
    uint32_t base = (uint32_t)smm.layout.stub[i];
    sp->cpu = i;
    sp->base = base;
    sp->cr3 = (uint32_t)cr3;
    sp->gdt_limit = (uint16_t)(gdt_size - 1);
    sp->gdt_base = (uint32_t)gdt_phys;
    sp->jmp32_off += base;          /* the template holds stub-relative offsets */
    sp->jmp64_off += base;
    sp->stack = smm.layout.stack[i] + smm.layout.stack_size;
    sp->handler = entry_virt;
}

/* The machine: CPUs, where SMRAM, the image and the synchbytes are. */
static void config_machine(struct smm_config *c)
{
    c->magic = SMM_CONFIG_MAGIC;
    c->ncpus = ncpus;
    c->comm_phys = (uintptr_t)&smm_comm;
    c->comm_size = sizeof(smm_comm);
    c->smram_base = smm.layout.smram_base;
    c->smram_size = smm.layout.smram_size;
    c->image_phys = smm.image_phys;
    c->image_size = smm.image_mem;
    c->tsc_hz = tsc_hz();
    for (unsigned i = 0; i < ncpus; i++) {
        c->apic_id[i] = cpus[i].apic_id;
        c->smbase[i] = (uint32_t)smm.layout.smbase[i];
    }
    c->synch_mem = smm.layout.synch_mem;
    c->synch_smram = smm.layout.synch_smram;
    c->synch_stride = smm.layout.synch_stride;
    c->backend = SYNCH_MEM;
    c->cmos_index = SYNCH_CMOS_FIRST;
    c->x2apic = lapic_x2apic();
    /* hlt by default: the benchmark's choice (docs/PERFORMANCE.md section 8) */
    c->wait_method = config_is(smm_wait, "spin") ? SMM_WAIT_SPIN : SMM_WAIT_HLT;
    c->apic_timer_per_ms = lapic_timer_per_ms();
    /* The watchdog's tick reads the TSC for its deadline: SMM may borrow it
     * to halt and restart it (smm_abi.h, smm_wait=). */
    c->lent_tick_lvt = LVT_WATCHDOG_TICK;
    c->park_real16 = lowmem_entry(LM_PARK_REAL16);
    c->tco_base = chipset.kind == CHIPSET_Q35 ? chipset.pmbase + ICH9_TCO_OFF : 0;
    c->stack_lo = ~0ull;
    for (unsigned i = 0; i < ncpus; i++) {
        uint64_t lo = smm.layout.stack[i], hi = lo + smm.layout.stack_size;
        c->stack_lo = lo < c->stack_lo ? lo : c->stack_lo;
        c->stack_hi = hi > c->stack_hi ? hi : c->stack_hi;
    }
}

/* Test-only switches from the command line. */
static void config_faults(struct smm_config *c)
{
    /* smm_x2apic_flag=1: the BSP's flag says x2APIC while the CPUs are in
     * xAPIC mode, as under KVM for CPUs never started. The handler must
     * decide per CPU and not trust it. */
    if (config.smm_x2apic_flag.set && config.smm_x2apic_flag.v)
        c->x2apic = 1;
    unsigned fc;
    if (config_fault("inactive-as-active", 0))
        c->flags |= SMMF_INACTIVE_AS_ACTIVE;
    if (config_fault("smm-spin", &fc)) {
        c->flags |= SMMF_SPIN_FOREVER;
        c->fault_cpu = fc;
    }
}

/* The rendezvous bounds, in TSC ticks. */
static void config_bounds(struct smm_config *c)
{
    c->t_patent_failsafe = us_to_tsc(smm.t_patent_us);
    c->t_pullin1 = us_to_tsc(smm.t_pullin1_us);
    c->t_pullin2 = us_to_tsc(smm.t_pullin2_us);
    c->t_waitall = us_to_tsc(smm.t_waitall_us);
    c->t_member = us_to_tsc(1000000);
}

static void fill_config(struct smm_config *c)
{
    memset(c, 0, sizeof(*c));
    config_machine(c);
    config_faults(c);
    config_bounds(c);
}

void smm_install_image(void)
{
    const struct smm_image_header *h = image_header();
    const struct smm_layout *l = &smm.layout;
    smm.image_phys = l->image;
    smm.image_mem = h->mem_size;
    smm.probe_phys = l->image + h->probe_off;
    memset((void *)(uintptr_t)l->smram_base, 0, l->smram_size);
    memcpy((void *)(uintptr_t)l->image, smm_image_blob, h->file_size);
    fill_config((struct smm_config *)(uintptr_t)(l->image + h->config_off));
    build_page_tables(l->pt, l->image, h->mem_size);
    for (unsigned i = 0; i < l->ncpus; i++)
        install_stub(i, l->pt, l->image + h->gdt_off, h->gdt_size, SMM_IMAGE_VBASE + h->entry_off);
    memset((void *)(uintptr_t)l->synch_mem, SYNCH_INACTIVE, l->synch_size);
    /* CMOS NVRAM powers up zeroed in QEMU; a warm reboot may leave bytes.
     * Only the cmos backend's 32 bytes: never an index past 0x7F. */
    for (unsigned i = 0; i < ncpus && i < SYNCH_CMOS_BYTES; i++) {
        outb(0x70, (uint8_t)(SYNCH_CMOS_FIRST + i));
        outb(0x71, SYNCH_INACTIVE);
    }
}
