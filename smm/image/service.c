/* Per-CPU service calls (smm_local on the kernel side): a request in the
 * CPU's own slot of the communication area, served on entry. */
#include "smm/image/smm.h"
#include "smm/savestate.h"
#include "smm/cmd.h"

/* The monarch of an event opened after 'ev0' has read this CPU's byte as
 * "in SMM" and has sent the SMIs its policy sends (its record, in the
 * communication area, says so). */
static bool decided_by_monarch(unsigned me, uint32_t ev0)
{
    uint32_t ev = __atomic_load_n(&comm()->events, __ATOMIC_ACQUIRE);
    if (ev == ev0)
        return false;
    for (unsigned p = 0; p < smm_config.ncpus; p++) {
        const struct smm_cpu_comm *cc = &comm()->cpu[p];
        uint64_t n = cc->entries;
        if (p == me || !n)
            continue;
        const volatile struct smm_rec *r = &cc->ring[(n - 1) % SMM_RING];
        if (r->event == ev && r->role == ROLE_MONARCH && r->peer[me] == SYNCH_IN_SMM &&
            (__atomic_load_n(&r->flags, __ATOMIC_ACQUIRE) & REC_SMIS_SENT))
            return true;
    }
    return false;
}

/* SMM_LOCAL_HOLD: spin in SMM (counting spins) until released, until the
 * bound, or (SMM_HOLD_UNTIL_DECIDED) until the linger after a monarch has
 * read this CPU's byte and sent its SMIs. Returns how it ended. */
static uint64_t hold(unsigned cpu, uint64_t arg)
{
    uint64_t end = rdtsc() + smm_us_to_tsc(SMM_HOLD_US_OF(arg));
    uint32_t ev0 = comm()->events;
    bool until_decided = arg & SMM_HOLD_UNTIL_DECIDED, decided = false;
    while (!comm()->hold_release && rdtsc() < end) {
        if (until_decided && !decided && decided_by_monarch(cpu, ev0)) {
            decided = true;
            uint64_t linger_end = rdtsc() + smm_us_to_tsc(SMM_HOLD_LINGER_OF(arg));
            if (linger_end < end)
                end = linger_end;                  /* the bound stays a bound */
        }
        comm()->cpu[cpu].spins++;
    }
    return comm()->hold_release ? SMM_HOLD_ENDED_RELEASED : decided ? SMM_HOLD_ENDED_DECIDED
                                                                     : SMM_HOLD_ENDED_BOUND;
}

/* SDM 34.6: exceptions and interrupts in SMM go through the IDT the handler
 * loaded in SMRAM. An invalid opcode and a page fault, each recovered from;
 * then a self-IPI taken in a one-instruction interrupt window, with the
 * task priority at the halting waits' class (the OS's vectors stay held). */
#define EXC_IRQ_TRIES 1000
static uint64_t smm_exceptions(unsigned cpu)
{
    uint64_t seen = 0, os_cr2, cr2;
    if (smm_ud_probe())
        seen |= SMM_EXC_UD;
    /* CR2 is not in the save state: the OS's value goes back by hand. */
    __asm__ volatile("mov %%cr2, %0" : "=r"(os_cr2));
    if (smm_pf_probe((const uint64_t *)(uintptr_t)SMM_EXC_UNMAPPED)) {
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        seen |= SMM_EXC_PF | (cr2 == SMM_EXC_UNMAPPED ? SMM_EXC_PF_CR2 : 0);
    }
    __asm__ volatile("mov %0, %%cr2" :: "r"(os_cr2));
    volatile struct smm_cpu_comm *cc = &comm()->cpu[cpu];
    uint32_t n0 = cc->irqs_in_smm;
    uint64_t tpr = read_cr8();
    write_cr8(SMM_WAKE_TPR);
    smm_self_wake(cpu);
    for (int i = 0; i < EXC_IRQ_TRIES && cc->irqs_in_smm == n0; i++)
        smm_irq_window();
    write_cr8(tpr);
    if (cc->irqs_in_smm != n0)
        seen |= SMM_EXC_IRQ;
    return seen;
}

/* SDM 34.8: an IRET in SMM unblocks NMIs; then wait up to 'us' for one. */
static uint64_t iret_then_nmi(unsigned cpu, uint32_t seq, uint64_t us)
{
    volatile struct smm_cpu_comm *cc = &comm()->cpu[cpu];
    uint32_t n0 = cc->nmis_in_smm;
    smm_iret_self();
    cc->iret_done = seq;
    uint64_t end = rdtsc() + smm_us_to_tsc(us);
    while (cc->nmis_in_smm == n0 && rdtsc() < end)
        cpu_relax();
    return cc->nmis_in_smm - n0;
}

/* SDM 34.10: RSM back to HLT (arg 1: the field as found), or past it (0). */
static int auto_halt(uint8_t *ss, uint64_t arg, uint64_t *result)
{
    uint32_t v;
    if (!ss_flag_get(ss, SS_FLAG_AUTO_HALT, &v))
        return SMM_E_BAD_ARG;
    *result = v;
    if (!arg)
        ss_flag_set(ss, SS_FLAG_AUTO_HALT, v & ~1u);
    return SMM_OK;
}

/* A halt whose one-shot is one tick, so that it runs out at once: the halt
 * must still end (halt.c arm_ticks() unmasks the LVT before the count
 * starts). The record counts the halt and its timer wake; 0 where this CPU
 * may not halt. */
static uint64_t short_halt(unsigned cpu, struct smm_rec *r)
{
    if (!smm_halt_possible())
        return 0;
    smm_halt_one_tick(r);
    smm_halt_drain();
    bool both = false, clear = smm_drain_selftest(cpu, &both);
    return (uint64_t)r->halts << 32 | (both ? SMM_SHORT_HALT_BOTH : 0) | (clear ? SMM_SHORT_HALT_DRAINED : 0) |
           (r->timer_wakes & 0xFFFF);
}

/* The conformance probes (SDM ch. 34) and the halt's self-test: each
 * leaves SMM as it found it. */
static int probe_op(unsigned cpu, uint8_t *ss, uint32_t op, uint64_t arg, uint32_t seq, uint64_t *result,
                    struct smm_rec *r)
{
    switch (op) {
    case SMM_LOCAL_SHORT_HALT:
        *result = short_halt(cpu, r);
        return SMM_OK;
    case SMM_LOCAL_PROBE_MSR:            /* an MSR the CPU may lack: a #GP is a result */
        return smm_rdmsr_probe((uint32_t)arg, result) ? SMM_E_FAULT : SMM_OK;
    case SMM_LOCAL_PROBE_SELFTEST:
        *result = (uint64_t)smm_gp_probe((const uint64_t *)0x8000000000000000ull);
        return SMM_OK;
    case SMM_LOCAL_IRET_NMI:
        *result = iret_then_nmi(cpu, seq, arg);
        return SMM_OK;
    case SMM_LOCAL_EXCEPTIONS:
        *result = smm_exceptions(cpu);
        return SMM_OK;
    case SMM_LOCAL_AUTO_HALT:
        return auto_halt(ss, arg, result);
    }
    return SMM_E_UNKNOWN_CMD;
}

uint8_t smm_local_service(unsigned cpu, uint8_t *ss, uint8_t exit_val, struct smm_rec *r)
{
    volatile struct smm_local_req *q = &comm()->cpu[cpu].req;
    uint32_t seq = q->seq, op = q->op;     /* copy in, then validate the copy */
    uint64_t arg = q->arg, result = 0;
    struct smm_cmd_limits lim = smm_limits();
    int st = smm_local_validate(op, arg, &lim);
    r->cmd_id = 0x100 | op;
    if (!st) {
        switch (op) {
        case SMM_LOCAL_SYNCH_SET:
        case SMM_LOCAL_SYNCH_RAW:
            exit_val = (uint8_t)arg;
            break;
        case SMM_LOCAL_SET_RAX:
            ss_set(ss, SS_RAX, arg);
            break;
        case SMM_LOCAL_SET_SMBASE: {
            bool known = false;
            for (unsigned i = 0; i < smm_config.ncpus; i++)
                known |= smm_config.smbase[i] == arg;
            if (known)
                ss_set(ss, SS_SMBASE, arg);
            else
                st = SMM_E_BAD_PTR;
            break;
        }
        case SMM_LOCAL_HOLD:
            result = hold(cpu, arg);
            break;
        case SMM_LOCAL_READ_MSR:
            result = arg == 0x10 ? rdtsc() : rdmsr((uint32_t)arg);
            break;
        default:
            st = probe_op(cpu, ss, op, arg, seq, &result, r);
            break;
        }
    }
    r->cmd_status = st;
    q->status = st;
    q->result = result;
    __atomic_store_n(&q->done_seq, seq, __ATOMIC_RELEASE);
    return exit_val;
}
