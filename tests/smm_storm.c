/* The SMI storm: a seeded random mix of SMI sources, destinations,
 * policies and park/wake churn, then invariants checked from what SMM
 * counted: no hang, every command ran exactly once, per-CPU entries
 * reconcile with MSR_SMI_COUNT, and every CPU's registers survived.
 * storm_smis=N sets the size (make test: a short run; make stress: 100000);
 * seed=N reproduces a run. */
#include "kernel/config.h"
#include "kernel/test.h"
#include "kernel/report.h"
#include "arch/percpu.h"
#include "arch/x86.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "tests/smm_util.h"

uint64_t reg_canary(uint64_t iterations, const uint64_t *pat);

static uint64_t rng;
static uint64_t rnd(void)                       /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static uint64_t canary_pat[SMMSYNC_MAX_CPUS][6];
static volatile uint64_t canary_bad[SMMSYNC_MAX_CPUS], canary_runs[SMMSYNC_MAX_CPUS];

static void canary(void *arg)
{
    (void)arg;
    unsigned me = cpu_index();
    canary_bad[me] += reg_canary(200000, canary_pat[me]);
    canary_runs[me]++;
}

static bool smi_count_of(unsigned cpu, uint64_t *entries, uint64_t *msr)
{
    uint64_t v = 0;
    if (!smm_local(cpu, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 2000000, 0, &v))
        return false;
    *entries = smm_entries(cpu);    /* includes this service call, as the MSR does */
    *msr = v;
    return true;
}

static void test_storm(void)
{
    uint64_t total = 300, sent = 0, cmds = 0, failed_cmds = 0, churn = 0;
    if (config.storm_smis.set)
        total = config.storm_smis.v;
    rng = config.seed.v | 1;
    report_info("seed=%lu smis=%lu (reproduce with seed=%lu storm_smis=%lu)", config.seed.v, total,
                config.seed.v, total);
    uint64_t e0[SMMSYNC_MAX_CPUS] = { 0 }, m0[SMMSYNC_MAX_CPUS] = { 0 }, run0 = 0;
    uint64_t ok = smm_ok_mask();
    for (unsigned i = 0; i < ncpus; i++) {
        if (ok >> i & 1)
            smi_count_of(i, &e0[i], &m0[i]);
        run0 += smm_comm.cpu[i].cmds_run;
        for (unsigned r = 0; r < 6; r++)
            canary_pat[i][r] = rnd();
    }
    /* Odd APs churn through park/wake; the others run register canaries.
     * KVM zeroes MSR_SMI_COUNT on INIT (TCG keeps it): a CPU woken from an
     * INIT park gets a new baseline (smm.init_sipi reports the fact). */
    uint64_t inited = 0;
    uint64_t t_start = rdtsc();
    while (sent < total) {
        for (unsigned i = 1; i < ncpus; i++)
            if (!(i & 1) && cpu_usable(i) && cpus[i].work_seq == cpus[i].done_seq)
                on_cpu_async(i, canary, 0);
        uint64_t r = rnd();
        unsigned target = (unsigned)(r >> 8) % ncpus;
        if ((r & 31) == 0 && ncpus > 1) {           /* churn */
            unsigned k = 1 + (unsigned)((r >> 16) % (ncpus - 1));
            if (k & 1) {
                bool init = (r >> 24) & 1;
                if (cpu_usable(k) && cpus[k].work_seq == cpus[k].done_seq) {
                    if (park_aps(bit_of(k), init) && init)
                        inited |= bit_of(k);
                } else if (wake_aps(bit_of(k)) && (inited >> k & 1)) {
                    inited &= ~bit_of(k);
                    if (ok >> k & 1)
                        smi_count_of(k, &e0[k], &m0[k]);
                }
                churn++;
            }
            continue;
        }
        if ((r & 3) == 0) {                         /* a command through the rendezvous */
            static const enum smi_source srcs[] = { SMI_IPI_SELF, SMI_IPI_ALL, SMI_APM };
            enum smi_source src = srcs[(r >> 4) % 3];
            enum rdv_policy pol = src == SMI_IPI_ALL && ((r >> 6) & 1) ? RDV_PATENT
                                : ((r >> 7) & 3) == 0 ? RDV_WAITALL : RDV_PULLIN;
            struct smm_call c = { .id = SMM_CMD_NOP, .policy = pol, .src = src,
                                  .target = cpu_index(), .timeout_us = 2000000 };
            if (!smm_call(&c) || c.status != SMM_OK)
                failed_cmds++;
            cmds++;
        } else if (smm_cpu_ok(target) || target == 0) {  /* a bare SMI: no work */
            smi_trigger(target == cpu_index() ? SMI_IPI_SELF : SMI_IPI_PHYS, target);
        } else {
            smi_trigger(SMI_IPI_OTHERS, 0);
        }
        sent++;
    }
    uint64_t wall_ms = tsc_to_ns(rdtsc() - t_start) / 1000000;
    for (unsigned i = 1; i < ncpus; i++)
        if ((cpus[i].state == CPU_PARKED_HLT || cpus[i].state == CPU_PARKED_INIT) && wake_aps(bit_of(i)) &&
            (inited >> i & 1) && (ok >> i & 1))
            smi_count_of(i, &e0[i], &m0[i]);
    for (unsigned i = 1; i < ncpus; i++)
        on_cpu_wait(i, 5000000);
    mdelay(50);
    uint64_t run1 = 0, entries = 0, canaries = 0, bad = 0;
    bool reconcile = true;
    for (unsigned i = 0; i < ncpus; i++) {
        run1 += smm_comm.cpu[i].cmds_run;
        canaries += canary_runs[i];
        bad += canary_bad[i];
        uint64_t e1 = 0, m1 = 0;
        if (!(ok >> i & 1))
            continue;
        if (!smi_count_of(i, &e1, &m1) || e1 - e0[i] != m1 - m0[i]) {
            reconcile = false;
            report_info("cpu%u: %lu SMM entries counted, MSR_SMI_COUNT advanced %lu", i, e1 - e0[i], m1 - m0[i]);
        }
        entries += e1 - e0[i];
    }
    report_info("%lu SMIs sent (%lu commands, %lu park/wake), %lu SMM entries, %lu ms", sent, cmds, churn,
                entries, wall_ms);
    report(failed_cmds == 0, "every command completed (%lu of %lu)", cmds - failed_cmds, cmds);
    report(run1 - run0 == cmds, "each command ran exactly once (%lu runs for %lu commands)", run1 - run0, cmds);
    report(reconcile, "every CPU's SMM entries reconcile with its MSR_SMI_COUNT");
    report(bad == 0, "registers intact on the canary CPUs (%lu canary runs, %lu mismatches)", canaries, bad);
    report(smm_ok_mask() == ok, "every CPU is back and usable");
}
TEST("50", "smm.storm", test_storm, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 600000);
