/* The synchbyte rendezvous, patent claim 1 generalised to N CPUs.
 *
 * Every SMI that finds work (a new command, or a hardware status such as
 * TCO) becomes a numbered event. The first CPU to find the door open and
 * no event running opens one and becomes its monarch: it reads every
 * peer's synchbyte and, per claim 1,
 *   inactive            -> does not wait for it            (claim 44)
 *   active, not in SMM  -> waits until it is in SMM        (claim 45)
 *   in SMM              -> it takes part                   (claim 46)
 * then closes the door, runs the command once and releases the members,
 * who leave together. The monarch runs the command because it is the one
 * CPU guaranteed to be there (it took the SMI that opened the event) and it
 * already knows who came; electing another would cost a round trip.
 * Late arrivals (pulled in after the door closed, latched SMIs, parked CPUs
 * woken by a broadcast) wait for the event to end and leave without running
 * anything: the command's sequence number is already done.
 *
 * Policies (how the monarch waits for active peers):
 *   patent  - until each is in SMM; a fail-safe bound reports a protocol
 *             failure instead of hanging (sound only with broadcast SMIs)
 *   pullin  - a bounded wait, SMI IPIs to the laggards, a second bounded
 *             wait, then proceed and report who never came (EDK2's shape,
 *             but only for CPUs the synchbyte says are active)
 *   waitall - ignore the synchbytes and wait for every CPU with a timeout
 *             (the EDK2-style baseline)
 *
 * The Promela model in docs/model/rendezvous.pml uses the same names:
 * phase, joined, left, monarch, done_seq (see the mapping there).
 *
 * The code is the protocol's phases, each its own function:
 *   enter_event      open an event (monarch) or join the open one (member),
 *                    or leave at once: nothing to do, or a late arrival
 *   monarch_wait     scan_peers, then the policy's wait (wait_patent,
 *                    wait_pullin, wait_waitall)
 *   monarch_finish   close the door, run the command once, release, wait
 *                    for the members to leave
 *   member_follow    record the peers, wait for the release, leave
 * It touches the machine only through smm/image/rdv_port.h, so the host
 * test tests/host/test_rendezvous.c runs this very file with threads as
 * CPUs. Shared state is read and written with atomics only (no plain or
 * volatile access to what another CPU writes), which is what lets
 * ThreadSanitizer check it; on x86 these are the same plain moves. */
#include "smm/image/rdv_port.h"
#include "smm/cmd.h"
#include "lib/kstring.h"

#define LOAD(x)      __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)  __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

enum phase { PH_IDLE = 0, PH_OPEN = 1, PH_RUNNING = 2, PH_RELEASED = 3 };

static struct {
    struct spinlock lock;           /* guards opening and joining */
    uint32_t phase;                 /* enum phase */
    uint32_t event;                 /* the current event's number */
    cpuset_t joined, left;          /* CPU sets of the current event (cs_atomic_*) */
    cpuset_t halters;               /* members that may halt for their release (smm_wait=hlt) */
    uint32_t wakes_sent;            /* the event whose wakes the monarch has sent */
    uint32_t monarch_halts;         /* the event whose monarch halts for its arrivals (0: none) */
    cpuset_t awaited;               /* the peers that monarch still lacks, as it last looked */
    uint32_t monarch;
    struct smm_cmd cmd;             /* the command, copied into SMRAM */
    uint32_t has_cmd;
} rdv SMM_MUTABLE;

void rendezvous_reset(void)
{
    memset((void *)&rdv, 0, sizeof(rdv));
}

/* Copies the command in before looking at it: the OS may rewrite the page
 * while we run. The kernel withdraws the old sequence number before it
 * rewrites the fields and publishes the new one last (smm_call), so a copy
 * whose sequence number did not change around it is one consistent command
 * (a sequence lock; every read is an acquire, so the second read of the
 * number cannot move before the fields: on x86 these are plain moves). */
static bool command_pending(struct smm_cmd *out)
{
    volatile struct smm_cmd *src = &comm()->cmd;
    for (int tries = 0; tries < 8; tries++) {
        out->seq = LOAD(src->seq);
        out->id = LOAD(src->id);
        out->policy = LOAD(src->policy);
        out->flags = LOAD(src->flags);
        for (unsigned i = 0; i < 4; i++)
            out->arg[i] = LOAD(src->arg[i]);
        /* 0 is the kernel's "being rewritten" mark, never a command. */
        if (LOAD(src->seq) == out->seq)
            return out->seq != 0 && out->seq != LOAD(comm()->done_seq);
    }
    return false;                            /* being rewritten: not yet */
}

/* ---------------------------------------------------------------- waiting */

/* A peer has arrived when it has joined the event; one whose byte turns
 * inactive meanwhile (it parked) is no longer waited for. */
static bool arrived(unsigned p, bool by_join_only)
{
    if (cs_atomic_has(&rdv.joined, p))
        return true;
    if (smm_config.flags & SMMF_INACTIVE_AS_ACTIVE)
        return false;                        /* test-only: really wait on them */
    return !by_join_only && synch_get(p) == SYNCH_INACTIVE;
}

struct arrivals { cpuset_t set; bool by_join_only; uint64_t next_scan, pause; };

/* Drops the arrived CPUs from the set; true once it is empty. Scans at most
 * every 'pause' ticks: with the cmos backend every read takes the
 * controller-hub lock that arriving CPUs need for their byte. */
static bool all_arrived(void *ctx)
{
    struct arrivals *a = ctx;
    if (smm_clock() < a->next_scan)
        return false;
    for (int p = cs_first(a->set); p >= 0; p = cs_next(a->set, p))
        if (arrived((unsigned)p, a->by_join_only))
            cs_del(&a->set, (unsigned)p);
    a->next_scan = smm_clock() + a->pause;
    return cs_empty(a->set);
}

/* The halting monarch's look: it publishes whom it still lacks, then looks
 * (seq_cst stores, then seq_cst loads; the member's side is its seq_cst
 * join, then seq_cst loads of rdv.monarch_halts, rdv.awaited and the
 * arrivals: a store-buffering pair), so the arrival that completes the
 * set is either seen here or sees the monarch lacking only arrived CPUs,
 * and wakes it (wake_monarch_if_last). It publishes again while a look
 * shrinks the set: a member judging by a CPU the monarch no longer waits
 * for (one that parked, then entered SMM) would wait for it and not wake
 * the monarch (found by the model, docs/model/README.md (m)). */
static bool all_arrived_halting(void *ctx)
{
    struct arrivals *a = ctx;
    for (;;) {
        cpuset_t published = a->set;
        for (unsigned k = 0; k < CPUSET_WORDS; k++)
            __atomic_store_n(&rdv.awaited.w[k], published.w[k], __ATOMIC_SEQ_CST);
        if (all_arrived(ctx))
            return true;
        if (cs_eq(published, a->set))
            return false;
    }
}

/* Waits until every CPU in 'set' has arrived or the deadline; returns who
 * is still missing. waitall counts arrivals only (it ignores the bytes).
 * Where this CPU may halt (smm_wait=hlt) it halts between looks: woken by
 * the arrival that completes the set, else by its own timer (a CPU that
 * arrives by parking, its byte turning inactive, sends no wake). */
static cpuset_t wait_for(cpuset_t set, uint64_t end, bool by_join_only, struct smm_rec *r, bool halt)
{
    struct arrivals a = { set, by_join_only, 0, smm_us_to_tsc(10) };
    if (!halt) {
        smm_wait_until(all_arrived, &a, end);
        return a.set;
    }
    a.pause = 0;                             /* each look follows a wake: no throttle */
    smm_wait_halting(all_arrived_halting, &a, end, r);
    return a.set;
}

/* A member whose join completes what its halting monarch waits for wakes
 * it: its join (seq_cst), then seq_cst loads of what the monarch published. */
static void wake_monarch_if_last(unsigned me, struct smm_rec *r)
{
    if (__atomic_load_n(&rdv.monarch_halts, __ATOMIC_SEQ_CST) != r->event)
        return;
    cpuset_t aw = cs_atomic_load(&rdv.awaited);
    for (int p = cs_first(aw); p >= 0; p = cs_next(aw, p))
        if ((unsigned)p != me && !arrived((unsigned)p, r->policy == RDV_WAITALL))
            return;
    smm_wake(LOAD(rdv.monarch));
    r->flags |= REC_WOKE_MONARCH;
}

/* ---------------------------------------------------------------- the monarch's wait */

/* Reads every peer's byte; returns the set to wait for: the active ones
 * (claim 1(b)) and the ones already in SMM, which take part (claim 1(c))
 * once they have joined. */
static cpuset_t scan_peers(unsigned me, struct smm_rec *r)
{
    cpuset_t waitset = cs_none();
    for (unsigned p = 0; p < smm_config.ncpus; p++) {
        uint8_t v = p == me ? SYNCH_IN_SMM : synch_get(p);
        r->peer[p] = v;
        if (p == me)
            continue;
        if (!synch_valid(v)) {               /* never trust an unknown value */
            cs_add(&r->bad, p);
            r->flags |= REC_BAD_SYNCH;
            v = SYNCH_ACTIVE;
        }
        if (v == SYNCH_INACTIVE && (smm_config.flags & SMMF_INACTIVE_AS_ACTIVE))
            v = SYNCH_ACTIVE;                /* test-only fault */
        if (v == SYNCH_INACTIVE)
            cs_add(&r->inactive, p);         /* claim 1(a): not waited for */
        else if (!cs_atomic_has(&rdv.joined, p))
            cs_add(&waitset, p);
    }
    return waitset;
}

/* The monarch has sent every SMI its policy sends to peers outside SMM: a
 * CPU held in SMM by a test (SMM_HOLD_UNTIL_DECIDED) may join now. */
static void smis_sent(struct smm_rec *r)
{
    __atomic_or_fetch(&r->flags, REC_SMIS_SENT, __ATOMIC_RELEASE);
}

/* waitall: every other CPU, bytes ignored, until the timeout. */
static cpuset_t all_others(unsigned me)
{
    return cs_minus(cs_first_n(smm_config.ncpus), cs_of(me));
}

static cpuset_t wait_waitall(unsigned me, struct smm_rec *r, uint64_t t0, bool halt)
{
    smis_sent(r);                                  /* it sends none */
    cpuset_t missing = wait_for(all_others(me), t0 + smm_config.t_waitall, true, r, halt);
    if (!cs_empty(missing))
        r->flags |= REC_TIMEOUT;
    return missing;
}

/* patent: every active peer until it is in SMM; the bound is a fail-safe. */
static cpuset_t wait_patent(cpuset_t waitset, struct smm_rec *r, uint64_t t0, bool halt)
{
    /* A stray SMI (TCO, a latched one) can bring the submitter, or any
     * CPU, into SMM between publishing a broadcast command and sending
     * the broadcast; if it leads, peers still outside would never get
     * one. So the monarch of a broadcast command sends it itself to the
     * peers that read active. (Found by the model: docs/model, checks
     * regress-trigger-window-* and regress-trigger-member-*.) */
    if (rdv.cmd.flags & CMDF_BROADCAST)
        for (int p = cs_first(waitset); p >= 0; p = cs_next(waitset, p))
            if (synch_get((unsigned)p) == SYNCH_ACTIVE) {
                smm_send_smi((unsigned)p);
                cs_add(&r->pulled, (unsigned)p);
            }
    smis_sent(r);
    cpuset_t missing = wait_for(waitset, t0 + smm_config.t_patent_failsafe, false, r, halt);
    if (!cs_empty(missing))
        r->flags |= REC_PROTO_FAIL;
    return missing;
}

/* pullin: a bounded wait, SMIs to the laggards, a second bounded wait. */
static cpuset_t wait_pullin(cpuset_t waitset, struct smm_rec *r, uint64_t t0, bool halt)
{
    const struct smm_config *c = &smm_config;
    cpuset_t missing = wait_for(waitset, t0 + c->t_pullin1, false, r, halt);
    if (cs_empty(missing)) {
        smis_sent(r);
        return missing;
    }
    /* Pull in only the CPUs still outside SMM: an SMI to one that is
     * already entering would be latched and come back later. */
    for (int p = cs_first(missing); p >= 0; p = cs_next(missing, p))
        if (synch_get((unsigned)p) != SYNCH_IN_SMM) {
            smm_send_smi((unsigned)p);
            cs_add(&r->pulled, (unsigned)p);
        }
    smis_sent(r);
    missing = wait_for(missing, smm_clock() + c->t_pullin2, false, r, halt);
    if (!cs_empty(missing))
        r->flags |= REC_TIMEOUT;
    return missing;
}

/* halt: this monarch may halt for its arrivals (may_halt). */
static void monarch_wait(unsigned me, struct smm_rec *r, bool halt)
{
    /* From here until its members have left, the member whose arrival
     * completes what it waits for wakes it (wake_monarch_if_last). */
    if (halt)
        __atomic_store_n(&rdv.monarch_halts, r->event, __ATOMIC_SEQ_CST);
    cpuset_t waitset = scan_peers(me, r), missing;
    uint64_t t0 = smm_clock();
    switch (rdv.cmd.policy) {
    case RDV_WAITALL:
        waitset = all_others(me);
        missing = wait_waitall(me, r, t0, halt);
        break;
    case RDV_PATENT:
        missing = wait_patent(waitset, r, t0, halt);
        break;
    default: /* RDV_PULLIN */
        missing = wait_pullin(waitset, r, t0, halt);
        break;
    }
    r->waited = waitset;
    r->missing = missing;
    r->wait_tsc = smm_clock() - t0;
}

/* ---------------------------------------------------------------- the event */

static void run_event_command(unsigned me, struct smm_rec *r)
{
    uint32_t tco = tco_pending_clear();
    if (tco) {
        r->tco_sts = tco;
        r->flags |= REC_HW_TCO;
    }
    if (!rdv.has_cmd)
        return;
    struct smm_comm *cm = comm();
    int st = smm_run_command(me, &rdv.cmd, cm->result);
    STORE(cm->status, st);
    r->cmd_status = st;
    r->flags |= REC_RAN_CMD;
    __atomic_add_fetch(&cm->cpu[me].cmds_run, 1, __ATOMIC_RELAXED);
    STORE(cm->done_seq, rdv.cmd.seq);
}

/* Under the lock, the door open: this CPU becomes a member. */
static uint32_t join_event(unsigned me, struct smm_rec *r)
{
    cs_atomic_add(&rdv.joined, me);
    r->role = ROLE_MEMBER;
    return LOAD(rdv.event);
}

/* Under the lock, no event running and work to do: this CPU opens one. */
static uint32_t open_event(unsigned me, struct smm_rec *r, const struct smm_cmd *cmd, bool has_cmd)
{
    uint32_t ev = LOAD(rdv.event) + 1;
    STORE(rdv.event, ev);
    cs_atomic_store(&rdv.joined, cs_of(me));
    cs_atomic_store(&rdv.left, cs_none());
    cs_atomic_store(&rdv.halters, cs_none());
    STORE(rdv.monarch, me);
    rdv.has_cmd = has_cmd;
    rdv.cmd = *cmd;
    STORE(comm()->events, ev);
    STORE(rdv.phase, PH_OPEN);
    r->role = ROLE_MONARCH;
    return ev;
}

static bool event_closing_over(void *ctx)
{
    (void)ctx;
    uint32_t ph = LOAD(rdv.phase);
    return ph != PH_RUNNING && ph != PH_RELEASED;
}

/* Opens or joins an event; returns false when this CPU leaves at once
 * (nothing to do, or a late arrival whose event never ended in time), its
 * byte already back to exit_val. */
static bool enter_event(unsigned me, struct smm_rec *r, uint8_t exit_val, uint64_t failsafe)
{
    bool saw_closed = false;
    struct smm_cmd cmd;
    for (;;) {
        spin_lock(&rdv.lock);
        uint32_t ph = LOAD(rdv.phase);
        if (ph == PH_OPEN) {
            r->event = join_event(me, r);
            break;
        }
        if (ph == PH_IDLE) {
            bool has_cmd = command_pending(&cmd);
            if (!has_cmd && !tco_status()) {
                r->role = saw_closed ? ROLE_LATE : ROLE_NOWORK;
                /* Leave "in SMM" before the next event can open, so no event
                 * begins with this CPU in SMM and then sees it go. */
                synch_put(me, exit_val);
                spin_unlock(&rdv.lock);
                return false;
            }
            r->event = open_event(me, r, &cmd, has_cmd);
            break;
        }
        spin_unlock(&rdv.lock);
        saw_closed = true;                   /* an event is closing: wait it out */
        if (!smm_wait_until(event_closing_over, 0, failsafe)) {
            r->role = ROLE_LATE;
            r->flags |= REC_TIMEOUT;
            synch_put(me, exit_val);
            return false;
        }
    }
    /* What the event runs, read under the lock: the monarch wrote it there. */
    r->policy = (uint8_t)rdv.cmd.policy;
    r->cmd_id = rdv.cmd.id;
    r->cmd_seq = rdv.cmd.seq;
    spin_unlock(&rdv.lock);
    return true;
}

static bool members_left(void *ctx)
{
    return cs_subset(*(const cpuset_t *)ctx, cs_atomic_load(&rdv.left));
}

/* The door closes, the command runs once, the members are released and
 * this CPU waits (bounded) for them to leave before the next event. */
static void monarch_finish(unsigned me, struct smm_rec *r, uint8_t exit_val, bool halt)
{
    spin_lock(&rdv.lock);
    STORE(rdv.phase, PH_RUNNING);            /* the door closes */
    cpuset_t joined = cs_atomic_load(&rdv.joined);
    spin_unlock(&rdv.lock);
    r->tsc_ready = smm_clock();
    r->joined = joined;
    run_event_command(me, r);
    /* Release, then wake the members that halt: the release is seq_cst
     * (an exchange) and so is the look at who halts, as on the member's
     * side, so a member either sees the release or is seen halting. */
    __atomic_exchange_n(&rdv.phase, PH_RELEASED, __ATOMIC_SEQ_CST);
    cpuset_t others = cs_minus(joined, cs_of(me)), halters = cs_and(cs_atomic_load(&rdv.halters), others);
    for (int p = cs_first(halters); p >= 0; p = cs_next(halters, p)) {
        smm_wake((unsigned)p);
        cs_add(&r->woken, (unsigned)p);
    }
    STORE(rdv.wakes_sent, r->event);
    if (!smm_wait_until(members_left, &others, smm_clock() + smm_config.t_member * 4))
        r->flags |= REC_TIMEOUT;
    /* Every member sent its wake (wake_monarch_if_last) before it left:
     * take one that came after this CPU's last look. */
    if (halt) {
        __atomic_store_n(&rdv.monarch_halts, 0, __ATOMIC_SEQ_CST);
        smm_halt_drain();
    }
    synch_put(me, exit_val);
    STORE(rdv.phase, PH_IDLE);
}

struct release { uint32_t ev; };

static bool released(void *ctx)
{
    const struct release *w = ctx;
    uint32_t ph = __atomic_load_n(&rdv.phase, __ATOMIC_SEQ_CST);    /* after the halters add */
    return LOAD(rdv.event) != w->ev || (ph != PH_OPEN && ph != PH_RUNNING);
}

/* The monarch has sent its wakes for this event (or another event began). */
static bool wakes_sent(void *ctx)
{
    const struct release *w = ctx;
    return LOAD(rdv.wakes_sent) == w->ev || LOAD(rdv.event) != w->ev;
}

/* Whether this CPU may halt in its waits of this event (smm_wait=hlt). A
 * parked CPU (it entered inactive) spins: the INIT that parks it may come
 * while it waits, and TCG takes an INIT in SMM at once (a known
 * deviation), which would leave its wake pending for the OS. */
static bool may_halt(uint8_t exit_val)
{
    return exit_val != SYNCH_INACTIVE && smm_halt_possible();
}

/* The wait for the release: halting where it may, then, once the monarch
 * has sent its wakes, taking a wake that came after the last look, so that
 * the OS never sees SMM_WAKE_VECTOR. */
static bool wait_release(unsigned me, struct smm_rec *r, uint8_t exit_val, uint64_t failsafe)
{
    struct release w = { r->event };
    if (!may_halt(exit_val))
        return smm_wait_until(released, &w, failsafe);
    cs_atomic_add(&rdv.halters, me);
    bool ok = smm_wait_halting(released, &w, failsafe, r);
    smm_wait_until(wakes_sent, &w, failsafe);
    smm_halt_drain();
    return ok;
}

/* Member: record what it sees, wait for the command to be done, leave. */
static void member_follow(unsigned me, struct smm_rec *r, uint8_t exit_val, uint64_t failsafe)
{
    wake_monarch_if_last(me, r);
    scan_peers(me, r);
    if (!wait_release(me, r, exit_val, failsafe))
        r->flags |= REC_TIMEOUT;
    r->tsc_ready = smm_clock();
    r->joined = cs_atomic_load(&rdv.joined);
    synch_put(me, exit_val);                 /* before 'left': a new event must not see us in SMM */
    cs_atomic_add(&rdv.left, me);
}

void rendezvous(unsigned me, struct smm_rec *r, uint8_t exit_val)
{
    const struct smm_config *c = &smm_config;
    uint64_t failsafe = smm_clock() + c->t_patent_failsafe + c->t_pullin1 + c->t_pullin2 +
                        c->t_waitall + 4 * c->t_member;
    if (!enter_event(me, r, exit_val, failsafe))
        return;
    if (r->role == ROLE_MONARCH) {
        bool halt = may_halt(exit_val);
        monarch_wait(me, r, halt);
        monarch_finish(me, r, exit_val, halt);
    } else {
        member_follow(me, r, exit_val, failsafe);
    }
}
