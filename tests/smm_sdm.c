/* SDM vol. 3C chapter 34 rules beyond the core suite (tests/smm_core.c):
 * each verdict from what the handler found in the save state, in SMM. */
#include "kernel/test.h"
#include "kernel/report.h"
#include "lib/printf.h"
#include "lib/kstring.h"
#include "arch/x86.h"
#include "drivers/apic_regs.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "smm/savestate.h"
#include "tests/smm_util.h"

/* ---- auto HALT restart (SDM 34.10) ---- */

enum { AH_IDLE, AH_SPINNING, AH_HALTING, AH_PAST };
static volatile uint32_t ah_state, ah_release;

/* On the AP: HLT with interrupts off, so only the SMI (or the NMI that
 * ends a restarted HLT) can end it; then note that it went past. */
static void halt_cli(void *arg)
{
    (void)arg;
    uint64_t f = read_rflags();
    cli();
    __atomic_store_n(&ah_state, AH_HALTING, __ATOMIC_SEQ_CST);
    hlt();
    __atomic_store_n(&ah_state, AH_PAST, __ATOMIC_SEQ_CST);
    if (f & RFLAGS_IF)
        sti();
}

static void spin_until_released(void *arg)
{
    (void)arg;
    __atomic_store_n(&ah_state, AH_SPINNING, __ATOMIC_SEQ_CST);
    while (!__atomic_load_n(&ah_release, __ATOMIC_ACQUIRE))
        cpu_relax();
    __atomic_store_n(&ah_state, AH_PAST, __ATOMIC_SEQ_CST);
}

#define AH_SETTLE_MS 20                  /* after RSM: long enough to see the CPU go past */

/* The SMI's service call: 'keep' 1 leaves the field as found, 0 clears
 * it. Returns whether the call was served; *field is what SMM found. */
static bool ah_smi(unsigned k, bool keep, uint32_t *field)
{
    int st = -1;
    uint64_t v = ~0ull;
    bool ok = smm_local(k, SMM_LOCAL_AUTO_HALT, keep, 1000000, &st, &v) && st == SMM_OK;
    *field = (uint32_t)v;
    return ok;
}

/* Ends the AP's work whatever happened (an NMI ends a restarted HLT). */
static void ah_finish(unsigned k)
{
    __atomic_store_n(&ah_release, 1, __ATOMIC_RELEASE);
    if (ah_state == AH_HALTING)
        lapic_send_ipi(cpus[k].apic_id, ICR_DM_NMI);
    WAIT_UNTIL(ah_state == AH_PAST, 100000);
    on_cpu_wait(k, 1000000);
}

static bool ah_start(unsigned k, cpu_fn fn, uint32_t want)
{
    ah_state = AH_IDLE;
    ah_release = 0;
    bool started = on_cpu_async(k, fn, 0) && WAIT_UNTIL(ah_state == want, 1000000);
    mdelay(2);                           /* past the store: in its HLT (or loop) */
    return started;
}

static void case_outside_hlt(unsigned k)
{
    uint32_t field = 0;
    bool ok = ah_start(k, spin_until_released, AH_SPINNING) && ah_smi(k, true, &field);
    ah_finish(k);
    report(ok && !(field & 1), "an SMI outside HLT: the auto HALT restart field is clear (%x)", field);
}

static void case_in_hlt_keep(unsigned k)
{
    uint32_t field = 0;
    uint64_t nmi0 = cpus[k].nmi_count;
    bool ok = ah_start(k, halt_cli, AH_HALTING) && ah_smi(k, true, &field);
    mdelay(AH_SETTLE_MS);
    bool went_past = ah_state == AH_PAST;
    char ev[160];
    ksnprintf(ev, sizeof(ev), "the field read %x in SMM; after RSM the CPU %s", field,
              went_past ? "went on past its HLT at once" : "halted again");
    if (!report(ok, "an SMI in HLT (interrupts off) was served"))
        report_info("%s", ev);
    report_deviation("auto-halt-restart-not-set", ok && !(field & 1), ev,
                     "an SMI in HLT: the auto HALT restart field is set");
    if (ok && (field & 1)) {
        ah_finish(k);
        report(!went_past && ah_state == AH_PAST && cpus[k].nmi_count > nmi0,
               "the field left set: RSM returned to HLT, which only the next NMI ended");
    } else {
        ah_finish(k);
        report(ok && went_past, "the field clear: RSM returned past the HLT (%s)", ev);
    }
}

static void case_in_hlt_clear(unsigned k)
{
    uint32_t field = 0;
    bool ok = ah_start(k, halt_cli, AH_HALTING) && ah_smi(k, false, &field);
    mdelay(AH_SETTLE_MS);
    bool went_past = ah_state == AH_PAST;
    ah_finish(k);
    report(ok && went_past, "an SMI in HLT, the handler clears the field: RSM resumes past the HLT (%s)",
           went_past ? "it did" : "it halted again");
}

static void test_auto_halt(void)
{
    unsigned k = 1;
    if (!report(smm_cpu_ok(k) && cpu_usable(k), "cpu%u is online, relocated and idle", k))
        return;
    case_outside_hlt(k);
    case_in_hlt_keep(k);
    case_in_hlt_clear(k);
}
TEST("13", "smm.auto_halt", test_auto_halt, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- the SMM MSRs (SDM vol. 3C 34.4.2.1, 34.11, 34.15.5; vol. 4) ---- */

struct msr_seen {
    bool out_ok, served, in_ok;          /* read outside SMM; read in SMM */
    uint64_t out, in;
    int status;
};

struct msr_read { uint32_t msr; bool ok; uint64_t v; };

static void msr_read_here(void *arg)
{
    struct msr_read *m = arg;
    m->ok = rdmsr_safe(m->msr, &m->v);
}

/* RDMSR on CPU k outside SMM (a #GP is caught: rdmsr_safe). */
static bool msr_outside(unsigned k, uint32_t msr, uint64_t *v)
{
    struct msr_read m = { msr, false, 0 };
    bool ran = on_cpu(k, msr_read_here, &m);
    *v = m.v;
    return ran && m.ok;
}

/* One MSR on CPU k (an AP: a CPU that stopped in SMM must not be the one
 * running the test): RDMSR outside SMM, then in SMM by the handler's probe
 * (a #GP there is SMM_E_FAULT, and the CPU carries on). */
#define MSR_CPU 1
static void msr_probe(uint32_t msr, struct msr_seen *s)
{
    s->out_ok = msr_outside(MSR_CPU, msr, &s->out);
    s->in = 0;
    s->status = -1;
    s->served = smm_local(MSR_CPU, SMM_LOCAL_PROBE_MSR, msr, 1000000, &s->status, &s->in);
    s->in_ok = s->served && s->status == SMM_OK;
}

static const char *msr_how(bool ok, uint64_t v, char *buf, size_t n)
{
    if (ok)
        ksnprintf(buf, n, "reads %lx", v);
    else
        ksnprintf(buf, n, "faults");
    return buf;
}

static void cpu_model(char *buf, size_t n, bool *vmx, bool *smx)
{
    uint32_t a, b, c, d, v[3];
    cpuid(0, 0, &a, &v[0], &v[2], &v[1]);
    cpuid(1, 0, &a, &b, &c, &d);
    *vmx = c & (1u << 5);
    *smx = c & (1u << 6);
    char vendor[13];
    memcpy(vendor, v, 12);
    vendor[12] = 0;
    ksnprintf(buf, n, "%s family %u model %u, VMX %u, SMX %u", vendor, ((a >> 8) & 0xF) + ((a >> 20) & 0xFF),
              ((a >> 4) & 0xF) | ((a >> 12) & 0xF0), *vmx, *smx);
}

/* An MSR this CPU model does not have (the capability that names it is
 * clear): RDMSR raises #GP, outside SMM and in it (SDM vol. 4 chapter 2,
 * "reserved or unimplemented MSR"). One "not supported" result with the
 * capability, and one check of the #GP (TCG reads 0 instead: a known
 * deviation). */
static void check_absent(uint32_t msr, const char *name, const char *why)
{
    struct msr_seen s;
    char o[32], i[32], ev[120];
    msr_probe(msr, &s);
    report_skip(why, "%s (%xH)", name, msr);
    ksnprintf(ev, sizeof(ev), "outside SMM %s, in SMM %s", msr_how(s.out_ok, s.out, o, sizeof(o)),
              s.served ? msr_how(s.in_ok, s.in, i, sizeof(i)) : "no answer");
    if (!report(s.served, "%s: the handler's probe was served (status %d)", name, s.status))
        return;
    report_deviation("rdmsr-absent-reads-zero", s.out_ok || s.in_ok, ev, "%s, absent: RDMSR faults (%s)", name, ev);
}

static void check_smi_count(void)
{
    struct msr_seen s;
    uint64_t before = 0, after = 0;
    bool b = msr_outside(MSR_CPU, 0x34, &before);
    msr_probe(0x34, &s);
    bool a = msr_outside(MSR_CPU, 0x34, &after);
    report(b && a && s.in_ok && s.in == before + 1 && after == before + 1,
           "MSR_SMI_COUNT (34H) counts this SMI: %lu before, %lu in SMM, %lu after", before, s.in, after);
}

/* IA32_SMBASE exists with VMX where IA32_VMX_MISC bit 15 says so: in SMM
 * it reads the CPU's SMBASE, outside SMM it faults. */
static void check_smbase_msr(bool vmx)
{
    uint64_t misc = 0;
    if (!vmx || !msr_outside(MSR_CPU, 0x485, &misc) || !(misc & (1u << 15))) {
        check_absent(0x9E, "IA32_SMBASE", vmx ? "not supported: IA32_VMX_MISC bit 15 clear" : "not supported: no VMX");
        return;
    }
    struct msr_seen s;
    char o[32];
    msr_probe(0x9E, &s);
    report(!s.out_ok, "IA32_SMBASE outside SMM: %s (want a fault: SMM only)", msr_how(s.out_ok, s.out, o, sizeof(o)));
    report(s.in_ok && s.in == smm.layout.smbase[MSR_CPU], "IA32_SMBASE in SMM reads cpu%u's SMBASE (%lx, want %lx)",
           MSR_CPU, s.in, smm.layout.smbase[MSR_CPU]);
}

static void check_smrr(void)
{
    uint64_t cap = 0;
    bool have_cap = msr_outside(MSR_CPU, 0xFE, &cap);
    if (!have_cap || !(cap & (1u << 11))) {
        char why[64];
        ksnprintf(why, sizeof(why), "not supported: MTRRcap %lx, bit 11 (SMRR) clear", cap);
        check_absent(0x1F2, "IA32_SMRR_PHYSBASE", why);
        check_absent(0x1F3, "IA32_SMRR_PHYSMASK", why);
        return;
    }
    struct msr_seen base, mask;
    char o[32], i[32];
    msr_probe(0x1F2, &base);
    msr_probe(0x1F3, &mask);
    report(!base.out_ok && !mask.out_ok, "SMRR: PHYSBASE/PHYSMASK outside SMM: %s (want a fault: SMM only)",
           msr_how(base.out_ok, base.out, o, sizeof(o)));
    report(base.in_ok && mask.in_ok, "SMRR: in SMM PHYSBASE %s, PHYSMASK %lx (valid %lu)",
           msr_how(base.in_ok, base.in, i, sizeof(i)), mask.in, (mask.in >> 11) & 1);
}

static void check_monitor_ctl(bool vmx, bool smx)
{
    if (!vmx && !smx) {
        check_absent(0x9B, "IA32_SMM_MONITOR_CTL", "not supported: CPUID.1:ECX VMX and SMX clear");
        return;
    }
    uint64_t v = 0;
    bool ok = msr_outside(MSR_CPU, 0x9B, &v);
    report(ok, "IA32_SMM_MONITOR_CTL (9BH) reads %lx outside SMM (valid %lu)", v, v & 1);
}

/* The probes' own recovery first: a #GP in SMM (a non-canonical load, the
 * same path as an RDMSR that faults) is caught and the CPU carries on. */
static bool check_probe_recovery(void)
{
    int st = -1;
    uint64_t caught = 0;
    bool served = smm_local(MSR_CPU, SMM_LOCAL_PROBE_SELFTEST, 0, 1000000, &st, &caught);
    return report(served && st == SMM_OK && caught == 1,
                  "a GP fault in SMM at the probe (self-test) is caught and cpu%u carries on (status %d, caught %lu)",
                  MSR_CPU, st, caught);
}

static void test_msr(void)
{
    if (!report(smm_cpu_ok(MSR_CPU) && cpu_usable(MSR_CPU), "cpu%u is online, relocated and idle", MSR_CPU))
        return;
    if (!check_probe_recovery())
        return;
    char model[80];
    bool vmx, smx;
    cpu_model(model, sizeof(model), &vmx, &smx);
    report_info("CPU model: %s", model);
    check_smi_count();
    check_smbase_msr(vmx);
    check_smrr();
    check_monitor_ctl(vmx, smx);
}
TEST("13", "smm.msr", test_msr, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- registers with other CPUs' SMM state (EDK2's SMM CPU features) ---- */

/* Intel's SMM-only MSRs that say which CPUs are in SMM, delayed or blocked
 * (EDK2 reads them to skip CPUs that cannot enter SMM). They exist on some
 * Intel CPUs only (MSR_SMM_MCA_CAP bit 58 says so); on any other vendor
 * they are absent. Where present they would be a synchbyte backend
 * (claims 8-9, 31-35: the state kept in a register). */
static void test_state_regs(void)
{
    static const struct { uint32_t msr; const char *name; } r[] = {
        { 0x17D, "MSR_SMM_MCA_CAP" }, { 0x4E0, "MSR_SMM_FEATURE_CONTROL" }, { 0x4E1, "MSR_SMM_ENABLE" },
        { 0x4E2, "MSR_SMM_DELAYED" }, { 0x4E3, "MSR_SMM_BLOCKED" },
    };
    if (!report(smm_cpu_ok(MSR_CPU) && cpu_usable(MSR_CPU), "cpu%u is online, relocated and idle", MSR_CPU))
        return;
    char model[80];
    bool vmx, smx;
    cpu_model(model, sizeof(model), &vmx, &smx);
    if (strncmp(model, "GenuineIntel", 12)) {
        char why[120];
        ksnprintf(why, sizeof(why), "not supported: Intel-only registers, the CPU is %s", model);
        for (unsigned k = 0; k < sizeof(r) / sizeof(r[0]); k++)
            check_absent(r[k].msr, r[k].name, why);
        return;
    }
    for (unsigned k = 0; k < sizeof(r) / sizeof(r[0]); k++) {
        struct msr_seen s;
        char o[32], i[32];
        msr_probe(r[k].msr, &s);
        report(s.served && !s.out_ok, "%s (%xH): in SMM %s, outside SMM %s (want a fault: SMM only)", r[k].name,
               r[k].msr, s.served ? msr_how(s.in_ok, s.in, i, sizeof(i)) : "no answer",
               msr_how(s.out_ok, s.out, o, sizeof(o)));
    }
}
TEST("13", "smm.state_regs", test_state_regs, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- NMI handling while in SMM (SDM 34.8) ---- */

#define NMI_CPU 1
#define NMI_SETTLE_MS 20

/* An NMI sent while the CPU is held in SMM stays pending: neither SMM's
 * NMI gate nor the kernel sees it until RSM, and then the kernel does. */
static void case_nmi_blocked(unsigned k)
{
    smm_comm.hold_release = 0;
    uint32_t seq = smm_local_start(k, SMM_LOCAL_HOLD, 2000000);
    bool held = WAIT_UNTIL(smm_comm.cpu[k].in_smm != 0, 1000000);
    uint64_t n0 = cpus[k].nmi_count;
    uint32_t s0 = smm_comm.cpu[k].nmis_in_smm;
    lapic_send_ipi(cpus[k].apic_id, ICR_DM_NMI);
    mdelay(NMI_SETTLE_MS);
    uint32_t in_smm_then = smm_comm.cpu[k].nmis_in_smm - s0;
    uint64_t kernel_then = cpus[k].nmi_count - n0;
    bool blocked = held && smm_comm.cpu[k].in_smm && !kernel_then && !in_smm_then;
    smm_comm.hold_release = 1;
    bool released = smm_local_finish(k, seq, 2000000, 0, 0);
    bool after = WAIT_UNTIL(cpus[k].nmi_count > n0, 100000);
    smm_comm.hold_release = 0;
    report(blocked, "an NMI sent while cpu%u was in SMM stayed pending there (%u taken in SMM, %lu by the kernel, "
           "%u ms later)", k, in_smm_then, kernel_then, NMI_SETTLE_MS);
    report(released && after && smm_comm.cpu[k].nmis_in_smm == s0,
           "and was delivered to the kernel after RSM (kernel NMIs %lu)", cpus[k].nmi_count - n0);
}

/* After an IRET inside SMM, NMIs are no longer blocked: an NMI sent then is
 * taken in SMM, through SMRAM's IDT, and not again by the kernel. */
static void case_nmi_after_iret(unsigned k)
{
    uint64_t n0 = cpus[k].nmi_count;
    uint32_t seq = smm_local_start(k, SMM_LOCAL_IRET_NMI, 200000);
    bool iret = WAIT_UNTIL(smm_comm.cpu[k].iret_done == seq, 1000000);
    if (iret)
        lapic_send_ipi(cpus[k].apic_id, ICR_DM_NMI);
    int st = -1;
    uint64_t taken = 0;
    bool served = smm_local_finish(k, seq, 2000000, &st, &taken);
    mdelay(NMI_SETTLE_MS);
    char ev[120];
    ksnprintf(ev, sizeof(ev), "after the IRET: %lu NMI taken in SMM, %lu by the kernel after RSM", taken,
              cpus[k].nmi_count - n0);
    if (!report(iret && served && st == SMM_OK, "cpu%u ran an IRET in SMM and waited for an NMI (status %d)", k, st))
        return;
    report_deviation("nmi-not-unblocked-by-iret", taken == 0, ev,
                     "an IRET in SMM unblocks NMIs: the NMI is taken in SMM (%s)", ev);
    report(taken == 0 || cpus[k].nmi_count == n0, "an NMI taken in SMM is not delivered again after RSM (%s)", ev);
}

static void test_nmi(void)
{
    unsigned k = NMI_CPU;
    if (!report(smm_cpu_ok(k) && cpu_usable(k), "cpu%u is online, relocated and idle", k))
        return;
    case_nmi_blocked(k);
    case_nmi_after_iret(k);
}
TEST("13", "smm.nmi", test_nmi, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- exceptions and interrupts inside SMM (SDM 34.6) ---- */

static void nothing(void *arg) { (void)arg; }

#define CR2_PATTERN 0x00005A5A5A5A5000ull
static volatile uint64_t cr2_seen;
static void cr2_set(void *arg) { (void)arg; __asm__ volatile("mov %0, %%cr2" :: "r"(CR2_PATTERN)); }
static void cr2_get(void *arg) { (void)arg; cr2_seen = read_cr2(); }

/* The handler raises an invalid opcode and a page fault on purpose, each
 * taken through the IDT it loaded in SMRAM and recovered from, then takes
 * an interrupt (a self-IPI) with interrupts enabled in SMM; the CPU then
 * leaves SMM normally. From the bits the handler reported. */
static void test_exceptions(void)
{
    unsigned k = 1;
    if (!report(smm_cpu_ok(k) && cpu_usable(k), "cpu%u is online, relocated and idle", k))
        return;
    uint32_t fv0 = smm_comm.cpu[k].fault_vector;
    int st = -1;
    uint64_t seen = 0;
    cr2_seen = 0;
    on_cpu(k, cr2_set, 0);
    bool served = smm_local(k, SMM_LOCAL_EXCEPTIONS, 0, 1000000, &st, &seen);
    on_cpu(k, cr2_get, 0);
    if (!report(served && st == SMM_OK, "cpu%u ran the exception tests in SMM and left SMM (status %d)", k, st))
        return;
    report(seen & SMM_EXC_UD, "a UD2 in SMM raised an invalid-opcode exception, taken through SMRAM's IDT");
    report((seen & SMM_EXC_PF) && (seen & SMM_EXC_PF_CR2),
           "a load from an unmapped page (%llx) in SMM raised a page fault with CR2 = that address%s",
           SMM_EXC_UNMAPPED, (seen & SMM_EXC_PF) && !(seen & SMM_EXC_PF_CR2) ? " (CR2 differed)" : "");
    report(seen & SMM_EXC_IRQ, "an interrupt (a self-IPI on vector %#x) was taken in SMM with interrupts enabled",
           SMM_WAKE_VECTOR);
    report(smm_comm.cpu[k].fault_vector == fv0 && on_cpu(k, nothing, 0),
           "none of it stopped the CPU (no fault recorded; cpu%u runs kernel work again)", k);
    /* CR2 is not in the save state: the page fault in SMM must not leak. */
    report(cr2_seen == CR2_PATTERN, "the OS's CR2 is the same after the SMI (%lx, was %llx): the handler put it back",
           cr2_seen, CR2_PATTERN);
}
TEST("13", "smm.exceptions", test_exceptions, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- I/O instruction restart and I/O state (SDM 34.7.1, 34.12) ---- */

static void apm_out(void *arg) { (void)arg; apm_trigger(APM_CMD_SMMSYNC); }

/* An SMI raised by an I/O instruction: OUT to 0xB2 on cpu0, which takes
 * its own APM SMI on every platform (q35: the writing CPU, or every CPU
 * with the broadcast; pc/PIIX4: always CPU 0, docs/PLATFORM.md Q5). The
 * revision ID says whether I/O instruction restart is supported (bit 16).
 * Where it is not, the result says so, and the restart field must not be
 * set (a field filled although unsupported would be a deviation). From the
 * save state the handler copied on that entry. */
static void test_io_restart(void)
{
    unsigned k = 0;
    uint64_t base[SMMSYNC_MAX_CPUS];
    smm_snapshot(base);
    apm_out(0);
    bool entered = smm_wait_entries(cs_of(k), base, 1000000);
    settle();
    const struct smm_rec *r = entered ? smm_rec(k, base[k] + 1) : 0;
    static uint8_t ss[SMM_SAVE_SIZE];
    memcpy(ss, smm_comm.cpu[k].save_state, sizeof(ss));
    uint32_t rev = ss_revision(ss), restart = 0;
    bool have = ss_flag_get(ss, SS_FLAG_IO_RESTART, &restart);
    if (!report(r && have && r->revision == rev, "OUT to 0xB2 on cpu%u raised an SMI; its save state (revision %x) "
                "was copied on that entry", k, rev))
        return;
    if (!(rev & SS_REV_IO_RESTART)) {
        report_skip("not supported: revision ID bit 16 clear", "I/O instruction restart (revision %x)", rev);
        report(!(restart & 1), "without I/O restart support the restart field is clear (%x)", restart);
        return;
    }
    report(!(restart & 1), "the I/O restart field is clear on entry (%x): only the handler sets it", restart);
    report_info("I/O instruction restart is supported here: re-executing the OUT is not tested yet");
}
TEST("13", "smm.io_restart", test_io_restart, .needs = FEAT_SMM);
