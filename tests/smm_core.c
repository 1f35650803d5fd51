/* SMM core: layout, relocation, every SMI source, state preservation, RSM,
 * non-reentrancy, SMRAM protection, and the SDM ch. 34 corner cases. Every
 * verdict comes from what the handler recorded in SMM (struct smm_rec, the
 * raw save state, the per-CPU entry counters). */
#include "kernel/config.h"
#include "kernel/test.h"
#include "kernel/report.h"
#include "drivers/ich9_tco.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "arch/x86.h"
#include "arch/percpu.h"
#include "kernel/idt.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "smp/smp.h"
#include "smp/modetest.h"
#include "smp/lowmem.h"
#include "smm/smm.h"
#include "smm/savestate.h"
#include "smm/stub.h"
#include "tests/smm_util.h"

/* ---- layout and relocation ---- */

static void test_layout(void)
{
    char err[200];
    if (!smm.ready) {
        /* The checker's verdict on the layout that was refused, with its reason. */
        if (smm.layout_rejected && !report(!smm_layout_check(&smm.req, &smm.layout, err, sizeof(err)),
                                           "layout passes every invariant (%u CPUs)", smm.layout.ncpus))
            report_info("the checker refused it: %s", err);
        else if (!smm.layout_rejected)
            report_skip(smm.why_not, "layout");
        return;
    }
    smm_print_layout();
    report(!smm_layout_check(&smm.req, &smm.layout, err, sizeof(err)),
           "layout passes every invariant (%s, %u CPUs)",
           smm.region == SMRAM_TSEG ? "TSEG" : "A-segment", smm.layout.ncpus);
    if (smm.layout_err[0])
        report_info("first choice refused: %s", smm.layout_err);
    uint64_t lo = smm.layout.overlap_lo, hi = smm.layout.overlap_hi;
    report(smm.layout.synch_mem >= lo && smm.layout.synch_mem + smm.layout.synch_size <= hi &&
           smm.layout.synch_mem + smm.layout.synch_size <= smm.layout.smram_base,
           "synchbytes at 0x%lx: in the overlap of all windows, outside SMRAM", smm.layout.synch_mem);
}
TEST("10", "smm.layout", test_layout);

/* Where each CPU's SMBASE was before the harness moved it: SeaBIOS moves
 * the BSP's to the A-segment for its own handler and leaves the APs' at the
 * default; OVMF without SMM leaves every CPU's at the default
 * (docs/PLATFORM.md Q5). The relocation handler reads it from each CPU's
 * own save state, so this checks what was found, not what was assumed. */
static uint32_t smbase_before(unsigned i)
{
    return cpus[i].bsp && !smm.own_smram ? 0xA0000 : SMM_DEFAULT_SMBASE;
}

static void test_reloc(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        uint32_t want_old = smbase_before(i);
        if (!report(smm.relocated[i] && smm.reloc_old[i] == want_old && smm.reloc_apic[i] == cpus[i].apic_id,
                    "cpu%u relocated from 0x%x", i, want_old))
            report_info("relocated=%d old=0x%x apic=%u", smm.relocated[i], smm.reloc_old[i],
                        smm.reloc_apic[i]);
        report(smm.reloc_rev[i] & SS_REV_SMBASE_RELOC, "cpu%u revision 0x%08x has bit 17 (SMBASE relocation)",
               i, smm.reloc_rev[i]);
        /* The default save state is shared: the next CPU may be sent only
         * after this one's RSM. The hook of the mode it resumed in says so. */
        if (!report(smm.reloc_from[i] && smm.reloc_done_by[i] == smm.reloc_from[i],
                    "cpu%u said done after RSM, from its %u-bit completion hook", i, smm.reloc_from[i]))
            report_info("interrupted mode %u-bit, done written as %u", smm.reloc_from[i], smm.reloc_done_by[i]);
        if (config.ap_real_mode.set && config.ap_real_mode.v == i)
            report(smm.reloc_from[i] == 16, "cpu%u was relocated from real mode (ap_real_mode=%u): %u-bit", i, i,
                   smm.reloc_from[i]);
        /* A later SMI must enter at the new SMBASE. */
        if (!cpu_usable(i)) {
            report_skip("CPU not started", "cpu%u enters at its SMBASE", i);
            continue;
        }
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
static void apm_on_noop(void *arg) { (void)arg; }
static void self_smi_on(void *arg) { (void)arg; smi_trigger(SMI_IPI_SELF, cpu_index()); }

static void test_sources(void)
{
    cpuset_t ok = smm_ok_set();
    for (unsigned i = 0; i < ncpus; i++) {
        if (!smm_cpu_ok(i))
            continue;
        EXPECT_SMI(cs_of(i), smi_trigger(SMI_IPI_PHYS, i), "ipi-physical to cpu%u", i);
        EXPECT_SMI(cs_of(i), on_cpu(i, self_smi_on, 0), "ipi-self on cpu%u", i);
    }
    /* A broadcast also reaches the relocated CPUs never started (start_cpus):
     * they sit in the firmware's halt loop, not in wait-for-SIPI. */
    cpuset_t reach = ok;
    for (unsigned i = 1; i < ncpus; i++)
        if (cpus[i].state == CPU_OFFLINE && smm.relocated[i])
            cs_add(&reach, i);
    EXPECT_SMI(reach, smi_trigger(SMI_IPI_ALL, 0), "ipi-all-including-self");
    EXPECT_SMI(cs_minus(reach, cs_of(0)), smi_trigger(SMI_IPI_OTHERS, 0), "ipi-all-excluding-self");
    unsigned w = ncpus > 1 && smm_cpu_ok(1) ? 1 : 0;
    if (!smm.apm_broadcast) {
        /* q35: the writing CPU; pc (PIIX4): always CPU 0 (docs/PLATFORM.md Q5). */
        cpuset_t want = cs_of(platform.q35 ? w : 0);
        EXPECT_SMI(want, on_cpu(w, apm_on, 0), "apm 0xB2 written by cpu%u", w);
    }
}
TEST("11", "smm.sources", test_sources, .needs = FEAT_SMM);


static void test_tco(void)
{
    uint16_t tco = (uint16_t)(chipset.pmbase + ICH9_TCO_OFF);
    /* A TCO SMI is work: with active peers the monarch would pull them in.
     * Park them so the only entry is the one the hardware caused. */
    cpuset_t parked = park_aps_hlt();
    EXPECT_SMI(cs_of(0), smi_trigger(SMI_TCO, 0), "TCO_DAT_IN write: SMI to cpu0 only");
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
    bool got = smm_wait_entries(cs_of(0), base, 4000000);
    outw((uint16_t)(tco + TCO1_CNT), inw((uint16_t)(tco + TCO1_CNT)) | TCO_TMR_HLT);
    ich9_smi_en_write(ich9_smi_en_read() & ~SMI_EN_TCO_EN);
    r = smm_last_rec(0);
    report(got && r && (r->flags & REC_HW_TCO) && (r->tco_sts & (1u << 3)),
           "TCO timer timeout: SMI to cpu0, TIMEOUT status seen in SMM (0x%x)", r ? r->tco_sts : 0);
    wake_aps(parked);
}
TEST("11", "smm.tco", test_tco, .needs = FEAT_SMM | FEAT_Q35);

/* ---- state preservation across SMI/RSM in every mode (C3) ---- */


static void run_lowmem_mode(void *arg) { lowmem_mode_test((enum lowmem_mode)(uintptr_t)arg); }
/* The 64-bit modes' context (struct mode_ctx), taken on the CPU just
 * before mode_test_long, which changes none of it. */
static void run_long_mode(void *arg)
{
    struct mode_ctx *c = &LOWMEM_PARAMS->ctx;
    uint16_t sel;
    uint64_t dr7;
    __asm__ volatile("sgdt %0" : "=m"(c->gdtr));
    __asm__ volatile("sidt %0" : "=m"(c->idtr));
#define SAVE_SEL(insn, field) do { __asm__ volatile(insn " %0" : "=r"(sel)); c->field = sel; } while (0)
    SAVE_SEL("sldt", ldtr);
    SAVE_SEL("str", tr);
    SAVE_SEL("mov %%ds,", ds);
    SAVE_SEL("mov %%es,", es);
    SAVE_SEL("mov %%ss,", ss);
    SAVE_SEL("mov %%fs,", fs);
    SAVE_SEL("mov %%gs,", gs);
#undef SAVE_SEL
    c->cr4 = (uint32_t)read_cr4();
    __asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
    c->dr7 = (uint32_t)dr7;
    c->efer = (uint32_t)rdmsr(MSR_EFER);
    c->fs_base = rdmsr(0xC0000100);
    c->gs_base = rdmsr(0xC0000101);
    mode_test_long((int)(uintptr_t)arg);
}

enum mcase { MC_LONG, MC_HLT, MC_PROT32, MC_PROT32_PG, MC_REAL, MC_COUNT };
static const char *const mc_name[MC_COUNT] = { "long", "hlt", "prot32", "prot32-paging", "real" };

static bool wait_flag(volatile uint32_t *f, uint64_t us)
{
    return WAIT_UNTIL(*f, us);
}

/* Starts CPU k in mode mc with patterns loaded, and returns once it waits. */
static bool mode_start(unsigned k, enum mcase mc)
{
    struct lowmem_params *p = LOWMEM_PARAMS;
    memset(&p->ctx, 0, sizeof(p->ctx));
    p->ctx.ldtr = p->ctx.tr = 0xFFFF;        /* real mode has neither */
    if (mc == MC_LONG || mc == MC_HLT) {
        for (unsigned i = 0; i < 16; i++)
            ml_pat[i] = 0x0F1E2D3C4B5A6978ull ^ ((uint64_t)(i + 1) * 0x1111111111111111ull);
        ml_ready = ml_go = 0;
        if (!on_cpu_async(k, run_long_mode, (void *)(uintptr_t)(mc == MC_HLT)))
            return false;
        bool ready = wait_flag(&ml_ready, 1000000);
        if (mc == MC_HLT)
            mdelay(5);              /* 'ready' is set just before the hlt: let it halt */
        return ready;
    }
    for (unsigned i = 0; i < 8; i++)
        p->pat[i] = 0xC0DE0000u | (uint32_t)(mc << 8) | (i * 0x11u);
    p->ready = p->go = p->timedout = 0;
    enum lowmem_mode m = mc == MC_REAL ? LM_MODE_REAL : mc == MC_PROT32 ? LM_MODE_PROT32 : LM_MODE_PROT32_PG;
    if (!on_cpu_async(k, run_lowmem_mode, (void *)(uintptr_t)m))
        return false;
    return wait_flag(&p->ready, 1000000);
}

static bool mode_finish(unsigned k, enum mcase mc)
{
    if (mc == MC_LONG || mc == MC_HLT)
        ml_go = 1;
    else
        LOWMEM_PARAMS->go = 1;
    if (on_cpu_wait(k, 2000000))
        return true;
    if (mc == MC_HLT) {             /* still halted: get it back, but fail */
        lapic_send_ipi(cpus[k].apic_id, ICR_DM_NMI);
        on_cpu_wait(k, 1000000);
    }
    return false;
}

static const enum ss_field gpr64[16] = { SS_RAX, SS_RBX, SS_RCX, SS_RDX, SS_RSI, SS_RDI, SS_RBP,
                                         SS_RSP, SS_R8, SS_R9, SS_R10, SS_R11, SS_R12, SS_R13,
                                         SS_R14, SS_R15 };

/* The interrupted general-purpose registers: in the save state, and back
 * in the CPU after RSM. */
static void check_gprs(const char *n, bool is64, const uint8_t *ss)
{
    unsigned ngpr = is64 ? 16 : 8;
    char saved_bad[200] = "", after_bad[200] = "";
    unsigned ns = 0, na = 0;
    for (unsigned i = 0; i < ngpr; i++) {
        uint64_t want = is64 ? ml_pat[i] : LOWMEM_PARAMS->pat[i], v = ~0ull;
        uint64_t out = is64 ? ml_out[i] : LOWMEM_PARAMS->out[i];
        ss_get(ss, gpr64[i], &v);
        if (!is64)
            v &= 0xFFFFFFFF;
        if (v != want && ns < sizeof(saved_bad) - 1)
            ns += (unsigned)ksnprintf(saved_bad + ns, sizeof(saved_bad) - ns, "%s%s = 0x%lx, expected 0x%lx",
                                      ns ? "; " : "", ss_field_name(gpr64[i]), v, want);
        if (out != want && na < sizeof(after_bad) - 1)
            na += (unsigned)ksnprintf(after_bad + na, sizeof(after_bad) - na, "%s%s = 0x%lx, expected 0x%lx",
                                      na ? "; " : "", ss_field_name(gpr64[i]), out, want);
    }
    if (!report(!saved_bad[0], "%s: the save state holds all %u interrupted GPRs", n, ngpr))
        report_info("%s: saved %s", n, saved_bad);
    if (!report(!after_bad[0], "%s: all %u GPRs intact after RSM", n, ngpr))
        report_info("%s: after RSM %s", n, after_bad);
}

struct saved_mode { uint64_t rip, cs, cr0, cr3, efer, rfl, csbase; };

/* Whether the saved control registers describe the mode 'mc', and where
 * [*lo, *hi) its interrupted code lies. */
static bool mode_matches(enum mcase mc, const struct saved_mode *m, uint64_t *lo, uint64_t *hi)
{
    switch (mc) {
    case MC_LONG:
        *lo = (uintptr_t)ml_wait_start, *hi = (uintptr_t)ml_wait_end;
        return (m->efer & EFER_LMA) && (m->cr0 & CR0_PG) && m->cs == GDT_CODE64 && m->cr3 == read_cr3();
    case MC_HLT:
        *lo = (uintptr_t)ml_after_hlt, *hi = *lo + 1;     /* no auto-HALT restart: resumes after hlt */
        return (m->efer & EFER_LMA) && m->cs == GDT_CODE64;
    case MC_PROT32:
        *lo = lowmem_entry(LM_WAIT32), *hi = *lo + 40;
        return (m->cr0 & CR0_PE) && !(m->cr0 & CR0_PG) && !(m->efer & EFER_LMA) && m->cs == GDT_CODE32;
    case MC_PROT32_PG:
        *lo = lowmem_entry(LM_WAIT32), *hi = *lo + 40;
        return (m->cr0 & CR0_PE) && (m->cr0 & CR0_PG) && !(m->efer & EFER_LMA) && m->cs == GDT_CODE32 &&
               m->cr3 == LOWMEM_PD32;
    default:
        *lo = lowmem_entry(LM_WAIT16), *hi = *lo + 40;
        return !(m->cr0 & CR0_PE) && m->cs == 0 && m->csbase == 0;
    }
}

/* ---- the rest of the save-state map (SDM 34.4.1), field by field ---- */

#define MISMATCH_LEN 400
struct mismatch { char s[MISMATCH_LEN]; size_t n; };

static void want_eq(struct mismatch *m, const uint8_t *ss, enum ss_field f, uint64_t want)
{
    uint64_t v = ~0ull;
    bool have = ss_get(ss, f, &v);
    if ((!have || v != want) && m->n < sizeof(m->s))
        m->n += (size_t)ksnprintf(m->s + m->n, sizeof(m->s) - m->n, " %s %lx (want %lx)", ss_field_name(f),
                                  have ? v : 0, want);
}

static uint64_t dt_base(const uint8_t *dt) { uint64_t b; memcpy(&b, dt + 2, 8); return b; }
static uint16_t dt_limit(const uint8_t *dt) { uint16_t l; memcpy(&l, dt, 2); return l; }

/* GDTR, IDTR, LDTR, TR, the data selectors, CR4, DR7, EFER, SMBASE and the
 * revision against the context the mode's own code recorded. */
static void check_system_regs(const char *n, unsigned k, enum mcase mc, const uint8_t *ss)
{
    const struct mode_ctx *c = &LOWMEM_PARAMS->ctx;
    const struct smm_rec *r = smm_last_rec(k);
    struct mismatch m = { "", 0 };
    want_eq(&m, ss, SS_GDTR_BASE, dt_base(c->gdtr));
    want_eq(&m, ss, SS_GDTR_LIMIT, dt_limit(c->gdtr));
    want_eq(&m, ss, SS_IDTR_BASE, dt_base(c->idtr));
    want_eq(&m, ss, SS_IDTR_LIMIT, dt_limit(c->idtr));
    if (mc != MC_REAL) {
        want_eq(&m, ss, SS_LDTR_SEL, c->ldtr);
        want_eq(&m, ss, SS_TR_SEL, c->tr);
    }
    want_eq(&m, ss, SS_DS_SEL, c->ds);
    want_eq(&m, ss, SS_ES_SEL, c->es);
    want_eq(&m, ss, SS_SS_SEL, c->ss);
    want_eq(&m, ss, SS_FS_SEL, c->fs);
    want_eq(&m, ss, SS_GS_SEL, c->gs);
    want_eq(&m, ss, SS_CR4, c->cr4);
    want_eq(&m, ss, SS_DR7, c->dr7);
    if (ss_map_of(ss) == SS_MAP_AMD64)
        want_eq(&m, ss, SS_EFER, c->efer);
    want_eq(&m, ss, SS_SMBASE, smm.layout.smbase[k]);
    uint32_t rev = ss_revision(ss);
    if (!report(!m.s[0] && r && r->revision == rev && (rev & SS_REV_SMBASE_RELOC),
                "%s: GDTR, IDTR, LDTR, TR, data selectors, CR4, DR7, EFER, SMBASE and revision (%x) as interrupted",
                n, rev))
        report_info("%s:%s%s", n, m.s, r && r->revision == rev ? "" : " (revision differs from the entry's record)");
}

/* A data segment's descriptor cache against its descriptor in the GDT
 * (protected and long mode; AMD64 map: attributes = access byte, flags
 * nibble in bits 15:12), or base = selector x 16 (real mode). The limit
 * and attributes of a real-mode segment are what an earlier load left:
 * not checked. */
static void want_seg(struct mismatch *m, const uint8_t *ss, enum mcase mc, uint16_t sel, enum ss_field fbase,
                     enum ss_field flimit, enum ss_field fattr, uint64_t gdt)
{
    if (mc == MC_REAL) {
        want_eq(m, ss, fbase, (uint64_t)sel << 4);
        return;
    }
    if (!(sel & ~7u))
        return;                          /* a null selector: its cache is unusable */
    uint64_t d;
    memcpy(&d, (const void *)(uintptr_t)(gdt + (sel & ~7u)), 8);
    uint32_t limit = (uint32_t)((d & 0xFFFF) | ((d >> 32) & 0xF0000));
    if (d & (1ull << 55))
        limit = (limit << 12) | 0xFFF;
    want_eq(m, ss, fbase, ((d >> 16) & 0xFFFFFF) | ((d >> 32) & 0xFF000000));
    want_eq(m, ss, flimit, limit);
    if (ss_map_of(ss) != SS_MAP_AMD64)
        return;
    /* The accessed bit aside: the cache keeps the one of the descriptor it
     * was loaded from, which may be another GDT's copy (percpu.c). */
    uint64_t a = ~0ull, want = ((d >> 40) & 0xFE) | ((d >> 52) & 0xF) << 12;
    ss_get(ss, fattr, &a);
    if ((a & ~1ull) != want && m->n < sizeof(m->s))
        m->n += (size_t)ksnprintf(m->s + m->n, sizeof(m->s) - m->n, " %s %lx (want %lx, accessed bit aside)",
                                  ss_field_name(fattr), a, want);
}

static void check_seg_caches(const char *n, enum mcase mc, const uint8_t *ss)
{
    const struct mode_ctx *c = &LOWMEM_PARAMS->ctx;
    uint64_t gdt = dt_base(c->gdtr);
    struct mismatch m = { "", 0 };
    want_seg(&m, ss, mc, c->ds, SS_DS_BASE, SS_DS_LIMIT, SS_DS_ATTR, gdt);
    want_seg(&m, ss, mc, c->es, SS_ES_BASE, SS_ES_LIMIT, SS_ES_ATTR, gdt);
    want_seg(&m, ss, mc, c->ss, SS_SS_BASE, SS_SS_LIMIT, SS_SS_ATTR, gdt);
    if (mc == MC_LONG || mc == MC_HLT) {     /* FS and GS bases: the MSRs */
        want_eq(&m, ss, SS_FS_BASE, c->fs_base);
        want_eq(&m, ss, SS_GS_BASE, c->gs_base);
    }
    if (!report(!m.s[0], "%s: DS, ES, SS %s", n, mc == MC_REAL ? "bases are selector x 16" :
                "caches (base, limit, attributes) match their descriptors; FS/GS bases in 64-bit modes"))
        report_info("%s:%s", n, m.s);
}

static void check_mode(unsigned k, enum mcase mc, const uint8_t *ss)
{
    const char *n = mc_name[mc];
    check_gprs(n, mc == MC_LONG || mc == MC_HLT, ss);
    struct saved_mode m = { 0, 0, 0, 0, 0, 0, 0 };
    ss_get(ss, SS_RIP, &m.rip);
    ss_get(ss, SS_CS_SEL, &m.cs);
    ss_get(ss, SS_CS_BASE, &m.csbase);
    ss_get(ss, SS_CR0, &m.cr0);
    ss_get(ss, SS_CR3, &m.cr3);
    ss_get(ss, SS_EFER, &m.efer);
    ss_get(ss, SS_RFLAGS, &m.rfl);
    uint64_t lin = m.csbase + m.rip, lo, hi;
    bool mode_ok = mode_matches(mc, &m, &lo, &hi);
    if (!report(mode_ok && !(m.rfl & RFLAGS_IF), "%s: saved CR0/CR3/EFER/CS/RFLAGS describe the interrupted mode", n))
        report_info("%s: cr0=0x%lx cr3=0x%lx efer=0x%lx cs=0x%lx rflags=0x%lx", n, m.cr0, m.cr3, m.efer, m.cs, m.rfl);
    if (!report(lin >= lo && lin < hi, "%s: saved RIP 0x%lx is where the CPU was", n, lin))
        report_info("%s: expected [0x%lx, 0x%lx)", n, lo, hi);
    check_system_regs(n, k, mc, ss);
    check_seg_caches(n, mc, ss);
}

static void test_state(void)
{
    unsigned k = 1;
    if (!report(smm_cpu_ok(k), "cpu%u is online and relocated", k))
        return;
    for (enum mcase mc = 0; mc < MC_COUNT; mc++) {
        uint64_t base[SMMSYNC_MAX_CPUS];
        bool started = mode_start(k, mc);
        smm_snapshot(base);
        bool entered = started && smi_trigger(SMI_IPI_PHYS, k) &&
                       smm_wait_entries(cs_of(k), base, 1000000);
        static uint8_t ss[SMM_SAVE_SIZE];
        memcpy(ss, smm_comm.cpu[k].save_state, sizeof(ss));
        bool finished = mode_finish(k, mc);
        if (!report(started && entered && finished, "%s: cpu%u entered the mode, took the SMI, came back",
                    mc_name[mc], k)) {
            report_info("started=%d entered=%d finished=%d", started, entered, finished);
            if (!finished)
                return;             /* the CPU is lost; later cases would only repeat it */
            continue;
        }
        check_mode(k, mc, ss);
    }
}
TEST("12", "smm.state", test_state, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- the SMM execution environment on entry (SDM 34.5.1) ---- */

#define DR7_ON_ENTRY    0x400u
#define EFLAGS_ON_ENTRY 0x2u
#define CR0_CLEARED     (CR0_PE | CR0_EM | CR0_TS | CR0_PG)

/* One entry's snapshot (taken by the stub before its first change) against
 * the SDM's table "Processor Register Initialization in SMM"; CR0 keeps the
 * interrupted context's other bits (the save state's CR0). One result. */
static void check_entry_state(const struct smm_rec *r, const char *what)
{
    const struct smm_entry_state *e = &r->entry;
    char bad[240];
    size_t n = 0;
    bad[0] = 0;
#define ENTRY_WANT(cond, ...) \
    do { if (!(cond) && n < sizeof(bad)) n += (size_t)ksnprintf(bad + n, sizeof(bad) - n, __VA_ARGS__); } while (0)
    ENTRY_WANT(e->magic == SMM_ENTRY_SNAP_MAGIC, " no snapshot (magic %x)", e->magic);
    ENTRY_WANT(e->cs == ((r->smbase >> 4) & 0xFFFF), " CS %x (want SMBASE>>4 = %x)", e->cs, (r->smbase >> 4) & 0xFFFF);
    ENTRY_WANT(e->cs_magic == SMM_STUB_MAGIC, " CS-relative read %x (CS base is not SMBASE)", e->cs_magic);
    ENTRY_WANT(!e->ds && !e->es && !e->ss && !e->fs && !e->gs, " DS/ES/SS/FS/GS %x/%x/%x/%x/%x (want 0)",
               e->ds, e->es, e->ss, e->fs, e->gs);
    ENTRY_WANT(smm_entry_eflags(e) == EFLAGS_ON_ENTRY, " EFLAGS %x (want 2)", smm_entry_eflags(e));
    ENTRY_WANT(e->cr0 == (r->cr0 & ~CR0_CLEARED), " CR0 %x (want the interrupted %x without PE/EM/TS/PG)",
               e->cr0, r->cr0);
    ENTRY_WANT(!e->cr4, " CR4 %x (want 0)", e->cr4);
    ENTRY_WANT(e->dr7 == DR7_ON_ENTRY, " DR7 %x (want 400)", e->dr7);
    ENTRY_WANT(!e->efer_lo && !e->efer_hi, " EFER %x (want 0)", e->efer_lo);
#undef ENTRY_WANT
    if (!report(!bad[0], "%s: entry state as the SDM specifies (CS %04x, EFLAGS %x, CR0 %x, CR4 %x, DR7 %x, "
                "EFER %x)", what, e->cs, smm_entry_eflags(e), e->cr0, e->cr4, e->dr7, e->efer_lo))
        report_info("entry seq %u:%s", r->seq, bad);
    report_info("%s: IDTR %x/%x, GDTR %x/%x, CR3 %x, DR6 %x on entry (the SDM does not specify them)", what,
                e->idt_base, e->idt_limit, e->gdt_base, e->gdt_limit, e->cr3, e->dr6);
}

static void test_entry_state(void)
{
    unsigned k = 1;
    if (!report(smm_cpu_ok(k), "cpu%u is online and relocated", k))
        return;
    /* Every CPU, from the kernel's long mode (a service SMI). */
    for (unsigned i = 0; i < ncpus; i++) {
        if (!smm_cpu_ok(i))
            continue;
        char what[32];
        ksnprintf(what, sizeof(what), "cpu%u from long mode", i);
        const struct smm_rec *r = 0;
        if (smm_local(i, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 1000000, 0, 0))
            r = smm_last_rec(i);
        if (!report(r != 0, "%s: a service SMI entered", what))
            continue;
        check_entry_state(r, what);
    }
    /* cpu1 from each CPU mode: CR0 on entry follows the interrupted one. */
    for (enum mcase mc = 0; mc < MC_COUNT; mc++) {
        uint64_t base[SMMSYNC_MAX_CPUS];
        bool started = mode_start(k, mc);
        smm_snapshot(base);
        bool entered = started && smi_trigger(SMI_IPI_PHYS, k) && smm_wait_entries(cs_of(k), base, 1000000);
        bool finished = mode_finish(k, mc);
        const struct smm_rec *r = smm_last_rec(k);
        char what[48];
        ksnprintf(what, sizeof(what), "cpu%u from %s", k, mc_name[mc]);
        if (!report(started && entered && finished && r, "%s: entered the mode, took the SMI, came back", what)) {
            if (!finished)
                return;
            continue;
        }
        check_entry_state(r, what);
    }
}
TEST("12", "smm.entry_state", test_entry_state, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- RSM honours a modified save state (C5) ---- */

static void test_rsm(void)
{
    unsigned k = 1, j = 0;
    const uint64_t newrax = 0xFEEDFACECAFEBEEFull;
    bool started = mode_start(k, MC_LONG);
    int st = -1;
    bool served = started && smm_local(k, SMM_LOCAL_SET_RAX, newrax, 1000000, &st, 0) && st == SMM_OK;
    bool finished = mode_finish(k, MC_LONG);
    bool others = true;
    for (unsigned i = 1; i < 16; i++)
        others &= ml_out[i] == ml_pat[i];
    if (!report(served && finished && ml_out[0] == newrax && others,
                "saved RAX changed in SMM: RAX after RSM = 0x%lx, other GPRs untouched", ml_out[0]))
        report_info("served=%d (status %d) finished=%d others intact=%d", served, st, finished, others);

    /* A new SMBASE (another CPU's slot, idle meanwhile) applies from the next SMI. */
    uint64_t b0 = smm.layout.smbase[k], b1 = smm.layout.smbase[j];
    const struct smm_rec *r;
    served = smm_local(k, SMM_LOCAL_SET_SMBASE, b1, 1000000, &st, 0) && st == SMM_OK;
    r = smm_last_rec(k);
    bool old_then = r && r->smbase == b0;
    served = served && smm_local(k, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 1000000, 0, 0);
    r = smm_last_rec(k);
    bool moved = served && r && r->smbase == b1;
    if (!report(old_then && moved, "SMBASE written in SMM: the next SMI enters at 0x%lx (was 0x%lx)", b1, b0))
        report_info("the service call entered at 0x%lx, the next SMI at 0x%x", b0, r ? r->smbase : 0);
    served = smm_local(k, SMM_LOCAL_SET_SMBASE, b0, 1000000, &st, 0) &&
             smm_local(k, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 1000000, 0, 0);
    r = smm_last_rec(k);
    report(served && r && r->smbase == b0, "and moves back to 0x%lx", b0);
    served = smm_local(k, SMM_LOCAL_SET_SMBASE, smm.layout.smram_base + 0x123, 1000000, &st, 0);
    report(served && st == SMM_E_BAD_PTR, "an SMBASE that is no CPU's slot is refused (status %d)", st);
}
TEST("12", "smm.rsm", test_rsm, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- non-reentrancy: SMIs during SMM are latched one deep (C2) ---- */

static bool wait_in_smm(unsigned k, bool want, uint64_t us)
{
    return WAIT_UNTIL((smm_comm.cpu[k].in_smm != 0) == want, us);
}

static void test_nonreentrant(void)
{
    unsigned k = ncpus > 1 && smm_cpu_ok(1) ? 1 : 0;
    if (k == 0) {
        report_skip("needs an AP to hold in SMM", "latched SMIs");
        return;
    }
    uint64_t base[SMMSYNC_MAX_CPUS];
    smm_comm.hold_release = 0;
    smm_snapshot(base);
    uint32_t seq = smm_local_start(k, SMM_LOCAL_HOLD, 2000000);
    bool held = wait_in_smm(k, true, 1000000);
    for (int i = 0; i < 3; i++)
        smi_trigger(SMI_IPI_PHYS, k);
    mdelay(10);
    uint64_t during = smm_entries(k) - base[k];
    smm_comm.hold_release = 1;
    bool released = smm_local_finish(k, seq, 2000000, 0, 0);
    uint64_t b2[SMMSYNC_MAX_CPUS];
    for (unsigned i = 0; i < ncpus; i++)
        b2[i] = base[i] + 1;
    smm_wait_entries(cs_of(k), b2, 1000000);
    mdelay(50);
    smm_comm.hold_release = 0;
    uint64_t total = smm_entries(k) - base[k];
    const struct smm_rec *a = smm_rec(k, base[k] + 1), *b = smm_rec(k, base[k] + 2);
    if (!report(held && released && during == 1, "3 SMIs sent while cpu%u was in SMM: no nested entry", k))
        report_info("held=%d released=%d, %lu SMM entries while held", held, released, during);
    if (!report(total == 2 && a && b && b->role == ROLE_NOWORK,
                "exactly one more entry after RSM (%lu entries in all; the latched one found no work)", total))
        report_info("second entry's role %u", b ? b->role : 0);
    report(a && b && b->smi_count == a->smi_count + 1, "MSR_SMI_COUNT advanced by one per entry (%lu -> %lu)",
           a ? a->smi_count : 0, b ? b->smi_count : 0);
}
TEST("13", "smm.nonreentrant", test_nonreentrant, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- SMRAM protection (C6) ---- */

extern const uint8_t smm_stub_blob[];

/* The probe: SMRAM content that non-SMM code must neither read nor write. */
static void check_smram_probe(void)
{
    const uint64_t secret = 0x5AFE5AFE0BADC0DEull, outside = 0x1111111111111111ull;
    volatile uint64_t *probe = (volatile uint64_t *)(uintptr_t)smm.probe_phys;
    struct smm_call c = { .id = SMM_CMD_PROBE, .arg = { 1, secret }, .src = SMI_IPI_SELF };
    bool wrote = smm_call(&c) && c.status == SMM_OK && smm_comm.result[0] == secret;
    uint64_t seen = *probe;
    bool stub_hidden = memcmp((const void *)(uintptr_t)smm.layout.stub[0], smm_stub_blob, 16) != 0;
    bool read_leak = seen == secret || !stub_hidden;
    *probe = outside;
    struct smm_call r = { .id = SMM_CMD_PROBE, .arg = { 0, 0 }, .src = SMI_IPI_SELF };
    bool read = smm_call(&r) && r.status == SMM_OK;
    uint64_t in_smm = smm_comm.result[0];
    bool write_leak = read && in_smm != secret;
    char ev[160];
    ksnprintf(ev, sizeof(ev), "non-SMM read of SMRAM probe 0x%lx gave 0x%lx; after a non-SMM write SMM reads 0x%lx",
              smm.probe_phys, seen, in_smm);
    report(wrote && read, "SMM wrote and read back its probe in SMRAM");
    if (smm.region == SMRAM_ASEG) {
        report_deviation("aseg-leak-no-vga", read_leak, ev, "closed A-segment: non-SMM reads see none of the handler's bytes");
        report_deviation("aseg-leak-no-vga", write_leak, ev, "closed A-segment: non-SMM writes do not reach SMRAM");
    } else {
        if (!report(!read_leak, "closed TSEG: non-SMM reads see none of the handler's bytes"))
            report_info("%s", ev);
        if (!report(!write_leak, "closed TSEG: non-SMM writes do not reach SMRAM"))
            report_info("%s", ev);
    }
    if (write_leak) {                   /* put the probe back for later runs */
        struct smm_call w = { .id = SMM_CMD_PROBE, .arg = { 1, secret }, .src = SMI_IPI_SELF };
        smm_call(&w);
    }

}

/* q35: ESMRAMC frozen, the default-SMBASE window locked, SMI_LOCK set. */
static void check_q35_locks(void)
{
    uint8_t e = esmramc_read();
    esmramc_write((uint8_t)(e & ~ESMRAMC_T_EN));
    report(esmramc_read() == e, "after D_LCK, ESMRAMC (TSEG enable and size) is frozen (0x%02x)", e);
    if (esmramc_read() != e)
        esmramc_write(e);
    report(fsmbase_read() == MCH_F_SMBASE_LCK, "default-SMBASE window 0x30000-0x4FFFF locked (0x9C = 0x%02x)",
           fsmbase_read());
    if (report(smm.smi_locked && smi_lock_is_set(), "SMI_LOCK set in GEN_PMCON_1 by the harness"))
        report_info("SMI_LOCK: %s", smm.smi_lock_by_fw ? "the firmware had set it already" : "the firmware had left it clear");
    else
        report_info("SMI_LOCK %s now; the harness %s", smi_lock_is_set() ? "set" : "clear",
                    smm.smi_locked ? "set it" : "did not set it");
    /* What the lock is for: GBL_SMI_EN can no longer be cleared. */
    uint32_t en = ich9_smi_en_read();
    ich9_smi_en_write(en & ~SMI_EN_GBL_SMI_EN);
    uint32_t after = ich9_smi_en_read();
    if (after != en)
        ich9_smi_en_write(en);
    report((en & SMI_EN_GBL_SMI_EN) && after == en,
           "after SMI_LOCK, GBL_SMI_EN cannot be cleared (SMI_EN 0x%x, after writing 0x%x: 0x%x)", en,
           en & ~SMI_EN_GBL_SMI_EN, after);
}

/* D_LCK: D_OPEN can no longer be set (the i440FX ignores it). */
static void check_smram_lock(void)
{
    uint8_t before = smram_read();
    report(smram_is_locked(), "SMRAM is locked (D_LCK set: 0x%02x)", before);
    smram_write((uint8_t)(before | SMRAM_D_OPEN));
    bool reopened = smram_read() & SMRAM_D_OPEN;
    if (platform.pc) {
        char e2[96];
        ksnprintf(e2, sizeof(e2), "SMRAM register 0x72: 0x%02x, after writing D_OPEN: 0x%02x", before, smram_read());
        report_deviation("smram-lock-ignored", reopened, e2, "after D_LCK, D_OPEN cannot be set");
    } else {
        report(!reopened, "after D_LCK, D_OPEN cannot be set (0x%02x)", smram_read());
    }
    if (reopened)
        smram_close_aseg();
}

static void test_smram(void)
{
    check_smram_probe();
    check_smram_lock();
    if (platform.q35)
        check_q35_locks();
}
TEST("13", "smm.smram", test_smram, .needs = FEAT_SMM);

/* ---- wait-for-SIPI, INIT and SIPI against SMM (C4, C8) ---- */

static void test_wfs(void)
{
    unsigned k = 1;
    uint64_t base[SMMSYNC_MAX_CPUS];
    if (!cpu_park_init(k)) {
        report(false, "cpu%u parks in wait-for-SIPI", k);
        return;
    }
    smm_snapshot(base);
    /* Two SMIs, 50 ms apart: pending SMIs merge, so a conforming CPU still
     * shows one entry after the SIPI; under TCG a first SMI that met a
     * still-pending INIT is dropped with it, the second is then taken. */
    smi_trigger(SMI_IPI_PHYS, k);
    mdelay(50);
    smi_trigger(SMI_IPI_PHYS, k);
    bool taken_now = smm_wait_entries(cs_of(k), base, 300000);
    const struct smm_rec *r = taken_now ? smm_rec(k, base[k] + 1) : 0;
    char ev[200];
    ksnprintf(ev, sizeof(ev), "%s (saved CS %04x base %lx RIP %lx, role %u)",
              taken_now ? "the SMI was taken at once, before any SIPI" : "the SMI stayed pending",
              r ? r->cs_sel : 0, r ? r->cs_base : 0, r ? r->rip : 0, r ? r->role : 0);
    report_deviation("wfs-smi-not-pended", taken_now, ev, "SMI to a CPU in wait-for-SIPI is pended until the SIPI");
    if (taken_now && !report(r && r->role == ROLE_WFS_PARK && r->cs_base == 0xFFFF0000ull && r->rip == 0xFFF0,
                             "the handler recognised the reset state and parked the CPU instead of RSM to F000:FFF0"))
        report_info("entry recorded role %u, CS base 0x%lx, RIP 0x%lx", r ? r->role : 0, r ? r->cs_base : 0,
                    r ? r->rip : 0);
    bool woke = cpu_wake_sipi(k);
    report(woke, "cpu%u still starts with a SIPI afterwards", k);
    if (!taken_now) {
        /* SDM: the pended SMI is serviced before the SIPI vector runs. */
        bool later = smm_wait_entries(cs_of(k), base, 300000);
        r = later ? smm_last_rec(k) : 0;
        report(r && r->cs_sel == (LOWMEM_BASE >> 4) && r->rip == 0,
               "the pended SMI was serviced at the SIPI vector's first instruction");
    }
    uint8_t v;
    report(!woke || !synch_peek(k, &v) || v == SYNCH_ACTIVE, "cpu%u's synchbyte is active again", k);
}
TEST("14", "smm.wfs", test_wfs, .needs = FEAT_SMM, .min_cpus = 2);

/* Holds cpu k in SMM (a service call); true when its hold loop runs. */
static bool hold_in_smm(unsigned k, uint32_t *seq)
{
    smm_comm.hold_release = 0;
    uint64_t spins0 = smm_comm.cpu[k].spins;
    *seq = smm_local_start(k, SMM_LOCAL_HOLD, 3000000);
    bool held = wait_in_smm(k, true, 1000000);
    return held && WAIT_UNTIL(smm_comm.cpu[k].spins != spins0, 1000000);   /* the hold loop is running */
}

/* After the INIT: true if the hold loop stopped counting for 30 ms within
 * 1 s (the target's vCPU thread may take a while to see the INIT); s1, s2:
 * the spin counts at the start and at the end. */
static bool hold_aborted(unsigned k, uint64_t *s1, uint64_t *s2)
{
    uint64_t quiet_from = rdtsc();
    uint64_t bound = deadline_after_us(1000000);
    *s1 = *s2 = smm_comm.cpu[k].spins;
    while (!deadline_passed(bound)) {
        mdelay(2);
        uint64_t now = smm_comm.cpu[k].spins;
        if (now != *s2) {
            *s2 = now;
            quiet_from = rdtsc();
        } else if (rdtsc() - quiet_from >= us_to_tsc(30000)) {
            return true;
        }
    }
    return false;
}

/* INIT keeps the MSRs (SDM vol. 3A table 9-1); KVM's vCPU reset zeroes
 * its SMI count on INIT as on RESET. back: cpu k restarted on the SIPI. */
static void check_after_init(unsigned k, bool back, uint64_t count_before)
{
    const struct smm_rec *r = 0;
    if (back && smm_local(k, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 500000, 0, 0))
        r = smm_last_rec(k);
    report(back && r && r->smbase == smm.layout.smbase[k],
           "cpu%u restarts by SIPI and keeps its SMBASE 0x%lx across INIT", k, smm.layout.smbase[k]);
    if (r) {
        char ev2[120];
        ksnprintf(ev2, sizeof(ev2), "MSR_SMI_COUNT %lu on the held entry, %lu on the first entry after INIT and SIPI",
                  count_before, r->smi_count);
        report_deviation("smi-count-reset-on-init", r->smi_count <= count_before, ev2,
                         "MSR_SMI_COUNT survives INIT");
    }
}

/* SIPI while in SMM: QEMU drops it (docs/PLATFORM.md Q3); the CPU must carry on. */
static void check_sipi_in_smm(unsigned k)
{
    uint32_t starts = cpus[k].starts;
    uint32_t seq = smm_local_start(k, SMM_LOCAL_HOLD, 3000000);
    bool held = wait_in_smm(k, true, 1000000);
    lapic_send_ipi(cpus[k].apic_id, ICR_DM_STARTUP | SIPI_VECTOR);
    mdelay(20);
    smm_comm.hold_release = 1;
    bool finished = smm_local_finish(k, seq, 1000000, 0, 0);
    smm_comm.hold_release = 0;
    mdelay(20);
    report(held && finished && cpus[k].starts == starts && cpu_usable(k) && on_cpu(k, apm_on_noop, 0),
           "SIPI to a CPU in SMM is ignored: the handler finished and the CPU carries on");
}

static void test_init_sipi_in_smm(void)
{
    unsigned k = 1;
    /* INIT while in SMM. */
    uint32_t seq;
    bool held = hold_in_smm(k, &seq);
    const struct smm_rec *hr = smm_rec(k, smm_entries(k));
    uint64_t count_before = hr ? hr->smi_count : 0;     /* MSR_SMI_COUNT on the held entry */
    lapic_send_ipi(cpus[k].apic_id, ICR_DM_INIT | ICR_LEVEL_ASSERT | ICR_TRIGGER_LEVEL);
    lapic_send_ipi(cpus[k].apic_id, ICR_DM_INIT | ICR_TRIGGER_LEVEL);
    uint64_t s1, s2;
    bool aborted = hold_aborted(k, &s1, &s2);
    smm_comm.hold_release = 1;
    bool finished = smm_local_finish(k, seq, 300000, 0, 0);
    smm_comm.hold_release = 0;
    smm_comm.cpu[k].in_smm = 0;          /* an aborted handler never cleared it */
    /* Either way the CPU ends in wait-for-SIPI; the SIPI brings it back. A
     * handler that stopped for another reason (an exception in SMM, a CPU
     * stuck in the hold) would not answer the SIPI: that is no deviation. */
    uint32_t fault = smm_comm.cpu[k].fault_vector;
    cpus[k].state = CPU_PARKED_INIT;
    bool back = cpu_wake_sipi(k);
    char ev[200];
    ksnprintf(ev, sizeof(ev), "handler loop %s after the INIT (spins %lu -> %lu); the held request %s; "
              "no exception in SMM; the CPU then %s a SIPI", aborted ? "stopped" : "kept running", s1, s2,
              finished ? "completed" : "never completed", back ? "restarted on" : "did not answer");
    report(held, "cpu%u held in SMM", k);
    if (!report(!fault, "cpu%u took no exception in SMM during the hold", k))
        report_info("SMM exception vector %u at rip 0x%lx, error 0x%lx", fault - 1, smm_comm.cpu[k].fault_rip,
                    smm_comm.cpu[k].fault_err);
    bool reset = aborted && !finished && !fault;
    if (reset && !back)
        report(false, "INIT to a CPU in SMM: the handler stopped, but the CPU did not restart on a SIPI (%s)", ev);
    else
        report_deviation("init-in-smm-not-latched", reset, ev, "INIT to a CPU in SMM is latched until RSM");
    check_after_init(k, back, count_before);
    check_sipi_in_smm(k);
}
TEST("14", "smm.init_sipi", test_init_sipi_in_smm, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- SMI vs NMI vs INTR, and the STI / MOV SS shadow (C7) ---- */

static volatile uint32_t prec_done;
static void prec_spin(void *arg)
{
    (void)arg;
    sti();
    WAIT_UNTIL(prec_done, 3000000);
    cli();
}

static void test_precedence(void)
{
    unsigned k = 1;
    struct cpu *c = &cpus[k];
    uint64_t base[SMMSYNC_MAX_CPUS];
    uint64_t nmi0 = c->nmi_count, intr0 = c->intr_count;
    prec_done = 0;
    on_cpu_async(k, prec_spin, 0);
    mdelay(2);
    smm_snapshot(base);
    smm_comm.hold_release = 0;
    uint32_t seq = smm_local_start(k, SMM_LOCAL_HOLD, 3000000);
    bool held = wait_in_smm(k, true, 1000000);
    lapic_send_ipi(c->apic_id, ICR_DM_FIXED | VEC_IPI_TEST | ICR_LEVEL_ASSERT);
    lapic_send_ipi(c->apic_id, ICR_DM_NMI | ICR_LEVEL_ASSERT);
    smi_trigger(SMI_IPI_PHYS, k);
    mdelay(5);
    smm_comm.hold_release = 1;
    bool finished = smm_local_finish(k, seq, 1000000, 0, 0);
    uint64_t b2[SMMSYNC_MAX_CPUS];
    for (unsigned i = 0; i < ncpus; i++)
        b2[i] = base[i] + 1;
    bool smi2 = smm_wait_entries(cs_of(k), b2, 1000000);
    uint64_t end = deadline_after_us(1000000);
    while ((c->nmi_count == nmi0 || c->intr_count == intr0) && !deadline_passed(end))
        cpu_relax();
    smm_comm.hold_release = 0;
    prec_done = 1;
    on_cpu_wait(k, 4000000);
    const struct smm_rec *r = smm_rec(k, base[k] + 2);
    bool all = held && finished && smi2 && r && c->nmi_count > nmi0 && c->intr_count > intr0;
    report(all, "SMI, NMI and INTR all pending at RSM were all delivered");
    if (!all)
        return;
    report(r->tsc_entry < c->nmi_tsc, "the latched SMI was taken before the NMI");
    report(c->nmi_tsc < c->intr_tsc, "the NMI was taken before the maskable interrupt");
    report_info("after RSM: SMI at +0, NMI at +%lu, INTR at +%lu TSC ticks", c->nmi_tsc - r->tsc_entry,
                c->intr_tsc - r->tsc_entry);
}
TEST("14", "smm.precedence", test_precedence, .needs = FEAT_SMM, .min_cpus = 2);

void shadow_sti(volatile uint32_t *icr, uint32_t v);
void shadow_movss(volatile uint32_t *icr, uint32_t v);
void shadow_sti_x2(uint32_t v);
void shadow_movss_x2(uint32_t v);
extern char shadow_sti_in[], shadow_sti_after[], shadow_movss_in[], shadow_movss_after[];
extern char shadow_sti_x2_in[], shadow_sti_x2_after[], shadow_movss_x2_in[], shadow_movss_x2_after[];

/* Through the MMIO ICR (xAPIC) or MSR 0x830 (x2APIC: always so under KVM). */
static void run_shadow(void *arg)
{
    volatile uint32_t *icr = (volatile uint32_t *)(uintptr_t)(XAPIC_BASE + APIC_ICR_LO);
    uint32_t v = ICR_DEST_SELF | ICR_DM_SMI | ICR_LEVEL_ASSERT;
    bool x2 = lapic_x2apic();
    if (arg)
        x2 ? shadow_movss_x2(v) : shadow_movss(icr, v);
    else
        x2 ? shadow_sti_x2(v) : shadow_sti(icr, v);
}

static void test_shadow(void)
{
    unsigned k = ncpus > 1 ? 1 : 0;       /* an AP: no watchdog interrupts there */
    bool x2 = lapic_x2apic();
    report_info("interrupt shadow: the self-SMI goes through the %s", x2 ? "x2APIC ICR (MSR 0x830)" : "MMIO ICR");
    for (int movss = 0; movss < 2; movss++) {
        const char *n = movss ? "MOV SS" : "STI";
        uintptr_t in = (uintptr_t)(movss ? (x2 ? shadow_movss_x2_in : shadow_movss_in)
                                         : (x2 ? shadow_sti_x2_in : shadow_sti_in));
        uintptr_t after = (uintptr_t)(movss ? (x2 ? shadow_movss_x2_after : shadow_movss_after)
                                            : (x2 ? shadow_sti_x2_after : shadow_sti_after));
        uint64_t base[SMMSYNC_MAX_CPUS];
        smm_snapshot(base);
        bool ran = on_cpu(k, run_shadow, (void *)(uintptr_t)movss);
        bool entered = ran && smm_wait_entries(cs_of(k), base, 1000000);
        const struct smm_rec *r = entered ? smm_last_rec(k) : 0;
        report(r != 0, "%s: self-SMI taken and the CPU resumed", n);
        if (r)
            report_info("%s: SMI taken at %s (rip %lx; SDM 34.2: an SMI 'may' be blocked for one "
                        "instruction after %s, so both are conformant)", n,
                        r->rip == in ? "the instruction in the shadow (not blocked)" :
                        r->rip == after ? "the instruction after the shadow (blocked)" : "another point",
                        r->rip, n);
    }
}
TEST("14", "smm.shadow", test_shadow, .needs = FEAT_SMM);

/* ---- the local APIC timer in SMI delivery mode (TCG only) ---- */

static void lvt_smi_start(void *arg)
{
    (void)arg;
    lapic_timer_start(LVT_DM_SMI | LVT_TIMER_PERIODIC, 2000000, 4);
}
static void lvt_smi_stop(void *arg) { (void)arg; lapic_timer_stop(); }

static void test_lvt_timer(void)
{
    unsigned k = ncpus > 1 ? 1 : 0;
    uint64_t base[SMMSYNC_MAX_CPUS], b3[SMMSYNC_MAX_CPUS];
    smm_snapshot(base);
    for (unsigned i = 0; i < ncpus; i++)
        b3[i] = base[i] + 2;
    on_cpu(k, lvt_smi_start, 0);
    bool got = smm_wait_entries(cs_of(k), b3, 3000000);
    on_cpu(k, lvt_smi_stop, 0);
    settle();
    cpuset_t others = cs_none();
    for (unsigned i = 0; i < ncpus; i++)
        if (i != k && smm_entries(i) != base[i])
            cs_add(&others, i);
    report(got && cs_empty(others), "LVT timer in SMI mode: periodic SMIs to cpu%u only (%lu so far; TCG-only behaviour)",
           k, smm_entries(k) - base[k]);
}
TEST("11", "smm.lvt_timer", test_lvt_timer, .needs = FEAT_SMM | FEAT_TCG);
