/* The synchbyte rendezvous (patent claims 1-19, 31-35, 41-52), on every
 * storage backend. Verdicts come from the records each CPU wrote in SMM:
 * the state it saw for every peer, whom it waited for and how long, whom it
 * pulled in, whether it ran the command. */
#include "kernel/test.h"
#include "kernel/report.h"
#include "kernel/config.h"
#include "lib/printf.h"
#include "lib/kstring.h"
#include "arch/percpu.h"
#include "arch/x86.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "drivers/lapic.h"
#include "drivers/apic_regs.h"
#include "kernel/idt.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "tests/smm_util.h"

static uint64_t us_of(uint64_t tsc) { return tsc_to_ns(tsc) / 1000; }

/* Everything the CPUs recorded for one command. */
struct event_view {
    uint32_t event;
    cpuset_t members, wfs, ran;            /* CPU sets (late arrivals carry no
                                              command number: case_mixed finds them by entry) */
    const struct smm_rec *monarch_rec;
    unsigned monarch;
};

static const char *const role_names[] = { "none", "monarch", "member", "late", "nowork", "service", "wfs-park" };

/* On a failure: what every CPU recorded since 'base'. */
static void dump_recs(const uint64_t *base)
{
    char m1[CPUSET_STR], m2[CPUSET_STR], m3[CPUSET_STR];
    for (unsigned i = 0; i < ncpus; i++)
        for (uint64_t e = base[i] ? base[i] : 1; e <= smm_entries(i); e++) {
            const struct smm_rec *r = smm_rec(i, e);
            if (r)
                report_info("  cpu%u #%u: %s event %u cmd %u/%u flags 0x%x waited {%s} pulled {%s} missing {%s} "
                            "wait %lu us self %s->%s", i, r->seq, r->role < 7 ? role_names[r->role] : "?",
                            r->event, r->cmd_id, r->cmd_seq, r->flags, SET_STR(r->waited, m1),
                            SET_STR(r->pulled, m2), SET_STR(r->missing, m3),
                            us_of(r->wait_tsc), synch_name(r->self_before), synch_name(r->self_after));
        }
}

static void dump_cpus(void)
{
    for (unsigned i = 0; i < ncpus; i++) {
        const struct smm_rec *r = smm_last_rec(i);
        report_info("  cpu%u: %s, %lu SMM entries, in_smm %u, nmis %lu, smm fault %u, last role %s (event %u) self %s->%s", i,
                    cpu_state_name(cpus[i].state), smm_entries(i), smm_comm.cpu[i].in_smm,
                    cpus[i].nmi_count, smm_comm.cpu[i].fault_vector,
                    r && r->role < 7 ? role_names[r->role] : "-", r ? r->event : 0,
                    r ? synch_name(r->self_before) : "-", r ? synch_name(r->self_after) : "-");
    }
}

static void view(uint32_t seq, const uint64_t *base, struct event_view *v)
{
    memset(v, 0, sizeof(*v));
    v->monarch = ~0u;
    /* From base[i] itself: a CPU may already have been in SMM (entered and
     * counted, then waiting out a closing event) when the command came. */
    for (unsigned i = 0; i < ncpus; i++)
        for (uint64_t e = base[i] ? base[i] : 1; e <= smm_entries(i); e++) {
            const struct smm_rec *r = smm_rec(i, e);
            if (!r)
                continue;
            if (r->role == ROLE_WFS_PARK)
                cs_add(&v->wfs, i);
            if (r->cmd_seq != seq)
                continue;
            if (r->role == ROLE_MONARCH) {
                v->monarch_rec = r;
                v->monarch = i;
                v->event = r->event;
            }
            if (r->role == ROLE_MONARCH || r->role == ROLE_MEMBER)
                cs_add(&v->members, i);
            if (r->flags & REC_RAN_CMD)
                cs_add(&v->ran, i);
        }
}

/* Runs one command through the rendezvous; returns false if it never finished. */
static bool rdv_call(enum rdv_policy pol, enum smi_source src, uint64_t *base, struct smm_call *c)
{
    smm_snapshot(base);
    *c = (struct smm_call){ .id = SMM_CMD_NOP, .policy = pol, .src = src, .target = cpu_index(),
                            .timeout_us = 3000000 };
    bool ok = smm_call(c);
    settle();                          /* let members and late arrivals finish */
    return ok;
}

static const char *pol_name(enum rdv_policy p)
{
    return p == RDV_PATENT ? "patent" : p == RDV_WAITALL ? "waitall" : "pullin";
}

/* Every peer's byte as the monarch of a directed, patent-policy event read
 * it before waiting (its scan: evidence from inside SMM, for every backend).
 * The patent policy sends no SMI to anyone, so the reading disturbs nothing;
 * active peers make it wait out its fail-safe, so use it only when the
 * others are parked or a short fail-safe is acceptable. */
static bool read_synch(uint8_t *out)
{
    uint64_t base[SMMSYNC_MAX_CPUS];
    struct smm_call c;
    struct event_view v;
    bool ok = rdv_call(RDV_PULLIN, SMI_IPI_SELF, base, &c);
    view(c.seq, base, &v);
    if (!ok || !v.monarch_rec)
        return false;
    memcpy(out, v.monarch_rec->peer, ncpus);
    /* The monarch reads itself "in SMM"; what it was before is its entry byte
     * (it may be a parked CPU that a latched SMI brought in first). */
    out[v.monarch] = v.monarch_rec->self_before;
    return true;
}

static cpuset_t usable_aps(void)
{
    cpuset_t m = cs_none();
    for (unsigned i = 1; i < ncpus; i++)
        if (smm_cpu_ok(i))
            cs_add(&m, i);
    return m;
}

static cpuset_t usable_set(void) { return cs_or(usable_aps(), cs_of(0)); }

static cpuset_t never_started(void)
{
    cpuset_t m = cs_none();
    for (unsigned i = 1; i < ncpus; i++)
        if (cpus[i].state == CPU_OFFLINE || cpus[i].state == CPU_FAILED)
            cs_add(&m, i);
    return m;
}

typedef void (*backend_case)(enum synch_backend b);

static void on_every_backend(backend_case fn)
{
    for (enum synch_backend b = 0; b < SYNCH_BACKEND_COUNT; b++) {
        report_prefix_push(synch_backend_name(b));
        if (b == SYNCH_CMOS && ncpus > SYNCH_CMOS_BYTES)
            report_skip("the cmos backend holds 32 CPUs", "%u CPUs: CMOS NVRAM 0x60-0x7F has %u synchbytes",
                        ncpus, SYNCH_CMOS_BYTES);
        else if (report(smm_set_backend(b), "switched the synchbytes to %s", synch_backend_name(b)))
            fn(b);
        report_prefix_pop();
    }
    smm_set_backend(SYNCH_MEM);
}

/* ---- the bounds in use ---- */

/* The fail-safe bounds grow with the host's load (kernel/config.h,
 * config_host_scale): 500 ms each per factor, unless given on the command
 * line. The protocol's own times (pull-in's first wait, wait-all's timeout)
 * do not. */
static void test_bounds(void)
{
    unsigned k = host_scale();
    uint64_t patent = config.patent_failsafe_us.set ? config.patent_failsafe_us.v : 500000ull * k;
    uint64_t pullin2 = config.pullin2_us.set ? config.pullin2_us.v : 500000ull * k;
    report(smm.t_patent_us == patent && smm.t_pullin2_us == pullin2,
           "fail-safe bounds for %u vCPUs on %lu host CPUs (x%u): patent %lu us, pull-in %lu us", ncpus,
           config.host_cpus.set ? config.host_cpus.v : 0, k, smm.t_patent_us, smm.t_pullin2_us);
    report(smm.t_pullin1_us == (config.pullin_us.set ? config.pullin_us.v : 2000) &&
           smm.t_waitall_us == (config.waitall_us.set ? config.waitall_us.v : 1000),
           "the protocol's own times are not scaled: pull-in first wait %lu us, wait-all %lu us",
           smm.t_pullin1_us, smm.t_waitall_us);
}
TEST("20", "smm.rdv.bounds", test_bounds, .needs = FEAT_SMM);

/* ---- how CPUs wait in SMM: members for their release, the monarch for its arrivals (smm_wait=spin|hlt) ---- */

/* An SMI whose command takes a while (the SMRAM hash): the members wait
 * for their release meanwhile, and the monarch for its arrivals first.
 * cpu0 raises it on itself under pullin, so cpu0 is the monarch and the
 * APs, pulled in after the first bound, are the members (with a broadcast
 * on 2 CPUs, cpu1 won the race to monarch in all 8 tries once under
 * run-configs -j 2, and cpu0 alone was a member). From the records: with
 * smm_wait=hlt every member halted, the monarch sent a wake IPI to every
 * member that halted (none is left to its own timer: no lost wake); the
 * monarch, cpu0, halted for its arrivals on the watchdog tick the kernel
 * lends it (smm_config.lent_tick_lvt), and a member's arrival woke it (the
 * last one's, by the rule that the member whose join completes the set
 * wakes the monarch; it marks its record); nobody timed out; cpu0's tick
 * is back as the kernel armed it. With smm_wait=spin nobody halted and
 * nobody was sent a wake. A wake left pending would reach the kernel as
 * SMM's wake vector and panic it. */
struct wait_event {
    bool done;
    cpuset_t halted, timed_out, members, woken, woke_monarch;
    bool have_monarch;
    unsigned monarch;
    uint32_t monarch_halts, monarch_timer_wakes, monarch_wake_ipis;
};

/* One event whose command takes a while (the SMRAM hash), read back from
 * the records: who was a member, who halted, who timed out, whom the
 * monarch woke, who woke the monarch, how often the monarch halted. */
static void wait_method_event(struct wait_event *w)
{
    uint64_t base[SMMSYNC_MAX_CPUS];
    smm_snapshot(base);
    struct smm_call c = { .id = SMM_CMD_HASH_SMRAM, .policy = RDV_PULLIN, .src = SMI_IPI_SELF,
                          .target = 0, .timeout_us = 5000000 };
    w->done = smm_call(&c);
    settle();
    struct event_view v;
    view(c.seq, base, &v);
    w->halted = w->timed_out = w->members = w->woke_monarch = cs_none();
    w->have_monarch = v.monarch_rec != 0;
    w->monarch = v.monarch;
    w->woken = v.monarch_rec ? v.monarch_rec->woken : cs_none();
    w->monarch_halts = v.monarch_rec ? v.monarch_rec->halts : 0;
    w->monarch_timer_wakes = v.monarch_rec ? v.monarch_rec->timer_wakes : 0;
    w->monarch_wake_ipis = v.monarch_rec ? v.monarch_rec->wake_ipis : 0;
    for (unsigned i = 0; i < ncpus; i++)
        for (uint64_t e = base[i] + 1; e <= smm_entries(i); e++) {
            const struct smm_rec *r = smm_rec(i, e);
            if (!r || r->cmd_seq != c.seq || r->role != ROLE_MEMBER)
                continue;
            cs_add(&w->members, i);
            if (r->halts)
                cs_add(&w->halted, i);
            if (r->flags & REC_TIMEOUT)
                cs_add(&w->timed_out, i);
            if (r->flags & REC_WOKE_MONARCH)
                cs_add(&w->woke_monarch, i);
        }
}

struct tick { uint32_t lvt, init, div; };

static struct tick tick_now(void)
{
    return (struct tick){ lapic_read_reg(APIC_LVT_TIMER) & ~LVT_SEND_PENDING, lapic_read_reg(APIC_TIMER_INIT),
                          lapic_read_reg(APIC_TIMER_DIV) };
}

/* The monarch's side: under hlt it halted, and a member's arrival woke it,
 * both sides saying so (the member marked its record; the monarch took a
 * wake IPI, in a halt or, when the arrival came before its halt, just
 * before RSM: the wake vector is the IPIs' alone, its one-shot has its
 * own); under spin neither. Then cpu0's watchdog tick, which SMM
 * borrowed: as it was before the events ('before'), and counting. */
static void check_monarch_wait(const struct wait_event *w, bool hlt, struct tick before)
{
    char m1[CPUSET_STR];
    report(w->have_monarch && (hlt ? w->monarch_halts && w->monarch_wake_ipis && !cs_empty(w->woke_monarch) &&
                                     cs_subset(w->woke_monarch, w->members)
                                   : !w->monarch_halts && !w->monarch_wake_ipis && cs_empty(w->woke_monarch)),
           "smm_wait=%s: the monarch (cpu%u) halted %u times for its arrivals (%u ended by its timer) and took "
           "%u wake IPIs; woken by the arrival of {%s}", hlt ? "hlt" : "spin", w->monarch, w->monarch_halts,
           w->monarch_timer_wakes, w->monarch_wake_ipis, SET_STR(w->woke_monarch, m1));
    struct tick t = tick_now();
    uint32_t c1 = lapic_timer_current();
    udelay(50);
    uint32_t c2 = lapic_timer_current();
    report(before.lvt == LVT_WATCHDOG_TICK && t.lvt == before.lvt && t.init == before.init && t.div == before.div &&
           c1 != c2, "cpu0's watchdog tick, lent to SMM, is as the kernel armed it: LVT 0x%x (0x%x), initial "
           "count %u (%u), divide 0x%x (0x%x), counting (%u, then %u)", t.lvt, before.lvt, t.init, before.init,
           t.div, before.div, c1, c2);
}

/* Under hlt any member may halt (cpu0 too, on the tick it lends): the test
 * takes the first of WAIT_METHOD_TRIES events with members and cpu0 as
 * their monarch (the first, unless cpu0 lost the monarch's place to an
 * SMI of its own). */
#define WAIT_METHOD_TRIES 8

static void test_wait_method(void)
{
    bool hlt = !config_is(smm_wait, "spin");
    struct tick before = tick_now();
    struct wait_event w;
    int tries = 0;
    do {
        wait_method_event(&w);
    } while (++tries < WAIT_METHOD_TRIES && w.done && (cs_empty(w.members) || w.monarch != 0));
    cpuset_t may = hlt ? w.members : cs_none();
    char m1[CPUSET_STR], m2[CPUSET_STR], m3[CPUSET_STR];
    /* Under hlt: a member the host did not run until after its release
     * never needed to halt, so at least one, not all. */
    if (!report(w.done && !cs_empty(w.members) && cs_subset(w.halted, may) && (!hlt || !cs_empty(w.halted)) &&
                cs_empty(w.timed_out), "smm_wait=%s: members that halted for their release {%s}, of those "
                "that may {%s} (members {%s}, event %d of at most %d)", hlt ? "hlt" : "spin",
                SET_STR(w.halted, m3), SET_STR(may, m1), SET_STR(w.members, m2), tries, WAIT_METHOD_TRIES))
        report_info("timed out {%s}", SET_STR(w.timed_out, m3));
    if (!report(w.have_monarch && cs_subset(w.halted, w.woken) && (hlt || cs_empty(w.woken)),
                "the monarch sent a wake IPI to every member that halted ({%s})", SET_STR(w.woken, m1)))
        report_info("halted but never sent a wake: {%s}", SET_STR(cs_minus(w.halted, w.woken), m2));
    check_monarch_wait(&w, hlt, before);
}
TEST("21", "smm.rdv.wait_method", test_wait_method, .needs = FEAT_SMM, .min_cpus = 2);

/* Two things the halts' timer must get right, on cpu1 (its timer masked,
 * so it may halt), through one service call's result:
 * - a halt whose one-shot is one tick, which runs out at once, ends: the
 *   one-shot's LVT is unmasked before its count starts, else the count
 *   runs out masked, raises nothing, and the CPU stays halted in SMM for
 *   good (seen: cpu0 in the 4-vCPU benchmark, on a 1 ms bound, its vCPU
 *   thread preempted between the two writes);
 * - with a wake IPI and a one-shot pending at once, the drain before RSM
 *   takes both: a window takes one interrupt (seen: the kernel's panic on
 *   0xF8 under run-configs -j 2, the one-shot taken and the wake left). */
static void test_short_halt(void)
{
    unsigned k = 1;
    if (config_is(smm_wait, "spin")) {
        report_skip("smm_wait=spin: no CPU halts in SMM", "a halt on a one-tick one-shot");
        return;
    }
    int st = -1;
    uint64_t res = 0;
    bool served = smm_local(k, SMM_LOCAL_SHORT_HALT, 0, 1000000, &st, &res);
    report(served && st == SMM_OK && (res >> 32) == 1 && (res & 0xFFFF) == 1,
           "cpu%u: a halt on a one-tick one-shot ended, by its timer (%s: %u halts, %u timer wakes)", k,
           !served ? "cpu1 never left SMM" : res ? "served" : "served, but cpu1 may not halt",
           (unsigned)(res >> 32), (unsigned)(res & 0xFFFF));
    report(served && (res & SMM_SHORT_HALT_BOTH) && (res & SMM_SHORT_HALT_DRAINED),
           "cpu%u: a wake IPI and a one-shot pending at once: the drain before RSM took both (%s, %s)", k,
           res & SMM_SHORT_HALT_BOTH ? "both were pending" : "they were not both pending",
           res & SMM_SHORT_HALT_DRAINED ? "none left" : "one left pending for the OS");
}
TEST("21", "smm.short_halt", test_short_halt, .needs = FEAT_SMM, .min_cpus = 2);

/* ---- case (a): peers inactive -> no wait ---- */

/* First the other state: awake, every AP's byte reads active (claim 13),
 * so "inactive" below is what parking wrote, not a byte never written. */
static void check_awake_active(cpuset_t aps)
{
    cpuset_t not_active = cs_none();
    uint8_t s[SMMSYNC_MAX_CPUS];
    bool read = read_synch(s);
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(aps, i) && s[i] != SYNCH_ACTIVE)
            cs_add(&not_active, i);
    char m0[CPUSET_STR];
    if (!report(read && cs_empty(not_active), "awake, the APs' bytes read active"))
        report_info("not active: {%s}", SET_STR(not_active, m0));
}

/* Claims 2-7: a CPU never started holds the zero default, untouched. */
static void check_zero_default(enum rdv_policy p, const struct smm_rec *r)
{
    char m1[CPUSET_STR], m2[CPUSET_STR];
    cpuset_t nonzero = cs_none(), never = never_started();
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(never, i) && r->peer[i] != 0)
            cs_add(&nonzero, i);
    if (!cs_empty(never) && !report(cs_empty(nonzero), "%s: never-started CPUs {%s} hold the zero default "
                                    "(0x00 = inactive)", pol_name(p), SET_STR(never, m1)))
        report_info("bytes read 0x%02x ... on {%s}", r->peer[cs_first(nonzero)], SET_STR(nonzero, m2));
}

/* Claim 1(a), from the monarch's own record: no CPU whose byte it read as
 * inactive was waited for, pulled in or reported missing. */
static void check_not_waited(enum rdv_policy p, const struct event_view *v, cpuset_t inactive)
{
    char m1[CPUSET_STR], m2[CPUSET_STR], m3[CPUSET_STR], m4[CPUSET_STR];
    const struct smm_rec *r = v->monarch_rec;
    uint64_t w = us_of(r->wait_tsc);
    cpuset_t read_inactive = cs_none();
    for (unsigned i = 0; i < ncpus; i++)
        if (i != v->monarch && r->peer[i] == SYNCH_INACTIVE)
            cs_add(&read_inactive, i);
    cpuset_t bad = cs_and(cs_or(cs_or(r->waited, r->pulled), r->missing), read_inactive);
    if (!report(cs_eq(read_inactive, inactive) && cs_empty(bad), "%s: did not wait for the inactive peers {%s}", pol_name(p),
                SET_STR(inactive, m1)))
        report_info("read inactive {%s}; waited for {%s} although their bytes read inactive (pulled {%s}, "
                    "missing {%s}, waited %lu us)", SET_STR(read_inactive, m1),
                    SET_STR(cs_and(r->waited, read_inactive), m2), SET_STR(r->pulled, m3),
                    SET_STR(r->missing, m4), w);
    else
        report_info("%s: the monarch spent %lu us in its wait", pol_name(p), w);
}

static void case_inactive(enum synch_backend b)
{
    (void)b;
    cpuset_t aps = usable_aps(), parked = cs_none();
    unsigned n = 0;
    check_awake_active(aps);
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(aps, i))
            parked = cs_or(parked, park_aps(cs_of(i), (n++ & 1) != 0));   /* alternate HLT / INIT */
    cpuset_t inactive = cs_or(parked, never_started());
    char m1[CPUSET_STR], m2[CPUSET_STR];
    for (enum rdv_policy p = RDV_PULLIN; p <= RDV_WAITALL; p = p == RDV_PULLIN ? RDV_PATENT : p + 1) {
        uint64_t base[SMMSYNC_MAX_CPUS];
        struct smm_call c;
        struct event_view v;
        bool done = rdv_call(p, SMI_IPI_SELF, base, &c);
        view(c.seq, base, &v);
        const struct smm_rec *r = v.monarch_rec;
        if (!report(done && r && v.monarch == 0 && cs_eq(r->inactive, inactive),
                    "%s: cpu0 handled the SMI, saw {%s} inactive", pol_name(p), SET_STR(inactive, m1)))
            report_info("monarch %d, inactive seen {%s}", (int)v.monarch,
                        r ? SET_STR(r->inactive, m2) : "-");
        if (!r)
            continue;
        check_zero_default(p, r);
        if (p == RDV_WAITALL) {
            /* The baseline ignores the synchbytes: it waits out its timeout. */
            uint64_t w = us_of(r->wait_tsc);
            report(cs_empty(inactive) || w * 10 >= smm.t_waitall_us * 9,
                   "waitall: baseline waited %lu us for CPUs that were parked (timeout %lu us)", w,
                   smm.t_waitall_us);
            continue;
        }
        check_not_waited(p, &v, inactive);
    }
    report(wake_aps(parked), "parked CPUs woke up");
}

static void test_inactive(void) { on_every_backend(case_inactive); }
TEST("20", "smm.rdv.inactive", test_inactive, .needs = FEAT_SMM, .timeout_ms = 60000);

/* ---- case (b): a peer active, not yet in SMM -> wait for it ---- */

#define LATE_US 5000
static volatile uint32_t late_go;
static volatile uint64_t late_fired[SMMSYNC_MAX_CPUS];   /* TSC when each AP sent its SMI */
static uint64_t late_cpu0_entries;                        /* cpu0's SMM entries before the command */
static uint32_t late_events;                              /* events opened before the command */

/* cpu0 is in SMM for this test's command: a new entry, not the end of the
 * previous one (a monarch stays in SMM until its members have left, long
 * after smm_call returned: with 128 vCPUs the APs fired into that stay and
 * found no work). */
static bool cpu0_in_new_entry(void)
{
    return smm_comm.cpu[0].entries > late_cpu0_entries && smm_comm.cpu[0].in_smm;
}

/* The monarch of an event opened for this case (normally cpu0) has read
 * this CPU's byte as active: its record, open in its ring while it is in
 * SMM, says so. */
static bool scanned_as_active(void)
{
    unsigned me = cpu_index();
    for (unsigned p = 0; p < ncpus; p++) {
        const struct smm_cpu_comm *cc = &smm_comm.cpu[p];
        uint64_t n = cc->entries;
        if (p == me || !n || !cc->in_smm)
            continue;
        const volatile struct smm_rec *r = &cc->ring[(n - 1) % SMM_RING];
        if (r->role == ROLE_MONARCH && r->event > late_events && r->peer[me] == SYNCH_ACTIVE)
            return true;
    }
    return false;
}

static void late_self_smi(void *arg)
{
    (void)arg;
    uint64_t end = deadline_after_us(2000000ull * host_scale());
    WAIT_UNTIL_END(late_go, end);
    /* Start the delay once cpu0 is in SMM and the monarch has scanned us,
     * so that we come after its scan (waiting for cpu0's entry alone failed
     * once under run-configs -j 2: cpu0's vCPU thread, preempted, scanned
     * 11 ms after it entered, and six APs had come by then). */
    WAIT_UNTIL_END(cpu0_in_new_entry() && scanned_as_active(), end);
    udelay(LATE_US);
    late_fired[cpu_index()] = rdtsc();
    smi_trigger(SMI_IPI_SELF, cpu_index());
}

static void case_wait(enum synch_backend b)
{
    (void)b;
    cpuset_t aps = usable_aps();
    uint64_t base[SMMSYNC_MAX_CPUS];
    char m1[CPUSET_STR], m2[CPUSET_STR], m3[CPUSET_STR];
    late_go = 0;
    settle();                                  /* cpu0 out of the previous event */
    late_cpu0_entries = smm_comm.cpu[0].entries;
    late_events = smm_comm.events;
    for (unsigned i = 1; i < ncpus; i++) {
        late_fired[i] = 0;
        if (cs_has(aps, i))
            on_cpu_async(i, late_self_smi, 0);
    }
    smm_snapshot(base);
    struct smm_call c = { .id = SMM_CMD_NOP, .policy = RDV_PATENT, .src = SMI_IPI_SELF,
                          .target = 0, .timeout_us = 3000000 };
    /* Each AP fires its own SMI LATE_US after 'go'; cpu0 enters at once. */
    late_go = 1;
    bool done = smm_call(&c);
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(aps, i))
            on_cpu_wait(i, 2000000);
    settle();
    struct event_view v;
    view(c.seq, base, &v);
    const struct smm_rec *r = v.monarch_rec;
    uint64_t w = r ? us_of(r->wait_tsc) : 0;
    /* The monarch is normally cpu0; a CPU with a latched SMI from an earlier
     * event may lead instead. Either way it must have read the late APs
     * active (claim 1(b)) and waited for every other CPU. */
    cpuset_t others = cs_minus(cs_or(aps, cs_of(0)), cs_of(v.monarch)), read_active = cs_none();
    for (unsigned i = 1; r && i < ncpus; i++)
        if (cs_has(others, i) && r->peer[i] == SYNCH_ACTIVE)
            cs_add(&read_active, i);
    if (!report(done && r && !cs_empty(read_active) && cs_eq(r->waited, others) && cs_empty(r->missing),
                "the monarch (cpu%u) read the late APs {%s} active and waited for them", v.monarch,
                SET_STR(read_active, m1)))
        report_info("waited for {%s}, missing {%s}, read active {%s}", r ? SET_STR(r->waited, m1) : "-",
                    r ? SET_STR(r->missing, m2) : "-", SET_STR(read_active, m3));
    /* The wait must cover the delay the monarch actually saw: it scanned
     * before the last of those APs sent its SMI and closed the door after. */
    uint64_t fired = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(read_active, i) && late_fired[i] > fired)
            fired = late_fired[i];
    if (!report(r && fired && r->tsc_entry < fired && r->tsc_ready >= fired,
                "the logged wait (%lu us) covers the delay until the last peer's SMI (%lu us after the "
                "monarch entered; nominal %u us)", w, r && fired > r->tsc_entry ? us_of(fired - r->tsc_entry) : 0,
                LATE_US))
        report_info("monarch entered at %lu, last late SMI at %lu, door closed at %lu (TSC)",
                    r ? r->tsc_entry : 0, fired, r ? r->tsc_ready : 0);
    if (!report(cs_eq(v.members, cs_or(aps, cs_of(0))) && cs_count(v.ran) == 1 && cs_eq(v.ran, cs_of(v.monarch)),
                "they joined the event; the command ran once, on the monarch")) {
        report_info("members {%s}, ran on {%s}", SET_STR(v.members, m1),
                    SET_STR(v.ran, m2));
        dump_recs(base);
    }
}

static void test_wait(void) { on_every_backend(case_wait); }
TEST("21", "smm.rdv.wait", test_wait, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- case (c): a peer already in SMM takes part, without a pull-in SMI ---- */

/* The hold ends 20 ms after cpu0, monarch of the new event, has read k's
 * byte and has sent the SMIs its policy sends (pullin: after its first wait
 * ran out), bounded by 2 s: so the monarch has chosen not to send k an SMI
 * while k was still in SMM. A fixed 50 ms hold raced with cpu0's way into
 * SMM on a loaded host, and k then opened the event itself; a hold of 20 ms
 * after cpu0's scan raced with cpu0's first wait (make test's host lane
 * beside q35-4: k joined before the pull-in, so a pull-in that sends SMIs
 * to CPUs in SMM went unseen). */
#define HOLD_ARG (2000000 | SMM_HOLD_UNTIL_DECIDED | SMM_HOLD_LINGER(20000))

/* cpu k is held in SMM by a service call (its byte reads "in SMM"); cpu0
 * opens an event with a self SMI. The monarch must read k in SMM, wait for
 * it to join instead of sending it an SMI, and k must take part in the
 * event when the hold ends: one SMM entry, MSR_SMI_COUNT advanced once. */
static void case_in_smm(enum synch_backend b)
{
    (void)b;
    unsigned k = 1;
    char m1[CPUSET_STR], m2[CPUSET_STR], m3[CPUSET_STR];
    cpuset_t parked = park_aps_hlt_but(k);        /* only cpu0 and k are active */
    for (enum rdv_policy p = RDV_PULLIN; p <= RDV_PATENT; p++) {
        uint64_t base[SMMSYNC_MAX_CPUS];
        struct event_view v;
        smm_snapshot(base);
        smm_comm.hold_release = 0;
        uint64_t spins0 = smm_comm.cpu[k].spins;
        uint32_t seq = smm_local_start(k, SMM_LOCAL_HOLD, HOLD_ARG);
        bool held = WAIT_UNTIL(smm_comm.cpu[k].spins != spins0, 1000000);   /* k is in its hold loop */
        struct smm_call c = { .id = SMM_CMD_NOP, .policy = p, .src = SMI_IPI_SELF, .target = 0,
                              .timeout_us = 3000000 };
        bool done = held && smm_call(&c);
        int st = -1;
        uint64_t ended = SMM_HOLD_ENDED_BOUND;
        bool served = smm_local_finish(k, seq, 2000000, &st, &ended);
        settle();                                  /* a stray SMI to k would show up now */
        view(c.seq, base, &v);
        const struct smm_rec *r = v.monarch_rec, *kr = smm_rec(k, base[k] + 1);
        uint64_t entries = smm_entries(k) - base[k];
        const char *pn = pol_name(p);
        report(held && done && served && ended == SMM_HOLD_ENDED_DECIDED,
               "%s: cpu%u held in SMM by a service call while cpu0 opened an event, until cpu0 had sent its "
               "SMIs (hold ended: %s)", pn, k, ended == SMM_HOLD_ENDED_DECIDED ? "after that"
                                               : ended == SMM_HOLD_ENDED_RELEASED ? "released" : "at its 2 s bound");
        if (!report(r && v.monarch == 0 && r->peer[k] == SYNCH_IN_SMM,
                    "%s: the monarch read cpu%u's byte as in SMM (0x%02x)", pn, k, SYNCH_IN_SMM))
            report_info("monarch cpu%d read 0x%02x (%s)", (int)v.monarch, r ? r->peer[k] : 0,
                        r ? synch_name(r->peer[k]) : "no record");
        if (!report(r && !cs_has(r->pulled, k) && cs_has(r->waited, k) && cs_empty(r->missing),
                    "%s: it waited for cpu%u to join and sent it no SMI", pn, k))
            report_info("pulled {%s}, waited {%s}, missing {%s}", r ? SET_STR(r->pulled, m1) : "-",
                        r ? SET_STR(r->waited, m2) : "-", r ? SET_STR(r->missing, m3) : "-");
        if (!report(kr && kr->role == ROLE_MEMBER && kr->cmd_seq == c.seq && cs_has(v.members, k),
                    "%s: cpu%u took part in the event when its hold ended", pn, k)) {
            report_info("cpu%u's entry: role %s, command %u (wanted %u)", k,
                        kr && kr->role < 7 ? role_names[kr->role] : "-", kr ? kr->cmd_seq : 0, c.seq);
            dump_recs(base);
        }
        /* The SMI count read in SMM on a later entry: exactly one more (that entry's own). */
        uint64_t msr = 0;
        bool read = smm_local(k, SMM_LOCAL_READ_MSR, MSR_SMI_COUNT, 1000000, &st, &msr) && st == SMM_OK;
        if (!report(entries == 1 && kr && read && msr == kr->smi_count + 1,
                    "%s: cpu%u entered SMM once, no second SMI (MSR_SMI_COUNT %lu -> %lu)", pn, k,
                    kr ? kr->smi_count : 0, msr))
            report_info("%lu SMM entries on cpu%u during the event", entries, k);
    }
    report(wake_aps(parked), "parked CPUs woke up");
}

static void test_in_smm(void) { on_every_backend(case_in_smm); }
TEST("21", "smm.rdv.in_smm", test_in_smm, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- case (c): broadcast -> every active CPU takes part, the command runs once ---- */

static void check_joint(const char *what, bool done, uint32_t seq, const uint64_t *base, cpuset_t want)
{
    struct event_view v;
    char m1[CPUSET_STR], m2[CPUSET_STR];
    view(seq, base, &v);
    /* CPUs that are not running (never started, parked) may still get a
     * broadcast and take part; every active one must. */
    if (!report(done && cs_subset(want, v.members) && cs_empty(cs_and(cs_minus(v.members, want), usable_set())) &&
                cs_count(v.ran) == 1 && v.monarch_rec,
                "%s: every active CPU took part {%s}, the command ran once", what,
                SET_STR(want, m1))) {
        report_info("%s: done=%d members {%s} ran on {%s}", what, done,
                    SET_STR(v.members, m1), SET_STR(v.ran, m2));
        dump_recs(base);
    }
}

static void case_broadcast(enum synch_backend b)
{
    (void)b;
    cpuset_t want = usable_set();
    uint64_t base[SMMSYNC_MAX_CPUS];
    struct smm_call c;
    bool done = rdv_call(RDV_PATENT, SMI_IPI_ALL, base, &c);
    check_joint("ICR all-including-self", done, c.seq, base, want);
    if (smm.apm_broadcast) {
        done = rdv_call(RDV_PATENT, SMI_APM, base, &c);
        check_joint("APM 0xB2 broadcast", done, c.seq, base, want);
    }
}

static void test_broadcast(void)
{
    char why[120];
    if (platform.q35) {
        bool neg = smm_apm_negotiate_broadcast(why, sizeof(why));
        if (!report(neg, "q35: APM broadcast negotiated through fw_cfg etc/smi"))
            report_info("%s", why);
    }
    on_every_backend(case_broadcast);
}
TEST("30", "smm.rdv.broadcast", test_broadcast, .needs = FEAT_SMM, .timeout_ms = 60000);

/* The TCO timer: a hardware SMI to cpu0; with pullin the others are brought in. */
static void test_tco_joint(void)
{
    uint64_t base[SMMSYNC_MAX_CPUS];
    cpuset_t want = usable_set();
    struct smm_call c;
    rdv_call(RDV_PULLIN, SMI_IPI_SELF, base, &c);     /* sets the policy hardware events use */
    smm_snapshot(base);
    smi_trigger(SMI_TCO, 0);
    WAIT_UNTIL(smm_entries(0) != base[0], 1000000);
    mdelay(50);
    cpuset_t tco_on = cs_none(), members = cs_none();
    for (unsigned i = 0; i < ncpus; i++)
        for (uint64_t e = base[i] + 1; e <= smm_entries(i); e++) {
            const struct smm_rec *r = smm_rec(i, e);
            if (r && (r->flags & REC_HW_TCO))
                cs_add(&tco_on, i);
            if (r && (r->role == ROLE_MONARCH || r->role == ROLE_MEMBER))
                cs_add(&members, i);
        }
    char m1[CPUSET_STR];
    if (!report(cs_eq(tco_on, cs_of(0)) && cs_eq(members, want), "TCO SMI: cpu0 handled the hardware event once, {%s} took part",
                SET_STR(members, m1)))
        dump_recs(base);
}
TEST("31", "smm.rdv.tco", test_tco_joint, .needs = FEAT_SMM | FEAT_Q35);

/* ---- a directed SMI while the others are active ---- */

static void case_directed(enum synch_backend b)
{
    (void)b;
    cpuset_t aps = usable_aps();
    uint64_t base[SMMSYNC_MAX_CPUS];
    struct smm_call c;
    struct event_view v;
    char m1[CPUSET_STR];
    bool done = rdv_call(RDV_PULLIN, SMI_IPI_SELF, base, &c);
    view(c.seq, base, &v);
    const struct smm_rec *r = v.monarch_rec;
    /* The monarch is normally cpu0 (it took the SMI); a CPU with a latched
     * SMI from an earlier event may get there first and lead instead. */
    if (!report(done && r && !cs_empty(r->pulled) && cs_eq(v.members, cs_or(aps, cs_of(0))) && cs_count(v.ran) == 1,
                "pullin: SMI IPIs brought the active CPUs {%s} in; the command ran once",
                SET_STR(aps, m1))) {
        dump_recs(base);
        dump_cpus();
    }
    /* A CPU that never comes is reported missing, within both bounds. */
    uint64_t w1 = r ? us_of(r->wait_tsc) : 0, bound = smm.t_pullin1_us + smm.t_pullin2_us;
    if (!report(r && cs_empty(r->missing) && !(r->flags & REC_TIMEOUT), "pullin: every active CPU came, none missing"))
        report_info("missing {%s} after both waits (waited %lu us, bounds %lu + %lu us)",
                    r ? SET_STR(r->missing, m1) : "-", w1, smm.t_pullin1_us, smm.t_pullin2_us);
    /* Slack for the host: vCPU threads that share 2 host cores are late by
     * hundreds of ms when a CPU spins in SMM (fault-smm-spin), more with
     * more vCPUs (host_scale); a wait that lost its bound would run for the
     * 20 s of that spin. */
    uint64_t slack = 1000000ull * host_scale();
    if (slack < smm.t_pullin2_us)
        slack = smm.t_pullin2_us;
    report(r && w1 <= bound + slack, "pullin: the wait ended within its bounds (%lu us; bounds %lu us, +%lu us for the host)",
           w1, bound, slack);
    uint64_t t0 = rdtsc();
    done = rdv_call(RDV_PATENT, SMI_IPI_SELF, base, &c);
    uint64_t took = us_of(rdtsc() - t0);
    view(c.seq, base, &v);
    r = v.monarch_rec;
    uint64_t w = r ? us_of(r->wait_tsc) : 0;
    report(done && r && (r->flags & REC_PROTO_FAIL) && cs_eq(r->missing, aps),
           "patent: the active CPUs that got no SMI are reported as a protocol failure");
    report(r && w * 10 >= smm.t_patent_us * 9 && took < smm.t_patent_us * 3 + 100000,
           "patent: within its fail-safe bound (%lu us waited, bound %lu us, call took %lu us)", w,
           smm.t_patent_us, took);
}

static void test_directed(void) { on_every_backend(case_directed); }
TEST("22", "smm.rdv.directed", test_directed, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- mixed: some inactive, some active, broadcast ---- */

/* The parked CPUs as the monarch read them: inactive, in SMM, or neither. */
struct parked_reads { cpuset_t inactive, in_smm, other; };

static struct parked_reads read_parked(const struct event_view *v, cpuset_t parked)
{
    struct parked_reads pr = { cs_none(), cs_none(), cs_none() };
    const struct smm_rec *r = v->monarch_rec;
    for (unsigned i = 1; r && i < ncpus; i++)
        if (cs_has(parked, i) && i != v->monarch) {
            if (r->peer[i] == SYNCH_INACTIVE)
                cs_add(&pr.inactive, i);
            else if (r->peer[i] == SYNCH_IN_SMM)
                cs_add(&pr.in_smm, i);
            else
                cs_add(&pr.other, i);
        }
    return pr;
}

/* The parked CPUs that entered SMM for this broadcast and did not take
 * part (late); *bad: those of them with a wrong role, that ran the
 * command or left active. */
static cpuset_t late_parked(const struct event_view *v, cpuset_t parked, const uint64_t *base, cpuset_t *bad)
{
    cpuset_t late = cs_none();
    *bad = cs_none();
    for (unsigned i = 1; i < ncpus; i++) {
        if (!cs_has(parked, i) || cs_has(v->members, i))
            continue;
        for (uint64_t e = base[i] + 1; e <= smm_entries(i); e++) {
            const struct smm_rec *x = smm_rec(i, e);
            if (!x)
                continue;
            cs_add(&late, i);
            if ((x->role != ROLE_LATE && x->role != ROLE_NOWORK && x->role != ROLE_WFS_PARK) ||
                (x->flags & REC_RAN_CMD) || x->self_after != SYNCH_INACTIVE)
                cs_add(bad, i);
        }
    }
    return late;
}

/* Parked CPUs stay inactive in their low-power state after the broadcast. */
static void check_parked_stay(const struct event_view *v, cpuset_t parked)
{
    char m1[CPUSET_STR];
    uint8_t s[SMMSYNC_MAX_CPUS];
    bool read = read_synch(s);
    bool stay = true;
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(parked, i))
            stay &= s[i] == SYNCH_INACTIVE &&
                    (cpus[i].state == CPU_PARKED_HLT || cpus[i].state == CPU_PARKED_INIT);
    report(read && stay, "parked CPUs that still got the broadcast were handled as late arrivals and stay inactive "
           "(wfs-parked {%s})", SET_STR(v->wfs, m1));
}

static void case_mixed(enum synch_backend b)
{
    (void)b;
    cpuset_t aps = usable_aps(), parked = cs_none();
    uint64_t base[SMMSYNC_MAX_CPUS];
    unsigned n = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if (cs_has(aps, i) && (n++ % 2 == 0))
            parked = cs_or(parked, park_aps(cs_of(i), (n % 4) == 3));
    cpuset_t active = cs_or(cs_minus(aps, parked), cs_of(0));
    struct smm_call c;
    struct event_view v;
    char m1[CPUSET_STR], m2[CPUSET_STR], m3[CPUSET_STR];
    bool done = rdv_call(RDV_PATENT, SMI_IPI_ALL, base, &c);
    view(c.seq, base, &v);
    const struct smm_rec *r = v.monarch_rec;
    /* Every parked CPU, as the monarch read it: inactive -> not waited for
     * (claim 1(a)); already "in SMM" because the broadcast woke it first ->
     * waited for and took part (claim 1(c)), unless it went back to its
     * low-power state first; never active. A parked CPU that
     * got the broadcast but did not take part is a late arrival (or, INIT
     * parked under TCG, a wait-for-SIPI park) and ran nothing. */
    struct parked_reads pr = read_parked(&v, parked);
    cpuset_t late_bad, late = late_parked(&v, parked, base, &late_bad);
    cpuset_t wrong_wait = r ? cs_and(r->waited, pr.inactive) : cs_none();
    /* Read in SMM, then gone back to its low-power state (a wait-for-SIPI
     * park, or a late arrival leaving inactive): no longer waited for. */
    cpuset_t absent = cs_minus(cs_minus(pr.in_smm, v.members), cs_minus(late, late_bad));
    if (!report(done && r && cs_empty(wrong_wait) && cs_empty(pr.other) && cs_empty(absent),
                "parked CPUs: those read inactive {%s} were not waited for, those read in SMM {%s} took part or parked again",
                SET_STR(pr.inactive, m1), SET_STR(pr.in_smm, m2))) {
        report_info("waited for inactive {%s}; read neither {%s}; in SMM but absent {%s}",
                    SET_STR(wrong_wait, m1), SET_STR(pr.other, m2),
                    SET_STR(absent, m3));
        dump_recs(base);
    }
    if (!report(done && r && cs_subset(active, v.members) && cs_count(v.ran) == 1 && cs_eq(v.ran, cs_of(v.monarch)),
                "the active CPUs {%s} took part; the command ran once, on the monarch",
                SET_STR(active, m1)))
        report_info("members {%s}, ran on {%s}", SET_STR(v.members, m1), SET_STR(v.ran, m2));
    if (!report(cs_empty(late_bad), "late arrivals {%s}: left without running the command, inactive again",
                SET_STR(late, m1)))
        report_info("wrong role, ran the command or left active: {%s}", SET_STR(late_bad, m1));
    check_parked_stay(&v, parked);
    report(wake_aps(parked), "parked CPUs woke up");
}

static void test_mixed(void) { on_every_backend(case_mixed); }
TEST("23", "smm.rdv.mixed", test_mixed, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- park/wake cycles never leave a stale byte ---- */

static void case_stale(enum synch_backend b)
{
    (void)b;
    unsigned k = 1;
    uint8_t s[SMMSYNC_MAX_CPUS];
    bool ok = true;
    const char *step = "";
    int cycle;
    for (cycle = 0; cycle < 2 && ok; cycle++) {
        bool init = cycle & 1;
        uint64_t base[SMMSYNC_MAX_CPUS];
        struct smm_call c;
        step = "after park";
        ok = cs_eq(park_aps(cs_of(k), init), cs_of(k)) && read_synch(s) && s[k] == SYNCH_INACTIVE;
        if (!ok)
            break;
        step = "after a broadcast SMI while parked";
        ok = rdv_call(RDV_PULLIN, SMI_IPI_ALL, base, &c) && read_synch(s) && s[k] == SYNCH_INACTIVE;
        if (!ok)
            break;
        step = "after wake";
        ok = wake_aps(cs_of(k)) && read_synch(s) && s[k] == SYNCH_ACTIVE;
    }
    if (!report(ok, "HLT and INIT park/wake with SMIs in between: inactive when parked, active when awake")) {
        report_info("cycle %d (%s) %s: cpu%u's byte is %s", cycle, cycle & 1 ? "INIT" : "HLT", step, k,
                    synch_name(s[k]));
        dump_cpus();
    }
}

static void test_stale(void) { on_every_backend(case_stale); }
TEST("24", "smm.rdv.stale", test_stale, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- a corrupted synchbyte is reported, treated as active, not fatal ---- */

static void case_corrupt(enum synch_backend b)
{
    (void)b;
    unsigned k = 1;
    /* cpu k leaves a service call with a raw 0x77: a byte no CPU should ever hold. */
    int st = -1;
    bool wrote = smm_local(k, SMM_LOCAL_SYNCH_RAW, 0x77, 1000000, &st, 0) && st == SMM_OK;
    uint64_t base[SMMSYNC_MAX_CPUS];
    struct smm_call c;
    struct event_view v;
    bool done = rdv_call(RDV_PULLIN, SMI_IPI_SELF, base, &c);
    view(c.seq, base, &v);
    const struct smm_rec *r = v.monarch_rec;
    if (!report(wrote && done && r && (r->flags & REC_BAD_SYNCH) && cs_has(r->bad, k) && r->peer[k] == 0x77,
                "cpu%u's byte 0x77 was reported as unknown", k))
        dump_recs(base);
    if (!report(r && cs_has(r->waited, k) && cs_has(v.members, k),
                "and treated as active: waited for, pulled in, took part"))
        dump_recs(base);
    uint8_t s[SMMSYNC_MAX_CPUS];
    report(read_synch(s) && s[k] == SYNCH_ACTIVE, "cpu%u's byte is active again after it left SMM", k);
}

static void test_corrupt(void) { on_every_backend(case_corrupt); }
TEST("25", "smm.rdv.corrupt", test_corrupt, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);
