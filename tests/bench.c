/* Benchmarks (bench=NAME on the command line; never part of the default
 * run). Each prints machine-readable lines prefixed "# BENCH " (TAP ignores
 * them) with medians, spread, CPU count, topology, machine, accelerator,
 * backend and policy; tools/bench.sh collects and plots them. The only TAP
 * results here check that the numbers are well-formed, never a time. */
#include "kernel/config.h"
#include "kernel/test.h"
#include "kernel/report.h"
#include "kernel/console.h"
#include "lib/kstring.h"
#include "lib/printf.h"
#include "arch/percpu.h"
#include "arch/x86.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "tests/smm_util.h"

#define MAX_SAMPLES 2000
static uint64_t samples[MAX_SAMPLES];

struct stats { unsigned n; uint64_t p10, median, p90, p99, max; };

static void sort_u64(uint64_t *a, unsigned n)
{
    for (unsigned gap = n / 2; gap; gap /= 2)          /* shell sort: no libc */
        for (unsigned i = gap; i < n; i++)
            for (unsigned j = i; j >= gap && a[j - gap] > a[j]; j -= gap) {
                uint64_t t = a[j];
                a[j] = a[j - gap];
                a[j - gap] = t;
            }
}

static struct stats summarise(uint64_t *tsc, unsigned n)
{
    struct stats s = { .n = n };
    if (!n)
        return s;
    for (unsigned i = 0; i < n; i++)
        tsc[i] = tsc_to_ns(tsc[i]);
    sort_u64(tsc, n);
    s.p10 = tsc[n / 10];
    s.median = tsc[n / 2];
    s.p90 = tsc[n * 9 / 10];
    s.p99 = tsc[n * 99 / 100];
    s.max = tsc[n - 1];
    return s;
}

static void topology(unsigned *pk, unsigned *co, unsigned *th)
{
    *pk = *co = *th = 1;
    for (unsigned i = 0; i < ncpus; i++) {
        if (cpus[i].pkg + 1 > *pk) *pk = cpus[i].pkg + 1;
        if (cpus[i].core + 1 > *co) *co = cpus[i].core + 1;
        if (cpus[i].thread + 1 > *th) *th = cpus[i].thread + 1;
    }
}

static const char *pol_name(enum rdv_policy p)
{
    return p == RDV_PATENT ? "patent" : p == RDV_WAITALL ? "waitall" : "pullin";
}

static bool emit(const char *bench, const char *what, const char *policy, unsigned inactive,
                 struct stats s)
{
    unsigned pk, co, th;
    topology(&pk, &co, &th);
    kprintf("# BENCH {\"bench\":\"%s\",\"case\":\"%s\",\"n\":%u,\"median_ns\":%lu,\"p10_ns\":%lu,"
            "\"p90_ns\":%lu,\"p99_ns\":%lu,\"max_ns\":%lu,\"cpus\":%u,\"inactive\":%u,"
            "\"topology\":\"%ux%ux%u\",\"machine\":\"%s\",\"accel\":\"%s\",\"backend\":\"%s\","
            "\"policy\":\"%s\",\"synch_stride\":%u,\"tsc_khz\":%lu}\n",
            bench, what, s.n, s.median, s.p10, s.p90, s.p99, s.max, smp_online(), inactive, pk, co,
            th, platform.machine_name, platform.accel_name, synch_backend_name(smm.backend), policy,
            smm.layout.synch_stride, tsc_hz() / 1000);
    return s.n && s.p10 <= s.median && s.median <= s.p90 && s.p90 <= s.p99 && s.p99 <= s.max && s.max;
}

static unsigned iterations(unsigned dflt)
{
    uint64_t n = config.bench_n.set ? config.bench_n.v : dflt;
    return n > MAX_SAMPLES ? MAX_SAMPLES : (unsigned)n;
}

/* ---- SMI round trip per source: trigger -> handler -> RSM -> seen done ---- */

static bool all_done(cpuset_t set, const uint64_t *base)
{
    for (unsigned i = 0; i < ncpus; i++)
        if (cs_has(set, i) && smm_comm.cpu[i].rec_count <= base[i])
            return false;
    return true;
}

/* How long to wait for an event or a round trip: 2 s, times the vCPUs per
 * host core (host_scale: at 128 vCPUs on 2 cores one event took 2.4 s). */
static uint64_t event_bound_us(void) { return 2000000ull * host_scale(); }

/* What an event that did not finish left behind: the time waited, the
 * command's state and the CPUs that never came back (with the first one's
 * last SMM records, as the park tests print them). */
static void explain_lost(const char *what, cpuset_t set, const uint64_t *base, uint64_t waited_us,
                         char *why, size_t len)
{
    cpuset_t missing = cs_none();
    for (unsigned i = 0; i < ncpus; i++)
        if (cs_has(set, i) && smm_comm.cpu[i].rec_count <= base[i])
            cs_add(&missing, i);
    char buf[96];
    ksnprintf(why, len, "%s: not done after %lu ms (bound %lu ms); back from SMM: all but %s", what,
              waited_us / 1000, event_bound_us() / 1000, SET_STR(missing, buf));
    if (!cs_empty(missing))
        smm_print_stays(cs_first(missing), 3);
}

/* The round trip ends when cpu0 sees every CPU's record, so cpu0 spins
 * for it (a halt would add up to a tick); a lost SMI ends the series, with
 * its reason, at a bound that grows with the vCPUs per host core. */
static unsigned round_trips(enum smi_source src, unsigned target, cpuset_t set, unsigned n, char *why,
                            size_t len)
{
    unsigned got = 0;
    for (unsigned i = 0; i < n + 20; i++) {
        uint64_t base[SMMSYNC_MAX_CPUS];
        for (unsigned c = 0; c < ncpus; c++)
            base[c] = smm_comm.cpu[c].rec_count;
        uint64_t t0 = rdtsc(), end = t0 + us_to_tsc(event_bound_us());
        smi_trigger(src, target);
        while (!all_done(set, base) && rdtsc() < end)
            cpu_relax();
        uint64_t t1 = rdtsc();
        if (!all_done(set, base)) {
            char what[32];
            ksnprintf(what, sizeof(what), "SMI %u", i);
            explain_lost(what, set, base, tsc_to_ns(t1 - t0) / 1000, why, len);
            return got;                 /* lost: stop, report what we have */
        }
        if (i >= 20)                    /* warm-up */
            samples[got++] = t1 - t0;
    }
    return got;
}

static void bench_smi(void)
{
    unsigned n = iterations(1000);
    struct { const char *name; enum smi_source src; unsigned target; cpuset_t set; } c[] = {
        { "ipi-self", SMI_IPI_SELF, 0, cs_of(0) },
        { "ipi-directed", SMI_IPI_PHYS, 1, cs_of(1) },
        { "apm", SMI_APM, 0, cs_of(0) },
        { "ipi-broadcast", SMI_IPI_ALL, 0, smm_ok_set() },
    };
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        if (!cs_subset(c[i].set, smm_ok_set()))
            continue;                   /* e.g. no cpu1 */
        char why[200] = "";
        unsigned got = round_trips(c[i].src, c[i].target, c[i].set, n, why, sizeof(why));
        report(emit("smi-roundtrip", c[i].name, "-", 0, summarise(samples, got)) && got == n,
               "smi round trip %s: %u samples, well-formed%s%s", c[i].name, got, *why ? "; " : "", why);
    }
}
TEST("90", "bench.smi", bench_smi, .needs = FEAT_SMM | FEAT_SELFTEST, .timeout_ms = 600000);

/* ---- rendezvous latency: SMI to release of every CPU ---- */

/* SMI to exactly the CPUs in 'set' with one IPI (flat logical mode), or
 * one physical IPI each where that is not possible. */
static void smi_to(cpuset_t set)
{
    if (!lapic_x2apic() && ncpus <= 8) {
        lapic_send_ipi((uint32_t)set.w[0], ICR_DM_SMI | ICR_DEST_LOGICAL | ICR_LEVEL_ASSERT);
        return;
    }
    for (unsigned i = 0; i < ncpus; i++)
        if (cs_has(set, i))
            smi_trigger(i == cpu_index() ? SMI_IPI_SELF : SMI_IPI_PHYS, i);
}

/* One event: NOP under 'pol', SMI to the active CPUs; latency = the last
 * exit TSC any active CPU recorded in SMM for it (participant or late
 * arrival: the release of every CPU) minus the trigger. The wait for the
 * event (event_bound_us) halts past 500 us (WAIT_UNTIL), so cpu0
 * gives the host core back to the CPUs still in SMM; the latency comes
 * from their records, not from when cpu0 looked. */
static bool one_event(enum rdv_policy pol, cpuset_t active, uint64_t *lat, char *why, size_t len)
{
    static uint32_t seq = 0x40000000;
    uint64_t base[SMMSYNC_MAX_CPUS];
    for (unsigned c = 0; c < ncpus; c++)
        base[c] = smm_comm.cpu[c].rec_count;
    volatile struct smm_cmd *cmd = &smm_comm.cmd;
    __atomic_store_n(&cmd->seq, 0, __ATOMIC_RELEASE);   /* as smm_call does */
    cmd->id = SMM_CMD_NOP;
    cmd->policy = pol;
    cmd->flags = CMDF_SUBMITTER(cpu_index()) | CMDF_BROADCAST;
    __atomic_store_n(&cmd->seq, ++seq, __ATOMIC_RELEASE);
    uint64_t t0 = rdtsc();
    smi_to(active);
    if (!WAIT_UNTIL(smm_comm.done_seq == seq && all_done(active, base), event_bound_us())) {
        char what[48];
        ksnprintf(what, sizeof(what), "event seq %#x (done_seq %#x)", seq, smm_comm.done_seq);
        explain_lost(what, active, base, tsc_to_ns(rdtsc() - t0) / 1000, why, len);
        return false;
    }
    uint64_t last = 0;
    for (unsigned c = 0; c < ncpus; c++) {
        const struct smm_rec *r = smm_last_rec(c);
        if (cs_has(active, c) && r && r->tsc_exit > last)
            last = r->tsc_exit;
    }
    *lat = last > t0 ? last - t0 : 0;
    return true;
}

/* n events after 10 for warm-up, their latencies in samples[]; returns how
 * many, fewer when one did not finish (why says what it left behind). */
static unsigned events(enum rdv_policy pol, cpuset_t active, unsigned n, char *why, size_t len)
{
    unsigned got = 0;
    for (unsigned i = 0; i < n + 10; i++) {
        uint64_t lat;
        if (!one_event(pol, active, &lat, why, len))
            break;
        if (i >= 10)
            samples[got++] = lat;
    }
    return got;
}

/* HLT-parks the k highest of 'aps' (inactive for the synchbyte); returns
 * the set parked. */
static cpuset_t park_highest(cpuset_t aps, unsigned k)
{
    cpuset_t park = cs_none();
    for (unsigned i = ncpus - 1, left = k; i > 0 && left; i--)
        if (cs_has(aps, i)) {
            cs_add(&park, i);
            left--;
        }
    return park_aps(park, false);
}

static void bench_rdv(void)
{
    unsigned n = iterations(200);
    cpuset_t aps = usable_aps_but(0);
    unsigned napps = cs_count(aps);
    /* Every k up to 8 APs; past that k = 0, n/4, n/2 and all of them. */
    unsigned ks[9], nk = 0;
    for (unsigned j = 0; j <= 8 && j <= napps; j++)
        ks[nk++] = napps > 8 ? (j == 0 ? 0 : j == 1 ? napps / 4 : j == 2 ? napps / 2 : napps) : j;
    if (napps > 8)
        nk = 4;
    for (unsigned kk = 0; kk < nk; kk++) {
        unsigned k = ks[kk];
        cpuset_t parked = park_highest(aps, k);
        cpuset_t active = cs_or(cs_minus(smm_ok_set(), parked), cs_of(0));
        for (enum rdv_policy p = RDV_PULLIN; p < RDV_POLICY_COUNT; p++) {
            char why[200] = "";
            unsigned got = events(p, active, n, why, sizeof(why));
            char what[48];
            ksnprintf(what, sizeof(what), "rendezvous-k%u", k);
            report(emit("rendezvous", what, pol_name(p), k, summarise(samples, got)) && got == n,
                   "rendezvous, %u inactive, %s: %u events, well-formed%s%s", k, pol_name(p), got,
                   *why ? "; " : "", why);
        }
        wake_aps(parked);
    }
}
TEST("90", "bench.rdv", bench_rdv, .needs = FEAT_SMM | FEAT_SELFTEST, .timeout_ms = 600000);

/* ---- the storage backends: the same rendezvous on each ---- */

static void bench_backends(void)
{
    unsigned n = iterations(200);
    cpuset_t active = smm_ok_set();
    for (enum synch_backend b = 0; b < SYNCH_BACKEND_COUNT; b++) {
        if (!smm_set_backend(b))
            continue;
        char why[200] = "";
        unsigned got = events(RDV_PULLIN, active, n, why, sizeof(why));
        report(emit("backend", synch_backend_name(b), "pullin", 0, summarise(samples, got)) && got == n,
               "rendezvous on %s: %u events, well-formed%s%s", synch_backend_name(b), got, *why ? "; " : "",
               why);
    }
    smm_set_backend(SYNCH_MEM);
}
TEST("90", "bench.backend", bench_backends, .needs = FEAT_SMM | FEAT_SELFTEST, .timeout_ms = 600000);

/* ---- the firmware's own SMM (audit mode, --firmware ovmf-smm) ----
 * EDK2's rendezvous measured as bench.rdv measures the harness's: an SMI
 * the firmware ignores (APM 0xB2 with a value it has no handler for; QEMU
 * broadcasts it, as OVMF negotiated), from the trigger to the instruction
 * after it (under TCG the SMI is taken right there, so that is after the
 * firmware's RSM), with k APs HLT-parked. Policy "edk2" in the results. */
static void bench_fw(void)
{
    unsigned n = iterations(50);
    cpuset_t aps = cs_none();
    for (unsigned i = 1; i < ncpus; i++)
        if (cpu_usable(i))
            cs_add(&aps, i);
    unsigned napps = cs_count(aps);
    for (unsigned k = 0; k <= napps; k += (napps > 2 ? napps / 2 : 1)) {
        cpuset_t parked = park_highest(aps, k);
        unsigned got = 0;
        for (unsigned i = 0; i < n + 3; i++) {
            uint64_t t0 = rdtsc();
            apm_trigger(0x5C);
            uint64_t t1 = rdtsc();
            if (i >= 3)
                samples[got++] = t1 - t0;
        }
        char what[48];
        ksnprintf(what, sizeof(what), "rendezvous-k%u", k);
        report(emit("rendezvous", what, "edk2", k, summarise(samples, got)) && got == n,
               "EDK2 rendezvous (APM SMI), %u HLT-parked: %u SMIs, well-formed", k, got);
        wake_aps(parked);
    }
}
TEST("90", "bench.fw", bench_fw, .needs = FEAT_FW_SMM | FEAT_Q35 | FEAT_SELFTEST, .timeout_ms = 600000);
