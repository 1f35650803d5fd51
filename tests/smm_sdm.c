/* SDM vol. 3C chapter 34 rules beyond the core suite (tests/smm_core.c):
 * each verdict from what the handler found in the save state, in SMM. */
#include "kernel/test.h"
#include "kernel/report.h"
#include "lib/printf.h"
#include "arch/x86.h"
#include "drivers/apic_regs.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "smm/savestate.h"

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
