/* rendezvous.pml - Promela model of the smmsync SMM rendezvous
 * (smm/image/rendezvous.c, the SMM entry in smm/image/entry.c, smm_call()
 * in smm/call.c, and the park/wake paths of smp/power.c).
 *
 * Checked by tools/model-check.sh (make model), for example
 *   spin -a -DPOLICY=1 -DNCPU=3 docs/model/rendezvous.pml
 *   cc -O2 -DSAFETY -o pan pan.c && ./pan -m100000
 * docs/model/README.md says what is modelled and what is abstracted, and
 * gives the results. Keep this file in step with the C: same names, and
 * update the mapping below whenever the C changes.
 *
 * The default build is the C as of 8d2f445, with the six fixes the model
 * asked for (README, "Findings"): under patent, the monarch of a broadcast
 * command sends it to its ACTIVE peers (first only the submitter did, then
 * any monarch), the rendezvous after a service call, the NOWORK/LATE exit
 * byte written under rdv.lock, cpu_park_init() waiting until the target is
 * out of SMM, and smm_call() withdrawing the old command to the reserved
 * number 0. The REVERT_* switches put the old code back (those checks must
 * fail).
 *
 * ---- Mapping: model <-> C ------------------------------------------------
 *
 * model                   C
 * ----------------------  ------------------------------------------------
 * synch[p]                p's synchbyte: synch_get(p) / synch_put(p, v)
 *                         (smm/image/synch_smm.c). The mem, smram and cmos
 *                         backends hold the same byte; not modelled apart.
 * INACTIVE/ACTIVE/IN_SMM  SYNCH_INACTIVE 0x00 / SYNCH_ACTIVE 0xA5 /
 *                         SYNCH_IN_SMM 0x5A (smm/synch.h)
 * phase, PH_IDLE, PH_OPEN,  rdv.phase, enum phase (rendezvous.c)
 *   PH_RUNNING, PH_RELEASED
 * event                   rdv.event (= comm()->events)
 * joined, left            rdv.joined, rdv.left (bit p = CPU p)
 * monarch                 rdv.monarch (hidden: written, never read)
 * rdv_cmd_seq             rdv.cmd.seq, the command copied in at open.
 *                         rdv.has_cmd is always 1 here (no TCO, see README)
 * rdv_cmd_bcast           (PATENT) rdv.cmd.flags & CMDF_BROADCAST
 * SUBMITTER               CMDF_SUBMITTER_OF(rdv.cmd.flags): always CPU 0,
 *                         the only CPU that runs smm_call() here (used only
 *                         by REVERT_ANY_MONARCH_PULL: the C no longer reads it)
 * cmd_seq, done_seq       comm()->cmd.seq, comm()->done_seq
 * cmd_bcast               comm()->cmd.flags & CMDF_BROADCAST: smm_call()
 *                         sets it for SMI_IPI_ALL (and broadcast APM)
 * cmd_fields, rdv_cmd_fields  (CALL_TIMEOUT) whose fields (id, policy,
 *                         flags, arg) are in comm()->cmd / were copied into
 *                         rdv.cmd: the number of the call that wrote them
 * command_pending()       one atomic read of cmd_seq, cmd_bcast (and
 *                         cmd_fields) inside the rdv.lock step: the C's
 *                         seqlock-style copy (re-read seq after copying)
 *                         makes the copy consistent; PENDING is its result:
 *                         seq != 0 && seq != done_seq (0: being rewritten)
 * runs[s]                 (checks only) how often command s ran; the C
 *                         counts per CPU instead (comm()->cpu[p].cmds_run)
 * smi_pend[p]             p's pending SMI: one deep. An SMI for a CPU in SMM
 *                         is latched and taken right after RSM; two SMIs
 *                         pending at once are one.
 * in_smm[p]               p is in SMM, smm_entry() to RSM. The kernel reads
 *                         it as comm()->cpu[p].in_smm (cc->in_smm), which
 *                         the C sets a little after synch_enter() and clears
 *                         a little before RSM (README: the residual window)
 * power[p]                where the kernel has p (smp/smp.c, enum cpu_state):
 *   P_RUN                   CPU_IDLE/CPU_BUSY: running, byte ACTIVE
 *   P_HLT                   CPU_PARKED_HLT: park_hlt_fn wrote INACTIVE, hlt
 *                           (an SMI wakes it; after RSM it halts again)
 *   P_PARKING_INIT          CPU_PARKING_INIT: park_init_fn wrote INACTIVE and
 *                           spins until the INIT
 *   P_WFS                   CPU_PARKED_INIT: wait-for-SIPI after the INIT
 *   P_WAKING                running with the byte still INACTIVE: park_hlt_fn
 *                           after hlt returned, or ap_main after the SIPI,
 *                           before synch_self_set(SYNCH_ACTIVE)
 *   P_SVC                   (SERVICE) park_*_fn inside synch_self_set()
 * req[p]                  (SERVICE) comm()->cpu[p].req: seq != done_seq,
 *                         op SMM_LOCAL_SYNCH_SET; 0 none, else value + 1
 *
 * proctype cpu(me)        one CPU: smm_entry() and rendezvous()
 *   entry atomic            smm_entry(): before = synch_enter(cpu) (reads the
 *                           old byte, writes IN_SMM under switch_lock; claim
 *                           14); exit_val = before == INACTIVE ? INACTIVE :
 *                           ACTIVE (claims 12, 13)
 *   wfs:                    reset_state(ss): park_from_reset(), ROLE_WFS_PARK,
 *                           synch_put(INACTIVE), no rendezvous (TCG takes an
 *                           SMI in wait-for-SIPI; KVM_WFS: held until SIPI)
 *   service:                (SERVICE) cc->req.seq != done_seq:
 *                           exit_val = local_service(), then rendezvous(cpu,
 *                           r, exit_val); ROLE_SERVICE if that found no work
 *                           (REVERT_SERVICE_RDV: synch_put(exit_val), no
 *                           rendezvous, the old code)
 *   rdv_loop: atomic        the for (;;) of enter_event(): one pass under
 *                           spin_lock(&rdv.lock); ROLE_MEMBER (phase OPEN),
 *                           ROLE_MONARCH (IDLE, command_pending()), and
 *                           ROLE_NOWORK / ROLE_LATE (IDLE, no work):
 *                           synch_put(me, exit_val) before spin_unlock
 *                           (REVERT_EXIT_UNDER_LOCK: after it, at nowork:)
 *   late wait               while (phase == PH_RUNNING || ... RELEASED)
 *   monarch_: SCAN(p)       scan_peers(): waitset = peers not INACTIVE and
 *                           not yet joined; inact = r->inactive (under
 *                           BUG_WAIT_INACTIVE the C leaves r->inactive empty;
 *                           the model still records the INACTIVE read, for (d))
 *   PULL_IF(p, C)           one pass of a pull-in loop: read p's byte (C),
 *                           then smm_send_smi(p), r->pulled |= bit(p); two
 *                           steps, as in the C. 'pulled' holds the read's
 *                           outcome until the send
 *   patent pull             wait_patent(): if the command is a
 *                           broadcast (rdv.cmd.flags & CMDF_BROADCAST), an
 *                           SMI to each waited peer whose byte reads ACTIVE,
 *                           whoever the monarch is (REVERT_ANY_MONARCH_PULL:
 *                           only if me is the submitter, PULL_BY;
 *                           REVERT_SUBMITTER_PULL: none; the old code)
 *   wait_for(S, J)          wait_for(set, end, by_join_only) with arrived():
 *                           joined, or (J == 0) byte INACTIVE "it parked";
 *                           BUG_WAIT_INACTIVE (SMMF_INACTIVE_AS_ACTIVE):
 *                           joined only
 *   give-up branch          smm_wait_until()'s deadline. The TSC is not modelled: a
 *                           bound may expire at any time. PATENT:
 *                           t_patent_failsafe (REC_PROTO_FAIL); PULLIN:
 *                           t_pullin1, then t_pullin2 (REC_TIMEOUT);
 *                           WAITALL: t_waitall (REC_TIMEOUT)
 *   pullin pull             smm_send_smi(p) for p in missing whose byte is
 *                           not IN_SMM (r->pulled)
 *   set after the waits     r->missing
 *   phase = PH_RUNNING      the door closes (under rdv.lock)
 *   d_step run command      run_event_command(): smm_run_command(), then
 *                           done_seq = rdv.cmd.seq
 *   left wait               while ((rdv.left & others) != others ...)
 *   member:                 ROLE_MEMBER: while (event == ev && phase is OPEN
 *                           or RUNNING); synch_put(exit_val); left |= me
 *   rsm:                    return from smm_entry(), RSM
 *   fail-safes              the member/late 'failsafe' deadline and the
 *                           monarch's 4 * t_member wait for 'left' are bounds
 *                           for faults; they never fire here (-DFAILSAFE:
 *                           they may fire at any time; a late arrival then
 *                           leaves at late_exit:, ROLE_LATE + REC_TIMEOUT)
 * proctype bsp            the kernel on the BSP (CPU 0), one thing at a time:
 *                           smm_call() (withdraw: cmd.seq = 0, write the
 *                           fields with CMDF_SUBMITTER(0) and maybe
 *                           CMDF_BROADCAST, publish cmd.seq = ++cmd_seq,
 *                           smi_trigger(), wait for done_seq;
 *                           REVERT_SEQ_RESERVED: withdraw to done_seq, a load
 *                           and a store), cpu_park_hlt, cpu_park_init,
 *                           cpu_wake_hlt, cpu_wake_sipi. Its steps need CPU
 *                           0 out of SMM (BSP_RUNS).
 *   INIT_STEP               cpu_park_init(): the bounded wait while
 *                           cc->in_smm, then the INIT
 * proctype pm             (ASYNC_PM) the park/wake work running beside
 *                           smm_call(), as on_cpu_async work would
 * proctype noise          SMIs with no work of their own, at any time and
 *                           to any CPU, directed or broadcast: TCO and other
 *                           hardware sources, SMI_IPI_SELF/APM from an AP,
 *                           stale pull-in SMIs
 *
 * Every rdv.lock section is one atomic step; every other access to rdv,
 * comm or a byte is one plain (TSO) load or store, so one step each.
 *
 * ---- Properties -----------------------------------------------------------
 * (a) no invalid end state (pan's safety run): nobody is stuck; bsp ends only
 *     when each command it submitted has run, so this also says "every
 *     command whose SMI reached a running CPU runs"
 * (b) assert: a command runs at most once (runs[s] == 1 when it runs), and
 *     all NCMD ran once at the end (CALL_TIMEOUT: at most once)
 * (c) assert: a member (it joined while the event was open) writes its exit
 *     byte, and so leaves, only after its event's command is done
 * (c2) assert: while the command runs, every other CPU has joined and is in
 *     SMM, or the monarch read it INACTIVE (scan or wait), or it is reported
 *     missing
 * (d) assert (PATENT, PULLIN): the wait set (r->waited) holds no CPU the scan
 *     read as INACTIVE (claim 1(a): nobody waits on an inactive CPU)
 * (e) assert at RSM: the byte is not left IN_SMM, and it matches the power
 *     state (P_RUN: ACTIVE; parked or waking: INACTIVE)
 * (f) assert (CALL_TIMEOUT): the command that runs is one command: its
 *     fields are those of its sequence number
 * STRICT: the bounds that should never be needed (PATENT's fail-safe,
 *     PULLIN's second wait) may expire only when nothing else can move
 *     (Promela timeout), and that is an assertion failure
 * CHECK_C_LITERAL: (c) read literally: a CPU whose byte was IN_SMM when the
 *     event opened does not go back to ACTIVE before the command is done
 *
 * ---- Switches (-D...) -----------------------------------------------------
 * POLICY      PULLIN 0 (default), PATENT 1, WAITALL 2 (enum rdv_policy)
 * NCPU        CPUs, 2..4 (default 3)
 * NCMD        commands the BSP submits (default 2)
 * NSMI        SMIs from the noise process (default 1)
 * NPARK       park operations, HLT or INIT (default 2)
 * KVM_WFS     KVM instead of TCG: an SMI for a CPU in wait-for-SIPI is held
 *             until the SIPI (no ROLE_WFS_PARK entry)
 * TCG_INIT_ABORT  TCG takes an INIT at once: it drops a pending SMI, and
 *             in SMM it would reset the CPU mid-handler (docs/PLATFORM.md
 *             Q3), which cpu_park_init()'s wait prevents; default: hardware
 *             and KVM hold the INIT until RSM
 * INIT_WINDOW (with TCG_INIT_ABORT) the residual window of cpu_park_init():
 *             the in_smm wait and the INIT are separate steps, so an SMI can
 *             come in between (must break (e); with ASYNC_PM and NO_CHECK_E
 *             the rendezvous wedges, (a))
 * SERVICE     smram/cmos backends: the kernel's byte writes are per-CPU
 *             service calls (a self SMI each)
 * ASYNC_PM    park/wake work runs concurrently with smm_call()
 * BCAST_ONLY  commands are always fired by broadcast
 * CALL_TIMEOUT  smm_call() may give up (its deadline, or smi_trigger()
 *             failed) and the next call rewrites the command while the old
 *             one may still be pending; the withdraw (a store of 0), the
 *             fields and the publish are separate steps, as in the C
 * STRICT, CHECK_C_LITERAL  see Properties
 * NO_CHECK_D, NO_CHECK_E  leave out assertion (d) or (e), to see what
 *             follows from a violation
 * Mutations (each check must fail):
 * BUG_LEAVE_EARLY     members leave when the door closes (must break (c))
 * BUG_WAIT_INACTIVE   SMMF_INACTIVE_AS_ACTIVE, the C's test-only fault
 *                     switch: the scan waits on INACTIVE CPUs and arrived()
 *                     no longer drops them (must break (d); with NO_CHECK_D
 *                     and STRICT, the wait is really needed)
 * FAILSAFE            the fail-safe bounds may fire (breaks (c))
 * REVERT_SUBMITTER_PULL  the oldest monarch_wait(): no patent pull at all
 *                     (README, finding 1)
 * REVERT_ANY_MONARCH_PULL  the previous monarch_wait(): only the submitter
 *                     pulls (finding 5; must break STRICT with NCPU=3)
 * REVERT_SERVICE_RDV  the old smm_entry(): a service call, no rendezvous
 * REVERT_EXIT_UNDER_LOCK  the old NOWORK/LATE exit: unlock, then the byte
 * REVERT_SEQ_RESERVED  the old smm_call() withdraw and command_pending():
 *                     cmd.seq = done_seq (a load, then a store), and any
 *                     seq != done_seq is work (finding 6; with CALL_TIMEOUT
 *                     must break (f))
 */

#ifndef NCPU
#define NCPU 3
#endif
#if NCPU < 2 || NCPU > 4
#error "NCPU must be 2..4"
#endif
#define PULLIN  0
#define PATENT  1
#define WAITALL 2
#ifndef POLICY
#define POLICY PULLIN
#endif
#ifndef NCMD
#define NCMD 2
#endif
#ifndef NSMI
#define NSMI 1
#endif
#ifndef NPARK
#define NPARK 2
#endif
#if defined(INIT_WINDOW) && !defined(TCG_INIT_ABORT)
#error "INIT_WINDOW needs TCG_INIT_ABORT"
#endif
#if defined(FIX_SEQ_RESERVED) || defined(FIX_ANY_MONARCH_PULL)
#error "FIX_SEQ_RESERVED and FIX_ANY_MONARCH_PULL are the default now; see REVERT_*"
#endif

#define BIT(p) (1 << (p))
#define ALL    ((1 << NCPU) - 1)
#define SUBMITTER 0     /* smm_call() runs on the BSP */

/* synchbyte values */
#define INACTIVE 0
#define ACTIVE   1
#define IN_SMM   2

/* enum phase */
#define PH_IDLE     0
#define PH_OPEN     1
#define PH_RUNNING  2
#define PH_RELEASED 3

/* power states (kernel side) */
#define P_RUN          0
#define P_HLT          1
#define P_PARKING_INIT 2
#define P_WFS          3
#define P_WAKING       4
#define P_SVC          5    /* SERVICE: park_*_fn inside synch_self_set() */

/* (e): outside SMM the byte matches the power state; during a service-call
 * transition (SERVICE) it may be either. */
#ifdef SERVICE
#define BYTE_MATCHES_POWER(p) \
	(power[p] == P_RUN -> synch[p] == ACTIVE : \
	 (power[p] == P_WAKING || power[p] == P_SVC -> synch[p] != IN_SMM : synch[p] == INACTIVE))
#else
#define BYTE_MATCHES_POWER(p) \
	(synch[p] == (power[p] == P_RUN -> ACTIVE : INACTIVE))
#endif

/* Can p take its pending SMI now? TCG takes it in wait-for-SIPI too. */
#ifdef KVM_WFS
#define SMI_TAKEN(p) (power[p] != P_WFS)
#else
#define SMI_TAKEN(p) 1
#endif
/* The kernel runs code on p (park/wake steps): p is not in SMM and has no
 * SMI pending (a pending SMI is taken at the next instruction boundary). */
#define OS_STEP(p) (!in_smm[p] && !smi_pend[p])
/* The BSP (CPU 0) runs smm_call() and the park/wake requests (on_cpu_async,
 * INIT, NMI, SIPI): those steps need CPU 0 to be executing kernel code. */
#define BSP_RUNS OS_STEP(0)

byte synch[NCPU];
bit  smi_pend[NCPU];
bit  in_smm[NCPU];
byte power[NCPU];
#ifdef INIT_WINDOW
bit  init_abort[NCPU];  /* an INIT reached p in SMM: TCG resets p at once */
#endif
#ifdef SERVICE
byte req[NCPU];         /* comm()->cpu[p].req: 0 none, else value + 1 */
#endif

/* struct rdv (rendezvous.c) */
byte phase, event, joined, left, rdv_cmd_seq;
#ifdef HALT_WAIT
/* smm_wait=hlt: rdv.halters, rdv.wakes_sent, rdv.monarch_halts,
 * rdv.awaited, and each CPU's pending wake (its local APIC's IRR bit for
 * SMM_WAKE_VECTOR). A member's halt has no timer in the model: a lost wake
 * is a member that never leaves (invalid end state). The monarch's halt
 * has one that may end it only when nothing else can move, and then only
 * for a CPU that arrived without a wake: assertion (m). */
byte halters, wakes_sent, mhalts, awaited;
bit  wake_pend[NCPU];
byte monarch;           /* read by the member that wakes the monarch */
#else
hidden byte monarch;    /* written only: not part of the state */
#endif
#if POLICY == PATENT
bit  rdv_cmd_bcast;     /* rdv.cmd.flags & CMDF_BROADCAST */
#define COPY_BCAST rdv_cmd_bcast = cmd_bcast
#define CLEAR_RDV_BCAST rdv_cmd_bcast = 0
#else
#define COPY_BCAST skip
#define CLEAR_RDV_BCAST skip
#endif
/* struct smm_comm */
byte cmd_seq, done_seq;
bit  cmd_bcast;         /* cmd.flags & CMDF_BROADCAST */
#ifdef CALL_TIMEOUT
byte cmd_fields, rdv_cmd_fields;
#define COPY_FIELDS rdv_cmd_fields = cmd_fields
#else
#define COPY_FIELDS skip
#endif
/* checks only */
byte runs[NCMD + 1];

/* command_pending(): a consistent copy whose number is neither 0 (the
 * kernel's "being rewritten" mark) nor done yet. REVERT_SEQ_RESERVED: the
 * old test, any number but done_seq. */
#ifdef REVERT_SEQ_RESERVED
#define PENDING (cmd_seq != done_seq)
#else
#define PENDING (cmd_seq != 0 && cmd_seq != done_seq)
#endif

/* Unrolled per-CPU helpers (no loop counters in the state vector). */
#if NCPU > 2
#define FOR3(M) M(2)
#else
#define FOR3(M)
#endif
#if NCPU > 3
#define FOR4(M) M(3)
#else
#define FOR4(M)
#endif
#define FOR_CPUS(M) M(0) M(1) FOR3(M) FOR4(M)

/* rendezvous.c arrived(): joined, or (not by_join_only) byte INACTIVE; with
 * the test-only SMMF_INACTIVE_AS_ACTIVE, joined only */
#ifdef BUG_WAIT_INACTIVE
#define ARRIVED(p, J) (joined & BIT(p))
#else
#define ARRIVED(p, J) ((joined & BIT(p)) || (!(J) && synch[p] == INACTIVE))
#endif

/* One arrival check of CPU p; a CPU that drops out by turning inactive is
 * added to 'inact' (for (c2) only). */
#define ARR_STEP(p, S, J) \
	:: atomic { (S & BIT(p)) && ARRIVED(p, J) -> \
		if :: !(joined & BIT(p)) -> inact = inact | BIT(p) :: else fi; \
		S = S & ~BIT(p) }

/* Every CPU's arrival check, as do-options. */
#define WAIT_ARRIVALS(S, J) \
	ARR_STEP(0, S, J) ARR_STEP(1, S, J) ARR_STEP3(S, J) ARR_STEP4(S, J)
#if NCPU > 2
#define ARR_STEP3(S, J) ARR_STEP(2, S, J)
#else
#define ARR_STEP3(S, J)
#endif
#if NCPU > 3
#define ARR_STEP4(S, J) ARR_STEP(3, S, J)
#else
#define ARR_STEP4(S, J)
#endif

/* wait_for(set, end, by_join_only): the checks of a pass happen one CPU at a
 * time in any order; the deadline may pass at any time. */
inline wait_for(S, J)
{
	do
	:: S == 0 -> break
	:: S != 0 -> break                       /* smm_wait_until() deadline */
	WAIT_ARRIVALS(S, J)
	od
}

/* The same wait for a bound that should never be needed: it may expire only
 * when nothing else in the system can move (-DSTRICT), and that is an error. */
inline wait_strict(S, J)
{
	do
	:: S == 0 -> break
	:: timeout -> assert(S == 0); break      /* the fail-safe was needed */
	WAIT_ARRIVALS(S, J)
	od
}
#ifdef STRICT
#define wait_bound wait_strict
#else
#define wait_bound wait_for
#endif

/* One pass of a pull-in loop for CPU p: if p is in S and its byte meets
 * COND (one read), smm_send_smi(p) (r->pulled). The read and the send are
 * two steps, as in the C: p may change between them. */
#define PULL_IF(p, S, COND) \
	atomic { if :: (S & BIT(p)) && COND -> pulled = 1 :: else fi }; \
	atomic { if :: pulled -> smi_pend[p] = 1; pulled = 0 :: else fi };
#define PULL_ACTIVE(p)  PULL_IF(p, waitset, synch[p] == ACTIVE)   /* patent */
#define PULL_OUTSIDE(p) PULL_IF(p, set, synch[p] != IN_SMM)       /* pullin */

/* Who pulls for a broadcast command under patent: any monarch (the C);
 * REVERT_ANY_MONARCH_PULL: only its submitter (the previous code) */
#ifdef REVERT_ANY_MONARCH_PULL
#define PULL_BY(m) ((m) == SUBMITTER)
#else
#define PULL_BY(m) 1
#endif

#ifdef HALT_WAIT
/* smm_wake(p) for every halting member p of the set (one d_step in the
 * monarch: the sends are not interleaved with anything that matters) */
#define WAKE_IN_SET(p) if :: set & BIT(p) -> wake_pend[p] = 1 :: else fi;

/* The halting monarch's wait for its arrivals (wait_for() where it may
 * halt): publish what it lacks (rdv.awaited), look (all_arrived(): one
 * pass, one step here; the wake argument holds for any order of its
 * reads, README (m)), again while the look shrinks the set (a member must
 * never judge by a CPU the monarch no longer waits for: found by this
 * model), then halt until a wake. The halt's timer (its one-shot,
 * or the wait's bound) may end it only when nothing else can move, and
 * then some CPU it lacks must not have joined: one whose byte turned
 * INACTIVE arrives without a wake; one that joined always wakes it (m). */
#define ARR_DROP(p, J) \
	if :: (set & BIT(p)) && ARRIVED(p, J) -> \
		if :: !(joined & BIT(p)) -> inact = inact | BIT(p) :: else fi; \
		set = set & ~BIT(p) \
	:: else fi;
#define ARR_DROP0(p) ARR_DROP(p, 0)
#define ARR_DROP1(p) ARR_DROP(p, 1)
#define NOT_JOINED(p) || ((set & BIT(p)) && !(joined & BIT(p)))

inline wait_halting(J)
{
	do
	:: atomic {
		awaited = set;                       /* publish, fence, look */
		if :: J -> FOR_CPUS(ARR_DROP1) :: else -> FOR_CPUS(ARR_DROP0) fi
	   };
	   if
	   :: set == 0 -> break
#ifndef REVERT_ONE_PUBLISH
	   :: set != awaited                    /* it shrank: publish that, look again */
#endif
	   :: else ->
		if                                   /* sti; hlt */
		:: atomic { wake_pend[me] -> wake_pend[me] = 0 }
		:: timeout ->                        /* its timer */
			assert(0 FOR_CPUS(NOT_JOINED));  /* (m) no lost wake */
			if :: J -> FOR_CPUS(ARR_DROP1) :: else -> FOR_CPUS(ARR_DROP0) fi;
			break                            /* the bound */
		fi
	   fi
	od
}

/* wake_monarch_if_last(): after the join, a fence, one look at what the
 * halting monarch published: every CPU it lacks but this one has arrived */
#define AW_OK(p, J) && (!(awaited & BIT(p)) || (p) == me || ARRIVED(p, J))
#define AW_OK_M(p) AW_OK(p, MEMBER_J)
#if POLICY == WAITALL
#define MEMBER_J 1
#else
#define MEMBER_J 0
#endif
#endif

/* a broadcast SMI: every CPU */
#define PEND(p) smi_pend[p] = 1;

/* scan_peers(): one read of p's byte (p != me) */
#define SCAN(p) \
	atomic { \
		if \
		:: me == p -> skip \
		:: me != p && synch[p] == INACTIVE -> \
			inact = inact | BIT(p); \
			SCAN_FAULT(p) \
		:: me != p && synch[p] != INACTIVE -> \
			if :: !(joined & BIT(p)) -> waitset = waitset | BIT(p) :: else fi \
		fi \
	};
#ifdef BUG_WAIT_INACTIVE     /* SMMF_INACTIVE_AS_ACTIVE: INACTIVE counts as ACTIVE */
#define SCAN_FAULT(p) if :: !(joined & BIT(p)) -> waitset = waitset | BIT(p) :: else fi
#else
#define SCAN_FAULT(p) skip
#endif

/* (e), unless -DNO_CHECK_E (to see what a stale byte leads to) */
#ifdef NO_CHECK_E
#define CHECK_E(x) skip
#else
#define CHECK_E(x) assert(x)
#endif

/* (c2) for CPU p, when the command runs */
#define PRESENT(p) \
	assert(p == me || ((joined & BIT(p)) && in_smm[p]) || (inact & BIT(p)) || (set & BIT(p)));

/* (c), literal reading: a CPU whose byte was IN_SMM when the event opened
 * goes back to running OS code (byte ACTIVE) only after the command. */
#ifdef CHECK_C_LITERAL
byte insmm_at_open;
#define SNAP_INSMM(p) if :: p != me && synch[p] == IN_SMM -> insmm_at_open = insmm_at_open | BIT(p) :: else fi;
#define CHECK_LITERAL(v) \
	assert(!((insmm_at_open & BIT(me)) && (v) == ACTIVE && done_seq != rdv_cmd_seq))
#else
#define CHECK_LITERAL(v) skip
#endif

/* -DINIT_WINDOW: QEMU TCG handles an INIT that arrives in SMM at once
 * (docs/PLATFORM.md Q3): the CPU is reset, the handler is abandoned wherever
 * it is, and the CPU waits for a SIPI. cpu_park_init() waits until the CPU
 * is out of SMM first, so only its residual window lets an INIT reach a CPU
 * in SMM; without INIT_WINDOW the INIT never does. */
#ifdef INIT_WINDOW
#define HANDLER_BEGIN {
#define HANDLER_END \
	} unless { atomic { init_abort[me] -> \
		CHECK_E(synch[me] != IN_SMM);        /* (e): no stale IN_SMM byte */ \
		init_abort[me] = 0; in_smm[me] = 0; smi_pend[me] = 0; power[me] = P_WFS; \
		exit_val = 0; ev = 0; waitset = 0; set = 0; inact = 0; pulled = 0 } }
#else
#define HANDLER_BEGIN
#define HANDLER_END
#endif

/* Locals: exit_val (rendezvous() argument), ev (its 'ev'), and for the
 * monarch waitset (r->waited), set (the wait set, then r->missing), inact
 * (r->inactive plus those that turned inactive while waited for) and pulled
 * (one pull-in read's outcome, until its send). */
proctype cpu(byte me)
{
	byte exit_val, ev, waitset, set, inact;
	bit pulled;

end_run:
	HANDLER_BEGIN
	/* smm_entry(): the SMI is taken; first act: before = synch_enter()
	 * (claim 14); a parked CPU goes back to INACTIVE, anyone else ACTIVE */
	atomic {
		smi_pend[me] && SMI_TAKEN(me) ->
		smi_pend[me] = 0;
		in_smm[me] = 1;
		exit_val = (synch[me] == INACTIVE -> INACTIVE : ACTIVE);
		synch[me] = IN_SMM;
		if
		:: power[me] == P_WFS -> goto wfs    /* reset_state(ss) */
#ifdef SERVICE
		:: req[me] != 0 -> goto service      /* cc->req.seq != done_seq */
		:: else -> goto rdv_loop
#else
		:: else -> goto rdv_loop
#endif
		fi
	};

#ifdef SERVICE
service:                                        /* exit_val = local_service() */
	atomic {
		exit_val = req[me] - 1;              /* SMM_LOCAL_SYNCH_SET */
		req[me] = 0;                         /* q->done_seq = seq */
#ifdef REVERT_SERVICE_RDV
		synch[me] = exit_val;                /* old: ROLE_SERVICE, no rendezvous */
		goto rsm
#else
		goto rdv_loop                        /* rendezvous(cpu, r, exit_val) */
#endif
	};
#endif

wfs:                                            /* ROLE_WFS_PARK (TCG) */
	exit_val = INACTIVE;
	synch[me] = INACTIVE;
	goto rsm;

rdv_loop:
	atomic {                                 /* rdv.lock */
		if
		:: phase == PH_OPEN ->                   /* ROLE_MEMBER */
			joined = joined | BIT(me);
			ev = event;
			goto member
		:: phase == PH_IDLE && PENDING ->        /* ROLE_MONARCH */
			event++;
			ev = event;
			phase = PH_OPEN;
			joined = BIT(me);
			left = 0;
#ifdef HALT_WAIT
			halters = 0;
#endif
			monarch = me;
			rdv_cmd_seq = cmd_seq;           /* rdv.cmd = cmd */
			COPY_BCAST;
			COPY_FIELDS;
#ifdef CHECK_C_LITERAL
			insmm_at_open = 0;
			FOR_CPUS(SNAP_INSMM)
#endif
			goto monarch_
		:: phase == PH_IDLE && !PENDING ->       /* ROLE_NOWORK / ROLE_LATE */
#ifndef REVERT_EXIT_UNDER_LOCK
			CHECK_LITERAL(exit_val);
			synch[me] = exit_val;            /* before spin_unlock */
#endif
			goto nowork
		:: phase == PH_RUNNING || phase == PH_RELEASED -> skip
		fi
	};
	/* late arrival: wait for the closing event to end */
#ifdef FAILSAFE
	if
	:: phase == PH_IDLE || phase == PH_OPEN
	:: true -> goto late_exit                /* the failsafe deadline */
	fi;
#else
	phase == PH_IDLE || phase == PH_OPEN;
#endif
	goto rdv_loop;

nowork:
#ifdef REVERT_EXIT_UNDER_LOCK
	atomic { CHECK_LITERAL(exit_val); synch[me] = exit_val };  /* after spin_unlock */
#endif
	goto rsm;
#ifdef FAILSAFE
late_exit:                                      /* ROLE_LATE, REC_TIMEOUT */
	synch[me] = exit_val;
	goto rsm;
#endif

monarch_:
#ifdef HALT_WAIT
	if :: exit_val != INACTIVE -> mhalts = ev :: else fi;   /* until its members left */
#endif
	FOR_CPUS(SCAN)                               /* scan_peers() */
#if POLICY != WAITALL && !defined(NO_CHECK_D)
	assert((waitset & inact) == 0);          /* (d) */
#endif

	/* monarch_wait() */
#ifdef HALT_WAIT
#define MWAIT(J, W) if :: exit_val != INACTIVE -> wait_halting(J) :: else -> W(set, J) fi
#else
#define MWAIT(J, W) W(set, J)
#endif
#if POLICY == WAITALL
	waitset = ALL & ~BIT(me);
	set = waitset;
	MWAIT(1, wait_for);                      /* t_waitall; REC_TIMEOUT */
#elif POLICY == PATENT
#ifndef REVERT_SUBMITTER_PULL
	if                                       /* a broadcast command */
	:: rdv_cmd_bcast && PULL_BY(me) -> FOR_CPUS(PULL_ACTIVE) skip
	:: else
	fi;
#endif
	set = waitset;
	MWAIT(0, wait_bound);                    /* t_patent_failsafe; REC_PROTO_FAIL */
#else
	set = waitset;
	MWAIT(0, wait_for);                      /* t_pullin1 */
	if
	:: set != 0 ->
		FOR_CPUS(PULL_OUTSIDE)               /* smm_send_smi(); r->pulled */
		MWAIT(0, wait_bound)                 /* t_pullin2; REC_TIMEOUT */
	:: else
	fi;
#endif
	/* set == r->missing from here on */

	phase = PH_RUNNING;                      /* rdv.lock: the door closes */
	d_step {                                 /* run_event_command() */
		FOR_CPUS(PRESENT)                    /* (c2) */
#ifdef CALL_TIMEOUT
		assert(rdv_cmd_fields == rdv_cmd_seq);   /* (f) */
#endif
		runs[rdv_cmd_seq]++;
		assert(runs[rdv_cmd_seq] == 1);      /* (b) */
		done_seq = rdv_cmd_seq
	};
	phase = PH_RELEASED;
#ifdef HALT_WAIT
	/* after the (seq_cst) release, the (seq_cst) look at who halts */
	d_step {
		set = halters & joined & ~BIT(me);
#ifndef BUG_NO_WAKE
		FOR_CPUS(WAKE_IN_SET)
#endif
		set = 0
	};
	wakes_sent = ev;
#endif
	/* others = rdv.joined & ~bit(me): joined is frozen until the next open */
#ifdef FAILSAFE
	if
	:: (left & joined & ~BIT(me)) == (joined & ~BIT(me))
	:: true                                  /* 4 * t_member expired */
	fi;
#else
	(left & joined & ~BIT(me)) == (joined & ~BIT(me));
#endif
#if defined(HALT_WAIT) && !defined(BUG_NO_MONARCH_DRAIN)
	if :: exit_val != INACTIVE -> mhalts = 0; wake_pend[me] = 0 :: else fi;  /* smm_halt_drain() */
#endif
	synch[me] = exit_val;
	d_step {
		phase = PH_IDLE;
		/* model only: joined, left and the rdv.cmd flags are dead until
		 * the next open rewrites them; clearing them merges equal states */
		joined = 0; left = 0; CLEAR_RDV_BCAST
#ifdef HALT_WAIT
		; awaited = 0
#endif
	};
	goto rsm;

member:
#ifdef HALT_WAIT
#ifndef BUG_NO_MONARCH_WAKE
	atomic {                                 /* wake_monarch_if_last() */
		if
		:: mhalts == ev && (1 FOR_CPUS(AW_OK_M)) -> wake_pend[monarch] = 1
		:: else
		fi
	};
#endif
	if
	:: exit_val != INACTIVE ->               /* wait_release(): may halt */
		halters = halters | BIT(me);         /* seq_cst add, before the look */
		do
		:: event != ev || (phase != PH_OPEN && phase != PH_RUNNING) -> break
		:: else ->                           /* IF=0 look said no: sti; hlt */
			atomic { wake_pend[me] -> wake_pend[me] = 0 }
		od;
		event != ev || wakes_sent == ev;     /* the monarch sent its wakes */
#ifndef BUG_NO_DRAIN
		wake_pend[me] = 0;                   /* smm_halt_drain() */
#endif
		goto member_done
	:: else
	fi;
#endif
#ifdef BUG_LEAVE_EARLY
	event != ev || phase != PH_OPEN;
#elif defined(FAILSAFE)
	if
	:: event != ev || (phase != PH_OPEN && phase != PH_RUNNING)
	:: true                                  /* the failsafe deadline */
	fi;
#else
	event != ev || (phase != PH_OPEN && phase != PH_RUNNING);
#endif
#ifdef HALT_WAIT
member_done:
#endif
	atomic {
		/* (c): our event's command is done (a newer event means it is) */
		assert(event != ev || runs[rdv_cmd_seq] == 1);
		CHECK_LITERAL(exit_val);
		synch[me] = exit_val
	};
	left = left | BIT(me);

rsm:
	atomic {
#ifdef HALT_WAIT
		assert(!wake_pend[me]);              /* (w) the OS never sees SMM's wake */
#endif
		CHECK_E(synch[me] != IN_SMM);        /* (e) */
		CHECK_E(BYTE_MATCHES_POWER(me));
		in_smm[me] = 0;
		exit_val = 0; ev = 0; waitset = 0; set = 0; inact = 0
	}
	HANDLER_END;
	goto end_run
}

/* The kernel's synch_self_set(v) on CPU p, then p's state becomes NEXT.
 * mem backend: a plain store. SERVICE (smram, cmos backends): a per-CPU
 * service call, smm_local(me, SMM_LOCAL_SYNCH_SET, v): a self SMI (it
 * coalesces with any SMI that arrives before p takes it), then p waits for
 * its request to be done. */
#ifdef SERVICE
#define SELF_SET(p, v, NEXT) \
	atomic { OS_STEP(p) -> req[p] = v + 1; smi_pend[p] = 1 }; \
	atomic { req[p] == 0 && OS_STEP(p) -> power[p] = NEXT }
#else
#define SELF_SET(p, v, NEXT) \
	atomic { OS_STEP(p) -> synch[p] = v; power[p] = NEXT }
#endif

/* cpu_park_init(): wait (bounded) while p is in SMM, then the INIT.
 * Hardware/KVM (default): the INIT is held while p is in SMM anyway, and a
 * pending SMI is taken first. TCG_INIT_ABORT: the INIT is taken at once and
 * drops a pending SMI; the wait keeps it from reaching p in SMM.
 * INIT_WINDOW: the residual window: the wait (it sees p out of SMM) and the
 * INIT are two steps; an INIT that finds p in SMM resets it (init_abort). */
#ifdef INIT_WINDOW
#define INIT_STEP(p) \
	atomic { BSP_RUNS && !in_smm[p] };       /* while (cc->in_smm) ... */ \
	atomic { BSP_RUNS -> \
		if \
		:: in_smm[p] -> init_abort[p] = 1 \
		:: else -> power[p] = P_WFS; smi_pend[p] = 0 \
		fi }; \
	!init_abort[p];                          /* the settle loop */ \
	p = 0
#elif defined(TCG_INIT_ABORT)
#define INIT_STEP(p) \
	atomic { BSP_RUNS && !in_smm[p] -> power[p] = P_WFS; smi_pend[p] = 0; p = 0 }
#else
#define INIT_STEP(p) \
	atomic { BSP_RUNS && OS_STEP(p) -> power[p] = P_WFS; p = 0 }
#endif

/* Pick a CPU p (0..NCPU-1) for which the macro C(p) holds; blocks if none. */
#if NCPU > 2
#define PICK3(p, C) :: C(2) -> p = 2
#else
#define PICK3(p, C)
#endif
#if NCPU > 3
#define PICK4(p, C) :: C(3) -> p = 3
#else
#define PICK4(p, C)
#endif
#define PICK(p, C) if :: C(0) -> p = 0 :: C(1) -> p = 1 PICK3(p, C) PICK4(p, C) fi

/* A directed command SMI: not to a CPU in wait-for-SIPI. On TCG not to one
 * being parked by INIT either: the INIT drops a pending SMI (cpu_park_init()
 * says so), and smm_cpu_ok() refuses a CPU in CPU_PARKING_INIT. */
#ifdef TCG_INIT_ABORT
#define CAN_DIRECT(x)   (BSP_RUNS && !cmd_bcast && power[x] != P_WFS && power[x] != P_PARKING_INIT)
#else
#define CAN_DIRECT(x)   (BSP_RUNS && !cmd_bcast && power[x] != P_WFS)
#endif
#define CAN_PARK(x)     (BSP_RUNS && parks > 0 && x != 0 && power[x] == P_RUN && OS_STEP(x))
#define CAN_WAKE_HLT(x) (BSP_RUNS && power[x] == P_HLT && OS_STEP(x))
#ifdef KVM_WFS
#define CAN_SIPI(x)     (BSP_RUNS && power[x] == P_WFS && !in_smm[x])
#else
#define CAN_SIPI(x)     (BSP_RUNS && power[x] == P_WFS && OS_STEP(x))
#endif
#define ANY(x)          true

/* The park and wake paths (smp/smp.c): cpu_park_hlt, cpu_park_init,
 * cpu_wake_hlt, cpu_wake_sipi. The BSP requests each and waits for it to
 * finish; the byte writes are done by the target CPU. CPU 0 is never parked
 * (cpu_park_hlt/cpu_park_init refuse it). */
#ifdef SERVICE
#define PM_PARK_OPTIONS \
	:: atomic { PICK(p, CAN_PARK);           /* cpu_park_hlt */ \
		power[p] = P_SVC; parks-- }; \
		SELF_SET(p, INACTIVE, P_HLT);        /* then hlt */ \
		p = 0 \
	:: atomic { PICK(p, CAN_PARK);           /* cpu_park_init */ \
		power[p] = P_SVC; parks-- }; \
		SELF_SET(p, INACTIVE, P_PARKING_INIT); \
		INIT_STEP(p)
#else
#define PM_PARK_OPTIONS \
	:: atomic { PICK(p, CAN_PARK);           /* cpu_park_hlt: INACTIVE, hlt */ \
		synch[p] = INACTIVE; power[p] = P_HLT; parks--; p = 0 } \
	:: atomic { PICK(p, CAN_PARK);           /* cpu_park_init: INACTIVE ... */ \
		synch[p] = INACTIVE; power[p] = P_PARKING_INIT; parks-- }; \
		INIT_STEP(p)                         /* ... the INIT */
#endif
#define PM_OPTIONS \
	PM_PARK_OPTIONS \
	:: atomic { PICK(p, CAN_WAKE_HLT);       /* cpu_wake_hlt: NMI, hlt returns */ \
		power[p] = P_WAKING }; \
		SELF_SET(p, ACTIVE, P_RUN); \
		p = 0 \
	:: atomic { PICK(p, CAN_SIPI);           /* cpu_wake_sipi: ap_main runs */ \
		power[p] = P_WAKING }; \
		SELF_SET(p, ACTIVE, P_RUN); \
		p = 0

/* smm_call(): cmd.flags = CMDF_SUBMITTER(0) | (broadcast source ?
 * CMDF_BROADCAST : 0). BCAST_ONLY: always a broadcast. */
#ifdef BCAST_ONLY
#define CHOOSE_SOURCE cmd_bcast = 1
#else
#define CHOOSE_SOURCE if :: cmd_bcast = 1 :: cmd_bcast = 0 fi
#endif

/* The kernel on the BSP. smm_call(): withdraw the old number (store 0),
 * write the fields, publish the new number, fire its SMI (a broadcast, or
 * directed at a CPU that can take it: smm_cpu_ok, not in wait-for-SIPI),
 * wait for done_seq. Without CALL_TIMEOUT the wait is not bounded: if a
 * command never runs this process never ends and pan reports an invalid end
 * state, and the command is done when a call starts, so the withdraw (0 and
 * cmd_seq == done_seq are both "no work") changes nothing and the fields are
 * dead until the publish: the three are one step. The model's numbers are
 * 1..NCMD; the C's counter reaches 0 again only if it wraps (2^32 calls).
 * Between calls, the park/wake requests (unless -DASYNC_PM, where they run
 * concurrently, as on_cpu_async work would). */
proctype bsp()
{
	byte p, n = 0;
#ifndef ASYNC_PM
	byte parks = NPARK;
#endif
	do
#ifdef CALL_TIMEOUT
#ifdef REVERT_SEQ_RESERVED
	:: atomic { n < NCMD && BSP_RUNS -> p = done_seq };    /* smm_call(): */
		atomic { BSP_RUNS -> cmd_seq = p; p = 0 };         /* old withdraw */
#else
	:: atomic { n < NCMD && BSP_RUNS -> cmd_seq = 0 };     /* smm_call(): withdraw */
#endif
		atomic { BSP_RUNS -> cmd_fields = n + 1; CHOOSE_SOURCE };  /* fields */
		atomic { BSP_RUNS -> cmd_seq = n + 1 };            /* publish */
#else
	:: atomic { n < NCMD && BSP_RUNS ->                    /* smm_call(): */
		CHOOSE_SOURCE;                                     /* the fields */
		cmd_seq++ };                                       /* publish */
#endif
		if                                                 /* smi_trigger() */
		:: d_step { cmd_bcast && BSP_RUNS -> FOR_CPUS(PEND) skip }
		:: atomic { PICK(p, CAN_DIRECT); smi_pend[p] = 1; p = 0 }
#ifdef CALL_TIMEOUT
		:: skip                                            /* it failed */
#endif
		fi;
#ifdef CALL_TIMEOUT
		if
		:: atomic { done_seq == cmd_seq -> n++ }
		:: atomic { BSP_RUNS -> n++ }                      /* deadline_passed() */
		fi
#else
		atomic { done_seq == cmd_seq -> n++; cmd_bcast = 0 }   /* model: dead */
#endif
#ifndef ASYNC_PM
	PM_OPTIONS
#endif
	:: n == NCMD -> break
	od;
	/* (b): every command ran exactly once (CALL_TIMEOUT: at most once);
	 * there is no command 0 */
	atomic {
		p = 0;
		do
		:: p <= NCMD ->
#ifdef CALL_TIMEOUT
			assert(p == 0 -> runs[p] == 0 : runs[p] <= 1);
#else
			assert(p == 0 -> runs[p] == 0 : runs[p] == 1);
#endif
			p++
		:: else -> break
		od;
		p = 0
	}
}

#ifdef ASYNC_PM
proctype pm()
{
	byte p, parks = NPARK;
end_pm:
	do
	PM_OPTIONS
	od
}
#endif

proctype noise()
{
	byte n = NSMI;
end_noise:
	do
	:: d_step { n > 0 -> FOR_CPUS(PEND) n-- }                  /* broadcast */
#define NOISE1(x) :: d_step { n > 0 -> smi_pend[x] = 1; n-- }  /* directed */
	FOR_CPUS(NOISE1)
	od
}

init {
	atomic {
#define START(x) synch[x] = ACTIVE; power[x] = P_RUN; run cpu(x);
		FOR_CPUS(START)
		run bsp();
#ifdef ASYNC_PM
		run pm();
#endif
		run noise()
	}
}
