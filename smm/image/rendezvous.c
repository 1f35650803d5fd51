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
 * phase, joined, left, monarch, done_seq (see the mapping there). */
#include "smm/image/smm.h"
#include "smm/cmd.h"
#include "kernel/kstring.h"

enum phase { PH_IDLE = 0, PH_OPEN = 1, PH_RUNNING = 2, PH_RELEASED = 3 };

static struct {
    volatile uint32_t lock;
    volatile uint32_t phase;
    volatile uint32_t event;
    volatile uint64_t joined, left;
    volatile uint32_t monarch;
    struct smm_cmd cmd;             /* the command, copied into SMRAM */
    volatile uint32_t has_cmd;
} rdv SMM_MUTABLE;

void rendezvous_reset(void)
{
    memset((void *)&rdv, 0, sizeof(rdv));
}

/* Copies the command in before looking at it: the OS may rewrite the page
 * while we run. The kernel withdraws the old sequence number before it
 * rewrites the fields and publishes the new one last (smm_call), so a copy
 * whose sequence number did not change around it is one consistent command. */
static bool command_pending(struct smm_cmd *out)
{
    volatile struct smm_cmd *src = &comm()->cmd;
    for (int tries = 0; tries < 8; tries++) {
        out->seq = __atomic_load_n(&src->seq, __ATOMIC_ACQUIRE);
        out->id = src->id;
        out->policy = src->policy;
        out->flags = src->flags;
        for (unsigned i = 0; i < 4; i++)
            out->arg[i] = src->arg[i];
        /* 0 is the kernel's "being rewritten" mark, never a command. */
        if (__atomic_load_n(&src->seq, __ATOMIC_ACQUIRE) == out->seq)
            return out->seq != 0 && out->seq != comm()->done_seq;
    }
    return false;                            /* being rewritten: not yet */
}

static bool deadline_hit(uint64_t end) { return rdtsc() >= end; }

/* A peer has arrived when it has joined the event; one whose byte turns
 * inactive meanwhile (it parked) is no longer waited for. */
static bool arrived(unsigned p, bool by_join_only)
{
    if (rdv.joined & bit(p))
        return true;
    if (smm_config.flags & SMMF_INACTIVE_AS_ACTIVE)
        return false;                        /* test-only: really wait on them */
    return !by_join_only && synch_get(p) == SYNCH_INACTIVE;
}

/* Waits until every CPU in 'set' has arrived or the deadline; returns who
 * is still missing. waitall counts arrivals only (it ignores the bytes). */
static uint64_t wait_for(uint64_t set, uint64_t end, bool by_join_only)
{
    uint64_t pause = smm_us_to_tsc(10);
    while (set) {
        for (unsigned p = 0; p < smm_config.ncpus; p++)
            if ((set & bit(p)) && arrived(p, by_join_only))
                set &= ~bit(p);
        if (!set || deadline_hit(end))
            break;
        /* Back off between scans: with the cmos backend every read takes
         * the controller-hub lock that arriving CPUs need for their byte. */
        for (uint64_t t = rdtsc() + pause; rdtsc() < t && !deadline_hit(end);)
            cpu_relax();
    }
    return set;
}

/* Reads every peer's byte; returns the set to wait for: the active ones
 * (claim 1(b)) and the ones already in SMM, which take part (claim 1(c))
 * once they have joined. */
static uint64_t scan_peers(unsigned me, struct smm_rec *r)
{
    uint64_t waitset = 0;
    for (unsigned p = 0; p < smm_config.ncpus; p++) {
        uint8_t v = p == me ? SYNCH_IN_SMM : synch_get(p);
        r->peer[p] = v;
        if (p == me)
            continue;
        if (!synch_valid(v)) {               /* never trust an unknown value */
            r->bad |= bit(p);
            r->flags |= REC_BAD_SYNCH;
            v = SYNCH_ACTIVE;
        }
        if (v == SYNCH_INACTIVE && (smm_config.flags & SMMF_INACTIVE_AS_ACTIVE))
            v = SYNCH_ACTIVE;                /* test-only fault */
        if (v == SYNCH_INACTIVE)
            r->inactive |= bit(p);           /* claim 1(a): not waited for */
        else if (!(rdv.joined & bit(p)))
            waitset |= bit(p);
    }
    return waitset;
}

static void monarch_wait(unsigned me, struct smm_rec *r)
{
    uint64_t waitset = scan_peers(me, r), missing;
    uint64_t t0 = rdtsc();
    const struct smm_config *c = &smm_config;
    switch (rdv.cmd.policy) {
    case RDV_WAITALL:
        waitset = all_cpus_mask() & ~bit(me);
        missing = wait_for(waitset, t0 + c->t_waitall, true);
        if (missing)
            r->flags |= REC_TIMEOUT;
        break;
    case RDV_PATENT:
        /* A stray SMI (TCO, a latched one) can bring the submitter, or any
         * CPU, into SMM between publishing a broadcast command and sending
         * the broadcast; if it leads, peers still outside would never get
         * one. So the monarch of a broadcast command sends it itself to the
         * peers that read active. (Found by the model: docs/model, checks
         * regress-trigger-window-* and regress-trigger-member-*.) */
        if (rdv.cmd.flags & CMDF_BROADCAST)
            for (unsigned p = 0; p < c->ncpus; p++)
                if ((waitset & bit(p)) && synch_get(p) == SYNCH_ACTIVE) {
                    smm_send_smi(p);
                    r->pulled |= bit(p);
                }
        missing = wait_for(waitset, t0 + c->t_patent_failsafe, false);
        if (missing)
            r->flags |= REC_PROTO_FAIL;
        break;
    default: /* RDV_PULLIN */
        missing = wait_for(waitset, t0 + c->t_pullin1, false);
        if (missing) {
            /* Pull in only the CPUs still outside SMM: an SMI to one that is
             * already entering would be latched and come back later. */
            for (unsigned p = 0; p < c->ncpus; p++)
                if ((missing & bit(p)) && synch_get(p) != SYNCH_IN_SMM) {
                    smm_send_smi(p);
                    r->pulled |= bit(p);
                }
            missing = wait_for(missing, rdtsc() + c->t_pullin2, false);
            if (missing)
                r->flags |= REC_TIMEOUT;
        }
        break;
    }
    r->waited = waitset;
    r->missing = missing;
    r->wait_tsc = rdtsc() - t0;
}

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
    cm->status = st;
    r->cmd_status = st;
    r->flags |= REC_RAN_CMD;
    cm->cpu[me].cmds_run++;
    __atomic_store_n(&cm->done_seq, rdv.cmd.seq, __ATOMIC_RELEASE);
}

void rendezvous(unsigned me, struct smm_rec *r, uint8_t exit_val)
{
    const struct smm_config *c = &smm_config;
    uint64_t failsafe = rdtsc() + c->t_patent_failsafe + c->t_pullin1 + c->t_pullin2 +
                        c->t_waitall + 4 * c->t_member;
    bool saw_closed = false;
    struct smm_cmd cmd;
    uint32_t ev = 0;

    for (;;) {
        smm_lock(&rdv.lock);
        if (rdv.phase == PH_OPEN) {
            rdv.joined |= bit(me);
            ev = rdv.event;
            r->role = ROLE_MEMBER;
            smm_unlock(&rdv.lock);
            break;
        }
        if (rdv.phase == PH_IDLE) {
            bool has_cmd = command_pending(&cmd);
            if (!has_cmd && !tco_status()) {
                r->role = saw_closed ? ROLE_LATE : ROLE_NOWORK;
                /* Leave "in SMM" before the next event can open, so no event
                 * begins with this CPU in SMM and then sees it go. */
                synch_put(me, exit_val);
                smm_unlock(&rdv.lock);
                return;
            }
            rdv.event++;
            ev = rdv.event;
            rdv.phase = PH_OPEN;
            rdv.joined = bit(me);
            rdv.left = 0;
            rdv.monarch = me;
            rdv.has_cmd = has_cmd;
            rdv.cmd = cmd;
            comm()->events = ev;
            r->role = ROLE_MONARCH;
            smm_unlock(&rdv.lock);
            break;
        }
        smm_unlock(&rdv.lock);
        saw_closed = true;                   /* an event is closing: wait it out */
        while (rdv.phase == PH_RUNNING || rdv.phase == PH_RELEASED) {
            if (deadline_hit(failsafe)) {
                r->role = ROLE_LATE;
                r->flags |= REC_TIMEOUT;
                synch_put(me, exit_val);
                return;
            }
            cpu_relax();
        }
    }

    r->event = ev;
    r->policy = (uint8_t)rdv.cmd.policy;
    r->cmd_id = rdv.cmd.id;
    r->cmd_seq = rdv.cmd.seq;
    if (r->role == ROLE_MONARCH) {
        monarch_wait(me, r);
        smm_lock(&rdv.lock);
        rdv.phase = PH_RUNNING;              /* the door closes */
        smm_unlock(&rdv.lock);
        r->tsc_ready = rdtsc();
        r->joined = rdv.joined;
        run_event_command(me, r);
        __atomic_store_n(&rdv.phase, PH_RELEASED, __ATOMIC_RELEASE);
        uint64_t others = rdv.joined & ~bit(me);
        uint64_t end = rdtsc() + c->t_member * 4;
        while ((rdv.left & others) != others && !deadline_hit(end))
            cpu_relax();
        if ((rdv.left & others) != others)
            r->flags |= REC_TIMEOUT;
        synch_put(me, exit_val);
        __atomic_store_n(&rdv.phase, PH_IDLE, __ATOMIC_RELEASE);
        return;
    }
    /* Member: record what it sees, wait for the command to be done. */
    scan_peers(me, r);
    while (rdv.event == ev && (rdv.phase == PH_OPEN || rdv.phase == PH_RUNNING)) {
        if (deadline_hit(failsafe)) {
            r->flags |= REC_TIMEOUT;
            break;
        }
        cpu_relax();
    }
    r->tsc_ready = rdtsc();
    r->joined = rdv.joined;
    synch_put(me, exit_val);                 /* before 'left': a new event must not see us in SMM */
    __atomic_or_fetch(&rdv.left, bit(me), __ATOMIC_RELEASE);
}
