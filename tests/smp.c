/* SMP bring-up, on_cpu, and the park/wake paths. */
#include "kernel/config.h"
#include "kernel/test.h"
#include "kernel/report.h"
#include "kernel/console.h"
#include "arch/x86.h"
#include "arch/percpu.h"
#include "drivers/lapic.h"
#include "drivers/timer.h"
#include "smp/smp.h"
#include "smp/modetest.h"
#include "smm/synch.h"
#include "smm/smm.h"

static volatile uint32_t seen_apic[MAX_CPUS], seen_idx[MAX_CPUS];
static volatile uint64_t seen_cr0[MAX_CPUS];

static void whoami(void *arg)
{
    (void)arg;
    unsigned me = cpu_index();
    seen_apic[me] = lapic_id();
    seen_idx[me] = me + 1;
    seen_cr0[me] = read_cr0();
}

static void test_bringup(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        seen_apic[i] = ~0u;
        bool ran = cpus[i].state != CPU_FAILED && on_cpu(i, whoami, 0);
        if (!report(ran && seen_apic[i] == cpus[i].apic_id, "cpu%u (APIC ID %u) online", i,
                    cpus[i].apic_id))
            report_info("cpu%u is %s; it reported APIC ID %d", i, cpu_state_name(cpus[i].state),
                        (int)seen_apic[i]);
    }
    /* INIT leaves CR0 at 60000010h: caches off (CD, NW) until the start-up
     * code turns them on; a CPU left that way runs uncached on hardware. */
    cpuset_t uncached = cs_none();
    for (unsigned i = 0; i < ncpus; i++)
        if (seen_apic[i] == cpus[i].apic_id && (seen_cr0[i] & (CR0_CD | CR0_NW)))
            cs_add(&uncached, i);
    char m[CPUSET_STR];
    if (!report(cs_empty(uncached), "every online CPU runs with its caches on (CR0.CD and CR0.NW clear)"))
        report_info("CD or NW set on {%s} (cpu%u: CR0 %lx)", cs_format(uncached, m, sizeof(m)),
                    cs_first(uncached), seen_cr0[cs_first(uncached)]);
}
TEST("02", "smp.bringup", test_bringup);

/* "SxCxT" -> sockets, cores, threads. */
static bool parse_topology(const char *v, unsigned *s, unsigned *c, unsigned *t)
{
    unsigned *out[3] = { s, c, t };
    for (unsigned k = 0; k < 3; k++) {
        unsigned n = 0;
        if (*v < '0' || *v > '9')
            return false;
        while (*v >= '0' && *v <= '9')
            n = n * 10 + (unsigned)(*v++ - '0');
        *out[k] = n;
        if (k < 2 && *v++ != 'x')
            return false;
    }
    return *v == 0;
}

static void test_topology(void)
{
    smp_print_topology();
    bool unique = true;
    for (unsigned i = 0; i < ncpus; i++)
        for (unsigned j = 0; j < i; j++)
            if (cpus[i].pkg == cpus[j].pkg && cpus[i].core == cpus[j].core &&
                cpus[i].thread == cpus[j].thread)
                unique = false;
    unsigned pkgs = 0, threads = 0;
    for (unsigned i = 0; i < ncpus; i++) {
        pkgs = cpus[i].pkg + 1 > pkgs ? cpus[i].pkg + 1 : pkgs;
        threads = cpus[i].thread + 1 > threads ? cpus[i].thread + 1 : threads;
    }
    report(unique, "every CPU has its own package/core/thread (%u package(s), %u thread(s) per core)",
           pkgs, threads);
    /* topology=SxCxT (run-qemu.sh passes what -smp said): the counts must match. */
    unsigned s = 0, c = 0, t = 0;
    if (!config.topology.set || !parse_topology(config.topology.v, &s, &c, &t))
        return;
    unsigned cores = 0;                  /* distinct (package, core) pairs */
    for (unsigned i = 0; i < ncpus; i++) {
        bool first = true;
        for (unsigned j = 0; j < i; j++)
            first &= !(cpus[i].pkg == cpus[j].pkg && cpus[i].core == cpus[j].core);
        cores += first;
    }
    unsigned per_pkg = pkgs ? cores / pkgs : 0;
    if (!report(pkgs == s && per_pkg == c && threads == t,
                "detected %u package(s) x %u core(s) x %u thread(s), as configured (%s)", pkgs, per_pkg, threads, config.topology.v))
        for (unsigned i = 0; i < ncpus; i++)
            report_info("cpu%u: APIC ID %u -> package %u core %u thread %u", i, cpus[i].apic_id, cpus[i].pkg,
                        cpus[i].core, cpus[i].thread);
}
TEST("02", "smp.topology", test_topology);

static volatile uint32_t hits[MAX_CPUS];
static void bump(void *arg) { (void)arg; hits[cpu_index()]++; }

static void test_on_cpu(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        uint32_t h = hits[i];
        report(on_cpu(i, bump, 0) && hits[i] == h + 1, "sync on cpu%u", i);
    }
    uint32_t before[MAX_CPUS];
    for (unsigned i = 0; i < ncpus; i++)
        before[i] = hits[i];
    bool started = true;
    for (unsigned i = 1; i < ncpus; i++)
        started &= on_cpu_async(i, bump, 0);
    bool done = true;
    for (unsigned i = 1; i < ncpus; i++)
        done &= on_cpu_wait(i, 1000000) && hits[i] == before[i] + 1;
    report(started && done, "async on every AP, then wait");
}
TEST("03", "smp.on_cpu", test_on_cpu, .min_cpus = 2);

/* Idle APs halt (idle=hlt, the default): with nothing to do for 50 ms an
 * idle AP passes its loop a few times (once per wake), where a spinning
 * one passes it tens of thousands of times; work still reaches it at once,
 * through the wake IPI. With idle=spin the same counts show the spin. */
#define IDLE_MS 50
#define IDLE_HALT_MAX 20                 /* passes in IDLE_MS that still mean "halted" */

static void test_idle(void)
{
    bool halt = !config_is(idle, "spin");
    uint64_t before[MAX_CPUS];
    unsigned idle = 0;
    for (unsigned i = 1; i < ncpus; i++)
        before[i] = cpus[i].idle_loops;
    mdelay(IDLE_MS);
    for (unsigned i = 1; i < ncpus; i++) {
        if (!cpu_usable(i) || cpus[i].state != CPU_IDLE)
            continue;
        idle++;
        uint64_t passes = cpus[i].idle_loops - before[i];
        if (halt)
            report(passes <= IDLE_HALT_MAX, "cpu%u halted while idle: %lu passes of its idle loop in %u ms",
                   i, passes, IDLE_MS);
        else
            report(passes > IDLE_HALT_MAX, "idle=spin: cpu%u spun while idle: %lu passes in %u ms", i, passes,
                   IDLE_MS);
        uint64_t w = cpus[i].wakes, t0 = rdtsc();
        bool ran = on_cpu(i, bump, 0);
        uint64_t us = tsc_to_ns(rdtsc() - t0) / 1000;
        /* Halting: at once (100 ms), through the wake IPI. Spinning: the
         * idle APs compete for the host's cores with every other vCPU
         * (run-configs.sh -j 2 on 2 cores saw more than 100 ms once), so
         * only within the on_cpu bound's tenth. */
        uint64_t bound = halt ? 100000 : 1000000;
        report(ran && us < bound && (!halt || cpus[i].wakes > w),
               "cpu%u: on_cpu work reached it in %lu us%s (bound %lu us)", i, us, halt ? ", woken by its wake IPI" : "",
               bound);
    }
    report(idle == smp_online() - 1, "every online AP was idle (%u of %u)", idle, smp_online() - 1);
}
TEST("03", "smp.idle", test_idle, .min_cpus = 2);

/* The BSP's bounded waits halt (wait=hlt, the default; drivers/timer.h):
 * past its spin phase a wait halts until the test watchdog's 1 ms tick,
 * where a spinning wait looks tens of thousands of times; a delay still
 * is never early and does not run away; a condition another CPU sets is
 * still seen long before the wait's bound. With wait=spin the same counts show the spin. */
#define WAIT_TEST_MS   50
/* Halts in WAIT_TEST_MS that mean "it halted": a spinning wait has none,
 * and a loaded host merges the ticks a descheduled vCPU missed (q35-smt
 * saw 8 in 50 ms with two runs at once), so 2 is the robust line. */
#define WAIT_HALT_MIN  2
/* Bounds with room for the host: a halted vCPU's thread is woken by the
 * host's scheduler, which on a loaded or noisy host takes milliseconds
 * (pc-8 under CI once: a flag seen 9.7 ms late). What they catch: a wait
 * that only notices at its deadline (1 s). A delay is judged against a
 * bare spin on the TSC for as long, measured in turn with it: the host
 * makes both late alike (q35-idle-spin beside q35-64 under run-configs
 * -j 2: mdelay(20) 140 ms at best of 5), a delay that ends early or
 * overshoots by itself shows against the spin. */
#define WAIT_SEEN_US   100000            /* condition set -> seen, best of WAIT_TRIES */
#define WAIT_DELAY_SLACK_US 5000         /* mdelay(20) beyond the bare spin, best of WAIT_DELAY_TRIES each */
#define WAIT_TRIES     3
#define WAIT_DELAY_TRIES 5

static volatile uint64_t wait_flag_tsc;

static void set_wait_flag(void *arg)
{
    mdelay((uint64_t)(uintptr_t)arg);
    wait_flag_tsc = rdtsc();
}

static uint64_t best_seen_us(void)
{
    uint64_t best = ~0ull;
    for (int i = 0; i < WAIT_TRIES; i++) {
        wait_flag_tsc = 0;
        if (!on_cpu_async(1, set_wait_flag, (void *)(uintptr_t)5))
            return ~0ull;
        bool seen = WAIT_UNTIL(wait_flag_tsc, 1000000);
        uint64_t t = rdtsc();
        on_cpu_wait(1, 1000000);
        if (seen) {
            uint64_t us = tsc_to_ns(t - wait_flag_tsc) / 1000;
            best = us < best ? us : best;
        }
    }
    return best;
}

static void test_wait_halt(void)
{
    bool halt = !config_is(wait, "spin");
    struct percpu *me = this_percpu();
    uint64_t looks = 0, h0 = me->wait_halts;
    WAIT_UNTIL((looks++, false), WAIT_TEST_MS * 1000);
    uint64_t halts = me->wait_halts - h0;
    if (halt)
        report(halts >= WAIT_HALT_MIN, "a %u ms wait halted %lu times (%lu looks)", WAIT_TEST_MS, halts, looks);
    else
        report(halts == 0, "wait=spin: a %u ms wait spun (%lu looks, %lu halts)", WAIT_TEST_MS, looks, halts);
    uint64_t best = ~0ull, spin = ~0ull, n20 = ns_to_tsc(20000000);
    h0 = me->wait_halts;
    for (int i = 0; i < WAIT_DELAY_TRIES; i++) {
        uint64_t t0 = rdtsc();
        mdelay(20);
        uint64_t t1 = rdtsc();
        while (rdtsc() - t1 < n20)
            cpu_relax();
        uint64_t us = tsc_to_ns(t1 - t0) / 1000, sp = tsc_to_ns(rdtsc() - t1) / 1000;
        best = us < best ? us : best;
        spin = sp < spin ? sp : spin;
    }
    halts = me->wait_halts - h0;
    report(best >= 20000 && best <= spin + WAIT_DELAY_SLACK_US && (halts > 0) == halt,
           "mdelay(20) took %lu us, a bare 20 ms spin %lu us (best of %d each), halting %lu times", best, spin,
           WAIT_DELAY_TRIES, halts);
    if (ncpus < 2 || !cpu_usable(1))
        return;
    best = best_seen_us();
    report(best <= WAIT_SEEN_US * host_scale(), "a flag cpu1 set was seen %lu us later (best of %d, bound %u us)",
           best, WAIT_TRIES, WAIT_SEEN_US * host_scale());
}
TEST("03", "smp.wait_halt", test_wait_halt);

static bool synch_is(unsigned cpu, uint8_t want)
{
    uint8_t v;
    return !smm.ready || (synch_peek(cpu, &v) && v == want);
}

#define PARK_CYCLES 3

static void test_park_hlt(void)
{
    for (unsigned i = 1; i < ncpus; i++) {
        bool ok = true;
        for (int c = 0; c < PARK_CYCLES && ok; c++) {
            ok = cpu_park_hlt(i) && cpus[i].state == CPU_PARKED_HLT && synch_is(i, SYNCH_INACTIVE);
            ok = ok && cpu_wake_hlt(i) && cpu_usable(i) && synch_is(i, SYNCH_ACTIVE) && on_cpu(i, bump, 0);
        }
        if (!report(ok, "cpu%u: %d hlt park/wake cycles (state %s)", i, PARK_CYCLES,
                    cpu_state_name(cpus[i].state)))
            smm_print_stays(i, 3);
    }
}
TEST("04", "smp.park_hlt", test_park_hlt, .min_cpus = 2);

static void test_park_init(void)
{
    for (unsigned i = 1; i < ncpus; i++) {
        bool ok = true;
        uint32_t starts = cpus[i].starts;
        for (int c = 0; c < PARK_CYCLES && ok; c++) {
            ok = cpu_park_init(i) && synch_is(i, SYNCH_INACTIVE);
            ok = ok && cpu_wake_sipi(i) && synch_is(i, SYNCH_ACTIVE) && on_cpu(i, bump, 0);
        }
        if (!report(ok && cpus[i].starts == starts + PARK_CYCLES,
                    "cpu%u: %d INIT park / SIPI wake cycles (trampoline ran %u times)", i, PARK_CYCLES,
                    cpus[i].starts - starts))
            smm_print_stays(i, 3);
    }
}
TEST("04", "smp.park_init", test_park_init, .min_cpus = 2);

/* NMIs come whatever the interrupted code did to its stack, and the mode
 * tests (smp/modetest.h) run with a pattern in RSP: the NMI gate has its
 * own stack (IST, arch/percpu.h). Checked twice per AP: the handler's frame
 * lies on that CPU's NMI stack, and an NMI taken while RSP is no stack at
 * all is handled and the code goes on with its RSP intact. */
#define NO_STACK 0xDEAD00000000BEE0ul      /* non-canonical: any push faults */

static void run_no_stack(void *arg) { (void)arg; mode_test_long(0); }

static bool nmi_and_count(unsigned i)
{
    uint64_t before = cpus[i].nmi_count;
    lapic_send_ipi(cpus[i].apic_id, ICR_DM_NMI);
    return WAIT_UNTIL(cpus[i].nmi_count > before, 1000000);
}

static void nmi_without_stack(unsigned i)
{
    for (unsigned r = 0; r < 16; r++)
        ml_pat[r] = r == ML_RSP ? NO_STACK : 0x5EED000000000000ull | r;
    ml_ready = ml_go = 0;
    bool started = on_cpu_async(i, run_no_stack, 0) && WAIT_UNTIL(ml_ready, 1000000);
    bool taken = started && nmi_and_count(i);
    ml_go = 1;
    bool back = started && on_cpu_wait(i, 1000000) && !ml_timedout;
    if (!report(taken && back && ml_out[ML_RSP] == NO_STACK,
                "cpu%u: an NMI while RSP holds no stack (0x%lx) is handled, and RSP is intact after", i,
                NO_STACK))
        report_info("cpu%u: started %d, NMI counted %d, finished %d, RSP after 0x%lx", i, started, taken,
                    back, ml_out[ML_RSP]);
}

static void test_nmi_stack(void)
{
    for (unsigned i = 1; i < ncpus; i++) {
        if (!cpu_usable(i)) {          /* boot.config already fails for a CPU that should be online */
            report_skip("not online", "cpu%u: NMI checks", i);
            continue;
        }
        uintptr_t lo, hi;
        percpu_ist_range(i, IST_NMI, &lo, &hi);
        bool taken = nmi_and_count(i);
        uintptr_t f = cpus[i].nmi_frame;
        if (report(taken && f >= lo && f < hi, "cpu%u: the NMI handler runs on its own stack (frame 0x%lx, "
                   "NMI stack [0x%lx, 0x%lx))", i, taken ? f : 0, lo, hi))
            nmi_without_stack(i);
        else                 /* an NMI without a stack would reset the machine */
            report(false, "cpu%u: an NMI while RSP holds no stack is handled: not tried, the NMI has "
                   "no stack of its own", i);
    }
}
TEST("04", "smp.nmi_stack", test_nmi_stack, .min_cpus = 2);

/* Self-test of the double-fault report: an AP faults with no usable stack;
 * the run must end in a kernel panic that names the double fault (without
 * its IST stack the machine would reset with no word, a triple fault). */
static void run_double_fault(void *arg) { (void)arg; double_fault_now(); }

static void test_double_fault(void)
{
    if (!on_cpu_async(1, run_double_fault, 0)) {
        report(false, "cpu1 takes the double-fault work");
        return;
    }
    mdelay(2000);
    report(false, "a double fault on cpu1 ends the run in a panic that names it");
}
TEST("99", "selftest.double_fault", test_double_fault, .needs = FEAT_SELFTEST, .min_cpus = 2);

/* Self-test of the watchdog: this test never ends by itself; the run must
 * report it as a TIMEOUT and still reach its summary. */
static void test_stuck(void)
{
    for (;;)
        cpu_relax();
}
TEST("99", "selftest.stuck", test_stuck, .needs = FEAT_SELFTEST, .timeout_ms = 2000);

/* Self-test of the host's watchdog (run-qemu.sh with --maxcpus above
 * --smp): the BSP arms it naming a known deviation that needs cpu0 in SMM,
 * then stops outside SMM for good (interrupts off, HLT). The agent must end
 * the run with a failure that says cpu0 was not in SMM, not with the known
 * deviation. */
static void test_host_watchdog(void)
{
    kprintf("# run-qemu: watchdog 3 fw-hotadd-smi-hang 0 - selftest.host_watchdog: the BSP stops outside SMM\n");
    for (;;)
        __asm__ volatile("cli; hlt");
}
TEST("99", "selftest.host_watchdog", test_host_watchdog, .needs = FEAT_SELFTEST);
