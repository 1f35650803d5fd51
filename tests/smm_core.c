/* SMM core: layout, relocation, every SMI source, state preservation, RSM,
 * non-reentrancy, SMRAM protection, and the SDM ch. 34 corner cases. Every
 * verdict comes from what the handler recorded in SMM (struct smm_rec, the
 * raw save state, the per-CPU entry counters). */
#include "kernel/test.h"
#include "kernel/report.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/x86.h"
#include "kernel/percpu.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "smp/smp.h"
#include "smp/lowmem.h"
#include "smm/smm.h"
#include "smm/savestate.h"
#include "tests/smm_util.h"

/* ---- layout and relocation ---- */

static void test_layout(void)
{
    char err[200];
    smm_print_layout();
    report(!smm_layout_check(&smm.req, &smm.layout, err, sizeof(err)),
           "layout passes every invariant (%s, %u CPUs)",
           smm.region == SMRAM_TSEG ? "TSEG" : "A-segment", smm.layout.ncpus);
    if (smm.layout_err[0])
        report_info("first choice refused: %s", smm.layout_err);
    uint64_t lo = smm.layout.overlap_lo, hi = smm.layout.overlap_hi;
    report(smm.layout.sync_mem >= lo && smm.layout.sync_mem + smm.layout.sync_size <= hi &&
           smm.layout.sync_mem + smm.layout.sync_size <= smm.layout.smram_base,
           "synchbytes at 0x%lx: in the overlap of all windows, outside SMRAM", smm.layout.sync_mem);
}
TEST("10", "smm.layout", test_layout, .needs = FEAT_SMM);

static void test_reloc(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        uint32_t want_old = cpus[i].bsp ? 0xA0000 : SMM_DEFAULT_SMBASE;
        if (!report(smm.relocated[i] && smm.reloc_old[i] == want_old && smm.reloc_apic[i] == cpus[i].apic_id,
                    "cpu%u relocated from 0x%x", i, want_old))
            report_info("relocated=%d old=0x%x apic=%u", smm.relocated[i], smm.reloc_old[i],
                        smm.reloc_apic[i]);
        report(smm.reloc_rev[i] & SS_REV_SMBASE_RELOC, "cpu%u revision 0x%08x has bit 17 (SMBASE relocation)",
               i, smm.reloc_rev[i]);
        /* A later SMI must enter at the new SMBASE. */
        const struct smm_rec *r = 0;
        if (smm_cpu_ok(i) && smm_local(i, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 500000, 0, 0))
            r = smm_last_rec(i);
        if (!report(r && r->smbase == smm.layout.smbase[i], "cpu%u enters at its SMBASE 0x%lx", i,
                    smm.layout.smbase[i]))
            report_info("cpu%u: %s", i, r ? "entered elsewhere" : "no SMM entry recorded");
        else if (r)
            report_info("cpu%u entered at 0x%x, revision 0x%08x, MSR_SMI_COUNT %lu", i, r->smbase,
                        r->revision, r->smi_count);
    }
}
TEST("10", "smm.reloc", test_reloc, .needs = FEAT_SMM);

/* ---- SMI sources: each reaches exactly the CPUs it should ---- */

static void apm_on(void *arg) { (void)arg; apm_trigger(APM_CMD_SMMSYNC); }
static void self_smi_on(void *arg) { (void)arg; smi_trigger(SMI_IPI_SELF, cpu_index()); }

static void test_sources(void)
{
    uint64_t ok = smm_ok_mask();
    for (unsigned i = 0; i < ncpus; i++) {
        if (!smm_cpu_ok(i))
            continue;
        EXPECT_SMI(bit_of(i), smi_trigger(SMI_IPI_PHYS, i), "ipi-physical to cpu%u", i);
        EXPECT_SMI(bit_of(i), on_cpu(i, self_smi_on, 0), "ipi-self on cpu%u", i);
    }
    EXPECT_SMI(ok, smi_trigger(SMI_IPI_ALL, 0), "ipi-all-including-self");
    EXPECT_SMI(ok & ~bit_of(0), smi_trigger(SMI_IPI_OTHERS, 0), "ipi-all-excluding-self");
    unsigned w = ncpus > 1 && smm_cpu_ok(1) ? 1 : 0;
    if (!smm.apm_broadcast) {
        /* q35: the writing CPU; pc (PIIX4): always CPU 0 (PLATFORM-QEMU.md Q5). */
        uint64_t want = platform.q35 ? bit_of(w) : bit_of(0);
        EXPECT_SMI(want, on_cpu(w, apm_on, 0), "apm 0xB2 written by cpu%u", w);
    }
}
TEST("11", "smm.sources", test_sources, .needs = FEAT_SMM);

#define TCO_RLD   0x00
#define TCO_DAT_IN 0x02
#define TCO1_STS  0x04
#define TCO1_CNT  0x08
#define   TCO_TMR_HLT (1u << 11)
#define TCO_TMR   0x12
#define SMI_EN_TCO_EN (1u << 13)

static void test_tco(void)
{
    uint16_t tco = (uint16_t)(chipset.pmbase + 0x60);
    /* A TCO SMI is work: with active peers the monarch would pull them in.
     * Park them so the only entry is the one the hardware caused. */
    uint64_t parked = park_aps_hlt();
    EXPECT_SMI(bit_of(0), smi_trigger(SMI_TCO, 0), "TCO_DAT_IN write: SMI to cpu0 only");
    const struct smm_rec *r = smm_last_rec(0);
    report(r && (r->flags & REC_HW_TCO) && (r->tco_sts & 2), "handler saw and cleared SW_TCO_SMI (0x%x)",
           r ? r->tco_sts : 0);
    /* The TCO timer: hardware-generated, periodic (0.6 s ticks, 2 ticks minimum). */
    uint64_t base[SMMSYNC_MAX_CPUS];
    smm_snapshot(base);
    ich9_smi_en_write(ich9_smi_en_read() | SMI_EN_TCO_EN);
    outw((uint16_t)(tco + TCO_TMR), 2);
    outw((uint16_t)(tco + TCO1_CNT), inw((uint16_t)(tco + TCO1_CNT)) & ~TCO_TMR_HLT);
    outw((uint16_t)(tco + TCO_RLD), 1);
    bool got = smm_wait_entries(bit_of(0), base, 4000000);
    outw((uint16_t)(tco + TCO1_CNT), inw((uint16_t)(tco + TCO1_CNT)) | TCO_TMR_HLT);
    ich9_smi_en_write(ich9_smi_en_read() & ~SMI_EN_TCO_EN);
    r = smm_last_rec(0);
    report(got && r && (r->flags & REC_HW_TCO) && (r->tco_sts & (1u << 3)),
           "TCO timer timeout: SMI to cpu0, TIMEOUT status seen in SMM (0x%x)", r ? r->tco_sts : 0);
    wake_aps(parked);
}
TEST("11", "smm.tco", test_tco, .needs = FEAT_SMM | FEAT_Q35);
