/* The synchbyte rendezvous (patent claims 1-19, 31-35, 41-52), on every
 * storage backend. Verdicts come from the records each CPU wrote in SMM:
 * the state it saw for every peer, whom it waited for and how long, whom it
 * pulled in, whether it ran the command. */
#include "kernel/test.h"
#include "kernel/report.h"
#include "lib/printf.h"
#include "lib/kstring.h"
#include "arch/percpu.h"
#include "arch/x86.h"
#include "drivers/timer.h"
#include "drivers/chipset.h"
#include "smp/smp.h"
#include "smm/smm.h"
#include "tests/smm_util.h"

static uint64_t us_of(uint64_t tsc) { return tsc_to_ns(tsc) / 1000; }

/* Everything the CPUs recorded for one command. */
struct event_view {
    uint32_t event;
    uint64_t members, wfs, ran;            /* CPU masks (late arrivals carry no
                                              command number: case_mixed finds them by entry) */
    const struct smm_rec *monarch_rec;
    unsigned monarch;
};

static const char *const role_names[] = { "none", "monarch", "member", "late", "nowork", "service", "wfs-park" };

/* On a failure: what every CPU recorded since 'base'. */
static void dump_recs(const uint64_t *base)
{
    char m1[64], m2[64], m3[64];
    for (unsigned i = 0; i < ncpus; i++)
        for (uint64_t e = base[i] ? base[i] : 1; e <= smm_entries(i); e++) {
            const struct smm_rec *r = smm_rec(i, e);
            if (r)
                report_info("  cpu%u #%u: %s event %u cmd %u/%u flags 0x%x waited {%s} pulled {%s} missing {%s} "
                            "wait %lu us self %s->%s", i, r->seq, r->role < 7 ? role_names[r->role] : "?",
                            r->event, r->cmd_id, r->cmd_seq, r->flags, mask_str(r->waited, m1, sizeof(m1)),
                            mask_str(r->pulled, m2, sizeof(m2)), mask_str(r->missing, m3, sizeof(m3)),
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
                v->wfs |= bit_of(i);
            if (r->cmd_seq != seq)
                continue;
            if (r->role == ROLE_MONARCH) {
                v->monarch_rec = r;
                v->monarch = i;
                v->event = r->event;
            }
            if (r->role == ROLE_MONARCH || r->role == ROLE_MEMBER)
                v->members |= bit_of(i);
            if (r->flags & REC_RAN_CMD)
                v->ran |= bit_of(i);
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

static uint64_t usable_aps(void)
{
    uint64_t m = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if (smm_cpu_ok(i))
            m |= bit_of(i);
    return m;
}

static uint64_t usable_mask(void) { return usable_aps() | 1; }

static uint64_t never_started(void)
{
    uint64_t m = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if (cpus[i].state == CPU_OFFLINE || cpus[i].state == CPU_FAILED)
            m |= bit_of(i);
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

/* ---- case (a): peers inactive -> no wait ---- */

/* First the other state: awake, every AP's byte reads active (claim 13),
 * so "inactive" below is what parking wrote, not a byte never written. */
static void check_awake_active(uint64_t aps)
{
    uint64_t not_active = 0;
    uint8_t s[SMMSYNC_MAX_CPUS];
    bool read = read_synch(s);
    for (unsigned i = 1; i < ncpus; i++)
        if ((aps >> i & 1) && s[i] != SYNCH_ACTIVE)
            not_active |= bit_of(i);
    char m0[64];
    if (!report(read && !not_active, "awake, the APs' bytes read active"))
        report_info("not active: {%s}", mask_str(not_active, m0, sizeof(m0)));
}

/* Claims 2-7: a CPU never started holds the zero default, untouched. */
static void check_zero_default(enum rdv_policy p, const struct smm_rec *r)
{
    char m1[64], m2[64];
    uint64_t nonzero = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if ((never_started() >> i & 1) && r->peer[i] != 0)
            nonzero |= bit_of(i);
    if (never_started() && !report(!nonzero, "%s: never-started CPUs {%s} hold the zero default (0x00 = inactive)",
                                   pol_name(p), mask_str(never_started(), m1, sizeof(m1))))
        report_info("bytes read 0x%02x ... on {%s}", r->peer[__builtin_ctzll(nonzero)], mask_str(nonzero, m2, sizeof(m2)));
}

/* Claim 1(a), from the monarch's own record: no CPU whose byte it read as
 * inactive was waited for, pulled in or reported missing. */
static void check_not_waited(enum rdv_policy p, const struct event_view *v, uint64_t inactive)
{
    char m1[64], m2[64], m3[64], m4[64];
    const struct smm_rec *r = v->monarch_rec;
    uint64_t w = us_of(r->wait_tsc), read_inactive = 0;
    for (unsigned i = 0; i < ncpus; i++)
        if (i != v->monarch && r->peer[i] == SYNCH_INACTIVE)
            read_inactive |= bit_of(i);
    uint64_t bad = (r->waited | r->pulled | r->missing) & read_inactive;
    if (!report(read_inactive == inactive && !bad, "%s: did not wait for the inactive peers {%s}", pol_name(p),
                mask_str(inactive, m1, sizeof(m1))))
        report_info("read inactive {%s}; waited for {%s} although their bytes read inactive (pulled {%s}, "
                    "missing {%s}, waited %lu us)", mask_str(read_inactive, m1, sizeof(m1)),
                    mask_str(r->waited & read_inactive, m2, sizeof(m2)), mask_str(r->pulled, m3, sizeof(m3)),
                    mask_str(r->missing, m4, sizeof(m4)), w);
    else
        report_info("%s: the monarch spent %lu us in its wait", pol_name(p), w);
}

static void case_inactive(enum synch_backend b)
{
    (void)b;
    uint64_t aps = usable_aps(), parked = 0;
    unsigned n = 0;
    check_awake_active(aps);
    for (unsigned i = 1; i < ncpus; i++)
        if (aps >> i & 1)
            parked |= park_aps(bit_of(i), (n++ & 1) != 0);     /* alternate HLT / INIT */
    uint64_t inactive = parked | never_started();
    char m1[64], m2[64];
    for (enum rdv_policy p = RDV_PULLIN; p <= RDV_WAITALL; p = p == RDV_PULLIN ? RDV_PATENT : p + 1) {
        uint64_t base[SMMSYNC_MAX_CPUS];
        struct smm_call c;
        struct event_view v;
        bool done = rdv_call(p, SMI_IPI_SELF, base, &c);
        view(c.seq, base, &v);
        const struct smm_rec *r = v.monarch_rec;
        if (!report(done && r && v.monarch == 0 && r->inactive == inactive,
                    "%s: cpu0 handled the SMI, saw {%s} inactive", pol_name(p), mask_str(inactive, m1, sizeof(m1))))
            report_info("monarch %d, inactive seen {%s}", (int)v.monarch,
                        r ? mask_str(r->inactive, m2, sizeof(m2)) : "-");
        if (!r)
            continue;
        check_zero_default(p, r);
        if (p == RDV_WAITALL) {
            /* The baseline ignores the synchbytes: it waits out its timeout. */
            uint64_t w = us_of(r->wait_tsc);
            report(!inactive || w * 10 >= smm.t_waitall_us * 9,
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

static void late_self_smi(void *arg)
{
    (void)arg;
    uint64_t end = deadline_after_us(2000000);
    WAIT_UNTIL_END(late_go, end);
    /* Start the delay once cpu0 is in SMM, so it scans before we come. */
    WAIT_UNTIL_END(smm_comm.cpu[0].in_smm, end);
    udelay(LATE_US);
    late_fired[cpu_index()] = rdtsc();
    smi_trigger(SMI_IPI_SELF, cpu_index());
}

static void case_wait(enum synch_backend b)
{
    (void)b;
    uint64_t aps = usable_aps(), base[SMMSYNC_MAX_CPUS];
    char m1[64], m2[64];
    late_go = 0;
    for (unsigned i = 1; i < ncpus; i++) {
        late_fired[i] = 0;
        if (aps >> i & 1)
            on_cpu_async(i, late_self_smi, 0);
    }
    smm_snapshot(base);
    struct smm_call c = { .id = SMM_CMD_NOP, .policy = RDV_PATENT, .src = SMI_IPI_SELF,
                          .target = 0, .timeout_us = 3000000 };
    /* Each AP fires its own SMI LATE_US after 'go'; cpu0 enters at once. */
    late_go = 1;
    bool done = smm_call(&c);
    for (unsigned i = 1; i < ncpus; i++)
        if (aps >> i & 1)
            on_cpu_wait(i, 2000000);
    settle();
    struct event_view v;
    view(c.seq, base, &v);
    const struct smm_rec *r = v.monarch_rec;
    uint64_t w = r ? us_of(r->wait_tsc) : 0;
    /* The monarch is normally cpu0; a CPU with a latched SMI from an earlier
     * event may lead instead. Either way it must have read the late APs
     * active (claim 1(b)) and waited for every other CPU. */
    char m3[64];
    uint64_t others = (aps | 1) & ~bit_of(v.monarch), read_active = 0;
    for (unsigned i = 1; r && i < ncpus; i++)
        if ((others >> i & 1) && r->peer[i] == SYNCH_ACTIVE)
            read_active |= bit_of(i);
    if (!report(done && r && read_active && r->waited == others && !r->missing,
                "the monarch (cpu%u) read the late APs {%s} active and waited for them", v.monarch,
                mask_str(read_active, m1, sizeof(m1))))
        report_info("waited for {%s}, missing {%s}, read active {%s}", r ? mask_str(r->waited, m1, sizeof(m1)) : "-",
                    r ? mask_str(r->missing, m2, sizeof(m2)) : "-", mask_str(read_active, m3, sizeof(m3)));
    /* The wait must cover the delay the monarch actually saw: it scanned
     * before the last of those APs sent its SMI and closed the door after. */
    uint64_t fired = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if ((read_active >> i & 1) && late_fired[i] > fired)
            fired = late_fired[i];
    if (!report(r && fired && r->tsc_entry < fired && r->tsc_ready >= fired,
                "the logged wait (%lu us) covers the delay until the last peer's SMI (%lu us after the "
                "monarch entered; nominal %u us)", w, r && fired > r->tsc_entry ? us_of(fired - r->tsc_entry) : 0,
                LATE_US))
        report_info("monarch entered at %lu, last late SMI at %lu, door closed at %lu (TSC)",
                    r ? r->tsc_entry : 0, fired, r ? r->tsc_ready : 0);
    if (!report(v.members == (aps | 1) && popcount64(v.ran) == 1 && v.ran == bit_of(v.monarch),
                "they joined the event; the command ran once, on the monarch")) {
        report_info("members {%s}, ran on {%s}", mask_str(v.members, m1, sizeof(m1)),
                    mask_str(v.ran, m2, sizeof(m2)));
        dump_recs(base);
    }
}

static void test_wait(void) { on_every_backend(case_wait); }
TEST("21", "smm.rdv.wait", test_wait, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- case (c): a peer already in SMM takes part, without a pull-in SMI ---- */

/* The hold ends 20 ms after cpu0, monarch of the new event, has read k's
 * byte (bounded by 2 s): longer than the pull-in's first wait, so the
 * monarch has to wait for k in SMM. A fixed 50 ms hold raced with cpu0's
 * way into SMM on a loaded host, and k then opened the event itself. */
#define HOLD_ARG (2000000 | SMM_HOLD_UNTIL_SCANNED | SMM_HOLD_LINGER(20000))

/* cpu k is held in SMM by a service call (its byte reads "in SMM"); cpu0
 * opens an event with a self SMI. The monarch must read k in SMM, wait for
 * it to join instead of sending it an SMI, and k must take part in the
 * event when the hold ends: one SMM entry, MSR_SMI_COUNT advanced once. */
static void case_in_smm(enum synch_backend b)
{
    (void)b;
    unsigned k = 1;
    char m1[64], m2[64], m3[64];
    uint64_t parked = park_aps_hlt_but(k);        /* only cpu0 and k are active */
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
        bool served = smm_local_finish(k, seq, 2000000, &st, 0);
        settle();                                  /* a stray SMI to k would show up now */
        view(c.seq, base, &v);
        const struct smm_rec *r = v.monarch_rec, *kr = smm_rec(k, base[k] + 1);
        uint64_t entries = smm_entries(k) - base[k];
        const char *pn = pol_name(p);
        report(held && done && served, "%s: cpu%u held in SMM by a service call while cpu0 opened an event", pn, k);
        if (!report(r && v.monarch == 0 && r->peer[k] == SYNCH_IN_SMM,
                    "%s: the monarch read cpu%u's byte as in SMM (0x%02x)", pn, k, SYNCH_IN_SMM))
            report_info("monarch cpu%d read 0x%02x (%s)", (int)v.monarch, r ? r->peer[k] : 0,
                        r ? synch_name(r->peer[k]) : "no record");
        if (!report(r && !(r->pulled & bit_of(k)) && (r->waited & bit_of(k)) && !r->missing,
                    "%s: it waited for cpu%u to join and sent it no SMI", pn, k))
            report_info("pulled {%s}, waited {%s}, missing {%s}", r ? mask_str(r->pulled, m1, sizeof(m1)) : "-",
                        r ? mask_str(r->waited, m2, sizeof(m2)) : "-", r ? mask_str(r->missing, m3, sizeof(m3)) : "-");
        if (!report(kr && kr->role == ROLE_MEMBER && kr->cmd_seq == c.seq && (v.members & bit_of(k)),
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

static void check_joint(const char *what, bool done, uint32_t seq, const uint64_t *base, uint64_t want)
{
    struct event_view v;
    char m1[64], m2[64];
    view(seq, base, &v);
    /* CPUs that are not running (never started, parked) may still get a
     * broadcast and take part; every active one must. */
    if (!report(done && (v.members & want) == want && !(v.members & ~want & usable_mask()) &&
                popcount64(v.ran) == 1 && v.monarch_rec,
                "%s: every active CPU took part {%s}, the command ran once", what,
                mask_str(want, m1, sizeof(m1)))) {
        report_info("%s: done=%d members {%s} ran on {%s}", what, done,
                    mask_str(v.members, m1, sizeof(m1)), mask_str(v.ran, m2, sizeof(m2)));
        dump_recs(base);
    }
}

static void case_broadcast(enum synch_backend b)
{
    (void)b;
    uint64_t want = usable_aps() | 1, base[SMMSYNC_MAX_CPUS];
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
    uint64_t base[SMMSYNC_MAX_CPUS], want = usable_aps() | 1;
    struct smm_call c;
    rdv_call(RDV_PULLIN, SMI_IPI_SELF, base, &c);     /* sets the policy hardware events use */
    smm_snapshot(base);
    smi_trigger(SMI_TCO, 0);
    WAIT_UNTIL(smm_entries(0) != base[0], 1000000);
    mdelay(50);
    uint64_t tco_on = 0, members = 0;
    for (unsigned i = 0; i < ncpus; i++)
        for (uint64_t e = base[i] + 1; e <= smm_entries(i); e++) {
            const struct smm_rec *r = smm_rec(i, e);
            if (r && (r->flags & REC_HW_TCO))
                tco_on |= bit_of(i);
            if (r && (r->role == ROLE_MONARCH || r->role == ROLE_MEMBER))
                members |= bit_of(i);
        }
    char m1[64];
    if (!report(tco_on == 1 && members == want, "TCO SMI: cpu0 handled the hardware event once, {%s} took part",
                mask_str(members, m1, sizeof(m1))))
        dump_recs(base);
}
TEST("31", "smm.rdv.tco", test_tco_joint, .needs = FEAT_SMM | FEAT_Q35);

/* ---- a directed SMI while the others are active ---- */

static void case_directed(enum synch_backend b)
{
    (void)b;
    uint64_t aps = usable_aps(), base[SMMSYNC_MAX_CPUS];
    struct smm_call c;
    struct event_view v;
    char m1[64];
    bool done = rdv_call(RDV_PULLIN, SMI_IPI_SELF, base, &c);
    view(c.seq, base, &v);
    const struct smm_rec *r = v.monarch_rec;
    /* The monarch is normally cpu0 (it took the SMI); a CPU with a latched
     * SMI from an earlier event may get there first and lead instead. */
    if (!report(done && r && r->pulled && v.members == (aps | 1) && popcount64(v.ran) == 1,
                "pullin: SMI IPIs brought the active CPUs {%s} in; the command ran once",
                mask_str(aps, m1, sizeof(m1)))) {
        dump_recs(base);
        dump_cpus();
    }
    /* A CPU that never comes is reported missing, within both bounds. */
    uint64_t w1 = r ? us_of(r->wait_tsc) : 0, bound = smm.t_pullin1_us + smm.t_pullin2_us;
    if (!report(r && !r->missing && !(r->flags & REC_TIMEOUT), "pullin: every active CPU came, none missing"))
        report_info("missing {%s} after both waits (waited %lu us, bounds %lu + %lu us)",
                    r ? mask_str(r->missing, m1, sizeof(m1)) : "-", w1, smm.t_pullin1_us, smm.t_pullin2_us);
    /* Slack for the host: vCPU threads that share 2 host cores are late by
     * hundreds of ms when a CPU spins in SMM (fault-smm-spin); a wait that
     * lost its bound would run for the 20 s of that spin. */
    uint64_t slack = smm.t_pullin2_us > 1000000 ? smm.t_pullin2_us : 1000000;
    report(r && w1 <= bound + slack, "pullin: the wait ended within its bounds (%lu us; bounds %lu us, +%lu us for the host)",
           w1, bound, slack);
    uint64_t t0 = rdtsc();
    done = rdv_call(RDV_PATENT, SMI_IPI_SELF, base, &c);
    uint64_t took = us_of(rdtsc() - t0);
    view(c.seq, base, &v);
    r = v.monarch_rec;
    uint64_t w = r ? us_of(r->wait_tsc) : 0;
    report(done && r && (r->flags & REC_PROTO_FAIL) && r->missing == aps,
           "patent: the active CPUs that got no SMI are reported as a protocol failure");
    report(r && w * 10 >= smm.t_patent_us * 9 && took < smm.t_patent_us * 3 + 100000,
           "patent: within its fail-safe bound (%lu us waited, bound %lu us, call took %lu us)", w,
           smm.t_patent_us, took);
}

static void test_directed(void) { on_every_backend(case_directed); }
TEST("22", "smm.rdv.directed", test_directed, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);

/* ---- mixed: some inactive, some active, broadcast ---- */

/* The parked CPUs as the monarch read them: inactive, in SMM, or neither. */
struct parked_reads { uint64_t inactive, in_smm, other; };

static struct parked_reads read_parked(const struct event_view *v, uint64_t parked)
{
    struct parked_reads pr = { 0, 0, 0 };
    const struct smm_rec *r = v->monarch_rec;
    for (unsigned i = 1; r && i < ncpus; i++)
        if ((parked >> i & 1) && i != v->monarch) {
            if (r->peer[i] == SYNCH_INACTIVE)
                pr.inactive |= bit_of(i);
            else if (r->peer[i] == SYNCH_IN_SMM)
                pr.in_smm |= bit_of(i);
            else
                pr.other |= bit_of(i);
        }
    return pr;
}

/* The parked CPUs that entered SMM for this broadcast and did not take
 * part (late); *bad: those of them with a wrong role, that ran the
 * command or left active. */
static uint64_t late_parked(const struct event_view *v, uint64_t parked, const uint64_t *base, uint64_t *bad)
{
    uint64_t late = 0;
    *bad = 0;
    for (unsigned i = 1; i < ncpus; i++) {
        if (!(parked >> i & 1) || (v->members >> i & 1))
            continue;
        for (uint64_t e = base[i] + 1; e <= smm_entries(i); e++) {
            const struct smm_rec *x = smm_rec(i, e);
            if (!x)
                continue;
            late |= bit_of(i);
            if ((x->role != ROLE_LATE && x->role != ROLE_NOWORK && x->role != ROLE_WFS_PARK) ||
                (x->flags & REC_RAN_CMD) || x->self_after != SYNCH_INACTIVE)
                *bad |= bit_of(i);
        }
    }
    return late;
}

/* Parked CPUs stay inactive in their low-power state after the broadcast. */
static void check_parked_stay(const struct event_view *v, uint64_t parked)
{
    char m1[64];
    uint8_t s[SMMSYNC_MAX_CPUS];
    bool read = read_synch(s);
    bool stay = true;
    for (unsigned i = 1; i < ncpus; i++)
        if (parked >> i & 1)
            stay &= s[i] == SYNCH_INACTIVE &&
                    (cpus[i].state == CPU_PARKED_HLT || cpus[i].state == CPU_PARKED_INIT);
    report(read && stay, "parked CPUs that still got the broadcast were handled as late arrivals and stay inactive "
           "(wfs-parked {%s})", mask_str(v->wfs, m1, sizeof(m1)));
}

static void case_mixed(enum synch_backend b)
{
    (void)b;
    uint64_t aps = usable_aps(), parked = 0, base[SMMSYNC_MAX_CPUS];
    unsigned n = 0;
    for (unsigned i = 1; i < ncpus; i++)
        if ((aps >> i & 1) && (n++ % 2 == 0))
            parked |= park_aps(bit_of(i), (n % 4) == 3);
    uint64_t active = (aps & ~parked) | 1;
    struct smm_call c;
    struct event_view v;
    char m1[64], m2[64], m3[64];
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
    uint64_t late_bad, late = late_parked(&v, parked, base, &late_bad);
    uint64_t wrong_wait = r ? r->waited & pr.inactive : 0;
    /* Read in SMM, then gone back to its low-power state (a wait-for-SIPI
     * park, or a late arrival leaving inactive): no longer waited for. */
    uint64_t absent = pr.in_smm & ~v.members & ~(late & ~late_bad);
    if (!report(done && r && !wrong_wait && !pr.other && !absent,
                "parked CPUs: those read inactive {%s} were not waited for, those read in SMM {%s} took part or parked again",
                mask_str(pr.inactive, m1, sizeof(m1)), mask_str(pr.in_smm, m2, sizeof(m2)))) {
        report_info("waited for inactive {%s}; read neither {%s}; in SMM but absent {%s}",
                    mask_str(wrong_wait, m1, sizeof(m1)), mask_str(pr.other, m2, sizeof(m2)),
                    mask_str(absent, m3, sizeof(m3)));
        dump_recs(base);
    }
    if (!report(done && r && (v.members & active) == active && popcount64(v.ran) == 1 && v.ran == bit_of(v.monarch),
                "the active CPUs {%s} took part; the command ran once, on the monarch",
                mask_str(active, m1, sizeof(m1))))
        report_info("members {%s}, ran on {%s}", mask_str(v.members, m1, sizeof(m1)), mask_str(v.ran, m2, sizeof(m2)));
    if (!report(!late_bad, "late arrivals {%s}: left without running the command, inactive again",
                mask_str(late, m1, sizeof(m1))))
        report_info("wrong role, ran the command or left active: {%s}", mask_str(late_bad, m1, sizeof(m1)));
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
        ok = park_aps(bit_of(k), init) == bit_of(k) && read_synch(s) && s[k] == SYNCH_INACTIVE;
        if (!ok)
            break;
        step = "after a broadcast SMI while parked";
        ok = rdv_call(RDV_PULLIN, SMI_IPI_ALL, base, &c) && read_synch(s) && s[k] == SYNCH_INACTIVE;
        if (!ok)
            break;
        step = "after wake";
        ok = wake_aps(bit_of(k)) && read_synch(s) && s[k] == SYNCH_ACTIVE;
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
    if (!report(wrote && done && r && (r->flags & REC_BAD_SYNCH) && (r->bad & bit_of(k)) && r->peer[k] == 0x77,
                "cpu%u's byte 0x77 was reported as unknown", k))
        dump_recs(base);
    if (!report(r && (r->waited & bit_of(k)) && (v.members & bit_of(k)),
                "and treated as active: waited for, pulled in, took part"))
        dump_recs(base);
    uint8_t s[SMMSYNC_MAX_CPUS];
    report(read_synch(s) && s[k] == SYNCH_ACTIVE, "cpu%u's byte is active again after it left SMM", k);
}

static void test_corrupt(void) { on_every_backend(case_corrupt); }
TEST("25", "smm.rdv.corrupt", test_corrupt, .needs = FEAT_SMM, .min_cpus = 2, .timeout_ms = 60000);
