/* The synchbyte rendezvous itself (smm/image/rendezvous.c, unchanged) on
 * the host: threads as CPUs, SMIs as flags they poll, under
 * ThreadSanitizer. The Promela model (docs/model) checks the protocol's
 * design on 2-3 CPUs; this checks the C code that runs in SMM, with its
 * real atomics and its real bounded waits, over a million events.
 *
 *   build/host/test_rendezvous [-e EVENTS] [-c CPUS] [-s SEED] [-t SECONDS]
 *   (or RDV_EVENTS=, RDV_SEED=; default 1000000 events, 4 CPUs, seed = time)
 *
 * Every thread plays one CPU. Outside SMM it is its own OS: it submits a
 * command (one in flight, as smm_call does; patent commands are always
 * broadcast), parks and wakes itself (an SMM service call that leaves SMM
 * inactive, then active: claims 11-14; HLT-parked it still takes SMIs,
 * INIT-parked it is deaf to them until its wake), raises the TCO status (a hardware
 * SMI cause without a command) or sends a stray SMI. An SMI sent to a CPU
 * sets its flag; the CPU takes it at its next step, also while parked
 * (an SMI wakes a halted CPU), and one that arrives while it is in SMM is
 * latched until it leaves. Random delays and yields inside the port
 * (synchbyte reads, the wait step) come from the printed seed.
 *
 * The port (smm/image/rdv_port.h) is implemented here: the three backends
 * are host memory with the backends' shapes (mem and smram: a byte per CPU
 * at the stride; cmos: one index/data pair behind a lock, slow); their
 * SMM-side code (smm/image/synch_smm.c) is the QEMU tests' business.
 *
 * Checked on every SMM entry, from the record the rendezvous wrote (the
 * same struct smm_rec the kernel reads in QEMU), failing at the first
 * violation with the seed, the event and the record:
 *   once      the command runs once per event and once per sequence
 *             number; exactly one monarch per event; no member, late
 *             arrival or idle CPU runs it
 *   inactive  a peer the monarch read inactive is neither waited for,
 *             pulled in nor missing (pullin, patent)
 *   active    a peer it read active is waited for, or has joined (pullin, patent)
 *   in-smm    a peer it read in SMM joined the event (or is reported missing)
 *   bounded   every wait ended within its bound (+ a scheduling slack);
 *             nobody missing under patent or pullin, no member or late
 *             arrival timed out
 *   work      every submitted command ran, every TCO status was consumed
 *             once; the run never stalls (a watchdog reports the state)
 * for every policy (per command) and every backend (one segment each). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "smm/image/rdv_port.h"
#include "smm/synch.h"
#include "lib/units.h"

static const char *const backend_name[SYNCH_BACKEND_COUNT] = { "mem", "smram", "cmos" };

#define MAXC 16
#define STRIDE 0x40
/* Scheduling slack on top of every bound: a thread can lose its host core
 * for a long time (2 host cores shared with whatever else runs), and a
 * wait that ends late for that reason is not the code's fault. A wait
 * without a bound still shows: it never ends (the watchdog) or ends far
 * beyond this. */
#define SLACK_US 5000000

struct smm_config smm_config;
static struct smm_comm *cm;

static unsigned ncpus = 4;
static uint64_t seed;

/* ---------------------------------------------------------------- randomness */

static __thread uint64_t rng;

static uint64_t rnd(void)                  /* xorshift64* */
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}
static unsigned rnd_below(unsigned n) { return (unsigned)(rnd() >> 33) % n; }
static bool one_in(unsigned n) { return rnd_below(n) == 0; }

static void spin(unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        __builtin_ia32_pause();
}

/* A random hiccup: most steps nothing, some a short spin, a few a yield. */
static void jitter(void)
{
    unsigned r = rnd_below(64);
    if (r == 0)
        sched_yield();
    else if (r < 4)
        spin(rnd_below(400));
}

/* ---------------------------------------------------------------- the port */

static uint8_t mem_bytes[MAXC * STRIDE], smram_bytes[MAXC * STRIDE];
static struct { struct spinlock lock; uint8_t index; uint8_t nvram[128]; } cmos = { SPINLOCK_INIT, 0, {0} };
#define CMOS_BASE 0x40

static uint8_t *slot(unsigned cpu)
{
    return smm_config.backend == SYNCH_SMRAM ? &smram_bytes[cpu * STRIDE] : &mem_bytes[cpu * STRIDE];
}

/* The cmos backend: the index/data pair is one shared register pair. */
static uint8_t cmos_access(unsigned cpu, int put)
{
    spin_lock(&cmos.lock);
    __atomic_store_n(&cmos.index, (uint8_t)(CMOS_BASE + cpu), __ATOMIC_RELAXED);
    spin(20);                              /* an I/O port is slow */
    uint8_t idx = __atomic_load_n(&cmos.index, __ATOMIC_RELAXED);
    if (put >= 0)
        __atomic_store_n(&cmos.nvram[idx], (uint8_t)put, __ATOMIC_RELAXED);
    uint8_t v = __atomic_load_n(&cmos.nvram[idx], __ATOMIC_RELAXED);
    spin_unlock(&cmos.lock);
    return v;
}

uint8_t synch_get(unsigned cpu)
{
    jitter();
    if (smm_config.backend == SYNCH_CMOS)
        return cmos_access(cpu, -1);
    return __atomic_load_n(slot(cpu), __ATOMIC_ACQUIRE);
}

static uint64_t inactive_writes;           /* bytes turned inactive: arrivals that send no wake */

void synch_put(unsigned cpu, uint8_t v)
{
    if (v == SYNCH_INACTIVE)
        __atomic_add_fetch(&inactive_writes, 1, __ATOMIC_SEQ_CST);
    if (smm_config.backend == SYNCH_CMOS)
        cmos_access(cpu, v);
    else
        __atomic_store_n(slot(cpu), v, __ATOMIC_RELEASE);
}

/* The entry stub's read-and-write of its own byte (claim 14). Only the
 * CPU itself writes its byte, so a load and a store are enough. */
static uint8_t synch_enter(unsigned cpu)
{
    uint8_t before = synch_get(cpu);
    synch_put(cpu, SYNCH_IN_SMM);
    return before;
}

static uint32_t smi[MAXC];                /* a pending SMI: latched, merged */
static uint64_t smis_sent;

void smm_send_smi(unsigned cpu)
{
    __atomic_store_n(&smi[cpu], 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&smis_sent, 1, __ATOMIC_RELAXED);
}

/* The clock is the TSC, except while wait_unit() drives a fake one. */
static uint64_t fake_clock;
static bool use_fake_clock;

uint64_t smm_clock(void) { return use_fake_clock ? fake_clock : __builtin_ia32_rdtsc(); }

uint64_t smm_us_to_tsc(uint64_t us) { return ticks_of_us(us, smm_config.tsc_hz); }

/* ---- smm_wait=hlt on threads: a wake is a pending flag (the IRR), a halt
 * waits for it. Here a halt has no timer of its own below the wait's
 * bound: a lost wake then shows as a member's timeout (check_record), or
 * as a monarch's halt that ended at its bound although what it waited for
 * was done, no byte turned inactive meanwhile (the one arrival that sends
 * no wake) and no wake came within the scheduling slack (lost_monarch_wake:
 * the last arrival may lose its host core between joining and sending the
 * wake, as long as any other thread may; make test TEST_LANES=parallel
 * runs this test beside QEMU at the idle priority, tools/test.sh). */
static uint32_t wake_pending[CPUSET_MAX];
static uint64_t halts_total, wakes_total;
static __thread unsigned tls_me;

bool smm_halt_possible(void) { return one_in(2); }    /* half the waits halt */

void smm_wake(unsigned cpu)
{
    __atomic_store_n(&wake_pending[cpu], 1, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&wakes_total, 1, __ATOMIC_RELAXED);
}

static void __attribute__((noreturn, format(printf, 3, 4)))
fail(unsigned cpu, const struct smm_rec *r, const char *fmt, ...);
static double now_s(void);

static void lost_monarch_wake(bool (*done)(void *ctx), void *ctx, uint64_t parks, struct smm_rec *r)
{
    if (!done(ctx) || __atomic_load_n(&inactive_writes, __ATOMIC_SEQ_CST) != parks)
        return;
    for (double t0 = now_s(); now_s() - t0 < SLACK_US / 1e6;)
        if (__atomic_load_n(&wake_pending[tls_me], __ATOMIC_SEQ_CST))
            return;                        /* a wake in flight: it raced the bound */
        else
            sched_yield();
    fail(tls_me, r, "wake: the monarch's halt ended at its bound with every CPU it waited for joined, "
         "and none woke it (a lost wake)");
}

bool smm_wait_halting(bool (*done)(void *ctx), void *ctx, uint64_t end, struct smm_rec *r)
{
    for (;;) {
        uint64_t parks = __atomic_load_n(&inactive_writes, __ATOMIC_SEQ_CST);
        if (done(ctx))
            return true;
        if (smm_clock() >= end)
            return done(ctx);
        r->halts++;
        __atomic_add_fetch(&halts_total, 1, __ATOMIC_RELAXED);
        bool woken;
        while (!(woken = __atomic_exchange_n(&wake_pending[tls_me], 0, __ATOMIC_SEQ_CST)) && smm_clock() < end)
            sched_yield();                 /* halted: only a wake (or the bound) ends it */
        if (!woken && r->role == ROLE_MONARCH)
            lost_monarch_wake(done, ctx, parks, r);
    }
}

void smm_halt_drain(void) { __atomic_store_n(&wake_pending[tls_me], 0, __ATOMIC_SEQ_CST); }

void smm_relax(void)
{
    if (use_fake_clock) {
        fake_clock++;                      /* one step of the fake clock per wait step */
        return;
    }
    if (one_in(4))
        sched_yield();
    else
        __builtin_ia32_pause();
}

static uint32_t tco_sts;
static uint64_t tco_raised, tco_consumed;

uint32_t tco_status(void) { return __atomic_load_n(&tco_sts, __ATOMIC_ACQUIRE); }

uint32_t tco_pending_clear(void)
{
    uint32_t s = __atomic_exchange_n(&tco_sts, 0, __ATOMIC_ACQ_REL);
    if (s)
        __atomic_add_fetch(&tco_consumed, 1, __ATOMIC_RELAXED);
    return s;
}

/* ---------------------------------------------------------------- failure */

static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void dump_rec(const struct smm_rec *r)
{
    printf("#   record: event %u role %u policy %u cmd_seq %u flags 0x%x wait %" PRIu64 " us\n",
            r->event, r->role, r->policy, r->cmd_seq, r->flags,
            smm_config.tsc_hz ? r->wait_tsc * 1000000 / smm_config.tsc_hz : 0);
    char w[CPUSET_STR], pu[CPUSET_STR], m[CPUSET_STR], j[CPUSET_STR], in[CPUSET_STR];
    printf("#   waited {%s} pulled {%s} missing {%s} joined {%s} inactive {%s} peers",
           cs_format(r->waited, w, sizeof(w)), cs_format(r->pulled, pu, sizeof(pu)),
           cs_format(r->missing, m, sizeof(m)), cs_format(r->joined, j, sizeof(j)),
           cs_format(r->inactive, in, sizeof(in)));
    for (unsigned p = 0; p < ncpus; p++)
        printf(" %02x", r->peer[p]);
    printf("\n");
}

/* The first violation ends the run: "not ok" with the invariant's name and
 * the reason, then the seed and the record as diagnostics. */
static void __attribute__((noreturn, format(printf, 3, 4)))
fail(unsigned cpu, const struct smm_rec *r, const char *fmt, ...)
{
    pthread_mutex_lock(&fail_lock);
    va_list ap;
    va_start(ap, fmt);
    printf("not ok 2 - rendezvous: cpu%u: ", cpu);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n# seed %" PRIu64 ", %u CPUs, backend %s (rerun: build/host/test_rendezvous -s %" PRIu64 " -c %u)\n",
           seed, ncpus, backend_name[smm_config.backend], seed, ncpus);
    if (r)
        dump_rec(r);
    fflush(stdout);
    _exit(1);
}

/* ---------------------------------------------------------------- the command body */

#define MAXSEQ (1u << 22)
static uint8_t runs[MAXSEQ];              /* per sequence number */
static uint8_t monarchs[MAXSEQ];          /* per event number */
static uint32_t running;                  /* CPUs inside a command body */

int smm_run_command(unsigned cpu, const struct smm_cmd *c, volatile uint64_t *result)
{
    if (__atomic_add_fetch(&running, 1, __ATOMIC_ACQ_REL) != 1)
        fail(cpu, NULL, "once: two CPUs run a command body at once (seq %u)", c->seq);
    if (c->seq == 0 || c->seq >= MAXSEQ || __atomic_add_fetch(&runs[c->seq], 1, __ATOMIC_RELAXED) != 1)
        fail(cpu, NULL, "once: command %u ran more than once", c->seq);
    result[0] = cpu;
    jitter();
    __atomic_sub_fetch(&running, 1, __ATOMIC_ACQ_REL);
    return SMM_OK;
}

/* ---------------------------------------------------------------- the checks */

static uint64_t bound_us(unsigned policy)
{
    const struct smm_config *c = &smm_config;
    uint64_t t = policy == RDV_WAITALL ? c->t_waitall
               : policy == RDV_PATENT  ? c->t_patent_failsafe
               : c->t_pullin1 + c->t_pullin2;
    return t * 1000000 / c->tsc_hz;
}

static void check_monarch(unsigned me, const struct smm_rec *r)
{
    if (__atomic_add_fetch(&monarchs[r->event % MAXSEQ], 1, __ATOMIC_RELAXED) != 1)
        fail(me, r, "once: event %u has a second monarch", r->event);
    uint64_t wait_us = r->wait_tsc * 1000000 / smm_config.tsc_hz;
    if (wait_us > bound_us(r->policy) + SLACK_US)
        fail(me, r, "bounded: the monarch waited %" PRIu64 " us, bound %" PRIu64 " us", wait_us, bound_us(r->policy));
    if (r->policy == RDV_WAITALL)
        return;                            /* the baseline ignores the bytes */
    if (!cs_empty(r->missing))
        fail(me, r, "bounded: peers (first cpu%d) never came (%s)", cs_first(r->missing),
             r->policy == RDV_PATENT ? "patent" : "pullin");
    for (unsigned p = 0; p < ncpus; p++) {
        if (p == me)
            continue;
        bool waited = cs_has(r->waited, p), joined = cs_has(r->joined, p);
        if (r->peer[p] == SYNCH_INACTIVE && (waited || cs_has(r->pulled, p) || cs_has(r->missing, p)))
            fail(me, r, "inactive: cpu%u read inactive but was waited for or pulled in", p);
        /* (It may have joined between the read and the look at 'joined'.) */
        if (r->peer[p] == SYNCH_ACTIVE && !waited && !joined)
            fail(me, r, "active: cpu%u read active but was not waited for", p);
        if (r->peer[p] == SYNCH_IN_SMM && !joined)
            fail(me, r, "in-smm: cpu%u read in SMM but did not take part", p);
    }
}

static uint64_t roles[8];

/* What the run exercised, per backend segment: a check that never meets
 * its case proves nothing, so each case must have happened. */
enum { COV_PULLIN, COV_PATENT, COV_WAITALL, COV_PULLED, COV_INACTIVE, COV_IN_SMM, COV_LATE,
       COV_TCO, COV_DEAF, COV_TIMEOUT, COV_HALT, COV_MHALT, COV_MWAKE, COV_N };
static const char *const cov_name[COV_N] = {
    "pullin events", "patent events", "waitall events", "pulled-in peers",
    "peers read inactive", "peers read in SMM", "late arrivals", "TCO events",
    "INIT parks", "waitall timeouts", "halted members", "halted monarchs",
    "monarchs woken by the last arrival",
};
static uint64_t cov[COV_N];

static void count(unsigned what) { __atomic_add_fetch(&cov[what], 1, __ATOMIC_RELAXED); }

static void cover(unsigned me, const struct smm_rec *r)
{
    if (r->role == ROLE_LATE)
        count(COV_LATE);
    if (r->halts)
        count(r->role == ROLE_MONARCH ? COV_MHALT : COV_HALT);
    if (r->flags & REC_WOKE_MONARCH)
        count(COV_MWAKE);
    if (r->role != ROLE_MONARCH)
        return;
    count(COV_PULLIN + (r->policy < RDV_POLICY_COUNT ? r->policy : 0));
    if (!cs_empty(r->pulled))
        count(COV_PULLED);
    if (r->flags & REC_HW_TCO)
        count(COV_TCO);
    if (r->policy == RDV_WAITALL && (r->flags & REC_TIMEOUT))
        count(COV_TIMEOUT);
    for (unsigned p = 0; p < ncpus; p++) {
        if (p != me && r->peer[p] == SYNCH_INACTIVE)
            count(COV_INACTIVE);
        if (p != me && r->peer[p] == SYNCH_IN_SMM)
            count(COV_IN_SMM);
    }
}

static void check_record(unsigned me, const struct smm_rec *r)
{
    __atomic_add_fetch(&roles[r->role & 7], 1, __ATOMIC_RELAXED);
    cover(me, r);
    if (r->flags & REC_BAD_SYNCH)
        fail(me, r, "bytes: read a synchbyte that is none of the three values");
    if (r->role == ROLE_MONARCH) {
        check_monarch(me, r);
        if (!(r->flags & (REC_RAN_CMD | REC_HW_TCO)))
            fail(me, r, "once: event %u was opened with no work to do", r->event);
        return;
    }
    if (r->flags & REC_RAN_CMD)
        fail(me, r, "once: a CPU in role %u ran command %u", r->role, r->cmd_seq);
    if (r->role == ROLE_MEMBER && r->cmd_seq && !__atomic_load_n(&runs[r->cmd_seq], __ATOMIC_ACQUIRE))
        fail(me, r, "once: a member left event %u before its command %u ran", r->event, r->cmd_seq);
    if (r->flags & REC_TIMEOUT)
        fail(me, r, "bounded: a %s timed out waiting for the event to end",
             r->role == ROLE_MEMBER ? "member" : "late arrival");
}

/* One SMM entry, as smm_entry does it: the synchbyte first (claim 14), a
 * parked CPU leaves inactive (claim 12), everyone else active (claim 13);
 * a service call's requested byte overrides. */
static void smm_entry(unsigned me, int service_byte)
{
    struct smm_rec r;
    memset(&r, 0, sizeof(r));
    uint8_t before = synch_enter(me);
    if (!synch_valid(before))
        fail(me, NULL, "bytes: entered with byte 0x%02x", before);
    if (before == SYNCH_IN_SMM)
        fail(me, NULL, "bytes: entered SMM with its byte already in SMM");
    uint8_t exit_val = before == SYNCH_INACTIVE ? SYNCH_INACTIVE : SYNCH_ACTIVE;
    if (service_byte >= 0)
        exit_val = (uint8_t)service_byte;
    rendezvous(me, &r, exit_val);
    check_record(me, &r);
    /* The OS must never see SMM's wake vector: none pending on the way out. */
    if (__atomic_load_n(&wake_pending[me], __ATOMIC_SEQ_CST))
        fail(me, &r, "wake: a wake IPI is still pending as the CPU leaves SMM (%s)",
             r.halts ? "it halted" : "it never halted");
    uint8_t after = synch_get(me);
    if (after != exit_val)
        fail(me, &r, "bytes: left SMM with byte 0x%02x, not 0x%02x", after, exit_val);
}

/* ---------------------------------------------------------------- the OS side */

static uint32_t inflight;                 /* submitter + 1, or 0 */
static uint32_t next_seq;
static uint64_t submitted;
static int stop;

struct cpu_state {
    bool parked;
    unsigned park_steps;
    uint32_t my_seq;
    uint64_t since;
    bool counted_idle;
};

/* smm_call's publication order: withdraw, rewrite, publish (seq last). */
static void submit(unsigned me, struct cpu_state *s)
{
    if (__atomic_load_n(&inflight, __ATOMIC_ACQUIRE) ||
        !__atomic_compare_exchange_n(&inflight, &(uint32_t){0}, me + 1, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    volatile struct smm_cmd *c = &cm->cmd;
    uint32_t seq = __atomic_add_fetch(&next_seq, 1, __ATOMIC_RELAXED);
    if (seq >= MAXSEQ)
        fail(me, NULL, "work: more commands than the test can count");
    uint32_t policy = rnd_below(RDV_POLICY_COUNT);
    bool bcast = policy == RDV_PATENT || one_in(2);
    /* Release stores: a reader that sees a new field also sees seq = 0. */
    __atomic_store_n(&c->seq, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->id, SMM_CMD_NOP, __ATOMIC_RELEASE);
    __atomic_store_n(&c->policy, policy, __ATOMIC_RELEASE);
    __atomic_store_n(&c->flags, CMDF_SUBMITTER(me) | (bcast ? CMDF_BROADCAST : 0), __ATOMIC_RELEASE);
    for (unsigned i = 0; i < 4; i++)
        __atomic_store_n(&c->arg[i], (uint64_t)seq * (i + 1), __ATOMIC_RELEASE);
    __atomic_store_n(&c->seq, seq, __ATOMIC_RELEASE);
    __atomic_add_fetch(&submitted, 1, __ATOMIC_RELAXED);
    s->my_seq = seq;
    s->since = smm_clock();
    for (unsigned p = 0; p < ncpus; p++)
        if (bcast || p == me)
            smm_send_smi(p);
}

/* The submitter waits for its command outside SMM, taking SMIs meanwhile. */
static void check_done(unsigned me, struct cpu_state *s)
{
    if (!s->my_seq)
        return;
    if (__atomic_load_n(&cm->done_seq, __ATOMIC_ACQUIRE) == s->my_seq) {
        s->my_seq = 0;
        __atomic_store_n(&inflight, 0, __ATOMIC_RELEASE);
        return;
    }
    uint64_t bound = smm_config.t_patent_failsafe + smm_config.t_pullin1 + smm_config.t_pullin2 +
                     smm_config.t_waitall + smm_us_to_tsc(2 * SLACK_US);
    if (smm_clock() - s->since > bound)
        fail(me, NULL, "work: command %u never ran (done_seq %u)", s->my_seq, cm->done_seq);
}

/* After the stop: no new work; the CPU serves SMIs until the machine is
 * quiescent (every CPU idle, none in SMM, no SMI pending), so no event can
 * start waiting for a CPU that has already gone. */
static uint32_t idle_cpus, in_smm, exited;

static bool quiescent(void)
{
    if (__atomic_load_n(&idle_cpus, __ATOMIC_ACQUIRE) != ncpus ||
        __atomic_load_n(&in_smm, __ATOMIC_ACQUIRE) != 0)
        return false;
    for (unsigned p = 0; p < ncpus; p++)
        if (__atomic_load_n(&smi[p], __ATOMIC_ACQUIRE))
            return false;
    return true;
}

static void os_work(unsigned me, struct cpu_state *s)
{
    unsigned r = rnd_below(100);
    if (r < 30) {
        submit(me, s);
    } else if (r < 31 && !s->my_seq) {     /* HLT park: leave SMM inactive */
        smm_entry(me, SYNCH_INACTIVE);
        s->parked = true;
        s->park_steps = 1 + rnd_below(100);
    } else if (r < 32 && !s->my_seq && one_in(4)) {
        /* INIT park: inactive, and deaf: an SMI stays pending until the
         * wake (wait-for-SIPI), so a wait for this CPU can only time out. */
        smm_entry(me, SYNCH_INACTIVE);
        usleep(500 + rnd_below(2000));
        smm_entry(me, SYNCH_ACTIVE);
        count(COV_DEAF);
    } else if (r < 35) {
        uint32_t zero = 0;
        if (__atomic_compare_exchange_n(&tco_sts, &zero, 8, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            __atomic_add_fetch(&tco_raised, 1, __ATOMIC_RELAXED);
            smm_send_smi(rnd_below(ncpus));
        }
    } else if (r < 37) {
        smm_send_smi(rnd_below(ncpus));    /* a stray SMI */
    } else {
        jitter();
    }
}

/* One step outside SMM; returns false when this CPU may stop. */
static bool os_step(unsigned me, struct cpu_state *s, bool stopping)
{
    check_done(me, s);
    if (s->parked) {
        if (--s->park_steps == 0) {        /* the wake: leave SMM active */
            smm_entry(me, SYNCH_ACTIVE);
            s->parked = false;
        }
        sched_yield();                     /* a halted CPU does nothing */
        return true;
    }
    if (!stopping) {
        os_work(me, s);
        return true;
    }
    if (s->my_seq) {
        sched_yield();
        return true;
    }
    if (!s->counted_idle) {
        s->counted_idle = true;
        __atomic_add_fetch(&idle_cpus, 1, __ATOMIC_ACQ_REL);
    }
    sched_yield();
    return !quiescent();
}

static void *cpu_thread(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    struct cpu_state s = { 0 };
    tls_me = me;
    rng = seed * 0x9E3779B97F4A7C15ull + me + 1;
    if (!rng)
        rng = 1;
    for (;;) {
        if (__atomic_exchange_n(&smi[me], 0, __ATOMIC_ACQ_REL)) {
            __atomic_add_fetch(&in_smm, 1, __ATOMIC_ACQ_REL);
            smm_entry(me, -1);
            __atomic_sub_fetch(&in_smm, 1, __ATOMIC_ACQ_REL);
        } else if (!os_step(me, &s, __atomic_load_n(&stop, __ATOMIC_ACQUIRE))) {
            __atomic_add_fetch(&exited, 1, __ATOMIC_ACQ_REL);
            return NULL;
        }
    }
}

/* ---------------------------------------------------------------- the run */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t calibrate_tsc(void)
{
    double t0 = now_s();
    uint64_t c0 = smm_clock();
    while (now_s() - t0 < 0.02)
        ;
    return (uint64_t)((smm_clock() - c0) / (now_s() - t0));
}

static void configure(enum synch_backend b)
{
    memset(cm, 0, sizeof(*cm));
    memset(mem_bytes, 0, sizeof(mem_bytes));
    memset(smram_bytes, 0, sizeof(smram_bytes));
    memset(cmos.nvram, 0, sizeof(cmos.nvram));
    memset(runs, 0, sizeof(runs));
    memset(monarchs, 0, sizeof(monarchs));
    memset(smi, 0, sizeof(smi));
    memset(wake_pending, 0, sizeof(wake_pending));
    inflight = next_seq = idle_cpus = in_smm = exited = 0;
    memset(cov, 0, sizeof(cov));
    tco_sts = 0;
    stop = 0;
    smm_config.ncpus = ncpus;
    smm_config.comm_phys = (uint64_t)(uintptr_t)cm;
    smm_config.backend = b;
    /* Short where the policy is meant to time out (the pull-in's first
     * wait, waitall), long where a timeout is a failure. */
    smm_config.t_patent_failsafe = smm_us_to_tsc(3000000);
    smm_config.t_pullin1 = smm_us_to_tsc(50);
    smm_config.t_pullin2 = smm_us_to_tsc(2000000);
    smm_config.t_waitall = smm_us_to_tsc(200);
    smm_config.t_member = smm_us_to_tsc(1000000);
    rendezvous_reset();
}

static void final_checks(void)
{
    for (uint32_t q = 1; q <= next_seq; q++)
        if (runs[q] != 1)
            fail(0, NULL, "once: command %u ran %u times", q, runs[q]);
    if (tco_status())
        fail(0, NULL, "work: a TCO status was left pending with every CPU idle");
    if (tco_raised != tco_consumed)
        fail(0, NULL, "work: TCO raised %" PRIu64 " times, consumed %" PRIu64, tco_raised, tco_consumed);
    if (cm->events < 3000)
        return;                            /* too short a run to expect every case */
    for (unsigned i = 0; i < COV_N; i++)
        if (!cov[i])
            fail(0, NULL, "coverage: no %s in %u events", cov_name[i], cm->events);
}

/* Watches the run: fails if neither an event nor a thread's exit happens
 * for 30 s (a wait without a bound, a lost SMI, a lost wake). */
static void watch(uint32_t events)
{
    uint64_t last = 0;
    double progress = now_s();
    for (;;) {
        usleep(20000);
        uint32_t ev = __atomic_load_n(&cm->events, __ATOMIC_ACQUIRE);
        uint32_t gone = __atomic_load_n(&exited, __ATOMIC_ACQUIRE);
        if (ev >= events)
            __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
        if (gone == ncpus)
            return;
        uint64_t now = (uint64_t)ev << 8 | gone;
        if (now != last) {
            last = now;
            progress = now_s();
        } else if (now_s() - progress > 30) {
            fail(0, NULL, "bounded: nothing happened for 30 s (%u events, %u CPUs stopped, done_seq %u, next_seq %u)",
                 ev, gone, cm->done_seq, next_seq);
        }
    }
}

/* Runs one backend until 'events' events; returns how many. */
static uint32_t run_segment(enum synch_backend b, uint32_t events)
{
    configure(b);
    double t0 = now_s();
    pthread_t t[MAXC];
    for (unsigned i = 0; i < ncpus; i++)
        pthread_create(&t[i], NULL, cpu_thread, (void *)(uintptr_t)i);
    watch(events);
    for (unsigned i = 0; i < ncpus; i++)
        pthread_join(t[i], NULL);
    final_checks();
    uint32_t ev = cm->events;
    printf("# %-5s %7u events, %7u commands, %.1f s; pullin/patent/waitall %" PRIu64 "/%" PRIu64 "/%" PRIu64
           ", pulled %" PRIu64 ", inactive %" PRIu64 ", in SMM %" PRIu64 ", late %" PRIu64 ", TCO %" PRIu64
           ", INIT parks %" PRIu64 ", waitall timeouts %" PRIu64 ", halted members %" PRIu64
           ", halted monarchs %" PRIu64 " (woken by the last arrival %" PRIu64 ")\n",
           backend_name[b], ev, next_seq, now_s() - t0, cov[COV_PULLIN], cov[COV_PATENT], cov[COV_WAITALL],
           cov[COV_PULLED], cov[COV_INACTIVE], cov[COV_IN_SMM], cov[COV_LATE], cov[COV_TCO], cov[COV_DEAF],
           cov[COV_TIMEOUT], cov[COV_HALT], cov[COV_MHALT], cov[COV_MWAKE]);
    return ev;
}

/* ---------------------------------------------------------------- the bounded wait alone */

struct countdown { unsigned calls, true_at; };

static bool counted(void *ctx)
{
    struct countdown *c = ctx;
    return ++c->calls >= c->true_at || c->calls > 100000;   /* ends a wait that ignores its deadline */
}

/* smm_wait_until on a fake clock that advances one tick per wait step:
 * done at once returns true without a step; never done returns false one
 * step after the deadline (never later); done at step k returns true. */
static int wait_unit(void)
{
    use_fake_clock = true;
    const char *why = NULL;
    struct countdown c = { 0, 1 };
    fake_clock = 100;
    if (!smm_wait_until(counted, &c, 50) || c.calls != 1)
        why = "a wait already done did not return true at once";
    c = (struct countdown){ 0, ~0u };
    fake_clock = 0;
    if (!why && (smm_wait_until(counted, &c, 1000) || fake_clock > 1000))
        why = "a wait never done kept waiting past its deadline";
    c = (struct countdown){ 0, 10 };
    fake_clock = 0;
    if (!why && (!smm_wait_until(counted, &c, 1000) || fake_clock != 9))
        why = "a wait done at its 10th look did not end there";
    use_fake_clock = false;
    printf("%s 1 - wait: smm_wait_until ends when done, or at its deadline%s%s\n", why ? "not ok" : "ok",
           why ? ": " : "", why ? why : "");
    return why ? 1 : 0;
}

/* ThreadSanitizer stops at the first race, with its own exit status. */
const char *__tsan_default_options(void);
const char *__tsan_default_options(void) { return "halt_on_error=1:exitcode=66"; }

static int run(uint64_t events)
{
    cm = aligned_alloc(64, (sizeof(*cm) + 63) & ~(size_t)63);
    smm_config.tsc_hz = calibrate_tsc();
    printf("# %u CPUs (threads), seed %" PRIu64 ", %" PRIu64 " events, TSC %" PRIu64 " MHz\n",
           ncpus, seed, events, smm_config.tsc_hz / 1000000);
    double t0 = now_s();
    uint64_t total = 0;
    for (unsigned b = 0; b < SYNCH_BACKEND_COUNT; b++)
        total += run_segment((enum synch_backend)b, (uint32_t)(events / SYNCH_BACKEND_COUNT + (b < events % SYNCH_BACKEND_COUNT)));
    printf("# roles: monarch %" PRIu64 ", member %" PRIu64 ", late %" PRIu64 ", nowork %" PRIu64
           "; SMIs %" PRIu64 ", %.1f s\n", roles[ROLE_MONARCH], roles[ROLE_MEMBER], roles[ROLE_LATE],
           roles[ROLE_NOWORK], smis_sent, now_s() - t0);
    printf("ok 2 - rendezvous: %" PRIu64 " events on %u CPUs, every policy and backend, seed %" PRIu64 "\n",
           total, ncpus, seed);
    free(cm);
    return 0;
}

/* The run is a child process, so that a sanitizer's exit, a crash or a hang
 * still ends in one TAP result with its reason. */
static int supervise(uint64_t events, unsigned limit_s)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(run(events));
    int st = 0;
    for (unsigned t = 0; waitpid(pid, &st, WNOHANG) == 0; t++) {
        if (t >= limit_s * 10) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            printf("not ok 2 - rendezvous: bounded: still running after %u s (seed %" PRIu64 ")\n", limit_s, seed);
            return 1;
        }
        usleep(100000);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) <= 1)
        return WEXITSTATUS(st);              /* the child printed the result */
    if (WIFEXITED(st) && WEXITSTATUS(st) == 66)
        printf("not ok 2 - rendezvous: race: ThreadSanitizer reported a data race (report above; seed %" PRIu64 ")\n", seed);
    else
        printf("not ok 2 - rendezvous: crashed (status 0x%x, seed %" PRIu64 ")\n", st, seed);
    return 1;
}

int main(int argc, char **argv)
{
    uint64_t events = 1000000;
    unsigned limit_s = 600;
    int opt;
    seed = (uint64_t)time(NULL);
    if (getenv("RDV_SEED"))
        seed = strtoull(getenv("RDV_SEED"), NULL, 0);
    if (getenv("RDV_EVENTS"))
        events = strtoull(getenv("RDV_EVENTS"), NULL, 0);
    while ((opt = getopt(argc, argv, "e:c:s:t:")) != -1) {
        switch (opt) {
        case 'e': events = strtoull(optarg, NULL, 0); break;
        case 'c': ncpus = (unsigned)atoi(optarg); break;
        case 's': seed = strtoull(optarg, NULL, 0); break;
        case 't': limit_s = (unsigned)atoi(optarg); break;
        default:
            fprintf(stderr, "usage: %s [-e EVENTS] [-c CPUS] [-s SEED] [-t SECONDS]\n", argv[0]);
            return 2;
        }
    }
    if (ncpus < 2 || ncpus > MAXC || events < SYNCH_BACKEND_COUNT) {
        fprintf(stderr, "test_rendezvous: 2..%u CPUs, at least %u events\n", MAXC, SYNCH_BACKEND_COUNT);
        return 2;
    }
    printf("1..2\n");
    if (wait_unit()) {
        printf("not ok 2 - rendezvous: not run: the bounded wait it is built on is broken\n");
        return 1;
    }
    return supervise(events, limit_s);
}
