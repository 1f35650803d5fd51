/* The SMI storm: a seeded random mix of SMI sources, destinations,
 * policies and park/wake churn, then invariants checked from what SMM
 * counted: no hang, every command ran exactly once, per-CPU entries
 * reconcile with MSR_SMI_COUNT, and every CPU's registers survived.
 * storm_smis=N sets the size (make test: a short run; make stress: 100000);
 * seed=N reproduces a run. */
#include "kernel/config.h"
#include "kernel/test.h"
#include "kernel/report.h"
#include "lib/kstring.h"
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

/* What the storm counts; e0/m0 are each CPU's baseline of SMM entries and
 * MSR_SMI_COUNT, inited the CPUs parked by INIT (new baseline on wake). */
struct storm {
    uint64_t total, sent, cmds, failed_cmds, churn, run0;
    cpuset_t inited, ok;
    uint64_t e0[SMMSYNC_MAX_CPUS], m0[SMMSYNC_MAX_CPUS];
};

static void storm_begin(struct storm *st)
{
    st->total = config.storm_smis.set ? config.storm_smis.v : 300;
    rng = config.seed.v | 1;
    report_info("seed=%lu smis=%lu (reproduce with seed=%lu storm_smis=%lu)", config.seed.v, st->total,
                config.seed.v, st->total);
    st->ok = smm_ok_set();
    for (unsigned i = 0; i < ncpus; i++) {
        if (cs_has(st->ok, i))
            smi_count_of(i, &st->e0[i], &st->m0[i]);
        st->run0 += smm_comm.cpu[i].cmds_run;
        for (unsigned r = 0; r < 6; r++)
            canary_pat[i][r] = rnd();
    }
}

/* Odd APs churn through park/wake. KVM zeroes MSR_SMI_COUNT on INIT (TCG
 * keeps it): a CPU woken from an INIT park gets a new baseline
 * (smm.init_sipi reports the fact). */
static void storm_churn(struct storm *st, uint64_t r)
{
    unsigned k = 1 + (unsigned)((r >> 16) % (ncpus - 1));
    if (!(k & 1))
        return;
    bool init = (r >> 24) & 1;
    if (cpu_usable(k) && cpus[k].work_seq == cpus[k].done_seq) {
        if (!cs_empty(park_aps(cs_of(k), init)) && init)
            cs_add(&st->inited, k);
    } else if (wake_aps(cs_of(k)) && cs_has(st->inited, k)) {
        cs_del(&st->inited, k);
        if (cs_has(st->ok, k))
            smi_count_of(k, &st->e0[k], &st->m0[k]);
    }
    st->churn++;
}

/* A command through the rendezvous, from a random source and policy. */
static void storm_command(struct storm *st, uint64_t r)
{
    static const enum smi_source srcs[] = { SMI_IPI_SELF, SMI_IPI_ALL, SMI_APM };
    enum smi_source src = srcs[(r >> 4) % 3];
    enum rdv_policy pol = src == SMI_IPI_ALL && ((r >> 6) & 1) ? RDV_PATENT
                        : ((r >> 7) & 3) == 0 ? RDV_WAITALL : RDV_PULLIN;
    struct smm_call c = { .id = SMM_CMD_NOP, .policy = pol, .src = src,
                          .target = cpu_index(), .timeout_us = 2000000 };
    if (!smm_call(&c) || c.status != SMM_OK)
        st->failed_cmds++;
    st->cmds++;
}

/* One step: a park/wake (1 in 32), a command (1 in 4) or a bare SMI. The
 * even APs run register canaries meanwhile. */
static void storm_step(struct storm *st)
{
    for (unsigned i = 1; i < ncpus; i++)
        if (!(i & 1) && cpu_usable(i) && cpus[i].work_seq == cpus[i].done_seq)
            on_cpu_async(i, canary, 0);
    uint64_t r = rnd();
    unsigned target = (unsigned)(r >> 8) % ncpus;
    if ((r & 31) == 0 && ncpus > 1) {
        storm_churn(st, r);
        return;
    }
    if ((r & 3) == 0)
        storm_command(st, r);
    else if (smm_cpu_ok(target) || target == 0)      /* a bare SMI: no work */
        smi_trigger(target == cpu_index() ? SMI_IPI_SELF : SMI_IPI_PHYS, target);
    else
        smi_trigger(SMI_IPI_OTHERS, 0);
    st->sent++;
}

/* Every AP back and idle (a new baseline for those woken from INIT). */
static void storm_drain(struct storm *st)
{
    for (unsigned i = 1; i < ncpus; i++)
        if ((cpus[i].state == CPU_PARKED_HLT || cpus[i].state == CPU_PARKED_INIT) && wake_aps(cs_of(i)) &&
            cs_has(st->inited, i) && cs_has(st->ok, i))
            smi_count_of(i, &st->e0[i], &st->m0[i]);
    for (unsigned i = 1; i < ncpus; i++)
        on_cpu_wait(i, 5000000);
    mdelay(50);
}

static void storm_report(struct storm *st, uint64_t wall_ms)
{
    uint64_t run1 = 0, entries = 0, canaries = 0, bad = 0;
    bool reconcile = true;
    for (unsigned i = 0; i < ncpus; i++) {
        run1 += smm_comm.cpu[i].cmds_run;
        canaries += canary_runs[i];
        bad += canary_bad[i];
        uint64_t e1 = 0, m1 = 0;
        if (!cs_has(st->ok, i))
            continue;
        if (!smi_count_of(i, &e1, &m1) || e1 - st->e0[i] != m1 - st->m0[i]) {
            reconcile = false;
            report_info("cpu%u: %lu SMM entries counted, MSR_SMI_COUNT advanced %lu", i, e1 - st->e0[i],
                        m1 - st->m0[i]);
        }
        entries += e1 - st->e0[i];
    }
    report_info("%lu SMIs sent (%lu commands, %lu park/wake), %lu SMM entries, %lu ms", st->sent, st->cmds,
                st->churn, entries, wall_ms);
    report(st->failed_cmds == 0, "every command completed (%lu of %lu)", st->cmds - st->failed_cmds, st->cmds);
    report(run1 - st->run0 == st->cmds, "each command ran exactly once (%lu runs for %lu commands)",
           run1 - st->run0, st->cmds);
    report(reconcile, "every CPU's SMM entries reconcile with its MSR_SMI_COUNT");
    report(bad == 0, "registers intact on the canary CPUs (%lu canary runs, %lu mismatches)", canaries, bad);
    report(cs_eq(smm_ok_set(), st->ok), "every CPU is back and usable");
}

static void test_storm(void)
{
    static struct storm st;
    memset(&st, 0, sizeof(st));
    storm_begin(&st);
    uint64_t t_start = rdtsc();
    while (st.sent < st.total)
        storm_step(&st);
    uint64_t wall_ms = tsc_to_ns(rdtsc() - t_start) / 1000000;
    storm_drain(&st);
    storm_report(&st, wall_ms);
}

TEST("50", "smm.storm", test_storm, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 600000);
