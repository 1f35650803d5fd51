/* SMRAM setup, SMBASE relocation and the SMM image installer (the kernel
 * side of SMM; the SMM side is smm/image/). */
#include "smm/smm.h"
#include "smm/savestate.h"
#include "smp/smp.h"
#include "smp/lowmem.h"
#include "drivers/chipset.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/fwcfg.h"
#include "lib/mb2.h"
#include "lib/cmdline.h"
#include "kernel/console.h"
#include "lib/printf.h"
#include "lib/kstring.h"
#include "kernel/test.h"
#include "arch/x86.h"

struct smm_state smm;
struct smm_comm smm_comm __attribute__((aligned(4096)));

extern const uint8_t smm_image_blob[], smm_image_blob_end[];
extern const uint8_t smm_stub_blob[], smm_stub_blob_end[];
extern const uint8_t smm_reloc_blob[], smm_reloc_blob_end[];
extern struct mb2_info boot_info;
extern char __kernel_start[], __kernel_end[];

#define ASEG_BASE   0xA0000u
#define ASEG_SIZE   0x20000u
#define TSEG_MB     1
#define SMM_STACK   4096u
#define SMM_PT_SIZE (9u * 4096u)
#define RELOC_AT_AP  (SMM_DEFAULT_SMBASE + SMM_ENTRY_OFFSET)   /* 0x38000 */
#define RELOC_AT_BSP (ASEG_BASE + SMM_ENTRY_OFFSET)            /* 0xA8000 */
#define CMOS_SYNCH_INDEX 0x60     /* CMOS NVRAM bytes 0x60-0x7F: unused by SeaBIOS/QEMU */

struct smm_stub_params {          /* smm/stub.asm 'params' */
    uint32_t magic, cpu, base, cr3;
    uint16_t gdt_limit;
    uint32_t gdt_base;
    uint16_t pad0;
    uint32_t jmp32_off;
    uint16_t jmp32_sel, pad1;
    uint32_t jmp64_off;
    uint16_t jmp64_sel, pad2;
    uint64_t stack, handler;
} __attribute__((packed));
_Static_assert(sizeof(struct smm_stub_params) == 56, "stub params");

static const struct smm_image_header *image_header(void)
{
    return (const struct smm_image_header *)smm_image_blob;
}

static void why(const char *fmt, const char *a)
{
    ksnprintf(smm.why_not, sizeof(smm.why_not), fmt, a);
}

static bool fault_is(const char *what, unsigned *cpu)
{
    char v[48];
    if (!cmdline_get(kernel_cmdline, "fault", v, sizeof(v)))
        return false;
    size_t n = strlen(what);
    if (strncmp(v, what, n))
        return false;
    if (!cpu)
        return v[n] == 0;
    uint64_t c;
    return v[n] == ':' && parse_u64(v + n + 1, &c) && (*cpu = (unsigned)c, true);
}

/* The usable RAM range (multiboot2 memory map) holding the bytes just below
 * 'top': the mem-backend synchbytes go there, in the windows' overlap. */
static void shared_range(uint64_t top, uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    /* Only the 32 KiB below SMRAM can be in every window (SMBASE >= top - 0x8000). */
    for (unsigned i = 0; i < boot_info.mmap_count; i++) {
        const struct mb2_mmap_entry *e = &boot_info.mmap[i];
        if (e->type == 1 && e->addr < top && e->addr + e->len > top - SMM_ENTRY_OFFSET) {
            *lo = e->addr;
            *hi = e->addr + e->len < top ? e->addr + e->len : top;
        }
    }
    /* Never hand out the kernel, the low-memory blob or the default SMBASE window. */
    uint64_t ks = (uintptr_t)__kernel_start, ke = (uintptr_t)__kernel_end;
    if (*lo < ke && ks < *hi)
        *lo = ke > *lo ? ke : *lo;
    if (*lo < 0x50000)
        *lo = 0x50000;
}

static bool try_layout(enum smram_region r, char *err, size_t errlen)
{
    struct smm_layout_req *q = &smm.req;
    uint64_t sync_stride = 1;
    cmdline_get_u64(kernel_cmdline, "synch_stride", &sync_stride);
    memset(q, 0, sizeof(*q));
    q->ncpus = ncpus;
    if (r == SMRAM_TSEG) {
        if (chipset.kind != CHIPSET_Q35 || !chipset.below_4g) {
            ksnprintf(err, errlen, "no TSEG on this chipset");
            return false;
        }
        q->smram_size = TSEG_MB << 20;
        q->smram_base = chipset.below_4g - q->smram_size;
    } else {
        q->smram_base = ASEG_BASE;
        q->smram_size = ASEG_SIZE;
    }
    shared_range(q->smram_base, &q->shared_lo, &q->shared_hi);
    q->stub_size = (uint32_t)(smm_stub_blob_end - smm_stub_blob);
    q->save_size = SMM_SAVE_SIZE;
    q->stack_size = SMM_STACK;
    q->image_size = image_header()->mem_size;
    q->pt_size = SMM_PT_SIZE;
    q->sync_stride = (uint32_t)sync_stride;
    if (smm_layout_compute(q, &smm.layout, err, errlen))
        return false;
    smm.region = r;
    return true;
}

static void print_line(void *ctx, const char *s)
{
    (void)ctx;
    kprintf("# smm layout: %s\n", s);
}

void smm_print_layout(void)
{
    smm_layout_print(&smm.layout, print_line, 0);
}

/* ---- relocation ---- */

static uint8_t saved_ap_entry[512], saved_bsp_entry[512];

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
    uint64_t end = deadline_after_us(500000);
    while (!p->reloc_done && !deadline_passed(end))
        cpu_relax();
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
    uint64_t n;
    if (!cmdline_get_u64(kernel_cmdline, "ap_real_mode", &n) || n == 0 || n >= ncpus)
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

static void relocate_all(void)
{
    size_t n = (size_t)(smm_reloc_blob_end - smm_reloc_blob);
    void *ap_at = (void *)(uintptr_t)RELOC_AT_AP, *bsp_at = (void *)(uintptr_t)RELOC_AT_BSP;
    struct lowmem_params *p = LOWMEM_PARAMS;
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
    /* One CPU at a time: every CPU with the default SMBASE shares one save
     * state at 0x3FE00. */
    for (unsigned i = 0; i < ncpus; i++) {
        unsigned skip;
        if (fault_is("skip-reloc", &skip) && skip == i)
            continue;
        smm.relocated[i] = relocate_one(i);
        if (!smm.relocated[i])
            kprintf("# smm: CPU %u (APIC ID %u) was not relocated (done=%u from=%u ack=%u apic=%u)\n", i,
                    cpus[i].apic_id, LOWMEM_PARAMS->reloc_done, LOWMEM_PARAMS->reloc_from,
                    LOWMEM_PARAMS->reloc_ack, LOWMEM_PARAMS->reloc_apic);
    }
    memcpy(ap_at, saved_ap_entry, n);
    if (aseg_open)
        memcpy(bsp_at, saved_bsp_entry, n);
}

/* ---- installation ---- */

/* Accessed and dirty set in advance: the page walker then never writes
 * SMRAM's page tables, so they hash the same after every SMI. */
#define PTE_AD 0x60ull

static void build_page_tables(uint64_t pt, uint64_t image, uint32_t image_mem)
{
    uint64_t *pml4 = (uint64_t *)(uintptr_t)pt;
    uint64_t *pdpt_lo = pml4 + 512, *pd = pml4 + 1024;          /* 4 PDs */
    uint64_t *pdpt_hi = pml4 + 3072, *pd_hi = pml4 + 3584, *ptab = pml4 + 4096;
    memset(pml4, 0, SMM_PT_SIZE);
    for (unsigned i = 0; i < 4 * 512; i++)            /* 4 GiB identity, 2 MiB pages */
        pd[i] = ((uint64_t)i << 21) | 0x83 | PTE_AD | (i >= 3 * 512 ? 0x18 : 0);
    for (unsigned i = 0; i < 4; i++)
        pdpt_lo[i] = (pt + 8192 + 4096ull * i) | 3 | PTE_AD;
    pml4[0] = (pt + 4096) | 3 | PTE_AD;
    /* SMM_IMAGE_VBASE -> the image in SMRAM, 4 KiB pages. */
    pml4[511] = (pt + 6 * 4096) | 3 | PTE_AD;
    pdpt_hi[511] = (pt + 7 * 4096) | 3 | PTE_AD;
    pd_hi[0] = (pt + 8 * 4096) | 3 | PTE_AD;
    for (uint32_t off = 0; off < image_mem && off / 4096 < 512; off += 4096)
        ptab[off / 4096] = (image + off) | 3 | PTE_AD;
}

static void install_stub(unsigned i, uint64_t cr3, uint64_t gdt_phys, uint32_t gdt_size,
                         uint64_t entry_virt)
{
    size_t n = (size_t)(smm_stub_blob_end - smm_stub_blob);
    uint8_t *at = (uint8_t *)(uintptr_t)smm.layout.stub[i];
    memcpy(at, smm_stub_blob, n);
    struct smm_stub_params *sp = (struct smm_stub_params *)(at + 8);
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

static void fill_config(struct smm_config *c)
{
    memset(c, 0, sizeof(*c));
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
    c->sync_mem = smm.layout.sync_mem;
    c->sync_smram = smm.layout.sync_smram;
    c->sync_stride = smm.layout.sync_stride;
    c->backend = SYNCH_MEM;
    c->cmos_index = CMOS_SYNCH_INDEX;
    c->x2apic = lapic_x2apic();
    /* Test-only, smm_x2apic_flag=1: the BSP's flag says x2APIC while the CPUs
     * are in xAPIC mode, as under KVM for CPUs never started. The handler
     * must decide per CPU and not trust it. */
    uint64_t flag;
    if (cmdline_get_u64(kernel_cmdline, "smm_x2apic_flag", &flag) && flag)
        c->x2apic = 1;
    c->park_real16 = lowmem_entry(LM_PARK_REAL16);
    unsigned fc;
    if (fault_is("inactive-as-active", 0))
        c->flags |= SMMF_INACTIVE_AS_ACTIVE;
    if (fault_is("smm-spin", &fc)) {
        c->flags |= SMMF_SPIN_FOREVER;
        c->fault_cpu = fc;
    }
    c->tco_base = chipset.kind == CHIPSET_Q35 ? chipset.pmbase + 0x60u : 0;
    c->t_patent_failsafe = us_to_tsc(smm.t_patent_us);
    c->t_pullin1 = us_to_tsc(smm.t_pullin1_us);
    c->t_pullin2 = us_to_tsc(smm.t_pullin2_us);
    c->t_waitall = us_to_tsc(smm.t_waitall_us);
    c->t_member = us_to_tsc(1000000);
    c->stack_lo = ~0ull;
    for (unsigned i = 0; i < ncpus; i++) {
        uint64_t lo = smm.layout.stack[i], hi = lo + smm.layout.stack_size;
        c->stack_lo = lo < c->stack_lo ? lo : c->stack_lo;
        c->stack_hi = hi > c->stack_hi ? hi : c->stack_hi;
    }
}

static void install_image(void)
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
    memset((void *)(uintptr_t)l->sync_mem, SYNCH_INACTIVE, l->sync_size);
    /* CMOS NVRAM powers up zeroed in QEMU; a warm reboot may leave bytes. */
    for (unsigned i = 0; i < ncpus; i++) {
        outb(0x70, (uint8_t)(CMOS_SYNCH_INDEX + i));
        outb(0x71, SYNCH_INACTIVE);
    }
}

bool smm_setup(void)
{
    const struct smm_image_header *h = image_header();
    smm.backend = SYNCH_MEM;
    smm.t_patent_us = 500000;
    smm.t_pullin1_us = 2000;
    smm.t_pullin2_us = 500000;
    smm.t_waitall_us = 1000;
    cmdline_get_u64(kernel_cmdline, "waitall_us", &smm.t_waitall_us);
    cmdline_get_u64(kernel_cmdline, "pullin_us", &smm.t_pullin1_us);
    cmdline_get_u64(kernel_cmdline, "pullin2_us", &smm.t_pullin2_us);
    cmdline_get_u64(kernel_cmdline, "patent_failsafe_us", &smm.t_patent_us);
    if (chipset.kind == CHIPSET_UNKNOWN) {
        ksnprintf(smm.why_not, sizeof(smm.why_not), "unknown host bridge %04x:%04x",
                  chipset.vid, chipset.did);
        return false;
    }
    char v[16];
    if ((cmdline_get(kernel_cmdline, "smm", v, sizeof(v)) && !strcmp(v, "off")) ||
        !chipset.fw_enabled_smm) {
        why("SMM is off (%s)", chipset.fw_enabled_smm ? "smm=off on the command line"
                                                      : "firmware left G_SMRAME clear: -machine smm=off");
        return false;
    }
    if (h->magic != SMM_IMAGE_MAGIC || h->file_size > h->mem_size) {
        why("%s", "the embedded SMM image is malformed");
        return false;
    }
    apm_enable();                   /* also learns PMBASE (TCO base) on q35 */
    char err[200];
    bool want_aseg = chipset.kind != CHIPSET_Q35 ||
                     (cmdline_get(kernel_cmdline, "smram", v, sizeof(v)) && !strcmp(v, "aseg"));
    bool ok = try_layout(want_aseg ? SMRAM_ASEG : SMRAM_TSEG, err, sizeof(err));
    if (!ok && want_aseg && chipset.kind == CHIPSET_Q35) {
        ksnprintf(smm.layout_err, sizeof(smm.layout_err), "A-segment: %s", err);
        kprintf("# smm: %s; falling back to TSEG\n", smm.layout_err);
        ok = try_layout(SMRAM_TSEG, err, sizeof(err));
    }
    if (!ok) {
        why("no SMRAM layout: %s", err);
        kprintf("# smm: %s\n", smm.why_not);
        return false;
    }
    if (fault_is("bad-layout", 0)) {
        /* Test-only: CPU 1's window on top of CPU 0's; the checker must say no. */
        smm.layout.smbase[ncpus > 1 ? 1 : 0] = smm.layout.smbase[0] + 0x100;
        if (smm_layout_check(&smm.req, &smm.layout, err, sizeof(err))) {
            smm.layout_rejected = true;
            why("layout rejected: %s", err);
            return false;
        }
    }
    park_ap_real_mode();
    relocate_all();
    install_image();
    if (smm.region == SMRAM_TSEG && !tseg_enable(TSEG_MB)) {
        why("%s", "TSEG did not enable");
        return false;
    }
    smm.smram_open_requested = cmdline_get(kernel_cmdline, "smram", v, sizeof(v)) && !strcmp(v, "open");
    if (!smm.smram_open_requested) {
        smram_close_aseg();
        smm.closed = true;
    }
    /* Test-only: closed but left unlocked; the lockdown tests must notice. */
    if (!smm.smram_open_requested && !fault_is("smram-unlocked", 0)) {
        if (chipset.kind == CHIPSET_Q35 && fsmbase_supported())
            smm.fsmbase_locked = fsmbase_lock();
        if (chipset.kind == CHIPSET_Q35) {
            /* SMI_LOCK freezes GBL_SMI_EN: the OS can no longer switch SMIs off. */
            smm.smi_lock_by_fw = smi_lock_is_set();
            smm.smi_locked = smi_lock_set();
        }
        smm.locked = smram_lock();
    }
    smm.ready = true;
    return true;
}

/* ---- SMI triggers and the command interface ---- */

const char *smi_source_name(enum smi_source s)
{
    static const char *const n[] = { "ipi-physical", "ipi-self", "ipi-all", "ipi-others",
                                     "apm", "tco" };
    return (unsigned)s < SMI_SOURCE_COUNT ? n[s] : "?";
}

#define TCO_DAT_IN 0x02

static void apm_here(void *arg)
{
    (void)arg;
    apm_trigger(APM_CMD_SMMSYNC);
}

bool smi_trigger(enum smi_source s, unsigned target)
{
    switch (s) {
    case SMI_IPI_PHYS:
        return target < ncpus && lapic_send_ipi(cpus[target].apic_id, ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_IPI_SELF:
        return lapic_send_ipi(0, ICR_DEST_SELF | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_IPI_ALL:
        return lapic_send_ipi(0, ICR_DEST_ALL | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_IPI_OTHERS:
        return lapic_send_ipi(0, ICR_DEST_OTHERS | ICR_DM_SMI | ICR_LEVEL_ASSERT);
    case SMI_APM:
        /* On q35 without broadcast the writing CPU takes it: write from the target. */
        if (target == cpu_index()) {
            apm_here(0);
            return true;
        }
        return on_cpu_async(target, apm_here, 0);
    case SMI_TCO:
        if (chipset.kind != CHIPSET_Q35)
            return false;
        outw((uint16_t)(chipset.pmbase + 0x60 + TCO_DAT_IN), 0x5A);
        return true;
    default:
        return false;
    }
}

void smm_snapshot(uint64_t *entries)
{
    for (unsigned i = 0; i < ncpus; i++)
        entries[i] = smm_comm.cpu[i].entries;
}

bool smm_wait_entries(uint64_t mask, const uint64_t *base, uint64_t timeout_us)
{
    uint64_t end = deadline_after_us(timeout_us);
    for (;;) {
        bool all = true;
        for (unsigned i = 0; i < ncpus; i++)
            if ((mask >> i & 1) && !(smm_comm.cpu[i].entries > base[i] &&
                                     !smm_comm.cpu[i].in_smm && smm_comm.cpu[i].rec_count > base[i]))
                all = false;
        if (all)
            return true;
        if (deadline_passed(end))
            return false;
        cpu_relax();
    }
}

const struct smm_rec *smm_rec(unsigned cpu, uint64_t entry)
{
    const struct smm_cpu_comm *cc = &smm_comm.cpu[cpu];
    if (!entry || entry > cc->entries || cc->entries - entry >= SMM_RING)
        return 0;
    return &cc->ring[(entry - 1) % SMM_RING];
}

const struct smm_rec *smm_last_rec(unsigned cpu)
{
    return smm_rec(cpu, smm_comm.cpu[cpu].entries);
}

static uint32_t cmd_seq;          /* never 0: 0 marks "no command" */

bool smm_call(struct smm_call *c)
{
    uint32_t seq = ++cmd_seq ? cmd_seq : ++cmd_seq;   /* skip 0 on wrap */
    volatile struct smm_cmd *cmd = &smm_comm.cmd;
    /* Withdraw the old number first (0: no command), so SMM never runs an
     * old number with new fields (docs/model: regress-withdraw-stale-seq-*). */
    __atomic_store_n(&cmd->seq, 0, __ATOMIC_RELEASE);
    cmd->id = c->id;
    cmd->policy = c->policy;
    cmd->flags = CMDF_SUBMITTER(cpu_index()) |
                 (c->src == SMI_IPI_ALL || (c->src == SMI_APM && smm.apm_broadcast) ? CMDF_BROADCAST : 0);
    for (unsigned i = 0; i < 4; i++)
        cmd->arg[i] = c->arg[i];
    __atomic_store_n(&cmd->seq, seq, __ATOMIC_RELEASE);
    c->seq = seq;
    c->status = SMM_E_TIMEOUT;
    if (!smi_trigger(c->src, c->target))
        return false;
    uint64_t end = deadline_after_us(c->timeout_us ? c->timeout_us : 2000000);
    while (__atomic_load_n(&smm_comm.done_seq, __ATOMIC_ACQUIRE) != seq)
        if (deadline_passed(end))
            return false;
        else
            cpu_relax();
    c->status = smm_comm.status;
    return true;
}

uint32_t smm_local_start(unsigned cpu, enum smm_local_op op, uint64_t arg)
{
    volatile struct smm_local_req *q = &smm_comm.cpu[cpu].req;
    uint32_t seq = q->seq + 1;
    q->op = op;
    q->arg = arg;
    __atomic_store_n(&q->seq, seq, __ATOMIC_RELEASE);
    bool sent = cpu == cpu_index() ? smi_trigger(SMI_IPI_SELF, cpu) : smi_trigger(SMI_IPI_PHYS, cpu);
    if (!sent) {
        q->done_seq = seq;
        return 0;
    }
    return seq;
}

bool smm_local_finish(unsigned cpu, uint32_t seq, uint64_t timeout_us, int *status, uint64_t *result)
{
    volatile struct smm_local_req *q = &smm_comm.cpu[cpu].req;
    uint64_t end = deadline_after_us(timeout_us);
    while (seq && __atomic_load_n(&q->done_seq, __ATOMIC_ACQUIRE) != seq) {
        if (deadline_passed(end)) {
            q->done_seq = seq;      /* withdraw it: a late SMI must not act on it */
            return false;
        }
        cpu_relax();
    }
    if (!seq)
        return false;
    /* Done means served; the CPU may still take part in a rendezvous before
     * it leaves SMM (handler.c). Callers expect it back: wait, bounded. */
    uint64_t out = deadline_after_us(timeout_us);
    while (smm_comm.cpu[cpu].in_smm && !deadline_passed(out))
        cpu_relax();
    if (status)
        *status = q->status;
    if (result)
        *result = q->result;
    return true;
}

bool smm_local(unsigned cpu, enum smm_local_op op, uint64_t arg, uint64_t timeout_us,
               int *status, uint64_t *result)
{
    return smm_local_finish(cpu, smm_local_start(cpu, op, arg), timeout_us, status, result);
}

bool smm_set_backend(enum synch_backend b)
{
    struct smm_call c = { .id = SMM_CMD_SET_BACKEND, .policy = RDV_PULLIN, .arg = { b },
                          .src = SMI_IPI_SELF, .target = cpu_index() };
    if (!smm_call(&c) || c.status != SMM_OK)
        return false;
    smm.backend = b;
    return true;
}

bool smm_set_timeouts(uint64_t patent_us, uint64_t pullin1_us, uint64_t pullin2_us,
                      uint64_t waitall_us)
{
    struct smm_call c = { .id = SMM_CMD_SET_TIMEOUTS, .policy = RDV_PULLIN,
                          .arg = { patent_us, pullin1_us, pullin2_us, waitall_us },
                          .src = SMI_IPI_SELF, .target = cpu_index() };
    if (!smm_call(&c) || c.status != SMM_OK)
        return false;
    smm.t_patent_us = patent_us;
    smm.t_pullin1_us = pullin1_us;
    smm.t_pullin2_us = pullin2_us;
    smm.t_waitall_us = waitall_us;
    return true;
}

bool smm_cpu_ok(unsigned cpu)
{
    return smm.ready && cpu < ncpus && smm.relocated[cpu] && cpu_usable(cpu);
}

uint64_t smm_ok_mask(void)
{
    uint64_t m = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (smm_cpu_ok(i))
            m |= 1ull << i;
    return m;
}

/* q35: ask QEMU to broadcast APM SMIs to every CPU (the fw_cfg etc/smi files, in
 * the order docs/PLATFORM.md Q5 gives: read supported, DMA-write requested,
 * then select features-ok, which validates and locks until reset). */
bool smm_apm_negotiate_broadcast(char *whyb, unsigned whylen)
{
    uint16_t s_sup, s_req, s_ok;
    uint32_t z_sup, z_req, z_ok;
    if (smm.apm_broadcast)
        return true;
    if (!fwcfg_find("etc/smi/supported-features", &s_sup, &z_sup) ||
        !fwcfg_find("etc/smi/requested-features", &s_req, &z_req) ||
        !fwcfg_find("etc/smi/features-ok", &s_ok, &z_ok) || z_sup != 8 || z_req != 8 || z_ok != 1) {
        ksnprintf(whyb, whylen, "no etc/smi/* fw_cfg files (machine type without SMI negotiation)");
        return false;
    }
    uint64_t sup;
    fwcfg_read(s_sup, &sup, 8);
    if (!(sup & 1)) {
        ksnprintf(whyb, whylen, "host does not offer SMI broadcast (supported=0x%lx)", sup);
        return false;
    }
    static uint64_t req __attribute__((aligned(8)));
    req = 1;                        /* BROADCAST only */
    if (!fwcfg_has_dma() || !fwcfg_dma_write(s_req, &req, 8)) {
        ksnprintf(whyb, whylen, "fw_cfg DMA write of requested-features failed");
        return false;
    }
    uint8_t ok = 0;
    fwcfg_read(s_ok, &ok, 1);
    if (ok != 1) {
        ksnprintf(whyb, whylen, "features-ok reads %u", ok);
        return false;
    }
    smm.apm_broadcast = true;
    return true;
}
